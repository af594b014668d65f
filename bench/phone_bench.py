"""Phone benchmark (issue 16): the worker's PWA on a cheap phone with a big team.

Not a test: it prints. It starts the app itself (migrations, demo world, gunicorn on a
free loopback port), loads a big team THROUGH THE API (a Durham Street Outreach worker
pushes `--clients` clients and `--interventions` interventions of the last 90 days, in
batches of 500), then times the PWA in Debian's Chromium (Playwright, headless, 360x640,
mobile, touch, en-GB, Europe/London, CPU throttled `--throttle`x through CDP), each run on
a fresh browser profile, for the big team and for a small demo team (Dorset Outreach):

    first sync        Sign in (and choose the app lock's PIN) -> the full client count
                      shown and the sync finished
    offline open      (offline for real) reload -> the lock's PIN box ready, plus
                      Unlock -> caseload usable (rows shown, search box)
    search            one letter typed -> the filtered list; Backspace -> the full list
    open a client     tap the first row -> the client's page
    record            "Record intervention" -> the form ready; Save -> "Intervention saved."

plus the longest main-thread task while opening, DOM nodes after the first sync and the
JS heap. Medians of `--runs` runs per team, side by side, with the ratio big / small.
The steps after the offline open run offline too, as on the street (the save stays in the
outbox). Runs alternate big, small, big, ... so a busy spell on the machine hits both.
The phone's store is encrypted (the app lock's default); `--compare-plain` runs each team
a second time with the store not encrypted (the same app, PIN included) and adds the
ratios encrypted / not encrypted.

Each step has a timeout (`--step-timeout`, 300 s): a step that hangs fails its run, the
output names the step and where the sync was (pull pages answered, the sync bar), and the
bench goes on with the next run; the exit status is 1 if any run failed.

    .venv/bin/python bench/phone_bench.py                          # SQLite in a temp dir
    .venv/bin/python bench/phone_bench.py --compare-plain          # encrypted and not
    .venv/bin/python bench/phone_bench.py --runs 1 --clients 1000 --interventions 4000
    .venv/bin/python bench/phone_bench.py --workdir /tmp/pb --profile sync.cpuprofile
    .venv/bin/python bench/phone_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/phone_bench
    .venv/bin/python bench/phone_bench.py --json phone.json        # the figures, every run

`--workdir` keeps the SQLite database and reuses it when it already holds the same big
team (the load through the API is skipped); `--profile` writes a CPU profile of the first
run's first sync (open it in DevTools' Performance panel) and logs its top functions.

`--database-url` names a throwaway PostgreSQL database: it is DROPPED and recreated.
Progress goes to stderr, the table to stdout.

How times are taken: inside the page. The bench arms a watcher in the page before each
action; the action's first input event (pointerdown, touchstart, keydown) gives the start
(its `timeStamp`, i.e. when the input arrived, even if the main thread was busy), and a
requestAnimationFrame loop stamps `performance.now()` on the first frame where the step's
condition holds. The offline open is measured from the reload's navigation start (the new
document's time origin) by a watcher installed before the page's own scripts run. So
Playwright's round trips are not in the figures. Before each step the page is given up to
5 s to go idle (the worker acts on a settled screen).

The screens change (a virtualised caseload, a first-sync progress line, a client picker, a
PIN lock): everything that knows today's UI is in the "UI adapters" section below, one
small function per condition or action. Adapt those, not the measuring code.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

DEMO_PASSWORD = "outreach-demo"  # the demo world's documented local password
BENCH_PIN = "482916"  # the PIN the bench chooses for the app lock
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--enable-precise-memory-info",  # performance.memory, sampled every frame of a step
]
PHONE = {
    "viewport": {"width": 360, "height": 640},
    "device_scale_factor": 1,
    "is_mobile": True,
    "has_touch": True,
    "locale": "en-GB",
    "timezone_id": "Europe/London",
    "service_workers": "allow",
}
PUSH_BATCH = 500  # the most one push may carry (DESIGN §4)


def phone_pull_limit() -> int:
    """static/js/core/sync.js's PULL_LIMIT: to count the pages a phone pulls."""
    text = (ROOT / "static" / "js" / "core" / "sync.js").read_text()
    match = re.search(r"const PULL_LIMIT = (\d+)", text)
    if not match:
        raise SystemExit("PULL_LIMIT not found in static/js/core/sync.js")
    return int(match.group(1))


PHONE_PULL_LIMIT = phone_pull_limit()
INTERVENTION_DAYS = 89  # inside the 90 days a phone holds (OUTREACH_SYNC_INTERVENTION_DAYS)
SETTLE_MS = 5_000


@dataclass(frozen=True)
class Team:
    key: str
    name: str
    email: str


BIG = Team("big", "Durham Street Outreach", "worker.durham@outreach.test")
SMALL = Team("small", "Dorset Outreach", "worker.dorset@outreach.test")
# --compare-plain: each team twice, its store encrypted (the default) and not (the same
# app, lock screens and PIN included): the cost of encryption.
PLAIN_STORE_JS = "self.Outreach = Object.assign(self.Outreach || {}, { plainStore: true });"


@dataclass(frozen=True)
class Config:
    """One column of the table: a team, its phone's store encrypted or not."""

    key: str
    team: Team
    plain: bool = False

    @property
    def label(self) -> str:
        return self.team.name + (", store not encrypted" if self.plain else ", encrypted")


class StepFailed(Exception):
    """A step of a run did not finish: which one, and what the page showed."""

    def __init__(self, step: str, detail: str):
        super().__init__(f"step '{step}' failed: {detail}")
        self.step, self.detail = step, detail


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# =========================================================================================
# UI adapters: the only code that knows today's screens (static/js/views/*.js,
# static/index.html). Each condition is a JS function `(arg) => boolean` run on every
# animation frame until it holds; each action is what a worker's thumb does. They look for
# roles, labels and visible text, not CSS classes.
# =========================================================================================


@dataclass(frozen=True)
class Condition:
    what: str  # for messages
    js: str  # `(arg) => boolean`, evaluated in the page
    arg: Any = None
    # 0: checked on every animation frame. A long step (the first sync) is checked every
    # `poll_ms` instead, so the bench's own checks do not weigh on the page it times
    # (they took 5% of a first sync's main thread); its time is then up to that late.
    poll_ms: int = 0


# The caseload's count line (views/caseload.js `count`, a role=status paragraph):
# "5020 clients" for the whole list, "463 of 5020 clients" while searching. Digits may
# gain thousands separators; a first-sync progress line ("Getting your caseload: 1,200 of
# 5,000") does not end in "clients" and is not mistaken for it.
CASELOAD_COUNT_JS = r"""() => {
  const main = document.querySelector('main');
  if (!main) return null;
  for (const el of main.querySelectorAll('[role=status]')) {
    const m = /^\s*([\d,]+)(?: of ([\d,]+))? clients?\s*$/.exec(el.textContent);
    if (m) {
      const n = (s) => Number(s.replace(/,/g, ''));
      return m[2] ? { shown: n(m[1]), total: n(m[2]) } : { shown: n(m[1]), total: n(m[1]) };
    }
  }
  return null;
}"""

# The main heading's text (each screen has one h1 in <main>).
HEADING_JS = "() => (document.querySelector('main h1')?.textContent || '').trim()"

