"""POST /auth/login, /auth/refresh, /auth/logout; the phone's lock: /auth/device-key (renew
the offline lease), /auth/pin-failures, and a team lead's /auth/team-lock-events."""

from __future__ import annotations

import hashlib

from flask import current_app, request
from flask.views import MethodView
from flask_jwt_extended import get_jwt, verify_jwt_in_request
from sqlalchemy import select

from outreach.access.guard import current_actor, require
from outreach.access.models import User
from outreach.audit.models import AuditEvent
from outreach.auth import service
from outreach.auth.schemas import (
    DeviceLeaseSchema,
    LockEventSchema,
    LoginResponseSchema,
    LoginSchema,
    PinFailuresSchema,
    TokenPairSchema,
)
from outreach.core.blueprint import Blueprint
from outreach.core.extensions import limiter
from outreach.core.pagination import paginate
from outreach.core.schemas import PageArgsSchema, PageSchema, page_items

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Sign-in and tokens")


def _account_key() -> str:
    """The failed-sign-in counter of the account asked for, keyed by a digest of its email:
    the limiter's store (Redis in production) never holds an address, and any text, even
    half an emoji, makes a key."""
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    normalised = str(email or "").strip().lower()[:254].encode("utf-8", "surrogatepass")
    return "login-account:" + hashlib.sha256(normalised).hexdigest()


def _failed(response) -> bool:
    return response.status_code == 401


def _per_account() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ACCOUNT"]


def _per_address() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ADDRESS"]


@blp.route("/login")
class Login(MethodView):
    decorators = [
        limiter.limit(_per_address, deduct_when=_failed, scope="login-address"),
        limiter.limit(_per_account, key_func=_account_key, deduct_when=_failed),
    ]

    @blp.arguments(LoginSchema)
    @blp.response(200, LoginResponseSchema)
    @blp.alt_response(401, description="Wrong email or password, or device revoked")
    @blp.alt_response(409, description="The phone holds another worker's unsynced records")
    @blp.alt_response(429, description="Too many failed attempts")
    @blp.doc(security=[])
    def post(self, args):
        """Sign in from a device; returns an access and a device-bound refresh token, and
        the device id they are bound to (a new one if the id sent is another user's), and
        the device's new secrets for its app lock (rotated on every sign-in)."""
        profile, tokens = service.login(
            args["email"],
            args["password"],
            args["device_id"],
            args.get("device_label"),
            held_generation=args.get("key_generation"),
            pin_failures=args["pin_failures"],
            waiting_for_user_id=args.get("waiting_for_user_id"),
        )
        return {**tokens, "user": profile}


@blp.route("/refresh")
class Refresh(MethodView):
    @blp.response(200, TokenPairSchema)
    @blp.alt_response(401, description="Refresh token spent, reused, expired or revoked")
    @blp.doc(security=[{"bearerAuth": []}])
    def post(self):
        """Spend the refresh token (sent as the bearer) for a new pair."""
        verify_jwt_in_request(refresh=True)
        return service.refresh(get_jwt())


@blp.route("/logout")
class Logout(MethodView):
    @blp.response(204)
    @blp.alt_response(401, description="Not signed in")
    @blp.doc(security=[{"bearerAuth": []}])
    def post(self):
        """End this device's session: its access and refresh tokens stop working."""
        verify_jwt_in_request(verify_type=False)
        service.logout(get_jwt())


@blp.route("/device-key")
class DeviceLease(MethodView):
    decorators = [require()]

    @blp.response(200, DeviceLeaseSchema)
    @blp.alt_response(401, description="Not signed in, or device revoked")
    @blp.alt_response(404, description="No secrets for this device and user")
    @blp.doc(security=[{"bearerAuth": []}])
    def post(self):
        """Renew this phone's offline lease: the device's unlock secret and lock settings."""
        actor = current_actor()
        return service.renew_lease(actor.id, actor.device_id)


@blp.route("/pin-failures")
class PinFailures(MethodView):
    decorators = [require()]

    @blp.arguments(PinFailuresSchema)
    @blp.response(204)
    @blp.alt_response(401, description="Not signed in, or device revoked")
    @blp.doc(security=[{"bearerAuth": []}])
    def post(self, args):
        """Report wrong PINs typed on this phone (audited; the team lead sees them)."""
        actor = current_actor()
        service.report_pin_failures(actor.id, actor.device_id, args["count"], args["key_forgotten"])


class LockEventPageSchema(PageSchema):
    items = page_items(LockEventSchema)


def _lock_event(row) -> dict:
    event, name = row
    detail = event.detail or {}
    return {
        "at": event.at,
        "user_id": event.actor_id,
        "user_name": name,
        "device_id": event.device_id,
        "count": detail.get("count"),
        "key_forgotten": detail.get("key_forgotten"),
    }


@blp.route("/team-lock-events")
class TeamLockEvents(MethodView):
    decorators = [require("team_lead")]

    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, LockEventPageSchema)
    @blp.alt_response(401, description="Not signed in, or device revoked")
    @blp.alt_response(403, description="Not a team lead")
    @blp.doc(security=[{"bearerAuth": []}])
    def get(self, args):
        """Wrong PINs typed on the phones of the lead's team, newest first."""
        stmt = (
            select(AuditEvent, User.name)
            .join(User, User.id == AuditEvent.actor_id)
            .where(User.team_id == current_actor().team_id)
            .where(AuditEvent.action == "device.pin_failed")
            .order_by(AuditEvent.id.desc())
        )
        return paginate(stmt, args, row=_lock_event)
