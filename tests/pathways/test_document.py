"""Every pathways JSON operation's real responses held to the OpenAPI document
(tests/core/test_openapi_responses.py counts these as checked here)."""

from __future__ import annotations

from tests.core.documented import Document
from tests.pathways.helpers import refer
from tests.pathways.test_lists import _world

PATHWAYS_OPERATIONS = {
    "GET /api/v1/admin/partnerships",
    "POST /api/v1/admin/partnerships",
    "PATCH /api/v1/admin/partnerships/{partnership_id}",
    "GET /api/v1/pathways/partners",
    "GET /api/v1/pathways/referrals",
    "GET /api/v1/pathways/waiting",
    "GET /api/v1/pathways/episodes/attention",
    "GET /api/v1/pathways/clients/{client_id}",
    "GET /api/v1/pathways/duplicates",
    "POST /api/v1/pathways/duplicates",
}


def test_pathways_responses_hold_to_the_document(app, world, login):
    doc = Document(app)
    _world(app, world, login)
    admin, lead, custody = login("admin"), login("lead"), login("custody")
    body = {
        "name": "Another",
        "agreement_ref": "DSA-DOC",
        "starts_on": "2026-01-01",
        "team_ids": [world.team_ids["street"], world.team_ids["dorset"]],
    }
    made = doc.check(admin.post("/api/v1/admin/partnerships", json=body), 201)
    doc.check(admin.post("/api/v1/admin/partnerships", json=body), 409)
    doc.check(admin.get("/api/v1/admin/partnerships"), 200)
    path = f"/api/v1/admin/partnerships/{made['id']}"
    doc.check(admin.patch(path, json={"ends_on": "2026-06-30"}), 200)
    doc.check(admin.patch("/api/v1/admin/partnerships/999999", json={"name": "x"}), 404)
    client_id, _ = refer(custody, world.team_ids["street"])
    for api in (custody, lead):
        doc.check(api.get("/api/v1/pathways/partners"), 200)
        doc.check(api.get("/api/v1/pathways/referrals"), 200)
        doc.check(api.get(f"/api/v1/pathways/clients/{client_id}"), 200)
    doc.check(login("dorset").get(f"/api/v1/pathways/clients/{client_id}"), 404)
    doc.check(lead.get("/api/v1/pathways/waiting"), 200)
    doc.check(lead.get("/api/v1/pathways/episodes/attention"), 200)
    pairs = doc.check(lead.get("/api/v1/pathways/duplicates"), 200)["items"]
    confirm = {
        "client_id": pairs[0]["client_id"],
        "other_client_id": pairs[0]["other_client_id"],
        "resolution": "not_duplicate",
    }
    doc.check(lead.post("/api/v1/pathways/duplicates", json=confirm), 200)
    doc.check(lead.post("/api/v1/pathways/duplicates", json={**confirm, "resolution": "x"}), 422)
    assert doc.checked >= PATHWAYS_OPERATIONS, sorted(PATHWAYS_OPERATIONS - doc.checked)
