"""The team overview, and a worker's own caseload, checked against figures recomputed
here from the raw rows (not through the service's queries)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from outreach.access.models import Device, User
from outreach.core.extensions import db
from outreach.core.types import utcnow
from outreach.interventions.models import FollowUp, Intervention
from outreach.people.models import Client
from tests.caseload.conftest import add_intervention, london_today
from tests.factories import make_clients, make_follow_up, make_interventions

LONDON = ZoneInfo("Europe/London")


def _seed(app, world, street):
    """A messy week: records inside and outside every window, deleted rows, other teams."""
    now = utcnow()
    today = london_today()
    with app.app_context():
        team, area = street.team_id, street.area_id
        unassigned = make_clients(team, area, 1)[0]["id"]
        gone = make_clients(team, area, 1, key_worker_id=street.worker)[0]["id"]
        db.session.execute(update(Client).where(Client.id == gone).values(deleted_at=now))
        for days_ago in (0, 2, 6, 8, 15, 27, 29, 35, 60):
            when = now - timedelta(days=days_ago, minutes=5)
            add_intervention(
                team, area, street.worker, street.clients[0], type_="wound_care", occurred_at=when
            )
            add_intervention(
                team, area, street.worker2, street.clients2[0], type_="bbv_test", occurred_at=when
            )
        make_interventions(team, area, street.lead, 4, occurred_at=now - timedelta(hours=2))
        deleted = make_interventions(team, area, street.worker, 2, client_ids=[street.clients[1]])
        db.session.execute(
            update(Intervention)
            .where(Intervention.id.in_([r["id"] for r in deleted]))
            .values(deleted_at=now)
        )
        custody = world.team_ids["custody"]
        make_interventions(custody, area, world.user_ids["custody"], 5)
        for client_id, days, kw in [
            (street.clients[0], -3, {"assigned_to_id": street.worker}),
            (street.clients[0], 0, {"assigned_to_id": street.worker}),
            (street.clients[1], 7, {}),  # unassigned: the key worker's
            (street.clients[1], 8, {}),  # beyond the 7 days
            (street.clients2[0], -1, {"assigned_to_id": street.worker}),  # someone else's client
            (street.clients2[0], -10, {"done_at": now}),
            (unassigned, -2, {}),
            (gone, -2, {"assigned_to_id": street.worker}),
        ]:
            make_follow_up(client_id, team, today + timedelta(days=days), **kw)
        for user, hours in ((street.worker, 5), (street.worker, 50), (street.worker2, 1)):
            db.session.add(
                Device(
                    id=uuid.uuid4(),
                    user_id=user,
                    label="phone",
                    last_sync_at=now - timedelta(hours=hours),
                )
            )
        db.session.commit()


def _expected(team_id: int) -> dict:
    """The overview's figures from raw rows, computed in plain Python."""
    now = utcnow()
    today = now.astimezone(LONDON).date()
    monday = today - timedelta(days=today.weekday())

    def midnight(day):
        return datetime.combine(day, time(0), tzinfo=LONDON).astimezone(UTC)

    week_start, week_end = midnight(monday), midnight(monday + timedelta(days=7))
    four_start = midnight(monday - timedelta(days=28))
    clients = db.session.scalars(select(Client).where(Client.team_id == team_id)).all()
    live = {c.id: c for c in clients if c.deleted_at is None}
    out: dict[object, dict] = {}

    def row(user):
        return out.setdefault(
            user,
            {
                "open_clients": 0,
                "interventions_this_week": 0,
                "interventions_last_4_weeks": 0,
                "follow_ups_due": 0,
                "follow_ups_overdue": 0,
            },
        )

    for c in live.values():
        row(c.key_worker_id)["open_clients"] += 1
    for iv in db.session.scalars(select(Intervention).where(Intervention.team_id == team_id)):
        if iv.deleted_at is not None:
            continue
        if week_start <= iv.occurred_at < week_end:
            row(iv.worker_id)["interventions_this_week"] += 1
        elif four_start <= iv.occurred_at < week_start:
            row(iv.worker_id)["interventions_last_4_weeks"] += 1
    for fu in db.session.scalars(select(FollowUp).where(FollowUp.team_id == team_id)):
        if fu.done_at or fu.deleted_at or fu.client_id not in live:
            continue
        owner = fu.assigned_to_id or live[fu.client_id].key_worker_id
        if fu.due_on < today:
            row(owner)["follow_ups_overdue"] += 1
        elif fu.due_on <= today + timedelta(days=7):
            row(owner)["follow_ups_due"] += 1
    return out


