"""Consistency checks of a contract as a whole, and of outcomes against a contract.

A field can be valid on its own and still contradict another (a cap below its floor, two
variations setting the same field on the same day), or need a table the contract lacks
(year caps without the cohorts' contract years).  Each check raises
:class:`~pbr.errors.ContractError` naming every field involved and the fix: pbr never
guesses which of two contradictory terms the parties meant.  Sources: pbr rules,
docs/methodology/payments.md, "What pbr refuses and why".
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any

from pbr.contract.comparator import proportion_suspected
from pbr.contract.outcome import Outcome
from pbr.errors import ContractError

if TYPE_CHECKING:
    from pbr.contract.spec import Contract

__all__ = ["RATE_UNITS", "RATIO", "check_contract", "check_labels", "check_outcomes",
           "check_ratio"]

#: the largest plausible ratio between a cohort's measure and its comparator (pbr rule:
#: a 50-fold difference is a unit slip, e.g. per offender against per 100 offenders)
RATIO = 50

#: the units a contract may declare for its rate fields (``[contract] rate_unit``)
RATE_UNITS = ("percent",)

#: (cap, floor) pairs of the contract-level limits, narrowest scope first
_PAIRS = (("cohort_cap", "cohort_floor"), ("year_cap", "year_floor"),
          ("total_cap", "total_floor"))


def _listed(c: Contract) -> list[str]:
    return [p.name for p in c.periods]


def _needs_cohorts(c: Contract, what: str) -> ContractError:
    return ContractError(f"{what} needs the contract's cohorts: list them under [cohorts] "
                         "period = [{ name = \"2019Q1\", start = 2019-01-01, year = \"2019\" }, "
                         "...] so that every cohort's start date and contract year are known")


def _check_limits_on_the_grid(lim: dict[str, Decimal], places: int) -> None:
    """A floor and a cap with no payable amount between them once the contract rounds.

    Payments are rounded to ``places`` decimals and limits keep them payable: a floor is
    met by rounding up, a cap by rounding down (docs/methodology/payments.md, limits).
    A floor of 0.01 and a cap of 0.04 under rounding to whole pounds leave no whole
    amount between them (the floor needs 1, the cap allows 0), so one of the two would
    be broken; pbr rule: refused, like a floor above its cap.
    """
    q = Decimal(1).scaleb(-places)
    pairs = [*_PAIRS, ("year_cap", "cohort_floor"), ("total_cap", "cohort_floor"),
             ("total_cap", "year_floor")]
    for cap, floor in pairs:
        if cap not in lim or floor not in lim or lim[floor] > lim[cap]:
            continue   # a missing one, or refused above with its own message
        low, high = lim[floor].quantize(q, ROUND_CEILING), lim[cap].quantize(q, ROUND_FLOOR)
        if low > high:
            raise ContractError(
                f"limits.{floor} ({lim[floor]}) exceeds limits.{cap} ({lim[cap]}) once "
                f"payments are rounded to {places} decimal place(s) (rounding.places): the "
                f"floor rounds up to {low}, the cap down to {high}, so no payable amount lies "
                "within both; give the limits in the contract's rounding unit, or round to "
                "more places")


def check_contract(c: Contract) -> None:
    """Contradictions and missing tables across a contract's fields (ContractError)."""
    if c.rate_unit not in RATE_UNITS:
        raise ContractError(f"contract.rate_unit: {c.rate_unit!r} is not supported; pbr "
                            "contracts write every rate (comparator values, absolute "
                            "thresholds, baseline_risk) in percent: rate_unit = \"percent\", "
                            "and 0.28 becomes 28.0")
    if not isinstance(c.provisional, bool):
        raise ContractError(f"contract.provisional: expected true or false, got "
                            f"{c.provisional!r}")
    lim = dict(c.limits)
    for cap, floor in _PAIRS:
        if cap in lim and lim[cap] < 0:
            raise ContractError(f"limits.{cap}: {lim[cap]} is negative; a cap is the most "
                                "paid. To limit a clawback use a negative floor, e.g. "
                                f"{floor} = -50000.00")
        if cap in lim and floor in lim and lim[floor] > lim[cap]:
            raise ContractError(f"limits.{floor} ({lim[floor]}) exceeds limits.{cap} "
                                f"({lim[cap]}): no amount lies within both; lower the floor "
                                "or raise the cap")
    for floor, cap in (("cohort_floor", "year_cap"), ("cohort_floor", "total_cap"),
                       ("year_floor", "total_cap")):
        if floor in lim and cap in lim and lim[floor] > lim[cap]:
            raise ContractError(f"limits.{floor} ({lim[floor]}) exceeds limits.{cap} "
                                f"({lim[cap]}): a {floor.split('_')[0]} paid its floor already "
                                f"breaks the {cap.split('_')[0]} cap; lower the floor or raise "
                                "the cap")
    _check_limits_on_the_grid(lim, c.rounding.places)
    listed = _listed(c)
    years = [k for k in ("year_cap", "year_floor") if k in lim]
    if years:
        if not c.periods:
            raise _needs_cohorts(c, f"limits.{years[0]}")
        missing = [p.name for p in c.periods if p.year is None]
        if missing:
            raise ContractError(f"limits.{years[0]}: cohort(s) {missing} have no contract "
                                "year; add year = \"...\" to each [cohorts] period")
    if c.variations:
        if not c.periods:
            raise _needs_cohorts(c, f"variation {c.variations[0].effective}")
        missing = [p.name for p in c.periods if p.start is None]
        if missing:
            raise ContractError(f"variation {c.variations[0].effective}: cohort(s) {missing} "
                                "have no start date, so pbr cannot tell which terms apply; "
                                "add start = YYYY-MM-DD to each [cohorts] period")
    _check_variations(c)
    for cohort, amount in c.on_account:
        if amount < 0:
            raise ContractError(f"on_account {cohort!r}.amount: {amount} is negative; give "
                                "the amount paid on account (it is deducted), e.g. 10000.00")
        if not c.periods:
            raise _needs_cohorts(c, f"on_account {cohort!r}")
        if cohort not in listed:
            raise ContractError(f"on_account {cohort!r}: no cohort of that name; "
                                f"{_suggest(cohort, listed)}the cohorts are {listed}")
    comp = c.comparator
    if comp is not None and comp.cohort_values:
        for cohort, _ in comp.cohort_values:
            if not c.periods:
                raise _needs_cohorts(c, f"comparator.cohorts.{cohort!r}")
            if cohort not in listed:
                raise ContractError(f"comparator.cohorts.{cohort!r}: no cohort of that name; "
                                    f"{_suggest(cohort, listed)}the cohorts are {listed}")
    for x in c.components:
        for cohort in x.pooled_over:
            if not c.periods:
                raise _needs_cohorts(c, f"component {x.name!r}.pooled_over")
            if cohort not in listed:
                raise ContractError(f"component {x.name!r}.pooled_over: no cohort {cohort!r}; "
                                    f"{_suggest(cohort, listed)}the cohorts are {listed}")
    kinds = {x.name: x.kind for x in c.components}
    for x in c.components:
        if x.hurdle is not None and kinds.get(x.hurdle) == "fee":
            raise ContractError(f"component {x.name!r}.hurdle: {x.hurdle!r} is a fee, which has "
                                "no trigger to meet, so the hurdle would never be passed; name "
                                "an outcome component (e.g. the binary payment)")
    if not isinstance(c.cohort_column, str) or not c.cohort_column:
        raise ContractError(f"cohorts.column: the cohort file's column of cohort labels, "
                            f"e.g. column = \"cohort_period\"; got {c.cohort_column!r}")