# Links to a client's page in the caseload list: the rows.
CLIENT_ROWS_JS = r"""() => [...document.querySelectorAll('main a[href]')]
  .filter((a) => a.getAttribute('href').startsWith('#/client/'))"""

# The element of `selector` in <main> whose visible text is exactly `text`.
BY_TEXT_JS = r"""(selector, text) => [...document.querySelectorAll('main ' + selector)]
  .find((el) => el.textContent.trim() === text)"""

# The control labelled `text` (a <label> whose own text is exactly that).
LABELLED_JS = r"""(text) => {
  for (const label of document.querySelectorAll('main label')) {
    const own = [...label.childNodes].filter((n) => n.nodeType === 3)
      .map((n) => n.textContent).join('') || label.textContent;
    if (own.trim() === text) return label.control;
  }
  return null;
}"""


def caseload_full_and_synced(expected_clients: int) -> Condition:
    """First sync done: the caseload counts every client of the team, and the sync bar
    says the outbox is empty ("All changes synced") and no sync is running (`#last-sync`
    shows a last sync and no "Syncing")."""
    return Condition(
        f"caseload shows {expected_clients} clients and the sync finished",
        f"""(n) => {{
          // The cheap checks first: this runs on every frame of a long sync.
          const state = document.getElementById('sync-state')?.textContent || '';
          const last = document.getElementById('last-sync')?.textContent || '';
          if (!state.includes('All changes synced') || !last.includes('Synced ')
            || last.includes('Syncing')) return false;
          const heading = ({HEADING_JS})();
          const count = ({CASELOAD_COUNT_JS})();
          return heading === 'Caseload' && !!count && count.shown === n && count.total === n;
        }}""",
        expected_clients,
        poll_ms=100,
    )


def caseload_usable(expected_clients: int) -> Condition:
    """The caseload can be used: every client counted, rows in the list, and the search
    box there and enabled (this check runs in an animation frame, so the main thread is
    free to take the keystroke)."""
    return Condition(
        f"caseload usable with {expected_clients} clients",
        f"""(n) => {{
          if (({HEADING_JS})() !== 'Caseload') return false;
          const count = ({CASELOAD_COUNT_JS})();
          const search = ({LABELLED_JS})('Search clients');
          return !!count && count.total === n && count.shown === n
            && ({CLIENT_ROWS_JS})().length > 0 && !!search && !search.disabled;
        }}""",
        expected_clients,
    )


def search_filtered(expected_total: int) -> Condition:
    """The list shows the search's result: the count line reads "N of M clients"."""
    return Condition(
        "search result shown",
        f"""(n) => {{
          const count = ({CASELOAD_COUNT_JS})();
          return !!count && count.total === n && count.shown < n;
        }}""",
        expected_total,
    )


def search_cleared(expected_total: int) -> Condition:
    """Back to the whole list: "M clients" and rows shown."""
    return Condition(
        "full list shown again",
        f"""(n) => {{
          const count = ({CASELOAD_COUNT_JS})();
          return !!count && count.total === n && count.shown === n
            && ({CLIENT_ROWS_JS})().length > 0;
        }}""",
        expected_total,
    )


def client_page_shown() -> Condition:
    """A client's page: its heading "Client XY" and its Record intervention action."""
    return Condition(
        "client page shown",
        f"""() => {{
          const heading = ({HEADING_JS})();
          return heading.startsWith('Client ') && heading !== 'Client not found'
            && !!({BY_TEXT_JS})('a', 'Record intervention');
        }}""",
    )


def record_form_ready() -> Condition:
    """The intervention form, ready to fill: its heading, the client already chosen,
    and an enabled Save button."""
    return Condition(
        "record form ready",
        f"""() => {{
          if (({HEADING_JS})() !== 'Record intervention') return false;
          const client = ({LABELLED_JS})('Client');
          const save = ({BY_TEXT_JS})('button', 'Save');
          return !!client && client.value !== '' && !!save && !save.disabled;
        }}""",
    )


def intervention_saved() -> Condition:
    """The notice after saving."""
    return Condition(
        'notice "Intervention saved." shown',
        """() => [...document.querySelectorAll('main [role=status]')]
          .some((el) => el.textContent.trim() === 'Intervention saved.')""",
    )


def open_sign_in(page, base_url: str) -> None:
    page.goto(base_url + "/")
    page.get_by_label("Email").wait_for()


def fill_sign_in(page, email: str, password: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)


def submit_sign_in(page, timeout_s: float) -> None:
    """Sign in, then choose the phone's PIN (the app lock asks for one at the first
    sign-in; the first sync starts once it is set)."""
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Choose a PIN for this phone").wait_for(
        timeout=timeout_s * 1000
    )
    page.get_by_label("PIN", exact=True).fill(BENCH_PIN)
    page.get_by_role("button", name="Set PIN").click()


def lock_screen_ready() -> Condition:
    """After a reload the app opens locked: its PIN box is there and enabled."""
    return Condition(
        "lock screen ready",
        f"""() => {{
          if (({HEADING_JS})() !== 'Outreach is locked') return false;
          const pin = ({LABELLED_JS})('PIN');
          return !!pin && !pin.disabled;
        }}""",
    )


def unlock(page) -> None:
    page.get_by_label("PIN", exact=True).fill(BENCH_PIN)
    page.get_by_role("button", name="Unlock").tap()


def first_search_letter(page) -> str:
    """The first letter of the first listed client's name: a search that finds someone."""
    name = page.evaluate(f"() => ({CLIENT_ROWS_JS})()[0].textContent.trim()")
    return name[0]


def search_box(page):
    return page.get_by_role("searchbox", name="Search clients")


def type_search_letter(page, letter: str) -> None:
    search_box(page).focus()
    page.keyboard.press(letter)


def clear_search(page) -> None:
    page.keyboard.press("Backspace")


def search_result_count(page) -> int:
    return page.evaluate(f"() => ({CASELOAD_COUNT_JS})().shown")


def open_first_client(page) -> None:
    page.get_by_role("main").get_by_role("listitem").get_by_role("link").first.tap()


def open_record_form(page) -> None:
    page.get_by_role("main").get_by_role("link", name="Record intervention").tap()


def fill_intervention(page) -> None:
    """A harm-reduction talk in the street (no quantity, no referral needed)."""
    page.get_by_label("Type").select_option("harm_reduction_advice")
    page.get_by_label("Location").select_option("street")


def tap_save(page) -> None:
    page.get_by_role("button", name="Save").tap()


# =========================================================================================
# In-page instruments: input timestamps, the condition watcher, long tasks, resources.
# =========================================================================================

