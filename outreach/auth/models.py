"""Refresh-token records and each device's secrets (devices themselves are identity:
`outreach.access.models`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from outreach.core.extensions import Model
from outreach.core.types import UTCDateTime, utcnow


class TokenRecord(Model):
    """One issued refresh token. Spent on use; a second use revokes the family."""

    __tablename__ = "token_record"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    device_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("device.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    family: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    spent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The token issued when this one was spent: a retry of a lost refresh answer within
    # the grace window, while it is unused, is answered from the same family.
    successor_jti: Mapped[str | None] = mapped_column(String(64))


class LoginThrottle(Model):
    """Failed sign-ins of one account from one address (the key is a digest of both:
    no address or email is stored here), with the back-off they earned."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DeviceKey(Model):
    """A device's two secrets, each wrapped (AES-GCM) under the server's device key from
    the environment, so a database dump alone gives neither (outreach.auth.device_keys).

    `unlock_secret` is the server's part of the phone's PIN key: the phone keeps it for
    its offline lease. `recovery_key` unwraps the phone's data key after a password
    sign-in (a forgotten PIN, a lapsed lease); the phone never keeps it. Both rotate on
    every password sign-in; the generation the phone last held stays as `previous_*`
    until the next one, so a lost response cannot lose the phone's data. Revoking the
    device deletes the row: what the phone holds can no longer be unwrapped."""

    __tablename__ = "device_key"

    device_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("device.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    generation: Mapped[int] = mapped_column(Integer)
    unlock_secret: Mapped[bytes] = mapped_column(LargeBinary(128))
    recovery_key: Mapped[bytes] = mapped_column(LargeBinary(128))
    previous_generation: Mapped[int | None] = mapped_column(Integer)
    previous_recovery_key: Mapped[bytes | None] = mapped_column(LargeBinary(128))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
