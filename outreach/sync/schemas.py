"""Request and response shapes of the sync API (DESIGN §4).

Each mutation is checked on its own by the push service, not by this schema, so one
malformed mutation is rejected alone instead of failing the whole batch.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate
from sqlalchemy import JSON, Boolean, Date, DateTime, Integer, Uuid

from outreach.core.schemas import Text
from outreach.records.registry import ENTITIES, EntitySpec

# Entities are registered by their slices (outreach.records.registry); the document names
# the three every phone knows and leaves room for others (the PWA's spec.js lists them).
ENTITY_DOC = {
    "type": "string",
    "description": "A synced entity: client, intervention, follow_up, or another the server "
    "defines (the PWA's /js/core/spec.js lists them).",
}
MUTATION_DOC = {
    "type": "object",
    "description": "One change made on the device. A mutation of another shape is "
    "rejected on its own in the results: the rest of the batch is still applied.",
    "required": ["mutation_id", "entity", "op", "id"],
    "properties": {
        "mutation_id": {"type": "string", "format": "uuid"},
        "entity": ENTITY_DOC,
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


# Schemas of push and pull results that name others by reference (a record's data, one
# schema per synced entity; a mutation's result, one schema per outcome) are put in the
# document when the sync blueprint is registered (`sync_components`).
RECORD_DATA_TEXT = (
    "The whole record as the phone stores it: the entity's fields (DESIGN §8 names), then "
    "version, server_seq and the server's times."
)
RECORD_DATA = {
    "allOf": [{"$ref": "#/components/schemas/RecordData"}],
    "description": RECORD_DATA_TEXT,
}
FIELD_ERRORS = {"description": "field name to messages"}


class RecordSchema(Schema):
    entity = Text(required=True, metadata=ENTITY_DOC)
    id = fields.UUID(required=True)
    version = fields.Integer(required=True)
    server_seq = fields.Integer(required=True)
    deleted = fields.Boolean(required=True, metadata={"description": "deletes win: stays deleted"})
    data = fields.Dict(required=True, metadata=RECORD_DATA)


def _status(*statuses: str):
    return Text(required=True, validate=validate.OneOf(statuses))


class AppliedResultSchema(Schema):
    """The mutation is stored as sent: the record's new version."""

    mutation_id = fields.UUID(required=True)
    id = fields.UUID(required=True)
    status = _status("applied")
    version = fields.Integer(required=True)
    server_seq = fields.Integer(required=True)


class ConflictResultSchema(AppliedResultSchema):
    """Stored, but the record differs from what the phone sent: the phone takes `record`."""

    status = _status("conflict")
    record = fields.Nested(
        RecordSchema,
        required=True,
        metadata={
            "description": "the record as the server now holds it: after a merge with a "
            "stale edit, a reference redirected to a merged client's survivor, or a delete "
            "(an edit of a deleted record)"
        },
    )


class DuplicateResultSchema(AppliedResultSchema):
    """Sent before (a retry): the first result again, with its status moved aside."""

    status = _status("duplicate")
    original_status = _status("applied", "conflict")
    record = fields.Nested(RecordSchema, metadata={"description": "when the first was a conflict"})


class RejectedResultSchema(Schema):
    """Not stored (kept on the phone): why, field by field."""

    mutation_id = Text(
        required=True, allow_none=True, metadata={"description": "as sent; null if unusable"}
    )
    id = Text(required=True, allow_none=True, metadata={"description": "as sent; null if unusable"})
    status = _status("rejected")
    message = Text(required=True)
    errors = fields.Dict(
        keys=Text(), values=fields.List(Text()), required=True, metadata=FIELD_ERRORS
    )


RESULT_SCHEMAS = {
    "AppliedResult": AppliedResultSchema,
    "ConflictResult": ConflictResultSchema,
    "DuplicateResult": DuplicateResultSchema,
    "RejectedResult": RejectedResultSchema,
}


class PushResultSchema(Schema):
    results = fields.List(
        fields.Raw(
            metadata={
                "oneOf": [{"$ref": f"#/components/schemas/{name}"} for name in RESULT_SCHEMAS],
                "description": "one per mutation, in order",
            }
        ),
        required=True,
    )


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
    entity = Text(required=True, metadata=ENTITY_DOC)
    op = Text(required=True, validate=validate.OneOf(["upsert", "remove"]))
    id = fields.UUID(required=True)
    version = fields.Integer(
        required=True, allow_none=True, metadata={"description": "null: remove"}
    )
    server_seq = fields.Integer(required=True)
    data = fields.Dict(metadata={**RECORD_DATA, "description": RECORD_DATA_TEXT + " Upserts only."})