INSTRUMENTS_JS = r"""(() => {
  if (window.__bench) return;
  const b = window.__bench = {
    longtasks: [], armed: false, inputAt: null, doneAt: null, token: 0, heapPeak: 0,
  };
  // Sampled at most every 250 ms: reading performance.memory precisely is not free
  // (every frame, it took 4% of a first sync's main thread).
  let sampledAt = -1e9;
  b.sampleHeap = () => {
    const t = performance.now();
    if (t - sampledAt < 250) return;
    sampledAt = t;
    const used = performance.memory ? performance.memory.usedJSHeapSize : 0;
    if (used > b.heapPeak) b.heapPeak = used;
  };
  try { performance.setResourceTimingBufferSize(10000); } catch (e) { /* old browser */ }
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) b.longtasks.push([e.startTime, e.duration]);
    }).observe({ type: 'longtask', buffered: true });
  } catch (e) { b.noLongtasks = true; }
  for (const type of ['pointerdown', 'touchstart', 'mousedown', 'keydown']) {
    addEventListener(type, (e) => {
      if (b.armed) { b.armed = false; b.inputAt = e.timeStamp; }
    }, { capture: true, passive: true });
  }
  // Stamp the first animation frame on which `check(arg)` holds.
  b.watch = (check, arg, pollMs) => {
    const token = ++b.token;
    b.doneAt = null;
    b.watchError = null;
    const next = () => (pollMs ? setTimeout(frame, pollMs) : requestAnimationFrame(frame));
    const frame = () => {
      if (token !== b.token) return;
      b.sampleHeap();
      let ok = false;
      try { ok = !!check(arg); } catch (e) { b.watchError = String(e); }
      if (ok) b.doneAt = performance.now(); else next();
    };
    let initially = false;
    try { initially = !!check(arg); } catch (e) { /* not yet */ }
    next();
    return initially;
  };
  b.arm = () => { b.armed = true; b.inputAt = null; };
  b.longest = (from, to) => {
    let max = 0;
    for (const [start, duration] of b.longtasks) {
      if (start < to && start + duration > from) max = Math.max(max, duration);
    }
    return max;
  };
  b.idle = (timeout) => new Promise((resolve) => {
    if (!self.requestIdleCallback) return setTimeout(resolve, 0);
    requestIdleCallback(() => resolve(), { timeout });
  });
})();"""


def install_watch(page, condition: Condition) -> bool:
    return page.evaluate(
        f"([arg, poll]) => window.__bench.watch({condition.js}, arg, poll)",
        [condition.arg, condition.poll_ms],
    )


def settle(page) -> None:
    """Let the page go idle before the next action (bounded)."""
    page.evaluate(f"() => window.__bench.idle({SETTLE_MS})")


def wait_done(page, condition: Condition, timeout_s: float) -> None:
    try:
        page.wait_for_function(
            "() => window.__bench && window.__bench.doneAt != null",
            polling=100,
            timeout=timeout_s * 1000,
        )
    except Exception as exc:
        detail = page.evaluate("() => window.__bench && window.__bench.watchError")
        raise TimeoutError(
            f"timed out after {timeout_s:.0f} s waiting for: {condition.what}"
            + (f" (the check failed: {detail})" if detail else "")
        ) from exc


def timed_step(page, condition: Condition, action, timeout_s: float) -> dict:
    """Arm, act, wait for the condition; the time from the action's first input event
    to the first frame where the condition held, and the longest task in between."""
    settle(page)
    page.evaluate("() => window.__bench.arm()")
    if install_watch(page, condition):
        raise RuntimeError(f"the condition already held before the action: {condition.what}")
    action()
    wait_done(page, condition, timeout_s)
    out = page.evaluate(
        """() => { const b = window.__bench;
          return { inputAt: b.inputAt, doneAt: b.doneAt,
                   longest: b.inputAt == null ? null : b.longest(b.inputAt, b.doneAt) }; }"""
    )
    if out["inputAt"] is None:
        raise RuntimeError(f"no input event reached the page for: {condition.what}")
    return {
        "seconds": (out["doneAt"] - out["inputAt"]) / 1000,
        "longest_task": out["longest"] / 1000,
    }


# =========================================================================================
# The server: migrations, demo world, gunicorn.
# =========================================================================================


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(url: str, port: int, secrets_: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    env.update(secrets_)
    env.update(
        OUTREACH_DATABASE_URL=url,
        OUTREACH_BIND=f"127.0.0.1:{port}",
        # Every run signs in again from one address: keep the limiter out of the way.
        OUTREACH_LOGIN_LIMIT_ADDRESS="100000/minute",
        OUTREACH_LOGIN_LIMIT_ACCOUNT="100000/minute",
    )
    return env


def recreate_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = parsed.database
    if not parsed.drivername.startswith("postgresql"):
        raise SystemExit("--database-url must be a PostgreSQL URL (SQLite is the default)")
    if name in (None, "", "postgres", "test", "outreach", "template0", "template1"):
        raise SystemExit(f"refusing to recreate database {name!r}: name a throwaway one")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def flask_cli(env: dict, *args: str) -> None:
    done = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stderr[-2000:]}")


def start_server(env: dict, port: int, log_path: Path) -> subprocess.Popen:
    """gunicorn with the production settings (gunicorn.conf.py), in its own process group."""
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited; see {log_path}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/health")
            ok = conn.getresponse().status == 200
            conn.close()
            if ok:
                return process
        except OSError:
            pass
        time.sleep(0.2)
    stop_server(process)
    raise SystemExit(f"gunicorn did not start; see {log_path}")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# =========================================================================================
# The API client: sign in, push the big team, count what a phone will pull.
# =========================================================================================


class Api:
    def __init__(self, port: int, email: str, password: str = DEMO_PASSWORD):
        self.port, self.email, self.password = port, email, password
        self.device_id = str(uuid.uuid4())
        self.token: str | None = None
        self.conn: http.client.HTTPConnection | None = None

    def call(self, method: str, path: str, body: Any = None, *, auth: bool = True) -> Any:
        data = orjson.dumps(body) if body is not None else None
        for attempt in range(5):
            headers = {"Content-Type": "application/json"}
            if auth:
                if self.token is None:
                    self.sign_in()
                headers["Authorization"] = f"Bearer {self.token}"
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
            try:
                self.conn.request(method, path, body=data, headers=headers)
                response = self.conn.getresponse()
                raw = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A kept-alive connection closed by the server: resend (pushes are idempotent).
                self.conn.close()
                self.conn = None
                continue
            if response.status == 401 and auth and attempt < 4:
                self.token = None  # the access token expired during a long load
                continue
            if response.status == 503 and attempt < 4:
                time.sleep(float(response.getheader("Retry-After") or 1))
                continue
            if response.status >= 300:
                raise SystemExit(
                    f"{method} {path}: HTTP {response.status} {raw[:300].decode(errors='replace')}"
                )
            return orjson.loads(raw) if raw else None
        raise SystemExit(f"{method} {path}: gave up after retries")

    def sign_in(self) -> None:
        body = self.call(
            "POST",
            "/api/v1/auth/login",
            {"email": self.email, "password": self.password, "device_id": self.device_id},
            auth=False,
        )
        self.token = body["access_token"]

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


# How often each type occurs in the generated interventions (roughly the demo's mix);
# a type the server adds later gets weight 1.
TYPE_WEIGHTS = {
    "naloxone_supplied": 14,
    "needle_syringe_provision": 14,
    "harm_reduction_advice": 20,
    "bbv_test": 6,
    "hbv_vaccination": 3,
    "wound_care": 5,
    "overdose_response": 1,
    "brief_intervention": 12,
    "referral_structured_treatment": 7,
    "referral_other": 6,
    "diversion": 4,
    "treatment_entry_confirmed": 3,
}
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# County Durham postcode districts.
DISTRICTS = ["DH1", "DH2", "DH3", "DH6", "DH7", "DH8", "DH9", "DL4", "DL5", "DL14", "DL15", "SR8"]
KNOWN_AS = ["Smudge", "Red", "Bear", "Jay", "Kit", "Mac", "Ace", "Dee", "Sky", "Bo", "Tash"]
REFERRED_TO = ["Community drug service", "Housing options", "GP", "Mental health team", "Hostel"]


