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


def test_sequence_migration_continues_from_numbers_already_handed_out(database_url, tmp_path):
    """PostgreSQL: upgrading a database with synced data makes the new sequence start
    above every number in use and puts every team at that mark, so devices' cursors
    stay valid and no new change reuses a number."""
    if not database_url.startswith("postgresql"):
        return  # the sequence exists on PostgreSQL only; SQLite keeps the counter row
    url, drop = _empty_database(database_url, tmp_path)
    try:
        app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"), revision="b16138f79a25")
            with db.engine.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO area (id, code, name, region, active) "
                        "VALUES (1, 'a', 'A', 'R', true);"
                        "INSERT INTO team (id, area_id, name, provider, active) VALUES "
                        "(1, 1, 'T1', 'P', true), (2, 1, 'T2', 'P', true);"
                        "INSERT INTO sync_counter (id, value) VALUES (1, 40);"
                        "INSERT INTO sync_change (seq, team_id, entity, record_id, op) VALUES "
                        f"(57, 1, 'client', '{uuid.uuid4()}', 'upsert')"
                    )
                )
            upgrade(directory=str(ROOT / "migrations"))
            with db.engine.connect() as conn:
                assert conn.scalar(text("SELECT nextval('sync_seq')")) == 58
                highs = conn.execute(text("SELECT team_id, high FROM sync_team_seq")).all()
                assert sorted(highs) == [(1, 57), (2, 57)]
            db.engine.dispose()
    finally:
        drop()
