"""Write side of the caseload review: who is whose key worker.

Every function takes the acting user explicitly and works inside the caller's team only
(anything else is "not found", never "forbidden": `outreach.access.scope`). Every change
to a synced record goes through the unit of work (`outreach.records.unit`): the team's
sequence lock first, then the records locked, a new version, history, the change log
for the team's phones and an audit event, in the caller's one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, select

from outreach.access.guard import Actor
from outreach.access.scope import in_caseload, in_team, out_of_scope, team_member, team_of
from outreach.audit.service import record_event
from outreach.core.db import among
from outreach.core.extensions import db
from outreach.core.types import utcnow
from outreach.interventions.models import FollowUp
from outreach.interventions.service import open_follow_up
from outreach.people.models import Client
from outreach.records.unit import UnitOfWork, Writer

# A lead's key-worker change for a client another team shared with theirs (kept on the
# share, so no version of the client records it: the audit event is its history).
SHARED_ASSIGN_ACTION = "caseload.assign_shared"
ASSIGN_REASONS = (
    "rebalance",
    "worker_leaving",
    "worker_absent",
    "client_request",
    "location",
    "other",
)


def lead_work(actor: Actor, also: Iterable[int] = ()) -> UnitOfWork:
    """A unit of work for a team lead's action, holding the sequence locks of the team
    and of the other teams (`also`) whose records it will change (taken before any
    record is locked, as a push does: no lock-order deadlock)."""
    uow = UnitOfWork(Writer(actor.id, actor.device_id, utcnow(), "caseload"))
    uow.lock({team_of(actor), *also})
    return uow


def team_client(actor: Actor, client_id: uuid.UUID, *, shared: bool = False) -> Client:
    """A live client of the caller's team (`shared`: or in its caseload, another team's
    client it took on), else 404."""
    if shared:
        stmt = select(Client).where(in_caseload(Client.id, Client.team_id, team_of(actor)))
    else:
        stmt = in_team(select(Client), Client, actor)
    client = db.session.scalar(stmt.where(Client.id == client_id, Client.deleted_at.is_(None)))
    if client is None:
        raise out_of_scope("client")
    return client


def assign_clients(
    actor: Actor, client_ids: list[uuid.UUID], worker_id: int, reason: str
) -> dict[str, Any]:
    """Make `worker_id` the key worker of the clients (all in the caller's team's
    caseload, or nothing changes). Open follow-ups of the team assigned to a client's old
    key worker move too. A client another team shared with this one (a referral it took
    on) gets the key worker on the team's share of it: the owning team's stays."""
    team_id = team_of(actor)
    ids = list(dict.fromkeys(client_ids))
    worker = team_member(actor, worker_id)
    uow = lead_work(actor)
    c = Client.__table__.c
    clients = uow.load_where(
        "client",
        and_(among(c.id, ids), in_caseload(c.id, c.team_id, team_id), c.deleted_at.is_(None)),
        lock=True,
    )
    if len(clients) != len(ids):
        found = {client["id"] for client in clients}
        missing = [str(i) for i in ids if i not in found]
        raise out_of_scope("client", errors={"client_ids": [f"Not found: {', '.join(missing)}"]})
    shared = {c["id"] for c in clients if c["team_id"] != team_id}
    held = {i: uow.holders("client", i).get(team_id) for i in shared}
    gone = [str(i) for i in ids if i in shared and held[i] is None]
    if gone:  # its share ended between the two reads: no longer in the caseload
        raise out_of_scope("client", errors={"client_ids": [f"Not found: {', '.join(gone)}"]})
    current = {
        c["id"]: (held[c["id"]] or {}).get("key_worker_id")
        if c["id"] in shared
        else c["key_worker_id"]
        for c in clients
    }
    previous = {i: w for i, w in current.items() if w != worker.id}
    follow_ups = []
    if previous:
        f = FollowUp.__table__.c
        mine = and_(among(f.client_id, previous), f.team_id == team_id, open_follow_up(f))
        follow_ups = [
            fu
            for fu in uow.load_where("follow_up", mine, lock=True)
            if fu["assigned_to_id"] is not None
            and fu["assigned_to_id"] == previous[fu["client_id"]]
        ]
    uow.reserve(len(set(previous) - shared) + len(follow_ups))
    moved: dict[uuid.UUID, int] = {}
    for fu in follow_ups:
        moved[fu["client_id"]] = moved.get(fu["client_id"], 0) + 1
    for client in clients:
        if client["id"] not in previous:
            continue
        detail = {
            "from": previous[client["id"]],
            "to": worker.id,
            "reason": reason,
            "follow_ups": moved.get(client["id"], 0),
        }
        if client["id"] in shared:
            uow.set_share_worker("client", client["id"], team_id, worker.id)
            record_event(
                SHARED_ASSIGN_ACTION,
                actor_id=actor.id,
                device_id=actor.device_id,
                entity="client",
                record_id=client["id"],
                detail={**detail, "team_id": team_id},
            )
            continue
        uow.update(
            "client",
            {**client, "key_worker_id": worker.id},
            reason="reassign",
            audit_action="caseload.assign",
            audit_detail=detail,
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
            {
                "id": r["id"],
                "key_worker_id": worker.id if r["id"] in shared else r["key_worker_id"],
                "version": r["version"],
            }
            for r in rows
        ],
    }
