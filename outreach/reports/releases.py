"""Releases (docs/disclosure.md): what commissioners are given, made once and stored.

- A week is released once, `REPORT_GRACE_DAYS` after it ends (local midnight), for every
  area and every commissioner's scope at once (`release_week`); before that it answers
  404 with its release date (`NotReleased`). Weeks before `RELEASES_FROM` are never
  released. Releasing a week first releases the earlier weeks of its 12-week trend
  that are due, so a report's trend is made of releases too, and week W-12, whose
  referral cohort it publishes (`_cohort`), and first of all last month's
  late-records release if it is not made yet (as the scheduler does).
- Records that change a released week (late arrivals, deletions, edits) are counted
  once a month into a late-records release (`release_late`), suppressed like a week.
- `release_due` is what the scheduler runs: the month's late-records release, then
  every week now due (idempotent: a release exists once per kind and period).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from outreach.access.models import Area, CommissionerArea, User
from outreach.core.extensions import db
from outreach.core.types import utcnow
from outreach.pathways.measures import COHORT_WEEKS
from outreach.reports.aggregation import AreaInfo, aggregate, load_areas
from outreach.reports.ledger import count_late, count_week, tally_week
from outreach.reports.measures import TREND_WEEKS
from outreach.reports.models import ReportRelease
from outreach.reports.pathway_cells import COHORT_AGE, Cohort, count_pathways
from outreach.reports.publication import release_cells, scope_key
from outreach.reports.step_ledger import (
    cohort_counts,
    count_late_steps,
    count_week_steps,
    tally_steps,
)
from outreach.reports.weeks import IsoWeek, last_complete_week, local_midnight_utc, week_range


class NotReleased(Exception):
    """A week commissioners cannot have (yet): the message says when, or why never."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.message = message
        self.reason = reason


def clock() -> datetime:
    """Now (tests move it)."""
    return utcnow()


def grace_days() -> int:
    return int(current_app.config.get("REPORT_GRACE_DAYS", 7))


def releases_from() -> IsoWeek | None:
    """The first week ever released (`OUTREACH_RELEASES_FROM`: 2026-W40 or a date)."""
    value = current_app.config.get("RELEASES_FROM")
    if not value:
        return None
    value = str(value).strip()
    if "W" in value.upper():
        return IsoWeek.parse(value.upper())
    return IsoWeek.of(date.fromisoformat(value))


def release_time(week: IsoWeek) -> datetime:
    """When `week` is released: local midnight, REPORT_GRACE_DAYS after it ends (UTC)."""
    tz = current_app.config["TIMEZONE"]
    return local_midnight_utc(week.sunday + timedelta(days=1 + grace_days()), tz)


def latest_due_week(now: datetime) -> IsoWeek:
    """The most recent week whose release time has come."""
    week = last_complete_week(now, current_app.config["TIMEZONE"])
    while release_time(week) > now:
        week = week.shift(-1)
    return week


def check_due(week: IsoWeek, now: datetime) -> None:
    """Raise NotReleased unless `week` may be released at `now`."""
    first = releases_from()
    if first is not None and week < first:
        raise NotReleased(
            f"Weeks before {first} are not published by this service.",
            f"Reports are published from week {first}.",
        )
    due = release_time(week)
    if due > now:
        local = due.astimezone(ZoneInfo(current_app.config["TIMEZONE"]))
        raise NotReleased(
            f"Week {week} is released on {local:%-d %B %Y}, {grace_days()} days after it "
            "ends, when late records have settled.",
            f"Released on {local.date().isoformat()}.",
        )


def stored(kind: str, periods: list[str]) -> dict[str, ReportRelease]:
    rows = db.session.scalars(
        select(ReportRelease).where(ReportRelease.kind == kind, ReportRelease.period.in_(periods))
    )
    return {r.period: r for r in rows}


