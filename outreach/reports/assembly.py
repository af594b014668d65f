"""Assembly: the weekly report for a scope and week, typed, ready for the JSON, the CSV,
the PDF and the email (`build_report`), and one area cut from a several-area report
(`narrow_report`). The path of a report: aggregation (true counts) -> publication
(suppressed text, revisions) -> assembly (this) -> rendering (`outreach.reports.render`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app

from outreach.core.types import utcnow
from outreach.interventions.codes import INTERVENTION_TYPES
from outreach.reports.aggregation import AreaInfo, aggregate
from outreach.reports.measures import (
    DEFINITIONS,
    MEASURES,
    REGION,
    SUPPRESSION_NOTE,
    TREND_WEEKS,
)
from outreach.reports.pathway_cells import pathway_section
from outreach.reports.publication import Published, figure, flat, published_week
from outreach.reports.suppression import change
from outreach.reports.weeks import IsoWeek, week_range

FIGURES_KEPT = 5  # weeks of figures stored with a delivery (this week and four before)


@dataclass(frozen=True)
class Scope:
    kind: str  # region or area
    code: str | None
    name: str


@dataclass(frozen=True)
class Headline:
    measure: str
    label: str
    value: str
    previous: str
    change: str | None


@dataclass(frozen=True)
class Row:
    """One figure of a breakdown: by type (code, label), area (code, name) or team."""

    value: str
    code: str | None = None
    label: str | None = None
    name: str | None = None
    id: int | None = None


@dataclass(frozen=True)
class TrendPoint:
    week: str
    week_start: str
    interventions: str
    clients: str
    treatment_entries: str


@dataclass
class Section:
    """The figures of one scope: the region (several areas) or one area."""

    scope: Scope
    headline: list[Headline]
    by_type: list[Row]
    trend: list[TrendPoint]
    by_team: list[Row] | None = None  # an area's
    by_area: list[Row] | None = None  # a region's
    pathways: dict[str, Any] | None = None  # a released week's (pathway_cells)

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "scope": dataclasses.asdict(self.scope),
            "headline": [dataclasses.asdict(h) for h in self.headline],
            "by_type": [{"code": r.code, "label": r.label, "value": r.value} for r in self.by_type],
            "trend": [dataclasses.asdict(t) for t in self.trend],
        }
        if self.by_team is not None:
            out["by_team"] = [{"id": r.id, "name": r.name, "value": r.value} for r in self.by_team]
        if self.by_area is not None:
            out["by_area"] = [
                {"code": r.code, "name": r.name, "value": r.value} for r in self.by_area
            ]
        if self.pathways is not None:
            out["pathways"] = self.pathways
        return out


@dataclass(frozen=True)
class LateFigure:
    measure: str
    label: str
    value: str


@dataclass
class LateSection:
    scope: Scope
    figures: list[LateFigure]


@dataclass
class LateRecords:
    """The late-records release a weekly release carries (docs/disclosure.md)."""

    period: str
    counted_on: str
    weeks: str | None
    note: str
    sections: list[LateSection]
    cells: Published = field(default_factory=dict)  # the CSV's rows; not in the JSON

    def table(self) -> tuple[list[str], list[tuple[str, list[str]]]]:
        """One table for the PDF: a column per scope, a row per figure that is not 0
        somewhere (a team's row is blank in the other areas' columns)."""
        heads = [s.scope.name for s in self.sections]
        order: dict[str, str] = {}
        values: dict[tuple[int, str], str] = {}
        for i, section in enumerate(self.sections):
            for f in section.figures:
                order.setdefault(f.measure, f.label)
                values[(i, f.measure)] = f.value
        rows = []
        for measure, label in order.items():
            cells = [values.get((i, measure), "") for i in range(len(self.sections))]
            if any(c not in ("", "0") for c in cells):
                rows.append((label, cells))
        return heads, rows

    def public(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "counted_on": self.counted_on,
            "weeks": self.weeks,
            "note": self.note,
            "sections": [
                {
                    "scope": dataclasses.asdict(s.scope),
                    "figures": [dataclasses.asdict(f) for f in s.figures],
                }
                for s in self.sections
            ],
        }


@dataclass
class WeeklyReport:
    """Everything a recipient sees of one week, suppressed."""

    week: str
    week_start: str
    week_end: str
    timezone: str
    complete: bool
    data_read_at: str
    areas: list[dict[str, str]]
    summary: Section | None
    sections: list[Section]
    draft: bool = False
    released_at: str | None = None
    release_note: str = ""
    late_records: LateRecords | None = None
    suppression_note: str = SUPPRESSION_NOTE
    definitions: list[dict[str, str]] = field(
        default_factory=lambda: [{"term": t, "definition": d} for t, d in DEFINITIONS]
    )
    # Every published cell of each week of the trend window (the CSV's rows) and the
    # team names of the scope: internal, never in the JSON.
    cells: dict[str, Published] = field(default_factory=dict)
    team_names: dict[int, str] = field(default_factory=dict)

    @property
    def figures(self) -> dict[str, dict[str, str]]:
        """The figures stored with a delivery: the week and the four before it."""
        weeks = list(self.cells)[-FIGURES_KEPT:]
        return {week: flat(self.cells[week]) for week in weeks}

    def public(self) -> dict[str, Any]:
        """The report as the API returns it."""
        return {
            "week": self.week,
            "week_start": self.week_start,
            "week_end": self.week_end,
            "timezone": self.timezone,
            "complete": self.complete,
            "draft": self.draft,
            "released_at": self.released_at,
            "release_note": self.release_note,
            "data_read_at": self.data_read_at,
            "areas": self.areas,
            "summary": self.summary.public() if self.summary else None,
            "sections": [s.public() for s in self.sections],
            "late_records": self.late_records.public() if self.late_records else None,
            "suppression_note": self.suppression_note,
            "definitions": self.definitions,
        }


def _section(
    this: Published,
    last: Published | None,
    published: dict[str, Published],
    weeks: list[IsoWeek],
    scope: Scope,
    area: AreaInfo | None,
    areas: list[AreaInfo],
) -> Section:
    key = scope.code if scope.kind == "area" and scope.code else REGION
    headline = []
    for measure, label in MEASURES.items():
        value = figure(this, key, measure)
        previous = figure(last, key, measure) if last is not None else ""
        diff = change(value, previous) if previous else None
        headline.append(Headline(measure, label, value, previous, diff))
    section = Section(
        scope=scope,
        headline=headline,
        by_type=[
            Row(code=t.code, label=t.label, value=figure(this, key, f"type:{t.code}"))
            for t in INTERVENTION_TYPES
        ],
        trend=[
            TrendPoint(
                week=str(wk),
                week_start=wk.monday.isoformat(),
                interventions=figure(published[str(wk)], key, "interventions"),
                clients=figure(published[str(wk)], key, "clients"),
                treatment_entries=figure(published[str(wk)], key, "treatment_entries"),
            )
            for wk in weeks
        ],
    )
    section.pathways = pathway_section(this, key, weeks[-1]) if weeks else None
    if area is not None:
        section.by_team = [
            Row(id=tid, name=tname, value=figure(this, key, f"team:{tid}"))
            for tid, tname in area.teams
        ]
    else:
        section.by_area = [
            Row(code=a.code, name=a.name, value=figure(this, a.code, "interventions"))
            for a in areas
        ]
    return section


def _assemble(
    week: IsoWeek,
    published: dict[str, Published],
    weeks: list[IsoWeek],
    areas: list[AreaInfo],
    read_at: datetime,
    **extra: Any,
) -> WeeklyReport:
    """The report of `week` from published cells of `weeks` (oldest first), cut for
    `areas`: a regional summary and a section per area, or the one area."""
    this = published[str(week)]
    last = published.get(str(week.shift(-1)))

    def section(scope: Scope, area: AreaInfo | None) -> Section:
        return _section(this, last, published, weeks, scope, area, areas)

    sections: list[Section] = []
    summary: Section | None = None
    if len(areas) > 1:
        regions = sorted({a.region for a in areas})
        summary = section(Scope("region", None, "All areas: " + ", ".join(regions)), None)
        sections = [section(Scope("area", a.code, a.name), a) for a in areas]
    elif areas:
        summary = section(Scope("area", areas[0].code, areas[0].name), areas[0])
    return WeeklyReport(
        week=str(week),
        week_start=week.monday.isoformat(),
        week_end=week.sunday.isoformat(),
        timezone=current_app.config["TIMEZONE"],
        complete=True,
        data_read_at=read_at.isoformat().replace("+00:00", "Z"),
        areas=[{"code": a.code, "name": a.name, "region": a.region} for a in areas],
        summary=summary,
        sections=sections,
        cells=published,
        team_names={t: n for a in areas for t, n in a.teams},
        **extra,
    )


def _local(at: datetime, fmt: str = "%-d %B %Y") -> str:
    from zoneinfo import ZoneInfo

    return at.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).strftime(fmt)


def build_report(
    area_ids: Sequence[int],
    week: IsoWeek,
    *,
    now: datetime | None = None,
) -> WeeklyReport:
    """A draft for admins: `week` counted live now and suppressed for `area_ids` alone.
    Never released, never sent to a commissioner (they get `released_report`)."""
    from outreach.reports.weeks import current_week

    tz = current_app.config["TIMEZONE"]
    now = now or utcnow()
    weeks = week_range(week, TREND_WEEKS)
    agg = aggregate(area_ids, weeks, tz)
    read_at = utcnow()
    published = {str(wk): published_week(agg, i) for i, wk in enumerate(weeks)}
    report = _assemble(
        week,
        published,
        weeks,
        agg.areas,
        read_at,
        draft=True,
        release_note=(
            f"DRAFT for admins, counted live on {_local(read_at, '%-d %B %Y at %H:%M')}: "
            "not released and never sent to commissioners. Figures can still change."
        ),
    )
    report.complete = week < current_week(now, tz)
    return report


def narrow_report(report: WeeklyReport, code: str) -> WeeklyReport:
    """One area cut from a several-area report (same publication, same figures)."""
    if len(report.areas) <= 1:
        return report
    section = next(s for s in report.sections if s.scope.code == code)
    late = report.late_records
    if late is not None:
        late = dataclasses.replace(
            late,
            sections=[s for s in late.sections if s.scope.code == code],
            cells={k: v for k, v in late.cells.items() if k[0] == code},
        )
    return dataclasses.replace(
        report,
        areas=[a for a in report.areas if a["code"] == code],
        summary=section,
        sections=[],
        late_records=late,
        cells={
            week: {k: v for k, v in shown.items() if k[0] == code}
            for week, shown in report.cells.items()
        },
    )
