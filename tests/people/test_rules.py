"""Client validation rules and the duplicates service."""

from __future__ import annotations

from datetime import date

import pytest

from outreach.interventions.codes import SEXES
from outreach.people.rules import SEX_CODES, check_client, client_columns, normalise_client

TODAY = date(2026, 11, 29)


def test_sex_codes_agree_with_the_code_list():
    assert tuple(SEXES) == SEX_CODES


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
        today=TODAY,
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
    assert check_client(values) == {}
    assert client_columns(values)["date_of_birth"] == date(1984, 6, 15)


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
    _values, errors = normalise_client({field: value}, today=TODAY)
    assert field in errors


def test_required_fields():
    assert set(check_client({"initials": "JD"})) == {"date_of_birth", "sex", "postcode_district"}
