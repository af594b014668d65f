"""Small-number suppression: the one rule every published figure goes through.

Rule
----
1. Primary: a count from 1 to 4 is published as ``<5``. Zero is published as ``0``.
2. Secondary: the published figures are linked by additive constraints
   (``total = part + part + ...``: a type table adds up to the total, areas add up to
   the regional total, and so on). A reader who knows every published number and the
   constraints could narrow a hidden cell down, so we play that reader: every hidden
   cell starts with the range its marker reveals (``<5`` -> 1..4, ``*`` -> 5 or more),
   published cells are exact, and ranges are tightened through every constraint until
   nothing changes. While some hidden cell is pinned to a single value, one more cell
   of a constraint that pins it is hidden and published as ``*`` (the smallest
   non-zero part first, the total last). Zero is never hidden.
3. ``fixed`` cells were published elsewhere and are never changed here; a pinned
   fixed cell is protected by hiding cells around it.

The reports suppress all the cells of one recipient's scope (regional totals, every
area, every team, every type) together, for each week, so the figures a commissioner
can see are one consistent publication.

Differences (week-on-week change) are published only when both figures are
published, so a difference never reveals a hidden figure.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

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
        return THRESHOLD, _INF
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
    for _ in range(len(values) + 1):
        bounds = reader_bounds(display, constraints)
        pinned = [k for k, shown in display.items() if is_hidden(shown) and _exact(bounds[k])]
        if not pinned:
            return display
        pinned.sort(key=order.__getitem__)
        choice = _next_to_hide(pinned[0], values, display, fixed, constraints, order)
        if choice is None:  # nothing near it can be hidden: hide every free non-zero cell
            for key, value in values.items():
                if key not in fixed and value > 0:
                    display[key] = display[key] if is_hidden(display[key]) else HIDDEN
            return display
        display[choice] = HIDDEN
    return display


def _exact(bound: tuple[int, int]) -> bool:
    return bound[0] >= bound[1]


def _next_to_hide(pinned, values, display, fixed, constraints, order):
    """The cell to hide next: the free non-zero cell nearest to `pinned`.

    Nearest through the constraints (a cell sharing a constraint with it first, then
    cells sharing a constraint with those, ...); among equals the smallest part, then
    the smallest total.
    """
    totals = {t for t, _ in constraints}
    seen, frontier = {pinned}, [pinned]
    while frontier:
        best = None
        reached = []
        for total, parts in constraints:
            members = [total, *parts]
            if not any(m in frontier for m in members):
                continue
            for key in members:
                if key in seen:
                    continue
                reached.append(key)
                if key in fixed or is_hidden(display[key]) or values[key] == 0:
                    continue
                rank = (key in totals, values[key], order[key])
                if best is None or rank < best[0]:
                    best = (rank, key)
        if best is not None:
            return best[1]
        seen.update(reached)
        frontier = list(dict.fromkeys(reached))
    return None


def change(current: str, previous: str) -> str | None:
    """Week-on-week change as published: only when both figures are published."""
    if is_hidden(current) or is_hidden(previous):
        return None
    diff = int(current) - int(previous)
    return f"{diff:+d}" if diff else "0"