def generate(codes: dict, clients: int, interventions: int, seed: int) -> list[dict]:
    """Valid mutations: `clients` clients, then `interventions` interventions spread over
    them and over the last 89 days, the type's quantity, outcome or referral filled in."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    today = now.date()
    sexes = [s["code"] for s in codes["sexes"]]
    locations = [loc["code"] for loc in codes["locations"]]
    substances = [s["code"] for s in codes["substances"]]
    types = codes["intervention_types"]
    weights = [TYPE_WEIGHTS.get(t["code"], 1) for t in types]

    def new_id() -> str:  # reproducible from the seed
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    def mutation(entity: str, record_id: str, data: dict) -> dict:
        return {
            "mutation_id": str(uuid.uuid4()),
            "entity": entity,
            "op": "upsert",
            "id": record_id,
            "base_version": None,
            "data": data,
        }

    out, client_ids = [], []
    for _ in range(clients):
        record_id = new_id()
        client_ids.append(record_id)
        data = {
            "initials": "".join(rng.choice(LETTERS) for _ in range(rng.choice((2, 2, 3)))),
            "date_of_birth": (today - timedelta(days=rng.randint(18 * 365, 70 * 365))).isoformat(),
            "sex": rng.choice(sexes),
            "postcode_district": rng.choice(DISTRICTS),
        }
        if rng.random() < 0.15:
            data["known_as"] = rng.choice(KNOWN_AS)
        out.append(mutation("client", record_id, data))
    for _ in range(interventions):
        kind = rng.choices(types, weights)[0]
        occurred = now - timedelta(minutes=rng.randint(5, INTERVENTION_DAYS * 24 * 60))
        data = {
            "client_id": rng.choice(client_ids),
            "type": kind["code"],
            "occurred_at": occurred.isoformat(timespec="seconds"),
            "location": rng.choice(locations),
            "substances": rng.sample(substances, rng.randint(0, 2)),
        }
        if kind.get("quantity_label"):
            data["quantity"] = rng.randint(1, max(1, min(kind.get("quantity_max") or 1, 10)))
        if kind.get("outcome_choices"):
            data["outcome"] = rng.choice(kind["outcome_choices"])
        if kind.get("referral"):
            data["referral_to"] = rng.choice(REFERRED_TO)
        out.append(mutation("intervention", new_id(), data))
    return out


def load_big_team(port: int, clients: int, interventions: int, seed: int) -> None:
    api = Api(port, BIG.email)
    codes = api.call("GET", "/api/v1/me")["codes"]
    mutations = generate(codes, clients, interventions, seed)
    started = time.perf_counter()
    applied = 0
    for start in range(0, len(mutations), PUSH_BATCH):
        batch = mutations[start : start + PUSH_BATCH]
        answer = api.call(
            "POST",
            "/api/v1/sync/push",
            {"device_id": api.device_id, "schema_version": 1, "mutations": batch},
        )
        for result in answer["results"]:
            if result["status"] not in ("applied", "duplicate"):
                # Field names and messages only: never the record's values.
                raise SystemExit(
                    f"push: mutation {result['mutation_id']} {result['status']}: "
                    f"{result.get('errors') or result.get('message')}"
                )
            applied += 1
        if (start // PUSH_BATCH) % 10 == 9 or start + PUSH_BATCH >= len(mutations):
            log(f"  pushed {applied:,} of {len(mutations):,}")
    api.close()
    took = time.perf_counter() - started
    log(f"loaded {applied:,} records through the API in {took:.1f} s ({applied / took:.0f}/s)")


# A client another team shared through a referral is in this team's caseload once the
# referral is taken on (static/js/data.js TAKEN_ON); until then only in Referrals.
TAKEN_ON = {"accepted", "first_contact", "treatment_entry"}


def phone_scope(port: int, email: str) -> dict:
    """What a fresh phone of this worker will pull: live records by entity, the clients
    its caseload lists (the team's own, and another team's taken on through a referral),
    and pages; and how long the bench's own client took to pull them (the server's cost
    with no throttled browser running: Chromium's CPU throttling keeps a core busy even
    while the page is idle, which a 2-core machine's server feels)."""
    api = Api(port, email)
    api.sign_in()
    team = (api.call("GET", "/api/v1/me").get("team") or {}).get("id")
    started = time.perf_counter()
    held: dict[str, dict[str, dict | None]] = {}
    cursor, pages = None, 0
    while True:
        query = f"?limit={PHONE_PULL_LIMIT}" + (f"&cursor={cursor}" if cursor else "")
        page = api.call("GET", "/api/v1/sync/pull" + query)
        pages += 1
        for change in page["changes"]:
            records = held.setdefault(change["entity"], {})
            if change["op"] == "remove":
                records.pop(change["id"], None)
            else:
                data = change.get("data") or {}
                records[change["id"]] = None if data.get("deleted_at") else data
        cursor = page["cursor"]
        if not page["has_more"]:
            break
    seconds = time.perf_counter() - started
    api.close()
    live = {
        entity: {key: d for key, d in records.items() if d is not None}
        for entity, records in held.items()
    }
    taken_on = {
        r.get("client_id")
        for r in live.get("referral", {}).values()
        if r.get("to_team_id") == team and r.get("status") in TAKEN_ON
    }
    caseload = [
        key
        for key, c in live.get("client", {}).items()
        if team is None or c.get("team_id") in (None, team) or key in taken_on
    ]
    return {
        "clients": len(caseload),
        "clients_pulled": len(live.get("client", [])),
        "interventions": len(live.get("intervention", [])),
        "follow_ups": len(live.get("follow_up", [])),
        "pages": pages,
        "pull_seconds": seconds,
    }


# =========================================================================================
# One phone run.
# =========================================================================================


