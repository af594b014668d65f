"""Sign-in, refresh rotation, reuse revocation, logout, device revocation, throttling."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from outreach.access.models import Device
from outreach.audit.models import AuditEvent
from outreach.core.extensions import db
from tests.conftest import ApiClient


def refresh(client, token):
    return client.post("/api/v1/auth/refresh", headers={"Authorization": f"Bearer {token}"})


def test_login_returns_tokens_and_profile(client, world):
    device = uuid.uuid4()
    r = client.post(
        "/api/v1/auth/login",
        json={
            "email": "Worker@Example.test",
            "password": "correct-horse-battery",
            "device_id": str(device),
            "device_label": "Pixel 4a",
        },
    )
    assert r.status_code == 200
    body = r.get_json()
    assert body["access_token"] and body["refresh_token"]
    assert body["user"]["role"] == "worker"
    assert body["user"]["team"]["name"] == "Durham Street Outreach"
    assert r.headers["Cache-Control"] == "no-store"


def test_wrong_password_and_unknown_email_look_the_same(client, world):
    device = str(uuid.uuid4())
    wrong = client.post(
        "/api/v1/auth/login",
        json={"email": "worker@example.test", "password": "nope-nope-nope", "device_id": device},
    )
    unknown = client.post(
        "/api/v1/auth/login",
        json={"email": "nobody@example.test", "password": "nope-nope-nope", "device_id": device},
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert wrong.get_json()["code"] == 401


def test_login_validation_errors_use_the_envelope(client, world):
    r = client.post("/api/v1/auth/login", json={"email": "x", "device_id": "not-a-uuid"})
    assert r.status_code == 422
    body = r.get_json()
    assert body["code"] == 422 and body["status"] == "Unprocessable Entity"
    assert set(body["errors"]) >= {"password", "device_id"}


def test_me_returns_profile_and_codes(login):
    worker = login("worker")
    r = worker.get("/api/v1/me")
    assert r.status_code == 200
    me = r.get_json()
    assert me["role"] == "worker" and me["areas"][0]["code"] == "durham"
    codes = {t["code"] for t in me["codes"]["intervention_types"]}
    assert "naloxone_supplied" in codes and "treatment_entry_confirmed" in codes


def test_refresh_rotates_and_reuse_revokes_the_family(client, login):
    worker = login("worker")
    first = worker.refresh_token
    r1 = refresh(client, first)
    assert r1.status_code == 200
    second = r1.get_json()["refresh_token"]
    r2 = refresh(client, second)
    assert r2.status_code == 200
    third_pair = r2.get_json()
    # Presenting the first (spent) token again ends the whole family.
    reuse = refresh(client, first)
    assert reuse.status_code == 401
    assert refresh(client, third_pair["refresh_token"]).status_code == 401
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {third_pair['access_token']}"})
    assert me.status_code == 401


def test_access_token_cannot_refresh_and_refresh_token_cannot_call_api(client, login):
    worker = login("worker")
    assert refresh(client, worker.access_token).status_code == 401
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {worker.refresh_token}"})
    assert r.status_code == 401
    assert r.get_json()["code"] == 401


def test_logout_revokes_tokens(client, login):
    worker = login("worker")
    assert worker.post("/api/v1/auth/logout").status_code == 204
    assert worker.get("/api/v1/me").status_code == 401
    assert refresh(client, worker.refresh_token).status_code == 401


def test_revoked_device_gets_device_revoked(app, client, login):
    worker = login("worker")
    admin = login("admin")
    r = admin.post(f"/api/v1/admin/devices/{worker.device_id}/revoke")
    assert r.status_code == 200 and r.get_json()["revoked_at"]
    me = worker.get("/api/v1/me")
    assert me.status_code == 401 and me.get_json()["code"] == "device_revoked"
    ref = refresh(client, worker.refresh_token)
    assert ref.status_code == 401 and ref.get_json()["code"] == "device_revoked"
    again = client.post(
        "/api/v1/auth/login",
        json={
            "email": worker.email,
            "password": "correct-horse-battery",
            "device_id": str(worker.device_id),
        },
    )
    assert again.status_code == 401 and again.get_json()["code"] == "device_revoked"
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "device.revoke")
            )
            == 1
        )


def test_only_admin_revokes_devices(login):
    worker = login("worker")
    r = worker.post(f"/api/v1/admin/devices/{worker.device_id}/revoke")
    assert r.status_code == 403
    assert login("admin").post(f"/api/v1/admin/devices/{uuid.uuid4()}/revoke").status_code == 404


def test_another_users_device_id_gets_a_new_device_and_leaves_the_owners_session(
    app, client, world
):
    device = uuid.uuid4()
    owner = ApiClient(client, world.emails["admin"], device_id=device)
    assert owner.device_id == device
    other = ApiClient(client, world.emails["worker"], device_id=device)
    assert other.device_id != device  # the login answer names the new device
    assert owner.get("/api/v1/me").status_code == 200
    assert other.get("/api/v1/me").status_code == 200
    refreshed = client.post(
        "/api/v1/auth/refresh", headers={"Authorization": f"Bearer {owner.refresh_token}"}
    )
    assert refreshed.status_code == 200
    with app.app_context():
        assert db.session.get(Device, device).user_id == world.user_ids["admin"]
        assert db.session.get(Device, other.device_id).user_id == world.user_ids["worker"]
        taken = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "auth.device_id_taken")
        )
        assert taken is not None and taken.actor_id == world.user_ids["worker"]


def test_same_user_signing_in_again_keeps_the_device_and_ends_its_old_session(client, world):
    device = uuid.uuid4()
    first = ApiClient(client, world.emails["worker"], device_id=device)
    second = ApiClient(client, world.emails["worker"], device_id=device)
    assert second.device_id == device
    assert first.get("/api/v1/me").status_code == 401
    assert second.get("/api/v1/me").status_code == 200


def test_login_throttled_per_address(app, client, world):
    limit = int(app.config["LOGIN_LIMIT_PER_ADDRESS"].split("/")[0])
    for i in range(limit):
        client.post(
            "/api/v1/auth/login",
            json={
                "email": f"nobody{i}@example.test",
                "password": "wrong-password!",
                "device_id": str(uuid.uuid4()),
            },
        )
    r = client.post(
        "/api/v1/auth/login",
        json={
            "email": "worker@example.test",
            "password": "correct-horse-battery",
            "device_id": str(uuid.uuid4()),
        },
    )
    assert r.status_code == 429


def test_successful_logins_are_not_throttled(client, world):
    for _ in range(15):
        assert ApiClient(client, world.emails["worker"]).access_token


def test_deactivated_user_cannot_sign_in_or_use_tokens(client, login):
    worker = login("worker")
    admin = login("admin")
    r = admin.patch(f"/api/v1/admin/users/{worker.user['id']}", json={"active": False})
    assert r.status_code == 200
    assert worker.get("/api/v1/me").status_code == 401
    assert refresh(client, worker.refresh_token).status_code == 401
    again = client.post(
        "/api/v1/auth/login",
        json={
            "email": worker.email,
            "password": "correct-horse-battery",
            "device_id": str(uuid.uuid4()),
        },
    )
    assert again.status_code == 401 and again.get_json()["code"] == 401
