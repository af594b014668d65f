"""Field-level rules of a push: a worker cannot do a lead's action by editing the
record on the phone (key worker, colleagues' follow-ups); a lead's key-worker change
through push is audited and shown in the client's history as a reassignment."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select

from outreach.audit.models import AuditEvent
from outreach.core.extensions import db
from outreach.interventions.models import FollowUp
from outreach.people.models import Client
from tests.factories import make_clients, make_follow_up
from tests.sync.helpers import client_data, mutation, push


def _street_client(app, world, key_worker: str = "worker") -> dict:
    with app.app_context():
        return make_clients(
            world.team_ids["street"],
            world.area_ids["durham"],
            1,
            key_worker_id=world.user_ids[key_worker],
        )[0]


def _client_edit(row: dict, **over) -> dict:
    data = {
        "initials": row["initials"],
        "date_of_birth": row["date_of_birth"].isoformat(),
        "sex": row["sex"],
        "postcode_district": row["postcode_district"],
        "known_as": row["known_as"],
        "key_worker_id": row["key_worker_id"],
    }
    data.update(over)
    return mutation("client", data, id=row["id"], base=1)


def _key_worker(app, client_id):
    with app.app_context():
        return db.session.get(Client, uuid.UUID(str(client_id))).key_worker_id


def test_worker_cannot_change_a_clients_key_worker_through_push(app, world, login):
    row = _street_client(app, world)
    worker = login("worker")
    result = push(worker, [_client_edit(row, key_worker_id=world.user_ids["worker2"])])
    r = result["results"][0]
    assert r["status"] == "rejected"
    assert "team lead" in r["errors"]["key_worker_id"][0]
    assert _key_worker(app, row["id"]) == world.user_ids["worker"]
    # Other changes of the same client still go through.
    again = push(worker, [_client_edit(row, known_as="Jo")])["results"][0]
    assert again["status"] == "applied"


def test_new_client_from_a_worker_gets_them_as_key_worker_unless_named(app, world, login):
    worker = login("worker")
    plain, named = (
        mutation("client", client_data()),
        mutation("client", client_data(initials="AB", key_worker_id=world.user_ids["worker2"])),
    )
    results = push(worker, [plain, named])["results"]
    assert [r["status"] for r in results] == ["applied", "applied"]
    assert _key_worker(app, plain["id"]) == world.user_ids["worker"]
    assert _key_worker(app, named["id"]) == world.user_ids["worker2"]


def test_lead_key_worker_change_through_push_is_audited_as_a_reassignment(app, world, login):
    row = _street_client(app, world)
    lead = login("lead")
    result = push(lead, [_client_edit(row, key_worker_id=world.user_ids["worker2"])])
    assert result["results"][0]["status"] == "applied"
    assert _key_worker(app, row["id"]) == world.user_ids["worker2"]
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.entity == "client", AuditEvent.action == "sync.assign"
            )
        )
        assert event is not None and event.actor_id == world.user_ids["lead"]
        assert event.detail["from"] == world.user_ids["worker"]
        assert event.detail["to"] == world.user_ids["worker2"]
    history = lead.get(f"/api/v1/clients/{row['id']}/history").get_json()["items"]
    changes = [e for e in history if e["kind"] == "key_worker_change"]
    assert (changes[0]["from_worker_id"], changes[0]["to_worker_id"]) == (
        world.user_ids["worker"],
        world.user_ids["worker2"],
    )
    assert changes[0]["change_reason"] == "other"
    assert changes[0]["recorded_by_name"] == "Lead"


def _follow_up_edit(row: dict, client_id, **over) -> dict:
    data = {
        "client_id": str(client_id),
        "due_on": row["due_on"].isoformat(),
        "reason": row["reason"],
        "assigned_to": row["assigned_to_id"],
    }
    data.update(over)
    return mutation("follow_up", data, id=row["id"], base=1)


def test_worker_cannot_redate_or_take_a_colleagues_follow_up(app, world, login):
    row = _street_client(app, world, "worker2")
    with app.app_context():
        fu = make_follow_up(
            row["id"],
            world.team_ids["street"],
            date(2030, 1, 1),
            assigned_to_id=world.user_ids["worker2"],
        )
    worker = login("worker")
    results = push(
        worker,
        [
            _follow_up_edit(fu, row["id"], due_on="2031-01-01"),
            _follow_up_edit(fu, row["id"], assigned_to=world.user_ids["worker"]),
        ],
    )["results"]
    assert [r["status"] for r in results] == ["rejected", "rejected"]
    assert "due date" in results[0]["errors"]["due_on"][0]
    assert "assignee" in results[1]["errors"]["assigned_to"][0]
    with app.app_context():
        stored = db.session.get(FollowUp, fu["id"])
        assert stored.due_on == date(2030, 1, 1)
        assert stored.assigned_to_id == world.user_ids["worker2"]
    # The assignee may re-date their own; the lead may change anything.
    own = push(login("worker2"), [_follow_up_edit(fu, row["id"], due_on="2031-01-01")])
    assert own["results"][0]["status"] == "applied"
    by_lead = push(
        login("lead"),
        [
            {
                **_follow_up_edit(
                    fu, row["id"], due_on="2031-01-01", assigned_to=world.user_ids["worker"]
                ),
                "base_version": 2,
            }
        ],
    )
    assert by_lead["results"][0]["status"] == "applied"


def test_worker_cannot_give_their_follow_up_to_a_colleague(app, world, login):
    row = _street_client(app, world)
    with app.app_context():
        fu = make_follow_up(
            row["id"],
            world.team_ids["street"],
            date(2030, 1, 1),
            assigned_to_id=world.user_ids["worker"],
        )
    worker = login("worker")
    result = push(
        worker,
        [
            _follow_up_edit(fu, row["id"], assigned_to=world.user_ids["worker2"]),
            mutation(
                "follow_up",
                {
                    "client_id": str(row["id"]),
                    "due_on": "2030-02-02",
                    "reason": "x",
                    "assigned_to": world.user_ids["worker2"],
                },
            ),
        ],
    )["results"]
    assert [r["status"] for r in result] == ["rejected", "rejected"]
    assert all("team lead" in r["errors"]["assigned_to"][0] for r in result)
