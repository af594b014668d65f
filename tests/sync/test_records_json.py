"""The change JSON PostgreSQL writes for pull pages (`outreach.sync.records_json`) is
what the Python serialiser gives, key for key and string for string."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import orjson
import pytest
from sqlalchemy import insert, select, text

from outreach.core.extensions import db
from outreach.interventions.models import FollowUp, Intervention
from outreach.people.models import Client
from outreach.records.registry import ENTITIES, serialize
from outreach.sync.pull import _change
from outreach.sync.records_json import change_json

# Microseconds none, trailing zeros, one; a time far back; a time near midnight.
TIMES = [
    datetime(2026, 3, 29, 1, 0, 0, tzinfo=UTC),
    datetime(2026, 3, 29, 0, 59, 59, 500000, tzinfo=UTC),
    datetime(2026, 10, 25, 1, 30, 0, 1, tzinfo=UTC),
    datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
]
TEXTS = [None, "", 'it\'s "quoted"\n\ttabbed \\ back', "Zoë 😀 \u2028 </script>", "a" * 40]


def _rows(world):
    team, area = world.team_ids["street"], world.area_ids["durham"]
    worker = world.user_ids["worker"]
    clients, interventions, follow_ups = [], [], []
    for i, when in enumerate(TIMES + TIMES):
        client_id = uuid.uuid4()
        clients.append(
            {
                "id": client_id,
                "team_id": team,
                "area_id": area,
                "initials": ["AB", "Z"][i % 2],
                "date_of_birth": [date(1980, 2, 29), date(2001, 12, 1)][i % 2],
                "sex": "female",
                "postcode_district": "DH1",
                "known_as": TEXTS[i % len(TEXTS)],
                "key_worker_id": [worker, None][i % 2],
                "version": i + 1,
                "server_seq": 10 + i,
                "created_at": when,
                "updated_at": when + timedelta(seconds=i),
                "deleted_at": [None, when][i % 2],
                "merged_into_id": None,
            }
        )
        intervention_id = uuid.uuid4()
        interventions.append(
            {
                "id": intervention_id,
                "client_id": [client_id, None][i % 2],
                "worker_id": worker,
                "team_id": team,
                "area_id": area,
                "type": "naloxone_supplied",
                "occurred_at": when,
                "location": "street",
                "substances": [[], ["opioids", "crack"], None][i % 3],
                "quantity": [None, 2][i % 2],
                "outcome": TEXTS[(i + 1) % len(TEXTS)],
                "referral_to": None,
                "follow_up_on": [None, date(2026, 12, 31)][i % 2],
                "notes": TEXTS[(i + 2) % len(TEXTS)],
                "version": 1,
                "server_seq": 100 + i,
                "created_at": when,
                "updated_at": when,
                "deleted_at": None,
            }
        )
        follow_ups.append(
            {
                "id": uuid.uuid4(),
                "client_id": client_id,
                "team_id": team,
                "intervention_id": [intervention_id, None][i % 2],
                "due_on": date(2027, 1, 1 + i),
                "reason": TEXTS[2],
                "assigned_to_id": [None, worker][i % 2],
                "created_by_id": worker,
                "done_at": [None, when][i % 2],
                "version": 3,
                "server_seq": 200 + i,
                "created_at": when,
                "updated_at": when,
                "deleted_at": None,
            }
        )
    return {"client": clients, "intervention": interventions, "follow_up": follow_ups}


@pytest.mark.parametrize("entity", ["client", "intervention", "follow_up"])
def test_database_json_equals_the_python_serialiser(app, world, entity, pg_only):
    with app.app_context():
        rows = _rows(world)
        for name, model in (("client", Client), ("intervention", Intervention)):
            db.session.execute(insert(model.__table__), rows[name])
        db.session.execute(insert(FollowUp.__table__), rows["follow_up"])
        # A substances value stored as JSON null reads as an empty list too.
        db.session.execute(
            text("UPDATE intervention SET substances = 'null'::json WHERE quantity IS NULL")
        )
        table = ENTITIES[entity].model.__table__
        stored = db.session.execute(select(table, change_json(entity))).all()
        assert len(stored) == len(TIMES) * 2
        for row in stored:
            expected = _change(
                entity, "upsert", row.id, row.version, row.server_seq, serialize(entity, row)
            )
            got = orjson.loads(row.change_json)
            assert list(got.items()) == list(expected.items())  # same order, same strings
            assert list(got["data"]) == list(expected["data"])


# Columns phones never hold: scope, matching, provenance and retention bookkeeping.
SERVER_ONLY = {
    "client": {"area_id", "match_key", "created_by_id", "anonymised_at", "consent_recorded_by_id"},
    "intervention": {"team_id", "area_id", "device_id"},
    "follow_up": {"team_id", "created_by_id"},
    "referral": {"area_id", "partnership_id", "created_by_id", "responded_by_id"},
    "episode": {"team_id", "area_id", "created_by_id"},
}


def test_every_column_is_sent_to_phones_or_kept_on_purpose(app, world):
    """A column added to a synced table must be sent to phones (a field of its spec)
    or named here as server-only: never silently left out of the phone's copy."""
    with app.app_context():
        for entity, spec in ENTITIES.items():
            table = spec.model.__table__
            sent = {column for _, column in spec.wire}
            assert sent <= set(table.c.keys())
            assert set(table.c.keys()) - sent == SERVER_ONLY[entity], entity
            row = {c.name: None for c in table.c}
            assert list(serialize(entity, row)) == [name for name, _ in spec.wire]
