"""Fixtures and builders for the caseload tests: the street team with clients of two
workers, signed-in callers of every role."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from outreach.core.extensions import db
from outreach.core.types import utcnow
from outreach.interventions.models import Intervention
from outreach.people.models import Client, ClientDuplicate
from outreach.records.models import SyncChange
from tests.factories import make_clients, make_follow_up, make_interventions


@dataclass
class Street:
    """Ids of the street team's records made by `street`."""

    team_id: int
    area_id: int
    worker: int
    worker2: int
    lead: int
    clients: list = field(default_factory=list)  # of worker
    clients2: list = field(default_factory=list)  # of worker2
    other_team_client: uuid.UUID | None = None  # a Durham custody client
    other_area_client: uuid.UUID | None = None  # a Dorset client


def add_intervention(team_id, area_id, worker_id, client_id, *, type_, occurred_at) -> dict:
    return make_interventions(
        team_id, area_id, worker_id, 1, client_ids=[client_id], type_=type_, occurred_at=occurred_at
    )[0]


def add_duplicate(team_id: int, a: uuid.UUID, b: uuid.UUID) -> int:
    dup = ClientDuplicate(team_id=team_id, client_id=a, other_client_id=b)
    db.session.add(dup)
    db.session.commit()
    return dup.id


def changes_after(seq: int) -> list[tuple]:
    """(team_id, entity, record_id, op) of change-log rows after `seq`, in order."""
    return [
        (c.team_id, c.entity, c.record_id, c.op)
        for c in db.session.scalars(
            select(SyncChange).where(SyncChange.seq > seq).order_by(SyncChange.seq)
        )
    ]


def max_seq() -> int:
    return max(db.session.scalars(select(SyncChange.seq)).all() or [0])


def team_position(email_prefix: str) -> int:
    """The pull position of a user's team now: a device's cursor is its own team's
    (each team has its own high-water mark on PostgreSQL)."""
    from outreach.access.models import User
    from outreach.records.sequence import current_seq

    team_id = db.session.scalar(select(User.team_id).where(User.email.like(f"{email_prefix}@%")))
    return current_seq(team_id)


def set_created(client_id: uuid.UUID, when: datetime) -> None:
    db.session.execute(update(Client).where(Client.id == client_id).values(created_at=when))
    db.session.commit()


def intervention_row(iv_id) -> Intervention:
    return db.session.get(Intervention, iv_id)


@pytest.fixture
def street(app, world) -> Street:
    """Street team: 3 clients of worker, 2 of worker2; one client each in custody and Dorset."""
    with app.app_context():
        team, area = world.team_ids["street"], world.area_ids["durham"]
        s = Street(
            team_id=team,
            area_id=area,
            worker=world.user_ids["worker"],
            worker2=world.user_ids["worker2"],
            lead=world.user_ids["lead"],
        )
        s.clients = [r["id"] for r in make_clients(team, area, 3, key_worker_id=s.worker)]
        s.clients2 = [r["id"] for r in make_clients(team, area, 2, key_worker_id=s.worker2)]
        custody = make_clients(
            world.team_ids["custody"], area, 1, key_worker_id=world.user_ids["custody"]
        )
        dorset = make_clients(
            world.team_ids["dorset"],
            world.area_ids["dorset"],
            1,
            key_worker_id=world.user_ids["dorset"],
        )
        s.other_team_client = custody[0]["id"]
        s.other_area_client = dorset[0]["id"]
        return s


@pytest.fixture
def lead(login):
    return login("lead")


@pytest.fixture
def follow_up_in(app):
    """follow_up_in(client_id, team_id, days, **kw) -> follow-up id due `days` from today."""

    def make(client_id, team_id, days: int, **kw) -> uuid.UUID:
        with app.app_context():
            return make_follow_up(client_id, team_id, london_today() + timedelta(days=days), **kw)[
                "id"
            ]

    return make


def now() -> datetime:
    return utcnow()


def london_today() -> date:
    return datetime.now(ZoneInfo("Europe/London")).date()
