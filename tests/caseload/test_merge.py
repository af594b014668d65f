"""Merging probable duplicates: records move, the other client becomes a tombstone,
phones holding either get the right changes, links resolve, a repeat is harmless."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from outreach.audit.models import AuditEvent
from outreach.core.extensions import db
from outreach.interventions.models import FollowUp, Intervention
from outreach.people.models import Client, ClientDuplicate
from outreach.records.models import RecordVersion
from tests.caseload.conftest import (
    add_duplicate,
    add_intervention,
    changes_after,
    max_seq,
    now,
    team_position,
)
from tests.caseload.test_assign import pull
from tests.factories import make_clients


def _pair(app, street, follow_up_in):
    """survivor = clients[0] (1 intervention); other = clients[1] (2 interventions, 1
    follow-up), linked as probable duplicates."""
    survivor, other = street.clients[0], street.clients[1]
    with app.app_context():
        add_intervention(
            street.team_id,
            street.area_id,
            street.worker,
            survivor,
            type_="wound_care",
            occurred_at=now() - timedelta(days=3),
        )
        moved = [
            add_intervention(
                street.team_id,
                street.area_id,
                street.worker2,
                other,
                type_="bbv_test",
                occurred_at=now() - timedelta(days=d),
            )["id"]
            for d in (1, 2)
        ]
        dup = add_duplicate(street.team_id, other, survivor)
    fu = follow_up_in(other, street.team_id, 3)
    return survivor, other, moved, fu, dup


def test_merge_moves_records_and_tombstones_the_other(app, street, lead, follow_up_in):
    survivor, other, moved, fu, dup = _pair(app, street, follow_up_in)
    with app.app_context():
        before = max_seq()
    response = lead.post(f"/api/v1/clients/{survivor}/merge", json={"other_client_id": str(other)})
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["client_id"] == str(survivor) and body["merged_client_id"] == str(other)
    assert body["already_merged"] is False
    assert body["interventions_moved"] == 2 and body["follow_ups_moved"] == 1
    assert body["duplicates_resolved"] == [dup]
    with app.app_context():
        tomb = db.session.get(Client, other)
        assert tomb.deleted_at is not None and tomb.merged_into_id == survivor
        assert tomb.version == 2
        kept = db.session.get(Client, survivor)
        assert kept.deleted_at is None and kept.version == 2
        for iv_id in moved:
            iv = db.session.get(Intervention, iv_id)
            assert iv.client_id == survivor and iv.version == 2 and iv.server_seq > before
        follow = db.session.get(FollowUp, fu)
        assert follow.client_id == survivor and follow.version == 2
        link = db.session.get(ClientDuplicate, dup)
        assert link.resolution == "merged" and link.resolved_at is not None
        log = changes_after(before)
        assert log[0] == (street.team_id, "client", survivor, "upsert")
        assert log[-1] == (street.team_id, "client", other, "remove")
        assert sorted((e, str(i)) for _t, e, i, op in log[1:-1]) == sorted(
            [("intervention", str(m)) for m in moved] + [("follow_up", str(fu))]
        )
        history = db.session.scalars(
            select(RecordVersion).where(RecordVersion.reason == "merge")
        ).all()
        assert len(history) == 5
        for iv_id in moved:  # version 1 (only in the row until now) kept before version 2
            first, second = db.session.scalars(
                select(RecordVersion)
                .where(RecordVersion.entity == "intervention", RecordVersion.record_id == iv_id)
                .order_by(RecordVersion.version)
            ).all()
            assert (first.version, first.reason, second.version) == (1, "create", 2)
            assert first.data["client_id"] == str(other)
            assert second.data["client_id"] == str(survivor)
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "caseload.merge"))
        assert event.record_id == str(survivor)
        assert event.detail["merged_client_id"] == str(other)
        assert "initials" not in str(event.detail)


def test_phones_holding_either_record_pull_the_merge(app, street, lead, login, follow_up_in):
    survivor, other, moved, fu, _dup = _pair(app, street, follow_up_in)
    phones = [login("worker"), login("worker2")]
    with app.app_context():
        before = max_seq()
        custody_before = team_position("custody")
    lead.post(f"/api/v1/clients/{survivor}/merge", json={"other_client_id": str(other)})
    for phone in phones:
        got = pull(app, phone, before)
        assert got[("client", str(other))]["op"] == "remove"
        assert "data" not in got[("client", str(other))]
        assert got[("client", str(survivor))]["op"] == "upsert"
        for iv_id in moved:
            change = got[("intervention", str(iv_id))]
            assert change["op"] == "upsert" and change["data"]["client_id"] == str(survivor)
        assert got[("follow_up", str(fu))]["data"]["client_id"] == str(survivor)
    assert pull(app, login("custody"), custody_before) == {}


def test_repeated_merge_is_harmless(app, street, lead, follow_up_in):
    survivor, other, *_ = _pair(app, street, follow_up_in)
    url = f"/api/v1/clients/{survivor}/merge"
    lead.post(url, json={"other_client_id": str(other)})
    with app.app_context():
        before = max_seq()
    again = lead.post(url, json={"other_client_id": str(other)})
    assert again.status_code == 200
    body = again.get_json()
    assert body["already_merged"] is True and body["interventions_moved"] == 0
    with app.app_context():
        assert max_seq() == before
    # The other way round: the tombstone cannot survive.
    reverse = lead.post(f"/api/v1/clients/{other}/merge", json={"other_client_id": str(survivor)})
    assert reverse.status_code == 409
    assert "already merged" in reverse.get_json()["message"]


def test_merging_a_tombstone_into_a_third_client_is_409(app, street, lead, follow_up_in):
    survivor, other, *_ = _pair(app, street, follow_up_in)
    lead.post(f"/api/v1/clients/{survivor}/merge", json={"other_client_id": str(other)})
    third = street.clients[2]
    response = lead.post(f"/api/v1/clients/{third}/merge", json={"other_client_id": str(other)})
    assert response.status_code == 409


def test_links_to_third_clients_move_to_the_survivor(app, street, lead):
    a, b, c = street.clients
    d = street.clients2[0]
    with app.app_context():
        ab = add_duplicate(street.team_id, a, b)
        bc = add_duplicate(street.team_id, b, c)  # moves to (a, c)
        bd = add_duplicate(street.team_id, d, b)  # a already linked to d: resolved
        ad = add_duplicate(street.team_id, a, d)
    body = lead.post(f"/api/v1/clients/{a}/merge", json={"other_client_id": str(b)}).get_json()
    assert sorted(body["duplicates_resolved"]) == sorted([ab, bd])
    with app.app_context():
        moved = db.session.get(ClientDuplicate, bc)
        assert (moved.client_id, moved.other_client_id, moved.resolved_at) == (a, c, None)
        assert db.session.get(ClientDuplicate, ad).resolved_at is None


def test_survivor_keeps_its_values_and_fills_blanks(app, street, lead):
    with app.app_context():
        survivor = make_clients(street.team_id, street.area_id, 1)[0]["id"]  # no key worker
        db.session.get(Client, survivor).postcode_district = "DH7"
        other = db.session.get(Client, street.clients[0])  # postcode DH1, key worker
        other.known_as = "Spike"
        db.session.commit()
    response = lead.post(
        f"/api/v1/clients/{survivor}/merge", json={"other_client_id": str(street.clients[0])}
    )
    assert response.status_code == 200, response.get_json()
    with app.app_context():
        kept = db.session.get(Client, survivor)
        assert kept.postcode_district == "DH7"  # its own value stays
        assert kept.key_worker_id == street.worker and kept.known_as == "Spike"  # blanks filled


def test_merge_bad_input(app, street, lead):
    c0 = street.clients[0]
    with app.app_context():
        before = max_seq()
    for body, field in [
        ({}, "other_client_id"),
        ({"other_client_id": "nope"}, "other_client_id"),
        ({"other_client_id": str(c0)}, "other_client_id"),
        ({"other_client_id": str(street.clients[1]), "extra": 1}, "extra"),
    ]:
        response = lead.post(f"/api/v1/clients/{c0}/merge", json=body)
        assert response.status_code == 422, body
        assert field in response.get_json()["errors"]
    with app.app_context():
        assert max_seq() == before


def test_duplicates_list(app, street, lead):
    a, b, c = street.clients
    with app.app_context():
        first = add_duplicate(street.team_id, a, b)
        second = add_duplicate(street.team_id, c, a)
    body = lead.get("/api/v1/caseload/duplicates").get_json()
    assert body["meta"]["total"] == 2
    assert [p["id"] for p in body["items"]] == [first, second]
    assert body["items"][0]["client"]["id"] == str(a)
    with app.app_context():
        assert body["items"][0]["other_client"]["initials"] == db.session.get(Client, b).initials
    lead.post(f"/api/v1/clients/{a}/merge", json={"other_client_id": str(b)})
    body = lead.get("/api/v1/caseload/duplicates").get_json()
    assert [p["id"] for p in body["items"]] == [second]


def test_dismiss_duplicate(app, street, lead):
    a, b = street.clients[0], street.clients[1]
    with app.app_context():
        dup = add_duplicate(street.team_id, a, b)
    first = lead.post(f"/api/v1/caseload/duplicates/{dup}/dismiss")
    assert first.status_code == 200
    assert first.get_json()["resolution"] == "not_duplicate"
    again = lead.post(f"/api/v1/caseload/duplicates/{dup}/dismiss")
    assert again.status_code == 200
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "caseload.duplicate_dismiss")
        ).all()
        assert len(events) == 1 and events[0].record_id == str(dup)
    assert lead.post("/api/v1/caseload/duplicates/999999/dismiss").status_code == 404
    huge = lead.post("/api/v1/caseload/duplicates/29313839598168653824/dismiss")
    assert huge.status_code == 404
