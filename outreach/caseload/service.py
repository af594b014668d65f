"""Write side of the caseload review: reassign, merge, dismiss duplicates, follow-ups.

Every function takes the acting user explicitly and works inside the caller's team only
(anything else is "not found", never "forbidden"). Every change to a synced record gets a
new server_seq (allocated just before the writes, under the counter's lock), a version
bump, a change-log row for each team whose phones hold it, and a history row, all in the
caller's one transaction; each action is audited with ids only.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import or_, select

from outreach.access.guard import Actor
from outreach.access.models import TEAM_ROLES, User
from outreach.audit.service import record_event, record_events
from outreach.caseload.records import serialize
from outreach.core.errors import ApiError
from outreach.core.extensions import db
from outreach.core.types import utcnow
from outreach.interventions.models import FollowUp, Intervention
from outreach.people.models import Client, ClientDuplicate
from outreach.sync.changes import (
    allocate_seqs,
    first_version_history,
    first_versions_recorded,
    lock_teams,
    log_changes,
    write_history,
)

ASSIGN_REASONS = (
    "rebalance",
    "worker_leaving",
    "worker_absent",
    "client_request",
    "location",
    "other",
)
MAX_ID = 2_147_483_647
FILLED_FROM_MERGED = ("known_as", "postcode_district", "key_worker_id")


def team_of(actor: Actor) -> int:
    """The caller's team; callers without one have nothing in scope."""
    if actor.team_id is None:
        raise ApiError(403, "Your role may not use this.")
    return actor.team_id


def team_client(actor: Actor, client_id: uuid.UUID, *, lock: bool = False) -> Client:
    """A live client of the caller's team, else 404."""
    stmt = select(Client).where(
        Client.id == client_id, Client.team_id == team_of(actor), Client.deleted_at.is_(None)
    )
    client = db.session.scalar(stmt.with_for_update() if lock else stmt)
    if client is None:
        raise ApiError(404, "No such client in your team.")
    return client


def team_worker(actor: Actor, worker_id: int) -> User:
    """An active worker or lead of the caller's team (404 if not of the team)."""
    user = db.session.get(User, worker_id)
    if user is None or user.team_id != team_of(actor) or user.role not in TEAM_ROLES:
        raise ApiError(404, "No such worker in your team.")
    if not user.active:
        raise ApiError(
            422,
            "The request has invalid fields.",
            errors={"worker_id": ["That worker's account is not active."]},
        )
    return user


def publish(actor: Actor, items: list[tuple[str, object, str]], reason: str) -> None:
    """Stamp changed rows (entity, ORM row, op) with new seqs and versions, log one change
    per row for the row's team, and write each new version to the history."""
    if not items:
        return
    now = utcnow()
    seqs = allocate_seqs(len(items), {row.team_id for _e, row, _op in items})
    changes, history = [], []
    for seq, (entity, row, op) in zip(seqs, items, strict=True):
        row.server_seq = seq
        row.version = row.version + 1
        row.updated_at = now
        changes.append((row.server_seq, row.team_id, entity, row.id, op))
        history.append(
            {
                "entity": entity,
                "record_id": row.id,
                "version": row.version,
                "reason": reason,
                "data": serialize(entity, row),
                "actor_id": actor.id,
                "device_id": actor.device_id,
                "recorded_at": now,
            }
        )
    db.session.flush()
    log_changes(changes)
    write_history(history)


