"""The commissioner's released week shows the pathway figures (issue 20), suppressed
like every figure, equal to counts made independently with SQL from the referral and
episode tables: in the JSON, the CSV and the PDF read back as text."""

from __future__ import annotations

import csv
import io
import re
import statistics
import subprocess
from datetime import timedelta

from sqlalchemy import select, text

from outreach.access.models import Area
from outreach.core.extensions import db
from outreach.pathways.measures import COHORT_WEEKS, COUNTS
from outreach.reports.models import ReportRelease
from outreach.reports.pathway_cells import Cohort, PathwayWeek, finish, pathway_values
from outreach.reports.suppression import suppress
from outreach.reports.weeks import IsoWeek
from tests.conftest import ApiClient

TZ = "Europe/London"


def _rows(sql: str, **params):
    return db.session.execute(text(sql), params).all()


def independent_counts(area_id: int, week: IsoWeek) -> dict:
    """The week's pathway figures for one area, from the tables, without the app's code."""
    lo, hi = week.bounds(TZ)
    live = "FROM referral WHERE area_id = :a AND deleted_at IS NULL"

    def count(column: str) -> int:
        return _rows(
            f"SELECT count(*) {live} AND {column} >= :lo AND {column} < :hi",
            a=area_id,
            lo=lo,
            hi=hi,
        )[0][0]

    contacts = _rows(
        f"SELECT sent_at, first_contact_at {live} AND sent_at IS NOT NULL "
        "AND first_contact_at >= :lo AND first_contact_at < :hi",
        a=area_id,
        lo=lo,
        hi=hi,
    )
    entries = _rows(
        f"SELECT client_id, sent_at, treatment_entry_at {live} AND sent_at IS NOT NULL "
        "AND treatment_entry_at >= :lo AND treatment_entry_at < :hi",
        a=area_id,
        lo=lo,
        hi=hi,
    )
    days = [max((_aware(c) - _aware(s)).total_seconds(), 0) / 86400 for s, c in contacts]
    ep = "FROM episode WHERE area_id = :a AND deleted_at IS NULL"
    first, last = week.monday, week.sunday
    out = {
        "referrals_made": count("sent_at"),
        "referrals_accepted": count("accepted_at"),
        "first_contacts": len(contacts),
        "treatment_within_21_days": len(
            {str(cid) for cid, s, e in entries if _aware(e) - _aware(s) <= timedelta(days=21)}
        ),
        "episodes_started": _rows(
            f"SELECT count(*) {ep} AND started_on >= :f AND started_on <= :l",
            a=area_id,
            f=first,
            l=last,
        )[0][0],
        "median": round(statistics.median(days), 1) if days else None,
    }
    for outcome in ("completed", "not_completed", "withdrawn"):
        out[f"episodes_{outcome}"] = _rows(
            f"SELECT count(*) {ep} AND outcome = :o AND ended_on >= :f AND ended_on <= :l",
            a=area_id,
            o=outcome,
            f=first,
            l=last,
        )[0][0]
    # The cohort of week W-12: the referrals that had arrived when that week was released.
    issued = _rows(
        "SELECT issued_at FROM report_release WHERE kind = 'week' AND period = :p",
        p=str(week.shift(-12)),
    )
    c_lo, c_hi = week.shift(-12).bounds(TZ)
    cohort = (
        _rows(
            f"SELECT sent_at, treatment_entry_at {live} AND sent_at >= :lo AND sent_at < :hi "
            "AND created_at <= :issued",
            a=area_id,
            lo=c_lo,
            hi=c_hi,
            issued=issued[0][0],
        )
        if issued
        else []
    )
    for n in (3, 6, 12):
        out[f"cohort_{n}w_referred"] = len(cohort)
        out[f"cohort_{n}w_entered"] = sum(
            1 for s, e in cohort if e is not None and _aware(e) - _aware(s) <= timedelta(weeks=n)
        )
    return out


def _aware(at):
    from datetime import UTC, datetime

    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def fits(shown: str, true: int) -> bool:
    """A published count is the true one, or its marker says what the true one is."""
    if shown == "<5":
        return 1 <= true <= 4
    if shown == "*":
        return true >= 1
    return int(shown) == true


