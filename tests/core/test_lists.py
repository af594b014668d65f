"""Every list answers one shape, `{"items": [...], "meta": {"page", "per_page", "total"}}`
(keys beside the two where a list has them), paged by `page` and `per_page`, with the
total of the whole list."""

from __future__ import annotations

import pytest

from outreach.core.extensions import db
from outreach.reports.models import ReportDelivery
from tests.core.documented import Document
from tests.pathways.test_lists import PATHWAY_LISTS
from tests.sync.helpers import client_data, intervention_data, mutation

PAGE_META = "#/components/schemas/PageMeta"
# Every list: who reads it, and where.
LISTS = {
    "GET /api/v1/admin/areas": ("admin", "/api/v1/admin/areas"),
    "GET /api/v1/admin/teams": ("admin", "/api/v1/admin/teams"),
    "GET /api/v1/admin/users": ("admin", "/api/v1/admin/users"),
    "GET /api/v1/admin/devices": ("admin", "/api/v1/admin/devices"),
    "GET /api/v1/admin/audit": ("admin", "/api/v1/admin/audit"),
    "GET /api/v1/admin/deliveries": ("admin", "/api/v1/admin/deliveries"),
    "GET /api/v1/caseload/attention": ("lead", "/api/v1/caseload/attention"),
    "GET /api/v1/caseload/clients": ("lead", "/api/v1/caseload/clients"),
    "GET /api/v1/caseload/interventions": ("lead", "/api/v1/caseload/interventions"),
    "GET /api/v1/caseload/duplicates": ("lead", "/api/v1/caseload/duplicates"),
    "GET /api/v1/caseload/mine": ("worker", "/api/v1/caseload/mine"),
    "GET /api/v1/clients/{client_id}/history": ("lead", "/api/v1/clients/{client_id}/history"),
}


@pytest.fixture(scope="session")
def document(app) -> Document:
    return Document(app)


def _paged(document: Document) -> set[str]:
    """The operations the document gives `page` and `per_page` arguments."""
    out = set()
    for method, path, operation in document.operations():
        names = {p.get("name") for p in operation.get("parameters", [])}
        if {"page", "per_page"} <= names:
            out.add(f"{method} {path}")
    return out


def test_every_list_operation_answers_items_and_meta(document):
    paged = _paged(document)
    # The pathways slice pages its lists in its own world (tests/pathways/test_lists.py).
    # A team's lock events (wrong PINs) are made by phones: tests/auth/test_device_keys.py.
    every = set(LISTS) | set(PATHWAY_LISTS) | {"GET /api/v1/auth/team-lock-events"}
    assert paged == every, sorted(paged ^ every)
    for method, path, operation in document.operations():
        for status, response in operation["responses"].items():
            content = document.resolve(response).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            if schema is None:
                continue
            schema = document.resolve(schema)
            label = f"{method} {path} {status}"
            assert schema.get("type") != "array", f"{label}: a bare array"
            if f"{method} {path}" in paged and status == "200":
                properties = schema["properties"]
                assert {"items", "meta"} <= set(schema["required"]), label
                assert properties["meta"] == {"$ref": PAGE_META}, label
                assert properties["items"]["type"] == "array", label
                assert "$ref" in properties["items"]["items"], f"{label}: items of no schema"


def _lists_world(app, world, login) -> dict:
    """At least three of everything a list shows."""
    worker_id = world.user_ids["worker"]
    same = client_data(initials="PD", date_of_birth="1979-03-02", key_worker_id=worker_id)
    copies = [mutation("client", dict(same)) for _ in range(4)]  # three duplicate links
    first = copies[0]["id"]
    contacts = [mutation("intervention", intervention_data(first)) for _ in range(3)]
    worker = login("worker")
    for _ in range(2):
        login("worker")  # more devices
    body = {"device_id": str(worker.device_id), "schema_version": 1}
    results = worker.post(
        "/api/v1/sync/push", json={**body, "mutations": [*copies, *contacts]}
    ).get_json()["results"]
    assert {r["status"] for r in results} == {"applied"}
    admin = login("admin")
    admin.post("/api/v1/admin/areas", json={"code": "kent", "name": "Kent", "region": "SE"})
    with app.app_context():
        for week in ("2026-W01", "2026-W02", "2026-W03"):
            db.session.add(
                ReportDelivery(
                    recipient_id=world.user_ids["commissioner"],
                    email=world.emails["commissioner"],
                    period=week,
                )
            )
        db.session.commit()
    return {"client": first}


def test_every_list_pages_with_the_total_of_the_whole_list(app, world, login, document):
    made = _lists_world(app, world, login)
    callers = {who: login(who) for who in ("admin", "lead", "worker")}
    for label, (who, path) in LISTS.items():
        api = callers[who]
        path = path.format(client_id=made["client"])
        whole = document.check(api.get(path, query_string={"per_page": 200}), 200)
        total = whole["meta"]["total"]
        assert total == len(whole["items"]) >= 3, (label, whole["meta"])
        pages = []
        for page in range(1, (total + 1) // 2 + 1):
            body = document.check(api.get(path, query_string={"page": page, "per_page": 2}), 200)
            assert body["meta"] == {"page": page, "per_page": 2, "total": total}, label
            assert len(body["items"]) == min(2, total - 2 * (page - 1)), label
            pages += body["items"]
        assert pages == whole["items"], f"{label}: pages skip or repeat items"
        beyond = api.get(path, query_string={"page": total + 1, "per_page": 2}).get_json()
        assert beyond["items"] == [] and beyond["meta"]["total"] == total, label
