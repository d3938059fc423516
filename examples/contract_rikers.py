"""Rikers Island ABLE: the tiered schedule on recidivism bed days (methodology 8.1, 9.7).

The schedule pays nothing below an 8.5% reduction in jail days after release, and steps
up from there: at 10% the City repays the $9.6m loan (the investor's break-even, RK-2),
at 20% the investor earns 5.1% a year (RK-3), with a maximum profit of $2.2m.  The tier
amounts are derived from the published IRRs [I] (one payment after 4 years); this
example checks them against the IRR table, then walks the schedule.  The evaluation
found no significant reduction and the 10% threshold was not met [V]: the programme
ended in August 2015.  Then the contract runs end to end on synthetic custody spells.

Run: ``python examples/contract_rikers.py``
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl

import pbr
from pbr.contract import Outcome, pay, run_contract

CONTRACT = Path(__file__).parent / "contracts" / "rikers_able.toml"
LOAN = Decimal(9_600_000)
IRR = {Decimal(10): "0", Decimal(11): "0.012", Decimal(12): "0.015", Decimal(13): "0.019",
       Decimal(16): "0.033", Decimal(20): "0.051"}  # SVA case study [V2]


def main() -> dict[str, Decimal]:
    contract = pbr.io.read_contract(CONTRACT)
    tiers = dict(contract.components[0].tiers)
    for reduction, irr in IRR.items():  # tier amount = loan x (1 + IRR)^4, to the dollar
        assert tiers[reduction] == (LOAN * (1 + Decimal(irr)) ** 4).quantize(Decimal(1))
    assert tiers[Decimal(20)] - LOAN <= Decimal(2_200_000)  # maximum profit $2.2m
    # bed days per participant against a comparison of 100 days (illustrative scale)
    walk = {"8.4%": "91.6", "8.5%": "91.5", "10%": "90", "14%": "86", "20%": "80"}
    paid = {}
    for label, days in walk.items():
        outcome = Outcome(label, "custody_days_per_offender", actual=Decimal(days),
                          comparator=100, n=1000, source="illustrative reduction")
        statement = pay(contract, [outcome])
        paid[label] = statement.total
        print(statement.explain("L1"), end="\n\n")
    print(statement)
    assert paid["8.4%"] == 0  # RK-1: below 8.5% no City payment
    assert paid["10%"] == LOAN  # RK-2: break-even
    assert paid["14%"] == tiers[Decimal(13)]  # steps, not interpolation
    assert paid["20%"] == tiers[Decimal(20)]  # RK-3
    # end to end on synthetic data: jail days after release from the custody spells,
    # the programme group against the rest (illustrative, not a matched comparison)
    data = pbr.synth.generate(3000, seed=8)
    cohort = data.cohort.with_columns(pl.lit("all").alias("cohort"),
                                      pl.col("treated").alias("able"))
    run = run_contract(contract, cohort, data.events, custody=data.custody)
    print(run.statement.explain("L1"))
    outcome = run.outcomes[0]
    days = run.result.frame.group_by("able").agg(pl.col("custody_days").mean())
    assert float(outcome.actual) == round(days.filter(pl.col("able"))["custody_days"][0], 6)
    return paid


if __name__ == "__main__":
    main()
