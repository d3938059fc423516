"""Log-rank test of equal time-to-first-reoffence curves between groups.

The Mantel-Haenszel / log-rank statistic as R's ``survival::survdiff`` (``rho = 0``):
at each distinct event time ``t_j`` with ``n_j`` at risk and ``d_j`` events,
``E_g = Σ n_gj d_j / n_j`` and
``V_gh = Σ d_j (n_j - d_j) / (n_j - 1) · (n_gj / n_j) (δ_gh - n_hj / n_j)``;
``chisq = (O - E)' V⁻ (O - E)`` over the first ``k - 1`` groups, on ``k - 1`` degrees of
freedom (Mantel 1966; Peto and Peto 1972).  With weights, ``n`` and ``d`` are weighted
sums (no R counterpart: ``survdiff`` takes no weights; weights of one give the unweighted
test exactly).  Checked against R on the Rossi and veteran data
(tests/fixtures/r_survival).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy import stats as _st

from pbr.errors import SpecError

__all__ = ["LogRankResult", "logrank_test"]


@dataclass(frozen=True)
class LogRankResult:
    """Observed and expected events per group, the chi-square statistic and p-value."""

    frame: pl.DataFrame
    chisq: float
    df: int
    p_value: float
    variance: np.ndarray

    def __str__(self) -> str:
        lines = [f"{'group':>12} {'n':>10} {'observed':>10} {'expected':>10}"]
        for r in self.frame.iter_rows(named=True):
            lines.append(f"{r['group']!s:>12} {r['n']:>10,.6g} {r['observed']:>10.6g} "
                         f"{r['expected']:>10.4f}")
        lines.append(f"log-rank chi-square = {self.chisq:.4f} on {self.df} df, "
                     f"p = {self.p_value:.4g}")
        return "\n".join(lines)


def logrank_test(time: Any, event: Any, group: Any, *, weights: Any = None
                 ) -> LogRankResult:
    """Log-rank test between two or more groups (R ``survdiff``, ``rho = 0``).

    Examples
    --------
    >>> res = logrank_test([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 0, 1], ["a", "b", "a", "b", "a", "b"])
    >>> res.df, round(res.chisq, 4)
    (1, 0.0739)
    """
    t = np.asarray(time, np.float64)
    e = np.asarray(event, np.float64)
    labels = pl.Series("group", list(group))
    w = np.ones_like(t) if weights is None else np.asarray(weights, np.float64)
    if not (t.shape == e.shape == w.shape) or labels.len() != t.size:
        raise SpecError("time, event, group and weights must have one value per offender")
    levels = labels.unique().sort().to_list()
    k = len(levels)
    if k < 2:
        raise SpecError("group: the log-rank test needs at least two groups")
    gi = np.searchsorted(np.asarray(levels, dtype=object), labels.to_numpy().astype(object)) \
        if labels.dtype == pl.String else np.searchsorted(np.asarray(levels),
                                                          labels.to_numpy())
    ut = np.unique(t)
    pos = np.searchsorted(ut, t)
    m = ut.size
    d_g = np.zeros((m, k))
    leave_g = np.zeros((m, k))
    np.add.at(d_g, (pos, gi), w * e)
    np.add.at(leave_g, (pos, gi), w)
    n_g = np.cumsum(leave_g[::-1], axis=0)[::-1]
    n = n_g.sum(axis=1)
    d = d_g.sum(axis=1)
    ev = d > 0
    n_g, n, d, d_g = n_g[ev], n[ev], d[ev], d_g[ev]
    frac = n_g / n[:, None]
    expected = (frac * d[:, None]).sum(axis=0)
    observed = d_g.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(n > 1, d * (n - d) / (n - 1), 0.0)
    var = np.einsum("j,jg,gh->gh", scale, frac, np.eye(k)) - np.einsum(
        "j,jg,jh->gh", scale, frac, frac)
    diff = (observed - expected)[: k - 1]
    chisq = float(diff @ np.linalg.pinv(var[: k - 1, : k - 1]) @ diff)  # V⁻: generalised inverse
    sizes = np.bincount(gi, weights=w, minlength=k)
    frame = pl.DataFrame({"group": levels, "n": sizes, "observed": observed,
                          "expected": expected})
    return LogRankResult(frame, chisq, k - 1, float(_st.chi2.sf(chisq, k - 1)), var)
