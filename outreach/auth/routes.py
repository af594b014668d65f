"""POST /auth/login, /auth/refresh, /auth/logout."""

from __future__ import annotations

import hashlib

from flask import current_app, request
from flask.views import MethodView
from flask_jwt_extended import get_jwt, verify_jwt_in_request

from outreach.auth import service
from outreach.auth.schemas import LoginResponseSchema, LoginSchema, TokenPairSchema
from outreach.core.blueprint import Blueprint
from outreach.core.extensions import limiter

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
    @blp.alt_response(429, description="Too many failed attempts")
    @blp.doc(security=[])
    def post(self, args):
        """Sign in from a device; returns an access and a device-bound refresh token, and
        the device id they are bound to (a new one if the id sent is another user's)."""
        profile, tokens = service.login(
            args["email"], args["password"], args["device_id"], args.get("device_label")
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
