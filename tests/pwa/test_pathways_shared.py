"""A client another team referred to this one, once accepted, in the team lead's screens
(marked as shared, given a key worker of this team), and the pathway's hand-made steps:
the receiving team closes a referral it took on, with a reason; the referring team
withdraws one not yet answered. Chromium at 360x640; axe-core on the changed screens."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from outreach.core.extensions import db
from outreach.pathways.models import Referral
from outreach.people.models import Client
from outreach.records.models import RecordShare
from tests.factories import make_clients
from tests.pathways.conftest import make_agreement
from tests.pathways.helpers import make_referral
from tests.pwa.test_pwa import axe_check, no_horizontal_scroll, sign_in, wait_synced

pytestmark = pytest.mark.browser


def _shared_client(app, world, initials: str, status: str) -> tuple:
    """A consented custody client referred to the street team (`status`): (client, referral)."""
    with app.app_context():
        (client,) = make_clients(
            world.team_ids["custody"],
            world.area_ids["durham"],
            1,
            key_worker_id=world.user_ids["custody"],
        )
        db.session.execute(
            update(Client)
            .where(Client.id == client["id"])
            .values(
                initials=initials,
                known_as=None,
                created_at=datetime.now(UTC) - timedelta(days=30),
                consent_to_share=True,
                consent_recorded_at=datetime.now(UTC),
            )
        )
        db.session.commit()
        when = datetime.now(UTC) - timedelta(days=20)  # unseen since: on the attention list
        steps = {"accepted_at": when} if status == "accepted" else {}
        referral = make_referral(client, world.team_ids["street"], when, status=status, **steps)
        return client["id"], referral["id"]


def _referral(app, referral_id) -> Referral:
    with app.app_context():
        return db.session.get(Referral, referral_id)


def test_the_lead_sees_a_shared_client_and_gives_it_a_key_worker(app, page, world):
    make_agreement(app, world)
    client_id, _ = _shared_client(app, world, "SH", "accepted")
    sign_in(page, "lead")
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    wait_synced(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Team").click()
    expect(page.locator("#shared-clients")).to_contain_text("1 was referred by partner teams")
    page.get_by_role("navigation", name="Team lead").get_by_role("link", name="Attention").click()
    card = page.locator("#attention-list > li").filter(has_text="SH")
    expect(card.locator(".shared-note")).to_have_text(
        "Shared by Durham Custody Liaison (referral accepted)."
    )
    expect(card).to_contain_text("Key worker: none")  # not the custody team's worker
    no_horizontal_scroll(page, "attention with a shared client")
    axe_check(page, "attention with a shared client")
    card.get_by_role("link", name=re.compile("^Review SH")).click()
    expect(page.get_by_role("heading", name="Review SH")).to_be_visible()
    expect(page.locator(".shared-note")).to_contain_text("Shared by Durham Custody Liaison")
    axe_check(page, "review of a shared client")
    page.get_by_role("link", name="Reassign").click()
    page.get_by_label("New key worker").select_option(label="Worker")
    page.get_by_label("Reason").select_option(label="Rebalancing caseloads")
    page.get_by_role("button", name="Reassign client").click()
    expect(page.locator("#assign-result")).to_contain_text("1 client now has Worker as key worker.")
    with app.app_context():
        share = db.session.scalar(
            select(RecordShare).where(
                RecordShare.record_id == client_id,
                RecordShare.team_id == world.team_ids["street"],
            )
        )
        assert share.key_worker_id == world.user_ids["worker"]
        assert db.session.get(Client, client_id).key_worker_id == world.user_ids["custody"]


def test_the_receiving_team_closes_and_the_referrer_withdraws(
    app, browser, live_server, page, world
):
    from tests.pwa.test_pathways import _phone

    make_agreement(app, world)
    taken_on, accepted = _shared_client(app, world, "CL", "accepted")
    waiting, sent = _shared_client(app, world, "WD", "sent")
    sign_in(page, "worker")
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    wait_synced(page)
    page.goto(f"/#/pathway/{taken_on}")
    expect(page.get_by_role("heading", name="Pathway of CL")).to_be_visible()
    page.get_by_role("button", name="Close referral").click()
    page.get_by_role("button", name="Confirm close").click()
    expect(page.get_by_text("Choose why the referral is closed.")).to_be_visible()
    axe_check(page, "closing a referral")
    no_horizontal_scroll(page, "closing a referral")
    page.get_by_label("Why close it?").select_option("lost_contact")
    page.get_by_role("button", name="Confirm close").click()
    expect(page.get_by_text("Referral closed.")).to_be_visible()
    wait_synced(page)
    closed = _referral(app, accepted)
    assert closed.status == "closed" and closed.closed_reason == "lost_contact"
    # Only the referring team withdraws a referral not yet answered.
    page.goto(f"/#/pathway/{waiting}")
    expect(page.get_by_role("heading", name="Pathway of WD")).to_be_visible()
    expect(page.get_by_role("button", name="Withdraw referral")).to_have_count(0)
    custody = _phone(browser, live_server)
    try:
        phone = custody.new_page()
        sign_in(phone, "custody")
        expect(phone.get_by_role("heading", name="Caseload")).to_be_visible()
        wait_synced(phone)
        phone.goto(f"/#/pathway/{waiting}")
        expect(phone.get_by_role("heading", name="Pathway of WD")).to_be_visible()
        phone.get_by_role("button", name="Withdraw referral").click()
        expect(phone.get_by_text("Referral withdrawn.")).to_be_visible()
        wait_synced(phone)
        withdrawn = _referral(app, sent)
        assert withdrawn.status == "closed" and withdrawn.closed_reason == "withdrawn"
    finally:
        custody.close()


def test_the_lead_links_the_same_person_in_a_partner_team(app, page, world):
    from outreach.pathways.models import ClientLink

    make_agreement(app, world)
    with app.app_context():
        (theirs,) = make_clients(world.team_ids["custody"], world.area_ids["durham"], 1)
        (mine,) = make_clients(world.team_ids["street"], world.area_ids["durham"], 1)
        db.session.execute(
            update(Client)
            .where(Client.id == mine["id"])
            .values(initials="LK", known_as=None, match_key=theirs["match_key"])
        )
        db.session.commit()
    sign_in(page, "lead")
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    wait_synced(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Team").click()
    page.get_by_role("navigation", name="Team lead").get_by_role("link", name="Duplicates").click()
    card = page.locator("#partner-duplicates > li")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("LK and a client of Durham Custody Liaison")
    no_horizontal_scroll(page, "partner duplicates")
    axe_check(page, "partner duplicates")
    card.get_by_role("button", name="Same person: link").click()
    expect(page.get_by_role("heading", name=re.compile("^Linked: LK"))).to_be_focused()
    with app.app_context():
        link = db.session.scalars(select(ClientLink)).one()
        assert link.resolution == "linked"
        assert {link.client_id, link.other_client_id} == {mine["id"], theirs["id"]}
