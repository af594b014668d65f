"""The server sequence and the change log every synced write goes through.

Any code that changes a client, intervention or follow-up (sync push, caseload
reassign/merge, retention, demo loader) allocates sequence numbers here and logs
one change per affected team, in the same transaction as the write.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import IntegrityError

from outreach.core.bulk import insert_rows
from outreach.core.db import among, on_postgres
from outreach.core.extensions import db
from outreach.core.types import utcnow
from outreach.sync.models import RecordVersion, SyncChange, SyncCounter, SyncTeamSeq
from outreach.sync.records import serialize

COUNTER_ID = 1


def allocate_seqs(count: int, team_ids: Iterable[int] | None = None) -> list[int]:
    """Reserve `count` ascending sequence numbers for changes of `team_ids` (None: any
    team). Until commit, no pull of those teams passes them (DESIGN §4).

    PostgreSQL: locks the teams' `sync_team_seq` rows (id order: no deadlocks), takes
    numbers from the `sync_seq` sequence and raises each team's `high`; writers of other
    teams go on in parallel. SQLite: the single counter row, as SQLite serialises
    writers anyway."""
    if count <= 0:
        raise ValueError("count must be positive")
    if on_postgres():
        return _allocate_postgres(count, team_ids)
    first = _allocate_counter(count)
    return list(range(first, first + count))


def _allocate_postgres(count: int, team_ids: Iterable[int] | None) -> list[int]:
    session = db.session
    if team_ids is None:
        # Every team (demo loader, retention, admin tools): rare and short.
        session.execute(
            text(
                "INSERT INTO sync_team_seq (team_id, high) SELECT id, 0 FROM team "
                "ORDER BY id ON CONFLICT DO NOTHING"
            )
        )
        teams = list(session.scalars(text("SELECT team_id FROM sync_team_seq ORDER BY team_id")))
    else:
        teams = sorted(set(team_ids))
    _lock_postgres(teams)
    # Numbers are taken only now, under the locks: a team's numbers rise in commit order.
    # One array, not a row per number: fetching 500 rows one by one cost more than the
    # statement.
    return sorted(
        session.scalar(
            text(
                "WITH s AS (SELECT nextval('sync_seq') AS v FROM generate_series(1, :n)), "
                "raised AS (UPDATE sync_team_seq SET high = GREATEST(high, (SELECT max(v) FROM s)) "
                "WHERE team_id = ANY(CAST(:teams AS integer[]))) "
                "SELECT array_agg(v) FROM s"
            ),
            {"n": count, "teams": teams},
        )
    )


def lock_teams(team_ids: Iterable[int]) -> None:
    """Take the teams' sequence locks now (until commit). Writers that lock records
    first (a team lead's reassign or merge) call this before, so every writer takes
    the team lock before any record lock, as a push does: no lock-order deadlock."""
    if on_postgres():
        _lock_postgres(sorted(set(team_ids)))


def _lock_postgres(teams: list[int]) -> None:
    if teams:
        # An upsert that always writes: creates a new team's row or locks the existing
        # one, in team id order, in one statement.
        db.session.execute(
            text(
                "INSERT INTO sync_team_seq (team_id, high) "
                "SELECT t, 0 FROM unnest(CAST(:teams AS integer[])) AS t ORDER BY t "
                "ON CONFLICT (team_id) DO UPDATE SET high = sync_team_seq.high"
            ),
            {"teams": teams},
        )


def _allocate_counter(count: int) -> int:
    """The single counter row (SQLite): returns the first of `count` numbers."""
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
        return _allocate_counter(count)
    return int(result) - count + 1


def current_seq(team_id: int) -> int:
    """The highest sequence number whose changes for `team_id` are all committed (a
    pull's high-water mark); 0 when nothing was allocated yet."""
    if on_postgres():
        value = db.session.scalar(select(SyncTeamSeq.high).where(SyncTeamSeq.team_id == team_id))
        return int(value or 0)
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


# Interventions are most of what phones push and are rarely edited: creating one writes
# no history row (its version 1 is the record itself). The first change to it writes
# version 1's data first (`first_version_history`), so every superseded version stays
# in history for stale-edit merges. Clients and follow-ups keep a row per version from
# creation: caseload history reads their versions.
HISTORY_FROM_FIRST_CHANGE = frozenset({"intervention"})


def records_creation(entity: str) -> bool:
    """Whether creating a record of `entity` writes its version 1 to history."""
    return entity not in HISTORY_FROM_FIRST_CHANGE


def first_versions_recorded(entity: str, record_ids) -> set:
    """Which of `record_ids` already have version 1 in history (made before history
    started at the first change, or at a creation that recorded losing values)."""
    ids = list(dict.fromkeys(record_ids))
    if records_creation(entity):
        return set(ids)
    found: set = set()
    for start in range(0, len(ids), 500):
        found.update(
            db.session.scalars(
                select(RecordVersion.record_id).where(
                    RecordVersion.entity == entity,
                    RecordVersion.version == 1,
                    among(RecordVersion.record_id, ids[start : start + 500]),
                )
            )
        )
    return found


def first_version_history(entity: str, row) -> dict | None:
    """The history row of version 1 of `row` (a dict of columns or a model instance)
    about to be superseded, for entities whose creation wrote none; else None."""
    get = row.get if isinstance(row, dict) else lambda key: getattr(row, key)
    if records_creation(entity) or get("version") != 1:
        return None
    return {
        "entity": entity,
        "record_id": get("id"),
        "version": 1,
        "reason": "create",
        "data": serialize(entity, row),
        "actor_id": get("worker_id"),
        "device_id": get("device_id"),
        "recorded_at": get("created_at"),
    }


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
