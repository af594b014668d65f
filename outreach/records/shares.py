"""Records held by more than their own team (`record_share`): which teams hold a record
besides its team, and the SQL a team's pull uses to find the records shared with it.

Who may be granted a share (consent, an agreement in force) is the sharing slice's rule
(`outreach.pathways`); here is only what a share means for sync: a team with a live
share holds the record (pull brings it, pushes may name it), and while the share is not
frozen the team's phones get each new version of it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, insert, select, update

from outreach.access.scope import partnership_between, sharing_ended_at
from outreach.core.db import among, rowcount
from outreach.core.extensions import db
from outreach.records.models import RecordShare, RecordVersion

CHUNK = 500
Shares = dict[uuid.UUID, dict[int, dict[str, Any]]]


def load_shares(entity: str, ids: Iterable[uuid.UUID]) -> Shares:
    """Live shares (not ended) of the given records: record id -> team id -> share row."""
    wanted = list(dict.fromkeys(ids))
    out: Shares = {}
    table = RecordShare.__table__
    for start in range(0, len(wanted), CHUNK):
        stmt = select(table).where(
            table.c.entity == entity,
            among(table.c.record_id, wanted[start : start + CHUNK]),
            table.c.ended_at.is_(None),
        )
        for row in db.session.execute(stmt):
            out.setdefault(row.record_id, {})[row.team_id] = dict(row._mapping)
    return out


def shared_with(entity: str, ids: Iterable[uuid.UUID], team_id: int) -> set[uuid.UUID]:
    """Which of `ids` are shared with `team_id` (a live share)."""
    wanted = list(dict.fromkeys(ids))
    out: set[uuid.UUID] = set()
    table = RecordShare.__table__
    for start in range(0, len(wanted), CHUNK):
        out.update(
            db.session.scalars(
                select(table.c.record_id).where(
                    table.c.entity == entity,
                    table.c.team_id == team_id,
                    among(table.c.record_id, wanted[start : start + CHUNK]),
                    table.c.ended_at.is_(None),
                )
            )
        )
    return out


def shared_ids(entity: str, team_id: int) -> Any:
    """SELECT of the ids of `entity` shared with `team_id` (live shares)."""
    table = RecordShare.__table__
    return select(table.c.record_id).where(
        and_(table.c.entity == entity, table.c.team_id == team_id, table.c.ended_at.is_(None))
    )


def held_by(id_column: Any, team_column: Any, entity: str, team_id: int) -> ColumnElement[bool]:
    """SQL: a row of `entity` the team holds: its own, or shared with it."""
    return (team_column == team_id) | id_column.in_(shared_ids(entity, team_id))


def sharing_stopped(
    owner: int, holder: int, now: datetime, known: dict[tuple[int, int], datetime | None]
) -> datetime | None:
    """None while a record of team `owner` may still reach team `holder` (an agreement
    in force today joins them); else when sharing stopped, from which the holder's share
    is frozen (the agreement's end, before the daily job froze it). `known` keeps the
    answers for one unit of work."""
    if (owner, holder) not in known:
        agreed = partnership_between(owner, holder, now.date()) is not None
        known[(owner, holder)] = None if agreed else sharing_ended_at(owner, holder, now)
    return known[(owner, holder)]


def write_shares(rows: list[dict[str, Any]]) -> None:
    """Store granted, frozen or ended shares and their key workers (an update, else an
    insert: few rows)."""
    table = RecordShare.__table__
    for row in rows:
        key = (
            (table.c.entity == row["entity"])
            & (table.c.record_id == row["record_id"])
            & (table.c.team_id == row["team_id"])
        )
        values = {k: row[k] for k in ("granted_at", "frozen_at", "ended_at", "key_worker_id")}
        if rowcount(db.session.execute(update(RecordShare).where(key).values(**values))) == 0:
            db.session.execute(insert(RecordShare).values(**row))


def frozen_ids(entity: str, team_id: int) -> list[uuid.UUID]:
    """Ids of the records of `entity` held by `team_id` under a frozen share (a few)."""
    table = RecordShare.__table__
    return list(
        db.session.scalars(
            select(table.c.record_id).where(
                table.c.entity == entity,
                table.c.team_id == team_id,
                table.c.ended_at.is_(None),
                table.c.frozen_at.is_not(None),
            )
        )
    )


def frozen_copies(entity: str, ids: Iterable[uuid.UUID], team_id: int) -> dict[uuid.UUID, Any]:
    """Of `ids`, the records held by `team_id` under a frozen share (consent withdrawn,
    agreement ended): the data of the version the team had when the share froze (the
    last one recorded up to then, or up to when it was granted if the agreement's end
    came first; else the first recorded). A team's first pull sends that copy, never a
    later version it may no longer receive."""
    wanted = list(dict.fromkeys(ids))
    table = RecordShare.__table__
    frozen: dict[uuid.UUID, Any] = {}
    for start in range(0, len(wanted), CHUNK):
        frozen.update(
            (record_id, max(frozen_at, granted_at))
            for record_id, frozen_at, granted_at in db.session.execute(
                select(table.c.record_id, table.c.frozen_at, table.c.granted_at).where(
                    table.c.entity == entity,
                    table.c.team_id == team_id,
                    among(table.c.record_id, wanted[start : start + CHUNK]),
                    table.c.ended_at.is_(None),
                    table.c.frozen_at.is_not(None),
                )
            ).all()
        )
    return held_versions(entity, frozen)


def held_versions(entity: str, until: dict[uuid.UUID, datetime]) -> dict[uuid.UUID, Any]:
    """Per record: the data of the last version recorded up to its time in `until` (the
    version a team holds when sharing stopped), else its first version (sharing stopped,
    by its date, before the record was shared: the first the team got)."""
    out: dict[uuid.UUID, Any] = {}
    ids = list(until)
    for start in range(0, len(ids), CHUNK):
        rows = db.session.execute(
            select(RecordVersion.record_id, RecordVersion.recorded_at, RecordVersion.data)
            .where(
                RecordVersion.entity == entity,
                among(RecordVersion.record_id, ids[start : start + CHUNK]),
            )
            .order_by(RecordVersion.record_id, RecordVersion.version, RecordVersion.id)
        )
        for record_id, recorded_at, data in rows:
            if recorded_at <= until[record_id] or record_id not in out:
                out[record_id] = data
    return out