@dataclass
class Phone:
    context: Any
    page: Any
    cdp: Any
    throttle: float
    profile_dir: str
    errors: list[str] = field(default_factory=list)
    pulls: list[tuple[float, int]] = field(default_factory=list)  # (when, HTTP status)

    def throttle_cpu(self) -> None:
        self.cdp.send("Emulation.setCPUThrottlingRate", {"rate": self.throttle})

    def metrics(self) -> dict[str, float]:
        return {m["name"]: m["value"] for m in self.cdp.send("Performance.getMetrics")["metrics"]}

    def heap_mb(self) -> float:
        return self.metrics()["JSHeapUsedSize"] / 1e6

    def go_offline(self) -> None:
        """No signal, for real: Playwright's offline (covers the service worker) and CDP's
        network emulation (without it `navigator.onLine` can stay true after a reload)."""
        self.context.set_offline(True)
        self.cdp.send(
            "Network.emulateNetworkConditions",
            {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )

    def close(self) -> None:
        try:
            self.context.close()
        finally:
            shutil.rmtree(self.profile_dir, ignore_errors=True)


def new_phone(playwright, throttle: float, in_memory: bool, reduced_motion: bool = False) -> Phone:
    """A fresh browser and profile, throttled. By default the profile is on disk
    (IndexedDB on disk, as on a phone); `in_memory` uses an incognito-like context, whose
    IndexedDB lives in memory."""
    profile_dir = tempfile.mkdtemp(prefix="phone-bench-profile-")
    if in_memory:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(
            **PHONE, reduced_motion="reduce" if reduced_motion else "no-preference"
        )
        context.on("close", lambda _: browser.close())
    else:
        context = playwright.chromium.launch_persistent_context(
            profile_dir,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            reduced_motion="reduce" if reduced_motion else "no-preference",
            **PHONE,
        )
    context.add_init_script(INSTRUMENTS_JS)
    page = context.pages[0] if context.pages else context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    phone = Phone(context, page, cdp, throttle, profile_dir)
    page.on("pageerror", lambda exc: phone.errors.append(str(exc)[:200]))
    phone.throttle_cpu()
    return phone


# Every node of the document, text nodes included (what "DOM nodes" usually counts,
# e.g. DevTools' Nodes metric; the issue's 40,302 is 8 per row: 5 elements, 3 texts).
ALL_NODES_JS = """() => {
  const walker = document.createTreeWalker(document, NodeFilter.SHOW_ALL);
  let n = 1;
  while (walker.nextNode()) n++;
  return n;
}"""


def pull_breakdown(page, done_at_ms: float, pages: int) -> dict:
    """From the page's resource timings of the first sync's `pages` pulls: time waiting
    for them, the server's share (request sent to first byte), and the time from the last
    one to the full count shown. Pulls after those (the app's 60-second timer sync, when a
    first sync outlasts it) are counted apart: the first sync is "finished" only once
    the sync bar stops saying "Syncing", so they can end just before it."""
    return page.evaluate(
        """([doneAt, pages]) => {
          const all = performance.getEntriesByType('resource')
            .filter((e) => e.name.includes('/api/v1/sync/pull'))
            .sort((a, b) => a.startTime - b.startTime);
          if (!all.length) return null;
          const pulls = all.slice(0, pages);
          const sum = (f) => pulls.reduce((t, e) => t + f(e), 0);
          return {
            pages: pulls.length,
            later_pulls: all.length - pulls.length,
            span: (pulls[pulls.length - 1].responseEnd - pulls[0].startTime) / 1000,
            waiting: sum((e) => e.responseEnd - e.startTime) / 1000,
            server: sum((e) => Math.max(0, e.responseStart - e.requestStart)) / 1000,
            after_last_page: (doneAt - pulls[pulls.length - 1].responseEnd) / 1000,
          };
        }""",
        [done_at_ms, pages],
    )


# What the page shows of the sync while a step waits (for a step that hangs).
SYNC_STATE_JS = f"""() => ({{
  state: document.getElementById('sync-state')?.textContent || '',
  last: document.getElementById('last-sync')?.textContent || '',
  heading: ({HEADING_JS})(),
  count: ({CASELOAD_COUNT_JS})(),
}})"""


def describe_hang(phone: Phone, page) -> str:
    """Where a step stopped: pull pages answered so far (seen from Playwright, so it
    works while the page is busy) and, if the page answers, its sync bar."""
    pulls = phone.pulls
    parts = [f"{len(pulls)} pull responses"]
    if pulls:
        parts.append(f"the last {time.monotonic() - pulls[-1][0]:.0f} s ago (HTTP {pulls[-1][1]})")
    from playwright.sync_api import Error as PlaywrightError

    try:
        shown = page.evaluate(SYNC_STATE_JS)
        parts.append(
            f"page: heading {shown['heading']!r}, count {shown['count']}, "
            f"sync bar {shown['state']!r} / {shown['last']!r}"
        )
    except PlaywrightError as exc:  # the page is gone or broken: say so, keep the rest
        parts.append(f"page did not answer ({str(exc)[:80]})")
    return "; ".join(parts)


class Steps:
    """Names the step under way, so a failure (a timeout, an error) says which step hung
    and what the page showed then."""

    def __init__(self, phone: Phone, page):
        self.phone, self.page, self.current = phone, page, "start"

    def __call__(self, name: str) -> Steps:
        self.current = name
        log(f"    step: {name}")
        return self

    def fail(self, exc: BaseException) -> StepFailed:
        detail = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
        return StepFailed(self.current, detail + " -- " + describe_hang(self.phone, self.page))


def start_profile(phone: Phone) -> None:
    phone.cdp.send("Profiler.enable")
    phone.cdp.send("Profiler.setSamplingInterval", {"interval": 500})
    phone.cdp.send("Profiler.start")


def stop_profile(phone: Phone, path: Path) -> None:
    """The first sync's CPU profile (open it in DevTools), and its top functions."""
    profile = phone.cdp.send("Profiler.stop")["profile"]
    path.write_text(json.dumps(profile))
    nodes = {n["id"]: n for n in profile["nodes"]}
    deltas = profile.get("timeDeltas") or []
    self_ms: dict[int, float] = {}
    for node_id, delta in zip(profile.get("samples") or [], deltas, strict=False):
        self_ms[node_id] = self_ms.get(node_id, 0) + delta / 1000
    by_fn: dict[str, float] = {}
    for node_id, ms in self_ms.items():
        frame = nodes[node_id]["callFrame"]
        where = frame["url"].rsplit("/", 1)[-1]
        name = f"{frame['functionName'] or '(anonymous)'} {where}:{frame['lineNumber'] + 1}"
        by_fn[name] = by_fn.get(name, 0) + ms
    total = sum(by_fn.values()) or 1
    log(f"CPU profile of the first sync written to {path}; top self time:")
    for name, ms in sorted(by_fn.items(), key=lambda kv: -kv[1])[:25]:
        log(f"  {ms:9.0f} ms {100 * ms / total:5.1f}%  {name}")


def start_trace(phone: Phone) -> list:
    events: list = []
    phone.cdp.on("Tracing.dataCollected", lambda e: events.extend(e["value"]))
    phone.cdp.send(
        "Tracing.start",
        {
            "categories": "devtools.timeline,disabled-by-default-devtools.timeline,v8,blink,"
            "IndexedDB,toplevel,renderer.scheduler",
            "transferMode": "ReportEvents",
        },
    )
    return events


def stop_trace(phone: Phone, events: list, path: Path) -> None:
    """The first sync's trace (open it in DevTools) and the main thread's busiest events."""
    done: list = []
    phone.cdp.on("Tracing.tracingComplete", lambda e: done.append(True))
    phone.cdp.send("Tracing.end")
    deadline = time.monotonic() + 60
    while not done and time.monotonic() < deadline:
        phone.page.wait_for_timeout(100)
    path.write_text(json.dumps({"traceEvents": events}))
    main = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("name") == "thread_name" and e.get("args", {}).get("name") == "CrRendererMain"
    }
    totals: dict[str, float] = {}
    for e in events:
        if (e.get("pid"), e.get("tid")) in main and e.get("ph") == "X" and "dur" in e:
            totals[e["name"]] = totals.get(e["name"], 0) + e["dur"] / 1000
    log(f"trace of the first sync written to {path}; main-thread events (nested ones overlap):")
    for name, ms in sorted(totals.items(), key=lambda kv: -kv[1])[:30]:
        log(f"  {ms:9.0f} ms  {name}")