def assign_clients(actor: Actor, client_ids: list[uuid.UUID], worker_id: int, reason: str) -> dict:
    """Make `worker_id` the key worker of the clients (all of the caller's team, or
    nothing changes). Open follow-ups assigned to a client's old key worker move too."""
    team_id = team_of(actor)
    ids = list(dict.fromkeys(client_ids))
    worker = team_worker(actor, worker_id)
    lock_teams([team_id])  # before the client rows, as a push does
    clients = db.session.scalars(
        select(Client)
        .where(Client.id.in_(ids), Client.team_id == team_id, Client.deleted_at.is_(None))
        .order_by(Client.id)
        .with_for_update()
    ).all()
    if len(clients) != len(ids):
        found = {c.id for c in clients}
        missing = [str(i) for i in ids if i not in found]
        raise ApiError(
            404,
            "No such client in your team.",
            errors={"client_ids": [f"Not found: {', '.join(missing)}"]},
        )
    changed = [c for c in clients if c.key_worker_id != worker.id]
    previous = {c.id: c.key_worker_id for c in changed}
    follow_ups = []
    if changed:
        follow_ups = [
            fu
            for fu in db.session.scalars(
                select(FollowUp)
                .where(
                    FollowUp.client_id.in_(list(previous)),
                    FollowUp.done_at.is_(None),
                    FollowUp.deleted_at.is_(None),
                )
                .order_by(FollowUp.id)
                .with_for_update()
            )
            if fu.assigned_to_id is not None and fu.assigned_to_id == previous[fu.client_id]
        ]
    for client in changed:
        client.key_worker_id = worker.id
    for fu in follow_ups:
        fu.assigned_to_id = worker.id
    publish(
        actor,
        [("client", c, "upsert") for c in changed]
        + [("follow_up", fu, "upsert") for fu in follow_ups],
        "reassign",
    )
    moved = {}
    for fu in follow_ups:
        moved[fu.client_id] = moved.get(fu.client_id, 0) + 1
    record_events(
        [
            {
                "action": "caseload.assign",
                "actor_id": actor.id,
                "device_id": actor.device_id,
                "entity": "client",
                "record_id": c.id,
                "detail": {
                    "from": previous[c.id],
                    "to": worker.id,
                    "reason": reason,
                    "version": c.version,
                    "follow_ups": moved.get(c.id, 0),
                },
            }
            for c in changed
        ]
    )
    db.session.commit()
    return {
        "worker_id": worker.id,
        "assigned": [c.id for c in changed],
        "unchanged": [c.id for c in clients if c.id not in previous],
        "follow_ups_moved": len(follow_ups),
        "clients": [
            {"id": c.id, "key_worker_id": c.key_worker_id, "version": c.version} for c in clients
        ],
    }


def merge_clients(actor: Actor, survivor_id: uuid.UUID, other_id: uuid.UUID) -> dict:
    """Merge `other_id` into `survivor_id`: its interventions and follow-ups move, it
    becomes a tombstone pointing at the survivor, duplicate links are resolved.
    Repeating a merge that is already done answers the same result (nothing changes)."""
    team_id = team_of(actor)
    if survivor_id == other_id:
        team_client(actor, survivor_id)  # 404 outside the team, before any detail
        raise ApiError(
            422,
            "The request has invalid fields.",
            errors={"other_client_id": ["A client cannot be merged into itself."]},
        )
    lock_teams([team_id])  # before the client rows, as a push does
    rows = {
        c.id: c
        for c in db.session.scalars(
            select(Client)
            .where(Client.id.in_([survivor_id, other_id]), Client.team_id == team_id)
            .order_by(Client.id)
            .with_for_update()
        )
    }
    survivor, other = rows.get(survivor_id), rows.get(other_id)
    if survivor is None or other is None:
        raise ApiError(404, "No such client in your team.")
    merged = other.deleted_at is not None and other.merged_into_id == survivor.id
    if merged and survivor.deleted_at is None:
        return _merge_result(survivor, other, already=True)
    if survivor.deleted_at is not None:
        if survivor.merged_into_id == other.id:
            raise ApiError(409, "This client was already merged into the other record.")
        raise ApiError(404, "No such client in your team.")
    if other.deleted_at is not None:
        raise ApiError(409, "The other record has been deleted or merged into another client.")
    now = utcnow()
    interventions = db.session.scalars(
        select(Intervention)
        .where(Intervention.client_id == other.id)
        .order_by(Intervention.occurred_at, Intervention.id)
        .with_for_update()
    ).all()
    follow_ups = db.session.scalars(
        select(FollowUp)
        .where(FollowUp.client_id == other.id)
        .order_by(FollowUp.due_on, FollowUp.id)
        .with_for_update()
    ).all()
    # Version 1 of a moved intervention may be only in its row (creation writes none).
    first = [iv for iv in interventions if iv.version == 1]
    recorded = first_versions_recorded("intervention", [iv.id for iv in first])
    write_history(
        [first_version_history("intervention", iv) for iv in first if iv.id not in recorded]
    )
    for iv in interventions:
        iv.client_id = survivor.id
    for fu in follow_ups:
        fu.client_id = survivor.id
    for name in FILLED_FROM_MERGED:
        if getattr(survivor, name) is None and getattr(other, name) is not None:
            setattr(survivor, name, getattr(other, name))
    other.deleted_at = now
    other.merged_into_id = survivor.id
    resolved = _resolve_duplicates(survivor.id, other.id, now)
    publish(
        actor,
        [("client", survivor, "upsert")]
        + [("intervention", iv, "upsert") for iv in interventions]
        + [("follow_up", fu, "upsert") for fu in follow_ups]
        + [("client", other, "remove")],
        "merge",
    )
    record_event(
        "caseload.merge",
        actor_id=actor.id,
        device_id=actor.device_id,
        entity="client",
        record_id=survivor.id,
        detail={
            "merged_client_id": str(other.id),
            "version": survivor.version,
            "interventions": len(interventions),
            "follow_ups": len(follow_ups),
            "duplicates_resolved": resolved,
        },
    )
    db.session.commit()
    return _merge_result(
        survivor,
        other,
        already=False,
        interventions=len(interventions),
        follow_ups=len(follow_ups),
        resolved=resolved,
    )


