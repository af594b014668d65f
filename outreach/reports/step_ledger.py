"""The pathway ledger (`ReportCountedStep`): each pathway step a release counted, as
counted (docs/disclosure.md, "Pathway figures").

A step is one event a pathway figure counts: a referral made (`sent_at`), accepted,
its first contact, its treatment entry within 21 days of being sent; a diversion
episode started, or ended with an outcome. Like interventions (`ledger.py`):

- a weekly release counts every live step of its week not counted yet
  (`count_week_steps`) and tallies its pathway figures from exactly those rows
  (`tally_steps`);
- a late-records release counts every change to the released weeks' steps since
  they were counted (`count_late_steps`): steps that arrived late (added) and counted
  steps whose record is gone, deleted or changed (withdrawn);
- a referral cohort (`cohort_counts`) is the referrals that its week's release
  counted as made, so its base is the published `referrals_made`, never a recount.

Withdrawn rows are marked, not deleted, so a cohort's base never changes.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, insert, literal, or_, select, update

from outreach.core.extensions import db
from outreach.pathways.measures import COHORT_WEEKS, DAY, WINDOW_DAYS
from outreach.pathways.models import Episode, Referral
from outreach.reports.models import ReportCountedStep
from outreach.reports.weeks import IsoWeek, local_midnight_utc

MADE = "referrals_made"
ACCEPTED = "referrals_accepted"
TREATED = "treatment_within_21_days"  # distinct people, not an additive count
CONTACTS = "first_contacts"
OUTCOMES = ("completed", "not_completed", "withdrawn")
WITHDRAWN = "pathway_withdrawn"  # the late-records release's count of withdrawn steps


@dataclass(frozen=True)
class Step:
    """One countable pathway event; `key` is what the ledger matches on."""

    measure: str
    record_id: UUID
    at: datetime
    area_id: int
    client_id: UUID | None = None
    sent_at: datetime | None = None

    @property
    def key(self) -> tuple:
        return (self.measure, self.record_id, self.at, self.area_id)


def _aware(at: datetime) -> datetime:
    from datetime import UTC

    return at if at.tzinfo else at.replace(tzinfo=UTC)


def live_steps(
    lo: datetime,
    hi: datetime,
    tz: str,
    arrived_by: datetime | None = None,
    *,
    simple: bool = True,
) -> list[Step]:
    """Every step of live records falling in [lo, hi) (UTC); without the `simple`
    referral steps (made, accepted, first contact: `count_week_steps` enters those in
    SQL) when `simple` is False."""
    r, e = Referral, Episode
    columns = (r.sent_at, r.accepted_at, r.first_contact_at, r.treatment_entry_at)
    wanted = columns if simple else (r.treatment_entry_at,)
    where = [r.deleted_at.is_(None), or_(*(and_(c >= lo, c < hi) for c in wanted))]
    if arrived_by is not None:
        where.append(r.created_at <= arrived_by)
    out: list[Step] = []

    def inside(at: datetime | None) -> bool:
        return at is not None and lo <= at < hi

    for rid, area, client, *times in db.session.execute(
        select(r.id, r.area_id, r.client_id, *columns).where(*where)
    ):
        sent, accepted, contact, entry = (None if t is None else _aware(t) for t in times)
        if simple and sent is not None and inside(sent):
            out.append(Step(MADE, rid, sent, area, client, sent))
        if simple and accepted is not None and inside(accepted):
            out.append(Step(ACCEPTED, rid, accepted, area, client, sent))
        if simple and contact is not None and inside(contact) and sent is not None:
            out.append(Step(CONTACTS, rid, contact, area, client, sent))
        if (
            entry is not None
            and inside(entry)
            and sent is not None
            and (entry - sent).total_seconds() <= WINDOW_DAYS * DAY
        ):
            out.append(Step(TREATED, rid, entry, area, client, sent))
    zone = ZoneInfo(tz)
    first, last = lo.astimezone(zone).date(), hi.astimezone(zone).date()
    where = [
        e.deleted_at.is_(None),
        or_(e.started_on.between(first, last), e.ended_on.between(first, last)),
    ]
    if arrived_by is not None:
        where.append(e.created_at <= arrived_by)
    for eid, area, client, started, ended, outcome in db.session.execute(
        select(e.id, e.area_id, e.client_id, e.started_on, e.ended_on, e.outcome).where(*where)
    ):
        if (at := _day(started, tz)) is not None and lo <= at < hi:
            out.append(Step("episodes_started", eid, at, area, client))
        if outcome in OUTCOMES and (at := _day(ended, tz)) is not None and lo <= at < hi:
            out.append(Step(f"episodes_{outcome}", eid, at, area, client))
    return out


def _day(day: date | None, tz: str) -> datetime | None:
    """An episode's date as a step time: local midnight at its start (in its week)."""
    return None if day is None else local_midnight_utc(day, tz)


