"""New versions of records in a push's plan: history, change log and audit rows for
each, and the follow-ups that go with interventions (made, moved, deleted, replaced)."""

from __future__ import annotations

from outreach.interventions.rules import DEFAULT_FOLLOW_UP_REASON, follow_up_id_for
from outreach.people.service import compute_match_key
from outreach.sync.changes import first_version_history, records_creation
from outreach.sync.mutations import Mutation
from outreach.sync.records import ENTITIES, column_names, serialize


class Stamper:
    """Writes new versions into `self.p` (mixed into the Planner)."""

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
        previous = self.p.rows[entity].get(record_id)
        if previous is not None:
            # An edit later in this batch may be based on the version replaced here.
            self.batch_versions.setdefault((entity, record_id, previous["version"]), previous)
            first = first_version_history(entity, previous)
            if first is not None and record_id not in self.first_recorded:
                self.p.history.append(first)
                self.first_recorded.add(record_id)
        self.p.rows[entity][record_id] = new
        if record_id not in self.p.new[entity]:
            self.p.dirty[entity].add(record_id)
        if entity == "follow_up":
            if new["intervention_id"] is not None:
                self.by_intervention.setdefault(new["intervention_id"], set()).add(record_id)
            self.by_client.setdefault(new["client_id"], set()).add(record_id)
        # Serialised only when history needs it: a new intervention's data is not
        # (a stale edit later in the batch serialises the row it is based on).
        self.batch_versions[(entity, record_id, new["version"])] = new
        if new["version"] > 1 or losing is not None or records_creation(entity):
            if new["version"] == 1:
                self.first_recorded.add(record_id)
            data = serialize(entity, new)
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
