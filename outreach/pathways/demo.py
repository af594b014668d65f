"""The demo world's pathways (`flask outreach demo`): Durham's custody, street and
treatment teams in one data-sharing agreement, a South West agreement across two areas
(Operation Scorpion), referrals at every stage, Checkpoint episodes, and one person
recorded by two partner teams. Written through the unit of work like every synced
record; called by `outreach.demo.load_demo` once its clients and interventions exist."""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from outreach.access.models import Partnership, PartnershipTeam, Team, User
from outreach.core.extensions import db
from outreach.pathways.rules import add_months
from outreach.people.matching import match_key
from outreach.records.unit import UnitOfWork, Writer

CUSTODY, STREET, RECOVERY = (
    "Durham Custody Liaison",
    "Durham Street Outreach",
    "Durham Recovery Service",
)
AGREEMENTS = [
    ("Durham drug pathway", "DSA-DUR-2026-01", [CUSTODY, STREET, RECOVERY]),
    (
        "Operation Scorpion (South West)",
        "DSA-SW-SCORPION-2",
        ["Dorset Outreach", "Plymouth Outreach"],
    ),
]
# (from, to, stage): where each demo referral has got to; more are added at random.
STAGES = [
    (CUSTODY, STREET, "sent"),
    (CUSTODY, STREET, "waiting"),  # sent days ago, still not answered: a lead sees it
    (CUSTODY, RECOVERY, "accepted"),
    (CUSTODY, RECOVERY, "first_contact"),
    (CUSTODY, RECOVERY, "treatment_entry"),
    (STREET, RECOVERY, "treatment_entry"),
    (STREET, RECOVERY, "declined"),
    (STREET, RECOVERY, "closed"),
    (CUSTODY, STREET, "first_contact"),
    (STREET, RECOVERY, "withdrawn_consent"),
]
RANDOM_REFERRALS = 14
EPISODES = ["open", "due_to_end", "session_overdue", "completed", "completed", "completed"]
EPISODES += ["not_completed", "withdrawn", "started_this_week", "started_this_week"]
CONDITIONS = [
    "Attend a drug and alcohol assessment",
    "Complete four sessions with the navigator",
    "No further offending during the contract",
]
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def load_pathways_demo(
    rng: random.Random,
    teams: dict[str, Team],
    users: dict[str, User],
    clients: list[dict[str, Any]],
    now: datetime,
) -> dict[str, int]:
    """Add the demo's partnerships, referrals, episodes and a cross-team duplicate."""
    for name, ref, members in AGREEMENTS:
        p = Partnership(name=name, agreement_ref=ref, starts_on=date(2025, 4, 1))
        db.session.add(p)
        db.session.flush()
        for team_name in members:
            db.session.add(PartnershipTeam(partnership_id=p.id, team_id=teams[team_name].id))
    db.session.flush()
    staff: dict[int, list[User]] = {}
    for user in users.values():
        if user.team_id is not None:
            staff.setdefault(user.team_id, []).append(user)
    by_team: dict[int, list[dict[str, Any]]] = {}
    for c in clients:
        by_team.setdefault(c["team_id"], []).append(c)
    uow = UnitOfWork(Writer(None, None, now, "demo"))
    uow.lock(t.id for t in teams.values())
    stages = list(STAGES)
    for _ in range(RANDOM_REFERRALS):
        source = rng.choice([CUSTODY, STREET])
        target = rng.choice([t for t in (STREET, RECOVERY) if t != source])
        stages.append(
            (
                source,
                target,
                rng.choice(
                    [
                        "treatment_entry",
                        "first_contact",
                        "accepted",
                        "declined",
                        "closed",
                        "treatment_entry",
                    ]
                ),
            )
        )
    used: set[uuid.UUID] = set()
    made = 0
    for source, target, stage in stages:
        pool = [c for c in by_team[teams[source].id] if c["id"] not in used]
        if not pool:
            continue
        client = rng.choice(pool)
        used.add(client["id"])
        _refer(uow, rng, client, teams[target], staff, stage, now)
        made += 1
    episodes = _episodes(uow, rng, by_team[teams[CUSTODY].id], staff[teams[CUSTODY].id], now)
    _same_person(uow, rng, by_team[teams[STREET].id], teams[RECOVERY], staff, now)
    uow.flush()
    return {"referrals": made, "episodes": episodes}


