"""Publication: the suppressed text of every cell a report shows (`published_week`),
and what changed since a recipient was last sent a week (`revisions_for`).

All cells of a recipient's scope (regional totals, every area, every team, every type)
are suppressed together for each week (`outreach.reports.suppression`), so the figures
one commissioner can see are one consistent publication.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from outreach.core.extensions import db
from outreach.interventions.codes import TYPE_CODES
from outreach.reports.aggregation import Aggregates, AreaInfo
from outreach.reports.measures import ADDITIVE, MEASURES, REGION, TYPE_MEASURES, cell_label
from outreach.reports.models import ReportDelivery
from outreach.reports.suppression import suppress
from outreach.reports.weeks import IsoWeek

Cell = tuple[str, str]  # (scope: an area code or REGION, measure)
Published = dict[Cell, str]  # cell -> published text ("0", "12", "<5", "*")
REVISION_WEEKS = 4


@dataclass(frozen=True)
class Revision:
    """A figure of an earlier week that changed since it was last sent."""

    week: str
    scope: str
    scope_name: str
    measure: str
    label: str
    old: str
    new: str


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


def published_week(agg: Aggregates, w: int) -> Published:
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
    shown: Published = suppress(values, constraints)  # type: ignore[assignment]
    for area in agg.areas:
        for team_id, _name in area.teams[:1] if len(area.teams) == 1 else ():
            shown[(area.code, f"team:{team_id}")] = shown[(area.code, "interventions")]
    if len(agg.areas) == 1:
        only = agg.areas[0].code
        for (scope, name), value in list(shown.items()):
            if scope == only and not name.startswith("team:"):
                shown[(REGION, name)] = value
    return shown


def figure(shown: Published, scope: str, measure: str) -> str:
    """A published figure by headline measure name (type measures map to their type)."""
    if measure in TYPE_MEASURES:
        measure = f"type:{TYPE_MEASURES[measure]}"
    return shown.get((scope, measure), "0")


def revisions_for(
    recipient_id: int,
    week: IsoWeek,
    figures: dict[str, dict[str, str]],
    areas: list[AreaInfo],
    team_names: dict[int, str],
) -> list[Revision]:
    """Earlier weeks' published figures that changed since last sent to this recipient."""
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
        old = next((d.figures[period] for d in sent if d.figures and period in d.figures), None)
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
                Revision(
                    week=period,
                    scope=scope,
                    scope_name=names.get(scope, scope),
                    measure=measure,
                    label=cell_label(measure, team_names),
                    old=old[key],
                    new=new[key],
                )
            )
    return out


def flat(shown: Published) -> dict[str, str]:
    """A week's published cells as stored with a delivery: {"scope/measure": text}."""
    return {f"{scope}/{measure}": value for (scope, measure), value in shown.items()}