def _current(record_ids: Iterable[UUID]) -> set[tuple]:
    """Keys of the ledger rows in force (not withdrawn) for these records."""
    ids = list(set(record_ids))
    s = ReportCountedStep
    keys: set[tuple] = set()
    for start in range(0, len(ids), 500):
        for row in db.session.execute(
            select(s.measure, s.record_id, s.at, s.area_id).where(
                s.withdrawn_by.is_(None), s.record_id.in_(ids[start : start + 500])
            )
        ):
            keys.add((row[0], row[1], _aware(row[2]), row[3]))
    return keys


def _insert(release_id: int, steps: list[Step]) -> None:
    rows = [
        {
            "release_id": release_id,
            "measure": st.measure,
            "record_id": st.record_id,
            "at": st.at,
            "area_id": st.area_id,
            "client_id": st.client_id,
            "sent_at": st.sent_at,
        }
        for st in steps
    ]
    for start in range(0, len(rows), 500):
        db.session.execute(
            ReportCountedStep.__table__.insert(),  # type: ignore[attr-defined]
            rows[start : start + 500],
        )


def count_week_steps(
    release_id: int, week: IsoWeek, tz: str, arrived_by: datetime | None = None
) -> None:
    """Enter every live step of `week` not counted yet as counted by this release: the
    referrals made, accepted and first contacts by INSERT ... SELECT (most of the
    rows), the treatment entries within 21 days and the episodes' steps from Python
    (day arithmetic and local dates the two databases do not share)."""
    lo, hi = week.bounds(tz)
    r, s = Referral, ReportCountedStep
    names = ["release_id", "measure", "record_id", "at", "area_id", "client_id", "sent_at"]
    for measure, column in (
        (MADE, r.sent_at),
        (ACCEPTED, r.accepted_at),
        (CONTACTS, r.first_contact_at),
    ):
        counted = exists().where(
            s.withdrawn_by.is_(None),
            s.record_id == r.id,
            s.measure == measure,
            s.at == column,
            s.area_id == r.area_id,
        )
        where = [
            r.deleted_at.is_(None),
            column >= lo,
            column < hi,
            r.sent_at.is_not(None),
            ~counted,
        ]
        if arrived_by is not None:
            where.append(r.created_at <= arrived_by)
        rows = select(
            literal(release_id), literal(measure), r.id, column, r.area_id, r.client_id, r.sent_at
        ).where(*where)
        db.session.execute(
            insert(s).from_select(names, rows), execution_options={"synchronize_session": False}
        )
    steps = live_steps(lo, hi, tz, arrived_by, simple=False)
    counted_keys = _current(st.record_id for st in steps)
    _insert(release_id, [st for st in steps if st.key not in counted_keys])


