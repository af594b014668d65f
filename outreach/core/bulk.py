"""Bulk inserts for the sync hot path: the rows Core `insert(table)` would write from a
list of dicts, without SQLAlchemy's per-row parameter handling.

* PostgreSQL (psycopg 3), 50 rows or more: binary `COPY ... FROM STDIN` with the
  columns' types set up front, about twice the rate of executemany (which psycopg runs
  as one pipelined statement per row); naming the types saves a dumper lookup per value
  (a third of the client CPU of an untyped COPY).
* PostgreSQL, fewer rows (a phone's usual push): one `INSERT ... SELECT ... FROM
  json_to_recordset(%s::json)`, whose text is the same on every call, so psycopg
  prepares it once (COPY costs extra round trips; a multi-row VALUES list has a
  parameter per value, which psycopg parses afresh on every call).
* SQLite: the driver's executemany of tuples.

Each value goes through its column type's bind processor, as Core would
(JSON `None` still becomes JSON `null`, UTC datetimes are checked and converted), and
a database error is raised as SQLAlchemy's (`IntegrityError`, `DataError`, ...), so a
savepoint around the insert behaves the same. Rows missing a column that has a Python
default, or another driver, take the plain Core executemany.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence

from sqlalchemy import JSON, Table, exc, insert
from sqlalchemy.sql import FromClause

from outreach.core import jsonio
from outreach.core.extensions import db

# Below this, one json_to_recordset INSERT beats COPY's extra round trips.
COPY_MIN_ROWS = 50


@functools.cache
def _plan(table: Table, keys: tuple[str, ...], dialect) -> tuple[str, list, list | None] | None:
    """(statement, bind processor per key, COPY type names or None), or None when Core
    must do the insert."""
    if any(c.default is not None and c.name not in keys for c in table.columns):
        return None
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(table.c[k].name) for k in keys)
    target = dialect.identifier_preparer.format_table(table)
    types = None
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        types = _copy_types(table, keys, dialect)
        binary = " (FORMAT binary)" if types else ""
        statement = f"COPY {target} ({names}) FROM STDIN{binary}"
    elif dialect.paramstyle == "qmark":
        statement = f"INSERT INTO {target} ({names}) VALUES ({', '.join('?' * len(keys))})"
    else:
        return None
    processors = [table.c[k].type.dialect_impl(dialect).bind_processor(dialect) for k in keys]
    return statement, processors, types


def _copy_types(table: Table, keys: tuple[str, ...], dialect) -> list[str] | None:
    """psycopg's names of the columns' types ("VARCHAR(20)" -> varchar), or None if
    one is unknown (then the COPY is text and psycopg picks a dumper per value)."""
    from psycopg import adapters

    names = []
    for key in keys:
        ddl = table.c[key].type.compile(dialect=dialect).lower()
        if "[" in ddl or "array" in ddl:  # psycopg would name the element type
            return None
        info = adapters.types.get(re.sub(r"\(.*?\)", "", ddl).strip())
        if info is None:
            return None
        names.append(info.name)
    return names


# A binary COPY packs integers into the column's width without a range check (2**31
# would arrive as -2**31): check them here, as the database checks an INSERT.
INT_RANGES = {"int2": 2**15, "int4": 2**31, "int8": 2**63}


def _check_integers(values: list[list], types: list[str]) -> None:
    for column, name in enumerate(types):
        limit = INT_RANGES.get(name)
        if limit is None:
            continue
        for row in values:
            value = row[column]
            if value is not None and not -limit <= value < limit:
                raise ValueError(f"{value} is out of range for {name}")


def _values(rows: Sequence[dict], keys: tuple[str, ...], processors: list) -> list[list]:
    """Rows as lists of driver values, column by column (a repeated value, such as the
    push's timestamp or device id, is converted once)."""
    out: list[list] = [[] for _ in rows]
    for key, process in zip(keys, processors, strict=True):
        last_in: object = object()
        last_out = None
        for target, row in zip(out, rows, strict=True):
            value = row[key]
            if process is not None:
                if value is not last_in:
                    last_in, last_out = value, process(value)
                value = last_out
            target.append(value)
    return out


def insert_rows(table: FromClause, rows: Sequence[dict]) -> None:
    """Insert `rows` (dicts with the same keys) into `table` (a model's `__table__`) in
    the session's transaction: what `session.execute(insert(table), rows)` does, faster."""
    if not rows:
        return
    assert isinstance(table, Table)
    connection = db.session.connection()
    dialect = connection.dialect
    keys = tuple(k for k in rows[0] if k in table.c)  # Core ignores other keys too
    plan = _plan(table, keys, dialect)
    if plan is None:
        connection.execute(insert(table), list(rows))
        return
    statement, processors, types = plan
    values = _values(rows, keys, processors)
    if not statement.startswith("COPY"):
        connection.exec_driver_sql(statement, [tuple(v) for v in values])
    elif len(rows) >= COPY_MIN_ROWS:
        _copy(connection, statement, values, types, dialect.loaded_dbapi.Error)
    else:
        statement, names, json_keys = _recordset_insert(table, keys, dialect)
        try:
            for column, key in enumerate(keys):
                if key in json_keys:
                    for row, source in zip(values, rows, strict=True):
                        row[column] = jsonio.dumps(source[key])
            payload = jsonio.dumps([dict(zip(names, row, strict=True)) for row in values])
        except (ValueError, TypeError, OverflowError) as err:
            # A value JSON cannot carry: refused as the database would refuse it (as COPY
            # does below), so a push's savepoint fallback rejects only its mutation.
            raise exc.DataError(statement, None, err) from err
        connection.exec_driver_sql(statement, (payload,))


@functools.cache
def _recordset_insert(
    table: Table, keys: tuple[str, ...], dialect
) -> tuple[str, list[str], frozenset]:
    """(`INSERT INTO t (a, j) SELECT a, j::json FROM json_to_recordset(%s::json) AS
    r(a uuid, j text)`, the column names the rows' JSON objects use, the keys of JSON
    columns). One statement text per table and
    columns, so psycopg prepares it once. JSON columns travel as their JSON text, so a
    Python None is stored as JSON null, as Core stores it."""
    quote = dialect.identifier_preparer.quote
    json_keys = frozenset(k for k in keys if isinstance(table.c[k].type, JSON))
    columns = [table.c[k].name for k in keys]
    names = [quote(c) for c in columns]
    chosen = [f"{n}::json" if k in json_keys else n for k, n in zip(keys, names, strict=True)]
    declared = [
        f"{n} text" if k in json_keys else f"{n} {table.c[k].type.compile(dialect=dialect)}"
        for k, n in zip(keys, names, strict=True)
    ]
    target = dialect.identifier_preparer.format_table(table)
    statement = (
        f"INSERT INTO {target} ({', '.join(names)}) SELECT {', '.join(chosen)} "
        f"FROM json_to_recordset(%s::json) AS r({', '.join(declared)})"
    )
    return statement, columns, json_keys


def _copy(
    connection,
    statement: str,
    values: list[list],
    types: list | None,
    dbapi_error: type[Exception],
) -> None:
    driver: Callable = connection.connection.cursor
    try:
        if types:
            _check_integers(values, types)
        with driver() as cursor, cursor.copy(statement) as copy:
            if types:
                copy.set_types(types)
            for row in values:
                copy.write_row(row)
    except dbapi_error as err:
        raise exc.DBAPIError.instance(statement, None, err, dbapi_error) from err
    except (ValueError, TypeError, AttributeError, OverflowError) as err:
        # A value the typed dumper cannot write: refused like the database would refuse
        # it, so the push's savepoint fallback rejects only the mutation that holds it.
        raise exc.DataError(statement, None, err) from err