class InterventionTypeSchema(Schema):
    code = Text(required=True)
    label = Text(required=True)
    quantity_label = Text(required=True, allow_none=True)
    quantity_max = fields.Integer(required=True)
    referral = fields.Boolean(required=True)
    outcome_choices = fields.List(Text(), required=True)
    description = Text(required=True)


class CodeSchema(Schema):
    code = Text(required=True)
    label = Text(required=True)


class CodeListsSchema(Schema):
    intervention_types = fields.List(fields.Nested(InterventionTypeSchema), required=True)
    locations = fields.List(fields.Nested(CodeSchema), required=True)
    substances = fields.List(fields.Nested(CodeSchema), required=True)
    sexes = fields.List(fields.Nested(CodeSchema), required=True)


class ReferenceTeamSchema(Schema):
    id = fields.Integer(required=True)
    name = Text(required=True)
    area_id = fields.Integer(required=True)


class ReferenceWorkerSchema(Schema):
    id = fields.Integer(required=True)
    name = Text(required=True)
    role = Text(required=True)


class ReferenceSchema(Schema):
    codes = fields.Nested(CodeListsSchema, required=True)
    team = fields.Nested(ReferenceTeamSchema, required=True, allow_none=True)
    workers = fields.List(
        fields.Nested(ReferenceWorkerSchema),
        required=True,
        metadata={"description": "the team's active workers and leads"},
    )
    partners = fields.List(
        fields.Nested(ReferenceTeamSchema),
        metadata={"description": "teams the team may refer to (an agreement in force)"},
    )


class PullResultSchema(Schema):
    changes = fields.List(fields.Nested(ChangeSchema), required=True)
    cursor = Text(required=True)
    has_more = fields.Boolean(required=True)
    reference = fields.Nested(
        ReferenceSchema,
        metadata={"description": "first page only: code lists, the team and its workers"},
    )
    totals = fields.Dict(
        keys=Text(),
        values=fields.Integer(),
        metadata={
            "description": "The first page of a pull of the whole scope, when more pages "
            "follow: how many records of each entity it sends (for a progress bar)."
        },
    )


def _column_doc(column: Any) -> dict[str, Any]:
    """The JSON a column's value becomes in a record's data (`EntitySpec.data`)."""
    kind = column.type
    if isinstance(kind, JSON):  # substances: a list, [] when missing
        return {"type": "array", "items": {"type": "string"}}
    if isinstance(kind, Uuid):
        doc = {"type": "string", "format": "uuid"}
    elif isinstance(kind, DateTime) or isinstance(getattr(kind, "impl", None), DateTime):
        doc = {"type": "string", "format": "date-time"}
    elif isinstance(kind, Date):
        doc = {"type": "string", "format": "date"}
    elif isinstance(kind, Boolean):
        doc = {"type": "boolean"}
    elif isinstance(kind, Integer):
        doc = {"type": "integer"}
    else:
        doc = {"type": "string"}
    return {**doc, "nullable": True} if column.nullable else doc


def _data_doc(spec: EntitySpec) -> dict[str, Any]:
    table = spec.model.__table__
    names = [name for name, _ in spec.wire]
    return {
        "type": "object",
        "description": f"The {spec.name} record as the phone stores it.",
        "properties": {name: _column_doc(table.c[column]) for name, column in spec.wire},
        "required": names,
        "additionalProperties": False,
    }


def sync_components() -> dict[str, Any]:
    """The schemas push and pull results name: each mutation outcome's (marshmallow), and
    `RecordData`, one of each synced entity's record (made from its specification, so
    call this once every slice is imported)."""
    data = {
        "".join(part.title() for part in name.split("_")) + "Data": _data_doc(spec)
        for name, spec in ENTITIES.items()
    }
    refs = [{"$ref": f"#/components/schemas/{name}"} for name in data]
    return {**RESULT_SCHEMAS, "RecordData": {"oneOf": refs}, **data}
