"""Plain paginated lists of the team's records: interventions and open follow-ups."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Select, func, select

from outreach.access.models import User
from outreach.caseload.clock import Clock
from outreach.caseload.shared import key_worker_for, share_of
from outreach.core.extensions import db
from outreach.interventions.models import FollowUp, Intervention
from outreach.interventions.service import open_follow_up
from outreach.people.models import Client
from outreach.records.fields import getter
from outreach.records.models import RecordShare


def team_interventions_query(team_id: int, clock: Clock, args: dict) -> Select:
    """The team's interventions, filtered by worker, type, client and local date range,
    newest (or oldest) first, with their worker's name: rows for `intervention_out`."""
    stmt = select(Intervention, User.name).outerjoin(User, User.id == Intervention.worker_id)
    stmt = stmt.where(Intervention.team_id == team_id, Intervention.deleted_at.is_(None))
    if args.get("worker_id") is not None:
        stmt = stmt.where(Intervention.worker_id == args["worker_id"])
    if args.get("type"):
        stmt = stmt.where(Intervention.type == args["type"])
    if args.get("client_id"):
        stmt = stmt.where(Intervention.client_id == args["client_id"])
    if args.get("date_from"):
        stmt = stmt.where(Intervention.occurred_at >= clock.day_start(args["date_from"]))
    if args.get("date_to"):
        end = clock.day_start(args["date_to"] + timedelta(days=1))
        stmt = stmt.where(Intervention.occurred_at < end)
    order = Intervention.occurred_at.asc() if args.get("sort") == "occurred_at" else None
    order = order if order is not None else Intervention.occurred_at.desc()
    return stmt.order_by(order, Intervention.id)


def intervention_out(row: Any) -> dict:
    """An (intervention, worker name) row as the caseload API lists it."""
    iv, worker_name = row
    return {
        "id": iv.id,
        "client_id": iv.client_id,
        "worker_id": iv.worker_id,
        "worker_name": worker_name,
        "type": iv.type,
        "occurred_at": iv.occurred_at,
        "recorded_at": iv.created_at,
        "location": iv.location,
        "quantity": iv.quantity,
        "outcome": iv.outcome,
        "referral_to": iv.referral_to,
    }


def follow_up_owner(team_id: int) -> Any:
    """SQL: whose a follow-up of the team is: its assignee, else its client's key worker
    for the team (a shared client's: the team's, on its share; join `share_of`)."""
    return func.coalesce(FollowUp.assigned_to_id, key_worker_for(team_id))


def follow_ups_due(team_id: int, clock: Clock) -> list[Any]:
    """The conditions of the team's follow-ups a worker must see to (joined to their
    client): open, of a live client, due up to 7 days ahead or overdue."""
    return [
        FollowUp.team_id == team_id,
        open_follow_up(),
        Client.deleted_at.is_(None),
        FollowUp.due_on <= clock.due_horizon,
    ]


def open_follow_ups(team_id: int, clock: Clock, *, owner_id: int) -> list[dict]:
    """Open follow-ups of live clients owned by `owner_id` (assignee, else key worker),
    due up to 7 days ahead or overdue, soonest first."""
    rows = db.session.execute(
        select(FollowUp, Client.initials, Client.known_as)
        .join(Client, Client.id == FollowUp.client_id)
        .outerjoin(RecordShare, share_of(team_id))
        .where(
            *follow_ups_due(team_id, clock),
            follow_up_owner(team_id) == owner_id,
        )
        .order_by(FollowUp.due_on, FollowUp.id)
    ).all()
    return [
        {
            **follow_up_out(fu),
            "initials": initials,
            "known_as": known_as,
            "overdue": fu.due_on < clock.today,
        }
        for fu, initials, known_as in rows
    ]


FOLLOW_UP_OUT = (
    "id",
    "client_id",
    "due_on",
    "reason",
    "assigned_to_id",
    "done_at",
    "version",
    "server_seq",
)


def follow_up_out(fu: Any) -> dict[str, Any]:
    """A follow-up (model instance or row) as the caseload API shows it."""
    get = getter(fu)
    return {name: get(name) for name in FOLLOW_UP_OUT}
