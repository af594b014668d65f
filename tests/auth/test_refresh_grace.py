"""A refresh whose answer was lost: the same token presented again within the grace
window (OUTREACH_REFRESH_GRACE_SECONDS) while its successor is unused gets a new pair of
the same family; any other reuse ends the family, as before."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from outreach.audit.models import AuditEvent
from outreach.auth.models import TokenRecord
from outreach.core.extensions import db


def _refresh(client, token: str):
    return client.post("/api/v1/auth/refresh", headers={"Authorization": f"Bearer {token}"})


def _me(client, access: str) -> int:
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {access}"}).status_code


def test_lost_answer_retried_in_the_window_keeps_the_session(app, client, login):
    worker = login("worker")
    lost = _refresh(client, worker.refresh_token)
    assert lost.status_code == 200  # the phone never hears this answer
    retry = _refresh(client, worker.refresh_token)
    assert retry.status_code == 200, retry.get_json()
    pair = retry.get_json()
    assert _me(client, pair["access_token"]) == 200
    assert _refresh(client, pair["refresh_token"]).status_code == 200
    with app.app_context():
        actions = set(db.session.scalars(select(AuditEvent.action)))
        assert "auth.refresh_retried" in actions and "auth.refresh_reused" not in actions


def test_the_lost_successor_cannot_be_used_after_the_retry(app, client, login):
    worker = login("worker")
    lost = _refresh(client, worker.refresh_token).get_json()
    retry = _refresh(client, worker.refresh_token).get_json()
    # Someone else holding the answer the phone never got: reuse, the family ends.
    assert _refresh(client, lost["refresh_token"]).status_code == 401
    assert _refresh(client, retry["refresh_token"]).status_code == 401
    assert _me(client, retry["access_token"]) == 401


def test_reuse_after_the_successor_was_used_ends_the_family(client, login):
    worker = login("worker")
    first = _refresh(client, worker.refresh_token).get_json()
    second = _refresh(client, first["refresh_token"])
    assert second.status_code == 200
    assert _refresh(client, worker.refresh_token).status_code == 401
    assert _refresh(client, second.get_json()["refresh_token"]).status_code == 401


def test_reuse_after_the_window_ends_the_family(app, client, login):
    worker = login("worker")
    lost = _refresh(client, worker.refresh_token).get_json()
    window = app.config["REFRESH_GRACE_SECONDS"]
    with app.app_context():
        for record in db.session.scalars(
            select(TokenRecord).where(TokenRecord.spent_at.is_not(None))
        ):
            record.spent_at -= timedelta(seconds=window + 1)
        db.session.commit()
    assert _refresh(client, worker.refresh_token).status_code == 401
    assert _refresh(client, lost["refresh_token"]).status_code == 401


def test_no_window_when_set_to_zero(app, client, login, monkeypatch):
    monkeypatch.setitem(app.config, "REFRESH_GRACE_SECONDS", 0)
    worker = login("worker")
    assert _refresh(client, worker.refresh_token).status_code == 200
    assert _refresh(client, worker.refresh_token).status_code == 401
