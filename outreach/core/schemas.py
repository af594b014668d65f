"""Schemas shared across slices: the error envelope and pagination."""

from marshmallow import Schema, fields, validate

# PostgreSQL text cannot hold NUL characters: refuse them where a field is stored or looked
# up. A pattern, so the OpenAPI document says so too.
NO_NUL = validate.Regexp(r"^[^\x00]*$", error="Must not contain NUL characters.")


class ErrorSchema(Schema):
    code = fields.Raw(
        required=True,
        metadata={
            "description": "HTTP status, or a stable string such as device_revoked",
            "oneOf": [{"type": "integer"}, {"type": "string"}],
        },
    )
    status = fields.String(required=True)
    message = fields.String(required=True)
    errors = fields.Dict(metadata={"description": "field name to messages"})


class PageArgsSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class PageMetaSchema(Schema):
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
