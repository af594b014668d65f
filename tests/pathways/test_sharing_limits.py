"""Where sharing stops: a team cannot pass on a client another team shared with it (that
team may have no agreement with the third), and an agreement that an admin ends stops
newer versions reaching the teams that hold the other's clients (they keep what they
hold, as when consent is withdrawn)."""

from __future__ import annotations

from datetime import date, timedelta

from outreach.access.models import Partnership, PartnershipTeam
from outreach.core.extensions import db
from tests.pathways.helpers import (
    accept,
    consented_client,
    listed,
    one,
    pulled,
    refer,
    referral_data,
)
from tests.sync.helpers import mutation, now_iso


def test_a_shared_client_is_referred_on_only_by_its_own_team(
    app, agreement, world, custody, street, dorset
):
    with app.app_context():  # the street team also works with Dorset; custody does not
        p = Partnership(name="Street-Dorset", agreement_ref="DSA-SD-1", starts_on=date(2026, 1, 1))
        db.session.add(p)
        db.session.flush()
        for key in ("street", "dorset"):
            db.session.add(PartnershipTeam(partnership_id=p.id, team_id=world.team_ids[key]))
        db.session.commit()
    client_id, referral_id = refer(custody, world.team_ids["street"])
    accept(street, client_id, referral_id)
    onward = one(street, mutation("referral", referral_data(client_id, world.team_ids["dorset"])))
    assert onward["status"] == "rejected"
    assert onward["errors"]["client_id"][0].startswith("Wrong team")
    changes, _ = pulled(dorset)
    assert ("client", str(client_id)) not in changes


def test_ending_an_agreement_stops_newer_versions_reaching_the_partner(
    agreement, world, custody, street, login
):
    client_id, referral_id = refer(custody, world.team_ids["street"])
    accept(street, client_id, referral_id)
    _, cursor = pulled(street)
    ended = login("admin").patch(
        f"/api/v1/admin/partnerships/{agreement}",
        json={"ends_on": (date.today() - timedelta(days=1)).isoformat()},
    )
    assert ended.status_code == 200, ended.get_json()
    assert ended.get_json()["in_force"] is False
    changed = consented_client(known_as="Changed after the agreement ended")
    assert one(custody, mutation("client", changed, id=client_id, base=1))["status"] == "applied"
    changes, _ = pulled(street, cursor)
    assert ("client", str(client_id)) not in changes
    # The street team keeps the client it holds (its lead's caseload: as held).
    row = listed(login("lead"))[str(client_id)]
    assert row["known_as"] == "Jo" and row["shared_from"]["agreement_ended"] is True


def test_an_agreement_that_lapses_by_its_date_is_frozen_by_the_daily_job(
    app, agreement, world, custody, street
):
    from outreach.jobs.scheduler import retain

    client_id, referral_id = refer(custody, world.team_ids["street"])
    accept(street, client_id, referral_id)
    _, cursor = pulled(street)
    with app.app_context():  # no admin action: the end date simply passed
        db.session.get(Partnership, agreement).ends_on = date.today() - timedelta(days=1)
        db.session.commit()
        retain()
    changed = consented_client(known_as="Changed after the agreement lapsed")
    assert one(custody, mutation("client", changed, id=client_id, base=1))["status"] == "applied"
    changes, _ = pulled(street, cursor)
    assert ("client", str(client_id)) not in changes


def test_a_new_phone_of_the_holding_team_gets_the_version_it_held(
    agreement, world, custody, street, login
):
    client_id, referral_id = refer(custody, world.team_ids["street"])
    accept(street, client_id, referral_id)
    withdrawn = consented_client(consent_to_share=False, consent_recorded_at=now_iso())
    assert one(custody, mutation("client", withdrawn, id=client_id, base=1))["status"] == "applied"
    later = {**withdrawn, "known_as": "Changed after withdrawal", "postcode_district": "DH9"}
    assert one(custody, mutation("client", later, id=client_id, base=2))["status"] == "applied"
    # A phone of the street team signed in now: the withdrawal it was sent, nothing newer.
    fresh, _ = pulled(login("worker2"))
    change = fresh[("client", str(client_id))]
    assert change["op"] == "upsert" and change["version"] == 2
    assert change["data"]["known_as"] == "Jo" and change["data"]["postcode_district"] == "DH1"
    assert change["data"]["consent_to_share"] is False
    # The client's own team gets its latest, as ever.
    own, _ = pulled(login("custody"))
    assert own[("client", str(client_id))]["data"]["known_as"] == "Changed after withdrawal"
