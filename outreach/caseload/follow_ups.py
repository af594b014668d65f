"""Team leads close or re-date their team's follow-ups; phones get the change on pull."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select

from outreach.access.guard import Actor
from outreach.audit.service import record_event
from outreach.caseload.service import publish, team_of
from outreach.core.errors import ApiError
from outreach.core.extensions import db
from outreach.core.types import utcnow
from outreach.interventions.models import FollowUp
from outreach.people.models import Client
from outreach.sync.changes import lock_teams


def team_follow_up(actor: Actor, follow_up_id: uuid.UUID) -> FollowUp:
    """A live follow-up of a live client of the caller's team, locked, else 404."""
    lock_teams([team_of(actor)])  # before the follow-up row, as a push does
    fu = db.session.scalar(
        select(FollowUp)
        .join(Client, Client.id == FollowUp.client_id)
        .where(
            FollowUp.id == follow_up_id,
            FollowUp.team_id == team_of(actor),
            FollowUp.deleted_at.is_(None),
            Client.deleted_at.is_(None),
        )
        .with_for_update(of=FollowUp)
    )
    if fu is None:
        raise ApiError(404, "No such follow-up in your team.")
    return fu


def close_follow_up(actor: Actor, follow_up_id: uuid.UUID) -> FollowUp:
    """Mark a follow-up done now (closing a closed one changes nothing)."""
    fu = team_follow_up(actor, follow_up_id)
    if fu.done_at is not None:
        return fu
    fu.done_at = utcnow()
    publish(actor, [("follow_up", fu, "upsert")], "close")
    record_event(
        "caseload.follow_up_close",
        actor_id=actor.id,
        device_id=actor.device_id,
        entity="follow_up",
        record_id=fu.id,
        detail={"version": fu.version},
    )
    db.session.commit()
    return fu


def redate_follow_up(actor: Actor, follow_up_id: uuid.UUID, due_on: date) -> FollowUp:
    """Move an open follow-up to another day (a closed one answers 409)."""
    fu = team_follow_up(actor, follow_up_id)
    if fu.done_at is not None:
        raise ApiError(409, "This follow-up is already closed.")
    if fu.due_on == due_on:
        return fu
    previous = fu.due_on
    fu.due_on = due_on
    publish(actor, [("follow_up", fu, "upsert")], "redate")
    record_event(
        "caseload.follow_up_redate",
        actor_id=actor.id,
        device_id=actor.device_id,
        entity="follow_up",
        record_id=fu.id,
        detail={"from": previous.isoformat(), "to": due_on.isoformat(), "version": fu.version},
    )
    db.session.commit()
    return fu
