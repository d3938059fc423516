"""Nearest-neighbour matching kernels: sorted scores, "next free neighbour" pointers.

Controls arrive sorted by (stratum, score, id) with per-stratum offsets, so the nearest
controls of a treated unit are found by a binary search and a walk outwards (Austin
2011's greedy nearest-neighbour matching; timings in docs/methodology/matching.md,
"Performance").

Preference order of the controls of one treated unit with score ``s`` (the tie rules,
docs/methodology/matching.md, "Ties"):

* ``ties="id"`` (pbr's default): smaller ``|score - s|`` first; at equal distance the
  control with the higher score; at equal score the control with the smaller id (the
  smaller sorted position; controls sorted by (stratum, score, id));
* ``ties="data"`` (MatchIt 4.5's vector path, ``nn_matchC_vec``): controls sorted by
  (stratum, score, row) and the treated unit placed among them at (``s``, its row); the
  candidates are the nearest free control below that place (walking down: among equal
  scores the later row first) and the nearest free control above it (walking up: the
  earlier row first); the lower one wins at equal distance.

* With replacement and no reuse cap every treated unit is independent: a ``prange``
  loop takes its ``ratio`` most preferred controls within the caliper.
* Otherwise (without replacement, or a reuse cap) matching is greedy and sequential in
  the given treated order, in ``ratio`` rounds (MatchIt's rule): a control whose
  capacity is spent is removed from two union-find structures ("next free control at or
  after i" and "at or before i", path halving), so each look-up is near O(1).
* Mahalanobis matching works on whitened covariates (Euclidean distance there equals
  the Mahalanobis distance); ties go to the smaller sorted position (the smaller id,
  or with ``ties="data"`` the earlier row: MatchIt's ``which_min``).

Outputs are preallocated by the caller: ``match`` (treated x ratio) holds sorted control
positions or -1, ``dist`` the distances, ``seq`` the 1-based step at which each treated
unit received its first control (0 if never).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, inline="always")
def _find(parent, i):
    """Root of ``i`` with path halving (the next free position)."""
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


@njit(cache=True, inline="always")
def _lower_bound(x, lo, hi, v):
    """First position in ``x[lo:hi]`` (sorted) with ``x[pos] >= v``; ``hi`` if none."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if x[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, inline="always")
