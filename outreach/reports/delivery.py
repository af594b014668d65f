"""Weekly deliveries: claim a (recipient, week) row atomically, build, email, record.

Idempotency lives in the database: `report_delivery` is unique per (recipient, period);
a sender first inserts the row if missing (INSERT ... ON CONFLICT DO NOTHING), then
claims it with one compare-and-set UPDATE (status pending/failed and due, or a sending
lease that has expired). Only the process whose UPDATE changed the row sends, so two
schedulers, a restart or a manual run never send the same week twice to one recipient.
Failures are recorded (attempts, last_error, next_attempt_at with exponential back-off)
and retried by the scheduler's retry job.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from outreach.access.models import CommissionerArea, User
from outreach.core.db import rowcount
from outreach.core.extensions import db
from outreach.core.types import utcnow
from outreach.reports.assembly import WeeklyReport
from outreach.reports.models import ReportDelivery
from outreach.reports.weeks import IsoWeek

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=15)
BACKOFF_BASE = timedelta(minutes=5)
BACKOFF_MAX = timedelta(hours=6)
MAX_ATTEMPTS = 8
CATCH_UP_WEEKS = 4


@dataclass
class Outcome:
    email: str
    period: str
    status: str  # sent, failed, skipped
    detail: str = ""


def backoff(attempts: int) -> timedelta:
    """Wait before retry number `attempts` + 1: 5, 10, 20, 40 min ... at most 6 h."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def commissioners(email: str | None = None) -> list[User]:
    """Active commissioners holding at least one area (optionally one by email)."""
    stmt = (
        select(User)
        .where(User.role == "commissioner", User.active.is_(True))
        .where(select(CommissionerArea.area_id).where(CommissionerArea.user_id == User.id).exists())
        .order_by(User.id)
    )
    if email:
        stmt = stmt.where(User.email == email.strip().lower())
    return list(db.session.scalars(stmt))


def _insert_ignore(values: dict):
    dialect = db.session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return (
        module.insert(ReportDelivery)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["recipient_id", "period"])
    )


