"""Client validation rules and the duplicates service."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from outreach.interventions.codes import reference_data
from outreach.people.rules import CLIENT
from outreach.records.registry import Checking

CHECKING = Checking(datetime(2026, 11, 29, 12, 0, tzinfo=UTC), timedelta(minutes=10))


def normalise_client(data):
    return CLIENT.normalise(data, CHECKING)


def test_sex_codes_are_one_list():
    """The phone's choices, the check and the database constraint agree."""
    codes = [s["code"] for s in reference_data()["sexes"]]
    assert codes == ["female", "male", "other", "not_stated"]
    for code in codes:
        assert normalise_client({"sex": code})[1] == {}
    constraint = next(
        c
        for c in CLIENT.model.__table__.constraints
        if getattr(c, "name", "") == "ck_client_sex_known"
    )
    assert all(f"'{code}'" in str(constraint.sqltext) for code in codes)


def test_valid_client_is_normalised():
    values, errors = normalise_client(
        {
            "initials": "j.d",
            "date_of_birth": "1984-06-15",
            "sex": "female",
            "postcode_district": "dh1 ",
            "known_as": "  Jo ",
            "key_worker_id": 3,
            "match_key": "ignored",
        },
    )
    assert errors == {}
    assert values == {
        "initials": "JD",
        "date_of_birth": "1984-06-15",
        "sex": "female",
        "postcode_district": "DH1",
        "known_as": "Jo",
        "key_worker_id": 3,
    }
    assert CLIENT.check(values) == {}
    assert CLIENT.columns(values)["date_of_birth"] == date(1984, 6, 15)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("initials", "J"),
        ("initials", "ABCD"),
        ("initials", 12),
        ("date_of_birth", "2027-01-01"),
        ("date_of_birth", "1899-12-31"),
        ("date_of_birth", "15/06/1984"),
        ("date_of_birth", 19840615),
        ("sex", "unknown"),
        ("postcode_district", "DH1 1AA"),
        ("postcode_district", "123"),
        ("known_as", "x" * 41),
        ("known_as", ["x"]),
        ("key_worker_id", "3"),
        ("key_worker_id", True),
        ("key_worker_id", -1),
    ],
)
def test_invalid_fields(field, value):
    _values, errors = normalise_client({field: value})
    assert field in errors


def test_required_fields():
    assert set(CLIENT.check({"initials": "JD"})) == {"date_of_birth", "sex", "postcode_district"}
