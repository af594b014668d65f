"""Steps 2-4 of a push: mutations applied in order to an in-memory copy of the rows
they touch (stale edits merged against their base version, references checked,
follow-ups made). See `outreach.sync.push` for the rules."""

from __future__ import annotations

import uuid
from datetime import datetime

from outreach.sync.mutations import Mutation, PushContext, rejected
from outreach.sync.plan import Plan, PlanLoader, SeqPool
from outreach.sync.records import ENTITIES, column_names, serialize
from outreach.sync.stamping import Stamper

NOT_FOUND = "No record with this id in your team."
NO_CLIENT = "No client with this id in your team."
NO_INTERVENTION = "No intervention with this id in your team."
NO_MEMBER = "No member of your team has this id."


class Planner(PlanLoader, Stamper):
    """Applies mutations in order to an in-memory copy of the rows they touch."""

    def __init__(self, ctx: PushContext, pool: SeqPool):
        self.ctx = ctx
        self.pool = pool

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
            key = (m.entity, m.id, base_version)
            base_data = self.versions.get(key)
            if key in self.batch_versions:
                base_data = serialize(m.entity, self.batch_versions[key])
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
