"""Payment rules: pure functions from outcomes to exact Decimal amounts.

Each rule takes a :class:`~pbr.contract.components.Component` and an
:class:`~pbr.contract.outcome.Outcome` and returns a :class:`Draft` line: the units, the
unit price, the amount (exact, before rounding) and the steps in words that
``PaymentStatement.explain`` prints.  Nothing here reads files, measures or rounds;
:func:`pbr.contract.pay.pay` composes the rules, applies limits and rounding.

Sources (docs/methodology/payments.md): fee for service and volume bands, binary and
frequency payments, hurdle, clawback: MoJ Straw Man 2013 and Justice Committee HC 1004
([MoJ-StrawMan-2013]) [V]; significance thresholds: MoJ F15.03/F15.05
([MoJ-PbR-Baselines-2011]) [V]/[R]; Peterborough triggers 10% / 7.5% pooled ([Disley-2011])
[V]; Doncaster 5 points and 10% of contract value ([MoJ-Doncaster-2015]) [V]/[V2]; Rikers
tiered schedule ([SVA-Rikers]) [V2].
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from pbr.contract.components import Component
from pbr.contract.outcome import Outcome

__all__ = ["Draft", "Trigger", "at_risk", "fee", "limit", "linear", "pooled_reduction",
           "tiered", "trigger"]

ZERO = Decimal(0)
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Draft:
    """A statement line before numbering, limits and rounding."""

    cohort: str
    component: str
    rule: str
    amount: Decimal
    units: Decimal | None = None
    unit: str = ""
    unit_price: Decimal | None = None
    outcome: Outcome | None = None
    met: bool | None = None
    steps: tuple[str, ...] = ()
    #: rate cards: the outcome type (the line's measure), the participant and the evidence
    measure: str | None = None
    participant: str | None = None
    evidence: str = ""
    #: rate cards: lines of a ring-fenced component (outside the contract's limits)
    ring_fenced: bool = False


@dataclass(frozen=True)
class Trigger:
    """Whether a component's trigger is met for a cohort, and why (in words)."""

    met: bool
    increase: bool
    words: str


def _pct(x: Decimal) -> str:
    return f"{x * HUNDRED:.3f}%"


def pooled_reduction(outcomes: Sequence[Outcome]) -> Decimal:
    """The n-weighted mean relative reduction over cohorts (Peterborough's pooled test).

    ``sum(n_i * r_i) / sum(n_i)`` with ``r_i = (comparator_i - actual_i) / comparator_i``
    ([Disley-2011]: "final cohort = weighted mean of cohorts 1 and 2" [V]; the weights
    are the cohort sizes [I]).

    Examples
    --------
    >>> a = Outcome("1", "per_100", actual=90, comparator=100, n=1000)
    >>> b = Outcome("2", "per_100", actual=95, comparator=100, n=3000)
    >>> pooled_reduction([a, b])
    Decimal('0.0625')
    """
    total = sum((o.n for o in outcomes), 0)
    if total == 0:
        return ZERO
    return sum((o.relative_reduction * o.n for o in outcomes), ZERO) / total


def trigger(c: Component, o: Outcome, pooled: Decimal | None = None) -> Trigger:
    """Apply the component's trigger to an outcome.

    ``relative``: ``(comparator - actual) / comparator >= threshold%``, or, failing that,
    the pooled reduction ``>= pooled_threshold%`` when ``pooled`` is given; ``absolute``:
    ``comparator - actual >= threshold`` points; ``significant``: actual below the lower
    threshold (an increase is actual above the upper threshold); ``none``: any reduction.

    Examples
    --------
    >>> c = Component("x", "linear", measure="per_100", basis="avoided", price=1,
    ...               trigger="relative", threshold=10)
    >>> trigger(c, Outcome("1", "per_100", actual=142, comparator=155, n=1000)).met
    False
    """
    rel, red = o.relative_reduction, o.reduction
    if c.trigger == "none":
        return Trigger(red > 0, red < 0, f"no trigger: {o.change_word} {red} ({_pct(rel)})")
    if c.trigger == "absolute":
        assert c.threshold is not None
        met = red >= c.threshold
        return Trigger(met, red < 0, f"absolute trigger: {o.change_word} {red} points "
                       f"{'>=' if met else '<'} {c.threshold} -> {'met' if met else 'not met'}")
    if c.trigger == "significant":
        if o.lower is None or o.upper is None:
            return Trigger(False, False, "significance trigger: no interval around the "
                           "comparator -> not met")
        low, high = bool(o.significant_reduction), bool(o.significant_increase)
        worse = "decrease" if o.higher_is_better else "increase"
        state = (f"significant {o.change_word}" if low else f"significant {worse}" if high
                 else "within the interval")
        return Trigger(low, high, f"significance trigger: actual {o.actual} vs interval "
                       f"[{o.lower}, {o.upper}] -> {state} -> {'met' if low else 'not met'}")
    assert c.threshold is not None
    threshold = c.threshold / HUNDRED
    met = rel >= threshold
    words = (f"relative trigger: {o.change_word} {_pct(rel)} {'>=' if met else '<'} "
             f"{c.threshold}% -> {'met' if met else 'not met'}")
    if not met and c.pooled_threshold is not None:
        if pooled is None:
            words += (f"; pooled test over {', '.join(c.pooled_over)} not yet possible "
                      "(cohorts missing)")
        else:
            met = pooled >= c.pooled_threshold / HUNDRED
            words += (f"; pooled (n-weighted mean over {', '.join(c.pooled_over)}) "
                      f"{_pct(pooled)} {'>=' if met else '<'} {c.pooled_threshold}% -> "
                      f"{'met' if met else 'not met'}")
    return Trigger(met, rel < 0, words)


