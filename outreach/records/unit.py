"""The one way to write a synced record (DESIGN §2): a unit of work.

Everything that changes a client, intervention, follow-up or any registered entity
(sync push, caseload actions, retention, the demo loader, test factories) does it here,
inside the caller's transaction:

1. `lock(teams)`: the teams' sequence locks, taken before any record is read or locked
   (the one lock order: device row, then team sequence rows in id order, then records);
2. `load` / `load_where`: the rows the work touches, into a working set of dicts;
3. `create` / `update`: a new version of a row: version + 1, the next sequence number
   (`SeqPool`), `updated_at`; a history row (`record_version`) for every version except
   the creation of entities that record history from their first change; a change-log
   row for every team whose phones hold the record before or after; an audit event.
   Slice rules run as hooks (`outreach.records.registry.on`): "written" after a version
   is made, "deleted" when a record is deleted (a deleted intervention's open follow-ups
   go with it);
4. `flush()`: every row inserted or updated in bulk, then the pre-image of every
   version this work superseded that history does not hold yet (so a stale edit always
   finds the version it was based on, version 1 included), the history, change-log and
   audit rows, then the "flushed" hooks (probable duplicates of new clients).

The caller commits. Results (versions, sequence numbers) are in the working rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict, Unpack

from sqlalchemy import ColumnElement, bindparam, select, update

from outreach.audit.models import AuditEvent
from outreach.audit.service import event_rows
from outreach.core.bulk import insert_rows
from outreach.core.db import among
from outreach.core.extensions import db
from outreach.records.history import VersionKey, versions_recorded, write_history
from outreach.records.registry import ENTITIES, hooks, load_rows, serialize, write_order
from outreach.records.sequence import SeqPool, log_changes
from outreach.records.shares import load_shares, sharing_stopped, write_shares

Row = dict[str, Any]


class How(TypedDict, total=False):
    """How a new version is recorded, besides its reason (all optional)."""

    losing: dict[str, Any] | None  # values that lost a conflict, kept in history
    op: str  # the change phones get: upsert, or remove (default: remove when deleted)
    cause: str  # why a rule made it (audit detail), e.g. follow_up_on
    mutation_id: uuid.UUID  # the phone's mutation (audit detail)
    audit_action: str  # instead of "<source>.<reason>"
    audit_detail: dict[str, Any]  # more audit detail
    # False: no "written"/"deleted" hooks, for a writer that does the slices' work
    # itself (a merge moves every follow-up of the merged client).
    rules: bool
    at: datetime  # when the version was made, if not now (a loader of past records)


@dataclass(frozen=True)
class Writer:
    """Who writes, from where, when; `source` names the channel in audit actions
    (`sync`, `caseload`, `retention`, `demo`)."""

    actor_id: int | None
    device_id: uuid.UUID | None
    now: datetime
    source: str


@dataclass
class UnitOfWork:
    """The working set of one transaction's writes to synced records, and what they
    will write. State is declared here; the methods below are the only writers of it."""

    writer: Writer
    pool: SeqPool = field(default_factory=SeqPool)
    rows: dict[str, dict[uuid.UUID, Row]] = field(default_factory=dict)
    original: dict[str, dict[uuid.UUID, Row]] = field(default_factory=dict)
    # Records made and records changed, in the order of their first version (dicts as
    # ordered sets: rows are written in that order, no sorting).
    new: dict[str, dict[uuid.UUID, None]] = field(default_factory=dict)
    dirty: dict[str, dict[uuid.UUID, None]] = field(default_factory=dict)
    # Every version this work replaced or made: (entity, id, version) -> row.
    versions: dict[VersionKey, Row] = field(default_factory=dict)
    history: list[Row] = field(default_factory=list)
    changes: list[tuple[int, int, str, uuid.UUID, str]] = field(default_factory=list)
    audit: list[Row] = field(default_factory=list)
    # Stored versions this work superseded (pre-images to keep, if history lacks them).
    superseded: dict[VersionKey, Row] = field(default_factory=dict)
    _index: dict[tuple[str, str], dict[Any, set[uuid.UUID]]] = field(default_factory=dict)
    # Live shares of the shareable records in the working set (`outreach.records.shares`):
    # (entity, id) -> team -> share row; and the share rows this work grants or changes.
    shares: dict[tuple[str, uuid.UUID], dict[int, Row]] = field(default_factory=dict)
    share_writes: dict[tuple[str, uuid.UUID, int], Row] = field(default_factory=dict)
    agreements: dict[tuple[int, int], datetime | None] = field(default_factory=dict)
    # What slice rules keep for the length of the work (e.g. which rows a hook loaded).
    notes: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------ the working set

    def lock(self, team_ids: Iterable[int]) -> None:
        """Take the teams' sequence locks now: before reading or locking any record."""
        self.pool.lock(team_ids)

    def reserve(self, count: int) -> None:
        """Allocate the sequence numbers `count` new versions will take, in one go (a
        writer that knows how many it makes; more are allocated as needed)."""
        if count > 0:
            self.pool.reserve(count)

    def table(self, entity: str) -> dict[uuid.UUID, Row]:
        return self.rows.setdefault(entity, {})

    def get(self, entity: str, record_id: uuid.UUID) -> Row | None:
        return self.rows.get(entity, {}).get(record_id)

    def _add_loaded(self, entity: str, loaded: Mapping[uuid.UUID, Row]) -> None:
        rows = self.table(entity)
        original = self.original.setdefault(entity, {})
        if ENTITIES[entity].shareable:
            fresh = [i for i in loaded if (entity, i) not in self.shares]
            found = load_shares(entity, fresh) if fresh else {}
            for record_id in fresh:
                self.shares[(entity, record_id)] = found.get(record_id, {})
        for record_id, row in loaded.items():
            if record_id not in rows:
                rows[record_id] = row
                original[record_id] = row
                self._reindex(entity, row)

    def load(self, entity: str, ids: Iterable[uuid.UUID], *, lock: bool = False) -> None:
        """Read the current rows of `ids` not yet in the working set."""
        missing = [i for i in dict.fromkeys(ids) if i not in self.table(entity)]
        if not missing:
            return
        if lock:
            table = ENTITIES[entity].model.__table__
            self.load_where(entity, among(table.c.id, missing), lock=True)
        else:
            self._add_loaded(entity, load_rows(entity, missing))

    def load_where(
        self, entity: str, condition: ColumnElement[bool], *, lock: bool = False
    ) -> list[Row]:
        """Read the rows of `entity` matching `condition` (in id order, locked if asked)
        into the working set; returns their working copies."""
        table = ENTITIES[entity].model.__table__
        stmt = select(table).where(condition).order_by(table.c.id)
        if lock:
            stmt = stmt.with_for_update()
        loaded = {row.id: dict(row._mapping) for row in db.session.execute(stmt)}
        self._add_loaded(entity, loaded)
        return [self.table(entity)[i] for i in loaded]

    def children(self, entity: str, column: str, value: Any) -> list[Row]:
        """Working rows of `entity` whose `column` is `value` (an index kept in step), in
        id order."""
        key = (entity, column)
        if key not in self._index:
            index: dict[Any, set[uuid.UUID]] = {}
            for record_id, row in self.table(entity).items():
                index.setdefault(row.get(column), set()).add(record_id)
            self._index[key] = index
        ids = self._index[key].get(value, set())
        rows = self.table(entity)
        return [rows[i] for i in sorted(ids, key=str) if rows[i].get(column) == value]

    def _reindex(self, entity: str, row: Row) -> None:
        for (indexed, column), index in self._index.items():
            if indexed == entity:
                index.setdefault(row.get(column), set()).add(row["id"])

    # ------------------------------------------------------------ shares

    def holders(self, entity: str, record_id: uuid.UUID) -> dict[int, Row]:
        """Teams besides the record's own that hold it (live shares), by team id."""
        return self.shares.get((entity, record_id), {})

    def share(self, entity: str, record_id: uuid.UUID, team_id: int) -> None:
        """Let `team_id` hold a record of the working set: its phones get it now, and
        every new version after. The caller checked that the team may (DESIGN §5b)."""
        row = self.table(entity)[record_id]
        held = self.holders(entity, record_id).get(team_id)
        if team_id == row["team_id"] or (held is not None and held["frozen_at"] is None):
            return
        self._write_share(
            entity, record_id, team_id, {"granted_at": self.writer.now, "frozen_at": None}
        )
        seq = self.pool.take({row["team_id"], team_id})
        self.changes.append((seq, team_id, entity, record_id, "upsert"))

    def freeze_shares(self, entity: str, record_id: uuid.UUID) -> None:
        """The teams holding a record keep what they hold but get no newer version."""
        for team_id, held in list(self.holders(entity, record_id).items()):
            if held["frozen_at"] is None:
                self._write_share(entity, record_id, team_id, {"frozen_at": self.writer.now})

    def unshare(self, entity: str, record_id: uuid.UUID, team_id: int) -> None:
        """The team's phones drop the record (a remove change)."""
        row = self.table(entity)[record_id]
        if team_id not in self.holders(entity, record_id):
            return
        self._write_share(entity, record_id, team_id, {"ended_at": self.writer.now})
        seq = self.pool.take({row["team_id"], team_id})
        self.changes.append((seq, team_id, entity, record_id, "remove"))

    def set_share_worker(
        self, entity: str, record_id: uuid.UUID, team_id: int, key_worker_id: int | None
    ) -> None:
        """The holding team's key worker for a record shared with it (a live share): kept
        on the share, not a new version of the record (the other team's phones hold the
        record, not who works with it here)."""
        if team_id not in self.holders(entity, record_id):
            raise KeyError(f"{entity} {record_id} is not shared with team {team_id}")
        self._write_share(entity, record_id, team_id, {"key_worker_id": key_worker_id})

    def _write_share(self, entity: str, record_id: uuid.UUID, team_id: int, values: Row) -> None:
        current = self.holders(entity, record_id).get(team_id) or {
            "entity": entity,
            "record_id": record_id,
            "team_id": team_id,
            "granted_at": self.writer.now,
            "frozen_at": None,
            "ended_at": None,
            "key_worker_id": None,
        }
        share = {**current, **values}
        held = self.shares.setdefault((entity, record_id), {})
        if share["ended_at"] is None:
            held[team_id] = share
        else:
            held.pop(team_id, None)
        self.share_writes[(entity, record_id, team_id)] = share

    # ------------------------------------------------------------ new versions

    def create(self, entity: str, row: Row, *, reason: str = "create", **how: Unpack[How]) -> Row:
        """Version 1 of a new record (`row` holds every column but the bookkeeping)."""
        spec = ENTITIES[entity]
        new = dict.fromkeys(spec.columns_list)
        new.update(row)
        if new.get("created_at") is None:
            new["created_at"] = how.get("at") or self.writer.now
        new["version"] = 0
        self.new.setdefault(entity, {})[row["id"]] = None
        return self._stamp(entity, new, reason, how)

    def update(self, entity: str, row: Row, *, reason: str, **how: Unpack[How]) -> Row:
        """The next version of a record in the working set: `row` is its working row
        with the changes made (a copy; the working row is replaced)."""
        if row["id"] not in self.table(entity):
            raise KeyError(f"{entity} {row['id']} is not in the unit of work: load it first")
        return self._stamp(entity, dict(row), reason, how)

    def delete(self, entity: str, row: Row, *, reason: str = "delete", **how: Unpack[How]) -> Row:
        """A tombstone (`deleted_at`), then the slices' "deleted" hooks."""
        new = self.update(entity, {**row, "deleted_at": self.writer.now}, reason=reason, **how)
        if how.get("rules", True):
            for hook in hooks("deleted", entity):
                hook(self, new)
        return new

    def _stamp(self, entity: str, new: Row, reason: str, how: How) -> Row:
        spec = ENTITIES[entity]
        writer = self.writer
        at = how.get("at") or writer.now
        losing = how.get("losing")
        record_id = new["id"]
        previous = self.table(entity).get(record_id)
        if spec.derive is not None:
            spec.derive(new)
        teams = {new["team_id"]} | ({previous["team_id"]} if previous else set())
        for team, share in list(self.holders(entity, record_id).items()):
            if share["frozen_at"] is not None:
                continue
            # No agreement in force (lapsed by its date, the daily job not yet run):
            # the holder keeps the version it has, frozen from the agreement's end.
            stopped = sharing_stopped(new["team_id"], team, writer.now, self.agreements)
            if stopped is None:
                teams.add(team)
            else:
                self._write_share(entity, record_id, team, {"frozen_at": stopped})
        seq = self.pool.take(teams)
        new["version"] = (new["version"] or 0) + 1
        new["server_seq"] = seq
        new["updated_at"] = at
        if previous is not None:
            key = (entity, record_id, previous["version"])
            self.versions.setdefault(key, previous)
            if previous is self.original.get(entity, {}).get(record_id):
                self.superseded[key] = previous
            self.dirty.setdefault(entity, {})[record_id] = None
        self.table(entity)[record_id] = new
        self._reindex(entity, new)
        self.versions[(entity, record_id, new["version"])] = new
        if new["version"] > 1 or losing is not None or spec.history_on_create:
            self.history.append(
                {
                    "entity": entity,
                    "record_id": record_id,
                    "version": new["version"],
                    "reason": reason,
                    "data": serialize(entity, new),
                    "losing": losing,
                    "actor_id": writer.actor_id,
                    "device_id": writer.device_id,
                    "recorded_at": at,
                }
            )
        op = how.get("op") or ("remove" if new["deleted_at"] is not None else "upsert")
        # One change-log row per team whose phones hold the record, each with its own
        # number (a change's number is its key): the record's team takes the version's.
        self.changes.append((seq, new["team_id"], entity, record_id, op))
        for team_id in sorted(teams - {new["team_id"]}):
            self.changes.append((self.pool.take(teams), team_id, entity, record_id, op))
        detail: dict[str, Any] = {"version": new["version"]}
        if how.get("mutation_id") is not None:
            detail["mutation_id"] = str(how["mutation_id"])
        if how.get("cause"):
            detail["cause"] = how["cause"]
        detail.update(how.get("audit_detail") or {})
        self.audit.append(
            {
                "actor_id": writer.actor_id,
                "device_id": writer.device_id,
                "action": how.get("audit_action") or f"{writer.source}.{reason}",
                "entity": entity,
                "record_id": record_id,
                "detail": detail,
            }
        )
        if how.get("rules", True):
            for hook in hooks("written", entity):
                hook(self, new, previous)
        return new

    def touched(self, entity: str) -> list[Row]:
        """Working rows of `entity` this work made a version of."""
        ids = {**self.new.get(entity, {}), **self.dirty.get(entity, {})}
        rows = self.table(entity)
        return [rows[i] for i in ids]

    # ------------------------------------------------------------ writing

    def flush(self) -> None:
        """Write everything (call inside the caller's transaction or savepoint)."""
        for spec in write_order():
            entity = spec.name
            table = spec.model.__table__
            rows = self.table(entity)
            new_ids = self.new.get(entity, {})
            insert_rows(table, [rows[i] for i in new_ids])
            updates = [
                {"b_id": i, **{k: v for k, v in rows[i].items() if k != "id"}}
                for i in self.dirty.get(entity, {})
                if i not in new_ids
            ]
            if updates:
                db.session.execute(update(table).where(table.c.id == bindparam("b_id")), updates)
        write_shares(list(self.share_writes.values()))
        write_history(self._preimages() + self.history)
        log_changes(self.changes)
        if self.audit:
            insert_rows(AuditEvent.__table__, event_rows(self.audit))
        for entity in ENTITIES:
            for hook in hooks("flushed", entity):
                hook(self)

    def _preimages(self) -> list[Row]:
        """History rows of stored versions this work replaced that history lacks (a
        record created without a history row, or before history was kept)."""
        if not self.superseded:
            return []
        held = versions_recorded(self.superseded)
        out = []
        for key, row in self.superseded.items():
            if key in held:
                continue
            entity, record_id, version = key
            out.append(
                {
                    "entity": entity,
                    "record_id": record_id,
                    "version": version,
                    "reason": "create" if version == 1 else "edit",
                    "data": serialize(entity, row),
                    "actor_id": row.get("worker_id") or row.get("created_by_id"),
                    "device_id": row.get("device_id"),
                    "recorded_at": row.get("updated_at") or row.get("created_at"),
                }
            )
        return out
