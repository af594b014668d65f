"""Shared fixtures: the app on SQLite or PostgreSQL, a clean database per test,
a small organisation, and signed-in API clients for each role."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from outreach import create_app
from outreach.core.extensions import db, limiter
from outreach.records.models import SYNC_SEQ
from tests.factories import World, build_world

PG_URL = os.environ.get("OUTREACH_TEST_DATABASE_URL")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def need(condition: bool, reason: str) -> None:
    """Skip when a dependency is missing; in CI, fail instead (CI must never pass by skipping)."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


BROWSER_RETRIES = int(os.environ.get("OUTREACH_BROWSER_RETRIES", "1"))


def pytest_collection_modifyitems(config, items) -> None:
    """A browser test that fails runs once more, as Playwright Test retries on CI: a real
    browser on a shared 2-core machine has timing no test can fully pin down. The rerun is
    reported ("R", "N rerun"); API and model tests never get one."""
    if not BROWSER_RETRIES or not config.pluginmanager.hasplugin("rerunfailures"):
        return
    for item in items:
        if item.get_closest_marker("browser") and not item.get_closest_marker("flaky"):
            item.add_marker(pytest.mark.flaky(reruns=BROWSER_RETRIES))


_RERUNS: list = []


def pytest_runtest_logreport(report) -> None:
    if report.outcome == "rerun":
        _RERUNS.append(report)


def pytest_terminal_summary(terminalreporter) -> None:
    """Why each rerun test failed the first time: a rerun is a bug to chase, so say what."""
    for report in _RERUNS:
        terminalreporter.write_sep("-", f"first failure of rerun {report.nodeid}")
        errors = [line for line in report.longreprtext.splitlines() if line.startswith("E ")]
        terminalreporter.write_line("\n".join(errors[:25]))


def _worker_database_url(tmp_path_factory, worker_id: str) -> str:
    if not PG_URL:
        return f"sqlite:///{tmp_path_factory.getbasetemp() / f'outreach-{worker_id}.db'}"
    url = make_url(PG_URL)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    if worker_id == "master":
        return url.render_as_string(hide_password=False)
    # One database per xdist worker.
    name = f"{url.database}_{worker_id}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def worker_id(request) -> str:
    return getattr(request.config, "workerinput", {}).get("workerid", "master")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory, worker_id) -> str:
    return _worker_database_url(tmp_path_factory, worker_id)


TEST_CONFIG = {
    "TESTING": True,
    "PASSWORD_HASH_FAST": True,
    "SECRET_KEY": "test-secret-key-that-is-long-enough-000",
    "JWT_SECRET_KEY": "test-jwt-secret-that-is-long-enough-000",
    "MATCH_KEY_SECRET": "test-match-secret-that-is-long-enough-0",
}


@pytest.fixture(scope="session")
def app(database_url):
    application = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url})
    with application.app_context():
        db.drop_all()
        db.create_all()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def _wipe(application) -> None:
    with application.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                quoted = ", ".join(f'"{t}"' for t in tables)
                conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
                conn.execute(text(f"ALTER SEQUENCE {SYNC_SEQ.name} RESTART"))
            else:
                for table in tables:
                    conn.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture(autouse=True)
def clean_db(request, app):
    """Every test starts from empty tables and a fresh rate limiter."""
    yield
    _wipe(app)
    limiter.reset()


@pytest.fixture(autouse=True)
def config_left_as_found(app):
    """The app lives for the whole session: a test changes its config only through
    monkeypatch.setitem (undone before this check runs), never by hand."""
    before = dict(app.config)
    yield
    missing = object()
    changed = sorted(
        key
        for key in before.keys() | app.config.keys()
        if before.get(key, missing) != app.config.get(key, missing)
    )
    assert not changed, f"app.config changed and not restored: {changed}"


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def world(app) -> World:
    """Two areas, three teams, one user of each role (see tests/factories.py)."""
    with app.app_context():
        return build_world()


class ApiClient:
    """A signed-in device: the test client plus its tokens."""

    def __init__(
        self,
        client,
        email: str,
        password: str = "correct-horse-battery",
        device_id: uuid.UUID | None = None,
    ):
        self.client = client
        self.email = email
        self.device_id = device_id or uuid.uuid4()
        response = client.post(
            "/api/v1/auth/login",
            json={
                "email": email,
                "password": password,
                "device_id": str(self.device_id),
            },
        )
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        self.access_token = body["access_token"]
        self.refresh_token = body["refresh_token"]
        self.user = body["user"]
        self.device_id = uuid.UUID(body["device_id"])  # a new one if it was another's

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.access_token}"}

    def get(self, path, **kw):
        return self.client.get(path, headers=self.headers, **kw)

    def post(self, path, **kw):
        return self.client.post(path, headers=self.headers, **kw)

    def patch(self, path, **kw):
        return self.client.patch(path, headers=self.headers, **kw)

    def delete(self, path, **kw):
        return self.client.delete(path, headers=self.headers, **kw)


@pytest.fixture
def login(client, world):
    """login("worker") -> ApiClient signed in as that world user on a new device."""

    def _login(who: str, device_id: uuid.UUID | None = None) -> ApiClient:
        return ApiClient(client, world.emails[who], device_id=device_id)

    return _login


def point_smtp_at(app, monkeypatch, port: int) -> None:
    """Send the app's email to 127.0.0.1:`port` (plain SMTP, no login) for this test only."""
    for key, value in {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": port,
        "SMTP_STARTTLS": False,
        "SMTP_USER": None,
    }.items():
        monkeypatch.setitem(app.config, key, value)


@pytest.fixture(scope="session")
def pg_only(database_url):
    """PostgreSQL-only tests skip on the SQLite pass; CI's second pass (with
    OUTREACH_TEST_DATABASE_URL) runs them, and there a missing server fails."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: set OUTREACH_TEST_DATABASE_URL (CI's second pass does)")


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium per session, shared by every browser test (Playwright's
    sync API allows one running instance per thread)."""
    need(os.path.exists(CHROMIUM), "needs Debian chromium at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()
