"""Probable duplicates: a team lead merges two clients of the team into one, or says
they are two people. Merging goes through the unit of work (`outreach.records.unit`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select

from outreach.access.guard import Actor
from outreach.access.scope import MAX_ID, out_of_scope, team_of
from outreach.audit.service import record_event
from outreach.caseload.service import lead_work, team_client
from outreach.core.db import among
from outreach.core.errors import ApiError
from outreach.core.extensions import db
from outreach.core.types import utcnow
from outreach.interventions.models import FollowUp, Intervention
from outreach.pathways import merge as pathway_merge
from outreach.people.models import Client, ClientDuplicate
from outreach.records.shares import shared_with

FILLED_FROM_MERGED = ("known_as", "postcode_district", "key_worker_id")


def merge_clients(actor: Actor, survivor_id: uuid.UUID, other_id: uuid.UUID) -> dict[str, Any]:
    """Merge `other_id` into `survivor_id`: its interventions, follow-ups, referrals and
    episodes (every team's) move, it becomes a tombstone pointing at the survivor,
    duplicate links are resolved, partner teams that held it hold the survivor
    (`outreach.pathways.merge`). Repeating a merge that is already done answers the
    same result (nothing changes)."""
    team_id = team_of(actor)
    if survivor_id == other_id:
        team_client(actor, survivor_id)  # 404 outside the team, before any detail
        raise ApiError(
            422,
            "The request has invalid fields.",
            errors={"other_client_id": ["A client cannot be merged into itself."]},
        )
    pair = [survivor_id, other_id]
    uow = lead_work(actor, also=pathway_merge.teams_involved(pair))
    c = Client.__table__.c
    uow.load_where("client", and_(among(c.id, pair), c.team_id == team_id), lock=True)
    survivor, other = uow.get("client", survivor_id), uow.get("client", other_id)
    if survivor is None or other is None:
        if shared_with("client", pair, team_id):  # in its scope, but not its to merge
            raise ApiError(409, pathway_merge.SHARED_ELSEWHERE)
        raise out_of_scope("client")
    merged = other["deleted_at"] is not None and other["merged_into_id"] == survivor["id"]
    if merged and survivor["deleted_at"] is None:
        return _merge_result(survivor, other, already=True)
    if survivor["deleted_at"] is not None:
        if survivor["merged_into_id"] == other["id"]:
            raise ApiError(409, "This client was already merged into the other record.")
        raise out_of_scope("client")
    if other["deleted_at"] is not None:
        raise ApiError(409, "The other record has been deleted or merged into another client.")
    filled = {
        name: other[name]
        for name in FILLED_FROM_MERGED
        if survivor[name] is None and other[name] is not None
    }
    filled.update(pathway_merge.later_consent(survivor, other))
    consent = filled.get("consent_to_share", survivor["consent_to_share"])
    pathway_merge.check_followable(uow, survivor, other, consent)
    interventions = uow.load_where(
        "intervention", Intervention.__table__.c.client_id == other_id, lock=True
    )
    follow_ups = uow.load_where("follow_up", FollowUp.__table__.c.client_id == other_id, lock=True)
    referrals, episodes = pathway_merge.load(uow, other_id)
    moving = len(interventions) + len(follow_ups) + len(referrals) + len(episodes)
    uow.reserve(2 + moving)
    now = uow.writer.now
    resolved = _resolve_duplicates(survivor_id, other_id, now)
    before = survivor
    # The merge moves every record of the merged client itself: no slice rules.
    survivor = uow.update(
        "client",
        {**survivor, **filled},
        reason="merge",
        audit_action="caseload.merge",
        audit_detail={
            "merged_client_id": str(other_id),
            "interventions": len(interventions),
            "follow_ups": len(follow_ups),
            "referrals": len(referrals),
            "episodes": len(episodes),
            "duplicates_resolved": resolved,
        },
        rules=False,
    )
    for row in interventions:
        uow.update("intervention", {**row, "client_id": survivor_id}, reason="merge", rules=False)
    for row in follow_ups:
        uow.update("follow_up", {**row, "client_id": survivor_id}, reason="merge", rules=False)
    other = uow.update(
        "client",
        {**other, "deleted_at": now, "merged_into_id": survivor_id},
        reason="merge",
        op="remove",
        rules=False,
    )
    followed = pathway_merge.follow(uow, survivor, before, other, referrals, episodes)
    uow.flush()
    db.session.commit()
    return {
        **_merge_result(
            survivor,
            other,
            already=False,
            interventions=len(interventions),
            follow_ups=len(follow_ups),
            resolved=resolved,
        ),
        "referrals_moved": followed["referrals"],
        "episodes_moved": followed["episodes"],
        "partner_teams": followed["partner_teams"],
    }


def _merge_result(
    survivor: dict[str, Any],
    other: dict[str, Any],
    *,
    already: bool,
    interventions: int = 0,
    follow_ups: int = 0,
    resolved: list[int] | tuple[int, ...] = (),
) -> dict[str, Any]:
    return {
        "client_id": survivor["id"],
        "merged_client_id": other["id"],
        "already_merged": already,
        "interventions_moved": interventions,
        "follow_ups_moved": follow_ups,
        "duplicates_resolved": list(resolved),
        "referrals_moved": 0,
        "episodes_moved": 0,
        "partner_teams": 0,
        "version": survivor["version"],
        "server_seq": survivor["server_seq"],
    }


def _resolve_duplicates(survivor_id: uuid.UUID, other_id: uuid.UUID, now: datetime) -> list[int]:
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
        raise out_of_scope("duplicate link")
    dup = db.session.scalar(
        select(ClientDuplicate)
        .where(ClientDuplicate.id == duplicate_id, ClientDuplicate.team_id == team_of(actor))
        .with_for_update()
    )
    if dup is None:
        raise out_of_scope("duplicate link")
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
