"""Pull: what changed in the caller's scope after a cursor (DESIGN §4).

Cursors are opaque strings of two kinds, each ending with the team whose sequence
order they follow (``.t<team>`` / ``:t<team>``). A cursor of another team (the user
moved) answers 422 and the phone starts again, dropping what the fresh pull does not
bring; one ahead of the team's committed mark (a restored database) silently restarts
the scope. Bare cursors, from before cursors named their team, answer 422 too (one
fresh pull per phone after that upgrade).

* ``"<seq>"``: incremental. Changes of the team with `seq` greater than this, in
  sequence order. A team's numbers are allocated under its sequence lock
  (`allocate_seqs`), so a committed change of the team never has a lower sequence
  than one already visible, and pulls stop at the team's committed high-water mark:
  a device that pulled past a number never misses a change below it.
* ``"snap:<high>:<entity>:<seq>:<id>"``: part way through a first pull. A first
  pull (no cursor) reads the high-water mark `high` first, then pages through the
  current scope (records with `server_seq <= high`, ordered by entity then
  `(server_seq, id)`); the last page's cursor is ``"<high>"``. A record that changes
  during the paging has a sequence above `high` and arrives in the incremental pulls.

Each page's change-log rows are collapsed to one per record and the records' current
state is read in one query per entity: a record in scope is an `upsert` with its
data, anything else (deleted, moved to another team, merged, anonymised) a `remove`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import and_, func, or_, select

from outreach.access.models import TEAM_ROLES, Team, User
from outreach.access.scope import partner_teams
from outreach.audit.service import record_events
from outreach.core.db import among, on_postgres
from outreach.core.errors import ApiError
from outreach.core.extensions import db
from outreach.core.types import utcnow
from outreach.interventions.codes import reference_data
from outreach.records.models import SyncChange
from outreach.records.registry import (
    CHUNK,
    ENTITIES,
    in_scope,
    intervention_window,
    load_rows,
    serialize,
    team_rows,
)
from outreach.records.sequence import current_seq
from outreach.records.shares import frozen_copies, frozen_ids, shared_with
from outreach.sync import records_json

# A first pull sends each entity in turn (by `server_seq` within it): clients before the
# records that name them. A cursor names its entity by position in this order, so the
# first three keep theirs; entities registered later follow, by name.
FIRST_PULL_ORDER = ("client", "follow_up", "intervention")


def snapshot_order() -> tuple[str, ...]:
    later = sorted(name for name in ENTITIES if name not in FIRST_PULL_ORDER)
    return (*FIRST_PULL_ORDER, *later)


_SNAP = re.compile(r"^snap:([0-9]{1,18}):([0-9]):([0-9]{1,18}):([0-9a-f]{32})(?::t([0-9]{1,9}))?$")
_SEQ = re.compile(r"^([0-9]{1,18})(?:\.t([0-9]{1,9}))?$")


@dataclass(frozen=True)
class PullContext:
    user_id: int
    team_id: int
    device_id: uuid.UUID
    now: datetime
    window_days: int


@dataclass(frozen=True)
class Cursor:
    seq: int  # incremental position, or the snapshot's high-water mark
    snapshot: bool = False
    entity_index: int = 0
    after_seq: int = -1
    after_id: uuid.UUID | None = None
    # The team whose positions these are (sequence order is per team); None only for a
    # cursor made before cursors named their team, which pull_changes refuses.
    team_id: int | None = None

    def encode(self) -> str:
        team = f"t{self.team_id}" if self.team_id is not None else ""
        if not self.snapshot:
            return f"{self.seq}.{team}" if team else str(self.seq)
        after_id = self.after_id or uuid.UUID(int=0)
        after_seq = max(self.after_seq, 0)
        tail = f":{team}" if team else ""
        return f"snap:{self.seq}:{self.entity_index}:{after_seq}:{after_id.hex}{tail}"


def parse_cursor(value: str | None) -> Cursor | None:
    """None for a first pull; 422 for anything that is not a cursor we made."""
    if value is None or value == "":
        return None
    match = _SEQ.match(value)
    if match:
        return Cursor(int(match.group(1)), team_id=_team(match.group(2)))
    match = _SNAP.match(value)
    if match and int(match.group(2)) < len(snapshot_order()):
        return Cursor(
            int(match.group(1)),
            snapshot=True,
            entity_index=int(match.group(2)),
            after_seq=int(match.group(3)),
            after_id=uuid.UUID(match.group(4)),
            team_id=_team(match.group(5)),
        )
    raise _cursor_error("Not a valid cursor.")


def _team(group: str | None) -> int | None:
    return int(group) if group is not None else None


def _cursor_error(reason: str) -> ApiError:
    """422 on `cursor`: the phone drops its cursor and pulls its scope afresh (the PWA
    then forgets records the fresh pull does not bring)."""
    return ApiError(422, "The cursor is not valid.", errors={"cursor": [reason]})


class Page:
    """One pull page's changes (dicts, or JSON the database wrote) and how many of each
    entity and op it holds (for the audit event)."""

    def __init__(self) -> None:
        self.changes: list = []
        self.counts: dict[str, int] = {}

    def add(self, entity: str, op: str, change) -> None:
        self.changes.append(change)
        key = f"{entity}_{op}"
        self.counts[key] = self.counts.get(key, 0) + 1

    def __len__(self) -> int:
        return len(self.changes)


def _change(entity: str, op: str, record_id, version, server_seq, data=None) -> dict:
    out = {
        "entity": entity,
        "op": op,
        "id": str(record_id),
        "version": version,
        "server_seq": server_seq,
    }
    if data is not None:
        out["data"] = data
    return out


def _snapshot_page(ctx: PullContext, cursor: Cursor, limit: int) -> tuple[Page, Cursor, bool]:
    since = intervention_window(ctx.now, ctx.window_days)
    in_database = on_postgres()
    changes = Page()
    index, after_seq, after_id = cursor.entity_index, cursor.after_seq, cursor.after_id
    order = snapshot_order()
    while index < len(order):
        entity = order[index]
        c = ENTITIES[entity].model.__table__.c
        stmt = team_rows(entity, ctx.team_id, since).where(_upto(entity, c, cursor.seq, ctx))
        if after_id is not None:
            stmt = stmt.where(
                or_(c.server_seq > after_seq, and_(c.server_seq == after_seq, c.id > after_id))
            )
        if in_database:  # only what the cursor needs, and the change as JSON
            stmt = stmt.with_only_columns(c.id, c.server_seq, records_json.change_json(entity))
        room = limit - len(changes)
        rows = db.session.execute(stmt.order_by(c.server_seq, c.id).limit(room + 1)).all()
        held = _frozen(entity, rows[:room], ctx.team_id)
        for row in rows[:room]:
            change: orjson.Fragment | dict[str, Any]
            copy = held.get(row.id)
            if copy is not None:  # shared with the team, frozen: the version it held
                change = _change(
                    entity, "upsert", row.id, copy["version"], copy["server_seq"], copy
                )
            elif in_database:
                change = orjson.Fragment(row.change_json)
            else:
                data = serialize(entity, row)
                change = _change(entity, "upsert", row.id, row.version, row.server_seq, data)
            changes.add(entity, "upsert", change)
        if len(rows) > room:
            last = rows[room - 1] if room else None
            if last is None:  # page full exactly at an entity boundary
                return changes, Cursor(cursor.seq, True, index, after_seq, after_id), True
            return changes, Cursor(cursor.seq, True, index, last.server_seq, last.id), True
        index, after_seq, after_id = index + 1, -1, None
    # Snapshot done: say whether the team changed since it began, so the device goes on.
    later = db.session.scalar(
        select(SyncChange.seq)
        .where(SyncChange.team_id == ctx.team_id, SyncChange.seq > cursor.seq)
        .limit(1)
    )
    return changes, Cursor(cursor.seq), later is not None


def _upto(entity: str, c: Any, high: int, ctx: PullContext) -> Any:
    """SQL: the records a snapshot up to `high` sends. Records another team shared with
    this one under a frozen share come whatever their sequence (their later versions
    never reach this team, so its mark may stay below them): as the copy it held."""
    upto = c.server_seq <= high
    if ENTITIES[entity].shareable:
        frozen = frozen_ids(entity, ctx.team_id)
        if frozen:
            return or_(upto, c.id.in_(frozen))
    return upto


def _frozen(entity: str, rows: Sequence[Any], team_id: int) -> dict[uuid.UUID, Any]:
    """Of a snapshot page's shareable records held by the team under a frozen share
    (another team's, consent withdrawn or agreement ended), the copy it held then
    (DESIGN §5b: nothing newer reaches it)."""
    if not ENTITIES[entity].shareable or not rows:
        return {}
    return frozen_copies(entity, (row.id for row in rows), team_id)


def snapshot_totals(ctx: PullContext, high: int) -> dict[str, int]:
    """How many records of each entity a snapshot up to `high` sends (the phone shows
    its first sync's progress against these)."""
    since = intervention_window(ctx.now, ctx.window_days)
    out = {}
    for entity in snapshot_order():
        c = ENTITIES[entity].model.__table__.c
        rows = team_rows(entity, ctx.team_id, since).where(_upto(entity, c, high, ctx)).subquery()
        out[entity] = db.session.scalar(select(func.count()).select_from(rows)) or 0
    return out


def _incremental_page(
    ctx: PullContext, cursor: Cursor, limit: int, high: int
) -> tuple[Page, Cursor, bool]:
    rows = db.session.execute(
        select(SyncChange.seq, SyncChange.entity, SyncChange.record_id)
        .where(SyncChange.team_id == ctx.team_id, SyncChange.seq > cursor.seq)
        .order_by(SyncChange.seq)
        .limit(limit + 1)
    ).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    # One change per record: its last sequence in this page, in sequence order.
    last: dict[tuple, int] = {}
    for seq, entity, record_id in rows:
        if entity not in ENTITIES:  # not a record devices hold
            continue
        last.pop((entity, record_id), None)
        last[(entity, record_id)] = seq
    wanted: dict[str, set] = {}
    for entity, record_id in last:
        wanted.setdefault(entity, set()).add(record_id)
    in_database = on_postgres()
    load = _load_with_json if in_database else load_rows
    current = {entity: load(entity, ids) for entity, ids in wanted.items()}
    since = intervention_window(ctx.now, ctx.window_days)
    shared = {
        entity: shared_with(
            entity, (i for i, r in rows_.items() if r["team_id"] != ctx.team_id), ctx.team_id
        )
        for entity, rows_ in current.items()
        if ENTITIES[entity].shareable
    }
    changes = Page()
    for (entity, record_id), seq in last.items():
        row = current.get(entity, {}).get(record_id)
        held = record_id in shared.get(entity, ())
        if row is None or not in_scope(entity, row, ctx.team_id, since, held):
            changes.add(entity, "remove", _change(entity, "remove", record_id, None, seq))
        elif in_database:
            changes.add(entity, "upsert", orjson.Fragment(row["change_json"]))
        else:
            data = serialize(entity, row)
            change = _change(entity, "upsert", record_id, row["version"], row["server_seq"], data)
            changes.add(entity, "upsert", change)
    if has_more:
        return changes, Cursor(rows[-1][0]), True
    end = max(cursor.seq, rows[-1][0] if rows else 0, high)
    return changes, Cursor(end), False


def _load_with_json(entity: str, ids) -> dict:
    """Like `load_rows`, but only the columns `in_scope` reads, plus the change JSON
    (PostgreSQL builds it)."""
    spec = ENTITIES[entity]
    c = spec.model.__table__.c
    columns = [c.id, c.team_id, c.deleted_at, *(c[name] for name in spec.live_columns)]
    ids = list(ids)
    out: dict = {}
    for start in range(0, len(ids), CHUNK):
        stmt = select(*columns, records_json.change_json(entity)).where(
            among(c.id, ids[start : start + CHUNK])
        )
        for row in db.session.execute(stmt):
            out[row.id] = row._mapping
    return out


def reference_for(team_id: int) -> dict:
    """Reference data for a team's devices: code lists, the team, its members."""
    team = db.session.get(Team, team_id)
    members = db.session.execute(
        select(User.id, User.name, User.role)
        .where(User.team_id == team_id, User.active.is_(True), User.role.in_(TEAM_ROLES))
        .order_by(User.name, User.id)
    ).all()
    partner_ids = partner_teams(team_id, utcnow().date())
    partners = db.session.execute(
        select(Team.id, Team.name, Team.area_id)
        .where(Team.id.in_(partner_ids), Team.active.is_(True))
        .order_by(Team.name, Team.id)
    ).all()
    return {
        "codes": reference_data(),
        "team": {"id": team.id, "name": team.name, "area_id": team.area_id} if team else None,
        "workers": [{"id": i, "name": n, "role": r} for i, n, r in members],
        # Teams the phone may refer to (an agreement in force on the day of the pull).
        "partners": [{"id": i, "name": n, "area_id": a} for i, n, a in partners],
    }


def pull_changes(ctx: PullContext, cursor_value: str | None, limit: int) -> dict:
    """One page of changes after the cursor; writes one audit event if it holds any."""
    cursor = parse_cursor(cursor_value)
    high = current_seq(ctx.team_id)
    first = cursor is None
    if cursor is not None and cursor.team_id is None:
        # Made before cursors named their team: it cannot show that the user is still in
        # the team it was made for, so the phone pulls its scope once more.
        raise _cursor_error("This cursor is from an older version: pull again without one.")
    if cursor is not None and cursor.team_id != ctx.team_id:
        # The user moved team: positions in another team's order mean nothing here.
        raise _cursor_error("This cursor is from another team: pull again without one.")
    if cursor is not None and cursor.seq > high:
        # Ahead of anything committed for the team (a restored database): start the
        # scope again. Not a 422: the phone must keep records the restored server lacks
        # (its own pushes after the backup) rather than drop what the pull omits.
        cursor = None
    starts_snapshot = cursor is None
    if cursor is None:
        cursor = Cursor(high, snapshot=True)
    if cursor.snapshot:
        changes, next_cursor, has_more = _snapshot_page(ctx, cursor, limit)
    else:
        changes, next_cursor, has_more = _incremental_page(ctx, cursor, limit, high)
    next_cursor = replace(next_cursor, team_id=ctx.team_id)
    body: dict = {
        "changes": changes.changes,
        "cursor": next_cursor.encode(),
        "has_more": has_more,
    }
    if first:
        body["reference"] = reference_for(ctx.team_id)
    if starts_snapshot and has_more:
        body["totals"] = snapshot_totals(ctx, cursor.seq)
    if changes:
        record_events(
            [
                {
                    "actor_id": ctx.user_id,
                    "device_id": ctx.device_id,
                    "action": "sync.pull",
                    "detail": {
                        "count": len(changes),
                        "counts": changes.counts,
                        "cursor": cursor_value,
                        "next_cursor": body["cursor"],
                    },
                }
            ]
        )
    return body
