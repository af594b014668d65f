"""The referral cohort, plainly (issue 20, docs/disclosure.md): a cohort of 7 referred
in one week where 5 enter treatment within 3 weeks and 2 more between week 3 and week
6. Published week by week as before, the 3-week figure (5) and the 6-week figure (7)
came out in two releases and their difference told a commissioner that exactly 2
people entered treatment in weeks 4-6. Now the cohort is published once, by the
release 12 weeks on, with its base the referrals its week's release counted; referrals
that arrive late or are deleted go to the late-records release, never into the cohort.
"""

from __future__ import annotations

import re
import subprocess

from outreach.core.extensions import db
from outreach.pathways.models import Referral
from tests.reports.test_cohort_disclosure import FIRST, Scenario, monday


def _section(body: dict, scope: str) -> dict:
    return next(s for s in [body["summary"], *body["sections"]] if s["scope"]["code"] == scope)


def _cohorts(body: dict, scope: str = "durham") -> list[dict]:
    return _section(body, scope)["pathways"]["cohorts"]


def _figure(body: dict, measure: str, scope: str = "durham") -> str:
    figures = _section(body, scope)["pathways"]["figures"]
    return next(f["value"] for f in figures if f["measure"] == measure)


def test_a_cohort_of_seven_with_two_entering_between_weeks_3_and_6(app, client, monkeypatch):
    s = Scenario(app, client, monkeypatch, region=False)
    with app.app_context():
        for hour, entry in enumerate([10, 10, 10, 10, 10, 30, 30]):
            s.refer("durham", FIRST, entry, hour=hour)
        db.session.remove()
    fetched = {}
    for step in range(15):
        week = s.step(monday(step))
        if week >= FIRST:
            fetched[week] = s.bodies[f"durham/{week}"]
    assert _figure(fetched[FIRST], "referrals_made") == "7"
    published_in = [
        w
        for w, body in fetched.items()
        if any(r["cohort_week"] == str(FIRST) for r in _cohorts(body))
    ]
    assert published_in == [FIRST.shift(12)]  # once, when its 12 weeks have closed
    rows = {r["window_weeks"]: r for r in _cohorts(fetched[FIRST.shift(12)])}
    assert sorted(rows) == [3, 6, 12]
    assert {r["cohort_week"] for r in rows.values()} == {str(FIRST)}
    assert {r["referred"] for r in rows.values()} == {"7"}  # = the week's referrals made
    three, six, twelve = (rows[n]["entered"] for n in (3, 6, 12))
    assert "*" in (three, six), (three, six)  # 6w - 3w = 2 may not be readable
    assert (three, six, twelve) != ("5", "7", "7")
    shown = [int(v) for v in (three, six, twelve, "7") if v.isdigit()]
    assert not any(1 <= b - a <= 4 for a in shown for b in shown), shown
    s.assert_nothing_revealed()


def test_late_and_deleted_referrals_are_counted_in_the_late_records_release(
    app, client, monkeypatch
):
    """One referral of the cohort's week arrives after its release and one is deleted:
    the week and its cohort keep 7 as first published; the late-records release counts
    both (small, so <5) in the JSON, the CSV and the PDF."""
    s = Scenario(app, client, monkeypatch, region=False)
    with app.app_context():
        made = [s.refer("durham", FIRST, e, hour=h) for h, e in enumerate([10] * 5 + [30] * 2)]
        db.session.remove()
    for step in range(15):
        s.step(monday(step))
        with app.app_context():
            if step == 1:  # after week 40's release
                s.refer("durham", FIRST, 10, hour=20, created_at=monday(step))
            if step == 2:  # a referral the week's release counted is deleted
                row = db.session.get(Referral, made[0]["id"])
                assert row is not None
                row.deleted_at = monday(step)
                db.session.commit()
            db.session.remove()
    cohort_body = s.bodies[f"durham/{FIRST.shift(12)}"]
    assert {r["referred"] for r in _cohorts(cohort_body)} == {"7"}
    again = s.fetch("durham", FIRST)
    assert _figure(again, "referrals_made") == "7"
    # October's changes, counted in the late-records release made in November
    late_body = s.bodies[f"durham/{FIRST.shift(5)}"]
    late = late_body["late_records"]
    assert late["period"] == "2026-10", late
    figures = {
        f["measure"]: f["value"]
        for section in late["sections"]
        if section["scope"]["code"] == "durham"
        for f in section["figures"]
    }
    assert figures["referrals_made"] == "<5"  # the one that arrived late
    assert figures["pathway_withdrawn"] == "<5"  # the deleted one's steps
    api, _codes = s.recipients["durham"]
    week = FIRST.shift(5)
    csv_text = api.get(f"/api/v1/reports/weekly.csv?week={week}").get_data(as_text=True)
    assert re.search(r"^late-2026-10,,durham,[^,]*,referrals_made,[^\n]*,<5\r?$", csv_text, re.M)
    assert re.search(r"^late-2026-10,,durham,[^,]*,pathway_withdrawn,[^\n]*,<5\r?$", csv_text, re.M)
    pdf = api.get(f"/api/v1/reports/weekly.pdf?week={week}").data
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    page = next(p for p in text.split("\f") if "Late records" in p)
    assert re.search(r"Referrals made to partner teams\s+<5", page), page
    assert re.search(r"Pathway steps withdrawn[^\n]*<5", page), page
    s.assert_nothing_revealed()
