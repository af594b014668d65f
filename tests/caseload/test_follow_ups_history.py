"""Closing and re-dating follow-ups; a client's history."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from outreach.audit.models import AuditEvent
from outreach.core.extensions import db
from outreach.interventions.models import FollowUp
from outreach.records.models import RecordVersion
from tests.caseload.conftest import add_intervention, changes_after, london_today, max_seq, now
from tests.caseload.test_assign import pull


def test_close_follow_up(app, street, lead, login, follow_up_in):
    fu = follow_up_in(street.clients[0], street.team_id, -2, assigned_to_id=street.worker)
    phone = login("worker")
    with app.app_context():
        before = max_seq()
    response = lead.post(f"/api/v1/follow-ups/{fu}/close")
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["done_at"] is not None and body["version"] == 2
    with app.app_context():
        assert changes_after(before) == [(street.team_id, "follow_up", fu, "upsert")]
        row = db.session.get(FollowUp, fu)
        assert row.done_at is not None and row.server_seq == body["server_seq"]
        history = db.session.scalar(
            select(RecordVersion).where(RecordVersion.record_id == fu, RecordVersion.version == 2)
        )
        assert history.reason == "close" and history.data["done_at"] is not None
        assert db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "caseload.follow_up_close")
        )
    got = pull(app, phone, before)
    assert got[("follow_up", str(fu))]["data"]["done_at"] is not None
    # closing again changes nothing
    with app.app_context():
        before = max_seq()
    again = lead.post(f"/api/v1/follow-ups/{fu}/close").get_json()
    assert again["done_at"] == body["done_at"] and again["version"] == 2
    with app.app_context():
        assert max_seq() == before
    overview = lead.get("/api/v1/caseload/overview").get_json()
    assert overview["totals"]["follow_ups_overdue"] == 0


def test_redate_follow_up(app, street, lead, follow_up_in):
    fu = follow_up_in(street.clients[0], street.team_id, -2)
    new_day = (london_today() + timedelta(days=10)).isoformat()
    with app.app_context():
        before = max_seq()
    response = lead.patch(f"/api/v1/follow-ups/{fu}", json={"due_on": new_day})
    assert response.status_code == 200
    assert response.get_json()["due_on"] == new_day
    with app.app_context():
        assert changes_after(before) == [(street.team_id, "follow_up", fu, "upsert")]
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "caseload.follow_up_redate")
        )
        assert event.detail["to"] == new_day
        before = max_seq()
    same = lead.patch(f"/api/v1/follow-ups/{fu}", json={"due_on": new_day})
    assert same.status_code == 200
    with app.app_context():
        assert max_seq() == before
    lead.post(f"/api/v1/follow-ups/{fu}/close")
    closed = lead.patch(f"/api/v1/follow-ups/{fu}", json={"due_on": "2031-01-01"})
    assert closed.status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "due_on"),
        ({"due_on": "next tuesday"}, "due_on"),
        ({"due_on": "2030-02-30"}, "due_on"),
        ({"due_on": "2030-01-01", "reason": "x"}, "reason"),
    ],
)
def test_redate_bad_input_is_422(app, street, lead, follow_up_in, body, field):
    fu = follow_up_in(street.clients[0], street.team_id, 1)
    with app.app_context():
        before = max_seq()
    response = lead.patch(f"/api/v1/follow-ups/{fu}", json=body)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    with app.app_context():
        assert max_seq() == before


def test_workers_cannot_close_or_redate(street, login, follow_up_in):
    fu = follow_up_in(street.clients[0], street.team_id, 1, assigned_to_id=street.worker)
    worker = login("worker")
    assert worker.post(f"/api/v1/follow-ups/{fu}/close").status_code == 403
    assert (
        worker.patch(f"/api/v1/follow-ups/{fu}", json={"due_on": "2030-01-01"}).status_code == 403
    )


def test_history_lists_everything_with_who_and_when(app, street, lead, login, follow_up_in):
    c0, c1 = street.clients[0], street.clients[1]
    happened = now() - timedelta(days=5)
    with app.app_context():
        iv = add_intervention(
            street.team_id,
            street.area_id,
            street.worker,
            c0,
            type_="naloxone_supplied",
            occurred_at=happened,
        )
        other_iv = add_intervention(
            street.team_id,
            street.area_id,
            street.worker2,
            c1,
            type_="wound_care",
            occurred_at=now() - timedelta(days=1),
        )
    fu = follow_up_in(c0, street.team_id, 4, assigned_to_id=street.worker)
    lead.post(
        f"/api/v1/clients/{c0}/assign", json={"worker_id": street.worker2, "reason": "location"}
    )
    lead.post(f"/api/v1/clients/{c0}/assign", json={"worker_id": street.lead, "reason": "other"})
    lead.post(f"/api/v1/clients/{c0}/merge", json={"other_client_id": str(c1)})
    body = login("worker").get(f"/api/v1/clients/{c0}/history").get_json()
    assert body["client"]["id"] == str(c0)
    events = body["items"]
    kinds = [e["kind"] for e in events]
    assert kinds.count("intervention") == 2 and kinds.count("follow_up") == 1
    # The first key worker (at creation), then the two reassignments.
    assert kinds.count("key_worker_change") == 3 and kinds.count("merge") == 1
    first = next(e for e in events if e["record_id"] == str(iv["id"]))
    assert first["type"] == "naloxone_supplied" and first["recorded_by_name"] == "Worker"
    assert datetime.fromisoformat(first["occurred_at"]) == happened.replace(
        microsecond=happened.microsecond
    )
    assert datetime.fromisoformat(first["recorded_at"]) > datetime.fromisoformat(
        first["occurred_at"]
    )
    assert any(e["record_id"] == str(other_iv["id"]) for e in events)  # moved by the merge
    changes = [e for e in events if e["kind"] == "key_worker_change"]
    assert [(c["from_worker_id"], c["to_worker_id"], c["change_reason"]) for c in changes] == [
        (street.worker2, street.lead, "other"),
        (street.worker, street.worker2, "location"),
        (None, street.worker, "create"),
    ]
    assert changes[0]["recorded_by_name"] == "Lead" and changes[1]["from_worker_name"] == "Worker"
    merge = next(e for e in events if e["kind"] == "merge")
    assert merge["merged_client_id"] == str(c1)
    follow = next(e for e in events if e["kind"] == "follow_up")
    assert follow["record_id"] == str(fu) and follow["assigned_to_id"] == street.lead
    paged = lead.get(f"/api/v1/clients/{c0}/history?per_page=2&page=3").get_json()
    assert paged["meta"] == {"page": 3, "per_page": 2, "total": 7}
    assert len(paged["items"]) == 2 and paged["client"]["id"] == str(c0)
    # the tombstone has no history of its own any more
    assert lead.get(f"/api/v1/clients/{c1}/history").status_code == 404


def test_history_summary_equals_the_list_row(app, street, lead, follow_up_in):
    from tests.caseload.conftest import add_duplicate

    c0, c1, c2 = street.clients
    with app.app_context():
        add_intervention(
            street.team_id,
            street.area_id,
            street.worker,
            c0,
            type_="referral_structured_treatment",
            occurred_at=now() - timedelta(days=40),
        )
        add_duplicate(street.team_id, c0, c1)
        add_duplicate(street.team_id, c2, c0)
    follow_up_in(c0, street.team_id, -1)
    follow_up_in(c0, street.team_id, 3)
    listed = {i["id"]: i for i in lead.get("/api/v1/caseload/clients").get_json()["items"]}
    summary = lead.get(f"/api/v1/clients/{c0}/history").get_json()["client"]
    assert summary == listed[str(c0)]
    assert len(summary["duplicates"]) == 2 and summary["follow_ups_overdue"] == 1
    assert summary["referred_at"] is not None
