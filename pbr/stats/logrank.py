"""Log-rank test of equal time-to-first-reoffence curves between groups.

The Mantel-Haenszel / log-rank statistic as R's ``survival::survdiff`` (``rho = 0``):
at each distinct event time ``t_j`` with ``n_j`` at risk and ``d_j`` events,
``E_g = Σ n_gj d_j / n_j`` and
``V_gh = Σ d_j (n_j - d_j) / (n_j - 1) · (n_gj / n_j) (δ_gh - n_hj / n_j)``;
``chisq = (O - E)' V⁻ (O - E)`` over the groups with ``E > 0`` less one, on that many
degrees of freedom (Mantel 1966; Peto and Peto 1972).  Stratified (``strata=``, R's
``survdiff(Surv(time, status) ~ group + strata(s))``): ``O``, ``E`` and ``V`` are
computed within each stratum, with the stratum's own risk sets, and summed over strata
before the statistic is formed (Therneau and Grambsch 2000, 3.3).  A stratum holding one
group only adds ``O = E`` to that group and nothing to ``V``: it contributes nothing to
the statistic, as in R.  With weights, ``n`` and ``d`` are weighted sums (no R
counterpart: ``survdiff`` takes no weights; weights of one give the unweighted test
exactly).  Checked against R on the Rossi and veteran data (tests/fixtures/r_survival)
and, stratified, on seeded data (tests/fixtures/r_parity_stats).
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
    """Observed and expected events per group, the chi-square statistic and p-value.

    Attributes
    ----------
    frame
        ``group``, ``n``, ``observed``, ``expected`` (summed over strata).
    chisq, df, p_value
        The statistic, its degrees of freedom (groups with ``expected > 0``, less one)
        and the upper chi-square tail.
    variance
        The variance matrix of ``observed - expected`` (summed over strata).
    by_stratum
        Stratified tests only: ``stratum``, ``group``, ``n``, ``observed``, ``expected``
        per stratum and group (R's ``obs`` and ``exp`` matrices); None otherwise.
    note
        Why the test carries no information (a zero variance, where R's ``survdiff``
        stops with a singular matrix; pbr's generalised inverse gives chi-square 0);
        None otherwise.
    """

    frame: pl.DataFrame
    chisq: float
    df: int
    p_value: float
    variance: np.ndarray
    by_stratum: pl.DataFrame | None = None
    note: str | None = None

    def __str__(self) -> str:
        lines = [f"{'group':>12} {'n':>10} {'observed':>10} {'expected':>10}"]
        for r in self.frame.iter_rows(named=True):
            lines.append(f"{r['group']!s:>12} {r['n']:>10,.6g} {r['observed']:>10.6g} "
                         f"{r['expected']:>10.4f}")
        strata = ("" if self.by_stratum is None else
                  f" (stratified: {self.by_stratum['stratum'].n_unique()} strata)")
        lines.append(f"log-rank chi-square = {self.chisq:.4f} on {self.df} df, "
                     f"p = {self.p_value:.4g}{strata}")
        if self.note:
            lines.append(f"note: {self.note}")
        return "\n".join(lines)


def _labels(values: Any, name: str, n: int) -> pl.Series:
    """One label per offender, missing values (null, NaN) refused with their count."""
    if isinstance(values, pl.Series):
        s = values.rename(name)
    elif isinstance(values, np.ndarray) and values.dtype != object:
        s = pl.Series(name, values)
    else:
        s = pl.Series(name, list(values), strict=False)
    if s.len() != n:
        raise SpecError(f"{name}: one value per offender ({n}), got {s.len()}")
    missing = s.null_count()
    if s.dtype.is_float():
        missing += int(s.is_nan().sum() or 0)
    if missing:
        raise SpecError(f"{name}: {missing} of {n} offenders have no {name} value (missing); "
                        f"give them one (e.g. a stratum 'unknown') or leave those offenders "
                        f"out of time, event, group and {name} alike")
    return s


def _codes(s: pl.Series) -> tuple[list[Any], np.ndarray]:
    levels = s.unique().sort()
    codes = (s.rank("dense").cast(pl.Int64) - 1).to_numpy() if s.len() else \
        np.zeros(0, np.int64)
    return levels.to_list(), codes


def _observed_expected(t: np.ndarray, e: np.ndarray, w: np.ndarray, gi: np.ndarray, k: int
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``O``, ``E`` and ``V`` of one stratum (R's ``survdiff.fit``, ``rho = 0``)."""
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
    return observed, expected, var


def logrank_test(time: Any, event: Any, group: Any, *, weights: Any = None,
                 strata: Any = None) -> LogRankResult:
    """Log-rank test between two or more groups (R ``survdiff``, ``rho = 0``).

    Parameters
    ----------
    time, event
        Days to the first reoffence or to censoring, and whether it was a reoffence.
    group
        Group label per offender (two or more groups).
    weights
        Optional non-negative weights (``n`` and ``d`` become weighted sums).
    strata
        Optional stratum label per offender (e.g. a risk band or a provider): the test
        is R's ``survdiff(Surv(time, status) ~ group + strata(s))``, comparing groups
        within strata.  Missing labels are refused.  A stratum holding one group only
        contributes nothing to the statistic (its events count as observed and expected
        alike).

    Returns
    -------
    LogRankResult

    Examples
    --------
    >>> res = logrank_test([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 0, 1], ["a", "b", "a", "b", "a", "b"])
    >>> res.df, round(res.chisq, 4)
    (1, 0.0739)
    >>> res = logrank_test([1, 2, 3, 4, 5, 6, 2, 3], [1, 1, 1, 1, 0, 1, 1, 0],
    ...                    ["a", "b", "a", "b", "a", "b", "a", "b"],
    ...                    strata=["x", "x", "x", "y", "y", "y", "y", "x"])
    >>> res.df, round(res.chisq, 4)
    (1, 0.5814)
    """
    t = np.asarray(time, np.float64)
    e = np.asarray(event, np.float64)
    w = np.ones_like(t) if weights is None else np.asarray(weights, np.float64)
    if not (t.ndim == 1 and t.shape == e.shape == w.shape):
        raise SpecError("time, event and weights must have one value per offender")
    labels = _labels(group, "group", t.size)
    levels, gi = _codes(labels)
    k = len(levels)
    if k < 2:
        raise SpecError("group: the log-rank test needs at least two groups")
    if strata is None:
        observed, expected, var = _observed_expected(t, e, w, gi, k)
        by_stratum = None
    else:
        s_levels, si = _codes(_labels(strata, "strata", t.size))
        observed, expected, var = np.zeros(k), np.zeros(k), np.zeros((k, k))
        parts = []
        for j, s in enumerate(s_levels):
            kk = si == j
            o, x, v = _observed_expected(t[kk], e[kk], w[kk], gi[kk], k)
            observed, expected, var = observed + o, expected + x, var + v
            parts.append(pl.DataFrame({
                "stratum": [s] * k, "group": levels,
                "n": np.bincount(gi[kk], weights=w[kk], minlength=k),
                "observed": o, "expected": x}))
        by_stratum = pl.concat(parts)
    keep = np.flatnonzero(expected > 0)            # R: groups with E = 0 are left out
    df = keep.size - 1
    note = None
    if df < 1:
        chisq = 0.0
    else:
        use = keep[1:]
        diff = (observed - expected)[use]
        chisq = float(diff @ np.linalg.pinv(var[np.ix_(use, use)]) @ diff)  # V⁻
        if not np.any(np.diag(var)[keep] > 0):
            note = ("no information: at no event time were two groups at risk with a "
                    "survivor" + (" within a stratum" if strata is not None else "")
                    + ", so the variance is zero and chi-square is 0 (R's survdiff stops "
                    "here: singular variance)"
                    + ("; use fewer, wider strata" if strata is not None else ""))
    sizes = np.bincount(gi, weights=w, minlength=k)
    frame = pl.DataFrame({"group": levels, "n": sizes, "observed": observed,
                          "expected": expected})
    p = float(_st.chi2.sf(chisq, df)) if df > 0 else 1.0
    return LogRankResult(frame, chisq, max(df, 0), p, var, by_stratum, note)
