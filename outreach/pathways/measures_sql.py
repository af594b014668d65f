"""PostgreSQL: the pathway measures counted by the database, grouped by area and week
(`width_bucket` over the weeks' UTC bounds), so a report's twelve weeks of 100,000
referrals cost a few grouped index scans instead of turning every row into Python
values. `outreach.pathways.measures` counts the same in Python on SQLite; the tests
hold the two to each other on both databases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ARRAY, DateTime, and_, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import INTERVAL

from outreach.core.extensions import db
from outreach.pathways.models import Episode, Referral

DAY_SECONDS = 86400.0


class Buckets:
    """The weeks asked for as `width_bucket` thresholds: every week's start and end,
    ascending; a bucket is a week when its lower threshold is that week's start."""

    def __init__(self, weeks: list[date], bounds: list[tuple[datetime, datetime]]) -> None:
        self.thresholds = sorted({t for b in bounds for t in b})
        self.week_of_bucket = {
            self.thresholds.index(start) + 1: week
            for week, (start, _end) in zip(weeks, bounds, strict=True)
        }
        self.lo, self.hi = self.thresholds[0], self.thresholds[-1]

    def bucket(self, column: Any) -> Any:
        array = bindparam(None, self.thresholds, type_=ARRAY(DateTime(timezone=True)), unique=True)
        return func.width_bucket(column, array).label("bucket")

    def within(self, column: Any) -> Any:
        return and_(column >= self.lo, column < self.hi)


def _custom_plans() -> None:
    # A generic plan of a prepared statement ignores the weeks' bounds (STYLE).
    db.session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


def referral_measures(
    out: dict[date, dict[int, dict[str, Any]]],
    area_ids: Sequence[int],
    b: Buckets,
    window_days: int,
) -> None:
    """Referrals made, accepted, first contacts with their median days, and people in
    treatment within `window_days` of a referral, into `out[week][area]`."""
    _custom_plans()
    r = Referral
    live = and_(r.area_id.in_(list(area_ids)), r.deleted_at.is_(None))
    for column, measure in ((r.sent_at, "referrals_made"), (r.accepted_at, "referrals_accepted")):
        bucket = b.bucket(column)
        rows = db.session.execute(
            select(r.area_id, bucket, func.count())
            .where(live, b.within(column))
            .group_by(r.area_id, bucket)
        )
        _put(out, b, rows, measure)
    bucket = b.bucket(r.first_contact_at)
    days = func.extract("epoch", r.first_contact_at - r.sent_at) / DAY_SECONDS
    median = func.percentile_cont(0.5).within_group(func.greatest(days, 0))
    rows = db.session.execute(
        select(r.area_id, bucket, func.count(), median)
        .where(live, b.within(r.first_contact_at), r.sent_at.is_not(None))
        .group_by(r.area_id, bucket)
    )
    for area_id, k, count, middle in rows:
        week = b.week_of_bucket.get(k)
        if week is not None:
            out[week][area_id]["first_contacts"] = count
            out[week][area_id]["median_days_to_first_contact"] = round(float(middle), 1)
    bucket = b.bucket(r.treatment_entry_at)
    window = bindparam(None, timedelta(days=window_days), type_=INTERVAL(), unique=True)
    rows = db.session.execute(
        select(r.area_id, bucket, func.count(func.distinct(r.client_id)))
        .where(
            live,
            b.within(r.treatment_entry_at),
            r.treatment_entry_at - r.sent_at <= window,
        )
        .group_by(r.area_id, bucket)
    )
    _put(out, b, rows, "treatment_within_21_days")


def _put(out: dict[date, dict[int, dict[str, Any]]], b: Buckets, rows: Any, measure: str) -> None:
    for area_id, k, count in rows:
        week = b.week_of_bucket.get(k)
        if week is not None:
            out[week][area_id][measure] = count


def cohort_measures(
    out: dict[date, dict[int, dict[str, int | None]]],
    area_ids: Sequence[int],
    b: Buckets,
    cohort_weeks: Sequence[int],
) -> None:
    """Per week of referral and area: referred, and entered within each window."""
    _custom_plans()
    r = Referral
    bucket = b.bucket(r.sent_at)
    waited = [
        func.count().filter(
            r.treatment_entry_at - r.sent_at
            <= bindparam(None, timedelta(weeks=n), type_=INTERVAL(), unique=True)
        )
        for n in cohort_weeks
    ]
    rows = db.session.execute(
        select(r.area_id, bucket, func.count(), *waited)
        .where(r.area_id.in_(list(area_ids)), r.deleted_at.is_(None), b.within(r.sent_at))
        .group_by(r.area_id, bucket)
    )
    for area_id, k, referred, *entered in rows:
        week = b.week_of_bucket.get(k)
        if week is None:
            continue
        out[week][area_id]["referred"] = referred
        for n, count in zip(cohort_weeks, entered, strict=True):
            out[week][area_id][f"entered_{n}_weeks"] = count


def episode_measures(
    out: dict[date, dict[int, dict[str, Any]]], area_ids: Sequence[int], weeks: list[date]
) -> None:
    """Episodes started, and ended by outcome, per area and week (local dates)."""
    e = Episode
    thresholds = sorted({d for w in weeks for d in (w, w + timedelta(days=7))})
    week_of_bucket = {thresholds.index(w) + 1: w for w in weeks}
    days = bindparam(None, thresholds, type_=ARRAY(e.started_on.type), unique=True)
    lo, hi = thresholds[0], thresholds[-1]
    for column, outcome in ((e.started_on, None), (e.ended_on, e.outcome)):
        bucket = func.width_bucket(column, days).label("bucket")
        keys = (e.area_id, bucket) if outcome is None else (e.area_id, bucket, outcome)
        rows = db.session.execute(
            select(*keys, func.count())
            .where(
                e.area_id.in_(list(area_ids)),
                e.deleted_at.is_(None),
                column >= lo,
                column < hi,
            )
            .group_by(*keys)
        )
        for row in rows:
            week = week_of_bucket.get(row[1])
            if week is None:
                continue
            if outcome is None:
                measure = "episodes_started"
            elif row[2] in ("completed", "not_completed", "withdrawn"):
                measure = f"episodes_{row[2]}"
            else:
                continue
            out[week][row[0]][measure] += row[-1]
