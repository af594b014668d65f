"""Passwords: argon2id at OWASP's floor in production, old hashes still verify; new
passwords follow NIST SP 800-63B (length, not common or breached, not the account's
email or name; checked offline with zxcvbn)."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, Type, extract_parameters

from outreach.access.passwords import PRODUCTION_HASHER, password_problem, verify_password


def test_production_hashes_are_argon2id_at_owasp_floor_or_above():
    params = extract_parameters(PRODUCTION_HASHER.hash("a long enough password"))
    assert params.type is Type.ID
    assert params.memory_cost >= 19456 and params.time_cost >= 2


def test_hashes_made_with_other_parameters_still_verify(app):
    older = PasswordHasher().hash("a long enough password")  # argon2-cffi's defaults
    with app.app_context():
        assert verify_password(older, "a long enough password")
        assert not verify_password(older, "another password entirely")


@pytest.mark.parametrize(
    "password", ["password1234", "qwertyuiop", "iloveyou2024", "Password123!", "1234567890"]
)
def test_common_and_breached_passwords_are_refused(password):
    assert "too common" in (password_problem(password) or "")


@pytest.mark.parametrize(
    ("password", "email", "name"),
    [
        ("jo.bloggs@example.test!", "Jo.Bloggs@example.test", "Jo Bloggs"),
        ("my-jo.bloggs-password", "jo.bloggs@example.test", "Jo Bloggs"),
        ("Bloggs-rides-again-77", "jb@example.test", "Jo Bloggs"),
    ],
)
def test_passwords_holding_the_accounts_email_or_name_are_refused(password, email, name):
    assert "email address or name" in (password_problem(password, email=email, name=name) or "")


def test_a_long_unusual_passphrase_is_accepted():
    assert (
        password_problem("violet-kettle-harbour-93", email="jb@example.test", name="Jo B") is None
    )
    assert password_problem("x" * 257) == "Use at most 256 characters."


def test_the_admin_api_refuses_a_common_password_on_create_and_reset(login, world):
    admin = login("admin")
    new = {"email": "new@example.test", "name": "New Person", "role": "admin"}
    r = admin.post("/api/v1/admin/users", json={**new, "password": "password1234"})
    assert r.status_code == 422 and "too common" in r.get_json()["errors"]["password"][0]
    r = admin.patch(
        f"/api/v1/admin/users/{world.user_ids['worker']}",
        json={"password": "worker@example.test-1"},
    )
    assert r.status_code == 422 and "email" in r.get_json()["errors"]["password"][0]
