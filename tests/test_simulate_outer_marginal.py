"""Marginal payment per prevented reoffence (pbr.simulate.marginal): the binary cliff
(exactly 0 for a later reoffence), the frequency price, the per-reoffender deduction,
exact marginals equal to pbr.pay's, and the analytic slopes agreeing with them."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import polars as pl
import pytest

from pbr.contract import Comparator, Component, Contract, Outcome
from pbr.errors import SpecError
from pbr.simulate import Effect, Population, simulate
from pbr.simulate.marginal import MarginalPayment, _exact, linear_marginal, marginal_payment

# comparators far from the population's expectation on purpose (a trigger always met)
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*differs by more than 10%:pbr.errors.DataQualityWarning")

POP = Population.synthetic(areas=2, cohorts=["Q1", "Q2"], size=1000, rate=0.45,
                           per_reoffender=3.0, seed=3)


def _contract(*components: Component, **values: float) -> Contract:
    return Contract("m", comparator=Comparator(values=values or {"binary_rate": 60}),
                    components=components)


BINARY = Component("binary", "linear", measure="binary_rate", basis="avoided", price=1000)
FREQ = Component("freq", "linear", measure="per_offender", basis="avoided", price=150)
PER_REO = Component("per_reo", "linear", measure="per_reoffender", basis="avoided",
                    price=150)


def _mp(c: Contract, n_sims: int = 30, effect: Effect | None = None) -> MarginalPayment:
    res = simulate(c, POP, effect=effect, n_sims=n_sims, seed=5)
    return marginal_payment(res)


def test_binary_cliff_later_reoffence_pays_exactly_nothing() -> None:
    mp = _mp(_contract(BINARY))           # comparator 60% far above ~45%: always paid
    cells = mp.cells
    later = cells.filter(pl.col("offence") == "later")
    first = cells.filter(pl.col("offence") == "first")
    assert later["marginal"].to_list() == [0.0] * 4
    assert later["p_paid"].to_list() == [0.0] * 4
    assert first["marginal"].to_list() == [1000.0] * 4   # one reoffender avoided x price
    assert (first["replicates"] == 30).all()
    dec = mp.deciles
    assert dec["marginal_later"].to_list() == [0.0] * 10
    # a third of a reoffender's reoffences are first ones (3 per reoffender)
    assert np.allclose(dec["share_first"].to_numpy(), 1 / 3)
    # preventing all of an average offender's reoffences pays p x 1000: rising with risk
    helped = dec["per_offender_helped"].to_numpy()
    assert (np.diff(helped) > 0).all()
    assert mp.summary("offence")["marginal"].to_list() == [1000.0, 0.0]


def test_frequency_pays_the_price_per_reoffence_first_or_later() -> None:
    mp = _mp(_contract(FREQ, per_offender=5.0))
    assert set(mp.cells["marginal"].to_list()) == {150.0}
    assert set(mp.deciles["per_reoffence"].round(9).to_list()) == {150.0}


def test_per_reoffender_first_reoffence_is_a_deduction() -> None:
    c = _contract(PER_REO, per_reoffender=4.0)   # comparator 4 reoffences per reoffender
    mp = _mp(c)
    later = mp.cells.filter(pl.col("offence") == "later")["marginal"].to_numpy()
    first = mp.cells.filter(pl.col("offence") == "first")["marginal"].to_numpy()
    assert np.allclose(later, 150.0, atol=0.02)           # the price, within rounding
    assert np.allclose(first, 150.0 * (1 - 4.0), atol=0.02)  # -450: the denominator shrinks


def test_exact_marginal_equals_pbr_pay_on_perturbed_counts() -> None:
    """The compiled rules' marginal is pbr.pay's statement difference, to the penny,
    with a significance trigger, a hurdle and a cap in play."""
    binary = Component("binary", "linear", measure="binary_rate", basis="points_per_offender",
                       price=2, trigger="significant", cap=12000)
    freq = Component("freq", "linear", measure="per_reoffender", basis="avoided", price=150,
                     hurdle="binary")
    c = Contract("m", comparator=Comparator(values={"binary_rate": 47, "per_reoffender": 3.1},
                                            significance_z=Decimal("1.96")),
                 components=(binary, freq))
    res = simulate(c, POP, effect=Effect(p=0.1), n_sims=8, seed=2)
    mp = marginal_payment(res)
    cc = res.compiled_contract(next(iter(res.designs)), "none")
    reo, reoff = res.counts[(res.effects[0].label, "none")]
    idx = cc.area_index["area 01"]
    checked = 0
    for r in range(8):
        base = res.statement(next(iter(res.designs)), res.effects[0], "none", r, "area 01").total
        for j, col in enumerate(idx.tolist()):
            r1, f1 = reo[r, idx].copy(), reoff[r, idx].copy()
            r1[j] -= 1
            f1[j] -= 1
            first = cc.statement("area 01", r1.tolist(), f1.tolist()).total - base
            f2 = reoff[r, idx].copy()
            f2[j] -= 1
            later = cc.statement("area 01", reo[r, idx].tolist(), f2.tolist()).total - base
            ex = _exact(cc, reo[r:r + 1], reoff[r:r + 1])
            q = cc.quantum
            assert Decimal(int(ex["first"]["total"][0, col])) * q == first
            assert Decimal(int(ex["later"]["total"][0, col])) * q == later
            checked += 1
    assert checked == 16
    assert mp.cells.height == 8


def test_analytic_slopes_agree_with_the_exact_marginal() -> None:
    """Away from thresholds and caps, the prices give the exact marginal (no trigger,
    comparators far from the outcomes)."""
    ppo = Component("b", "linear", measure="binary_rate", basis="points_per_offender",
                    price=2)
    per100 = Component("f", "linear", measure="per_100", basis="points", price=10)
    c = Contract("m", comparator=Comparator(values={"binary_rate": 70, "per_100": 300}),
                 components=(ppo, per100))
    res = simulate(c, POP, n_sims=3, seed=9)
    mp = marginal_payment(res)
    cc = res.compiled_contract(next(iter(res.designs)), "none")
    reo, reoff = res.counts[("none", "none")]
    idx = cc.area_index["area 02"]
    outcomes = cc.outcomes("area 02", reo[0, idx].tolist(), reoff[0, idx].tolist())
    lin = linear_marginal(c, outcomes)
    # binary, points per offender: 100 points x 2.00 = 200 per reoffender; per_100 in
    # points: 100/n = 0.1 point x 10 = 1.00 per reoffence, first or later
    by = {(r["component"], r["offence"]): r["value"] for r in lin.iter_rows(named=True)}
    assert by[("b", "first")] == 200.0 and by[("b", "later")] == 0.0
    assert by[("f", "first")] == 1.0 and by[("f", "later")] == 1.0
    exact = mp.cells.filter(pl.col("area") == "area 02")
    for offence in ("first", "later"):
        want = by[("b", offence)] + by[("f", offence)]
        got = exact.filter(pl.col("offence") == offence)["marginal"].to_list()
        assert np.allclose(got, want, atol=1e-9)


def test_linear_marginal_respects_triggers_hurdles_and_clawback() -> None:
    b = Component("b", "linear", measure="binary_rate", basis="avoided", price=100,
                  trigger="absolute", threshold=5)
    f = Component("f", "linear", measure="per_offender", basis="avoided", price=10,
                  hurdle="b", clawback=True)
    c = _contract(b, f)
    o_b = Outcome("Q", "binary_rate", actual=58, comparator=60, n=100)   # 2 points: not met
    o_f = Outcome("Q", "per_offender", actual=1, comparator=2, n=100)
    lin = linear_marginal(c, [o_b, o_f])
    assert lin["value"].to_list() == [0.0, 0.0, 0.0, 0.0]
    o_b = Outcome("Q", "binary_rate", actual=50, comparator=60, n=100)   # 10 points: met
    assert linear_marginal(c, [o_b, o_f])["value"].to_list() == [100.0, 0.0, 10.0, 10.0]


def test_bad_inputs() -> None:
    res = simulate(_contract(BINARY), POP, n_sims=2, seed=1)
    with pytest.raises(SpecError, match="replicates"):
        marginal_payment(res, replicates=0)
    with pytest.raises(SpecError, match="design: 'x'"):
        marginal_payment(res, design="x")
    with pytest.raises(SpecError, match="effect: 'big'"):
        marginal_payment(res, effect="big")
    with pytest.raises(SpecError, match="SimulationResult"):
        marginal_payment("not a result")  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="by: one of"):
        marginal_payment(res).summary("nothing")
    with pytest.raises(SpecError, match="needs measure"):
        linear_marginal(_contract(BINARY, FREQ),
                        [Outcome("Q", "binary_rate", actual=1, comparator=2, n=10)])
    one = marginal_payment(res, replicates=1)
    assert "first 1 of 2" in one.explain() and "per reoff." in str(one)
    assert one.summary("cohort").height == 4 and one.to_frame().height == 10


def test_by_decile_weights_first_and_later_by_the_deciles_frequency() -> None:
    """Decile 1's reoffenders commit one reoffence (m = 0: every prevented reoffence is a
    first one), the others' three (m = 2: a third are first): under the binary design a
    reoffence prevented at random pays 1,000 x the share of first ones."""
    n = 2000
    p = np.repeat(np.linspace(0.2, 0.6, 10), n // 10)
    m = np.where(np.arange(n) < n // 10, 0.0, 2.0)
    frame = pl.DataFrame({"offender_id": np.arange(1, n + 1), "area": ["a"] * n,
                          "cohort": ["Q1"] * n, "p": p, "mu": p * (1 + m),
                          "theta": np.full(n, np.inf)})
    pop = Population.from_frame(frame)
    c = Contract("m", comparator=Comparator(values={"binary_rate": 70}), components=(BINARY,))
    mp = marginal_payment(simulate(c, pop, n_sims=10, seed=1))
    dec = mp.deciles.sort("risk_decile")
    assert dec["share_first"].to_list()[0] == pytest.approx(1.0)
    assert dec["share_first"].to_list()[1:] == pytest.approx([1 / 3] * 9)
    assert dec["per_reoffence"].to_list() == pytest.approx(
        [1000.0] + [1000 / 3] * 9)
    # helping an average offender of a decile pays p x 1,000 (its first reoffence)
    assert dec["per_offender_helped"].to_list() == pytest.approx(
        (np.linspace(0.2, 0.6, 10) * 1000).tolist())
