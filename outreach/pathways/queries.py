"""What teams read of pathways (DESIGN §5b): their referrals in and out, a client's
pathway, referrals waiting for acceptance too long, and diversion episodes needing a
lead's attention. Scope: a team sees referrals it made or received, and clients it
holds (its own, or shared with it); anything else is a 404."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, or_, select

from outreach.access.models import Team
from outreach.access.scope import out_of_scope, partner_teams
from outreach.core.extensions import db
from outreach.pathways.models import Episode, Referral
from outreach.pathways.rules import EPISODE, REFERRAL
from outreach.people.models import Client
from outreach.records.shares import held_by

DIRECTIONS = ("incoming", "outgoing", "all")


def team_names(team_ids: set[int]) -> dict[int, str]:
    if not team_ids:
        return {}
    rows = db.session.execute(select(Team.id, Team.name).where(Team.id.in_(team_ids)))
    return {int(row.id): str(row.name) for row in rows}


def referral_out(row: Any, names: dict[int, str], team_id: int) -> dict[str, Any]:
    """A referral as the API shows it: the synced record plus the teams' names and which
    side the caller is on."""
    data = REFERRAL.data(row)
    data["from_team"] = names.get(row.team_id)
    data["to_team"] = names.get(row.to_team_id)
    data["direction"] = "incoming" if row.to_team_id == team_id else "outgoing"
    return data


def referrals_query(team_id: int, direction: str = "all", status: str | None = None) -> Select:
    """The team's live referrals, newest first."""
    mine = {
        "incoming": Referral.to_team_id == team_id,
        "outgoing": Referral.team_id == team_id,
        "all": or_(Referral.to_team_id == team_id, Referral.team_id == team_id),
    }[direction]
    stmt = select(Referral).where(mine, Referral.deleted_at.is_(None))
    if status is not None:
        stmt = stmt.where(Referral.status == status)
    return stmt.order_by(Referral.status_at.desc(), Referral.id)


def rows_out(rows: list[Any], team_id: int) -> list[dict[str, Any]]:
    names = team_names({r.team_id for r in rows} | {r.to_team_id for r in rows})
    return [referral_out(r, names, team_id) for r in rows]


def waiting_for_acceptance(team_id: int, now: datetime, hours: int) -> list[dict[str, Any]]:
    """Referrals sent to the team more than `hours` ago and still not answered."""
    rows = db.session.scalars(
        referrals_query(team_id, "incoming", "sent").where(
            Referral.sent_at <= now - timedelta(hours=hours)
        )
    ).all()
    return rows_out(list(rows), team_id)


def client_pathway(team_id: int, client_id: uuid.UUID) -> dict[str, Any]:
    """Where a client the team holds is on their pathways: the referrals the team made
    or received for them (both teams see the same steps), and the team's episodes."""
    held = db.session.scalar(
        select(Client.id).where(
            Client.id == client_id,
            Client.deleted_at.is_(None),
            held_by(Client.id, Client.team_id, "client", team_id),
        )
    )
    if held is None:
        raise out_of_scope("client")
    referrals = db.session.scalars(
        referrals_query(team_id).where(Referral.client_id == client_id)
    ).all()
    episodes = db.session.scalars(
        select(Episode)
        .where(
            Episode.client_id == client_id,
            Episode.team_id == team_id,
            Episode.deleted_at.is_(None),
        )
        .order_by(Episode.started_on.desc(), Episode.id)
    ).all()
    return {
        "client_id": client_id,
        "referrals": rows_out(list(referrals), team_id),
        "episodes": [EPISODE.data(e) for e in episodes],
    }


def episodes_needing_attention(team_id: int, today: date, within_days: int) -> list[dict]:
    """Open episodes of the team due to end within `within_days` (or past their planned
    end), or with a session overdue; soonest first, each with why."""
    rows = db.session.scalars(
        select(Episode)
        .where(
            Episode.team_id == team_id,
            Episode.deleted_at.is_(None),
            Episode.outcome.is_(None),
            or_(
                Episode.planned_end_on <= today + timedelta(days=within_days),
                and_(Episode.next_session_on.is_not(None), Episode.next_session_on < today),
            ),
        )
        .order_by(Episode.planned_end_on, Episode.id)
    ).all()
    out = []
    for e in rows:
        data = EPISODE.data(e)
        data["due_to_end"] = e.planned_end_on <= today + timedelta(days=within_days)
        data["session_overdue"] = e.next_session_on is not None and e.next_session_on < today
        out.append(data)
    return out


def partners_of(team_id: int, today: date) -> list[dict[str, Any]]:
    """The teams the team may refer to today (an agreement in force)."""
    ids = partner_teams(team_id, today)
    if not ids:
        return []
    rows = db.session.execute(
        select(Team.id, Team.name, Team.area_id).where(Team.id.in_(ids)).order_by(Team.name)
    )
    return [{"id": i, "name": n, "area_id": a} for i, n, a in rows]
