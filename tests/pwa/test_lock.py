"""The phone's app lock in a real headless Chromium at 360x640 (issue 19): a PIN after the
first sign-in, the app opening locked and unlocking offline, locking itself after a few
minutes unused (the page's clock driven, never slept), wrong PINs, the offline lease,
sign-out and another worker, a revoked device; and the browser's storage read raw, where
no personal value of a client may be found."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select, update

from outreach.access.models import Device
from outreach.audit.models import AuditEvent
from outreach.auth.service import revoke_device
from outreach.core.extensions import db
from outreach.people.models import Client
from tests.factories import PASSWORD, make_clients
from tests.pwa.test_pwa import (
    PIN,
    SYNCED,
    add_client,
    axe_check,
    cut_network,
    restore_network,
    set_pin,
    shot,
    sign_in,
    status,
    unlock,
    wait_for_service_worker,
    wait_synced,
)

pytestmark = pytest.mark.browser

LOCKED = "Outreach is locked"

# Everything the browser keeps for the site, as text: every IndexedDB database and store
# (binary values as Latin-1, so ciphertext is searched byte for byte), localStorage,
# sessionStorage and every response in Cache Storage.
RAW_STORAGE = (Path(__file__).parent / "raw_storage.js").read_text()

VAULT = """() => new Promise((ok, no) => {
  const r = indexedDB.open('outreach-vault');
  r.onsuccess = () => {
    const q = r.result.transaction('vault').objectStore('vault').get('v');
    q.onsuccess = () => {
      const v = q.result;
      r.result.close();
      ok(v && { user_id: v.user_id, pin: !!v.pin_wrap, secret: !!v.unlock_secret,
                failures: v.failures });
    };
  };
  r.onerror = () => no(r.error);
})"""


def raw_storage(page) -> str:
    return page.evaluate(RAW_STORAGE)


def vault(page) -> dict | None:
    return page.evaluate(VAULT)


def lock_screen(page) -> None:
    expect(page.get_by_role("heading", name=LOCKED)).to_be_visible()


def assert_nothing_personal_on_screen(page, *values: str) -> None:
    html = page.content()
    for value in values:
        assert value not in html, f"{value!r} is in the DOM while locked"
    expect(page.locator("#whoami")).to_have_text("")
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()


def test_the_app_opens_locked_and_unlocks_offline(context, page, world, screenshots):
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    wait_for_service_worker(page)
    cut_network(context)
    add_client(page, "QZ", "1979-01-02", "male", "DH1", "Zebedee")
    expect(page.get_by_role("heading", name=re.compile("^Client QZ"))).to_be_visible()
    assert page.title() == "Client \u2013 Outreach"  # the browser's history keeps titles

    page.reload()
    lock_screen(page)
    assert page.title() == "Locked \u2013 Outreach"
    assert_nothing_personal_on_screen(page, "Zebedee", "QZ", "Worker")
    axe_check(page, "lock screen")
    shot(page, screenshots, "20-locked")
    page.get_by_role("button", name="Unlock").click()
    expect(page.get_by_role("alert")).to_contain_text("Enter your PIN")
    unlock(page)  # offline: the PIN alone
    expect(page.get_by_role("heading", name="Client QZ (Zebedee)")).to_be_visible()


def test_raw_storage_holds_no_personal_value(app, context, page, world):
    """A marker recorded offline, a pulled client, a draft and the caseload's saved index:
    none of it readable in IndexedDB, Cache Storage or localStorage."""
    with app.app_context():
        pulled = make_clients(world.team_ids["street"], world.area_ids["durham"], 1)[0]
        db.session.execute(
            update(Client).where(Client.id == pulled["id"]).values(known_as="Pulledmarker")
        )
        db.session.commit()
    sign_in(page)
    expect(page.get_by_text("Pulledmarker")).to_be_visible()
    wait_for_service_worker(page)
    cut_network(context)
    add_client(page, "QZX", "1979-01-02", "male", "DH1", "Zebedeemarker")
    page.get_by_role("main").get_by_role("link", name="Record intervention").click()
    page.get_by_label("Type").select_option("harm_reduction_advice")
    page.get_by_label("Location").select_option("street")
    page.get_by_label("Notes").fill("Notemarker: talked about not using alone.")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Intervention saved.")).to_be_visible()
    page.get_by_role("main").get_by_role("link", name="Record intervention").click()
    page.get_by_label("Notes").fill("Draftmarker typed, not saved")
    expect(status(page)).to_have_text("2 waiting to sync")
    page.wait_for_function(
        "async () => !!(await self.Outreach.db.getMeta('draft:intervention:new:'))"
        " || (await self.Outreach.db.allMeta())['caseload_index'] !== undefined"
    )
    page.wait_for_timeout(1200)  # the draft's and the caseload index's delayed saves
    raw = raw_storage(page).lower()
    assert "outreach-vault" in raw and "outreach/records" in raw  # it did read the stores
    for value in (
        "zebedeemarker",
        "pulledmarker",
        "notemarker",
        "draftmarker",
        "1979-01-02",
        pulled["date_of_birth"].isoformat(),
        world.emails["worker"],
    ):
        assert value.lower() not in raw, f"{value} is readable in the browser's storage"
    # The app itself still reads everything (unlocked).
    page.reload()
    unlock(page)
    expect(page.get_by_label("Notes")).to_have_value("Draftmarker typed, not saved")


def test_it_locks_after_a_few_minutes_unused_and_on_lock_now(page, world):
    page.clock.install()
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    page.clock.fast_forward("04:00")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Follow-ups").click()
    page.clock.fast_forward("04:00")  # 4 minutes since the tap: still open
    expect(page.get_by_role("heading", name="Follow-ups")).to_be_visible()
    page.clock.fast_forward("01:30")
    lock_screen(page)
    assert_nothing_personal_on_screen(page, "Worker")
    unlock(page)
    page.get_by_role("button", name="Lock now").click()
    lock_screen(page)


def test_the_choose_pin_screen_refuses_weak_pins_and_passes_axe(page, world, screenshots):
    page.goto("/")
    page.get_by_label("Email").fill(world.emails["worker"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Choose a PIN for this phone")).to_be_visible()
    axe_check(page, "choose a PIN")
    shot(page, screenshots, "21-choose-pin")
    for weak, why in (("1234", "at least 6"), ("111111", "one digit"), ("123456", "run of digits")):
        page.get_by_label("PIN", exact=True).fill(weak)
        page.get_by_role("button", name="Set PIN").click()
        expect(page.get_by_role("alert")).to_contain_text(why)
    set_pin(page, "correct horse battery")  # a passphrase is fine
    page.reload()
    unlock(page, "correct horse battery")


def test_five_wrong_pins_then_a_password_sign_in_restores_unsynced_records(
    app, context, page, world
):
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    wait_for_service_worker(page)
    cut_network(context)
    add_client(page, "WP", "1970-05-05", "female", "DH1", "Wanda")
    expect(status(page)).to_have_text("1 waiting to sync")
    page.reload()
    lock_screen(page)
    for left in (4, 3, 2, 1):
        page.get_by_label("PIN", exact=True).fill("999999")
        page.get_by_role("button", name="Unlock").click()
        expect(page.get_by_role("alert")).to_contain_text(f"{left} tr")
    page.get_by_label("PIN", exact=True).fill("999999")
    page.get_by_role("button", name="Unlock").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text("nothing you recorded is lost")).to_be_visible()
    assert vault(page) == {
        "user_id": world.user_ids["worker"],
        "pin": False,
        "secret": False,
        "failures": 5,
    }
    # The PIN no longer opens anything, even the right one: only the password does.
    restore_network(context)
    page.get_by_label("Email").fill(world.emails["worker"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    set_pin(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    expect(page.get_by_text("Wanda")).to_be_visible()
    expect(status(page)).to_have_text(SYNCED, timeout=20_000)
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(Client.initials == "WP")) == 1
        failures = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "device.pin_failed")
        ).all()
        assert [e.detail["count"] for e in failures] == [5]
    lead = page.context.request.post(
        "/api/v1/auth/login",
        data=json.dumps(
            {"email": world.emails["lead"], "password": PASSWORD, "device_id": str(uuid.uuid4())}
        ),
        headers={"Content-Type": "application/json"},
    ).json()
    seen = page.context.request.get(
        "/api/v1/auth/team-lock-events",
        headers={"Authorization": f"Bearer {lead['access_token']}"},
    ).json()
    assert [(e["user_id"], e["count"]) for e in seen["items"]] == [(world.user_ids["worker"], 5)]


def test_after_the_lease_the_phone_needs_the_password_and_cannot_decrypt(
    app, context, page, world, monkeypatch
):
    monkeypatch.setitem(app.config, "OFFLINE_UNLOCK_HOURS", 1)
    page.clock.install()
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    wait_for_service_worker(page)
    cut_network(context)
    add_client(page, "LXQ", "1968-08-08", "male", "DH1", "Leasemarker")
    page.get_by_role("button", name="Lock now").click()
    lock_screen(page)
    page.clock.fast_forward("01:01:00")
    page.get_by_label("PIN", exact=True).fill(PIN)
    page.get_by_role("button", name="Unlock").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text("needs your password")).to_be_visible()
    assert vault(page)["secret"] is False  # the server's part is gone from the phone
    assert "Leasemarker" not in raw_storage(page)
    restore_network(context)
    page.get_by_label("Email").fill(world.emails["worker"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    set_pin(page)
    expect(page.get_by_text("Leasemarker")).to_be_visible()


def test_a_revoked_device_past_its_lease_cannot_decrypt_and_is_wiped(
    app, context, page, world, monkeypatch
):
    monkeypatch.setitem(app.config, "OFFLINE_UNLOCK_HOURS", 1)
    page.clock.install()
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    wait_for_service_worker(page)
    device_id = uuid.UUID(page.evaluate("self.Outreach.db.getMeta('device_id')"))
    cut_network(context)
    add_client(page, "RVQ", "1960-06-06", "male", "DH1", "Revokedmarker")
    with app.app_context():
        revoke_device(device_id, actor_id=None)
    page.reload()
    lock_screen(page)
    page.clock.fast_forward("01:01:00")
    page.get_by_label("PIN", exact=True).fill(PIN)
    page.get_by_role("button", name="Unlock").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert vault(page)["secret"] is False
    restore_network(context)
    page.get_by_label("Email").fill(world.emails["worker"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("revoked")
    assert vault(page) is None
    assert "Revokedmarker" not in raw_storage(page)
    with app.app_context():
        assert db.session.get(Device, device_id).revoked_at is not None


def sign_out(page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Account").click()
    page.get_by_role("button", name="Sign out").click()


def sign_in_as(page, email: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def count_clients(app, initials: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).where(Client.initials == initials))


def test_sign_out_clears_the_phone_and_the_next_worker_sees_nothing(app, context, page, world):
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    add_client(page, "SOQ", "1971-07-07", "male", "DH1", "Signoutmarker")
    # Saved first (before, the outbox could be read empty while the save was still being
    # written, and the sign-out then rightly found 1 record waiting).
    expect(page.get_by_text("Client added.")).to_be_visible()
    expect(status(page)).to_have_text(SYNCED)
    wait_synced(page)  # the status may still read synced from before the save
    sign_out(page)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text("Nothing of yours is left on this phone")).to_be_visible()
    raw = raw_storage(page).lower()
    assert "signoutmarker" not in raw and "1971-07-07" not in raw
    assert vault(page) is None
    assert (
        page.evaluate("self.Outreach.db.tx('records', 'readonly', (s) => s.records.count())") == 0
    )
    # Another worker of another team on the same phone: nothing of the first.
    sign_in(page, "dorset")
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    expect(page.get_by_text("Signoutmarker")).to_have_count(0)


def test_records_waiting_at_sign_out_are_for_the_same_worker_only(app, context, page, world):
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    wait_for_service_worker(page)
    cut_network(context)
    add_client(page, "WAQ", "1972-02-02", "female", "DH1", "Waitingmarker")
    expect(status(page)).to_have_text("1 waiting to sync")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Account").click()
    page.get_by_role("button", name="Sign out").click()
    sync_now = page.get_by_role("main").get_by_role("button", name="Sync now")
    expect(sync_now).to_be_visible()  # offered first
    page.get_by_role("button", name="Sign out anyway").click()
    expect(page.get_by_text("1 record not yet synced stays on this phone")).to_be_visible()
    assert "waitingmarker" not in raw_storage(page).lower()
    restore_network(context)
    # Another worker is refused before the phone changes hands, and told why.
    sign_in_as(page, world.emails["worker2"])
    expect(page.get_by_role("alert")).to_contain_text("another worker")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert count_clients(app, "WAQ") == 0
    # The worker who recorded it signs in again: it is readable and syncs, once.
    sign_in_as(page, world.emails["worker"])
    set_pin(page)
    expect(status(page)).to_have_text(SYNCED, timeout=20_000)
    expect(page.get_by_text("Waitingmarker")).to_be_visible()
    assert count_clients(app, "WAQ") == 1


def test_a_sign_in_in_another_tab_locks_this_one_and_credits_nobody_else(app, context, page, world):
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    page.get_by_role("main").get_by_role("link", name="Add client").click()
    page.get_by_label("Initials").fill("TTQ")
    other = context.new_page()
    other.goto("/")
    lock_screen(other)
    other.get_by_role("button", name="Forgotten your PIN? Sign in with your password").click()
    sign_in_as(other, world.emails["worker2"])
    set_pin(other)
    # The first tab follows: locked, its form gone from the DOM, nothing saved as anyone.
    lock_screen(page)
    assert "TTQ" not in page.content()
    assert count_clients(app, "TTQ") == 0
    with app.app_context():
        refused = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "auth.device_id_taken")
        ).all()
        assert refused  # worker2 got a device of their own; worker's sessions untouched


def test_a_sign_in_never_deletes_what_another_tab_saved_meanwhile(app, context, page, world):
    """Worker 2 signed in in one tab; worker 1's sign-in from another tab's old form is in
    flight when worker 2 saves a record that cannot be pushed: the record stays, and the
    phone stays worker 2's."""
    sign_in(page, "worker2")
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    page.route("**/api/v1/sync/push", lambda route: route.abort("internetdisconnected"))
    other = context.new_page()
    other.goto("/")
    lock_screen(other)
    other.get_by_role("button", name="Forgotten your PIN? Sign in with your password").click()
    held = []
    other.route("**/api/v1/auth/login", lambda route: held.append(route))
    sign_in_as(other, world.emails["worker"])
    for _ in range(100):
        if held:
            break
        other.wait_for_timeout(50)
    assert held, "the sign-in request did not start"
    add_client(page, "RCQ", "1973-03-03", "male", "DH1", "Racemarker")
    expect(status(page)).to_have_text("1 waiting to sync")
    held[0].continue_()
    expect(other.get_by_role("alert")).to_contain_text("another worker")
    # Worker 2's tab goes on, their record readable and still waiting.
    expect(page.get_by_role("button", name="Lock now")).to_be_visible()
    expect(page.get_by_role("heading", name="Client RCQ (Racemarker)")).to_be_visible()
    page.unroute("**/api/v1/sync/push")
    page.get_by_role("button", name="Sync now").click()
    expect(status(page)).to_have_text(SYNCED)
    with app.app_context():
        client = db.session.scalar(select(Client).where(Client.initials == "RCQ"))
        assert client is not None and client.key_worker_id == world.user_ids["worker2"]


