"""The server sequence and the change log every synced write goes through.

The unit of work (`outreach.records.unit`) allocates sequence numbers here and logs one
change per team whose phones hold the record, in the same transaction as the write.
Sequence numbers come in a `SeqPool`: the first use takes the teams' locks (DESIGN §4).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import IntegrityError

from outreach.core.bulk import insert_rows
from outreach.core.db import on_postgres
from outreach.core.extensions import db
from outreach.records.models import SyncChange, SyncCounter, SyncTeamSeq

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


# Numbers taken at a time when a writer did not say how many it needs (a push's follow-ups
# beyond its estimate): unused ones are gaps in the sequence, which cost nothing.
RESERVE_AHEAD = 16


class SeqPool:
    """Sequence numbers for one unit of work. Numbers are allocated only while every
    team the work logs changes for is locked: locking another team throws away the
    numbers held (they were taken before that team's lock) and takes fresh ones."""

    def __init__(self, team_ids: Iterable[int] = ()) -> None:
        self.teams: set[int] = set(team_ids)
        self.free: list[int] = []
        self.locked = False

    def lock(self, team_ids: Iterable[int]) -> None:
        """Take the teams' sequence locks now (until commit)."""
        new = set(team_ids) - self.teams if self.locked else set(team_ids) | self.teams
        if self.locked and not new:
            return
        self.teams |= new
        lock_teams(self.teams)
        self.locked = True
        self.free = []

    def reserve(self, count: int) -> None:
        """Allocate `count` more numbers (locking the pool's teams first)."""
        if not self.locked:
            self.lock(())
        new = allocate_seqs(max(count, 1), sorted(self.teams))
        self.free = sorted(self.free + new, reverse=True)  # pop() gives the lowest

    def take(self, team_ids: Iterable[int]) -> int:
        """The next number, for a change logged for `team_ids`."""
        self.lock(team_ids)
        if not self.free:
            self.reserve(RESERVE_AHEAD)
        return self.free.pop()
