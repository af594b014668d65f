"""Where sharing stops: a team cannot pass on a client another team shared with it (that
team may have no agreement with the third), and an agreement that an admin ends, or that
lapses by its date (before the daily job), stops newer versions of the client and of its
referrals reaching the teams that hold them (they keep what they hold, as when consent
is withdrawn); a merge gives no team a client it has no agreement in force for."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

from outreach.access.models import Partnership, PartnershipTeam
from outreach.core.extensions import db
from outreach.records.models import RecordShare
from tests.pathways.helpers import (
    accept,
    change_after_withdrawal,
    consented_client,
    listed,
    one,
    pulled,
    refer,
    referral_data,
    withdraw_consent,
)
from tests.sync.helpers import mutation


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
    change_after_withdrawal(custody, client_id, withdraw_consent(custody, client_id))
    # A phone of the street team signed in now: the withdrawal it was sent, nothing newer.
    fresh, _ = pulled(login("worker2"))
    change = fresh[("client", str(client_id))]
    assert change["op"] == "upsert" and change["version"] == 2
    assert change["data"]["known_as"] == "Jo" and change["data"]["postcode_district"] == "DH1"
    assert change["data"]["consent_to_share"] is False
    # The client's own team gets its latest, as ever.
    own, _ = pulled(login("custody"))
    assert own[("client", str(client_id))]["data"]["known_as"] == "Changed after withdrawal"


def _lapse(app, agreement, days: int) -> date:
    """The agreement's end date passes (no admin action, the daily job not yet run)."""
    ends_on = date.today() - timedelta(days=days)
    with app.app_context():
        db.session.get(Partnership, agreement).ends_on = ends_on
        db.session.commit()
    return ends_on


def _share(app, entity: str, record_id, team_id: int) -> RecordShare:
    with app.app_context():
        found = db.session.get(RecordShare, (entity, record_id, team_id))
        assert found is not None
        db.session.expunge(found)
        return found


def test_a_merge_after_the_agreement_lapsed_gives_the_partner_nothing(
    app, agreement, world, custody, street, custody_lead
):
    other, referral_id = refer(custody, world.team_ids["street"])
    accept(street, other, referral_id)
    _lapse(app, agreement, 2)
    survivor = uuid.uuid4()
    made = one(custody, mutation("client", consented_client(known_as="Survivor"), id=survivor))
    assert made["status"] == "applied"
    _, cursor = pulled(street)
    merged = custody_lead.post(
        f"/api/v1/clients/{survivor}/merge", json={"other_client_id": str(other)}
    )
    assert merged.status_code == 409, merged.get_json()
    assert "other_client_id" in merged.get_json()["errors"]
    changes, _ = pulled(street, cursor)
    assert ("client", str(survivor)) not in changes


def test_an_agreement_lapsed_by_its_date_stops_newer_versions_before_the_daily_job(
    app, agreement, world, custody, street, login
):
    client_id, referral_id = refer(custody, world.team_ids["street"])
    accept(street, client_id, referral_id)
    _, cursor = pulled(street)
    ends_on = _lapse(app, agreement, 2)
    changed = consented_client(known_as="Changed after the agreement lapsed")
    assert one(custody, mutation("client", changed, id=client_id, base=1))["status"] == "applied"
    changes, _ = pulled(street, cursor)
    assert ("client", str(client_id)) not in changes
    # Frozen on the spot, from the agreement's end: a new phone gets the version held.
    share = _share(app, "client", client_id, world.team_ids["street"])
    assert share.frozen_at == datetime.combine(ends_on + timedelta(days=1), time(0), tzinfo=UTC)
    fresh, _ = pulled(login("worker2"))
    assert fresh[("client", str(client_id))]["data"]["known_as"] == "Jo"


def test_the_daily_job_freezes_from_the_agreements_end(app, agreement, world, custody, street):
    from outreach.jobs.scheduler import retain

    client_id, referral_id = refer(custody, world.team_ids["street"])
    accept(street, client_id, referral_id)
    ends_on = _lapse(app, agreement, 3)
    with app.app_context():
        retain()
    end = datetime.combine(ends_on + timedelta(days=1), time(0), tzinfo=UTC)
    assert _share(app, "client", client_id, world.team_ids["street"]).frozen_at == end
    assert _share(app, "referral", referral_id, world.team_ids["street"]).frozen_at == end


def test_referral_notes_stop_reaching_the_partner_when_the_agreement_ends(
    agreement, world, custody, street, login
):
    client_id, referral_id = refer(custody, world.team_ids["street"])
    _, cursor = pulled(street)
    ended = login("admin").patch(
        f"/api/v1/admin/partnerships/{agreement}",
        json={"ends_on": (date.today() - timedelta(days=1)).isoformat()},
    )
    assert ended.status_code == 200
    data = referral_data(client_id, world.team_ids["street"], notes="Now at 12 Hill St")
    assert one(custody, mutation("referral", data, id=referral_id, base=1))["status"] == "applied"
    changes, _ = pulled(street, cursor)
    assert ("referral", str(referral_id)) not in changes
    # The referring team keeps the newer version.
    own, _ = pulled(custody)
    assert own[("referral", str(referral_id))]["data"]["notes"] == "Now at 12 Hill St"


def test_referral_notes_stop_reaching_the_partner_when_consent_is_withdrawn(
    agreement, world, custody, street
):
    client_id, referral_id = refer(custody, world.team_ids["street"])
    _, cursor = pulled(street)
    withdraw_consent(custody, client_id)
    data = referral_data(client_id, world.team_ids["street"], notes="Now at 12 Hill St")
    assert one(custody, mutation("referral", data, id=referral_id, base=1))["status"] == "applied"
    changes, _ = pulled(street, cursor)
    assert ("referral", str(referral_id)) not in changes
    # The withdrawal itself reached the street team.
    assert changes[("client", str(client_id))]["data"]["consent_to_share"] is False
