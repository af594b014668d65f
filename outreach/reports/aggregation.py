"""Aggregation: the true counts a weekly report shows, for consecutive weeks and areas.

`aggregate` reads the weekly roll-ups on PostgreSQL (`outreach.reports.rollups`) and
counts the interventions directly elsewhere; both give the same figures (tested).

Definitions (also printed on the PDF's definitions page):
- A week is an ISO week, Monday 00:00 to Sunday 24:00 Europe/London (the configured
  TIMEZONE); its bounds are converted to UTC once, so clocks-change weeks are 167 or 169
  hours long and nothing falls between weeks.
- Records soft-deleted (`deleted_at`) are never counted.
- Unique clients: distinct clients with at least one intervention in the week.
- New clients: clients whose first recorded intervention ever (any team, any area, not
  deleted) falls in the week; counted in the area of that first intervention. The
  client record's creation time is not used: offline records and merges make it
  unreliable.
- Anonymous contacts: interventions recorded without a client.
- Naloxone kits and needle-and-syringe packs: the sum of the quantity of those
  interventions (an intervention without a quantity counts as none).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import (
    Date,
    DateTime,
    Select,
    and_,
    bindparam,
    case,
    cast,
    distinct,
    exists,
    func,
    literal,
    null,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import aliased

from outreach.access.models import Area, Team
from outreach.core.db import among, on_postgres
from outreach.core.extensions import db
from outreach.interventions.models import Intervention
from outreach.reports import rollups
from outreach.reports.models import ReportClientFirst, ReportClientWeek, ReportWeekCount
from outreach.reports.weeks import IsoWeek


@dataclass
class AreaInfo:
    id: int
    code: str
    name: str
    region: str
    teams: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class Aggregates:
    """True counts per (week, area): {measure: n}, {type: n}, {team_id: n}; and regional."""

    weeks: list[IsoWeek]
    areas: list[AreaInfo]
    measures: dict = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    types: dict = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    teams: dict = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    regional_clients: dict = field(default_factory=lambda: defaultdict(int))


def load_areas(area_ids: Sequence[int]) -> list[AreaInfo]:
    """The areas (by code) and their teams, for report sections."""
    areas = db.session.scalars(select(Area).where(Area.id.in_(list(area_ids))).order_by(Area.code))
    infos = [AreaInfo(a.id, a.code, a.name, a.region) for a in areas]
    by_id = {a.id: a for a in infos}
    for team in db.session.scalars(
        select(Team).where(Team.area_id.in_(list(by_id))).order_by(Team.name, Team.id)
    ):
        by_id[team.area_id].teams.append((team.id, team.name))
    return infos


def _add_row(result: Aggregates, w, area_id, team_id, type_, count, quantity, anonymous):
    m = result.measures[(w, area_id)]
    m["interventions"] += count
    m["anonymous"] += int(anonymous or 0)
    if type_ == "naloxone_supplied":
        m["naloxone_kits"] += int(quantity or 0)
    elif type_ == "needle_syringe_provision":
        m["nsp_packs"] += int(quantity or 0)
    result.types[(w, area_id)][type_] += count
    result.teams[(w, area_id)][team_id] += count


def _counts(result: Aggregates, wk, scope, with_client, *, regional: bool) -> None:
    """Counts, quantities and unique clients: three GROUP BY queries (any database)."""
    iv = Intervention
    rows = db.session.execute(
        select(
            wk,
            iv.area_id,
            iv.team_id,
            iv.type,
            func.count(),
            func.coalesce(func.sum(iv.quantity), 0),
            func.sum(case((iv.client_id.is_(None), 1), else_=0)),
        )
        .where(scope)
        .group_by(wk, iv.area_id, iv.team_id, iv.type)
    )
    for row in rows:
        _add_row(result, *row)
    for w, area_id, n in db.session.execute(
        select(wk, iv.area_id, func.count(distinct(iv.client_id)))
        .where(with_client)
        .group_by(wk, iv.area_id)
    ):
        result.measures[(w, area_id)]["clients"] = n
    if regional:
        for w, n in db.session.execute(
            select(wk, func.count(distinct(iv.client_id))).where(with_client).group_by(wk)
        ):
            result.regional_clients[w] = n


def _counts_from_rollups(result: Aggregates, weeks: list[IsoWeek], tz: str, ids: list) -> None:
    """Every figure from the weekly roll-ups (PostgreSQL, see `rollups`) in one
    statement, so all of them are read at one moment: week counts by area, team and
    type; engaged clients by week and area, and by week across the areas; new clients
    by week and area of their first contact."""
    index = {w.monday: i for i, w in enumerate(weeks)}
    first, last = weeks[0].monday, weeks[-1].monday
    lo, hi = weeks[0].bounds(tz)[0], weeks[-1].bounds(tz)[1]
    wc, cw, cf = ReportWeekCount, ReportClientWeek, ReportClientFirst
    counts: Select[tuple[Any, ...]] = select(  # type: ignore[assignment]
        literal("counts").label("kind"),
        wc.week_start,
        wc.area_id,
        wc.team_id,
        wc.type,
        wc.interventions,
        wc.quantity,
        wc.anonymous,
    ).where(wc.week_start.between(first, last), among(wc.area_id, ids), wc.interventions > 0)
    engaged = and_(cw.week_start.between(first, last), among(cw.area_id, ids))
    parts = [
        counts,
        select(
            literal("clients"), cw.week_start, cw.area_id, null(), null(), func.count(), ZERO, ZERO
        )
        .where(engaged)
        .group_by(cw.week_start, cw.area_id),
    ]
    if len(ids) > 1:  # a client seen in two areas counts once in the region
        pairs = select(cw.week_start, cw.client_id).where(engaged).distinct().subquery()
        parts.append(
            select(
                literal("region"),
                pairs.c.week_start,
                null(),
                null(),
                null(),
                func.count(),
                ZERO,
                ZERO,
            ).group_by(pairs.c.week_start)
        )
    first_week = cast(
        func.date_trunc("week", func.timezone(rollups.ROLLUP_TIMEZONE, cf.first_at)), Date
    )
    parts.append(
        select(literal("new"), first_week, cf.area_id, null(), null(), func.count(), ZERO, ZERO)
        .where(cf.first_at >= lo, cf.first_at < hi, among(cf.area_id, ids))
        .group_by(first_week, cf.area_id)
    )
    for kind, week_start, area_id, team_id, type_, count, quantity, anonymous in db.session.execute(
        union_all(*parts)
    ):
        w = index[week_start]
        if kind == "counts":
            _add_row(result, w, area_id, team_id, type_, count, quantity, anonymous)
        elif kind == "clients":
            result.measures[(w, area_id)]["clients"] = count
        elif kind == "region":
            result.regional_clients[w] = count
        else:
            result.measures[(w, area_id)]["new_clients"] = count


ZERO = literal(0)
COUNT = func.count()


def _width_bucket(column, weeks: list[IsoWeek], tz: str):
    """PostgreSQL: the index in `weeks` of `column`, by binary search over the weeks'
    UTC starts (a third of the cost of date_trunc(timezone(...)) per row)."""
    starts = [w.bounds(tz)[0] for w in weeks]
    return (
        func.width_bucket(
            column, bindparam("week_starts", starts, type_=ARRAY(DateTime(timezone=True)))
        )
        - 1
    ).label("wk")


def _week_index(weeks: list[IsoWeek], tz: str):
    """SQL CASE: the index in `weeks` of occurred_at (bounds converted to UTC here)."""
    starts = [w.bounds(tz)[0] for w in weeks]
    col = Intervention.occurred_at
    if len(weeks) == 1:
        return case((col.isnot(None), 0), else_=0)
    return case(*[(col < starts[i + 1], i) for i in range(len(weeks) - 1)], else_=len(weeks) - 1)


def aggregate(
    area_ids: Sequence[int],
    weeks: list[IsoWeek],
    tz: str | None = None,
    *,
    from_rollups: bool = True,
) -> Aggregates:
    """Count everything a report shows for consecutive `weeks` and `area_ids`.

    On PostgreSQL from the weekly roll-ups (`rollups`); elsewhere (or with
    `from_rollups=False`, which tests use to check the roll-ups) from the
    interventions: three GROUP BY queries and one for new clients. No per-row Python.
    """
    tz = tz or current_app.config["TIMEZONE"]
    areas = load_areas(area_ids)
    result = Aggregates(weeks=weeks, areas=areas)
    ids = [a.id for a in areas]
    if not ids:
        return result
    if from_rollups and rollups.usable(tz):
        _counts_from_rollups(result, weeks, tz, ids)
        return result
    lo, hi = weeks[0].bounds(tz)[0], weeks[-1].bounds(tz)[1]
    iv = Intervention
    if on_postgres():
        wk = _width_bucket(iv.occurred_at, weeks, tz)
        # A generic plan for a prepared statement ignores the week bounds (STYLE); the
        # distinct-client counts sort: keep the sorts in memory.
        db.session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        db.session.execute(text("SET LOCAL work_mem = '64MB'"))
    else:
        wk = _week_index(weeks, tz).label("wk")
    scope = and_(
        iv.occurred_at >= lo, iv.occurred_at < hi, iv.area_id.in_(ids), iv.deleted_at.is_(None)
    )
    with_client = and_(scope, iv.client_id.isnot(None))
    _counts(result, wk, scope, with_client, regional=len(ids) > 1)
    earlier = aliased(Intervention)
    first = ~exists().where(
        earlier.client_id == iv.client_id,
        earlier.occurred_at < iv.occurred_at,
        earlier.deleted_at.is_(None),
    )
    for w, area_id, n in db.session.execute(
        select(wk, iv.area_id, func.count(distinct(iv.client_id)))
        .where(with_client, first)
        .group_by(wk, iv.area_id)
    ):
        result.measures[(w, area_id)]["new_clients"] = n
    return result
