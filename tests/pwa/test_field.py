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
    fill_date_of_birth,
    restore_network,
    sign_in,
    status,
    unlock,
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


UNTIL_REDRAW_READY = """async () => {
  // The sync has brought the change and the redraw is ready: held, or (without the hold)
  // already done, taking the pressed element away. Polled in the page, so the finger lifts
  // at once after (a hold lasts at most a second).
  const ui = await import('/js/ui.js');
  for (let i = 0; i < 750; i++) {
    if (!window.__pressed.isConnected || ui.redrawsHeld() > 0) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}"""


def press_while_a_sync_redraws(page, target) -> None:
    """A finger down on `target`, then a sync (started without a pointer of its own) that
    brings a change to this screen; returns with the finger still down."""
    target.evaluate("(el) => { window.__pressed = el; }")
    box = target.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.evaluate("document.getElementById('sync-now').click()")
    assert page.evaluate(UNTIL_REDRAW_READY), "the colleague's change never reached the screen"


# Race tests: a fix that works half the time must not pass on a rerun.
@pytest.mark.flaky(reruns=0)
def test_a_tap_under_way_when_a_sync_redraws_the_screen_still_lands(app, page, world):
    """A colleague's change arrives while the worker's finger is on "Record intervention":
    the client screen's redraw waits for the release, so the tap opens the form (before, the
    redraw took the link from under the finger and the tap did nothing). A redraw held for a
    finger that lifts without tapping anything is drawn then."""
    client_id = rosie_added_and_synced(page)
    colleague_edit(app, client_id, 1, known_as="Ro")

    press_while_a_sync_redraws(
        page, page.get_by_role("main").get_by_role("link", name="Record intervention")
    )
    page.mouse.up()
    expect(page.get_by_role("heading", name="Record intervention")).to_be_visible()
    page.go_back()
    heading = page.get_by_role("heading", name="Client RS (Ro)")
    expect(heading).to_be_visible()

    colleague_edit(app, client_id, 2, known_as="Rosa")
    press_while_a_sync_redraws(page, heading)
    page.mouse.up()
    expect(page.get_by_role("heading", name="Client RS (Rosa)")).to_be_visible()
    assert page.evaluate("async () => (await import('/js/ui.js')).redrawsHeld()") == 0
    assert page.evaluate("location.hash") == f"#/client/{client_id}"


