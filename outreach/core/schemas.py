"""Schemas shared across slices: the text fields every schema uses, the error envelope and
pagination."""

from marshmallow import Schema, ValidationError, fields, validate

# PostgreSQL text cannot hold NUL characters: refuse them where a field is stored or looked
# up. A pattern, so the OpenAPI document says so too; every `Text` field carries it unless
# it has its own pattern or list of values.
NO_NUL = validate.Regexp(r"^[^\x00]*$", error="Must not contain NUL characters.")
BROKEN_TEXT = "Must be valid text (half an emoji or another broken character)."


def is_unicode_text(value: str) -> bool:
    """False for a string holding a lone surrogate (`"\\ud83d"` in JSON: a phone that cut
    an emoji in half), which no database, password hash or UTF-8 response can hold."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class Text(fields.String):
    """The string field of every schema here. Request bodies are parsed by the standard
    library, so `"\\ud800"` and `"\\u0000"` arrive as valid JSON text. A lone surrogate is
    refused here (no schema can say it); NUL by the `NO_NUL` pattern, added unless the field
    has its own pattern or list of values, so the OpenAPI document says so. Before, both
    reached a database, a password hash or a log as a 500."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not any(isinstance(v, validate.Regexp | validate.OneOf) for v in self.validators):
            self.validators.append(NO_NUL)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not is_unicode_text(text):
            raise ValidationError(BROKEN_TEXT)
        return text


class Email(fields.Email, Text):
    """An email address, with `Text`'s refusals."""


class JsonBoolean(fields.Boolean):
    """true or false in a JSON body, nothing else: marshmallow's Boolean also takes 0, 1,
    "yes" or "off", which the OpenAPI document (type boolean) does not allow. Query
    strings, which carry text, keep fields.Boolean."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class ErrorSchema(Schema):
    code = fields.Raw(
        required=True,
        metadata={
            "description": "HTTP status, or a stable string such as device_revoked",
            "oneOf": [{"type": "integer"}, {"type": "string"}],
        },
    )
    status = Text(required=True)
    message = Text(required=True)
    errors = fields.Dict(metadata={"description": "field name to messages"})


class PageArgsSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class PageMetaSchema(Schema):
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True, metadata={"description": "items in the whole list"})


class PageSchema(Schema):
    """The one shape of every list the API answers: `{"items": [...], "meta": {"page",
    "per_page", "total"}}`, paged by `PageArgsSchema` (outreach.core.pagination builds it).
    A list may add keys beside the two (the caseload's clock, a history's client).
    Each list's schema derives from this one and names its items with `page_items`."""

    items = fields.List(fields.Raw(), required=True)
    meta = fields.Nested(PageMetaSchema, required=True)


def page_items(schema: type[Schema]) -> fields.List:
    """The `items` field of a `PageSchema`: a list of `schema`."""
    return fields.List(fields.Nested(schema), required=True)
