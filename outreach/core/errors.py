"""One JSON error shape for every API error: {code, status, message, errors?}."""

from __future__ import annotations

import logging
import traceback
from http import HTTPStatus

from flask import Flask, jsonify, request
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from outreach.core.extensions import db

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error raised by a service, turned into the JSON envelope by the app."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        errors: dict | None = None,
        error_code: str | None = None,
        retry_after: int | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.error_code = error_code
        self.retry_after = retry_after  # seconds: a Retry-After header


def error_body(
    status: int,
    message: str | None = None,
    errors: dict | None = None,
    error_code: str | None = None,
) -> dict:
    """Build the envelope.

    `code` is the HTTP status as a number, or, for the few errors a client must act
    on differently (a revoked device must wipe itself), a stable string such as
    ``device_revoked`` (DESIGN §4).
    """
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
    body: dict = {"code": error_code or status, "status": phrase, "message": message or phrase}
    if errors:
        body["errors"] = cap_errors(errors)
    return body


# An error answer lists at most this many fields' errors (a body of thousands of unknown
# fields must not make an answer larger than itself); the rest are counted in `_more`.
MAX_FIELD_ERRORS = 30


def cap_errors(errors: dict, limit: int = MAX_FIELD_ERRORS) -> dict:
    """`errors` with at most `limit` fields listed (nested objects count their fields),
    and `_more: ["N more fields have errors."]` when some were left out."""
    listed = 0
    left_out = 0

    def cap(node: dict) -> dict:
        nonlocal listed, left_out
        out: dict = {}
        for key, value in node.items():
            if listed >= limit:
                left_out += _count_fields(value)
                continue
            if isinstance(value, dict):
                out[key] = cap(value)
            else:
                listed += 1
                out[key] = value[:5] if isinstance(value, list) else value
        return out

    capped = cap(errors)
    if left_out:
        capped["_more"] = [f"{left_out:,} more fields have errors (not listed)."]
    return capped


def _count_fields(value: object) -> int:
    if not isinstance(value, dict):
        return 1
    total, stack = 0, [value]
    while stack:
        for member in stack.pop().values():
            if isinstance(member, dict):
                stack.append(member)
            else:
                total += 1
    return total


def error_response(status: int, message: str | None = None, **kwargs):
    response = jsonify(error_body(status, message, **kwargs))
    response.status_code = status
    if status in (401, 403) or request.path.startswith("/api/"):
        response.headers["Cache-Control"] = "no-store"
    return response


