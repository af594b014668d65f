"""Steps 3-4 of a push: the rows a batch touches read into a unit of work, then each
mutation applied in order to those working rows (stale edits merged against their base
version, references checked). See `outreach.sync.push` for the rules. The state of
one planning is a `PushPlan`; the functions below are the only writers of it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from outreach.access.scope import team_members
from outreach.records.history import VersionKey, versions_data
from outreach.records.registry import ENTITIES, EntitySpec, Permission, Pusher, hooks, serialize
from outreach.records.sequence import SeqPool
from outreach.records.unit import How, Row, UnitOfWork, Writer
from outreach.sync.mutations import Mutation, PushContext, rejected

NOT_FOUND = "No record with this id in your team."
NO_MEMBER = "No member of your team has this id."
SHARED = "This record is shared with your team by another team: only that team can change it."


def no_such(entity: str) -> str:
    return f"No {entity.replace('_', '-')} with this id in your team."


@dataclass
class PushPlan:
    """One batch planned: the working rows and what each mutation came to."""

    ctx: PushContext
    uow: UnitOfWork
    # Stored data of the versions stale edits are based on (from history).
    bases: dict[VersionKey, dict[str, Any]] = field(default_factory=dict)
    results: dict[int, dict[str, Any]] = field(default_factory=dict)
    ledger: list[dict[str, Any]] = field(default_factory=list)
    # Active workers and leads of the team: read only when a mutation names one.
    members: set[int] | None = None

    @property
    def pusher(self) -> Pusher:
        return Pusher(self.ctx.user_id, self.ctx.lead)

    def team_members(self) -> set[int]:
        if self.members is None:
            self.members = team_members(self.ctx.team_id)
        return self.members


def plan_push(ctx: PushContext, pool: SeqPool, mutations: list[Mutation]) -> PushPlan:
    """Read what the batch touches and apply its mutations, in order, in memory."""
    uow = UnitOfWork(Writer(ctx.user_id, ctx.device_id, ctx.now, "sync"), pool=pool)
    plan = PushPlan(ctx, uow)
    _load(plan, mutations)
    for m in mutations:
        result = _apply(plan, m)
        if result["status"] != "rejected":
            plan.ledger.append(
                {
                    "mutation_id": m.mutation_id,
                    "device_id": ctx.device_id,
                    "user_id": ctx.user_id,
                    "entity": m.entity,
                    "record_id": m.id,
                    "result": result,
                    "created_at": ctx.now,
                }
            )
        plan.results[m.index] = result
    return plan


def _load(plan: PushPlan, mutations: list[Mutation]) -> None:
    """Every row the batch names (its records and the records they reference), then
    what the slices' rules need (prefetch hooks), then the base versions of stale
    edits: one query per table and kind."""
    uow = plan.uow
    ids: dict[str, set[uuid.UUID]] = {entity: set() for entity in ENTITIES}
    for m in mutations:
        ids[m.entity].add(m.id)
        for name, target in ENTITIES[m.entity].references.items():
            value = m.values.get(name)
            if target in ids and value:
                ids[target].add(uuid.UUID(value))
    for entity, wanted in ids.items():
        uow.load(entity, wanted)
    for entity in ENTITIES:
        for hook in hooks("prefetch", entity):
            hook(uow, mutations)
    stale = set()
    for m in mutations:
        row = uow.get(m.entity, m.id)
        if m.op == "upsert" and row is not None and (m.base_version or 1) < row["version"]:
            stale.add((m.entity, m.id, m.base_version or 1))
    plan.bases = versions_data(stale) if stale else {}


def _apply(plan: PushPlan, m: Mutation) -> dict[str, Any]:
    row = plan.uow.get(m.entity, m.id)
    if row is not None and row["team_id"] != plan.ctx.team_id:
        if plan.ctx.team_id not in plan.uow.holders(m.entity, m.id):
            return rejected(m.mutation_id, m.id, {"id": [NOT_FOUND]})
        if m.op == "delete" or not hooks("check", m.entity):
            return rejected(m.mutation_id, m.id, {"id": [SHARED]})
    if m.op == "delete":
        if row is None:
            return rejected(m.mutation_id, m.id, {"id": [NOT_FOUND]})
        if row["deleted_at"] is not None:
            return _result(m, "applied", row)
        new = plan.uow.delete(m.entity, row, mutation_id=m.mutation_id)
        return _result(m, "applied", new)
    if row is None:
        return _create(plan, m)
    if row["deleted_at"] is not None:
        return _edit_deleted(plan, m, row)
    return _edit(plan, m, row)


def _result(m: Mutation, status: str, row: Row, record: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "mutation_id": str(m.mutation_id),
        "id": str(m.id),
        "status": status,
        "version": row["version"],
        "server_seq": row["server_seq"],
    }
    if record:
        out["record"] = {
            "entity": m.entity,
            "id": str(m.id),
            "version": row["version"],
            "server_seq": row["server_seq"],
            "deleted": row["deleted_at"] is not None,
            "data": serialize(m.entity, row),
        }
    return out


def _full_values(spec: EntitySpec, m: Mutation, base: dict[str, Any] | None) -> dict[str, Any]:
    """The phone's record: missing optional fields are null; missing required fields
    keep the base's value."""
    out: dict[str, Any] = {}
    for f in spec.fields:
        if f.name in m.values:
            out[f.name] = m.values[f.name]
        elif f.required and base is not None:
            out[f.name] = base.get(f.name)
        elif f.name == "substances":
            out[f.name] = []
        else:
            out[f.name] = None
    return out


