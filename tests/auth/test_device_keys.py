"""The phone's app lock on the server: each device's secrets (issued at sign-in, wrapped in
the database, rotated on every sign-in, destroyed on revocation), the lease renewal, wrong
PINs audited and shown to the team lead, and a sign-in refused while another worker's
records wait on the phone."""

from __future__ import annotations

import base64
import uuid

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import select, text

from outreach.audit.models import AuditEvent
from outreach.auth import device_keys
from outreach.auth.models import DeviceKey
from outreach.core.extensions import db

PASSWORD = "correct-horse-battery"


def sign_in(client, email, device, **extra):
    return client.post(
        "/api/v1/auth/login",
        json={"email": email, "password": PASSWORD, "device_id": str(device), **extra},
    )


def key_of(response) -> dict:
    assert response.status_code == 200, response.get_json()
    return response.get_json()["device_key"]


def bearer(response) -> dict:
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def test_sign_in_issues_the_device_secrets_and_the_lock_settings(client, world):
    key = key_of(sign_in(client, world.emails["worker"], uuid.uuid4()))
    assert len(base64.b64decode(key["unlock_secret"])) == 32
    assert len(base64.b64decode(key["recovery_key"])) == 32
    assert key["unlock_secret"] != key["recovery_key"]
    assert key["generation"] == 1 and key["previous_recovery_key"] is None
    assert (key["offline_unlock_hours"], key["lock_minutes"], key["pin_attempts"]) == (12, 5, 5)


def test_lock_settings_come_from_the_configuration(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "OFFLINE_UNLOCK_HOURS", 3)
    monkeypatch.setitem(app.config, "AUTO_LOCK_MINUTES", 2)
    key = key_of(sign_in(client, world.emails["worker"], uuid.uuid4()))
    assert (key["offline_unlock_hours"], key["lock_minutes"]) == (3, 2)


def test_a_database_dump_holds_neither_secret(app, client, world):
    device = uuid.uuid4()
    key = key_of(sign_in(client, world.emails["worker"], device))
    secrets = [base64.b64decode(key["unlock_secret"]), base64.b64decode(key["recovery_key"])]
    with app.app_context():
        row = db.session.execute(
            text("SELECT * FROM device_key WHERE device_id = :d"),
            {"d": device if db.engine.dialect.name == "postgresql" else device.hex},
        ).one()
        dumped = b"".join(v if isinstance(v, bytes) else str(v).encode() for v in row)
    for secret in secrets:
        assert secret not in dumped
        assert base64.b64encode(secret) not in dumped


def test_every_sign_in_rotates_and_hands_back_the_recovery_key_the_phone_holds(client, world):
    device = uuid.uuid4()
    first = key_of(sign_in(client, world.emails["worker"], device))
    second = key_of(sign_in(client, world.emails["worker"], device, key_generation=1))
    assert second["generation"] == 2
    assert second["unlock_secret"] != first["unlock_secret"]
    assert second["recovery_key"] != first["recovery_key"]
    assert second["previous_generation"] == 1
    assert second["previous_recovery_key"] == first["recovery_key"]


def test_a_lost_sign_in_response_loses_nothing(client, world):
    """The phone never received generation 2: it still holds 1, and gets its key again."""
    device = uuid.uuid4()
    first = key_of(sign_in(client, world.emails["worker"], device))
    key_of(sign_in(client, world.emails["worker"], device, key_generation=1))  # lost
    again = key_of(sign_in(client, world.emails["worker"], device, key_generation=1))
    assert again["generation"] == 3
    assert again["previous_recovery_key"] == first["recovery_key"]


def test_another_worker_never_gets_the_means_to_read_the_phone(client, world):
    device = uuid.uuid4()
    key_of(sign_in(client, world.emails["worker"], device))
    other = key_of(sign_in(client, world.emails["worker2"], device, key_generation=1))
    assert other["previous_recovery_key"] is None and other["previous_generation"] is None
    # ... nor does the first worker, coming back, get the second one's key by claiming it.
    back = key_of(sign_in(client, world.emails["worker"], device, key_generation=2))
    assert back["previous_recovery_key"] is None


