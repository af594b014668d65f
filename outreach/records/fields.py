"""Checks of single field values as phones send them, shared by every synced entity.

Each checker takes one raw JSON value and returns its canonical form (strings stripped,
uuids and dates as canonical strings, datetimes as ISO 8601 in UTC) or raises `Invalid`
with the message shown to the worker. Plain functions of their input: a whole push is
checked in Python before anything is written.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta

from outreach.core.schemas import BROKEN_TEXT, is_unicode_text


class Invalid(ValueError):
    """One field's value is not acceptable; the message is shown to the worker."""


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


def check_bool(value) -> bool | None:
    """true or false, or None (not recorded)."""
    if value is None or isinstance(value, bool):
        return value
    raise Invalid("Must be true or false.")


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


def getter(row) -> Callable:
    """`name -> value` of a model instance, a Core row or a mapping of column values."""
    if isinstance(row, Mapping):
        return row.get
    mapping = getattr(row, "_mapping", None)
    if mapping is not None:
        return mapping.get
    return lambda name: getattr(row, name, None)
