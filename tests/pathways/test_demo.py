"""The demo world holds pathways at every stage, so the demo report shows every pathway
measure and each demo account sees its side of a pathway."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from outreach.access.models import Area
from outreach.core.extensions import db
from outreach.core.types import utcnow
from outreach.pathways.measures import COUNTS, pathway_counts
from outreach.pathways.models import Episode, Referral
from tests.conftest import ApiClient
from tests.pathways.helpers import pulled


def test_the_demo_has_every_stage_and_every_measure(app, client, runner):
    assert runner.invoke(args=["outreach", "demo"]).exit_code == 0
    with app.app_context():
        statuses = set(db.session.scalars(select(Referral.status)))
        outcomes = set(db.session.scalars(select(Episode.outcome)))
        durham = db.session.scalar(select(Area.id).where(Area.code == "durham"))
        today = utcnow().date()
        monday = today - timedelta(days=today.weekday())
        totals = dict.fromkeys(COUNTS, 0)
        for week in range(13):
            figures = pathway_counts([durham], monday - timedelta(weeks=week))[durham]
            for name in COUNTS:
                totals[name] += figures[name]
    assert statuses == {
        "sent",
        "accepted",
        "declined",
        "first_contact",
        "treatment_entry",
        "closed",
    }
    assert outcomes == {None, "completed", "not_completed", "withdrawn"}
    assert all(totals[name] > 0 for name in COUNTS), totals

    street = ApiClient(client, "worker.durham@outreach.test", "outreach-demo")
    changes, _ = pulled(street)
    incoming = [c["data"] for (entity, _), c in changes.items() if entity == "referral"]
    assert any(r["status"] == "sent" for r in incoming)
    shared = {r["client_id"] for r in incoming if r["status"] != "declined"}
    assert shared <= {rid for (entity, rid) in changes if entity == "client"}
    lead = ApiClient(client, "lead.recovery@outreach.test", "outreach-demo")
    assert lead.get("/api/v1/pathways/duplicates").get_json()["meta"]["total"] >= 1
    custody_lead = ApiClient(client, "lead.custody@outreach.test", "outreach-demo")
    attention = custody_lead.get("/api/v1/pathways/episodes/attention").get_json()["items"]
    assert any(e["due_to_end"] for e in attention) and any(e["session_overdue"] for e in attention)
    street_lead = ApiClient(client, "lead.durham@outreach.test", "outreach-demo")
    assert street_lead.get("/api/v1/pathways/waiting").get_json()["meta"]["total"] >= 1
