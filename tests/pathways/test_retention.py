"""An anonymised client's pathway records keep their steps but lose their free text."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from outreach.core.extensions import db
from outreach.pathways.models import Episode, Referral
from outreach.pathways.retention import erase_pathway_text
from outreach.records.models import RecordVersion
from outreach.retention.service import apply_retention
from tests.factories import make_clients
from tests.pathways.helpers import make_episode, make_referral

AT = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def test_erasing_keeps_the_steps_and_drops_the_text_and_its_copies(app, world):
    with app.app_context():
        gone, kept = make_clients(world.team_ids["custody"], world.area_ids["durham"], 2)
        street = world.team_ids["street"]
        for client in (gone, kept):
            make_referral(client, street, AT, notes="Lives with a sister", status="accepted")
            make_episode(client, AT.date(), conditions=["Attend the clinic on Mondays"])
        assert erase_pathway_text([gone["id"]]) == 2
        db.session.commit()
        referral = db.session.scalars(
            select(Referral).where(Referral.client_id == gone["id"])
        ).one()
        episode = db.session.scalars(select(Episode).where(Episode.client_id == gone["id"])).one()
        assert referral.notes is None and referral.status == "accepted"
        assert episode.conditions == [] and episode.started_on == AT.date()
        copies = db.session.scalar(
            select(func.count()).where(RecordVersion.record_id.in_([referral.id, episode.id]))
        )
        assert copies == 0
        other = db.session.scalars(select(Referral).where(Referral.client_id == kept["id"])).one()
        assert other.notes == "Lives with a sister"


def test_the_retention_job_erases_an_expired_clients_pathway_text(app, world):
    with app.app_context():
        (gone,) = make_clients(world.team_ids["custody"], world.area_ids["durham"], 1)
        make_referral(gone, world.team_ids["street"], AT, notes="Lives with a sister")
        make_episode(gone, AT.date(), conditions=["Attend the clinic on Mondays"])
        db.session.commit()
        later = datetime(2040, 1, 1, tzinfo=UTC)
        assert apply_retention(now=later, years=7).clients >= 1
        referral = db.session.scalars(
            select(Referral).where(Referral.client_id == gone["id"])
        ).one()
        episode = db.session.scalars(select(Episode).where(Episode.client_id == gone["id"])).one()
        assert referral.notes is None and episode.conditions == []
