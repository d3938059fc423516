"""Significance thresholds and the case-mix adjusted baseline: the arithmetic that
contracts (exact decimals, rates in per cent) and analyses (floats, proportions) share.

One function for each rule, called by both sides:

* :func:`adjust_baseline`: the rate expected of the current cohort with the baseline's
  behaviour, ``E = B + P - P_base`` (additive) or ``E = B x P / P_base`` (ratio), ``B``
  the baseline rate, ``P`` the current cohort's mean prediction and ``P_base`` the
  baseline cohort's ([MoJ-Definitions-2011] [I]; with a model calibrated on the baseline,
  ``P_base = B``, the published ``E = P``).  :func:`adjust_rate` is its counterpart on
  the cohort's side: ``A - P + P_base`` and ``A x P_base / P``.
* :func:`baseline_thresholds`: the CRC thresholds around a (case-mix adjusted) baseline
  proportion ``E`` for a cohort of ``n``, ``E -/+ z sqrt(E(1-E)/n)`` ([MoJ-PbR-Baselines-2011]:
  the form [R]; the CRC's level is not published [V2]), switching to the exact binomial
  thresholds where the normal approximation is not valid (``n·E < 5`` or
  ``n·(1-E) < 5``; :func:`pbr.stats.normal_approximation_problem`; Brown, Cai and
  DasGupta 2001).  :func:`pbr.compare.adjusted.compare_to_baseline` calls it with floats,
  :func:`significance_thresholds` (the contract step) with Decimals.
* :func:`significance_thresholds` and :func:`significance_interval`: those thresholds for
  a contract, in per cent and exact decimals rounded half-even to :data:`PLACES` places,
  with the contract's refusals (:class:`~pbr.errors.ContractError`).
* :func:`group_thresholds`: a contract's thresholds against a comparison group, from
  :func:`pbr.compare`'s interval of the difference.

Sources: docs/methodology/baselines.md (the adjusted baseline and its thresholds),
inference.md (the small-sample switch) and payments.md (the contract's thresholds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from statistics import NormalDist
from typing import Any, Generic, TypeVar, overload

import numpy as np
from numpy.typing import NDArray

from pbr.errors import ContractError, SpecError
from pbr.stats.interval import ALTERNATIVES, z_value
from pbr.stats.proportions import binomial_thresholds, normal_approximation_problem

__all__ = ["FORMS", "PLACES", "BaselineThresholds", "adjust_baseline", "adjust_rate",
           "baseline_thresholds", "interval_thresholds", "level_of_z",
           "significance_interval",
           "significance_thresholds"]

#: decimal places of a contract's measured values, comparators and thresholds
PLACES = 6
_Q = Decimal(1).scaleb(-PLACES)
#: the forms of a case-mix adjustment
FORMS = ("additive", "ratio")

Number = TypeVar("Number", float, Decimal)


def _form(form: str) -> None:
    if form not in FORMS:
        raise SpecError(f"form: 'additive' or 'ratio', got {form!r}")


def _same_type(**values: Any) -> None:
    kinds = {type(v) is Decimal for v in values.values()}
    if len(kinds) > 1:
        raise SpecError(f"{', '.join(values)}: give all Decimals (a contract's exact values) "
                        f"or all floats, not a mix: got "
                        + ", ".join(f"{k}={v!r}" for k, v in values.items()))


@overload
def adjust_baseline(base: Decimal, predicted: Decimal, predicted_baseline: Decimal,
                    form: str = ...) -> Decimal: ...
@overload
def adjust_baseline(base: float, predicted: float, predicted_baseline: float,
                    form: str = ...) -> float: ...
@overload
def adjust_baseline(base: float, predicted: NDArray[np.float64], predicted_baseline: float,
                    form: str = ...) -> NDArray[np.float64]: ...
def adjust_baseline(base: Any, predicted: Any, predicted_baseline: Any,
                    form: str = "additive") -> Any:
    """The case-mix adjusted baseline ``E``: the rate expected of the current cohort.

    ``E = B + P - P_base`` (``form="additive"``) or ``E = B x P / P_base`` (``"ratio"``),
    with ``B`` the baseline rate (``base``), ``P`` the current cohort's mean prediction
    (``predicted``) and ``P_base`` the baseline cohort's (``predicted_baseline``), all in
    one unit (proportions in an analysis, per cent in a contract).  [MoJ-Definitions-2011] [I]
    (docs/methodology/baselines.md).  Floats or Decimals (all the same); the result has
    their type.  ``predicted`` may also be a float array of each offender's prediction:
    the result is then each offender's expected value, whose mean is ``E`` (both forms
    are linear in ``P``).

    Raises
    ------
    SpecError
        An unknown ``form``; a ratio with ``predicted_baseline`` not above 0; a mix of
        Decimals and floats.

    Examples
    --------
    >>> adjust_baseline(0.42, 0.45, 0.42)
    0.45
    >>> round(adjust_baseline(0.30, 0.33, 0.29, "ratio"), 6)
    0.341379
    >>> from decimal import Decimal
    >>> adjust_baseline(Decimal("30.0"), Decimal("31.5"), Decimal("29.0"))
    Decimal('32.5')
    >>> import numpy as np
    >>> adjust_baseline(0.30, np.array([0.2, 0.4]), 0.25, "ratio").round(6).tolist()
    [0.24, 0.48]
    """
    _form(form)
    _same_type(base=base, predicted=predicted, predicted_baseline=predicted_baseline)
    if form == "additive":
        return base + predicted - predicted_baseline
    if not predicted_baseline > 0:
        raise SpecError(f"predicted_baseline: the ratio form divides by the baseline "
                        f"cohort's mean prediction, got {predicted_baseline!r}; use "
                        "form='additive', or check the predictions")
    return base * predicted / predicted_baseline


def adjust_rate(actual: Number, predicted: Number, predicted_baseline: Number,
                form: str = "additive") -> Number:
    """The cohort's case-mix adjusted rate: ``A - P + P_base`` or ``A x P_base / P``.

    The cohort's side of :func:`adjust_baseline` ([MoJ-Definitions-2011] [I]): ``A - P + P_base``
    minus the baseline ``B`` equals ``A - E``.  A ratio with ``P`` of 0 gives NaN (floats)
    or raises SpecError (Decimals).

    Examples
    --------
    >>> round(adjust_rate(0.40, 0.45, 0.42), 6), round(adjust_rate(0.40, 0.45, 0.42, "ratio"), 6)
    (0.37, 0.373333)
    """
    _form(form)
    _same_type(actual=actual, predicted=predicted, predicted_baseline=predicted_baseline)
    if form == "additive":
        return actual - predicted + predicted_baseline
    if not predicted > 0:
        if isinstance(predicted, float):
            return math.nan
        raise SpecError(f"predicted: the ratio form divides by the cohort's mean prediction, "
                        f"got {predicted!r}; use form='additive'")
    return actual * predicted_baseline / predicted


@dataclass(frozen=True)
class BaselineThresholds(Generic[Number]):
    """Thresholds around a baseline proportion for a cohort (:func:`baseline_thresholds`).

    Attributes
    ----------
    lower, upper
        A cohort proportion strictly below ``lower`` is a significant reduction, strictly
        above ``upper`` a significant increase; None for the side a one-sided test drops.
    method
        ``"normal"`` (``E -/+ z sqrt(E(1-E)/n)``) or ``"exact binomial"``.
    half
        The normal form's half-width ``z sqrt(E(1-E)/n)`` (None for the exact one).
    count_lower, count_upper
        The exact form's counts: fewer than ``count_lower`` reoffenders of ``n`` is a
        significant reduction, more than ``count_upper`` an increase (None for normal).
    problem
        Why the normal approximation is not valid (None where it is).
    level, alternative, z
        The confidence level, the sides and the normal multiplier used.
    """

    lower: Number | None
    upper: Number | None
    method: str
    half: Number | None
    count_lower: int | None
    count_upper: int | None
    problem: str | None
    level: float
    alternative: str
    z: Number


def baseline_thresholds(p: Number, n: int, *, level: float = 0.95,
                        alternative: str = "two-sided", z: Number | None = None
                        ) -> BaselineThresholds[Number]:
    """The CRC significance thresholds around a baseline proportion ``p`` for ``n`` people.

    Where the normal approximation is valid for ``p`` on ``n``
    (:func:`pbr.stats.normal_approximation_problem`: ``n·p`` and ``n·(1-p)`` both at
    least 5), ``p -/+ z sqrt(p(1-p)/n)`` ([MoJ-PbR-Baselines-2011]: the form [R]; the CRC level is
    not published [V2]).  Elsewhere the exact binomial thresholds
    (:func:`pbr.stats.binomial_thresholds`; Brown, Cai and DasGupta 2001,
    *Statistical Science* 16(2):101-133): ``k/n`` for the smallest count ``k`` with
    ``P(X <= k | n, p)`` above the tail, and likewise above.  ``"less"`` keeps only
    ``lower``, ``"greater"`` only ``upper``.

    Parameters
    ----------
    p
        The (case-mix adjusted) baseline as a proportion (0 to 1): a float, or a Decimal
        for a contract's exact arithmetic (the result is then in Decimals, computed in
        the current decimal context).
    n
        The cohort's size, a whole number >= 1.
    level, alternative
        Confidence level (0.95) and sides (``"two-sided"``, ``"less"``, ``"greater"``);
        the exact thresholds' tail is ``(1 - level) / 2`` two-sided, ``1 - level`` one.
    z
        The normal multiplier; default the one of ``level`` and ``alternative``
        (1.959964 for 0.95 two-sided).  A contract gives its ``significance_z`` (and the
        level it implies, :func:`level_of_z`).

    Raises
    ------
    SpecError
        ``n`` not a whole number >= 1; ``p`` outside 0 to 1; ``p`` of 0 or 1 where the
        exact thresholds are needed (nothing to test against); a level not in [0.5, 1)
        or an unknown ``alternative``.

    Examples
    --------
    >>> t = baseline_thresholds(0.45, 1000)
    >>> t.method, round(t.lower, 6), round(t.upper, 6)
    ('normal', 0.419166, 0.480834)

    10 people at a 30% baseline: 3 expected reoffenders, so the exact thresholds: no count
    is a significant reduction, 7 of 10 or more an increase.

    >>> t = baseline_thresholds(0.3, 10)
    >>> t.method, t.lower, t.upper, t.count_lower, t.count_upper
    ('exact binomial', 0.0, 0.6, 0, 6)
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise SpecError(f"n: thresholds need a cohort of at least 1 (a whole number), got "
                        f"{n!r}")
    if alternative not in ALTERNATIVES:
        raise SpecError(f"alternative: one of {', '.join(ALTERNATIVES)}, got {alternative!r}")
    if isinstance(level, bool) or not isinstance(level, int | float) \
            or not 0.5 <= level <= 1.0:
        raise SpecError(f"level: a confidence level in [0.5, 1), e.g. 0.95; got {level!r}")
    decimal = isinstance(p, Decimal)
    if not (isinstance(p, Decimal | float | int) and not isinstance(p, bool) and 0 <= p <= 1):
        raise SpecError(f"p: the baseline as a proportion from 0 to 1 (0.475 for 47.5%), got "
                        f"{p!r}")
    if z is None:
        zf = z_value(level, alternative)
        z = Decimal(repr(zf)) if decimal else zf   # type: ignore[assignment]
    assert z is not None
    _same_type(p=p, z=z)
    problem = normal_approximation_problem(float(p), n)
    two = alternative == "two-sided"
    if problem is None:
        var = p * (1 - p) / n
        half = z * (var.sqrt() if isinstance(var, Decimal) else math.sqrt(var))
        return BaselineThresholds(
            p - half if two or alternative == "less" else None,
            p + half if two or alternative == "greater" else None,
            "normal", half, None, None, None, float(level), alternative, z)
    if not 0 < p < 1:
        raise SpecError(f"p: a baseline of {p} leaves nothing to test a cohort of {n:,} "
                        "against (nobody or everybody reoffending: no sampling variation), so "
                        "thresholds would have zero width and any cohort on the other side "
                        "of it would read as significant; check the baseline value")
    if level >= 1.0:
        raise SpecError(f"level: {level!r} (z = {z}) rounds to 1 in floating point, so the "
                        f"exact thresholds for a cohort of {n:,} cannot be computed; give a "
                        "level below 1 (a z of at most 8)")
    lo, hi = binomial_thresholds(float(p), n, level=float(level), alternative=alternative)
    k_lo = None if lo is None else round(lo * n)
    k_hi = None if hi is None else round(hi * n)

    def share(k: int | None) -> Any:
        if k is None:
            return None
        return Decimal(k) / n if decimal else k / n

    return BaselineThresholds(share(k_lo), share(k_hi), "exact binomial", None, k_lo, k_hi,
                              problem, float(level), alternative, z)


