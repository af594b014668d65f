"""Write and read audit events. Details hold ids and counts, never personal data."""

from __future__ import annotations

import uuid
from datetime import datetime

from flask import has_request_context, request
from sqlalchemy import Select, select

from outreach.audit.models import AuditEvent
from outreach.core.bulk import insert_rows
from outreach.core.extensions import db
from outreach.core.types import utcnow


def record_event(
    action: str,
    *,
    actor_id: int | None,
    device_id: uuid.UUID | None = None,
    entity: str | None = None,
    record_id: object = None,
    detail: dict | None = None,
) -> None:
    """Add one audit event to the current transaction (with the request's address)."""
    db.session.add(
        AuditEvent(
            at=utcnow(),
            actor_id=actor_id,
            device_id=device_id,
            address=_address(),
            action=action,
            entity=entity,
            record_id=str(record_id) if record_id is not None else None,
            detail=detail,
        )
    )


def _address() -> str | None:
    """The client address of the current request, if any."""
    if not has_request_context():
        return None
    address = request.remote_addr
    return address[:45] if address else None


def event_rows(rows: list[dict]) -> list[dict]:
    """Column values of audit events, for a bulk insert: each row as for record_event."""
    now = utcnow()
    address = _address()
    return [
        {
            "at": now,
            "actor_id": r.get("actor_id"),
            "device_id": r.get("device_id"),
            "address": address,
            "action": r["action"],
            "entity": r.get("entity"),
            "record_id": str(r["record_id"]) if r.get("record_id") is not None else None,
            "detail": r.get("detail"),
        }
        for r in rows
    ]


def record_events(rows: list[dict]) -> None:
    """Bulk-insert audit events. Each row as for record_event."""
    if rows:
        insert_rows(AuditEvent.__table__, event_rows(rows))


def events_query(
    *,
    actor_id: int | None = None,
    device_id: uuid.UUID | None = None,
    action: str | None = None,
    entity: str | None = None,
    record_id: str | None = None,
    address: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Select:
    """The audit events that pass the filters, newest first. `action` ending in `*` is a
    prefix (`read.*`: every audited read of personal data)."""
    stmt = select(AuditEvent)
    if actor_id is not None:
        stmt = stmt.where(AuditEvent.actor_id == actor_id)
    if device_id is not None:
        stmt = stmt.where(AuditEvent.device_id == device_id)
    if action and action.endswith("*"):
        prefix = action[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(AuditEvent.action.like(prefix + "%", escape="\\"))
    elif action:
        stmt = stmt.where(AuditEvent.action == action)
    if address:
        stmt = stmt.where(AuditEvent.address == address)
    if entity:
        stmt = stmt.where(AuditEvent.entity == entity)
    if record_id:
        stmt = stmt.where(AuditEvent.record_id == record_id)
    if since:
        stmt = stmt.where(AuditEvent.at >= since)
    if until:
        stmt = stmt.where(AuditEvent.at < until)
    return stmt.order_by(AuditEvent.id.desc())
