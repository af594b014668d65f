"""The scheduler process (`flask outreach scheduler`): the weekly reports, their retries
and catch-up, and daily data retention. Its own process, never inside web workers (N
workers would send N emails); every effect it has is idempotent in the database, so a
second scheduler or a restart never sends twice (DESIGN §2)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

import click
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from flask import Flask, current_app
from flask.cli import with_appcontext

from outreach.auth.throttle import forget_old
from outreach.core.extensions import db
from outreach.core.types import utcnow
from outreach.pathways.partnerships import freeze_unagreed
from outreach.reports.delivery import deliver_due
from outreach.reports.releases import release_due
from outreach.retention.service import apply_retention

log = logging.getLogger(__name__)


def in_app(app: Flask, work: Callable[[], None]) -> Callable[[], None]:
    """`work` as a job: in an app context, with a fresh database session each run."""

    def job() -> None:
        with app.app_context():
            try:
                work()
            finally:
                db.session.remove()

    return job


def send_due_reports() -> None:
    """The releases now due (last month's late records, then each week once its grace
    period is over: stored as issued), then each commissioner's email of every week
    due, missed weeks and retries: the stored release, sent once (idempotent)."""
    release_due(weeks_back=int(current_app.config.get("REPORT_CATCH_UP_WEEKS", 4)))
    for outcome in deliver_due():
        log.info("delivery %s %s: %s", outcome.period, outcome.status, outcome.detail)


def retain() -> None:
    """Data retention (idempotent: anonymised clients are not selected again), and
    sharing stopped under agreements that lapsed by their date (DESIGN §5b)."""
    result = apply_retention(years=current_app.config["RETENTION_YEARS"])
    log.info("retention: %s clients anonymised", result.clients)
    forgotten = forget_old(utcnow())  # sign-in failure counts of pairs quiet for a day
    db.session.commit()
    log.info("retention: %s sign-in throttle counts forgotten", forgotten)
    frozen = freeze_unagreed(None, utcnow())  # agreements that lapsed by their date
    db.session.commit()
    log.info("retention: %s shares frozen (agreement no longer in force)", frozen)


def build_scheduler(app: Flask, retry_minutes: int) -> BlockingScheduler:
    """The jobs: reports at REPORT_SCHEDULE (TIMEZONE), retries and catch-up every
    `retry_minutes`, retention daily at 03:30."""
    cfg = app.config
    tz = cfg["TIMEZONE"]
    reports = in_app(app, send_due_reports)
    sched = BlockingScheduler(timezone=tz)
    sched.add_job(
        reports,
        CronTrigger.from_crontab(cfg["REPORT_SCHEDULE"], timezone=tz),
        id="weekly-reports",
        coalesce=True,
        misfire_grace_time=3600,
        max_instances=1,
    )
    sched.add_job(
        reports,
        "interval",
        minutes=retry_minutes,
        id="retry-reports",
        coalesce=True,
        max_instances=1,
    )
    sched.add_job(
        in_app(app, retain),
        CronTrigger(hour=3, minute=30, timezone=tz),
        id="retention",
        coalesce=True,
        max_instances=1,
    )
    return sched


@click.command("scheduler")
@click.option("--retry-minutes", default=5, show_default=True, help="Retry/catch-up interval")
@with_appcontext
def scheduler(retry_minutes: int) -> None:
    """Run the scheduled jobs until stopped (reports, retries, retention).

    On start it catches up weeks missed while it was down; every few minutes it retries
    failed deliveries; daily at 03:30 it applies data retention. Every send is
    idempotent in the database, so a second scheduler or a restart never sends twice.
    """
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    sched = build_scheduler(app, retry_minutes)
    click.echo(
        f"Scheduler running: reports at '{app.config['REPORT_SCHEDULE']}' {app.config['TIMEZONE']}."
    )
    in_app(app, send_due_reports)()  # catch up on start
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        sched.start()
