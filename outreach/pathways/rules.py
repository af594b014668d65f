"""Referrals and diversion episodes as phones send them (DESIGN §8): fields, checks and
record-level rules, registered as the synced entities `referral` and `episode`.

A referral is held by the referring team (`team_id`) and shared with the receiving
team (`to_team_id`) through `record_share`, so both teams' phones hold it; the rules
that read other records (consent, an agreement in force, who may move it on) are the
"check" hooks in `outreach.pathways.service`.
"""

from __future__ import annotations

import calendar
from datetime import date
from typing import Any

from outreach.interventions.rules import EARLIEST, LATEST_DUE, NOTES_MAX, TEXT_MAX
from outreach.pathways.models import (
    CLOSE_REASONS,
    DECLINE_REASONS,
    EPISODE_KINDS,
    OUTCOMES,
    REASONS,
    STATUSES,
    URGENCIES,
    Episode,
    Referral,
)
from outreach.records.fields import (
    Invalid,
    check_choice,
    check_date,
    check_datetime,
    check_string,
    check_user_id,
    check_uuid,
)
from outreach.records.registry import SERVER_TAIL, Checking, EntitySpec, Field, register

STEP_TIMES = ("sent_at", "accepted_at", "declined_at", "first_contact_at", "treatment_entry_at")
ENDED_REASONS = {**DECLINE_REASONS, **CLOSE_REASONS}
# Where a referral may go from each status (the same status is no move).
MOVES = {
    "sent": {"accepted", "declined", "closed"},
    "accepted": {"first_contact", "treatment_entry", "closed"},
    "first_contact": {"treatment_entry", "closed"},
    "treatment_entry": {"closed"},
    "declined": set(),
    "closed": set(),
}
EPISODE_MONTHS = 4
MAX_CONDITIONS = 12
MAX_SESSIONS = 200


def _uuid(value: Any, _: Checking) -> str | None:
    return check_uuid(value)


def _when(value: Any, checking: Checking) -> str | None:
    return check_datetime(value, now=checking.now, skew=checking.skew)


def _day(value: Any, _: Checking) -> str | None:
    return check_date(value, earliest=EARLIEST, latest=LATEST_DUE)


def _team_id(value: Any, _: Checking) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**31:
        raise Invalid("Must be a team id.")
    return value


def _texts(limit: int, count: int):
    def check(value: Any, _: Checking) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list) or len(value) > count:
            raise Invalid(f"Must be a list of at most {count} items.")
        out = [check_string(item, max_length=limit) for item in value]
        return [item for item in out if item]

    return check


def _days(value: Any, checking: Checking) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_SESSIONS:
        raise Invalid(f"Must be a list of at most {MAX_SESSIONS} dates.")
    return sorted({d for d in (_day(item, checking) for item in value) if d})


# ---------------------------------------------------------------- referrals


def check_referral(values: Any) -> dict[str, list[str]]:
    """Record-level rules on a complete referral (canonical values)."""
    errors: dict[str, list[str]] = {}
    status, reason = values.get("status"), values.get("closed_reason")
    if status == "declined" and reason not in DECLINE_REASONS:
        errors["closed_reason"] = ["Say why the referral is declined."]
    elif status == "closed" and reason not in CLOSE_REASONS:
        errors["closed_reason"] = ["Say why the referral is closed."]
    elif status not in ("declined", "closed") and reason is not None:
        errors["closed_reason"] = ["Only a declined or closed referral has a reason."]
    return errors


def derive_referral(row: dict[str, Any]) -> None:
    """Each step keeps its time: the first time the referral reached it."""
    status, at = row.get("status"), row.get("status_at")
    if status is None or at is None:
        return
    step = f"{status}_at"
    if row.get(step) is None:
        row[step] = at
    if status == "treatment_entry" and row.get("first_contact_at") is None:
        row["first_contact_at"] = at
    if row.get("sent_at") is None:
        row["sent_at"] = at


REFERRAL = register(
    EntitySpec(
        name="referral",
        model=Referral,
        fields=(
            Field("client_id", _uuid, required=True),
            Field("to_team_id", _team_id, required=True),
            Field("reason", lambda v, _: check_choice(v, REASONS, what="reason"), True),
            Field("urgency", lambda v, _: check_choice(v, URGENCIES, what="urgency"), True),
            Field("notes", lambda v, _: check_string(v, max_length=NOTES_MAX)),
            Field("status", lambda v, _: check_choice(v, STATUSES, what="status"), True),
            Field("status_at", _when, required=True),
            Field("closed_reason", lambda v, _: check_choice(v, ENDED_REASONS, what="reason")),
        ),
        server_fields=("team_id", *STEP_TIMES, "closed_at", *SERVER_TAIL),
        check_record=check_referral,
        references={"client_id": "client"},
        derive=derive_referral,
        shareable=True,
    )
)


# ---------------------------------------------------------------- episodes


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when it has no such day)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def check_episode(values: Any) -> dict[str, list[str]]:
    """Record-level rules on a complete episode (canonical values)."""
    errors: dict[str, list[str]] = {}
    started, planned = values.get("started_on"), values.get("planned_end_on")
    ended, outcome = values.get("ended_on"), values.get("outcome")
    if started and planned and planned < started:
        errors["planned_end_on"] = ["The planned end must be on or after the start."]
    if started and ended and ended < started:
        errors["ended_on"] = ["The end must be on or after the start."]
    if outcome and not ended:
        errors["ended_on"] = ["Enter when the episode ended."]
    elif ended and not outcome:
        errors["outcome"] = ["Enter how the episode ended."]
    return errors


def derive_episode(row: dict[str, Any]) -> None:
    """A planned end by default: four months after the start (Checkpoint's contract)."""
    if row.get("planned_end_on") is None and row.get("started_on") is not None:
        row["planned_end_on"] = add_months(row["started_on"], EPISODE_MONTHS)


EPISODE = register(
    EntitySpec(
        name="episode",
        model=Episode,
        fields=(
            Field("client_id", _uuid, required=True),
            Field("kind", lambda v, _: check_choice(v, EPISODE_KINDS, what="kind"), True),
            Field("started_on", _day, required=True),
            Field("planned_end_on", _day),
            Field("conditions", _texts(TEXT_MAX, MAX_CONDITIONS)),
            Field("navigator_id", lambda v, _: check_user_id(v)),
            Field("next_session_on", _day),
            Field("sessions", _days),
            Field("outcome", lambda v, _: check_choice(v, OUTCOMES, what="outcome")),
            Field("ended_on", _day),
        ),
        server_fields=SERVER_TAIL,
        check_record=check_episode,
        references={"client_id": "client", "navigator_id": "member"},
        derive=derive_episode,
    )
)
