"""Idle syncs (issue 21): a pull at the team's mark and a push of nothing are answered by
the fast path (outreach/sync/idle.py) exactly as the full path answers them, and
everything else still reaches the full path with its proper answer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from outreach.access.models import Device, User
from outreach.core.extensions import db
from outreach.core.types import utcnow
from outreach.records.sequence import current_seq
from outreach.sync import idle, service
from tests.sync.helpers import client_data, mutation, pull, pull_all, push


@pytest.fixture
def full_path(monkeypatch) -> list[str]:
    """The names of the full-path services called ("pull", "push"), in order."""
    calls: list[str] = []
    for name in ("pull", "push"):
        original = getattr(service, name)

        def counted(*args, _name=name, _original=original, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(service, name, counted)
    return calls


def at_mark(api) -> str:
    push(api, [mutation("client", client_data())])
    _changes, cursor = pull_all(api)
    return cursor


def last_sync(app, api):
    with app.app_context():
        return db.session.scalar(select(Device.last_sync_at).where(Device.id == api.device_id))


def mark_cursor(app, api) -> str:
    """The cursor of the worker's team's current mark."""
    with app.app_context():
        mark = current_seq(api.user["team"]["id"])
    return f"{mark}.t{api.user['team']['id']}"


def set_device(app, api, **values) -> None:
    with app.app_context():
        db.session.execute(update(Device).where(Device.id == api.device_id).values(**values))
        db.session.commit()


def test_idle_pull_answers_as_the_full_path_does(app, worker, monkeypatch):
    cursor = at_mark(worker)
    monkeypatch.setitem(app.config, "SYNC_IDLE_FAST_PATH", False)
    full = worker.get("/api/v1/sync/pull", query_string={"cursor": cursor, "limit": 500})
    monkeypatch.setitem(app.config, "SYNC_IDLE_FAST_PATH", True)
    fast = worker.get("/api/v1/sync/pull", query_string={"cursor": cursor, "limit": 500})
    assert fast.status_code == full.status_code == 200
    assert (
        fast.get_json() == full.get_json() == {"changes": [], "cursor": cursor, "has_more": False}
    )
    assert fast.headers["Cache-Control"] == "no-store"
    assert fast.mimetype == "application/json"


def test_idle_pull_and_empty_push_skip_the_full_path(app, worker, full_path):
    push(worker, [mutation("client", client_data())])
    assert full_path == ["push"]
    assert pull(worker, mark_cursor(app, worker))["changes"] == []
    assert push(worker, []) == {"results": []}
    assert full_path == ["push"]


def test_idle_sync_keeps_last_sync_as_the_full_path(app, worker, full_path):
    stale = utcnow() - timedelta(minutes=6)  # both past their resolutions (1 and 5 min)
    set_device(app, worker, last_sync_at=stale, last_seen_at=stale)
    pull(worker, mark_cursor(app, worker))
    first = last_sync(app, worker)
    assert first > stale  # stale: written, as the full path writes it
    with app.app_context():
        seen = db.session.scalar(select(Device.last_seen_at).where(Device.id == worker.device_id))
    assert seen > stale
    assert push(worker, []) == {"results": []}
    assert last_sync(app, worker) == first  # written under a minute ago: left alone
    assert full_path == []


def test_a_pull_below_the_mark_still_brings_the_changes(worker, worker2):
    cursor = at_mark(worker)
    record = mutation("client", client_data(initials="ZZ"))
    push(worker2, [record])
    page = pull(worker, cursor)
    assert [c["id"] for c in page["changes"]] == [record["id"]]
    assert pull(worker, page["cursor"])["changes"] == []


def test_a_revoked_device_hears_it_on_an_idle_sync(app, worker):
    cursor = at_mark(worker)
    assert pull(worker, cursor)["changes"] == []  # its token is remembered
    set_device(app, worker, revoked_at=utcnow())
    r = worker.get("/api/v1/sync/pull", query_string={"cursor": cursor})
    assert r.status_code == 401 and r.get_json()["code"] == "device_revoked"
    r = worker.post("/api/v1/sync/push", json={"schema_version": 1, "mutations": []})
    assert r.status_code == 401 and r.get_json()["code"] == "device_revoked"


def test_a_signed_out_device_or_disabled_user_is_refused(app, worker):
    cursor = at_mark(worker)
    set_device(app, worker, token_family=None)
    r = worker.get("/api/v1/sync/pull", query_string={"cursor": cursor})
    assert r.status_code == 401
    r = worker.post("/api/v1/sync/push", json={"schema_version": 1, "mutations": []})
    assert r.status_code == 401


def test_a_disabled_user_is_refused(app, worker):
    cursor = at_mark(worker)
    with app.app_context():
        db.session.execute(update(User).where(User.id == worker.user["id"]).values(active=False))
        db.session.commit()
    assert worker.get("/api/v1/sync/pull", query_string={"cursor": cursor}).status_code == 401


def test_a_cursor_of_another_team_or_ahead_of_the_mark(worker, login):
    cursor = at_mark(worker)
    seq = int(cursor.split(".")[0])
    dorset = login("dorset")
    other_team = f"{seq}.t{dorset.user['team']['id']}"
    r = worker.get("/api/v1/sync/pull", query_string={"cursor": other_team})
    assert r.status_code == 422 and "cursor" in r.get_json()["errors"]
    # Ahead of the mark (a restored database): the full path restarts the scope.
    ahead = f"{seq + 100}.t{worker.user['team']['id']}"
    restarted = pull(worker, ahead)
    assert len(restarted["changes"]) == 1


def test_odd_requests_get_the_full_paths_answers(worker):
    cursor = at_mark(worker)
    assert (
        worker.get("/api/v1/sync/pull", query_string={"cursor": cursor, "limit": 0}).status_code
        == 422
    )
    assert (
        worker.get("/api/v1/sync/pull", query_string={"cursor": cursor, "limit": "x"}).status_code
        == 422
    )
    assert worker.get("/api/v1/sync/pull", query_string={"cursor": "x"}).status_code == 422
    assert push(worker, [], schema_version=0, status=422)
    r = worker.post("/api/v1/sync/push", json={"schema_version": 1})
    assert r.status_code == 422
    r = worker.post("/api/v1/sync/push", json={"schema_version": True, "mutations": []})
    assert r.status_code == 422


def test_an_expired_or_forged_token_is_refused(client, worker):
    cursor = at_mark(worker)
    forged = worker.access_token[:-4] + (
        "AAAA" if not worker.access_token.endswith("AAAA") else "BBBB"
    )
    r = client.get(
        "/api/v1/sync/pull",
        query_string={"cursor": cursor},
        headers={"Authorization": f"Bearer {forged}"},
    )
    assert r.status_code == 401
    r = client.get("/api/v1/sync/pull", query_string={"cursor": cursor})
    assert r.status_code == 401


def test_a_token_past_its_expiry_is_refused_even_once_verified(app, worker, monkeypatch, full_path):
    cursor = mark_cursor(app, worker)
    assert pull(worker, cursor)["changes"] == []  # verified and remembered
    assert full_path == []
    monkeypatch.setattr(idle, "_clock", lambda: 10**12)  # long after every token's exp
    pull(worker, cursor)
    assert full_path == ["pull"]  # not served from memory: the full path checks it again


def test_a_role_that_may_not_sync_is_refused(login):
    commissioner = login("commissioner")
    r = commissioner.get("/api/v1/sync/pull", query_string={"cursor": "0.t1"})
    assert r.status_code == 403
    r = commissioner.post("/api/v1/sync/push", json={"schema_version": 1, "mutations": []})
    assert r.status_code == 403


@pytest.mark.usefixtures("pg_only")
def test_a_lost_database_connection_falls_back_to_the_full_path(app, worker, full_path):
    cursor = at_mark(worker)
    full_path.clear()
    assert pull(worker, cursor)["changes"] == []  # the idle path's connection is open
    assert full_path == []
    with app.app_context():  # a database restart, as far as those connections know
        db.session.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        db.session.commit()
    assert pull(worker, cursor)["changes"] == []  # answered all the same
    assert full_path == ["pull"]
    assert pull(worker, cursor)["changes"] == []  # and the idle path is back
    assert full_path == ["pull"]


def test_an_ended_session_hears_it_on_an_idle_sync(app, worker):
    cursor = at_mark(worker)
    assert pull(worker, cursor)["changes"] == []
    with app.app_context():  # the epoch alone (a reset also clears the token family)
        db.session.execute(
            update(User)
            .where(User.id == worker.user["id"])
            .values(session_epoch=User.session_epoch + 1)
        )
        db.session.commit()
    r = worker.get("/api/v1/sync/pull", query_string={"cursor": cursor})
    assert r.status_code == 401 and r.get_json()["code"] == "session_ended"
    r = worker.post("/api/v1/sync/push", json={"schema_version": 1, "mutations": []})
    assert r.status_code == 401 and r.get_json()["code"] == "session_ended"
