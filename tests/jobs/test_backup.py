"""Backups that restore (issue 21): a backup restored into a fresh database holds what the
original held at the backup, and phones that synced after the backup go on syncing without
skipping a change, losing unsynced work or downloading their scope again."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from outreach import create_app
from outreach.core.extensions import db
from outreach.jobs.backup import BackupError, create_backup, restore_backup
from tests.conftest import TEST_CONFIG
from tests.sync.helpers import client_data, intervention_data, mutation, pull_all, push

pytestmark = pytest.mark.usefixtures("pg_only")
# Compared row by row; sync_team_seq is raised by the restore on purpose.
SKIP = {"sync_team_seq", "alembic_version"}


def snapshot(url: str) -> dict[str, list]:
    engine = create_engine(url)
    out = {}
    with engine.connect() as conn:
        tables = conn.scalars(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        ).all()
        for table in tables:
            if table not in SKIP:
                rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()
                out[table] = sorted(tuple(map(repr, r)) for r in rows)
    engine.dispose()
    return out


@pytest.fixture
def fresh_database(database_url):
    url = make_url(database_url)
    name = f"{url.database}_restore"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    drop()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    drop()
    admin.dispose()


def test_a_restored_backup_holds_the_data_and_phones_sync_on(
    app, database_url, fresh_database, login, tmp_path
):
    worker, worker2 = login("worker"), login("worker2")
    person = mutation("client", client_data())
    push(worker, [person, mutation("intervention", intervention_data(person["id"]))])
    _, cursor_at_backup = pull_all(worker)
    with app.app_context():
        db.session.remove()
    dump = create_backup(database_url, tmp_path / "outreach.dump")
    at_backup = snapshot(database_url)
    assert at_backup["client"] and at_backup["report_week_count"]  # the roll-ups have rows

    # After the backup the phone syncs more; then the server is lost.
    push(worker, [mutation("client", client_data(initials="LW")) for _ in range(3)])
    _, cursor_after = pull_all(worker)
    assert int(cursor_after.split(".")[0]) > int(cursor_at_backup.split(".")[0])

    restore_backup(dump, fresh_database)
    assert snapshot(fresh_database) == at_backup  # every table, the roll-ups rebuilt alike

    restored = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": fresh_database})
    try:
        client = restored.test_client()
        for phone in (worker, worker2):  # the same tokens work on the restored server
            phone.client = client
        # The phone that synced after the backup pulls on from its cursor: nothing to
        # re-download, no 422.
        changes, cursor = pull_all(worker, cursor_after)
        assert changes == []
        # Others record after the restore: more changes than the lost window numbered.
        new = [mutation("client", client_data(initials="NR")) for _ in range(6)]
        push(worker2, new)
        changes, _ = pull_all(worker, cursor)
        assert {c["id"] for c in changes} == {m["id"] for m in new}  # none skipped
        # A phone whose cursor predates the lost window gets the same.
        changes, _ = pull_all(worker2, cursor_at_backup)
        assert {m["id"] for m in new} <= {c["id"] for c in changes}
        # Unsynced work made offline is pushed once.
        offline = mutation("client", client_data(initials="OF"))
        assert push(worker, [offline])["results"][0]["status"] == "applied"
        assert push(worker, [offline])["results"][0]["status"] == "duplicate"
        # A refresh token issued after the backup is unknown: sign in again (records kept).
        r = client.post("/api/v1/auth/refresh", headers={"Authorization": f"Bearer {uuid.uuid4()}"})
        assert r.status_code == 401
    finally:
        with restored.app_context():
            db.session.remove()
            db.engine.dispose()


def test_restore_refuses_a_database_that_is_not_empty(database_url, tmp_path):
    dump = create_backup(database_url, tmp_path / "outreach.dump")
    with pytest.raises(BackupError, match="not empty"):
        restore_backup(dump, database_url)


def test_the_cli_makes_a_backup(runner, tmp_path):
    target = tmp_path / "nightly.dump"
    result = runner.invoke(args=["outreach", "backup", "create", str(target)])
    assert result.exit_code == 0, result.output
    assert target.stat().st_size > 0 and not (tmp_path / "nightly.dump.partial").exists()
