"""The server sequence and the change log every synced write goes through.

Any code that changes a client, intervention or follow-up (sync push, caseload
reassign/merge, retention, demo loader) allocates sequence numbers here and logs
one change per affected team, in the same transaction as the write.
"""

from __future__ import annotations

import uuid

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from outreach.core.extensions import db
from outreach.core.types import utcnow
from outreach.sync.bulk import insert_rows
from outreach.sync.models import RecordVersion, SyncChange, SyncCounter

COUNTER_ID = 1


def allocate_seqs(count: int) -> int:
    """Reserve `count` sequence numbers; returns the first. Holds the counter's row
    lock until commit, so sequences become visible in allocation order."""
    if count <= 0:
        raise ValueError("count must be positive")
    session = db.session
    result = session.execute(
        update(SyncCounter)
        .where(SyncCounter.id == COUNTER_ID)
        .values(value=SyncCounter.value + count)
        .returning(SyncCounter.value)
    ).scalar_one_or_none()
    if result is None:
        # First use on a new database: create the row, then retry the locked update.
        # Two first pushes at once: the loser's insert fails (in its savepoint) and it
        # simply retries the update.
        try:
            with session.begin_nested():
                session.execute(insert(SyncCounter).values(id=COUNTER_ID, value=0))
        except IntegrityError:
            pass
        return allocate_seqs(count)
    return int(result) - count + 1


def current_seq() -> int:
    """The highest sequence number allocated so far (0 on an empty database)."""
    value = db.session.scalar(select(SyncCounter.value).where(SyncCounter.id == COUNTER_ID))
    return int(value or 0)


def log_changes(rows: list[tuple[int, int, str, uuid.UUID, str]]) -> None:
    """Insert change-log rows: (seq, team_id, entity, record_id, op)."""
    if not rows:
        return
    insert_rows(
        SyncChange.__table__,
        [
            {"seq": seq, "team_id": team_id, "entity": entity, "record_id": record_id, "op": op}
            for seq, team_id, entity, record_id, op in rows
        ],
    )


def write_history(rows: list[dict]) -> None:
    """Insert record_version rows: entity, record_id, version, reason, data, losing?,
    actor_id, device_id. `data` is the record as the phone stores it (JSON-safe)."""
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
