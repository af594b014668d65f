"""Record history: every version of every synced record, plus values that lost a
conflict (`record_version`). Stale edits merge against the version they were based on,
read from here; caseload history reads the versions of clients."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select, tuple_

from outreach.core.bulk import insert_rows
from outreach.core.extensions import db
from outreach.core.types import utcnow
from outreach.records.models import RecordVersion

VersionKey = tuple[str, uuid.UUID, int]  # (entity, record id, version)
CHUNK = 500


def write_history(rows: list[dict[str, Any]]) -> None:
    """Insert record_version rows: entity, record_id, version, reason, data, losing?,
    actor_id, device_id, recorded_at?. `data` is the record as the phone stores it."""
    if not rows:
        return
    now = utcnow()
    insert_rows(
        RecordVersion.__table__,
        [
            {
                "entity": r["entity"],
                "record_id": r["record_id"],
                "version": r["version"],
                "reason": r["reason"],
                "data": r["data"],
                "losing": r.get("losing"),
                "actor_id": r.get("actor_id"),
                "device_id": r.get("device_id"),
                "recorded_at": r.get("recorded_at", now),
            }
            for r in rows
        ],
    )


def _chunks(keys: Iterable[VersionKey]) -> Iterable[list[VersionKey]]:
    wanted = list(dict.fromkeys(keys))
    for start in range(0, len(wanted), CHUNK):
        yield wanted[start : start + CHUNK]


def versions_data(keys: Iterable[VersionKey]) -> dict[VersionKey, dict[str, Any]]:
    """The stored data of each (entity, id, version) that history holds."""
    out: dict[VersionKey, dict[str, Any]] = {}
    v = RecordVersion
    for chunk in _chunks(keys):
        stmt = (
            select(v.entity, v.record_id, v.version, v.data)
            .where(tuple_(v.entity, v.record_id, v.version).in_(chunk))
            .order_by(v.id)
        )
        for entity, record_id, version, data in db.session.execute(stmt):
            out[(entity, record_id, version)] = data
    return out


def versions_recorded(keys: Iterable[VersionKey]) -> set[VersionKey]:
    """Which of the (entity, id, version) keys history already holds."""
    found: set[VersionKey] = set()
    v = RecordVersion
    for chunk in _chunks(keys):
        stmt = select(v.entity, v.record_id, v.version).where(
            tuple_(v.entity, v.record_id, v.version).in_(chunk)
        )
        found.update((e, r, n) for e, r, n in db.session.execute(stmt))
    return found