def _last_sync(user_id):
    times = [d.last_sync_at for d in db.session.scalars(select(Device)) if d.user_id == user_id]
    times = [t for t in times if t]
    return max(times) if times else None


def test_overview_matches_raw_rows(app, world, street, lead):
    _seed(app, world, street)
    body = lead.get("/api/v1/caseload/overview").get_json()
    with app.app_context():
        expected = _expected(street.team_id)
        members = db.session.scalars(select(User).where(User.team_id == street.team_id)).all()
        syncs = {u.id: _last_sync(u.id) for u in members}
    rows = {w["worker_id"]: w for w in body["workers"]}
    assert set(rows) == {street.worker, street.worker2, street.lead}
    for user_id, figures in rows.items():
        want = expected.get(user_id, {})
        for key, value in want.items():
            assert figures[key] == value, (user_id, key)
        got = figures["last_sync_at"]
        assert (got and datetime.fromisoformat(got)) == syncs[user_id]
    unassigned = expected.get(None, {})
    assert body["unassigned"]["open_clients"] == unassigned.get("open_clients", 0)
    assert body["unassigned"]["follow_ups_overdue"] == unassigned.get("follow_ups_overdue", 0)
    for key in ("open_clients", "interventions_this_week", "follow_ups_overdue"):
        assert body["totals"][key] == sum(r.get(key, 0) for r in expected.values())
    assert rows[street.worker]["open_clients"] == 3  # the deleted client is not open
    assert rows[street.worker]["follow_ups_overdue"] == 2  # own client + the one assigned
    assert rows[street.worker]["follow_ups_due"] == 2  # due today + key worker's in 7 days
    assert rows[street.lead]["open_clients"] == 0
    assert body["team"]["name"] == "Durham Street Outreach"
    assert body["week"].startswith(str(london_today().isocalendar()[0]))


def test_overview_of_an_empty_team(app, world, login):
    body = login("lead_dorset").get("/api/v1/caseload/overview").get_json()
    assert [w["worker_id"] for w in body["workers"]] == sorted(
        [world.user_ids["dorset"], world.user_ids["lead_dorset"]],
        key=lambda i: {world.user_ids["dorset"]: "dorset", world.user_ids["lead_dorset"]: "lead"}[
            i
        ],
    )
    assert body["totals"]["open_clients"] == 0
    assert all(w["last_sync_at"] is None for w in body["workers"])


def test_mine_is_the_workers_subset(app, world, street, login):
    _seed(app, world, street)
    worker = login("worker")
    body = worker.get("/api/v1/caseload/mine").get_json()
    with app.app_context():
        expected = _expected(street.team_id)[street.worker]
        open_follow_ups = [
            fu
            for fu in db.session.scalars(select(FollowUp).where(FollowUp.team_id == street.team_id))
            if fu.done_at is None
            and db.session.get(Client, fu.client_id).deleted_at is None
            and (fu.assigned_to_id or db.session.get(Client, fu.client_id).key_worker_id)
            == street.worker
            and fu.due_on <= london_today() + timedelta(days=7)
        ]
    assert body["worker"]["worker_id"] == street.worker
    assert body["worker"]["open_clients"] == expected["open_clients"]
    assert sorted(i["id"] for i in body["items"]) == sorted(str(c) for c in street.clients)
    assert body["meta"]["total"] == 3
    assert sorted(f["id"] for f in body["follow_ups"]) == sorted(str(f.id) for f in open_follow_ups)
    assert [f["due_on"] for f in body["follow_ups"]] == sorted(
        f["due_on"] for f in body["follow_ups"]
    )
    assert all(
        f["overdue"] == (f["due_on"] < london_today().isoformat()) for f in body["follow_ups"]
    )
    # worker2's clients are not in worker's own view
    text = worker.get("/api/v1/caseload/mine").get_data(as_text=True)
    assert str(street.clients2[1]) not in text


def test_mine_pages(street, login):
    worker = login("worker")
    first = worker.get("/api/v1/caseload/mine?per_page=2&page=1&sort=initials").get_json()
    second = worker.get("/api/v1/caseload/mine?per_page=2&page=2&sort=initials").get_json()
    assert first["meta"] == {"page": 1, "per_page": 2, "total": 3}
    ids = [i["id"] for i in first["items"] + second["items"]]
    assert sorted(ids) == sorted(str(c) for c in street.clients)
