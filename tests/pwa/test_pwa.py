"""The worker's PWA in a real headless Chromium at 360x640, on a live server:
sign in, work offline across reloads and closed tabs, sync on reconnect, rejected
records fixed, revoked devices wiped, new deploys offered. Screenshots go to
artifacts/screenshots/."""

from __future__ import annotations

import json
import re
import shutil
import time
import uuid
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from outreach.core.extensions import db
from outreach.interventions.models import Intervention
from outreach.people.models import Client
from outreach.shell import STATIC_DIR
from tests.conftest import need
from tests.factories import PASSWORD
from tests.pwa.conftest import PHONE

pytestmark = pytest.mark.browser

SYNCED = "All changes synced"
# The phone's records as the app reads them (opened with its data key: it is unlocked).
IDB_RECORDS = """() => self.Outreach.db.tx('records', 'readonly', (s) => s.records.getAll())"""


@pytest.fixture
def sync_api(app):
    """The sync endpoints (outreach/sync) the PWA pushes to and pulls from."""
    rules = {(r.rule, m) for r in app.url_map.iter_rules() for m in r.methods or ()}
    need(
        ("/api/v1/sync/push", "POST") in rules and ("/api/v1/sync/pull", "GET") in rules,
        "needs the sync API (POST /api/v1/sync/push, GET /api/v1/sync/pull)",
    )


def cut_network(context) -> None:
    """No signal: the page's network is emulated offline, and the service worker's
    requests (which Chromium's offline emulation may not cover) fail too."""
    context.set_offline(True)
    context.route("**/api/**", lambda route: route.abort("internetdisconnected"))


def restore_network(context) -> None:
    context.unroute("**/api/**")
    context.set_offline(False)