def interval_thresholds(actual: Number, lo: Number, hi: Number, form: str = "additive"
                        ) -> tuple[Number, Number]:
    """Thresholds on the cohort's own value from the interval ``[lo, hi]`` of its effect.

    For a difference (``form="additive"``, cohort minus comparator) ``(actual - hi,
    actual - lo)``; for a ratio (cohort / comparator) ``(actual / hi, actual / lo)``.  The
    cohort's value lies below the lower threshold exactly when the whole interval lies
    below no effect (0, or 1 for a ratio): a significant reduction; above the upper one
    exactly when it lies above.  This is how a comparison group's interval becomes a
    contract outcome's ``lower`` and ``upper`` (:func:`group_thresholds`).

    Raises
    ------
    SpecError
        An unknown ``form``; ``lo > hi``; a ratio interval not above 0; a mix of
        Decimals and floats.

    Examples
    --------
    >>> interval_thresholds(Decimal("25.0"), Decimal("-29.1"), Decimal("-10.9"))
    (Decimal('35.9'), Decimal('54.1'))
    >>> interval_thresholds(1.5, 0.75, 1.25, "ratio")
    (1.2, 2.0)
    """
    _form(form)
    _same_type(actual=actual, lo=lo, hi=hi)
    if not lo <= hi:
        raise SpecError(f"lo, hi: the interval's lower end {lo!r} is above its upper end "
                        f"{hi!r}; give [lo, hi] of the difference (cohort minus comparator)")
    if form == "additive":
        return actual - hi, actual - lo
    if not lo > 0:
        raise SpecError(f"lo: a ratio interval must lie above 0, got [{lo!r}, {hi!r}]; use "
                        "form='additive' for a difference")
    return actual / hi, actual / lo


