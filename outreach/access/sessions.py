"""Ending every session of a user at once (a password reset, deactivation, a change of
role or team): the user's session epoch goes up, so every access token issued before
(claim `ep`) fails on its next request, and every device's token family is cleared, so
its refresh tokens are refused. The caller audits why (`outreach.org.service`)."""

from __future__ import annotations

from sqlalchemy import update

from outreach.access.models import Device, User
from outreach.core.errors import ApiError
from outreach.core.extensions import db

SESSION_ENDED = "session_ended"
EPOCH_CLAIM = "ep"


def session_ended_error() -> ApiError:
    return ApiError(
        401,
        "Your session has ended (your account was changed). Sign in again: records not "
        "yet synced stay on the phone.",
        error_code=SESSION_ENDED,
    )


def epoch_of(claims: dict) -> int:
    """The session epoch a token was issued in (tokens from before epochs: 0)."""
    value = claims.get(EPOCH_CLAIM, 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


def end_sessions(user: User) -> None:
    """End every session of `user` now (in the caller's transaction)."""
    user.session_epoch = (user.session_epoch or 0) + 1
    db.session.execute(
        update(Device)
        .where(Device.user_id == user.id, Device.token_family.is_not(None))
        .values(token_family=None),
        execution_options={"synchronize_session": False},
    )
