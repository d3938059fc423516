"""Per-cohort outcomes: what the payment rules act on.

An :class:`Outcome` is one measure for one cohort, set against its comparator: the
cohort's actual value, the comparator's value (a fixed or case-mix adjusted baseline,
or a matched comparison group), the counts behind them, and where the rule needs one
the interval (significance thresholds) around the comparator.  Every reoffending
measure is *lower is better*, so a reduction is ``comparator - actual``.

The payment rules (:mod:`pbr.contract.rules`) are pure functions of outcomes; how the
outcomes were computed (:func:`pbr.contract.run.run_contract`, or published figures
typed in by hand) does not matter to them.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pbr.errors import ContractError

__all__ = ["MEASURES", "Outcome", "as_decimal"]

#: measure -> (scale, denominator, unit): the measure is "per ``scale`` of the
#: denominator", so ``(comparator - actual) * base_n / scale`` counts what was avoided.
MEASURES: dict[str, tuple[int, str, str]] = {
    "binary_rate": (100, "offenders", "reoffenders"),
    "per_offender": (1, "offenders", "reoffences"),
    "per_100": (100, "offenders", "reoffences"),
    "per_reoffender": (1, "reoffenders", "reoffences"),
    "custody_days_per_offender": (1, "offenders", "bed days"),
    "serious_rate": (100, "offenders", "serious reoffenders"),
}


def as_decimal(name: str, value: Any) -> Decimal:
    """``value`` as an exact Decimal (floats go through their shortest repr).

    Examples
    --------
    >>> as_decimal("price", 0.1)
    Decimal('0.1')
    """
    if isinstance(value, bool):
        raise ContractError(f"{name}: expected a number, got {value!r}")
    if isinstance(value, Decimal):
        out = value
    elif isinstance(value, int):
        out = Decimal(value)
    elif isinstance(value, float | str):
        try:
            out = Decimal(repr(value) if isinstance(value, float) else value)
        except ArithmeticError:
            raise ContractError(f"{name}: expected a number, got {value!r}") from None
    else:
        raise ContractError(f"{name}: expected a number, got {value!r}")
    if not out.is_finite():
        raise ContractError(f"{name}: must be a finite number, got {value!r}")
    return out


@dataclass(frozen=True)
class Outcome:
    """One measure for one cohort against its comparator.

    Parameters
    ----------
    cohort
        Cohort label, e.g. ``"2015Q4"`` or ``"cohort 1"``.
    measure
        A key of :data:`MEASURES` (``"binary_rate"``, ``"per_reoffender"``, ...).
    actual, comparator
        The cohort's value and the comparator's, in the measure's unit (percent for
        rates, events per 100 for ``per_100``).
    n
        Offenders in the cohort.
    base_n
        The measure's denominator: offenders, or reoffenders for ``per_reoffender``
        (default ``n``).
    lower, upper
        The interval around the comparator (significance thresholds), if any.
    start
        First day of the cohort period (which contract variation applies).
    year
        Contract year label, for per-year caps.
    counts
        Counts behind the values, shown by ``PaymentStatement.explain``.
    source
        How the comparator was obtained, in words.
    unit_name
        What one counted unit is, when not the measure's default (e.g. ``"conviction
        events"`` under the Peterborough counting rule).

    Examples
    --------
    >>> o = Outcome("cohort 1", "per_100", actual=142, comparator=155, n=1000)
    >>> o.reduction, o.avoided
    (Decimal('13'), Decimal('130'))
    >>> round(o.relative_reduction * 100, 3)
    Decimal('8.387')
    """

    cohort: str
    measure: str
    actual: Decimal
    comparator: Decimal
    n: int
    base_n: int | None = None
    lower: Decimal | None = None
    upper: Decimal | None = None
    start: _dt.date | None = None
    year: str | None = None
    counts: tuple[tuple[str, str], ...] = ()
    source: str = "given"
    unit_name: str | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if self.measure not in MEASURES:
            raise ContractError(f"measure: {self.measure!r} is not one of "
                                f"{', '.join(MEASURES)}")
        for name in ("actual", "comparator"):
            set_(self, name, as_decimal(name, getattr(self, name)))
        for name in ("lower", "upper"):
            if getattr(self, name) is not None:
                set_(self, name, as_decimal(name, getattr(self, name)))
        if not isinstance(self.n, int) or self.n < 0:
            raise ContractError(f"n: the cohort size must be an integer >= 0, got {self.n!r}")
        if self.base_n is None:
            set_(self, "base_n", self.n)
        set_(self, "counts", tuple((str(k), str(v)) for k, v in dict(self.counts).items()))
        set_(self, "cohort", str(self.cohort))

    @property
    def scale(self) -> int:
        return MEASURES[self.measure][0]

    @property
    def unit(self) -> str:
        """What one avoided unit is (reoffenders, reoffences, bed days; or ``unit_name``)."""
        return self.unit_name or MEASURES[self.measure][2]

    @property
    def difference(self) -> Decimal:
        """``actual - comparator`` (negative is an improvement)."""
        return self.actual - self.comparator

    @property
    def reduction(self) -> Decimal:
        """``comparator - actual`` in the measure's unit (points for rates)."""
        return self.comparator - self.actual

    @property
    def relative_reduction(self) -> Decimal:
        """``(comparator - actual) / comparator`` as a fraction (0 when the comparator is 0)."""
        if self.comparator == 0:
            return Decimal(0)
        return self.reduction / self.comparator

    @property
    def avoided(self) -> Decimal:
        """Units avoided: ``(comparator - actual) * base_n / scale``."""
        assert self.base_n is not None
        return self.reduction * self.base_n / self.scale

    @property
    def significant_reduction(self) -> bool | None:
        """Actual below the lower threshold (None without an interval)."""
        return None if self.lower is None else self.actual < self.lower

    @property
    def significant_increase(self) -> bool | None:
        """Actual above the upper threshold (None without an interval)."""
        return None if self.upper is None else self.actual > self.upper
