"""Real responses held to the app's own OpenAPI document.

Push and pull answer pre-built JSON (orjson; on PostgreSQL, pull's records are JSON the
database wrote), never a marshmallow dump, so nothing at run time holds them to
PushResultSchema and PullResultSchema. Here every push outcome (applied, duplicate,
conflict with its record, rejected), every kind of pull page (a first page with
`reference`, snapshot pages, an incremental page with upserts and removes), and every
other JSON operation, are checked against the schemas of /api/openapi.json
(tests/core/documented.py). Each test names the operations it checks; the last test
fails when the document has a JSON operation no test checks.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from outreach.core.extensions import db
from outreach.reports.models import ReportDelivery
from tests.conftest import ApiClient
from tests.core.documented import Document
from tests.pathways.test_document import PATHWAYS_OPERATIONS
from tests.sync.helpers import client_data, intervention_data, mutation

PUSH = "POST /api/v1/sync/push"
PULL = "GET /api/v1/sync/pull"
SYNC_OPERATIONS = {PUSH, PULL}
CASELOAD_OPERATIONS = {
    "GET /api/v1/caseload/overview",
    "GET /api/v1/caseload/attention",
    "GET /api/v1/caseload/clients",
    "GET /api/v1/caseload/interventions",
    "GET /api/v1/caseload/mine",
    "GET /api/v1/caseload/duplicates",
    "GET /api/v1/clients/{client_id}/history",
    "POST /api/v1/clients/{client_id}/assign",
    "POST /api/v1/caseload/assign",
    "POST /api/v1/clients/{client_id}/merge",
    "POST /api/v1/caseload/duplicates/{duplicate_id}/dismiss",
    "POST /api/v1/follow-ups/{follow_up_id}/close",
    "PATCH /api/v1/follow-ups/{follow_up_id}",
}
ADMIN_OPERATIONS = {
    "GET /api/v1/admin/areas",
    "POST /api/v1/admin/areas",
    "PATCH /api/v1/admin/areas/{area_id}",
    "GET /api/v1/admin/teams",
    "POST /api/v1/admin/teams",
    "PATCH /api/v1/admin/teams/{team_id}",
    "GET /api/v1/admin/users",
    "POST /api/v1/admin/users",
    "GET /api/v1/admin/users/{user_id}",
    "PATCH /api/v1/admin/users/{user_id}",
    "GET /api/v1/admin/devices",
    "POST /api/v1/admin/devices/{device_id}/revoke",
    "GET /api/v1/admin/audit",
    "GET /api/v1/admin/deliveries",
}
ACCOUNT_OPERATIONS = {
    "GET /api/v1/health",
    "GET /api/v1/me",
    "POST /api/v1/auth/login",
    "POST /api/v1/auth/refresh",
    "POST /api/v1/auth/logout",
    "POST /api/v1/auth/device-key",
    "POST /api/v1/auth/pin-failures",
    "GET /api/v1/auth/team-lock-events",
    "GET /api/v1/reports/weekly",
}
# Files, not JSON: tests/reports checks them.
NOT_JSON = {"GET /api/v1/reports/weekly.pdf", "GET /api/v1/reports/weekly.csv"}


@pytest.fixture(scope="session")
def openapi_document(app) -> Document:
    return Document(app)


@pytest.fixture
def doc(openapi_document) -> Document:
    """The document, counting only this test's checks."""
    openapi_document.checked = set()
    return openapi_document


def assert_covered(doc: Document, operations: set[str]) -> None:
    assert operations <= doc.checked, sorted(operations - doc.checked)


def _push(doc: Document, api: ApiClient, mutations: list) -> list[dict]:
    body = {"device_id": str(api.device_id), "schema_version": 1, "mutations": mutations}
    return doc.check(api.post("/api/v1/sync/push", json=body), 200)["results"]


def _pull(doc: Document, api: ApiClient, cursor: str | None = None, limit: int = 500) -> dict:
    query = {"limit": limit, **({"cursor": cursor} if cursor else {})}
    return doc.check(api.get("/api/v1/sync/pull", query_string=query), 200)


