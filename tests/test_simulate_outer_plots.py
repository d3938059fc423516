"""Plots of a simulation (pbr.simulate.plots): what each shows, and refusals."""

from __future__ import annotations

import polars as pl
import pytest

from pbr.contract import CohortPeriod, Comparator, Component, Contract
from pbr.errors import SpecError
from pbr.simulate import (
    Effect,
    Population,
    ServiceCosts,
    cash_flows,
    marginal_payment,
    plots,
    simulate,
)

C = Contract("p", comparator=Comparator(values={"binary_rate": 45, "per_offender": 1.35}),
             components=(
                 Component("b", "linear", measure="binary_rate", basis="avoided", price=100),
                 Component("f", "linear", measure="per_offender", basis="avoided",
                           price=10)))
POP = Population.synthetic(areas=2, cohorts=1, size=300, seed=2)


def test_figures_and_their_axes() -> None:
    res = simulate(C, POP, effect=[Effect.none(), Effect(frequency=0.2)], n_sims=30, seed=1)
    fig = plots.payment_distribution(res)
    assert len(fig.axes[0].get_legend().get_texts()) == 2
    oc = plots.operating_characteristic_curve(res)
    assert "frequency" in oc.axes[0].get_xlabel()       # every effect leaves p at 0
    mp = marginal_payment(res, replicates=10)
    fig = plots.marginal_by_decile(mp)
    assert fig.axes[0].get_xlabel() == "risk decile (1 lowest)"
    assert "frequency 20%" in fig.axes[0].get_title()    # the last effect by default
    with pytest.raises(SpecError, match="no rows"):
        plots.marginal_by_decile(mp, design="nope")
    with pytest.raises(SpecError, match="nothing simulated"):
        plots.payment_distribution(res, design="nope")


def test_cash_flow_curve_selects_runs() -> None:
    contract = Contract("cf", comparator=C.comparator, components=C.components,
                        period_length="3 months",
                        periods=(CohortPeriod("cohort 1", "2020-01-01"),))
    res = simulate(contract, POP, n_sims=20, seed=1)
    cf = cash_flows(contract, res.frame, ServiceCosts(per_offender=50))
    fig = plots.cash_flow_curve(cf, select={"area": "area 02"})
    assert "area 02" in fig.axes[0].get_title()
    with pytest.raises(SpecError, match="no runs match"):
        plots.cash_flow_curve(cf, select={"area": "area 99"})
    assert cf.monthly.filter(pl.col("area") == "area 02").height > 0
