"""Pathway measures for commissioners (DESIGN §5b), counts only: for the reports slice to
publish with the same suppression as every figure (this module suppresses nothing).

A week is given by its first day (a Monday in `tz`, Europe/London by default) and runs
seven local days. Referral measures count in the area of the referring team (where the
pathway begins, `referral.area_id`); episode measures in the area of the team running
the episode. Deleted records are not counted.

* `referrals_made`: referrals sent in the week.
* `referrals_accepted`: referrals accepted in the week.
* `first_contacts` and `median_days_to_first_contact`: referrals whose first contact by
  the receiving team fell in the week, and the median days from referral to that
  contact (a median, not a count: publish it only where `first_contacts` is shown).
* `treatment_within_21_days`: people (distinct clients) whose treatment entry fell in the
  week within 21 days of a referral (the three-week window of OHID's continuity-of-care
  indicator).
* `episodes_started`, `episodes_completed`, `episodes_not_completed`,
  `episodes_withdrawn`: diversion episodes started, or ended with that outcome, in the
  week.
* `referral_cohorts`: of the referrals sent in a week, how many led to a treatment entry
  within 3, 6 and 12 weeks (`entered_3_weeks`, ...); a cohort younger than a window has
  `None` for it (not yet known, not zero).
"""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select

from outreach.core.db import on_postgres
from outreach.core.extensions import db
from outreach.pathways import measures_sql
from outreach.pathways.models import ClientLink, Episode, Referral
from outreach.people.models import Client

PATHWAY_MEASURES = {
    "referrals_made": "Referrals made to partner teams",
    "referrals_accepted": "Referrals accepted",
    "first_contacts": "First contacts after a referral",
    "median_days_to_first_contact": "Median days from referral to first contact",
    "treatment_within_21_days": "People entering treatment within 21 days of a referral",
    "episodes_started": "Diversion episodes started",
    "episodes_completed": "Diversion episodes completed",
    "episodes_not_completed": "Diversion episodes not completed",
    "episodes_withdrawn": "Diversion episodes withdrawn",
}
# Measures that are counts (suppress like any count); the median is not one.
COUNTS = tuple(m for m in PATHWAY_MEASURES if m != "median_days_to_first_contact")
WINDOW_DAYS = 21
COHORT_WEEKS = (3, 6, 12)
DAY = 86400.0