def _check_variations(c: Contract) -> None:
    seen: dict[tuple[str, Any, str], Any] = {}
    for v in c.variations:
        for key, value in v.set:
            if key in ("name", "kind"):
                raise ContractError(f"variation {v.effective}.set.{key}: a variation cannot "
                                    f"change a component's {key}; switch it off (active = "
                                    "false) and add a new component instead")
            other = seen.get((v.component, v.effective, key))
            if other is not None:
                raise ContractError(
                    f"variation {v.effective}.set.{key} = {_show(value)} and variation "
                    f"{v.effective}.set.{key} = {_show(other)} both set component "
                    f"{v.component!r}.{key} from the same date; keep one of them")
            seen[(v.component, v.effective, key)] = value
    # the terms in force after each effective date must be valid together
    for when in sorted({v.effective for v in c.variations}):
        try:
            c.terms(when)
        except ContractError as exc:
            raise ContractError(f"variations in force from {when}: {exc}") from None


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value).lower() \
        if isinstance(value, bool) else str(value)


def _suggest(label: str, listed: Sequence[str]) -> str:
    close = difflib.get_close_matches(label, listed, n=1, cutoff=0.6)
    squash = [x for x in listed if x.replace(" ", "").lower() == label.replace(" ", "").lower()]
    found = squash or close
    return f"did you mean {found[0]!r}? " if found else ""


