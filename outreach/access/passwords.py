"""Password hashing with argon2id."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context

# OWASP's recommended argon2id floor (19 MiB, 2 passes, 1 lane): about 25 ms of one
# core per sign-in. argon2-cffi's own default (64 MiB, 3 passes, 4 lanes) costs about
# 190 ms of CPU, which on a 2-core server turns a morning's burst of sign-ins into
# seconds of queueing for every sync behind them. Hashes carry their parameters, so
# older hashes still verify.
PRODUCTION_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_default = PRODUCTION_HASHER
# Tests and the demo loader may ask for cheap parameters; never production.
_fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
_DUMMY_HASH = _default.hash("timing-equaliser")


def _hasher() -> PasswordHasher:
    if has_app_context() and current_app.config.get("PASSWORD_HASH_FAST"):
        return _fast
    return _default


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; spends the same work when the account does not exist."""
    try:
        return _hasher().verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


MIN_PASSWORD_LENGTH = 10


def password_problem(password: str) -> str | None:
    """Why a new password is unacceptable, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > 256:
        return "Use at most 256 characters."
    return None
