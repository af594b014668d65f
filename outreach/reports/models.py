"""Report deliveries: one row per recipient and ISO week, never sent twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from outreach.core.extensions import db
from outreach.core.types import UTCDateTime, utcnow

DELIVERY_STATUSES = ("pending", "sending", "sent", "failed")


class ReportDelivery(db.Model):
    __tablename__ = "report_delivery"
    __table_args__ = (UniqueConstraint("recipient_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    period: Mapped[str] = mapped_column(String(8))  # ISO week, e.g. 2026-W47
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    # The suppressed figures as sent, per week: the base for later revision notices.
    figures: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
