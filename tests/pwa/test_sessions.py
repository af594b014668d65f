"""The PWA's side of sessions the server ends or refuses: a device id that was another
user's is replaced by the one sign-in returns; a session ended by an account change
keeps the records not yet synced and asks the worker to sign in again."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from outreach.access.models import Device
from outreach.core.extensions import db
from outreach.people.models import Client
from tests.conftest import ApiClient
from tests.pwa.test_pwa import (
    SYNCED,
    add_client,
    cut_network,
    restore_network,
    set_pin,
    sign_in,
    status,
    wait_synced,
)

pytestmark = pytest.mark.browser


def test_phone_holding_another_users_device_id_keeps_the_new_one(app, client, page, world):
    admin = ApiClient(client, world.emails["admin"])
    page.goto("/")
    page.wait_for_function("() => !!(self.Outreach && self.Outreach.db)")
    page.evaluate(f"self.Outreach.db.setMeta({{ device_id: '{admin.device_id}' }})")
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    expect(status(page)).to_have_text(SYNCED)
    kept = uuid.UUID(page.evaluate("self.Outreach.db.getMeta('device_id')"))
    assert kept != admin.device_id
    with app.app_context():
        assert db.session.get(Device, kept).user_id == world.user_ids["worker"]
        assert db.session.get(Device, admin.device_id).user_id == world.user_ids["admin"]
    assert admin.get("/api/v1/me").status_code == 200


def test_ended_session_keeps_unsynced_records_and_asks_to_sign_in(
    app, client, context, page, world
):
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    expect(status(page)).to_have_text(SYNCED)
    cut_network(context)
    add_client(page, "kl", "1990-02-03", "male", "DH7")
    expect(page.get_by_role("heading", name="Client KL")).to_be_visible()
    admin = ApiClient(client, world.emails["admin"])
    new_password = "a-new-long-pass-phrase-7"
    reset = admin.patch(
        f"/api/v1/admin/users/{world.user_ids['worker']}", json={"password": new_password}
    )
    assert reset.status_code == 200
    restore_network(context)
    page.evaluate("() => document.getElementById('sync-now').click()")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text("records not yet synced are kept")).to_be_visible()
    assert page.evaluate("self.Outreach.db.outboxCount()") == 1
    page.get_by_label("Email").fill(world.emails["worker"])
    page.get_by_label("Password").fill(new_password)
    page.get_by_role("button", name="Sign in").click()
    set_pin(page)  # a password sign-in chooses the phone's PIN again (new device secret)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    wait_synced(page)
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(Client.initials == "KL")) == 1
