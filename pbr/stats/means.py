"""Difference in mean reoffences (or severity) per offender: Welch's t, weights allowed.

For a group with values ``y`` and weights ``w`` (matching weights; all ones when
unweighted) the mean is ``m = Σwy / Σw`` and its variance the weighted-mean sandwich
with the HC1 small-sample factor, ``V = n/(n-1) · Σw²(y-m)² / (Σw)²`` (``n`` the number
of offenders with positive weight).  Unweighted, ``V = s²/n``, Welch's (1947) form.
Degrees of freedom: Welch-Satterthwaite, each group contributing ``V²/(n_eff - 1)``
with Kish's effective size ``n_eff = (Σw)²/Σw²``.  Against a fixed baseline value the
test is the one-sample t on the cohort.  Where the variance is zero or undefined (one
offender in a group, or every offender with the same count, e.g. nobody reoffended) the
t interval would have zero width or none: the result then has NaN limits and p-value and
a ``note`` saying why, and :func:`pbr.compare` draws no conclusion from it (pbr rule,
docs/methodology/inference.md, "What pbr refuses and why").  Source: docs/methodology/inference.md,
"Frequency and severity"; [Cave-2012] and [MoJ-JDL-2013] (JDL: unequal-variance two-sample
test [R]).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats as _st

from pbr.errors import SmallSampleWarning, SpecError
from pbr.stats.interval import Interval, check_level

__all__ = ["GroupMean", "diff_means", "group_mean"]


@dataclass(frozen=True)
class GroupMean:
    """Weighted mean of one group with its sandwich variance and effective size."""

    mean: float
    var: float
    n: int
    n_eff: float


def group_mean(y: np.ndarray, w: np.ndarray | None = None) -> GroupMean:
    """Weighted mean, its HC1 sandwich variance and Kish's effective size.

    Examples
    --------
    >>> g = group_mean(np.array([0.0, 1.0, 2.0, 5.0]))
    >>> g.mean, round(g.var, 6), g.n_eff
    (2.0, 1.166667, 4.0)
    """
    y = np.asarray(y, np.float64)
    w = np.ones_like(y) if w is None else np.asarray(w, np.float64)
    if y.shape != w.shape:
        raise SpecError(f"weights: {w.size} weights for {y.size} offenders")
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise SpecError("weights: must be finite and >= 0")
    keep = w > 0
    y, w = y[keep], w[keep]
    n = int(y.size)
    if n == 0:
        raise SpecError("a group has no offenders with positive weight")
    sw = float(w.sum())
    m = float(np.dot(w, y) / sw)
    n_eff = sw * sw / float(np.dot(w, w))
    var = (n / (n - 1) * float(np.dot(w * w, (y - m) ** 2)) / (sw * sw)) if n > 1 else math.nan
    return GroupMean(m, var, n, n_eff)


def diff_means(y1: np.ndarray, y0: np.ndarray | float, *, w1: np.ndarray | None = None,
               w0: np.ndarray | None = None, level: float = 0.95,
               alternative: str = "two-sided") -> Interval:
    """Welch interval and t-test for ``mean(y1) - mean(y0)``.

    Parameters
    ----------
    y1, w1
        Per-offender values of the cohort (reoffences or severity) and weights.
    y0, w0
        The comparator's per-offender values and weights, or a fixed baseline value
        (then the one-sample t-test on the cohort).
    level, alternative
        Confidence level and sidedness.

    Examples
    --------
    >>> y1 = np.array([0, 1, 3, 0, 2, 1]); y0 = np.array([1, 2, 4, 3, 2, 0, 5])
    >>> iv = diff_means(y1, y0)
    >>> round(iv.estimate, 4), round(iv.p_value, 4)
    (-1.2619, 0.1469)

    Nobody reoffended: no variance, no interval.

    >>> with warnings.catch_warnings(record=True):
    ...     iv = diff_means(np.zeros(20), 0.43)
    >>> iv.note
    'no t interval: every offender has the same value, so the variance is zero'
    """
    check_level(level, alternative)
    g1 = group_mean(np.asarray(y1), w1)
    if isinstance(y0, int | float):
        est, var, df = g1.mean - float(y0), g1.var, g1.n_eff - 1.0
        name = "one-sample t"
    else:
        g0 = group_mean(np.asarray(y0), w0)
        est, var = g1.mean - g0.mean, g1.var + g0.var
        den = g1.var ** 2 / max(g1.n_eff - 1.0, 1e-12) + g0.var ** 2 / max(g0.n_eff - 1.0,
                                                                             1e-12)
        df = var * var / den if den > 0 else math.inf
        name = "welch t" if w1 is None and w0 is None else "welch t (weighted)"
    se = math.sqrt(var) if var == var else math.nan
    if not se > 0:
        why = ("a group has a single offender, so no variance" if math.isnan(se) else
               "every offender has the same value, so the variance is zero")
        warnings.warn(f"no t interval: {why}", SmallSampleWarning, stacklevel=2)
        return Interval(est, math.nan, math.nan, level, alternative, name, se, math.nan,
                        math.nan, note=f"no t interval: {why}")
    tail = (1.0 - level) / 2.0 if alternative == "two-sided" else 1.0 - level
    q = float(_st.t.isf(tail, df)) if df > 0 else math.nan
    lo = est - q * se if alternative != "less" else -math.inf
    hi = est + q * se if alternative != "greater" else math.inf
    if se > 0:
        t = est / se
        if alternative == "two-sided":
            p = float(2 * _st.t.sf(abs(t), df))
        elif alternative == "less":
            p = float(_st.t.cdf(t, df))
        else:
            p = float(_st.t.sf(t, df))
    else:
        t, p = math.nan, math.nan
    return Interval(est, lo, hi, level, alternative, name, se, t, p)
