"""Referrals between partner teams and diversion episodes (DESIGN §5b): synced records
(`outreach.pathways.rules`), written only through the unit of work."""

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
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from outreach.core.extensions import Model
from outreach.core.types import UTCDateTime, utcnow

# The one list of each code set, with labels (the API, the PWA and the checks use these).
REASONS = {
    "structured_treatment": "Structured treatment",
    "harm_reduction": "Harm reduction",
    "housing": "Housing",
    "mental_health": "Mental health",
    "other": "Other",
}
URGENCIES = {"routine": "Routine", "soon": "Within a week", "urgent": "Urgent (same day)"}
STATUSES = {
    "sent": "Sent",
    "accepted": "Accepted",
    "declined": "Declined",
    "first_contact": "First contact",
    "treatment_entry": "In treatment",
    "closed": "Closed",
}
DECLINE_REASONS = {
    "not_eligible": "Not eligible for this service",
    "no_capacity": "No capacity",
    "already_known": "Already known to the service",
    "consent_withdrawn": "Consent withdrawn",
    "other": "Other",
}
CLOSE_REASONS = {
    "lost_contact": "Lost contact",
    "moved_away": "Moved away",
    "died": "Died",
    "withdrawn": "Referral withdrawn",
    "other": "Other",
}
EPISODE_KINDS = {"checkpoint": "Checkpoint", "other_scheme": "Another local scheme"}
OUTCOMES = {
    "completed": "Completed",
    "not_completed": "Not completed (returned for prosecution)",
    "withdrawn": "Withdrawn",
}


def _codes(column: str, codes: dict[str, str]) -> str:
    return f"{column} IN (" + ", ".join(f"'{c}'" for c in codes) + ")"


class Referral(Model):
    """A client referred by their team (`team_id`) to a partner team (`to_team_id`).
    `status` moves sent -> accepted | declined -> first_contact -> treatment_entry, or
    closed; each step keeps its time (`*_at`)."""

    __tablename__ = "referral"
    __table_args__ = (
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint(_codes("status", STATUSES), name="status_known"),
        CheckConstraint("team_id <> to_team_id", name="to_another_team"),
        Index("ix_referral_to_team_status", "to_team_id", "status"),
        Index("ix_referral_client", "client_id"),
        # The weekly measures read the referrals whose steps fall in the weeks asked
        # for: one index per step time, combined by the planner (a bitmap OR), so a
        # report reads its weeks' referrals rather than the whole table.
        Index("ix_referral_sent", "sent_at", "area_id"),
        Index("ix_referral_accepted", "accepted_at"),
        Index("ix_referral_first_contact", "first_contact_at"),
        Index("ix_referral_treatment_entry", "treatment_entry_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id"))
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    to_team_id: Mapped[int] = mapped_column(ForeignKey("team.id"))
    partnership_id: Mapped[int | None] = mapped_column(ForeignKey("partnership.id"))
    reason: Mapped[str] = mapped_column(String(30))
    urgency: Mapped[str] = mapped_column(String(20))
    notes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    status_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_reason: Mapped[str | None] = mapped_column(String(30))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    treatment_entry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    responded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    server_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Episode(Model):
    """A diversion episode (Checkpoint or another local scheme): a contract with
    conditions, a navigator, sessions attended, and an outcome."""

    __tablename__ = "episode"
    __table_args__ = (
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("outcome IS NULL OR " + _codes("outcome", OUTCOMES), name="outcome_known"),
        Index("ix_episode_started", "started_on", "area_id"),
        Index("ix_episode_ended", "ended_on"),
        Index("ix_episode_team_end", "team_id", "planned_end_on"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"))
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    kind: Mapped[str] = mapped_column(String(30))
    started_on: Mapped[date] = mapped_column(Date)
    planned_end_on: Mapped[date] = mapped_column(Date)
    conditions: Mapped[list] = mapped_column(JSON, default=list)
    navigator_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    next_session_on: Mapped[date | None] = mapped_column(Date)
    sessions: Mapped[list] = mapped_column(JSON, default=list)
    outcome: Mapped[str | None] = mapped_column(String(20))
    ended_on: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    server_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ClientLink(Model):
    """Two clients of partner teams (an agreement in force when found) that a lead
    confirmed are one person (`linked`), or are not (`not_duplicate`). Each team keeps
    its own record; reports count a linked person once. `client_id` < `other_client_id`."""

    __tablename__ = "client_link"
    __table_args__ = (
        UniqueConstraint("client_id", "other_client_id"),
        CheckConstraint("client_id < other_client_id", name="ordered_pair"),
        CheckConstraint("resolution IN ('linked', 'not_duplicate')", name="resolution_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id"), index=True)
    other_client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id"), index=True)
    resolution: Mapped[str] = mapped_column(String(20))
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"))  # the confirming lead's
    confirmed_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
