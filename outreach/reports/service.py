"""Weekly reports: one aggregation path for the JSON, the CSV, the PDF and the email.

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
from datetime import datetime

from flask import current_app
from sqlalchemy import (
    Date,
    DateTime,
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
from outreach.core.types import utcnow
from outreach.interventions.codes import INTERVENTION_TYPES, TYPE_CODES, TYPES_BY_CODE
from outreach.interventions.models import Intervention
from outreach.reports import rollups
from outreach.reports.models import ReportClientFirst, ReportClientWeek, ReportWeekCount
from outreach.reports.suppression import SMALL, change, suppress
from outreach.reports.weeks import IsoWeek, current_week, week_range

TREND_WEEKS = 12
REVISION_WEEKS = 4
REGION = "region"

# Scalar measures per scope (besides interventions by type and by team).
MEASURES = {
    "interventions": "Interventions",
    "clients": "Unique clients engaged",
    "new_clients": "New clients",
    "anonymous": "Anonymous contacts",
    "referrals": "Referrals to structured treatment",
    "treatment_entries": "Treatment entries confirmed",
    "diversions": "Diversions into treatment",
    "naloxone_kits": "Naloxone kits supplied",
    "nsp_packs": "Needle and syringe packs supplied",
}
# Headline measures that are the count of one intervention type.
TYPE_MEASURES = {
    "referrals": "referral_structured_treatment",
    "treatment_entries": "treatment_entry_confirmed",
    "diversions": "diversion",
}
# Measures whose regional figure is the sum of the areas' (used as constraints).
ADDITIVE = ("interventions", "anonymous", "naloxone_kits", "nsp_packs", "new_clients")

DEFINITIONS = [
    (
        "Week",
        "An ISO week: Monday 00:00 to Sunday 24:00, UK time (Europe/London), "
        "including the weeks when the clocks change.",
    ),
    ("Interventions", "Every recorded contact of one type (a visit can record several)."),
    ("Unique clients engaged", "Distinct clients with at least one intervention in the week."),
    (
        "New clients",
        "Clients whose first recorded intervention ever falls in the week, counted in the "
        "area of that first intervention.",
    ),
    ("Anonymous contacts", "Interventions recorded without identifying the client."),
    (
        "Referrals to structured treatment",
        "Referrals into a structured drug or alcohol treatment service.",
    ),
    ("Treatment entries confirmed", "Clients confirmed as having started structured treatment."),
    (
        "Diversions",
        "Diversions from police custody or an out-of-court disposal into treatment or education.",
    ),
    ("Naloxone kits", "Take-home naloxone kits handed over (sum of kits recorded)."),
    ("Needle and syringe packs", "Needle and syringe packs supplied (sum of packs recorded)."),
    (
        "Change",
        "This week's figure minus last week's; shown only when both figures are shown.",
    ),
    (
        "Data read",
        "When the figures were read from the database. Records made offline arrive late, "
        "so earlier weeks can change; changes to figures already sent are listed as "
        "revisions.",
    ),
    ("Deleted records", "Records deleted by a worker or a team lead are not counted."),
]

SUPPRESSION_NOTE = (
    "To protect the people behind the figures, any count from 1 to 4 is shown as <5. "
    "Where a total or a difference would let a reader work out a figure shown as <5, "
    "another figure is hidden too and shown as *. A change from last week is shown only "
    "when both weeks' figures are shown. Zero is shown as 0."
)


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
    counts = select(
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
        select(literal("clients"), cw.week_start, cw.area_id, null(), null(), func.count(), 0, 0)
        .where(engaged)
        .group_by(cw.week_start, cw.area_id),
    ]
    if len(ids) > 1:  # a client seen in two areas counts once in the region
        pairs = select(cw.week_start, cw.client_id).where(engaged).distinct().subquery()
        parts.append(
            select(
                literal("region"), pairs.c.week_start, null(), null(), null(), func.count(), 0, 0
            ).group_by(pairs.c.week_start)
        )
    first_week = cast(
        func.date_trunc("week", func.timezone(rollups.ROLLUP_TIMEZONE, cf.first_at)), Date
    )
    parts.append(
        select(literal("new"), first_week, cf.area_id, null(), null(), func.count(), 0, 0)
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


# --- cells and suppression -------------------------------------------------------


def _area_cells(agg: Aggregates, w: int, area: AreaInfo) -> tuple[dict, list]:
    """True values and constraints of one area's week; keys (scope, measure)."""
    m = agg.measures.get((w, area.id), {})
    types = agg.types.get((w, area.id), {})
    teams = agg.teams.get((w, area.id), {})
    s = area.code
    values = {(s, name): int(m.get(name, 0)) for name in MEASURES if name not in TYPE_MEASURES}
    for code in TYPE_CODES:
        values[(s, f"type:{code}")] = int(types.get(code, 0))
    team_ids = [t for t, _ in area.teams] + sorted(set(teams) - {t for t, _ in area.teams})
    for team_id in team_ids:
        values[(s, f"team:{team_id}")] = int(teams.get(team_id, 0))
    total = (s, "interventions")
    constraints = [(total, [(s, f"type:{c}") for c in TYPE_CODES])]
    if len(team_ids) > 1:
        constraints.append((total, [(s, f"team:{t}") for t in team_ids]))
    else:  # a single team's figure is the area's total: published as that, not twice
        for team_id in team_ids:
            del values[(s, f"team:{team_id}")]
    return values, constraints


