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
    # The device the tokens are bound to: the id sent, or a new one when that id
    # belongs to another user (the phone keeps this one from now on).
    device_id = fields.UUID(required=True)
