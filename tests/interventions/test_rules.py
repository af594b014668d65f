"""Intervention and follow-up validation rules."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from outreach.interventions.rules import FOLLOW_UP, INTERVENTION, follow_up_id_for
from outreach.records.registry import Checking

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
SKEW = timedelta(minutes=10)


def normalise_intervention(data, *, now=NOW, skew=SKEW):
    return INTERVENTION.normalise(data, Checking(now, skew))


def normalise_follow_up(data, *, now=NOW, skew=SKEW):
    return FOLLOW_UP.normalise(data, Checking(now, skew))


def good(**over) -> dict:
    data = {
        "client_id": str(uuid.uuid4()),
        "type": "naloxone_supplied",
        "occurred_at": "2026-11-29T11:00:00+01:00",
        "location": "street",
        "substances": ["crack", "opioids", "crack"],
        "quantity": 2,
    }
    data.update(over)
    return data


def test_valid_intervention_is_canonical():
    values, errors = normalise_intervention(good(), now=NOW, skew=SKEW)
    assert errors == {}
    assert values["occurred_at"] == "2026-11-29T10:00:00+00:00"
    assert values["substances"] == ["opioids", "crack"]
    assert INTERVENTION.check(values) == {}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("type", "unknown_code"),
        ("occurred_at", "2026-11-29T12:30:00+00:00"),  # beyond the clock skew
        ("occurred_at", "2026-11-29T11:00:00"),  # no offset
        ("occurred_at", "yesterday"),
        ("occurred_at", 1764410000),
        ("location", "moon"),
        ("substances", ["opioids", "plutonium"]),
        ("substances", "opioids"),
        ("quantity", "2"),
        ("quantity", 2.5),
        ("quantity", -1),
        ("notes", "x" * 2001),
        ("notes", "x" * 1_000_000),
        ("outcome", "x" * 201),
        ("client_id", "not-a-uuid"),
        ("follow_up_on", "2026-02-30"),
    ],
)
def test_invalid_fields(field, value):
    _values, errors = normalise_intervention(good(**{field: value}), now=NOW, skew=SKEW)
    assert field in errors


def test_within_clock_skew_is_accepted():
    _values, errors = normalise_intervention(
        good(occurred_at="2026-11-29T12:09:00+00:00"), now=NOW, skew=SKEW
    )
    assert errors == {}


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"quantity": 21}, "quantity"),  # naloxone: at most 20 kits
        ({"quantity": 0}, "quantity"),
        ({"quantity": None}, "quantity"),
        ({"type": "wound_care"}, "quantity"),  # this type counts nothing
        ({"type": "bbv_test", "quantity": None, "outcome": "hcv_maybe"}, "outcome"),
        ({"type": "referral_other", "quantity": None}, "referral_to"),
        ({"client_id": None, "follow_up_on": "2026-12-01"}, "follow_up_on"),
        ({"follow_up_on": "2026-11-01"}, "follow_up_on"),
        ({"location": None}, "location"),
    ],
)
def test_record_rules(over, field):
    values, errors = normalise_intervention(good(**over), now=NOW, skew=SKEW)
    assert errors == {}
    assert field in INTERVENTION.check(values)


def test_follow_up_rules_and_deterministic_id():
    values, errors = normalise_follow_up(
        {
            "client_id": str(uuid.uuid4()),
            "due_on": "2026-12-01",
            "reason": " Check in ",
            "done_at": "2026-11-29T11:00:00Z",
            "assigned_to": 4,
        },
        now=NOW,
        skew=SKEW,
    )
    assert errors == {} and values["reason"] == "Check in"
    assert values["done_at"] == "2026-11-29T11:00:00+00:00"
    assert FOLLOW_UP.check({"client_id": None, "due_on": None, "reason": None}).keys() == {
        "client_id",
        "due_on",
        "reason",
    }
    _v, errors = normalise_follow_up({"done_at": "2027-01-01T00:00:00Z"}, now=NOW, skew=SKEW)
    assert "done_at" in errors
    iid = uuid.uuid4()
    assert follow_up_id_for(iid) == follow_up_id_for(str(iid)) == uuid.uuid5(iid, "follow_up")
