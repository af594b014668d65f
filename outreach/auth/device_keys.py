"""Each device's secrets for the phone's app lock (DESIGN §6, device protection).

The phone's records are encrypted under a random data key that it keeps only wrapped:
- under a key from PBKDF2(PIN + the device's *unlock secret*), for everyday unlocking. The
  phone keeps the unlock secret for its offline lease (`OFFLINE_UNLOCK_HOURS`); after that
  it must sign in with the password to get it again.
- under the device's *recovery key*, which the phone never keeps: a password sign-in hands
  it back once, so a forgotten PIN or a lapsed lease costs a sign-in, never data.

Both are 32 random bytes, stored here wrapped under `DEVICE_KEY_SECRET` (environment) with
AES-GCM, the device id, purpose and generation as associated data (a row copied to another
device does not unwrap). Every password sign-in rotates both and hands the phone the
recovery key of the generation it holds, so it can rewrap its data key. Revoking a device
deletes its row (crypto-erasure): once the phone's lease has run out, its data key cannot
be unwrapped by anyone, even if the phone never reconnects.
"""

from __future__ import annotations

import base64
import os
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from outreach.auth.models import DeviceKey
from outreach.core.extensions import db
from outreach.core.types import utcnow

SECRET_BYTES = 32
NONCE_BYTES = 12


def _server_key() -> bytes:
    secret = str(current_app.config["DEVICE_KEY_SECRET"]).encode()
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"outreach device secrets v1"
    ).derive(secret)


def _aad(device_id: uuid.UUID, purpose: str, generation: int) -> bytes:
    return device_id.bytes + purpose.encode() + generation.to_bytes(8, "big")


def wrap(secret: bytes, device_id: uuid.UUID, purpose: str, generation: int) -> bytes:
    """`secret` encrypted under the server's device key: nonce + ciphertext + tag."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(_server_key()).encrypt(
        nonce, secret, _aad(device_id, purpose, generation)
    )


def unwrap(blob: bytes, device_id: uuid.UUID, purpose: str, generation: int) -> bytes:
    """The secret `wrap` stored; raises if the row was altered or moved."""
    return AESGCM(_server_key()).decrypt(
        blob[:NONCE_BYTES], blob[NONCE_BYTES:], _aad(device_id, purpose, generation)
    )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def lock_settings() -> dict:
    """What the phone's lock obeys, set by the server."""
    cfg = current_app.config
    return {
        "offline_unlock_hours": int(cfg["OFFLINE_UNLOCK_HOURS"]),
        "lock_minutes": int(cfg["AUTO_LOCK_MINUTES"]),
        "pin_attempts": int(cfg["PIN_ATTEMPTS"]),
    }


def rotate(device_id: uuid.UUID, user_id: int, held_generation: int | None) -> dict:
    """New secrets for a password sign-in. The recovery key of the generation the phone
    holds (`held_generation`) comes back as `previous_recovery_key` if this worker was the
    last on the device: another worker never gets the means to read what the phone holds."""
    key = db.session.get(DeviceKey, device_id)
    handed: tuple[int, bytes] | None = None  # the phone's generation, found
    kept: tuple[int, bytes] | None = None  # what stays as `previous_*` (a lost response)
    if key is not None and key.user_id == user_id:
        current = (key.generation, unwrap(key.recovery_key, device_id, "recovery", key.generation))
        kept = current
        if held_generation == key.generation:
            handed = current
        elif (
            held_generation is not None
            and held_generation == key.previous_generation
            and key.previous_recovery_key is not None
        ):
            handed = kept = (
                held_generation,
                unwrap(key.previous_recovery_key, device_id, "recovery", held_generation),
            )
    generation = (key.generation + 1) if key is not None else 1
    unlock, recovery = os.urandom(SECRET_BYTES), os.urandom(SECRET_BYTES)
    if key is None:
        key = DeviceKey(device_id=device_id)
        db.session.add(key)
    key.user_id = user_id
    key.generation = generation
    key.unlock_secret = wrap(unlock, device_id, "unlock", generation)
    key.recovery_key = wrap(recovery, device_id, "recovery", generation)
    key.previous_generation = kept[0] if kept else None
    key.previous_recovery_key = wrap(kept[1], device_id, "recovery", kept[0]) if kept else None
    key.issued_at = utcnow()
    return {
        "generation": generation,
        "unlock_secret": _b64(unlock),
        "recovery_key": _b64(recovery),
        "previous_generation": handed[0] if handed else None,
        "previous_recovery_key": _b64(handed[1]) if handed else None,
        **lock_settings(),
    }


def lease(device_id: uuid.UUID, user_id: int) -> dict | None:
    """The current unlock secret again (an unlocked phone online renews its offline
    lease with it); None when the device has no secrets for this user."""
    key = db.session.get(DeviceKey, device_id)
    if key is None or key.user_id != user_id:
        return None
    secret = unwrap(key.unlock_secret, device_id, "unlock", key.generation)
    return {"generation": key.generation, "unlock_secret": _b64(secret), **lock_settings()}


def destroy(device_id: uuid.UUID) -> bool:
    """Delete a device's secrets for good (revocation). True if it had any."""
    key = db.session.get(DeviceKey, device_id)
    if key is None:
        return False
    db.session.delete(key)
    return True
