"""Merging a client a partner team holds: its referrals, episodes and the partner team's
holding of it follow to the surviving client, the partner team's phones get the change
through sync (one client, its pathway intact, a key worker kept), and an offline phone
naming the merged client still lands on the survivor. A merge that would leave the
partner team with a client pointing nowhere, or send it a record the person did not
agree to share, is refused; the receiving team cannot merge a client it was sent."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import select

from outreach.core.extensions import db
from outreach.interventions.models import Intervention
from outreach.pathways.models import ClientLink, Episode, Referral
from outreach.records.models import RecordShare
from tests.pathways.helpers import accept, consented_client, listed, one, pulled, refer
from tests.sync.helpers import client_data, intervention_data, mutation, now_iso


def shared_and_worked_with(world, custody, street, login):
    """A custody client referred to and accepted by the street team, who recorded a
    contact and opened an episode with it and gave it a key worker: (client, referral,
    intervention, episode)."""
    client_id, referral_id = refer(custody, world.team_ids["street"])
    accept(street, client_id, referral_id)
    contact_id, episode_id = uuid.uuid4(), uuid.uuid4()
    contact = intervention_data(client_id, occurred_at=now_iso())
    assert one(street, mutation("intervention", contact, id=contact_id))["status"] == "applied"
    episode = {
        "client_id": str(client_id),
        "kind": "checkpoint",
        "started_on": (date.today() - timedelta(days=3)).isoformat(),
        "conditions": ["Attend an assessment"],
    }
    assert one(street, mutation("episode", episode, id=episode_id))["status"] == "applied"
    assigned = login("lead").post(
        f"/api/v1/clients/{client_id}/assign",
        json={"worker_id": world.user_ids["worker"], "reason": "rebalance"},
    )
    assert assigned.status_code == 200, assigned.get_json()
    return client_id, referral_id, contact_id, episode_id


def test_the_partner_teams_records_follow_the_merge_to_the_survivor(
    app, agreement, world, custody, street, login, custody_lead
):
    other, referral_id, contact_id, episode_id = shared_and_worked_with(
        world, custody, street, login
    )
    survivor = uuid.uuid4()
    assert one(custody, mutation("client", consented_client(), id=survivor))["status"] == "applied"
    # The street team also recorded the person itself, and its lead linked the two.
    street_own = uuid.uuid4()
    assert one(street, mutation("client", client_data(), id=street_own))["status"] == "applied"
    linked = login("lead").post(
        "/api/v1/pathways/duplicates",
        json={"client_id": str(street_own), "other_client_id": str(other), "resolution": "linked"},
    )
    assert linked.status_code == 200, linked.get_json()
    _, cursor = pulled(street)
    response = custody_lead.post(
        f"/api/v1/clients/{survivor}/merge", json={"other_client_id": str(other)}
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["referrals_moved"] == 1 and body["episodes_moved"] == 1
    assert body["partner_teams"] == 1
    # The street team's phones: the merged client goes, the survivor comes, and their
    # referral, contact and episode now name the survivor.
    changes, _ = pulled(street, cursor)
    assert changes[("client", str(other))]["op"] == "remove"
    assert changes[("client", str(survivor))]["op"] == "upsert"
    assert changes[("referral", str(referral_id))]["data"]["client_id"] == str(survivor)
    assert changes[("referral", str(referral_id))]["data"]["status"] == "first_contact"
    assert changes[("intervention", str(contact_id))]["data"]["client_id"] == str(survivor)
    assert changes[("episode", str(episode_id))]["data"]["client_id"] == str(survivor)
    # A fresh phone of the street team holds one client, not two.
    fresh, _ = pulled(login("worker"))
    held = {i for (entity, i), c in fresh.items() if entity == "client" and c["op"] == "upsert"}
    assert str(survivor) in held and str(other) not in held
    # The lead's caseload: the survivor, shared, with the team's key worker.
    rows = listed(login("lead"))
    assert str(other) not in rows
    assert rows[str(survivor)]["key_worker_id"] == world.user_ids["worker"]
    assert rows[str(survivor)]["interventions"] == 1
    pathway = street.get(f"/api/v1/pathways/clients/{survivor}").get_json()
    assert [r["id"] for r in pathway["referrals"]] == [str(referral_id)]
    assert [e["id"] for e in pathway["episodes"]] == [str(episode_id)]
    # A phone that was offline still names the merged client: it lands on the survivor.
    late_id = uuid.uuid4()
    late = one(street, mutation("intervention", intervention_data(other), id=late_id))
    assert late["status"] == "conflict", late  # redirected, as for any merged client
    assert late["record"]["data"]["client_id"] == str(survivor)
    with app.app_context():
        assert db.session.get(Intervention, late_id).client_id == survivor
        assert db.session.get(Referral, referral_id).client_id == survivor
        assert db.session.get(Episode, episode_id).client_id == survivor
        share = db.session.scalar(
            select(RecordShare).where(
                RecordShare.record_id == survivor, RecordShare.team_id == world.team_ids["street"]
            )
        )
        assert share is not None and share.ended_at is None and share.frozen_at is None
        link = db.session.scalars(select(ClientLink)).one()
        assert {link.client_id, link.other_client_id} == {street_own, survivor}


def test_consent_follows_the_later_statement_and_an_uncovered_merge_is_refused(
    agreement, world, custody, street, login, custody_lead
):
    other, _, _, _ = shared_and_worked_with(world, custody, street, login)
    survivor = uuid.uuid4()
    # Consent never asked on the survivor: taken from the merged client (given).
    assert one(custody, mutation("client", client_data(), id=survivor))["status"] == "applied"
    merged = custody_lead.post(
        f"/api/v1/clients/{survivor}/merge", json={"other_client_id": str(other)}
    )
    assert merged.status_code == 200, merged.get_json()
    changes, _ = pulled(custody)
    assert changes[("client", str(survivor))]["data"]["consent_to_share"] is True
    # A survivor whose person refused later: the street team cannot be sent it.
    shared2, referral2 = refer(custody, world.team_ids["street"], initials="QR")
    accept(street, shared2, referral2)
    refused_client = uuid.uuid4()
    later = now_iso(timedelta(seconds=30))  # recorded after the consent on shared2
    refusal = client_data(initials="QR", consent_to_share=False, consent_recorded_at=later)
    assert one(custody, mutation("client", refusal, id=refused_client))["status"] == "applied"
    response = custody_lead.post(
        f"/api/v1/clients/{refused_client}/merge", json={"other_client_id": str(shared2)}
    )
    assert response.status_code == 409, response.get_json()
    assert "merge the other way round" in response.get_json()["message"]
    # The other way round works: the street team keeps the record it holds, frozen
    # (the later refusal is the person's wish), and gets nothing of the other record.
    _, cursor = pulled(street)
    reverse = custody_lead.post(
        f"/api/v1/clients/{shared2}/merge", json={"other_client_id": str(refused_client)}
    )
    assert reverse.status_code == 200, reverse.get_json()
    changes, _ = pulled(street, cursor)
    assert ("client", str(refused_client)) not in changes
    assert changes[("client", str(shared2))]["data"]["consent_to_share"] is False
    row = listed(login("lead"))[str(shared2)]
    assert row["shared_from"]["consent_withdrawn"] is True


def test_both_records_held_by_the_partner_team_leave_it_one_client(
    agreement, world, custody, street, login, custody_lead
):
    first, referral1 = refer(custody, world.team_ids["street"])
    second, referral2 = refer(custody, world.team_ids["street"], known_as="Jay")
    accept(street, first, referral1)
    accept(street, second, referral2)
    _, cursor = pulled(street)
    response = custody_lead.post(
        f"/api/v1/clients/{first}/merge", json={"other_client_id": str(second)}
    )
    assert response.status_code == 200, response.get_json()
    changes, _ = pulled(street, cursor)
    assert changes[("client", str(second))]["op"] == "remove"
    assert changes[("referral", str(referral2))]["data"]["client_id"] == str(first)
    rows = listed(login("lead"))
    assert str(first) in rows and str(second) not in rows


def test_the_receiving_team_cannot_merge_a_client_it_was_sent(
    agreement, world, custody, street, login
):
    shared_id, referral_id = refer(custody, world.team_ids["street"])
    accept(street, shared_id, referral_id)
    own = uuid.uuid4()
    assert one(street, mutation("client", client_data(), id=own))["status"] == "applied"
    lead = login("lead")
    for survivor, other in ((own, shared_id), (shared_id, own)):
        response = lead.post(
            f"/api/v1/clients/{survivor}/merge", json={"other_client_id": str(other)}
        )
        assert response.status_code == 409, response.get_json()
        assert "only that team can merge it" in response.get_json()["message"]
    # A team that holds nothing of it: not found, as ever.
    dorset = login("lead_dorset").post(
        f"/api/v1/clients/{shared_id}/merge", json={"other_client_id": str(own)}
    )
    assert dorset.status_code == 404
