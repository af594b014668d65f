"""Push: apply a phone's batch of mutations exactly once (DESIGN §4).

Order of work, so one bad record never poisons the batch and sequences become
visible in commit order:

1. every mutation is checked in Python on its own (shape, size, field rules);
2. the sequence counter's lock is taken (`allocate_seqs`), serialising pushes;
3. the ledger and every record the batch touches are read: one query per table;
4. the mutations are applied in order to an in-memory copy of those rows (stale
   edits merged against their base version, references checked, follow-ups made);
5. everything is written in bulk inside a savepoint; if the database refuses the
   batch anyway, each mutation is re-applied in its own savepoint and only the
   ones the database refuses are rejected.

Rules that are not obvious:

* `data` is the whole record. A missing optional field is null (a missing
  `client_id` makes an anonymous contact); on an edit a missing required field
  keeps its value.
* Stale edit (`base_version` older than the server's): a three-way merge against
  the base version's data from history. Fields only one side changed take that
  side's value; fields both changed differently go to the server for clients and
  follow-ups, and to the side with the later `occurred_at` for interventions (the
  server on a tie). The result is `conflict` with the merged `record` whenever the
  stored record differs from what the phone sent; the phone's losing values are in
  the new version's history row (`losing`).
* Deletes are soft (`deleted_at`) and win: a delete applies whatever its base, and an
  edit (or re-creation) of a deleted record is a `conflict` that keeps it deleted,
  records the edit in history as losing values, and sends the devices a fresh
  `remove`. Deleting a client or an intervention also deletes its open follow-ups.
* A reference to a client merged into another is redirected to the survivor
  (reported as `conflict`, so the phone shows it).
* An intervention with `client_id` and `follow_up_on` gets a follow-up with id
  `uuid5(intervention_id, "follow_up")` unless one exists for it; while it is open
  its due date follows the intervention. A follow-up the phone makes for the same
  intervention replaces it (the server's is deleted).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, bindparam, insert, or_, select, tuple_, update
from sqlalchemy.exc import DataError, IntegrityError

from outreach.audit.service import record_events
from outreach.core.extensions import db
from outreach.interventions.rules import (
    DEFAULT_FOLLOW_UP_REASON,
    follow_up_id_for,
    normalise_follow_up,
    normalise_intervention,
)
from outreach.org.models import TEAM_ROLES, User
from outreach.people.rules import normalise_client
from outreach.people.service import compute_match_key, link_probable_duplicates
from outreach.sync.changes import allocate_seqs, log_changes, write_history
from outreach.sync.models import RecordVersion, SyncMutation
from outreach.sync.records import ENTITIES, MODELS, column_names, load_rows, serialize

NOT_FOUND = "No record with this id in your team."
NO_CLIENT = "No client with this id in your team."
NO_INTERVENTION = "No intervention with this id in your team."
NO_MEMBER = "No member of your team has this id."
LEDGER_CHUNK = 500
DB_ERRORS = (IntegrityError, DataError)


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


@dataclass
class Mutation:
    index: int
    mutation_id: uuid.UUID
    entity: str
    op: str
    id: uuid.UUID
    base_version: int | None
    values: dict = field(default_factory=dict)  # canonical values of fields present


# ---------------------------------------------------------------- step 1: checks


def _echo(value) -> str | None:
    """A client-supplied id echoed back in a result, only if it is a short string."""
    return value if isinstance(value, str) and len(value) <= 64 else None


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
    stopping early once over `limit`. Cheaper than encoding it."""
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item) + 4
        elif isinstance(item, dict):
            total += 2
            for key, val in item.items():
                total += len(key) + 4 if isinstance(key, str) else 8
                stack.append(val)
        elif isinstance(item, list):
            total += 2
            stack.extend(item)
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
    if entity not in ENTITIES:
        errors["entity"] = ["Must be one of: " + ", ".join(ENTITIES) + "."]
    if op not in ("upsert", "delete"):
        errors["op"] = ["Must be upsert or delete."]
    base = raw.get("base_version")
    if base is not None and (isinstance(base, bool) or not isinstance(base, int) or base < 1):
        errors["base_version"] = ["Must be a version number (1 or more) or null."]
    data = raw.get("data")
    if op == "upsert" and not isinstance(data, dict):
        errors["data"] = ["Must be an object: the record."]
    if errors:
        return None, rejected(raw_mid, raw_id, errors), mutation_id
    values: dict = {}
    if op == "upsert":
        if entity == "client":
            values, errors = normalise_client(data, today=ctx.now.date())
        elif entity == "intervention":
            values, errors = normalise_intervention(data, now=ctx.now, skew=ctx.skew)
        else:
            values, errors = normalise_follow_up(data, now=ctx.now, skew=ctx.skew)
        if errors:
            return None, rejected(raw_mid, raw_id, errors), mutation_id
    mutation = Mutation(index, mutation_id, entity, op, record_id, base, values)
    return mutation, None, mutation_id


