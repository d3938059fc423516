"""The compiled contracts of pbr.simulate pay exactly what pbr.pay pays, to the penny.

Every component kind, trigger, basis, cap, floor, hurdle, pooled test, variation,
limit, payment on account and both rounding modes, on a sample of simulated replicates
(near the triggers: small effects, so that replicates fall on both sides).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from pbr.contract import CohortPeriod, Comparator, Component, Contract
from pbr.contract.spec import Rounding, Variation
from pbr.errors import ContractError
from pbr.simulate import Behaviour, Cells, CompiledContract, Effect, Population, simulate

PERIODS = (CohortPeriod("2019Q1", start=dt.date(2019, 1, 1), year="2019"),
           CohortPeriod("2019Q2", start=dt.date(2019, 4, 1), year="2019"),
           CohortPeriod("2020Q1", start=dt.date(2020, 1, 1), year="2020"))
LABELS = [p.name for p in PERIODS]
VALUES = {"binary_rate": 45, "per_offender": "1.35", "per_100": 135, "per_reoffender": 3}


def _contract(name: str, *components: Component, **kw: object) -> Contract:
    comparator = kw.pop("comparator", Comparator(values=VALUES))
    return Contract(name, periods=PERIODS, comparator=comparator,  # type: ignore[arg-type]
                    components=components, **kw)  # type: ignore[arg-type]


DESIGNS = {
    "linear": _contract(
        "linear",
        Component("binary", "linear", measure="binary_rate", basis="avoided", price="1234.57",
                  trigger="relative", threshold=5, pooled_threshold="2.5",
                  pooled_over=LABELS, clawback=True, cap=40000, floor=-20000),
        Component("per100", "linear", measure="per_100", basis="points", price="333.333",
                  trigger="absolute", threshold=2, hurdle="binary")),
    "tiered": _contract(
        "tiered",
        Component("tiers", "tiered", measure="per_offender",
                  tiers=[[2, 10000], [5, "25000.005"], [10, 60000]], cap=50000),
        Component("risk", "at_risk", measure="binary_rate", trigger="significant",
                  value=1000000, share="0.1"),
        comparator=Comparator(values=VALUES, significance_z="1.96")),
    "fees": _contract(
        "fees",
        Component("fee", "fee", amount=10000, periods=3, band_low=900, band_high=1100,
                  band_price="12.5"),
        Component("freq", "linear", measure="per_reoffender", basis="avoided", price="99.99",
                  clawback=True),
        limits={"cohort_cap": 20000, "year_cap": 30000, "total_floor": -10000},
        on_account={"2019Q2": 1000}, rounding=Rounding("half_even", 0)),
    "varied": _contract(
        "varied",
        Component("points", "linear", measure="binary_rate", basis="points", price="5000.5"),
        Component("ppo", "linear", measure="per_offender", basis="points_per_offender",
                  price="2.5", clawback=True, trigger="relative", threshold=1),
        variations=(Variation(dt.date(2019, 4, 1), "points", {"price": 7000}),)),
}


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    pop = Population.synthetic(areas=2, cohorts=LABELS, size={"area 01": 1000, "area 02": 1150},
                               seed=5)
    return simulate(DESIGNS, pop, effect=[Effect.none(), Effect(p=0.04, frequency=0.03)],
                    behaviour=[Behaviour.none(), Behaviour.cherry_picking(0.85)],
                    n_sims=12, seed=11)


def _check(res, design: str, effect: str, behaviour: str, casemix: bool) -> int:  # type: ignore[no-untyped-def]
    cc = res.compiled_contract(design, behaviour, casemix)
    ev = res.evaluation(design, effect, behaviour, casemix)
    q = cc.places
    checked = 0
    for rep in range(res.n_sims):
        for area, idx in cc.area_index.items():
            s = res.statement(design, effect, behaviour, rep, area=area, casemix=casemix)
            assert s.total == Decimal(int(ev.total[rep, idx].sum())).scaleb(-q), (rep, area)
            for j in idx.tolist():
                cohort = cc.cells.cohort[j]
                for name in cc.names:
                    exact = sum((x.amount for x in s.lines if x.kind == "component"
                                 and x.cohort == cohort and x.component == name), Decimal(0))
                    got = Decimal(int(ev.components[name][rep, j])).scaleb(-q)
                    assert exact == got, (design, rep, area, cohort, name, exact, got)
            limits = sum((x.amount for x in s.lines if x.kind == "limit"), Decimal(0))
            assert limits == Decimal(int(ev.limits[rep, idx].sum())).scaleb(-q)
            on_acc = sum((x.amount for x in s.lines if x.kind == "on_account"), Decimal(0))
            assert on_acc == Decimal(int(ev.on_account[idx].sum())).scaleb(-q)
            checked += 1
    return checked


@pytest.mark.parametrize("design", list(DESIGNS))
def test_compiled_contract_equals_pay_to_the_penny(result, design: str) -> None:  # type: ignore[no-untyped-def]
    n = 0
    for e in ("none", "p 4%, frequency 3%"):
        for b in ("none", "cherry-picking 85%"):
            for adj in (True, False):
                n += _check(result, design, e, b, adj)
    assert n == 2 * 2 * 2 * 12 * 2


def test_every_branch_is_reached(result) -> None:  # type: ignore[no-untyped-def]
    # the sample meets triggers and misses them: amounts of both signs, caps and tiers
    f = result.frame
    lin = f.filter(design="linear")
    assert (lin["payment_binary"] > 0).any() and (lin["payment_binary"] < 0).any()
    assert (lin["payment_binary"] == 40000).any()
    assert (lin["payment_per100"] > 0).any() and (lin["payment_per100"] == 0).any()
    tiers = set(f.filter(design="tiered")["payment_tiers"].unique().to_list())
    assert len(tiers) >= 2
    risk = set(f.filter(design="tiered")["payment_risk"].unique().to_list())
    assert risk == {0.0, -100000.0}
    fees = f.filter(design="fees")
    assert (fees["limit_adjustment"] != 0).any()
    assert set(fees.filter(behaviour="cherry-picking 85%")["payment_fee"].unique().to_list()) \
        == {30000.0 - 50 * 12.5, 30000.0}  # 850 of 1,000 below the band; 978 of 1,150 in it


def test_evaluate_prices_given_counts_by_hand() -> None:
    # 45% baseline on 1,000: 430 reoffenders is 20 avoided x 1234.57 = 24,691.40
    c = DESIGNS["linear"]
    cells = Cells(("a",) * 3, tuple(LABELS), np.array([1000, 1000, 1000]),
                  np.full(3, 0.45), np.full(3, 1.35), np.full(3, 0.45), np.full(3, 1.35))
    cc = CompiledContract(c, cells, casemix=False)
    ev = cc.evaluate(np.array([[430, 450, 460]]), np.array([[1200, 1350, 1400]]))
    # cohort 1: 4.44% reduction < 5% but pooled (4.44 + 0 - 2.22) / 3 = 0.74% < 2.5%: nothing
    assert ev.components["binary"][0].tolist() == [0, 0, -1234570]
    ev = cc.evaluate(np.array([[420, 440, 440]]), np.array([[1200, 1350, 1400]]))
    # 6.67% and 2.22% each; pooled 3.70% >= 2.5% pays cohorts 2 and 3 too
    assert ev.components["binary"][0].tolist() == [3703710, 1234570, 1234570]
    # per_100: 120 vs 135 is 15 points >= 2 (hurdle met): 15 x 333.333 = 4,999.995 ->
    # 5,000.00 half up; cohorts 2 and 3 reduce by 0 and -5 points: nothing
    assert ev.components["per100"][0].tolist() == [500000, 0, 0]


def _one() -> tuple[np.ndarray, ...]:
    return (np.array([100]), np.array([0.45]), np.array([1.35]), np.array([0.45]),
            np.array([1.35]))


def test_refused_features() -> None:
    cells = Cells(("a",), ("2019Q1",), *_one())
    total = _contract("t", Component("b", "linear", measure="binary_rate", basis="points",
                                     price=1), rounding=Rounding(point="total"))
    with pytest.raises(ContractError, match=r"rounding\.point"):
        CompiledContract(total, cells)
    serious = Contract("s", comparator=Comparator(values={"serious_rate": 5}),
                       components=(Component("s", "linear", measure="serious_rate",
                                             basis="points", price=1),))
    with pytest.raises(ContractError, match="serious_rate"):
        CompiledContract(serious, Cells(("a",), ("q",), *_one()))
    nosig = _contract("n", Component("r", "at_risk", measure="binary_rate",
                                     trigger="significant", value=100, share="0.1"))
    with pytest.raises(ContractError, match="significance_z"):
        CompiledContract(nosig, cells)
    fine = Contract("v", comparator=Comparator(values={"binary_rate": "45.0000001"}),
                    periods=PERIODS, components=DESIGNS["linear"].components[:1])
    with pytest.raises(ContractError, match="6 decimal places"):
        CompiledContract(fine, cells, casemix=False)
    fees = _contract("f", Component("fee", "fee", amount=1))
    with pytest.raises(ContractError, match="fees only"):
        CompiledContract(fees, cells)
    other = Cells(("a",), ("2031Q1",), *_one())
    with pytest.raises(ContractError, match="2031Q1"):
        CompiledContract(DESIGNS["linear"], other)
    with pytest.raises(ContractError, match="evaluate"):
        CompiledContract(DESIGNS["linear"], cells).evaluate(np.zeros((2, 3)), np.zeros((2, 3)))
    cc = CompiledContract(DESIGNS["linear"], cells)
    with pytest.raises(ContractError, match="replicate 1, cell 0"):
        cc.evaluate(np.array([[5], [-1]]), np.array([[5], [0]]))
    with pytest.raises(ContractError, match="reoffences >= reoffenders"):
        cc.evaluate(np.array([[5]]), np.array([[4]]))
    with pytest.raises(ContractError, match="cohort of 100"):
        cc.evaluate(np.array([[101]]), np.array([[200]]))


def test_integer_rounding_matches_decimal_on_ties() -> None:
    from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP

    from pbr.simulate.designs import _round_div

    rng = np.random.default_rng(3)
    for b in (1, 2, 8, 10, 1000, 7):
        w = np.concatenate([rng.integers(-10**9, 10**9, 2000),
                            np.arange(-40, 41) * b // 2 + (b // 2)])   # ties included
        for mode, dec in (("half_up", ROUND_HALF_UP), ("half_even", ROUND_HALF_EVEN)):
            got = _round_div(w.astype(np.int64), b, mode).tolist()
            want = [int((Decimal(int(x)) / Decimal(b)).quantize(Decimal(1), rounding=dec))
                    for x in w.tolist()]
            assert got == want, (b, mode)


# ---------------------------------------------------------------------- property

_MEASURE_VALUE = {"binary_rate": "45", "per_offender": "1.35", "per_100": "135",
                  "per_reoffender": "3"}


@hs.composite
def _case(draw):  # type: ignore[no-untyped-def]
    measure = draw(hs.sampled_from(list(_MEASURE_VALUE)))
    kind = draw(hs.sampled_from(["linear", "linear", "tiered", "at_risk"]))
    trigger = draw(hs.sampled_from(["none", "relative", "absolute"] if kind != "at_risk"
                                   else ["relative", "absolute"]))
    kw: dict[str, object] = {"measure": measure, "trigger": trigger}
    if trigger == "relative":
        kw["threshold"] = str(draw(hs.sampled_from([0, 1, "2.5", 5])))
    elif trigger == "absolute":
        kw["threshold"] = str(draw(hs.sampled_from([0, "0.5", 1, 2])))
    money = hs.decimals(min_value=0, max_value=100000, places=draw(hs.integers(0, 3)))
    if kind == "linear":
        kw["basis"] = draw(hs.sampled_from(["points", "points_per_offender", "avoided"]))
        kw["price"] = draw(money)
        kw["clawback"] = draw(hs.booleans())
    elif kind == "tiered":
        kw["tiers"] = [[1, draw(money)], [4, 100001], [9, 250000]]
    else:
        kw["value"], kw["share"] = 1000000, draw(hs.sampled_from(["0.1", "0.05", "1"]))
    if draw(hs.booleans()):
        kw["cap"] = draw(money)
    if draw(hs.booleans()):
        kw["floor"] = -draw(money)
    if kw.get("cap") is not None and kw.get("floor") is not None \
            and kw["floor"] > kw["cap"]:  # type: ignore[operator]
        kw.pop("floor")
    comp = Component("c", kind, **kw)  # type: ignore[arg-type]
    rounding = Rounding(draw(hs.sampled_from(["half_up", "half_even"])), draw(hs.integers(0, 3)))
    n = draw(hs.lists(hs.integers(1, 3000), min_size=2, max_size=2))
    seed = draw(hs.integers(0, 2**32 - 1))
    return comp, rounding, n, seed


@settings(max_examples=40)
@given(_case())
def test_random_contracts_equal_pay(case) -> None:  # type: ignore[no-untyped-def]
    comp, rounding, n, seed = case
    try:
        c = Contract("h", periods=PERIODS[:2], comparator=Comparator(values=_MEASURE_VALUE),
                     components=(comp,), rounding=rounding)
    except ContractError:
        return   # a cap and floor with nothing payable between them at this rounding
    cells = Cells(("a", "a"), tuple(LABELS[:2]), np.array(n), np.full(2, 0.45),
                  np.full(2, 1.35), np.full(2, 0.45), np.full(2, 1.35))
    cc = CompiledContract(c, cells, casemix=False)
    rng = np.random.default_rng(seed)
    reo = rng.binomial(np.array(n), 0.45, size=(6, 2))
    reoff = reo + rng.poisson(2.0 * np.maximum(reo, 0))
    ev = cc.evaluate(reo, reoff)
    for r in range(6):
        s = cc.statement("a", reo[r].tolist(), reoff[r].tolist())
        assert s.total == Decimal(int(ev.total[r].sum())).scaleb(-rounding.places), (
            comp, rounding, reo[r], reoff[r], s)
