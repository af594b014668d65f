"""Sign-in, refresh-token rotation with reuse detection, logout, device revocation."""

from __future__ import annotations

import uuid
from datetime import datetime

from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from outreach.access.guard import device_revoked_error
from outreach.access.models import Device, Team, User
from outreach.access.passwords import verify_password
from outreach.access.profile import profile_of
from outreach.audit.service import record_event
from outreach.auth.models import TokenRecord
from outreach.core.db import rowcount
from outreach.core.errors import ApiError
from outreach.core.extensions import db
from outreach.core.types import utcnow

BAD_CREDENTIALS = "The email or password is incorrect."


def _issue_tokens(user: User, device: Device, family: uuid.UUID) -> dict:
    claims = {"dev": str(device.id), "fam": str(family), "role": user.role}
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
    return {"access_token": access, "refresh_token": refresh}


def _revoke_family(device: Device, now: datetime) -> None:
    db.session.execute(
        update(TokenRecord)
        .where(TokenRecord.device_id == device.id, TokenRecord.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    device.token_family = None


def login(email: str, password: str, device_id: uuid.UUID, label: str | None) -> tuple[dict, dict]:
    """Check credentials and bind a new token family to the device. Returns the user's
    profile (read before the commit expires what it needs) and the tokens."""
    user = db.session.scalar(
        select(User)
        .where(User.email == email.strip().lower())
        .options(joinedload(User.team).joinedload(Team.area))
    )
    if not verify_password(user.password_hash if user else None, password) or not user:
        record_event("auth.login_failed", actor_id=user.id if user else None)
        db.session.commit()
        raise ApiError(401, BAD_CREDENTIALS)
    if not user.active:
        record_event("auth.login_failed", actor_id=user.id, detail={"reason": "inactive"})
        db.session.commit()
        raise ApiError(401, BAD_CREDENTIALS)
    now = utcnow()
    device = db.session.get(Device, device_id)
    if device is not None and device.revoked_at is not None:
        raise device_revoked_error()  # whoever signs in on it: the phone must wipe
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
    tokens = _issue_tokens(user, device, family)
    record_event("auth.login", actor_id=user.id, device_id=device.id)
    tokens["device_id"] = str(device.id)
    profile = profile_of(user)
    db.session.commit()
    return profile, tokens


def refresh(claims: dict) -> dict:
    """Spend a refresh token and issue the next pair; a reused token ends the family."""
    now = utcnow()
    record = db.session.get(TokenRecord, claims.get("jti"))
    if record is None:
        raise ApiError(401, "The refresh token is not valid.")
    device = db.session.get(Device, record.device_id)
    if device is None or device.revoked_at is not None:
        raise device_revoked_error()
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
    if spent != 1 or device.token_family != record.family:
        if device.token_family == record.family:
            _revoke_family(device, now)
            record_event("auth.refresh_reused", actor_id=record.user_id, device_id=device.id)
        db.session.commit()
        raise ApiError(
            401, "This sign-in has ended (the refresh token was already used). Sign in again."
        )
    user = db.session.get(User, record.user_id)
    if user is None or not user.active or device.user_id != user.id:
        db.session.rollback()
        raise ApiError(401, "This account is disabled.")
    device.last_seen_at = now
    tokens = _issue_tokens(user, device, record.family)
    db.session.commit()
    return tokens


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
    """Revoke a lost or stolen device: every token fails, and its next contact wipes it."""
    device = db.session.get(Device, device_id)
    if device is None:
        return None
    now = utcnow()
    if device.revoked_at is None:
        device.revoked_at = now
        _revoke_family(device, now)
        record_event("device.revoke", actor_id=actor_id, entity="device", record_id=device.id)
    db.session.commit()
    current_app.logger.info("device %s revoked", device.id)
    return device
