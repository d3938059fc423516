"""Per-cohort outcomes: what the payment rules act on.

An :class:`Outcome` is one measure for one cohort, set against its comparator: the
cohort's actual value, the comparator's value (a fixed or case-mix adjusted baseline,
or a matched comparison group), the counts behind them, and where the rule needs one
the interval (significance thresholds) around the comparator.  Every reoffending
measure is *lower is better*, so a reduction is ``comparator - actual``; the
intermediate outcomes (``employment_rate``, ``accommodation_rate``, ``treatment_rate``)
are *higher is better* (the direction of :data:`pbr.compare.MEASURES`), so their
improvement is ``actual - comparator``.  The rules pay on :attr:`Outcome.reduction`,
which is the improvement in the measure's direction.

The payment rules (:mod:`pbr.contract.rules`) are pure functions of outcomes; how the
outcomes were computed (:func:`pbr.contract.run.run_contract`, or published figures
typed in by hand) does not matter to them.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pbr.compare.registry import MEASURES as REGISTRY
from pbr.errors import ContractError

__all__ = ["MAX_ABS", "MAX_N", "MEASURES", "RATES", "Outcome", "as_decimal"]

#: measure -> (scale, denominator, unit) for the registry's measures a contract pays on
#: (:data:`pbr.compare.MEASURES`): the measure is "per ``scale`` of the denominator", so
#: ``(comparator - actual) * base_n / scale`` counts what was avoided.
MEASURES: dict[str, tuple[int, str, str]] = {
    "binary_rate": (100, "offenders", "reoffenders"),
    "per_offender": (1, "offenders", "reoffences"),
    "per_100": (100, "offenders", "reoffences"),
    "per_reoffender": (1, "reoffenders", "reoffences"),
    "custody_days_per_offender": (1, "offenders", "bed days"),
    "serious_rate": (100, "offenders", "serious reoffenders"),
    "employment_rate": (100, "participants", "participants employed"),
    "accommodation_rate": (100, "participants", "participants housed"),
    "treatment_rate": (100, "participants", "participants completing treatment"),
}

#: measures that are rates (proportions in pbr's API; percent, 0-100, in a contract with
#: ``rate_unit = "percent"``): the rates of the measure registry
RATES = tuple(m for m in MEASURES if REGISTRY[m].is_rate)

#: the largest magnitude pbr reads as a number (a thousand million million): beyond it a
#: value is a typo, and Decimal arithmetic at 34 digits could no longer hold its pennies
MAX_ABS = Decimal(10) ** 15
#: the largest cohort pbr pays on (a thousand million offenders)
MAX_N = 10**9


def as_decimal(name: str, value: Any) -> Decimal:
    """``value`` as an exact Decimal (floats go through their shortest repr).

    A value that is not a finite number, or whose magnitude reaches :data:`MAX_ABS`,
    raises :class:`~pbr.errors.ContractError` naming ``name`` and the value (never a
    ``decimal.InvalidOperation`` later in the arithmetic).

    Examples
    --------
    >>> as_decimal("price", 0.1)
    Decimal('0.1')
    >>> as_decimal("price", "1e20")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pbr.errors.ContractError: price: 1e20 is too large (at most 999999999999999); ...
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
    if abs(out) >= MAX_ABS:
        raise ContractError(f"{name}: {value} is too large (at most {MAX_ABS - 1}); check "
                            "the value and its unit")
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
    provisional
        True when the cohort's follow-up windows had not all closed by the data extract
        date (an interim measure): a contract pays it only with ``provisional = true``,
        and its lines are marked provisional.
    subgroup
        The subgroup of the cohort the outcome is measured on (a component's
        :attr:`~pbr.contract.components.Component.subgroup_label`, e.g. ``"sex=F"``);
        None for the whole cohort.

    Rates (``binary_rate``, ``serious_rate``) are in percent, 0 to 100; every value is
    non-negative and ``n`` is at least 1 (:class:`~pbr.errors.ContractError` otherwise).

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
    provisional: bool = False
    subgroup: str | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if self.measure not in MEASURES:
            raise ContractError(f"measure: {self.measure!r} is not one of "
                                f"{', '.join(MEASURES)}")
        set_(self, "cohort", str(self.cohort))
        where = f"outcome {self.cohort!r} {self.measure}" + (
            f" (subgroup {self.subgroup})" if self.subgroup is not None else "")
        for name in ("actual", "comparator", "lower", "upper"):
            value = getattr(self, name)
            if value is None:
                continue
            value = as_decimal(f"{where}.{name}", value)
            set_(self, name, value)
            if value < 0 and name in ("actual", "comparator"):
                raise ContractError(f"{where}.{name}: {value} is negative; a measure is "
                                    "a count or a rate, never below 0")
            if self.measure in RATES and value > 100 and name in ("actual", "comparator"):
                raise ContractError(f"{where}.{name}: {value} is over 100; rates are in "
                                    "percent (0 to 100), e.g. 28.5 for 28.5%")
        if self.lower is not None and self.upper is not None and self.lower > self.upper:
            raise ContractError(f"{where}.lower ({self.lower}) exceeds {where}.upper "
                                f"({self.upper}); give the interval as lower <= upper")
        if isinstance(self.n, bool) or not isinstance(self.n, int) or not 1 <= self.n <= MAX_N:
            raise ContractError(f"{where}.n: the cohort size must be an integer from 1 to "
                                f"{MAX_N:,}, got {self.n!r}; a cohort with nobody in it has no "
                                "outcome")
        if self.base_n is None:
            set_(self, "base_n", self.n)
        if isinstance(self.base_n, bool) or not isinstance(self.base_n, int) \
                or not 0 <= self.base_n <= self.n:
            raise ContractError(f"{where}.base_n: the denominator must be an integer from 0 "
                                f"to n ({self.n:,}), got {self.base_n!r}")
        if not isinstance(self.provisional, bool):
            raise ContractError(f"{where}.provisional: expected True or False, got "
                                f"{self.provisional!r}")
        set_(self, "counts", tuple((str(k), str(v)) for k, v in dict(self.counts).items()))

    @property
    def scale(self) -> int:
        return MEASURES[self.measure][0]

    @property
    def unit(self) -> str:
        """What one avoided unit is (reoffenders, reoffences, bed days; or ``unit_name``)."""
        return self.unit_name or MEASURES[self.measure][2]

    @property
    def higher_is_better(self) -> bool:
        """Whether the measure's aim is an increase (employment) rather than a reduction."""
        return REGISTRY[self.measure].higher_is_better

    @property
    def change_word(self) -> str:
        """``"reduction"`` (lower is better) or ``"increase"`` (higher is better)."""
        return "increase" if self.higher_is_better else "reduction"

    @property
    def difference(self) -> Decimal:
        """``actual - comparator`` (negative is an improvement)."""
        return self.actual - self.comparator

    @property
    def reduction(self) -> Decimal:
        """The improvement in the measure's unit (points for rates): ``comparator -
        actual`` for lower-is-better measures, ``actual - comparator`` for
        higher-is-better ones (:attr:`improvement`)."""
        if self.higher_is_better:
            return self.actual - self.comparator
        return self.comparator - self.actual

    @property
    def improvement(self) -> Decimal:
        """The same as :attr:`reduction`, named for higher-is-better measures.

        Examples
        --------
        >>> Outcome("2020", "employment_rate", actual=30, comparator=25, n=100).improvement
        Decimal('5')
        """
        return self.reduction

    @property
    def relative_reduction(self) -> Decimal:
        """The improvement over the comparator, ``reduction / comparator``, as a fraction
        (0 when the comparator is 0)."""
        if self.comparator == 0:
            return Decimal(0)
        return self.reduction / self.comparator

    @property
    def avoided(self) -> Decimal:
        """Units avoided: ``(comparator - actual) * base_n / scale`` (for a
        higher-is-better measure, the additional units: ``(actual - comparator) * base_n /
        scale``)."""
        assert self.base_n is not None
        return self.reduction * self.base_n / self.scale

    @property
    def significant_reduction(self) -> bool | None:
        """A significant improvement: actual below the lower threshold (above the upper
        one for a higher-is-better measure); None without an interval."""
        if self.higher_is_better:
            return None if self.upper is None else self.actual > self.upper
        return None if self.lower is None else self.actual < self.lower

    @property
    def significant_increase(self) -> bool | None:
        """A significant worsening: actual above the upper threshold (below the lower one
        for a higher-is-better measure); None without an interval."""
        if self.higher_is_better:
            return None if self.lower is None else self.actual < self.lower
        return None if self.upper is None else self.actual > self.upper