def test_a_released_week_shows_the_pathway_figures_of_the_tables(app, client, runner):
    assert runner.invoke(args=["outreach", "demo"]).exit_code == 0
    with app.app_context():
        durham = db.session.scalar(select(Area.id).where(Area.code == "durham"))
        released = [
            IsoWeek.parse(p)
            for p in db.session.scalars(
                select(ReportRelease.period).where(ReportRelease.kind == "week")
            )
        ]
        assert released, "the demo releases its recent weeks"
        truths = {w: independent_counts(durham, w) for w in released}
    names = {str(w) for w in released}
    cohort_weeks = [w for w in released if str(w.shift(-12)) in names]
    assert cohort_weeks, "the demo releases weeks with their week W-12's cohort"
    # the released week with a cohort and the most pathway activity, so not all zero
    week = max(
        cohort_weeks, key=lambda w: sum(v for k, v in truths[w].items() if k != "median" and v)
    )
    true = truths[week]
    assert sum(v for k, v in true.items() if k != "median" and v) > 0, true

    commissioner = ApiClient(client, "commissioner.durham@outreach.test", "outreach-demo")
    body = commissioner.get(f"/api/v1/reports/weekly?week={week}").get_json()
    pathways = body["summary"]["pathways"]
    figures = {f["measure"]: f["value"] for f in pathways["figures"]}
    for measure, value in figures.items():
        if measure == "median_days_to_first_contact":
            continue
        assert fits(value, true[measure]), (measure, value, true[measure])
    contacts = figures["first_contacts"]
    median = figures["median_days_to_first_contact"]
    if contacts.isdigit() and int(contacts) >= 5:
        assert float(median) == true["median"]
    else:
        assert median in ("*", "n/a")  # a median of fewer than 5 is hidden
    for w in cohort_weeks:  # the cohort each publishes: W-12's, all three windows at once
        fetched = commissioner.get(f"/api/v1/reports/weekly?week={w}").get_json()
        rows = fetched["summary"]["pathways"]["cohorts"]
        assert sorted(r["window_weeks"] for r in rows) == list(COHORT_WEEKS)
        for row in rows:
            n = row["window_weeks"]
            assert row["cohort_week"] == str(w.shift(-12))
            assert fits(row["referred"], truths[w][f"cohort_{n}w_referred"]), row
            assert fits(row["entered"], truths[w][f"cohort_{n}w_entered"]), row
    assert any(truths[w]["cohort_12w_referred"] for w in cohort_weeks), "a cohort not empty"

    csv_text = commissioner.get(f"/api/v1/reports/weekly.csv?week={week}").get_data(as_text=True)
    in_csv = {
        r["measure"]: r["value"]
        for r in csv.DictReader(io.StringIO(csv_text))
        if r["week"] == str(week) and r["scope"] == "durham"
    }
    for measure, value in figures.items():
        assert in_csv[measure] == value, measure
    for row in pathways["cohorts"]:
        n = row["window_weeks"]
        assert in_csv[f"cohort_{n}w_referred"] == row["referred"]
        assert in_csv[f"cohort_{n}w_entered"] == row["entered"]
    assert not [m for m in in_csv if "gap" in m or "not_entered" in m]  # never published

    pdf = commissioner.get(f"/api/v1/reports/weekly.pdf?week={week}").data
    pdf_text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    page = next(p for p in pdf_text.split("\f") if "Pathways" in p and "Referral cohorts" in p)
    for f in pathways["figures"]:
        assert re.search(re.escape(f["label"]) + r"\s+" + re.escape(f["value"]), page), f
    for row in pathways["cohorts"]:
        n = row["window_weeks"]
        pattern = r"\s+".join(
            re.escape(x)
            for x in (row["cohort_week"], row["referred"], row["entered"], f"{n} weeks")
        )
        assert re.search(pattern, page), row


def _week(values: dict) -> dict:
    return dict.fromkeys(COUNTS, 0) | values


def _cohort(referred: int, e3: int, e6: int, e12: int) -> dict:
    return {"referred": referred, "entered_3": e3, "entered_6": e6, "entered_12": e12}


