"""`flask outreach retention run`: anonymise client data past the retention period."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

retention_cli = AppGroup("retention", help="Data retention.")


@retention_cli.command("run")
@click.option("--years", type=int, help="Override OUTREACH_RETENTION_YEARS")
@click.option("--dry-run", is_flag=True, help="Only count what would be anonymised")
def retention_run(years: int | None, dry_run: bool) -> None:
    """Anonymise clients whose last contact is older than the retention period."""
    from outreach.retention.service import apply_retention

    years = years or current_app.config["RETENTION_YEARS"]
    result = apply_retention(years=years, dry_run=dry_run)
    verb = "would be anonymised" if dry_run else "anonymised"
    click.echo(
        f"Cutoff {result.cutoff:%Y-%m-%d}: {result.clients} clients {verb}; "
        f"{result.interventions_scrubbed} intervention notes erased; "
        f"{result.follow_ups} follow-ups closed."
    )
