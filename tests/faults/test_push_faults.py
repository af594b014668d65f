"""Nothing lost, nothing duplicated: a push whose response never arrives, a server killed in
the middle of a push, and (PostgreSQL) a database restart between pushes.

Each test counts afterwards: every record the phone sent exists exactly once, at version 1
(a replay that re-applied a mutation would bump it), with one ledger row per mutation.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from outreach.core.extensions import db
from outreach.people.models import Client
from outreach.records.models import SyncMutation
from tests.conftest import ApiClient, need
from tests.faults.conftest import client_mutations, push_body

pytestmark = pytest.mark.slow
PUSH = "/api/v1/sync/push"
OK_ON_RETRY = {"applied", "duplicate"}


def stored(app, mutations: list[dict]) -> dict:
    """What the server holds of these mutations: records, versions, ledger rows."""
    ids = [uuid.UUID(m["id"]) for m in mutations]
    mutation_ids = [uuid.UUID(m["mutation_id"]) for m in mutations]
    with app.app_context():
        db.session.remove()
        rows = db.session.execute(select(Client.id, Client.version).where(Client.id.in_(ids))).all()
        ledger = db.session.scalar(
            select(func.count())
            .select_from(SyncMutation)
            .where(SyncMutation.mutation_id.in_(mutation_ids))
        )
        db.session.remove()
    return {
        "records": len(rows),
        "distinct": len({r.id for r in rows}),
        "versions": {r.version for r in rows},
        "ledger": int(ledger or 0),
    }


def assert_exactly_once(app, mutations: list[dict]) -> None:
    n = len(mutations)
    assert stored(app, mutations) == {"records": n, "distinct": n, "versions": {1}, "ledger": n}


def wait_for(predicate, timeout: float = 60, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def test_lost_response_then_retry(app, world, gunicorn):
    """The server commits, the phone hangs up before reading; the retry changes nothing."""
    server = gunicorn(workers=1)
    phone = server.login(world.emails["worker"])
    mutations = client_mutations(120)
    body = push_body(phone["device_id"], mutations)

    server.send_and_hang_up(PUSH, body, phone["token"])
    # The push was committed although nobody read the answer.
    assert wait_for(lambda: stored(app, mutations)["records"] == len(mutations))

    status, answer = server.request("POST", PUSH, body, phone["token"])
    assert status == 200, answer
    results = answer["results"]
    assert [r["mutation_id"] for r in results] == [m["mutation_id"] for m in mutations]
    assert {r["status"] for r in results} == {"duplicate"}
    assert_exactly_once(app, mutations)
    # And once more through the normal path, for good measure.
    status, again = server.request("POST", PUSH, body, phone["token"])
    assert status == 200 and {r["status"] for r in again["results"]} == {"duplicate"}
    assert_exactly_once(app, mutations)


def _push_in_flight(app, database_url: str, timeout: float = 30) -> bool:
    """PostgreSQL: a gunicorn connection is inside a transaction (the push is mid-way)."""
    if not database_url.startswith("postgresql"):
        return True
    with app.app_context():
        busy = db.session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
            )
        )
        db.session.remove()
    return bool(busy)


@pytest.mark.parametrize("delay", [0.0, 0.15], ids=["at-once", "a-little-later"])
def test_server_killed_mid_push_then_restart_and_retry(app, world, database_url, gunicorn, delay):
    """SIGKILL the whole gunicorn while a 500-record push is in flight; after a restart
    the same push (same mutation ids) leaves every record exactly once."""
    server = gunicorn(workers=1)
    phone = server.login(world.emails["worker"])
    mutations = client_mutations(500, seed=1)
    body = push_body(phone["device_id"], mutations)

    server.send_and_hang_up(PUSH, body, phone["token"])
    wait_for(lambda: _push_in_flight(app, database_url), timeout=10, step=0.005)
    time.sleep(delay)
    server.kill()

    # One transaction per push: all or nothing, never half a batch.
    before = stored(app, mutations)
    assert before["records"] in (0, len(mutations)), before
    assert before["ledger"] == before["records"]

    server.start()
    status, answer = server.request("POST", PUSH, body, phone["token"])
    assert status == 200, answer
    statuses = {r["status"] for r in answer["results"]}
    assert statuses <= OK_ON_RETRY, statuses
    assert_exactly_once(app, mutations)


def _local_cluster(database_url: str) -> tuple[str, str] | None:
    """(version, name) of the pg_ctlcluster-managed cluster serving the test database."""
    if not shutil.which("pg_ctlcluster") or not shutil.which("pg_lsclusters"):
        return None
    url = make_url(database_url)
    if url.host not in ("127.0.0.1", "localhost", None):
        return None
    listing = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=False)
    for line in listing.stdout.splitlines():
        version, name, port, *_ = line.split()
        if int(port) == (url.port or 5432):
            return version, name
    return None


@pytest.mark.serial
def test_postgres_restart_between_pushes(app, client, world, database_url, pg_only):
    """The pool's pre-ping replaces connections killed by a database restart.

    Restarts the local cluster: run it on a machine of your own (CI), never while others
    use the same PostgreSQL server."""
    cluster = _local_cluster(database_url)
    need(cluster is not None, "needs the test PostgreSQL on this machine, run by pg_ctlcluster")
    phone = ApiClient(client, world.emails["worker"])
    first = client_mutations(50, seed=2)
    second = client_mutations(50, seed=3)
    r = phone.post(PUSH, json=push_body(str(phone.device_id), first))
    assert r.status_code == 200, r.get_json()

    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, "restart"],
        check=True,
        capture_output=True,
        timeout=120,
    )

    r = phone.post(PUSH, json=push_body(str(phone.device_id), second))
    assert r.status_code == 200, r.get_json()
    assert {x["status"] for x in r.get_json()["results"]} == {"applied"}
    # A retry of the first push after the restart is still a no-op.
    r = phone.post(PUSH, json=push_body(str(phone.device_id), first))
    assert {x["status"] for x in r.get_json()["results"]} == {"duplicate"}
    assert_exactly_once(app, first)
    assert_exactly_once(app, second)


def test_a_session_survives_a_killed_server(world, gunicorn):
    """The harness itself: a SIGKILLed gunicorn comes back on the same port and the phone's
    token still works (web workers hold no state of their own)."""
    server = gunicorn(workers=2)
    phone = server.login(world.emails["worker"])
    assert server.request("GET", "/api/v1/me", token=phone["token"])[0] == 200
    server.kill()
    server.start()
    status, me = server.request("GET", "/api/v1/me", token=phone["token"])
    assert status == 200 and me["device_id"] == phone["device_id"]
