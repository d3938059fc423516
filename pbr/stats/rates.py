"""Rate ratios of reoffences per offender: Poisson and negative binomial regression.

The ratio ``mean(y1) / mean(y0)`` is ``exp(b)`` in the log-linear model
``log E[y] = a + b·cohort + log(exposure)`` (statsmodels GLM / discrete models).  The
Peterborough SIB judged a relative reduction in reconviction events against a matched
group (methodology 3.3-3.4, where the test is [R]; the model-based ratio is one of the
estimators the note suggests [I]).

* ``poisson``: GLM Poisson; model-based standard errors unweighted (then
  ``se(log ratio) = sqrt(1/x1 + 1/x0)``), robust (HC0 sandwich, weights as variance
  weights so that a reused control counts ``w²``) when weighted or ``robust=True``.
* ``negbin``: negative binomial (NB2, ``Var = mu + alpha·mu²``).  Unweighted: maximum
  likelihood for ``a, b, alpha`` (:class:`statsmodels.discrete.discrete_model.NegativeBinomial`).
  Weighted: ``alpha`` by the weighted method of moments and a GLM with robust errors.

Against a fixed baseline rate ``r0`` the model has only an intercept and the offset
``log(r0·exposure)``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import statsmodels.api as sm

from pbr.errors import SmallSampleWarning, SpecError
from pbr.stats.interval import Interval, check_level, normal_interval

__all__ = ["rate_ratio"]


def _moment_alpha(y: np.ndarray, w: np.ndarray, group: np.ndarray) -> float:
    num = den = 0.0
    for g in (0, 1):
        k = group == g
        if not k.any():
            continue
        m = float(np.dot(w[k], y[k]) / w[k].sum())
        num += float(np.dot(w[k], (y[k] - m) ** 2 - y[k]))
        den += float(w[k].sum()) * m * m
    return max(num / den, 1e-8) if den > 0 else 1e-8


def rate_ratio(y1: np.ndarray, y0: np.ndarray | float, *, w1: np.ndarray | None = None,
               w0: np.ndarray | None = None, exposure1: np.ndarray | None = None,
               exposure0: np.ndarray | None = None, method: str = "poisson",
               robust: bool | None = None, level: float = 0.95,
               alternative: str = "two-sided") -> Interval:
    """Interval and Wald test for the ratio of mean counts, cohort over comparator.

    Parameters
    ----------
    y1, w1, exposure1
        The cohort's counts, weights and exposures (e.g. days at liberty; default 1).
    y0, w0, exposure0
        The comparator's, or a fixed baseline rate per unit exposure.
    method
        ``"poisson"`` or ``"negbin"``.
    robust
        Sandwich (HC0) standard errors; default True when weighted.
    level, alternative
        Confidence level and sidedness (``"less"``: is the cohort's rate lower?).

    Returns
    -------
    Interval
        ``estimate`` the ratio, limits on the ratio scale, ``se`` of the log ratio,
        ``null = 1``.

    Examples
    --------
    >>> iv = rate_ratio(np.array([0, 1, 2, 1, 0, 3]), np.array([2, 1, 3, 2, 0, 4, 2]))
    >>> round(iv.estimate, 4), round(iv.se, 4)
    (0.5833, 0.4629)

    No reoffences in the cohort: the log ratio is unbounded, and nothing is concluded.

    >>> with warnings.catch_warnings(record=True):
    ...     iv = rate_ratio(np.zeros(20), 0.43)
    >>> iv.note  # doctest: +ELLIPSIS
    'no rate ratio interval: the cohort had no reoffences, ...'
    """
    check_level(level, alternative)
    y1 = np.asarray(y1, np.float64)
    if np.any(y1 < 0) or np.any(y1 != np.floor(y1)):
        raise SpecError("rate ratios need whole counts >= 0 (reoffences); use "
                        "method='welch' or 'bootstrap' for severity")
    weighted = w1 is not None or w0 is not None
    robust = weighted if robust is None else robust
    e1 = np.ones_like(y1) if exposure1 is None else np.asarray(exposure1, np.float64)
    v1 = np.ones_like(y1) if w1 is None else np.asarray(w1, np.float64)
    if isinstance(y0, int | float):
        if not y0 > 0:
            raise SpecError(f"the baseline rate must be > 0, got {y0!r}")
        y, w, group = y1, v1, np.ones(y1.size, np.int8)
        X = np.ones((y1.size, 1))
        offset = np.log(e1 * float(y0))
    else:
        y0 = np.asarray(y0, np.float64)
        e0 = np.ones_like(y0) if exposure0 is None else np.asarray(exposure0, np.float64)
        v0 = np.ones_like(y0) if w0 is None else np.asarray(w0, np.float64)
        y = np.concatenate([y1, y0])
        w = np.concatenate([v1, v0])
        group = np.concatenate([np.ones(y1.size, np.int8), np.zeros(y0.size, np.int8)])
        X = np.column_stack([np.ones(y.size), group.astype(np.float64)])
        offset = np.log(np.concatenate([e1, e0]))
    keep = w > 0
    y, w, group, X, offset = y[keep], w[keep], group[keep], X[keep], offset[keep]
    empty = [who for who, g in (("the cohort", 1), ("the comparator", 0))
             if (group == g).any() and not float(np.dot(w[group == g], y[group == g])) > 0]
    if empty:
        est = 0.0 if "the cohort" in empty and len(empty) == 1 else math.nan
        if empty == ["the comparator"]:
            est = math.inf
        note = (f"no rate ratio interval: {' and '.join(empty)} had no reoffences, so the "
                "log ratio is unbounded")
        warnings.warn(note, SmallSampleWarning, stacklevel=2)
        return Interval(est, math.nan, math.nan, level, alternative, method, None, math.nan,
                        math.nan, 1.0, note=note)
    cov = "HC0" if robust else "nonrobust"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "poisson":
            fit = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset,
                         var_weights=w).fit(cov_type=cov)
            name = "poisson"
        elif method == "negbin" and not weighted and not robust:
            fit = sm.NegativeBinomial(y, X, offset=offset).fit(disp=0, maxiter=200)
            name = f"negative binomial (alpha {float(fit.params[-1]):.4g})"
        elif method == "negbin":
            alpha = _moment_alpha(y, w, group)
            fam = sm.families.NegativeBinomial(alpha=alpha)
            fit = sm.GLM(y, X, family=fam, offset=offset, var_weights=w).fit(cov_type=cov)
            name = f"negative binomial (moment alpha {alpha:.4g})"
        else:
            raise SpecError(f"method: must be 'poisson' or 'negbin', got {method!r}")
    j = X.shape[1] - 1
    b = float(np.asarray(fit.params)[j])
    se = float(np.asarray(fit.bse)[j])
    if robust:
        name += ", robust"
    iv = normal_interval(b, se, level, alternative, name)
    return Interval(math.exp(b), math.exp(iv.lower), math.exp(iv.upper), level, alternative,
                    name, se, iv.statistic, iv.p_value, 1.0)