def _resolve(plan: PushPlan, entity: str, record_id: uuid.UUID) -> uuid.UUID | None:
    """The live record of the team a reference means (a merged client's survivor)."""
    spec = ENTITIES[entity]
    team_id = plan.ctx.team_id
    if spec.resolve is not None:
        return spec.resolve(plan.uow, record_id, team_id)
    row = plan.uow.get(entity, record_id)
    if row is None or row["deleted_at"] is not None:
        return None
    if row["team_id"] != team_id and team_id not in plan.uow.holders(entity, record_id):
        return None
    return record_id


def _check_refs(
    plan: PushPlan, entity: str, values: dict[str, Any], current: dict[str, Any] | None
) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """Check changed references against the team; redirect merged records. Returns
    (errors, redirected {field: the phone's value})."""
    errors: dict[str, list[str]] = {}
    redirected: dict[str, Any] = {}
    for name, target in ENTITIES[entity].references.items():
        value = values.get(name)
        if value is None or (current is not None and value == current.get(name)):
            continue
        if target == "member":
            if value not in plan.team_members():
                errors[name] = [NO_MEMBER]
            continue
        resolved = _resolve(plan, target, uuid.UUID(value))
        if resolved is None:
            errors[name] = [no_such(target)]
        elif str(resolved) != value:
            redirected[name] = value
            values[name] = str(resolved)
    return errors, redirected


def _slice_checks(
    plan: PushPlan, entity: str, row: Row | None, values: dict[str, Any]
) -> dict[str, list[str]]:
    """The slices' "check" hooks on a new record (row None) or a change of `row`: rules
    that read other records (consent, an agreement in force), with the pushing team."""
    errors: dict[str, list[str]] = {}
    for hook in hooks("check", entity):
        for name, messages in hook(plan.uow, plan.ctx.team_id, row, values).items():
            errors.setdefault(name, []).extend(messages)
    return errors


# Columns a new record takes from who pushed it, where its table has them.
def _pusher_columns(ctx: PushContext) -> dict[str, Any]:
    return {
        "area_id": ctx.area_id,
        "created_by_id": ctx.user_id,
        "worker_id": ctx.user_id,
        "device_id": ctx.device_id,
    }


def _create(plan: PushPlan, m: Mutation) -> dict[str, Any]:
    spec = ENTITIES[m.entity]
    values = _full_values(spec, m, None)
    permission = spec.permit(plan.pusher, None, values)
    errors = spec.check(values)
    errors.update(permission.errors)
    ref_errors, redirected = _check_refs(plan, m.entity, values, None)
    errors.update(ref_errors)
    if not errors:
        errors = _slice_checks(plan, m.entity, None, values)
    if errors:
        return rejected(m.mutation_id, m.id, errors)
    ctx = plan.ctx
    row: Row = {"id": m.id, "team_id": ctx.team_id, "created_at": ctx.now}
    row.update((k, v) for k, v in _pusher_columns(ctx).items() if k in spec.columns_list)
    row.update(spec.columns(values))
    losing = {"from": "device", "values": redirected} if redirected else None
    new = plan.uow.create(m.entity, row, losing=losing, mutation_id=m.mutation_id)
    status = "conflict" if redirected else "applied"
    return _result(m, status, new, record=bool(redirected))


