"""Password hashing: argon2id at OWASP's floor in production, old hashes still verify."""

from __future__ import annotations

from argon2 import PasswordHasher, Type, extract_parameters

from outreach.access.passwords import PRODUCTION_HASHER, verify_password


def test_production_hashes_are_argon2id_at_owasp_floor_or_above():
    params = extract_parameters(PRODUCTION_HASHER.hash("a long enough password"))
    assert params.type is Type.ID
    assert params.memory_cost >= 19456 and params.time_cost >= 2


def test_hashes_made_with_other_parameters_still_verify(app):
    older = PasswordHasher().hash("a long enough password")  # argon2-cffi's defaults
    with app.app_context():
        assert verify_password(older, "a long enough password")
        assert not verify_password(older, "another password entirely")
