"""Disparity ratios between a group and the reference group, with intervals.

* Proportions (``binary_rate``): the risk ratio ``(a / n1) / (c / n0)`` with the Katz
  log interval ``exp(log RR +- z sqrt(1/a - 1/n1 + 1/c - 1/n0))`` ([Katz-1978]); when a
  count is 0 (the ratio or its logarithm undefined) 0.5 is added to each count and to
  the non-events (Haldane's correction; [Agresti-CDA-2013] 3.1), noted.
* Means per offender (``per_offender``): the ratio of means with the delta-method
  interval on the log scale, ``se^2 = s1^2 / (n1 m1^2) + s0^2 / (n0 m0^2)``, which uses
  the groups' own variances and so allows for over-dispersed counts of reoffences
  ([Agresti-CDA-2013] 3.1.5) **[I]**.
* Differences of two independent estimates (effects per group): ``(e1 - e0) /
  sqrt(se1^2 + se0^2)`` (a Wald test of heterogeneity).

Tests are two-sided Wald tests on the log scale; the p-values of a table are adjusted
together by Holm's step-down method by default ([Holm-1979]; ``"bh"``: [BH-1995]).
"""

from __future__ import annotations

import math
from typing import NamedTuple

from scipy import stats as _st

__all__ = ["Ratio", "difference", "mean_ratio", "risk_ratio"]


class Ratio(NamedTuple):
    """An estimate with its interval and two-sided p-value (``note`` when corrected)."""

    estimate: float
    lower: float
    upper: float
    se: float
    p_value: float
    note: str | None = None


def _p(z: float) -> float:
    return float(2.0 * _st.norm.sf(abs(z))) if math.isfinite(z) else math.nan


def risk_ratio(a: int, n1: int, c: int, n0: int, z: float) -> Ratio:
    """Risk ratio of group 1 (``a`` events of ``n1``) to group 0, Katz log interval.

    Examples
    --------
    Hand-worked: 30 of 100 against 20 of 100, RR 1.5, se = sqrt(1/30 - 1/100 + 1/20 -
    1/100) = 0.2517, interval exp(log 1.5 +- 1.96 x 0.2517) = [0.916, 2.456].

    >>> r = risk_ratio(30, 100, 20, 100, 1.959964)
    >>> round(r.estimate, 3), round(r.lower, 3), round(r.upper, 3), round(r.se, 4)
    (1.5, 0.916, 2.456, 0.2517)
    """
    note = None
    fa, fn1, fc, fn0 = float(a), float(n1), float(c), float(n0)
    if n1 <= 0 or n0 <= 0:
        return Ratio(math.nan, math.nan, math.nan, math.nan, math.nan, "empty group")
    if a == 0 or c == 0 or a == n1 or c == n0:
        fa, fc, fn1, fn0 = fa + 0.5, fc + 0.5, fn1 + 1.0, fn0 + 1.0
        note = "0.5 added to each count (a count of 0 or all)"
    rr = (fa / fn1) / (fc / fn0)
    se = math.sqrt(1 / fa - 1 / fn1 + 1 / fc - 1 / fn0)
    log = math.log(rr)
    return Ratio(rr, math.exp(log - z * se), math.exp(log + z * se), se, _p(log / se), note)


def mean_ratio(m1: float, s1: float, n1: int, m0: float, s0: float, n0: int,
               z: float) -> Ratio:
    """Ratio of two means per offender, delta-method interval on the log scale.

    ``s1``, ``s0`` are the groups' standard deviations.

    Examples
    --------
    >>> r = mean_ratio(1.2, 1.5, 100, 0.8, 1.0, 200, 1.959964)
    >>> round(r.estimate, 3), round(r.se, 4)
    (1.5, 0.1531)
    """
    if n1 < 2 or n0 < 2 or m1 <= 0 or m0 <= 0:
        return Ratio(m1 / m0 if m0 > 0 else math.nan, math.nan, math.nan, math.nan,
                     math.nan, "no interval: a mean of 0 or a group under 2")
    se = math.sqrt(s1 ** 2 / (n1 * m1 ** 2) + s0 ** 2 / (n0 * m0 ** 2))
    log = math.log(m1 / m0)
    if se == 0:
        return Ratio(m1 / m0, m1 / m0, m1 / m0, 0.0, math.nan, "no variation")
    return Ratio(m1 / m0, math.exp(log - z * se), math.exp(log + z * se), se, _p(log / se))


def difference(e1: float, se1: float, e0: float, se0: float, z: float) -> Ratio:
    """Difference of two independent estimates, with its Wald interval and test.

    Examples
    --------
    >>> r = difference(-0.05, 0.03, -0.01, 0.04, 1.959964)
    >>> round(r.estimate, 2), round(r.se, 2), round(r.p_value, 4)
    (-0.04, 0.05, 0.4237)
    """
    if not all(math.isfinite(x) for x in (e1, se1, e0, se0)):
        return Ratio(e1 - e0, math.nan, math.nan, math.nan, math.nan, "no standard error")
    se = math.sqrt(se1 ** 2 + se0 ** 2)
    d = e1 - e0
    if se == 0:
        return Ratio(d, d, d, 0.0, math.nan, "no variation")
    return Ratio(d, d - z * se, d + z * se, se, _p(d / se))
