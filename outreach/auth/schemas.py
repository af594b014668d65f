from marshmallow import Schema, fields, validate

from outreach.core.schemas import NO_NUL


class LoginSchema(Schema):
    email = fields.String(required=True, validate=[validate.Length(min=3, max=254), NO_NUL])
    password = fields.String(
        required=True, load_only=True, validate=validate.Length(min=1, max=256)
    )
    device_id = fields.UUID(required=True)
    device_label = fields.String(validate=[validate.Length(max=120), NO_NUL], allow_none=True)


class TokenPairSchema(Schema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True)


class LoginResponseSchema(TokenPairSchema):
    user = fields.Dict(required=True)
