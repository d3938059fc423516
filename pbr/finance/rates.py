"""Discounting and rates of return: NPV, XNPV, IRR, XIRR and the money multiple.

A stream of cash flows ``c_i`` at times ``t_i`` (years, or periods) has net present value
``NPV(r) = sum_i c_i (1 + r) ** -t_i`` at the rate ``r``; the internal rate of return
(IRR) is a rate at which the NPV is zero.  With periodic flows ``t_i = i`` (the first
flow undiscounted, Excel's ``NPV`` starts at ``t = 1``: ``start=1``); with dated flows
``t_i`` is the number of days from the earliest date divided by 365, the actual/365
convention of Excel's ``XNPV`` and ``XIRR`` ([Microsoft-XIRR]).

The IRR is a root of a (generalised) polynomial, and a stream may have none or several.
:func:`irr` does not return a plausible number in those cases: it counts the sign
changes ``V`` of the flows in time order (Descartes' rule of signs, which Laguerre
extended to real exponents: the number of rates ``r > -1`` at which the NPV is zero is
``V`` minus an even number, [Descartes-Laguerre]), so ``V == 0`` means no IRR and
``V == 1`` exactly one; with ``V > 1`` it scans ``x = ln(1 + r)`` on a fine grid,
brackets every sign change and solves each bracket with Brent's method
(:func:`scipy.optimize.brentq`).  The result, :class:`IrrResult`, has ``status``
``"unique"``, ``"multiple"`` or ``"none"``; ``rate`` is set only when the IRR is unique
(``require()`` raises otherwise, naming the roots found).

Money stays exact: NPVs are computed in :class:`~decimal.Decimal` (28 significant digits;
powers with a fractional exponent are correctly rounded by :mod:`decimal`) and rounded
to ``places`` at the end.  Only the root search runs in floating point; the rate is
solved to about 1e-13 relative (far below a cent's worth on any realistic stream) and
the NPV at the rate is reported as the ``residual``.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from pbr.errors import SchemaError, SpecError

__all__ = ["IrrResult", "as_money", "irr", "money_multiple", "npv", "xirr", "xnpv"]

_GRID = 4001  # grid points for the root scan when the flows change sign more than once
_X_LIMIT = 20.0  # |ln(1 + r)| searched: r from -99.9999998% to about 4.85e8
_EXP_LIMIT = 700.0  # keep exp(-t x) inside the float range
_TANGENT = 1e-12  # |NPV| / largest flow below which a touching minimum is a double root


def as_money(name: str, value: Any) -> Decimal:
    """``value`` as a finite :class:`~decimal.Decimal` (floats through their shortest
    repr); anything else raises :class:`~pbr.errors.SchemaError` naming ``name``.

    Examples
    --------
    >>> as_money("amount", 0.1)
    Decimal('0.1')
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float | str):
        raise SchemaError(f"{name}: expected a number, got {value!r} "
                          f"({type(value).__name__})")
    try:
        out = value if isinstance(value, Decimal) else Decimal(
            repr(value) if isinstance(value, float) else value)
    except ArithmeticError:
        raise SchemaError(f"{name}: {value!r} is not a number") from None
    if not out.is_finite():
        raise SchemaError(f"{name}: {value!r} is not a finite number")
    return out


def _rate(name: str, rate: Any) -> Decimal:
    r = as_money(name, rate)
    if r <= -1:
        raise SpecError(f"{name}: a rate must be above -1 (-100%), got {rate!r}; rates are "
                        f"fractions (0.035 for 3.5%)")
    if r >= 1:
        raise SpecError(f"{name}: {rate!r} is 100% or more; rates are fractions "
                        f"(0.035 for 3.5%, not 3.5)")
    return r


def _amounts(flows: Iterable[Any]) -> list[Decimal]:
    out = [as_money(f"flows[{i}]", v) for i, v in enumerate(flows)]
    if not out:
        raise SchemaError("flows: no cash flows given")
    return out


def _dated(flows: Iterable[Any]) -> tuple[list[_dt.date], list[Decimal]]:
    dates: list[_dt.date] = []
    amounts: list[Decimal] = []
    for i, item in enumerate(flows):
        try:
            day, amount = item
        except (TypeError, ValueError):
            raise SchemaError(f"flows[{i}]: expected a (date, amount) pair, got {item!r}"
                              ) from None
        if isinstance(day, _dt.datetime) or not isinstance(day, _dt.date):
            raise SchemaError(f"flows[{i}]: the date must be a datetime.date, got {day!r}")
        dates.append(day)
        amounts.append(as_money(f"flows[{i}] amount", amount))
    if not amounts:
        raise SchemaError("flows: no cash flows given")
    return dates, amounts


