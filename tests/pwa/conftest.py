"""Browser fixtures: a live server on the session app, one headless Chromium per session,
a fresh phone-sized context per test."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
PHONE = {"width": 360, "height": 640}


class InFlight:
    """WSGI middleware counting requests still being served, so a test's teardown can
    wait for them before the tables are wiped (on PostgreSQL a TRUNCATE next to a
    running request deadlocks)."""

    def __init__(self, app):
        self.app = app
        self.active = 0
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            self.active += 1
        try:
            result = self.app(environ, start_response)
            try:
                return list(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        finally:
            with self.lock:
                self.active -= 1

    def wait_idle(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.active and time.monotonic() < deadline:
            time.sleep(0.02)


class LiveServer(str):
    """The base URL, carrying the request tracker."""

    tracker: InFlight


@pytest.fixture(scope="session")
def live_server(app):
    """The app served over HTTP on 127.0.0.1 (a secure context for service workers)."""
    tracker = InFlight(app)
    server = make_server("127.0.0.1", 0, tracker, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = LiveServer(f"http://127.0.0.1:{server.server_port}")
    url.tracker = tracker
    yield url
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def context(browser, live_server):
    ctx = browser.new_context(
        base_url=live_server,
        viewport=PHONE,
        device_scale_factor=1,
        is_mobile=True,
        has_touch=True,
        locale="en-GB",
        timezone_id="Europe/London",
        service_workers="allow",
    )
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()
    live_server.tracker.wait_idle()


@pytest.fixture
def page(context):
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    p.js_errors = errors
    yield p
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
