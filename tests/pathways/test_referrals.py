"""Referrals between partner teams through push and pull (DESIGN §5b): consent and an
agreement in force, each refusal with its reason; the receiving team's phones get the
client and the referral; accept, decline, steps from the teams' own records."""

from __future__ import annotations

import uuid

from tests.pathways.helpers import (
    consented_client,
    one,
    pulled,
    refer,
    referral_data,
    withdraw_consent,
)
from tests.sync.helpers import client_data, intervention_data, mutation, now_iso


def test_a_referral_reaches_the_receiving_teams_phones_with_its_client(
    agreement, world, custody, street
):
    client_id, referral_id = refer(custody, world.team_ids["street"])
    changes, _ = pulled(street)
    client = changes[("client", str(client_id))]
    referral = changes[("referral", str(referral_id))]
    assert client["op"] == "upsert" and client["data"]["initials"] == "JD"
    assert client["data"]["consent_to_share"] is True
    assert client["data"]["team_id"] == world.team_ids["custody"]
    assert referral["data"]["status"] == "sent"
    assert referral["data"]["team_id"] == world.team_ids["custody"]
    assert referral["data"]["sent_at"] is not None


def test_the_receiving_teams_incremental_pull_brings_a_new_referral(
    agreement, world, custody, street
):
    _, cursor = pulled(street)
    client_id, referral_id = refer(custody, world.team_ids["street"])
    changes, _ = pulled(street, cursor)
    assert changes[("client", str(client_id))]["op"] == "upsert"
    assert changes[("referral", str(referral_id))]["op"] == "upsert"


def test_no_consent_is_refused_with_its_reason(agreement, world, custody):
    client_id = uuid.uuid4()
    assert one(custody, mutation("client", client_data(), id=client_id))["status"] == "applied"
    result = one(custody, mutation("referral", referral_data(client_id, world.team_ids["street"])))
    assert result["status"] == "rejected"
    assert result["errors"]["client_id"][0].startswith("No consent")


def test_no_agreement_is_refused_with_its_reason(world, custody):
    client_id = uuid.uuid4()
    one(custody, mutation("client", consented_client(), id=client_id))
    result = one(custody, mutation("referral", referral_data(client_id, world.team_ids["street"])))
    assert result["status"] == "rejected"
    assert result["errors"]["to_team_id"][0].startswith("No agreement")


def test_an_agreement_with_others_is_no_agreement_with_dorset(agreement, world, custody, dorset):
    client_id = uuid.uuid4()
    one(custody, mutation("client", consented_client(), id=client_id))
    result = one(custody, mutation("referral", referral_data(client_id, world.team_ids["dorset"])))
    assert result["errors"]["to_team_id"][0].startswith("No agreement")
    # Dorset can neither see nor name the client.
    changes, _ = pulled(dorset)
    assert ("client", str(client_id)) not in changes
    refused = one(dorset, mutation("intervention", intervention_data(client_id)))
    assert refused["status"] == "rejected" and "client_id" in refused["errors"]


def test_referring_to_your_own_team_is_the_wrong_team(agreement, world, custody):
    client_id = uuid.uuid4()
    one(custody, mutation("client", consented_client(), id=client_id))
    result = one(custody, mutation("referral", referral_data(client_id, world.team_ids["custody"])))
    assert result["errors"]["to_team_id"][0].startswith("Wrong team")


def test_accepting_then_contact_then_treatment_moves_the_pathway(agreement, world, custody, street):
    client_id, referral_id = refer(custody, world.team_ids["street"])
    changes, _ = pulled(street)
    referral = changes[("referral", str(referral_id))]
    accept = {**referral["data"], "status": "accepted", "status_at": now_iso()}
    result = one(street, mutation("referral", accept, id=referral_id, base=referral["version"]))
    assert result["status"] == "applied", result
    # The street team records a contact with the client, then a confirmed treatment entry.
    contact = one(
        street, mutation("intervention", intervention_data(client_id, occurred_at=now_iso()))
    )
    assert contact["status"] == "applied", contact
    custody_view, _ = pulled(custody)
    assert custody_view[("referral", str(referral_id))]["data"]["status"] == "first_contact"
    entry = intervention_data(
        client_id, type="treatment_entry_confirmed", substances=[], occurred_at=now_iso()
    )
    assert one(street, mutation("intervention", entry))["status"] == "applied"
    custody_view, _ = pulled(custody)
    data = custody_view[("referral", str(referral_id))]["data"]
    assert data["status"] == "treatment_entry"
    assert data["accepted_at"] and data["first_contact_at"] and data["treatment_entry_at"]
    # The referring team keeps its client.
    assert custody_view[("client", str(client_id))]["op"] == "upsert"


