"""What the benches share: a throwaway PostgreSQL database made on demand."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

# One password for every bench account: it must pass the account rules' strength check
# (zxcvbn; a weak one stops a bench at set-up).
BENCH_PASSWORD = "violet-harbour-tractor-92"


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database `url` names if it does not exist (SQLite: nothing)."""
    target = make_url(url)
    if not target.drivername.startswith("postgresql"):
        return
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}
        )
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
            print(f"created database {target.database}")
    admin.dispose()