def _units(c: Component, o: Outcome) -> tuple[Decimal, str, str]:
    if c.basis == "points":
        return o.reduction, "points", f"{o.reduction} points of {o.change_word}"
    if c.basis == "points_per_offender":
        u = o.reduction * o.n
        return u, "point-offenders", f"{o.reduction} points x {o.n:,} offenders = {u}"
    u = o.avoided
    if o.higher_is_better:
        return u, f"additional {o.unit}", (f"({o.actual} - {o.comparator}) x {o.base_n:,} "
                                           f"participants / {o.scale} = {u} additional "
                                           f"{o.unit}")
    base = "reoffenders" if o.measure == "per_reoffender" else "offenders"
    return u, f"{o.unit} avoided", (f"({o.comparator} - {o.actual}) x {o.base_n:,} {base}"
                                    f" / {o.scale} = {u} {o.unit} avoided")


def linear(c: Component, o: Outcome, t: Trigger) -> Draft:
    """``price`` per unit of reduction when the trigger is met (negative with clawback).

    Examples
    --------
    >>> c = Component("f", "linear", measure="per_reoffender", basis="avoided", price=500)
    >>> o = Outcome("Q1", "per_reoffender", actual=4.0, comparator=4.2, n=1000, base_n=400)
    >>> linear(c, o, trigger(c, o)).amount
    Decimal('40000.0')
    """
    assert c.price is not None
    units, unit, words = _units(c, o)
    steps = [words, t.words]
    if t.met:
        amount = units * c.price
        steps.append(f"pay {units} x {c.price} = {amount}")
    elif t.increase and c.clawback:
        amount = units * c.price
        steps.append(f"increase with clawback: deduct {units} x {c.price} = {amount}")
    else:
        amount = ZERO
        steps.append("trigger not met: nothing paid" if not t.increase else
                     "increase, no clawback in this contract: nothing paid")
    one = (unit.replace("s avoided", " avoided") if unit.endswith("avoided")
           else "additional outcome" if unit.startswith("additional ") else unit[:-1])
    rule = f"linear {c.price} per {one}"
    return _bounded(c, Draft(o.cohort, c.name, rule, amount, units, unit, c.price, o, t.met,
                             tuple(steps)))


def tiered(c: Component, o: Outcome, t: Trigger) -> Draft:
    """The amount of the highest tier whose relative reduction (percent) is reached.

    Nothing below the first tier (Rikers: nothing below 8.5%).  A tiered component may
    also carry a trigger; if it is not met, nothing is paid.

    Examples
    --------
    >>> c = Component("r", "tiered", measure="custody_days_per_offender",
    ...               tiers=[[8.5, 100], [10, 200]])
    >>> o = Outcome("all", "custody_days_per_offender", actual=90.5, comparator=100, n=10)
    >>> tiered(c, o, trigger(c, o)).amount
    Decimal('100')
    """
    pct = o.relative_reduction * HUNDRED
    reached = [(at, amount) for at, amount in c.tiers if pct >= at]
    steps = [f"relative reduction ({o.comparator} - {o.actual}) / {o.comparator} = "
             f"{_pct(o.relative_reduction)}"]
    if c.trigger != "none":
        steps.append(t.words)
    if reached and (c.trigger == "none" or t.met):
        at, amount = reached[-1]
        steps.append(f"highest tier reached: >= {at}% pays {amount}")
    else:
        amount = ZERO
        steps.append(f"below the first tier ({c.tiers[0][0]}%): nothing paid" if not reached
                     else "trigger not met: nothing paid")
    return _bounded(c, Draft(o.cohort, c.name, "tiered schedule", amount, None, "", None, o,
                             bool(reached), tuple(steps)))


