"""The worker's app on a cracked phone at night (issue 15): ghost taps and double Enters
make one record, a queued edit never undoes the server's conflict resolution, a save
during a pull is pushed at once, an oversized record never blocks the queue, a lost
refresh response keeps the worker signed in. Headless Chromium at 360x640, the CPU
throttled 6x through CDP where timing matters, counted on the server."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from outreach.core.extensions import db
from outreach.interventions.models import Intervention
from outreach.people.models import Client
from tests.pwa.test_pwa import (
    IDB_RECORDS,
    SYNCED,
    add_client,
    cut_network,
    restore_network,
    sign_in,
    status,
    wait_for_service_worker,
    wait_synced,
)

pytestmark = pytest.mark.browser


def throttle(page, rate: float = 6) -> None:
    """A cheap phone: the page's CPU slowed `rate` times (CDP)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})
    page._cdp_throttle = cdp  # kept alive with the page


GHOST_TAPS = """async (label) => {
  // A cracked screen: the same Save tapped again 20-45 ms apart, then more stray touches.
  const btn = [...document.querySelectorAll('#main button')].find((b) => b.textContent === label);
  const gaps = [0, 20, 45, 30, 25, 120, 250];
  for (const gap of gaps) {
    await new Promise((r) => setTimeout(r, gap));
    if (btn.isConnected) btn.click();
  }
}"""


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_ghost_taps_on_save_make_one_intervention(app, context, page, world):
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    add_client(page, "GT", "1983-03-03", "male", "DH1")
    expect(page.get_by_role("heading", name="Client GT")).to_be_visible()
    wait_synced(page)
    throttle(page)
    for attempt in range(3):
        page.get_by_role("main").get_by_role("link", name="Record intervention").click()
        expect(page.get_by_role("heading", name="Record intervention")).to_be_visible()
        page.get_by_label("Type").select_option("wound_care")
        page.get_by_label("Location").select_option("street")
        page.get_by_label("Opioids").check()
        page.evaluate(GHOST_TAPS, "Save")
        expect(page.get_by_role("heading", name="Client GT")).to_be_visible()
        expect(page.get_by_role("main").get_by_role("listitem")).to_have_count(attempt + 1)
    wait_synced(page)
    assert count(app, Intervention) == 3