def scopes_now(areas: list[AreaInfo]) -> dict[str, list[str]]:
    """The scope totals a release holds: every active commissioner's areas (two or
    more). An admin's all-areas view is not among them (its totals are worked out from
    the areas' published figures, `publication.cut`): a total no commissioner sees must
    not hide figures commissioners do."""
    codes = {a.id: a.code for a in areas}
    active = db.session.execute(
        select(CommissionerArea.user_id, CommissionerArea.area_id)
        .join(User, User.id == CommissionerArea.user_id)
        .where(User.active.is_(True), User.role == "commissioner")
    ).all()
    by_user: dict[int, list[str]] = {}
    for user_id, area_id in active:
        if area_id in codes:
            by_user.setdefault(user_id, []).append(codes[area_id])
    sets = [sorted(c) for c in by_user.values() if len(c) > 1]
    return {scope_key(s): s for s in sorted(sets)}


def _all_areas() -> list[AreaInfo]:
    return load_areas(list(db.session.scalars(select(Area.id))))


def _latest_late(now: datetime) -> int | None:
    return db.session.scalar(
        select(ReportRelease.id)
        .where(ReportRelease.kind == "late", ReportRelease.issued_at <= now)
        .order_by(ReportRelease.issued_at.desc(), ReportRelease.id.desc())
        .limit(1)
    )


def _claim(release: ReportRelease) -> ReportRelease | None:
    """Insert the release row, or None when another process made it first."""
    db.session.add(release)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return None
    return release


def _existing(kind: str, period: str) -> ReportRelease | None:
    return db.session.scalar(
        select(ReportRelease).where(ReportRelease.kind == kind, ReportRelease.period == period)
    )


def _create_week(week: IsoWeek, now: datetime, backdated: bool = False) -> ReportRelease:
    tz = current_app.config["TIMEZONE"]
    release = _claim(
        ReportRelease(
            kind="week",
            period=str(week),
            issued_at=now,
            grace_days=grace_days(),
            late_release_id=_latest_late(now),
            cells={},
            scopes={},
        )
    )
    if release is None:
        return db.session.get_one(ReportRelease, _existing("week", str(week)).id)  # type: ignore[union-attr]
    count_week(release.id, week, tz, now if backdated else None)
    count_week_steps(release.id, week, tz, now if backdated else None)
    release.steps_counted = True
    areas = _all_areas()
    scopes = scopes_now(areas)
    agg, clients = tally_week(release.id, areas, scopes)
    first = aggregate([a.id for a in areas], [week], tz)  # new clients: first contact ever
    for area in areas:
        agg.measures[(0, area.id)]["new_clients"] = first.measures.get((0, area.id), {}).get(
            "new_clients", 0
        )
    pathways = count_pathways(areas, scopes, tally_steps(release.id), _cohort(week, areas))
    release.cells = release_cells(agg, scopes, clients, pathways=pathways)
    release.scopes = scopes
    db.session.commit()
    return release


def _cohort(week: IsoWeek, areas: list[AreaInfo]) -> Cohort | None:
    """The referral cohort the release of `week` publishes: week W-12's, whose 12-week
    window has closed, with the referrals that week's release counted as its base (and
    that release's published referrals_made as the base's text). None when week W-12
    was not released through the pathway ledger."""
    cohort_week = week.shift(-COHORT_AGE)
    found = _existing("week", str(cohort_week))
    if found is None or not found.steps_counted:
        return None
    fixed = {
        name.split("/", 1)[0]: text
        for name, text in found.cells.items()
        if name.endswith("/referrals_made")
    }
    if not fixed:
        return None
    counts = cohort_counts(found.id)
    empty = {"referred": 0} | dict.fromkeys((f"entered_{n}" for n in COHORT_WEEKS), 0)
    values = {a.code: counts.get(a.id, empty) for a in areas}
    return Cohort(cohort_week, values, fixed, dict(found.scopes or {}))


