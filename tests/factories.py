"""Builders for test data: a small organisation and records made the way the app makes them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import insert

from outreach.access.models import Area, Team
from outreach.core.extensions import db
from outreach.core.types import utcnow
from outreach.interventions.models import FollowUp, Intervention
from outreach.org.service import create_user
from outreach.people.matching import match_key
from outreach.people.models import Client
from outreach.sync.changes import allocate_seqs, log_changes

PASSWORD = "correct-horse-battery"


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
) -> list[dict]:
    """Insert `count` clients with sequence numbers and change-log rows; return the rows."""
    now = created_at or utcnow()
    rows = []
    for i in range(count):
        initials = "AB" if i % 2 else "CD"
        dob = date(1980, 1, 1) + timedelta(days=i)
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
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
    _insert_synced(Client, "client", rows)
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
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
    _insert_synced(Intervention, "intervention", rows)
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
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    _insert_synced(FollowUp, "follow_up", [row])
    return row


def _insert_synced(model, entity: str, rows: list[dict]) -> None:
    if not rows:
        return
    seqs = allocate_seqs(len(rows), {r["team_id"] for r in rows})
    for row, seq in zip(rows, seqs, strict=True):
        row["server_seq"] = seq
    db.session.execute(insert(model), rows)
    log_changes([(r["server_seq"], r["team_id"], entity, r["id"], "upsert") for r in rows])
    db.session.commit()
