"""Refresh-token records (devices themselves are identity: `outreach.access.models`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Uuid
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
