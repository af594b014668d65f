"""Fixtures of the pathways tests: an agreement between Durham's custody and street
teams, and signed-in devices of each team."""

from __future__ import annotations

from datetime import date

import pytest

from outreach.access.models import Partnership, PartnershipTeam
from outreach.core.extensions import db
from outreach.org.service import create_user
from tests.conftest import ApiClient
from tests.factories import PASSWORD

CUSTODY_LEAD = "lead.custody@example.test"


@pytest.fixture
def agreement(app, world) -> int:
    """Durham Custody Liaison <-> Durham Street Outreach, in force since 2026-01-01."""
    return make_agreement(app, world)


def make_agreement(app, world) -> int:
    with app.app_context():
        p = Partnership(
            name="Durham pathway", agreement_ref="DSA-DUR-1", starts_on=date(2026, 1, 1)
        )
        db.session.add(p)
        db.session.flush()
        for key in ("custody", "street"):
            db.session.add(PartnershipTeam(partnership_id=p.id, team_id=world.team_ids[key]))
        db.session.commit()
        return p.id


@pytest.fixture
def custody(login):
    return login("custody")


@pytest.fixture
def street(login):
    return login("worker")


@pytest.fixture
def dorset(login):
    return login("dorset")


@pytest.fixture
def custody_lead(app, world, client) -> ApiClient:
    """A team lead of Durham Custody Liaison (the world has none), signed in."""
    with app.app_context():
        create_user(
            CUSTODY_LEAD,
            "Custody Lead",
            "team_lead",
            PASSWORD,
            team_id=world.team_ids["custody"],
            area_codes=[],
            actor_id=None,
            commit=True,
        )
    return ApiClient(client, CUSTODY_LEAD)