def test_the_pin_is_changed_in_account(page, world, screenshots):
    sign_in(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Account").click()
    page.get_by_label("Current PIN").fill("000001")
    page.get_by_label("New PIN").fill("735194")
    page.get_by_role("button", name="Change PIN").click()
    expect(page.get_by_role("alert")).to_contain_text("not your current PIN")
    page.get_by_label("Current PIN").fill(PIN)
    page.get_by_role("button", name="Change PIN").click()
    expect(page.get_by_text("Your PIN has changed.")).to_be_visible()
    axe_check(page, "account")
    page.reload()
    lock_screen(page)
    page.get_by_label("PIN", exact=True).fill(PIN)
    page.get_by_role("button", name="Unlock").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong PIN")
    unlock(page, "735194")


# The page as the task switcher sees it: hidden (document.visibilityState overridden, then
# the event the browser fires when a tab or app goes to the background), and back.
SET_HIDDEN = """(hidden) => {
  const state = hidden ? 'hidden' : 'visible';
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state });
  document.dispatchEvent(new Event('visibilitychange'));
}"""

# Everything the document holds: its markup and the values of its form controls (a typed
# value or a picked client is a property, not in the markup).
DOM_TEXT = """() => document.documentElement.outerHTML + '\\n' +
  [...document.querySelectorAll('input, textarea, select')].map((el) => el.value).join('\\n')"""


def test_a_hidden_page_keeps_nothing_personal_in_the_dom(context, page, world):
    """Issue 19: the task switcher's snapshot is taken as the page hides. Hidden, the DOM
    holds no client's name and no worker's name, a cover is shown, and a screen drawn
    while hidden (a navigation, a redraw after a sync) waits in memory; visible again,
    the screen comes back as it was, a half-typed form included."""
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    wait_for_service_worker(page)
    cut_network(context)
    add_client(page, "HDQ", "1975-04-04", "female", "DH1", "Hiddenmarker")
    expect(page.get_by_role("heading", name="Client HDQ (Hiddenmarker)")).to_be_visible()
    page.get_by_role("main").get_by_role("link", name="Record intervention").click()
    page.get_by_label("Notes").fill("Typedmarker half written")

    assert "Typedmarker" in page.evaluate(DOM_TEXT) and "Hiddenmarker" in page.evaluate(DOM_TEXT)
    page.evaluate(SET_HIDDEN, True)
    html = page.evaluate(DOM_TEXT)
    for value in ("Hiddenmarker", "HDQ", "Typedmarker", "Worker"):
        assert value not in html, f"{value!r} is in the DOM while the page is hidden"
    expect(page.locator("#cover")).to_be_visible()
    expect(page.locator("#cover")).to_have_text("Outreach")

    # Visible again: the form as it was left, typing included.
    page.evaluate(SET_HIDDEN, False)
    expect(page.locator("#cover")).to_be_hidden()
    expect(page.get_by_label("Notes")).to_have_value("Typedmarker half written")
    expect(page.locator("#whoami")).not_to_have_text("")

    # A screen drawn while hidden stays out of the DOM too, until the page is visible.
    page.evaluate(SET_HIDDEN, True)
    page.evaluate("() => { location.hash = '#/caseload'; }")
    page.wait_for_function("() => document.title.startsWith('Caseload')")
    html = page.evaluate(DOM_TEXT)
    assert "Hiddenmarker" not in html and "HDQ" not in html
    page.evaluate(SET_HIDDEN, False)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    expect(page.get_by_text("Hiddenmarker")).to_be_visible()