def test_only_the_receiving_team_accepts(agreement, world, custody, street):
    client_id, referral_id = refer(custody, world.team_ids["street"])
    data = referral_data(client_id, world.team_ids["street"], status="accepted")
    result = one(custody, mutation("referral", data, id=referral_id, base=1))
    assert result["status"] == "rejected"
    assert result["errors"]["status"][0].startswith("Wrong team")


def test_the_receiving_team_cannot_change_the_referral_or_the_client(
    agreement, world, custody, street
):
    client_id, referral_id = refer(custody, world.team_ids["street"])
    changes, _ = pulled(street)
    referral = changes[("referral", str(referral_id))]
    edited = {**referral["data"], "notes": "changed by street"}
    result = one(street, mutation("referral", edited, id=referral_id, base=referral["version"]))
    assert result["errors"]["notes"][0].startswith("Wrong team")
    client = changes[("client", str(client_id))]
    edit = {**client["data"], "known_as": "Someone else"}
    result = one(street, mutation("client", edit, id=client_id, base=client["version"]))
    assert result["status"] == "rejected"
    assert "only that team can change it" in result["errors"]["id"][0]


def test_declining_takes_the_client_off_the_receiving_teams_phones(
    agreement, world, custody, street
):
    client_id, referral_id = refer(custody, world.team_ids["street"])
    changes, cursor = pulled(street)
    referral = changes[("referral", str(referral_id))]
    missing_reason = {**referral["data"], "status": "declined", "status_at": now_iso()}
    result = one(street, mutation("referral", missing_reason, id=referral_id, base=1))
    assert result["errors"]["closed_reason"] == ["Say why the referral is declined."]
    declined = {**missing_reason, "closed_reason": "no_capacity"}
    assert (
        one(street, mutation("referral", declined, id=referral_id, base=1))["status"] == "applied"
    )
    changes, _ = pulled(street, cursor)
    assert changes[("client", str(client_id))]["op"] == "remove"
    assert changes[("referral", str(referral_id))]["data"]["status"] == "declined"
    custody_view, _ = pulled(custody)
    assert custody_view[("referral", str(referral_id))]["data"]["declined_at"] is not None


def test_withdrawn_consent_stops_sharing_going_forward(agreement, world, custody, street):
    client_id, referral_id = refer(custody, world.team_ids["street"])
    changes, cursor = pulled(street)
    withdrawn = withdraw_consent(custody, client_id)
    changes, cursor = pulled(street, cursor)
    # The street team sees the withdrawal, and keeps the record it holds...
    assert changes[("client", str(client_id))]["data"]["consent_to_share"] is False
    later = {**withdrawn, "known_as": "Changed after withdrawal"}
    assert one(custody, mutation("client", later, id=client_id, base=2))["status"] == "applied"
    changes, _ = pulled(street, cursor)
    # ...but gets nothing newer.
    assert ("client", str(client_id)) not in changes
    # No new referral, and the one sent cannot be accepted.
    again = one(custody, mutation("referral", referral_data(client_id, world.team_ids["street"])))
    assert again["errors"]["client_id"][0].startswith("No consent")
    accept = referral_data(client_id, world.team_ids["street"], status="accepted")
    refused = one(street, mutation("referral", accept, id=referral_id, base=1))
    assert refused["errors"]["status"][0].startswith("No consent")


def test_the_referrer_withdraws_while_sent_and_then_only_the_receiver_moves_it(
    agreement, world, custody, street
):
    client_id, referral_id = refer(custody, world.team_ids["street"])
    data = referral_data(client_id, world.team_ids["street"])
    skip_ahead = {**data, "status": "closed", "closed_reason": "withdrawn", "status_at": now_iso()}
    result = one(custody, mutation("referral", skip_ahead, id=referral_id, base=1))
    assert result["status"] == "applied", result  # withdrawn before an answer
    changes, _ = pulled(street)
    assert ("client", str(client_id)) not in changes  # no longer shared with the street team

    client2, referral2 = refer(custody, world.team_ids["street"], initials="MM")
    accept = {
        **referral_data(client2, world.team_ids["street"]),
        "status": "accepted",
        "status_at": now_iso(),
    }
    assert one(street, mutation("referral", accept, id=referral2, base=1))["status"] == "applied"
    later = {**accept, "notes": "More notes after the answer"}
    result = one(custody, mutation("referral", later, id=referral2, base=2))
    assert result["errors"]["notes"] == [
        "This referral has been answered: make a new referral instead."
    ]
    moved = {**accept, "status": "first_contact", "status_at": now_iso()}
    result = one(custody, mutation("referral", moved, id=referral2, base=2))
    assert result["errors"]["status"][0].startswith("Wrong team")
