"""Reassigning clients: key worker and follow-ups move, the change log tells the team's
phones (checked in the log and, when the sync API is present, through real pulls),
history and audit record it, bad input changes nothing."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from outreach.access.models import User
from outreach.audit.models import AuditEvent
from outreach.core.extensions import db
from outreach.interventions.models import FollowUp
from outreach.people.models import Client
from outreach.records.models import RecordVersion
from tests.caseload.conftest import changes_after, max_seq, team_position


def pull(app, api, cursor: int) -> dict[tuple[str, str], str]:
    """{(entity, id): op} of everything `api`'s device pulls after `cursor` (all pages)."""
    seen: dict[tuple[str, str], str] = {}
    with app.app_context():  # a cursor is a position in the device's team's order
        team_id = db.session.scalar(select(User.team_id).where(User.email == api.email))
    position = f"{cursor}.t{team_id}"
    for _ in range(50):
        response = api.get(f"/api/v1/sync/pull?cursor={position}&limit=100")
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        for change in body["changes"]:
            seen[(change["entity"], change["id"])] = change
        position = body["cursor"]
        if not body["has_more"]:
            return seen
    raise AssertionError("pull did not finish")


def test_assign_one_client(app, street, lead, follow_up_in):
    c0 = street.clients[0]
    mine = follow_up_in(c0, street.team_id, 2, assigned_to_id=street.worker)
    theirs = follow_up_in(c0, street.team_id, 2, assigned_to_id=street.lead)
    with app.app_context():
        before = max_seq()
    response = lead.post(
        f"/api/v1/clients/{c0}/assign", json={"worker_id": street.worker2, "reason": "rebalance"}
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["assigned"] == [str(c0)] and body["unchanged"] == []
    assert body["follow_ups_moved"] == 1
    assert body["clients"] == [{"id": str(c0), "key_worker_id": street.worker2, "version": 2}]
    with app.app_context():
        client = db.session.get(Client, c0)
        assert client.key_worker_id == street.worker2 and client.version == 2
        assert db.session.get(FollowUp, mine).assigned_to_id == street.worker2
        assert db.session.get(FollowUp, theirs).assigned_to_id == street.lead
        assert changes_after(before) == [
            (street.team_id, "client", c0, "upsert"),
            (street.team_id, "follow_up", mine, "upsert"),
        ]
        assert client.server_seq == before + 1
        history = db.session.scalars(
            select(RecordVersion).where(RecordVersion.record_id == c0)
        ).all()
        # Version 1 is in history from the creation, as for every synced write.
        assert [(h.version, h.reason, h.data["key_worker_id"]) for h in history] == [
            (1, "create", street.worker),
            (2, "reassign", street.worker2),
        ]
        assert history[1].actor_id == street.lead
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "caseload.assign"))
        assert event.actor_id == street.lead and event.record_id == str(c0)
        assert event.detail == {
            "from": street.worker,
            "to": street.worker2,
            "reason": "rebalance",
            "version": 2,
            "follow_ups": 1,
        }
        assert event.device_id == lead.device_id


def test_both_workers_pull_the_change(app, street, lead, login, follow_up_in):
    c0 = street.clients[0]
    fu = follow_up_in(c0, street.team_id, 2, assigned_to_id=street.worker)
    old, new, custody = login("worker"), login("worker2"), login("custody")
    with app.app_context():
        before = max_seq()
        custody_before = team_position("custody")
    lead.post(
        f"/api/v1/clients/{c0}/assign",
        json={"worker_id": street.worker2, "reason": "worker_leaving"},
    )
    for phone in (old, new):
        got = pull(app, phone, before)
        client = got[("client", str(c0))]
        assert client["op"] == "upsert" and client["version"] == 2
        assert client["data"]["key_worker_id"] == street.worker2
        assert got[("follow_up", str(fu))]["data"]["assigned_to"] == street.worker2
    assert pull(app, custody, custody_before) == {}