def _in_days(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


def test_push_results_hold_to_the_document(doc, login):
    worker, worker2 = login("worker"), login("worker2")
    client_id = uuid.uuid4()
    create = mutation("client", client_data(), id=client_id)
    contact = mutation("intervention", intervention_data(client_id, follow_up_on=_in_days(3)))
    anonymous = mutation("intervention", intervention_data())
    malformed = [
        {"entity": "spaceship", "mutation_id": "phone-1\x00", "id": "\x00"},
        None,
        mutation("client", client_data(initials="1")),
    ]
    batch = [create, contact, anonymous, *malformed]
    first = _push(doc, worker, batch)
    assert [r["status"] for r in first] == ["applied"] * 3 + ["rejected"] * 3

    again = _push(doc, worker, batch)
    assert [(r["status"], r.get("original_status")) for r in again[:3]] == [
        ("duplicate", "applied")
    ] * 3
    (taken,) = _push(doc, worker2, [create])  # another user's mutation id
    assert taken["status"] == "rejected" and taken["id"] is None

    # The same field edited on two phones from version 1: the server's value stays, and
    # the result carries the record as it now is.
    _push(doc, worker, [mutation("client", client_data(known_as="Jo-Jo"), id=client_id, base=1)])
    stale = mutation("client", client_data(known_as="Joanne"), id=client_id, base=1)
    (conflict,) = _push(doc, worker2, [stale])
    assert conflict["status"] == "conflict"
    assert conflict["record"]["data"]["known_as"] == "Jo-Jo"
    assert conflict["record"]["deleted"] is False

    # An edit of a deleted record: a conflict whose record stays deleted; repeated, the
    # duplicate carries that record too.
    gone = mutation("intervention", op="delete", id=anonymous["id"], base=1)
    assert _push(doc, worker, [gone])[0]["status"] == "applied"
    late = mutation(
        "intervention", intervention_data(location="hostel"), id=anonymous["id"], base=1
    )
    (edit,) = _push(doc, worker2, [late])
    assert edit["status"] == "conflict" and edit["record"]["deleted"] is True
    (repeat,) = _push(doc, worker2, [late])
    assert repeat["status"] == "duplicate" and repeat["record"] == edit["record"]
    assert_covered(doc, {PUSH})


def test_pull_pages_hold_to_the_document(doc, login):
    worker, phone = login("worker"), login("worker2")
    clients = [mutation("client", client_data(initials=f"A{c}")) for c in "BCD"]
    contact = mutation(
        "intervention", intervention_data(clients[0]["id"], follow_up_on=_in_days(2))
    )
    anonymous = mutation("intervention", intervention_data())
    _push(doc, worker, [*clients, contact, anonymous])

    first = _pull(doc, phone, limit=2)
    reference = {"codes", "team", "workers", "partners"}
    assert first["has_more"] and set(first["reference"]) == reference
    pages = [first]
    while pages[-1]["has_more"]:
        pages.append(_pull(doc, phone, pages[-1]["cursor"], limit=2))
        assert "reference" not in pages[-1]
    pulled = {(c["entity"], c["id"]) for page in pages for c in page["changes"]}
    assert {"client", "intervention", "follow_up"} == {entity for entity, _ in pulled}

    edit = mutation("client", client_data(initials="AB", known_as="Bee"), id=clients[0]["id"])
    edit["base_version"] = 1
    removal = mutation("intervention", op="delete", id=anonymous["id"], base=1)
    _push(doc, worker, [edit, removal])
    later = _pull(doc, phone, pages[-1]["cursor"])
    assert {(c["entity"], c["op"]) for c in later["changes"]} >= {
        ("client", "upsert"),
        ("intervention", "remove"),
    }
    assert_covered(doc, {PULL})


def _lead_world(doc: Document, worker: ApiClient) -> dict:
    """Through a worker's push: one person recorded three times (probable duplicates),
    another client, contacts, and a follow-up."""
    same = client_data(initials="PD", date_of_birth="1979-03-02", sex="male")
    triple = [mutation("client", dict(same)) for _ in range(3)]
    other = mutation("client", client_data(initials="OC"))
    contacts = [
        mutation("intervention", intervention_data(triple[0]["id"], follow_up_on=_in_days(5))),
        mutation(
            "intervention", intervention_data(other["id"], type="naloxone_supplied", quantity=2)
        ),
    ]
    results = _push(doc, worker, [*triple, other, *contacts])
    assert {r["status"] for r in results} == {"applied"}
    return {"triple": [m["id"] for m in triple], "other": other["id"]}


def test_caseload_responses_hold_to_the_document(doc, login, world):
    worker, lead = login("worker"), login("lead")
    made = _lead_world(doc, worker)
    keep, merged, dismissed = made["triple"]
    worker2 = world.user_ids["worker2"]

    doc.check(lead.get("/api/v1/caseload/overview"), 200)
    doc.check(lead.get("/api/v1/caseload/attention?no_contact_days=1"), 200)
    doc.check(lead.get("/api/v1/caseload/clients?sort=-initials"), 200)
    doc.check(lead.get("/api/v1/caseload/interventions?per_page=1"), 200)
    pairs = doc.check(lead.get("/api/v1/caseload/duplicates"), 200)["items"]
    assert len(pairs) == 2

    doc.check(lead.post(f"/api/v1/clients/{keep}/merge", json={"other_client_id": merged}), 200)
    left = doc.check(lead.get("/api/v1/caseload/duplicates"), 200)["items"]
    doc.check(lead.post(f"/api/v1/caseload/duplicates/{left[0]['id']}/dismiss"), 200)
    assert {left[0]["client"]["id"], left[0]["other_client"]["id"]} == {keep, dismissed}

    reassign = {"worker_id": worker2, "reason": "rebalance"}
    doc.check(lead.post(f"/api/v1/clients/{made['other']}/assign", json=reassign), 200)
    many = {**reassign, "client_ids": [keep, dismissed]}
    doc.check(lead.post("/api/v1/caseload/assign", json=many), 200)

    history = doc.check(lead.get(f"/api/v1/clients/{keep}/history"), 200)
    kinds = {event["kind"] for event in history["items"]}
    assert kinds == {"intervention", "follow_up", "key_worker_change", "merge"}
    follow_up = next(e["record_id"] for e in history["items"] if e["kind"] == "follow_up")
    doc.check(lead.patch(f"/api/v1/follow-ups/{follow_up}", json={"due_on": _in_days(9)}), 200)
    doc.check(lead.post(f"/api/v1/follow-ups/{follow_up}/close"), 200)
    doc.check(login("worker2").get("/api/v1/caseload/mine"), 200)

    # Refusals answer the error envelope the document gives them.
    doc.check(worker.get("/api/v1/caseload/overview"), 403)
    doc.check(lead.get(f"/api/v1/clients/{uuid.uuid4()}/history"), 404)
    doc.check(lead.get("/api/v1/caseload/clients?per_page=0"), 422)
    assert_covered(doc, CASELOAD_OPERATIONS)


def test_admin_responses_hold_to_the_document(app, doc, login, world):
    admin, worker = login("admin"), login("worker")
    area = doc.check(
        admin.post("/api/v1/admin/areas", json={"code": "kent", "name": "Kent", "region": "SE"}),
        201,
    )
    doc.check(admin.patch(f"/api/v1/admin/areas/{area['id']}", json={"active": False}), 200)
    doc.check(admin.get("/api/v1/admin/areas"), 200)
    team = {"area_id": area["id"], "name": "Kent Outreach", "provider": "KCC"}
    team = doc.check(admin.post("/api/v1/admin/teams", json=team), 201)
    doc.check(admin.patch(f"/api/v1/admin/teams/{team['id']}", json={"name": "Kent"}), 200)
    doc.check(admin.get("/api/v1/admin/teams"), 200)
    new_user = {
        "email": "pcc.kent@example.test",
        "name": "PCC Kent",
        "role": "commissioner",
        "password": "correct-horse-battery",
        "areas": ["kent"],
    }
    user = doc.check(admin.post("/api/v1/admin/users", json=new_user), 201)
    doc.check(admin.get(f"/api/v1/admin/users/{user['id']}"), 200)
    doc.check(admin.patch(f"/api/v1/admin/users/{user['id']}", json={"name": "Kent PCC"}), 200)
    doc.check(admin.get("/api/v1/admin/users?role=worker"), 200)
    doc.check(admin.get("/api/v1/admin/devices"), 200)
    doc.check(admin.post(f"/api/v1/admin/devices/{worker.device_id}/revoke"), 200)
    doc.check(admin.get("/api/v1/admin/audit?per_page=5"), 200)

    with app.app_context():
        for period, status in (("2026-W01", "sent"), ("2026-W02", "failed")):
            db.session.add(
                ReportDelivery(
                    recipient_id=world.user_ids["commissioner"],
                    email=world.emails["commissioner"],
                    period=period,
                    status=status,
                    attempts=1,
                    last_error="ConnectionRefusedError" if status == "failed" else None,
                )
            )
        db.session.commit()
    assert len(doc.check(admin.get("/api/v1/admin/deliveries"), 200)["items"]) == 2

    doc.check(admin.post("/api/v1/admin/areas", json=area | {"id": None}), 422)
    doc.check(login("lead").get("/api/v1/admin/users"), 403)
    doc.check(admin.patch("/api/v1/admin/teams/999999", json={"name": "X"}), 404)
    assert_covered(doc, ADMIN_OPERATIONS)


def test_account_and_report_responses_hold_to_the_document(client, doc, login, world):
    doc.check(client.get("/api/v1/health"), 200)
    doc.check(client.get("/api/v1/me"), 401)
    for who in ("worker", "lead", "commissioner", "admin"):
        doc.check(login(who).get("/api/v1/me"), 200)
    credentials = {
        "email": world.emails["worker"],
        "password": "correct-horse-battery",
        "device_id": str(uuid.uuid4()),
    }
    tokens = doc.check(client.post("/api/v1/auth/login", json=credentials), 200)
    refresh = {"Authorization": f"Bearer {tokens['refresh_token']}"}
    pair = doc.check(client.post("/api/v1/auth/refresh", headers=refresh), 200)
    # Once its successor is spent, the old token is refused (no grace for a lost answer).
    successor = {"Authorization": f"Bearer {pair['refresh_token']}"}
    doc.check(client.post("/api/v1/auth/refresh", headers=successor), 200)
    doc.check(client.post("/api/v1/auth/refresh", headers=refresh), 401)  # spent
    access = {"Authorization": f"Bearer {pair['access_token']}"}
    phone = login("worker")
    doc.check(phone.post("/api/v1/auth/device-key"), 200)
    doc.check(phone.post("/api/v1/auth/pin-failures", json={"count": 2}), 204)
    doc.check(phone.post("/api/v1/auth/pin-failures", json={}), 422)
    doc.check(client.post("/api/v1/auth/logout", headers=access), 204)
    doc.check(client.post("/api/v1/auth/refresh", headers=refresh), 401)  # ended
    doc.check(client.post("/api/v1/auth/login", json=credentials | {"password": "wrong"}), 401)
    other = credentials | {"email": world.emails["worker2"]}
    waiting = {"waiting_for_user_id": world.user_ids["worker"]}
    doc.check(client.post("/api/v1/auth/login", json=other | waiting), 409)
    doc.check(login("lead").get("/api/v1/auth/team-lock-events"), 200)
    doc.check(login("worker").get("/api/v1/auth/team-lock-events"), 403)

    doc.check(login("commissioner").get("/api/v1/reports/weekly"), 200)
    doc.check(login("admin").get("/api/v1/reports/weekly?area=durham"), 200)
    doc.check(login("commissioner").get("/api/v1/reports/weekly?area=dorset"), 404)
    assert_covered(doc, ACCOUNT_OPERATIONS)


def test_every_json_operation_is_checked_here(openapi_document):
    """A new JSON operation needs a check above (add it to one of the sets)."""
    documented = {f"{method} {path}" for method, path, _ in openapi_document.operations()}
    checked = SYNC_OPERATIONS | CASELOAD_OPERATIONS | ADMIN_OPERATIONS | ACCOUNT_OPERATIONS
    checked |= PATHWAYS_OPERATIONS  # tests/pathways/test_document.py
    assert documented - NOT_JSON == checked
