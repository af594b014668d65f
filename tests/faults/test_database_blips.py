"""A database that fails for a moment in the middle of a push (its connection killed, a
deadlock, a locked SQLite file): the push answers 503 with Retry-After in the error
envelope, nothing of it is kept, and the phone's retry stores every record exactly once."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

import outreach.sync.push as push_module
from outreach.core.extensions import db
from tests.conftest import ApiClient
from tests.faults.conftest import client_mutations, push_body
from tests.faults.test_push_faults import PUSH, assert_exactly_once, stored

NOTHING = {"records": 0, "distinct": 0, "versions": set(), "ledger": 0}


def _push_failing_midway(monkeypatch, fail) -> None:
    """Run `fail()` inside the push, after the records are planned and before they are
    written (the team's lock, the device's last sync and the ledger read already done)."""
    real_write = push_module.write_plan

    def write_after_failure(plan):
        fail()
        real_write(plan)

    monkeypatch.setattr(push_module, "write_plan", write_after_failure)


def _assert_busy_then_retry_works(app, phone, mutations, monkeypatch):
    r = phone.post(PUSH, json=push_body(str(phone.device_id), mutations))
    assert r.status_code == 503, r.get_data(as_text=True)[:300]
    assert r.headers["Retry-After"].isdigit()
    body = r.get_json()
    assert body["code"] == 503 and "try again" in body["message"]
    assert stored(app, mutations) == NOTHING
    monkeypatch.undo()
    r = phone.post(PUSH, json=push_body(str(phone.device_id), mutations))
    assert r.status_code == 200, r.get_json()
    assert {x["status"] for x in r.get_json()["results"]} == {"applied"}
    assert_exactly_once(app, mutations)


def test_connection_killed_in_the_middle_of_a_push(
    app, client, world, database_url, pg_only, monkeypatch
):
    """PostgreSQL ends the push's connection (pg_terminate_backend, as a failover or an
    operator would) between its first statements and its writes."""
    phone = ApiClient(client, world.emails["worker"])
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")

    def kill_own_connection():
        pid = db.session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    _push_failing_midway(monkeypatch, kill_own_connection)
    try:
        _assert_busy_then_retry_works(app, phone, client_mutations(20, seed=11), monkeypatch)
    finally:
        admin.dispose()


@pytest.mark.parametrize(
    "cause",
    [
        psycopg.errors.DeadlockDetected("deadlock detected"),
        psycopg.errors.SerializationFailure("could not serialize access"),
        sqlite3.OperationalError("database is locked"),
        psycopg.OperationalError("connection failed: Connection refused"),
    ],
    ids=["deadlock", "serialization", "sqlite-locked", "pg-connection-refused"],
)
def test_a_transient_database_failure_is_a_503(app, client, world, monkeypatch, cause):
    phone = ApiClient(client, world.emails["worker"])

    def fail():
        raise OperationalError("INSERT ...", {}, cause)

    _push_failing_midway(monkeypatch, fail)
    _assert_busy_then_retry_works(app, phone, client_mutations(5, seed=12), monkeypatch)


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("SELECT ...", {}, sqlite3.OperationalError("no such table: client")),
        OperationalError("INSERT ...", {}, psycopg.errors.DiskFull("could not extend file")),
        OperationalError("COMMIT", {}, psycopg.errors.StatementCompletionUnknown("unknown")),
    ],
    ids=["sqlite-no-table", "pg-disk-full", "pg-commit-outcome-unknown"],
)
def test_a_database_error_that_needs_a_person_stays_a_500(app, error):
    """A missing table or a full disk is not a busy moment: retrying cannot help."""
    with app.test_request_context(PUSH, method="POST"):
        response = app.handle_user_exception(error)
    assert response.status_code == 500
    assert "Retry-After" not in response.headers


def test_a_rollback_that_fails_too_still_answers_503(app, monkeypatch):
    """A connection that died in the middle of a COPY may refuse even the rollback."""

    def dead(*args, **kwargs):
        raise OperationalError("ROLLBACK", {}, psycopg.OperationalError("the connection is lost"))

    error = OperationalError("COPY ...", {}, psycopg.errors.AdminShutdown("terminating"))
    with app.test_request_context(PUSH, method="POST"):
        monkeypatch.setattr(db.session, "rollback", dead)
        response = app.handle_user_exception(error)
    assert response.status_code == 503
    assert response.get_json()["code"] == 503
