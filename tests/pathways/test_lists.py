"""The pathways lists answer the one list shape and page with the total of the whole list
(as tests/core/test_lists.py holds for every other list), in a world with at least
three of each."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update

from outreach.access.models import Partnership, PartnershipTeam, Team
from outreach.core.extensions import db
from outreach.pathways.models import Referral
from tests.core.documented import Document
from tests.pathways.helpers import consented_client, referral_data
from tests.sync.helpers import mutation, push

PATHWAY_LISTS = {
    "GET /api/v1/admin/partnerships": ("admin", "/api/v1/admin/partnerships"),
    "GET /api/v1/pathways/partners": ("custody", "/api/v1/pathways/partners"),
    "GET /api/v1/pathways/referrals": ("custody", "/api/v1/pathways/referrals"),
    "GET /api/v1/pathways/waiting": ("lead", "/api/v1/pathways/waiting"),
    "GET /api/v1/pathways/duplicates": ("lead", "/api/v1/pathways/duplicates"),
    "GET /api/v1/pathways/episodes/attention": ("lead", "/api/v1/pathways/episodes/attention"),
}


@pytest.fixture(scope="module")
def document(app) -> Document:
    return Document(app)


def _world(app, world, login) -> None:
    with app.app_context():
        extra = []
        for name in ("Durham Recovery", "Durham Housing", "Durham Mental Health"):
            team = Team(area_id=world.area_ids["durham"], name=name, provider="P", active=True)
            db.session.add(team)
            db.session.flush()
            extra.append(team.id)
        teams = [world.team_ids["custody"], world.team_ids["street"], *extra]
        for n in range(3):
            p = Partnership(name=f"P{n}", agreement_ref=f"DSA-{n}", starts_on=date(2026, 1, 1))
            db.session.add(p)
            db.session.flush()
            for team_id in teams:
                db.session.add(PartnershipTeam(partnership_id=p.id, team_id=team_id))
        db.session.commit()
    custody = login("custody")
    mutations = []
    for _ in range(3):
        client_id = uuid.uuid4()
        mutations.append(mutation("client", consented_client(), id=client_id))
        mutations.append(mutation("referral", referral_data(client_id, world.team_ids["street"])))
    for n in range(3):  # the same people, recorded by both teams
        same = {"initials": "QQ", "date_of_birth": f"198{n}-01-01", "sex": "male"}
        mutations.append(mutation("client", consented_client(**same)))
        same_street = mutation("client", consented_client(**same))
        push(login("worker"), [same_street])
    street = login("worker")
    street_client = uuid.uuid4()
    episodes = [
        mutation(
            "episode",
            {
                "client_id": str(street_client),
                "kind": "checkpoint",
                "started_on": (date.today() - timedelta(days=115)).isoformat(),
            },
        )
        for _ in range(3)
    ]
    results = push(custody, mutations)["results"]
    results += push(street, [mutation("client", consented_client(), id=street_client), *episodes])[
        "results"
    ]
    assert {r["status"] for r in results} == {"applied"}, results
    with app.app_context():
        db.session.execute(update(Referral).values(sent_at=datetime.now(UTC) - timedelta(days=5)))
        db.session.commit()


def test_every_pathways_list_pages_with_the_total_of_the_whole_list(app, world, login, document):
    _world(app, world, login)
    callers = {who: login(who) for who in ("admin", "lead", "custody")}
    for label, (who, path) in PATHWAY_LISTS.items():
        api = callers[who]
        whole = document.check(api.get(path, query_string={"per_page": 200}), 200)
        total = whole["meta"]["total"]
        assert total == len(whole["items"]) >= 3, (label, whole["meta"])
        pages = []
        for page in range(1, (total + 1) // 2 + 1):
            body = document.check(api.get(path, query_string={"page": page, "per_page": 2}), 200)
            assert body["meta"] == {"page": page, "per_page": 2, "total": total}, label
            pages += body["items"]
        assert pages == whole["items"], f"{label}: pages skip or repeat items"
