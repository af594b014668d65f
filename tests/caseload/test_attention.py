"""Attention and client lists: each rule, filters, sorting, paging, bad arguments."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.caseload.conftest import add_duplicate, add_intervention, now, set_created


def _contact(app, street, client_id, days_ago, type_="harm_reduction_advice", worker=None):
    with app.app_context():
        add_intervention(
            street.team_id,
            street.area_id,
            worker or street.worker,
            client_id,
            type_=type_,
            occurred_at=now() - timedelta(days=days_ago),
        )


@pytest.fixture
def scene(app, street, follow_up_in):
    """c0: seen 20 days ago; c1: seen 2 days ago, follow-up overdue; c2: referred 40 days
    ago, seen yesterday; w2a: referred 40 days ago then confirmed; w2b: new, never seen."""
    c0, c1, c2 = street.clients
    w2a, w2b = street.clients2
    _contact(app, street, c0, 20)
    _contact(app, street, c1, 2)
    follow_up_in(c1, street.team_id, -1)
    follow_up_in(c0, street.team_id, 2)  # due, not overdue
    _contact(app, street, c2, 40, "referral_structured_treatment")
    _contact(app, street, c2, 1)
    _contact(app, street, w2a, 40, "referral_structured_treatment", street.worker2)
    _contact(app, street, w2a, 10, "treatment_entry_confirmed", street.worker2)
    with app.app_context():
        set_created(w2b, now() - timedelta(days=1))
        for cid in (c0, c1, c2, w2a):
            set_created(cid, now() - timedelta(days=90))
    return street


def _reasons(body):
    return {item["id"]: item["reasons"] for item in body["items"]}


def test_attention_rules(scene, lead):
    s = scene
    c0, c1, c2 = (str(c) for c in s.clients)
    w2a, w2b = (str(c) for c in s.clients2)
    body = lead.get("/api/v1/caseload/attention").get_json()
    got = _reasons(body)
    assert got == {
        c0: ["no_contact"],
        c1: ["overdue_follow_up"],
        c2: ["treatment_not_confirmed"],
    }
    assert w2a not in got and w2b not in got
    assert body["meta"]["total"] == 3
    row = next(i for i in body["items"] if i["id"] == c0)
    assert row["days_since_contact"] == 20 and row["key_worker_id"] == s.worker
    assert row["key_worker_name"] == "Worker" and row["follow_ups_due"] == 1


def test_attention_thresholds_are_adjustable(scene, lead):
    c0, c1, c2 = (str(c) for c in scene.clients)
    got = _reasons(lead.get("/api/v1/caseload/attention?no_contact_days=30").get_json())
    assert c0 not in got
    got = _reasons(lead.get("/api/v1/caseload/attention?no_contact_days=2").get_json())
    assert "no_contact" in got[c1] and "no_contact" not in got.get(c2, [])
    got = _reasons(lead.get("/api/v1/caseload/attention?referral_days=60").get_json())
    assert c2 not in got


def test_never_seen_client_counts_from_creation(scene, lead, app):
    w2b = scene.clients2[1]
    with app.app_context():
        set_created(w2b, now() - timedelta(days=15))
    got = _reasons(lead.get("/api/v1/caseload/attention").get_json())
    assert got[str(w2b)] == ["no_contact"]


def test_duplicates_listed_with_their_link(app, scene, lead):
    c0, c1 = scene.clients[0], scene.clients[1]
    with app.app_context():
        dup = add_duplicate(scene.team_id, c0, c1)
    body = lead.get("/api/v1/caseload/attention?reason=duplicate").get_json()
    items = {i["id"]: i for i in body["items"]}
    assert set(items) == {str(c0), str(c1)}
    assert items[str(c0)]["duplicates"] == [{"duplicate_id": dup, "other_client_id": str(c1)}]
    assert items[str(c1)]["duplicates"] == [{"duplicate_id": dup, "other_client_id": str(c0)}]
    lead.post(f"/api/v1/caseload/duplicates/{dup}/dismiss")
    body = lead.get("/api/v1/caseload/attention?reason=duplicate").get_json()
    assert body["items"] == []


def test_filters_by_reason_worker_type_and_dates(scene, lead):
    c0, c1, c2 = (str(c) for c in scene.clients)
    got = _reasons(lead.get("/api/v1/caseload/attention?reason=overdue_follow_up").get_json())
    assert set(got) == {c1}
    got = _reasons(lead.get(f"/api/v1/caseload/attention?worker_id={scene.worker}").get_json())
    assert set(got) == {c0, c1, c2}
    got = _reasons(lead.get(f"/api/v1/caseload/attention?worker_id={scene.worker2}").get_json())
    assert got == {}
    url = "/api/v1/caseload/attention?type=referral_structured_treatment"
    assert set(_reasons(lead.get(url).get_json())) == {c2}
    day = (now() - timedelta(days=20)).date().isoformat()
    got = _reasons(lead.get(f"/api/v1/caseload/attention?from={day}&to={day}").get_json())
    assert set(got) == {c0}


def test_client_list_sorting_and_paging(scene, lead):
    everyone = {str(c) for c in scene.clients + scene.clients2}
    body = lead.get("/api/v1/caseload/clients?per_page=2").get_json()
    assert body["meta"] == {"page": 1, "per_page": 2, "total": 5}
    seen = []
    for page in (1, 2, 3):
        seen += [
            i["id"]
            for i in lead.get(f"/api/v1/caseload/clients?per_page=2&page={page}").get_json()[
                "items"
            ]
        ]
    assert sorted(seen) == sorted(everyone)
    # default: longest without contact first; never-seen clients before everyone
    order = [i["id"] for i in lead.get("/api/v1/caseload/clients").get_json()["items"]]
    assert order[0] == str(scene.clients2[1])
    assert order[1:] == [
        str(scene.clients[0]),
        str(scene.clients2[0]),
        str(scene.clients[1]),
        str(scene.clients[2]),
    ]
    reverse = [
        i["id"] for i in lead.get("/api/v1/caseload/clients?sort=-last_contact").get_json()["items"]
    ]
    assert reverse[0] == str(scene.clients[2])
    overdue = lead.get("/api/v1/caseload/clients?sort=-follow_ups_overdue").get_json()["items"]
    assert overdue[0]["id"] == str(scene.clients[1])
    mine = lead.get(f"/api/v1/caseload/clients?worker_id={scene.worker2}").get_json()
    assert {i["id"] for i in mine["items"]} == {str(c) for c in scene.clients2}
    assert lead.get("/api/v1/caseload/clients?unassigned=true").get_json()["items"] == []


def test_interventions_list(scene, lead):
    body = lead.get("/api/v1/caseload/interventions?per_page=3").get_json()
    assert body["meta"]["total"] == 6 and len(body["items"]) == 3
    times = [i["occurred_at"] for i in body["items"]]
    assert times == sorted(times, reverse=True)
    url = f"/api/v1/caseload/interventions?worker_id={scene.worker2}&type=treatment_entry_confirmed"
    items = lead.get(url).get_json()["items"]
    assert [i["client_id"] for i in items] == [str(scene.clients2[0])]
    assert items[0]["worker_name"] == "Worker2"
    old = lead.get("/api/v1/caseload/interventions?sort=occurred_at").get_json()["items"]
    assert old[0]["type"] == "referral_structured_treatment"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("no_contact_days=0", "no_contact_days"),
        ("no_contact_days=abc", "no_contact_days"),
        ("reason=bored", "reason"),
        ("sort=shoe_size", "sort"),
        ("type=coffee", "type"),
        ("from=yesterday", "from"),
        ("per_page=1000", "per_page"),
        ("page=0", "page"),
        ("worker_id=-1", "worker_id"),
    ],
)
def test_bad_arguments_are_422_with_the_field(scene, lead, query, field):
    response = lead.get(f"/api/v1/caseload/attention?{query}")
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == 422 and field in body["errors"]
