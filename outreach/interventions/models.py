"""Interventions (one contact, one type) and follow-ups."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from outreach.core.extensions import Model
from outreach.core.types import UTCDateTime, utcnow


class Intervention(Model):
    __tablename__ = "intervention"
    __table_args__ = (
        CheckConstraint("quantity IS NULL OR quantity >= 0", name="quantity_not_negative"),
        CheckConstraint("version >= 1", name="version_positive"),
        # Covering index for report aggregation (STYLE: measured on both databases).
        Index("ix_intervention_report", "occurred_at", "area_id", "type", "team_id"),
        Index("ix_intervention_team_occurred", "team_id", "occurred_at"),
        # Covers the caseload's per-client facts (last contact, referral, confirmed entry)
        # so they are read from the index alone, without a table lookup per intervention.
        Index("ix_intervention_client_contact", "client_id", "occurred_at", "type", "deleted_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    client_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("client.id"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"))
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    device_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    type: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    location: Mapped[str] = mapped_column(String(20))
    substances: Mapped[list] = mapped_column(JSON, default=list)
    quantity: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(String(200))
    referral_to: Mapped[str | None] = mapped_column(String(200))
    follow_up_on: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    server_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FollowUp(Model):
    __tablename__ = "follow_up"
    __table_args__ = (
        CheckConstraint("version >= 1", name="version_positive"),
        Index("ix_follow_up_team_due", "team_id", "due_on"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"))
    intervention_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("intervention.id"))
    due_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200))
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    server_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