def run_phone(playwright, base_url: str, config: Config, scope: dict, args, profile=None) -> dict:
    timeout = args.step_timeout
    clients = scope["clients"]
    phone = new_phone(playwright, args.throttle, args.in_memory_profile, args.reduced_motion)
    page = phone.page
    page.on(
        "response",
        lambda r: (
            phone.pulls.append((time.monotonic(), r.status))
            if "/api/v1/sync/pull" in r.url
            else None
        ),
    )
    step = Steps(phone, page)
    result: dict[str, Any] = {"load_before": os.getloadavg()[0]}
    try:
        if config.plain:
            page.add_init_script(PLAIN_STORE_JS)
        if args.page_js:
            page.add_init_script(args.page_js)
        step("open the sign-in screen")
        open_sign_in(page, base_url)
        fill_sign_in(page, config.team.email, DEMO_PASSWORD)

        step("first sync (sign in, set the PIN, pull)")
        before = phone.metrics()
        if profile:
            start_profile(phone)
        trace = start_trace(phone) if args.trace and profile else None
        timed = timed_step(
            page,
            caseload_full_and_synced(clients),
            lambda: submit_sign_in(page, timeout),
            timeout,
        )
        if profile:
            stop_profile(phone, profile)
        if trace is not None:
            stop_trace(phone, trace, args.trace)
        after = phone.metrics()
        # Main-thread time (throttled wall time of its tasks) over the first sync: what
        # is not in it was spent waiting (network, IndexedDB in the browser process).
        result["main_thread"] = {
            name: after[metric] - before[metric]
            for name, metric in (
                ("tasks", "TaskDuration"),
                ("script", "ScriptDuration"),
                ("style_layout", "RecalcStyleDuration"),
            )
        }
        result["main_thread"]["style_layout"] += after["LayoutDuration"] - before["LayoutDuration"]
        result["first_sync"] = timed["seconds"]
        result["longest_task_first_sync"] = timed["longest_task"]
        result["dom_elements"] = page.evaluate("() => document.getElementsByTagName('*').length")
        result["dom_nodes"] = page.evaluate(ALL_NODES_JS)
        result["heap_after_sync_mb"] = phone.heap_mb()
        heap_peaks = [page.evaluate("() => window.__bench.heapPeak") / 1e6]
        done_at = page.evaluate("() => window.__bench.doneAt")
        result["pull"] = pull_breakdown(page, done_at, scope["pages"])
        result["seal_worker"] = page.evaluate(
            """() => { const o = self.Outreach.db.offloaded;
              return o ? { batches: o.batches, worker: o.workerMs / 1000, wait: o.waitMs / 1000,
                           seal: o.sealMs / 1000 } : null; }"""
        )
        outbox = page.evaluate("async () => self.Outreach.db.outboxCount()")
        if outbox:
            raise RuntimeError(f"{outbox} records still in the outbox after the first sync")

        # Offline open: the service worker serves the shell; the watcher is in place
        # before the page's own scripts, and the time origin is the reload's start.
        step("service worker in control")
        page.wait_for_function("() => !!navigator.serviceWorker.controller", timeout=60_000)
        settle(page)
        phone.go_offline()
        # The app opens locked: reload -> PIN box ready (timed from the reload's start),
        # then Unlock -> caseload usable (timed from the tap); the open is their sum (the
        # worker's typing left out).
        step("offline reload -> lock screen")
        locked = lock_screen_ready()
        page.add_init_script(
            f"window.__bench.watch({locked.js}, {json.dumps(locked.arg)});"
            "window.__bench.reloaded = true;"
        )
        page.reload(wait_until="commit", timeout=timeout * 1000)
        phone.throttle_cpu()  # Chromium keeps it across a same-site reload; make sure
        page.wait_for_function(
            "() => window.__bench && window.__bench.reloaded", timeout=timeout * 1000
        )
        wait_done(page, locked, timeout)
        opened = page.evaluate(
            """() => { const b = window.__bench;
              const nav = performance.getEntriesByType('navigation')[0];
              return { doneAt: b.doneAt, longest: b.longest(0, b.doneAt),
                       shell: nav ? nav.domContentLoadedEventEnd : null,
                       online: navigator.onLine, observed: !b.noLongtasks }; }"""
        )
        if opened["online"]:
            phone.errors.append("navigator.onLine was still true after the offline reload")
        if not opened["observed"]:
            phone.errors.append("no Long Tasks API: the longest-task figures are missing")
        step("unlock -> caseload usable")
        timed = timed_step(page, caseload_usable(clients), lambda: unlock(page), timeout)
        result["offline_lock"] = opened["doneAt"] / 1000
        result["unlock"] = timed["seconds"]
        result["offline_open"] = result["offline_lock"] + result["unlock"]
        result["offline_shell"] = opened["shell"] / 1000 if opened["shell"] else None
        result["longest_task_open"] = max(opened["longest"] / 1000, timed["longest_task"])
        heaps = [result["heap_after_sync_mb"], phone.heap_mb()]

        # Search, offline, as on the street.
        step("search, first letter")
        letter = first_search_letter(page)
        timed = timed_step(
            page, search_filtered(clients), lambda: type_search_letter(page, letter), timeout
        )
        result["search_letter"], longest = timed["seconds"], [timed["longest_task"]]
        result["search_rows"] = search_result_count(page)
        step("search cleared")
        timed = timed_step(page, search_cleared(clients), lambda: clear_search(page), timeout)
        result["search_cleared"] = timed["seconds"]
        longest.append(timed["longest_task"])
        heaps.append(phone.heap_mb())

        step("open a client")
        timed = timed_step(page, client_page_shown(), lambda: open_first_client(page), timeout)
        result["open_client"] = timed["seconds"]
        longest.append(timed["longest_task"])
        step("record form")
        timed = timed_step(page, record_form_ready(), lambda: open_record_form(page), timeout)
        result["record_form"] = timed["seconds"]
        longest.append(timed["longest_task"])
        fill_intervention(page)
        step("save")
        timed = timed_step(page, intervention_saved(), lambda: tap_save(page), timeout)
        result["save"] = timed["seconds"]
        longest.append(timed["longest_task"])
        heaps.append(phone.heap_mb())
        result["longest_task_steps"] = max(longest)
        result["heap_max_mb"] = max(heaps)
        heap_peaks.append(page.evaluate("() => window.__bench.heapPeak") / 1e6)
        result["heap_peak_mb"] = max(heap_peaks)
        # What the page really holds: the figures above count garbage V8 has not yet
        # collected (it lets a small heap grow before a full collection).
        phone.cdp.send("HeapProfiler.collectGarbage")
        result["heap_live_mb"] = phone.heap_mb()
        result["load_after"] = os.getloadavg()[0]
        result["page_errors"] = list(phone.errors)
        return result
    except Exception as exc:  # a step hung or broke: name it, keep the bench going
        raise step.fail(exc) from exc
    finally:
        phone.close()


# =========================================================================================
# The table.
# =========================================================================================

