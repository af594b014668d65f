"""The same person across partner teams: found by match key only between teams with an
agreement in force, shown to both leads, linked only when a lead confirms."""

from __future__ import annotations

import uuid

from tests.pathways.conftest import make_agreement
from tests.pathways.helpers import one
from tests.sync.helpers import client_data, mutation

SAME = {"initials": "RT", "date_of_birth": "1988-02-11", "sex": "male"}


def _same_person_in_both_teams(custody, street) -> tuple[uuid.UUID, uuid.UUID]:
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    assert one(street, mutation("client", client_data(**SAME), id=mine))["status"] == "applied"
    other = client_data(**SAME, postcode_district="DL1", known_as=None)
    assert one(custody, mutation("client", other, id=theirs))["status"] == "applied"
    return mine, theirs


def test_both_leads_see_the_probable_duplicate_only_under_an_agreement(
    app, world, custody, street, login
):
    mine, theirs = _same_person_in_both_teams(custody, street)
    lead = login("lead")
    assert lead.get("/api/v1/pathways/duplicates").get_json()["items"] == []  # no agreement
    make_agreement(app, world)
    items = lead.get("/api/v1/pathways/duplicates").get_json()["items"]
    assert [(i["client_id"], i["other_client_id"]) for i in items] == [(str(mine), str(theirs))]
    assert items[0]["other_team"] == "Durham Custody Liaison"
    assert "initials" in items[0] and items[0]["initials"] == "RT"  # the lead's own client


def test_a_lead_links_the_pair_and_it_leaves_the_list(agreement, world, custody, street, login):
    mine, theirs = _same_person_in_both_teams(custody, street)
    lead = login("lead")
    body = {"client_id": str(mine), "other_client_id": str(theirs), "resolution": "linked"}
    response = lead.post("/api/v1/pathways/duplicates", json=body)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["resolution"] == "linked"
    assert lead.get("/api/v1/pathways/duplicates").get_json()["items"] == []
    # A pair nobody was shown is outside the scope.
    stranger = {**body, "other_client_id": str(uuid.uuid4())}
    assert lead.post("/api/v1/pathways/duplicates", json=stranger).status_code == 404
