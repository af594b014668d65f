"""The demo world (`flask outreach demo`): believable, pseudonymous, idempotent.

Every demo password is `outreach-demo`; for local use only.
"""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from outreach.access.models import Area, Team, User
from outreach.audit.service import record_event
from outreach.core.extensions import db
from outreach.core.types import utcnow
from outreach.interventions.codes import LOCATIONS, SUBSTANCES, TYPES_BY_CODE
from outreach.org.service import create_user
from outreach.pathways.demo import load_pathways_demo
from outreach.people.matching import match_key
from outreach.records.unit import UnitOfWork, Writer

DEMO_PASSWORD = "outreach-demo"  # noqa: S105 - documented demo credential

AREAS = [
    ("durham", "Durham", "North East"),
    ("northumbria", "Northumbria", "North East"),
    ("cleveland", "Cleveland", "North East"),
    ("dorset", "Dorset", "South West"),
    ("devon-and-cornwall", "Devon and Cornwall", "South West"),
]
TEAMS = [
    ("durham", "Durham Street Outreach", "North East Recovery Partnership"),
    ("durham", "Durham Custody Liaison", "North East Recovery Partnership"),
    ("durham", "Durham Recovery Service", "Durham Treatment Partnership"),
    ("northumbria", "Newcastle Outreach", "Tyneside Harm Reduction"),
    ("dorset", "Dorset Outreach", "Wessex Recovery"),
    ("devon-and-cornwall", "Plymouth Outreach", "Peninsula Recovery"),
]
USERS = [
    ("admin@outreach.test", "Ada Admin", "admin", None, []),
    ("lead.durham@outreach.test", "Lee Lead", "team_lead", "Durham Street Outreach", []),
    ("worker.durham@outreach.test", "Wren Walker", "worker", "Durham Street Outreach", []),
    ("worker2.durham@outreach.test", "Sam Stone", "worker", "Durham Street Outreach", []),
    ("worker.custody@outreach.test", "Cass Custody", "worker", "Durham Custody Liaison", []),
    ("lead.custody@outreach.test", "Kit Keeper", "team_lead", "Durham Custody Liaison", []),
    ("worker.recovery@outreach.test", "Robin Reid", "worker", "Durham Recovery Service", []),
    ("lead.recovery@outreach.test", "Rae Rowe", "team_lead", "Durham Recovery Service", []),
    ("worker.dorset@outreach.test", "Dot Dorset", "worker", "Dorset Outreach", []),
    ("lead.dorset@outreach.test", "Lou Lead", "team_lead", "Dorset Outreach", []),
    ("worker.plymouth@outreach.test", "Pat Plymouth", "worker", "Plymouth Outreach", []),
    ("worker.newcastle@outreach.test", "Nat Newcastle", "worker", "Newcastle Outreach", []),
    ("commissioner.durham@outreach.test", "Chris Commissioner", "commissioner", None, ["durham"]),
    (
        "commissioner.southwest@outreach.test",
        "Sol Southwest",
        "commissioner",
        None,
        ["dorset", "devon-and-cornwall"],
    ),
]
# Clients per team (about 50 in all, most in Durham Street Outreach).
CLIENTS_PER_TEAM = {
    "Durham Street Outreach": 20,
    "Durham Custody Liaison": 10,
    "Durham Recovery Service": 4,
    "Newcastle Outreach": 4,
    "Dorset Outreach": 6,
    "Plymouth Outreach": 4,
}
POSTCODES = {
    "Durham Street Outreach": ["DH1", "DH2", "DH7", "DL14"],
    "Durham Custody Liaison": ["DH1", "DL1", "DL3"],
    "Durham Recovery Service": ["DH1", "DH3", "DL14"],
    "Newcastle Outreach": ["NE1", "NE4", "NE6"],
    "Dorset Outreach": ["BH1", "DT1", "BH15"],
    "Plymouth Outreach": ["PL1", "PL4", "PL5"],
}
TYPE_WEIGHTS = {
    "naloxone_supplied": 14,
    "needle_syringe_provision": 14,
    "harm_reduction_advice": 20,
    "bbv_test": 6,
    "hbv_vaccination": 3,
    "wound_care": 5,
    "overdose_response": 1,
    "brief_intervention": 12,
    "referral_structured_treatment": 7,
    "referral_other": 6,
    "diversion": 4,
    "treatment_entry_confirmed": 3,
}
KNOWN_AS = ["Spike", "Red", "Mags", "Tommo", "Bird", "Dezza", "Kaz", None, None, None]
REFERRAL_TO = {
    "referral_structured_treatment": ["Durham Recovery Service", "Community drug team"],
    "referral_other": ["Housing options", "Mental health crisis team", "GP practice"],
    "diversion": ["Checkpoint", "Drug education course"],
}
LETTERS = "ABCDEFGHJKLMNPRSTW"


