"""pbr.finance.return_distribution: the investors' IRR / multiple / NPV and the payer's net
cost per replicate, from a frame (hand-worked) and from a pbr.simulate run (checked
against the simulation's own payments and counts)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import polars as pl
import pytest

from pbr.contract import CohortPeriod, Comparator, Component, Contract
from pbr.errors import SchemaError, SpecError
from pbr.finance import ImpactBond, return_distribution
from pbr.simulate import Effect, Population, simulate

D = Decimal


def _bond() -> ImpactBond:
    return ImpactBond.build("demo", "GBP", service_costs=[("2021-01-01", 100)])


def test_hand_worked_replicates() -> None:
    pay = pl.DataFrame({"replicate": [0, 1, 2], "date": [dt.date(2022, 1, 1)] * 3,
                        "amount": [121.0, 90.0, 0.0]})
    outcomes = pl.DataFrame({"replicate": [0, 1, 2], "outcomes": [10.0, 5.0, -2.0]})
    d = return_distribution(pay, _bond(), discount_rate="0.1", savings_per_outcome=20,
                            outcomes=outcomes)
    f = d.frame
    assert f["multiple"].to_list() == [1.21, 0.9, 0.0]
    assert f["irr"][0] == pytest.approx(0.21, abs=1e-12)
    assert f["irr"][1] == pytest.approx(-0.1, abs=1e-12)
    assert f["irr"][2] is None and f["irr_status"][2] == "none"   # total loss: no rate
    # NPV at 10% over one year: -100 + 121 / 1.1 = 10; -100 + 90 / 1.1 = -18.18
    assert f["npv"].to_list() == [10.0, -18.18, -100.0]
    # payer: 10 x 20 - 121 = 79; 5 x 20 - 90 = 10; -2 x 20 - 0 = -40
    assert f["payer_net"].to_list() == [79.0, 10.0, -40.0]
    s = d.summary().row(0, named=True)
    assert s["replicates"] == 3 and s["p_irr_defined"] == pytest.approx(2 / 3)
    assert s["p_loss"] == pytest.approx(2 / 3) and s["p_total_loss"] == pytest.approx(1 / 3)
    assert s["cost_per_outcome"] == pytest.approx((211 / 3) / (13 / 3))
    assert any("1 of 3 runs have no unique IRR" in n for n in d.notes)
    one = d.appraisal(0)
    assert one.returned == D("121.00") and one.payer is not None
    assert one.payer.net == D("79.00")
    assert "3 runs" in str(d) and "IRR actual/365" in d.explain()


def test_runs_with_several_sign_changes_take_the_full_search() -> None:
    # replicate 0: +2,300 then a clawback of 1,320 after a 1,000 outlay: rates 10%, 20%
    bond = ImpactBond.build("c", "GBP", service_costs=[("2021-01-01", 1000)])
    pay = pl.DataFrame({"replicate": [0, 0, 1], "date": [dt.date(2022, 1, 1),
                        dt.date(2023, 1, 1), dt.date(2022, 1, 1)],
                        "amount": [2300.0, -1320.0, 1100.0]})
    f = return_distribution(pay, bond).frame
    assert f["irr_status"].to_list() == ["multiple", "unique"]
    assert f["irr"][0] is None and f["irr"][1] == pytest.approx(0.1, abs=1e-12)


def test_frame_refusals() -> None:
    pay = pl.DataFrame({"replicate": [0], "date": [dt.date(2022, 1, 1)], "amount": [1.0]})
    with pytest.raises(SchemaError, match="no column 'amount'"):
        return_distribution(pay.drop("amount"), _bond())
    with pytest.raises(SchemaError, match="must be dates"):
        return_distribution(pay.with_columns(pl.lit("2022-01-01").alias("date")), _bond())
    with pytest.raises(SchemaError, match="non-finite"):
        return_distribution(pay.with_columns(pl.lit(float("nan")).alias("amount")), _bond())
    paid = ImpactBond.build("p", "GBP", service_costs=[("2021-01-01", 1)],
                            outcome_payments=[("2022-01-01", 1)])
    with pytest.raises(SpecError, match="outcome payments of its own"):
        return_distribution(pay, paid)
    with pytest.raises(SchemaError, match="SimulationResult or a polars DataFrame"):
        return_distribution([1, 2], _bond())
    with pytest.raises(SchemaError, match="outcomes: no column"):
        return_distribution(pay, _bond(), outcomes=pl.DataFrame({"replicate": [0]}))


def _sim() -> object:
    n = 2000
    pop = Population(pl.DataFrame({
        "offender_id": np.arange(2 * n), "area": ["a"] * n + ["b"] * n,
        "cohort": ["Q1"] * (2 * n), "p": np.full(2 * n, 0.45), "mu": np.full(2 * n, 1.35),
        "theta": np.full(2 * n, 2.0), "risk_decile": np.ones(2 * n, dtype=np.int8)}))
    c = Contract("lin", periods=(CohortPeriod("Q1", "2020-01-01", "2020"),),
                 period_length="12 months", reporting_lag="3 months",
                 comparator=Comparator(values={"binary_rate": 45}),
                 components=(Component("b", "linear", measure="binary_rate", basis="avoided",
                                       price=1000, clawback=False),))
    return simulate(c, pop, effect=[Effect.none(), Effect(p=0.1)], n_sims=40, seed=3)


def test_distribution_from_a_simulation() -> None:
    res = _sim()
    bond = ImpactBond.build("sim", "GBP", service_costs=[("2020-01-01", 100_000)])
    d = return_distribution(res, bond, savings_per_outcome=2000, discount_rate="0.05")
    f = d.frame
    assert f.height == 80 and d.keys == ("design", "effect", "behaviour")
    assert any("pooled over 2 areas" in n for n in d.notes)
    # the payer's cost per replicate is the simulation's payment summed over areas
    frame = res.frame  # type: ignore[attr-defined]
    paid = frame.group_by("effect", "replicate").agg(pl.col("payment").sum())
    check = f.join(paid, on=["effect", "replicate"])
    assert (check["payer_cost"] - check["payment"]).abs().max() < 1e-6
    # reoffences avoided: expected without the effect minus drawn
    cells = res.cells("none")  # type: ignore[attr-defined]
    expected = float((cells["counterfactual_frequency"] * cells["n"]).sum())
    drawn = frame.group_by("effect", "replicate").agg(pl.col("reoffences").sum())
    check = f.join(drawn, on=["effect", "replicate"])
    assert (check["outcomes"] - (expected - check["reoffences"])).abs().max() < 1e-6
    # the effect raises the investors' return and the payer's net saving on average
    s = {r["effect"]: r for r in d.summary().iter_rows(named=True)}
    assert s["p 10%, frequency 0%"]["multiple_mean"] > s["none"]["multiple_mean"]
    assert s["p 10%, frequency 0%"]["payer_net_mean"] > s["none"]["payer_net_mean"]
    # one replicate rebuilt exactly agrees with its row
    row = f.filter((pl.col("effect") == "none") & (pl.col("replicate") == 1)).row(
        0, named=True)
    exact = d.appraisal(1, design="lin", effect="none", behaviour="none")
    assert float(exact.returned) == pytest.approx(row["returned"])
    assert exact.multiple == D(repr(row["multiple"])).quantize(D("0.0001"))
    # the vectorised bisection agrees with xirr's Brent solution on every run
    for rep in (0, 7, 23, 39):
        for e in ("none", "p 10%, frequency 0%"):
            one = f.filter((pl.col("effect") == e) & (pl.col("replicate") == rep))
            rate = d.appraisal(rep, design="lin", effect=e, behaviour="none").irr.rate
            assert (rate is None) == (one["irr"][0] is None)
            if rate is not None:
                assert abs(rate - one["irr"][0]) < 1e-12
    # same inputs, same numbers
    again = return_distribution(_sim(), bond, savings_per_outcome=2000, discount_rate="0.05")
    assert again.frame.equals(f)
    # one area: that provider's contract only
    only = return_distribution(res, bond, area="a")
    paid_a = frame.filter(pl.col("area") == "a").group_by("effect", "replicate").agg(
        pl.col("payment").sum())
    check = only.frame.join(paid_a, on=["effect", "replicate"])
    assert (check["payer_cost"] - check["payment"]).abs().max() < 1e-6
    with pytest.raises(SpecError, match="area 'z' is not in the simulation"):
        return_distribution(res, bond, area="z")
    with pytest.raises(SpecError, match="design 'other' is not simulated"):
        return_distribution(res, bond, design=["other"])
    with pytest.raises(SpecError, match="give effect"):
        d.appraisal(1, design="lin", behaviour="none")
