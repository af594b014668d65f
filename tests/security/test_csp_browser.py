"""The PWA and the API docs run under the real Content-Security-Policy header with no
violation: every role signs in and opens every screen of its navigation in headless
Chromium while `securitypolicyviolation` events and console CSP errors are collected."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from tests.pwa.conftest import InFlight, LiveServer
from tests.pwa.test_pwa import set_pin

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
COLLECT = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture(scope="module")
def server(app):
    """The app over HTTP, counting requests in flight so each test's teardown waits for
    them before the tables are wiped (a TRUNCATE beside a running request deadlocks on
    PostgreSQL)."""
    tracker = InFlight(app)
    httpd = make_server("127.0.0.1", 0, tracker, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    url = LiveServer(f"http://127.0.0.1:{httpd.server_port}")
    url.tracker = tracker
    yield url
    httpd.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def chromium(browser):
    return browser


@pytest.fixture
def page(chromium, server):
    context = chromium.new_context(
        base_url=server, viewport={"width": 360, "height": 640}, service_workers="allow"
    )
    context.set_default_timeout(10_000)
    context.add_init_script(COLLECT)
    page = context.new_page()
    page.console_csp = []
    page.on(
        "console",
        lambda msg: (
            page.console_csp.append(msg.text) if "Content Security Policy" in msg.text else None
        ),
    )
    yield page
    context.close()
    server.tracker.wait_idle()


def violations(page) -> list[str]:
    return [*page.evaluate("window.__csp || []"), *page.console_csp]


@pytest.mark.parametrize("who", ["worker", "lead", "commissioner", "admin"])
def test_every_screen_passes_the_csp(page, world, who):
    page.goto("/")
    assert "script-src 'self'" in (
        page.evaluate("fetch('/').then(r => r.headers.get('content-security-policy'))") or ""
    )
    page.get_by_label("Email").fill(world.emails[who])
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Sign in").click()
    set_pin(page)
    page.wait_for_selector("nav a")
    page.wait_for_load_state("networkidle")
    links = page.eval_on_selector_all("nav a[href]", "els => els.map(e => e.getAttribute('href'))")
    assert links, "no navigation after sign-in"
    for href in dict.fromkeys(links):
        page.locator(f'nav a[href="{href}"]').first.click()
        page.wait_for_load_state("networkidle")
    assert violations(page) == []


def test_api_docs_pass_their_csp(page):
    page.goto("/api/docs")
    page.wait_for_selector(".swagger-ui .information-container", timeout=15_000)
    assert violations(page) == []


def test_the_collector_sees_a_violation(page):
    """Control: an inline script is refused and reported, so an empty list above means
    there was nothing to report."""
    page.goto("/")
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.x = 1';"
        " document.body.appendChild(s); }"
    )
    page.wait_for_function("window.__csp.length > 0")
    assert page.evaluate("window.x") is None
    assert any("script-src" in v for v in violations(page))