def release_week(
    week: IsoWeek,
    now: datetime | None = None,
    *,
    with_trend: bool = True,
    backdated: bool = False,
) -> ReportRelease:
    """The stored release of `week`, made now if it is due and not made yet (with the
    earlier weeks of its trend that are due, unless not `with_trend`). NotReleased when
    it is not due. `backdated` (the demo's history): counts only the records that had
    arrived by `now`, as a release made then would have."""
    now = now or clock()
    found = _existing("week", str(week))
    if found is not None:
        return found
    check_due(week, now)
    release_late(now, backdated=backdated)  # last month's late records first, as the scheduler does
    # the earlier weeks of its trend, and week W-12 whose referral cohort it publishes
    earlier = week_range(week, max(TREND_WEEKS, COHORT_AGE + 1))[:-1] if with_trend else []
    have = stored("week", [str(w) for w in earlier])
    first = releases_from()
    for wk in earlier:
        if str(wk) not in have and (first is None or wk >= first):
            _create_week(wk, now)
    return _create_week(week, now, backdated)


def late_period(now: datetime) -> str:
    """The month a late-records release made at `now` is named after: the last one."""
    local = now.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()
    previous = local.replace(day=1) - timedelta(days=1)
    return f"{previous.year:04d}-{previous.month:02d}"


def release_late(now: datetime | None = None, *, backdated: bool = False) -> ReportRelease | None:
    """The late-records release of the month just ended, made once: every change to a
    released week not counted yet. None when no week was released by that month's end
    (the changes wait for the next month's)."""
    now = now or clock()
    period = late_period(now)
    found = _existing("late", period)
    if found is not None:
        return found
    released = list(
        db.session.scalars(
            select(ReportRelease.period).where(
                ReportRelease.kind == "week", ReportRelease.issued_at <= now
            )
        )
    )
    tz = current_app.config["TIMEZONE"]
    month_start = now.astimezone(ZoneInfo(tz)).date().replace(day=1)
    before_month_end = db.session.scalar(
        select(ReportRelease.id)
        .where(
            ReportRelease.kind == "week",
            ReportRelease.issued_at < local_midnight_utc(month_start, tz),
        )
        .limit(1)
    )
    if not released or before_month_end is None:
        return None  # nothing was released in that month (or before): nothing to revise
    release = _claim(ReportRelease(kind="late", period=period, issued_at=now, cells={}, scopes={}))
    if release is None:
        return _existing("late", period)
    areas = _all_areas()
    scopes = scopes_now(areas)
    late = count_late(release.id, released, areas, tz, now if backdated else None)
    with_steps = list(
        db.session.scalars(
            select(ReportRelease.period).where(
                ReportRelease.kind == "week",
                ReportRelease.issued_at <= now,
                ReportRelease.steps_counted.is_(True),
            )
        )
    )
    steps = count_late_steps(release.id, with_steps, tz, now if backdated else None)
    release.cells = release_cells(late.agg, scopes, {}, late=True, late_steps=steps)
    release.scopes = scopes
    weeks = sorted(set(late.weeks) | steps.weeks)
    if weeks:
        release.first_week, release.last_week = weeks[0], weeks[-1]
    db.session.commit()
    return release


def release_due(now: datetime | None = None, weeks_back: int = 4) -> list[ReportRelease]:
    """What the scheduler releases: last month's late records (once), then every week
    due in the last `weeks_back` weeks that is not released yet."""
    now = now or clock()
    made = []
    late = release_late(now)
    if late is not None:
        made.append(late)
    latest = latest_due_week(now)
    for back in range(weeks_back - 1, -1, -1):
        week = latest.shift(-back)
        try:
            made.append(release_week(week, now))
        except NotReleased:
            continue
    return made


def release_history(now: datetime, weeks: int = TREND_WEEKS) -> list[ReportRelease]:
    """Release the last `weeks` weeks due by `now` as the scheduler would have, each at
    its own release time (backdated), with the late-records releases of the months
    ended in between: the demo's history, so it has released weeks to look at."""
    latest = latest_due_week(now)
    made = []
    for back in range(weeks - 1, -1, -1):
        week = latest.shift(-back)
        try:
            made.append(release_week(week, release_time(week), with_trend=False, backdated=True))
        except NotReleased:
            continue
    return made
