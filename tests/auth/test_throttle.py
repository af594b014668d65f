"""The sign-in throttle: per account and address with exponential back-off, a global
per-address limit, real addresses behind a trusted proxy only, every failure counted
(malformed and invalid bodies too) and audited with its address and reason."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from outreach.audit.models import AuditEvent
from outreach.auth.models import LoginThrottle
from outreach.core.extensions import db

RIGHT = "correct-horse-battery"


def _login(client, email, password, address=None, forwarded=None, **kw):
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return client.post(
        "/api/v1/auth/login",
        json={"email": email, "password": password, "device_id": str(uuid.uuid4())},
        headers=headers,
        environ_base={"REMOTE_ADDR": address or "127.0.0.1"},
        **kw,
    )


def test_hammering_from_one_address_never_locks_the_owner_out(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "PROXY_COUNT", 1)
    email = world.emails["worker"]
    statuses = [
        _login(client, email, "wrong-password!", forwarded="203.0.113.9").status_code
        for _ in range(10)
    ]
    free = app.config["LOGIN_BACKOFF_AFTER"]
    assert statuses[:free] == [401] * free
    assert set(statuses[free:]) == {429}
    blocked = _login(client, email, RIGHT, forwarded="203.0.113.9")
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    # The owner, from another place, signs in at once.
    assert _login(client, email, RIGHT, forwarded="198.51.100.7").status_code == 200
    with app.app_context():
        failures = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "auth.login_failed")
        ).all()
        assert len(failures) == free
        assert {e.address for e in failures} == {"203.0.113.9"}
        assert {e.detail["reason"] for e in failures} == {"wrong_password"}
        assert all(e.actor_id == world.user_ids["worker"] for e in failures)
        throttled = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "auth.login_throttled")
        )
        assert throttled is not None and throttled.address == "203.0.113.9"
        # The throttle holds digests only: no email, no address.
        keys = " ".join(db.session.scalars(select(LoginThrottle.key)))
        assert "203.0.113.9" not in keys and "example" not in keys


def test_back_off_doubles_with_each_further_failure(app, client, world):
    email = world.emails["worker"]
    free = app.config["LOGIN_BACKOFF_AFTER"]
    base = app.config["LOGIN_BACKOFF_BASE_SECONDS"]
    waits = []
    for _ in range(free + 3):
        assert _login(client, email, "wrong-password!").status_code == 401
        with app.app_context():
            row = db.session.scalars(select(LoginThrottle)).one()
            if row.blocked_until is not None:
                waits.append(round((row.blocked_until - row.last_failure_at).total_seconds()))
                blocked = _login(client, email, RIGHT)
                assert blocked.status_code == 429
                assert int(blocked.headers["Retry-After"]) > 0
                row.blocked_until = row.last_failure_at  # the wait is over
                db.session.commit()
    assert waits[:3] == [base, 2 * base, 4 * base]
    assert _login(client, email, RIGHT).status_code == 200
    with app.app_context():
        assert db.session.scalars(select(LoginThrottle)).all() == []  # cleared


def test_forwarded_headers_are_ignored_without_a_trusted_proxy(app, client, world):
    email = world.emails["worker"]
    free = app.config["LOGIN_BACKOFF_AFTER"]
    for i in range(free):
        assert _login(client, email, "nope-nope!", forwarded=f"192.0.2.{i}").status_code == 401
    # A new forwarded address does not make a new client: the same pair, backing off.
    assert _login(client, email, RIGHT, forwarded="192.0.2.200").status_code == 429
    with app.app_context():
        addresses = set(
            db.session.scalars(
                select(AuditEvent.address).where(AuditEvent.action == "auth.login_failed")
            )
        )
        assert addresses == {"127.0.0.1"}


def test_one_address_is_limited_across_accounts(app, client, world):
    limit = int(app.config["LOGIN_LIMIT_PER_ADDRESS"].split("/")[0])
    for i in range(limit):
        _login(client, f"nobody{i}@example.test", "wrong-password!", address="10.9.9.9")
    assert _login(client, world.emails["worker"], RIGHT, address="10.9.9.9").status_code == 429
    assert _login(client, world.emails["worker"], RIGHT, address="10.9.9.8").status_code == 200
    with app.app_context():
        limited = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "auth.login_address_limited")
        )
        assert limited is not None and limited.address == "10.9.9.9"


def test_invalid_and_malformed_bodies_count_as_failures(app, client, world):
    limit = int(app.config["LOGIN_LIMIT_PER_ADDRESS"].split("/")[0])
    bodies = [
        {"json": {"email": world.emails["worker"]}},  # no password: 422
        {"data": b"{not json", "content_type": "application/json"},  # 400
    ]
    for i in range(limit):
        r = client.post(
            "/api/v1/auth/login", environ_base={"REMOTE_ADDR": "10.8.8.8"}, **bodies[i % 2]
        )
        assert r.status_code in (400, 422)
    assert _login(client, world.emails["worker"], RIGHT, address="10.8.8.8").status_code == 429
    with app.app_context():
        reasons = {
            e.detail["reason"]
            for e in db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == "auth.login_failed")
            )
        }
        assert reasons == {"invalid_request_400", "invalid_request_422"}


def test_unknown_and_disabled_accounts_are_audited_with_their_reason(app, client, world, login):
    login("admin").patch(f"/api/v1/admin/users/{world.user_ids['worker2']}", json={"active": False})
    assert _login(client, "nobody@example.test", RIGHT).status_code == 401
    assert _login(client, world.emails["worker2"], RIGHT).status_code == 401
    with app.app_context():
        reasons = sorted(
            e.detail["reason"]
            for e in db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == "auth.login_failed")
            )
        )
        assert reasons == ["inactive", "unknown_account"]


def test_quiet_pairs_are_forgotten_by_the_daily_job(app, client, world):
    from outreach.jobs.scheduler import retain

    _login(client, world.emails["worker"], "wrong-password!")
    with app.app_context():
        for row in db.session.scalars(select(LoginThrottle)):
            row.last_failure_at -= timedelta(days=2)
        db.session.commit()
        retain()
        assert db.session.scalars(select(LoginThrottle)).all() == []