def _refer(
    uow: UnitOfWork,
    rng: random.Random,
    client: dict[str, Any],
    to: Team,
    staff: dict[int, list[User]],
    stage: str,
    now: datetime,
) -> None:
    if stage in ("sent", "waiting"):
        sent = now - (HOUR * rng.randint(2, 20) if stage == "sent" else DAY * rng.randint(3, 5))
    elif stage == "accepted":
        sent = now - DAY * rng.randint(4, 10)
    else:
        sent = now - DAY * rng.randint(22, 130)  # some old enough for a published cohort
    referrer = rng.choice(staff[client["team_id"]])
    receiver = rng.choice(staff[to.id])
    uow.load("client", [client["id"]])
    current = uow.get("client", client["id"])
    assert current is not None
    consent_at = sent - HOUR
    uow.update(
        "client",
        {
            **current,
            "consent_to_share": True,
            "consent_recorded_at": consent_at,
            "consent_recorded_by_id": referrer.id,
        },
        reason="edit",
        rules=False,
        at=consent_at,
    )
    row: dict[str, Any] = {
        "id": uuid.UUID(int=rng.getrandbits(128), version=4),
        "client_id": client["id"],
        "team_id": client["team_id"],
        "area_id": client["area_id"],
        "to_team_id": to.id,
        "reason": "structured_treatment"
        if to.name == RECOVERY
        else rng.choice(["harm_reduction", "housing", "mental_health"]),
        "urgency": rng.choice(["routine", "soon", "urgent"]),
        "notes": None,
        "status": "sent",
        "status_at": sent,
        "sent_at": sent,
        "created_by_id": referrer.id,
        "created_at": sent,
    }
    steps: list[tuple[str, datetime]] = []
    accepted = sent + HOUR * rng.randint(3, 40)
    if stage in ("accepted", "first_contact", "treatment_entry", "closed", "withdrawn_consent"):
        steps.append(("accepted", accepted))
    contact = accepted + DAY * rng.randint(1, 6)
    if stage in ("first_contact", "treatment_entry", "closed"):
        steps.append(("first_contact", contact))
        _contact(uow, rng, client, to, receiver, contact, "brief_intervention")
    if stage == "treatment_entry":
        entry = contact + DAY * rng.randint(2, 30)
        entry = min(entry, now - HOUR)
        steps.append(("treatment_entry", entry))
        _contact(uow, rng, client, to, receiver, entry, "treatment_entry_confirmed")
    if stage == "declined":
        steps.append(("declined", accepted))
        row["closed_reason"] = rng.choice(["no_capacity", "not_eligible", "already_known"])
    if stage == "closed":
        steps.append(("closed", contact + DAY * rng.randint(10, 15)))
        row["closed_reason"] = rng.choice(["lost_contact", "moved_away"])
    for status, at in steps:
        row[f"{status}_at"] = at
        row.update(status=status, status_at=at)
    if stage in ("accepted", "declined"):
        row["responded_by_id"] = receiver.id
    uow.create("referral", row, at=row["status_at"])
    if stage == "withdrawn_consent":
        withdrawn = uow.get("client", client["id"])
        assert withdrawn is not None
        at = accepted + DAY
        uow.update(
            "client",
            {**withdrawn, "consent_to_share": False, "consent_recorded_at": at},
            reason="edit",
            at=at,
        )


def _contact(uow, rng, client, team: Team, worker: User, at: datetime, type_: str) -> None:
    uow.create(
        "intervention",
        {
            "id": uuid.UUID(int=rng.getrandbits(128), version=4),
            "client_id": client["id"],
            "worker_id": worker.id,
            "team_id": team.id,
            "area_id": team.area_id,
            "type": type_,
            "occurred_at": at,
            "location": "other" if type_ == "treatment_entry_confirmed" else "street",
            "substances": ["opioids"],
            "created_at": at,
        },
        rules=False,
        at=at,
    )


def _episodes(uow, rng, clients: list[dict], navigators: list[User], now: datetime) -> int:
    today = now.date()
    for n, state in enumerate(EPISODES):
        client = clients[n % len(clients)]
        if state == "started_this_week":
            start = today - DAY * (n % 3)
        elif state == "due_to_end":
            start = add_months(today, -4) + DAY * 5
        else:
            start = today - DAY * rng.randint(20, 150)
        row: dict[str, Any] = {
            "id": uuid.UUID(int=rng.getrandbits(128), version=4),
            "client_id": client["id"],
            "team_id": client["team_id"],
            "area_id": client["area_id"],
            "kind": "checkpoint" if n % 4 else "other_scheme",
            "started_on": start,
            "planned_end_on": add_months(start, 4),
            "conditions": CONDITIONS[: 1 + n % 3],
            "navigator_id": rng.choice(navigators).id,
            "sessions": [(start + DAY * 14 * k).isoformat() for k in range(n % 4)],
            "next_session_on": today + DAY * 7,
            "created_at": datetime.combine(start, now.timetz()),
        }
        if state == "session_overdue":
            row["next_session_on"] = today - DAY * 3
        if state in ("completed", "not_completed", "withdrawn"):
            row.update(outcome=state, ended_on=min(start + DAY * 120, today), next_session_on=None)
        uow.create("episode", row, at=row["created_at"])
    return len(EPISODES)


def _same_person(uow, rng, street_clients, recovery: Team, staff, now: datetime) -> None:
    """The treatment team records, as a new client, a person the street team knows."""
    known = street_clients[-1]
    at = now - DAY * 2
    uow.create(
        "client",
        {
            **{k: known[k] for k in ("initials", "date_of_birth", "sex", "postcode_district")},
            "id": uuid.UUID(int=rng.getrandbits(128), version=4),
            "team_id": recovery.id,
            "area_id": recovery.area_id,
            "match_key": match_key(known["initials"], known["date_of_birth"], known["sex"]),
            "key_worker_id": staff[recovery.id][0].id,
            "created_by_id": staff[recovery.id][0].id,
            "created_at": at,
        },
        rules=False,
        at=at,
    )