def _upper_bound(x, lo, hi, v):
    """First position in ``x[lo:hi]`` (sorted) with ``x[pos] > v``; ``hi`` if none."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if x[mid] <= v:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, inline="always")
def _right(nxt, i, hi):
    """Next free position at or after ``i`` (below ``hi``), else -1."""
    if i >= hi:
        return -1
    j = _find(nxt, i)
    return j if j < hi else -1


@njit(cache=True, inline="always")
def _left(prv, i, lo):
    """Last free position at or before ``i`` (not below ``lo``), else -1."""
    if i < lo:
        return -1
    j = _find(prv, i + 1) - 1
    return j if j >= lo else -1


@njit(cache=True)
def _pick(score, run, nxt, prv, lo, hi, s, caliper, own, n_own):
    """The most preferred free control for score ``s`` in ``[lo, hi)``, skipping the
    positions in ``own[:n_own]``; returns (position, distance) or (-1, inf)."""
    p = _lower_bound(score, lo, hi, s)
    r = _right(nxt, p, hi)
    # left stream: runs of equal score walked downwards, each run from its smallest id
    lend = _left(prv, p - 1, lo)
    lcur = -1
    if lend >= 0:
        lcur = _right(nxt, run[lend], hi)
    while r >= 0 and _owned(own, n_own, r):
        r = _right(nxt, r + 1, hi)
    while lcur >= 0 and _owned(own, n_own, lcur):
        lcur, lend = _left_next(score, run, nxt, prv, lo, hi, lcur, lend)
    if r < 0 and lcur < 0:
        return -1, np.inf
    if lcur < 0:
        best = r
    elif r < 0:
        best = lcur
    else:
        dl = s - score[lcur]
        dr = score[r] - s
        best = r if dr <= dl else lcur
    d = abs(score[best] - s)
    if d > caliper:
        return -1, np.inf
    return best, d


@njit(cache=True)
def _pick_data(score, rows, nxt, prv, lo, hi, s, srow, caliper, own, n_own):
    """MatchIt's choice (``ties="data"``): the nearest free control below and above the
    treated unit's place (``s``, ``srow``) in the (score, row) order; the lower at equal
    distance.  Returns (position, distance) or (-1, inf)."""
    p = _lower_bound(score, lo, hi, s)
    q = _upper_bound(score, p, hi, s)  # [p, q): the run of scores equal to s
    p = _lower_bound(rows, p, q, srow)  # rows ascend within a run of equal scores
    r = _right(nxt, p, hi)
    while r >= 0 and _owned(own, n_own, r):
        r = _right(nxt, r + 1, hi)
    left = _left(prv, p - 1, lo)
    while left >= 0 and _owned(own, n_own, left):
        left = _left(prv, left - 1, lo)
    if r < 0 and left < 0:
        return -1, np.inf
    if left < 0:
        best = r
    elif r < 0:
        best = left
    else:
        best = left if s - score[left] <= score[r] - s else r
    d = abs(score[best] - s)
    if d > caliper:
        return -1, np.inf
    return best, d


@njit(cache=True, inline="always")
def _owned(own, n_own, j):
    for q in range(n_own):  # noqa: SIM110 - a plain loop compiles in numba
        if own[q] == j:
            return True
    return False


@njit(cache=True, inline="always")
def _left_next(score, run, nxt, prv, lo, hi, lcur, lend):
    """The next left candidate after ``lcur`` in the run ending at ``lend``."""
    nx = _right(nxt, lcur + 1, hi)
    if nx >= 0 and nx <= lend:
        return nx, lend
    lend = _left(prv, run[lend] - 1, lo)
    if lend < 0:
        return -1, -1
    return _right(nxt, run[lend], hi), lend


@njit(cache=True)
def greedy_sorted(t_order, t_score, t_lo, t_hi, c_score, c_run, cap, ratio, caliper,
                  match, dist, seq, c_row, t_row, data_ties):
    """Greedy matching in ``t_order`` (without replacement: ``cap`` 1; else a reuse cap),
    ``ratio`` rounds; a treated unit unmatched in a round takes no further controls.
    ``data_ties``: MatchIt's rule (:func:`_pick_data`, on the controls' rows ``c_row``
    and the treated units' rows ``t_row``) instead of the id rule."""
    n_c = c_score.size
    nxt = np.arange(n_c + 1)
    prv = np.arange(n_c + 1)
    left = np.full(n_c, cap, np.int64)
    own = np.empty(ratio, np.int64)
    step = 0
    for rnd in range(ratio):
        for q in range(t_order.size):
            t = t_order[q]
            if rnd > 0 and match[t, rnd - 1] < 0:
                continue
            for u in range(rnd):
                own[u] = match[t, u]
            if data_ties:
                j, d = _pick_data(c_score, c_row, nxt, prv, t_lo[t], t_hi[t], t_score[t],
                                  t_row[t], caliper, own, rnd)
            else:
                j, d = _pick(c_score, c_run, nxt, prv, t_lo[t], t_hi[t], t_score[t],
                             caliper, own, rnd)
            if j < 0:
                continue
            match[t, rnd] = j
            dist[t, rnd] = d
            if rnd == 0:
                step += 1
                seq[t] = step
            left[j] -= 1
            if left[j] == 0:
                nxt[j] = j + 1
                prv[j + 1] = j
    return step


@njit(cache=True)
def _nearest_one(t, t_score, t_lo, t_hi, c_score, c_run, ident, ratio, caliper, match, dist,
                 c_row, t_row, data_ties):
    own = np.empty(ratio, np.int64)
    for rnd in range(ratio):
        if data_ties:
            j, d = _pick_data(c_score, c_row, ident, ident, t_lo[t], t_hi[t], t_score[t],
                              t_row[t], caliper, own, rnd)
        else:
            j, d = _pick(c_score, c_run, ident, ident, t_lo[t], t_hi[t], t_score[t],
                         caliper, own, rnd)
        if j < 0:
            break
        match[t, rnd] = j
        dist[t, rnd] = d
        own[rnd] = j


@njit(cache=True)
def _identity(n):
    """``0 .. n - 1`` in a serial loop (``np.arange`` in a parallel kernel is a parallel
    loop of its own; see :func:`pbr._kernels.grouping.total`)."""
    out = np.empty(n, np.int64)
    for i in range(n):
        out[i] = i
    return out


