"""Small-number suppression: the one rule every published figure goes through.

Rule
----
1. Primary: a count from 1 to 4 is published as ``<5``. Zero is published as ``0``
   and is never hidden.
2. Secondary: published figures are linked by additive constraints
   (``total = part + part + ...``: types add up to the total, teams add up to the
   area's total, areas add up to the regional figures). We play a reader who knows
   every published figure, every constraint and what each marker says (``<5``: 1 to 4;
   ``*``: not zero) and declare a hidden cell *revealed* when either
   (a) tightening ranges through the constraints pins it to one value, or
   (b) we cannot exhibit a second solution: an integer move in the null space of the
   constraints (a basis vector, or the sum or difference of two) that changes the
   cell and keeps every hidden cell inside its marker's range. (b) catches what adding
   and subtracting constraints reveals; when no move is found we hide more, so the
   check errs on the side of hiding.
3. For each revealed cell, the nearest free non-zero published part (sharing a
   constraint with it, else sharing one with those, ...; the smallest first) is
   hidden and published as ``*``; a total only when no part can be reached, so that
   headline totals stay visible whenever possible. Then the check runs again.
4. When every cell near a revealed one is hidden already (tiny tables where all
   counts are small, so the ``<5`` markers alone add up to an exact total), the
   nearest ``<5`` is published as ``*`` instead, which says only "not zero".
5. ``fixed`` cells were published elsewhere and are never changed here; a revealed
   fixed cell is protected by hiding cells around it.

The reports suppress all the cells of one recipient's scope (regional totals, every
area, every team, every type) together, for each week, so the figures a commissioner
can see are one consistent publication.

Differences (week-on-week change) are published only when both figures are
published, so a difference never reveals a hidden figure.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Mapping, Sequence
from fractions import Fraction

SMALL = "<5"  # primary: a count from 1 to 4
HIDDEN = "*"  # secondary: hidden so that a <5 cannot be worked out
THRESHOLD = 5
_INF = 10**15

Constraint = tuple[Hashable, Sequence[Hashable]]


def is_hidden(display: str) -> bool:
    return display in (SMALL, HIDDEN)


def _range(display: str) -> tuple[int, int]:
    if display == SMALL:
        return 1, THRESHOLD - 1
    if display == HIDDEN:
        return 1, _INF
    value = int(display)
    return value, value


def reader_bounds(
    display: Mapping[Hashable, str], constraints: Sequence[Constraint]
) -> dict[Hashable, tuple[int, int]]:
    """What a reader can infer about each cell from the published figures: [lo, hi]."""
    bounds = {key: _range(shown) for key, shown in display.items()}
    for _ in range(200):
        changed = False
        for total, parts in constraints:
            lo_sum = sum(bounds[p][0] for p in parts)
            hi_sum = min(sum(bounds[p][1] for p in parts), _INF)
            t_lo, t_hi = bounds[total]
            new = (max(t_lo, lo_sum), min(t_hi, hi_sum))
            if new != bounds[total]:
                bounds[total], changed = new, True
                t_lo, t_hi = new
            for part in parts:
                p_lo, p_hi = bounds[part]
                others_lo = lo_sum - p_lo
                others_hi = hi_sum - p_hi if hi_sum < _INF else _INF
                new = (max(p_lo, t_lo - others_hi), min(p_hi, t_hi - others_lo))
                if new != bounds[part]:
                    bounds[part], changed = new, True
                    lo_sum += new[0] - p_lo
                    hi_sum = min(hi_sum + new[1] - p_hi, _INF) if hi_sum < _INF else _INF
        if not changed:
            break
    return bounds


def suppress(
    values: Mapping[Hashable, int],
    constraints: Sequence[Constraint] = (),
    fixed: Mapping[Hashable, str] | None = None,
) -> dict[Hashable, str]:
    """Published text of every cell: ``"0"``, ``"12"``, ``"<5"`` or ``"*"``.

    `values` are the true counts; `constraints` are (total, parts) keys of `values`;
    `fixed` are cells already published elsewhere (their text is kept).
    """
    fixed = dict(fixed or {})
    display: dict[Hashable, str] = {}
    for key, value in values.items():
        if value < 0:
            raise ValueError("counts are never negative")
        if key in fixed:
            display[key] = fixed[key]
        elif 1 <= value < THRESHOLD:
            display[key] = SMALL
        else:
            display[key] = str(value)
    constraints = [(t, list(p)) for t, p in constraints if t in values]
    order = {key: i for i, key in enumerate(values)}
    for _ in range(2 * len(values) + 2):
        bounds = reader_bounds(display, constraints)
        pinned = [k for k, shown in display.items() if is_hidden(shown) and _exact(bounds[k])]
        if not pinned:
            pinned = _not_movable(values, display, constraints)
        if not pinned:
            return display
        pinned.sort(key=order.__getitem__)
        progress = False
        for key in pinned:  # one more hidden cell near each pinned one, then check again
            choice = _next_to_hide(key, values, display, fixed, constraints, order, False)
            if choice is None:
                choice = _next_to_hide(key, values, display, fixed, constraints, order, True)
            if choice is not None:
                display[choice] = HIDDEN
                progress = True
        if not progress:  # everything near them is fixed: nothing more can be done here
            return display
    return display


def _not_movable(values, display, constraints) -> list:
    """Hidden cells for which we cannot show a second solution (so treat as revealed).

    The reader may also combine constraints algebraically (add and subtract them), which
    range tightening does not do. A hidden cell is safe when some integer move in the
    null space of the constraints (other values for the hidden cells that keep every
    published total and every marker's range) changes it: then the published figures
    are equally consistent with two different values. We look for such a move among
    the null-space basis vectors and their sums and differences; a cell with none found
    is treated as revealed (cautious: it may be hidden more than strictly needed).
    """
    hidden = [k for k, shown in display.items() if is_hidden(shown)]
    stuck = []
    for group, group_constraints in _components(hidden, constraints):
        stuck += _stuck_in(group, group_constraints, values, display)
    return stuck


def _components(hidden, constraints):
    """Hidden cells split into groups that no constraint links (solved separately)."""
    parent = {k: k for k in hidden}

    def find(k):
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    touching = []
    for total, parts in constraints:
        members = [k for k in (total, *parts) if k in parent]
        if members:
            touching.append(((total, parts), members))
            for other in members[1:]:
                parent[find(other)] = find(members[0])
    groups: dict = {}
    for k in hidden:
        groups.setdefault(find(k), []).append(k)
    for root, group in groups.items():
        yield group, [c for c, members in touching if find(members[0]) == root]


def _stuck_in(hidden, constraints, values, display) -> list:
    stuck = [k for k in hidden if not _path_move(k, hidden, constraints, values, display)]
    if not stuck:
        return []
    basis = _null_space(hidden, constraints)
    x = [values[k] for k in hidden]
    ranges = [_range(display[k]) for k in hidden]
    moves = list(basis)
    if len(basis) <= 60:
        for a, b in itertools.combinations(basis, 2):
            moves.append([p + q for p, q in zip(a, b, strict=True)])
            moves.append([p - q for p, q in zip(a, b, strict=True)])
    position = {k: i for i, k in enumerate(hidden)}
    return [
        key
        for key in stuck
        if not any(
            d[position[key]] and (_fits(x, d, ranges, 1) or _fits(x, d, ranges, -1)) for d in moves
        )
    ]


def _path_move(key, hidden, constraints, values, display, budget: int = 4000) -> bool:
    """Search a balanced move that changes `key`: +-1 on it, then repair each constraint
    it unbalances with another hidden cell of that constraint, depth first (bounded).
    Found: the published figures fit a second set of values, so `key` is not revealed.
    """
    hidden_set = set(hidden)
    members: dict = {}
    for n, (total, parts) in enumerate(constraints):
        coefs: dict = {}
        for k, c in [(total, 1), *((p, -1) for p in parts)]:
            if k in hidden_set:
                coefs[k] = coefs.get(k, 0) + c
        members[n] = {k: c for k, c in coefs.items() if c}
    of_cell: dict = {}
    for n, coefs in members.items():
        for k in coefs:
            of_cell.setdefault(k, []).append(n)
    ranges = {k: _range(display[k]) for k in hidden}
    nodes = [0]

    def apply(delta: dict, imbalance: dict, cell: Hashable, step: int) -> tuple[dict, dict]:
        delta = {**delta, cell: delta.get(cell, 0) + step}
        imbalance = dict(imbalance)
        for n in of_cell.get(cell, ()):
            imbalance[n] = imbalance.get(n, 0) + members[n][cell] * step
            if not imbalance[n]:
                del imbalance[n]
        return delta, imbalance

    def search(delta: dict, imbalance: dict, depth: int) -> bool:
        if not imbalance:
            return True
        nodes[0] += 1
        if depth == 0 or nodes[0] > budget:
            return False
        n = min(imbalance, key=lambda c: len(members[c]))
        need = imbalance[n]
        for cell, coef in sorted(members[n].items(), key=lambda kc: values[kc[0]], reverse=True):
            if cell == key:
                continue
            step = -need * coef
            lo, hi = ranges[cell]
            if not lo <= values[cell] + delta.get(cell, 0) + step <= hi:
                continue
            if search(*apply(delta, imbalance, cell, step), depth - 1):
                return True
        return False

    for step in (1, -1):
        lo, hi = ranges[key]
        if lo <= values[key] + step <= hi:
            nodes[0] = 0
            if search(*apply({}, {}, key, step), 10):
                return True
    return False


def _fits(x, d, ranges, sign) -> bool:
    for j, step in enumerate(d):
        if step:
            value = x[j] + sign * step
            if value < ranges[j][0] or value > ranges[j][1]:
                return False
    return True


def _null_space(hidden, constraints) -> list[list[int]]:
    """Integer basis of {d : every constraint holds for the hidden cells moved by d}."""
    col = {k: i for i, k in enumerate(hidden)}
    rows: list[dict[int, Fraction]] = []
    for total, parts in constraints:
        coefs: dict[int, int] = {}
        for key, coef in [(total, 1), *((p, -1) for p in parts)]:
            if key in col:
                coefs[col[key]] = coefs.get(col[key], 0) + coef
        exact = {c: Fraction(v) for c, v in coefs.items() if v}
        if exact:
            rows.append(exact)
    pivots: list[tuple[int, dict[int, Fraction]]] = []
    for row in rows:
        for pc, prow in pivots:
            if pc in row:
                factor = row[pc]
                for c, v in prow.items():
                    row[c] = row.get(c, 0) - factor * v
                row = {c: v for c, v in row.items() if v}
        if not row:
            continue
        pc = min(row)
        lead = row[pc]
        row = {c: v / lead for c, v in row.items()}
        for i, (qc, qrow) in enumerate(pivots):
            if pc in qrow:
                factor = qrow[pc]
                for c, v in row.items():
                    qrow[c] = qrow.get(c, 0) - factor * v
                pivots[i] = (qc, {c: v for c, v in qrow.items() if v})
        pivots.append((pc, row))
    pivot_cols = {pc for pc, _ in pivots}
    basis = []
    for free in range(len(hidden)):
        if free in pivot_cols:
            continue
        vec = [Fraction(0)] * len(hidden)
        vec[free] = Fraction(1)
        for pc, prow in pivots:
            vec[pc] = -prow.get(free, Fraction(0))
        scale = math.lcm(*(v.denominator for v in vec))
        basis.append([int(v * scale) for v in vec])
    return basis


def _exact(bound: tuple[int, int]) -> bool:
    return bound[0] >= bound[1]


def _next_to_hide(pinned, values, display, fixed, constraints, order, small):
    """The cell to hide next: the free non-zero cell nearest to `pinned`.

    Nearest through the constraints (a cell sharing a constraint with it first, then
    cells sharing a constraint with those, ...); among equals the smallest part, then
    the smallest total.
    """
    totals = {t for t, _ in constraints}

    def free(key) -> bool:
        if key in fixed or values[key] == 0:
            return False
        return display[key] == SMALL if small else not is_hidden(display[key])

    if small and free(pinned):
        return pinned
    seen, frontier, distance = {pinned}, [pinned], 0
    best = None
    while frontier:
        distance += 1
        reached = []
        for total, parts in constraints:
            members = [total, *parts]
            if not any(m in frontier for m in members):
                continue
            for key in members:
                if key in seen:
                    continue
                seen.add(key)
                reached.append(key)
                if not free(key):
                    continue
                rank = (key in totals, distance, values[key], order[key])
                if best is None or rank < best[0]:
                    best = (rank, key)
        if best is not None and not best[0][0]:
            return best[1]  # the nearest part; a total only when no part is reachable
        frontier = reached
    return None if best is None else best[1]


def change(current: str, previous: str) -> str | None:
    """Week-on-week change as published: only when both figures are published."""
    if is_hidden(current) or is_hidden(previous):
        return None
    diff = int(current) - int(previous)
    return f"{diff:+d}" if diff else "0"