def week_bounds(first_day: date, tz: str = "Europe/London") -> tuple[datetime, datetime]:
    """The UTC instants a local week (seven days from `first_day`) starts and ends."""
    zone = ZoneInfo(tz)
    start = datetime.combine(first_day, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(first_day + timedelta(days=7), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def _in(column: Any, start: datetime, end: datetime) -> Any:
    return and_(column >= start, column < end)


def pathway_counts(
    area_ids: Sequence[int], first_day: date, tz: str = "Europe/London"
) -> dict[int, dict[str, Any]]:
    """Each area's pathway measures for the week starting `first_day` (every area of
    `area_ids` present, zeros included)."""
    return pathway_weeks(area_ids, [first_day], tz)[first_day]


def pathway_weeks(
    area_ids: Sequence[int], first_days: Sequence[date], tz: str = "Europe/London"
) -> dict[date, dict[int, dict[str, Any]]]:
    """The measures of several weeks (by first day) at once: one read of the referrals
    and one of the episodes whose steps fall in any of the weeks, counted in Python (a
    report's twelve weeks cost one query each, not twelve). Day arithmetic is done in
    Python too: SQLite and PostgreSQL share no interval arithmetic on aware columns."""
    weeks = sorted(set(first_days))
    out: dict[date, dict[int, dict[str, Any]]] = {
        w: {a: dict.fromkeys(COUNTS, 0) | {"median_days_to_first_contact": None} for a in area_ids}
        for w in weeks
    }
    if not area_ids or not weeks:
        return out
    bounds = [week_bounds(w, tz) for w in weeks]
    if on_postgres():
        measures_sql.referral_measures(
            out, area_ids, measures_sql.Buckets(weeks, bounds), WINDOW_DAYS
        )
        measures_sql.episode_measures(out, area_ids, weeks)
        return out
    starts = [b[0] for b in bounds]
    lo, hi = bounds[0][0], bounds[-1][1]

    def week_of(at: datetime | None) -> date | None:
        if at is None or not lo <= at < hi:
            return None
        n = bisect.bisect_right(starts, at) - 1
        return weeks[n] if n >= 0 and at < bounds[n][1] else None

    r = Referral
    steps = (r.sent_at, r.accepted_at, r.first_contact_at, r.treatment_entry_at)
    rows = db.session.execute(
        select(r.area_id, r.client_id, *steps).where(
            r.area_id.in_(list(area_ids)),
            r.deleted_at.is_(None),
            or_(*(_in(column, lo, hi) for column in steps)),
        )
    )
    days: dict[tuple[date, int], list[float]] = {}
    entered: dict[tuple[date, int], set[Any]] = {}
    window = timedelta(days=WINDOW_DAYS)
    for area_id, client_id, sent, accepted, contact, entry in rows:
        if (w := week_of(sent)) is not None:
            out[w][area_id]["referrals_made"] += 1
        if (w := week_of(accepted)) is not None:
            out[w][area_id]["referrals_accepted"] += 1
        if (w := week_of(contact)) is not None and sent is not None and contact is not None:
            days.setdefault((w, area_id), []).append(max((contact - sent).total_seconds(), 0) / DAY)
        w = week_of(entry)
        if w is not None and sent is not None and entry is not None and entry - sent <= window:
            entered.setdefault((w, area_id), set()).add(client_id)
    for (w, area_id), values in days.items():
        out[w][area_id]["first_contacts"] = len(values)
        out[w][area_id]["median_days_to_first_contact"] = round(statistics.median(values), 1)
    for (w, area_id), people in entered.items():
        out[w][area_id]["treatment_within_21_days"] = len(people)
    _episode_counts(out, list(area_ids), weeks)
    return out


def _episode_counts(
    out: dict[date, dict[int, dict[str, Any]]], area_ids: list[int], weeks: list[date]
) -> None:
    e = Episode
    first, last = weeks[0], weeks[-1] + timedelta(days=6)

    def week_of(day: date | None) -> date | None:
        if day is None or not first <= day <= last:
            return None
        monday = weeks[bisect.bisect_right(weeks, day) - 1]
        return monday if day <= monday + timedelta(days=6) else None

    rows = db.session.execute(
        select(e.area_id, e.started_on, e.ended_on, e.outcome).where(
            e.area_id.in_(area_ids),
            e.deleted_at.is_(None),
            or_(e.started_on.between(first, last), e.ended_on.between(first, last)),
        )
    )
    for area_id, started, ended, outcome in rows:
        if (w := week_of(started)) is not None:
            out[w][area_id]["episodes_started"] += 1
        if (w := week_of(ended)) is not None and outcome in (
            "completed",
            "not_completed",
            "withdrawn",
        ):
            out[w][area_id][f"episodes_{outcome}"] += 1


def referral_cohorts(
    area_ids: Sequence[int],
    first_days: Sequence[date],
    now: datetime,
    tz: str = "Europe/London",
) -> dict[date, dict[int, dict[str, int | None]]]:
    """For each week (by its first day) and area: `referred` (referrals sent that week)
    and `entered_N_weeks` (of those, how many reached treatment entry within N weeks of
    being sent), None while the window has not passed for the whole cohort. One read of
    the referrals sent in any of the weeks."""
    weeks = sorted(set(first_days))
    keys = ("referred", *(f"entered_{n}_weeks" for n in COHORT_WEEKS))
    out: dict[date, dict[int, dict[str, int | None]]] = {
        w: {a: dict.fromkeys(keys, 0) for a in area_ids} for w in weeks
    }
    if not area_ids or not weeks:
        return out
    bounds = [week_bounds(w, tz) for w in weeks]
    if on_postgres():
        measures_sql.cohort_measures(
            out, area_ids, measures_sql.Buckets(weeks, bounds), COHORT_WEEKS
        )
    else:
        _cohorts_in_python(out, area_ids, weeks, bounds)
    for w, (_start, end) in zip(weeks, bounds, strict=True):
        for n in COHORT_WEEKS:  # windows still open for part of the cohort: not known yet
            if end + timedelta(weeks=n) > now:
                for figures in out[w].values():
                    figures[f"entered_{n}_weeks"] = None
    return out


def _cohorts_in_python(
    out: dict[date, dict[int, dict[str, int | None]]],
    area_ids: Sequence[int],
    weeks: list[date],
    bounds: list[tuple[datetime, datetime]],
) -> None:
    starts = [b[0] for b in bounds]
    r = Referral
    rows = db.session.execute(
        select(r.area_id, r.sent_at, r.treatment_entry_at).where(
            r.area_id.in_(list(area_ids)),
            r.deleted_at.is_(None),
            _in(r.sent_at, bounds[0][0], bounds[-1][1]),
        )
    )
    windows = [(n, timedelta(weeks=n)) for n in COHORT_WEEKS]
    for area_id, sent, entry in rows:
        if sent is None:
            continue
        i = bisect.bisect_right(starts, sent) - 1
        if i < 0 or sent >= bounds[i][1]:
            continue
        figures = out[weeks[i]][area_id]
        figures["referred"] = (figures["referred"] or 0) + 1
        if entry is None:
            continue
        for n, window in windows:
            if entry - sent <= window:
                key = f"entered_{n}_weeks"
                figures[key] = (figures[key] or 0) + 1


def linked_new_clients(
    area_ids: Sequence[int], first_day: date, tz: str = "Europe/London"
) -> dict[int, int]:
    """Per area: clients first recorded in the week that a lead linked to a client of a
    partner team recorded earlier (the same person): what `new_clients` should not count
    again. Counted in the area of the later record."""
    start, end = week_bounds(first_day, tz)
    later, earlier = Client.__table__.alias("later"), Client.__table__.alias("earlier")
    pair = or_(
        and_(ClientLink.client_id == later.c.id, ClientLink.other_client_id == earlier.c.id),
        and_(ClientLink.other_client_id == later.c.id, ClientLink.client_id == earlier.c.id),
    )
    rows = db.session.execute(
        select(later.c.area_id, func.count(func.distinct(later.c.id)))
        .select_from(ClientLink)
        .join(
            later, or_(ClientLink.client_id == later.c.id, ClientLink.other_client_id == later.c.id)
        )
        .join(earlier, pair)
        .where(
            ClientLink.resolution == "linked",
            later.c.area_id.in_(list(area_ids)),
            _in(later.c.created_at, start, end),
            earlier.c.created_at < later.c.created_at,
            later.c.deleted_at.is_(None),
        )
        .group_by(later.c.area_id)
    )
    counts = dict.fromkeys(area_ids, 0)
    for area_id, count in rows:
        counts[area_id] = count
    return counts
