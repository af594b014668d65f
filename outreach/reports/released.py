"""The released report (docs/disclosure.md): a week's stored release and the earlier
weeks of its trend, cut for a recipient's areas, with the late-records release it
carries. What commissioners see, by API, CSV, PDF and email; every fetch of a week
shows what was first issued."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from outreach.core.extensions import db
from outreach.reports import releases
from outreach.reports.aggregation import AreaInfo, load_areas
from outreach.reports.assembly import (
    LateFigure,
    LateRecords,
    LateSection,
    Scope,
    WeeklyReport,
    _assemble,
    _local,
)
from outreach.reports.measures import REGION, TREND_WEEKS, cell_label
from outreach.reports.models import ReportRelease
from outreach.reports.publication import cut
from outreach.reports.weeks import IsoWeek, week_range


def released_report(
    area_ids: Sequence[int], week: IsoWeek, *, now: datetime | None = None
) -> WeeklyReport:
    """The released report of `week` for `area_ids`: the stored releases of the week
    and of the earlier weeks of its trend, cut for these areas, as first issued. Raises
    `releases.NotReleased` for a week not released yet (and not due)."""
    release = releases.release_week(week, now)
    areas = load_areas(area_ids)
    codes = [a.code for a in areas]
    window = week_range(week, TREND_WEEKS)
    have = releases.stored("week", [str(w) for w in window])
    weeks = [w for w in window if str(w) in have]
    published = {str(w): cut(have[str(w)].cells, have[str(w)].scopes, codes) for w in weeks}
    grace = release.grace_days or 0
    report = _assemble(
        week,
        published,
        weeks,
        areas,
        release.issued_at,
        released_at=release.issued_at.isoformat().replace("+00:00", "Z"),
        release_note=(
            f"Released on {_local(release.issued_at)}, {grace} days after the week ended. "
            "Released figures are never changed; records that arrive later are counted "
            "in the monthly late-records table."
        ),
    )
    if release.late_release_id is not None:
        late = db.session.get_one(ReportRelease, release.late_release_id)
        report.late_records = late_records(late, areas, report.team_names)
    return report


def late_records(
    release: ReportRelease, areas: list[AreaInfo], team_names: dict[int, str]
) -> LateRecords:
    """A late-records release cut for `areas`, as the report shows it."""
    codes = [a.code for a in areas]
    shown = cut(release.cells, release.scopes, codes)
    weeks = None
    if release.first_week and release.last_week:
        weeks = (
            release.first_week
            if release.first_week == release.last_week
            else f"{release.first_week} to {release.last_week}"
        )
    counted_on = _local(release.issued_at)
    if weeks:
        note = (
            f"Records that arrived late for weeks {weeks}, or were deleted or changed "
            f"after those weeks were released, counted on {counted_on}. Released weeks "
            "are not revised: these records are counted here, with small numbers "
            "protected as everywhere else."
        )
    else:
        note = f"No records arrived late for released weeks (counted on {counted_on})."

    def figures(key: str) -> list[LateFigure]:
        measures = [m for (s, m) in shown if s == key]
        return [LateFigure(m, cell_label(m, team_names), shown[(key, m)]) for m in measures]

    sections = []
    if len(areas) > 1:
        regions = sorted({a.region for a in areas})
        sections.append(
            LateSection(Scope("region", None, "All areas: " + ", ".join(regions)), figures(REGION))
        )
    for area in areas:
        sections.append(LateSection(Scope("area", area.code, area.name), figures(area.code)))
    return LateRecords(
        period=release.period,
        counted_on=release.issued_at.isoformat().replace("+00:00", "Z"),
        weeks=weeks,
        note=note,
        sections=sections,
        cells=shown,
    )