ROWS = [
    ("first sync: Sign in -> full count and sync finished", "first_sync", "s"),
    ("  pull pages", "pull.pages", "n"),
    ("  pulls after those (the app's timer sync)", "pull.later_pulls", "n"),
    ("  pulling (first page asked -> last page in)", "pull.span", "s"),
    ("  waiting on the network (sum over pages)", "pull.waiting", "s"),
    ("  of which the server (request -> first byte)", "pull.server", "s"),
    ("  after the last page -> count shown", "pull.after_last_page", "s"),
    ("  pages sealed and written by the seal worker", "seal_worker.batches", "n"),
    ("    the worker's own time on them (not CPU-throttled)", "seal_worker.worker", "s"),
    ("      of which sealing", "seal_worker.seal", "s"),
    (
        "    from sending each page to its commit (the page works on meanwhile)",
        "seal_worker.wait",
        "s",
    ),
    ("  main thread busy (CDP TaskDuration)", "main_thread.tasks", "s"),
    ("    of which script", "main_thread.script", "s"),
    ("    of which style and layout", "main_thread.style_layout", "s"),
    ("offline open: reload -> caseload usable (typing the PIN left out)", "offline_open", "s"),
    ("  reload -> lock screen ready", "offline_lock", "s"),
    ("    of which the app shell (reload -> DOMContentLoaded)", "offline_shell", "s"),
    ("  Unlock -> caseload usable", "unlock", "s"),
    ("search, first letter", "search_letter", "s"),
    ("  rows found", "search_rows", "n"),
    ("search cleared (back to the full list)", "search_cleared", "s"),
    ("open a client", "open_client", "s"),
    ("Record intervention -> form ready", "record_form", "s"),
    ('Save -> "Intervention saved."', "save", "s"),
    ("longest main-thread task while opening", "longest_task_open", "task"),
    ("longest main-thread task during the first sync", "longest_task_first_sync", "task"),
    ("longest main-thread task, search -> save", "longest_task_steps", "task"),
    ("DOM nodes after first sync (elements and text)", "dom_nodes", "n"),
    ("  elements only (getElementsByTagName('*'))", "dom_elements", "n"),
    ("JS heap used after first sync", "heap_after_sync_mb", "mb"),
    ("JS heap used, largest at a step's end", "heap_max_mb", "mb"),
    ("JS heap used, peak seen in any frame of a step", "heap_peak_mb", "mb"),
    ("JS heap live at the end (after a full garbage collection)", "heap_live_mb", "mb"),
]


def value_of(run: dict, path: str):
    value: Any = run
    for part in path.split("."):
        if not isinstance(value, dict) or value.get(part) is None:
            return None
        value = value[part]
    return value


def median_of(runs: list[dict], path: str):
    values = [v for v in (value_of(r, path) for r in runs) if v is not None]
    return statistics.median(values) if values else None


