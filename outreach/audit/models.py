"""Append-only audit log: who read or changed which record, from which device."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Uuid, event
from sqlalchemy.orm import Mapped, mapped_column

from outreach.core.db import BigIntPK
from outreach.core.extensions import Model
from outreach.core.types import UTCDateTime, utcnow


class AuditEvent(Model):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_entity_record", "entity", "record_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    device_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # The client's address (behind proxies: as OUTREACH_PROXY_COUNT trusts), when the
    # event came from a request.
    address: Mapped[str | None] = mapped_column(String(45))
    action: Mapped[str] = mapped_column(String(64), index=True)
    entity: Mapped[str | None] = mapped_column(String(32))
    record_id: Mapped[str | None] = mapped_column(String(64))
    # Ids and counts only: never initials, dates of birth or notes.
    detail: Mapped[dict | None] = mapped_column(JSON)


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_change(mapper, connection, target):  # pragma: no cover - guard
    raise RuntimeError("audit events are append-only")
