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
    """Raise SpecError unless ``0 < level < 1`` and ``alternative`` is known."""
    if not isinstance(level, int | float) or not 0.0 < float(level) < 1.0:
        raise SpecError(f"level: the confidence level must lie strictly between 0 and 1, "
                        f"e.g. 0.95, got {level!r}")
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

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in the closed interval."""
        return bool(self.lower <= value <= self.upper)

    @property
    def excludes_null(self) -> bool:
        """Whether the interval excludes the null value (significance at 1 - level)."""
        return not self.contains(self.null)

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
    the interval's (a score test uses the variance under the null).

    Examples
    --------
    >>> iv = normal_interval(0.12, 0.05, 0.95, "two-sided", "normal")
    >>> round(iv.lower, 4), round(iv.upper, 4)
    (0.022, 0.218)
    """
    z = z_value(level, alternative)
    lo = estimate - z * se if alternative != "less" else -math.inf
    hi = estimate + z * se if alternative != "greater" else math.inf
    s = se if se_test is None else se_test
    if s > 0:
        stat = (estimate - null) / s
    else:   # no sampling variation: any difference is certain, none is no evidence
        stat = math.copysign(math.inf, estimate - null) if estimate != null else 0.0
    return Interval(float(estimate), float(lo), float(hi), float(level), alternative, method,
                    float(se), float(stat), p_from_z(stat, alternative), float(null))
