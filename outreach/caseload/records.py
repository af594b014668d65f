"""Records as the phone stores them (DESIGN §8 field names), for history rows.

The sync slice is adding the shared serializer `outreach.sync.records.serialize`; when it
is importable it is used, so history written here matches history written by a push.
"""

from __future__ import annotations

from datetime import date, datetime


def _iso(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _id(value):
    return str(value) if value is not None else None


def _local_serialize(entity: str, row) -> dict:
    """The record's synced fields, JSON-safe."""
    if entity == "client":
        data = {
            "id": _id(row.id),
            "initials": row.initials,
            "date_of_birth": _iso(row.date_of_birth),
            "sex": row.sex,
            "postcode_district": row.postcode_district,
            "known_as": row.known_as,
            "key_worker_id": row.key_worker_id,
        }
        if row.merged_into_id is not None:
            data["merged_into_id"] = _id(row.merged_into_id)
        return data
    if entity == "intervention":
        return {
            "id": _id(row.id),
            "client_id": _id(row.client_id),
            "type": row.type,
            "occurred_at": _iso(row.occurred_at),
            "location": row.location,
            "substances": list(row.substances or []),
            "quantity": row.quantity,
            "outcome": row.outcome,
            "referral_to": row.referral_to,
            "follow_up_on": _iso(row.follow_up_on),
            "notes": row.notes,
        }
    if entity == "follow_up":
        return {
            "id": _id(row.id),
            "client_id": _id(row.client_id),
            "due_on": _iso(row.due_on),
            "reason": row.reason,
            "assigned_to": row.assigned_to_id,
            "done_at": _iso(row.done_at),
        }
    raise ValueError(f"unknown entity {entity!r}")


def serialize(entity: str, row) -> dict:
    """The shared serializer if the sync slice provides one, else the local one."""
    try:
        from outreach.sync.records import serialize as shared
    except ImportError:
        return _local_serialize(entity, row)
    return shared(entity, row)
