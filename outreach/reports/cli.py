"""`flask outreach reports ...`: preview, send, rebuild the roll-ups."""

from __future__ import annotations

import logging
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from outreach.core.extensions import db

reports_cli = AppGroup("reports", help="Commissioners' weekly reports.")
log = logging.getLogger(__name__)


def _week(value: str | None):
    from outreach.reports.releases import clock, latest_due_week
    from outreach.reports.weeks import IsoWeek

    if not value:
        return latest_due_week(clock())
    try:
        return IsoWeek.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--week") from None


@reports_cli.command("preview")
@click.option("--week", help="ISO week, e.g. 2026-W47 (default: the latest released week)")
@click.option("--area", "areas", multiple=True, help="Area code (repeatable; default: all)")
@click.option("--out", "out", default="summary.pdf", show_default=True, type=click.Path())
@click.option("--draft", is_flag=True, help="A live count marked DRAFT (any week, even unreleased)")
def preview(week: str | None, areas: tuple[str, ...], out: str, draft: bool) -> None:
    """Write the PDF a commissioner of these areas receives for a released week (the
    week is released now if due), or with --draft a live count (nothing is sent)."""
    from outreach.access.models import Area
    from outreach.reports.assembly import build_report
    from outreach.reports.released import released_report
    from outreach.reports.releases import NotReleased
    from outreach.reports.render import render_pdf

    iso = _week(week)
    stmt = select(Area).where(Area.active.is_(True)).order_by(Area.code)
    if areas:
        stmt = select(Area).where(Area.code.in_(areas))
    found = list(db.session.scalars(stmt))
    missing = set(areas) - {a.code for a in found}
    if missing:
        raise click.ClickException(f"No area with code {', '.join(sorted(missing))}.")
    if not found:
        raise click.ClickException("There are no areas yet (try `flask outreach demo`).")
    ids = [a.id for a in found]
    if draft:
        report = build_report(ids, iso)
    else:
        try:
            report = released_report(ids, iso)
        except NotReleased as exc:
            raise click.ClickException(f"{exc.message} Use --draft for a live count.") from None
    Path(out).write_bytes(render_pdf(report))
    click.echo(f"Wrote {out}: week {iso}, areas {', '.join(a.code for a in found)}.")


@reports_cli.command("send")
@click.option("--week", help="ISO week, e.g. 2026-W47 (default: the latest released week)")
@click.option("--to", "email", help="Only this commissioner (email)")
@click.option("--force", is_flag=True, help="Send again even if already sent")
def send(week: str | None, email: str | None, force: bool) -> None:
    """Email the week's report to every active commissioner (or one), once."""
    from outreach.reports.delivery import commissioners, send_week

    iso = _week(week)
    if email and not commissioners(email):
        raise click.ClickException(f"No active commissioner with areas has the email {email}.")
    outcomes = send_week(iso, email=email, force=force)
    for o in outcomes:
        click.echo(f"{o.period}\t{o.email}\t{o.status}\t{o.detail}".rstrip())
    if any(o.status == "failed" for o in outcomes):
        raise click.ClickException("Some deliveries failed; they will be retried by the scheduler.")


@reports_cli.command("rebuild-rollups")
def rebuild_rollups() -> None:
    """Recompute the weekly roll-ups from the interventions (PostgreSQL). Needed only
    if they were bypassed, e.g. a data-only restore with triggers disabled."""
    from outreach.core.db import on_postgres
    from outreach.reports.rollups import rebuild

    if not on_postgres():
        click.echo("SQLite: reports count the interventions directly; nothing to rebuild.")
        return
    rebuild()
    db.session.commit()
    click.echo("Roll-ups rebuilt from the interventions.")


def register_report_commands(group: AppGroup) -> None:
    """Attach the reports commands to the `outreach` group."""
    group.add_command(reports_cli)