def _quantize(value: Decimal, places: int) -> Decimal:
    if not isinstance(places, int) or isinstance(places, bool) or not 0 <= places <= 12:
        raise SpecError(f"places: an integer from 0 to 12, got {places!r}")
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)


def _discounted(rate: Decimal, times: Sequence[Decimal], amounts: Sequence[Decimal]
                ) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 28
        base = 1 + rate
        return sum((a / base ** t for t, a in zip(times, amounts, strict=True)), Decimal(0))


def npv(rate: Any, flows: Iterable[Any], *, start: int = 0, places: int = 2) -> Decimal:
    """Net present value of periodic cash flows at ``rate`` per period.

    Parameters
    ----------
    rate
        The discount rate per period, as a fraction (0.1 for 10%).
    flows
        Amounts, one per period, in order.
    start
        The period of the first flow: 0 (undiscounted, the usual convention) or 1
        (Excel's ``NPV``, which discounts the first value by one period).
    places
        Decimal places of the result (half-even rounding).

    Examples
    --------
    Excel's ``NPV`` documentation example ([Microsoft-XIRR]): 10%, -10,000 at the end of
    the first year, then 3,000, 4,200 and 6,800 gives 1,188.44.

    >>> npv("0.1", [-10000, 3000, 4200, 6800], start=1)
    Decimal('1188.44')
    """
    if start not in (0, 1):
        raise SpecError(f"start: 0 (first flow undiscounted) or 1 (Excel's NPV), got "
                        f"{start!r}")
    r = _rate("rate", rate)
    amounts = _amounts(flows)
    times = [Decimal(i + start) for i in range(len(amounts))]
    return _quantize(_discounted(r, times, amounts), places)


def _year_fractions(dates: Sequence[_dt.date], as_of: _dt.date) -> list[Decimal]:
    return [Decimal((d - as_of).days) / Decimal(365) for d in dates]


def xnpv(rate: Any, flows: Iterable[tuple[_dt.date, Any]], *, as_of: _dt.date | None = None,
         places: int = 2) -> Decimal:
    """Net present value of dated cash flows, actual/365 (Excel's ``XNPV``).

    Parameters
    ----------
    rate
        The annual discount rate, as a fraction.
    flows
        ``(date, amount)`` pairs, in any order.
    as_of
        The date values are discounted to; the earliest flow's date by default (Excel
        discounts to the first listed date).
    places
        Decimal places of the result.

    Examples
    --------
    Excel's ``XNPV`` documentation example ([Microsoft-XIRR]): 9%, -10,000 on 1 Jan 2008,
    then 2,750, 4,250, 3,250 and 2,750 gives 2,086.65 (2,086.647602).

    >>> from datetime import date
    >>> flows = [(date(2008, 1, 1), -10000), (date(2008, 3, 1), 2750),
    ...          (date(2008, 10, 30), 4250), (date(2009, 2, 15), 3250),
    ...          (date(2009, 4, 1), 2750)]
    >>> xnpv("0.09", flows, places=6)
    Decimal('2086.647602')
    """
    r = _rate("rate", rate)
    dates, amounts = _dated(flows)
    origin = min(dates) if as_of is None else as_of
    return _quantize(_discounted(r, _year_fractions(dates, origin), amounts), places)


def money_multiple(flows: Iterable[Any]) -> Decimal:
    """What came back over what was put in: the sum of the positive flows over minus the
    sum of the negative ones (the multiple on invested capital).  Amounts, or
    ``(date, amount)`` pairs.

    Examples
    --------
    >>> money_multiple([-100, 39, 59, 55, 20])
    Decimal('1.73')
    """
    values = [x[1] if isinstance(x, tuple) else x for x in flows]
    amounts = _amounts(values)
    paid_in = -sum((a for a in amounts if a < 0), Decimal(0))
    if paid_in == 0:
        raise SpecError("money_multiple: no negative flow (nothing was invested)")
    with localcontext() as ctx:
        ctx.prec = 28
        return sum((a for a in amounts if a > 0), Decimal(0)) / paid_in