def test_bulk_assign_is_all_or_nothing(app, street, lead):
    ids = [str(c) for c in street.clients] + [str(street.clients2[0])]
    with app.app_context():
        before = max_seq()
    response = lead.post(
        "/api/v1/caseload/assign",
        json={
            "client_ids": [*ids, str(street.other_team_client)],
            "worker_id": street.worker2,
            "reason": "rebalance",
        },
    )
    assert response.status_code == 404
    with app.app_context():
        assert max_seq() == before
        workers = {db.session.get(Client, i).key_worker_id for i in street.clients}
        assert workers == {street.worker}
    response = lead.post(
        "/api/v1/caseload/assign",
        json={"client_ids": ids + ids[:1], "worker_id": street.worker2, "reason": "rebalance"},
    )
    body = response.get_json()
    assert response.status_code == 200, body
    assert sorted(body["assigned"]) == sorted(ids[:3])
    assert body["unchanged"] == [str(street.clients2[0])]
    with app.app_context():
        assert [c[1:] for c in changes_after(before)] == [
            ("client", c, "upsert") for c in sorted(street.clients)
        ]
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "caseload.assign")
        ).all()
        assert sorted(e.record_id for e in events) == sorted(ids[:3])


def test_assigning_to_the_current_key_worker_changes_nothing(app, street, lead):
    with app.app_context():
        before = max_seq()
    body = lead.post(
        f"/api/v1/clients/{street.clients[0]}/assign",
        json={"worker_id": street.worker, "reason": "other"},
    ).get_json()
    assert body["assigned"] == [] and body["unchanged"] == [str(street.clients[0])]
    with app.app_context():
        assert max_seq() == before


def test_lead_may_take_a_client_themselves(app, street, lead):
    response = lead.post(
        f"/api/v1/clients/{street.clients[0]}/assign",
        json={"worker_id": street.lead, "reason": "worker_absent"},
    )
    assert response.status_code == 200
    assert response.get_json()["assigned"] == [str(street.clients[0])]
    with app.app_context():
        assert db.session.get(Client, street.clients[0]).key_worker_id == street.lead


def test_inactive_worker_is_refused(app, street, lead):

    with app.app_context():
        db.session.get(User, street.worker2).active = False
        db.session.commit()
        before = max_seq()
    response = lead.post(
        f"/api/v1/clients/{street.clients[0]}/assign",
        json={"worker_id": street.worker2, "reason": "rebalance"},
    )
    assert response.status_code == 422
    assert "worker_id" in response.get_json()["errors"]
    with app.app_context():
        assert max_seq() == before


def test_deleted_or_unknown_client_is_404(app, street, lead):
    from datetime import UTC, datetime

    with app.app_context():
        db.session.get(Client, street.clients[2]).deleted_at = datetime.now(UTC)
        db.session.commit()
    for client_id in (street.clients[2], uuid.uuid4()):
        response = lead.post(
            f"/api/v1/clients/{client_id}/assign",
            json={"worker_id": street.worker2, "reason": "rebalance"},
        )
        assert response.status_code == 404


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"worker_id", "reason"}),
        ({"worker_id": "x", "reason": "rebalance"}, {"worker_id"}),
        ({"worker_id": 1, "reason": "because I said so"}, {"reason"}),
        ({"worker_id": 1, "reason": "rebalance", "name": "AB"}, {"name"}),
    ],
)
def test_bad_assign_body_is_422(app, street, lead, body, fields):
    with app.app_context():
        before = max_seq()
    response = lead.post(f"/api/v1/clients/{street.clients[0]}/assign", json=body)
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == fields
    with app.app_context():
        assert max_seq() == before


@pytest.mark.parametrize(
    "body",
    [
        {"client_ids": [], "worker_id": 1, "reason": "rebalance"},
        {"client_ids": ["not-a-uuid"], "worker_id": 1, "reason": "rebalance"},
        {"client_ids": [str(uuid.uuid4())] * 501, "worker_id": 1, "reason": "rebalance"},
        {"worker_id": 1, "reason": "rebalance"},
    ],
)
def test_bad_bulk_body_is_422(street, lead, body):
    response = lead.post("/api/v1/caseload/assign", json=body)
    assert response.status_code == 422
    assert "client_ids" in response.get_json()["errors"]
