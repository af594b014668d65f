"""A merge of two clients (the caseload's, by the client's own team) and the pathways:
the merged-away client's referrals and diversion episodes, of every team, follow it to
the survivor, and every partner team that held it (`record_share`) holds the survivor
instead, with its key worker, so its phones get the change through sync and keep one
client, its pathway intact (DESIGN §5b).

Consent follows the person: the survivor keeps the later of the two records' consent
statements. A partner team holds the survivor only where sharing may go on: consent
given and its share of the merged-away client not frozen, or it held the survivor
already. Otherwise the merge is refused, with the way round that works (into the
record the partner team holds), because the partner team would be left with a client
pointing nowhere or be sent a record the person did not agree to share.

Only the client's own team merges: a team holding another team's client (a referral
it took on) cannot merge it (only that team changes the client, and records are
linked across teams, never merged: `outreach.pathways.duplicates`).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import or_, select

from outreach.access.scope import partnership_between
from outreach.core.db import among
from outreach.core.errors import ApiError
from outreach.core.extensions import db
from outreach.interventions.models import FollowUp, Intervention
from outreach.pathways.models import ClientLink, Episode, Referral
from outreach.pathways.rules import EPISODE, REFERRAL
from outreach.pathways.service import consent_withdrawn
from outreach.records.models import RecordShare
from outreach.records.unit import Row, UnitOfWork

SHARED_ELSEWHERE = (
    "This client is shared with your team by another team: only that team can merge it. "
    "To say two records are one person, link them (Pathways, Duplicates)."
)
CANNOT_FOLLOW = (
    "A partner team holds the other record, and the person's consent to share does not "
    "cover this one (not given, or withdrawn): merge the other way round, into the "
    "record the partner team holds."
)
CONSENT = ("consent_to_share", "consent_recorded_at", "consent_recorded_by_id")


def teams_involved(client_ids: list[uuid.UUID]) -> set[int]:
    """Teams whose records a merge of these clients may change (read before any lock,
    so the merge takes every team's sequence lock first, in the one lock order)."""
    teams: set[int] = set()
    for model in (Intervention, FollowUp, Episode):
        teams |= set(
            db.session.scalars(
                select(model.team_id).where(among(model.client_id, client_ids)).distinct()
            )
        )
    for row in db.session.execute(
        select(Referral.team_id, Referral.to_team_id).where(among(Referral.client_id, client_ids))
    ):
        teams |= {row.team_id, row.to_team_id}
    share = RecordShare.__table__.c
    teams |= set(
        db.session.scalars(
            select(share.team_id).where(
                share.entity == "client",
                among(share.record_id, client_ids),
                share.ended_at.is_(None),
            )
        )
    )
    return teams


def later_consent(survivor: Row, other: Row) -> dict[str, Any]:
    """The consent fields the survivor takes: the merged client's when it was recorded
    later (or the survivor has none; at the same time, a refusal wins)."""
    theirs, mine = other["consent_recorded_at"], survivor["consent_recorded_at"]
    if other["consent_to_share"] is None:
        return {}
    tie_refused = theirs == mine and other["consent_to_share"] is False
    if mine is None or (theirs is not None and (theirs > mine or tie_refused)):
        return {name: other[name] for name in CONSENT}
    return {}


def check_followable(uow: UnitOfWork, survivor: Row, other: Row, consent: bool | None) -> None:
    """409 when a partner team holding the merged-away client cannot hold the survivor."""
    holding_survivor = uow.holders("client", survivor["id"])
    today = uow.writer.now.date()
    for team_id, share in uow.holders("client", other["id"]).items():
        if team_id in holding_survivor:
            continue
        if (
            share["frozen_at"] is not None
            or consent is not True
            or partnership_between(survivor["team_id"], team_id, today) is None
        ):
            raise ApiError(409, CANNOT_FOLLOW, errors={"other_client_id": [CANNOT_FOLLOW]})


def load(uow: UnitOfWork, other_id: uuid.UUID) -> tuple[list[Row], list[Row]]:
    """The merged-away client's referrals and episodes (every team's), locked."""
    referrals = uow.load_where(REFERRAL.name, Referral.__table__.c.client_id == other_id, lock=True)
    episodes = uow.load_where(EPISODE.name, Episode.__table__.c.client_id == other_id, lock=True)
    return referrals, episodes


def follow(
    uow: UnitOfWork,
    survivor: Row,
    survivor_before: Row,
    other: Row,
    referrals: list[Row],
    episodes: list[Row],
) -> dict[str, int]:
    """Move the referrals and episodes, then the partner teams' holding of the client,
    then the cross-team links (after the survivor's and the tombstone's versions)."""
    survivor_id, other_id = survivor["id"], other["id"]
    for row in referrals:
        uow.update(REFERRAL.name, {**row, "client_id": survivor_id}, reason="merge", rules=False)
    for row in episodes:
        uow.update(EPISODE.name, {**row, "client_id": survivor_id}, reason="merge", rules=False)
    holding_survivor = uow.holders("client", survivor_id)
    moved = 0
    for team_id, share in list(uow.holders("client", other_id).items()):
        if team_id in holding_survivor:
            if share["frozen_at"] is not None:  # the tombstone did not reach its phones
                uow.unshare("client", other_id, team_id)
            if holding_survivor[team_id].get("key_worker_id") is None:
                uow.set_share_worker("client", survivor_id, team_id, share.get("key_worker_id"))
            continue
        # Kept (not ended): the team's offline phones may still name the merged client,
        # and a reference to it leads to the survivor only for a team that holds it.
        uow.share("client", survivor_id, team_id)
        uow.set_share_worker("client", survivor_id, team_id, share.get("key_worker_id"))
        moved += 1
    consent_withdrawn(uow, survivor, survivor_before)
    return {
        "referrals": len(referrals),
        "episodes": len(episodes),
        "partner_teams": moved,
        "links": _move_links(survivor_id, other_id),
    }


def _move_links(survivor_id: uuid.UUID, other_id: uuid.UUID) -> int:
    """Cross-team links of the merged-away client become the survivor's (a link the
    survivor already has with that client stays as it is)."""
    links = db.session.scalars(
        select(ClientLink).where(
            or_(
                ClientLink.client_id.in_([survivor_id, other_id]),
                ClientLink.other_client_id.in_([survivor_id, other_id]),
            )
        )
    ).all()

    def third(link: ClientLink, of: uuid.UUID) -> uuid.UUID:
        return link.other_client_id if link.client_id == of else link.client_id

    has = {
        third(link, survivor_id)
        for link in links
        if survivor_id in (link.client_id, link.other_client_id)
    }
    moved = 0
    for link in links:
        if other_id not in (link.client_id, link.other_client_id):
            continue
        them = third(link, other_id)
        if them in has or them == survivor_id:
            continue
        link.client_id, link.other_client_id = (
            (survivor_id, them) if str(survivor_id) < str(them) else (them, survivor_id)
        )
        has.add(them)
        moved += 1
    db.session.flush()
    return moved