@pytest.mark.flaky(reruns=0)
def test_a_tap_on_the_caseload_under_way_when_a_sync_redraws_the_list_still_lands(app, page, world):
    """The same on the caseload: the list's rows are drawn again when the colleague's change
    lands; the redraw waits for the finger, so the tap opens the client it was on."""
    client_id = rosie_added_and_synced(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Caseload").click()
    row = page.locator("#client-list a").filter(has_text="RS (Rosie)")
    expect(row).to_be_visible()
    colleague_edit(app, client_id, 1, known_as="Ro")

    press_while_a_sync_redraws(page, row)
    page.mouse.up()
    expect(page.get_by_role("heading", name=re.compile(r"^Client RS"))).to_be_visible()
    page.go_back()
    expect(page.locator("#client-list a").filter(has_text="RS (Ro)")).to_be_visible()


def test_double_enter_on_add_client_makes_one_client(app, context, page, world):
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    wait_synced(page)
    throttle(page)
    page.get_by_role("main").get_by_role("link", name="Add client").click()
    page.get_by_label("Initials").fill("DE")
    fill_date_of_birth(page, "1991-01-09")
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
    fill_date_of_birth(page, "1975-05-05")
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


def rosie_added_and_synced(page) -> str:
    """Signed in, client "RS (Rosie)" added on the phone and synced: her id."""
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    add_client(page, "RS", "1988-08-08", "female", "DH1", "Rosie")
    expect(page.get_by_role("heading", name="Client RS (Rosie)")).to_be_visible()
    wait_synced(page)
    return next(r["id"] for r in page.evaluate(IDB_RECORDS) if r["entity"] == "client")


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
    client_id = rosie_added_and_synced(page)
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
    page.unroute_all()
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
    expect(status(page)).to_have_text("1 change needs your attention")
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


CHROME = """() => {
  // Screen height the app's own furniture covers (header, notices, sync line, navigation).
  const spans = [];
  for (const sel of ['header.bar', '#notices', '#syncbar', '#nav']) {
    const el = document.querySelector(sel);
    if (!el || el.closest('[hidden]')) continue;
    const r = el.getBoundingClientRect();
    const top = Math.max(0, r.top), bottom = Math.min(innerHeight, r.bottom);
    if (bottom > top) spans.push([top, bottom]);
  }
  spans.sort((a, b) => a[0] - b[0]);
  let px = 0, end = 0;
  for (const [top, bottom] of spans) {
    if (bottom <= end) continue;
    px += bottom - Math.max(top, end);
    end = bottom;
  }
  return px;
}"""

REACHABLE = """(names) => {
  // Every named control is on screen (inside the viewport, not clipped) at once.
  const out = {};
  const all = [...document.querySelectorAll('#nav a, #syncbar button, header button')];
  for (const name of names) {
    const el = all.find((e) =>
      (e.getAttribute('aria-label') || e.textContent.trim()).startsWith(name));
    if (!el) { out[name] = 'missing'; continue; }
    const r = el.getBoundingClientRect();
    const hit = document.elementFromPoint(r.left + Math.min(r.width / 2, 20),
                                          r.top + r.height / 2);
    const inside = r.left >= 0 && r.right <= innerWidth + 0.5
      && r.top >= 0 && r.bottom <= innerHeight + 0.5;
    out[name] = inside && hit && (hit === el || el.contains(hit)) ? 'ok' : 'off screen';
  }
  return out;
}"""


WIDE = """() => [...document.querySelectorAll('#main *')]
  .filter((e) => e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0 && !e.children.length)
  .map((e) => e.tagName + '.' + e.className + ' ' + e.textContent.slice(0, 30))"""


ONE_LINE_FIGURES = """() => [...document.querySelectorAll('.figures dd')].filter((dd) => {
  const text = document.createRange();
  text.selectNodeContents(dd);
  return new Set([...text.getClientRects()].map((r) => Math.round(r.top))).size > 1;
}).map((dd) => dd.textContent)"""


BAR_LINES = """() => [...document.querySelectorAll('#bar > *, #syncbar > *')]
  .filter((e) => e.getClientRects().length)
  .map((e) => [e.id || e.className, Math.round(e.getBoundingClientRect().height),
    e.textContent.trim()])"""


def large_text(page, percent: int = 200) -> None:
    """The phone's text size setting (Chromium's default font size, as Android's font
    scale sets it): rem and em grow, the viewport stays 360 px wide."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Page.enable")
    cdp.send("Page.setFontSizes", {"fontSizes": {"standard": 16 * percent // 100}})
    page._cdp_fonts = cdp


@pytest.mark.parametrize("width", [360, 320])
def test_large_text_keeps_every_action_reachable(page, world, screenshots, width):
    page.set_viewport_size({"width": width, "height": 640})
    sign_in(page, "lead")
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    large_text(page, 200)
    page.reload()
    unlock(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    size = page.evaluate("getComputedStyle(document.getElementById('main')).fontSize")
    assert size == "32px", size
    names = ["Caseload", "Follow-ups", "Referrals", "Team", "Sync", "Account", "Sync now"]
    for path, heading in [
        ("caseload", "Caseload"),
        ("record", "Record intervention"),
        ("client-form", "Add client"),
        ("sync", "Sync"),
        ("account", "Account"),
        ("team", "Team"),
    ]:
        page.goto(f"/#/{path}")
        expect(page.get_by_role("heading", name=heading).first).to_be_visible()
        page.screenshot(path=str(screenshots / f"20-large-text-{width}-{path}.png"))
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= width, (f"{path} scrolls sideways at 200% text", page.evaluate(WIDE))
        assert page.evaluate(REACHABLE, names) == dict.fromkeys(names, "ok"), path
        if path == "team":  # a figure never wraps digit by digit ("26" as "2/6")
            expect(page.locator("#workers .figures dd").first).to_be_attached()
            assert page.evaluate(ONE_LINE_FIGURES) == []
        assert_bar_fits(page, width, path)
    # The longest sync lines a worker sees: mid-sync or offline, storage at risk. CI caught
    # the bar mid-sync at 210 px when "Last synced 23:09 · Syncing…" took one more line
    # ("Synced 23:09" now).
    held: list = []
    holding = [True]
    # Handlers run only inside Playwright calls: once `holding` is cleared, a pull asked
    # for while the held ones are let go goes on by itself.
    page.route(
        "**/api/v1/sync/pull*",
        lambda route: held.append(route) if holding else route.continue_(),
    )
    page.get_by_role("button", name="Sync now").click()
    expect(page.locator("#last-sync")).to_contain_text("Syncing")
    assert_bar_fits(page, width, "caseload, syncing")
    holding.clear()
    for route in held:
        route.continue_()
    page.unroute_all()
    wait_synced(page)
    cut_network(page.context)
    page.goto("/#/caseload")
    expect(page.locator("#last-sync")).to_contain_text("Offline")
    assert_bar_fits(page, width, "caseload, offline")


def assert_bar_fits(page, width: int, where: str) -> None:
    bar = page.evaluate("document.getElementById('bar').getBoundingClientRect().height")
    # A quarter of the screen at 360 px; at 320 px the sync line takes one more line.
    assert bar <= (160 if width == 360 else 200), (
        f"the top bar takes {bar}px at 200% text on {where}",
        page.evaluate(BAR_LINES),
    )


def test_chrome_leaves_room_for_the_work(page, world, screenshots):
    """Header, sync line and navigation: at most 100 of the 640 px, with the storage
    warning showing too."""
    sign_in(page, "lead")
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    wait_synced(page)
    page.screenshot(path=str(screenshots / "21-chrome.png"))
    assert page.evaluate(CHROME) <= 100, page.evaluate(CHROME)
    page.evaluate("() => { document.getElementById('storage-warning').hidden = false; }")
    page.screenshot(path=str(screenshots / "21-chrome-storage-warning.png"))
    assert page.evaluate(CHROME) <= 100, page.evaluate(CHROME)
    names = ["Caseload", "Follow-ups", "Referrals", "Team", "Sync", "Account", "Sync now"]
    assert page.evaluate(REACHABLE, names) == dict.fromkeys(names, "ok")
    page.screenshot(path=str(screenshots / "21-chrome.png"))


BACKGROUND = "getComputedStyle(document.documentElement).backgroundColor"


def luminance(css: str) -> float:
    r, g, b = (int(x) / 255 for x in re.findall(r"\d+", css)[:3])
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def test_dark_theme_follows_the_phone_with_aa_contrast(browser, live_server, world, screenshots):
    from tests.pwa.conftest import PHONE
    from tests.pwa.test_pwa import axe_check, no_horizontal_scroll, record

    ctx = browser.new_context(
        base_url=live_server,
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        locale="en-GB",
        timezone_id="Europe/London",
        color_scheme="dark",
    )
    try:
        page = ctx.new_page()
        sign_in(page)
        expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
        assert luminance(page.evaluate(BACKGROUND)) < 0.05
        add_client(page, "DK", "1980-10-10", "male", "DH1")
        record(page, "naloxone_supplied", quantity=1)
        for path, name in [
            ("caseload", "caseload"),
            ("record", "record"),
            ("client-form", "client form"),
            ("sync", "sync"),
            ("account", "account"),
            ("follow-ups", "follow-ups"),
        ]:
            page.goto(f"/#/{path}")
            expect(page.locator("main h1")).to_be_visible()
            no_horizontal_scroll(page, f"dark {name}")
            axe_check(page, f"dark {name}")  # colour contrast AA included
            page.screenshot(path=str(screenshots / f"22-dark-{path}.png"))
    finally:
        ctx.close()
        live_server.tracker.wait_idle()


def test_the_worker_chooses_dark_or_light_in_account(page, world):
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    light = luminance(page.evaluate(BACKGROUND))
    assert light > 0.8
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Account").click()
    page.get_by_role("radio", name="Dark").check()
    page.wait_for_function(f"() => {BACKGROUND}.startsWith('rgb(16')")
    page.reload()
    unlock(page)
    expect(page.get_by_role("heading", name="Account")).to_be_visible()
    expect(page.get_by_role("radio", name="Dark")).to_be_checked()
    assert luminance(page.evaluate(BACKGROUND)) < 0.05
    page.get_by_role("radio", name="Same as the phone").check()
    page.wait_for_function(f"() => !{BACKGROUND}.startsWith('rgb(16')")


def test_a_follow_up_with_the_default_reason_reads_once(app, page, world):
    """The server's default reason is "Follow up": the lead's history says "Follow-up",
    not "Follow-up: Follow up"."""
    from datetime import date

    from outreach.interventions.models import FollowUp
    from tests.factories import make_clients, make_follow_up
    from tests.pwa.test_lead import signed_in

    team, area = world.team_ids["street"], world.area_ids["durham"]
    with app.app_context():
        (client,) = make_clients(team, area, 1, key_worker_id=world.user_ids["worker"])
        fu = make_follow_up(client["id"], team, date.today())
        db.session.get(FollowUp, fu["id"]).reason = "Follow up"
        db.session.commit()
    signed_in(page, "lead")
    page.goto(f"/#/team/client/{client['id']}")
    card = page.locator("#history > li").filter(has_text="Follow-up")
    expect(card.first).to_be_visible()
    expect(page.locator("#history")).not_to_contain_text("Follow-up: Follow up")


def test_sync_now_without_signal_says_so(context, page, world):
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    wait_synced(page)
    wait_for_service_worker(page)
    cut_network(context)
    add_client(page, "NS", "1990-09-09", "male", "DH1")
    page.get_by_role("button", name="Sync now").click()
    expect(status(page)).to_have_text("No signal: 1 waiting, sent when you are back online")
    restore_network(context)
    expect(status(page)).to_have_text(SYNCED, timeout=15_000)


def test_a_stale_saved_notice_never_sits_above_changed_on_the_server(app, context, page, world):
    client_id = rosie_added_and_synced(page)
    colleague_edit(app, client_id, 1, known_as="Ro")
    edit_client(page, **{"Known-as name (optional)": "Rosa"})
    expect(page.get_by_text("Changed on the server")).to_be_visible(timeout=15_000)
    expect(page.get_by_text("Client updated.")).to_have_count(0)


def test_date_of_birth_is_typed_as_day_month_year(app, page, world, screenshots):
    """GOV.UK's date input: three boxes, no calendar that opens at today; a date that
    cannot be is explained; the saved date reads "15 Sept 1989"."""
    from tests.pwa.test_pwa import axe_check

    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    page.get_by_role("main").get_by_role("link", name="Add client").click()
    dob = page.get_by_role("group", name="Date of birth")
    expect(dob.get_by_label("Day")).to_have_attribute("inputmode", "numeric")
    assert page.locator("main input[type=date]").count() == 0
    page.get_by_label("Initials").fill("DM")
    dob.get_by_label("Day").fill("31")
    dob.get_by_label("Month").fill("2")
    dob.get_by_label("Year").fill("1989")
    page.get_by_label("Sex").select_option("male")
    page.get_by_label("Postcode district").fill("DH1")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("Enter a real date of birth")
    expect(dob.get_by_label("Day")).to_have_attribute("aria-invalid", "true")
    axe_check(page, "date of birth with an error")
    page.screenshot(path=str(screenshots / "23-date-of-birth.png"))
    dob.get_by_label("Day").fill("15")
    dob.get_by_label("Month").fill("9")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Client DM")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("15 Sept 1989")
    wait_synced(page)
    with app.app_context():
        row = db.session.scalar(select(Client).where(Client.initials == "DM"))
        assert row.date_of_birth.isoformat() == "1989-09-15"


CLS = """
window.__cls = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if (!e.hadRecentInput) window.__cls += e.value;
}).observe({ type: 'layout-shift', buffered: true });
"""


@pytest.mark.parametrize("path", ["caseload", "follow-ups", "sync"])
def test_signed_in_pages_barely_shift(page, world, path):
    """Lighthouse's CLS was 0.124 on signed-in pages: the bars appearing after the
    screen moved it. Under 0.1 now, measured as Chromium reports layout shifts."""
    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    wait_synced(page)
    page.add_init_script(CLS)
    page.goto(f"/#/{path}")
    # As Lighthouse's mobile run: a slow CPU and a slow 4G connection.
    throttle(page, 4)
    page._cdp_throttle.send("Network.enable")
    page._cdp_throttle.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 150,
            "downloadThroughput": 200_000,
            "uploadThroughput": 90_000,
        },
    )
    page.reload()
    unlock(page)
    expect(page.locator("main h1")).to_be_visible()
    wait_synced(page)
    expect(page.locator("#last-sync")).to_contain_text("Synced ")
    expect(page.locator("#last-sync")).not_to_contain_text("Syncing")
    cls = page.evaluate("window.__cls")
    assert cls < 0.1, f"{path}: cumulative layout shift {cls:.3f}"


def test_quick_record_from_the_client_in_two_taps(app, page, world):
    from tests.pwa.test_pwa import record

    sign_in(page)
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    add_client(page, "QA", "1982-02-02", "female", "DH1")
    expect(page.get_by_role("heading", name="Client QA")).to_be_visible()
    quick = page.get_by_role("group", name="Quick record")
    expect(quick).to_have_count(0)  # nothing recorded yet on this phone
    record(page, "wound_care")
    record(page, "naloxone_supplied", quantity=1)
    record(page, "naloxone_supplied", quantity=1)
    expect(quick.get_by_role("link")).to_have_text(
        ["Record naloxone supplied", "Record wound care"]
    )
    quick.get_by_role("link", name="Record wound care").click()  # tap 1
    expect(page.get_by_label("Type")).to_have_value("wound_care")
    page.get_by_role("button", name="Save").click()  # tap 2
    expect(page.get_by_text("Intervention saved.")).to_be_visible()
    wait_synced(page)
    with app.app_context():
        kinds = sorted(db.session.scalars(select(Intervention.type)))
    assert kinds == ["naloxone_supplied", "naloxone_supplied", "wound_care", "wound_care"]
