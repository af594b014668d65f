"""Idle syncs answered before anything heavy (issue 21).

Most of a fleet's syncs find nothing new: a phone open on a shift pulls once a minute
from its cursor, and its team's high-water mark has not moved. Such a pull (and a push
of nothing) is answered here, before the guard loads the actor as ORM objects, before
the arguments are parsed by their schema and before the pull reads the change log: the
token is verified (its signature once per worker, its expiry every time), then ONE
statement checks what the guard checks (device, token family, user, role) against the
team's mark and, when all holds, writes the device's last seen / last sync as the full
path would (only when older than their resolutions). The answer is the one the full
path would give: no changes, the same cursor (a push of nothing: no results). Anything
else (a revoked device, an ended session, another team's cursor, a cursor below or
above the mark, odd arguments) goes on to the full path, which answers it as always.

That write does not wait for the WAL to reach the disk (`synchronous_commit = off` for
its own transaction): a crash could lose a minute of "last synced", nothing else. An
empty push writes no audit event (the full path records `sync.push` with 0 mutations).
Measured by bench/idle_sync_bench.py against the full path.
"""

from __future__ import annotations

import functools
import re
import threading
import time
import uuid
from datetime import datetime, timedelta

import orjson
from flask import Response, current_app, request
from flask_jwt_extended import decode_token
from sqlalchemy import Engine, bindparam, create_engine, select, update
from sqlalchemy.exc import DBAPIError

from outreach.access.guard import LAST_SEEN_RESOLUTION
from outreach.access.models import Device, User
from outreach.access.sessions import epoch_of
from outreach.core.db import on_postgres
from outreach.core.extensions import db
from outreach.core.metrics import SYNC_IDLE, watch_pool
from outreach.core.types import utcnow
from outreach.records.models import SyncCounter
from outreach.records.sequence import COUNTER_ID
from outreach.sync.service import SYNC_TIME_RESOLUTION

# Only an incremental cursor of a named team can be at the mark.
_CURSOR = re.compile(r"^([0-9]{1,18})\.t([0-9]{1,9})$")
_LIMIT = re.compile(r"^[0-9]{1,4}$")
_MAX_LIMIT = 1000
# Verified access tokens (token -> claims): a phone sends the same token for 15 minutes,
# once a minute; its signature is checked once per worker, its expiry on every use.
_VERIFIED: dict[str, dict] = {}
_VERIFIED_MAX = 20_000
_clock = time.time  # seconds since the epoch, as in a token's `exp`