# ---------------------------------------------------------------- step 2-4: plan


class SeqPool:
    """Sequence numbers for this push. The first call takes the counter's lock."""

    def __init__(self) -> None:
        self.next_seq = 0
        self.end = 0

    def reserve(self, count: int) -> None:
        first = allocate_seqs(max(count, 1))
        self.next_seq, self.end = first, first + max(count, 1)

    def take(self) -> int:
        if self.next_seq >= self.end:
            self.reserve(64)
        seq = self.next_seq
        self.next_seq += 1
        return seq


@dataclass
class Plan:
    """What a batch will write, worked out in memory."""

    rows: dict[str, dict[uuid.UUID, dict]]
    new: dict[str, set] = field(default_factory=lambda: {e: set() for e in ENTITIES})
    dirty: dict[str, set] = field(default_factory=lambda: {e: set() for e in ENTITIES})
    history: list[dict] = field(default_factory=list)
    changes: list[tuple] = field(default_factory=list)
    ledger: list[dict] = field(default_factory=list)
    audit: list[dict] = field(default_factory=list)
    results: dict[int, dict] = field(default_factory=dict)
    matched_clients: dict[uuid.UUID, str] = field(default_factory=dict)


class Planner:
    """Applies mutations in order to an in-memory copy of the rows they touch."""

    def __init__(self, ctx: PushContext, pool: SeqPool):
        self.ctx = ctx
        self.pool = pool

    # -- loading (one query per table)

    def load(self, mutations: list[Mutation]) -> Plan:
        ids = {e: set() for e in ENTITIES}
        client_refs: set = set()
        intervention_refs: set = set()
        deleted_clients: set = set()
        # Interventions whose follow-ups matter: deleted, or asking for one.
        follow_up_sources: set = set()
        for m in mutations:
            ids[m.entity].add(m.id)
            if m.entity == "intervention" and (m.op == "delete" or m.values.get("follow_up_on")):
                follow_up_sources.add(m.id)
            for name, bucket in (
                ("client_id", client_refs),
                ("intervention_id", intervention_refs),
            ):
                value = m.values.get(name)
                if value:
                    bucket.add(uuid.UUID(value))
            if m.entity == "client" and m.op == "delete":
                deleted_clients.add(m.id)
        clients = load_rows("client", ids["client"] | client_refs)
        # Merged clients: follow the chain to the survivor (a few hops at most).
        for _ in range(5):
            missing = {
                r["merged_into_id"]
                for r in clients.values()
                if r["merged_into_id"] is not None and r["merged_into_id"] not in clients
            }
            if not missing:
                break
            clients.update(load_rows("client", missing))
        interventions = load_rows("intervention", ids["intervention"] | intervention_refs)
        follow_up_sources |= {
            i
            for i in ids["intervention"]
            if i in interventions and interventions[i]["follow_up_on"] is not None
        }
        auto_ids = {follow_up_id_for(i) for i in follow_up_sources | intervention_refs}
        follow_ups = load_rows("follow_up", ids["follow_up"] | auto_ids)
        linked = []
        if follow_up_sources:
            linked.append(FollowUpT.c.intervention_id.in_(follow_up_sources))
        if deleted_clients:
            linked.append(
                and_(
                    FollowUpT.c.client_id.in_(deleted_clients),
                    FollowUpT.c.deleted_at.is_(None),
                    FollowUpT.c.done_at.is_(None),
                )
            )
        if linked:
            for row in db.session.execute(select(FollowUpT).where(or_(*linked))):
                follow_ups.setdefault(row.id, dict(row._mapping))
        plan = Plan(
            rows={"client": clients, "intervention": interventions, "follow_up": follow_ups}
        )
        self.members = set(
            db.session.scalars(
                select(User.id).where(
                    User.team_id == self.ctx.team_id,
                    User.active.is_(True),
                    User.role.in_(TEAM_ROLES),
                )
            )
        )
        self.versions = self._load_bases(mutations, plan)
        self.by_intervention: dict[uuid.UUID, set] = {}
        self.by_client: dict[uuid.UUID, set] = {}
        for fid, row in follow_ups.items():
            if row["intervention_id"] is not None:
                self.by_intervention.setdefault(row["intervention_id"], set()).add(fid)
            self.by_client.setdefault(row["client_id"], set()).add(fid)
        return plan

    def _load_bases(self, mutations: list[Mutation], plan: Plan) -> dict[tuple, dict]:
        """Data of every version a stale edit is based on: the current rows, plus one
        query on record history for older ones."""
        versions: dict[tuple, dict] = {}
        wanted = set()
        for m in mutations:
            if m.op != "upsert":
                continue
            row = plan.rows[m.entity].get(m.id)
            if row is None:
                continue
            base = m.base_version or 1
            if base < row["version"]:
                wanted.add((m.entity, m.id, base))
        wanted_list = list(wanted)
        for start in range(0, len(wanted_list), LEDGER_CHUNK):
            chunk = wanted_list[start : start + LEDGER_CHUNK]
            stmt = (
                select(
                    RecordVersion.entity,
                    RecordVersion.record_id,
                    RecordVersion.version,
                    RecordVersion.data,
                )
                .where(
                    tuple_(
                        RecordVersion.entity, RecordVersion.record_id, RecordVersion.version
                    ).in_(chunk)
                )
                .order_by(RecordVersion.id)
            )
            for entity, record_id, version, data in db.session.execute(stmt):
                versions[(entity, record_id, version)] = data
        return versions

    # -- applying

    def plan(self, mutations: list[Mutation]) -> Plan:
        plan = self.load(mutations)
        self.p = plan
        for m in mutations:
            result = self.apply(m)
            if result["status"] != "rejected":
                plan.ledger.append(
                    {
                        "mutation_id": m.mutation_id,
                        "device_id": self.ctx.device_id,
                        "user_id": self.ctx.user_id,
                        "entity": m.entity,
                        "record_id": m.id,
                        "result": result,
                        "created_at": self.ctx.now,
                    }
                )
            plan.results[m.index] = result
        return plan

    def apply(self, m: Mutation) -> dict:
        rows = self.p.rows[m.entity]
        row = rows.get(m.id)
        if row is not None and row["team_id"] != self.ctx.team_id:
            return rejected(m.mutation_id, m.id, {"id": [NOT_FOUND]})
        if m.op == "delete":
            if row is None:
                return rejected(m.mutation_id, m.id, {"id": [NOT_FOUND]})
            if row["deleted_at"] is not None:
                return self._result(m, "applied", row)
            new = self._tombstone(m.entity, row, "delete", m)
            return self._result(m, "applied", new)
        if row is None:
            return self._create(m)
        if row["deleted_at"] is not None:
            return self._edit_deleted(m, row)
        return self._edit(m, row)

    def _result(self, m: Mutation, status: str, row: dict, record: bool = False) -> dict:
        out = {
            "mutation_id": str(m.mutation_id),
            "id": str(m.id),
            "status": status,
            "version": row["version"],
            "server_seq": row["server_seq"],
        }
        if record:
            data = serialize(m.entity, row)
            out["record"] = {
                "entity": m.entity,
                "id": str(m.id),
                "version": row["version"],
                "server_seq": row["server_seq"],
                "deleted": row["deleted_at"] is not None,
                "data": data,
            }
        return out

    def _full_values(self, m: Mutation, base: dict | None) -> dict:
        """The phone's record: missing optional fields are null; missing required
        fields keep the base's value."""
        spec = ENTITIES[m.entity]
        out = {}
        for name in spec.fields:
            if name in m.values:
                out[name] = m.values[name]
            elif name in spec.required and base is not None:
                out[name] = base.get(name)
            elif name == "substances":
                out[name] = []
            else:
                out[name] = None
        return out

    def _check_refs(self, entity: str, values: dict, current: dict | None) -> tuple[dict, dict]:
        """Check references against the team; redirect merged clients. Returns
        (errors, redirected {field: original value}). Unchanged references pass."""
        errors: dict[str, list[str]] = {}
        redirected: dict = {}

        def changed(name: str) -> bool:
            return current is None or values.get(name) != current.get(name)

        if (
            entity in ("intervention", "follow_up")
            and values.get("client_id")
            and changed("client_id")
        ):
            survivor = self._live_client(uuid.UUID(values["client_id"]))
            if survivor is None:
                errors["client_id"] = [NO_CLIENT]
            elif str(survivor) != values["client_id"]:
                redirected["client_id"] = values["client_id"]
                values["client_id"] = str(survivor)
        if entity == "follow_up" and values.get("intervention_id") and changed("intervention_id"):
            row = self.p.rows["intervention"].get(uuid.UUID(values["intervention_id"]))
            if row is None or row["team_id"] != self.ctx.team_id or row["deleted_at"]:
                errors["intervention_id"] = [NO_INTERVENTION]
        for name in ("key_worker_id", "assigned_to"):
            if values.get(name) is not None and changed(name) and values[name] not in self.members:
                errors[name] = [NO_MEMBER]
        return errors, redirected

    def _live_client(self, client_id: uuid.UUID) -> uuid.UUID | None:
        clients = self.p.rows["client"]
        for _ in range(6):
            row = clients.get(client_id)
            if row is None or row["team_id"] != self.ctx.team_id:
                return None
            if row["merged_into_id"] is not None:
                client_id = row["merged_into_id"]
                continue
            if row["deleted_at"] is not None or row["anonymised_at"] is not None:
                return None
            return client_id
        return None

    def _create(self, m: Mutation) -> dict:
        spec = ENTITIES[m.entity]
        values = self._full_values(m, None)
        errors = spec.check(values)
        ref_errors, redirected = self._check_refs(m.entity, values, None)
        errors.update(ref_errors)
        if errors:
            return rejected(m.mutation_id, m.id, errors)
        ctx = self.ctx
        row = dict.fromkeys(column_names(m.entity))
        row.update(
            id=m.id,
            team_id=ctx.team_id,
            created_at=ctx.now,
            deleted_at=None,
        )
        if m.entity == "client":
            row.update(area_id=ctx.area_id, created_by_id=ctx.user_id)
        elif m.entity == "intervention":
            row.update(area_id=ctx.area_id, worker_id=ctx.user_id, device_id=ctx.device_id)
        else:
            row.update(created_by_id=ctx.user_id)
        losing = {"from": "device", "values": redirected} if redirected else None
        new = self._write(m.entity, row, values, "create", m, losing=losing, is_new=True)
        self._after(m.entity, new, m)
        return self._result(
            m, "conflict" if redirected else "applied", new, record=bool(redirected)
        )

    def _edit(self, m: Mutation, row: dict) -> dict:
        spec = ENTITIES[m.entity]
        theirs_data = serialize(m.entity, row)
        theirs = {name: theirs_data.get(name) for name in spec.fields}
        base_version = m.base_version or 1
        stale = base_version != row["version"]
        base = theirs
        if stale:
            base_data = self.versions.get((m.entity, m.id, base_version))
            base = {n: base_data.get(n) for n in spec.fields} if base_data else None
        mine = self._full_values(m, base if base is not None else theirs)
        losing_values: dict = {}
        winner = "device"
        if not stale:
            merged = dict(mine)
        else:
            winner = self._winner(m.entity, mine, theirs)
            merged, losing_values = _merge(spec.fields, mine, theirs, base, winner)
        errors = spec.check(merged)
        if errors and stale:
            # A field-by-field merge can break a record rule: take the winner's record.
            merged = dict(theirs if winner == "server" else mine)
            losing_values = {
                n: (mine if winner == "server" else theirs)[n]
                for n in spec.fields
                if mine[n] != theirs[n]
            }
            errors = spec.check(merged)
        ref_errors, redirected = self._check_refs(m.entity, merged, theirs)
        errors.update(ref_errors)
        if errors:
            return rejected(m.mutation_id, m.id, errors)
        losing = None
        if losing_values:
            losing = {"from": "device" if winner == "server" else "server", "values": losing_values}
        if redirected:
            losing = losing or {"from": "device", "values": {}}
            losing["values"].update(redirected)
        reason = "conflict" if losing else "edit"
        new = self._write(m.entity, row, merged, reason, m, losing=losing)
        self._after(m.entity, new, m, previous=row)
        differs = any(merged[n] != mine[n] for n in spec.fields) or bool(redirected)
        status = "conflict" if differs else "applied"
        return self._result(m, status, new, record=differs)

    def _winner(self, entity: str, mine: dict, theirs: dict) -> str:
        """Who wins fields both sides changed: the later contact for interventions,
        else (and on a tie) the server."""
        a, b = mine.get("occurred_at"), theirs.get("occurred_at")
        if entity == "intervention" and a and b:
            later = datetime.fromisoformat(a) > datetime.fromisoformat(b)
            return "device" if later else "server"
        return "server"

    def _edit_deleted(self, m: Mutation, row: dict) -> dict:
        """Delete wins: keep the tombstone, keep the edit as losing values, and send
        the devices a fresh remove."""
        spec = ENTITIES[m.entity]
        current = serialize(m.entity, row)
        mine = self._full_values(m, current)
        losing = {
            "from": "device",
            "values": {n: mine[n] for n in spec.fields if mine[n] != current.get(n)},
        }
        new = dict(row)
        self._stamp(m.entity, new, "conflict", m, losing=losing, op="remove")
        return self._result(m, "conflict", new, record=True)

    def _write(
        self,
        entity: str,
        row: dict,
        values: dict,
        reason: str,
        m: Mutation | None,
        *,
        losing: dict | None = None,
        is_new: bool = False,
    ) -> dict:
        new = dict(row)
        new.update(ENTITIES[entity].columns(values))
        if entity == "client":
            new["match_key"] = compute_match_key(new["initials"], new["date_of_birth"], new["sex"])
            if is_new or new["match_key"] != row.get("match_key"):
                self.p.matched_clients[new["id"]] = new["match_key"]
        new["version"] = 0 if is_new else row["version"]
        if is_new:
            self.p.new[entity].add(new["id"])
        self._stamp(entity, new, reason, m, losing=losing)
        return new

    def _stamp(
        self,
        entity: str,
        new: dict,
        reason: str,
        m: Mutation | None,
        *,
        losing: dict | None = None,
        op: str | None = None,
        cause: str | None = None,
    ) -> None:
        """Give `new` its next version and sequence number and record it everywhere."""
        ctx = self.ctx
        seq = self.pool.take()
        new["version"] = (new["version"] or 0) + 1
        new["server_seq"] = seq
        new["updated_at"] = ctx.now
        record_id = new["id"]
        self.p.rows[entity][record_id] = new
        if record_id not in self.p.new[entity]:
            self.p.dirty[entity].add(record_id)
        if entity == "follow_up":
            if new["intervention_id"] is not None:
                self.by_intervention.setdefault(new["intervention_id"], set()).add(record_id)
            self.by_client.setdefault(new["client_id"], set()).add(record_id)
        data = serialize(entity, new)
        self.versions[(entity, record_id, new["version"])] = data
        self.p.history.append(
            {
                "entity": entity,
                "record_id": record_id,
                "version": new["version"],
                "reason": reason,
                "data": data,
                "losing": losing,
                "actor_id": ctx.user_id,
                "device_id": ctx.device_id,
                "recorded_at": ctx.now,
            }
        )
        if op is None:
            op = "remove" if new["deleted_at"] is not None else "upsert"
        self.p.changes.append((seq, new["team_id"], entity, record_id, op))
        detail: dict = {"version": new["version"]}
        if m is not None:
            detail["mutation_id"] = str(m.mutation_id)
        if cause:
            detail["cause"] = cause
        self.p.audit.append(
            {
                "actor_id": ctx.user_id,
                "device_id": ctx.device_id,
                "action": f"sync.{reason}",
                "entity": entity,
                "record_id": record_id,
                "detail": detail,
            }
        )

    def _tombstone(self, entity: str, row: dict, reason: str, m: Mutation | None, cause=None):
        new = dict(row)
        new["deleted_at"] = self.ctx.now
        self._stamp(entity, new, reason, m, cause=cause)
        # Open follow-ups of a deleted client or intervention go with it.
        if entity in ("client", "intervention"):
            index = self.by_client if entity == "client" else self.by_intervention
            for fid in sorted(index.get(row["id"], ()), key=str):
                follow_up = self.p.rows["follow_up"][fid]
                if follow_up["deleted_at"] is None and follow_up["done_at"] is None:
                    self._tombstone(
                        "follow_up", follow_up, "delete", None, cause=f"{entity}_deleted"
                    )
        return new

    def _after(self, entity: str, new: dict, m: Mutation, previous: dict | None = None) -> None:
        """Follow-ups an intervention asks for; follow-ups that replace the server's."""
        follow_ups = self.p.rows["follow_up"]
        if entity == "intervention":
            if new["client_id"] is None or new["follow_up_on"] is None:
                return
            existing = [follow_ups[f] for f in self.by_intervention.get(new["id"], ())]
            if not existing:
                auto_id = follow_up_id_for(new["id"])
                if auto_id in follow_ups:  # made before and moved on: leave it be
                    return
                row = dict.fromkeys(column_names("follow_up"))
                row.update(
                    id=auto_id,
                    client_id=new["client_id"],
                    team_id=new["team_id"],
                    intervention_id=new["id"],
                    due_on=new["follow_up_on"],
                    reason=DEFAULT_FOLLOW_UP_REASON,
                    assigned_to_id=self.ctx.user_id,
                    created_by_id=self.ctx.user_id,
                    created_at=self.ctx.now,
                    version=0,
                )
                self.p.new["follow_up"].add(auto_id)
                self._stamp("follow_up", row, "auto", None, cause="follow_up_on")
                return
            auto = follow_ups.get(follow_up_id_for(new["id"]))
            if (
                auto is not None
                and auto["deleted_at"] is None
                and auto["done_at"] is None
                and (auto["due_on"] != new["follow_up_on"] or auto["client_id"] != new["client_id"])
            ):
                moved = dict(auto, due_on=new["follow_up_on"], client_id=new["client_id"])
                self._stamp("follow_up", moved, "auto", None, cause="follow_up_on")
        elif entity == "follow_up" and previous is None and new["intervention_id"] is not None:
            auto_id = follow_up_id_for(new["intervention_id"])
            auto = follow_ups.get(auto_id)
            if auto_id != new["id"] and auto is not None and auto["deleted_at"] is None:
                self._tombstone("follow_up", auto, "superseded", None, cause="device_follow_up")


