"""A client a partner team referred to this team, once this team accepted the referral,
is in its team lead's caseload (lists, attention, overview), marked as shared, and can
be given a key worker of this team; what the lead sees of it is what the team holds
(nothing newer after consent is withdrawn or the agreement has ended); a team without
an agreement, or that has not accepted, sees nothing of it."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select, update

from outreach.access.models import Partnership
from outreach.core.extensions import db
from outreach.pathways.models import Referral
from outreach.people.models import Client
from outreach.records.models import RecordVersion
from tests.pathways.helpers import (
    accept,
    change_after_withdrawal,
    consented_client,
    listed,
    one,
    pulled,
    refer,
    withdraw_consent,
)
from tests.sync.helpers import intervention_data, mutation, now_iso


def test_an_accepted_referral_puts_the_client_in_the_leads_caseload_marked_shared(
    app, agreement, world, custody, street, login
):
    lead = login("lead")
    client_id, referral_id = refer(custody, world.team_ids["street"])
    # Sent, not yet accepted: under Referrals only, not the caseload.
    assert str(client_id) not in listed(lead)
    assert (
        lead.post(
            f"/api/v1/clients/{client_id}/assign",
            json={"worker_id": world.user_ids["worker"], "reason": "rebalance"},
        ).status_code
        == 404
    )
    accept(street, client_id, referral_id)
    row = listed(lead)[str(client_id)]
    assert row["initials"] == "JD"
    assert row["key_worker_id"] is None  # not the custody team's key worker
    assert row["shared_from"]["team_id"] == world.team_ids["custody"]
    assert row["shared_from"]["team_name"] == "Durham Custody Liaison"
    assert row["shared_from"]["referral_status"] == "accepted"
    assert row["shared_from"]["consent_withdrawn"] is False
    assert row["shared_from"]["held_until"] is None
    # Recorded by custody a month ago, taken on today: not yet unseen for long.
    with app.app_context():
        month_ago = datetime.now(UTC) - timedelta(days=30)
        db.session.execute(
            update(Client).where(Client.id == client_id).values(created_at=month_ago)
        )
        db.session.commit()
    assert listed(lead)[str(client_id)]["days_since_contact"] == 0
    assert str(client_id) not in listed(lead, "/api/v1/caseload/attention")
    # Taken on three weeks ago and never seen by this team: it needs attention.
    with app.app_context():
        weeks_ago = datetime.now(UTC) - timedelta(days=21)
        db.session.execute(
            update(Referral).where(Referral.id == referral_id).values(accepted_at=weeks_ago)
        )
        db.session.commit()
    attention = listed(lead, "/api/v1/caseload/attention")
    assert "no_contact" in attention[str(client_id)]["reasons"]
    assert attention[str(client_id)]["days_since_contact"] == 21
    overview = lead.get("/api/v1/caseload/overview").get_json()
    assert overview["shared_clients"] == 1
    assert overview["unassigned"]["open_clients"] == 1
    # The history opens (the team's own records of the client: none yet).
    history = lead.get(f"/api/v1/clients/{client_id}/history")
    assert history.status_code == 200, history.get_json()
    assert history.get_json()["client"]["shared_from"]["team_name"] == "Durham Custody Liaison"


def test_the_lead_gives_a_shared_client_a_key_worker_of_the_team(
    app, agreement, world, custody, street, login
):
    lead = login("lead")
    client_id, referral_id = refer(custody, world.team_ids["street"])
    accept(street, client_id, referral_id)
    _, custody_cursor = pulled(custody)
    worker = world.user_ids["worker"]
    response = lead.post(
        f"/api/v1/clients/{client_id}/assign", json={"worker_id": worker, "reason": "rebalance"}
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["assigned"] == [str(client_id)]
    row = listed(lead)[str(client_id)]
    assert row["key_worker_id"] == worker and row["key_worker_name"] == "Worker"
    overview = lead.get("/api/v1/caseload/overview").get_json()
    mine = next(w for w in overview["workers"] if w["worker_id"] == worker)
    assert mine["open_clients"] == 1 and overview["unassigned"]["open_clients"] == 0
    # The worker's own caseload has it; the client's own team keeps its key worker.
    assert str(client_id) in listed(login("worker"), "/api/v1/caseload/mine")
    with app.app_context():
        assert db.session.get(Client, client_id).key_worker_id == world.user_ids["custody"]
    changes, _ = pulled(custody, custody_cursor)
    assert ("client", str(client_id)) not in changes  # no new version for anyone
    events = lead.get(f"/api/v1/clients/{client_id}/history").get_json()["items"]
    change = next(e for e in events if e["kind"] == "key_worker_change")
    assert change["to_worker_id"] == worker and change["change_reason"] == "rebalance"
    # Several at once, with one of the team's own clients.
    own = uuid.uuid4()
    assert (
        one(street, mutation("client", consented_client(initials="AB"), id=own))["status"]
        == "applied"
    )
    many = lead.post(
        "/api/v1/caseload/assign",
        json={
            "client_ids": [str(own), str(client_id)],
            "worker_id": world.user_ids["worker2"],
            "reason": "worker_absent",
        },
    )
    assert many.status_code == 200, many.get_json()
    assert sorted(many.get_json()["assigned"]) == sorted([str(own), str(client_id)])
    assert listed(lead)[str(client_id)]["key_worker_id"] == world.user_ids["worker2"]


def test_contacts_and_history_are_each_teams_own(
    agreement, world, custody, street, login, custody_lead
):
    lead = login("lead")
    client_id, referral_id = refer(custody, world.team_ids["street"])
    accept(street, client_id, referral_id)
    custody_visit = intervention_data(client_id, notes="Seen in custody", occurred_at=now_iso())
    assert one(custody, mutation("intervention", custody_visit))["status"] == "applied"
    row = listed(lead)[str(client_id)]
    assert row["interventions"] == 0 and row["last_contact_at"] is None
    street_visit = intervention_data(client_id, notes="Seen on the street", occurred_at=now_iso())
    assert one(street, mutation("intervention", street_visit))["status"] == "applied"
    assert listed(lead)[str(client_id)]["interventions"] == 1
    street_notes = [
        e.get("notes") for e in lead.get(f"/api/v1/clients/{client_id}/history").json["items"]
    ]
    assert "Seen on the street" in street_notes and "Seen in custody" not in street_notes
    # The custody team's lead: its own contact, not the street team's notes.
    own = listed(custody_lead)[str(client_id)]
    assert own["interventions"] == 1 and own["shared_from"] is None
    custody_notes = [
        e.get("notes")
        for e in custody_lead.get(f"/api/v1/clients/{client_id}/history").json["items"]
    ]
    assert "Seen in custody" in custody_notes and "Seen on the street" not in custody_notes


def test_after_consent_is_withdrawn_the_lead_sees_the_version_the_team_holds(
    agreement, world, custody, street, login
):
    lead = login("lead")
    client_id, referral_id = refer(custody, world.team_ids["street"])
    accept(street, client_id, referral_id)
    change_after_withdrawal(custody, client_id, withdraw_consent(custody, client_id))
    row = listed(lead)[str(client_id)]
    assert row["known_as"] == "Jo" and row["postcode_district"] == "DH1"
    assert row["version"] == 2  # the withdrawal, which reached the team; nothing newer
    assert row["shared_from"]["consent_withdrawn"] is True
    assert row["shared_from"]["held_until"] is not None
    history = lead.get(f"/api/v1/clients/{client_id}/history").get_json()
    assert history["client"]["known_as"] == "Jo"


def test_after_the_agreement_ends_the_lead_sees_the_version_held_then(
    app, agreement, world, custody, street, login
):
    lead = login("lead")
    client_id, referral_id = refer(custody, world.team_ids["street"])
    accept(street, client_id, referral_id)
    with app.app_context():
        # Shared three days ago; the agreement ended the day before yesterday.
        db.session.execute(
            update(RecordVersion)
            .where(RecordVersion.record_id == client_id)
            .values(recorded_at=datetime.now(UTC) - timedelta(days=3))
        )
        partnership = db.session.get(Partnership, agreement)
        partnership.ends_on = date.today() - timedelta(days=2)
        db.session.commit()
    changed = consented_client(known_as="Changed after the agreement ended")
    assert one(custody, mutation("client", changed, id=client_id, base=1))["status"] == "applied"
    row = listed(lead)[str(client_id)]
    assert row["known_as"] == "Jo"
    assert row["shared_from"]["agreement_ended"] is True
    assert row["shared_from"]["consent_withdrawn"] is False


def test_declined_or_without_an_agreement_the_client_is_in_no_other_caseload(
    agreement, world, custody, street, login
):
    lead, dorset_lead = login("lead"), login("lead_dorset")
    client_id, referral_id = refer(custody, world.team_ids["street"])
    accept(street, client_id, referral_id)
    assert str(client_id) not in listed(dorset_lead)
    assert dorset_lead.get(f"/api/v1/clients/{client_id}/history").status_code == 404
    refused = dorset_lead.post(
        f"/api/v1/clients/{client_id}/assign",
        json={"worker_id": world.user_ids["dorset"], "reason": "rebalance"},
    )
    assert refused.status_code == 404
    # Declined: the client leaves the street team's phones and caseload.
    other_id, other_referral = refer(custody, world.team_ids["street"], initials="KL")
    changes, _ = pulled(street)
    data = changes[("referral", str(other_referral))]["data"]
    declined = {**data, "status": "declined", "closed_reason": "no_capacity"}
    declined["status_at"] = now_iso()
    assert (
        one(street, mutation("referral", declined, id=other_referral, base=1))["status"]
        == "applied"
    )
    assert str(other_id) not in listed(lead) and str(client_id) in listed(lead)
    assert lead.get(f"/api/v1/clients/{other_id}/history").status_code == 404


def test_a_closed_referral_takes_the_client_out_of_the_caseload(
    app, agreement, world, custody, street, login
):
    lead = login("lead")
    client_id, referral_id = refer(custody, world.team_ids["street"])
    accept(street, client_id, referral_id)
    changes, _ = pulled(street)
    data = changes[("referral", str(referral_id))]
    closed = {
        **data["data"],
        "status": "closed",
        "closed_reason": "lost_contact",
        "status_at": now_iso(),
    }
    result = one(street, mutation("referral", closed, id=referral_id, base=data["version"]))
    assert result["status"] == "applied", result
    assert str(client_id) not in listed(lead)
    with app.app_context():
        assert db.session.scalar(select(Client.id).where(Client.id == client_id)) == client_id


def test_a_share_that_ends_between_the_two_reads_answers_404_not_500(
    app, agreement, world, custody, street, login, monkeypatch
):
    import outreach.records.unit as unit
    from outreach.records.models import RecordShare

    client_id, referral_id = refer(custody, world.team_ids["street"])
    accept(street, client_id, referral_id)
    real = unit.load_shares

    def ended_meanwhile(entity, ids):  # the referral is declined between the two reads
        db.session.execute(
            update(RecordShare)
            .where(RecordShare.entity == "client", RecordShare.record_id == client_id)
            .values(ended_at=datetime.now(UTC))
        )
        return real(entity, ids)

    monkeypatch.setattr(unit, "load_shares", ended_meanwhile)
    response = login("lead").post(
        "/api/v1/caseload/assign",
        json={
            "client_ids": [str(client_id)],
            "worker_id": world.user_ids["worker"],
            "reason": "rebalance",
        },
    )
    assert response.status_code == 404, response.get_json()
    assert response.get_json()["errors"]["client_ids"] == [f"Not found: {client_id}"]