def _merge_result(survivor, other, *, already, interventions=0, follow_ups=0, resolved=()):
    return {
        "client_id": survivor.id,
        "merged_client_id": other.id,
        "already_merged": already,
        "interventions_moved": interventions,
        "follow_ups_moved": follow_ups,
        "duplicates_resolved": list(resolved),
        "version": survivor.version,
        "server_seq": survivor.server_seq,
    }


def _resolve_duplicates(survivor_id: uuid.UUID, other_id: uuid.UUID, now: datetime) -> list:
    """Links between the pair become 'merged'; the tombstone's links to third clients
    move to the survivor (or are resolved when the survivor already has that link)."""
    links = db.session.scalars(
        select(ClientDuplicate)
        .where(
            or_(
                ClientDuplicate.client_id.in_([survivor_id, other_id]),
                ClientDuplicate.other_client_id.in_([survivor_id, other_id]),
            )
        )
        .order_by(ClientDuplicate.id)
    ).all()
    survivor_thirds = {
        (link.other_client_id if link.client_id == survivor_id else link.client_id)
        for link in links
        if survivor_id in (link.client_id, link.other_client_id)
    }
    resolved = []
    for link in links:
        pair = {link.client_id, link.other_client_id}
        if other_id not in pair or link.resolved_at is not None:
            continue
        third = next(iter(pair - {other_id}))
        if third == survivor_id or third in survivor_thirds:
            link.resolved_at = now
            link.resolution = "merged"
            resolved.append(link.id)
        else:
            if link.client_id == other_id:
                link.client_id = survivor_id
            else:
                link.other_client_id = survivor_id
            survivor_thirds.add(third)
    return resolved


def dismiss_duplicate(actor: Actor, duplicate_id: int) -> ClientDuplicate:
    """Mark a probable-duplicate link as 'not the same person' (repeatable)."""
    if not 0 < duplicate_id <= MAX_ID:  # the URL's integer may be beyond any column
        raise ApiError(404, "No such duplicate link in your team.")
    dup = db.session.scalar(
        select(ClientDuplicate)
        .where(ClientDuplicate.id == duplicate_id, ClientDuplicate.team_id == team_of(actor))
        .with_for_update()
    )
    if dup is None:
        raise ApiError(404, "No such duplicate link in your team.")
    if dup.resolution == "not_duplicate":
        return dup
    if dup.resolved_at is not None:
        raise ApiError(409, "These records have already been merged.")
    dup.resolved_at = utcnow()
    dup.resolution = "not_duplicate"
    record_event(
        "caseload.duplicate_dismiss",
        actor_id=actor.id,
        device_id=actor.device_id,
        entity="client_duplicate",
        record_id=dup.id,
        detail={"client_id": str(dup.client_id), "other_client_id": str(dup.other_client_id)},
    )
    db.session.commit()
    return dup
