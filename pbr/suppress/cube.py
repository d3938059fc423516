"""Cell suppression on a table of counts with all its margins: primary, secondary, audit.

A table over ``k`` classifying variables with ``n_1 x ... x n_k`` inner cells is held as
its *extended* array of shape ``(n_1 + 1) x ... x (n_k + 1)``: index ``n_d`` on axis
``d`` is the total over that variable, so every marginal total (row and column totals,
the grand total) is a cell too.  The table is additive: along each axis, the inner
cells of a *line* (every index but one fixed) sum to the line's total cell.  These are
the equations an intruder can use to recover a suppressed cell from the published ones
([Cox-1980]; [Hundepool-SDC-2012], chapter 4).

* :func:`primary_mask`: the threshold rule, cells with ``0 < value < threshold``.
* :func:`secondary_suppression`: adds complementary suppressions until the LP audit
  passes: first the cheapest hypercube around each primary cell (tables of two or three
  ways; [Giessing-Repsilber-2002]), then no line may hold exactly one suppressed cell
  (it would equal its total minus the published cells), then every suppressed cell's
  feasible interval must be at least ``protection`` wide.  The cells added are the
  smallest published ones on a line through an unsafe cell (least information lost;
  ties by position).
* :func:`audit_intervals`: the LP audit: for each suppressed cell the smallest and
  largest value it can take given every published cell, the additivity of the table,
  non-negativity and optional upper bounds (``scipy.optimize.linprog``, HiGHS).

All of it is deterministic: no random choice, ties broken by flat cell position.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
from scipy.optimize import linprog

from pbr.errors import SpecError

__all__ = ["audit_intervals", "extend", "lines", "primary_mask", "secondary_suppression"]

#: LP tolerance: an interval width this close to the protection level passes
TOL = 1e-7


def extend(inner: np.ndarray) -> np.ndarray:
    """The extended array of an inner table: every margin appended as a total cell.

    Examples
    --------
    >>> extend(np.array([[1, 2], [3, 4]])).tolist()
    [[1.0, 2.0, 3.0], [3.0, 4.0, 7.0], [4.0, 6.0, 10.0]]
    """
    out = np.asarray(inner, dtype=np.float64)
    for axis in range(out.ndim):
        out = np.concatenate([out, out.sum(axis=axis, keepdims=True)], axis=axis)
    return out


def lines(shape: tuple[int, ...]) -> Iterator[tuple[np.ndarray, int]]:
    """Every additivity line of an extended array: (flat indices of its inner cells,
    flat index of its total cell)."""
    flat = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    for axis in range(len(shape)):
        moved = np.moveaxis(flat, axis, -1).reshape(-1, shape[axis])
        for row in moved:
            yield row[:-1], int(row[-1])


def primary_mask(values: np.ndarray, threshold: float, *, zeros: bool = False) -> np.ndarray:
    """The threshold rule: cells with ``0 < value < threshold`` (and zeros when
    ``zeros=True``) are unsafe.

    Examples
    --------
    >>> primary_mask(np.array([0.0, 3.0, 10.0, 12.0]), 10).tolist()
    [False, True, False, False]
    """
    v = np.asarray(values, dtype=np.float64)
    small = v < threshold
    return small if zeros else small & (v > 0)


def _line_index(shape: tuple[int, ...]) -> list[tuple[np.ndarray, int]]:
    return list(lines(shape))


def audit_intervals(values: np.ndarray, suppressed: np.ndarray,
                    upper: np.ndarray | None = None, lower: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The feasible interval of every suppressed cell of an extended array (LP audit).

    Parameters
    ----------
    values
        The extended array (inner cells and totals).
    suppressed
        Boolean array of the same shape: the cells not published.
    upper, lower
        Optional known bounds per cell (``inf`` / 0 where none): a count of
        reoffenders is at most the published number of offenders in its group, and a
        group has at least as many offenders as its published reoffenders.

    Returns
    -------
    (lower, upper)
        Arrays of the same shape, NaN for published cells; ``upper`` is ``inf`` where
        the cell is unbounded.

    Examples
    --------
    One line, total known: two suppressed cells of 3 and 5 can trade off 8 units.

    >>> v = extend(np.array([3, 5, 20]))
    >>> s = np.zeros(v.shape, bool); s[0] = s[1] = True
    >>> lo, hi = audit_intervals(v, s)
    >>> float(lo[0]), float(hi[0])
    (0.0, 8.0)
    """
    v = np.asarray(values, dtype=np.float64)
    s = np.asarray(suppressed, dtype=bool)
    if v.shape != s.shape:
        raise SpecError(f"suppressed: shape {s.shape} differs from the table's {v.shape}")
    lo = np.full(v.shape, np.nan)
    hi = np.full(v.shape, np.nan)
    idx = np.flatnonzero(s.ravel())
    if idx.size == 0:
        return lo, hi
    var = {int(c): j for j, c in enumerate(idx)}
    flat_v = v.ravel()
    rows: list[np.ndarray] = []
    rhs: list[float] = []
    for inner, total in lines(v.shape):
        members = [(int(c), 1.0) for c in inner] + [(total, -1.0)]
        if not any(c in var for c, _ in members):
            continue
        row = np.zeros(idx.size)
        b = 0.0
        for c, coef in members:
            if c in var:
                row[var[c]] += coef
            else:
                b -= coef * flat_v[c]
        rows.append(row)
        rhs.append(b)
    a_eq = np.array(rows) if rows else None
    b_eq = np.array(rhs) if rows else None
    ub = np.full(idx.size, np.inf) if upper is None else \
        np.asarray(upper, dtype=np.float64).ravel()[idx]
    lb = np.zeros(idx.size) if lower is None else \
        np.maximum(np.asarray(lower, dtype=np.float64).ravel()[idx], 0.0)
    bounds = [(float(a), None if not np.isfinite(u) else float(u))
              for a, u in zip(lb, ub, strict=True)]
    lo_flat, hi_flat = lo.ravel(), hi.ravel()
    for j, cell in enumerate(idx.tolist()):
        cost = np.zeros(idx.size)
        cost[j] = 1.0
        for sign, out in ((1.0, lo_flat), (-1.0, hi_flat)):
            res = linprog(sign * cost, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
            if res.status == 3:            # unbounded: only the maximum can be
                out[cell] = np.inf
            elif res.status != 0:          # pragma: no cover (the true values are feasible)
                raise SpecError(f"disclosure audit: the LP for cell {cell} failed "
                                f"({res.message}); the table is not additive")
            else:
                out[cell] = sign * float(res.fun)
    return lo_flat.reshape(v.shape), hi_flat.reshape(v.shape)


def _partner(v: np.ndarray, s: np.ndarray, candidates: np.ndarray,
             fixed: np.ndarray) -> int | None:
    """The published cell to suppress next among ``candidates``: the smallest positive
    value (ties: position); zeros only when nothing else is left; never a fixed cell."""
    free = [int(c) for c in candidates if not s[c] and not fixed[c]]
    if not free:
        return None
    positive = [c for c in free if v[c] > 0]
    pool = positive or free
    return min(pool, key=lambda c: (v[c], c))


#: at most this many candidate hypercubes are scored per primary cell
MAX_CUBES = 4096


def _hypercube(v: np.ndarray, s: np.ndarray, fix: np.ndarray, cell: tuple[int, ...],
               protection: float) -> list[tuple[int, ...]] | None:
    """The cheapest hypercube through ``cell``: one other index per axis, and the
    ``2^k`` corners it spans ([Giessing-Repsilber-2002]).  Corners must not be fixed;
    cubes whose new corners are all at least ``protection`` (so that the primary cell's
    value can move by that much around the cycle) come first, inner cells before
    totals, then the least value newly withheld.  None when no cube is possible."""
    shape = v.shape
    per_axis: list[list[int]] = []
    for d, n in enumerate(shape):
        others = [j for j in range(n) if j != cell[d]]
        if not others:
            return None
        # the nearest candidates first: by the value of the cell one step along axis d
        def along(j: int, d: int = d, last: int = n - 1) -> tuple[bool, float, int]:
            t = list(cell)
            t[d] = j
            return (j == last, float(v[tuple(t)]), j)
        per_axis.append(sorted(others, key=along))
    budget = max(2, int(MAX_CUBES ** (1 / len(shape))))
    per_axis = [c[:budget] for c in per_axis]
    best: tuple[tuple[int, int, float, tuple[int, ...]], list[tuple[int, ...]]] | None = None
    for choice in itertools.product(*per_axis):
        corners = [tuple(choice[d] if pick else cell[d] for d, pick in enumerate(bits))
                   for bits in itertools.product((False, True), repeat=len(shape))]
        if any(fix[c] for c in corners):
            continue
        new = [c for c in corners if not s[c]]
        weak = sum(1 for c in new if v[c] < protection)
        margins = sum(1 for c in new if any(i == n - 1 for i, n in zip(c, shape, strict=True)))
        key = (weak, margins, float(sum(v[c] for c in new)), tuple(choice))
        if best is None or key < best[0]:
            best = (key, corners)
    return None if best is None else best[1]


def secondary_suppression(values: np.ndarray, primary: np.ndarray, protection: float,
                          upper: np.ndarray | None = None,
                          fixed: np.ndarray | None = None,
                          lower: np.ndarray | None = None,
                          hypercube: bool = True) -> np.ndarray:
    """Complementary suppressions that make every suppressed cell safe under the audit.

    Parameters
    ----------
    values
        The extended array.
    primary
        The cells suppressed by the primary rules.
    protection
        The width the feasible interval of every suppressed cell must reach
        (the sliding protection level of [Hundepool-SDC-2012]).
    upper, lower
        Known bounds per cell, passed to the audit.
    fixed
        Cells that cannot be suppressed (known to every reader, e.g. combinations
        absent from a table, which are zeros).
    hypercube
        Start from the cheapest hypercube around each primary cell (two or more
        axes); the greedy steps and the audit follow either way.

    Returns
    -------
    The final suppression mask (primary and secondary cells).

    Examples
    --------
    >>> v = extend(np.array([[2, 30, 40], [25, 35, 45]]))
    >>> m = secondary_suppression(v, primary_mask(v, 10), 10)
    >>> m.astype(int).tolist()
    [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0]]
    """
    v = np.asarray(values, dtype=np.float64)
    s = np.asarray(primary, dtype=bool).copy().ravel()
    flat_v = v.ravel()
    all_lines = _line_index(v.shape)
    through: dict[int, list[np.ndarray]] = {}
    for inner, total in all_lines:
        members = np.append(inner, total)
        for c in members:
            through.setdefault(int(c), []).append(members)
    fix = np.zeros(s.size, bool) if fixed is None else np.asarray(fixed, bool).ravel()
    if hypercube and v.ndim >= 2:         # first a hypercube around each primary cell
        s3, f3 = s.reshape(v.shape), fix.reshape(v.shape)
        order = sorted(np.flatnonzero(s).tolist(), key=lambda c: (flat_v[c], c))
        for c in order:
            at = tuple(int(i) for i in np.unravel_index(c, v.shape))
            if all(int(s[m].sum()) >= 2 for m in through.get(c, [])):
                continue                   # already paired on every line through it
            corners = _hypercube(v, s3, f3, at, protection)
            for corner in corners or ():
                s3[corner] = True
        s = s3.ravel()
    for _ in itertools.repeat(None, s.size + 1):
        changed = True
        while changed:                     # no line with exactly one suppressed cell
            changed = False
            for inner, total in all_lines:
                members = np.append(inner, total)
                if int(s[members].sum()) == 1:
                    pick = _partner(flat_v, s, members, fix)
                    if pick is not None:
                        s[pick] = True
                        changed = True
        lo, hi = audit_intervals(v, s.reshape(v.shape), upper, lower)
        width = (hi - lo).ravel()
        unsafe = [int(c) for c in np.flatnonzero(s) if width[c] < protection - TOL]
        if not unsafe:
            return s.reshape(v.shape)
        cell = min(unsafe, key=lambda c: (width[c], c))
        cands = np.unique(np.concatenate(through.get(cell, [np.array([], np.int64)])))
        pick = _partner(flat_v, s, cands, fix)
        if pick is None:                   # its lines are all suppressed: widen elsewhere
            pick = _partner(flat_v, s, np.arange(s.size), fix)
        if pick is None:                   # everything suppressed: nothing left to publish
            return s.reshape(v.shape)
        s[pick] = True
    raise SpecError("disclosure: secondary suppression did not converge")  # pragma: no cover
