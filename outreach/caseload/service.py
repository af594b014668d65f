"""Write side of the caseload review: who is whose key worker.

Every function takes the acting user explicitly and works inside the caller's team only
(anything else is "not found", never "forbidden": `outreach.access.scope`). Every change
to a synced record goes through the unit of work (`outreach.records.unit`): the team's
sequence lock first, then the records locked, a new version, history, the change log
for the team's phones and an audit event, in the caller's one transaction.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, select

from outreach.access.guard import Actor
from outreach.access.scope import in_team, out_of_scope, team_member, team_of
from outreach.core.db import among
from outreach.core.extensions import db
from outreach.core.types import utcnow
from outreach.interventions.models import FollowUp
from outreach.interventions.service import open_follow_up
from outreach.people.models import Client
from outreach.records.unit import UnitOfWork, Writer

ASSIGN_REASONS = (
    "rebalance",
    "worker_leaving",
    "worker_absent",
    "client_request",
    "location",
    "other",
)


def lead_work(actor: Actor) -> UnitOfWork:
    """A unit of work for a team lead's action, holding the team's sequence lock (taken
    before any record is locked, as a push does: no lock-order deadlock)."""
    uow = UnitOfWork(Writer(actor.id, actor.device_id, utcnow(), "caseload"))
    uow.lock([team_of(actor)])
    return uow


def team_client(actor: Actor, client_id: uuid.UUID) -> Client:
    """A live client of the caller's team, else 404."""
    stmt = in_team(select(Client), Client, actor).where(
        Client.id == client_id, Client.deleted_at.is_(None)
    )
    client = db.session.scalar(stmt)
    if client is None:
        raise out_of_scope("client")
    return client


def assign_clients(
    actor: Actor, client_ids: list[uuid.UUID], worker_id: int, reason: str
) -> dict[str, Any]:
    """Make `worker_id` the key worker of the clients (all of the caller's team, or
    nothing changes). Open follow-ups assigned to a client's old key worker move too."""
    team_id = team_of(actor)
    ids = list(dict.fromkeys(client_ids))
    worker = team_member(actor, worker_id)
    uow = lead_work(actor)
    c = Client.__table__.c
    clients = uow.load_where(
        "client", and_(among(c.id, ids), c.team_id == team_id, c.deleted_at.is_(None)), lock=True
    )
    if len(clients) != len(ids):
        found = {client["id"] for client in clients}
        missing = [str(i) for i in ids if i not in found]
        raise out_of_scope("client", errors={"client_ids": [f"Not found: {', '.join(missing)}"]})
    previous = {c["id"]: c["key_worker_id"] for c in clients if c["key_worker_id"] != worker.id}
    follow_ups = []
    if previous:
        f = FollowUp.__table__.c
        follow_ups = [
            fu
            for fu in uow.load_where(
                "follow_up", and_(among(f.client_id, previous), open_follow_up(f)), lock=True
            )
            if fu["assigned_to_id"] is not None
            and fu["assigned_to_id"] == previous[fu["client_id"]]
        ]
    uow.reserve(len(previous) + len(follow_ups))
    moved: dict[uuid.UUID, int] = {}
    for fu in follow_ups:
        moved[fu["client_id"]] = moved.get(fu["client_id"], 0) + 1
    for client in clients:
        if client["id"] not in previous:
            continue
        uow.update(
            "client",
            {**client, "key_worker_id": worker.id},
            reason="reassign",
            audit_action="caseload.assign",
            audit_detail={
                "from": previous[client["id"]],
                "to": worker.id,
                "reason": reason,
                "follow_ups": moved.get(client["id"], 0),
            },
        )
    for fu in follow_ups:
        uow.update("follow_up", {**fu, "assigned_to_id": worker.id}, reason="reassign")
    uow.flush()
    db.session.commit()
    rows = [uow.get("client", client["id"]) or client for client in clients]
    return {
        "worker_id": worker.id,
        "assigned": [r["id"] for r in rows if r["id"] in previous],
        "unchanged": [r["id"] for r in rows if r["id"] not in previous],
        "follow_ups_moved": len(follow_ups),
        "clients": [
            {"id": r["id"], "key_worker_id": r["key_worker_id"], "version": r["version"]}
            for r in rows
        ],
    }
