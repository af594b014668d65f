"""The same person across partner teams (DESIGN §5b): clients of teams that share an
agreement in force with the same match key (the keyed hash of initials, date of birth
and sex) are shown to the leads of both teams as probable duplicates, and linked only
when a lead confirms. Each team keeps its own record (no merge across teams: each team
is responsible for what it recorded); a confirmed link lets reports count the person
once (`outreach.pathways.measures.linked_new_clients`).

A lead sees, of the partner's client, only its team and when it was first recorded:
nothing the lead's own record does not already say.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import aliased

from outreach.access.guard import Actor
from outreach.access.models import Team
from outreach.access.scope import out_of_scope, partner_teams, team_of
from outreach.audit.service import record_event
from outreach.core.errors import ApiError
from outreach.core.extensions import db
from outreach.core.types import utcnow
from outreach.pathways.models import ClientLink
from outreach.people.models import Client

RESOLUTIONS = ("linked", "not_duplicate")


def _live(c: Any) -> Any:
    return and_(
        c.deleted_at.is_(None),
        c.merged_into_id.is_(None),
        c.anonymised_at.is_(None),
        c.match_key.is_not(None),
    )


def _pair(a: Any, b: Any) -> tuple[Any, Any]:
    """A pair of client id columns or values in link order (the smaller first)."""
    return (a, b) if str(a) < str(b) else (b, a)


def _resolved(mine: Any, theirs: Any) -> Any:
    return exists().where(
        or_(
            and_(ClientLink.client_id == mine.id, ClientLink.other_client_id == theirs.id),
            and_(ClientLink.client_id == theirs.id, ClientLink.other_client_id == mine.id),
        )
    )


def partner_duplicates(team_id: int, today: date) -> list[dict[str, Any]]:
    """The team's live clients with the same match key as a live client of a partner
    team (an agreement in force today), not yet confirmed either way; oldest first."""
    partners = partner_teams(team_id, today)
    if not partners:
        return []
    mine, theirs = aliased(Client), aliased(Client)
    rows = db.session.execute(
        select(
            mine.id,
            mine.initials,
            mine.known_as,
            mine.created_at,
            theirs.id.label("other_id"),
            theirs.created_at.label("other_created_at"),
            Team.id.label("other_team_id"),
            Team.name.label("other_team"),
        )
        .join(theirs, theirs.match_key == mine.match_key)
        .join(Team, Team.id == theirs.team_id)
        .where(
            mine.team_id == team_id,
            theirs.team_id.in_(partners),
            _live(mine),
            _live(theirs),
            ~_resolved(mine, theirs),
        )
        .order_by(mine.created_at, mine.id, theirs.id)
    ).all()
    return [
        {
            "client_id": r.id,
            "initials": r.initials,
            "known_as": r.known_as,
            "first_recorded_at": r.created_at,
            "other_client_id": r.other_id,
            "other_team_id": r.other_team_id,
            "other_team": r.other_team,
            "other_first_recorded_at": r.other_created_at,
        }
        for r in rows
    ]


def confirm_duplicate(
    actor: Actor, client_id: uuid.UUID, other_client_id: uuid.UUID, resolution: str
) -> dict[str, Any]:
    """A lead confirms that their client and a partner team's client are one person
    (`linked`) or not (`not_duplicate`). Only a pair `partner_duplicates` shows (404
    otherwise); confirming again changes the resolution."""
    team_id = team_of(actor)
    if resolution not in RESOLUTIONS:  # the schema holds it; the service says so too
        raise ApiError(422, "Unknown resolution.", errors={"resolution": ["Unknown."]})
    shown = {
        (d["client_id"], d["other_client_id"]) for d in partner_duplicates(team_id, utcnow().date())
    }
    first, second = _pair(client_id, other_client_id)
    link = db.session.scalar(
        select(ClientLink).where(
            ClientLink.client_id == first, ClientLink.other_client_id == second
        )
    )
    if link is None and (client_id, other_client_id) not in shown:
        raise out_of_scope("probable duplicate")
    if link is not None:
        mine = db.session.scalar(
            select(func.count()).where(Client.id == client_id, Client.team_id == team_id)
        )
        if not mine:
            raise out_of_scope("probable duplicate")
        link.resolution = resolution
        link.confirmed_by_id = actor.id
        link.team_id = team_id
        link.confirmed_at = utcnow()
    else:
        link = ClientLink(
            client_id=first,
            other_client_id=second,
            resolution=resolution,
            team_id=team_id,
            confirmed_by_id=actor.id,
            confirmed_at=utcnow(),
        )
        db.session.add(link)
    db.session.flush()
    record_event(
        f"pathways.duplicate_{resolution}",
        actor_id=actor.id,
        device_id=actor.device_id,
        entity="client",
        record_id=client_id,
        detail={"other_client_id": str(other_client_id), "link_id": link.id},
    )
    db.session.commit()
    return {
        "id": link.id,
        "client_id": client_id,
        "other_client_id": other_client_id,
        "resolution": link.resolution,
        "confirmed_at": link.confirmed_at,
    }
