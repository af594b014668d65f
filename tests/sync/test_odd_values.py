"""Every field of every record, and every part of a mutation, given values no phone
should send: each push still answers 200 with one result per mutation (applied or
rejected), never a 500 that would block the phone's whole outbox."""

from __future__ import annotations

import json
import uuid

import pytest

from outreach.core.schemas import is_unicode_text
from tests.sync.helpers import client_data, intervention_data, mutation

ODD_VALUES = [
    *(float("nan"), float("inf"), -float("inf"), 1e308, 0.5, -1, 0, True, None),
    *(2**63, 2**70, -(2**70)),  # beyond PostgreSQL's BIGINT
    *([], {}, [None], [1], ["\ud800"], {"a": 1}),
    *("", " ", "\x00", "\ud800", "x" * 5000, "٣٣", "1e5", "2026-W48"),
    *("9999-12-31", "0000-01-01", "-0001-01-01", "2026-02-30", "+002026-01-01"),
    *("2026-11-28T10:00:00+99:00", "2026-11-28T25:00:00Z", "99999-01-01T00:00:00+00:00"),
]
EXTRA_KEYS = ["extra", "id", "version", "deleted_at", "assigned_to_id", "team_id", "worker_id"]
ENVELOPE_KEYS = ["mutation_id", "entity", "op", "id", "base_version", "data"]


def _push(api, mutations):
    """Written by the standard library, which sends NaN, Infinity and lone surrogates."""
    body = {"device_id": str(api.device_id), "schema_version": 1, "mutations": mutations}
    headers = {**api.headers, "Content-Type": "application/json"}
    return api.client.post("/api/v1/sync/push", data=json.dumps(body), headers=headers)


def _records(client_id: str) -> dict[str, dict]:
    return {
        "client": client_data(),
        "intervention": intervention_data(
            client_id, type="naloxone_supplied", quantity=1, notes="Given a kit"
        ),
        "follow_up": {"client_id": client_id, "due_on": "2030-01-01", "reason": "Check in"},
    }


@pytest.mark.parametrize("entity", ["client", "intervention", "follow_up"])
def test_odd_values_in_any_field_are_answered_per_mutation(worker, entity):
    client = mutation("client", client_data())
    assert _push(worker, [client]).status_code == 200
    record = _records(client["id"])[entity]
    failures = []
    for key in [*record, *EXTRA_KEYS]:
        batch = [mutation(entity, {**record, key: value}) for value in ODD_VALUES]
        failures += _failures(worker, batch, f"data.{key}")
    for key in ENVELOPE_KEYS:
        batch = [{**mutation(entity, dict(record)), key: value} for value in ODD_VALUES]
        failures += _failures(worker, batch, key)
    assert not failures, failures


def _failures(api, batch, where) -> list[str]:
    """The push must answer, with one result per mutation in order."""
    response = _push(api, batch)
    if response.status_code != 200:
        return [f"{where}: {response.status_code}"]
    results = response.get_json()["results"]
    if [r["mutation_id"] for r in results] != [_echoed(m) for m in batch]:
        return [f"{where}: results do not match the mutations"]
    return []


def _echoed(mutation) -> str | None:
    """What a result names as its mutation: the id the phone sent, if it is a UUID or
    short text (no NUL, no broken character)."""
    try:
        return str(uuid.UUID(mutation["mutation_id"]))
    except (TypeError, ValueError, AttributeError):
        value = mutation.get("mutation_id")
        short = isinstance(value, str) and len(value) <= 64
        return value if short and "\x00" not in value and is_unicode_text(value) else None


@pytest.mark.parametrize("key", ["device_id", "schema_version", "mutations"])
def test_odd_values_in_the_envelope_are_a_4xx(worker, key):
    # A list as `mutations` is a push (answered per mutation: the test below), not an
    # odd envelope.
    values = [v for v in ODD_VALUES if not (key == "mutations" and isinstance(v, list))]
    for value in values:
        body = {"device_id": str(worker.device_id), "schema_version": 1, "mutations": []}
        body[key] = value
        headers = {**worker.headers, "Content-Type": "application/json"}
        r = worker.client.post("/api/v1/sync/push", data=json.dumps(body), headers=headers)
        assert 400 <= r.status_code < 500, (key, value, r.status_code)
        error = r.get_json()
        assert error["code"] == r.status_code and error["message"], (key, value, error)
        assert key in error["errors"], (key, value, error)


def test_mutations_that_are_not_objects_are_each_rejected(worker):
    odd = [v for v in ODD_VALUES if not isinstance(v, dict)]
    r = _push(worker, odd)
    assert r.status_code == 200
    results = r.get_json()["results"]
    assert len(results) == len(odd)
    assert {x["status"] for x in results} == {"rejected"}
    assert all(x["errors"] == {"_schema": ["A mutation must be an object."]} for x in results)


def test_a_list_as_entity_is_rejected_not_a_500(worker):
    """Found by the sweep above: an unhashable entity (a list or object) failed the whole
    push with a 500 instead of rejecting that one mutation."""
    odd = {**mutation("client", client_data()), "entity": ["client"]}
    good = mutation("client", client_data())
    r = _push(worker, [odd, good])
    assert r.status_code == 200
    assert [x["status"] for x in r.get_json()["results"]] == ["rejected", "applied"]
    assert "entity" in r.get_json()["results"][0]["errors"]
    assert uuid.UUID(r.get_json()["results"][1]["id"])
