"""Rendering: a built report as print HTML with inline SVG charts, as a PDF (WeasyPrint)
and as CSV."""

from __future__ import annotations

import csv
import io
import itertools
import logging
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from outreach.reports.assembly import Row, TrendPoint, WeeklyReport
from outreach.reports.measures import REGION, cell_label
from outreach.reports.suppression import HIDDEN, SMALL
from outreach.reports.weeks import IsoWeek

TEMPLATES = Path(__file__).resolve().parent / "templates"
_env = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(["html", "svg"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
INK, ACCENT, MUTED, PALE = "#1b1b1b", "#1d5fa6", "#6b6b6b", "#c9d7ea"


def _num(value: str) -> int | None:
    return int(value) if value not in (SMALL, HIDDEN) else None


_ids = itertools.count(1)
logging.getLogger("weasyprint").setLevel(logging.WARNING)
logging.getLogger("fontTools").setLevel(logging.WARNING)


def trend_svg(trend: list[TrendPoint], measure: str = "interventions", title: str = "") -> Markup:
    """A 12-week column chart; suppressed weeks are drawn as a hatched stub labelled."""
    hatch = f"hatch{next(_ids)}"
    width, height, left, bottom, top = 500, 170, 34, 34, 14
    plot_h = height - bottom - top
    values = [_num(getattr(row, measure)) for row in trend]
    peak = max([v for v in values if v is not None] + [5])
    step = (width - left - 8) / max(len(trend), 1)
    bar = step * 0.62
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f'<defs><pattern id="{hatch}" width="4" height="4" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="2" height="4" fill="{PALE}"/>'
        "</pattern></defs>",
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 4}" y2="{top + plot_h}" '
        f'stroke="{MUTED}" stroke-width="0.8"/>',
        f'<text x="{left - 4}" y="{top + 4}" font-size="8" text-anchor="end" fill="{MUTED}">'
        f"{peak}</text>",
        f'<text x="{left - 4}" y="{top + plot_h}" font-size="8" text-anchor="end" '
        f'fill="{MUTED}">0</text>',
    ]
    for i, (row, value) in enumerate(zip(trend, values, strict=True)):
        x = left + i * step + (step - bar) / 2
        shown = getattr(row, measure)
        last = i == len(trend) - 1
        if value is None:
            h = plot_h * 4 / peak if shown == SMALL else 0
            if h:
                parts.append(
                    f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" '
                    f'height="{h:.1f}" fill="url(#{hatch})" stroke="{PALE}"/>'
                )
        else:
            h = plot_h * value / peak
            fill = ACCENT if last else "#7fa3cc"
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{fill}"/>'
            )
        label_y = top + plot_h - (h if value is not None or shown == SMALL else 0) - 3
        parts.append(
            f'<text x="{x + bar / 2:.1f}" y="{label_y:.1f}" font-size="8" '
            f'text-anchor="middle" fill="{INK}">{escape(shown)}</text>'
        )
        day = row.week_start[8:10] + "/" + row.week_start[5:7]
        parts.append(
            f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + 12}" font-size="7.5" '
            f'text-anchor="middle" fill="{MUTED}">{day}</text>'
        )
    parts.append(
        f'<text x="{left}" y="{height - 4}" font-size="7.5" fill="{MUTED}">'
        "Week beginning (Monday)</text></svg>"
    )
    return Markup("".join(parts))  # noqa: S704 - every text part is escaped


def types_svg(by_type: list[Row], title: str = "") -> Markup:
    """Horizontal bars, one per intervention type."""
    row_h, label_w, width = 15, 190, 500
    height = row_h * len(by_type) + 8
    values = [_num(r.value) for r in by_type]
    peak = max([v for v in values if v is not None] + [5])
    span = width - label_w - 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
    ]
    for i, (row, value) in enumerate(zip(by_type, values, strict=True)):
        y = 4 + i * row_h
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 10}" font-size="8.5" text-anchor="end" '
            f'fill="{INK}">{escape(row.label or "")}</text>'
        )
        w = span * (value if value is not None else (4 if row.value == SMALL else 0)) / peak
        fill = ACCENT if value is not None else PALE
        if w:
            parts.append(
                f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{row_h - 5}" '
                f'fill="{fill}"/>'
            )
        parts.append(
            f'<text x="{label_w + w + 4:.1f}" y="{y + 10}" font-size="8.5" '
            f'fill="{INK}">{escape(row.value)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text part is escaped


def render_html(report: WeeklyReport) -> str:
    """The report as print HTML (what WeasyPrint lays out)."""
    read_at = datetime.fromisoformat(report.data_read_at.replace("Z", "+00:00"))
    local = read_at.astimezone(ZoneInfo(report.timezone))
    return _env.get_template("reports/weekly.html").render(
        r=report,
        read_at_local=local.strftime("%-d %B %Y, %H:%M %Z"),
        trend_svg=trend_svg,
        types_svg=types_svg,
        week_label=_week_label(report),
    )


def _week_label(report: WeeklyReport) -> str:
    start = datetime.fromisoformat(report.week_start)
    end = datetime.fromisoformat(report.week_end)
    return f"{start:%-d %B} to {end:%-d %B %Y}"


def render_pdf(report: WeeklyReport) -> bytes:
    """The report as an A4 PDF."""
    from weasyprint import HTML

    return HTML(string=render_html(report), base_url=str(TEMPLATES)).write_pdf()


FORMULA_STARTS = frozenset({"=", "+", "-", "@", "\t", "\r", "\n"})


def render_csv(report: WeeklyReport) -> str:
    """Every published (suppressed) figure of the report window, one per row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in csv_rows(report):
        # Guard spreadsheet formula injection in text cells (names come from admins):
        # OWASP's list, a leading TAB or CR included.
        writer.writerow([("'" + c) if c[:1] in FORMULA_STARTS else c for c in row])
    return out.getvalue()


def csv_rows(report: WeeklyReport) -> list[list[str]]:
    """Rows of the CSV: every published cell of every week of the trend window."""
    names = {a["code"]: a["name"] for a in report.areas}
    names[REGION] = "All areas"
    rows = [["week", "week_start", "scope", "scope_name", "measure", "label", "value"]]
    multi = len(report.areas) > 1
    for period, shown in report.cells.items():
        start = IsoWeek.parse(period).monday.isoformat()
        for (scope, measure), value in shown.items():
            if scope == REGION and not multi:
                continue
            label = cell_label(measure, report.team_names)
            rows.append([period, start, scope, names.get(scope, scope), measure, label, value])
    late = report.late_records
    if late is not None:  # the late-records release the week carries, as its own rows
        for (scope, measure), value in late.cells.items():
            if scope == REGION and not multi:
                continue
            label = cell_label(measure, report.team_names)
            rows.append(
                [f"late-{late.period}", "", scope, names.get(scope, scope), measure, label, value]
            )
    return rows
