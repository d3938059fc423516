"""The result of every test in :mod:`pbr.stats`: an estimate, its interval and p-value.

:class:`Interval` is what the proportion, mean, rate and bootstrap functions return and
what :func:`pbr.compare` tabulates.  The sidedness convention is the usual one
(docs/methodology/inference.md, "Sidedness"): ``"two-sided"`` puts ``(1 - level) / 2`` in
each tail; ``"less"`` tests whether the cohort is *below* the comparator and gives an
upper bound only (``lower = -inf``); ``"greater"`` gives a lower bound only.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from scipy import stats as _st

from pbr.errors import SpecError

__all__ = ["ALTERNATIVES", "Interval", "check_level", "normal_interval", "p_from_z", "z_value"]

ALTERNATIVES = ("two-sided", "less", "greater")


def check_level(level: float, alternative: str) -> None:
    """Raise SpecError unless ``0.5 <= level < 1`` and ``alternative`` is known.

    A confidence level below 0.5 is refused: ``level=0.05`` is nearly always a
    significance level (alpha) given where the confidence level was meant, and would
    silently give a 5% interval that almost never contains the null (pbr rule,
    docs/methodology/inference.md, "What pbr refuses and why").

    Examples
    --------
    >>> check_level(0.95, "two-sided")
    >>> check_level(0.05, "two-sided")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pbr.errors.SpecError: level: 0.05 is a confidence level of 5%, ... level=0.95 for a 5% test
    """
    if isinstance(level, bool) or not isinstance(level, int | float) \
            or not 0.0 < float(level) < 1.0:
        raise SpecError(f"level: the confidence level must lie strictly between 0 and 1 "
                        f"(at least 0.5), e.g. 0.95, got {level!r}")
    if float(level) < 0.5:
        raise SpecError(f"level: {level!r} is a confidence level of {level:.0%}, which looks "
                        f"like a significance level (alpha); pass the confidence level, "
                        f"level={1 - float(level):.4g} for a {level:.0%} test")
    if alternative not in ALTERNATIVES:
        raise SpecError(f"alternative: must be one of {', '.join(ALTERNATIVES)}, "
                        f"got {alternative!r}")


def z_value(level: float, alternative: str = "two-sided") -> float:
    """The standard normal quantile for a confidence level and sidedness.

    Examples
    --------
    >>> round(z_value(0.95), 4), round(z_value(0.95, "less"), 4)
    (1.96, 1.6449)
    """
    check_level(level, alternative)
    tail = (1.0 - level) / 2.0 if alternative == "two-sided" else 1.0 - level
    return float(_st.norm.isf(tail))


def p_from_z(z: float, alternative: str) -> float:
    """P-value of a standard normal statistic (``less``: small z is evidence)."""
    if math.isnan(z):
        return math.nan
    if alternative == "two-sided":
        return float(2.0 * _st.norm.sf(abs(z)))
    if alternative == "less":
        return float(_st.norm.cdf(z))
    return float(_st.norm.sf(z))


@dataclass(frozen=True)
class Interval:
    """An estimate with its confidence interval, test statistic and p-value.

    Attributes
    ----------
    estimate
        The point estimate (a difference, cohort minus comparator, or a ratio).
    lower, upper
        Confidence limits; ``-inf`` / ``inf`` on the open side of a one-sided interval.
    level
        Confidence level, e.g. 0.95.
    alternative
        ``"two-sided"``, ``"less"`` or ``"greater"``.
    method
        Name of the method (e.g. ``"normal (cohort variance)"``, ``"newcombe"``).
    se
        Standard error on the scale of the test (log scale for ratios), when defined.
    statistic, p_value
        Test statistic and p-value against ``null``.
    null
        The null value: 0 for differences, 1 for ratios.
    note
        Why the method differs from the one asked for (the normal approximation was not
        valid and an exact or score method was used), or why no interval could be
        formed (``lower`` and ``upper`` are then NaN); None otherwise.

    Examples
    --------
    >>> iv = Interval(-0.12, -0.227, -0.013, 0.95, "two-sided", "normal", p_value=0.028)
    >>> iv.excludes_null, iv.contains(-0.1)
    (True, True)
    """

    estimate: float
    lower: float
    upper: float
    level: float
    alternative: str
    method: str
    se: float | None = None
    statistic: float | None = None
    p_value: float | None = None
    null: float = 0.0
    note: str | None = None

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in the closed interval."""
        return bool(self.lower <= value <= self.upper)

    @property
    def assessable(self) -> bool:
        """Whether the interval supports a conclusion: finite-or-open limits, width > 0.

        A zero-width interval (no sampling variation, e.g. a group where everyone or
        nobody reoffended under the normal approximation) or a NaN limit supports none.
        """
        lo, hi = self.lower, self.upper
        return not (math.isnan(lo) or math.isnan(hi)) and hi > lo

    @property
    def excludes_null(self) -> bool:
        """Whether the interval excludes the null value (significance at 1 - level).

        Never true for an interval that is not :attr:`assessable` (zero width or NaN).
        """
        return self.assessable and not self.contains(self.null)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (for frames and JSON)."""
        return asdict(self)

    def __str__(self) -> str:
        p = "-" if self.p_value is None else f"{self.p_value:.4g}"
        return (f"{self.estimate:.6g} ({self.level:.0%} CI {self.lower:.6g} to "
                f"{self.upper:.6g}; {self.alternative}; p = {p}; {self.method})")


def normal_interval(estimate: float, se: float, level: float, alternative: str, method: str,
                    *, null: float = 0.0, se_test: float | None = None) -> Interval:
    """Wald interval ``estimate ± z·se`` and the z-test of ``null``.

    ``se_test`` is the standard error used for the test statistic when it differs from
    the interval's (a score test uses the variance under the null).  A standard error of
    zero (or NaN) gives NaN limits and p-value and a ``note``, never a zero-width
    interval that would read as significant.

    Examples
    --------
    >>> iv = normal_interval(0.12, 0.05, 0.95, "two-sided", "normal")
    >>> round(iv.lower, 4), round(iv.upper, 4)
    (0.022, 0.218)
    """
    z = z_value(level, alternative)
    if not se > 0:   # no sampling variation: a zero-width interval supports no conclusion
        return Interval(float(estimate), math.nan, math.nan, float(level), alternative,
                        method, float(se), math.nan, math.nan, float(null),
                        note="no normal interval: the standard error is zero (no variation "
                        "in the data)")
    lo = estimate - z * se if alternative != "less" else -math.inf
    hi = estimate + z * se if alternative != "greater" else math.inf
    s = se if se_test is None else se_test
    if s > 0:
        stat = (estimate - null) / s
    else:   # a test variance of zero under the null: any difference is certain
        stat = math.copysign(math.inf, estimate - null) if estimate != null else 0.0
    return Interval(float(estimate), float(lo), float(hi), float(level), alternative, method,
                    float(se), float(stat), p_from_z(stat, alternative), float(null))