FollowUpT = MODELS["follow_up"].__table__


def _merge(fields, mine: dict, theirs: dict, base: dict | None, winner: str):
    """Three-way merge (two-way when the base is unknown). Returns (merged, losing)."""
    merged, losing = {}, {}
    for name in fields:
        a, b = mine[name], theirs[name]
        if a == b:
            merged[name] = b
        elif base is not None and a == base[name]:
            merged[name] = b  # only the server changed it
        elif base is not None and b == base[name]:
            merged[name] = a  # only the device changed it
        elif winner == "server":
            merged[name], losing[name] = b, a
        else:
            merged[name], losing[name] = a, b
    return merged, losing


# ---------------------------------------------------------------- step 5: write


def write_plan(plan: Plan, team_id: int) -> None:
    """Bulk writes of a planned batch (call inside a savepoint): Core executemany,
    one statement per table and kind."""
    for entity in ("client", "intervention", "follow_up"):
        table = MODELS[entity].__table__
        rows = plan.rows[entity]
        inserts = [rows[i] for i in plan.new[entity]]
        if inserts:
            db.session.execute(insert(table), inserts)
        updates = [
            {"b_id": i, **{k: v for k, v in rows[i].items() if k != "id"}}
            for i in plan.dirty[entity] - plan.new[entity]
        ]
        if updates:
            db.session.execute(update(table).where(table.c.id == bindparam("b_id")), updates)
    if plan.matched_clients:
        link_probable_duplicates(team_id, plan.matched_clients.items())
    log_changes(plan.changes)
    write_history(plan.history)
    if plan.ledger:
        db.session.execute(insert(SyncMutation.__table__), plan.ledger)
    record_events(plan.audit)