def at_risk(c: Component, o: Outcome, t: Trigger) -> Draft:
    """Return ``share`` of the contract ``value`` when the trigger (target) is missed.

    Examples
    --------
    >>> c = Component("d", "at_risk", measure="binary_rate", trigger="absolute",
    ...               threshold=5, value=1000000, share=0.10)
    >>> o = Outcome("2", "binary_rate", actual=54.7, comparator=58.0, n=1000)
    >>> at_risk(c, o, trigger(c, o)).amount
    Decimal('-100000.0')
    """
    assert c.value is not None and c.share is not None
    steps = [t.words]
    if t.met:
        amount = ZERO
        steps.append(f"target met: the {c.share * HUNDRED:.1f}% of {c.value} at risk is kept")
    else:
        amount = -(c.value * c.share)
        steps.append(f"target missed: return {c.share} x {c.value} = {-amount}")
    return _bounded(c, Draft(o.cohort, c.name, f"{c.share * HUNDRED:.1f}% of value at risk",
                             amount, None, "", None, o, t.met, tuple(steps)))


def fee(c: Component, cohort: str, volume: int) -> list[Draft]:
    """Fee for service: ``amount`` x ``periods``, then the volume-band reconciliation.

    A volume above ``band_high`` is paid at ``band_price`` per offender above it, one
    below ``band_low`` clawed back at ``band_price`` per offender below it (methodology
    [MoJ-StrawMan-2013], year-end reconciliation [V]).

    Examples
    --------
    >>> c = Component("fee", "fee", amount=1000, periods=3, band_low=90, band_high=110,
    ...               band_price=10)
    >>> [d.amount for d in fee(c, "Q1", 80)]
    [Decimal('3000'), Decimal('-100')]
    """
    assert c.amount is not None
    schedule = c.amount * c.periods
    out = [Draft(cohort, c.name, "fee for service", schedule, Decimal(c.periods), "periods",
                 c.amount, None, None, (f"{c.periods} periods x {c.amount} = {schedule}",))]
    if c.band_low is not None and c.band_high is not None and c.band_price is not None:
        if volume > c.band_high:
            extra = Decimal(volume - c.band_high)
            words = f"volume {volume:,} above the band's top {c.band_high:,}: pay"
        elif volume < c.band_low:
            extra = Decimal(volume - c.band_low)
            words = f"volume {volume:,} below the band's bottom {c.band_low:,}: claw back"
        else:
            extra = ZERO
            words = f"volume {volume:,} within the band {c.band_low:,}-{c.band_high:,}: nothing"
        amount = extra * c.band_price
        out.append(Draft(cohort, c.name, "volume band reconciliation", amount, extra,
                         "offenders", c.band_price, None, None,
                         (f"{words}; {extra} x {c.band_price} = {amount}",)))
    return out


def _bounded(c: Component, d: Draft) -> Draft:
    amount, steps = d.amount, list(d.steps)
    if c.cap is not None and amount > c.cap:
        steps.append(f"capped at {c.cap} per cohort (from {amount})")
        amount = c.cap
    if c.floor is not None and amount < c.floor:
        steps.append(f"floored at {c.floor} per cohort (from {amount})")
        amount = c.floor
    if amount == d.amount:
        return d
    return dataclasses.replace(d, amount=amount, steps=tuple(steps))


def limit(amounts: Sequence[Decimal], cap: Decimal | None, floor: Decimal | None
          ) -> Decimal:
    """The adjustment that brings ``sum(amounts)`` within ``[floor, cap]`` (0 if inside).

    Examples
    --------
    >>> limit([Decimal(70), Decimal(50)], Decimal(100), None)
    Decimal('-20')
    """
    total = sum(amounts, ZERO)
    if cap is not None and total > cap:
        return cap - total
    if floor is not None and total < floor:
        return floor - total
    return ZERO
