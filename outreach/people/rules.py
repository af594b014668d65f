"""The client record as phones send it (DESIGN §8): its fields, their checks, the rows a
team's phones hold, and the codes of `sex`. Registered as the synced entity `client`.

Plain functions of their input (no database): a whole push is checked in Python before
anything is written. Values come back in canonical form (dates as ``YYYY-MM-DD``), the
form `serialize` gives of a stored row, so a phone's values, a stored row and a history
copy compare equal when they mean the same thing.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_
from sqlalchemy.sql import ColumnCollection

from outreach.people.matching import compute_match_key
from outreach.people.models import SEXES, Client
from outreach.records.fields import (
    Invalid,
    check_bool,
    check_choice,
    check_date,
    check_datetime,
    check_string,
    check_user_id,
)
from outreach.records.registry import (
    Checking,
    EntitySpec,
    Field,
    Permission,
    Pusher,
    register,
)
from outreach.records.unit import UnitOfWork

SEX_CODES = tuple(SEXES)
INITIALS_RE = re.compile(r"^[A-Z]{2,3}$")
POSTCODE_DISTRICT_RE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")
KNOWN_AS_MAX = 40
EARLIEST_BIRTH = date(1900, 1, 1)


def _initials(value: Any, _: Checking) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 12:
        raise Invalid("Initials must be 2 or 3 letters.")
    value = re.sub(r"[\s.]", "", value).upper()
    if not INITIALS_RE.match(value):
        raise Invalid("Initials must be 2 or 3 letters.")
    return value


def _date_of_birth(value: Any, checking: Checking) -> str | None:
    return check_date(
        value,
        earliest=EARLIEST_BIRTH,
        latest=checking.today + timedelta(days=1),
        too_late="Date of birth must be in the past.",
    )


def _postcode_district(value: Any, _: Checking) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 12:
        raise Invalid("Enter a postcode district like DH1 or SW1A.")
    value = re.sub(r"\s", "", value).upper()
    if not value:
        return None
    if not POSTCODE_DISTRICT_RE.match(value):
        raise Invalid(
            "Enter a postcode district like DH1 or SW1A (first half of the postcode only)."
        )
    return value


def _when(value: Any, checking: Checking) -> str | None:
    return check_datetime(value, now=checking.now, skew=checking.skew)


def check_client(values: Any) -> dict[str, list[str]]:
    """Record-level rules on a complete client: consent recorded has its time."""
    if values.get("consent_to_share") is not None and not values.get("consent_recorded_at"):
        return {"consent_recorded_at": ["Enter when consent was given or withdrawn."]}
    return {}


def _live(c: ColumnCollection, since: datetime) -> ColumnElement[bool]:
    return and_(c.merged_into_id.is_(None), c.anonymised_at.is_(None))


def _is_live(row: Any, since: datetime) -> bool:
    return row["merged_into_id"] is None and row["anonymised_at"] is None


def resolve_client(uow: UnitOfWork, client_id: uuid.UUID, team_id: int) -> uuid.UUID | None:
    """The live client a reference to `client_id` means for the team: a merged client's
    survivor (a few hops at most), None for one deleted, anonymised, or of another team
    and not shared with this one."""
    for _ in range(6):
        row = uow.get("client", client_id)
        if row is None:
            return None
        if row["team_id"] != team_id and team_id not in uow.holders("client", client_id):
            return None
        if row["merged_into_id"] is not None:
            client_id = row["merged_into_id"]
            continue
        if row["deleted_at"] is not None or row["anonymised_at"] is not None:
            return None
        return client_id
    return None


KEY_WORKER_LEAD_ONLY = (
    "Only a team lead can change a client's key worker (Caseload, Assign). "
    "The client's other changes can be sent without it."
)
# A lead's key-worker change through push is audited as the caseload's assign is
# (`outreach.caseload.service.assign_clients`), so a client's history shows it.
PUSH_ASSIGN_ACTION = "sync.assign"


def permit_client(
    pusher: Pusher, current: Mapping[str, Any] | None, values: dict[str, Any]
) -> Permission:
    """Who may set a client's key worker through push: a worker only when creating the
    client (themselves unless they name another member); a lead at any time, audited
    as a reassignment."""
    if current is None:
        if values.get("key_worker_id") is None and not pusher.lead:
            values["key_worker_id"] = pusher.user_id
        return Permission()
    before, after = current.get("key_worker_id"), values.get("key_worker_id")
    if before == after:
        return Permission()
    if after is None and not pusher.lead:  # a phone that never had it: keep it
        values["key_worker_id"] = before
        return Permission(kept=("key_worker_id",))
    if not pusher.lead:
        return Permission(errors={"key_worker_id": [KEY_WORKER_LEAD_ONLY]})
    return Permission(
        audit_action=PUSH_ASSIGN_ACTION,
        audit_detail={"from": before, "to": after, "reason": "other", "follow_ups": 0},
    )


def _derive(row: dict[str, Any]) -> None:
    row["match_key"] = compute_match_key(row["initials"], row["date_of_birth"], row["sex"])


CLIENT = register(
    EntitySpec(
        name="client",
        model=Client,
        fields=(
            Field("initials", _initials, required=True),
            Field("date_of_birth", _date_of_birth, required=True),
            Field("sex", lambda v, _: check_choice(v, SEX_CODES, what="sex"), required=True),
            Field("postcode_district", _postcode_district, required=True),
            Field("known_as", lambda v, _: check_string(v, max_length=KNOWN_AS_MAX)),
            Field("key_worker_id", lambda v, _: check_user_id(v)),
            Field("consent_to_share", lambda v, _: check_bool(v)),
            Field("consent_recorded_at", _when),
        ),
        server_fields=(
            "version",
            "server_seq",
            "created_at",
            "updated_at",
            "deleted_at",
            "merged_into_id",
            "team_id",
        ),
        check_record=check_client,
        live=_live,
        is_live=_is_live,
        live_columns=("merged_into_id", "anonymised_at"),
        references={"key_worker_id": "member"},
        derive=_derive,
        resolve=resolve_client,
        shareable=True,
        permit=permit_client,
    )
)