def register_error_handlers(app: Flask) -> None:
    """Every error under /api/ and every unexpected error answers in the envelope."""

    @app.errorhandler(ApiError)
    def handle_api_error(exc: ApiError):
        response = error_response(
            exc.status, exc.message, errors=exc.errors, error_code=exc.error_code
        )
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def handle_http_exception(exc: HTTPException):
        data = getattr(exc, "data", None) or {}
        messages = data.get("messages") if isinstance(data, dict) else None
        errors = None
        if messages:
            # webargs nests by location (json, query, ...); flatten single locations.
            errors = next(iter(messages.values())) if len(messages) == 1 else dict(messages)
            if not isinstance(errors, dict):
                # A body that is not JSON at all: marshmallow's name for whole-input errors.
                errors = {"_schema": errors}
        message = data.get("message") if isinstance(data, dict) else None
        if not message:
            message = "The request has invalid fields." if errors else exc.description
        response = error_response(exc.code or 500, message, errors=errors)
        for name, value in getattr(exc, "get_headers", lambda: [])() or []:
            if name.lower() in {"allow", "retry-after"}:
                response.headers[name] = value
        valid_methods = getattr(exc, "valid_methods", None)
        if exc.code == 405 and valid_methods:
            response.headers["Allow"] = ", ".join(valid_methods)
        return response

    @app.errorhandler(DataError)
    def handle_data_error(exc: DataError):
        # A value that passed validation but the database cannot hold (a NUL character in
        # text, a number out of range): the request's fault, and nothing of it is kept.
        # Anything else raised as a DataError (our own code building a bad row) is a bug.
        if not _refused_input(exc):
            return handle_unexpected(exc)
        return _database_answer(
            exc,
            422,
            "A value in the request cannot be stored (a NUL character in text, or a number "
            "out of range). Nothing was saved.",
            log_as=("database refused a value", logging.WARNING),
        )

    @app.errorhandler(IntegrityError)
    def handle_integrity_error(exc: IntegrityError):
        # The services check uniqueness first and answer 409 with the field; two requests
        # racing past that check (or a check we lack) meet the database's constraint.
        # Any other integrity error (a foreign key, a NOT NULL) is a bug.
        if not _duplicate_key(exc):
            return handle_unexpected(exc)
        return _database_answer(
            exc,
            409,
            "This conflicts with an existing record. Nothing was saved.",
            log_as=("unique constraint refused a write", logging.WARNING),
        )

    @app.errorhandler(OperationalError)
    def handle_operational_error(exc: OperationalError):
        # The database, not the request, failed: a deadlock or serialisation failure
        # (PostgreSQL rolled the transaction back), a restart, a lost or refused
        # connection, a locked SQLite file. 503 with Retry-After, so a phone keeps its
        # records and retries (a push is idempotent by mutation id) rather than report a
        # fault in the server. Logged as an error: an unreachable database needs a person.
        if not is_transient(exc):
            return handle_unexpected(exc)
        response = _database_answer(
            exc,
            503,
            "The server could not reach its database. The request may not have been "
            "completed: try again shortly (repeating a sync is always safe).",
            log_as=("database unavailable", logging.ERROR),
        )
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return handle_http_exception(exc)
        # Log the type and where it came from, never the message: a database error's
        # message carries the statement's parameters (initials, dates of birth, notes).
        log.error(
            "unhandled %s on %s %s\n%s",
            describe_exception(exc),
            request.method,
            request.path,
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        return error_response(500, "Something went wrong on the server.")


# SQLSTATEs of values the database cannot hold: untranslatable character (NUL), bad
# escape, number out of range, string too long, invalid text for a type, bad datetime.
INPUT_SQLSTATES = {"22P05", "22025", "22021", "22003", "22001", "22P02", "22007", "22008"}


# SQLSTATEs of a database that failed for a moment: connection exceptions (class 08),
# serialisation failure, deadlock, too many connections, lock not available, query
# cancelled, shutting down, crashed, starting up. Not a full disk or a commit whose outcome
# is unknown: those need a person, not a retry.
TRANSIENT_SQLSTATE_CLASSES = {"08"}
TRANSIENT_SQLSTATES = {"40001", "40P01", "53300", "55P03", "57014", "57P01", "57P02", "57P03"}
TRANSIENT_SQLITE = ("database is locked", "database table is locked", "database is busy")
RETRY_AFTER_SECONDS = 5


def is_transient(exc: DBAPIError) -> bool:
    """Is the database unavailable (retry later), rather than refusing the request or
    revealing a bug (a missing table, bad SQL, a full disk)?"""
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate:
        return sqlstate[:2] in TRANSIENT_SQLSTATE_CLASSES or sqlstate in TRANSIENT_SQLSTATES
    if _driver(orig) == "sqlite3":
        return str(orig).startswith(TRANSIENT_SQLITE)
    # psycopg's own connection failures carry no SQLSTATE: a server gone or restarting,
    # but also a wrong password or a missing database (a 503 all the same: the service is
    # unavailable until someone acts, and the error log says so).
    return _driver(orig) == "psycopg" and type(orig).__name__ in (
        "OperationalError",
        "ConnectionTimeout",
    )


def _duplicate_key(exc: IntegrityError) -> bool:
    orig = exc.orig
    if _driver(orig) == "sqlite3":
        return str(orig).startswith("UNIQUE constraint failed")
    return getattr(orig, "sqlstate", None) == "23505"  # unique_violation


def _driver(orig) -> str | None:
    """The DB-API module behind a wrapped database error: psycopg, sqlite3 or None."""
    if not isinstance(orig, Exception):
        return None
    module = type(orig).__module__.split(".")[0]
    return module if module in ("psycopg", "sqlite3") else None


def _database_answer(exc: DBAPIError, status: int, message: str, *, log_as: tuple[str, int]):
    """Roll the request's transaction back, log the error's types (never its message,
    which carries the statement's parameters: initials, dates of birth, notes) and answer
    in the envelope."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - a dead connection may refuse even this; answer anyway
        log.warning("rollback after a database error failed")
    what, level = log_as
    log.log(level, "%s: %s on %s %s", what, describe_exception(exc), request.method, request.path)
    return error_response(status, message)


def _refused_input(exc: DataError) -> bool:
    """Is this the driver or the database refusing a value (not a bug of ours)?"""
    orig = exc.orig
    if _driver(orig) is None:
        return False
    sqlstate = getattr(orig, "sqlstate", None)
    # psycopg refuses NUL in text itself, before sending: a DataError with no SQLSTATE.
    return sqlstate is None or sqlstate in INPUT_SQLSTATES


def describe_exception(exc: BaseException) -> str:
    """The exception's type and its causes' types, without any message text."""
    names, seen = [], set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        names.append(f"{type(current).__module__}.{type(current).__qualname__}")
        current = current.__cause__ or current.__context__
    return " <- ".join(names)
