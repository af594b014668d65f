"""Team leads close or re-date their team's follow-ups; phones get the change on pull."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import and_, select

from outreach.access.guard import Actor
from outreach.access.scope import out_of_scope, team_of
from outreach.caseload.service import lead_work
from outreach.core.errors import ApiError
from outreach.core.extensions import db
from outreach.interventions.models import FollowUp
from outreach.people.models import Client
from outreach.records.unit import Row, UnitOfWork


def _team_follow_up(actor: Actor, follow_up_id: uuid.UUID) -> tuple[UnitOfWork, Row]:
    """A live follow-up of a live client of the caller's team, locked, else 404."""
    uow = lead_work(actor)
    f = FollowUp.__table__.c
    live_clients = select(Client.id).where(Client.deleted_at.is_(None))
    rows = uow.load_where(
        "follow_up",
        and_(
            f.id == follow_up_id,
            f.team_id == team_of(actor),
            f.deleted_at.is_(None),
            f.client_id.in_(live_clients),
        ),
        lock=True,
    )
    if not rows:
        raise out_of_scope("follow-up")
    uow.reserve(1)
    return uow, rows[0]


def close_follow_up(actor: Actor, follow_up_id: uuid.UUID) -> Row:
    """Mark a follow-up done now (closing a closed one changes nothing)."""
    uow, fu = _team_follow_up(actor, follow_up_id)
    if fu["done_at"] is not None:
        return fu
    fu = uow.update(
        "follow_up",
        {**fu, "done_at": uow.writer.now},
        reason="close",
        audit_action="caseload.follow_up_close",
    )
    uow.flush()
    db.session.commit()
    return fu


def redate_follow_up(actor: Actor, follow_up_id: uuid.UUID, due_on: date) -> Row:
    """Move an open follow-up to another day (a closed one answers 409)."""
    uow, fu = _team_follow_up(actor, follow_up_id)
    if fu["done_at"] is not None:
        raise ApiError(409, "This follow-up is already closed.")
    if fu["due_on"] == due_on:
        return fu
    previous: Any = fu["due_on"]
    fu = uow.update(
        "follow_up",
        {**fu, "due_on": due_on},
        reason="redate",
        audit_action="caseload.follow_up_redate",
        audit_detail={"from": previous.isoformat(), "to": due_on.isoformat()},
    )
    uow.flush()
    db.session.commit()
    return fu
