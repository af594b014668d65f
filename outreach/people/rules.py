"""Validation rules for client records as phones send them (DESIGN §8), and their
canonical, JSON-safe form.

The sync slice calls these; they are plain functions of their input (no database),
so a whole batch is checked in Python before anything is written. Values come back
in canonical form: uuids as strings, dates as ``YYYY-MM-DD``, datetimes as ISO 8601
in UTC. The same form is what `client_data` produces from a stored row, so a phone's
values, a stored row and a history copy compare equal when they mean the same thing.

The generic field checkers here (`check_string`, `check_date`, ...) are shared with
the interventions slice, which sits above this one.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta

from outreach.core.schemas import BROKEN_TEXT, is_unicode_text

# The same codes as outreach.interventions.codes.SEXES (people sits below that slice).
SEX_CODES = ("female", "male", "other", "not_stated")
INITIALS_RE = re.compile(r"^[A-Z]{2,3}$")
POSTCODE_DISTRICT_RE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")
KNOWN_AS_MAX = 40
EARLIEST_BIRTH = date(1900, 1, 1)

#: Fields a phone sends for a client, in order; all but these are ignored.
CLIENT_FIELDS = (
    "initials",
    "date_of_birth",
    "sex",
    "postcode_district",
    "known_as",
    "key_worker_id",
)
CLIENT_REQUIRED = ("initials", "date_of_birth", "sex", "postcode_district")


class Invalid(ValueError):
    """One field's value is not acceptable; the message is shown to the worker."""


# ---------------------------------------------------------------- generic checkers


def check_string(value, *, max_length: int, min_length: int = 0) -> str | None:
    """A string, stripped; empty means None. Longer than `max_length` is refused."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid("Must be text.")
    if len(value) > max_length * 4:  # do not even strip megabytes
        raise Invalid(f"Must be {max_length:,} characters or fewer.")
    value = value.strip()
    if not value:
        return None
    if len(value) > max_length:
        raise Invalid(f"Must be {max_length:,} characters or fewer.")
    if len(value) < min_length:
        raise Invalid(f"Must be at least {min_length} characters.")
    if "\x00" in value:
        raise Invalid("Must not contain control characters.")
    if not is_unicode_text(value):
        raise Invalid(BROKEN_TEXT)
    return value


def check_date(
    value,
    *,
    earliest: date | None = None,
    latest: date | None = None,
    too_late: str | None = None,
) -> str | None:
    """A calendar date as YYYY-MM-DD (canonical form), within the given bounds."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) != 10:
        raise Invalid("Must be a date like 2026-01-31.")
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise Invalid("Must be a real date like 2026-01-31.") from None
    if earliest and parsed < earliest:
        raise Invalid(f"Must be on or after {earliest.isoformat()}.")
    if latest and parsed > latest:
        raise Invalid(too_late or f"Must be on or before {latest.isoformat()}.")
    return parsed.isoformat()


def check_datetime(value, *, now: datetime, skew: timedelta) -> str | None:
    """An ISO 8601 date and time with a UTC offset, not later than now + skew.
    Canonical form: ISO 8601 in UTC."""
    if value is None:
        return None
    if not isinstance(value, str) or not 16 <= len(value) <= 40:
        raise Invalid("Must be a date and time like 2026-01-31T14:30:00+00:00.")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid("Must be a date and time like 2026-01-31T14:30:00+00:00.") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise Invalid("Must include a UTC offset, like +00:00 or Z.")
    parsed = parsed.astimezone(UTC)
    if parsed.year < 2000:
        raise Invalid("Must be in the year 2000 or later.")
    if parsed > now + skew:
        raise Invalid("Must not be in the future.")
    return parsed.isoformat()


def check_choice(value, choices, *, what: str = "value") -> str | None:
    """One of `choices` (codes), or None."""
    if value is None:
        return None
    if not isinstance(value, str) or value not in choices:
        raise Invalid(f"Unknown {what}.")
    return value


def check_uuid(value) -> str | None:
    """A UUID as a canonical string, or None."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise Invalid("Must be a UUID.")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise Invalid("Must be a UUID.") from None


def check_user_id(value) -> int | None:
    """A user id (a positive whole number), or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**31:
        raise Invalid("Must be a user id.")
    return value


def run_checks(data: Mapping, checks: Mapping[str, Callable], errors: dict[str, list[str]]) -> dict:
    """Apply `checks[field]` to each field present in `data`; collect messages."""
    values: dict = {}
    for name, check in checks.items():
        if name not in data:
            continue
        try:
            values[name] = check(data[name])
        except Invalid as exc:
            errors.setdefault(name, []).append(str(exc))
    return values


# ---------------------------------------------------------------- clients


def _initials(value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 12:
        raise Invalid("Initials must be 2 or 3 letters.")
    value = re.sub(r"[\s.]", "", value).upper()
    if not INITIALS_RE.match(value):
        raise Invalid("Initials must be 2 or 3 letters.")
    return value


def _postcode_district(value) -> str | None:
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


def normalise_client(data: Mapping, *, today: date) -> tuple[dict, dict[str, list[str]]]:
    """Check the client fields present in `data` (phone field names); return
    (canonical values of the fields present, errors by field)."""
    errors: dict[str, list[str]] = {}
    checks = {
        "initials": _initials,
        "date_of_birth": lambda v: check_date(
            v,
            earliest=EARLIEST_BIRTH,
            latest=today + timedelta(days=1),
            too_late="Date of birth must be in the past.",
        ),
        "sex": lambda v: check_choice(v, SEX_CODES, what="sex"),
        "postcode_district": _postcode_district,
        "known_as": lambda v: check_string(v, max_length=KNOWN_AS_MAX),
        "key_worker_id": check_user_id,
    }
    return run_checks(data, checks, errors), errors


def check_client(values: Mapping) -> dict[str, list[str]]:
    """Record-level rules on a complete client (canonical values)."""
    errors: dict[str, list[str]] = {}
    for name in CLIENT_REQUIRED:
        if values.get(name) is None:
            errors[name] = ["This field is required."]
    return errors


def client_columns(values: Mapping) -> dict:
    """Canonical phone values to column values of `client`."""
    dob = values.get("date_of_birth")
    return {
        "initials": values.get("initials"),
        "date_of_birth": date.fromisoformat(dob) if dob else None,
        "sex": values.get("sex"),
        "postcode_district": values.get("postcode_district"),
        "known_as": values.get("known_as"),
        "key_worker_id": values.get("key_worker_id"),
    }


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def client_data(row) -> dict:
    """A stored client as the phone stores it (DESIGN §8 names, plus server fields).

    `row` is a model instance, a Core row or a mapping of column values. The match key
    is not included: it stays on the server."""
    get = _getter(row)
    return {
        "id": str(get("id")),
        "initials": get("initials"),
        "date_of_birth": _iso(get("date_of_birth")),
        "sex": get("sex"),
        "postcode_district": get("postcode_district"),
        "known_as": get("known_as"),
        "key_worker_id": get("key_worker_id"),
        "version": get("version"),
        "server_seq": get("server_seq"),
        "created_at": _iso(get("created_at")),
        "updated_at": _iso(get("updated_at")),
        "deleted_at": _iso(get("deleted_at")),
        "merged_into_id": str(get("merged_into_id")) if get("merged_into_id") else None,
    }


def _getter(row) -> Callable:
    if isinstance(row, Mapping):
        return row.get
    mapping = getattr(row, "_mapping", None)
    if mapping is not None:
        return mapping.get
    return lambda name: getattr(row, name, None)


getter = _getter
