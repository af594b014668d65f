"""Validation rules for interventions and follow-ups as phones send them (DESIGN §8),
their canonical JSON-safe form, and the follow-up an intervention asks for.

Plain functions, no database: the sync slice checks a whole batch in Python first.
Field-level checks (`normalise_*`) look at one value at a time; record-level checks
(`check_*`) look at a complete record once a phone's values are merged with what the
server holds.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta

from outreach.interventions.codes import LOCATIONS, SUBSTANCES, TYPES_BY_CODE
from outreach.people.rules import (
    Invalid,
    check_choice,
    check_date,
    check_datetime,
    check_string,
    check_user_id,
    check_uuid,
    getter,
    run_checks,
)

NOTES_MAX = 2000
TEXT_MAX = 200
LATEST_DUE = date(2100, 1, 1)
SUBSTANCE_ORDER = {code: i for i, code in enumerate(SUBSTANCES)}
DEFAULT_FOLLOW_UP_REASON = "Follow up"

#: Fields a phone sends, in order; anything else in `data` is ignored.
INTERVENTION_FIELDS = (
    "client_id",
    "type",
    "occurred_at",
    "location",
    "substances",
    "quantity",
    "outcome",
    "referral_to",
    "follow_up_on",
    "notes",
)
INTERVENTION_REQUIRED = ("type", "occurred_at", "location")
FOLLOW_UP_FIELDS = ("client_id", "intervention_id", "due_on", "reason", "assigned_to", "done_at")
FOLLOW_UP_REQUIRED = ("client_id", "due_on", "reason")


def follow_up_id_for(intervention_id: uuid.UUID | str) -> uuid.UUID:
    """The id of the follow-up the server makes for an intervention's `follow_up_on`:
    deterministic, so a replay or a second server can never make two."""
    return uuid.uuid5(uuid.UUID(str(intervention_id)), "follow_up")


# ---------------------------------------------------------------- interventions


def _substances(value) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > len(SUBSTANCES):
        raise Invalid("Must be a list of substance codes.")
    for item in value:
        if not isinstance(item, str) or item not in SUBSTANCES:
            raise Invalid("Unknown substance.")
    # Canonical: no repeats, in the code list's order (the phone's checkbox order).
    return sorted(set(value), key=SUBSTANCE_ORDER.__getitem__)


def _quantity(value) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise Invalid("Quantity must be a whole number.")
    if value < 0 or value > 100_000:
        raise Invalid("Quantity is out of range.")
    return value


def normalise_intervention(
    data: Mapping, *, now: datetime, skew: timedelta
) -> tuple[dict, dict[str, list[str]]]:
    """Check the intervention fields present in `data`; return (canonical values,
    errors by field)."""
    errors: dict[str, list[str]] = {}
    checks = {
        "client_id": check_uuid,
        "type": lambda v: check_choice(v, TYPES_BY_CODE, what="intervention type"),
        "occurred_at": lambda v: check_datetime(v, now=now, skew=skew),
        "location": lambda v: check_choice(v, LOCATIONS, what="location"),
        "substances": _substances,
        "quantity": _quantity,
        "outcome": lambda v: check_string(v, max_length=TEXT_MAX),
        "referral_to": lambda v: check_string(v, max_length=TEXT_MAX),
        "follow_up_on": lambda v: check_date(v, earliest=date(2000, 1, 1), latest=LATEST_DUE),
        "notes": lambda v: check_string(v, max_length=NOTES_MAX),
    }
    return run_checks(data, checks, errors), errors


def check_intervention(values: Mapping) -> dict[str, list[str]]:
    """Record-level rules on a complete intervention (canonical values)."""
    errors: dict[str, list[str]] = {}
    for name in INTERVENTION_REQUIRED:
        if values.get(name) is None:
            errors[name] = ["This field is required."]
    kind = TYPES_BY_CODE.get(values.get("type"))
    quantity = values.get("quantity")
    if kind is not None:
        if kind.quantity_label:
            if quantity is None:
                errors["quantity"] = [f"Enter the number of {kind.quantity_label.lower()}."]
            elif not 1 <= quantity <= kind.quantity_max:
                errors["quantity"] = [f"Quantity must be between 1 and {kind.quantity_max}."]
        elif quantity is not None:
            errors["quantity"] = ["This type of intervention has no quantity."]
        outcome = values.get("outcome")
        if kind.outcome_choices and outcome is not None and outcome not in kind.outcome_choices:
            errors["outcome"] = ["Unknown outcome for this type."]
        if kind.referral and not values.get("referral_to"):
            errors["referral_to"] = ["Enter who they were referred to."]
    follow_up_on = values.get("follow_up_on")
    occurred_at = values.get("occurred_at")
    if follow_up_on is not None:
        if values.get("client_id") is None:
            errors["follow_up_on"] = ["An anonymous contact cannot have a follow-up."]
        elif occurred_at is not None:
            day = occurred_at[:10]
            if follow_up_on < day:
                errors["follow_up_on"] = ["Follow-up date must be on or after the contact."]
    return errors


def intervention_columns(values: Mapping) -> dict:
    """Canonical phone values to column values of `intervention`."""
    client_id = values.get("client_id")
    follow_up_on = values.get("follow_up_on")
    return {
        "client_id": uuid.UUID(client_id) if client_id else None,
        "type": values.get("type"),
        "occurred_at": datetime.fromisoformat(values["occurred_at"]),
        "location": values.get("location"),
        "substances": list(values.get("substances") or []),
        "quantity": values.get("quantity"),
        "outcome": values.get("outcome"),
        "referral_to": values.get("referral_to"),
        "follow_up_on": date.fromisoformat(follow_up_on) if follow_up_on else None,
        "notes": values.get("notes"),
    }


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _str(value) -> str | None:
    return str(value) if value is not None else None


def intervention_data(row) -> dict:
    """A stored intervention as the phone stores it (DESIGN §8 names plus the
    recording worker, version, server_seq and server timestamps)."""
    get = getter(row)
    return {
        "id": str(get("id")),
        "client_id": _str(get("client_id")),
        "type": get("type"),
        "occurred_at": _iso(get("occurred_at")),
        "location": get("location"),
        "substances": list(get("substances") or []),
        "quantity": get("quantity"),
        "outcome": get("outcome"),
        "referral_to": get("referral_to"),
        "follow_up_on": _iso(get("follow_up_on")),
        "notes": get("notes"),
        "worker_id": get("worker_id"),
        "version": get("version"),
        "server_seq": get("server_seq"),
        "created_at": _iso(get("created_at")),
        "updated_at": _iso(get("updated_at")),
        "deleted_at": _iso(get("deleted_at")),
    }


# ---------------------------------------------------------------- follow-ups


def normalise_follow_up(
    data: Mapping, *, now: datetime, skew: timedelta
) -> tuple[dict, dict[str, list[str]]]:
    """Check the follow-up fields present in `data`; return (canonical values, errors)."""
    errors: dict[str, list[str]] = {}
    checks = {
        "client_id": check_uuid,
        "intervention_id": check_uuid,
        "due_on": lambda v: check_date(v, earliest=date(2000, 1, 1), latest=LATEST_DUE),
        "reason": lambda v: check_string(v, max_length=TEXT_MAX),
        "assigned_to": check_user_id,
        "done_at": lambda v: check_datetime(v, now=now, skew=skew),
    }
    return run_checks(data, checks, errors), errors


def check_follow_up(values: Mapping) -> dict[str, list[str]]:
    """Record-level rules on a complete follow-up (canonical values)."""
    errors: dict[str, list[str]] = {}
    for name in FOLLOW_UP_REQUIRED:
        if values.get(name) is None:
            errors[name] = ["This field is required."]
    return errors


def follow_up_columns(values: Mapping) -> dict:
    """Canonical phone values to column values of `follow_up`."""
    client_id = values.get("client_id")
    intervention_id = values.get("intervention_id")
    due_on = values.get("due_on")
    done_at = values.get("done_at")
    return {
        "client_id": uuid.UUID(client_id) if client_id else None,
        "intervention_id": uuid.UUID(intervention_id) if intervention_id else None,
        "due_on": date.fromisoformat(due_on) if due_on else None,
        "reason": values.get("reason"),
        "assigned_to_id": values.get("assigned_to"),
        "done_at": datetime.fromisoformat(done_at) if done_at else None,
    }


def follow_up_data(row) -> dict:
    """A stored follow-up as the phone stores it (`assigned_to` is the user id)."""
    get = getter(row)
    return {
        "id": str(get("id")),
        "client_id": _str(get("client_id")),
        "intervention_id": _str(get("intervention_id")),
        "due_on": _iso(get("due_on")),
        "reason": get("reason"),
        "assigned_to": get("assigned_to_id"),
        "done_at": _iso(get("done_at")),
        "version": get("version"),
        "server_seq": get("server_seq"),
        "created_at": _iso(get("created_at")),
        "updated_at": _iso(get("updated_at")),
        "deleted_at": _iso(get("deleted_at")),
    }