@dataclass(frozen=True)
class IrrResult:
    """The internal rate(s) of return of a cash-flow stream, and how sure that is.

    Attributes
    ----------
    status
        ``"unique"`` (one rate; ``rate`` is set), ``"multiple"`` (several rates make
        the NPV zero: the IRR is not defined, look at the NPV at a stated rate instead)
        or ``"none"`` (no rate does).
    rates
        Every root found, ascending (per period for :func:`irr`, annual for :func:`xirr`).
    sign_changes
        Sign changes of the flows in time order (Descartes' bound on the roots).
    residual
        NPV at ``rate`` (Decimal, unrounded); ``None`` without a unique rate.
    basis
        ``"periodic"`` or ``"actual/365"``.
    notes
        Why the status is what it is.
    """

    status: str
    rates: tuple[float, ...]
    sign_changes: int
    basis: str
    residual: Decimal | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def rate(self) -> float | None:
        """The IRR when it is unique, else ``None``."""
        return self.rates[0] if self.status == "unique" else None

    def require(self) -> float:
        """The unique IRR, or :class:`~pbr.errors.SpecError` saying why there is none."""
        if self.status == "unique":
            return self.rates[0]
        raise SpecError("no unique internal rate of return: " + self.explain())

    def explain(self) -> str:
        found = ", ".join(f"{r:.6%}" for r in self.rates) or "none"
        out = (f"{self.status}: {len(self.rates)} rate(s) found ({found}); the flows change "
               f"sign {self.sign_changes} time(s) ({self.basis})")
        return "; ".join([out, *self.notes])

    def __str__(self) -> str:
        if self.status == "unique":
            return f"IRR {self.rates[0]:.4%} ({self.basis})"
        return f"IRR not defined ({self.explain()})"


def _sign_changes(amounts: Sequence[Decimal]) -> int:
    signs = [a > 0 for a in amounts if a != 0]
    return sum(1 for a, b in itertools.pairwise(signs) if a != b)


