"""A push's plan (what a batch will write, worked out in memory) and the reads it
starts from: the ledger, and every row the batch touches, one query per table."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field

from sqlalchemy import and_, or_, select, tuple_

from outreach.access.models import TEAM_ROLES, User
from outreach.core.db import among, in_batch, on_postgres
from outreach.core.extensions import db
from outreach.interventions.rules import follow_up_id_for
from outreach.sync.changes import allocate_seqs, first_versions_recorded
from outreach.sync.models import RecordVersion, SyncMutation
from outreach.sync.mutations import Mutation
from outreach.sync.records import ENTITIES, MODELS, load_rows

LEDGER_CHUNK = 500
FollowUpT = MODELS["follow_up"].__table__


class SeqPool:
    """Sequence numbers for this push, for one team. The first call takes the team's
    sequence lock (`allocate_seqs`) until commit."""

    def __init__(self, team_id: int) -> None:
        self.team_id = team_id
        self.free: list[int] = []

    def reserve(self, count: int) -> None:
        new = allocate_seqs(max(count, 1), [self.team_id])
        self.free = sorted(self.free + new, reverse=True)  # pop() gives the lowest

    def take(self) -> int:
        if not self.free:
            self.reserve(64)
        return self.free.pop()


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


class PlanLoader:
    """Reads what a batch touches (mixed into the Planner)."""

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
            linked.append(among(FollowUpT.c.intervention_id, follow_up_sources))
        if deleted_clients:
            linked.append(
                and_(
                    among(FollowUpT.c.client_id, deleted_clients),
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
        self.versions = self._load_bases(mutations, plan)
        self.batch_versions: dict[tuple, dict] = {}  # versions made by this batch: rows
        # Records at version 1 whose version 1 is already in history (no pre-image).
        self.first_recorded = first_versions_recorded(
            "intervention",
            [
                m.id
                for m in mutations
                if m.entity == "intervention"
                and (row := plan.rows["intervention"].get(m.id)) is not None
                and row["version"] == 1
            ],
        )
        self.by_intervention: dict[uuid.UUID, set] = {}
        self.by_client: dict[uuid.UUID, set] = {}
        for fid, row in follow_ups.items():
            if row["intervention_id"] is not None:
                self.by_intervention.setdefault(row["intervention_id"], set()).add(fid)
            self.by_client.setdefault(row["client_id"], set()).add(fid)
        return plan

    @functools.cached_property
    def members(self) -> set[int]:
        """Active workers and leads of the team: read only when a mutation names one
        (a key worker, a follow-up's assignee); most pushes do not."""
        return set(
            db.session.scalars(
                select(User.id).where(
                    User.team_id == self.ctx.team_id,
                    User.active.is_(True),
                    User.role.in_(TEAM_ROLES),
                )
            )
        )

    def _load_bases(self, mutations: list[Mutation], plan: Plan) -> dict[tuple, dict]:
        """Data of every version a stale edit is based on: one query on record history
        (versions made by this batch are in `batch_versions`)."""
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


@functools.cache
def _ledger_query(postgres: bool):
    ledger = SyncMutation.__table__.c
    return select(ledger.mutation_id, ledger.user_id, ledger.result).where(
        in_batch(ledger.mutation_id, postgres)
    )


def load_ledger(mutation_ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[int, dict]]:
    """(user_id, stored result) of already-applied mutations: one query per 500."""
    out: dict = {}
    statement = _ledger_query(on_postgres())
    connection = db.session.connection()
    for start in range(0, len(mutation_ids), LEDGER_CHUNK):
        chunk = mutation_ids[start : start + LEDGER_CHUNK]
        for mid, user_id, result in connection.execute(statement, {"ids": chunk}):
            out[mid] = (user_id, result)
    return out
