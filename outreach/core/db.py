"""Helpers shared by models: id columns and common column shapes."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a real bigint.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")