@dataclass
class StepTally:
    """True pathway figures of a release's ledger rows, per area id."""

    counts: dict[int, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    days: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    treated: dict[int, set] = field(default_factory=lambda: defaultdict(set))

    def median(self, area_ids: Collection[int]) -> float | None:
        days = [d for a in area_ids for d in self.days.get(a, [])]
        return round(statistics.median(days), 1) if days else None

    def people(self, area_ids: Collection[int]) -> int:
        """Distinct people treated within 21 days in these areas together."""
        return len(set().union(*(self.treated.get(a, set()) for a in area_ids)))


def _tally(rows: Iterable[Any]) -> StepTally:
    tally = StepTally()
    for measure, record_id, at, area_id, client_id, sent_at in rows:
        counts = tally.counts[area_id]
        counts[measure] = counts.get(measure, 0) + 1
        if measure == CONTACTS and sent_at is not None:
            seconds = (_aware(at) - _aware(sent_at)).total_seconds()
            tally.days[area_id].append(max(seconds, 0) / DAY)
        if measure == TREATED:
            tally.treated[area_id].add(client_id if client_id is not None else record_id)
    for area_id, people in tally.treated.items():
        tally.counts[area_id][TREATED] = len(people)
    return tally


def tally_steps(release_id: int) -> StepTally:
    """The pathway figures a weekly release counted (its own ledger rows)."""
    s = ReportCountedStep
    return _tally(
        db.session.execute(
            select(s.measure, s.record_id, s.at, s.area_id, s.client_id, s.sent_at).where(
                s.release_id == release_id
            )
        )
    )


@dataclass
class LateSteps:
    """What a late-records release counts of pathway steps: added steps tallied, and
    withdrawn steps per area id; the released weeks the changes fall in."""

    added: StepTally
    withdrawn: dict[int, int] = field(default_factory=dict)
    weeks: set[str] = field(default_factory=set)


def count_late_steps(
    release_id: int, released: Collection[str], tz: str, arrived_by: datetime | None = None
) -> LateSteps:
    """Count every change to the steps of the `released` weeks (those counted through
    the ledger) since they were counted, and mark or add the ledger rows to match."""
    late = LateSteps(StepTally())
    if not released:
        return late
    weeks = sorted(IsoWeek.parse(p) for p in released)
    lo, hi = weeks[0].bounds(tz)[0], weeks[-1].bounds(tz)[1]
    zone = ZoneInfo(tz)
    released_set = set(released)

    def week_of(at: datetime) -> str:
        return str(IsoWeek.of(_aware(at).astimezone(zone).date()))

    live = live_steps(lo, hi, tz, arrived_by)
    live_keys = {st.key for st in live}
    s = ReportCountedStep
    gone: list[int] = []
    in_force: set[tuple] = set()
    for row_id, measure, record_id, at, area_id in db.session.execute(
        select(s.id, s.measure, s.record_id, s.at, s.area_id).where(s.withdrawn_by.is_(None))
    ):
        key = (measure, record_id, _aware(at), area_id)
        if key in live_keys:
            in_force.add(key)
            continue
        gone.append(row_id)
        late.withdrawn[area_id] = late.withdrawn.get(area_id, 0) + 1
        late.weeks.add(week_of(at))
    for start in range(0, len(gone), 500):
        db.session.execute(
            update(s).where(s.id.in_(gone[start : start + 500])).values(withdrawn_by=release_id),
            execution_options={"synchronize_session": False},
        )
    added = [st for st in live if st.key not in in_force and week_of(st.at) in released_set]
    _insert(release_id, added)
    late.added = _tally(
        (st.measure, st.record_id, st.at, st.area_id, st.client_id, st.sent_at) for st in added
    )
    late.weeks |= {week_of(st.at) for st in added}
    late.weeks &= released_set
    return late


def cohort_counts(week_release_id: int) -> dict[int, dict[str, int]]:
    """The referral cohort of the week released by `week_release_id`, per area id:
    `referred` (the referrals that release counted as made, withdrawn since or not:
    the published referrals_made) and `entered_{n}` for n in COHORT_WEEKS (of those,
    the ones still live whose treatment entry came within n weeks of being sent)."""
    s, r = ReportCountedStep, Referral
    rows = db.session.execute(
        select(s.area_id, s.at, r.treatment_entry_at, r.deleted_at)
        .select_from(s)
        .outerjoin(r, r.id == s.record_id)
        .where(s.release_id == week_release_id, s.measure == MADE)
    ).all()
    out: dict[int, dict[str, int]] = {}
    for area_id, sent, entry, deleted in rows:
        figures = out.setdefault(
            area_id, {"referred": 0} | {f"entered_{n}": 0 for n in COHORT_WEEKS}
        )
        figures["referred"] += 1
        if entry is None or deleted is not None:
            continue  # withdrawn since (counted as such in a late-records release)
        waited = _aware(entry) - _aware(sent)
        for n in COHORT_WEEKS:
            if waited <= timedelta(weeks=n):
                figures[f"entered_{n}"] += 1
    return out
