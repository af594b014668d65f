"""Publication: the suppressed text of every cell a report shows (`published_week`),
and the cells of a release (`release_cells`): every area and every commissioner's scope
total of one week (or of one late-records release) suppressed together, stored, and cut
for each recipient (`cut`).

All cells of a recipient's scope (regional totals, every area, every team, every type)
are suppressed together for each week (`outreach.reports.suppression`), so the figures
one commissioner can see are one consistent publication.
"""

from __future__ import annotations

from outreach.interventions.codes import TYPE_CODES
from outreach.reports.aggregation import Aggregates, AreaInfo
from outreach.reports.measures import ADDITIVE, MEASURES, REGION, TYPE_MEASURES
from outreach.reports.pathway_cells import (
    DISTINCT,
    MEDIAN,
    NO_MEDIAN,
    PathwayWeek,
    finish,
    late_values,
    pathway_values,
)
from outreach.reports.step_ledger import LateSteps
from outreach.reports.suppression import HIDDEN, is_hidden, suppress

Cell = tuple[str, str]  # (scope: an area code or REGION, measure)
Published = dict[Cell, str]  # cell -> published text ("0", "12", "<5", "*")


SCALARS = tuple(name for name in MEASURES if name not in TYPE_MEASURES)
# What a late-records release counts: additive figures of records, and records withdrawn.
LATE_SCALARS = ("interventions", "anonymous", "naloxone_kits", "nsp_packs", "withdrawn")
LATE_ADDITIVE = LATE_SCALARS


def _area_cells(
    agg: Aggregates, w: int, area: AreaInfo, names: tuple[str, ...] = SCALARS
) -> tuple[dict, list]:
    """True values and constraints of one area's week; keys (scope, measure)."""
    m = agg.measures.get((w, area.id), {})
    types = agg.types.get((w, area.id), {})
    teams = agg.teams.get((w, area.id), {})
    s = area.code
    values = {(s, name): int(m.get(name, 0)) for name in names}
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


def _scope_cells(
    scope: str,
    codes: list[str],
    area_values: dict,
    clients: int,
    additive: tuple[str, ...] = ADDITIVE,
    with_clients: bool = True,
) -> tuple[dict, list]:
    """True values and constraints of the totals of several areas (`scope`)."""
    values: dict = {}
    constraints: list = []
    for name in additive:
        values[(scope, name)] = sum(area_values[(c, name)] for c in codes)
        constraints.append(((scope, name), [(c, name) for c in codes]))
    if with_clients:
        values[(scope, "clients")] = clients
        if clients == sum(area_values[(c, "clients")] for c in codes):
            constraints.append(((scope, "clients"), [(c, "clients") for c in codes]))
    for code in TYPE_CODES:
        key = (scope, f"type:{code}")
        values[key] = sum(area_values[(c, f"type:{code}")] for c in codes)
        constraints.append((key, [(c, f"type:{code}") for c in codes]))
    constraints.append(((scope, "interventions"), [(scope, f"type:{code}") for code in TYPE_CODES]))
    return values, constraints


def _regional_cells(agg: Aggregates, w: int, area_values: dict) -> tuple[dict, list]:
    codes = [a.code for a in agg.areas]
    return _scope_cells(REGION, codes, area_values, agg.regional_clients.get(w, 0))


def scope_key(codes: list[str]) -> str:
    """The name of the scope total of several areas in a release: "scope:a,b"."""
    return "scope:" + ",".join(sorted(codes))


def release_cells(
    agg: Aggregates,
    scopes: dict[str, list[str]],
    scope_clients: dict[str, int],
    *,
    late: bool = False,
    pathways: PathwayWeek | None = None,
    late_steps: LateSteps | None = None,
) -> dict[str, str]:
    """The published cells of one release ({"scope/measure": text}): every area of
    `agg` (week index 0) and every scope total in `scopes`, suppressed together, so the
    union of what every recipient can see is one checked publication. `pathways`: a
    week's pathway figures (and the cohort it publishes, whose base was published by
    the cohort week's release and is kept as fixed); `late_steps`: a late-records
    release's pathway steps."""
    names = LATE_SCALARS if late else SCALARS
    values: dict = {}
    constraints: list = []
    for area in agg.areas:
        v, c = _area_cells(agg, 0, area, names)
        values.update(v)
        constraints += c
    for key, codes in scopes.items():
        v, c = _scope_cells(
            key,
            codes,
            values,
            scope_clients.get(key, 0),
            LATE_ADDITIVE if late else ADDITIVE,
            with_clients=not late,
        )
        values.update(v)
        constraints += c
    fixed: dict = {}
    if pathways is not None:  # the week's pathway figures, suppressed in the same run
        v, c, fixed = pathway_values(pathways, scopes)
        values.update(v)
        constraints += c
    if late_steps is not None:
        v, c = late_values(late_steps, agg.areas, scopes)
        values.update(v)
        constraints += c
    shown: Published = suppress(values, constraints, fixed)  # type: ignore[assignment]
    if pathways is not None:
        finish(shown, pathways, scopes)
    for area in agg.areas:
        for team_id, _name in area.teams[:1] if len(area.teams) == 1 else ():
            shown[(area.code, f"team:{team_id}")] = shown[(area.code, "interventions")]
    return flat(shown)


def cut(cells: dict[str, str], scopes: dict[str, list[str]], codes: list[str]) -> Published:
    """What a recipient of `codes` sees of a release: their areas' cells, and as REGION
    their scope's total: stored when the release knew the scope; for a scope made later,
    worked out from the areas' published cells only (a sum when every part is shown,
    else hidden), so it tells nothing the areas' figures do not."""
    wanted = set(codes)
    shown: Published = {}
    stored: Published = {}
    key = scope_key(codes)
    for name, text in cells.items():
        scope, measure = name.split("/", 1)
        if scope in wanted:
            shown[(scope, measure)] = text
        elif scope == key:
            stored[(REGION, measure)] = text
    if len(codes) == 1:
        for (_scope, measure), text in list(shown.items()):
            if not measure.startswith("team:"):
                shown[(REGION, measure)] = text
    elif key in scopes:
        shown.update(stored)
    elif codes:
        measures = list(dict.fromkeys(m for (_s, m) in shown if not m.startswith("team:")))
        for measure in measures:
            parts = [shown.get((c, measure), "0") for c in codes]
            if measure == MEDIAN:  # a median is not a sum: not known for a later scope
                none = all(p == NO_MEDIAN for p in parts)
                shown[(REGION, measure)] = NO_MEDIAN if none else HIDDEN
            elif all(p == "0" for p in parts):
                shown[(REGION, measure)] = "0"
            elif measure in ("clients", DISTINCT) or any(is_hidden(p) for p in parts):
                shown[(REGION, measure)] = HIDDEN
            else:
                shown[(REGION, measure)] = str(sum(int(p) for p in parts))
    return shown


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


def figure(shown: Published, scope: str, measure: str, default: str = "0") -> str:
    """A published figure by headline measure name (type measures map to their type)."""
    if measure in TYPE_MEASURES:
        measure = f"type:{TYPE_MEASURES[measure]}"
    return shown.get((scope, measure), default)


def flat(shown: Published) -> dict[str, str]:
    """A week's published cells as stored with a delivery: {"scope/measure": text}."""
    return {f"{scope}/{measure}": value for (scope, measure), value in shown.items()}
