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


def test_rollup_migration_fills_from_stored_interventions_and_installs_the_trigger(
    database_url, tmp_path
):
    """PostgreSQL: the report roll-ups start from the interventions already stored
    (live ones only), and later writes keep them in step."""
    if not database_url.startswith("postgresql"):
        return  # roll-ups are PostgreSQL only; SQLite reports count interventions
    url, drop = _empty_database(database_url, tmp_path)
    client = uuid.uuid4()
    try:
        app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"), revision="a5a22f5d0bd7")
            rows = [  # (occurred_at, client, deleted): Sunday 22:30 UTC is Sunday in London
                ("2026-11-15 22:30+00", client, False),  # week 46
                ("2026-11-16 12:00+00", client, False),  # week 47
                ("2026-11-16 13:00+00", None, False),
                ("2026-11-10 09:00+00", client, True),  # deleted: not a first contact
            ]
            values = ", ".join(
                f"('{uuid.uuid4()}', {repr(str(c)) if c else 'NULL'}, 1, 1, 1, "
                "'naloxone_supplied', "
                f"'{when}', 'street', '[]', 2, 1, 0, now(), now(), "
                f"{'now()' if deleted else 'NULL'})"
                for when, c, deleted in rows
            )
            with db.engine.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO area (id, code, name, region, active) "
                        "VALUES (1, 'a', 'A', 'R', true);"
                        "INSERT INTO team (id, area_id, name, provider, active) "
                        "VALUES (1, 1, 'T1', 'P', true);"
                        "INSERT INTO user_account (id, email, name, role, team_id, active, "
                        "password_hash, created_at) VALUES "
                        "(1, 'w@example.test', 'W', 'worker', 1, true, 'x', now());"
                        "INSERT INTO client (id, team_id, area_id, initials, date_of_birth, "
                        "sex, match_key, version, server_seq, created_at, updated_at) VALUES "
                        f"('{client}', 1, 1, 'AB', '1980-01-01', 'male', 'k', 1, 1, now(), now());"
                        "INSERT INTO intervention (id, client_id, worker_id, team_id, area_id, "
                        "type, occurred_at, location, substances, quantity, version, "
                        f"server_seq, created_at, updated_at, deleted_at) VALUES {values}"
                    )
                )
            upgrade(directory=str(ROOT / "migrations"))
            with db.engine.begin() as conn:
                weeks = conn.execute(
                    text(
                        "SELECT week_start::text, interventions, quantity, anonymous "
                        "FROM report_week_count ORDER BY 1"
                    )
                ).all()
                assert weeks == [("2026-11-09", 1, 2, 0), ("2026-11-16", 2, 4, 1)]
                first = conn.execute(text("SELECT first_at FROM report_client_first")).scalar()
                assert first.isoformat() == "2026-11-15T22:30:00+00:00"
                conn.execute(text("UPDATE intervention SET deleted_at = now()"))
                left = conn.execute(text("SELECT count(*) FROM report_week_count")).scalar()
                assert left == 0  # every week's count fell to zero: the rows are gone
            downgrade(directory=str(ROOT / "migrations"), revision="a5a22f5d0bd7")
            with db.engine.connect() as conn:
                triggers = conn.execute(
                    text("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'report_rollup%'")
                ).scalar()
                assert triggers == 0
            db.engine.dispose()
    finally:
        drop()
