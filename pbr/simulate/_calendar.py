"""Calendar helpers of the cash flows: cohort timings, instalments, exact splits, costs.

Private to :mod:`pbr.simulate.cashflow` (which documents the rules) and
:mod:`pbr.simulate._cashframe`.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from pbr.contract.components import Component
from pbr.contract.outcome import as_decimal
from pbr.contract.spec import Contract
from pbr.errors import ContractError
from pbr.period import Period

__all__ = ["ServiceCosts", "Timing", "add_periods", "cost_rows", "fees_in_force",
           "instalment_dates", "month_starts", "months_between", "places", "split", "timings"]

_DAY = _dt.timedelta(days=1)
_ZERO = Decimal(0)


def months_between(a: _dt.date, b: _dt.date) -> int | None:
    """Whole months from ``a`` to ``b`` when ``a`` plus them is exactly ``b``."""
    k = (b.year - a.year) * 12 + b.month - a.month
    return k if k > 0 and Period(k, "months").add_date(a) == b else None


def add_periods(day: _dt.date, *periods: Period) -> _dt.date:
    """``day`` plus the periods: in one step when all are whole months (so 31 March plus
    21 months is 31 December, not the 30th that three clamped steps give), else in turn."""
    if all(p.months or p.n == 0 for p in periods):
        return Period(sum(p.months for p in periods), "months").add_date(day)
    for p in periods:
        day = p.add_date(day)
    return day


@dataclass(frozen=True)
class Timing:
    cohort: str
    start: _dt.date
    end: _dt.date
    months: int | None          # the period's length in whole months, when it is one
    follow_up_end: _dt.date
    waiting_end: _dt.date
    due: _dt.date
    year: str | None


def timings(contract: Contract, cohorts: Sequence[str] | None,
             reporting_lag: str | Period | None) -> tuple[dict[str, Timing], list[str]]:
    notes: list[str] = []
    listed = list(contract.periods)
    if not listed:
        raise ContractError("cohorts.period: cash flows need each cohort's first day; list "
                            "the periods, e.g. period = [{ name = \"2019Q1\", start = "
                            "2019-01-01 }]")
    names = [p.name for p in listed]
    wanted = list(names if cohorts is None else dict.fromkeys(str(c) for c in cohorts))
    unknown = [c for c in wanted if c not in names]
    if unknown:
        raise ContractError(f"cohorts: {unknown} are not cohorts of contract "
                            f"{contract.name!r} ({names})")
    if reporting_lag is not None:
        try:
            lag = Period.parse(reporting_lag)
        except Exception:
            raise ContractError(f"reporting_lag: a period such as '3 months', got "
                                f"{reporting_lag!r}") from None
    elif contract.reporting_lag is not None:
        lag = contract.reporting_lag
    else:
        lag = Period(0, "days")
        notes.append("the contract sets no reporting_lag: outcome payments are taken to fall "
                     "due the day the waiting period ends (set [contract] reporting_lag)")
    spec = contract.measure_spec
    out: dict[str, Timing] = {}
    for i, p in enumerate(listed):
        if p.name not in wanted:
            continue
        if p.start is None:
            raise ContractError(f"cohorts.period {p.name!r}.start: cash flows need each "
                                "cohort's first day; add start = YYYY-MM-DD")
        length = contract.period_length
        if length is None and i + 1 < len(listed):
            nxt = listed[i + 1].start
            if nxt is None or nxt <= p.start:
                raise ContractError(f"cohorts.period {listed[i + 1].name!r}.start: must be a "
                                    f"date after {p.name!r} starts ({p.start}); or set "
                                    "[cohorts] length")
            k = months_between(p.start, nxt)
            length = Period(k, "months") if k else Period((nxt - p.start).days, "days")
        elif length is None:
            prev = listed[i - 1].start if i > 0 else None
            if prev is None:
                raise ContractError(f"cohorts.length: the length of cohort {p.name!r}'s period "
                                    "is not known (no later period starts); set [cohorts] "
                                    "length, e.g. length = \"3 months\"")
            k = months_between(prev, p.start)
            length = Period(k, "months") if k else Period((p.start - prev).days, "days")
            notes.append(f"cohort {p.name!r}: period length taken as the previous period's "
                         f"({length}); set [cohorts] length to state it")
        end = length.add_date(p.start) - _DAY
        shift = _DAY if spec.include_index_day else _dt.timedelta(0)
        follow = add_periods(end, spec.follow_up) - shift
        waiting = add_periods(end, spec.follow_up, spec.waiting_period) - shift
        due = add_periods(end, spec.follow_up, spec.waiting_period, lag) - shift
        out[p.name] = Timing(p.name, p.start, end, length.months or None, follow, waiting,
                              due, p.year)
    return out, notes


def instalment_dates(t: Timing, k: int) -> list[_dt.date]:
    """The last days of ``k`` equal parts of the cohort period."""
    if t.months is not None and t.months % k == 0:
        step = t.months // k
        return [Period(step * (j + 1), "months").add_date(t.start) - _DAY for j in range(k)]
    days = (t.end - t.start).days + 1
    return [t.start + _dt.timedelta(days=(j + 1) * days // k - 1) for j in range(k)]


def places(quantum: Decimal) -> int:
    exponent = quantum.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def split(amount: Decimal, k: int, quantum: Decimal) -> list[Decimal]:
    """``amount`` in ``k`` parts of whole quanta, the remainder on the last part."""
    part = (amount / k).quantize(quantum, rounding=ROUND_FLOOR)
    return [part] * (k - 1) + [amount - part * (k - 1)]


# --------------------------------------------------------------------------- schedule


def fees_in_force(contract: Contract, t: Timing) -> dict[str, Component]:
    """The fee components in force for the cohort (variations applied)."""
    return {c.name: c for c, _ in contract.terms(t.start) if c.kind == "fee" and c.active}


@dataclass(frozen=True)
class ServiceCosts:
    """What the provider spends on the service, month by month.

    Parameters
    ----------
    per_month
        A running cost per month, from the first cohort's start to the last one's end.
    per_cohort
        A cost per cohort, spread evenly over the months of its period.
    per_offender
        A cost per offender in a cohort, spread evenly over the months of its period.

    Amounts are exact (Decimal, from ints, strings or floats by their shortest form) and
    must not be negative.

    Examples
    --------
    >>> ServiceCosts(per_month=20000).per_month
    Decimal('20000')
    """

    per_month: Decimal = _ZERO
    per_cohort: Decimal = _ZERO
    per_offender: Decimal = _ZERO

    def __post_init__(self) -> None:
        for name in ("per_month", "per_cohort", "per_offender"):
            value = as_decimal(f"costs.{name}", getattr(self, name))
            if value < 0:
                raise ContractError(f"costs.{name}: {value} is negative; give what the "
                                    "provider spends (payments are counted separately)")
            object.__setattr__(self, name, value)

    def __str__(self) -> str:
        return (f"costs {self.per_month} per month + {self.per_cohort} per cohort + "
                f"{self.per_offender} per offender")


def month_starts(first: _dt.date, last: _dt.date) -> list[_dt.date]:
    out, d = [], first.replace(day=1)
    while d <= last:
        out.append(d)
        d = Period(1, "months").add_date(d)
    return out


def cost_rows(costs: ServiceCosts, tim: dict[str, Timing], sizes: dict[str, int],
               quantum: Decimal) -> list[tuple[_dt.date, Decimal]]:
    rows: list[tuple[_dt.date, Decimal]] = []
    if costs.per_month:
        first = min(t.start for t in tim.values())
        last = max(t.end for t in tim.values())
        rows += [(m, costs.per_month) for m in month_starts(first, last)]
    if costs.per_cohort or costs.per_offender:
        for cohort, t in tim.items():
            months = month_starts(t.start, t.end)
            amount = costs.per_cohort + costs.per_offender * sizes.get(cohort, 0)
            rows += list(zip(months, split(amount, len(months), quantum), strict=True))
    return rows


# --------------------------------------------------------------------------- result
