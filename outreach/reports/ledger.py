"""The ledger (`ReportCounted`): which interventions each release counted, as counted.

A weekly release counts every live intervention dated in its week that no release has
counted yet (`count_week`), and its figures are tallied from exactly those ledger rows
(`tally_week`), so what a release shows and what the ledger says it counted cannot
drift apart, however many phones push meanwhile.

A late-records release (`count_late`) counts what changed, among the weeks already
released, since those weeks were counted: records that arrived late (added), records
deleted (withdrawn), and records edited in what a report counts (date, area, team,
type, quantity, with or without a client: the counted version withdrawn, the new one
added). The ledger rows are rewritten in the same transaction, so every change is
counted once, by one release, and none is missed.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import (
    and_,
    case,
    delete,
    distinct,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    true,
)

from outreach.core.extensions import db
from outreach.interventions.models import Intervention
from outreach.reports.aggregation import Aggregates, AreaInfo, _add_row
from outreach.reports.models import ReportCounted
from outreach.reports.weeks import IsoWeek

COLUMNS = ("occurred_at", "area_id", "team_id", "type", "quantity", "client_id")


def _arrived(arrived_by: datetime | None):
    """Records that had reached the server by `arrived_by` (a backdated release)."""
    return true() if arrived_by is None else Intervention.created_at <= arrived_by


def count_week(release_id: int, week: IsoWeek, tz: str, arrived_by: datetime | None = None) -> None:
    """Enter every live intervention of `week` not yet counted as counted by this release."""
    iv, c = Intervention, ReportCounted
    lo, hi = week.bounds(tz)
    rows = select(iv.id, literal(release_id), *(getattr(iv, name) for name in COLUMNS)).where(
        iv.occurred_at >= lo,
        iv.occurred_at < hi,
        iv.deleted_at.is_(None),
        _arrived(arrived_by),
        ~exists().where(c.intervention_id == iv.id),
    )
    db.session.execute(
        insert(c).from_select(["intervention_id", "release_id", *COLUMNS], rows),
        execution_options={"synchronize_session": False},
    )


def tally_week(
    release_id: int, areas: list[AreaInfo], scopes: dict[str, list[str]]
) -> tuple[Aggregates, dict[str, int]]:
    """The true counts of a weekly release, from its ledger rows (week index 0), and the
    unique clients of each scope total (a client seen in two areas counts once)."""
    c = ReportCounted
    agg = Aggregates(weeks=[], areas=areas)
    mine = c.release_id == release_id
    for row in db.session.execute(
        select(
            c.area_id,
            c.team_id,
            c.type,
            func.count(),
            func.coalesce(func.sum(c.quantity), 0),
            func.sum(case((c.client_id.is_(None), 1), else_=0)),
        )
        .where(mine)
        .group_by(c.area_id, c.team_id, c.type)
    ):
        _add_row(agg, 0, *row)
    with_client = and_(mine, c.client_id.isnot(None))
    for area_id, n in db.session.execute(
        select(c.area_id, func.count(distinct(c.client_id))).where(with_client).group_by(c.area_id)
    ):
        agg.measures[(0, area_id)]["clients"] = n
    ids = {a.code: a.id for a in areas}
    clients = {}
    for key, codes in scopes.items():
        area_ids = [ids[code] for code in codes if code in ids]
        clients[key] = (
            db.session.scalar(
                select(func.count(distinct(c.client_id))).where(
                    with_client, c.area_id.in_(area_ids)
                )
            )
            or 0
        )
    return agg, clients


@dataclass
class Late:
    """What a late-records release counts: true counts (week index 0) and the weeks."""

    agg: Aggregates
    weeks: list[str] = field(default_factory=list)  # released weeks the changes fall in


def _same():
    """The ledger row still describes the intervention as it is (what reports count)."""
    iv, c = Intervention, ReportCounted
    return and_(
        c.occurred_at == iv.occurred_at,
        c.area_id == iv.area_id,
        c.team_id == iv.team_id,
        c.type == iv.type,
        func.coalesce(c.quantity, -1) == func.coalesce(iv.quantity, -1),
        case((c.client_id.is_(None), 1), else_=0) == case((iv.client_id.is_(None), 1), else_=0),
    )


def count_late(
    release_id: int,
    released: Collection[str],
    areas: list[AreaInfo],
    tz: str,
    arrived_by: datetime | None = None,
) -> Late:
    """Count, for this late-records release, every change to the `released` weeks
    (ISO week names) since they were counted, and rewrite the ledger to match."""
    late = Late(Aggregates(weeks=[], areas=areas))
    if not released:
        return late
    iv, c = Intervention, ReportCounted
    weeks = sorted(IsoWeek.parse(p) for p in released)
    lo, hi = weeks[0].bounds(tz)[0], weeks[-1].bounds(tz)[1]
    zone = ZoneInfo(tz)
    touched: set[str] = set()

    def week_of(at) -> str:
        return str(IsoWeek.of(at.astimezone(zone).date()))

    # Withdrawn: counted rows whose record is gone, deleted, or no longer as counted.
    withdrawn = db.session.execute(
        select(c.intervention_id, c.occurred_at, c.area_id)
        .select_from(c)
        .outerjoin(iv, iv.id == c.intervention_id)
        .where(or_(iv.id.is_(None), iv.deleted_at.isnot(None), ~_same()))
    ).all()
    gone = []
    for intervention_id, occurred_at, area_id in withdrawn:
        agg_measures = late.agg.measures[(0, area_id)]
        agg_measures["withdrawn"] += 1
        touched.add(week_of(occurred_at))
        gone.append(intervention_id)
    for start in range(0, len(gone), 500):
        db.session.execute(
            delete(c).where(c.intervention_id.in_(gone[start : start + 500])),
            execution_options={"synchronize_session": False},
        )
    # Added: live records of the released weeks the ledger does not hold (any more).
    candidates = db.session.execute(
        select(iv.id, *(getattr(iv, name) for name in COLUMNS)).where(
            iv.occurred_at >= lo,
            iv.occurred_at < hi,
            iv.deleted_at.is_(None),
            _arrived(arrived_by),
            ~exists().where(c.intervention_id == iv.id),
        )
    ).all()
    released_set = set(released)
    new_rows = []
    for row in candidates:
        week = week_of(row.occurred_at)
        if week not in released_set:
            continue
        touched.add(week)
        _add_row(
            late.agg, 0, row.area_id, row.team_id, row.type, 1, row.quantity, row.client_id is None
        )
        new_rows.append(
            {"intervention_id": row.id, "release_id": release_id}
            | {name: getattr(row, name) for name in COLUMNS}
        )
    for start in range(0, len(new_rows), 500):
        db.session.execute(insert(c), new_rows[start : start + 500])
    late.weeks = sorted(touched & released_set)
    return late