def claim(user: User, period: str, now: datetime, *, force: bool = False) -> int | None:
    """Take the (user, period) delivery for sending; its id, or None if not ours to send."""
    db.session.execute(
        _insert_ignore(
            {
                "recipient_id": user.id,
                "email": user.email,
                "period": period,
                "status": "pending",
                "attempts": 0,
                "created_at": now,
                "updated_at": now,
            }
        )
    )
    D = ReportDelivery
    lease_free = or_(D.claimed_until.is_(None), D.claimed_until < now)
    if force:
        claimable = or_(D.status != "sending", lease_free)
    else:
        claimable = or_(
            and_(
                D.status.in_(("pending", "failed")),
                D.attempts < MAX_ATTEMPTS,
                or_(D.next_attempt_at.is_(None), D.next_attempt_at <= now),
                lease_free,
            ),
            # A sender that died mid-send: its lease has run out.
            and_(D.status == "sending", lease_free, D.attempts < MAX_ATTEMPTS),
        )
    result = db.session.execute(
        update(D)
        .where(D.recipient_id == user.id, D.period == period, claimable)
        .values(
            status="sending",
            claimed_until=now + LEASE,
            attempts=D.attempts + 1,
            email=user.email,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if rowcount(result) != 1:
        return None
    return db.session.scalar(select(D.id).where(D.recipient_id == user.id, D.period == period))


def deliver(user: User, week: IsoWeek, now: datetime | None = None, *, force=False) -> Outcome:
    """Claim, build, email and record one recipient's report for `week`: the week's
    stored release (made now if due), so a retry sends the same figures."""
    from outreach.reports import releases
    from outreach.reports.released import released_report
    from outreach.reports.render import render_pdf

    now = now or utcnow()
    period = str(week)
    try:
        releases.check_due(week, now)
    except releases.NotReleased as exc:
        return Outcome(user.email, period, "skipped", exc.message)
    delivery_id = claim(user, period, now, force=force)
    if delivery_id is None:
        return Outcome(user.email, period, "skipped", "already sent or being sent")
    area_ids = sorted(
        db.session.scalars(
            select(CommissionerArea.area_id).where(CommissionerArea.user_id == user.id)
        )
    )
    try:
        report = released_report(area_ids, week, now=now)
        pdf = render_pdf(report)
        send_email(user.email, subject_for(report), body_for(report), pdf, f"outreach-{period}.pdf")
    except Exception as exc:  # noqa: BLE001 - recorded for admins, retried with back-off
        db.session.rollback()
        row = db.session.get_one(ReportDelivery, delivery_id)
        error = f"{type(exc).__name__}: {exc}"[:500]
        row.status = "failed"
        row.last_error = error
        row.next_attempt_at = now + backoff(row.attempts)
        row.claimed_until = None
        row.updated_at = utcnow()
        db.session.commit()
        log.warning("report delivery %s failed (attempt %s): %s", delivery_id, row.attempts, error)
        return Outcome(user.email, period, "failed", error)
    row = db.session.get_one(ReportDelivery, delivery_id)
    row.status = "sent"
    row.sent_at = utcnow()
    row.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
    row.figures = report.figures
    row.last_error = None
    row.next_attempt_at = None
    row.claimed_until = None
    row.updated_at = row.sent_at
    db.session.commit()
    log.info("report delivery %s sent (user %s, %s)", delivery_id, user.id, period)
    return Outcome(user.email, period, "sent")


def subject_for(report: WeeklyReport) -> str:
    scope = report.summary.scope.name if report.summary else "Outreach"
    return f"Outreach weekly summary {report.week}: {scope}"


def body_for(report: WeeklyReport) -> str:
    """A short text body: no figures beyond the suppressed headline, no personal data."""
    names = ", ".join(a["name"] for a in report.areas)
    lines = [
        "Hello,",
        "",
        f"Attached is the Outreach weekly summary for {names}, "
        f"week {report.week} ({report.week_start} to {report.week_end}).",
        f"Data read at {report.data_read_at}.",
    ]
    if report.release_note:
        lines.append(report.release_note)
    if report.late_records and report.late_records.weeks:
        lines.append(
            f"Records that arrived late for weeks {report.late_records.weeks} are counted "
            "in the late-records table of the PDF."
        )
    if report.summary and report.summary.pathways:
        lines.append(
            "The PDF's Pathways page shows referrals between partner teams, treatment "
            "entries within 21 days, diversion episodes and referral cohorts."
        )
    lines += [
        "",
        "Counts from 1 to 4 are shown as <5 to protect the people behind them.",
        "",
        "Outreach",
    ]
    return "\n".join(lines) + "\n"


def send_email(to: str, subject: str, body: str, pdf: bytes, filename: str) -> None:
    """Send one message over SMTP (STARTTLS and login when configured)."""
    cfg = current_app.config
    message = EmailMessage()
    message["From"] = cfg["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=cfg["MAIL_FROM"].rpartition("@")[2] or None)
    message.set_content(body)
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename)
    with smtplib.SMTP(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=cfg["SMTP_TIMEOUT"]) as smtp:
        if cfg.get("SMTP_STARTTLS"):
            smtp.starttls(context=ssl.create_default_context())
        if cfg.get("SMTP_USER"):
            smtp.login(cfg["SMTP_USER"], cfg.get("SMTP_PASSWORD") or "")
        smtp.send_message(message)


def scheduled_at(week: IsoWeek) -> datetime:
    """When the weekly job is due to send `week`: the first cron time at or after its
    release (REPORT_GRACE_DAYS after it ends)."""
    from apscheduler.triggers.cron import CronTrigger

    from outreach.reports.releases import release_time

    tz = current_app.config["TIMEZONE"]
    trigger = CronTrigger.from_crontab(current_app.config["REPORT_SCHEDULE"], timezone=tz)
    return trigger.get_next_fire_time(None, release_time(week))


def deliver_due(now: datetime | None = None) -> list[Outcome]:
    """Send every delivery that is due: this week's, missed weeks (catch-up) and retries.

    First the releases now due (last month's late records, the weeks due: stored once,
    see `releases`). A week is due for a commissioner once its scheduled time has
    passed, if the commissioner existed then; up to CATCH_UP_WEEKS weeks back.
    Idempotent: what is sent is the stored release, once.
    """
    from outreach.reports.releases import clock, latest_due_week, release_due, releases_from

    now = now or clock()
    weeks_back = int(current_app.config.get("REPORT_CATCH_UP_WEEKS", CATCH_UP_WEEKS))
    release_due(now, weeks_back)
    latest = latest_due_week(now)
    outcomes = []
    for back in range(weeks_back - 1, -1, -1):
        week = latest.shift(-back)
        first = releases_from()
        if first is not None and week < first:
            continue
        due = scheduled_at(week)
        if due > now:
            continue
        for user in commissioners():
            if user.created_at and user.created_at > due:
                continue
            if _settled(user.id, str(week), now):
                continue
            outcomes.append(deliver(user, week, now))
    return outcomes


def _settled(user_id: int, period: str, now: datetime) -> bool:
    """True when the row needs nothing now (sent, given up, leased or waiting)."""
    D = ReportDelivery
    row = db.session.execute(
        select(D.status, D.attempts, D.next_attempt_at, D.claimed_until).where(
            D.recipient_id == user_id, D.period == period
        )
    ).first()
    if row is None:
        return False
    status, attempts, next_at, claimed = row
    if status == "sent" or attempts >= MAX_ATTEMPTS:
        return True
    if claimed is not None and claimed >= now:
        return True
    return status == "failed" and next_at is not None and next_at > now


def send_week(
    week: IsoWeek, *, email: str | None = None, force: bool = False, now=None
) -> list[Outcome]:
    """By hand: send `week` to every commissioner (or one), skipping those already sent."""
    return [deliver(user, week, now, force=force) for user in commissioners(email)]