def wait_synced(page, timeout_ms: int = 15_000) -> None:
    """Until the outbox is empty and no sync is running (not just the status text)."""
    for _ in range(timeout_ms // 100):
        idle = page.evaluate(
            """async () => (await self.Outreach.db.outboxCount()) === 0
                 && !document.getElementById('last-sync').textContent.includes('Syncing')"""
        )
        if idle:
            return
        page.wait_for_timeout(100)
    raise AssertionError("the outbox did not empty")


PIN = "482916"


def sign_in(page, who: str = "worker", pin: str = PIN) -> None:
    """Sign in with the password, then choose the phone's PIN (the app lock)."""
    if not page.get_by_role("heading", name="Sign in").is_visible():
        page.goto("/")
    page.get_by_label("Email").fill(f"{who}@example.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    set_pin(page, pin)


def set_pin(page, pin: str = PIN) -> None:
    expect(page.get_by_role("heading", name="Choose a PIN for this phone")).to_be_visible()
    page.get_by_label("PIN", exact=True).fill(pin)
    page.get_by_role("button", name="Set PIN").click()
    expect(page.get_by_role("button", name="Lock now")).to_be_visible()


def unlock(page, pin: str = PIN) -> None:
    """The app opens locked (a reload, a new tab): unlock it with the PIN."""
    expect(page.get_by_role("heading", name="Outreach is locked")).to_be_visible()
    page.get_by_label("PIN", exact=True).fill(pin)
    page.get_by_role("button", name="Unlock").click()
    expect(page.get_by_role("button", name="Lock now")).to_be_visible()


def wait_for_service_worker(page) -> None:
    page.wait_for_function("() => !!navigator.serviceWorker.controller")


def status(page):
    return page.locator("#sync-state")


def fill_date_of_birth(page, iso: str) -> None:
    """Day, month and year boxes, as a worker types them ("1984-06-15": 15, 6, 1984)."""
    year, month, day = iso.split("-")
    group = page.get_by_role("group", name="Date of birth")
    group.get_by_label("Day").fill(str(int(day)))
    group.get_by_label("Month").fill(str(int(month)))
    group.get_by_label("Year").fill(year)


def add_client(page, initials: str, dob: str, sex: str, district: str, known_as: str = "") -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Caseload").click()
    page.get_by_role("link", name="Add client").click()
    page.get_by_label("Initials").fill(initials)
    fill_date_of_birth(page, dob)
    page.get_by_label("Sex").select_option(sex)
    page.get_by_label("Postcode district").fill(district)
    if known_as:
        page.get_by_label("Known-as name").fill(known_as)
    page.get_by_role("button", name="Save").click()


def record(page, type_: str, *, quantity=None, referred_to=None, follow_up=None, notes=None):
    page.get_by_role("main").get_by_role("link", name="Record intervention").click()
    expect(page.get_by_role("heading", name="Record intervention")).to_be_visible()
    page.get_by_label("Type").select_option(type_)
    page.get_by_label("Location").select_option("street")
    page.get_by_label("Opioids").check()
    if quantity is not None:
        page.get_by_label("Quantity").fill(str(quantity))
    if referred_to is not None:
        page.get_by_label("Referred to").fill(referred_to)
    if follow_up is not None:
        page.get_by_label("Follow-up date").fill(follow_up)
    if notes is not None:
        page.get_by_label("Notes").fill(notes)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Intervention saved.")).to_be_visible()


def axe_check(page, name: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    violations = results.response["violations"]
    assert not violations, f"{name}: " + json.dumps(
        [{"id": v["id"], "nodes": [n["target"] for n in v["nodes"]]} for v in violations]
    )


def no_horizontal_scroll(page, name: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{name} scrolls horizontally ({width}px)"
    small = page.evaluate(
        """() => [...document.querySelectorAll(
            '.btn, nav a, input:not([type=checkbox]):not([type=radio]), select, .list a.row')]
          .filter((el) => el.offsetParent !== null)
          .map((el) => [el.textContent.trim() || el.name || el.id,
                        el.getBoundingClientRect().height])
          .filter(([, hgt]) => hgt < 44)"""
    )
    assert not small, f"{name}: targets under 44px: {small}"


def shot(page, screenshots, name: str) -> None:
    page.screenshot(path=str(screenshots / f"{name}.png"), full_page=False)


def test_sign_in_screen_is_accessible(page, screenshots):
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_label("Email")).to_be_visible()
    expect(page.get_by_label("Password")).to_be_visible()
    no_horizontal_scroll(page, "sign-in")
    axe_check(page, "sign-in")
    shot(page, screenshots, "01-sign-in")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Enter your email address")
    axe_check(page, "sign-in with errors")


def test_wrong_password_is_explained(page, world):
    page.goto("/")
    page.get_by_label("Email").fill("worker@example.test")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("email or password is incorrect")


def test_offline_shift_then_sync_once(app, sync_api, context, page, world, screenshots):
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    expect(status(page)).to_have_text(SYNCED)
    wait_for_service_worker(page)

    # No signal from here on: reload and work.
    context.set_offline(True)
    page.reload()
    unlock(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    expect(page.locator("#last-sync")).to_contain_text("Offline")

    add_client(page, "jd", "1984-06-15", "female", "dh1", "Jo")
    expect(page.get_by_role("heading", name="Client JD (Jo)")).to_be_visible()
    record(page, "naloxone_supplied", quantity=2)
    shot(page, screenshots, "04-client")
    axe_check(page, "client")
    record(page, "harm_reduction_advice", notes="Talked about not using alone.")
    record(page, "referral_other", referred_to="Housing", follow_up=date.today().isoformat())
    expect(status(page)).to_have_text("4 waiting to sync")

    # Close the page and open a new one, still offline.
    page.close()
    page2 = context.new_page()
    page2.goto("/")
    unlock(page2)
    expect(page2.get_by_role("heading", name="Caseload")).to_be_visible()
    expect(status(page2)).to_have_text("4 waiting to sync")
    page2.get_by_label("Search clients").fill("jo")
    expect(page2.locator("#client-list li")).to_have_count(1)
    expect(page2.locator("#client-list li")).to_contain_text("Follow-up due today")
    no_horizontal_scroll(page2, "caseload")
    axe_check(page2, "caseload")
    shot(page2, screenshots, "02-caseload-offline")

    page2.get_by_role("main").get_by_role("link", name="Record intervention").click()
    expect(page2.get_by_role("heading", name="Record intervention")).to_be_visible()
    page2.get_by_label("Type").select_option("naloxone_supplied")
    no_horizontal_scroll(page2, "record intervention")
    axe_check(page2, "record intervention")
    shot(page2, screenshots, "03-record-intervention")
    page2.get_by_role("navigation", name="Main").get_by_role("link", name="Caseload").click()

    local = page2.evaluate(IDB_RECORDS)
    client_ids = {r["id"] for r in local if r["entity"] == "client"}
    intervention_ids = {r["id"] for r in local if r["entity"] == "intervention"}
    assert len(client_ids) == 1 and len(intervention_ids) == 3

    # Signal again: the app syncs by itself.
    context.set_offline(False)
    expect(status(page2)).to_have_text(SYNCED, timeout=20_000)
    expect(page2.locator("#last-sync")).to_contain_text("Synced ")
    # A second sync must not send anything twice.
    page2.get_by_role("button", name="Sync now").click()
    expect(status(page2)).to_have_text(SYNCED)
    page2.wait_for_timeout(500)

    with app.app_context():
        clients = db.session.scalars(select(Client).where(Client.initials == "JD")).all()
        assert [str(c.id) for c in clients] == list(client_ids)
        assert clients[0].known_as == "Jo" and clients[0].postcode_district == "DH1"
        rows = db.session.scalars(
            select(Intervention).where(Intervention.client_id == clients[0].id)
        ).all()
        assert sorted(str(r.id) for r in rows) == sorted(intervention_ids)
        for iid in intervention_ids:
            count = db.session.scalar(
                select(func.count())
                .select_from(Intervention)
                .where(Intervention.id == uuid.UUID(iid))
            )
            assert count == 1
        kinds = {r.type: r for r in rows}
        assert kinds["naloxone_supplied"].quantity == 2
        assert kinds["referral_other"].referral_to == "Housing"

    # Nothing from the API is in Cache Storage.
    cached = page2.evaluate(
        """async () => { const out = []; for (const k of await caches.keys()) {
             const c = await caches.open(k); for (const r of await c.keys()) out.push(r.url); }
           return out; }"""
    )
    assert cached and not [u for u in cached if "/api/" in u]


def test_rejected_record_is_shown_fixed_and_resent(
    app, sync_api, context, page, world, screenshots
):
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    expect(status(page)).to_have_text(SYNCED)
    # A record the phone's own checks would stop, queued directly as an old app version might.
    bad_id = str(uuid.uuid4())
    page.evaluate(
        """(id) => self.Outreach.sync.mutate('intervention', 'upsert', id, {
             type: 'naloxone_supplied', occurred_at: new Date().toISOString(),
             location: 'street', substances: ['opioids'], quantity: 999 })""",
        bad_id,
    )
    page.get_by_role("button", name="Sync now").click()
    # The sync line and the Sync tab say a change waits for the worker.
    expect(status(page)).to_have_text("1 change needs your attention")
    sync_tab = page.get_by_role("navigation", name="Main").get_by_role("link", name="Sync")
    expect(sync_tab).to_have_accessible_name(re.compile("^Sync ?: 1 change needs your attention$"))
    sync_tab.click()
    problem = page.get_by_role("alert").filter(has_text="did not accept")
    expect(problem).to_contain_text("Quantity")
    no_horizontal_scroll(page, "sync problems")
    axe_check(page, "sync problems")
    shot(page, screenshots, "05-sync-problem")

    page.get_by_role("link", name="Fix and send again").click()
    expect(page.get_by_role("heading", name="Edit intervention")).to_be_visible()
    expect(page.get_by_label("Quantity")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Quantity").fill("3")
    page.get_by_role("button", name="Save").click()
    expect(status(page)).to_have_text(SYNCED, timeout=15_000)
    with app.app_context():
        row = db.session.get(Intervention, uuid.UUID(bad_id))
        assert row is not None and row.quantity == 3


def test_revoked_device_is_wiped(app, sync_api, page, world):
    from outreach.auth.service import revoke_device

    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    expect(status(page)).to_have_text(SYNCED)
    add_client(page, "kl", "1990-02-03", "male", "DH7")
    expect(page.get_by_role("heading", name="Client KL")).to_be_visible()
    wait_synced(page)
    device_id = page.evaluate("self.Outreach.db.getMeta('device_id')")
    with app.app_context():
        revoke_device(uuid.UUID(device_id), actor_id=None)
    page.evaluate("() => document.getElementById('sync-now').click()")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text("local records were removed")).to_be_visible()
    assert page.evaluate(IDB_RECORDS) == []
    # The phone can be used again: a new device id, a fresh sign-in.
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    assert page.evaluate("self.Outreach.db.getMeta('device_id')") != device_id


def test_new_deploy_offers_reload(app, page, tmp_path, monkeypatch):
    copy = tmp_path / "static"
    shutil.copytree(STATIC_DIR, copy)
    monkeypatch.setitem(app.config, "PWA_STATIC_DIR", str(copy))
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    wait_for_service_worker(page)
    version = page.evaluate(
        """() => new Promise((resolve) => { const ch = new MessageChannel();
             ch.port1.onmessage = (e) => resolve(e.data);
             navigator.serviceWorker.controller.postMessage({type: 'version'}, [ch.port2]); })"""
    )
    css = copy / "app.css"
    css.write_text(css.read_text() + "\n.deploy-2 { color: inherit; }\n")
    page.reload()
    expect(page.get_by_text("A new version is available")).to_be_visible()
    page.get_by_role("button", name="Reload").click()
    page.wait_for_function(
        """(old) => new Promise((resolve) => { const c = navigator.serviceWorker.controller;
             if (!c) return resolve(false); const ch = new MessageChannel();
             ch.port1.onmessage = (e) => resolve(e.data !== old);
             c.postMessage({type: 'version'}, [ch.port2]); })""",
        arg=version,
    )
    expect(page.get_by_text("A new version is available")).to_be_hidden()
    css_text = page.evaluate("fetch('/app.css').then((r) => r.text())")
    assert re.search(r"deploy-2", css_text)


def test_edit_and_delete_own_record_offline(context, page, world):
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    wait_for_service_worker(page)
    context.set_offline(True)
    add_client(page, "MN", "1979-11-30", "male", "DH1")
    expect(page.get_by_role("heading", name="Client MN")).to_be_visible()
    # The same person again: the phone warns before adding a duplicate.
    add_client(page, "mn", "1979-11-30", "male", "DH2")
    expect(page.get_by_role("alert")).to_contain_text("This client may already exist")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Caseload").click()
    expect(page.locator("#client-list li")).to_have_count(1)
    page.get_by_role("link", name=re.compile("^MN")).click()

    record(page, "naloxone_supplied", quantity=1)
    expect(status(page)).to_have_text("2 waiting to sync")
    page.get_by_role("link", name=re.compile("^Edit Naloxone supplied")).click()
    expect(page.get_by_role("heading", name="Edit intervention")).to_be_visible()
    expect(page.get_by_label("Quantity")).to_have_value("1")
    page.get_by_label("Quantity").fill("25")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("Quantity must be 20 or fewer")
    page.get_by_label("Quantity").fill("4")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Kits: 4")).to_be_visible()
    expect(status(page)).to_have_text("2 waiting to sync")  # edits of unsent records coalesce

    page.get_by_role("link", name=re.compile("^Edit Naloxone supplied")).click()
    page.get_by_role("button", name="Delete this record").click()
    page.get_by_role("button", name="Yes, delete").click()
    expect(page.get_by_text("No contacts recorded yet.")).to_be_visible()
    expect(status(page)).to_have_text("1 waiting to sync")  # never sent: nothing to tell the server


@pytest.mark.parametrize(
    ("who", "heading", "links"),
    [
        ("commissioner", re.compile("^Weekly report 20"), ["Weekly report", "Account"]),
        ("admin", "Welcome, Admin", ["Weekly report", "Admin", "Account"]),
        ("lead", "Caseload", ["Caseload", "Follow-ups", "Referrals", "Team", "Sync", "Account"]),
        ("worker", "Caseload", ["Caseload", "Follow-ups", "Referrals", "Sync", "Account"]),
    ],
)
def test_navigation_follows_the_role(page, world, who, heading, links):
    sign_in(page, who)
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link")).to_have_text(links)
    if who in ("commissioner", "admin"):
        page.goto("/#/caseload")  # not theirs: back to their home
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
    page.get_by_role("link", name="Account").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_expired_access_token_is_refreshed_once_across_tabs(
    app, sync_api, context, page, world, monkeypatch
):
    from outreach.access.models import Device
    from outreach.auth.models import TokenRecord

    monkeypatch.setitem(app.config, "JWT_ACCESS_TOKEN_EXPIRES", timedelta(seconds=1))
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    expect(page.locator("#last-sync")).to_contain_text("Synced ")
    expect(page.locator("#last-sync")).not_to_contain_text("Syncing")
    other = context.new_page()
    other.goto("/")
    unlock(other)
    expect(other.get_by_role("heading", name="Caseload")).to_be_visible()
    page.wait_for_timeout(1500)  # every access token has expired
    # Both tabs sync at once: one refresh, rotated once, and the session survives.
    page.evaluate(
        """() => Promise.all([self.Outreach.api.call('GET', '/api/v1/me'),
                             self.Outreach.api.call('GET', '/api/v1/me')])"""
    )
    other.evaluate("() => self.Outreach.api.call('GET', '/api/v1/me')")
    page.evaluate("() => document.getElementById('sync-now').click()")
    expect(page.locator("#last-sync")).not_to_contain_text("Syncing")
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    device_id = uuid.UUID(page.evaluate("self.Outreach.db.getMeta('device_id')"))
    with app.app_context():
        device = db.session.get(Device, device_id)
        assert device.token_family is not None and device.revoked_at is None
        tokens = db.session.scalars(
            select(TokenRecord).where(TokenRecord.device_id == device_id)
        ).all()
        assert all(t.revoked_at is None for t in tokens)
        assert len([t for t in tokens if t.spent_at is None]) == 1


def test_response_lost_mid_sync_never_duplicates(app, sync_api, context, page, world):
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    expect(page.locator("#last-sync")).to_contain_text("Synced ")
    wait_for_service_worker(page)
    context.set_offline(True)
    add_client(page, "PQ", "1970-01-20", "other", "DH1")
    record(page, "wound_care")
    expect(status(page)).to_have_text("2 waiting to sync")

    lost = []

    def lose_first_response(route):
        if not lost:
            route.fetch()  # the server applies the push...
            lost.append(True)
            route.abort("internetdisconnected")  # ...but the phone never hears back
        else:
            route.continue_()

    context.route("**/api/v1/sync/push", lose_first_response)  # page and service worker
    context.set_offline(False)
    for _ in range(100):
        if lost:
            break
        page.wait_for_timeout(100)
    assert lost
    expect(page.locator("#last-sync")).not_to_contain_text("Syncing")
    # The retry (Sync now, or Background Sync in the service worker) resends the same
    # mutation ids: the server answers "duplicate" and nothing is stored twice.
    page.evaluate("() => document.getElementById('sync-now').click()")
    expect(status(page)).to_have_text(SYNCED)
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(Client).where(Client.initials == "PQ")
            )
            == 1
        )
        assert db.session.scalar(select(func.count()).select_from(Intervention)) == 1


def test_conflict_shows_what_the_server_kept(app, sync_api, context, page, world, screenshots):
    from tests.conftest import ApiClient

    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    wait_for_service_worker(page)
    add_client(page, "RS", "1988-08-08", "female", "DH1", "Rosie")
    expect(page.get_by_role("heading", name="Client RS (Rosie)")).to_be_visible()
    wait_synced(page)
    client_id = next(r["id"] for r in page.evaluate(IDB_RECORDS) if r["entity"] == "client")

    # Offline, this phone renames her; meanwhile a colleague's phone renames her too.
    cut_network(context)
    page.get_by_role("link", name="Edit client").click()
    page.get_by_label("Known-as name").fill("Rosa")
    page.get_by_role("button", name="Save").click()
    expect(status(page)).to_have_text("1 waiting to sync")
    other = ApiClient(app.test_client(), "worker2@example.test")
    data = {
        "initials": "RS",
        "date_of_birth": "1988-08-08",
        "sex": "female",
        "postcode_district": "DH1",
        "known_as": "Ro",
    }
    mutation = {
        "mutation_id": str(uuid.uuid4()),
        "entity": "client",
        "op": "upsert",
        "id": client_id,
        "base_version": 1,
        "data": data,
    }
    body = {"device_id": str(other.device_id), "schema_version": 1, "mutations": [mutation]}
    result = other.post("/api/v1/sync/push", json=body).get_json()["results"][0]
    assert result["status"] == "applied", result

    restore_network(context)
    # Overwritten on the server: the sync line and the Sync tab say so until it is seen.
    expect(status(page)).to_have_text("1 change needs your attention", timeout=15_000)
    expect(page.locator("#nav .badge")).to_have_text(re.compile("^1"))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sync").click()
    changed = page.get_by_role("table")
    expect(changed).to_contain_text("Known-as name")
    expect(changed).to_contain_text("Rosa")
    expect(changed.locator("td").last).to_have_text("Ro")
    axe_check(page, "sync conflict")
    shot(page, screenshots, "06-sync-conflict")
    page.get_by_role("button", name="OK, got it").click()
    expect(page.get_by_text("No conflicts.")).to_be_visible(timeout=15_000)
    expect(status(page)).to_have_text(SYNCED)
    expect(page.locator("#nav .badge")).to_have_count(0)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Caseload").click()
    expect(page.locator("#client-list")).to_contain_text("RS (Ro)")
    with app.app_context():
        assert db.session.get(Client, uuid.UUID(client_id)).known_as == "Ro"


def test_follow_up_seen_and_completed(app, sync_api, page, world, screenshots):
    from outreach.interventions.models import FollowUp

    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    add_client(page, "TU", "1992-12-01", "male", "DH1")
    record(page, "brief_intervention", follow_up=date.today().isoformat())
    expect(status(page)).to_have_text(SYNCED)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Follow-ups").click()
    expect(page.get_by_role("heading", name="Follow-ups")).to_be_visible()
    item = page.locator("li").filter(has_text="TU")
    expect(item).to_contain_text("Due today")
    no_horizontal_scroll(page, "follow-ups")
    axe_check(page, "follow-ups")
    shot(page, screenshots, "07-follow-ups")
    item.get_by_role("button", name="Mark done").click()
    expect(page.get_by_text("Follow-up marked done.")).to_be_visible()
    expect(page.locator("li").filter(has_text="TU")).to_have_count(0)
    expect(status(page)).to_have_text(SYNCED)
    page.wait_for_timeout(300)
    with app.app_context():
        open_ = db.session.scalars(
            select(FollowUp).where(FollowUp.done_at.is_(None), FollowUp.deleted_at.is_(None))
        ).all()
        done = db.session.scalars(select(FollowUp).where(FollowUp.done_at.is_not(None))).all()
        assert open_ == [] and len(done) == 1


def test_unsaved_typing_survives_leaving_the_form(context, page, world):
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    page.get_by_role("main").get_by_role("link", name="Record intervention").click()
    page.get_by_label("Anonymous contact").check()
    page.get_by_label("Type").select_option("naloxone_supplied")
    page.get_by_label("Quantity").fill("3")
    page.get_by_label("Notes").fill("Met at the bus station.")
    page.wait_for_timeout(500)
    page.close()  # the tab is closed before Save
    page = context.new_page()
    page.goto("/#/record")
    unlock(page)
    expect(page.get_by_text("We kept what you were typing")).to_be_visible()
    expect(page.get_by_label("Notes")).to_have_value("Met at the bus station.")
    expect(page.get_by_label("Quantity")).to_have_value("3")
    expect(page.get_by_label("Anonymous contact")).to_be_checked()
    page.get_by_label("Location").select_option("street")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Intervention saved.")).to_be_visible()
    page.get_by_role("main").get_by_role("link", name="Record intervention").click()
    expect(page.get_by_label("Notes")).to_have_value("")
    expect(page.get_by_text("We kept what you were typing")).to_have_count(0)


def test_iphone_users_are_told_to_install(browser, live_server):
    iphone = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
    )
    ctx = browser.new_context(base_url=live_server, viewport=PHONE, user_agent=iphone)
    try:
        page = ctx.new_page()
        page.goto("/")
        hint = page.get_by_text("add Outreach to your Home Screen")
        expect(hint).to_be_visible()
        # Read once, it can be put away; it stays away on the next visit.
        page.get_by_role("button", name="Got it").click()
        expect(hint).to_be_hidden()
        page.reload()
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        expect(hint).to_be_hidden()
    finally:
        ctx.close()
        live_server.tracker.wait_idle()


def test_common_case_is_two_taps_from_the_client(page, world):
    """A naloxone kit for a known client: after the first time, the type, location,
    quantity 1 and the time default, so it is Record intervention then Save."""
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    add_client(page, "VW", "1981-04-04", "male", "DH1")
    record(page, "naloxone_supplied", quantity=1)
    started = page.evaluate("() => performance.now()")
    page.get_by_role("main").get_by_role("link", name="Record intervention").click()
    expect(page.get_by_label("Type")).to_have_value("naloxone_supplied")
    expect(page.get_by_label("Client")).to_have_value(re.compile(".+"))
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Intervention saved.")).to_be_visible()
    elapsed = page.evaluate("() => performance.now()") - started
    assert elapsed < 5_000
    expect(page.get_by_role("main").get_by_role("listitem")).to_have_count(2)


COUNT_RENDERS = """
window.__renders = 0;
document.addEventListener('DOMContentLoaded', () => {
  new MutationObserver(() => { window.__renders += 1; })
    .observe(document.getElementById('main'), { childList: true });
});
"""


def test_the_saved_notice_outlives_the_sync_that_follows(page, world):
    """The sync after a save draws the screen again; before, that redraw dropped
    "Intervention saved." (gone within a second on a good signal)."""
    page.add_init_script(COUNT_RENDERS)
    sign_in(page)
    add_client(page, "NS", "1979-09-09", "female", "DH1")
    page.get_by_role("main").get_by_role("link", name="Record intervention").click()
    page.get_by_label("Type").select_option("harm_reduction_advice")
    page.get_by_label("Location").select_option("street")
    page.get_by_label("Opioids").check()
    expect(status(page)).to_have_text(SYNCED)

    def slow_push(route):
        time.sleep(0.5)  # the client screen is drawn before the sync ends, as on a phone
        route.continue_()

    page.route("**/api/v1/sync/push", slow_push)
    before = page.evaluate("() => window.__renders")
    page.get_by_role("button", name="Save").click()
    # Drawn by the save's navigation, then again when its sync ends.
    page.wait_for_function("n => window.__renders >= n + 2", arg=before)
    expect(status(page)).to_have_text(SYNCED)
    expect(page.get_by_role("status").filter(has_text="Intervention saved.")).to_be_visible()


def test_commissioner_reads_the_weekly_report(page, world, screenshots):
    sign_in(page, "commissioner")
    expect(page.get_by_role("heading", name=re.compile("^Weekly report 20"))).to_be_visible()
    expect(page.get_by_role("table").first).to_contain_text("Interventions")
    expect(page.get_by_text("any count from 1 to 4 is shown as <5")).to_be_visible()
    no_horizontal_scroll(page, "weekly report")
    axe_check(page, "weekly report")
    shot(page, screenshots, "08-weekly-report")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    assert download.value.suggested_filename.endswith(".csv")
    page.get_by_role("button", name="Previous week").click()
    expect(page.get_by_role("heading", name=re.compile("^Weekly report 20"))).to_be_visible()


def test_ended_session_keeps_unsynced_records(app, sync_api, context, page, world):
    from outreach.access.models import Device

    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    wait_for_service_worker(page)
    context.set_offline(True)
    add_client(page, "XY", "1966-03-03", "not_stated", "DH1")
    expect(status(page)).to_have_text("1 waiting to sync")
    device_id = uuid.UUID(page.evaluate("self.Outreach.db.getMeta('device_id')"))
    with app.app_context():  # e.g. signed out from another tab, or a refresh token reused
        db.session.get(Device, device_id).token_family = None
        db.session.commit()
    context.set_offline(False)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=15_000)
    expect(page.get_by_text("records not yet synced are kept")).to_be_visible()
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    expect(status(page)).to_have_text(SYNCED)
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(Client).where(Client.initials == "XY")
            )
            == 1
        )