# ------------------------------------------------------------------ contracts (Decimal)
def level_of_z(z: Decimal | float) -> float:
    """The two-sided confidence level of ``z``: ``1 - 2*Phi(-z)`` (no cancellation).

    Examples
    --------
    >>> round(level_of_z(Decimal("1.959964")), 6)
    0.95
    """
    return 1.0 - 2.0 * NormalDist().cdf(-float(z))


_level = level_of_z   # the contract module's former private name


def _context() -> Any:
    from pbr.contract.pay import CONTEXT  # here: pbr.contract imports this module

    return CONTEXT


def significance_thresholds(value: Decimal, n: int, z: Decimal, *, where: str = "comparator"
                            ) -> tuple[Decimal, Decimal, str]:
    """Thresholds around a rate ``value`` in percent for a cohort of ``n``, and how.

    The contract's form of :func:`baseline_thresholds` (called with ``p = value / 100``
    in exact decimals, two-sided at the level of ``z``).  Where the normal approximation
    is valid for the baseline on the cohort (``n·p`` and ``n·(1-p)`` both at least 5;
    :func:`pbr.stats.normal_approximation_problem`), the thresholds are
    ``p -+ z*sqrt(p(1-p)/n)`` ([MoJ-PbR-Baselines-2011]: the CRC thresholds' form [R]; the
    level is not public).  Elsewhere they are the exact binomial thresholds at the
    two-sided level ``2*Phi(z) - 1`` (:func:`pbr.stats.binomial_thresholds`): ``lower``
    is ``k/n`` (in percent) for the smallest count ``k`` with ``P(X <= k | n, p)`` above
    the tail ``Phi(-z)``, so a cohort rate strictly below it is a significant reduction,
    and likewise ``upper`` above.  Both are computed as the cohort's own rate is
    (``100·k/n`` rounded half-even to :data:`PLACES` places), so a cohort of exactly
    ``k`` reoffenders equals the threshold, never falls below it by rounding.

    ``where`` names the baseline in error messages (e.g.
    ``"comparator.values.binary_rate (cohort '2019Q1')"``).

    Returns
    -------
    tuple
        ``(lower, upper, how)``: ``how`` names the method, and for the exact one why.

    Raises
    ------
    ContractError
        A rate outside 0 to 100 or ``n < 1``; a baseline of 0% or 100% where the exact
        method is needed (nothing to test against: the normal form would have zero
        width, and every cohort above 0% would be a "significant" increase); a ``z``
        whose level is below 50% or rounds to 100% in floating point.

    Examples
    --------
    >>> significance_thresholds(Decimal("47.5"), 108000, Decimal("1.96"))[:2]
    (Decimal('47.202168'), Decimal('47.797832'))

    10 offenders at a 30% baseline: ``n·p = 3`` expected reoffenders, so the thresholds
    are exact: no count is a significant reduction (``P(X = 0) = 0.028 > 0.025``), and
    7 of 10 or more a significant increase.

    >>> lo, hi, how = significance_thresholds(Decimal("30"), 10, Decimal("1.959964"))
    >>> lo, hi, how.split(" (")[0]
    (Decimal('0.000000'), Decimal('60.000000'), 'exact binomial thresholds at level 0.9500')
    """
    if not 0 <= value <= 100 or isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ContractError(f"{where}: thresholds need a rate in percent (0 to 100) and a "
                            f"cohort of at least 1, got {value} and n = {n}")
    level = level_of_z(z)
    if level < 0.5:
        raise ContractError(f"comparator.significance_z: {z} gives a confidence level of "
                            f"{level:.1%}, below 50%; give the multiplier z, e.g. 1.96 for a "
                            "two-sided 95% level")
    with localcontext(_context()):
        p = value / 100
        try:
            t = baseline_thresholds(p, n, level=level, z=z)
        except SpecError as exc:
            if not 0 < value < 100:
                raise ContractError(
                    f"{where}: a baseline of {value}% leaves nothing to test a cohort of "
                    f"{n:,} against (nobody or everybody reoffending: no sampling "
                    "variation), so significance thresholds would have zero width and any "
                    "cohort on the other side of it would read as significant. Fix: check "
                    "the baseline value (rates are in percent, e.g. 28.0), or use trigger = "
                    "\"absolute\" or \"relative\" for this measure") from None
            if level >= 1.0:
                raise ContractError(
                    f"comparator.significance_z: {z} gives a confidence level that rounds to "
                    "100% in floating point, so the exact thresholds for a cohort of "
                    f"{n:,} cannot be computed; give a z of at most 8 (e.g. 1.96 for a "
                    "two-sided 95% level)") from None
            raise ContractError(f"{where}: exact thresholds for a baseline of {value}% "
                                f"and a cohort of {n:,}: {exc}") from None
        if t.method == "normal":
            assert t.half is not None
            half = (t.half * 100).quantize(_Q, ROUND_HALF_EVEN)
            return value - half, value + half, (f"normal approximation: {value} -+ {z} x "
                                                f"sqrt(p(1-p)/{n:,}) = -+{half}")
        k_lo, k_hi = t.count_lower, t.count_upper
        assert k_lo is not None and k_hi is not None   # two-sided gives both
        lower = (Decimal(k_lo) * 100 / n).quantize(_Q, ROUND_HALF_EVEN)
        upper = (Decimal(k_hi) * 100 / n).quantize(_Q, ROUND_HALF_EVEN)
    reduction = ("no count a significant reduction" if k_lo == 0 else
                 f"fewer than {k_lo:,} reoffenders of {n:,} a significant reduction")
    return lower, upper, (f"exact binomial thresholds at level {level:.4f} (normal "
                          f"approximation not valid: {t.problem}; Brown, Cai and DasGupta "
                          f"2001): {reduction}, more than {k_hi:,} of {n:,} a significant "
                          "increase")


def significance_interval(value: Decimal, n: int, z: Decimal) -> tuple[Decimal, Decimal]:
    """Thresholds around a rate ``value`` in percent: :func:`significance_thresholds`.

    ``p -+ z*sqrt(p(1-p)/n)`` where the normal approximation is valid
    ([MoJ-PbR-Baselines-2011]: the CRC thresholds' form [R]; the level is not public), the
    exact binomial
    thresholds at the level of ``z`` where it is not (fewer than 5 expected reoffenders
    or non-reoffenders); never a zero-width interval.

    Examples
    --------
    >>> significance_interval(Decimal("47.5"), 108000, Decimal("1.96"))
    (Decimal('47.202168'), Decimal('47.797832'))
    >>> significance_interval(Decimal("90"), 3, Decimal("1.96"))
    (Decimal('33.333333'), Decimal('100.000000'))
    """
    lower, upper, _ = significance_thresholds(value, n, z)
    return lower, upper
