"""Pathway figures in a weekly release (issue 20, docs/disclosure.md): the measures of
`outreach.pathways.measures`, counted once when the week is released and suppressed
with the week's other cells, so they are fixed as first issued like every figure.

Cells (per area code and per stored scope total):
- the counts of `pathways.measures.COUNTS` (referrals made and accepted, first
  contacts, people in treatment within 21 days, episodes started and ended by outcome);
  additive across areas except `treatment_within_21_days` (distinct people, counted for
  a scope as such, and tied to its areas only when it equals their sum, like clients);
- `median_days_to_first_contact`: not a count and never suppressed itself: shown only
  where `first_contacts` is shown and is 5 or more, else `*` (or `n/a` without any);
- the cohort table: `cohort_{n}w_referred` and `cohort_{n}w_entered` for n in 3, 6, 12:
  of the referrals sent in week W-n (the cohort whose n-week window has just closed by
  the end of week W), how many led to a treatment entry within n weeks. Each cohort's
  n-week figure is published by exactly one release. `referred = entered + not
  entered` is a constraint (the not-entered cell is suppressed with the rest and never
  published), so a difference cannot reveal a small number either.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select

from outreach.core.extensions import db
from outreach.pathways.measures import (
    COHORT_WEEKS,
    COUNTS,
    DAY,
    WINDOW_DAYS,
    pathway_counts,
    referral_cohorts,
    week_bounds,
)
from outreach.pathways.models import Referral
from outreach.reports.aggregation import AreaInfo
from outreach.reports.measures import cell_label
from outreach.reports.suppression import HIDDEN, is_hidden
from outreach.reports.weeks import IsoWeek

MEDIAN = "median_days_to_first_contact"
NO_MEDIAN = "n/a"  # no first contact in the week: there is no median
DISTINCT = "treatment_within_21_days"
ADDITIVE = tuple(m for m in COUNTS if m != DISTINCT)
MEDIAN_FROM = 5  # a median of fewer than 5 contacts is not shown


def cohort_cells(n: int) -> tuple[str, str, str]:
    """The referred, entered and (never published) not-entered cells of window `n`."""
    return f"cohort_{n}w_referred", f"cohort_{n}w_entered", f"cohort_{n}w_not_entered"


COHORT_CELLS = tuple(c for n in COHORT_WEEKS for c in cohort_cells(n))
HIDDEN_CELLS = tuple(cohort_cells(n)[2] for n in COHORT_WEEKS)


@dataclass
class PathwayWeek:
    """The true pathway figures of one release: per area code and per scope key."""

    values: dict[str, dict[str, int]] = field(default_factory=dict)
    medians: dict[str, float | None] = field(default_factory=dict)
    treated: dict[str, int] = field(default_factory=dict)  # a scope's distinct people


def count_pathways(
    areas: list[AreaInfo], scopes: dict[str, list[str]], week: IsoWeek, tz: str, now: datetime
) -> PathwayWeek:
    """Count the pathway figures of `week` for every area and scope total (at `now`)."""
    ids = [a.id for a in areas]
    out = PathwayWeek()
    if not ids:
        return out
    counts = pathway_counts(ids, week.monday, tz)
    cohort_weeks = {n: week.shift(-n).monday for n in COHORT_WEEKS}
    cohorts = referral_cohorts(ids, list(cohort_weeks.values()), now, tz)
    for area in areas:
        figures = counts[area.id]
        values = {m: int(figures[m]) for m in COUNTS}
        for n, monday in cohort_weeks.items():
            cohort = cohorts[monday][area.id]
            referred, entered = int(cohort["referred"] or 0), int(cohort[f"entered_{n}_weeks"] or 0)
            names = cohort_cells(n)
            values |= {names[0]: referred, names[1]: entered, names[2]: referred - entered}
        out.values[area.code] = values
        out.medians[area.code] = figures[MEDIAN]
    by_code = {a.code: a.id for a in areas}
    for key, codes in scopes.items():
        scope_ids = [by_code[c] for c in codes if c in by_code]
        out.treated[key], out.medians[key] = _scope_figures(scope_ids, week, tz)
    return out


def _scope_figures(area_ids: Sequence[int], week: IsoWeek, tz: str) -> tuple[int, float | None]:
    """People in treatment within 21 days of a referral (distinct across the areas) and
    the median days to first contact of several areas together (one week's rows)."""
    start, end = week_bounds(week.monday, tz)
    r = Referral
    live = and_(r.area_id.in_(list(area_ids)), r.deleted_at.is_(None))
    days = [
        max((contact - sent).total_seconds(), 0) / DAY
        for sent, contact in db.session.execute(
            select(r.sent_at, r.first_contact_at).where(
                live,
                r.sent_at.is_not(None),
                r.first_contact_at >= start,
                r.first_contact_at < end,
            )
        )
        if sent is not None and contact is not None
    ]
    treated: set[Any] = set()
    for client_id, sent, entry in db.session.execute(
        select(r.client_id, r.sent_at, r.treatment_entry_at).where(
            live, r.treatment_entry_at >= start, r.treatment_entry_at < end
        )
    ):
        if (
            sent is not None
            and entry is not None
            and (entry - sent).total_seconds() <= WINDOW_DAYS * DAY
        ):
            treated.add(client_id)
    median = round(statistics.median(days), 1) if days else None
    return len(treated), median


def pathway_values(pw: PathwayWeek, scopes: dict[str, list[str]]) -> tuple[dict, list]:
    """True values and constraints of the pathway cells, keyed (scope, measure)."""
    values: dict = {}
    constraints: list = []
    for code, figures in pw.values.items():
        for name, value in figures.items():
            values[(code, name)] = value
        for n in COHORT_WEEKS:
            referred, entered, rest = cohort_cells(n)
            constraints.append(((code, referred), [(code, entered), (code, rest)]))
    for key, codes in scopes.items():
        codes = [c for c in codes if c in pw.values]
        for name in (*ADDITIVE, *COHORT_CELLS):
            values[(key, name)] = sum(pw.values[c][name] for c in codes)
            constraints.append(((key, name), [(c, name) for c in codes]))
        for n in COHORT_WEEKS:
            referred, entered, rest = cohort_cells(n)
            constraints.append(((key, referred), [(key, entered), (key, rest)]))
        treated = pw.treated.get(key, 0)
        values[(key, DISTINCT)] = treated
        if treated == sum(pw.values[c][DISTINCT] for c in codes):
            constraints.append(((key, DISTINCT), [(c, DISTINCT) for c in codes]))
    return values, constraints


def median_text(first_contacts: str, median: float | None) -> str:
    """The published median: only beside a shown count of first contacts of 5 or more."""
    if first_contacts == "0" or median is None:
        return NO_MEDIAN
    if is_hidden(first_contacts) or int(first_contacts) < MEDIAN_FROM:
        return HIDDEN
    return f"{median:.1f}"


def finish(shown: dict, pw: PathwayWeek, scopes: dict[str, list[str]]) -> None:
    """Add the medians beside their first contacts and drop the never-published cells."""
    for key in [*pw.values, *scopes]:
        for name in HIDDEN_CELLS:
            shown.pop((key, name), None)
        shown[(key, MEDIAN)] = median_text(
            shown.get((key, "first_contacts"), "0"), pw.medians.get(key)
        )


def pathway_section(shown: dict, key: str, week: IsoWeek) -> dict[str, Any] | None:
    """The "Pathways" part of a report section (scope `key`) from a release's cells:
    the week's figures and the cohort table; None for a week released without them."""
    if (key, "referrals_made") not in shown:
        return None
    figures = [
        {"measure": m, "label": cell_label(m), "value": shown.get((key, m), "0")}
        for m in (*COUNTS[:3], MEDIAN, *COUNTS[3:])
    ]
    cohorts = []
    for n in COHORT_WEEKS:
        referred, entered, _rest = cohort_cells(n)
        cohort = week.shift(-n)
        cohorts.append(
            {
                "window_weeks": n,
                "cohort_week": str(cohort),
                "cohort_week_start": cohort.monday.isoformat(),
                "referred": shown.get((key, referred), "0"),
                "entered": shown.get((key, entered), "0"),
            }
        )
    return {"figures": figures, "cohorts": cohorts}