def check_labels(c: Contract, labels: Iterable[str], where: str) -> None:
    """Every cohort label in the data must be one the contract lists (when it lists any).

    A label the contract does not list ("2019 Q1" against "2019Q1") would be paid as an
    extra cohort outside variations, year caps and payments on account.
    """
    listed = _listed(c)
    if not listed:
        return
    extra = sorted(set(map(str, labels)) - set(listed))
    if extra:
        hints = "; ".join(f"{x!r}: {_suggest(x, listed) or 'no close match; '}".rstrip("; ")
                          for x in extra[:10])
        raise ContractError(
            f"{where}: cohort label(s) {extra[:10]} are not cohorts of the contract "
            f"(cohorts.period lists {listed}); {hints}. Fix: relabel the data's cohorts to "
            "the contract's names, or add the cohort to [cohorts] period")


def check_ratio(where: str, actual: Decimal, comparator: Decimal) -> None:
    """A cohort's value and a typed comparator (or a typed outcome) must not differ more
    than :data:`RATIO`-fold: such a gap is a unit slip (pbr rule)."""
    if actual > 0 and comparator > 0 and (actual > RATIO * comparator
                                          or comparator > RATIO * actual):
        raise ContractError(
            f"{where}: actual {actual} against comparator {comparator} differ more than "
            f"{RATIO}-fold, which reads as a unit slip, not an outcome: rates are in percent "
            "(28.0 for 28%), per_100 per 100 offenders (155 for 1.55 per offender), "
            "per_offender and per_reoffender per head. Fix the value to the measure's unit")


def check_outcomes(c: Contract, outcomes: Sequence[Outcome]) -> None:
    """Outcomes against the contract: listed cohorts, rate units, provisional figures."""
    check_labels(c, (o.cohort for o in outcomes), "outcomes")
    for o in outcomes:
        where = f"outcome {o.cohort!r} {o.measure}"
        if c.periods:
            period = c.period(o.cohort)
            for name in ("start", "year"):
                mine, theirs = getattr(period, name), getattr(o, name)
                if mine is not None and theirs is not None and mine != theirs:
                    raise ContractError(f"{where}.{name}: {theirs} differs from the contract's "
                                        f"cohorts.period {o.cohort!r}.{name} ({mine}); leave "
                                        f"it out (the contract's is used) or correct it")
        if proportion_suspected(o.measure, o.comparator):
            raise ContractError(f"{where}.comparator: {o.comparator} reads as a proportion, "
                                "but rates are in percent (rate_unit = \"percent\"): give "
                                f"{o.comparator * 100} for {o.comparator * 100}%")
        if o.source == "given" and proportion_suspected(o.measure, o.actual) \
                and o.comparator >= 10 * o.actual:
            raise ContractError(f"{where}.actual: {o.actual} against a comparator of "
                                f"{o.comparator} reads as a proportion, but rates are in "
                                f"percent: give {o.actual * 100} for {o.actual * 100}%")
        if o.source == "given":
            check_ratio(where, o.actual, o.comparator)
        if o.measure == "serious_rate" and 0 < o.comparator <= 1 and o.actual > 1 \
                and o.actual >= 10 * o.comparator:
            raise ContractError(f"{where}.comparator: {o.comparator} against a measured "
                                f"{o.actual}% reads as a proportion, but rates are in "
                                f"percent: give {o.comparator * 100} for "
                                f"{o.comparator * 100}%")
    provisional = sorted({o.cohort for o in outcomes if o.provisional})
    if provisional and not c.provisional:
        raise ContractError(
            f"outcomes: cohort(s) {provisional} rest on follow-up windows that have not "
            "closed (provisional figures), and the contract does not allow provisional "
            "payments. Fix: pay once the windows have closed (a later data extract), or set "
            "provisional = true under [contract] to pay lines marked provisional")
