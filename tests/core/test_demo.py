"""The demo world: believable and idempotent."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from outreach.access.models import Area, Team, User
from outreach.core.extensions import db
from outreach.core.types import utcnow
from outreach.interventions.models import FollowUp, Intervention
from outreach.people.models import Client

DESIGN_ACCOUNTS = {
    "admin@outreach.test": "admin",
    "lead.durham@outreach.test": "team_lead",
    "worker.durham@outreach.test": "worker",
    "worker2.durham@outreach.test": "worker",
    "worker.custody@outreach.test": "worker",
    "worker.dorset@outreach.test": "worker",
    "commissioner.durham@outreach.test": "commissioner",
    "commissioner.southwest@outreach.test": "commissioner",
}


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_demo_loads_once_and_is_believable(app, runner):
    first = runner.invoke(args=["outreach", "demo"])
    assert first.exit_code == 0 and "loaded" in first.output
    with app.app_context():
        snapshot = (count(Client), count(Intervention), count(FollowUp), count(User))
    second = runner.invoke(args=["outreach", "demo"])
    assert second.exit_code == 0 and "already" in second.output
    with app.app_context():
        assert (count(Client), count(Intervention), count(FollowUp), count(User)) == snapshot
        assert count(Area) >= 3
        assert len(set(db.session.scalars(select(Area.region)))) >= 2
        durham = db.session.scalar(select(Area).where(Area.code == "durham"))
        assert count(Team, Team.area_id == durham.id) >= 2
        roles = dict(db.session.execute(select(User.email, User.role)).all())
        for email, role in DESIGN_ACCOUNTS.items():
            assert roles[email] == role
        sw = db.session.scalar(
            select(User).where(User.email == "commissioner.southwest@outreach.test")
        )
        assert [a.code for a in sw.commissioner_areas] == ["devon-and-cornwall", "dorset"]
        assert 30 <= count(Client) <= 50
        assert 200 <= count(Intervention) <= 600
        assert count(Intervention, Intervention.client_id.is_(None)) > 0
        oldest = db.session.scalar(select(func.min(Intervention.occurred_at)))
        # 12 weeks of trend, and older referrals' contacts: the cohorts the demo publishes
        assert utcnow() - oldest <= timedelta(weeks=19, days=1)
        assert utcnow() - oldest >= timedelta(weeks=8)
        today = utcnow().date()
        assert count(FollowUp, FollowUp.done_at.is_(None), FollowUp.due_on < today) > 0


def test_demo_password_signs_in(client, runner):
    import uuid

    runner.invoke(args=["outreach", "demo"])
    r = client.post(
        "/api/v1/auth/login",
        json={
            "email": "worker.durham@outreach.test",
            "password": "outreach-demo",
            "device_id": str(uuid.uuid4()),
        },
    )
    assert r.status_code == 200


def test_two_phones_editing_a_demo_client_keep_both_changes(app, runner, client):
    """A demo client's version 1 is in history (the demo writes through the unit of
    work), so a stale edit from a second phone merges three ways: each phone's change to
    its own field is kept."""
    import uuid

    from tests.conftest import ApiClient

    assert runner.invoke(args=["outreach", "demo"]).exit_code == 0
    with app.app_context():
        team = db.session.scalar(select(Team.id).where(Team.name == "Durham Street Outreach"))
        target = db.session.scalars(
            select(Client).where(Client.team_id == team).order_by(Client.id)
        ).first()
        record = {
            "id": str(target.id),
            "initials": target.initials,
            "date_of_birth": target.date_of_birth.isoformat(),
            "sex": target.sex,
            "postcode_district": target.postcode_district,
            "known_as": target.known_as,
            "key_worker_id": target.key_worker_id,
        }
        assert target.version == 1
    phones = [
        ApiClient(client, email, password="outreach-demo")
        for email in ("worker.durham@outreach.test", "worker2.durham@outreach.test")
    ]

    def edit(phone, **changes):
        body = {
            "device_id": str(phone.device_id),
            "schema_version": 1,
            "mutations": [
                {
                    "mutation_id": str(uuid.uuid4()),
                    "entity": "client",
                    "op": "upsert",
                    "id": record["id"],
                    "base_version": 1,
                    "data": {**record, **changes},
                }
            ],
        }
        response = phone.post("/api/v1/sync/push", json=body)
        assert response.status_code == 200, response.get_json()
        return response.get_json()["results"][0]

    new_district = "DH9" if record["postcode_district"] != "DH9" else "DH8"
    assert edit(phones[0], known_as="Robin")["status"] == "applied"
    second = edit(phones[1], postcode_district=new_district)
    assert second["status"] == "conflict"  # the phone is told the merged record
    merged = second["record"]["data"]
    assert merged["known_as"] == "Robin" and merged["postcode_district"] == new_district
    with app.app_context():
        stored = db.session.get(Client, target.id)
        assert (stored.known_as, stored.postcode_district) == ("Robin", new_district)
