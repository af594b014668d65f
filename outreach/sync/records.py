"""The synced record types, and the one way to serialise them.

`serialize(entity, row)` is what pull sends as `data`, what a conflict result carries
as the merged record, and what record history (`record_version.data`) stores. Every
slice that writes synced records (sync push, caseload reassign/merge, retention)
should use it for history, so all copies of a record have one shape.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from outreach.core.db import in_batch, on_postgres
from outreach.core.extensions import db
from outreach.interventions import rules as irules
from outreach.interventions.models import FollowUp, Intervention
from outreach.people import rules as prules
from outreach.people.models import Client

CHUNK = 500


@dataclass(frozen=True)
class EntitySpec:
    name: str
    model: type
    fields: tuple[str, ...]  # phone fields (DESIGN §8 names)
    required: tuple[str, ...]
    data: Callable  # row -> JSON-safe dict
    columns: Callable  # canonical phone values -> column values
    check: Callable  # canonical values -> errors


ENTITIES: dict[str, EntitySpec] = {
    "client": EntitySpec(
        "client",
        Client,
        prules.CLIENT_FIELDS,
        prules.CLIENT_REQUIRED,
        prules.client_data,
        prules.client_columns,
        prules.check_client,
    ),
    "intervention": EntitySpec(
        "intervention",
        Intervention,
        irules.INTERVENTION_FIELDS,
        irules.INTERVENTION_REQUIRED,
        irules.intervention_data,
        irules.intervention_columns,
        irules.check_intervention,
    ),
    "follow_up": EntitySpec(
        "follow_up",
        FollowUp,
        irules.FOLLOW_UP_FIELDS,
        irules.FOLLOW_UP_REQUIRED,
        irules.follow_up_data,
        irules.follow_up_columns,
        irules.check_follow_up,
    ),
}
ENTITY_NAMES = tuple(ENTITIES)
MODELS = {name: spec.model for name, spec in ENTITIES.items()}


def serialize(entity: str, row) -> dict:
    """A record as the phone stores it: DESIGN §8 field names plus `version`,
    `server_seq` and server fields (`worker_id`, `created_at`, `updated_at`,
    `deleted_at`). `row` may be a model instance, a Core row or a dict of columns."""
    return ENTITIES[entity].data(row)


def phone_values(entity: str, data: dict) -> dict:
    """The phone-editable fields of a serialised record."""
    return {name: data.get(name) for name in ENTITIES[entity].fields}


@functools.cache
def column_names(entity: str) -> tuple[str, ...]:
    """Column names of an entity's table."""
    return tuple(c.name for c in MODELS[entity].__table__.columns)


@functools.cache
def _rows_by_id(entity: str, postgres: bool):
    table = MODELS[entity].__table__
    return select(table).where(in_batch(table.c.id, postgres))


def load_rows(entity: str, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, dict]:
    """Current rows (all columns, as dicts) of the given ids: one query per 500 ids."""
    ids = list(dict.fromkeys(ids))
    out: dict[uuid.UUID, dict] = {}
    if not ids:
        return out
    statement = _rows_by_id(entity, on_postgres())
    connection = db.session.connection()
    for start in range(0, len(ids), CHUNK):
        for row in connection.execute(statement, {"ids": ids[start : start + CHUNK]}):
            mapping = dict(row._mapping)
            out[mapping["id"]] = mapping
    return out


def in_scope(entity: str, row, team_id: int, since: datetime) -> bool:
    """Is this record something a device of `team_id` holds? (DESIGN §4: the team's
    live clients and follow-ups, its interventions of the last N days.)"""
    get = prules.getter(row)
    if get("team_id") != team_id or get("deleted_at") is not None:
        return False
    if entity == "client":
        return get("merged_into_id") is None and get("anonymised_at") is None
    if entity == "intervention":
        return get("occurred_at") >= since
    return True


def intervention_window(now: datetime, days: int) -> datetime:
    """The oldest `occurred_at` a device holds."""
    return now - timedelta(days=days)
