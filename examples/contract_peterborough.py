"""Peterborough SIB: the 10% cohort trigger and the 7.5% pooled trigger ([Disley-2011]).

Cohort 1 (published): 142 reconviction events per 100 against 155 per 100 in the matched
comparison group, a reduction of 8.4%, below the 10% trigger: nothing is paid early.
Final (published): the reduction over cohorts 1 and 2 was 9%, above 7.5%: the pilot
pays.  Cohort 2's own figures are not in the sources read; they are derived [I] so that
the n-weighted mean of the two cohorts' reductions is the published 9.0%.  The price per
event avoided is illustrative (not public).  Then the same contract runs end to end on
synthetic data with a propensity-score-matched comparison group from ``pbr.match``
(measure -> compare -> pay).

Investor view (``pbr.finance``): Social Finance raised GBP 5m from 17 trusts and
foundations in 2010 [V] and in July 2017 the investors received one payment returning
their capital plus just over 3% a year [V] ([Peterborough-Final-2017],
[SocialFinance-Peterborough]).  The drawdown dates and amounts are not in the sources
read: here the GBP 5m is drawn in four equal tranches from the pilot's start (9 September
2010) and spent on the service [I]; the single payment on 27 July 2017 is the amount that
gives 3.0% a year (actual/365) [I].  The payment set against the conviction events
avoided in the two cohorts above gives the price per event and the saving per event at
which the payer breaks even [I]; the statement's own GBP 1,000 per event is illustrative.

Run: ``python examples/contract_peterborough.py``
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import polars as pl

import pbr
from pbr.contract import Outcome, PaymentStatement, pay, run_contract
from pbr.contract.rules import pooled_reduction
from pbr.finance import ImpactBond, appraise, flows_from_statements, to_indigo

CONTRACT = Path(__file__).parent / "contracts" / "peterborough_sib.toml"


def main() -> dict[str, Decimal]:
    contract = pbr.io.read_contract(CONTRACT)
    cohort1 = Outcome("cohort 1", "per_100", actual=142, comparator=155, n=1000,
                      source="published: MoJ, Aug 2014", unit_name="conviction events")
    # PB-C1: (155 - 142) / 155 = 8.387% -> "8.4%", below 10%: no early payment
    assert round(cohort1.relative_reduction * 100, 1) == Decimal("8.4")
    early = pay(contract, [cohort1])
    print(early, end="\n\n")
    print(early.explain("L1"), end="\n\n")
    assert early.total == 0

    # PB-FINAL: pooled 9% >= 7.5% -> pays (cohort 2 derived so that the pooled mean is 9.0%)
    cohort2 = Outcome("cohort 2", "per_100", actual=Decimal("135.58"), comparator=150, n=1000,
                      source="derived [I]: pooled with cohort 1 gives the published 9%",
                      unit_name="conviction events")
    assert round(pooled_reduction([cohort1, cohort2]) * 100, 1) == Decimal("9.0")
    final = pay(contract, [cohort1, cohort2])
    print(final, end="\n\n")
    print(final.explain("L2"), end="\n\n")
    # 13 events per 100 x 1,000 / 100 = 130 events; 14.42 x 10 = 144.2 events; x GBP 1,000
    assert [x.amount for x in final.lines] == [Decimal("130000.00"), Decimal("144200.00")]
    assert final.total == Decimal("274200.00")

    # end to end on synthetic data: a PSM comparison group (pbr.match, 1:2 with
    # replacement, exact on cohort), its ATT weights in the contract's weight column
    data = pbr.synth.generate(3000, seed=5)
    cohort = data.cohort.with_columns(
        pl.when(pl.col("cohort_period") <= "2019Q2").then(pl.lit("cohort 1"))
        .otherwise(pl.lit("cohort 2")).alias("cohort"),
        pl.col("treated").alias("peterborough"))
    matched = pbr.match(cohort, "peterborough", ["age", "sex", "prior_sanctions",
                                                 "age_first_sanction", "offence_category"],
                        exact=["cohort"], distance="logit", caliper=0.2, ratio=2,
                        replace=True, seed=1)
    print(matched, end="\n\n")
    cohort = matched.frame.filter(pl.col("peterborough") | (pl.col("weight") > 0))
    run = run_contract(contract, cohort, data.events)
    print(run.statement)
    assert run.statement.total == sum(x.amount for x in run.statement.lines)
    investor = investor_view(final)
    return {"early": early.total, "final": final.total, "synthetic": run.statement.total,
            **investor}


CAPITAL = Decimal(5_000_000)  # raised in 2010 from 17 trusts and foundations [V]
TRANCHES = [dt.date(2010 + i, 9, 9) for i in range(4)]  # drawdown dates [I]
PAID = dt.date(2017, 7, 27)  # the final result and the investors' payment [V]


def investor_view(final: PaymentStatement) -> dict[str, Decimal]:
    """The investors' and the Ministry's view of the bond (see the module docstring)."""
    tranche = CAPITAL / len(TRANCHES)
    # the one payment that returns the capital with 3.0% a year, to the penny [I]
    payment = sum((tranche * Decimal("1.03") ** (Decimal((PAID - d).days) / 365)
                   for d in TRANCHES), Decimal(0)).quantize(Decimal("0.01"))
    bond = ImpactBond.build(
        "HMP Peterborough SIB (published capital and return; flows illustrative)", "GBP",
        commitment=CAPITAL, drawdowns=[(d, tranche, "tranche [I]") for d in TRANCHES],
        service_costs=[(d, tranche, "One Service [I]") for d in TRANCHES],
        outcome_payments=[(PAID, payment, "final payment [I]", "[Peterborough-Final-2017]")])
    events = sum((x.units or Decimal(0) for x in final.lines), Decimal(0))  # 274.2 avoided
    view = appraise(bond, discount_rate="0.035", outcomes=events, savings_per_outcome=0,
                    outcome_unit="conviction events avoided")
    print(view, end="\n\n")
    print(view.explain("irr"), end="\n\n")
    assert round(view.irr.require(), 6) == 0.03  # "just over 3% a year" [V]
    assert view.multiple == Decimal("1.1731") and payment == Decimal("5865670.24")
    assert view.payer is not None
    per_event = view.payer.cost_per_outcome  # the price per event avoided it implies [I]
    assert per_event == Decimal("21391.94")
    # the payer breaks even (undiscounted) when an event avoided saves this much
    even = appraise(bond, outcomes=events, savings_per_outcome=per_event,
                    outcome_unit="conviction events avoided")
    assert even.payer is not None and abs(even.payer.net) < Decimal("0.01") * events
    print(even.explain("payer"), end="\n\n")
    # the same bond paid from the statement at its illustrative GBP 1,000 per event
    illustrative = bond.with_outcome_payments(flows_from_statements({PAID: final}))
    loss = appraise(illustrative)
    assert loss.returned == final.total and loss.multiple == Decimal("0.0548")
    doc = to_indigo(bond, appraisal=view, statements={PAID: final}, stage="Complete",
                    jurisdiction="GB", capital_type="Equity")
    assert doc["overall_project_finance"]["investor_repayment"]["value"] == (
        "Principal + positive financial returns")
    return {"investor_payment": payment, "price_per_event": per_event,
            "illustrative_multiple": loss.multiple or Decimal(0)}


if __name__ == "__main__":
    main()