def _solve(times: np.ndarray, basis: str, exact_times: list[Decimal],
           amounts: list[Decimal]) -> IrrResult:
    # combine flows at the same time, in time order (Descartes counts them once)
    order = np.argsort(times, kind="stable")
    t_sorted = times[order]
    merged_t: list[float] = []
    merged_a: list[Decimal] = []
    for i in order:
        t = float(times[i])
        if merged_t and merged_t[-1] == t:
            merged_a[-1] += amounts[i]
        else:
            merged_t.append(t)
            merged_a.append(amounts[i])
    v = _sign_changes(merged_a)
    if v == 0:
        return IrrResult("none", (), 0, basis, notes=(
            "every flow has the same sign (or is zero): no rate makes the NPV zero",))
    t_arr = np.array(merged_t)
    c_arr = np.array([float(a) for a in merged_a])
    scale = float(np.abs(c_arr).max())
    c_arr = c_arr / scale
    span = max(float(np.abs(t_sorted).max()), 1e-12)
    limit = min(_X_LIMIT, _EXP_LIMIT / span)

    def f(x: float) -> float:
        return float(np.dot(c_arr, np.exp(-t_arr * x)))

    def slope(x: float) -> float:
        return float(np.dot(-t_arr * c_arr, np.exp(-t_arr * x)))

    roots: list[float] = []
    notes: list[str] = []
    if v == 1:  # exactly one root: expand a bracket around r = 0 and solve it
        lo, hi = -0.5, 0.5
        while f(lo) * f(hi) > 0 and (lo > -limit or hi < limit):
            lo, hi = max(lo * 2, -limit), min(hi * 2, limit)
        if f(lo) == 0 or f(hi) == 0:
            roots.append(lo if f(lo) == 0 else hi)
        elif f(lo) * f(hi) < 0:
            roots.append(float(brentq(f, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps,
                                      maxiter=500)))
        else:
            notes.append(f"the one rate lies outside the range searched (r between "
                         f"{math.expm1(-limit):.6%} and {math.expm1(limit):.4g})")
    else:
        grid = np.linspace(-limit, limit, _GRID)
        vals = np.array([f(x) for x in grid])
        counted = 0  # roots with their multiplicity (a touching root counts twice)
        for i in range(len(grid) - 1):
            if vals[i] == 0:
                roots.append(float(grid[i]))
                touching = i > 0 and vals[i - 1] * vals[i + 1] > 0
                counted += 2 if touching else 1
            elif vals[i] * vals[i + 1] < 0:
                roots.append(float(brentq(f, grid[i], grid[i + 1], xtol=1e-15,
                                          rtol=4 * np.finfo(float).eps, maxiter=500)))
                counted += 1
        if vals[-1] == 0:
            roots.append(float(grid[-1]))
            counted += 1
        if counted < v:  # a root touching zero without crossing: look at the local
            # minima of |NPV| between grid points where the sign does not change
            for i in range(1, len(grid) - 1):
                a, b, c = abs(vals[i - 1]), abs(vals[i]), abs(vals[i + 1])
                if b <= a and b <= c and vals[i - 1] * vals[i + 1] > 0 and vals[i] != 0:
                    lo, hi = float(grid[i - 1]), float(grid[i + 1])
                    if slope(lo) * slope(hi) < 0:  # the extremum, where the slope is 0
                        x = float(brentq(slope, lo, hi, xtol=1e-15, maxiter=500))
                    else:
                        x = float(minimize_scalar(lambda z: abs(f(z)), bounds=(lo, hi),
                                                  method="bounded").x)
                    if abs(f(x)) < _TANGENT:
                        roots.append(x)
                        counted += 2
            roots.sort()
        for x in roots:
            i = int(np.argmin(np.abs(grid - x)))
            lo, hi = max(i - 1, 0), min(i + 1, len(grid) - 1)
            if vals[lo] * vals[hi] > 0 and lo < i < hi:
                notes.append(f"a double root at {math.expm1(x):.6%}: the NPV touches zero "
                             f"there without changing sign")
        if (v - counted) % 2:
            notes.append(f"Descartes' rule allows {v} - 2k roots; {counted} found in "
                         f"the range searched, so a root lies outside it")
        elif counted < v:
            notes.append(f"the flows change sign {v} times: up to {v} rates are possible; "
                         f"{counted} found between {math.expm1(-limit):.6%} and "
                         f"{math.expm1(limit):.4g}")
    rates = tuple(sorted(math.expm1(x) for x in roots))
    if not rates:
        return IrrResult("none", (), v, basis, notes=tuple(notes) or (
            "no rate in the range searched makes the NPV zero",))
    if len(rates) > 1:
        return IrrResult("multiple", rates, v, basis, notes=(
            "several rates make the NPV zero: the IRR is not defined; judge the stream by "
            "its NPV at a stated discount rate", *notes))
    residual = _discounted(Decimal(repr(rates[0])), exact_times, amounts)
    return IrrResult("unique", rates, v, basis, residual=residual, notes=tuple(notes))


def irr(flows: Iterable[Any]) -> IrrResult:
    """Internal rate of return per period of periodic cash flows (first at period 0).

    Examples
    --------
    The standard reference: -100, 39, 59, 55, 20 has an IRR of 28.09% (per period).

    >>> result = irr([-100, 39, 59, 55, 20])
    >>> round(result.require(), 4)
    0.2809
    >>> irr([-1000, 2300, -1320]).status  # 10% and 20% both make the NPV zero
    'multiple'
    """
    amounts = _amounts(flows)
    times = np.arange(len(amounts), dtype=float)
    return _solve(times, "periodic", [Decimal(i) for i in range(len(amounts))], amounts)


def xirr(flows: Iterable[tuple[_dt.date, Any]]) -> IrrResult:
    """Annual internal rate of return of dated cash flows, actual/365 (Excel's ``XIRR``).

    Examples
    --------
    Excel's ``XIRR`` documentation example ([Microsoft-XIRR]) gives 37.34% (0.373362535;
    Excel iterates to a tolerance of 0.000001%, the root is 0.3733625335):

    >>> from datetime import date
    >>> flows = [(date(2008, 1, 1), -10000), (date(2008, 3, 1), 2750),
    ...          (date(2008, 10, 30), 4250), (date(2009, 2, 15), 3250),
    ...          (date(2009, 4, 1), 2750)]
    >>> round(xirr(flows).require(), 6)
    0.373363
    """
    dates, amounts = _dated(flows)
    origin = min(dates)
    exact = _year_fractions(dates, origin)
    times = np.array([(d - origin).days / 365.0 for d in dates])
    return _solve(times, "actual/365", exact, amounts)