def test_sign_in_is_refused_before_the_phone_changes_hands_while_records_wait(app, client, world):
    device = uuid.uuid4()
    first = sign_in(client, world.emails["worker"], device)
    refused = sign_in(
        client, world.emails["worker2"], device, waiting_for_user_id=world.user_ids["worker"]
    )
    assert refused.status_code == 409
    assert "another worker" in refused.get_json()["message"]
    assert "device_key" not in refused.get_json()
    # The first worker's session on the phone goes on; the device is still theirs.
    me = client.get("/api/v1/me", headers=bearer(first))
    assert me.status_code == 200 and me.get_json()["id"] == world.user_ids["worker"]
    with app.app_context():
        assert db.session.get(DeviceKey, device).user_id == world.user_ids["worker"]
        refusals = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "auth.login_refused")
        ).all()
        assert [e.actor_id for e in refusals] == [world.user_ids["worker2"]]
    # The worker the records belong to signs in as usual.
    again = sign_in(
        client, world.emails["worker"], device, waiting_for_user_id=world.user_ids["worker"]
    )
    assert again.status_code == 200


def test_an_unlocked_phone_renews_its_lease_with_the_same_secret(client, world):
    device = uuid.uuid4()
    signed = sign_in(client, world.emails["worker"], device)
    key = key_of(signed)
    r = client.post("/api/v1/auth/device-key", headers=bearer(signed))
    assert r.status_code == 200
    lease = r.get_json()
    assert lease["unlock_secret"] == key["unlock_secret"]
    assert lease["generation"] == key["generation"]
    assert "recovery_key" not in lease
    assert lease["offline_unlock_hours"] == 12


def test_a_revoked_device_loses_its_secrets_for_good(app, client, world, login):
    device = uuid.uuid4()
    signed = sign_in(client, world.emails["worker"], device)
    admin = login("admin")
    assert admin.post(f"/api/v1/admin/devices/{device}/revoke").status_code == 200
    with app.app_context():
        assert db.session.get(DeviceKey, device) is None
        actions = set(
            db.session.scalars(select(AuditEvent.action).where(AuditEvent.record_id == str(device)))
        )
        assert {"device.revoke", "device.secrets_destroyed"} <= actions
    r = client.post("/api/v1/auth/device-key", headers=bearer(signed))
    assert r.status_code == 401 and r.get_json()["code"] == "device_revoked"
    again = sign_in(client, world.emails["worker"], device, key_generation=1)
    assert again.status_code == 401 and again.get_json()["code"] == "device_revoked"


def test_a_wrapped_secret_moved_to_another_device_does_not_unwrap(app, client, world):
    device = uuid.uuid4()
    sign_in(client, world.emails["worker"], device)
    with app.app_context():
        row = db.session.get(DeviceKey, device)
        assert len(device_keys.unwrap(row.unlock_secret, device, "unlock", 1)) == 32
        with pytest.raises(InvalidTag):
            device_keys.unwrap(row.unlock_secret, uuid.uuid4(), "unlock", 1)
        with pytest.raises(InvalidTag):
            device_keys.unwrap(row.unlock_secret, device, "recovery", 1)


def test_wrong_pins_are_audited_and_the_team_lead_sees_them(client, world, login):
    device = uuid.uuid4()
    signed = sign_in(client, world.emails["worker"], device)
    r = client.post("/api/v1/auth/pin-failures", headers=bearer(signed), json={"count": 2})
    assert r.status_code == 204
    # Five wrong PINs: the phone forgot its key and the worker signs in with the password.
    assert sign_in(client, world.emails["worker"], device, pin_failures=5).status_code == 200
    lead = login("lead")
    page = lead.get("/api/v1/auth/team-lock-events").get_json()
    assert page["meta"]["total"] == 2
    newest, oldest = page["items"]
    assert newest["count"] == 5 and newest["user_name"] and newest["device_id"] == str(device)
    assert oldest["count"] == 2 and oldest["key_forgotten"] is False
    # Another team's lead sees none of it; a worker may not look.
    assert login("lead_dorset").get("/api/v1/auth/team-lock-events").get_json()["items"] == []
    assert login("worker2").get("/api/v1/auth/team-lock-events").status_code == 403


def test_pin_failure_reports_are_validated(client, world):
    signed = sign_in(client, world.emails["worker"], uuid.uuid4())
    for body in ({}, {"count": 0}, {"count": "many"}, {"count": 10**6}):
        r = client.post("/api/v1/auth/pin-failures", headers=bearer(signed), json=body)
        assert r.status_code == 422, body