def _claims() -> dict | None:
    """The request's access token's claims, verified; None if absent or not valid."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    token = header[7:]
    claims = _VERIFIED.get(token)
    if claims is None:
        try:
            claims = decode_token(token)
        except Exception:  # noqa: BLE001 - any doubt: the full path gives the proper error
            return None
        if claims.get("type") != "access":
            return None
        if len(_VERIFIED) >= _VERIFIED_MAX:
            _VERIFIED.clear()
        _VERIFIED[token] = claims
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp <= _clock():
        _VERIFIED.pop(token, None)
        return None
    return claims


class Asked:
    """What the phone asks, from its token and (for a pull) its cursor."""

    def __init__(self, claims: dict, roles: tuple[str, ...], seq: int | None, team: int | None):
        self.device_id = uuid.UUID(str(claims.get("dev")))
        self.user_id = int(claims["sub"])
        self.family = str(claims.get("fam"))
        self.epoch = epoch_of(claims)  # the guard's session check (a reset ends them)
        self.roles = list(roles)
        self.seq = seq  # None: a push (no cursor to hold against the mark)
        self.team = team


# PostgreSQL: one autocommitted statement reads the device, user and the team's mark
# and, when all is as the full path would find it, writes the device's last seen / last
# sync if they are stale (the full path's resolutions). `written` says it did.
_PG_STATE = """
WITH s AS (
  SELECT d.id, d.user_id, d.revoked_at, d.token_family::text AS family,
         d.last_seen_at, d.last_sync_at, u.active, u.role, u.team_id, u.session_epoch,
         COALESCE((SELECT high FROM sync_team_seq WHERE team_id = u.team_id), 0) AS mark
  FROM device d JOIN user_account u ON u.id = d.user_id
  WHERE d.id = %(device)s
), ok AS (
  SELECT * FROM s
  WHERE s.user_id = %(user)s AND s.revoked_at IS NULL AND s.family = %(family)s
    AND s.active AND s.session_epoch = %(epoch)s
    AND s.role = ANY(%(roles)s) AND s.team_id IS NOT NULL
    AND (%(team)s::integer IS NULL OR s.team_id = %(team)s::integer)
    AND (%(seq)s::bigint IS NULL OR s.mark = %(seq)s::bigint)
), w AS (
  UPDATE device SET
    last_seen_at = CASE WHEN ok.last_seen_at IS NULL
                          OR %(now)s - ok.last_seen_at > %(seen)s
                        THEN %(now)s ELSE device.last_seen_at END,
    last_sync_at = CASE WHEN ok.last_sync_at IS NOT NULL
                          AND %(now)s - ok.last_sync_at BETWEEN interval '0' AND %(synced)s
                        THEN device.last_sync_at ELSE %(now)s END
  FROM ok
  WHERE device.id = ok.id
    AND (ok.last_seen_at IS NULL OR %(now)s - ok.last_seen_at > %(seen)s
         OR NOT (ok.last_sync_at IS NOT NULL
                 AND %(now)s - ok.last_sync_at BETWEEN interval '0' AND %(synced)s))
    AND set_config('synchronous_commit', 'off', true) = 'off'
  RETURNING 1
)
SELECT (SELECT count(*) FROM ok) AS served, (SELECT count(*) FROM w) AS written
"""


def _serve(asked: Asked) -> bool:
    """True if the full path would serve this caller an idle answer: then the device's
    last seen / last sync are written as the full path writes them."""
    now = utcnow()
    if on_postgres():
        # One round trip on an autocommit connection that is not pinged first: a
        # connection that died answers with an error, and the full path (whose pool
        # pings) answers instead. The synchronous commit is off for that statement's
        # transaction alone: a crash could lose a minute of "last synced", nothing else.
        try:
            with _engine().connect() as conn:
                row = conn.exec_driver_sql(
                    _PG_STATE,
                    {
                        "device": asked.device_id,
                        "user": asked.user_id,
                        "family": asked.family,
                        "epoch": asked.epoch,
                        "roles": asked.roles,
                        "team": asked.team,
                        "seq": asked.seq,
                        "now": now,
                        # The full path's resolutions (guard and service.note_sync).
                        "seen": LAST_SEEN_RESOLUTION,
                        "synced": SYNC_TIME_RESOLUTION,
                    },
                ).one()
        except DBAPIError:  # a lost connection (now discarded): let the full path answer
            return False
        return bool(row.served)
    return _serve_portable(asked, now)


_ENGINE_LOCK = threading.Lock()


def _engine() -> Engine:
    """The app's idle-sync engine, made on first use in each process (after gunicorn's
    fork): the app's database URL and connection arguments, autocommit, no ping, a small
    pool."""
    extensions = current_app.extensions
    engine = extensions.get("outreach_idle_engine")
    if engine is None:
        with _ENGINE_LOCK:
            engine = extensions.get("outreach_idle_engine")
            if engine is None:
                options = current_app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {})
                engine = create_engine(
                    db.engine.url,
                    connect_args=options.get("connect_args", {}),  # TLS, timeouts, name
                    isolation_level="AUTOCOMMIT",
                    pool_pre_ping=False,
                    pool_size=2,
                    max_overflow=4,
                )
                watch_pool(engine)
                extensions["outreach_idle_engine"] = engine
    return engine


_STATE = (
    select(
        Device.user_id,
        Device.revoked_at,
        Device.token_family,
        Device.last_seen_at,
        Device.last_sync_at,
        User.active,
        User.role,
        User.team_id,
        User.session_epoch,
        select(SyncCounter.value)
        .where(SyncCounter.id == COUNTER_ID)
        .scalar_subquery()
        .label("mark"),
    )
    .join(User, User.id == Device.user_id)
    .where(Device.id == bindparam("device_id"))
)


def _serve_portable(asked: Asked, now: datetime) -> bool:
    """The same checks and writes in two statements (SQLite: one counter, every team)."""
    row = db.session.execute(_STATE, {"device_id": asked.device_id}).first()
    if (
        row is None
        or row.user_id != asked.user_id
        or row.revoked_at is not None
        or str(row.token_family) != asked.family
        or not row.active
        or row.session_epoch != asked.epoch
        or row.role not in asked.roles
        or row.team_id is None
        or (asked.team is not None and row.team_id != asked.team)
        or (asked.seq is not None and int(row.mark or 0) != asked.seq)
    ):
        db.session.rollback()
        return False
    values = {}
    if row.last_seen_at is None or now - row.last_seen_at > LAST_SEEN_RESOLUTION:
        values["last_seen_at"] = now
    last = row.last_sync_at
    if not (last is not None and timedelta(0) <= now - last <= SYNC_TIME_RESOLUTION):
        values["last_sync_at"] = now
    if values:
        db.session.execute(
            update(Device).where(Device.id == asked.device_id).values(**values),
            execution_options={"synchronize_session": False},
        )
        db.session.commit()
    else:
        db.session.rollback()
    return True


def _json(body: dict) -> Response:
    return current_app.response_class(orjson.dumps(body), mimetype="application/json")


def idle_pull(roles: tuple[str, ...]):
    """Decorator: answer a pull at the team's mark here; anything else goes to `view`."""
    return functools.partial(_idle_pull, roles=roles)


