"""Aggregation against hand-computed fixtures, including the clocks-change weeks."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from outreach.core.extensions import db
from outreach.interventions.models import Intervention
from outreach.reports.aggregation import aggregate
from outreach.reports.assembly import build_report
from outreach.reports.weeks import IsoWeek, last_complete_week, week_range

W13, W14 = IsoWeek(2026, 13), IsoWeek(2026, 14)
W43, W44 = IsoWeek(2026, 43), IsoWeek(2026, 44)


def test_week_bounds_at_clock_changes():
    # Spring forward on Sunday 29 March: week 13 is 167 hours long.
    assert W13.bounds("Europe/London") == (
        datetime(2026, 3, 23, 0, tzinfo=UTC),
        datetime(2026, 3, 29, 23, tzinfo=UTC),
    )
    # Fall back on Sunday 25 October: week 43 is 169 hours long.
    assert W43.bounds("Europe/London") == (
        datetime(2026, 10, 18, 23, tzinfo=UTC),
        datetime(2026, 10, 26, 0, tzinfo=UTC),
    )
    assert W44.bounds("Europe/London")[0] == datetime(2026, 10, 26, 0, tzinfo=UTC)
    assert str(IsoWeek.parse("2026-W01").shift(-1)) == "2025-W52"
    assert str(IsoWeek.parse("2021-W01").shift(-1)) == "2020-W53"
    assert last_complete_week(datetime(2026, 11, 23, 6, tzinfo=UTC), "Europe/London") == (
        IsoWeek(2026, 47)
    )


def test_malformed_weeks_are_refused():
    import pytest

    for bad in ("2026-47", "2026-W54", "2025-W53", "W47", "", "2026-W7"):
        with pytest.raises(ValueError):
            IsoWeek.parse(bad)


def _totals(agg, w):
    return sum(m["interventions"] for (wk, _), m in agg.measures.items() if wk == w)


def test_clock_change_boundaries(ctx, world, record):
    # Sunday 29 March 23:30 BST = 22:30 UTC: still week 13.
    record(when="2026-03-29T22:30:00Z", n=2)
    # Monday 30 March 00:30 BST = Sunday 23:30 UTC: week 14.
    record(when="2026-03-29T23:30:00Z", n=3)
    # Monday 23 March 00:00 GMT: first instant of week 13.
    record(when="2026-03-23T00:00:00Z", n=1)
    # Monday 19 October 00:30 BST = Sunday 18 October 23:30 UTC: week 43.
    record(when="2026-10-18T23:30:00Z", n=4)
    # Sunday 18 October 23:30 BST = 22:30 UTC: week 42.
    record(when="2026-10-18T22:30:00Z", n=5)
    # Sunday 25 October 23:30 GMT (after the clocks went back): still week 43.
    record(when="2026-10-25T23:30:00Z", n=6)
    # Monday 26 October 00:00 GMT: week 44.
    record(when="2026-10-26T00:00:00Z", n=7)
    area = [world.area_ids["durham"]]
    spring = aggregate(area, [IsoWeek(2026, 12), W13, W14], "Europe/London")
    assert [_totals(spring, i) for i in range(3)] == [0, 3, 3]
    autumn = aggregate(area, [IsoWeek(2026, 42), W43, W44], "Europe/London")
    assert [_totals(autumn, i) for i in range(3)] == [5, 10, 7]
    # One week on its own gives the same answer as inside a range.
    assert _totals(aggregate(area, [W43], "Europe/London"), 0) == 10


def test_counts_by_type_team_area_clients_and_quantities(ctx, world, record, clients):
    durham, dorset = world.area_ids["durham"], world.area_ids["dorset"]
    street = clients("street", 6)
    custody = clients("custody", 2)
    sw = clients("dorset", 1)
    when = "2026-11-18T12:00:00Z"  # week 47
    # Earlier history: street[0] and street[1] were seen in week 45.
    record(when="2026-11-04T12:00:00Z", clients=street[:2], n=2)
    record(type_="naloxone_supplied", when=when, clients=street[:3], n=3, quantity=2)
    record(type_="needle_syringe_provision", when=when, clients=street[3:6], n=3, quantity=10)
    record(type_="harm_reduction_advice", when=when, n=4)  # anonymous
    record("custody", "diversion", when, clients=custody, n=2)
    record("custody", "referral_structured_treatment", when, clients=custody[:1], n=1)
    record("custody", "treatment_entry_confirmed", when, clients=custody[:1], n=1)
    record("dorset", "brief_intervention", when, clients=sw, n=5)
    deleted = record(type_="naloxone_supplied", when=when, clients=street[:1], n=2, quantity=5)
    db.session.execute(
        update(Intervention)
        .where(Intervention.id.in_([r["id"] for r in deleted]))
        .values(deleted_at=datetime(2026, 11, 19, tzinfo=UTC))
    )
    db.session.commit()

    agg = aggregate([durham, dorset], week_range(IsoWeek(2026, 47), 3), "Europe/London")
    w = 2  # week 47 is the last of the three
    d = agg.measures[(w, durham)]
    assert d["interventions"] == 3 + 3 + 4 + 2 + 1 + 1
    assert d["clients"] == 6 + 2
    assert d["new_clients"] == 4 + 2  # street[0:2] were seen before
    assert d["anonymous"] == 4
    assert d["naloxone_kits"] == 6  # the deleted 2 x 5 kits do not count
    assert d["nsp_packs"] == 30
    assert agg.types[(w, durham)]["diversion"] == 2
    assert agg.types[(w, durham)]["naloxone_supplied"] == 3
    assert agg.teams[(w, durham)] == {world.team_ids["street"]: 10, world.team_ids["custody"]: 4}
    s = agg.measures[(w, dorset)]
    assert (s["interventions"], s["clients"], s["new_clients"]) == (5, 1, 1)
    assert agg.regional_clients[w] == 9
    assert agg.measures[(0, durham)]["new_clients"] == 2  # week 45
    assert (1, durham) not in agg.measures  # week 46: nothing

    # The built report: regional totals first, one section per area, suppressed.
    report = build_report([durham, dorset], IsoWeek(2026, 47)).public()
    head = {h["measure"]: h for h in report["summary"]["headline"]}
    assert head["interventions"]["value"] == "19"
    assert head["clients"]["value"] == "9"
    assert head["naloxone_kits"]["value"] == "6"
    assert head["nsp_packs"]["value"] == "30"
    assert head["interventions"]["previous"] == "0"
    assert head["interventions"]["change"] == "+19"
    assert [s["scope"]["code"] for s in report["sections"]] == ["dorset", "durham"]
    durham_head = {h["measure"]: h["value"] for h in report["sections"][1]["headline"]}
    assert durham_head["interventions"] == "14"
    assert durham_head["anonymous"] == "<5"
    # 9 = Durham 8 + Dorset <5: Durham's 8 is hidden, or it would reveal Dorset's 1.
    assert durham_head["clients"] == "*"
    assert durham_head["diversions"] == "<5"
    assert report["summary"]["trend"][-3]["interventions"] == "<5"  # week 45: 2
    assert len(report["summary"]["trend"]) == 12