def _audited(permission: Permission) -> How:
    """The audit a permission rule asks for (a lead's key-worker change), if any."""
    how: How = {}
    if permission.audit_action:
        how["audit_action"] = permission.audit_action
        how["audit_detail"] = permission.audit_detail or {}
    return how


def _winner(spec: EntitySpec, mine: dict[str, Any], theirs: dict[str, Any]) -> str:
    """Who wins fields both sides changed: the server, unless the entity's `later_wins`
    time is later on the phone's side (interventions: the later contact)."""
    if spec.later_wins:
        a, b = mine.get(spec.later_wins), theirs.get(spec.later_wins)
        if a and b and datetime.fromisoformat(a) > datetime.fromisoformat(b):
            return "device"
    return "server"


def _edit(plan: PushPlan, m: Mutation, row: Row) -> dict[str, Any]:
    spec = ENTITIES[m.entity]
    names = spec.field_names
    theirs_data = serialize(m.entity, row)
    theirs = {name: theirs_data.get(name) for name in names}
    base_version = m.base_version or 1
    stale = base_version != row["version"]
    base: dict[str, Any] | None = theirs
    if stale:
        key = (m.entity, m.id, base_version)
        base_data = plan.bases.get(key)
        if key in plan.uow.versions:  # a version made or replaced earlier in this batch
            base_data = serialize(m.entity, plan.uow.versions[key])
        base = {name: base_data.get(name) for name in names} if base_data else None
    mine = _full_values(spec, m, base if base is not None else theirs)
    losing_values: dict[str, Any] = {}
    winner = "device"
    if not stale:
        merged = dict(mine)
    else:
        winner = _winner(spec, mine, theirs)
        merged, losing_values = _merge(names, mine, theirs, base, winner)
    errors = spec.check(merged)
    if errors and stale:
        # A field-by-field merge can break a record rule: take the winner's record.
        merged = dict(theirs if winner == "server" else mine)
        loser = mine if winner == "server" else theirs
        losing_values = {n: loser[n] for n in names if mine[n] != theirs[n]}
        errors = spec.check(merged)
    permission = spec.permit(plan.pusher, theirs, merged)
    errors.update(permission.errors)
    ref_errors, redirected = _check_refs(plan, m.entity, merged, theirs)
    for name, messages in ref_errors.items():
        errors.setdefault(name, messages)
    if not errors:
        errors = _slice_checks(plan, m.entity, row, merged)
    if errors:
        return rejected(m.mutation_id, m.id, errors)
    losing: dict[str, Any] | None = None
    if losing_values:
        losing = {"from": "device" if winner == "server" else "server", "values": losing_values}
    if redirected:
        losing = losing or {"from": "device", "values": {}}
        losing["values"].update(redirected)
    reason = "conflict" if losing else "edit"
    how = _audited(permission)
    how["losing"] = losing
    how["mutation_id"] = m.mutation_id
    new = plan.uow.update(m.entity, {**row, **spec.columns(merged)}, reason=reason, **how)
    differs = any(merged[n] != mine[n] for n in names if n not in permission.kept)
    differs = differs or bool(redirected)
    status = "conflict" if differs else "applied"
    return _result(m, status, new, record=differs)


def _edit_deleted(plan: PushPlan, m: Mutation, row: Row) -> dict[str, Any]:
    """Delete wins: keep the tombstone, keep the edit as losing values, and send the
    devices a fresh remove."""
    spec = ENTITIES[m.entity]
    current = serialize(m.entity, row)
    mine = _full_values(spec, m, current)
    losing = {
        "from": "device",
        "values": {n: mine[n] for n in spec.field_names if mine[n] != current.get(n)},
    }
    new = plan.uow.update(
        m.entity, row, reason="conflict", losing=losing, op="remove", mutation_id=m.mutation_id
    )
    return _result(m, "conflict", new, record=True)


def _merge(
    names: tuple[str, ...],
    mine: dict[str, Any],
    theirs: dict[str, Any],
    base: dict[str, Any] | None,
    winner: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Three-way merge (two-way when the base is unknown). Returns (merged, losing)."""
    merged, losing = {}, {}
    for name in names:
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
