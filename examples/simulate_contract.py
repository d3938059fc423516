"""Simulate a CRC-style contract before anyone signs: incentive, risk, gaming, cash.

Three designs are paid on the same simulated cohorts (common random numbers): the
bundled CRC-style demo contract (fee for service, a binary payment on a significance
trigger with clawback, a frequency payment per reoffender after the binary hurdle, a
year cap, a payment on account) and two outcome-only designs, a binary payment per
reoffender avoided and a frequency payment per reoffence avoided.  The synthetic
population has the demo's baseline (28% reoffend, 3.45 reoffences per reoffender).

It answers, on these synthetic data (docs/methodology/simulation.md shows the output):

1. incentive and risk: probability of any outcome payment with no effect and with the
   target effect, mean payment and its 5th-95th percentiles, fee at risk, P(loss);
2. the binary cliff: marginal payment for a first and a later reoffence prevented;
3. gaming: what parking and cherry-picking gain, with and without case-mix adjustment;
4. cohort size: the operating characteristic of the demo contract at 250, 1,000 and
   5,000 offenders per quarter;
5. working capital: the peak cash need of a small provider (250 offenders a quarter),
   under the demo contract and paid by results only.

Run: ``python examples/simulate_contract.py [--figures DIR]`` (about 30 seconds; with
``--figures`` it also writes the PNG figures of the methodology page).
"""

from __future__ import annotations

import argparse
from decimal import Decimal
from pathlib import Path

import polars as pl

from pbr.contract import Comparator, Component, Contract
from pbr.contract.spec import demo_contract_text
from pbr.simulate import (
    Behaviour,
    Effect,
    Population,
    ServiceCosts,
    cash_flows,
    marginal_payment,
    simulate,
)

N_SIMS = 2000
TARGET = Effect(p=0.10, frequency=0.05, name="target")
DEMO = Contract.from_toml(demo_contract_text().replace(
    'rate_unit = "percent"', 'rate_unit = "percent"\nreporting_lag = "4 months"', 1))
QUARTERS = [p.name for p in DEMO.periods]


def outcome_only(name: str, component: Component) -> Contract:
    """The demo's cohorts and baseline with one outcome component and nothing else."""
    assert DEMO.comparator is not None
    return Contract(name, periods=DEMO.periods, reporting_lag="4 months",
                    comparator=Comparator(values=dict(DEMO.comparator.values)),
                    components=(component,))


DESIGNS = {
    "CRC-style demo": DEMO,
    "binary per reoffender": outcome_only("binary per reoffender", Component(
        "binary", "linear", measure="binary_rate", basis="avoided", price=Decimal(1000))),
    "frequency per reoffence": outcome_only("frequency per reoffence", Component(
        "frequency", "linear", measure="per_offender", basis="avoided",
        price=Decimal(300))),
}


def population(size: int, areas: int = 4) -> Population:
    return Population.synthetic(areas=areas, cohorts=QUARTERS, size=size, rate=0.28,
                                per_reoffender=3.45, seed=1)


def show(title: str, frame: pl.DataFrame) -> None:
    print(f"\n== {title}")
    with pl.Config(tbl_rows=40, tbl_cols=20, tbl_width_chars=160, float_precision=3,
                   tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True,
                   fmt_str_lengths=30):
        print(frame)


def main(figures: Path | None = None) -> None:
    if figures is not None:
        figures.mkdir(parents=True, exist_ok=True)
    pop = population(1000)
    res = simulate(DESIGNS, pop, effect=[Effect.none(), TARGET],
                   behaviour=[Behaviour.none(), Behaviour.parking(),
                              Behaviour.cherry_picking(0.8)],
                   n_sims=N_SIMS, seed=2024)
    s = res.summary().filter(pl.col("behaviour") == "none")
    show("1. incentive and risk (per area of 4 x 1,000 offenders; pounds)",
         s.select("design", "effect", "p_any_payment", "mean_payment", "p05", "p95",
                  "fee_at_risk", "p_loss", "cost_per_reoffence_avoided"))
    mp = marginal_payment(res, effect=TARGET, behaviour="none")
    show("2. marginal payment per prevented reoffence (target effect)",
         mp.summary("offence").select("design", "offence", "marginal", "p_paid"))
    show("   by risk decile (CRC-style demo)",
         mp.deciles.filter(pl.col("design") == "CRC-style demo").select(
             "risk_decile", "share_first", "marginal_first", "marginal_later",
             "per_offender_helped"))
    show("3. gaming: gain over no gaming in mean payment per area (pounds)",
         res.gaming().select("design", "effect", "behaviour", "gain_with_casemix",
                             "se_with_casemix", "gain_without_casemix",
                             "se_without_casemix", "expected_binary_gap"))
    oc_rows = []
    effects = [Effect.none(), Effect(p=0.05), Effect(p=0.10), Effect(p=0.15)]
    for size in (250, 1000, 5000):
        r = simulate(DEMO, population(size, areas=1), effect=effects, n_sims=1000, seed=7)
        oc_rows.append(r.operating_characteristic().with_columns(
            pl.lit(size).alias("offenders_per_quarter")))
        if figures is not None and size == 1000:
            from pbr.simulate.plots import operating_characteristic_curve
            operating_characteristic_curve(r).savefig(
                figures / "simulation_operating_characteristic.png", dpi=100)
    oc = pl.concat(oc_rows)
    show("4. operating characteristic of the demo contract: P(any outcome payment)",
         oc.pivot(on="effect", index="offenders_per_quarter", values="p_any_payment"))
    small = simulate(DEMO, population(250, areas=1), effect=[Effect.none(), TARGET],
                     n_sims=N_SIMS, seed=11)
    costs = ServiceCosts(per_offender=Decimal(650), per_month=Decimal(5000))
    cf = cash_flows(DEMO, small.frame, costs)
    show("5. working capital of a small provider (250 a quarter; 650 per offender + 5,000 a "
         "month)", cf.summary().select("effect", "mean_need", "p50_need", "p95_need",
                                       "max_need", "mean_final_balance"))
    pure = DESIGNS["binary per reoffender"]
    small_pure = simulate(pure, population(250, areas=1), effect=[Effect.none(), TARGET],
                          n_sims=N_SIMS, seed=11)
    cf_pure = cash_flows(pure, small_pure.frame, ServiceCosts(per_offender=Decimal(100)))
    show("   the same provider paid by results only (binary per reoffender; 100 per offender)",
         cf_pure.summary().select("effect", "mean_need", "p50_need", "p95_need", "max_need",
                                  "p_need", "mean_final_balance"))
    print("\n" + cf.explain())
    if figures is not None:
        from pbr.simulate import plots
        for name, fig in (
                ("payment_distribution", plots.payment_distribution(res,
                                                                    design="CRC-style demo")),
                ("marginal_by_decile", plots.marginal_by_decile(mp, design="CRC-style demo",
                                                                effect="target")),
                ("cash_flow", plots.cash_flow_curve(cf, select={"effect": "target"}))):
            fig.savefig(figures / f"simulation_{name}.png", dpi=100)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Simulate a CRC-style contract.")
    ap.add_argument("--figures", type=Path, default=None,
                    help="Write the methodology page's PNG figures into this directory.")
    main(ap.parse_args().figures)
