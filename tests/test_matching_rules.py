"""Hand-worked cases for every matching rule (docs/methodology/matching.md)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl
import pytest
from scipy import stats

import pbr
from pbr.errors import SchemaError, SpecError
from pbr.matching import rosenbaum_binary


def units(scores: dict[int, float], treated: set[int], **extra: Any) -> pl.DataFrame:
    ids = list(scores)
    return pl.DataFrame({"id": ids, "t": [int(i in treated) for i in ids],
                         "s": [scores[i] for i in ids], **extra})


def pairs_of(m: pbr.MatchResult) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in m.pairs.select("treated_id", "control_id").iter_rows()]


# ---------------------------------------------------------------- order and ties
@pytest.mark.parametrize("order,expected", [("largest", [(1, 10), (2, 11)]),
                                            ("smallest", [(2, 10), (1, 11)]),
                                            ("data", [(1, 10), (2, 11)])])
def test_greedy_order_decides_contention(order: str, expected: list[tuple[int, int]]) -> None:
    # A (0.60) and B (0.55) both want c10 (0.58); the first to choose gets it.
    df = units({1: 0.60, 2: 0.55, 10: 0.58, 11: 0.30}, {1, 2})
    m = pbr.match(df, "t", score="s", id="id", order=order)
    assert sorted(pairs_of(m)) == sorted(expected)
    first = m.pairs.filter(pl.col("subclass") == 1)["treated_id"][0]
    assert first == expected[0][0] if order != "smallest" else first == 2


def test_ties_equal_distance_prefers_higher_score_then_smaller_id() -> None:
    df = units({1: 0.5, 10: 0.25, 11: 0.75}, {1})
    assert pairs_of(pbr.match(df, "t", score="s", id="id")) == [(1, 11)]
    df = units({1: 0.5, 17: 0.75, 12: 0.75, 10: 0.25}, {1})
    assert pairs_of(pbr.match(df, "t", score="s", id="id")) == [(1, 12)]
    # a run of equal scores below the treated unit: the smallest id of the run
    df = units({1: 0.5, 19: 0.375, 14: 0.375, 16: 0.875}, {1})
    assert pairs_of(pbr.match(df, "t", score="s", id="id")) == [(1, 14)]
    # treated ties in score: the smaller id chooses first
    df = units({5: 0.5, 3: 0.5, 10: 0.5, 11: 0.0}, {5, 3})
    assert pairs_of(pbr.match(df, "t", score="s", id="id")) == [(3, 10), (5, 11)]


def test_random_order_is_seeded() -> None:
    rng = np.random.default_rng(3)
    df = units({i: float(rng.random()) for i in range(60)}, set(range(20)))
    a = pbr.match(df, "t", score="s", id="id", order="random", seed=5)
    b = pbr.match(df, "t", score="s", id="id", order="random", seed=5)
    assert pairs_of(a) == pairs_of(b)
    assert a.provenance["seed"] == 5


# ---------------------------------------------------------------- replacement, ratio, caliper
def test_with_replacement_weights_count_reuse() -> None:
    df = units({1: 0.9, 2: 0.8, 3: 0.2, 10: 0.85, 11: 0.25, 12: 0.5}, {1, 2, 3},
               y=[6.0, 4.0, 2.0, 3.0, 0.0, 9.0])
    m = pbr.match(df, "t", score="s", id="id", replace=True)
    assert sorted(pairs_of(m)) == [(1, 10), (2, 10), (3, 11)]
    w = dict(zip(m.frame["id"].to_list(), m.frame["weight"].to_list(), strict=True))
    # raw weights 2 and 1, rescaled to average 1 over the 2 matched controls
    assert (w[10], w[11], w[12]) == pytest.approx((4 / 3, 2 / 3, 0.0))
    e = pbr.estimate_effect(m, None, "y")
    assert e.estimate == pytest.approx(4.0 - (2 * 3.0 + 0.0) / 3)
    assert e.se_method == "abadie_imbens"
    assert e.n_control == 2


def test_ratio_two_in_rounds_with_caliper() -> None:
    df = units({1: 0.5, 2: 0.45, 10: 0.49, 11: 0.47, 12: 0.40, 13: 0.10}, {1, 2})
    m = pbr.match(df, "t", score="s", id="id", ratio=2)
    assert pairs_of(m) == [(1, 10), (1, 12), (2, 11), (2, 13)]
    assert m.pairs["pair_weight"].to_list() == [0.5] * 4
    m = pbr.match(df, "t", score="s", id="id", ratio=2, caliper=0.1, caliper_scale="absolute")
    assert pairs_of(m) == [(1, 10), (1, 12), (2, 11)]
    w = dict(zip(m.frame["id"].to_list(), m.frame["weight"].to_list(), strict=True))
    assert (w[10], w[12], w[11], w[13]) == pytest.approx((0.75, 0.75, 1.5, 0.0))
    assert (m.pairs["distance"] <= 0.1).all()


def test_caliper_leaves_treated_unmatched_and_explains() -> None:
    df = units({1: 0.9, 2: 0.5, 10: 0.88, 11: 0.1}, {1, 2})
    m = pbr.match(df, "t", score="s", id="id", caliper=0.05, caliper_scale="absolute")
    assert pairs_of(m) == [(1, 10)]
    assert "no available control within the caliper" in m.explain(2)
    assert "pair with control 10" in m.explain(1)
    sizes = {r[0]: r[1:] for r in m.sample_sizes().iter_rows()}
    assert sizes["unmatched"] == (1.0, 1.0)


def test_reuse_cap() -> None:
    df = units({1: 0.5, 2: 0.5, 3: 0.5, 10: 0.5, 11: 0.9}, {1, 2, 3})
    m = pbr.match(df, "t", score="s", id="id", replace=True, reuse_max=2)
    assert pairs_of(m) == [(1, 10), (2, 10), (3, 11)]
    once = pbr.match(df, "t", score="s", id="id", replace=True, reuse_max=1)
    plain = pbr.match(df, "t", score="s", id="id")
    assert pairs_of(once) == pairs_of(plain)


# ---------------------------------------------------------------- strata, CEM, discard
def test_exact_strata_keep_pairs_within_levels() -> None:
    df = units({1: 0.5, 10: 0.5, 11: 0.1}, {1}, sex=["m", "f", "m"])
    m = pbr.match(df, "t", score="s", id="id", exact=["sex"])
    assert pairs_of(m) == [(1, 11)]
    lonely = units({1: 0.5, 2: 0.4, 10: 0.5}, {1, 2}, sex=["m", "f", "m"])
    m = pbr.match(lonely, "t", score="s", id="id", exact=["sex"])
    assert pairs_of(m) == [(1, 10)]
    assert "no comparison unit in its exact stratum (sex)" in m.explain(2)


def test_exact_method_weights() -> None:
    df = pl.DataFrame({"id": range(7), "t": [1, 0, 0, 1, 0, 0, 1],
                       "g": ["a", "a", "a", "b", "b", "c", "d"]})
    m = pbr.match(df, "t", ["g"], id="id", method="exact")
    # a: 1 treated / 2 controls; b: 1/1; c and d lack a group.  Control weights 1/2, 1/2,
    # 1, rescaled to average 1 over 3 controls: x 3/2.
    assert m.frame["weight"].to_list() == pytest.approx([1, 0.75, 0.75, 1, 1.5, 0, 0])
    assert m.frame["subclass"].to_list() == [1, 1, 1, 2, 2, None, None]
    assert m.pairs.height == 0
    assert "stratum with 1 treated and 2 control" in m.explain(0)


def test_cem_coarsens_then_stratifies() -> None:
    df = pl.DataFrame({"id": range(6), "t": [1, 0, 0, 1, 0, 0],
                       "age": [20, 21, 29, 40, 41, 39], "sex": ["m"] * 6})
    m = pbr.match(df, "t", ["age", "sex"], id="id", method="cem", cem_bins=2)
    # bins of width 10 from 20: [20, 30) and [30, 40]; 2 strata with 1 treated each
    assert m.frame["subclass"].to_list() == [1, 1, 1, 2, 2, 2]
    assert m.frame["weight"].to_list() == pytest.approx([1, 1, 1, 1, 1, 1])
    sturges = pbr.match(df, "t", ["age"], id="id", method="cem")  # ceil(log2(6) + 1) = 4
    assert sturges.frame["subclass"].to_list() == [1, 1, None, 2, 2, 2]


def test_nothing_left_or_nothing_matched() -> None:
    df = units({1: 0.9, 2: 0.8, 10: 0.1, 11: 0.2}, {1, 2})
    with pytest.raises(SchemaError, match="common support"):
        pbr.match(df, "t", score="s", id="id", discard="both")
    m = pbr.match(df, "t", score="s", id="id", caliper=0.01, caliper_scale="absolute")
    assert m.pairs.height == 0 and m.frame["weight"].sum() == 0
    assert m.balance().frame["smd_after"].is_nan().all()


def test_common_support_discard() -> None:
    df = units({1: 0.6, 2: 0.4, 10: 0.55, 11: 0.95, 12: 0.05, 13: 0.45}, {1, 2})
    m = pbr.match(df, "t", score="s", id="id", discard="control")
    assert m.frame.filter(pl.col("discarded"))["id"].to_list() == [11, 12]
    assert "outside the common support" in m.explain(11)
    both = pbr.match(units({1: 0.9, 2: 0.4, 10: 0.5, 11: 0.3}, {1, 2}), "t", score="s",
                     id="id", discard="both")
    assert both.frame.filter(pl.col("discarded"))["id"].to_list() == [1, 11]


def test_mahalanobis_pairs_nearest_in_covariates() -> None:
    df = pl.DataFrame({"id": [1, 2, 10, 11, 12], "t": [1, 1, 0, 0, 0],
                       "x": [0.0, 5.0, 4.8, 0.3, 9.0], "z": [1.0, 1.0, 1.1, 0.9, 3.0]})
    m = pbr.match(df, "t", ["x", "z"], id="id", distance="mahalanobis", order="data")
    assert sorted(pairs_of(m)) == [(1, 11), (2, 10)]
    r = pbr.match(df, "t", ["x", "z"], id="id", distance="mahalanobis", replace=True)
    assert sorted(pairs_of(r)) == [(1, 11), (2, 10)]


# ---------------------------------------------------------------- model, missing, spec
def test_categorical_and_formula_models_agree() -> None:
    data = pbr.synth.generate(1_500, seed=4).cohort
    a = pbr.match(data, "treated", ["age", "sentence", "prior_sanctions"])
    b = pbr.match(data, "treated", formula="age + C(sentence) + prior_sanctions")
    np.testing.assert_allclose(a.frame["ps"].to_numpy(), b.frame["ps"].to_numpy(), rtol=1e-7)
    assert b.spec.covariates == ("age", "prior_sanctions", "sentence")
    assert pairs_of(a) == pairs_of(b)


@pytest.mark.filterwarnings("ignore:the propensity model did not converge")
def test_missing_values() -> None:
    df = pl.DataFrame({"id": range(8), "t": [1, 0, 1, 0, 1, 0, 0, 0],
                       "x": [1.0, None, 2.0, 3.0, 0.5, 1.5, 2.5, 0.1],
                       "g": ["a", "b", None, "a", "b", "a", "b", "a"]})
    with pytest.raises(SchemaError, match=r"x \(1 rows\), g \(1 rows\)"):
        pbr.match(df, "t", ["x", "g"], id="id")
    d = pbr.match(df, "t", ["x", "g"], id="id", missing="drop")
    assert d.frame.height == 6 and d.exclusions.count() == 2
    i = pbr.match(df, "t", ["x", "g"], id="id", missing="indicator")
    assert "x_missing" in i.frame.columns and i.frame.height == 8
    scores = np.linspace(0.1, 0.8, 8)
    s = pbr.match(df, "t", ["x", "g"], id="id", missing="drop", score=scores)
    np.testing.assert_array_equal(s.frame["ps"].to_numpy(), np.delete(scores, [1, 2]))


def test_spec_validation_and_toml_round_trip() -> None:
    with pytest.raises(SpecError, match="reuse_max"):
        pbr.MatchSpec(reuse_max=2)
    with pytest.raises(SpecError, match="caliper_scale"):
        pbr.MatchSpec(distance="mahalanobis", caliper=0.5)
    with pytest.raises(SpecError, match="distance"):
        pbr.MatchSpec(distance="euclid")  # type: ignore[arg-type]
    spec = pbr.MatchSpec(covariates=["age"], exact=["sex"], ratio=3, replace=True,
                         reuse_max=2, caliper=0.2, order="random", seed=9, name="jdl")
    assert pbr.MatchSpec.from_toml(spec.to_toml()) == spec
    assert hash(spec) == hash(pbr.MatchSpec.from_toml(spec.to_toml()))
    assert "reuse_max" in str(spec) and "MatchIt reuse.max" in str(spec)


def test_bad_data_errors() -> None:
    df = units({1: 0.5, 1_0: 0.4}, {1})
    with pytest.raises(SchemaError, match="unique"):
        pbr.match(pl.concat([df, df]), "t", score="s", id="id")
    with pytest.raises(SchemaError, match="both treated and comparison"):
        pbr.match(df.with_columns(t=pl.lit(1)), "t", score="s", id="id")
    with pytest.raises(SchemaError, match="not in the data"):
        pbr.match(df, "t", ["nope"], id="id")


def test_cohort_keeps_each_units_own_index_date() -> None:
    data = pbr.synth.generate(800, seed=2).cohort
    m = pbr.match(data, "treated", ["age", "prior_sanctions"])
    c = m.cohort()
    own = data.select("offender_id", pl.col("index_date").alias("own"))
    joined = c.join(own, on="offender_id")
    assert joined.height == c.height and (joined["index_date"] == joined["own"]).all()
    assert c["treated"].sum() == m.pairs["treated_id"].n_unique()


# ---------------------------------------------------------------- effects
def test_effect_joins_measure_result_on_offender_id() -> None:
    data = pbr.synth.generate(3_000, seed=11)
    m = pbr.match(data.cohort, "treated", ["age", "sex", "prior_sanctions", "sentence"],
                  distance="logit", caliper=0.2)
    res = pbr.measure(m.cohort(), data.events)
    e = pbr.estimate_effect(m, res, "reoffences")
    y = dict(zip(res.frame["offender_id"].to_list(), res.frame["reoffences"].to_list(),
                 strict=True))
    yt = np.mean([y[i] for i in m.pairs["treated_id"].to_list()])
    yc = np.mean([y[i] for i in m.pairs["control_id"].to_list()])
    assert e.estimate == pytest.approx(yt - yc)
    assert e.ratio == pytest.approx(yt / yc)
    assert e.ratio_ci is not None and e.ratio_ci[0] < e.ratio < e.ratio_ci[1]
    b = m.effect(res, "reoffended")
    assert b.kind == "binary" and "percentage points" in str(b)
    t = m.effect(res, "days_to_first", kind="time")
    assert t.n_treated < e.n_treated  # units without a reoffence are left out


def test_abadie_imbens_hand_worked() -> None:
    # A (0.90, y 5) and B (0.82, y 3) both take c1 (0.85, y 2); ATT = ((5-2)+(3-2))/2 = 2.
    # treated term (3-2)^2 + (1-2)^2 = 2; c1: (K^2 - K)/M^2 = 2, sigma^2 from its nearest
    # other control c2 (0.55, y 1): (2-1)^2 / 2 = 0.5, term 1.  V = (2 + 1) / 2^2.
    df = units({1: 0.9, 2: 0.82, 10: 0.85, 11: 0.55, 12: 0.1}, {1, 2},
               y=[5.0, 3.0, 2.0, 1.0, 0.0])
    m = pbr.match(df, "t", score="s", id="id", replace=True)
    e = pbr.estimate_effect(m, None, "y")
    assert e.estimate == pytest.approx(2.0)
    assert e.se == pytest.approx(math.sqrt(0.75))


def test_pair_clustered_se_matches_statsmodels() -> None:
    import statsmodels.api as sm

    rng = np.random.default_rng(1)
    n = 300
    df = pl.DataFrame({"id": range(n), "t": (rng.random(n) < 0.3).astype(int),
                       "s": rng.random(n), "y": rng.poisson(2.0, n).astype(float)})
    m = pbr.match(df, "t", score="s", id="id")
    e = pbr.estimate_effect(m, None, "y")
    md = m.matched_frame
    x = sm.add_constant(md["t"].to_numpy().astype(float))
    fit = sm.WLS(md["y"].to_numpy(), x, weights=md["weight"].to_numpy()).fit(
        cov_type="cluster", cov_kwds={"groups": md["subclass"].to_numpy()})
    assert e.estimate == pytest.approx(fit.params[1])
    assert e.se == pytest.approx(fit.bse[1], rel=1e-10)


def test_bootstrap_is_seeded() -> None:
    data = pbr.synth.generate(1_000, seed=3).cohort.with_columns(y=pl.col("true_risk"))
    m = pbr.match(data, "treated", ["age", "prior_sanctions"])
    a = pbr.estimate_effect(m, None, "y", se="bootstrap", seed=1, n_boot=200)
    b = pbr.estimate_effect(m, None, "y", se="bootstrap", seed=1, n_boot=200)
    c = pbr.estimate_effect(m, None, "y", se="bootstrap", seed=2, n_boot=200)
    assert a == b and a.ci != c.ci
    assert a.ci[0] < a.estimate < a.ci[1]
    with pytest.raises(SpecError, match="seed"):
        pbr.estimate_effect(m, None, "y", se="bootstrap")


# ---------------------------------------------------------------- sensitivity
def test_rosenbaum_closed_form() -> None:
    # all 3 discordant pairs favour the hypothesis: upper bound (g / (1 + g))^3
    b = rosenbaum_binary(3, 0, [1, 2])
    assert b["p_upper"].to_list() == pytest.approx([1 / 8, 8 / 27])
    assert b["p_lower"].to_list() == pytest.approx([1 / 8, 1 / 27])
    # gamma = 1 is McNemar's exact one-sided test
    g1 = rosenbaum_binary(15, 5, [1.0])["p_upper"][0]
    assert g1 == pytest.approx(stats.binomtest(15, 20, 0.5, alternative="greater").pvalue)
    # Hammond's 122 discordant pairs (Rosenbaum 2002, section 4.3), normal approximation
    h = rosenbaum_binary(110, 12, [4, 5, 6], method="normal")["p_upper"].to_list()
    d, t = 122, 110
    for g, p in zip([4, 5, 6], h, strict=True):
        q = g / (1 + g)
        assert p == pytest.approx(stats.norm.sf((t - 0.5 - d * q) / math.sqrt(d * q * (1 - q))))
    assert [round(p, 2) for p in h[1:]] == [0.03, 0.10]


def test_rosenbaum_bounds_on_pairs() -> None:
    df = units({1: 0.9, 2: 0.8, 3: 0.7, 10: 0.9, 11: 0.8, 12: 0.7}, {1, 2, 3},
               y=[0, 0, 1, 1, 1, 1])
    m = pbr.match(df, "t", score="s", id="id")
    r = pbr.rosenbaum_bounds(m, None, "y", gammas=[1.0, 2.0])
    assert (r["control_only"][0], r["treated_only"][0]) == (2, 0)
    assert r["p_upper"].to_list() == pytest.approx([0.25, (2 / 3) ** 2])
    with pytest.raises(SpecError, match="1:1"):
        pbr.rosenbaum_bounds(pbr.match(df, "t", score="s", id="id", replace=True), None, "y")


def test_e_values_vanderweele_ding() -> None:
    est, lo = pbr.e_value(3.9, 1.8, 8.7)
    assert (round(est, 2), round(lo or 0, 2)) == (7.26, 3.0)
    assert pbr.e_value(1 / 3.9)[0] == pytest.approx(est)
    assert pbr.e_value(0.9, 0.7, 1.1) == (pytest.approx(0.9 ** -1 + math.sqrt(
        0.9 ** -1 * (0.9 ** -1 - 1))), 1.0)


# ---------------------------------------------------------------- model fit, output, docs
@pytest.mark.parametrize("n", [2_000, 250_000])  # the second takes the warm-start path
def test_newton_fit_equals_statsmodels_logit(n: int) -> None:
    import statsmodels.api as sm

    from pbr.matching.propensity import fit_propensity

    rng = np.random.default_rng(n)
    x = np.column_stack([rng.normal(40, 12, n), rng.random(n) < 0.3, rng.gamma(2, 3, n)])
    lp = -2 + 0.03 * x[:, 0] - 0.5 * x[:, 1] + 0.1 * x[:, 2]
    t = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)
    df = pl.DataFrame({"a": x[:, 0], "b": x[:, 1].astype(bool), "c": x[:, 2]})
    ours = fit_propensity(df, t, ("a", "b", "c"), None)
    ref = sm.Logit(t, sm.add_constant(x.astype(float))).fit(method="newton", disp=0)
    assert ours.converged
    np.testing.assert_allclose(ours.params, ref.params, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.score, ref.predict(), rtol=1e-9, atol=1e-12)


def test_separation_is_noted() -> None:
    df = pl.DataFrame({"id": range(6), "t": [1, 1, 1, 0, 0, 0],
                       "x": [5.0, 6.0, 7.0, 1.0, 2.0, 3.0]})
    with pytest.warns(pbr.PbrWarning, match="did not converge"):
        m = pbr.match(df, "t", ["x"], id="id")
    assert any("did not converge" in n for n in m.notes)
    assert "note: the propensity model did not converge" in str(m)


def test_result_outputs_are_deterministic() -> None:
    data = pbr.synth.generate(1_000, seed=6).cohort
    a = pbr.match(data, "treated", ["age", "sex"], caliper=0.25)
    b = pbr.match(data, "treated", ["age", "sex"], caliper=0.25)
    assert str(a) == str(b) and a.provenance == b.provenance
    assert set(a.provenance) >= {"pbr_version", "spec", "spec_sha256", "seed", "input_sha256"}
    assert a.to_pandas().shape == a.frame.shape
    assert a.summary().columns == ["sample", "control", "treated"]
    by = a.summary(by="sex")
    assert by["treated_matched"].sum() == a.pairs.height
    assert by["control_weight"].sum() == pytest.approx(a.pairs.height)
    bal = a.balance()
    assert "SD of the treated group before matching" in bal.explain("age")
    assert "before matching" in str(bal) and bal.to_pandas().shape[0] == bal.frame.height
    e = a.effect(None, "true_risk")
    assert e.to_frame().height == 1 and "ATT =" in e.explain()


def test_love_plot() -> None:
    pytest.importorskip("matplotlib")
    from pbr.report.plots import love_plot

    m = pbr.match(pbr.synth.generate(800, seed=2).cohort, "treated", ["age", "sentence"])
    fig = love_plot(m.balance(), absolute=False, title="t")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == m.balance().frame[
        "covariate"].to_list()
    assert "denominator: SD of the treated group before matching" in ax.get_xlabel()


def test_doctests() -> None:
    import doctest
    import importlib
    import importlib.util

    for name in ("balance", "effects", "nearest", "propensity", "sensitivity", "spec",
                 "strata", "match", "result"):
        mod = importlib.import_module(f"pbr.matching.{name}")
        assert doctest.testmod(mod).failed == 0, name
    plots = importlib.import_module("pbr.report.plots")
    if importlib.util.find_spec("matplotlib") is not None:
        assert doctest.testmod(plots).failed == 0


def test_string_ids_pandas_input_and_formula_string() -> None:
    df = pl.DataFrame({"pnc": ["B7", "A2", "Z9", "C1", "C0"], "t": [1, 0, 0, 0, 1],
                       "s": [0.5, 0.75, 0.25, 0.9, 0.2]})
    m = pbr.match(df.to_pandas(), "t", score="s", id="pnc")
    # B7 (0.5): A2 (0.75) and Z9 (0.25) are equally near -> the higher score, A2;
    # C0 (0.2) then takes Z9.  Treated order: B7 (larger score) first.
    assert m.pairs.select("treated_id", "control_id").rows() == [("B7", "A2"), ("C0", "Z9")]
    data = pbr.synth.generate(600, seed=8).cohort
    f = pbr.match(data, "treated", "age + C(sentence)")
    assert f.spec.formula == "age + C(sentence)" and f.spec.covariates == ("age", "sentence")
