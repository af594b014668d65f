"""flask-jwt-extended errors in the project's one envelope."""

from __future__ import annotations

from flask_jwt_extended import JWTManager

from outreach.core.errors import error_response


def register_jwt_callbacks(jwt: JWTManager) -> None:
    @jwt.unauthorized_loader
    def missing_token(reason: str):
        return error_response(401, "Sign in first: this needs a bearer token.")

    @jwt.invalid_token_loader
    def invalid_token(reason: str):
        return error_response(401, "The token is not valid.")

    @jwt.expired_token_loader
    def expired_token(header, payload):
        return error_response(401, "The token has expired.")

    @jwt.revoked_token_loader
    def revoked_token(header, payload):
        return error_response(401, "The token has been revoked.")

    @jwt.needs_fresh_token_loader
    def needs_fresh(header, payload):
        return error_response(401, "Sign in again to do this.")

    @jwt.user_lookup_error_loader
    def lookup_error(header, payload):
        return error_response(401, "The token is not valid.")

    @jwt.token_verification_failed_loader
    def verification_failed(header, payload):
        return error_response(401, "The token is not valid.")
