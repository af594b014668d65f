"""Report deliveries (one row per recipient and ISO week, never sent twice) and, on
PostgreSQL, the weekly roll-ups a trigger keeps from interventions (`rollups`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from outreach.core.extensions import Model
from outreach.core.types import UTCDateTime, utcnow

DELIVERY_STATUSES = ("pending", "sending", "sent", "failed")


class ReportDelivery(Model):
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


RELEASE_KINDS = ("week", "late")


class ReportRelease(Model):
    """A release to commissioners, stored as issued (docs/disclosure.md): a week's figures
    (`kind` week, `period` 2026-W47) or the records that arrived late for weeks already
    released (`kind` late, `period` the month they were counted in, 2026-12). One
    suppression over every area and every commissioner's scope; every later fetch,
    email and CSV of it serves these cells, never a recount."""

    __tablename__ = "report_release"
    __table_args__ = (UniqueConstraint("kind", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    period: Mapped[str] = mapped_column(String(10))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    grace_days: Mapped[int | None] = mapped_column(Integer)
    # A late release: the first and last released weeks its records are dated in.
    first_week: Mapped[str | None] = mapped_column(String(8))
    last_week: Mapped[str | None] = mapped_column(String(8))
    # A weekly release: the latest late release issued before it, shown with it.
    late_release_id: Mapped[int | None] = mapped_column(ForeignKey("report_release.id"))
    # {"scope/measure": published text}; scopes are area codes and the scope totals
    # named in `scopes` ({"scope:a,b": ["a", "b"]}).
    cells: Mapped[dict] = mapped_column(JSON)
    scopes: Mapped[dict] = mapped_column(JSON)
    # Pathway steps counted through `report_counted_step` (False: released before that
    # ledger existed, so its pathway figures have no ledger rows; see step_ledger).
    steps_counted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportCountedStep(Model):
    """The pathway ledger (`outreach.reports.step_ledger`): each pathway step (a referral
    made, accepted, first contact, treatment entry within 21 days; an episode started or
    ended) as a release counted it. A late-records release that finds the record gone or
    changed marks the row `withdrawn_by` itself, never deletes it: the rows a weekly
    release counted as referrals made stay the base of that week's referral cohort."""

    __tablename__ = "report_counted_step"
    __table_args__ = (Index("ix_report_counted_step_record", "record_id", "measure"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("report_release.id"), index=True)
    measure: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    area_id: Mapped[int] = mapped_column(Integer)
    client_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by: Mapped[int | None] = mapped_column(ForeignKey("report_release.id"))


class ReportCounted(Model):
    """The ledger: each intervention counted by a release, as it was counted (so a later
    change to it is counted once by a late release, and nothing twice or never)."""

    __tablename__ = "report_counted"

    intervention_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("report_release.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    area_id: Mapped[int] = mapped_column(Integer)
    team_id: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(40))
    quantity: Mapped[int | None] = mapped_column(Integer)
    client_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


# Roll-ups (PostgreSQL only; see outreach.reports.rollups). Derived data: a trigger on
# intervention keeps them in step in the writer's transaction; `flask outreach reports
# rebuild-rollups` recomputes them. No foreign keys: they only ever hold counts.


class ReportWeekCount(Model):
    """Live interventions per week (Monday, Europe/London), area, team and type."""

    __tablename__ = "report_week_count"

    week_start: Mapped[date] = mapped_column(Date, primary_key=True)
    area_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    team_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(40), primary_key=True)
    interventions: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(BigInteger)
    anonymous: Mapped[int] = mapped_column(Integer)


class ReportClientWeek(Model):
    """Live interventions per week, client and area: a row means the client was engaged
    that week in that area (rows falling to zero are removed). Keyed week then client,
    so distinct clients of a week come off the index in order."""

    __tablename__ = "report_client_week"

    week_start: Mapped[date] = mapped_column(Date, primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    area_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    interventions: Mapped[int] = mapped_column(Integer)


class ReportClientFirst(Model):
    """Each client's first live intervention ever (time and area): new clients."""

    __tablename__ = "report_client_first"
    __table_args__ = (Index("ix_report_client_first_at", "first_at"),)

    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    first_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    area_id: Mapped[int | None] = mapped_column(Integer)


from outreach.reports import rollups as _rollups  # noqa: E402,F401  (installs with create_all)
