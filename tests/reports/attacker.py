"""The attacker of issues 18 and 20: a recipient (or several comparing) who keeps every
report they can fetch, JSON and CSV, at any moment, and works on all of it together.

`Collected.add_json` / `add_csv` file every figure under its identity (week, scope,
measure); `differences` finds a figure that two outputs give differently (a change of
1 to 4 is itself a count of records); `determined` runs an exact integer search over
every published figure of a week and the sums that tie them, and returns the hidden
cells that one value alone fits, and the never-published differences of published
figures (a cohort's 6-week minus 3-week entries, ...) that it pins to 1-4.

Pathway figures: a referral cohort's figures are filed under the cohort's own week,
whichever release published them (the JSON names the cohort week; the CSV's label says
"week W-n"), its base under that week's `referrals_made` (they are the same count of
referrals), so a base that differs from the week's published referrals made, or two
releases of one cohort, show as differences; the nested windows are tied by unseen
gap cells: 6w = 3w + gap, 12w = 6w + gap, referred = 12w + not entered.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field

from outreach.interventions.codes import TYPE_CODES
from outreach.pathways.measures import COHORT_WEEKS
from outreach.reports.measures import ADDITIVE, TYPE_MEASURES
from outreach.reports.pathway_cells import ADDITIVE as PATHWAY_ADDITIVE
from outreach.reports.pathway_cells import MEDIAN
from outreach.reports.publication import LATE_ADDITIVE, scope_key
from outreach.reports.suppression import HIDDEN, SMALL, is_hidden
from outreach.reports.weeks import IsoWeek

CAP = 400  # the largest value a "*" or an unseen cell is searched up to
ENTERED = tuple(f"cohort_{n}w_entered" for n in COHORT_WEEKS)
# Never published: the differences of a cohort's nested figures.
GAPS = ("gap:3-6w", "gap:6-12w", "gap:not_entered")
LATE_PATHWAY = (*PATHWAY_ADDITIVE, "pathway_withdrawn")


def _measure(name: str) -> str:
    return f"type:{TYPE_MEASURES[name]}" if name in TYPE_MEASURES else name


@dataclass
class Collected:
    """Every figure seen: {(release, scope, measure): {text, ...}}, and where from."""

    seen: dict = field(default_factory=lambda: defaultdict(set))
    scopes: dict = field(default_factory=dict)  # scope key -> area codes
    teams: dict = field(default_factory=dict)  # area code -> team ids

    def _file(self, release: str, scope: str, measure: str, text: str) -> None:
        if measure == MEDIAN:  # a median, not a count: shown only beside 5+ contacts
            return
        self.seen[(release, scope, _measure(measure))].add(text)

    def add_json(self, body: dict) -> None:
        codes = [a["code"] for a in body["areas"]]
        region = codes[0] if len(codes) == 1 else scope_key(codes)
        if len(codes) > 1:
            self.scopes[region] = codes
        week = body["week"]
        sections = [body["summary"], *body["sections"]]
        last = str(IsoWeek.parse(week).shift(-1))
        for section in sections:
            scope = section["scope"]["code"] or region
            for h in section["headline"]:
                self._file(week, scope, h["measure"], h["value"])
                if h["previous"]:
                    self._file(last, scope, h["measure"], h["previous"])
            for row in section["by_type"]:
                self._file(week, scope, f"type:{row['code']}", row["value"])
            for row in section.get("by_team") or []:
                self._file(week, scope, f"team:{row['id']}", row["value"])
                self.teams.setdefault(scope, set()).add(row["id"])
            for row in section.get("by_area") or []:
                self._file(week, row["code"], "interventions", row["value"])
            for t in section["trend"]:
                for name in ("interventions", "clients", "treatment_entries"):
                    self._file(t["week"], scope, name, t[name])
            pathways = section.get("pathways") or {}
            for f in pathways.get("figures", []):
                self._file(week, scope, f["measure"], f["value"])
            for c in pathways.get("cohorts", []):
                self._cohort(
                    c["cohort_week"], scope, c["window_weeks"], c["referred"], c["entered"]
                )
        late = body.get("late_records")
        if late:
            for section in late["sections"]:
                scope = section["scope"]["code"] or region
                for f in section["figures"]:
                    self._file(f"late-{late['period']}", scope, f["measure"], f["value"])

    def _cohort(self, cohort_week: str, scope: str, n: int, referred: str, entered: str) -> None:
        self._file(cohort_week, scope, "referrals_made", referred)
        self._file(cohort_week, scope, f"cohort_{n}w_entered", entered)

    def add_csv(self, text: str, codes: list[str]) -> None:
        region = codes[0] if len(codes) == 1 else scope_key(codes)
        rows = list(csv.DictReader(io.StringIO(text)))
        ages = {}  # (week, n) -> the cohort's age the "referred" row's label states
        for row in rows:
            found = re.fullmatch(r"cohort_(\d+)w_referred", row["measure"])
            if found:
                age = re.search(r"W-(\d+)", row["label"])
                assert age, row
                ages[(row["week"], found.group(1))] = int(age.group(1))
        for row in rows:
            scope = region if row["scope"] == "region" else row["scope"]
            value = row["value"].lstrip("'")
            found = re.fullmatch(r"cohort_(\d+)w_(referred|entered)", row["measure"])
            if found:
                n = found.group(1)
                cohort = str(IsoWeek.parse(row["week"]).shift(-ages[(row["week"], n)]))
                name = "referrals_made" if found.group(2) == "referred" else row["measure"]
                self._file(cohort, scope, name, value)
            else:
                self._file(row["week"], scope, row["measure"], value)

    def differences(self) -> list:
        """Figures two outputs give differently (any difference, 1 to 4 or not)."""
        return sorted((k, sorted(v)) for k, v in self.seen.items() if len(v) > 1)

    def small_differences(self) -> list:
        """Figures whose two published values differ by 1 to 4."""
        out = []
        for key, values in self.seen.items():
            numbers = sorted(int(v) for v in values if not is_hidden(v))
            if any(1 <= b - a <= 4 for a in numbers for b in numbers):
                out.append((key, numbers))
        return out

    def releases(self) -> set[str]:
        return {k[0] for k in self.seen}

    def shown(self, release: str) -> dict:
        return {(s, m): next(iter(v)) for (r, s, m), v in self.seen.items() if r == release}

    def constraints(self, release: str) -> list:
        """The sums any reader knows tie the figures of one release together."""
        late = release.startswith("late-")
        shown = self.shown(release)
        scopes = {s for s, _ in shown}
        out = []
        for scope in scopes:
            types = [(scope, f"type:{c}") for c in TYPE_CODES]
            out.append(((scope, "interventions"), types))
            teams = sorted(self.teams.get(scope, ()))
            if len(teams) > 1:
                out.append(((scope, "interventions"), [(scope, f"team:{t}") for t in teams]))
            if not late and any((scope, e) in shown for e in ENTERED):
                e3, e6, e12 = ((scope, e) for e in ENTERED)
                g36, g612, rest = ((scope, g) for g in GAPS)
                made = (scope, "referrals_made")
                out += [(e6, [e3, g36]), (e12, [e6, g612]), (made, [e12, rest])]
        for key, codes in self.scopes.items():
            if key not in scopes:
                continue
            for name in [
                *(LATE_ADDITIVE if late else ADDITIVE),
                *(f"type:{c}" for c in TYPE_CODES),
                *(LATE_PATHWAY if late else (*PATHWAY_ADDITIVE, *ENTERED, *GAPS)),
            ]:
                out.append(((key, name), [(c, name) for c in codes]))
        return out

    def determined(self, release: str) -> list:
        """Hidden cells of `release` that every solution fitting all of it pins."""
        shown = self.shown(release)
        constraints = self.constraints(release)
        dom = {k: domain(v) for k, v in shown.items()}
        for total, parts in constraints:
            for k in (total, *parts):
                dom.setdefault(k, (0, CAP))  # a figure never shown: any count
        pinned = []
        unseen = [k for k in dom if k not in shown and k[1] in GAPS]
        for key, text in [*shown.items(), *((k, None) for k in unseen)]:
            if text is not None and not is_hidden(text):
                continue
            cells, near = _component(key, dom, constraints)
            sub = {k: dom[k] for k in cells}
            solution = _solve(sub, near)
            assert solution is not None, f"{release}: the published figures do not add up"
            lo, hi = dom[key]
            v = solution[key]
            if not (
                (lo <= v - 1 and _solve({**sub, key: (lo, v - 1)}, near))
                or (v + 1 <= hi and _solve({**sub, key: (v + 1, hi)}, near))
            ) and (text is not None or 1 <= v <= 4):
                pinned.append((key, v))
        return pinned


def _component(key, dom, constraints) -> tuple[set, list]:
    """The cells and sums linked to `key` through cells not known exactly."""
    cells, todo, near = {key}, [key], []
    used: set[int] = set()
    while todo:
        cell = todo.pop()
        for i, (total, parts) in enumerate(constraints):
            members = (total, *parts)
            if i in used or cell not in members:
                continue
            used.add(i)
            near.append((total, parts))
            for m in members:
                if m not in cells:
                    cells.add(m)
                    if dom[m][0] < dom[m][1]:
                        todo.append(m)
    return cells, near


def domain(text: str, cap: int = CAP) -> tuple[int, int]:
    """The values a shown cell can hold: <5 is 1-4, * is 1 to `cap`, a number itself."""
    if text == SMALL:
        return 1, 4
    if text == HIDDEN:
        return 1, cap
    return int(text), int(text)


def propagate(dom, constraints):
    """Narrow each cell's (low, high) by every total = sum(parts); None if impossible."""
    changed = True
    while changed:
        changed = False
        for total, parts in constraints:
            lo = sum(dom[p][0] for p in parts)
            hi = sum(dom[p][1] for p in parts)
            t = (max(dom[total][0], lo), min(dom[total][1], hi))
            if t[0] > t[1]:
                return None
            if t != dom[total]:
                dom[total], changed = t, True
            for p in parts:
                others_lo = lo - dom[p][0]
                others_hi = hi - dom[p][1]
                n = (max(dom[p][0], t[0] - others_hi), min(dom[p][1], t[1] - others_lo))
                if n[0] > n[1]:
                    return None
                if n != dom[p]:
                    lo += n[0] - dom[p][0]
                    hi += n[1] - dom[p][1]
                    dom[p], changed = n, True
    return dom


def _solve(dom, constraints) -> dict | None:
    """One integer solution of every constraint within the domains, or None (exact)."""
    dom = propagate(dict(dom), constraints)
    if dom is None:
        return None
    open_cells = [k for k, (lo, hi) in dom.items() if lo < hi]
    if not open_cells:
        ok = all(dom[t][0] == sum(dom[p][0] for p in ps) for t, ps in constraints)
        return {k: lo for k, (lo, _hi) in dom.items()} if ok else None
    key = min(open_cells, key=lambda k: dom[k][1] - dom[k][0])
    lo, hi = dom[key]
    for value in range(lo, hi + 1):
        found = _solve({**dom, key: (value, value)}, constraints)
        if found is not None:
            return found
    return None
