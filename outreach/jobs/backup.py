"""Backups that restore (issue 21): `pg_dump --format=custom` of the whole database, and
a restore into an empty database followed by what a restored server needs before phones
reach it.

After a restore the database is as it was at the backup; phones are not. A phone that
synced after the backup holds a cursor past the restored team marks, and the sequence
would hand out those same numbers again: once a team's mark passed such a cursor, the
phone would pull from it and silently skip every change numbered between the restored
mark and its cursor. So `after_restore` moves the sequence past anything the lost server
can have issued (`RESTORE_GAP` numbers on) and raises every team's mark to it:

* a phone whose cursor is at or below its team's restored mark pulls on as before;
* a phone whose cursor is past it (it synced after the backup) already holds every record
  the backup has (the backup's records are numbered below the mark), and from now on
  pulls everything numbered after the gap: no change is skipped, no phone re-downloads;
* records phones pushed after the backup exist only on those phones (they show as synced
  there); unsynced work stays in each phone's outbox and is pushed as usual (the push
  ledger is the backup's, so those mutations apply once);
* refresh tokens issued after the backup are unknown: those phones are asked to sign in
  again, keeping their unsynced records (the PWA never drops them).

Roll-ups come back with the data (the dump has the tables and the trigger); they are
rebuilt from the interventions anyway, so a restore never depends on that.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from outreach.records.models import SYNC_SEQ
from outreach.reports.rollups import REBUILD

# Sequence numbers skipped at a restore: more than a lost server can have issued since
# its last backup (a fleet of 5,000 phones writes well under a million changes a day).
RESTORE_GAP = 10**12


class BackupError(RuntimeError):
    """pg_dump / pg_restore failed, or the target is not an empty PostgreSQL database."""


def _libpq(url: str | URL) -> tuple[list[str], dict]:
    """Connection arguments for the PostgreSQL tools, the password in the environment
    (never on a command line other users can read)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        raise BackupError("backups are for PostgreSQL (SQLite: copy the file while stopped)")
    args = ["--dbname", parsed.database or ""]
    if parsed.host:
        args += ["--host", parsed.host]
    if parsed.port:
        args += ["--port", str(parsed.port)]
    if parsed.username:
        args += ["--username", parsed.username]
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    return args, env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return path


def create_backup(url: str | URL, path: Path) -> Path:
    """The whole database (schema, data, triggers) as one compressed custom-format file,
    written beside `path` then renamed: a failed dump never leaves a half file there."""
    args, env = _libpq(url)
    partial = path.with_name(path.name + ".partial")
    command = [_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(partial), *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
    partial.replace(path)
    return path


def restore_backup(path: Path, url: str | URL) -> None:
    """Restore `path` into the EMPTY database `url` (one transaction: all or nothing),
    then `after_restore`."""
    if not Path(path).is_file():
        raise BackupError(f"no backup file at {path}")
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tables = conn.scalar(text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"))
        if tables:
            raise BackupError("the target database is not empty: restore into a new one")
        args, env = _libpq(url)
        command = [
            _tool("pg_restore"),
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            *args,
            str(path),
        ]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise BackupError(f"pg_restore failed: {done.stderr.strip()}")
        with engine.begin() as conn:
            after_restore(conn)
    finally:
        engine.dispose()


def after_restore(conn) -> int:
    """Move the sequence and every team's mark past the gap; rebuild the roll-ups.
    Returns the new mark."""
    seq = SYNC_SEQ.name
    mark = conn.scalar(
        text(
            f"SELECT GREATEST((SELECT last_value FROM {seq}), "
            "(SELECT COALESCE(max(high), 0) FROM sync_team_seq)) + :gap"
        ),
        {"gap": RESTORE_GAP},
    )
    conn.execute(text("SELECT setval(:seq, :mark)"), {"seq": seq, "mark": mark})
    conn.execute(
        text(
            "INSERT INTO sync_team_seq (team_id, high) SELECT id, :mark FROM team "
            "ON CONFLICT (team_id) DO UPDATE SET high = :mark"
        ),
        {"mark": mark},
    )
    for statement in REBUILD:  # as `flask outreach reports rebuild-rollups`
        conn.execute(text(statement))
    return int(mark)
