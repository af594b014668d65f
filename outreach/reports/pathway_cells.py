"""Pathway figures in a release (issue 20, docs/disclosure.md): tallied from the
pathway ledger (`step_ledger`) when the week is released and suppressed with the
week's other cells, so they are fixed as first issued like every figure.

Cells (per area code and per stored scope total):
- the counts of `pathways.measures.COUNTS` (referrals made and accepted, first
  contacts, people in treatment within 21 days, episodes started and ended by outcome);
  additive across areas except `treatment_within_21_days` (distinct people, counted for
  a scope as such, and tied to its areas only when it equals their sum, like clients);
- `median_days_to_first_contact`: not a count and never suppressed itself: shown only
  where `first_contacts` is shown and is 5 or more, else `*` (or `n/a` without any);
- the referral cohort of week W-12, published once, by the release of week W (its
  12-week window has closed and settled): `cohort_{n}w_entered` for n in 3, 6, 12 (of
  the cohort, how many entered treatment within n weeks) and `cohort_{n}w_referred`
  (the same for each n: the cohort's base, which is the referrals week W-12's release
  counted as made, so it is the published `referrals_made` of that week, text and all).
  The base is a fixed cell, and the nested figures 3w <= 6w <= 12w <= base are tied by
  never-published gap cells (6w - 3w, 12w - 6w, base - 12w) suppressed with the rest,
  so no difference of two published figures is a count from 1 to 4.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from outreach.pathways.measures import COHORT_WEEKS, COUNTS
from outreach.reports.aggregation import AreaInfo
from outreach.reports.measures import cell_label
from outreach.reports.step_ledger import WITHDRAWN, LateSteps, StepTally
from outreach.reports.suppression import HIDDEN, is_hidden
from outreach.reports.weeks import IsoWeek

MEDIAN = "median_days_to_first_contact"
NO_MEDIAN = "n/a"  # no first contact in the week: there is no median
DISTINCT = "treatment_within_21_days"
ADDITIVE = tuple(m for m in COUNTS if m != DISTINCT)
MEDIAN_FROM = 5  # a median of fewer than 5 contacts is not shown
COHORT_AGE = max(COHORT_WEEKS)  # the release of week W publishes the cohort of W-12
BASE = "cohort_referred"  # the cohort's base, while suppressing (published per window)
ENTERED = tuple(f"cohort_{n}w_entered" for n in COHORT_WEEKS)
# Differences of the nested figures: suppressed with the rest, never published.
GAPS = ("cohort_gap_3_6w", "cohort_gap_6_12w", "cohort_not_entered")
LATE_PATHWAY = (*COUNTS, WITHDRAWN)  # what a late-records release counts of pathways


def cohort_cells(n: int) -> tuple[str, str]:
    """The published referred and entered cells of window `n`."""
    return f"cohort_{n}w_referred", f"cohort_{n}w_entered"


COHORT_CELLS = tuple(c for n in COHORT_WEEKS for c in cohort_cells(n))


@dataclass
class Cohort:
    """The referral cohort a release publishes: true figures per area code
    (`referred`, `entered_3`, ...), and the base as the cohort week's release
    published it (`fixed`: {scope key: text}, area codes and scope totals), with the
    scopes that release held (their totals are tied to the areas' as there)."""

    week: IsoWeek
    values: dict[str, dict[str, int]]
    fixed: dict[str, str]
    scopes: dict[str, list[str]]


@dataclass
class PathwayWeek:
    """The true pathway figures of one release: per area code and per scope key."""

    values: dict[str, dict[str, int]] = field(default_factory=dict)
    medians: dict[str, float | None] = field(default_factory=dict)
    treated: dict[str, int] = field(default_factory=dict)  # a scope's distinct people
    cohort: Cohort | None = None


def count_pathways(
    areas: list[AreaInfo],
    scopes: dict[str, list[str]],
    tally: StepTally,
    cohort: Cohort | None = None,
) -> PathwayWeek:
    """The pathway figures of a weekly release from its ledger rows (`tally`)."""
    out = PathwayWeek(cohort=cohort)
    for area in areas:
        figures = tally.counts.get(area.id, {})
        out.values[area.code] = {m: int(figures.get(m, 0)) for m in COUNTS}
        out.medians[area.code] = tally.median([area.id])
    by_code = {a.code: a.id for a in areas}
    for key, codes in scopes.items():
        ids = [by_code[c] for c in codes if c in by_code]
        out.treated[key], out.medians[key] = tally.people(ids), tally.median(ids)
    return out


def derived_text(parts: list[str]) -> str:
    """A total of parts as a later scope is shown it (`publication.cut`)."""
    if all(p == "0" for p in parts):
        return "0"
    if any(is_hidden(p) for p in parts):
        return HIDDEN
    return str(sum(int(p) for p in parts))


def _cohort_values(c: Cohort, scopes: dict[str, list[str]]) -> tuple[dict, list, dict]:
    values: dict = {}
    constraints: list = []
    fixed: dict = {}
    names = (BASE, *ENTERED, *GAPS)
    for code, f in c.values.items():
        n3, n6, n12 = (f[f"entered_{n}"] for n in COHORT_WEEKS)
        row = (f["referred"], n3, n6, n12, n6 - n3, n12 - n6, f["referred"] - n12)
        values |= {(code, name): v for name, v in zip(names, row, strict=True)}
        fixed[(code, BASE)] = c.fixed.get(code, "0")
    for key, scope_codes in {**c.scopes, **scopes}.items():
        codes = [code for code in scope_codes if code in c.values]
        now = key in scopes
        for name in names if now else (BASE,):
            values[(key, name)] = sum(values[(code, name)] for code in codes)
            constraints.append(((key, name), [(code, name) for code in codes]))
        if key not in c.fixed:
            c.fixed[key] = derived_text([c.fixed.get(code, "0") for code in codes])
        fixed[(key, BASE)] = c.fixed[key]
    for key in [*c.values, *scopes]:
        e3, e6, e12 = ((key, name) for name in ENTERED)
        g36, g612, rest = ((key, name) for name in GAPS)
        constraints += [(e6, [e3, g36]), (e12, [e6, g612]), ((key, BASE), [e12, rest])]
    return values, constraints, fixed


def pathway_values(pw: PathwayWeek, scopes: dict[str, list[str]]) -> tuple[dict, list, dict]:
    """True values, constraints and fixed (already published) cells of the pathway
    cells, keyed (scope, measure)."""
    values: dict = {}
    constraints: list = []
    for code, figures in pw.values.items():
        for name, value in figures.items():
            values[(code, name)] = value
    for key, codes in scopes.items():
        codes = [c for c in codes if c in pw.values]
        for name in ADDITIVE:
            values[(key, name)] = sum(pw.values[c][name] for c in codes)
            constraints.append(((key, name), [(c, name) for c in codes]))
        treated = pw.treated.get(key, 0)
        values[(key, DISTINCT)] = treated
        if treated == sum(pw.values[c][DISTINCT] for c in codes):
            constraints.append(((key, DISTINCT), [(c, DISTINCT) for c in codes]))
    fixed: dict = {}
    if pw.cohort is not None:
        v, c, fixed = _cohort_values(pw.cohort, scopes)
        values |= v
        constraints += c
    return values, constraints, fixed


def late_values(
    late: LateSteps, areas: list[AreaInfo], scopes: dict[str, list[str]]
) -> tuple[dict, list]:
    """True values and constraints of a late-records release's pathway cells: steps
    that arrived late (by measure) and steps withdrawn, per area and scope total."""
    values: dict = {}
    constraints: list = []
    for area in areas:
        figures = late.added.counts.get(area.id, {})
        for name in COUNTS:
            values[(area.code, name)] = int(figures.get(name, 0))
        values[(area.code, WITHDRAWN)] = late.withdrawn.get(area.id, 0)
    by_code = {a.code: a.id for a in areas}
    for key, codes in scopes.items():
        codes = [c for c in codes if c in by_code]
        for name in (*ADDITIVE, WITHDRAWN):
            values[(key, name)] = sum(values[(c, name)] for c in codes)
            constraints.append(((key, name), [(c, name) for c in codes]))
        treated = late.added.people([by_code[c] for c in codes])
        values[(key, DISTINCT)] = treated
        if treated == sum(values[(c, DISTINCT)] for c in codes):
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
    """Add the medians beside their first contacts, publish the cohort's base under
    each window's name, and drop the never-published cells."""
    keys = [*pw.values, *scopes]
    for key in keys:
        shown[(key, MEDIAN)] = median_text(
            shown.get((key, "first_contacts"), "0"), pw.medians.get(key)
        )
    for key, name in list(shown):
        if name in GAPS or (name == BASE and key not in keys):
            del shown[(key, name)]
        elif name == BASE:
            base = shown.pop((key, name))
            for n in COHORT_WEEKS:
                shown[(key, cohort_cells(n)[0])] = base


def pathway_section(shown: dict, key: str, week: IsoWeek) -> dict[str, Any] | None:
    """The "Pathways" part of a report section (scope `key`) from a release's cells:
    the week's figures and the cohort of week W-12 (none when that week was not
    released through the pathway ledger); None for a week released without them."""
    if (key, "referrals_made") not in shown:
        return None
    figures = [
        {"measure": m, "label": cell_label(m), "value": shown.get((key, m), "0")}
        for m in (*COUNTS[:3], MEDIAN, *COUNTS[3:])
    ]
    cohorts = []
    cohort = week.shift(-COHORT_AGE)
    for n in COHORT_WEEKS:
        referred, entered = cohort_cells(n)
        if (key, entered) not in shown:
            continue
        cohorts.append(
            {
                "window_weeks": n,
                "cohort_week": str(cohort),
                "cohort_week_start": cohort.monday.isoformat(),
                "referred": shown.get((key, referred), "0"),
                "entered": shown[(key, entered)],
            }
        )
    return {"figures": figures, "cohorts": cohorts}
