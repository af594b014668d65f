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
MAX_PASSWORD_LENGTH = 256
# NIST SP 800-63B: no composition rules; refuse what is common, breached or about the
# account. zxcvbn (offline: its lists of common and breached passwords, words and names
# ship with it, nothing is fetched) estimates the guesses; below 10^8 is refused.
MIN_STRENGTH = 3
ZXCVBN_MAX = 72  # zxcvbn reads at most this many characters (longer is slow)
COMMON = "This password is too common or too easy to guess: {hint}"


def password_problem(
    password: str, *, email: str | None = None, name: str | None = None
) -> str | None:
    """Why a new password is unacceptable, or None: too short or long, containing the
    account's email or name, or common / easy to guess (zxcvbn)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Use at most {MAX_PASSWORD_LENGTH} characters."
    folded = password.casefold()
    personal = _personal_words(email, name)
    if any(word in folded for word in personal):
        return "Do not use your email address or name in your password."
    from zxcvbn import zxcvbn

    estimate = zxcvbn(password[:ZXCVBN_MAX], user_inputs=sorted(personal))
    if estimate["score"] < MIN_STRENGTH:
        feedback = estimate.get("feedback") or {}
        hint = feedback.get("warning") or "add more words or characters nobody would guess."
        return COMMON.format(hint=hint.rstrip(".") + ".")
    return None


def _personal_words(email: str | None, name: str | None) -> set[str]:
    """The account's email, its local part and its name (whole and by word), folded;
    only parts long enough to mean something (3+ characters; name words 4+)."""
    words: set[str] = set()
    if email:
        email = email.strip().casefold()
        local = email.split("@", 1)[0]
        words.update(w for w in (email, local) if len(w) >= 3)
    if name:
        folded = name.strip().casefold()
        if len(folded) >= 3:
            words.add(folded)
            words.add(folded.replace(" ", ""))
        words.update(w for w in folded.replace("-", " ").split() if len(w) >= 4)
    return words
