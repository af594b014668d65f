"""A password reset, deactivation, or a change of role or team ends every session of
the user at once: access tokens stop on their next request, refresh tokens are refused,
and the ending is audited. Other changes (a name) leave sessions alone."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from outreach.audit.models import AuditEvent
from outreach.core.extensions import db


def _refresh(client, api):
    return client.post(
        "/api/v1/auth/refresh", headers={"Authorization": f"Bearer {api.refresh_token}"}
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"password": "a-new-long-pass-phrase-7"}, "password_reset"),
        ({"active": False}, "deactivated"),
        ({"role": "team_lead"}, "role_change"),
        ("custody", "team_change"),
    ],
)
def test_account_change_ends_every_session_at_once(app, client, world, login, change, reason):
    if change == "custody":
        change = {"team_id": world.team_ids["custody"]}
    phone, tablet = login("worker"), login("worker")
    assert phone.get("/api/v1/me").status_code == 200
    admin = login("admin")
    r = admin.patch(f"/api/v1/admin/users/{world.user_ids['worker']}", json=change)
    assert r.status_code == 200, r.get_json()
    for device in (phone, tablet):
        me = device.get("/api/v1/me")
        assert me.status_code == 401
        refused = _refresh(client, device)
        assert refused.status_code == 401
        assert "access_token" not in refused.get_data(as_text=True)
    if reason != "deactivated":
        assert me.get_json()["code"] == "session_ended"
        assert refused.get_json()["code"] == "session_ended"
    with app.app_context():
        ended = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "user.sessions_ended")
        )
        assert ended is not None and ended.actor_id == world.user_ids["admin"]
        assert ended.detail["reasons"] == [reason]
    assert admin.get("/api/v1/me").status_code == 200


def test_new_sign_in_after_a_reset_works(client, world, login):
    old = login("worker")
    admin = login("admin")
    new_password = "a-new-long-pass-phrase-7"
    admin.patch(f"/api/v1/admin/users/{world.user_ids['worker']}", json={"password": new_password})
    r = client.post(
        "/api/v1/auth/login",
        json={
            "email": world.emails["worker"],
            "password": new_password,
            "device_id": str(old.device_id),
        },
    )
    assert r.status_code == 200
    token = r.get_json()["access_token"]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_renaming_a_user_keeps_their_sessions(client, world, login):
    worker = login("worker")
    login("admin").patch(f"/api/v1/admin/users/{world.user_ids['worker']}", json={"name": "W"})
    assert worker.get("/api/v1/me").status_code == 200
    assert _refresh(client, worker).status_code == 200
