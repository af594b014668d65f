"""`flask db upgrade` on an empty database gives exactly the models' schema."""

from __future__ import annotations

import uuid

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from outreach import ROOT, create_app
from outreach.core.extensions import db
from tests.conftest import TEST_CONFIG


def _empty_database(database_url: str, tmp_path):
    """A fresh empty database beside the test one (SQLite file or PostgreSQL db)."""
    if not database_url.startswith("postgresql"):
        return f"sqlite:///{tmp_path / 'migrations.db'}", lambda: None
    url = make_url(database_url)
    name = f"mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


def test_upgrade_on_empty_database_matches_models(database_url, tmp_path):
    url, drop = _empty_database(database_url, tmp_path)
    try:
        app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            with db.engine.connect() as conn:
                context = MigrationContext.configure(conn, opts={"compare_type": True})
                diff = compare_metadata(context, db.metadata)
            assert diff == [], f"models and migrations differ: {diff}"
            if db.engine.dialect.name == "postgresql":  # autogenerate does not see these
                sequences = set(inspect(db.engine).get_sequence_names())
                assert {s.name for s in db.metadata._sequences.values()} <= sequences
            tables = set(inspect(db.engine).get_table_names())
            assert {
                "client",
                "intervention",
                "follow_up",
                "audit_event",
                "report_delivery",
                "device",
                "token_record",
                "sync_change",
                "sync_mutation",
            } <= tables
            downgrade(directory=str(ROOT / "migrations"), revision="base")
            remaining = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
            assert remaining == set()
            if db.engine.dialect.name == "postgresql":
                assert "sync_seq" not in inspect(db.engine).get_sequence_names()
            db.engine.dispose()
    finally:
        drop()


def test_single_migration_head():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"several Alembic heads: {heads}; merge them"
