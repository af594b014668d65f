"""Interventions and follow-ups as phones send them (DESIGN §8): their fields, checks,
record-level rules and the rows a team's phones hold. Registered as the synced entities
`intervention` and `follow_up`.

Plain functions of their input (no database): a whole push is checked in Python first.
Field checks look at one value at a time; record-level checks (`check_*`) look at a
complete record once a phone's values are merged with what the server holds. The
follow-up an intervention asks for is a rule of this slice: `outreach.interventions.service`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.sql import ColumnCollection

from outreach.interventions.codes import LOCATIONS, SUBSTANCES, TYPES_BY_CODE
from outreach.interventions.models import FollowUp, Intervention
from outreach.records.fields import (
    Invalid,
    check_choice,
    check_date,
    check_datetime,
    check_string,
    check_user_id,
    check_uuid,
)
from outreach.records.registry import (
    SERVER_TAIL,
    Checking,
    EntitySpec,
    Field,
    Permission,
    Pusher,
    register,
)

NOTES_MAX = 2000
TEXT_MAX = 200
EARLIEST = date(2000, 1, 1)
LATEST_DUE = date(2100, 1, 1)
SUBSTANCE_ORDER = {code: i for i, code in enumerate(SUBSTANCES)}
DEFAULT_FOLLOW_UP_REASON = "Follow up"


def follow_up_id_for(intervention_id: uuid.UUID | str) -> uuid.UUID:
    """The id of the follow-up the server makes for an intervention's `follow_up_on`:
    deterministic, so a replay or a second server can never make two."""
    return uuid.uuid5(uuid.UUID(str(intervention_id)), "follow_up")


# ---------------------------------------------------------------- field checks


def _substances(value: Any, _: Checking) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > len(SUBSTANCES):
        raise Invalid("Must be a list of substance codes.")
    for item in value:
        if not isinstance(item, str) or item not in SUBSTANCES:
            raise Invalid("Unknown substance.")
    # Canonical: no repeats, in the code list's order (the phone's checkbox order).
    return sorted(set(value), key=SUBSTANCE_ORDER.__getitem__)


def _quantity(value: Any, _: Checking) -> int | None:
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


def _uuid(value: Any, _: Checking) -> str | None:
    return check_uuid(value)


def _when(value: Any, checking: Checking) -> str | None:
    return check_datetime(value, now=checking.now, skew=checking.skew)


def _day(value: Any, _: Checking) -> str | None:
    return check_date(value, earliest=EARLIEST, latest=LATEST_DUE)


def _text(limit: int):
    return lambda value, _: check_string(value, max_length=limit)


# ---------------------------------------------------------------- interventions


def check_intervention(values: Any) -> dict[str, list[str]]:
    """Record-level rules on a complete intervention (canonical values)."""
    errors: dict[str, list[str]] = {}
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
        elif occurred_at is not None and follow_up_on < occurred_at[:10]:
            errors["follow_up_on"] = ["Follow-up date must be on or after the contact."]
    return errors


def _recent(c: ColumnCollection, since: datetime) -> ColumnElement[bool]:
    return c.occurred_at >= since


def _is_recent(row: Any, since: datetime) -> bool:
    return bool(row["occurred_at"] >= since)


INTERVENTION = register(
    EntitySpec(
        name="intervention",
        model=Intervention,
        fields=(
            Field("client_id", _uuid),
            Field(
                "type",
                lambda v, _: check_choice(v, TYPES_BY_CODE, what="intervention type"),
                required=True,
            ),
            Field("occurred_at", _when, required=True),
            Field("location", lambda v, _: check_choice(v, LOCATIONS, what="location"), True),
            Field("substances", _substances),
            Field("quantity", _quantity),
            Field("outcome", _text(TEXT_MAX)),
            Field("referral_to", _text(TEXT_MAX)),
            Field("follow_up_on", _day),
            Field("notes", _text(NOTES_MAX)),
        ),
        server_fields=("worker_id", *SERVER_TAIL),
        check_record=check_intervention,
        live=_recent,
        is_live=_is_recent,
        live_columns=("occurred_at",),
        references={"client_id": "client"},
        # Most of what phones push, rarely edited: history from the first change on
        # (its version 1 is the row itself until then).
        history_on_create=False,
        later_wins="occurred_at",
    )
)


# ---------------------------------------------------------------- follow-ups


def check_follow_up(values: Any) -> dict[str, list[str]]:
    """Record-level rules on a complete follow-up beyond its required fields: none."""
    return {}


NOT_YOURS = "Only its assignee or a team lead can change this follow-up's {what}."
GIVE_AWAY = "Only a team lead can give a follow-up to someone else."


def permit_follow_up(
    pusher: Pusher, current: Mapping[str, Any] | None, values: dict[str, Any]
) -> Permission:
    """Who may plan a follow-up through push: a lead any; a worker their own (assigned
    to them, or to nobody), and only to themselves: the due date or assignee of a
    colleague's follow-up is the lead's to change (Caseload), not a worker's."""
    if pusher.lead:
        return Permission()
    errors: dict[str, list[str]] = {}
    after = values.get("assigned_to")
    if current is None:
        if after not in (None, pusher.user_id):
            errors["assigned_to"] = [GIVE_AWAY]
        return Permission(errors)
    before = current.get("assigned_to")
    kept: tuple[str, ...] = ()
    if after is None and before is not None:  # a phone that never had it: keep it
        values["assigned_to"] = after = before
        kept = ("assigned_to",)
    mine = before in (None, pusher.user_id)
    for name, what in (("due_on", "due date"), ("assigned_to", "assignee")):
        if values.get(name) != current.get(name) and not mine:
            errors[name] = [NOT_YOURS.format(what=what)]
    if mine and after != before and after not in (None, pusher.user_id):
        errors["assigned_to"] = [GIVE_AWAY]
    return Permission(errors, kept=kept)


FOLLOW_UP = register(
    EntitySpec(
        name="follow_up",
        model=FollowUp,
        fields=(
            Field("client_id", _uuid, required=True),
            Field("intervention_id", _uuid),
            Field("due_on", _day, required=True),
            Field("reason", _text(TEXT_MAX), required=True),
            Field("assigned_to", lambda v, _: check_user_id(v), column="assigned_to_id"),
            Field("done_at", _when),
        ),
        server_fields=SERVER_TAIL,
        check_record=check_follow_up,
        references={
            "client_id": "client",
            "intervention_id": "intervention",
            "assigned_to": "member",
        },
        permit=permit_follow_up,
    )
)
