"""Bulk inserts of the sync hot path (`outreach.core.bulk.insert_rows`): the rows Core
would write, and bad values refused as the database refuses them (DataError), so a
push's savepoint fallback rejects only the mutation that holds them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DataError

from outreach.core.bulk import COPY_MIN_ROWS, insert_rows
from outreach.core.extensions import db
from outreach.records.models import RecordVersion, SyncMutation


def ledger_rows(count: int, world, **over) -> list[dict]:
    now = datetime.now(UTC)
    rows = [
        {
            "mutation_id": uuid.uuid4(),
            "device_id": uuid.uuid4(),
            "user_id": world.user_ids["worker"],
            "entity": "intervention",
            "record_id": uuid.uuid4(),
            "result": {"status": "applied", "note": "tab\\there\nand a quote '\""},
            "created_at": now,
        }
        for _ in range(count)
    ]
    rows[-1].update(over)
    return rows


@pytest.mark.parametrize("count", [1, COPY_MIN_ROWS - 1, COPY_MIN_ROWS, 3 * COPY_MIN_ROWS])
def test_rows_are_stored_as_core_would_store_them(app, world, count):
    with app.app_context():
        rows = ledger_rows(count, world)
        insert_rows(SyncMutation.__table__, rows)
        db.session.commit()
        stored = {r.mutation_id: r for r in db.session.scalars(select(SyncMutation))}
        assert len(stored) == count
        for row in rows:
            got = stored[row["mutation_id"]]
            assert (got.device_id, got.record_id, got.result) == (
                row["device_id"],
                row["record_id"],
                row["result"],
            )
            assert got.created_at == row["created_at"]


@pytest.mark.parametrize("value", [2**31, 2**70, -(2**63) - 1])
@pytest.mark.parametrize("count", [2, 2 * COPY_MIN_ROWS])
def test_an_integer_out_of_range_is_refused_not_wrapped(app, world, count, value, pg_only):
    """A binary COPY would store a version of 2**31 as -2**31 without a word; beyond 64
    bits orjson refuses the value outright (TypeError), which must still be a DataError
    (as a Core insert's is), or a push's fallback could not reject just that mutation."""
    with app.app_context():
        versions = [
            {
                "entity": "intervention",
                "record_id": uuid.uuid4(),
                "version": 1,
                "reason": "create",
                "data": {},
                "losing": None,
                "actor_id": None,
                "device_id": None,
                "recorded_at": datetime.now(UTC),
            }
            for _ in range(count)
        ]
        versions[-1]["version"] = value
        with pytest.raises(DataError), db.session.begin_nested():
            insert_rows(RecordVersion.__table__, versions)
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(RecordVersion)) == 0


@pytest.mark.parametrize("count", [2, 2 * COPY_MIN_ROWS])
def test_a_value_of_the_wrong_type_is_a_data_error(app, world, count, pg_only):
    with app.app_context():
        rows = ledger_rows(count, world, record_id="not-a-uuid")
        with pytest.raises(DataError), db.session.begin_nested():
            insert_rows(SyncMutation.__table__, rows)
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(SyncMutation)) == 0


@pytest.mark.parametrize("count", [1, COPY_MIN_ROWS - 1, COPY_MIN_ROWS])
def test_every_column_reads_back_as_a_core_insert_of_the_same_row(app, world, count):
    """Byte for byte, as the database shows it: JSON None as JSON null (not SQL NULL),
    times in another zone at full precision, nested JSON, quotes and newlines."""
    from datetime import timedelta, timezone

    from sqlalchemy import String, cast, insert

    table = RecordVersion.__table__
    when = datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5)))

    def version_rows() -> list[dict]:
        return [
            {
                "entity": "client",
                "record_id": uuid.UUID(int=i + 1),
                "version": i + 1,
                "reason": 'it\'s "q"\n\tx',
                "data": {"initials": "AB", "n": [1, None, {"x": "é"}], "t": True},
                "losing": None if i % 2 else {"notes": None},
                "actor_id": world.user_ids["worker"] if i % 3 else None,
                "device_id": uuid.uuid4() if i % 2 else None,
                "recorded_at": when + timedelta(seconds=i),
            }
            for i in range(count)
        ]

    columns = [c for c in table.c if c.name not in ("id", "entity")]
    with app.app_context():
        db.session.execute(insert(table), version_rows())
        ours = [dict(row, entity="intervention") for row in version_rows()]
        for row, theirs in zip(ours, version_rows(), strict=True):
            row["device_id"] = theirs["device_id"]
        insert_rows(table, ours)
        db.session.commit()
        as_text = [cast(c, String) for c in columns] + [table.c.device_id.is_(None)]
        core = db.session.execute(
            select(*as_text).where(table.c.entity == "client").order_by(table.c.version)
        ).all()
        bulk = db.session.execute(
            select(*as_text).where(table.c.entity == "intervention").order_by(table.c.version)
        ).all()
        device = columns.index(table.c.device_id)
        strip = [tuple(v for i, v in enumerate(row) if i != device) for row in core]
        assert strip == [tuple(v for i, v in enumerate(row) if i != device) for row in bulk]
        assert db.session.scalar(select(func.count()).where(table.c.losing.is_(None))) == 0, (
            "JSON None must be stored as JSON null"
        )
