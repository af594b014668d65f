"""Builders for test data: a small organisation and records made the way the app makes them."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from outreach.access.models import Area, Team
from outreach.core.extensions import db
from outreach.core.types import utcnow
from outreach.org.service import create_user
from outreach.people.matching import match_key
from outreach.records.unit import UnitOfWork, Writer

PASSWORD = "correct-horse-battery"
# One person per number: distinct (initials, date of birth) for 1,080,000 clients.
_PEOPLE = itertools.count()


@dataclass
class World:
    area_ids: dict[str, int] = field(default_factory=dict)
    team_ids: dict[str, int] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)


def build_world() -> World:
    """durham (North East): teams street + custody; dorset (South West): team dorset;
    users: admin, lead, worker, worker2 (street), custody, dorset, lead_dorset,
    commissioner (durham), commissioner_sw (dorset)."""
    w = World()
    for code, name, region in [
        ("durham", "Durham", "North East"),
        ("dorset", "Dorset", "South West"),
    ]:
        area = Area(code=code, name=name, region=region, active=True)
        db.session.add(area)
        db.session.flush()
        w.area_ids[code] = area.id
    for key, area, name in [
        ("street", "durham", "Durham Street Outreach"),
        ("custody", "durham", "Durham Custody Liaison"),
        ("dorset", "dorset", "Dorset Outreach"),
    ]:
        team = Team(area_id=w.area_ids[area], name=name, provider="Provider", active=True)
        db.session.add(team)
        db.session.flush()
        w.team_ids[key] = team.id
    users = [
        ("admin", "admin", None, []),
        ("lead", "team_lead", "street", []),
        ("worker", "worker", "street", []),
        ("worker2", "worker", "street", []),
        ("custody", "worker", "custody", []),
        ("dorset", "worker", "dorset", []),
        ("lead_dorset", "team_lead", "dorset", []),
        ("commissioner", "commissioner", None, ["durham"]),
        ("commissioner_sw", "commissioner", None, ["dorset"]),
    ]
    for key, role, team, areas in users:
        email = f"{key}@example.test"
        user = create_user(
            email,
            key.title(),
            role,
            PASSWORD,
            team_id=w.team_ids[team] if team else None,
            area_codes=areas,
            actor_id=None,
            commit=False,
        )
        w.user_ids[key] = user.id
        w.emails[key] = email
    db.session.commit()
    return w


def make_clients(
    team_id: int,
    area_id: int,
    count: int,
    *,
    key_worker_id: int | None = None,
    created_at: datetime | None = None,
    same_as: int | None = None,
) -> list[dict]:
    """Insert `count` clients with sequence numbers and change-log rows; return the rows.
    Every client made here is a different person (no two share initials, date of birth
    and sex), so no probable duplicates appear unless a test makes them: `same_as=n`
    makes copies of person number n (a negative n never comes from the counter)."""
    now = created_at or utcnow()
    rows = []
    for _ in range(count):
        n = -same_as if same_as else next(_PEOPLE)
        initials = ("AB", "CD", "EF", "GH")[n % 4] + "JKLMNPRSTW"[n // 4 % 10]
        dob = date(1930, 1, 1) + timedelta(days=n // 40 % 27_000)
        rows.append(
            {
                "id": uuid.uuid4(),
                "team_id": team_id,
                "area_id": area_id,
                "initials": initials,
                "date_of_birth": dob,
                "sex": "male",
                "postcode_district": "DH1",
                "known_as": None,
                "match_key": match_key(initials, dob, "male"),
                "key_worker_id": key_worker_id,
                "created_at": now,
                "updated_at": now,
            }
        )
    _insert_synced("client", rows)
    return rows


def make_interventions(
    team_id: int,
    area_id: int,
    worker_id: int,
    count: int,
    *,
    client_ids: list | None = None,
    type_: str = "harm_reduction_advice",
    occurred_at: datetime | None = None,
    quantity: int | None = None,
) -> list[dict]:
    now = utcnow()
    rows = []
    for i in range(count):
        rows.append(
            {
                "id": uuid.uuid4(),
                "client_id": client_ids[i % len(client_ids)] if client_ids else None,
                "worker_id": worker_id,
                "team_id": team_id,
                "area_id": area_id,
                "type": type_,
                "occurred_at": occurred_at or now - timedelta(hours=1 + i),
                "location": "street",
                "substances": ["opioids"],
                "quantity": quantity,
                "created_at": now,
                "updated_at": now,
            }
        )
    _insert_synced("intervention", rows)
    return rows


def make_follow_up(
    client_id, team_id: int, due_on: date, *, assigned_to_id=None, done_at: datetime | None = None
) -> dict:
    now = utcnow()
    row = {
        "id": uuid.uuid4(),
        "client_id": client_id,
        "team_id": team_id,
        "due_on": due_on,
        "reason": "Check in",
        "assigned_to_id": assigned_to_id,
        "done_at": done_at,
        "created_at": now,
        "updated_at": now,
    }
    _insert_synced("follow_up", [row])
    return row


def _insert_synced(entity: str, rows: list[dict]) -> None:
    """Create the rows through the unit of work, as the app does (versions, history,
    change log, audit), and give each its version and sequence number back."""
    if not rows:
        return
    uow = UnitOfWork(Writer(None, None, utcnow(), "test"))
    uow.lock({r["team_id"] for r in rows})
    uow.reserve(len(rows))
    for row in rows:
        made = uow.create(entity, row, at=row.get("updated_at"))
        row.update(version=made["version"], server_seq=made["server_seq"])
    uow.flush()
    db.session.commit()
