"""Sign-in, refresh-token rotation with reuse detection, logout, device revocation, and the
phone's lock: its secrets (outreach.auth.device_keys) and wrong PINs."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from outreach.access.guard import device_revoked_error
from outreach.access.models import Device, Team, User
from outreach.access.passwords import verify_password
from outreach.access.profile import profile_of
from outreach.access.sessions import EPOCH_CLAIM, epoch_of, session_ended_error
from outreach.audit.service import record_event
from outreach.auth import device_keys
from outreach.auth.models import TokenRecord
from outreach.core.db import rowcount
from outreach.core.errors import ApiError
from outreach.core.extensions import db
from outreach.core.types import utcnow

BAD_CREDENTIALS = "The email or password is incorrect."
OTHER_WORKER_WAITING = (
    "This phone holds records of another worker that have not synced yet. They must sign "
    "in on this phone and sync first."
)


class LoginFailed(ApiError):
    """Wrong credentials (401, one message whatever the reason); the reason and the
    account, if any, are for the audit and the throttle (`outreach.auth.throttle`)."""

    def __init__(self, reason: str, user: User | None):
        super().__init__(401, BAD_CREDENTIALS)
        self.reason = reason
        self.user_id = user.id if user is not None else None


def _issue_tokens(user: User, device: Device, family: uuid.UUID) -> dict:
    """A new access and refresh token of `family` (the refresh token recorded); the
    refresh token's id is in the answer's `_jti` (popped by the caller)."""
    claims = {
        "dev": str(device.id),
        "fam": str(family),
        "role": user.role,
        EPOCH_CLAIM: user.session_epoch or 0,
    }
    access = create_access_token(identity=str(user.id), additional_claims=claims)
    refresh = create_refresh_token(identity=str(user.id), additional_claims=claims)
    decoded = decode_token(refresh)
    db.session.add(
        TokenRecord(
            jti=decoded["jti"],
            device_id=device.id,
            user_id=user.id,
            family=family,
            issued_at=utcnow(),
            expires_at=datetime.fromtimestamp(decoded["exp"], tz=utcnow().tzinfo),
        )
    )
    return {"access_token": access, "refresh_token": refresh, "_jti": decoded["jti"]}


def _revoke_family(device: Device, now: datetime) -> None:
    db.session.execute(
        update(TokenRecord)
        .where(TokenRecord.device_id == device.id, TokenRecord.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    device.token_family = None


def login(
    email: str,
    password: str,
    device_id: uuid.UUID,
    label: str | None,
    *,
    held_generation: int | None = None,
    pin_failures: int = 0,
    waiting_for_user_id: int | None = None,
) -> tuple[dict, dict]:
    """Check credentials, bind a new token family to the device and rotate its secrets.
    Returns the user's profile (read before the commit expires what it needs) and the
    tokens with the device's new secrets (`device_key`).

    `waiting_for_user_id`: the phone holds unsynced records of that worker; anyone else is
    refused before the device changes hands. `pin_failures`: wrong PINs typed on the phone
    since it last reported (audited). `held_generation`: the generation of the phone's
    wrapped data key, whose recovery key comes back if this worker was the last here."""
    user = db.session.scalar(
        select(User)
        .where(User.email == email.strip().lower())
        .options(joinedload(User.team).joinedload(Team.area))
    )
    if not verify_password(user.password_hash if user else None, password) or not user:
        raise LoginFailed("wrong_password" if user else "unknown_account", user)
    if not user.active:
        raise LoginFailed("inactive", user)
    now = utcnow()
    device = db.session.get(Device, device_id)
    if device is not None and device.revoked_at is not None:
        raise device_revoked_error()  # whoever signs in on it: the phone must wipe
    if waiting_for_user_id is not None and waiting_for_user_id != user.id:
        record_event(
            "auth.login_refused",
            actor_id=user.id,
            device_id=device.id if device else None,
            detail={"reason": "other_worker_waiting", "waiting_for": waiting_for_user_id},
        )
        db.session.commit()
        raise ApiError(409, OTHER_WORKER_WAITING)
    if device is not None and device.user_id != user.id:
        # A device id belongs to one user for good: another user's id (a shared phone,
        # or a guessed or copied id) gets a new device; the owner's sessions go on.
        record_event(
            "auth.device_id_taken",
            actor_id=user.id,
            entity="device",
            record_id=device.id,
            detail={"owner_id": device.user_id},
        )
        device = None
        device_id = uuid.uuid4()
    if device is None:
        device = Device(id=device_id, user_id=user.id, label=label, created_at=now)
        db.session.add(device)
    else:
        # The same user signing in again on their device ends its previous session.
        _revoke_family(device, now)
        if label:
            device.label = label
    device.last_seen_at = now
    family = uuid.uuid4()
    device.token_family = family
    db.session.flush()
    if pin_failures:
        _audit_pin_failures(user.id, device.id, pin_failures, key_forgotten=None)
    key = device_keys.rotate(device.id, user.id, held_generation)
    tokens = _issue_tokens(user, device, family)
    tokens.pop("_jti")
    record_event(
        "auth.login", actor_id=user.id, device_id=device.id, detail={"key": key["generation"]}
    )
    tokens["device_id"] = str(device.id)
    profile = profile_of(user)
    db.session.commit()
    return profile, {**tokens, "device_key": key}


def _audit_pin_failures(
    user_id: int, device_id: uuid.UUID, count: int, *, key_forgotten: bool | None
) -> None:
    detail: dict = {"count": count}
    if key_forgotten is not None:
        detail["key_forgotten"] = key_forgotten
    record_event("device.pin_failed", actor_id=user_id, device_id=device_id, detail=detail)


def report_pin_failures(user_id: int, device_id: uuid.UUID, count: int, key_forgotten: bool):
    """Wrong PINs typed on the signed-in phone (reported once it is unlocked or online)."""
    _audit_pin_failures(user_id, device_id, count, key_forgotten=key_forgotten)
    db.session.commit()


def renew_lease(user_id: int, device_id: uuid.UUID) -> dict:
    """The device's unlock secret again, for an unlocked phone online: its offline lease
    starts again without a password (the secret is not rotated: its PIN key stays valid)."""
    key = device_keys.lease(device_id, user_id)
    if key is None:
        raise ApiError(404, "This device has no key for you. Sign in again with your password.")
    db.session.commit()
    return key


def refresh(claims: dict) -> dict:
    """Spend a refresh token and issue the next pair; a reused token ends the family."""
    now = utcnow()
    record = db.session.get(TokenRecord, claims.get("jti"))
    if record is None:
        raise ApiError(401, "The refresh token is not valid.")
    device = db.session.get(Device, record.device_id)
    if device is None or device.revoked_at is not None:
        raise device_revoked_error()
    user = db.session.get(User, record.user_id)
    if user is None or not user.active or device.user_id != user.id:
        raise ApiError(401, "This account is disabled.")
    if epoch_of(claims) != user.session_epoch:
        raise session_ended_error()
    # Compare-and-set: of two concurrent uses, exactly one spends the token.
    spent = rowcount(
        db.session.execute(
            update(TokenRecord)
            .where(
                TokenRecord.jti == record.jti,
                TokenRecord.spent_at.is_(None),
                TokenRecord.revoked_at.is_(None),
            )
            .values(spent_at=now)
        )
    )
    retry = False
    if spent != 1 or device.token_family != record.family:
        retry = device.token_family == record.family and _retire_unused_successor(record, now)
        if not retry:
            if device.token_family == record.family:
                _revoke_family(device, now)
                record_event("auth.refresh_reused", actor_id=record.user_id, device_id=device.id)
            db.session.commit()
            raise ApiError(
                401, "This sign-in has ended (the refresh token was already used). Sign in again."
            )
        record_event("auth.refresh_retried", actor_id=record.user_id, device_id=device.id)
    device.last_seen_at = now
    tokens = _issue_tokens(user, device, record.family)
    record.successor_jti = tokens.pop("_jti")
    db.session.commit()
    return tokens


def _retire_unused_successor(record: TokenRecord, now: datetime) -> bool:
    """A lost answer retried (OUTREACH_REFRESH_GRACE_SECONDS): `record` was spent within
    the grace window and the token it was spent for has never been used. That token is
    retired (the phone never got it; of two retries exactly one wins) and the caller
    issues the next pair of the same family. Any other reuse: False (the family ends)."""
    grace = timedelta(seconds=current_app.config["REFRESH_GRACE_SECONDS"])
    if (
        grace <= timedelta(0)
        or record.spent_at is None
        or record.revoked_at is not None
        or record.successor_jti is None
        or now - record.spent_at > grace
    ):
        return False
    retired = db.session.execute(
        update(TokenRecord)
        .where(
            TokenRecord.jti == record.successor_jti,
            TokenRecord.family == record.family,
            TokenRecord.spent_at.is_(None),
            TokenRecord.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return rowcount(retired) == 1


def logout(claims: dict) -> None:
    """Revoke the device's tokens (the device itself stays registered)."""
    try:
        device_id = uuid.UUID(str(claims.get("dev")))
    except ValueError:
        raise ApiError(401, "The token is not valid.") from None
    device = db.session.get(Device, device_id)
    if device is None or str(device.user_id) != str(claims.get("sub")):
        raise ApiError(401, "The token is not valid for this device.")
    if device.revoked_at is not None:
        # Same answer as every other call from a revoked phone: it must wipe itself.
        raise device_revoked_error()
    if device.token_family is not None and str(device.token_family) == claims.get("fam"):
        _revoke_family(device, utcnow())
        record_event("auth.logout", actor_id=device.user_id, device_id=device.id)
    db.session.commit()


def revoke_device(device_id: uuid.UUID, *, actor_id: int | None) -> Device | None:
    """Revoke a lost or stolen device: every token fails, its secrets are destroyed (its
    data is unreadable once its offline lease ends) and its next contact wipes it."""
    device = db.session.get(Device, device_id)
    if device is None:
        return None
    now = utcnow()
    if device.revoked_at is None:
        device.revoked_at = now
        _revoke_family(device, now)
        record_event("device.revoke", actor_id=actor_id, entity="device", record_id=device.id)
    # Crypto-erasure: without its secrets the phone's data key cannot be unwrapped.
    if device_keys.destroy(device.id):
        record_event(
            "device.secrets_destroyed", actor_id=actor_id, entity="device", record_id=device.id
        )
    db.session.commit()
    current_app.logger.info("device %s revoked", device.id)
    return device
