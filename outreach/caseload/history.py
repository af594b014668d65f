"""A client's history: interventions, follow-ups, key-worker changes and merges, with
who recorded each and when it was recorded versus when it happened."""

from __future__ import annotations

from datetime import UTC, datetime, time

from sqlalchemy import select

from outreach.access.models import User
from outreach.audit.models import AuditEvent
from outreach.caseload.service import SHARED_ASSIGN_ACTION
from outreach.core.extensions import db
from outreach.interventions.models import FollowUp, Intervention
from outreach.people.models import Client
from outreach.people.rules import PUSH_ASSIGN_ACTION
from outreach.records.models import RecordVersion


def client_history(client: Client, team_id: int) -> list[dict]:
    """Every event of the client the team recorded, newest first (by when it happened,
    else when recorded): another team's interventions and follow-ups with a client it
    shares are that team's own. A client another team shared with this one shows the
    key-worker changes of this team (on its share), not the owning team's."""
    events: list[dict] = []
    for iv in db.session.scalars(
        select(Intervention).where(
            Intervention.client_id == client.id,
            Intervention.team_id == team_id,
            Intervention.deleted_at.is_(None),
        )
    ):
        events.append(
            {
                "kind": "intervention",
                "record_id": iv.id,
                "occurred_at": iv.occurred_at,
                "recorded_at": iv.created_at,
                "recorded_by_id": iv.worker_id,
                "type": iv.type,
                "location": iv.location,
                "quantity": iv.quantity,
                "outcome": iv.outcome,
                "referral_to": iv.referral_to,
                "notes": iv.notes,
            }
        )
    for fu in db.session.scalars(
        select(FollowUp).where(
            FollowUp.client_id == client.id,
            FollowUp.team_id == team_id,
            FollowUp.deleted_at.is_(None),
        )
    ):
        events.append(
            {
                "kind": "follow_up",
                "record_id": fu.id,
                "occurred_at": fu.done_at,
                "recorded_at": fu.created_at,
                "recorded_by_id": fu.created_by_id,
                "due_on": fu.due_on,
                "reason": fu.reason,
                "assigned_to_id": fu.assigned_to_id,
                "done_at": fu.done_at,
            }
        )
    if client.team_id == team_id:
        events.extend(_client_changes(client))
    else:
        events.extend(_shared_changes(client, team_id))
    names = _names({e.get(k) for e in events for k in _USER_KEYS} - {None})
    for event in events:
        event["recorded_by_name"] = names.get(event.get("recorded_by_id"))  # type: ignore[arg-type]
        for key in ("assigned_to_id", "from_worker_id", "to_worker_id"):
            if key in event:
                event[key.replace("_id", "_name")] = names.get(event[key])
    events.sort(key=_when, reverse=True)
    return events


# A lead's reassignment: through Caseload, or a key-worker change in a push.
ASSIGN_ACTIONS = ("caseload.assign", PUSH_ASSIGN_ACTION)
_USER_KEYS = ("recorded_by_id", "assigned_to_id", "from_worker_id", "to_worker_id")


def _when(event: dict) -> datetime:
    if event["kind"] == "follow_up" and event["done_at"] is None:
        return datetime.combine(event["due_on"], time(12), tzinfo=UTC)
    return event["occurred_at"] or event["recorded_at"]


def _names(user_ids: set) -> dict[int, str]:
    if not user_ids:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(user_ids))).all())


def _client_changes(client: Client) -> list[dict]:
    """Key-worker changes and merges, read from the client's recorded versions; the
    reason code of a lead's reassignment comes from its audit event."""
    rows = db.session.scalars(
        select(RecordVersion)
        .where(RecordVersion.entity == "client", RecordVersion.record_id == client.id)
        .order_by(RecordVersion.version, RecordVersion.id)
    ).all()
    versions = [row for row in rows if not row.losing]  # losing values: not a state
    audits = {}
    for event in db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.entity == "client",
            AuditEvent.record_id == str(client.id),
            AuditEvent.action.in_((*ASSIGN_ACTIONS, "caseload.merge")),
        )
    ):
        detail = event.detail or {}
        kind = "assign" if event.action in ASSIGN_ACTIONS else "merge"
        audits[(kind, detail.get("version"))] = detail
    out: list[dict] = []
    previous = None
    for index, row in enumerate(versions):
        data = row.data or {}
        worker = data.get("key_worker_id")
        audit = audits.get(("assign", row.version))
        if index == 0:
            before = audit.get("from") if audit else None
            changed = (row.version == 1 and worker is not None) or audit is not None
        else:
            before = previous
            changed = worker != previous
        if changed:
            out.append(
                {
                    "kind": "key_worker_change",
                    "record_id": client.id,
                    "occurred_at": None,
                    "recorded_at": row.recorded_at,
                    "recorded_by_id": row.actor_id,
                    "from_worker_id": before,
                    "to_worker_id": worker,
                    "change_reason": audit.get("reason") if audit else row.reason,
                }
            )
        if row.reason == "merge":
            merged = audits.get(("merge", row.version)) or {}
            out.append(
                {
                    "kind": "merge",
                    "record_id": client.id,
                    "occurred_at": None,
                    "recorded_at": row.recorded_at,
                    "recorded_by_id": row.actor_id,
                    "merged_client_id": merged.get("merged_client_id"),
                }
            )
        previous = worker
    return out


def _shared_changes(client: Client, team_id: int) -> list[dict]:
    """Key-worker changes of the team for a client another team shared with it (its
    lead's assignments, kept on the share and audited)."""
    out = []
    for event in db.session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.entity == "client",
            AuditEvent.record_id == str(client.id),
            AuditEvent.action == SHARED_ASSIGN_ACTION,
        )
        .order_by(AuditEvent.at, AuditEvent.id)
    ):
        detail = event.detail or {}
        if detail.get("team_id") != team_id:
            continue
        out.append(
            {
                "kind": "key_worker_change",
                "record_id": client.id,
                "occurred_at": None,
                "recorded_at": event.at,
                "recorded_by_id": event.actor_id,
                "from_worker_id": detail.get("from"),
                "to_worker_id": detail.get("to"),
                "change_reason": detail.get("reason"),
            }
        )
    return out
