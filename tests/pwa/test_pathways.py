"""Pathways in the worker's PWA (Chromium, 360x640): a custody worker records consent and
refers a client while offline; the referral and the client reach the street team's
phone, where a worker accepts it; both see the pathway. axe-core on the new screens."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from outreach.core.extensions import db
from outreach.pathways.models import Referral
from tests.pathways.conftest import make_agreement
from tests.pwa.conftest import PHONE
from tests.pwa.test_pwa import (
    add_client,
    axe_check,
    cut_network,
    no_horizontal_scroll,
    restore_network,
    shot,
    sign_in,
    status,
    wait_for_service_worker,
    wait_synced,
)

pytestmark = pytest.mark.browser


def _phone(browser, live_server):
    ctx = browser.new_context(
        base_url=live_server,
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        locale="en-GB",
        timezone_id="Europe/London",
        service_workers="allow",
    )
    ctx.set_default_timeout(10_000)
    return ctx


def _referral(app):
    with app.app_context():
        return db.session.scalars(select(Referral)).one_or_none()


def test_refer_offline_then_the_partner_accepts(
    app, browser, live_server, context, page, world, screenshots
):
    make_agreement(app, world)
    sign_in(page, "custody")
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    wait_synced(page)
    wait_for_service_worker(page)  # the shell is precached: the phone works offline
    cut_network(context)
    add_client(page, "RB", "1990-04-02", "male", "DH1")
    expect(page.get_by_text("Client added.")).to_be_visible()
    page.get_by_role("link", name="Refer and pathway").click()
    # No consent yet: the phone says why it cannot refer, as the server would.
    expect(page.locator("#refer-blocked")).to_have_text(
        "No consent: record the client's consent to share before referring."
    )
    page.get_by_role("button", name="Record consent given").click()
    expect(page.get_by_text("Consent to share recorded.")).to_be_visible()
    expect(page.locator("#consent-state")).to_contain_text("Given")
    page.get_by_role("link", name="Refer to a partner team").click()
    page.get_by_role("button", name="Send referral").click()
    expect(page.get_by_text("Choose the team to refer to.").first).to_be_visible()
    page.get_by_label("Partner team").select_option(label="Durham Street Outreach")
    page.get_by_label("Reason").select_option("structured_treatment")
    page.get_by_label("Urgency").select_option("soon")
    page.get_by_role("button", name="Send referral").click()
    expect(page.get_by_text("Referral saved.")).to_be_visible()
    expect(page.get_by_text("To Durham Street Outreach")).to_be_visible()
    expect(status(page)).to_have_text(
        "2 waiting to sync"
    )  # the client (with consent), the referral
    axe_check(page, "pathway")
    no_horizontal_scroll(page, "pathway")
    shot(page, screenshots, "pathway-offline")
    assert _referral(app) is None
    restore_network(context)
    page.get_by_role("button", name="Sync now").click()
    wait_synced(page)
    sent = _referral(app)
    assert sent is not None and sent.status == "sent"

    street = _phone(browser, live_server)
    try:
        phone = street.new_page()
        sign_in(phone, "worker")
        expect(phone.get_by_role("heading", name="Caseload")).to_be_visible()
        wait_synced(phone)
        # Referred, not yet taken on: in Referrals, not in the street team's caseload.
        expect(phone.locator("#client-list")).not_to_contain_text("RB")
        phone.get_by_role("navigation", name="Main").get_by_role("link", name="Referrals").click()
        incoming = phone.locator("#incoming")
        expect(incoming.get_by_text("RB")).to_be_visible()
        expect(incoming.get_by_text("From Durham Custody Liaison")).to_be_visible()
        axe_check(phone, "referrals")
        no_horizontal_scroll(phone, "referrals")
        shot(phone, screenshots, "referrals-incoming")
        incoming.get_by_role("button", name="Accept").click()
        expect(phone.get_by_text("Referral accepted")).to_be_visible()
        wait_synced(phone)
        assert _referral(app).status == "accepted"
        phone.get_by_role("link", name="RB").click()
        expect(phone.get_by_role("heading", name="Pathway of RB")).to_be_visible()
        expect(phone.get_by_text("only that team can change these details")).to_be_visible()
        expect(phone.get_by_text("Accepted:")).to_be_visible()
        axe_check(phone, "pathway (receiving team)")
        # Accepted: the client is in the street team's caseload too, to record contacts
        # with, but the custody team's record is theirs to edit.
        phone.get_by_role("navigation", name="Main").get_by_role("link", name="Caseload").click()
        expect(phone.locator("#client-list")).to_contain_text("RB")
        phone.locator("#client-list").get_by_text("RB").click()
        expect(phone.get_by_role("link", name="Record intervention")).to_be_visible()
        expect(phone.get_by_role("link", name="Edit client")).to_have_count(0)
    finally:
        street.close()
    # The referring team sees the step at its next sync.
    page.get_by_role("button", name="Sync now").click()
    wait_synced(page)
    expect(page.get_by_text("Accepted:")).to_be_visible()


def test_declining_needs_a_reason(app, browser, live_server, page, world):
    make_agreement(app, world)
    sign_in(page, "custody")
    wait_synced(page)
    add_client(page, "KT", "1985-09-09", "female", "DH1")
    page.get_by_role("link", name="Refer and pathway").click()
    page.get_by_role("button", name="Record consent given").click()
    page.get_by_role("link", name="Refer to a partner team").click()
    page.get_by_label("Partner team").select_option(label="Durham Street Outreach")
    page.get_by_label("Reason").select_option("housing")
    page.get_by_role("button", name="Send referral").click()
    expect(page.get_by_text("Referral saved.")).to_be_visible()
    page.get_by_role("button", name="Sync now").click()
    wait_synced(page)
    street = _phone(browser, live_server)
    try:
        phone = street.new_page()
        sign_in(phone, "worker")
        wait_synced(phone)
        phone.get_by_role("navigation", name="Main").get_by_role("link", name="Referrals").click()
        phone.get_by_role("button", name="Decline").click()
        phone.get_by_role("button", name="Confirm decline").click()
        expect(phone.get_by_text("Choose why the referral is declined.")).to_be_visible()
        phone.get_by_label("Why decline?").select_option("no_capacity")
        phone.get_by_role("button", name="Confirm decline").click()
        expect(phone.get_by_text("Referral declined.")).to_be_visible()
        wait_synced(phone)
        assert _referral(app).status == "declined"
    finally:
        street.close()


def test_a_lead_sees_what_waits_too_long_and_the_bar_holds_every_screen(app, page, world):
    from datetime import UTC, date, datetime, timedelta

    from tests.factories import make_clients
    from tests.pathways.helpers import make_episode, make_referral

    make_agreement(app, world)
    with app.app_context():
        (custody,) = make_clients(world.team_ids["custody"], world.area_ids["durham"], 1)
        (street,) = make_clients(world.team_ids["street"], world.area_ids["durham"], 1)
        long_ago = datetime.now(UTC) - timedelta(days=3)
        make_referral(custody, world.team_ids["street"], long_ago)
        make_episode(
            street,
            date.today() - timedelta(days=30),
            planned_end_on=date.today(),
            next_session_on=date.today() - timedelta(days=2),
        )
    sign_in(page, "lead")
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    wait_synced(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Referrals").click()
    expect(page.get_by_role("heading", name="Incoming referrals")).to_be_visible()
    expect(page.locator("#incoming").get_by_text("Waiting too long")).to_be_visible()
    attention = page.locator("#episodes-attention")
    expect(attention.get_by_text("Due to end")).to_be_visible()
    expect(attention.get_by_text("Session overdue")).to_be_visible()
    no_horizontal_scroll(page, "referrals (team lead)")
    axe_check(page, "referrals (team lead)")


def test_a_diversion_episode_from_opening_to_its_outcome(app, page, world, screenshots):
    from outreach.pathways.models import Episode

    sign_in(page, "custody")
    wait_synced(page)
    add_client(page, "DV", "1999-01-05", "male", "DL1")
    page.get_by_role("link", name="Refer and pathway").click()
    page.get_by_role("link", name="Open a diversion episode").click()
    expect(page.get_by_label("Scheme")).to_have_value("checkpoint")
    page.get_by_label("Conditions (one a line)").fill("Attend an assessment\nComplete 4 sessions")
    axe_check(page, "episode form")
    no_horizontal_scroll(page, "episode form")
    shot(page, screenshots, "episode-form")
    page.get_by_role("button", name="Open episode").click()
    expect(page.get_by_text("Diversion episode opened.")).to_be_visible()
    page.get_by_role("link", name="Checkpoint · Open").click()
    page.get_by_role("button", name="Record a session attended today").click()
    page.get_by_label("Outcome").select_option("completed")
    page.get_by_role("button", name="Save episode").click()
    expect(page.get_by_text("Enter when the episode ended.").first).to_be_visible()
    page.get_by_label("Ended on").fill(page.get_by_label("Start date").input_value())
    page.get_by_role("button", name="Save episode").click()
    expect(page.get_by_text("Episode saved.")).to_be_visible()
    expect(page.get_by_text("Checkpoint · Completed")).to_be_visible()
    page.get_by_role("button", name="Sync now").click()
    wait_synced(page)
    with app.app_context():
        episode = db.session.scalars(select(Episode)).one()
        assert episode.outcome == "completed" and len(episode.sessions) == 1
        assert episode.conditions == ["Attend an assessment", "Complete 4 sessions"]
