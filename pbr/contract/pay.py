"""``pay(contract, outcomes)``: the payment engine.

The engine composes the pure rules of :mod:`pbr.contract.rules` in a fixed order:

1. for each cohort (in the contract's period order, then as given), the components in
   force for the cohort's start date (contract variations applied), in contract order:
   hurdles, triggers (the pooled test over ``pooled_over``), the rule, the per-cohort
   cap and floor of the component;
2. rounding per line (``rounding.point = "line"``);
3. contract limits: per cohort, per year, over the contract (adjustment lines; caps
   round down and floors round up, so a cap is never exceeded);
   rate cards (``events=``): one line per outcome claim (:mod:`pbr.contract.ratecard`),
   counted in the contract's limits unless their component is ring-fenced;
4. payments on account, deducted (unless an earlier statement, ``prior``, did);
5. rounding of the total (``rounding.point = "total"``) as a line of its own.

With ``prior`` (earlier statements or a :class:`~pbr.contract.ledger.PaymentLedger`)
the year and contract limits of step 3 and the rounding of step 5 count what the
earlier statements paid, so that statements run one period at a time respect every cap,
floor and payment on account, and add up to one statement over all the periods.

All arithmetic is Decimal in a fixed context (34 digits, half-even for intermediate
results), so the result never depends on the caller's decimal context.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterable, Mapping
from decimal import (
    ROUND_CEILING,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    InvalidOperation,
    localcontext,
)
from typing import Any

from pbr.contract.checks import check_labels, check_outcomes
from pbr.contract.ledger import PaymentLedger
from pbr.contract.outcome import Outcome
from pbr.contract.prior import as_ledger, check_prior
from pbr.contract.ratecard import NO_COHORT, rate_card_drafts
from pbr.contract.rules import Draft, at_risk, fee, limit, linear, pooled_reduction, tiered, trigger
from pbr.contract.spec import Contract, Variation
from pbr.contract.statement import Line, PaymentStatement
from pbr.errors import ContractError, ProvisionalWarning
from pbr.outcomes import OutcomeAssessment

__all__ = ["CONTEXT", "pay"]

#: the decimal context of every payment calculation
CONTEXT = Context(prec=34, rounding=ROUND_HALF_EVEN)
ZERO = Decimal(0)
_RULES = {"linear": linear, "tiered": tiered, "at_risk": at_risk}


def pay(contract: Contract, outcomes: Iterable[Outcome] = (), *,
        provenance: Mapping[str, Any] | None = None,
        prior: PaymentLedger | PaymentStatement | Iterable[PaymentStatement] | None = None,
        notes: Iterable[str] = (),
        events: OutcomeAssessment | None = None) -> PaymentStatement:
    """Apply a contract's payment components to per-cohort outcomes.

    Parameters
    ----------
    contract
        The :class:`~pbr.contract.spec.Contract`.
    outcomes
        One :class:`~pbr.contract.outcome.Outcome` per cohort and measure the
        components use (from :func:`~pbr.contract.run.run_contract`, or published
        figures).  Their cohorts must be cohorts the contract lists (when it lists any);
        rates are in percent; a provisional outcome needs a contract with
        ``provisional = true``.
    provenance
        Recorded on the statement (version, hashes of the inputs).
    prior
        What was already paid under the contract: earlier statements, or a
        :class:`~pbr.contract.ledger.PaymentLedger`.  Year and total caps and floors then
        hold over the earlier runs and this one together (the adjustment is what the
        limit needs over all the outcome payments so far, less the adjustments already
        made), a payment on account already deducted is not deducted again, and the
        rounding of the total carries over, so the runs add up to what one run over all
        the cohorts pays.  A cohort already paid cannot be paid again.
    notes
        Remarks to keep in the statement's record (e.g. the measure's warnings).
    events
        The outcome claims checked against their evidence rules
        (:func:`pbr.outcomes.assess`), for the contract's ``rate_card`` components: one
        line per claim, paid or unpaid with the reason (:mod:`pbr.contract.ratecard`).
        A contract of rate cards alone needs no ``outcomes``.

    Returns
    -------
    PaymentStatement

    Raises
    ------
    ContractError
        Outcomes for cohorts the contract does not list, rates in the wrong unit,
        provisional outcomes the contract does not allow, a ``prior`` that does not
        belong to this contract or already pays a cohort given here.

    Examples
    --------
    Peterborough cohort 1 ([MoJ-PbR-News-2014]): 142 vs 155 events per 100 is an
    8.4% reduction, below the 10% trigger, so nothing is paid early.

    >>> from pbr.contract import CohortPeriod, Component, Contract, Outcome
    >>> c = Contract("Peterborough", periods=(CohortPeriod("cohort 1"),
    ...     CohortPeriod("cohort 2")), components=(Component(
    ...     "events", "linear", measure="per_100", basis="avoided", price=1000,
    ...     trigger="relative", threshold=10, pooled_threshold=7.5,
    ...     pooled_over=("cohort 1", "cohort 2")),))
    >>> s = pay(c, [Outcome("cohort 1", "per_100", actual=142, comparator=155, n=1000)])
    >>> s.total
    Decimal('0.00')
    """
    outcomes = list(outcomes)
    cards = [c.name for c in contract.components if c.kind == "rate_card"]
    if cards and events is None:
        raise ContractError(f"events: component(s) {cards} are rate cards, paid on outcome "
                            "events; give events= (pbr.outcomes.assess of the outcome events "
                            "and the participants; pbr pay --outcomes FILE)")
    if events is not None and not isinstance(events, OutcomeAssessment):
        raise ContractError(f"events: expected a pbr.outcomes.OutcomeAssessment (from "
                            f"pbr.outcomes.assess), got {type(events).__name__}")
    if events is not None:
        differ = [d.name for d in contract.outcome_definitions
                  if events.definitions.get(d.name) != d]
        if differ:
            raise ContractError(f"events: the claims were assessed without the contract's "
                                f"definition(s) of {differ}; assess them with "
                                "outcome_types=contract.outcome_types()")
    others = [c.name for c in contract.components if c.kind != "rate_card"]
    if not outcomes and events is not None and others:
        raise ContractError(f"outcomes: none given, but component(s) {others} are paid per "
                            "cohort on the reoffending outcomes; give one Outcome per cohort "
                            "and measure as well as the events")
    if not outcomes and events is None:
        raise ContractError("outcomes: none given, so there is nothing to pay (a statement of "
                            "0.00 would look like a result); give one Outcome per cohort and "
                            "measure, or check that the cohort is not empty")
    for o in outcomes:
        if not isinstance(o, Outcome):
            raise ContractError(f"outcomes: expected Outcome objects, got {o!r}")
    check_outcomes(contract, outcomes)
    ledger = as_ledger(prior)
    check_prior(contract, ledger, outcomes)
    if events is not None and ledger.entries:
        raise ContractError("prior: a statement with rate cards counts its participant, "
                            "outcome and programme caps over the claims it is given; earlier "
                            "statements cannot be carried in. Pay the programme's claims to "
                            "date in one statement (without prior)")
    kept = [str(n) for n in notes]
    try:
        with localcontext(CONTEXT):
            drafts, years, applied = _drafts(contract, outcomes)
            if events is not None:
                carded, card_notes = rate_card_drafts(contract, events)
                labels = {d.cohort for d in carded} - {NO_COHORT}
                check_labels(contract, labels, "participants.cohort")
                for label in labels:
                    year = contract.period(label).year
                    if year is not None:
                        years[label] = year
                drafts += carded
                kept += card_notes
            r = contract.rounding
            if r.point == "line":
                drafts = [_rounded(d, r.round(d.amount)) for d in drafts]
            drafts += _limits(contract, drafts, years, ledger)
            cohorts = {d.cohort for d in drafts}
            deducted = {e.cohort for e in ledger.entries if e.kind == "on_account"}
            for cohort, amount in contract.on_account:
                if cohort in cohorts and cohort in deducted:
                    kept.append(f"on account {cohort}: {amount} already deducted in an earlier "
                                "statement (prior); not deducted again")
                elif cohort in cohorts:
                    drafts.append(Draft(cohort, "on account", "less paid on account", -amount,
                                        steps=(f"paid on account {amount}, deducted",)))
            summed = sum((d.amount for d in drafts), ZERO)
            before = sum((e.amount for e in ledger.entries if e.kind != "rounding"), ZERO)
            rounded_before = sum((e.amount for e in ledger.entries), ZERO)
            total = r.round(before + summed) - rounded_before
            if total != summed:
                carried = (f"; with the earlier statements' lines {before} (prior), whose "
                           f"totals came to {rounded_before}" if ledger.entries else "")
                drafts.append(Draft("(all)", "rounding", f"rounding of the total ({r.mode})",
                                    total - summed,
                                    steps=(f"sum of lines {summed}{carried}, rounded "
                                           f"{r.mode} to {r.places} places: this statement "
                                           f"{total}",)))
    except InvalidOperation:  # pragma: no cover (inputs are bounded by as_decimal)
        raise ContractError("pay: an amount exceeds the decimal precision (34 digits); check "
                            "prices, values and outcomes for a misplaced unit") from None
    marked = _provisional(drafts, {o.cohort for o in outcomes if o.provisional}, years)
    lines = tuple(_line(i, d, years, p) for i, (d, p) in enumerate(zip(drafts, marked,
                                                                       strict=True), 1))
    varied = [f"{v.component}: varied from {v.effective}: "
              + ", ".join(f"{k} = {x}" for k, x in v.set) + (f" ({v.note})" if v.note else "")
              for v in contract.variations if v in applied]
    if any(marked):
        which = [x.line for x in lines if x.provisional]
        shown = ", ".join(which[:12]) + (f" and {len(which) - 12} more" if len(which) > 12
                                         else "")
        text = (f"provisional: lines {shown} rest on follow-up windows that had not closed "
                "by the data extract date; they are an estimate, to be replaced by the "
                "final statement once the windows close")
        warnings.warn(text, ProvisionalWarning, stacklevel=2)
        kept.append(text)
    record = dict(provenance or {})
    if events is not None:
        record.setdefault("outcome_events", dict(events.provenance))
    return PaymentStatement(contract.name, contract.version, contract.currency, lines, total,
                            contract.rounding, (*varied, *kept), record)


def _provisional(drafts: list[Draft], cohorts: set[str], years: dict[str, str]) -> list[bool]:
    """Which lines rest on provisional outcomes: the cohorts' own lines, the limits of
    their year and of the contract, and the rounding of a statement holding any."""
    if not cohorts:
        return [False] * len(drafts)
    open_years = {years[c] for c in cohorts if c in years}
    out = []
    for d in drafts:
        if d.component == "on account" or d.participant is not None:
            out.append(False)    # a payment on account, or an outcome claim on evidence
        elif d.cohort in cohorts or d.cohort == "(all)":
            out.append(True)
        else:
            out.append(d.cohort.startswith("year ") and years.get(d.cohort) in open_years)
    return out


def _order(contract: Contract, outcomes: list[Outcome]) -> list[str]:
    seen = list(dict.fromkeys(o.cohort for o in outcomes))
    listed = [p.name for p in contract.periods if p.name in seen]
    return listed + [c for c in seen if c not in listed]


def _drafts(contract: Contract, outcomes: list[Outcome]
            ) -> tuple[list[Draft], dict[str, str], set[Variation]]:
    by_key: dict[tuple[str, str, str | None], Outcome] = {}
    for o in outcomes:
        if (o.cohort, o.measure, o.subgroup) in by_key:
            raise ContractError(f"outcomes: two outcomes for cohort {o.cohort!r} and measure "
                                f"{o.measure!r}"
                                + (f" (subgroup {o.subgroup})" if o.subgroup else "")
                                + "; give one per cohort and measure")
        by_key[(o.cohort, o.measure, o.subgroup)] = o
    pooled: dict[str, Decimal] = {}
    for c in contract.components:
        group = [by_key.get((k, c.measure or "", c.subgroup_label)) for k in c.pooled_over]
        if c.pooled_threshold is not None and all(g is not None for g in group):
            pooled[c.name] = pooled_reduction([g for g in group if g is not None])
    drafts: list[Draft] = []
    years: dict[str, str] = {}
    met: dict[tuple[str, str], bool] = {}
    used: set[Variation] = set()
    for cohort in _order(contract, outcomes):
        mine = [o for o in outcomes if o.cohort == cohort]
        period = contract.period(cohort)
        start = period.start or mine[0].start
        year = period.year or mine[0].year
        if year is not None:
            years[cohort] = year
        for comp, applied in contract.terms(start):
            if comp.kind == "rate_card":     # paid per claim (ratecard.py), not per cohort
                continue
            varied = tuple(f"as varied from {v.effective}" for v in applied)
            used.update(applied)
            if not comp.active:
                drafts.append(Draft(cohort, comp.name, "not in force", ZERO,
                                    steps=(*varied, "component switched off: nothing paid")))
                continue
            if comp.kind == "fee":
                whole = [o.n for o in mine if o.subgroup is None] or [o.n for o in mine]
                drafts += [_with(d, varied) for d in fee(comp, cohort, max(whole))]
                continue
            found = by_key.get((cohort, comp.measure or "", comp.subgroup_label))
            if found is None:
                sub = (f" of subgroup {comp.subgroup_label!r} (an Outcome with subgroup="
                       f"{comp.subgroup_label!r})" if comp.subgroup_label else "")
                raise ContractError(f"outcomes: component {comp.name!r} needs measure "
                                    f"{comp.measure!r}{sub} for cohort {cohort!r}; none given")
            o = found
            if comp.subgroup_label is not None:
                varied = (*varied, f"subgroup {comp.subgroup_label}: the outcome of the "
                          f"cohort's {o.n:,} members in it")
            if comp.hurdle is not None and not met.get((comp.hurdle, cohort), False):
                met[(comp.name, cohort)] = False
                drafts.append(Draft(cohort, comp.name, f"hurdle {comp.hurdle!r} not met", ZERO,
                                    outcome=o, met=False,
                                    steps=(*varied, f"hurdle: component {comp.hurdle!r} did "
                                           "not meet its trigger for this cohort: nothing paid")))
                continue
            if comp.trigger == "significant" and (o.lower is None or o.upper is None):
                raise ContractError(
                    f"component {comp.name!r}.trigger = \"significant\" needs the thresholds "
                    f"around the comparator, but outcome {cohort!r} {o.measure} has no lower "
                    "and upper: set comparator.significance_z (e.g. 1.96) for a measured run, "
                    "or give lower= and upper= to the Outcome; without them the trigger could "
                    "never be met and nothing would be paid")
            t = trigger(comp, o, pooled.get(comp.name))
            met[(comp.name, cohort)] = t.met
            drafts.append(_with(_RULES[comp.kind](comp, o, t), varied))
    return drafts, years, used


def _with(d: Draft, steps: tuple[str, ...]) -> Draft:
    if not steps:
        return d
    return dataclasses.replace(d, steps=(*steps, *d.steps))


def _rounded(d: Draft, amount: Decimal) -> Draft:
    steps = d.steps if amount == d.amount else (*d.steps, f"{d.amount} rounded to {amount}")
    return dataclasses.replace(d, amount=amount, steps=steps)


def _limits(contract: Contract, drafts: list[Draft], years: dict[str, str],
            ledger: PaymentLedger) -> list[Draft]:
    """Cap/floor adjustments per cohort, per year and over the contract.

    With earlier statements (``ledger``), a year's or the contract's adjustment is what
    the limit needs over the earlier outcome payments and this run's together, less the
    adjustments the earlier statements already made for the same limit.
    """
    lim = dict(contract.limits)
    q = contract.rounding.quantum if contract.rounding.point == "line" else None
    paid = [d for d in drafts if not d.rule.startswith(("fee", "volume")) and not d.ring_fenced]
    fees = {c.name for c in contract.components if c.kind == "fee"}
    # earlier outcome payments (component lines other than fees) and their adjustments
    before = [e for e in ledger.entries
              if (e.kind == "component" and e.component not in fees) or e.kind == "limit"]
    out: list[Draft] = []

    def adjust(scope: str, label: str, group: list[Decimal], earlier: list[Decimal],
               made: Decimal, cap_key: str, floor_key: str) -> None:
        needed = limit([*earlier, *group], lim.get(cap_key), lim.get(floor_key))
        if q is not None and needed != 0:
            needed = needed.quantize(q, rounding=ROUND_FLOOR if needed < 0 else ROUND_CEILING)
        delta = needed - made
        if delta == 0:
            return
        key = (cap_key if needed < 0 else floor_key if needed > 0
               else cap_key if made < 0 else floor_key)
        now = sum(group, ZERO)
        words = f"outcome payments for {label}: {now}"
        if earlier or made:
            words += (f" in this statement + {sum(earlier, ZERO)} in earlier statements "
                      f"(prior) = {now + sum(earlier, ZERO)}")
        words += f"; {key.replace('_', ' ')} {lim[key]}: adjustment needed {needed}"
        if made:
            words += f", less {made} already adjusted in earlier statements = {delta}"
        out.append(Draft(scope, f"limit {key}", f"{key.replace('_', ' ')} {lim[key]}", delta,
                         steps=(words,)))

    if "cohort_cap" in lim or "cohort_floor" in lim:
        for cohort in dict.fromkeys(d.cohort for d in paid):
            adjust(cohort, f"cohort {cohort}", [d.amount for d in paid if d.cohort == cohort],
                   [], ZERO, "cohort_cap", "cohort_floor")
    if "year_cap" in lim or "year_floor" in lim:
        for year in dict.fromkeys(years[d.cohort] for d in paid if d.cohort in years):
            group = [d.amount for d in [*paid, *out] if years.get(d.cohort) == year]
            mine = [e for e in before if e.year == year]
            year_lines = [e for e in mine if e.component in ("limit year_cap",
                                                              "limit year_floor")]
            earlier = [e.amount for e in mine if e not in year_lines]
            made = sum((e.amount for e in year_lines), ZERO)
            n_out = len(out)
            adjust(f"year {year}", f"year {year}", group, earlier, made, "year_cap",
                   "year_floor")
            if len(out) > n_out:
                years[f"year {year}"] = year
    if "total_cap" in lim or "total_floor" in lim:
        total_lines = [e for e in before if e.component in ("limit total_cap",
                                                             "limit total_floor")]
        adjust("(all)", "the contract", [d.amount for d in [*paid, *out]],
               [e.amount for e in before if e not in total_lines],
               sum((e.amount for e in total_lines), ZERO), "total_cap", "total_floor")
    return out


def _line(i: int, d: Draft, years: dict[str, str], provisional: bool = False) -> Line:
    o = d.outcome
    kind = ("on_account" if d.component == "on account" else "rounding"
            if d.component == "rounding" else "limit" if d.component.startswith("limit ")
            else "component")
    common: dict[str, Any] = dict(
        line=f"L{i}", cohort=d.cohort, component=d.component, rule=d.rule, amount=d.amount,
        kind=kind, year=years.get(d.cohort), units=d.units, unit=d.unit,
        unit_price=d.unit_price, steps=d.steps, provisional=provisional,
        measure=d.measure, participant=d.participant, evidence=d.evidence)
    if o is not None:
        common.update(measure=o.measure, baseline=o.comparator, actual=o.actual,
                      difference=o.difference, lower=o.lower, upper=o.upper, n=o.n,
                      counts=o.counts, source=o.source)
    return Line(**common)
