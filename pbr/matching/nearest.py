"""Greedy nearest-neighbour matching on a score or on Mahalanobis distance.

Arranges the arrays for the kernels in :mod:`pbr._kernels.matching` (controls sorted by
stratum, score and id; treated units in the matching order) and maps the result back.

Rules (docs/methodology/matching.md, "Nearest neighbour"):

* order: ``largest`` / ``smallest`` score first (ties: smaller id first), ``data`` (row
  order) or ``random`` (``numpy.random.default_rng(seed).permutation``);
* preference among controls (``ties="id"``, the default): nearest; at equal distance
  the higher score; at equal score the smaller id, so results do not depend on how the
  file is sorted (MatchIt issue #180);
* ``ties="data"``: MatchIt 4.5's rule on data order (:mod:`pbr._kernels.matching`): the
  nearest free control below or above the treated unit's place in the (score, row)
  order, the lower at equal distance; treated units with equal scores choose in row
  order; Mahalanobis ties go to the earlier row;
* without replacement (or with a reuse cap) ``ratio`` rounds in the matching order; a
  treated unit with no control within the caliper in a round gets no more (MatchIt);
* caliper: ``|distance| <= caliper``; no pair ever exceeds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from pbr._kernels import matching as kern

__all__ = ["NearestResult", "matching_order", "nearest"]

#: Below this many treated units the independent (with-replacement) search runs in one
#: thread: starting the thread pool costs more than it saves.  Results are identical.
PARALLEL_MIN = 20_000


@dataclass(frozen=True)
class NearestResult:
    """Positions into the control arrays (-1: none), distances and the matching step."""

    match: np.ndarray  # (n_treated, ratio) int64
    dist: np.ndarray  # (n_treated, ratio) float64
    seq: np.ndarray  # (n_treated,) int64, 0 = unmatched; with replacement: order rank


def matching_order(order: str, score: np.ndarray | None, id_rank: np.ndarray,
                   seed: int | None) -> np.ndarray:
    """Positions of the treated units in the order they choose controls.

    Examples
    --------
    >>> matching_order("largest", np.array([0.2, 0.9, 0.2]), np.array([2, 1, 0]), None)
    array([1, 2, 0])
    """
    n = id_rank.size
    if order == "data":
        return np.arange(n, dtype=np.int64)
    if order == "random":
        return np.random.default_rng(seed).permutation(n).astype(np.int64)
    if score is None:
        raise ValueError("order by score needs a score")
    key = -score if order == "largest" else score
    return np.lexsort((id_rank, key)).astype(np.int64)


def _strata_bounds(c_strata_sorted: np.ndarray, t_strata: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    lo = np.searchsorted(c_strata_sorted, t_strata, "left").astype(np.int64)
    hi = np.searchsorted(c_strata_sorted, t_strata, "right").astype(np.int64)
    return lo, hi


def nearest(t_dist: np.ndarray, c_dist: np.ndarray, t_rank: np.ndarray, c_ids: pl.Series,
            t_strata: np.ndarray, c_strata: np.ndarray, order: np.ndarray, *, ratio: int,
            replace: bool, reuse_max: int | None, caliper: float,
            rows: tuple[np.ndarray, np.ndarray] | None = None) -> NearestResult:
    """Match treated to controls; ``*_dist`` is a score (1-D) or whitened covariates (2-D).

    ``t_rank`` are the treated units' id ranks and ``c_ids`` the controls' ids (the final
    tie-break); ``*_strata`` integer codes within which pairs must lie.  ``rows``
    (treated rows, control rows: increasing data positions) selects MatchIt's tie rule
    (``ties="data"``): controls are then sorted by row, not id, at equal score.
    """
    n_t = t_rank.size
    score_mode = t_dist.ndim == 1
    data_ties = rows is not None
    t_row = np.ascontiguousarray(rows[0], np.int64) if rows is not None \
        else np.zeros(0, np.int64)
    tie_key: Any = rows[1] if rows is not None else c_ids
    keys: dict[str, Any] = {"s": c_strata} if c_strata.size and c_strata.max() > 0 else {}
    keys |= {"d": c_dist, "id": tie_key} if score_mode else {"id": tie_key}
    perm = pl.DataFrame(keys).select(pl.arg_sort_by(list(keys))).to_series().to_numpy()
    perm = perm.astype(np.int64)
    cs = np.ascontiguousarray(c_strata[perm])
    c_row = np.ascontiguousarray(rows[1][perm], np.int64) if rows is not None \
        else np.zeros(0, np.int64)
    lo, hi = _strata_bounds(cs, t_strata)
    match = np.full((n_t, ratio), -1, np.int64)
    dist = np.full((n_t, ratio), np.nan)
    seq = np.zeros(n_t, np.int64)
    cap = 1 if not replace else (reuse_max or 0)
    sequential = cap > 0
    if score_mode:
        score = np.ascontiguousarray(c_dist[perm], dtype=np.float64)
        tscore = np.ascontiguousarray(t_dist, dtype=np.float64)
        n_c = score.size
        start = np.ones(n_c, np.bool_)
        if n_c > 1:
            start[1:] = (score[1:] != score[:-1]) | (cs[1:] != cs[:-1])
        run = np.maximum.accumulate(np.where(start, np.arange(n_c), 0)).astype(np.int64)
        if sequential:
            kern.greedy_sorted(order, tscore, lo, hi, score, run, np.int64(cap), ratio,
                               float(caliper), match, dist, seq, c_row, t_row, data_ties)
        else:
            fn = kern.nearest_sorted if n_t >= PARALLEL_MIN else kern.nearest_sorted_serial
            fn(tscore, lo, hi, score, run, ratio, float(caliper), match, dist, c_row, t_row,
               data_ties)
    else:
        zc = np.ascontiguousarray(c_dist[perm], dtype=np.float64)
        zt = np.ascontiguousarray(t_dist, dtype=np.float64)
        if sequential:
            kern.greedy_mahalanobis(order, zt, lo, hi, zc, np.int64(cap), ratio,
                                    float(caliper), match, dist, seq)
        else:
            maha = kern.nearest_mahalanobis if n_t >= PARALLEL_MIN else \
                kern.nearest_mahalanobis_serial
            maha(zt, lo, hi, zc, ratio, float(caliper), match, dist)
    if not sequential:  # independent choices: number the matched in the matching order
        got = match[order, 0] >= 0
        seq[order[got]] = np.arange(1, int(got.sum()) + 1)
    mapped = np.where(match >= 0, perm[np.maximum(match, 0)], -1)
    return NearestResult(mapped.astype(np.int64), dist, seq)


def whiten(x: np.ndarray, treated: np.ndarray) -> np.ndarray:
    """Covariates transformed so that Euclidean distance is the Mahalanobis distance
    with the pooled within-group covariance matrix (MatchIt 4's ``mahalanobis``).

    Examples
    --------
    >>> x = np.array([[0.0], [2.0], [1.0], [3.0]])
    >>> whiten(x, np.array([1, 1, 0, 0], bool)).ravel().tolist()
    [0.0, 1.414213562373095, 0.7071067811865475, 2.1213203435596424]
    """
    parts = [x[treated] - x[treated].mean(0), x[~treated] - x[~treated].mean(0)]
    dof = max(x.shape[0] - 2, 1)
    cov = sum(p.T @ p for p in parts) / dof
    cov = np.atleast_2d(cov)
    vals, vecs = np.linalg.eigh(cov)
    keep = vals > 1e-12 * max(vals.max(), 1e-300)
    w = vecs[:, keep] / np.sqrt(vals[keep])
    return np.ascontiguousarray(x @ w)
