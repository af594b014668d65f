"""The sign-in throttle (OWASP Authentication Cheat Sheet): failures are counted per
account *and* address, and past a few free tries each further failure doubles the wait
of that pair only, so one address hammering an account never locks its owner out
elsewhere. A global per-address limit (Flask-Limiter, `auth/routes.py`) caps what one
address may try across accounts. The counter's key is a keyed digest of the email and
address: the table holds neither. Every failure and every block is audited with the
address (the audit log's `address` column) and the reason."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from outreach.audit.service import record_event
from outreach.auth.models import LoginThrottle
from outreach.core.db import rowcount
from outreach.core.errors import ApiError
from outreach.core.extensions import db
from outreach.core.types import utcnow

TOO_MANY = "Too many failed sign-ins from here. Wait {wait} and try again."


def normalise_email(email: object) -> str:
    return str(email or "").strip().lower()[:254]


def throttle_key(email: object, address: str | None) -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    text = f"{normalise_email(email)}\0{address or ''}".encode("utf-8", "surrogatepass")
    return hmac.new(secret, text, hashlib.sha256).hexdigest()


def _wait_text(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{(seconds + 59) // 60} minutes"


def blocked_error(seconds: int) -> ApiError:
    return ApiError(429, TOO_MANY.format(wait=_wait_text(seconds)), retry_after=seconds)


def check(email: object, address: str | None) -> None:
    """Refuse (429, Retry-After) while this account and address are backing off."""
    row = db.session.get(LoginThrottle, throttle_key(email, address))
    now = utcnow()
    if row is not None and row.blocked_until is not None and row.blocked_until > now:
        seconds = max(1, int((row.blocked_until - now).total_seconds() + 0.999))
        raise blocked_error(seconds)


def backoff_seconds(failures: int) -> int:
    """The wait after `failures` failures of one pair: none for the first free ones,
    then the base doubled on each further failure, up to the cap."""
    config = current_app.config
    free = config["LOGIN_BACKOFF_AFTER"]
    if failures < free:
        return 0
    base, cap = config["LOGIN_BACKOFF_BASE_SECONDS"], config["LOGIN_BACKOFF_MAX_SECONDS"]
    return int(min(cap, base * 2 ** min(failures - free, 20)))


def failed(
    email: object,
    address: str | None,
    reason: str,
    *,
    actor_id: int | None = None,
) -> None:
    """Count and audit a failed sign-in (and the block it earns); commits."""
    key = throttle_key(email, address)
    now = utcnow()
    failures = _count(key, now)
    seconds = backoff_seconds(failures)
    blocked_until = now + timedelta(seconds=seconds) if seconds else None
    db.session.execute(
        update(LoginThrottle).where(LoginThrottle.key == key).values(blocked_until=blocked_until)
    )
    record_event("auth.login_failed", actor_id=actor_id, detail={"reason": reason})
    if seconds:
        record_event(
            "auth.login_throttled",
            actor_id=actor_id,
            detail={"failures": failures, "seconds": seconds},
        )
    db.session.commit()


def _count(key: str, now: datetime) -> int:
    """One more failure of the pair (a pair quiet for a day starts again): the count."""
    reset_after = now - timedelta(seconds=current_app.config["LOGIN_BACKOFF_RESET_SECONDS"])
    for _ in range(3):
        row = db.session.get(LoginThrottle, key, with_for_update=True)
        if row is not None:
            row.failures = 1 if row.last_failure_at < reset_after else row.failures + 1
            row.last_failure_at = now
            db.session.flush()
            return row.failures
        try:
            with db.session.begin_nested():
                db.session.add(LoginThrottle(key=key, failures=1, last_failure_at=now))
            return 1
        except IntegrityError:  # a concurrent first failure of the same pair
            continue
    return 1


def succeeded(email: object, address: str | None) -> None:
    """A correct sign-in clears its pair's count (in the caller's transaction)."""
    db.session.execute(
        delete(LoginThrottle).where(LoginThrottle.key == throttle_key(email, address))
    )


def forget_old(now: datetime) -> int:
    """Drop counts of pairs quiet for longer than the reset period and not blocked."""
    reset_after = now - timedelta(seconds=current_app.config["LOGIN_BACKOFF_RESET_SECONDS"])
    return rowcount(
        db.session.execute(
            delete(LoginThrottle).where(
                LoginThrottle.last_failure_at < reset_after,
                (LoginThrottle.blocked_until.is_(None)) | (LoginThrottle.blocked_until < now),
            )
        )
    )
