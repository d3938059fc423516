"""Difference between a cohort's reoffending rate and its comparator's.

The comparator is either a fixed rate (a baseline: ``n0=None``) or an observed group of
(effective) size ``n0``.  Estimates are ``p1 - p0`` (cohort minus comparator), so a
reduction in reoffending is negative.  Methods (docs/methodology/inference.md):

``normal``
    Wald interval ``d ± z·se`` with one of three variance forms:
    ``"cohort"`` ``p1(1-p1)/n1`` (comparator known; reproduces the Justice Data Lab's
    Blue Sky interval, [JDL-Reports]), ``"both"`` ``p1(1-p1)/n1 + p0(1-p0)/n0``
    (unpooled two-sample; Newcombe 1998 method 1), ``"null"`` the variance under the
    null: ``p0(1-p0)/n1`` for a fixed baseline (the CRC threshold form, [MoJ-PbR-Baselines-2011])
    or the pooled ``p(1-p)(1/n1 + 1/n0)`` for two groups.
``newcombe``
    Wilson score interval (Wilson 1927) for a fixed baseline; Newcombe's hybrid score
    interval (Newcombe 1998, method 10) for two groups.  P-value from the score test.
``exact``
    Clopper-Pearson (1934) interval and exact binomial test against a fixed baseline;
    for two groups, Fisher's exact conditional test and the square-and-add (MOVER)
    interval built from the two Clopper-Pearson intervals (conservative).

When the normal approximation is not valid
    ``method="normal"`` is only used where every proportion it treats as normal has at
    least :data:`MIN_EXPECTED` (5) expected events and non-events, ``n·p >= 5`` and
    ``n·(1-p) >= 5`` (the rule of thumb whose failures Brown, Cai and DasGupta 2001,
    *Statistical Science* 16(2):101-133, document; Cochran 1954 for the expected
    counts of a two-sample test).  Elsewhere (a group of 1, 2 or 20, everyone or nobody
    reoffending) the Wald interval is too narrow or has zero width, and
    ``small_sample="switch"`` (the default) uses the exact method instead when the counts
    are whole, the score method (Wilson / Newcombe) when they are weighted; the
    :class:`~pbr.stats.interval.Interval`'s ``method`` names the method used, its
    ``note`` says why, and a :class:`~pbr.errors.SmallSampleWarning` is issued.
    ``small_sample="error"`` raises instead.  A fixed baseline rate of exactly 0 or 1
    has no sampling variation to test against and is refused.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

from scipy import stats as _st

from pbr.errors import SmallSampleWarning, SpecError
from pbr.stats.interval import Interval, check_level, normal_interval, p_from_z, z_value

__all__ = ["MIN_EXPECTED", "binomial_thresholds", "clopper_pearson", "diff_proportions",
           "normal_approximation_problem", "wilson"]

#: Fewest expected events (and non-events) for the normal approximation of a proportion
#: (``n·p >= 5`` and ``n·(1-p) >= 5``; Brown, Cai and DasGupta 2001, Cochran 1954).
MIN_EXPECTED = 5.0
SMALL_SAMPLE = ("switch", "error")


def _check(p: float, n: float, name: str) -> None:
    if not (isinstance(n, int | float) and n > 0 and math.isfinite(n)):
        raise SpecError(f"{name}: the group size must be a positive number, got {n!r}")
    if not 0.0 <= p <= 1.0:
        raise SpecError(f"the rate of {name} must be a proportion in [0, 1] (e.g. 0.43 for "
                        f"43%), got {p!r}")


def normal_approximation_problem(p: float, n: float, who: str = "the cohort") -> str | None:
    """Why the normal approximation of a proportion ``p`` on ``n`` is not valid, or None.

    The rule: both ``n·p`` and ``n·(1-p)`` must be at least :data:`MIN_EXPECTED` (5)
    (Brown, Cai and DasGupta 2001, *Statistical Science* 16(2):101-133, on the Wald
    interval's failures; Cochran 1954 for expected counts).  ``p`` is a proportion, not a
    percentage; ``n`` may be an effective (weighted) size.  Use it before a Wald
    interval or a normal-approximation threshold such as ``p -+ z sqrt(p(1-p)/n)``.

    Examples
    --------
    >>> normal_approximation_problem(0.31, 72) is None
    True
    >>> print(normal_approximation_problem(0.0, 20))
    the cohort: n = 20 with rate 0 gives n·p = 0 expected events, below 5
    >>> print(normal_approximation_problem(0.43, 2))
    the cohort: n = 2 with rate 0.43 gives n·p = 0.86 expected events, below 5
    """
    events, non_events = n * p, n * (1.0 - p)
    if events < MIN_EXPECTED:
        return (f"{who}: n = {n:,.4g} with rate {p:.4g} gives n·p = {events:.4g} expected "
                f"events, below {MIN_EXPECTED:g}")
    if non_events < MIN_EXPECTED:
        return (f"{who}: n = {n:,.4g} with rate {p:.4g} gives n·(1-p) = {non_events:.4g} "
                f"expected non-events, below {MIN_EXPECTED:g}")
    return None


def binomial_thresholds(p0: float, n: int, *, level: float = 0.95,
                        alternative: str = "two-sided") -> tuple[float | None, float | None]:
    """Exact binomial thresholds around a baseline rate ``p0`` for a cohort of ``n``.

    The exact counterpart of ``p0 -+ z sqrt(p0(1-p0)/n)`` where the normal
    approximation is not valid (:func:`normal_approximation_problem`): a cohort rate
    strictly below ``lower`` is a significant reduction (``P(X <= x | n, p0)`` at most
    the tail), strictly above ``upper`` a significant increase (``P(X >= x)`` at most the
    tail), with the tail ``(1 - level) / 2`` two-sided, ``1 - level`` one-sided
    (``"less"`` gives ``lower`` only, ``"greater"`` ``upper`` only).  Both are counts
    over ``n`` (proportions); compare with a tolerance below ``1 / n``.

    Examples
    --------
    10 people at a 30% baseline: P(X >= 7) = 0.0106 <= 0.025 < P(X >= 6) = 0.0473, and
    P(X = 0) = 0.0282 > 0.025, so 7 of 10 is a significant increase and no count is a
    significant reduction.

    >>> binomial_thresholds(0.3, 10)
    (0.0, 0.6)
    """
    check_level(level, alternative)
    if not (isinstance(n, int) and n >= 1):
        raise SpecError(f"n: a whole number of offenders >= 1, got {n!r}")
    if not 0.0 < p0 < 1.0:
        raise SpecError(f"p0: a baseline proportion strictly between 0 and 1, got {p0!r}")
    tail = (1.0 - level) / 2.0 if alternative == "two-sided" else 1.0 - level
    lower = upper = None
    if alternative in ("two-sided", "less"):
        k = int(_st.binom.ppf(tail, n, p0))     # then: smallest k with P(X <= k) > tail
        while k > 0 and _st.binom.cdf(k - 1, n, p0) > tail:
            k -= 1
        while _st.binom.cdf(k, n, p0) <= tail:
            k += 1
        lower = k / n                           # x < k  <=>  P(X <= x) <= tail
    if alternative in ("two-sided", "greater"):
        k = int(_st.binom.isf(tail, n, p0)) + 1  # then: smallest k with P(X >= k) <= tail
        while k > 0 and _st.binom.sf(k - 2, n, p0) <= tail:
            k -= 1
        while k <= n and _st.binom.sf(k - 1, n, p0) > tail:
            k += 1
        upper = (k - 1) / n                     # x > k - 1  <=>  P(X >= x) <= tail
    return lower, upper


def _whole(p: float, n: float) -> bool:
    return abs(n - round(n)) <= 1e-9 and abs(p * n - round(p * n)) <= 1e-6


def wilson(p: float, n: float, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion (Wilson, 1927), two-sided at ``level``.

    Examples
    --------
    >>> lo, hi = wilson(0.31, 72)
    >>> round(lo, 4), round(hi, 4)
    (0.2151, 0.4242)
    """
    z = z_value(level)
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def clopper_pearson(x: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson (1934) exact interval for ``x`` successes in ``n``, two-sided.

    Examples
    --------
    >>> lo, hi = clopper_pearson(22, 72)
    >>> round(lo, 4), round(hi, 4)
    (0.2024, 0.4253)
    """
    a = (1.0 - level) / 2.0
    lo = 0.0 if x == 0 else float(_st.beta.ppf(a, x, n - x + 1))
    hi = 1.0 if x == n else float(_st.beta.ppf(1.0 - a, x + 1, n - x))
    return lo, hi


def _two_sided_level(level: float, alternative: str) -> float:
    """Two-sided level whose one tail is the one-sided interval's tail."""
    return level if alternative == "two-sided" else 2.0 * level - 1.0


def _open(lo: float, hi: float, alternative: str) -> tuple[float, float]:
    if alternative == "less":
        return -math.inf, hi
    if alternative == "greater":
        return lo, math.inf
    return lo, hi


def _count(p: float, n: float, name: str) -> int:
    x = p * n
    if abs(n - round(n)) > 1e-9 or abs(x - round(x)) > 1e-6:
        raise SpecError(f"method='exact' needs whole counts; {name} has n={n}, rate={p} "
                        "(weighted groups: use method='newcombe' or 'normal')")
    return round(x)


def diff_proportions(p1: float, n1: float, p0: float, n0: float | None = None, *,
                     method: str = "normal", variance: str | None = None,
                     level: float = 0.95, alternative: str = "two-sided",
                     small_sample: str = "switch") -> Interval:
    """Interval and test for ``p1 - p0``: a cohort's rate against its comparator's.

    Parameters
    ----------
    p1, n1
        The cohort's rate (a proportion) and size.
    p0, n0
        The comparator's rate and (effective) size; ``n0=None`` for a fixed baseline.
    method
        ``"normal"``, ``"newcombe"`` or ``"exact"`` (see the module docstring).
    variance
        For ``method="normal"``: ``"cohort"``, ``"both"`` or ``"null"``.  Default
        ``"both"`` with ``n0``, ``"cohort"`` without.
    level, alternative
        Confidence level and sidedness (``"less"``: is the cohort's rate lower?).
    small_sample
        What ``method="normal"`` does where the normal approximation is not valid
        (:func:`normal_approximation_problem`): ``"switch"`` (default) to the exact
        method (whole counts) or the score method (weighted sizes), with the reason in
        the result's ``note``; ``"error"`` raises :class:`~pbr.errors.SpecError`.

    Returns
    -------
    Interval
        ``estimate = p1 - p0`` on the proportion scale.

    Raises
    ------
    SpecError
        A rate outside [0, 1] (a percentage given for a proportion), a fixed baseline
        rate of exactly 0 or 1, a size that is not positive, an unknown option.

    Notes
    -----
    The Justice Data Lab's Blue Sky report (treatment 72 people at 31%, comparison 43%,
    "between 1 and 23 percentage points"; [JDL-Reports]) is reproduced by
    ``variance="cohort"``: (1.3, 22.7) points.  Sources: Newcombe (1998) *Stat Med*
    17:873-890; Wilson (1927) *JASA* 22:209-212; Clopper and Pearson (1934)
    *Biometrika* 26:404-413; Fisher's exact test as in :func:`scipy.stats.fisher_exact`.

    Examples
    --------
    >>> iv = diff_proportions(0.31, 72, 0.43, variance="cohort")
    >>> round(-100 * iv.upper), round(-100 * iv.lower)
    (1, 23)

    Nobody of 20 reoffended: the Wald interval would have zero width; the exact one is
    used, and says so.

    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     iv = diff_proportions(0.0, 20, 0.43)
    >>> iv.method, round(iv.upper + 0.43, 4)
    ('exact (clopper-pearson)', 0.1684)
    """
    check_level(level, alternative)
    if small_sample not in SMALL_SAMPLE:
        raise SpecError(f"small_sample: 'switch' or 'error', got {small_sample!r}")
    _check(p1, n1, "the cohort")
    if n0 is not None:
        _check(p0, n0, "the comparator")
    elif not (isinstance(p0, int | float) and 0.0 <= p0 <= 1.0):
        raise SpecError(f"the baseline rate must be a proportion in [0, 1] (e.g. 0.43 for "
                        f"43%), got {p0!r}")
    elif p0 in (0.0, 1.0):
        raise SpecError(f"the baseline rate is {p0!r}: a fixed baseline where "
                        f"{'nobody' if p0 == 0 else 'everyone'} reoffended leaves nothing to "
                        "test against (any difference would be 'certain'); check the value, "
                        "or give the baseline as an observed group (value, n)")
    d = p1 - p0
    if method == "normal":
        form = variance or ("both" if n0 is not None else "cohort")
        problem = _normal_problem(form, p1, n1, p0, n0)
        if problem is not None:
            if small_sample == "error":
                raise SpecError(f"method='normal': the normal approximation is not valid "
                                f"({problem}); use method='exact' or 'newcombe'")
            whole = _whole(p1, n1) and (n0 is None or _whole(p0, n0))
            alt = "exact" if whole else "newcombe"
            iv = diff_proportions(p1, n1, p0, n0, method=alt, level=level,
                                  alternative=alternative)
            note = (f"normal approximation not valid ({problem}; Brown, Cai and DasGupta "
                    f"2001): {iv.method} used instead")
            warnings.warn(note, SmallSampleWarning, stacklevel=2)
            return dataclasses.replace(iv, note=note)
        if form == "cohort":
            se = math.sqrt(p1 * (1 - p1) / n1)
        elif form == "both":
            if n0 is None:
                raise SpecError("variance='both' needs the comparator's size n0; a fixed "
                                "baseline has no sampling variance (use 'cohort' or 'null')")
            se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
        elif form == "null":
            if n0 is None:
                se = math.sqrt(p0 * (1 - p0) / n1)
            else:
                pool = (p1 * n1 + p0 * n0) / (n1 + n0)
                se = math.sqrt(pool * (1 - pool) * (1 / n1 + 1 / n0))
        else:
            raise SpecError(f"variance: must be 'cohort', 'both' or 'null', got {variance!r}")
        return normal_interval(d, se, level, alternative, f"normal ({form} variance)")
    if variance is not None:
        raise SpecError(f"variance: only method='normal' takes a variance form, not "
                        f"method={method!r}")
    lvl = _two_sided_level(level, alternative)
    if method == "newcombe":
        l1, u1 = wilson(p1, n1, lvl)
        if n0 is None:
            lo, hi = l1 - p0, u1 - p0
            se_null = math.sqrt(p0 * (1 - p0) / n1)
            name = "wilson score"
        else:
            l0, u0 = wilson(p0, n0, lvl)
            lo = d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
            hi = d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
            pool = (p1 * n1 + p0 * n0) / (n1 + n0)
            se_null = math.sqrt(pool * (1 - pool) * (1 / n1 + 1 / n0))
            name = "newcombe hybrid score"
        z = d / se_null if se_null > 0 else (0.0 if d == 0 else math.copysign(math.inf, d))
        lo, hi = _open(lo, hi, alternative)
        return Interval(d, lo, hi, level, alternative, name, se_null, z,
                        p_from_z(z, alternative))
    if method == "exact":
        x1 = _count(p1, n1, "the cohort")
        c1 = clopper_pearson(x1, round(n1), lvl)
        if n0 is None:
            lo, hi = c1[0] - p0, c1[1] - p0
            p = float(_st.binomtest(x1, round(n1), p0, alternative=alternative).pvalue)
            name = "exact (clopper-pearson)"
        else:
            x0 = _count(p0, n0, "the comparator")
            m1, m0 = round(n1), round(n0)
            c0 = clopper_pearson(x0, m0, lvl)
            lo = d - math.sqrt((p1 - c1[0]) ** 2 + (c0[1] - p0) ** 2)
            hi = d + math.sqrt((c1[1] - p1) ** 2 + (p0 - c0[0]) ** 2)
            table = [[x1, m1 - x1], [x0, m0 - x0]]
            p = float(_st.fisher_exact(table, alternative=alternative).pvalue)
            name = "exact (fisher; clopper-pearson mover)"
        lo, hi = _open(lo, hi, alternative)
        return Interval(d, lo, hi, level, alternative, name, None, None, min(1.0, p))
    raise SpecError(f"method: must be 'normal', 'newcombe' or 'exact', got {method!r}")


def _normal_problem(form: str, p1: float, n1: float, p0: float, n0: float | None
                    ) -> str | None:
    """The first proportion the chosen normal form treats as normal that is not."""
    if form == "cohort":
        return normal_approximation_problem(p1, n1)
    if form == "both":
        return normal_approximation_problem(p1, n1) or (
            None if n0 is None else normal_approximation_problem(p0, n0, "the comparator"))
    if form == "null":
        if n0 is None:
            return normal_approximation_problem(p0, n1, "the cohort under the baseline rate")
        pool = (p1 * n1 + p0 * n0) / (n1 + n0)
        return normal_approximation_problem(pool, n1, "the cohort under the pooled rate") \
            or normal_approximation_problem(pool, n0, "the comparator under the pooled rate")
    return None