def fmt(value, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "task":
        # The Long Tasks API reports tasks of 50 ms and more: none means "under 50 ms".
        return "< 0.05 s" if value < 0.05 else fmt(value, "s")
    if unit == "s":
        return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"
    if unit == "mb":
        return f"{value:.1f} MB"
    return f"{value:,.0f}"


# Issue 16's targets for the big team (5,000 clients, 6x throttle): the last column says
# whether the big team's median meets them.
TARGETS = {
    "first_sync": 20.0,
    "offline_open": 1.5,
    "search_letter": 0.15,
    "search_cleared": 0.15,
    "open_client": 0.3,
    "record_form": 0.3,
    "save": 0.3,
    "longest_task_open": 0.2,
    "longest_task_first_sync": 0.2,
    "longest_task_steps": 0.2,
    "heap_max_mb": 50.0,
    "heap_peak_mb": 50.0,
}


def table(results: dict, configs: list[Config], scopes: dict) -> str:
    """The medians side by side: one column per configuration, then the ratios (big / demo
    for each store, encrypted / not encrypted for each team), then the target."""
    columns = [c for c in configs if c.key in results]
    by_key = {c.key: c for c in columns}
    ratios = []
    for team in (BIG, SMALL):
        enc, plain = team.key, team.key + "_plain"
        if enc in by_key and plain in by_key:
            ratios.append((enc, plain, f"{team.key}: encrypted / not"))
    for suffix, what in (("", "encrypted"), ("_plain", "not encrypted")):
        if "big" + suffix in by_key and "small" + suffix in by_key:
            ratios.append(("big" + suffix, "small" + suffix, f"big / demo ({what})"))

    def head(c: Config) -> str:
        n = len([r for r in results[c.key] if "failed" not in r])
        clients = scopes[c.team.key]["clients"]
        store = "not encrypted" if c.plain else "encrypted"
        return f"{c.team.key} {clients:,} clients, {store} ({n} runs)"

    lines = [
        "| step (medians) | "
        + " | ".join(head(c) for c in columns)
        + "".join(f" | {r[2]}" for r in ratios)
        + " | target (big, encrypted) |",
        "|---|" + "---|" * (len(columns) + len(ratios) + 1),
    ]
    ok = {c.key: [r for r in results[c.key] if "failed" not in r] for c in columns}
    for label, path, unit in ROWS:
        medians = {c.key: median_of(ok[c.key], path) for c in columns}
        cells = [fmt(medians[c.key], unit) for c in columns]
        for a, b, _ in ratios:
            x, y = medians[a], medians[b]
            short = unit == "task" and ((x or 0) < 0.05 or (y or 0) < 0.05)
            cells.append(f"{x / y:.2f}x" if x is not None and y and not short else "-")
        target = TARGETS.get(path)
        big = medians.get("big")
        verdict = "" if target is None or big is None else ("met" if big <= target else "MISSED")
        goal = f"< {fmt(target, 'mb' if unit == 'mb' else 's')} {verdict}" if target else ""
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {goal} |")
    return "\n".join(lines)


# =========================================================================================


def prepare_database(args, workdir: Path, env: dict, port: int) -> bool:
    """Migrations and the demo world, unless `--workdir` already holds them with the same
    big team (then it is reused). Returns whether the big team must be loaded."""
    marker = workdir / "loaded.json"
    want = {"clients": args.clients, "interventions": args.interventions, "seed": args.seed}
    if args.workdir and marker.exists() and json.loads(marker.read_text()) == want:
        log(f"reusing the database in {workdir} ({args.clients:,} clients loaded before)")
        return False
    if args.database_url:
        log(f"recreating {args.database_url.rsplit('/', 1)[-1]}")
        recreate_postgres(args.database_url)
    else:
        (workdir / "outreach.db").unlink(missing_ok=True)
        marker.unlink(missing_ok=True)
    flask_cli(env, "db", "upgrade")
    flask_cli(env, "outreach", "demo")
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per team (median shown)")
    parser.add_argument("--clients", type=int, default=5000, help="clients pushed to the big team")
    parser.add_argument(
        "--interventions", type=int, default=20000, help="interventions pushed (last 90 days)"
    )
    parser.add_argument("--throttle", type=float, default=6, help="CDP CPU throttling rate")
    parser.add_argument("--database-url", help="a throwaway PostgreSQL database (recreated)")
    parser.add_argument("--json", type=Path, help="write every run's figures here")
    parser.add_argument("--skip-small", action="store_true", help="only the big team")
    parser.add_argument("--seed", type=int, default=16, help="seed of the generated records")
    parser.add_argument(
        "--step-timeout",
        type=float,
        default=300,
        help="seconds a step may take; a step that takes longer fails its run (named in the "
        "output) and the bench goes on with the next run",
    )
    parser.add_argument(
        "--in-memory-profile",
        action="store_true",
        help="IndexedDB in memory (incognito-like context) instead of a profile on disk",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (db, server log)")
    parser.add_argument(
        "--workdir",
        type=Path,
        help="keep the SQLite database here and reuse it when it already holds the same "
        "big team (skips the load: for repeated runs)",
    )
    parser.add_argument(
        "--compare-plain",
        action="store_true",
        help="each team twice: the phone's store encrypted, and not encrypted; with ratios",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="write a CPU profile (.cpuprofile) of the first run's first sync here and log "
        "its top functions",
    )
    parser.add_argument(
        "--trace",
        type=Path,
        help="with --profile: also a Chrome trace of that first sync, and its busiest events",
    )
    parser.add_argument(
        "--reduced-motion",
        action="store_true",
        help="the phone asks for reduced motion (no spinning sync icon)",
    )
    parser.add_argument(
        "--page-js",
        help="a script run in the page before the app's own (to compare variants, e.g. "
        '"self.Outreach = {sealInPage: true}": the store sealed on the main thread)',
    )
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"needs Debian's Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
    workdir = (
        args.workdir.resolve() if args.workdir else Path(tempfile.mkdtemp(prefix="phone-bench-"))
    )
    url = args.database_url or f"sqlite:///{workdir / 'outreach.db'}"
    port = free_port()
    keys_file = workdir / "keys.json"
    if args.workdir and keys_file.exists():
        keys = json.loads(keys_file.read_text())
    else:
        keys = {
            "OUTREACH_SECRET_KEY": secrets.token_hex(32),
            "OUTREACH_JWT_SECRET": secrets.token_hex(32),
            "OUTREACH_MATCH_KEY_SECRET": secrets.token_hex(32),
        }
        keys_file.write_text(json.dumps(keys))
    env = server_env(url, port, keys)
    started = time.monotonic()
    server = None
    configs = [Config("big", BIG)]
    if args.compare_plain:
        configs.append(Config("big_plain", BIG, plain=True))
    if not args.skip_small:
        configs.append(Config("small", SMALL))
        if args.compare_plain:
            configs.append(Config("small_plain", SMALL, plain=True))
    teams = list({c.team.key: c.team for c in configs}.values())
    results: dict[str, list[dict]] = {c.key: [] for c in configs}
    scopes: dict[str, dict] = {}
    try:
        must_load = prepare_database(args, workdir, env, port)
        log(f"database {'PostgreSQL' if args.database_url else 'SQLite in ' + str(workdir)}")
        server = start_server(env, port, workdir / "server.log")
        base_url = f"http://127.0.0.1:{port}"
        if must_load:
            log(
                f"gunicorn on {base_url}; loading {args.clients:,} clients and "
                f"{args.interventions:,} interventions into {BIG.name} through the API"
            )
            load_big_team(port, args.clients, args.interventions, args.seed)
            (workdir / "loaded.json").write_text(
                json.dumps(
                    {
                        "clients": args.clients,
                        "interventions": args.interventions,
                        "seed": args.seed,
                    }
                )
            )
        for team in teams:
            scopes[team.key] = phone_scope(port, team.email)
            scopes[team.key]["name"] = team.name
            s = scopes[team.key]
            log(
                f"{team.name}: a phone holds {s['clients_pulled']:,} clients "
                f"({s['clients']:,} in its caseload), "
                f"{s['interventions']:,} interventions, {s['follow_ups']:,} follow-ups "
                f"({s['pages']} pages of {PHONE_PULL_LIMIT}, pulled by the bench in "
                f"{s['pull_seconds']:.1f} s)"
            )

        with sync_playwright() as playwright:
            # Interleaved (big, plain, small, ...): a busy spell on the machine hits all.
            for run in range(1, args.runs + 1):
                for config in configs:
                    log(f"run {run}/{args.runs}, {config.label}: fresh profile, {args.throttle:g}x")
                    profile = args.profile if run == 1 and config is configs[0] else None
                    try:
                        r = run_phone(
                            playwright, base_url, config, scopes[config.team.key], args, profile
                        )
                    except StepFailed as exc:
                        log(f"  FAILED at step '{exc.step}': {exc.detail}")
                        results[config.key].append(
                            {"failed": exc.step, "error": exc.detail, "load": os.getloadavg()[0]}
                        )
                        continue
                    results[config.key].append(r)
                    log(
                        f"  first sync {r['first_sync']:.2f} s (longest task "
                        f"{r['longest_task_first_sync']:.2f} s), offline open "
                        f"{r['offline_open']:.2f} s, search {r['search_letter']:.2f} s / "
                        f"{r['search_cleared']:.2f} s, client {r['open_client']:.2f} s, form "
                        f"{r['record_form']:.2f} s, save {r['save']:.2f} s, longest task "
                        f"{r['longest_task_open']:.2f} s, load {r['load_before']:.1f}"
                        f"->{r['load_after']:.1f}"
                    )
                    for error in r["page_errors"]:
                        log(f"  page error: {error}")
    finally:
        if server is not None:
            stop_server(server)
        if args.keep or args.workdir:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    loads = [
        r[k]
        for runs in results.values()
        for r in runs
        for k in ("load_before", "load_after", "load")
        if k in r
    ]
    chromium = subprocess.run(
        [CHROMIUM, "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    print()
    print(
        f"Phone bench: {chromium}, headless, 360x640, CPU {args.throttle:g}x, "
        f"profile {'in memory' if args.in_memory_profile else 'on disk'}, "
        f"{'PostgreSQL' if args.database_url else 'SQLite'}, gunicorn; "
        f"{os.cpu_count()} cores, 1-min load average {min(loads or [0]):.1f}-"
        f"{max(loads or [0]):.1f} during the runs; {time.monotonic() - started:.0f} s in all"
    )
    print(
        "; ".join(
            f"{team.key}: {team.name}, {scopes[team.key]['clients']:,} clients, "
            f"{scopes[team.key]['interventions']:,} interventions, "
            f"{scopes[team.key]['pages']} pages"
            for team in teams
        )
    )
    print()
    print(table(results, configs, scopes))
    failures = [(c, r) for c in configs for r in results[c.key] if "failed" in r]
    for config, r in failures:
        print(f"\nFAILED run ({config.label}): step '{r['failed']}': {r['error']}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "when": datetime.now(UTC).isoformat(timespec="seconds"),
                    "chromium": chromium,
                    "machine": {"cores": os.cpu_count(), "platform": platform.platform()},
                    "database": "postgresql" if args.database_url else "sqlite",
                    "throttle": args.throttle,
                    "profile": "memory" if args.in_memory_profile else "disk",
                    "runs": args.runs,
                    "scopes": scopes,
                    "results": results,
                    "medians": {
                        key: {
                            path: median_of([r for r in runs if "failed" not in r], path)
                            for _, path, _ in ROWS
                        }
                        for key, runs in results.items()
                    },
                },
                indent=2,
            )
        )
        log(f"wrote {args.json}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
