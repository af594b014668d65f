"""Clients (pseudonymous) and their probable-duplicate links."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from outreach.core.extensions import Model
from outreach.core.types import UTCDateTime, utcnow

# The codes of a client's sex, with their labels: the one list (the check constraint,
# the phone's checks and its choices come from it).
SEXES = {"female": "Female", "male": "Male", "other": "Other", "not_stated": "Not stated"}


class Client(Model):
    __tablename__ = "client"
    __table_args__ = (
        CheckConstraint(
            "sex IS NULL OR sex IN (" + ", ".join(f"'{code}'" for code in SEXES) + ")",
            name="sex_known",
        ),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint(
            "anonymised_at IS NOT NULL OR (initials IS NOT NULL AND "
            "date_of_birth IS NOT NULL AND sex IS NOT NULL)",
            name="attributes_unless_anonymised",
        ),
        Index("ix_client_team_match", "team_id", "match_key"),
        Index("ix_client_team_key_worker", "team_id", "key_worker_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    # Personal attributes: nulled by the retention job (anonymised_at set).
    initials: Mapped[str | None] = mapped_column(String(3))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(12))
    postcode_district: Mapped[str | None] = mapped_column(String(4))
    known_as: Mapped[str | None] = mapped_column(String(40))
    match_key: Mapped[str | None] = mapped_column(String(64))
    key_worker_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    server_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("client.id"))
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Consent to share with partner teams (DESIGN §5b): None until asked; when, by whom.
    consent_to_share: Mapped[bool | None] = mapped_column(Boolean)
    consent_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class ClientDuplicate(Model):
    """Two clients of one team with the same match_key: probably one person."""

    __tablename__ = "client_duplicate"
    __table_args__ = (
        UniqueConstraint("client_id", "other_client_id"),
        CheckConstraint("client_id <> other_client_id", name="distinct_clients"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"), index=True)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id"), index=True)
    other_client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id"))
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str | None] = mapped_column(String(20))  # merged, not_duplicate