def test_pathway_cells_hide_small_counts_gaps_and_thin_medians():
    """A count of 1-4 is <5; a cohort "20 referred, 18 entered within 3 weeks" would
    reveal 2 not entered, and "18 within 3 weeks, 20 within 6" 2 entering in weeks
    4-6, so a cell of each pair is hidden; the cohort's base is kept as its week's
    release published it; a median beside fewer than 5 contacts is hidden; a scope's
    total cannot be subtracted to reveal an area's <5."""
    a = _week({"referrals_made": 3, "first_contacts": 4, "episodes_started": 9})
    b = _week({"referrals_made": 7, "first_contacts": 6, "episodes_started": 9})
    scopes = {"scope:a,b": ["a", "b"]}
    cohort = Cohort(
        IsoWeek(2026, 40),
        values={"a": _cohort(20, 18, 20, 20), "b": _cohort(9, 0, 0, 9)},
        fixed={"a": "20", "b": "9", "scope:a,b": "29"},
        scopes=scopes,
    )
    pw = PathwayWeek(
        values={"a": a, "b": b},
        medians={"a": 2.0, "b": 3.5, "scope:a,b": 3.0},
        treated={"scope:a,b": 0},
        cohort=cohort,
    )
    values, constraints, fixed = pathway_values(pw, scopes)
    shown = suppress(values, constraints, fixed)
    finish(shown, pw, scopes)
    assert shown[("a", "referrals_made")] == "<5"
    assert shown[("scope:a,b", "referrals_made")] == "10"
    assert "*" in (shown[("b", "referrals_made")], shown[("scope:a,b", "referrals_made")])
    for n in COHORT_WEEKS:  # the base as published by the cohort's week, under each window
        assert shown[("a", f"cohort_{n}w_referred")] == "20"
        assert shown[("scope:a,b", f"cohort_{n}w_referred")] == "29"
    e3, e6 = shown[("a", "cohort_3w_entered")], shown[("a", "cohort_6w_entered")]
    assert "*" in (e3, e6), (e3, e6)  # 20 - 18 = 2 would be read from either pair
    assert not [k for k in shown if k[1].startswith("cohort_gap") or k[1] == "cohort_referred"]
    assert ("a", "cohort_not_entered") not in shown
    assert shown[("a", "median_days_to_first_contact")] == "*"  # 4 contacts
    assert shown[("a", "episodes_started")] == "9"
    assert shown[("b", "median_days_to_first_contact")] in ("3.5", "*")
    if shown[("b", "first_contacts")] == "6":
        assert shown[("b", "median_days_to_first_contact")] == "3.5"


def test_a_cohort_base_hidden_by_its_week_stays_hidden():
    """A base published as <5 keeps its marker, and its entered figures cannot be
    added up to it (a fixed hidden cell is protected like any other)."""
    scopes: dict = {}
    cohort = Cohort(
        IsoWeek(2026, 40),
        values={"a": _cohort(3, 3, 3, 3)},
        fixed={"a": "<5"},
        scopes=scopes,
    )
    pw = PathwayWeek(values={"a": _week({})}, medians={"a": None}, cohort=cohort)
    values, constraints, fixed = pathway_values(pw, scopes)
    shown = suppress(values, constraints, fixed)
    finish(shown, pw, scopes)
    assert shown[("a", "cohort_3w_referred")] == "<5"
    assert {shown[("a", f"cohort_{n}w_entered")] for n in COHORT_WEEKS} <= {"<5", "*"}


def test_a_scope_made_after_the_cohorts_week_gets_the_base_worked_out_from_its_areas():
    """A commissioner of two areas added after week W-12 was released: the cohort's base
    for their scope is what they were shown for that week (a sum of the areas' shown
    figures, else *), never a figure week W-12 did not publish."""
    scopes = {"scope:a,b": ["a", "b"]}
    for fixed, expected in (({"a": "7", "b": "9"}, "16"), ({"a": "<5", "b": "9"}, "*")):
        referred = 3 if fixed["a"] == "<5" else 7
        cohort = Cohort(
            IsoWeek(2026, 40),
            values={"a": _cohort(referred, 0, 0, 0), "b": _cohort(9, 0, 0, 9)},
            fixed=dict(fixed),
            scopes={},
        )
        pw = PathwayWeek(
            values={"a": _week({}), "b": _week({})},
            medians={},
            treated={"scope:a,b": 0},
            cohort=cohort,
        )
        values, constraints, fixed_cells = pathway_values(pw, scopes)
        shown = suppress(values, constraints, fixed_cells)
        finish(shown, pw, scopes)
        assert shown[("scope:a,b", "cohort_3w_referred")] == expected
        assert shown[("a", "cohort_12w_referred")] == fixed["a"]
