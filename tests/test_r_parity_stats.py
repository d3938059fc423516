"""pbr.stats against R where it used to differ: the negative binomial rate ratio
(``MASS::glm.nb``), the stratified log-rank test (``survival::survdiff`` with
``strata()``) and Kaplan-Meier curves at one chosen day (``summary(fit, times)``).

The R figures are committed in tests/fixtures/r_parity_stats (made by make_fixtures.R from
the seeded data of make_data.py; README.md there has the provenance); the suite never
runs R.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pbr.errors import SpecError
from pbr.stats import (
    kaplan_meier,
    logrank_test,
    mean_cumulative_function,
    negbin_fit,
    rate_ratio,
)

R = Path(__file__).parent / "fixtures" / "r_parity_stats"
REL = 1e-6
BASELINE_RATE = 1.1
NB_CASES = ["small", "overdispersed", "many_zeros", "mild", "baseline", "flat"]


def _num(frame: pl.DataFrame, col: str) -> np.ndarray:
    return frame[col].cast(pl.Float64, strict=False).to_numpy()


@pytest.fixture(scope="module")
def counts() -> pl.DataFrame:
    return pl.read_csv(R / "nb_counts.csv")


@pytest.fixture(scope="module")
def r_negbin() -> pl.DataFrame:
    return pl.read_csv(R / "negbin.csv", infer_schema_length=0)


@pytest.fixture(scope="module")
def surv() -> pl.DataFrame:
    return pl.read_csv(R / "survival_strata.csv")


def _case(counts: pl.DataFrame, case: str) -> dict[str, np.ndarray]:
    d = counts.filter(pl.col("case") == case)
    one, zero = d.filter(pl.col("group") == 1), d.filter(pl.col("group") == 0)
    return {"y1": one["y"].to_numpy(), "y0": zero["y"].to_numpy(),
            "e1": one["days"].to_numpy() / 365.0, "e0": zero["days"].to_numpy() / 365.0}


def _rate_ratio(c: dict[str, np.ndarray], case: str, **kw) -> object:
    exposed = case in ("overdispersed", "mild", "baseline", "flat")
    if case == "baseline":
        return rate_ratio(c["y1"], BASELINE_RATE, exposure1=c["e1"], method="negbin", **kw)
    return rate_ratio(c["y1"], c["y0"], exposure1=c["e1"] if exposed else None,
                      exposure0=c["e0"] if exposed else None, method="negbin", **kw)


def _fit(c: dict[str, np.ndarray], case: str, se: str = "fixed_theta"):
    if case == "baseline":
        X = np.ones((c["y1"].size, 1))
        return negbin_fit(c["y1"], X, offset=np.log(BASELINE_RATE * c["e1"]), se=se)
    y = np.r_[c["y1"], c["y0"]]
    X = np.column_stack([np.ones(y.size), np.r_[np.ones(c["y1"].size), np.zeros(c["y0"].size)]])
    return negbin_fit(y, X, offset=np.log(np.r_[c["e1"], c["e0"]]), se=se)


# ------------------------------------------------------------------ negative binomial
@pytest.mark.parametrize("control", ["default", "tight"])
@pytest.mark.parametrize("case", NB_CASES)
def test_negbin_rate_ratio_matches_glm_nb(counts, r_negbin, case: str, control: str) -> None:
    """Log ratio, its summary() standard error, z, p and theta equal glm.nb to 1e-6."""
    r = r_negbin.filter((pl.col("case") == case) & (pl.col("control") == control))
    c = _case(counts, case)
    iv = _rate_ratio(c, case)
    assert math.log(iv.estimate) == pytest.approx(float(r["log_ratio"][0]), rel=REL)
    assert iv.se == pytest.approx(float(r["se_log_ratio"][0]), rel=REL)
    assert iv.statistic == pytest.approx(float(r["z"][0]), rel=REL)
    assert iv.p_value == pytest.approx(float(r["p_value"][0]), rel=1e-5)
    assert "SE with theta fixed" in iv.method
    fit = _fit(c, case)
    assert fit.theta == pytest.approx(float(r["theta"][0]), rel=REL)
    assert fit.coef[0] == pytest.approx(float(r["intercept"][0]), rel=REL)
    assert fit.se[0] == pytest.approx(float(r["se_intercept"][0]), rel=REL)
    assert 2 * fit.loglik == pytest.approx(float(r["twologlik"][0]), rel=1e-12)
    # R's SE.theta is taken at theta.ml's last-but-one iterate (tolerance 1.2e-4); at the
    # estimate itself it is the same information as pbr's
    assert fit.se_theta == pytest.approx(float(r["se_theta_at_estimate"][0]), rel=REL)
    assert fit.se_theta == pytest.approx(float(r["se_theta"][0]), rel=1e-3)


@pytest.mark.parametrize("case", NB_CASES)
def test_negbin_joint_standard_error_matches_the_observed_information(
        counts, r_negbin, case: str) -> None:
    """se='joint': the (b, theta) observed information, as written out in R."""
    r = r_negbin.filter((pl.col("case") == case) & (pl.col("control") == "tight"))
    c = _case(counts, case)
    iv = _rate_ratio(c, case, se="joint")
    assert iv.se == pytest.approx(float(r["se_log_ratio_joint"][0]), rel=REL)
    assert "SE joint" in iv.method
    fixed = _rate_ratio(c, case)
    assert iv.estimate == fixed.estimate
    if case in ("small", "many_zeros"):      # group indicator, no offset: the two agree
        assert iv.se == pytest.approx(fixed.se, rel=1e-9)
    else:                                   # exposures: they differ
        assert abs(iv.se - fixed.se) > 1e-6 * fixed.se


def test_negbin_converges_to_a_stationary_point(counts) -> None:
    """The Newton fit ends where the score is zero (not at an iteration count)."""
    from pbr.stats.rates import _nb_derivatives
    c = _case(counts, "overdispersed")
    fit = _fit(c, "overdispersed")
    y = np.r_[c["y1"], c["y0"]]
    X = np.column_stack([np.ones(y.size), np.r_[np.ones(c["y1"].size), np.zeros(c["y0"].size)]])
    g, _ = _nb_derivatives(y, X, X @ fit.coef + np.log(np.r_[c["e1"], c["e0"]]), fit.theta)
    assert np.max(np.abs(g)) < 1e-6
    assert fit.iterations < 20


def test_negbin_unconverged_fit_is_refused_not_returned(counts) -> None:
    c = _case(counts, "many_zeros")
    y = np.r_[c["y1"], c["y0"]]
    X = np.column_stack([np.ones(y.size), np.r_[np.ones(c["y1"].size), np.zeros(c["y0"].size)]])
    with pytest.raises(SpecError, match=r"did not converge in 1 Newton steps.*max_iter"):
        negbin_fit(y, X, max_iter=1)


def test_negbin_without_overdispersion_is_the_poisson_fit() -> None:
    y1 = np.array([1, 1, 2, 1, 1, 2, 1, 1])          # variance below the mean
    y0 = np.array([2, 2, 1, 2, 2, 3, 2, 2, 2])
    iv = rate_ratio(y1, y0, method="negbin")
    pois = rate_ratio(y1, y0, method="poisson")
    assert iv.estimate == pytest.approx(pois.estimate, rel=1e-12)
    assert iv.se == pytest.approx(pois.se, rel=1e-7)     # statsmodels' IRLS stops at 1e-8
    assert "theta inf" in iv.method and "no overdispersion" in iv.note
    fit = negbin_fit(np.r_[y1, y0], np.column_stack([np.ones(17), np.r_[np.ones(8), np.zeros(9)]]))
    assert math.isinf(fit.theta) and fit.alpha == 0.0


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=3, max_size=30),
       st.lists(st.integers(0, 12), min_size=3, max_size=30))
def test_negbin_two_groups_without_exposure_is_the_ratio_of_means(a, b) -> None:
    """With a group indicator and no offset the NB2 score for b is zero exactly where each
    group's fitted mean is its sample mean, whatever theta is; and the joint standard
    error equals the fixed-theta one."""
    y1, y0 = np.array(a, float), np.array(b, float)
    if y1.sum() == 0 or y0.sum() == 0:
        return
    iv = rate_ratio(y1, y0, method="negbin")
    assert iv.estimate == pytest.approx(y1.mean() / y0.mean(), rel=1e-8)
    joint = rate_ratio(y1, y0, method="negbin", se="joint")
    assert joint.se == pytest.approx(iv.se, rel=1e-6)
    if "theta inf" in iv.method:                 # the Poisson boundary
        assert iv.se == pytest.approx(math.sqrt(1 / y1.sum() + 1 / y0.sum()), rel=1e-8)


def test_negbin_fit_inputs_are_checked() -> None:
    y = np.array([0, 1, 3, 0, 2, 4])
    with pytest.raises(SpecError, match="X: a finite design matrix of full column rank"):
        negbin_fit(y, np.ones((6, 2)))
    with pytest.raises(SpecError, match="y: all counts are 0"):
        negbin_fit(np.zeros(6), np.ones((6, 1)))
    with pytest.raises(SpecError, match="y: whole counts"):
        negbin_fit(np.r_[y[:5], 0.5], np.ones((6, 1)))
    with pytest.raises(SpecError, match=r"y, X and offset: one row each"):
        negbin_fit(y, np.ones((5, 1)))


def test_negbin_options_are_validated() -> None:
    y1, y0 = np.array([0, 1, 3, 0, 2]), np.array([1, 4, 0, 2, 5, 0])
    with pytest.raises(SpecError, match=r"se: must be one of 'fixed_theta', 'joint'.*'observed'"):
        rate_ratio(y1, y0, method="negbin", se="observed")
    with pytest.raises(SpecError, match=r"se='joint' applies to .*method='poisson'"):
        rate_ratio(y1, y0, se="joint")
    with pytest.raises(SpecError, match=r"se='joint' applies to .*robust=True"):
        rate_ratio(y1, y0, method="negbin", w0=np.ones(6), se="joint")
    with pytest.raises(SpecError, match="exposure0: exposures"):
        rate_ratio(y1, y0, method="negbin", exposure0=np.r_[np.ones(5), 0.0])
    with pytest.raises(SpecError, match="se: must be one of"):
        negbin_fit(y1, np.ones((5, 1)), se="robust")


def test_negbin_weighted_path_is_unchanged() -> None:
    """Weighted: the moment dispersion and a robust GLM, as before (se does not apply)."""
    y1, y0 = np.array([0, 1, 3, 0, 2, 4, 0]), np.array([1, 4, 0, 2, 5, 0, 3, 1])
    iv = rate_ratio(y1, y0, method="negbin", w0=np.full(8, 0.5))
    assert iv.method.startswith("negative binomial (moment alpha") and "robust" in iv.method
    assert iv.estimate == pytest.approx(y1.mean() / y0.mean(), rel=1e-9)


# ------------------------------------------------------------------ stratified log-rank
@pytest.mark.parametrize("stratified", [True, False])
@pytest.mark.parametrize("case", ["two_groups", "three_groups", "small"])
def test_logrank_matches_survdiff(surv, case: str, stratified: bool) -> None:
    d = surv.filter(pl.col("case") == case)
    r = pl.read_csv(R / "logrank_strata.csv", infer_schema_length=0).filter(
        (pl.col("case") == case) & (pl.col("stratified") == str(stratified).upper()))
    res = logrank_test(d["time"], d["status"], d["group"],
                       strata=d["stratum"] if stratified else None)
    assert res.frame["group"].to_list() == r["group"].to_list()
    assert res.chisq == pytest.approx(float(r["chisq"][0]), rel=REL)
    assert res.p_value == pytest.approx(float(r["p_value"][0]), rel=REL)
    assert res.df == int(r["df"][0])
    for ours, theirs in (("n", "n"), ("observed", "observed"), ("expected", "expected")):
        np.testing.assert_allclose(res.frame[ours].to_numpy(), _num(r, theirs), rtol=REL,
                                   err_msg=f"{case}: {ours}")
    np.testing.assert_allclose(np.diag(res.variance), _num(r, "var_diag"), rtol=REL)
    assert (res.by_stratum is not None) == stratified


def test_a_stratum_with_one_group_adds_nothing_to_the_statistic(surv) -> None:
    """three_groups: stratum s4 holds group A only; survdiff counts its events as
    observed and expected alike (O = E) and gives them no variance."""
    d = surv.filter(pl.col("case") == "three_groups")
    full = logrank_test(d["time"], d["status"], d["group"], strata=d["stratum"])
    rest = d.filter(pl.col("stratum") != "s4")
    without = logrank_test(rest["time"], rest["status"], rest["group"], strata=rest["stratum"])
    assert full.chisq == pytest.approx(without.chisq, rel=1e-12)
    np.testing.assert_allclose(full.variance, without.variance, rtol=1e-12, atol=1e-12)
    s4 = full.by_stratum.filter(pl.col("stratum") == "s4")
    assert s4["observed"].to_list() == pytest.approx(s4["expected"].to_list())
    assert s4.filter(pl.col("group") != "A")["n"].sum() == 0


def test_strata_are_validated() -> None:
    t, e = [1, 2, 3, 4, 5, 6], [1, 1, 0, 1, 1, 0]
    g = ["a", "b", "a", "b", "a", "b"]
    with pytest.raises(SpecError, match=r"strata: 2 of 6 offenders have no strata value"):
        logrank_test(t, e, g, strata=["x", None, "y", "x", None, "y"])
    with pytest.raises(SpecError, match=r"strata: 1 of 6 .*leave those offenders out"):
        logrank_test(t, e, g, strata=np.array([1.0, 2.0, np.nan, 1.0, 2.0, 1.0]))
    with pytest.raises(SpecError, match=r"strata: one value per offender \(6\), got 5"):
        logrank_test(t, e, g, strata=["x"] * 5)
    # no stratum holds both groups: R's survdiff stops (singular variance); pbr says why
    res = logrank_test(t, e, ["a", "a", "a", "b", "b", "b"], strata=["x"] * 3 + ["y"] * 3)
    assert res.chisq == 0.0 and res.p_value == 1.0 and "no information" in res.note
    assert logrank_test(t, e, g, strata=["x", "x", "y", "y", "y", "x"]).note is None


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 30), st.booleans(), st.sampled_from("ab"),
                          st.sampled_from("xyz")), min_size=6, max_size=40))
def test_one_stratum_is_the_unstratified_test_and_strata_add_up(rows) -> None:
    t, e, g, s = (list(c) for c in zip(*rows, strict=True))
    if len(set(g)) < 2 or not any(e):
        return
    plain = logrank_test(t, e, g)
    one = logrank_test(t, e, g, strata=["all"] * len(t))
    assert one.chisq == pytest.approx(plain.chisq, rel=1e-9, abs=1e-12)
    strat = logrank_test(t, e, g, strata=s)
    assert strat.chisq >= 0 and 0 <= strat.p_value <= 1
    by = strat.by_stratum.group_by("group").agg(pl.col("observed").sum(),
                                                pl.col("expected").sum()).sort("group")
    np.testing.assert_allclose(by["expected"].to_numpy(), strat.frame["expected"].to_numpy())
    assert by["observed"].sum() == pytest.approx(sum(e))


# ------------------------------------------------------------------ at(one day)
def test_kaplan_meier_at_one_day_and_several_match_r_summary(surv) -> None:
    d = surv.filter(pl.col("case") == "two_groups")
    km = kaplan_meier(d["time"], d["status"], group=d["group"])
    r = pl.read_csv(R / "km_at.csv", infer_schema_length=0)
    for times, key in ((180, "180"), (180.0, "180"), (np.int64(180), "180"),
                       ([90, 180, 365, 400], "90 180 365 400"),
                       (np.array([400, 90, 365, 180]), "90 180 365 400")):
        at = km.at(times)
        want = r.filter(pl.col("times") == key)
        assert at["group"].to_list() == want["group"].to_list()
        for col in ("time", "n_risk", "n_event", "surv", "std_err", "lower", "upper"):
            np.testing.assert_allclose(at[col].to_numpy(), _num(want, col), rtol=REL,
                                       err_msg=f"{times!r}: {col}")
    with pytest.raises(SpecError, match="times: days must not be missing"):
        km.at(float("nan"))
    with pytest.raises(SpecError, match="times: a day or a list of days"):
        km.at("a year")


def test_mean_cumulative_function_at_one_day_equals_the_list() -> None:
    mcf = mean_cumulative_function([1, 2, 3, 4], [300, 365, 200, 365], [1, 1, 2, 4, 4],
                                   [20, 150, 90, 10, 300], group=["a", "a", "b", "b"])
    one, many = mcf.at(180), mcf.at([180, 365])
    assert one.height == 2 and many.height == 4
    assert one.to_dicts() == many.filter(pl.col("time") == 180).to_dicts()
    # a: reoffences on days 20, 90 and 150, two offenders under observation: 3 / 2
    assert one["mcf"].to_list() == pytest.approx([1.5, 0.5])
