from marshmallow import Schema, fields, validate

from outreach.core.schemas import Text


class LoginSchema(Schema):
    email = Text(required=True, validate=validate.Length(min=3, max=254))
    password = Text(required=True, load_only=True, validate=validate.Length(min=1, max=256))
    device_id = fields.UUID(required=True)
    device_label = Text(validate=validate.Length(max=120), allow_none=True)


class TokenPairSchema(Schema):
    access_token = Text(required=True)
    refresh_token = Text(required=True)


class LoginResponseSchema(TokenPairSchema):
    user = fields.Dict(required=True)