# ---------------------------------------------------------------- the service


def load_ledger(mutation_ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[int, dict]]:
    """(user_id, stored result) of already-applied mutations: one query per 500."""
    out: dict = {}
    for start in range(0, len(mutation_ids), LEDGER_CHUNK):
        chunk = mutation_ids[start : start + LEDGER_CHUNK]
        stmt = select(SyncMutation.mutation_id, SyncMutation.user_id, SyncMutation.result).where(
            SyncMutation.mutation_id.in_(chunk)
        )
        for mid, user_id, result in db.session.execute(stmt):
            out[mid] = (user_id, result)
    return out


def _seqs_needed(m: Mutation) -> int:
    """Sequence numbers a mutation usually takes: its record, plus a follow-up."""
    if m.values.get("follow_up_on") or m.values.get("intervention_id"):
        return 2
    return 1


def _duplicate(stored: dict) -> dict:
    out = dict(stored)
    out["original_status"] = stored.get("status")
    out["status"] = "duplicate"
    return out


def push_mutations(ctx: PushContext, raw_mutations: list, *, measure: bool = True) -> list[dict]:
    """Apply a batch; return one result per mutation, in order. Writes audit events,
    ledger rows, history and change-log rows; the caller commits."""
    results: list[dict | None] = [None] * len(raw_mutations)
    parsed: list[Mutation] = []
    ids_seen: dict[uuid.UUID, int] = {}
    repeats: dict[int, int] = {}
    all_ids: list[uuid.UUID] = []
    for index, raw in enumerate(raw_mutations):
        mutation, rejection, mutation_id = parse_mutation(index, raw, ctx, measure=measure)
        if mutation_id is not None:
            if mutation_id in ids_seen:
                repeats[index] = ids_seen[mutation_id]
                continue
            ids_seen[mutation_id] = index
            all_ids.append(mutation_id)
        if mutation is None:
            results[index] = rejection
        else:
            parsed.append(mutation)
    pool = SeqPool()
    if parsed:
        pool.reserve(sum(_seqs_needed(m) for m in parsed))  # takes the lock until commit
    ledger = load_ledger(all_ids) if all_ids else {}
    to_apply: list[Mutation] = []
    for index, mutation_id in ((i, m) for m, i in ids_seen.items()):
        if mutation_id not in ledger:
            continue
        user_id, stored = ledger[mutation_id]
        if user_id == ctx.user_id:
            results[index] = _duplicate(stored)
        else:
            results[index] = rejected(
                mutation_id, None, {"mutation_id": ["This mutation id has already been used."]}
            )
    to_apply = [m for m in parsed if m.mutation_id not in ledger]
    if to_apply:
        planner = Planner(ctx, pool)
        plan = planner.plan(to_apply)
        try:
            with db.session.begin_nested():
                write_plan(plan, ctx.team_id)
            for index, result in plan.results.items():
                results[index] = result
        except DB_ERRORS:
            # The database refused the batch: apply each mutation in its own savepoint.
            for m in to_apply:
                single = Planner(ctx, pool).plan([m])
                try:
                    with db.session.begin_nested():
                        write_plan(single, ctx.team_id)
                    results[m.index] = single.results[m.index]
                except DB_ERRORS:
                    results[m.index] = rejected(
                        m.mutation_id,
                        m.id,
                        {"_schema": ["The server could not store this record."]},
                        "The server could not store this record. It is kept on the device.",
                    )
    for index, first in repeats.items():
        earlier = results[first]
        results[index] = _duplicate(earlier) if earlier["status"] != "rejected" else earlier
    return results  # type: ignore[return-value]


def summarise(results: list[dict]) -> dict:
    counts = {"applied": 0, "duplicate": 0, "conflict": 0, "rejected": 0}
    for r in results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return counts


def date_today(now: datetime) -> date:
    return now.date()