def test_unknown_cursor_starts_a_full_pull(sync_api, page, world):
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    add_client(page, "ZA", "1977-07-07", "male", "DH1")
    expect(status(page)).to_have_text(SYNCED)
    expect(page.locator("#last-sync")).not_to_contain_text("Syncing")
    page.evaluate("() => self.Outreach.db.setMeta({cursor: 'not-a-cursor'})")
    page.get_by_role("button", name="Sync now").click()
    for _ in range(50):
        if page.evaluate("() => self.Outreach.db.getMeta('cursor')") != "not-a-cursor":
            break
        page.wait_for_timeout(100)
    assert page.evaluate("() => self.Outreach.db.getMeta('last_error')") is None
    assert page.evaluate("() => self.Outreach.db.getMeta('cursor')") != "not-a-cursor"


def test_worker_moved_to_another_team_gets_the_new_caseload(app, sync_api, context, page, world):
    """The server refuses the old team's cursor; the phone pulls its new scope afresh,
    forgets the old team's clients and keeps (then sends) what it had not synced."""
    from outreach.access.models import User
    from tests.factories import make_clients

    with app.app_context():
        old, gone = make_clients(world.team_ids["street"], world.area_ids["durham"], 2)
        new = make_clients(world.team_ids["custody"], world.area_ids["durham"], 1)[0]
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    wait_synced(page)
    held = lambda: {r["id"] for r in page.evaluate(IDB_RECORDS)}  # noqa: E731
    assert {str(old["id"]), str(gone["id"])} <= held() and str(new["id"]) not in held()
    cut_network(context)
    add_client(page, "MV", "1985-05-05", "female", "DH1")
    expect(page.get_by_role("heading", name="Client MV")).to_be_visible()
    # An unsent edit of an old-team client: the new team's server refuses it.
    with app.app_context():
        db.session.get(User, world.user_ids["worker"]).team_id = world.team_ids["custody"]
        db.session.commit()
    page.evaluate(
        """async (id) => {
             const rec = await self.Outreach.db.record('client', id);
             await self.Outreach.sync.mutate('client', 'upsert', id,
               Object.assign({}, rec.data, {known_as: 'Edited'}));
           }""",
        str(old["id"]),
    )
    restore_network(context)
    page.evaluate("() => document.getElementById('sync-now').click()")
    for _ in range(100):
        if str(new["id"]) in held():
            break
        page.wait_for_timeout(100)
    assert str(new["id"]) in held() and str(gone["id"]) not in held()
    # The refused edit waits for the worker; discarding it drops the old-team client too.
    assert str(old["id"]) in held()
    page.evaluate("(id) => self.Outreach.sync.discard('client', id)", str(old["id"]))
    assert str(old["id"]) not in held()
    wait_synced(page)
    with app.app_context():
        moved = db.session.scalar(select(Client).where(Client.initials == "MV"))
        assert moved is not None and moved.team_id == world.team_ids["custody"]
