"""pbr.simulate: population, effect, behaviour, exact seeded draws and the issue's anchors.

Anchors (issue 18): the simulated probability of payment of a significance-trigger
contract equals the analytic power (pbr.stats.power_binary); a linear component's mean
payment is price x expected reduction, and with a cap the truncated expectation by
numerical integration; under zero effect cherry-picking gains nothing with case-mix
adjustment and the analytic difference in expected rates without it.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from scipy import integrate
from scipy import stats as st

from pbr.contract import CohortPeriod, Comparator, Component, Contract
from pbr.errors import ContractError, DataQualityWarning, SchemaError, SpecError
from pbr.risk import fit_casemix
from pbr.simulate import Behaviour, Effect, Population, _draws, simulate
from pbr.stats import power_binary


def flat(n: int, p: float, mu: float, theta: float = 2.0, area: str = "a",
         cohort: str = "c1") -> Population:
    """n offenders sharing p, mu and theta (one group: binomial draws)."""
    return Population(pl.DataFrame({
        "offender_id": np.arange(n), "area": [area] * n, "cohort": [cohort] * n,
        "p": np.full(n, p), "mu": np.full(n, mu), "theta": np.full(n, theta),
        "risk_decile": np.ones(n, dtype=np.int8)}))


def linear(name: str = "lin", *, cap: float | None = None, clawback: bool = True,
           values: dict[str, float] | None = None) -> Contract:
    return Contract(name, comparator=Comparator(values=values or {"binary_rate": 45}),
                    components=(Component("b", "linear", measure="binary_rate",
                                          basis="avoided", price=1000, clawback=clawback,
                                          cap=cap),))


# ---------------------------------------------------------------------- anchors
def test_significance_trigger_pays_with_the_analytic_power() -> None:
    n, p0 = 20000, 0.45
    c = Contract("sig", comparator=Comparator(values={"binary_rate": 45},
                                              significance_z="1.96"),
                 components=(Component("r", "at_risk", measure="binary_rate",
                                       trigger="significant", value=1000, share=1),))
    res = simulate(c, flat(n, p0, 3 * p0), effect=[Effect.none(), Effect(p=0.02),
                                                   Effect(p=0.03)], n_sims=20000, seed=1)
    for e in res.effects:
        ev = res.evaluation("sig", e, "none")
        paid = float((ev.total[:, 0] == 0).mean())    # the 1,000 at risk kept
        analytic = power_binary(n, p0, -p0 * e.p) if e.p else 0.025  # one tail of 5%
        assert abs(paid - analytic) < 0.01, (e.label, paid, analytic)


def test_linear_mean_is_price_times_expected_reduction_and_cap_truncates() -> None:
    n, p0, e = 2000, 0.45, 0.08
    p1 = p0 * (1 - e)
    res = simulate({"lin": linear(), "cap": linear("cap", cap=80000)}, flat(n, p0, 3 * p0),
                   effect=Effect(p=e), n_sims=20000, seed=2)
    lin = res.evaluation("lin", res.effects[0], "none").total[:, 0] / 100
    capped = res.evaluation("cap", res.effects[0], "none").total[:, 0] / 100
    se = lin.std() / math.sqrt(lin.size)
    assert abs(lin.mean() - 1000 * n * (p0 - p1)) < 3 * se
    # E[min(1000 (n p0 - X), cap)], X ~ N(n p1, n p1 (1 - p1)) integrated numerically,
    # and the same sum over the binomial's mass function (what the model draws)
    sd = math.sqrt(n * p1 * (1 - p1))
    normal = integrate.quad(lambda x: min(1000 * (n * p0 - x), 80000)
                            * st.norm.pdf(x, n * p1, sd), n * p1 - 12 * sd, n * p1 + 12 * sd,
                            points=[n * p0 - 80], limit=200)[0]
    k = np.arange(n + 1)
    exact = float((st.binom.pmf(k, n, p1) * np.minimum(1000 * (n * p0 - k), 80000)).sum())
    se_cap = capped.std() / math.sqrt(capped.size)
    assert abs(capped.mean() - exact) < 3 * se_cap
    assert abs(capped.mean() - normal) < 4 * se_cap
    assert exact < 1000 * n * (p0 - p1) - 5000        # the cap binds


def test_cherry_picking_gain_vanishes_with_casemix_and_matches_rates_without() -> None:
    pop = Population.synthetic(areas=2, cohorts=2, size=1000, area_sd=0.2, seed=4)
    res = simulate(linear(), pop, behaviour=[Behaviour.none(), Behaviour.cherry_picking(0.7)],
                   n_sims=4000, seed=3, baseline="population")
    g = res.gaming().row(0, named=True)
    assert abs(g["gain_with_casemix"]) < 3 * g["se_with_casemix"]
    cells = res.cells("cherry-picking 70%")
    # without adjustment: price x n_kept x (referral rate - kept rate), per area
    analytic = float((1000 * cells["n"] * (cells["referral_binary"]
                                          - cells["counterfactual_binary"])).sum()) / 2
    assert analytic > 50000
    assert abs(g["gain_without_casemix"] - analytic) < 3 * g["se_without_casemix"]
    assert g["expected_binary_gap"] < 0


def test_parking_costs_nothing_under_the_binary_measure_and_something_under_frequency() -> None:
    pop = Population.synthetic(areas=1, cohorts=2, size=1500, seed=6)
    freq = Contract("freq", comparator=Comparator(values={"per_offender": "1.35"}),
                    components=(Component("f", "linear", measure="per_offender",
                                          basis="avoided", price=100, clawback=True),))
    res = simulate({"binary": linear(), "frequency": freq}, pop,
                   effect=Effect(p=0.05, frequency=0.2),
                   behaviour=[Behaviour.none(), Behaviour.parking()], n_sims=500, seed=8,
                   baseline="population")
    g = res.gaming()
    binary = g.filter(design="binary").row(0, named=True)
    assert binary["gain_with_casemix"] == 0.0 and binary["gain_without_casemix"] == 0.0
    assert g.filter(design="frequency")["gain_with_casemix"][0] < -10000
    # common random numbers: the reoffenders drawn are the same replicate by replicate
    a = res.counts[("p 5%, frequency 20%", "none")]
    b = res.counts[("p 5%, frequency 20%", "parking")]
    assert np.array_equal(a[0], b[0]) and (b[1] >= a[1]).mean() > 0.9


# ---------------------------------------------------------------------- draws
def test_draws_are_exact_for_the_hurdle_model() -> None:
    # one group of 500 with p 0.3, m 1.5, theta 2: means and the variance of the sum
    n, p, m, theta = 500, 0.3, 1.5, 2.0
    pop = flat(n, p, p * (1 + m), theta)
    lay = _draws.layout(pop, Behaviour.none())
    g = _draws.groups(lay, Effect.none())
    assert g.size.tolist() == [n]
    reo, reoff = _draws.draw(g, 1, 20000, seed=5)
    assert abs(reo.mean() - n * p) < 4 * math.sqrt(n * p * (1 - p) / 20000)
    # Var(total) = Var(R) (1 + m)^2 + E[R] Var(L), Var(L) = m + m^2 / theta
    var = n * p * (1 - p) * (1 + m) ** 2 + n * p * (m + m * m / theta)
    assert abs(reoff.mean() - n * p * (1 + m)) < 4 * math.sqrt(var / 20000)
    assert abs(reoff.var() / var - 1) < 0.05
    # per-offender risks (groups of one) draw the same distribution
    f = pop.frame.with_columns(pl.col("p") + pl.Series(np.linspace(-1e-9, 1e-9, n)))
    f = f.with_columns((pl.col("p") * (1 + m)).alias("mu"))
    g1 = _draws.groups(_draws.layout(Population(f), Behaviour.none()), Effect.none())
    assert g1.size.size == n and g1.m.size == 1            # one family: one NB draw
    r1, f1 = _draws.draw(g1, 1, 20000, seed=6)
    assert abs(r1.mean() - n * p) < 4 * math.sqrt(n * p * (1 - p) / 20000)
    assert abs(f1.mean() - n * p * (1 + m)) < 4 * math.sqrt(var / 20000)


def test_same_seed_same_bytes_whatever_the_threads() -> None:
    pop = Population.synthetic(areas=2, cohorts=2, size=300, seed=1)
    kw = dict(effect=[Effect.none(), Effect(p=0.1, frequency=0.1, by_band={10: 0.5})],
              behaviour=[Behaviour.none(), Behaviour.creaming(0.5)], n_sims=600, seed=42)
    seen: list[tuple[int, int]] = []
    one = simulate(linear(), pop, threads=1, progress=lambda d, t: seen.append((d, t)),
                   **kw)  # type: ignore[arg-type]
    assert seen[-1] == (2400, 2400) and len(seen) == 4 * 3      # 4 combinations x 3 shards
    two = simulate(linear(), pop, threads=2, **kw)  # type: ignore[arg-type]
    assert one.frame.equals(two.frame)
    assert one.manifest_json() == two.manifest_json()
    other = simulate(linear(), pop, threads=2, **{**kw, "seed": 43})  # type: ignore[arg-type]
    assert not one.frame.equals(other.frame)
    # a shard's numbers do not depend on how many replicates follow it
    short = simulate(linear(), pop, threads=2, **{**kw, "n_sims": 260})  # type: ignore[arg-type]
    key = ("none", "none")
    assert np.array_equal(short.counts[key][0], one.counts[key][0][:260])


def test_effect_behaviour_and_population_semantics() -> None:
    keep, _, _ = Behaviour.cherry_picking(0.5).apply(np.array([0.9, 0.1, 0.5, 0.2, 0.3]))
    assert keep.tolist() == [False, True, False, True, True]     # ceil(2.5) = 3 lowest
    assert Behaviour.parking().apply(np.array([0.1, 0.2]))[2].tolist() == [False, False]
    fp, ff = Effect(p=0.2, frequency=0.1, by_band={10: 0.5}).factors(np.array([1, 10]))
    assert fp.tolist() == [0.8, 0.9] and ff.tolist() == [0.9, 0.95]
    pop = Population.synthetic(areas=["north"], cohorts=["2019Q1"], size=1000, rate=0.3,
                               per_reoffender=2.5, area_sd=0, seed=3)
    assert pop.frame["risk_decile"].value_counts()["count"].to_list() == [100] * 10
    assert abs(pop.frame["p"].mean() - 0.3) < 0.01   # type: ignore[operator]
    assert np.allclose(pop.frame["mu"] / pop.frame["p"], 2.5)
    sloped = Population.synthetic(areas=1, cohorts=1, size=100, rate=0.3, per_reoffender=2.5,
                                  area_sd=0, frequency_slope=1.0)
    later = (sloped.frame["mu"] / sloped.frame["p"] - 1).to_numpy()
    assert np.allclose(later, 1.5 * sloped.frame["p"].to_numpy() / 0.3)
    renamed = pop.with_cohorts({"2019Q1": "cohort A"})
    assert renamed.cohorts == ("cohort A",)
    # case mix: the comparator follows the drawn cohort's expected rate
    res = simulate(linear(), pop, behaviour=[Behaviour.none(), Behaviour.cherry_picking(0.5)],
                   n_sims=5, seed=1, baseline="population")
    cells = res.cells("cherry-picking 50%")
    assert cells["n"].to_list() == [500]
    cc = res.compiled_contract("lin", "cherry-picking 50%")
    expected = round(100 * cells["counterfactual_binary"][0], 6)
    assert float(cc.cmp.value["binary_rate"][0]) == pytest.approx(expected, abs=1e-6)
    assert res.summary()["p_any_payment"].is_between(0, 1).all()
    assert (res.summary()["mean_se"] > 0).all()
    part = res.frame_for("lin", Effect.none(), "cherry-picking 50%")
    assert part.equals(res.frame.filter(behaviour="cherry-picking 50%"))
    text = res.explain()
    assert "Binomial" in text and "seed 1" in text
    one = res.explain(behaviour="cherry-picking 50%", replicate=2)
    assert "Payment statement" in one and "Line L1" in one
    assert "P(pay)" in str(res)


def test_from_cohort_fits_the_frequency_model() -> None:
    rng = np.random.default_rng(0)
    n = 4000
    x = rng.normal(size=n)
    p = 1 / (1 + np.exp(-(-0.3 + 0.8 * x)))
    reo = rng.random(n) < p
    later = rng.negative_binomial(1.5, 1.5 / (1.5 + 2.0), n)       # mean 2, theta 1.5
    frame = pl.DataFrame({"area": np.where(x > 0, "a", "b"), "cohort": ["q1"] * n,
                          "x": x, "reoffended": reo,
                          "reoffences": np.where(reo, 1 + later, 0)})
    model = fit_casemix(frame, ["x"])
    pop = Population.from_cohort(frame, risk=model, offender_id=None)
    assert pop.frequency == "negbin"
    m = float((pop.frame["mu"] / pop.frame["p"]).mean()) - 1
    assert abs(m - 2.0) < 0.2 and abs(float(pop.frame["theta"][0]) - 1.5) < 0.3
    pois = Population.from_cohort(frame.with_columns(pl.Series("risk", p)), risk="risk",
                                  frequency="poisson", offender_id=None)
    assert math.isinf(pois.frame["theta"][0]) and pois.frequency == "poisson"
    assert "case-mix model" in pop.source


# ---------------------------------------------------------------------- refusals
def test_bad_populations_are_refused() -> None:
    good = flat(10, 0.3, 0.6).frame
    with pytest.raises(SchemaError, match="mu"):
        Population(good.drop("mu"))
    with pytest.raises(SchemaError, match=r"population\.p: row 0"):
        Population(good.with_columns(pl.lit(30.0).alias("p")))
    with pytest.raises(SchemaError, match="at least p"):
        Population(good.with_columns(pl.lit(0.1).alias("mu")))
    with pytest.raises(SchemaError, match="repeats"):
        Population(good.with_columns(pl.lit(1).alias("offender_id")))
    with pytest.raises(SchemaError, match="theta"):
        Population(good.with_columns(pl.lit(0.0).alias("theta")))
    with pytest.raises(SchemaError, match="empty"):
        Population(good.with_columns(pl.lit(None, pl.String).alias("area")))
    with pytest.raises(SpecError, match="rate"):
        Population.synthetic(rate=45)
    with pytest.raises(SpecError, match="size"):
        Population.synthetic(areas=1, size=0)
    with pytest.raises(SpecError, match="per_reoffender"):
        Population.synthetic(per_reoffender=0.5)
    frame = pl.DataFrame({"area": ["a"], "cohort": ["q"], "risk": [1.4]})
    with pytest.raises(SchemaError, match="risk"):
        Population.from_cohort(frame, risk="risk", offender_id=None)
    with pytest.raises(SchemaError, match="baseline"):
        Population.from_cohort(frame.with_columns(pl.lit(0.4).alias("risk")), risk="risk",
                               offender_id=None)
    with pytest.raises(SchemaError, match="not in the frame"):
        Population.from_cohort(frame, risk="nope", offender_id=None)


def test_bad_arguments_are_refused() -> None:
    pop = Population.synthetic(areas=1, cohorts=1, size=100, seed=1)
    with pytest.raises(SpecError, match="n_sims"):
        simulate(linear(), pop, n_sims=0)
    with pytest.raises(SpecError, match="seed"):
        simulate(linear(), pop, seed=-1)
    with pytest.raises(SpecError, match="repeat"):
        simulate(linear(), pop, effect=[Effect(p=0.1), Effect(p=0.1)], n_sims=2)
    with pytest.raises(SpecError, match="Population"):
        simulate(linear(), pop.frame, n_sims=2)  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="Contract"):
        simulate({"x": "contract"}, pop, n_sims=2)  # type: ignore[dict-item]
    with pytest.raises(SpecError, match=r"effect\.p"):
        Effect(p=10)
    with pytest.raises(SpecError, match="by_band"):
        Effect(p=0.1, by_band={11: 1.0})
    with pytest.raises(SpecError, match="share"):
        Behaviour.cherry_picking(1.5)
    with pytest.raises(SpecError, match="share"):
        Behaviour("parking", 0.5)
    with pytest.raises(ContractError, match="cohort"):
        simulate(Contract("p", periods=(CohortPeriod("2019Q1"),), comparator=Comparator(
            values={"binary_rate": 45}), components=linear().components), pop, n_sims=2)
    res = simulate(linear(), pop, n_sims=3, seed=1)
    with pytest.raises(SpecError, match="replicate"):
        res.statement("lin", "none", "none", 3)
    with pytest.raises(SpecError, match="design"):
        res.statement("other", "none", "none", 0)
    with pytest.raises(SpecError, match="gaming"):
        simulate(linear(), pop, behaviour=Behaviour.parking(), n_sims=2).gaming()


def test_sizes_per_area_and_cohort_and_doctests() -> None:
    import doctest
    import importlib

    pop = Population.synthetic(areas=2, cohorts=2, size={
        ("area 01", "cohort 1"): 10, ("area 01", "cohort 2"): 20,
        ("area 02", "cohort 1"): 30, ("area 02", "cohort 2"): 40})
    assert pop.sizes()["n"].to_list() == [10, 20, 30, 40]
    with pytest.raises(SpecError, match="missing"):
        Population.synthetic(areas=2, cohorts=2, size={"area 01": 10})
    for name in ("behaviour", "designs", "effect", "population"):
        mod = importlib.import_module(f"pbr.simulate.{name}")   # pbr.simulate: the function
        assert doctest.testmod(mod).failed == 0, name


def test_casemix_comparator_uses_the_contracts_baseline_risk() -> None:
    c = Contract("cm", comparator=Comparator("casemix", values={"binary_rate": 50},
                                             risk_column="risk", baseline_risk=47),
                 components=linear().components)
    pop = Population.synthetic(areas=1, cohorts=1, size=1000, area_sd=0, seed=1)
    with pytest.warns(DataQualityWarning, match="differs by more than 10%"):
        res = simulate(c, pop, behaviour=[Behaviour.none(), Behaviour.cherry_picking(0.5)],
                       n_sims=20, seed=1)
    assert any("baseline=\"population\"" in n for n in res.notes)
    for b in ("none", "cherry-picking 50%"):
        drawn = 100 * res.cells(b)["counterfactual_binary"][0]
        value = float(res.compiled_contract("cm", b).cmp.value["binary_rate"][0])
        assert value == pytest.approx(50 + drawn - 47, abs=1e-6)      # additive, percent
        fixed = float(res.compiled_contract("cm", b, casemix=False).cmp.value["binary_rate"][0])
        assert fixed == 50
    oc = res.operating_characteristic()
    assert set(oc.columns) >= {"p_any_payment", "mc_se", "p_loss"}


def test_from_cohort_with_ogrs3() -> None:
    import datetime as dt
    frame = pl.DataFrame({
        "sex": ["M", "F", "M", "M"], "area": ["a"] * 4, "cohort": ["q1"] * 4,
        "birth_date": [dt.date(1990, 1, 1), dt.date(1980, 6, 1), dt.date(2000, 3, 3),
                       dt.date(1970, 1, 1)],
        "conviction_date": [dt.date(2019, 1, 10)] * 4,
        "first_sanction_date": [dt.date(2006, 1, 1), dt.date(2010, 1, 1),
                                dt.date(2016, 1, 1), dt.date(1990, 1, 1)],
        "previous_sanctions": [5, 1, 2, 20],
        "offence_category": ["burglary_domestic", "fraud", "theft", "violence"],
        "assessment_date": [dt.date(2019, 2, 1)] * 4,
        "reoffended": [True, False, True, True], "reoffences": [3, 0, 1, 2]})
    from pbr.risk import ogrs3
    expected = ogrs3(frame, age_basis="assessment")["ogrs3_1yr"].to_list()
    pop = Population.from_cohort(frame, risk="ogrs3", frequency="poisson", offender_id=None,
                                 risk_options={"age_basis": "assessment"})
    assert pop.frame["p"].to_list() == expected
    assert "OGRS3" in pop.source
    with pytest.raises(SpecError, match="risk_options"):
        Population.from_cohort(frame.with_columns(pl.lit(0.3).alias("r")), risk="r",
                               offender_id=None, risk_options={"age_basis": "assessment"})


def test_frequency_by_risk() -> None:
    rng = np.random.default_rng(1)
    n = 6000
    x = rng.normal(size=n)
    p = 1 / (1 + np.exp(-(-0.2 + 0.9 * x)))
    m = np.exp(0.3 + 0.6 * np.log(p / (1 - p)))
    reo = rng.random(n) < p
    later = rng.poisson(m)
    frame = pl.DataFrame({"area": ["a"] * n, "cohort": ["q1"] * n, "risk": p,
                          "reoffended": reo, "reoffences": np.where(reo, 1 + later, 0)})
    for frequency in ("poisson", "negbin"):
        pop = Population.from_cohort(frame, risk="risk", frequency=frequency,
                                     offender_id=None, frequency_by_risk=True)
        fitted = (pop.frame["mu"] / pop.frame["p"] - 1).to_numpy()
        assert np.corrcoef(fitted, m)[0, 1] > 0.99
        assert abs(np.log(fitted / m)).max() < 0.2
    res = simulate(linear(values={"binary_rate": 45}), pop, n_sims=40, seed=1,
                   baseline="population")
    g = res.groups[("none", "none")]
    assert g.m.size == n                      # one family per offender: m differs
    reoff = res.counts[("none", "none")][1]
    assert abs(reoff.mean() - pop.frame["mu"].sum()) < 0.05 * pop.frame["mu"].sum()


def test_demo_contract_on_a_measured_synthetic_cohort() -> None:
    import pbr
    from pbr.contract.spec import demo_contract_text
    from pbr.synth import generate

    data = generate(2000, seed=1)
    measured = pbr.measure(data.cohort, data.events, pbr.preset("crc_pbr_2015"))
    model = fit_casemix(measured, ["age", "prior_sanctions"])
    pop = Population.from_cohort(measured.frame, risk=model, cohort="cohort_period",
                                 baseline=measured)
    assert set(pop.cohorts) <= {"2019Q1", "2019Q2", "2019Q3", "2019Q4"}
    c = Contract.from_toml(demo_contract_text())
    with pytest.warns(DataQualityWarning):   # the demo's 28% against this cohort's 25%
        res = simulate(c, pop, effect=[Effect.none(), Effect(p=0.1, frequency=0.1)],
                       n_sims=60, seed=2)
    s = res.summary()
    assert s.height == 2 and (s["mean_payment"] > 0).all()
    area = pop.areas[0]
    st_ = res.statement(c.name, "p 10%, frequency 10%", "none", 7, area=area)
    f = res.frame.filter(effect="p 10%, frequency 10%", replicate=7, area=area)
    assert float(st_.total) == pytest.approx(f["payment"].sum(), abs=1e-6)
