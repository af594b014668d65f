"""Helpers shared by models: id columns and common column shapes."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, cast

from sqlalchemy import BigInteger, ColumnElement, CursorResult, Integer, Result, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY

from outreach.core.extensions import db

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a real bigint.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE changed (SQLAlchemy types every result as `Result`)."""
    return cast(CursorResult[Any], result).rowcount


def on_postgres() -> bool:
    """Is the session's database PostgreSQL (else SQLite)?"""
    return db.session.get_bind().dialect.name == "postgresql"


def among(column, values: Collection) -> ColumnElement[bool]:
    """`column IN (values)` for a batch of ids. On PostgreSQL it is `column = ANY(:array)`:
    one parameter instead of hundreds, so the driver does not rewrite a 500-placeholder
    query on every call (a tenth of a sync push's time before)."""
    values = list(values)
    if on_postgres():
        return column == any_(bindparam(None, values, type_=ARRAY(column.type), unique=True))
    return column.in_(values)


def in_batch(column, postgres: bool, name: str = "ids") -> ColumnElement[bool]:
    """`column` among the values of the bound parameter `name`, for a statement built
    once and run with many batches (`= ANY(:name)` on PostgreSQL, an expanding IN
    elsewhere). Hot paths keep such statements (`functools.cache` per dialect) and run
    them on the session's connection: building and caching a statement per call cost
    as much as the database's work on it."""
    if postgres:
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))
