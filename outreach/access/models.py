"""Identity: areas (PCC areas), teams (provider teams), users, commissioners' areas and
devices. The guard (`outreach.access.guard`) reads these on every request; every slice
above uses them."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from outreach.core.extensions import Model
from outreach.core.types import UTCDateTime, utcnow

ROLES = ("worker", "team_lead", "commissioner", "admin")
TEAM_ROLES = ("worker", "team_lead")


class Area(Model):
    __tablename__ = "area"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    region: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    teams: Mapped[list[Team]] = relationship(back_populates="area")


class Team(Model):
    __tablename__ = "team"
    __table_args__ = (UniqueConstraint("area_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    provider: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    area: Mapped[Area] = relationship(back_populates="teams")


class User(Model):
    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint(
            "role IN ('worker', 'team_lead', 'commissioner', 'admin')", name="role_known"
        ),
        CheckConstraint(
            "role NOT IN ('worker', 'team_lead') OR team_id IS NOT NULL",
            name="team_member_has_team",
        ),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Tokens carry the epoch they were issued in (claim `ep`); raising it ends every
    # session of the user at once (`outreach.access.sessions`).
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    team: Mapped[Team | None] = relationship()
    commissioner_areas: Mapped[list[Area]] = relationship(
        secondary="commissioner_area", order_by="Area.code"
    )


class CommissionerArea(Model):
    __tablename__ = "commissioner_area"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), primary_key=True)


class Device(Model):
    """A phone or browser a user signs in from."""

    __tablename__ = "device"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    label: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The live refresh-token family; None after logout or reuse detection.
    token_family: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    user: Mapped[User] = relationship()


class Partnership(Model):
    """Teams that share clients under a data-sharing agreement (DESIGN §5b), within an
    area or across areas: the agreement's reference and the dates it is in force
    (`ends_on` None: open-ended). No agreement in force, no sharing."""

    __tablename__ = "partnership"
    __table_args__ = (
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    agreement_ref: Mapped[str] = mapped_column(String(120), unique=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    teams: Mapped[list[Team]] = relationship(secondary="partnership_team", order_by="Team.id")


class PartnershipTeam(Model):
    __tablename__ = "partnership_team"

    partnership_id: Mapped[int] = mapped_column(
        ForeignKey("partnership.id", ondelete="CASCADE"), primary_key=True
    )
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"), primary_key=True, index=True)
