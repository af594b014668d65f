"""Small-number suppression: the rule, and (hypothesis) that nothing hidden is recoverable."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outreach.reports.aggregation import Aggregates, AreaInfo
from outreach.reports.publication import published_week
from outreach.reports.suppression import HIDDEN, SMALL, change, is_hidden, suppress
from tests.reports.attacker import domain, propagate


def test_primary_rule():
    shown = suppress({"a": 0, "b": 1, "c": 4, "d": 5, "e": 100})
    assert shown == {"a": "0", "b": SMALL, "c": SMALL, "d": "5", "e": "100"}


def test_a_total_never_reveals_a_single_small_cell():
    values = {"T": 20, "x": 3, "y": 9, "z": 8}
    shown = suppress(values, [("T", ["x", "y", "z"])])
    assert shown["x"] == SMALL
    assert shown["z"] == HIDDEN  # the smallest other part is hidden too
    assert shown["T"] == "20" and shown["y"] == "9"


def test_two_ones_under_a_total_are_protected():
    # T = 2 + 10: the two 1s would be pinned (each 1..4 and summing to 2).
    values = {"T": 12, "x": 1, "y": 1, "z": 10}
    shown = suppress(values, [("T", ["x", "y", "z"])])
    assert _exactly_recoverable(values, shown, [("T", ["x", "y", "z"])]) == []


def test_zero_stays_zero_and_fixed_cells_are_kept():
    values = {"T": 3, "x": 3, "y": 0}
    assert suppress(values, [("T", ["x", "y"])]) == {"T": SMALL, "x": SMALL, "y": "0"}
    # A fixed (already published) hidden part: the free total is hidden around it.
    shown = suppress({"R": 9, "a": 2, "b": 7}, [("R", ["a", "b"])], fixed={"a": SMALL, "b": "7"})
    assert shown == {"R": HIDDEN, "a": SMALL, "b": "7"}


def test_change_only_between_published_figures():
    assert change("12", "10") == "+2"
    assert change("10", "12") == "-2"
    assert change("5", "5") == "0"
    assert change("<5", "10") is None
    assert change("12", "*") is None


# --- an exact reader: integer search over every hidden cell ---------------------

CAP = 200


def _domain(shown: str) -> tuple[int, int]:
    return domain(shown, CAP)


def _feasible(dom, constraints) -> bool:
    dom = propagate(dict(dom), constraints)
    if dom is None:
        return False
    open_cells = [k for k, (lo, hi) in dom.items() if lo < hi]
    if not open_cells:
        return all(dom[t][0] == sum(dom[p][0] for p in ps) for t, ps in constraints)
    key = min(open_cells, key=lambda k: dom[k][1] - dom[k][0])
    lo, hi = dom[key]
    return any(_feasible({**dom, key: (value, value)}, constraints) for value in range(lo, hi + 1))


def _exactly_recoverable(values, shown, constraints) -> list:
    """Hidden cells that every solution consistent with the published figures pins."""
    dom = {k: _domain(v) for k, v in shown.items()}
    pinned = []
    for key, text in shown.items():
        if not is_hidden(text):
            continue
        true = values[key]
        lo, hi = dom[key]
        other = (lo <= true - 1 and _feasible({**dom, key: (lo, true - 1)}, constraints)) or (
            true + 1 <= hi and _feasible({**dom, key: (true + 1, hi)}, constraints)
        )
        if not other:
            pinned.append(key)
    return pinned


small = st.integers(0, 12) | st.integers(0, 4)


@st.composite
def tables(draw):
    """A regional 2-D table: areas x types, each area split by teams too."""
    n_areas = draw(st.integers(1, 3))
    n_types = draw(st.integers(2, 3))
    cells = {}
    teams = {}
    for a in range(n_areas):
        row = [draw(small) for _ in range(n_types)]
        for t, v in enumerate(row):
            cells[(a, t)] = v
        total = sum(row)
        n_teams = draw(st.integers(1, 2))
        if n_teams == 1:
            teams[a] = [total]
        else:
            first = draw(st.integers(0, total))
            teams[a] = [first, total - first]
    return n_areas, n_types, cells, teams


def _system(n_areas, n_types, cells, teams):
    """The same structure as the reports: areas x types, teams, regional margins."""
    values, constraints = {}, []
    for a in range(n_areas):
        values[(a, "T")] = sum(cells[(a, t)] for t in range(n_types))
        values.update({(a, t): cells[(a, t)] for t in range(n_types)})
        values.update({(a, "team", i): n for i, n in enumerate(teams[a])})
        constraints += [
            ((a, "T"), [(a, t) for t in range(n_types)]),
            ((a, "T"), [(a, "team", i) for i in range(len(teams[a]))]),
        ]
    if n_areas > 1:
        for t in range(n_types):
            values[("R", t)] = sum(cells[(a, t)] for a in range(n_areas))
            constraints.append((("R", t), [(a, t) for a in range(n_areas)]))
        values[("R", "T")] = sum(values[("R", t)] for t in range(n_types))
        constraints.append((("R", "T"), [("R", t) for t in range(n_types)]))
        constraints.append((("R", "T"), [(a, "T") for a in range(n_areas)]))
    return values, suppress(values, constraints), constraints


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_no_hidden_cell_can_be_recovered(table):
    values, shown, constraints = _system(*table)
    for key, value in values.items():
        if 1 <= value <= 4:
            assert is_hidden(shown[key]), key  # every small count is hidden
        elif value == 0:
            assert shown[key] == "0"
        elif not is_hidden(shown[key]):
            assert shown[key] == str(value)
    assert _exactly_recoverable(values, shown, constraints) == []


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9)), min_size=2, max_size=2))
def test_week_on_week_difference_never_reveals(pairs):
    """Published change = this - last, only when both are published."""
    (this_a, this_b), (last_a, last_b) = pairs
    this = suppress({"T": this_a + this_b, "a": this_a, "b": this_b}, [("T", ["a", "b"])])
    last = suppress({"T": last_a + last_b, "a": last_a, "b": last_b}, [("T", ["a", "b"])])
    for key in ("T", "a", "b"):
        diff = change(this[key], last[key])
        if is_hidden(this[key]) or is_hidden(last[key]):
            assert diff is None


def _aggregates(data, areas):
    agg = Aggregates(weeks=[], areas=areas)
    for i, area in enumerate(areas):
        types, teams, measures = data[i]
        agg.types[(0, area.id)].update(types)
        agg.teams[(0, area.id)].update(teams)
        agg.measures[(0, area.id)].update(measures)
        agg.measures[(0, area.id)]["interventions"] = sum(types.values())
    agg.regional_clients[0] = sum(d[2].get("clients", 0) for d in data)
    return agg


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.dictionaries(
                st.sampled_from(["naloxone_supplied", "diversion", "wound_care"]),
                st.integers(0, 9),
                min_size=1,
            ),
            st.integers(0, 9),
            st.integers(0, 9),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_published_week_shows_no_small_count(rows):
    """Through the reports' own cell builder: every 1-4 count is published as <5."""
    areas, data = [], []
    for i, (types, clients, kits) in enumerate(rows):
        areas.append(AreaInfo(i + 1, f"a{i}", f"Area {i}", "R", [(10 + i, "Team")]))
        data.append(
            (types, {10 + i: sum(types.values())}, {"clients": clients, "naloxone_kits": kits})
        )
    shown = published_week(_aggregates(data, areas), 0)
    for text in shown.values():
        assert text in (SMALL, HIDDEN, "0") or int(text) >= 5