def demo_loaded() -> bool:
    return db.session.scalar(select(User.id).where(User.email == USERS[0][0])) is not None


def load_demo(seed: int = 47, today: date | None = None) -> bool:
    """Create the demo world once; return False when it already exists."""
    if demo_loaded():
        return False
    rng = random.Random(seed)
    now = utcnow()
    today = today or now.date()

    areas = {}
    for code, name, region in AREAS:
        area = db.session.scalar(select(Area).where(Area.code == code))
        if area is None:
            area = Area(code=code, name=name, region=region, active=True)
            db.session.add(area)
        areas[code] = area
    db.session.flush()
    teams = {}
    for area_code, name, provider in TEAMS:
        team = Team(area_id=areas[area_code].id, name=name, provider=provider, active=True)
        db.session.add(team)
        teams[name] = team
    db.session.flush()
    users: dict[str, User] = {}
    for email, name, role, team_name, area_codes in USERS:
        users[email] = create_user(
            email,
            name,
            role,
            DEMO_PASSWORD,
            team_id=teams[team_name].id if team_name else None,
            area_codes=area_codes,
            actor_id=None,
            commit=False,
        )
    workers_by_team: dict[int, list[User]] = {}
    for user in users.values():
        if user.team_id is not None:
            workers_by_team.setdefault(user.team_id, []).append(user)

    clients: list[dict[str, Any]] = []
    interventions: list[dict[str, Any]] = []
    follow_ups: list[dict[str, Any]] = []
    for team_name, count in CLIENTS_PER_TEAM.items():
        team = teams[team_name]
        staff = workers_by_team[team.id]
        for _ in range(count):
            initials = rng.choice(LETTERS) + rng.choice(LETTERS)
            dob = date(rng.randint(1962, 2004), rng.randint(1, 12), rng.randint(1, 28))
            sex = rng.choices(["male", "female", "other", "not_stated"], [62, 34, 2, 2])[0]
            first_seen = now - timedelta(days=rng.randint(0, 84), hours=rng.randint(0, 12))
            clients.append(
                {
                    "id": uuid.UUID(int=rng.getrandbits(128), version=4),
                    "team_id": team.id,
                    "area_id": team.area_id,
                    "initials": initials,
                    "date_of_birth": dob,
                    "sex": sex,
                    "postcode_district": rng.choice(POSTCODES[team_name]),
                    "known_as": rng.choice(KNOWN_AS),
                    "match_key": match_key(initials, dob, sex),
                    "key_worker_id": rng.choice(staff).id,
                    "created_by_id": rng.choice(staff).id,
                    "created_at": first_seen,
                    "updated_at": first_seen,
                }
            )

    codes, weights = zip(*TYPE_WEIGHTS.items(), strict=True)
    by_team: dict[int, list[dict]] = {}
    for made in clients:
        by_team.setdefault(made["team_id"], []).append(made)
    for team_name, team in teams.items():
        staff = workers_by_team[team.id]
        team_clients = by_team.get(team.id, [])
        for _ in range(len(team_clients) * 8):
            client: dict[str, Any] | None = (
                rng.choice(team_clients) if rng.random() > 0.15 else None
            )
            earliest = client["created_at"] if client else now - timedelta(days=84)
            span = max(int((now - earliest).total_seconds()), 3600)
            occurred = earliest + timedelta(seconds=rng.randint(0, span - 1))
            occurred = min(occurred, now - timedelta(minutes=5))
            code = rng.choices(codes, weights)[0]
            kind = TYPES_BY_CODE[code]
            worker = rng.choice(staff)
            iv = {
                "id": uuid.UUID(int=rng.getrandbits(128), version=4),
                "client_id": client["id"] if client else None,
                "worker_id": worker.id,
                "team_id": team.id,
                "area_id": team.area_id,
                "type": code,
                "occurred_at": occurred,
                "location": rng.choice(
                    ["custody"] if "Custody" in team_name else list(LOCATIONS)[:6]
                ),
                "substances": rng.sample(list(SUBSTANCES)[:9], rng.randint(1, 2)),
                "quantity": rng.randint(1, 3 if kind.quantity_max <= 20 else 10)
                if kind.quantity_label
                else None,
                "outcome": rng.choice(kind.outcome_choices) if kind.outcome_choices else None,
                "referral_to": rng.choice(REFERRAL_TO[code]) if kind.referral else None,
                "follow_up_on": None,
                "notes": None,
                "created_at": occurred + timedelta(hours=rng.choice([0, 0, 0, 2, 30])),
            }
            iv["updated_at"] = iv["created_at"]
            if client and code in {"referral_structured_treatment", "bbv_test", "wound_care"}:
                due = occurred.date() + timedelta(days=rng.choice([7, 14]))
                iv["follow_up_on"] = due
                follow_ups.append(
                    {
                        "id": uuid.uuid5(iv["id"], "follow_up"),
                        "client_id": client["id"],
                        "team_id": team.id,
                        "intervention_id": iv["id"],
                        "due_on": due,
                        "reason": f"Follow up: {kind.label.lower()}",
                        "assigned_to_id": client["key_worker_id"],
                        "created_by_id": worker.id,
                        # Older follow-ups are mostly done; some stay overdue.
                        "done_at": datetime.combine(due, time(12), tzinfo=now.tzinfo)
                        if due < today - timedelta(days=3) and rng.random() < 0.7
                        else None,
                        "created_at": iv["created_at"],
                        "updated_at": iv["created_at"],
                    }
                )
            interventions.append(iv)
    # A few records reach the server late, as from a phone offline for days: counted in
    # the demo's late-records releases, not in their weeks' releases.
    for iv in interventions[7::25]:
        iv["created_at"] = iv["updated_at"] = min(iv["occurred_at"] + timedelta(days=12), now)
    interventions.sort(key=lambda r: r["created_at"])

    # Through the unit of work, as every synced write: versions, history (version 1
    # included), change log, audit. Past records keep their times. The demo makes its
    # follow-ups itself (with reasons and outcomes): no slice rules.
    uow = UnitOfWork(Writer(None, None, now, "demo"))
    uow.lock(team.id for team in teams.values())
    uow.reserve(len(clients) + len(interventions) + len(follow_ups))
    for entity, rows in (
        ("client", clients),
        ("intervention", interventions),
        ("follow_up", follow_ups),
    ):
        for row in rows:
            uow.create(entity, row, rules=False, at=row["updated_at"])
    uow.flush()
    pathways = load_pathways_demo(rng, teams, users, clients, now)
    record_event(
        "demo.load",
        actor_id=None,
        detail={
            "clients": len(clients),
            "interventions": len(interventions),
            "follow_ups": len(follow_ups),
            **pathways,
        },
    )
    db.session.commit()
    # Commissioners' weeks as if the scheduler had been running: released, backdated.
    from outreach.reports.releases import release_history

    release_history(now, weeks=16)  # the last 4 with their week W-12's referral cohort
    return True
