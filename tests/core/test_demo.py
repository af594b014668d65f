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
        assert utcnow() - oldest <= timedelta(weeks=12, days=1)
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