def idle_push(roles: tuple[str, ...]):
    """Decorator: answer a push of no mutations here; anything else goes to `view`."""
    return functools.partial(_idle_push, roles=roles)


def _idle_pull(view, roles: tuple[str, ...]):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not current_app.config.get("SYNC_IDLE_FAST_PATH", True):
            return view(*args, **kwargs)
        query = request.args
        cursor = query.get("cursor", "")
        match = _CURSOR.match(cursor)
        if not match or not set(query) <= {"cursor", "limit"} or len(query.getlist("cursor")) > 1:
            return view(*args, **kwargs)
        limit = query.getlist("limit")
        if limit and (
            len(limit) > 1 or not _LIMIT.match(limit[0]) or not 1 <= int(limit[0]) <= _MAX_LIMIT
        ):
            return view(*args, **kwargs)
        claims = _claims()
        seq, team = int(match.group(1)), int(match.group(2))
        asked = _asked(claims, roles, seq, team)
        if asked is None or not _serve(asked):
            return view(*args, **kwargs)
        SYNC_IDLE.labels("pull").inc()
        return _json({"changes": [], "cursor": f"{seq}.t{team}", "has_more": False})

    return wrapper


def _idle_push(view, roles: tuple[str, ...]):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not current_app.config.get("SYNC_IDLE_FAST_PATH", True):
            return view(*args, **kwargs)
        size = request.content_length
        if size is None or size > 200 or request.args or request.mimetype != "application/json":
            return view(*args, **kwargs)
        try:
            body = orjson.loads(request.get_data(cache=True))
        except orjson.JSONDecodeError:
            return view(*args, **kwargs)
        if not _empty_push(body, current_app.config["SYNC_MIN_SCHEMA_VERSION"]):
            return view(*args, **kwargs)
        claims = _claims()
        asked = _asked(claims, roles, None, None)
        if asked is None or not _serve(asked):
            return view(*args, **kwargs)
        SYNC_IDLE.labels("push").inc()
        return _json({"results": []})

    return wrapper


def _asked(
    claims: dict | None, roles: tuple[str, ...], seq: int | None, team: int | None
) -> Asked | None:
    if claims is None:
        return None
    try:
        return Asked(claims, roles, seq, team)
    except (KeyError, TypeError, ValueError):
        return None


def _empty_push(body, min_version: int) -> bool:
    if not isinstance(body, dict) or body.get("mutations") != []:
        return False
    if not set(body) <= {"device_id", "schema_version", "mutations"}:
        return False
    version = body.get("schema_version")
    if type(version) is not int or not min_version <= version <= 1_000_000:
        return False
    if "device_id" in body:  # as the schema's UUID field: a string that parses, never null
        device = body["device_id"]
        if not isinstance(device, str):
            return False
        try:
            uuid.UUID(device)
        except ValueError:
            return False
    return True
