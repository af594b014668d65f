"""Who is calling, and may they? The one place routes ask (DESIGN §2).

Every protected route uses `require(...)`. It verifies the access token, checks the
device (revoked devices get 401 `device_revoked` so the phone wipes itself) and the
token family (logged-out devices get 401), loads the user and checks the role.
Objects outside the caller's scope are filtered in queries and answer 404.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import g
from flask_jwt_extended import get_jwt, verify_jwt_in_request
from sqlalchemy import bindparam, select

from outreach.access.models import CommissionerArea, Device, Team, User
from outreach.access.sessions import epoch_of, session_ended_error
from outreach.core.errors import ApiError
from outreach.core.extensions import db
from outreach.core.types import utcnow

LAST_SEEN_RESOLUTION = timedelta(minutes=5)


@dataclass(frozen=True)
class Actor:
    """The signed-in caller of this request."""

    user: User
    device_id: uuid.UUID
    area_ids: frozenset[int] = field(default_factory=frozenset)
    # When the device last synced, as loaded with it (sync writes it only when stale).
    last_sync_at: datetime | None = None

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def role(self) -> str:
        return self.user.role

    @property
    def team_id(self) -> int | None:
        return self.user.team_id

    @property
    def is_admin(self) -> bool:
        return self.user.role == "admin"


DEVICE_REVOKED = "device_revoked"
FORBIDDEN = "Your role may not use this."


def device_revoked_error() -> ApiError:
    return ApiError(
        401,
        "This device has been revoked. Its local data must be wiped; sign in again "
        "from a registered device.",
        error_code=DEVICE_REVOKED,
    )


# Device, user and team area in one round trip: every authenticated request pays it,
# so the statement is built once (its cache key too), not on every request.
_ACTOR_QUERY = (
    select(Device, User, Team.area_id)
    .join(User, User.id == Device.user_id)
    .outerjoin(Team, Team.id == User.team_id)
    .where(Device.id == bindparam("device_id"))
)


def load_actor(claims: dict) -> Actor:
    """Check the token's device and family, and load the user."""
    try:
        device_id = uuid.UUID(str(claims.get("dev")))
        user_id = int(claims["sub"])
    except (KeyError, TypeError, ValueError):
        raise ApiError(401, "The token is not valid.") from None
    found = db.session.execute(_ACTOR_QUERY, {"device_id": device_id}).first()
    if found is None or found[0].user_id != user_id:
        raise ApiError(401, "The token is not valid for this device.")
    device, user, team_area_id = found
    if device.revoked_at is not None:
        raise device_revoked_error()
    if not user.active:
        raise ApiError(401, "This account is disabled.")
    if epoch_of(claims) != user.session_epoch:
        raise session_ended_error()
    if device.token_family is None or str(device.token_family) != claims.get("fam"):
        raise ApiError(401, "This session has ended. Sign in again.")
    now = utcnow()
    if device.last_seen_at is None or now - device.last_seen_at > LAST_SEEN_RESOLUTION:
        device.last_seen_at = now
    area_ids: frozenset[int] = frozenset()
    if user.role == "commissioner":
        area_ids = frozenset(
            db.session.scalars(
                select(CommissionerArea.area_id).where(CommissionerArea.user_id == user.id)
            )
        )
    elif team_area_id is not None:
        area_ids = frozenset({team_area_id})
    return Actor(
        user=user, device_id=device_id, area_ids=area_ids, last_sync_at=device.last_sync_at
    )


def require(*roles: str):
    """Decorator: a valid access token and, if given, one of `roles` (else 403)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            verify_jwt_in_request()
            actor = load_actor(get_jwt())
            if roles and actor.role not in roles:
                raise ApiError(403, FORBIDDEN)
            g.actor = actor
            return view(*args, **kwargs)

        return wrapper

    return decorator


def current_actor() -> Actor:
    """The caller checked by `require` for this request."""
    actor = getattr(g, "actor", None)
    if actor is None:  # a route forgot its guard: fail closed
        raise ApiError(401, "Sign in first.")
    return actor