def test_double_enter_on_add_client_makes_one_client(app, context, page, world):
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    wait_synced(page)
    throttle(page)
    page.get_by_role("main").get_by_role("link", name="Add client").click()
    page.get_by_label("Initials").fill("DE")
    page.get_by_label("Date of birth").fill("1991-01-09")
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("Postcode district").fill("DH1")
    page.get_by_label("Postcode district").press("Enter")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile("^Client DE"))).to_be_visible()
    wait_synced(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Caseload").click()
    expect(page.locator("#client-list li").filter(has_text="DE")).to_have_count(1)
    assert count(app, Client, Client.initials == "DE") == 1
    clients = [r for r in page.evaluate(IDB_RECORDS) if r["entity"] == "client"]
    assert [r["data"]["initials"] for r in clients].count("DE") == 1
    assert status(page).text_content() == SYNCED


def test_a_second_save_after_a_crash_keeps_the_drafts_id(app, context, page, world):
    """The id is the draft's: saved, then the tab died before the draft was cleared, the
    worker saves the restored draft again: still one record."""
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    wait_for_service_worker(page)
    page.get_by_role("main").get_by_role("link", name="Add client").click()
    page.get_by_label("Initials").fill("CR")
    page.get_by_label("Date of birth").fill("1975-05-05")
    page.get_by_label("Sex").select_option("male")
    page.get_by_label("Postcode district").fill("DH1")
    draft = None
    for _ in range(50):  # the draft is written a moment after the typing
        draft = page.evaluate("() => self.Outreach.db.getMeta('draft:client:new')")
        if draft and draft["values"].get("postcode_district"):
            break
        page.wait_for_timeout(100)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Client CR")).to_be_visible()
    wait_synced(page)
    # As if the tab had died between the save and the clearing of the draft.
    page.evaluate("(d) => self.Outreach.db.setMeta({'draft:client:new': d})", draft)
    page.goto("/#/client-form")
    expect(page.get_by_text("We kept what you were typing")).to_be_visible()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Client CR")).to_be_visible()
    wait_synced(page)
    assert count(app, Client, Client.initials == "CR") == 1
    assert uuid.UUID(draft["id"])


def colleague_edit(app, client_id: str, base_version: int, **changes) -> None:
    """Another worker's phone edits the client through the sync API."""
    from tests.conftest import ApiClient

    other = ApiClient(app.test_client(), "worker2@example.test")
    data = {
        "initials": "RS",
        "date_of_birth": "1988-08-08",
        "sex": "female",
        "postcode_district": "DH1",
        "known_as": "Rosie",
    }
    data.update(changes)
    mutation = {
        "mutation_id": str(uuid.uuid4()),
        "entity": "client",
        "op": "upsert",
        "id": client_id,
        "base_version": base_version,
        "data": data,
    }
    body = {"device_id": str(other.device_id), "schema_version": 1, "mutations": [mutation]}
    result = other.post("/api/v1/sync/push", json=body).get_json()["results"][0]
    assert result["status"] == "applied", result


def edit_client(page, **labels) -> None:
    page.get_by_role("link", name="Edit client").click()
    for label, value in labels.items():
        page.get_by_label(label).fill(value)
    page.get_by_role("button", name="Save").click()


def test_a_queued_edit_never_undoes_the_servers_resolution(app, context, page, world):
    """The phone's rename comes back `conflict` (a colleague renamed her first) while the
    worker's next edit (a new postcode) waits behind it: that edit is rebased on the
    merged record, so the server keeps its resolution and gets the new postcode, and the
    worker is shown what the server kept."""
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    add_client(page, "RS", "1988-08-08", "female", "DH1", "Rosie")
    expect(page.get_by_role("heading", name="Client RS (Rosie)")).to_be_visible()
    wait_synced(page)
    client_id = next(r["id"] for r in page.evaluate(IDB_RECORDS) if r["entity"] == "client")
    colleague_edit(app, client_id, 1, known_as="Ro")

    held = []
    page.route("**/api/v1/sync/push", lambda route: held.append(route))
    edit_client(page, **{"Known-as name (optional)": "Rosa"})
    expect(page.get_by_role("heading", name="Client RS (Rosa)")).to_be_visible()
    for _ in range(100):  # the rename is on its way to the server
        if held:
            break
        page.wait_for_timeout(100)
    assert held
    edit_client(page, **{"Postcode district": "DH2"})
    expect(page.get_by_role("heading", name="Client RS (Rosa)")).to_be_visible()
    expect(status(page)).to_have_text("2 waiting to sync")
    held[0].continue_()
    page.unroute("**/api/v1/sync/push")  # lets go of anything held since
    wait_synced(page)
    page.get_by_role("button", name="Sync now").click()
    wait_synced(page)

    with app.app_context():
        row = db.session.get(Client, uuid.UUID(client_id))
        assert (row.known_as, row.postcode_district) == ("Ro", "DH2")
    # The worker sees what the server kept, and the phone holds the merged record.
    expect(page.get_by_role("heading", name="Client RS (Ro)")).to_be_visible()
    changed = page.get_by_role("table")
    expect(changed).to_contain_text("Known-as name")
    expect(changed).to_contain_text("Rosa")
    local = next(r for r in page.evaluate(IDB_RECORDS) if r["id"] == client_id)
    assert (local["data"]["known_as"], local["data"]["postcode_district"]) == ("Ro", "DH2")


def test_a_save_during_a_pull_is_sent_at_once(app, context, page, world):
    """Saved while the pull phase of a sync runs: pushed by that sync or right after
    it, not at the next timer a minute later."""
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    wait_synced(page)
    expect(page.locator("#last-sync")).not_to_contain_text("Syncing")
    held = []
    page.route("**/api/v1/sync/pull*", lambda route: held.append(route))
    page.get_by_role("button", name="Sync now").click()
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(100)
    assert held and "Syncing" in page.locator("#last-sync").text_content()
    add_client(page, "SP", "1993-03-09", "male", "DH1")
    expect(page.get_by_role("heading", name="Client SP")).to_be_visible()
    held[0].continue_()
    page.unroute("**/api/v1/sync/pull*")
    for _ in range(100):  # 10 s: well inside the minute of the sync timer
        if count(app, Client, Client.initials == "SP"):
            break
        page.wait_for_timeout(100)
    assert count(app, Client, Client.initials == "SP") == 1
    wait_synced(page)
    expect(status(page)).to_have_text(SYNCED)


QUEUE = """async ({n, notes, anonymous}) => {
  const ids = [];
  for (let i = 0; i < n; i++) {
    const id = self.Outreach.api.uuid();
    ids.push(id);
    await self.Outreach.sync.mutate('intervention', 'upsert', id, {
      type: 'harm_reduction_advice', occurred_at: new Date().toISOString(),
      location: 'street', substances: ['opioids'], notes });
  }
  return ids;
}"""


def test_batches_are_counted_in_bytes(app, context, page, world):
    """200 records of 2,000 three-byte characters: under the push limit in characters,
    over it in bytes. Counted in bytes, no batch is refused and every record arrives."""
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    wait_synced(page)
    refused = []
    page.on("response", lambda r: r.status == 413 and refused.append(r.url))
    cut_network(context)
    page.evaluate(QUEUE, {"n": 200, "notes": "€" * 2000})
    restore_network(context)
    page.get_by_role("button", name="Sync now").click()
    wait_synced(page, 60_000)
    assert count(app, Intervention) == 200
    assert refused == []


def test_an_oversized_record_is_marked_and_never_blocks_the_others(app, context, page, world):
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    wait_synced(page)
    expect(page.locator("#last-sync")).not_to_contain_text("Syncing")
    cut_network(context)
    before = page.evaluate(QUEUE, {"n": 2, "notes": "Fine."})
    # As an older app version could queue it: far over the server's limit for a push.
    huge = page.evaluate(QUEUE, {"n": 1, "notes": "x" * (1100 * 1024)})
    after = page.evaluate(QUEUE, {"n": 2, "notes": "Also fine."})
    restore_network(context)
    page.get_by_role("button", name="Sync now").click()
    for _ in range(150):
        if count(app, Intervention) == 4:
            break
        page.wait_for_timeout(100)
    with app.app_context():
        stored = {str(i) for i in db.session.scalars(select(Intervention.id))}
    assert stored == set(before + after)
    expect(page.locator("#last-sync")).to_contain_text("1 need fixing")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sync").click()
    problem = page.get_by_role("alert").filter(has_text="did not accept")
    expect(problem).to_contain_text("Too large to send")
    expect(problem).to_contain_text("1.1 MB")
    # Discarded, it is gone and the queue is empty.
    problem.get_by_role("button", name="Discard my change").click()
    page.get_by_role("button", name="Yes, discard it").click()
    expect(page.get_by_text("Nothing was rejected.")).to_be_visible()
    assert page.evaluate("() => self.Outreach.db.outboxCount()") == 0
    assert huge[0] not in stored


def test_a_lost_refresh_response_keeps_the_worker_signed_in(app, context, page, world, monkeypatch):
    """The server rotates the refresh token but the phone never hears back: the phone
    retries at once with the same token, inside the server's grace window, gets the
    same successor family and the sync goes on, with no sign-in and no waiting for the
    next sync a minute later."""
    from datetime import timedelta

    from outreach.access.models import Device
    from tests.conftest import need

    grace = [k for k in app.config if "REFRESH" in k and "GRACE" in k]
    need(bool(grace), "needs the server's refresh reuse grace window (branch security)")
    # Access tokens that expire at once: every call of the phone refreshes first.
    monkeypatch.setitem(app.config, "JWT_ACCESS_TOKEN_EXPIRES", timedelta(seconds=1))
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    wait_synced(page)
    expect(page.locator("#last-sync")).not_to_contain_text("Syncing")
    before = page.evaluate("() => self.Outreach.db.getMeta('last_sync')")
    lost = []

    def lose_first_response(route):
        if not lost:
            route.fetch()  # the server rotates the token...
            lost.append(True)
            route.abort("connectionreset")  # ...and the answer never arrives
        else:
            route.continue_()

    context.route("**/api/v1/auth/refresh", lose_first_response)
    page.get_by_role("button", name="Sync now").click()
    for _ in range(150):
        done = page.evaluate(
            "async (t) => ((await self.Outreach.db.getMeta('last_sync')) || 0) > t", before
        )
        if done:
            break
        page.wait_for_timeout(100)
    assert lost and done
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    device_id = uuid.UUID(page.evaluate("self.Outreach.db.getMeta('device_id')"))
    with app.app_context():
        device = db.session.get(Device, device_id)
        assert device.token_family is not None and device.revoked_at is None