def _regional_cells(agg: Aggregates, w: int, area_values: dict) -> tuple[dict, list]:
    codes = [a.code for a in agg.areas]
    values: dict = {}
    constraints: list = []
    for name in ADDITIVE:
        values[(REGION, name)] = sum(area_values[(c, name)] for c in codes)
        constraints.append(((REGION, name), [(c, name) for c in codes]))
    clients = agg.regional_clients.get(w, 0)
    values[(REGION, "clients")] = clients
    if clients == sum(area_values[(c, "clients")] for c in codes):
        constraints.append(((REGION, "clients"), [(c, "clients") for c in codes]))
    for code in TYPE_CODES:
        key = (REGION, f"type:{code}")
        values[key] = sum(area_values[(c, f"type:{code}")] for c in codes)
        constraints.append((key, [(c, f"type:{code}") for c in codes]))
    constraints.append(
        ((REGION, "interventions"), [(REGION, f"type:{code}") for code in TYPE_CODES])
    )
    return values, constraints


def published_week(agg: Aggregates, w: int) -> dict:
    """The suppressed text of every cell of week index `w`: {(scope, measure): text}.

    All cells of the scope (regional, areas, teams, types) are suppressed together, so
    no combination of the figures one report shows reveals a hidden one. A report for
    one area of a commissioner's scope is cut from this same publication.
    """
    values: dict = {}
    constraints: list = []
    for area in agg.areas:
        v, c = _area_cells(agg, w, area)
        values.update(v)
        constraints += c
    if len(agg.areas) > 1:
        v, c = _regional_cells(agg, w, values)
        values.update(v)
        constraints += c
    shown = suppress(values, constraints)
    for area in agg.areas:
        for team_id, _name in area.teams[:1] if len(area.teams) == 1 else ():
            shown[(area.code, f"team:{team_id}")] = shown[(area.code, "interventions")]
    if len(agg.areas) == 1:
        area = agg.areas[0].code
        for (scope, name), value in list(shown.items()):
            if scope == area and not name.startswith("team:"):
                shown[(REGION, name)] = value
    return shown


def figure(shown: dict, scope: str, measure: str) -> str:
    """A published figure by headline measure name (type measures map to their type)."""
    if measure in TYPE_MEASURES:
        measure = f"type:{TYPE_MEASURES[measure]}"
    return shown.get((scope, measure), "0")


def cell_label(measure: str, teams: dict[int, str] | None = None) -> str:
    if measure.startswith("type:"):
        return TYPES_BY_CODE[measure[5:]].label
    if measure.startswith("team:"):
        return (teams or {}).get(int(measure[5:]), f"Team {measure[5:]}")
    return MEASURES.get(measure, measure)


# --- the report ----------------------------------------------------------------


