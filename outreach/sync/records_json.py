"""Pull changes as JSON written by PostgreSQL.

A pull page carries up to 500 records; turning each row into Python values and then
into JSON took most of a pull's time (about 60 microseconds a record, bench/load.py).
On PostgreSQL the page's change objects are built by the query itself, as JSON text
equal to what `serialize(entity, row)` gives (same keys in the same order, the same
strings for ids, dates and UTC times), and go into the response untouched
(`orjson.Fragment`). tests/sync/test_records_json.py holds the two to each other.
SQLite keeps the Python path.
"""

from __future__ import annotations

import functools

from sqlalchemy import JSON, Text, case, cast, func, literal_column, or_
from sqlalchemy.sql.elements import ColumnElement

from outreach.core.types import UTCDateTime
from outreach.records.registry import ENTITIES


def _text(value: str) -> ColumnElement:
    """A constant string in the statement itself (our own names only), so the statement
    text is the same on every call and the driver prepares it once."""
    return literal_column(f"'{value}'")


def _utc_iso(column) -> ColumnElement:
    """`datetime.isoformat()` of the UTC time: microseconds only when not zero, all six
    digits, then +00:00. NULL stays NULL (JSON null). One to_char and a replace: a
    third of the cost of testing the microseconds first, at 500 records a page."""
    text = func.to_char(
        func.timezone(_text("UTC"), column), _text('YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')
    )
    return func.replace(text, _text(".000000+"), _text("+"))


def _value(column) -> ColumnElement:
    if isinstance(column.type, UTCDateTime):
        return _utc_iso(column)
    if isinstance(column.type, JSON):  # substances: a list, [] when missing
        empty = or_(column.is_(None), func.json_typeof(column) == _text("null"))
        return case((empty, literal_column("'[]'::json")), else_=column)
    return column


@functools.cache
def change_json(entity: str) -> ColumnElement:
    """The JSON text of an `upsert` change of one row of `entity`: entity, op, id,
    version, server_seq and data, as pull sends it."""
    spec = ENTITIES[entity]
    table = spec.model.__table__
    data: list = []
    for name, column in spec.wire:
        data += [_text(name), _value(table.c[column])]
    change = func.json_build_object(
        _text("entity"),
        _text(entity),
        _text("op"),
        _text("upsert"),
        _text("id"),
        table.c.id,
        _text("version"),
        table.c.version,
        _text("server_seq"),
        table.c.server_seq,
        _text("data"),
        func.json_build_object(*data),
    )
    return cast(change, Text).label("change_json")
