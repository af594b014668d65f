from marshmallow import Schema, fields, validate

from outreach.core.schemas import JsonBoolean, Text


class LoginSchema(Schema):
    email = Text(required=True, validate=validate.Length(min=3, max=254))
    password = Text(required=True, load_only=True, validate=validate.Length(min=1, max=256))
    device_id = fields.UUID(required=True)
    device_label = Text(validate=validate.Length(max=120), allow_none=True)
    key_generation = fields.Integer(
        validate=validate.Range(min=1, max=2**31 - 1),
        allow_none=True,
        metadata={"description": "generation of the phone's wrapped data key, if it has one"},
    )
    pin_failures = fields.Integer(
        load_default=0,
        validate=validate.Range(min=0, max=1000),
        metadata={"description": "wrong PINs typed since the phone last reported"},
    )
    waiting_for_user_id = fields.Integer(
        validate=validate.Range(min=1, max=2**31 - 1),
        allow_none=True,
        metadata={"description": "the worker whose unsynced records the phone holds"},
    )


class TokenPairSchema(Schema):
    access_token = Text(required=True)
    refresh_token = Text(required=True)


class LockSettingsSchema(Schema):
    offline_unlock_hours = fields.Integer(
        required=True, metadata={"description": "how long the phone may keep the unlock secret"}
    )
    lock_minutes = fields.Integer(
        required=True, metadata={"description": "the app locks after this long unused"}
    )
    pin_attempts = fields.Integer(
        required=True, metadata={"description": "wrong PINs before the phone forgets its key"}
    )


class DeviceLeaseSchema(LockSettingsSchema):
    generation = fields.Integer(required=True)
    unlock_secret = Text(
        required=True, metadata={"description": "base64, 32 bytes: half of the PIN key's input"}
    )


class DeviceKeySchema(DeviceLeaseSchema):
    recovery_key = Text(
        required=True, metadata={"description": "base64, 32 bytes: never kept by the phone"}
    )
    previous_generation = fields.Integer(allow_none=True)
    previous_recovery_key = Text(
        allow_none=True,
        metadata={"description": "the recovery key of the generation the phone said it holds"},
    )


class LoginResponseSchema(TokenPairSchema):
    user = fields.Dict(required=True)
    device_key = fields.Nested(DeviceKeySchema, required=True)
    # The device the tokens are bound to: the id sent, or a new one when that id
    # belongs to another user (the phone keeps this one from now on).
    device_id = fields.UUID(required=True)


class PinFailuresSchema(Schema):
    count = fields.Integer(required=True, validate=validate.Range(min=1, max=1000))
    key_forgotten = JsonBoolean(load_default=False)


class LockEventSchema(Schema):
    at = fields.DateTime(required=True)
    user_id = fields.Integer(allow_none=True)
    user_name = Text(allow_none=True)
    device_id = fields.UUID(allow_none=True)
    count = fields.Integer(allow_none=True)
    key_forgotten = JsonBoolean(allow_none=True)