def build_report(
    area_ids: Sequence[int],
    week: IsoWeek,
    *,
    recipient_id: int | None = None,
    now: datetime | None = None,
) -> dict:
    """The whole report for `week` and `area_ids`, suppressed, ready for JSON/CSV/PDF."""
    tz = current_app.config["TIMEZONE"]
    now = now or utcnow()
    weeks = week_range(week, TREND_WEEKS)
    agg = aggregate(area_ids, weeks, tz)
    read_at = utcnow()
    published = {str(wk): published_week(agg, i) for i, wk in enumerate(weeks)}
    this, last = published[str(week)], published[str(week.shift(-1))]
    team_names = {t: n for a in agg.areas for t, n in a.teams}
    multi = len(agg.areas) > 1

    def section(scope: str, kind: str, name: str, area: AreaInfo | None) -> dict:
        headline = []
        for measure, label in MEASURES.items():
            value, previous = figure(this, scope, measure), figure(last, scope, measure)
            headline.append(
                {
                    "measure": measure,
                    "label": label,
                    "value": value,
                    "previous": previous,
                    "change": change(value, previous),
                }
            )
        out = {
            "scope": {"kind": kind, "code": scope if kind == "area" else None, "name": name},
            "headline": headline,
            "by_type": [
                {"code": t.code, "label": t.label, "value": figure(this, scope, f"type:{t.code}")}
                for t in INTERVENTION_TYPES
            ],
            "trend": [
                {
                    "week": str(wk),
                    "week_start": wk.monday.isoformat(),
                    "interventions": figure(published[str(wk)], scope, "interventions"),
                    "clients": figure(published[str(wk)], scope, "clients"),
                    "treatment_entries": figure(published[str(wk)], scope, "treatment_entries"),
                }
                for wk in weeks
            ],
        }
        if area is not None:
            out["by_team"] = [
                {"id": tid, "name": tname, "value": figure(this, scope, f"team:{tid}")}
                for tid, tname in area.teams
            ]
        else:
            out["by_area"] = [
                {"code": a.code, "name": a.name, "value": figure(this, a.code, "interventions")}
                for a in agg.areas
            ]
        return out

    if multi:
        regions = sorted({a.region for a in agg.areas})
        summary = section(REGION, "region", "All areas: " + ", ".join(regions), None)
        sections = [section(a.code, "area", a.name, a) for a in agg.areas]
    elif agg.areas:
        summary = section(agg.areas[0].code, "area", agg.areas[0].name, agg.areas[0])
        sections = []
    else:
        summary, sections = None, []
    figures = {str(wk): _flat(published[str(wk)]) for wk in weeks[-(REVISION_WEEKS + 1) :]}
    report = {
        "week": str(week),
        "week_start": week.monday.isoformat(),
        "week_end": week.sunday.isoformat(),
        "timezone": tz,
        "complete": week < current_week(now, tz),
        "data_read_at": read_at.isoformat().replace("+00:00", "Z"),
        "areas": [{"code": a.code, "name": a.name, "region": a.region} for a in agg.areas],
        "summary": summary,
        "sections": sections,
        "revisions": [],
        "suppression_note": SUPPRESSION_NOTE,
        "definitions": [{"term": t, "definition": d} for t, d in DEFINITIONS],
    }
    report["figures"] = figures
    report["cells"] = published
    report["team_names"] = team_names
    if recipient_id is not None:
        report["revisions"] = revisions_for(recipient_id, week, figures, agg.areas, team_names)
    return report


def narrow_report(report: dict, code: str) -> dict:
    """One area cut from a several-area report (same publication, same figures)."""
    if len(report["areas"]) <= 1:
        return report
    section = next(s for s in report["sections"] if s["scope"]["code"] == code)
    out = dict(report)
    out["areas"] = [a for a in report["areas"] if a["code"] == code]
    out["summary"] = section
    out["sections"] = []
    out["revisions"] = [r for r in report["revisions"] if r["scope"] == code]
    out["cells"] = {
        week: {k: v for k, v in shown.items() if k[0] == code}
        for week, shown in report["cells"].items()
    }
    return out


def _flat(shown: dict) -> dict[str, str]:
    return {f"{scope}/{measure}": value for (scope, measure), value in shown.items()}


def public_report(report: dict) -> dict:
    """The report without internal working (cell maps): what the API returns."""
    return {k: v for k, v in report.items() if k not in ("figures", "cells", "team_names")}


def revisions_for(
    recipient_id: int,
    week: IsoWeek,
    figures: dict[str, dict[str, str]],
    areas: list[AreaInfo],
    team_names: dict[int, str],
) -> list[dict]:
    """Earlier weeks' published figures that changed since last sent to this recipient."""
    from outreach.reports.models import ReportDelivery

    periods = [str(week.shift(-i)) for i in range(1, REVISION_WEEKS + 1)]
    sent = db.session.scalars(
        select(ReportDelivery)
        .where(
            ReportDelivery.recipient_id == recipient_id,
            ReportDelivery.status == "sent",
            ReportDelivery.period.in_(periods),
            ReportDelivery.figures.isnot(None),
        )
        .order_by(ReportDelivery.period.desc())
    ).all()
    names = {a.code: a.name for a in areas}
    names[REGION] = "All areas"
    out = []
    for period in sorted(periods):
        old = next((d.figures[period] for d in sent if period in (d.figures or {})), None)
        new = figures.get(period)
        if old is None or new is None:
            continue
        for key in sorted(set(old) & set(new)):
            if old[key] == new[key]:
                continue
            scope, measure = key.split("/", 1)
            if len(areas) == 1 and scope == REGION:
                continue
            out.append(
                {
                    "week": period,
                    "scope": scope,
                    "scope_name": names.get(scope, scope),
                    "measure": measure,
                    "label": cell_label(measure, team_names),
                    "old": old[key],
                    "new": new[key],
                }
            )
    return out


def csv_rows(report: dict) -> list[list[str]]:
    """Rows of the CSV: every published cell of every week of the trend window."""
    names = {a["code"]: a["name"] for a in report["areas"]}
    names[REGION] = "All areas"
    rows = [["week", "week_start", "scope", "scope_name", "measure", "label", "value"]]
    multi = len(report["areas"]) > 1
    for period, shown in report["cells"].items():
        start = IsoWeek.parse(period).monday.isoformat()
        for (scope, measure), value in shown.items():
            if scope == REGION and not multi:
                continue
            label = cell_label(measure, report["team_names"])
            rows.append([period, start, scope, names.get(scope, scope), measure, label, value])
    return rows


__all__ = ["SMALL", "aggregate", "build_report", "csv_rows", "published_week"]
