"""Rikers Island ABLE: the tiered schedule on recidivism bed days ([SVA-Rikers], docs/sources.md).

The schedule pays nothing below an 8.5% reduction in jail days after release, and steps
up from there: at 10% the City repays the $9.6m loan (the investor's break-even, RK-2),
at 20% the investor earns 5.1% a year (RK-3), with a maximum profit of $2.2m.  The tier
amounts are derived from the published IRRs [I] (one payment after 4 years); this
example checks them against the IRR table, then walks the schedule.  The evaluation
found no significant reduction and the 10% threshold was not met [V]: the programme
ended in August 2015.  Then the scheme runs end to end on synthetic custody spells with
its difference-in-differences comparison (``pbr.scheme("rikers_able").run``: the
programme group's change in bed days against a comparison group's change over the same
years), and the contract pays on the outcome.

Investor view (``pbr.finance``): Goldman Sachs lent MDRC $9.6m as a multiple-draw term
loan; Bloomberg Philanthropies guaranteed $7.2m of it [V] ([MDRC-Rikers-2013],
[Olson-Phillips-2013]).  As designed, the investor's IRR on each tier of the schedule
(one payment four years after a single drawdown, periodic) reproduces the published
table.  As it ended, the City paid nothing, Bloomberg Philanthropies paid $6m under the
guarantee and Goldman Sachs lost $1.2m [V2] ([PhilanthropyNY-2015]): $7.2m drawn [I];
the drawdown dates are not in the sources read (three equal annual draws from September
2012 [I]) and the guarantee is taken as paid at the programme's end, 31 August 2015 [I].

Run: ``python examples/contract_rikers.py``
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl

import pbr
from pbr.contract import Outcome, pay
from pbr.finance import ImpactBond, appraise, to_indigo

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
    # end to end on synthetic data, as the evaluation was designed ([MDRC-Rikers-2013] [V]):
    # the change in the programme group's jail days after release between a year before
    # and the programme year, against the change in a comparison group over the same
    # years (the 19-year-olds, who were not eligible): a difference in differences, which
    # removes the trend both groups share.  Synthetic releases over two years stand in:
    # the younger third is the programme group, the next third the comparison group.
    data = pbr.synth.generate(3000, seed=8, quarters=8)
    year = pl.when(pl.col("index_date") < date(2020, 1, 1)).then(pl.lit("before")) \
        .otherwise(pl.lit("after"))
    group = pl.when(pl.col("age") <= 26).then(pl.lit("programme")) \
        .when(pl.col("age") <= 34).then(pl.lit("comparison"))
    cohort = data.cohort.with_columns(year.alias("year"), group.alias("group"))
    part = {(g, y): cohort.filter((pl.col("group") == g) & (pl.col("year") == y))
            for g in ("programme", "comparison") for y in ("before", "after")}
    run = pbr.scheme("rikers_able").run(
        part["programme", "after"], data.events, custody=data.custody,
        comparison=part["comparison", "after"], before=part["programme", "before"],
        comparator_before=part["comparison", "before"],
        as_of=data.events["disposal_date"].max())
    print(run.explain(), end="\n\n")
    measured = {("programme", "after"): run.result, ("comparison", "after"):
                run.inputs["comparison"], ("programme", "before"): run.inputs["before"],
                ("comparison", "before"): run.inputs["comparator_before"]}
    days = {key: res.summary()["custody_days_per_offender"][0]
            for key, res in measured.items()}
    did = run.comparison().frame.row(0, named=True)
    # form = "ratio": the programme group's change over the comparison group's
    expected = (days["programme", "after"] / days["programme", "before"]) / (
        days["comparison", "after"] / days["comparison", "before"])
    assert abs(did["estimate"] - expected) < 1e-9
    outcome = run.outcomes(cohort="2020", contract=contract)[0]
    # the counterfactual: the programme group's before-period days moved by the
    # comparison group's change; the contract pays on the reduction against it
    statement = pay(contract, [outcome])
    print(statement.explain("L1"))
    reduction = 1 - outcome.actual / outcome.comparator
    assert (statement.total == 0) == (reduction < Decimal("0.085"))  # RK-1
    investor_view(tiers)
    return paid


def investor_view(tiers: dict[Decimal, Decimal]) -> Decimal:
    """The loan as designed (the IRR table) and as it ended (see the module docstring);
    returns the investor's money multiple as it ended."""
    for reduction, published in IRR.items():  # the design: one payment after 4 years
        rate = pbr.finance.irr([-LOAN, 0, 0, 0, tiers[reduction]]).require()
        assert round(Decimal(repr(rate)), 3) == Decimal(published), (reduction, rate)
        print(f"reduction {reduction}%: City pays ${tiers[reduction]:,}; investor IRR "
              f"{rate:.2%} (published {Decimal(published):.1%})")
    drawn = Decimal(7_200_000)  # $6m guarantee + $1.2m lost [V2]
    draws = [(date(2012 + i, 9, 1), drawn / 3, "loan draw [I]") for i in range(3)]
    bond = ImpactBond.build(
        "Rikers Island ABLE (published loan and outcome; dates illustrative)", "USD",
        commitment=LOAN, drawdowns=draws,
        service_costs=[(d, a, "ABLE programme [I]") for d, a, _ in draws],
        guarantees=[(date(2015, 8, 31), 6_000_000, "Bloomberg Philanthropies guarantee",
                     "[PhilanthropyNY-2015]")])
    ended = appraise(bond, discount_rate="0.035", outcomes=0, savings_per_outcome=0,
                     outcome_unit="bed days avoided")
    print(ended, end="\n\n")
    assert ended.net_gain == Decimal(-1_200_000) and ended.multiple == Decimal("0.8333")
    assert ended.irr.require() < 0 and ended.payer is not None and ended.payer.cost == 0
    doc = to_indigo(bond, appraisal=ended, stage="Complete", jurisdiction="US",
                    capital_type="Debt")
    assert doc["overall_project_finance"]["investor_repayment"]["value"] == (
        "Some repayment (but below value of principle)")
    return ended.multiple or Decimal(0)


if __name__ == "__main__":
    main()
