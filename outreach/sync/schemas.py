"""Request and response shapes of the sync API (DESIGN §4).

Each mutation is checked on its own by the push service, not by this schema, so one
malformed mutation is rejected alone instead of failing the whole batch.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from outreach.core.schemas import Text

MUTATION_DOC = {
    "type": "object",
    "description": "One change made on the device. A mutation of another shape is "
    "rejected on its own in the results: the rest of the batch is still applied.",
    "required": ["mutation_id", "entity", "op", "id"],
    "properties": {
        "mutation_id": {"type": "string", "format": "uuid"},
        "entity": {
            "type": "string",
            "description": "A synced entity: client, intervention, follow_up, or another the "
            "server defines (the PWA's /js/core/spec.js lists them).",
        },
        "op": {"type": "string", "enum": ["upsert", "delete"]},
        "id": {"type": "string", "format": "uuid"},
        "base_version": {"type": "integer", "nullable": True, "minimum": 1},
        "data": {"type": "object", "description": "The whole record (DESIGN §8 names)."},
    },
}


class PushSchema(Schema):
    device_id = fields.UUID(
        metadata={"description": "The device's id; the signed-in device is what counts."}
    )
    schema_version = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=1, max=1_000_000),
        metadata={"description": "the app's data version; one too old is answered 426"},
    )
    mutations = fields.List(
        fields.Raw(allow_none=True, metadata=MUTATION_DOC),
        required=True,
        metadata={"maxItems": 500},
    )


class RecordSchema(Schema):
    entity = Text()
    id = Text()
    version = fields.Integer()
    server_seq = fields.Integer()
    deleted = fields.Boolean()
    data = fields.Dict()


class MutationResultSchema(Schema):
    mutation_id = Text(allow_none=True)
    id = Text(allow_none=True)
    status = Text(metadata={"enum": ["applied", "duplicate", "conflict", "rejected"]})
    original_status = Text(metadata={"description": "for duplicate: the first outcome"})
    version = fields.Integer()
    server_seq = fields.Integer()
    message = Text()
    errors = fields.Dict(metadata={"description": "field name to messages (rejected)"})
    record = fields.Nested(RecordSchema, metadata={"description": "merged record (conflict)"})


class PushResultSchema(Schema):
    results = fields.List(fields.Nested(MutationResultSchema))


CURSOR_PATTERN = (
    r"^([0-9]{1,18}(\.t[0-9]{1,9})?"
    r"|snap:[0-9]{1,18}:[0-9]:[0-9]{1,18}:[0-9a-f]{32}(:t[0-9]{1,9})?)?$"
)


class PullArgsSchema(Schema):
    cursor = Text(
        load_default=None,
        validate=validate.Regexp(CURSOR_PATTERN),
        metadata={
            "description": "Opaque: the `cursor` of the previous page, as given. Absent (or "
            "empty) for a first pull, which returns the whole current scope. `<n>.t<team>` "
            "is a position in the team's sequence; `snap:...` is part way through a first "
            "pull. A cursor of another team (the user moved) answers 422 on `cursor`: pull "
            "again without one. A cursor ahead of the server (a restored database) starts "
            "the scope again."
        },
    )
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=1000))


class ChangeSchema(Schema):
    entity = Text()
    op = Text(metadata={"enum": ["upsert", "remove"]})
    id = Text()
    version = fields.Integer(allow_none=True)
    server_seq = fields.Integer()
    data = fields.Dict()


class PullResultSchema(Schema):
    changes = fields.List(fields.Nested(ChangeSchema))
    cursor = Text()
    has_more = fields.Boolean()
    reference = fields.Dict(
        metadata={"description": "first page only: code lists, the team and its workers"}
    )