@njit(cache=True, parallel=True)
def nearest_sorted(t_score, t_lo, t_hi, c_score, c_run, ratio, caliper, match, dist, c_row,
                   t_row, data_ties):
    """With replacement, no cap: each treated unit takes its ``ratio`` most preferred
    controls within the caliper (independent, so parallel over treated units)."""
    ident = _identity(c_score.size + 1)  # nothing is removed: the pointers stay identity
    for t in prange(t_score.size):
        _nearest_one(t, t_score, t_lo, t_hi, c_score, c_run, ident, ratio, caliper, match,
                     dist, c_row, t_row, data_ties)


@njit(cache=True)
def nearest_sorted_serial(t_score, t_lo, t_hi, c_score, c_run, ratio, caliper, match, dist,
                          c_row, t_row, data_ties):
    """:func:`nearest_sorted` in one thread (small inputs: no thread start-up cost)."""
    ident = np.arange(c_score.size + 1)
    for t in range(t_score.size):
        _nearest_one(t, t_score, t_lo, t_hi, c_score, c_run, ident, ratio, caliper, match,
                     dist, c_row, t_row, data_ties)


@njit(cache=True, inline="always")
def _sqdist(zt, zc, t, c):
    acc = 0.0
    for k in range(zt.shape[1]):
        x = zt[t, k] - zc[c, k]
        acc += x * x
    return acc


@njit(cache=True)
def greedy_mahalanobis(t_order, zt, t_lo, t_hi, zc, cap, ratio, caliper, match, dist, seq):
    """Greedy Mahalanobis matching on whitened covariates (full scan of the stratum)."""
    n_c = zc.shape[0]
    left = np.full(n_c, cap, np.int64)
    step = 0
    for rnd in range(ratio):
        for q in range(t_order.size):
            t = t_order[q]
            if rnd > 0 and match[t, rnd - 1] < 0:
                continue
            best = -1
            bd = np.inf
            for c in range(t_lo[t], t_hi[t]):
                if left[c] <= 0:
                    continue
                d = _sqdist(zt, zc, t, c)
                if d < bd:
                    skip = False
                    for u in range(rnd):
                        if match[t, u] == c:
                            skip = True
                    if not skip:
                        bd = d
                        best = c
            if best < 0 or np.sqrt(bd) > caliper:  # the reported distance obeys the caliper
                continue
            match[t, rnd] = best
            dist[t, rnd] = np.sqrt(bd)
            if rnd == 0:
                step += 1
                seq[t] = step
            left[best] -= 1
    return step


@njit(cache=True)
def _nearest_maha_one(t, zt, t_lo, t_hi, zc, ratio, caliper, match, dist):
    bd = np.full(ratio, np.inf)
    bc = np.full(ratio, -1, np.int64)
    for c in range(t_lo[t], t_hi[t]):
        d = _sqdist(zt, zc, t, c)
        if d >= bd[ratio - 1] or np.sqrt(d) > caliper:
            continue
        k = ratio - 1
        while k > 0 and bd[k - 1] > d:
            bd[k] = bd[k - 1]
            bc[k] = bc[k - 1]
            k -= 1
        bd[k] = d
        bc[k] = c
    for k in range(ratio):
        if bc[k] >= 0:
            match[t, k] = bc[k]
            dist[t, k] = np.sqrt(bd[k])


@njit(cache=True, parallel=True)
def nearest_mahalanobis(zt, t_lo, t_hi, zc, ratio, caliper, match, dist):
    """With replacement, no cap: the ``ratio`` nearest controls of each treated unit
    (ties: the smaller sorted position, i.e. the smaller id)."""
    for t in prange(zt.shape[0]):
        _nearest_maha_one(t, zt, t_lo, t_hi, zc, ratio, caliper, match, dist)


@njit(cache=True)
def nearest_mahalanobis_serial(zt, t_lo, t_hi, zc, ratio, caliper, match, dist):
    """:func:`nearest_mahalanobis` in one thread."""
    for t in range(zt.shape[0]):
        _nearest_maha_one(t, zt, t_lo, t_hi, zc, ratio, caliper, match, dist)
