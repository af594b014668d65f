"""`flask outreach backup ...`: make a backup, restore one into an empty database."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from outreach.jobs.backup import BackupError, create_backup, restore_backup

backup_cli = AppGroup("backup", help="Backups (PostgreSQL): make one, restore one.")


@backup_cli.command("create")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
def backup_create(path: Path | None) -> None:
    """Write the whole database to PATH (default: outreach-<UTC time>.dump here)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path or Path(f"outreach-{stamp}.dump")
    try:
        create_backup(current_app.config["SQLALCHEMY_DATABASE_URI"], target)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Backup written to {target} ({target.stat().st_size:,} bytes).")


@backup_cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def backup_restore(path: Path) -> None:
    """Restore PATH into the configured database, which must be empty (create it first,
    do not run `db upgrade` on it), then make it safe for phones that synced since."""
    try:
        restore_backup(path, current_app.config["SQLALCHEMY_DATABASE_URI"])
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        "Restored. Sequence moved past the backup's, roll-ups rebuilt: phones sync on "
        "(those that signed in after the backup sign in again; their unsynced records stay)."
    )
