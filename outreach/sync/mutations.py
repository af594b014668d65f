"""Step 1 of a push: every mutation checked in Python on its own (shape, size, field
rules), so one malformed mutation is rejected alone (DESIGN §4)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from outreach.core.schemas import is_unicode_text
from outreach.records.registry import ENTITIES, Checking


@dataclass(frozen=True)
class PushContext:
    """Who is pushing (from the token, never the payload) and the limits."""

    user_id: int
    team_id: int
    area_id: int
    device_id: uuid.UUID
    now: datetime
    skew: timedelta
    max_mutation_bytes: int
    lead: bool = False  # a team lead (field-level rules: `EntitySpec.permit`)


@dataclass
class Mutation:
    index: int
    mutation_id: uuid.UUID
    entity: str
    op: str
    id: uuid.UUID
    base_version: int | None
    values: dict = field(default_factory=dict)  # canonical values of fields present


def _echo(value) -> str | None:
    """A client-supplied id echoed back in a result, only if it is a short string of
    text (no NUL: the document's strings never hold one)."""
    short = isinstance(value, str) and len(value) <= 64
    if short and "\x00" not in value and is_unicode_text(value):
        return value
    return None


def rejected(raw_mutation_id, raw_id, errors: dict, message: str | None = None) -> dict:
    return {
        "mutation_id": _echo(raw_mutation_id)
        if not isinstance(raw_mutation_id, uuid.UUID)
        else str(raw_mutation_id),
        "id": _echo(raw_id) if not isinstance(raw_id, uuid.UUID) else str(raw_id),
        "status": "rejected",
        "message": message or "The server did not accept this record; see the errors.",
        "errors": errors,
    }


def _size(value, limit: int) -> int:
    """About the JSON size of a mutation (strings counted by length, other values 8),
    stopping early once over `limit`. Cheaper than encoding it: scalars are counted
    where they are met, only containers go on the stack (no recursion)."""
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        members: Iterable[Any]
        if isinstance(item, dict):
            total += 2 + sum(len(k) + 4 if isinstance(k, str) else 8 for k in item)
            members = item.values()
        elif isinstance(item, list):
            total += 2
            members = item
        else:
            total += len(item) + 4 if isinstance(item, str) else 8
            continue
        for member in members:
            if isinstance(member, str):
                total += len(member) + 4
            elif isinstance(member, dict | list):
                stack.append(member)
            else:
                total += 8
        if total > limit:
            return total
    return total


def _as_uuid(value) -> uuid.UUID | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def parse_mutation(
    index: int, raw, ctx: PushContext, *, measure: bool
) -> tuple[Mutation | None, dict | None, uuid.UUID | None]:
    """Check one mutation on its own: (mutation, None, id) or (None, rejection, id)."""
    if not isinstance(raw, dict):
        return None, rejected(None, None, {"_schema": ["A mutation must be an object."]}), None
    raw_mid, raw_id = raw.get("mutation_id"), raw.get("id")
    mutation_id = _as_uuid(raw_mid)
    if measure and _size(raw, ctx.max_mutation_bytes) > ctx.max_mutation_bytes:
        return (
            None,
            rejected(
                raw_mid,
                raw_id,
                {"_schema": [f"This mutation is larger than {ctx.max_mutation_bytes:,} bytes."]},
                "This record is too large to store.",
            ),
            mutation_id,
        )
    errors: dict[str, list[str]] = {}
    if mutation_id is None:
        errors["mutation_id"] = ["Must be a UUID made on the device."]
    record_id = _as_uuid(raw_id)
    if record_id is None:
        errors["id"] = ["Must be a UUID made on the device."]
    entity, op = raw.get("entity"), raw.get("op")
    if not isinstance(entity, str) or entity not in ENTITIES:  # a list or object is unhashable
        errors["entity"] = ["Must be one of: " + ", ".join(ENTITIES) + "."]
    if op not in ("upsert", "delete"):
        errors["op"] = ["Must be upsert or delete."]
    base = raw.get("base_version")
    if base is not None and (isinstance(base, bool) or not isinstance(base, int) or base < 1):
        errors["base_version"] = ["Must be a version number (1 or more) or null."]
    data = raw.get("data")
    if op == "upsert" and not isinstance(data, dict):
        errors["data"] = ["Must be an object: the record."]
    if errors or mutation_id is None or record_id is None:
        return None, rejected(raw_mid, raw_id, errors), mutation_id
    assert isinstance(entity, str) and isinstance(op, str)
    values: dict = {}
    if op == "upsert":
        assert isinstance(data, dict)
        values, errors = ENTITIES[entity].normalise(data, Checking(ctx.now, ctx.skew))
        if errors:
            return None, rejected(raw_mid, raw_id, errors), mutation_id
    mutation = Mutation(index, mutation_id, entity, op, record_id, base, values)
    return mutation, None, mutation_id
