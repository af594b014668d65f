"""The PWA's side of sessions the server ends or refuses: a device id that was another
user's is replaced by the one sign-in returns."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from outreach.access.models import Device
from outreach.core.extensions import db
from tests.conftest import ApiClient
from tests.pwa.test_pwa import SYNCED, sign_in, status

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
