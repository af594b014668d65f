"""POST /auth/login, /auth/refresh, /auth/logout; the phone's lock: /auth/device-key (renew
the offline lease), /auth/pin-failures, and a team lead's /auth/team-lock-events."""

from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView
from flask_jwt_extended import get_jwt, verify_jwt_in_request
from sqlalchemy import select

from outreach.access.guard import current_actor, require
from outreach.access.models import User
from outreach.audit.models import AuditEvent
from outreach.audit.service import record_event
from outreach.auth import service, throttle
from outreach.auth.schemas import (
    DeviceLeaseSchema,
    LockEventSchema,
    LoginResponseSchema,
    LoginSchema,
    PinFailuresSchema,
    TokenPairSchema,
)
from outreach.core.blueprint import Blueprint
from outreach.core.extensions import db, limiter
from outreach.core.pagination import paginate
from outreach.core.schemas import PageArgsSchema, PageSchema, page_items

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Sign-in and tokens")


# Every failed sign-in counts against the address, whatever made it fail: wrong
# credentials, and bodies that are malformed, invalid, too large or too deep.
FAILED_STATUSES = frozenset({400, 401, 413, 415, 422})


def _failed(response) -> bool:
    return response.status_code in FAILED_STATUSES


def _per_address() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ADDRESS"]


def _address_limited(limit) -> None:
    """Audit an address that reached the global per-address limit."""
    record_event("auth.login_address_limited", actor_id=None, detail={"limit": str(limit.limit)})
    db.session.commit()


@blp.route("/login")
class Login(MethodView):
    decorators = [
        limiter.limit(
            _per_address,
            deduct_when=_failed,
            scope="login-address",
            on_breach=_address_limited,
        ),
    ]

    @blp.arguments(LoginSchema)
    @blp.response(200, LoginResponseSchema)
    @blp.alt_response(401, description="Wrong email or password, or device revoked")
    @blp.alt_response(409, description="The phone holds another worker's unsynced records")
    @blp.alt_response(429, description="Too many failed attempts from this address")
    @blp.doc(security=[])
    def post(self, args):
        """Sign in from a device; returns an access and a device-bound refresh token, the
        device id they are bound to (a new one if the id sent is another user's), and the
        device's new secrets for its app lock (rotated on every sign-in). Failed sign-ins
        of an account from one address back off exponentially (429 with Retry-After)
        without locking the account elsewhere."""
        address = request.remote_addr
        throttle.check(args["email"], address)
        try:
            profile, tokens = service.login(
                args["email"],
                args["password"],
                args["device_id"],
                args.get("device_label"),
                held_generation=args.get("key_generation"),
                pin_failures=args["pin_failures"],
                waiting_for_user_id=args.get("waiting_for_user_id"),
            )
        except service.LoginFailed as exc:
            db.session.rollback()
            throttle.failed(args["email"], address, exc.reason, actor_id=exc.user_id)
            raise
        throttle.succeeded(args["email"], address)
        db.session.commit()
        return {**tokens, "user": profile}


@blp.after_request
def _count_invalid_sign_ins(response):
    """A login refused before its view ran (a body malformed, invalid, too large or too
    deep) is a failed sign-in too: counted for its account and address, and audited."""
    if request.endpoint == "auth.Login" and response.status_code in FAILED_STATUSES - {401}:
        readable = response.status_code != 413 and request.is_json
        body = request.get_json(silent=True, cache=True) if readable else None
        email = body.get("email") if isinstance(body, dict) else None
        db.session.rollback()
        throttle.failed(email, request.remote_addr, f"invalid_request_{response.status_code}")
    return response


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
