"""Kaplan-Meier and log-rank against R's survival package (fixtures made by
tests/fixtures/r_survival/make_fixtures.R; the suite never runs R), hand-worked cases and
properties."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pbr
from pbr.errors import SpecError
from pbr.stats.logrank import logrank_test
from pbr.stats.survival import kaplan_meier, time_to_first

R = Path(__file__).parent / "fixtures" / "r_survival"
TOL = 1e-6


def _num(frame: pl.DataFrame, col: str) -> np.ndarray:
    return frame[col].cast(pl.Float64, strict=False).to_numpy()


@pytest.fixture(scope="module")
def data() -> dict[str, pl.DataFrame]:
    return {"rossi": pl.read_csv(R / "rossi.csv"),
            "vet": pl.read_csv(R / "veteran.csv").with_columns(pl.col("trt").cast(pl.String)),
            "tiny": pl.read_csv(R / "tiny.csv"),
            "curves": pl.read_csv(R / "km_curves.csv", infer_schema_length=0),
            "quantiles": pl.read_csv(R / "km_quantiles.csv", infer_schema_length=0),
            "at": pl.read_csv(R / "km_at_times.csv", infer_schema_length=0),
            "logrank": pl.read_csv(R / "logrank.csv", infer_schema_length=0)}


# case -> (data, time, event, group, weights, options); as in make_fixtures.R
CASES = {
    "by_fin_log": ("rossi", "week", "arrest", "fin", None, {}),
    "by_fin_loglog": ("rossi", "week", "arrest", "fin", None, {"conf_type": "log-log"}),
    "by_fin_plain": ("rossi", "week", "arrest", "fin", None, {"conf_type": "plain"}),
    "all_log_90": ("rossi", "week", "arrest", None, None, {"level": 0.90}),
    "all_loglog": ("rossi", "week", "arrest", None, None, {"conf_type": "log-log"}),
    "w_int_log": ("rossi", "week", "arrest", "fin", "w_int", {}),
    "w_frac_greenwood_loglog": ("rossi", "week", "arrest", "fin", "w_frac",
                                {"variance": "greenwood", "conf_type": "log-log"}),
    "w_frac_robust_log": ("rossi", "week", "arrest", "fin", "w_frac", {}),
    "vet_log": ("vet", "time", "status", "trt", None, {}),
    "vet_loglog": ("vet", "time", "status", "trt", None, {"conf_type": "log-log"}),
    "tiny_loglog": ("tiny", "time", "status", None, None, {"conf_type": "log-log"}),
    "tiny_log": ("tiny", "time", "status", None, None, {}),
}


def _fit(data: dict[str, pl.DataFrame], case: str) -> pbr.stats.SurvivalCurves:
    name, t, e, g, w, opts = CASES[case]
    d = data[name]
    return kaplan_meier(d[t], d[e], group=None if g is None else d[g].cast(pl.String),
                        weights=None if w is None else d[w], **opts)


@pytest.mark.parametrize("case", list(CASES))
def test_curves_match_r_survfit(data, case: str) -> None:
    km = _fit(data, case)
    r = data["curves"].filter(pl.col("case") == case)
    f = km.frame
    assert f["group"].cast(pl.String).to_list() == r["group"].to_list()
    assert np.array_equal(f["time"].to_numpy(), _num(r, "time"))
    for col in ("n_risk", "n_event", "n_censor", "surv", "lower", "upper", "cumhaz",
                "std_chaz"):
        np.testing.assert_allclose(f[col].to_numpy(), _num(r, col), atol=TOL, rtol=0,
                                   err_msg=f"{case}: {col}")
    # R stores the standard error of log S, except with the robust variance (of S)
    se = f["std_err"].to_numpy() * (f["surv"].to_numpy() if km.variance == "robust" else 1)
    np.testing.assert_allclose(se, _num(r, "std_err"), atol=TOL, rtol=0)
    assert km.variance == ("robust" if case == "w_frac_robust_log" else "greenwood")


@pytest.mark.parametrize("case", list(CASES))
def test_quantiles_and_medians_match_r(data, case: str) -> None:
    q = _fit(data, case).quantile([0.25, 0.5])
    r = data["quantiles"].filter(pl.col("case") == case).sort(["group", "prob"])
    q = q.with_columns(pl.col("group").cast(pl.String)).sort(["group", "prob"])
    for col in ("quantile", "lower", "upper"):
        np.testing.assert_allclose(q[col].cast(pl.Float64).to_numpy(), _num(r, col),
                                   atol=TOL, equal_nan=True, err_msg=f"{case}: {col}")


@pytest.mark.parametrize("case", list(CASES))
def test_at_chosen_days_matches_r_summary(data, case: str) -> None:
    at = _fit(data, case).at([4, 13, 26, 39, 52, 60])
    r = data["at"].filter(pl.col("case") == case)
    km = _fit(data, case)
    for col in ("n_risk", "n_event", "surv", "lower", "upper"):
        np.testing.assert_allclose(at[col].to_numpy(), _num(r, col), atol=TOL,
                                   equal_nan=True, err_msg=f"{case}: {col}")
    if km.variance == "greenwood":  # summary() reports the standard error of S
        np.testing.assert_allclose(at["std_err"].to_numpy(), _num(r, "std_err"), atol=TOL)


@pytest.mark.parametrize(("case", "name", "t", "e", "g"), [
    ("fin", "rossi", "week", "arrest", "fin"),
    ("prio_group", "rossi", "week", "arrest", "prio_group"),
    ("vet_trt", "vet", "time", "status", "trt")])
def test_logrank_matches_r_survdiff(data, case, name, t, e, g) -> None:
    d = data[name]
    res = logrank_test(d[t], d[e], d[g].cast(pl.String))
    r = data["logrank"].filter(pl.col("case") == case)
    assert res.chisq == pytest.approx(float(r["chisq"][0]), abs=TOL)
    assert res.p_value == pytest.approx(float(r["p_value"][0]), abs=TOL)
    assert res.df == int(r["df"][0])
    np.testing.assert_allclose(res.frame["expected"].to_numpy(), _num(r, "expected"), atol=TOL)
    np.testing.assert_allclose(np.diag(res.variance), _num(r, "var_diag"), atol=TOL)


# --------------------------------------------------------------------------- by hand
def test_hand_worked_curve() -> None:
    """8 offenders, censored at 3 and one of the two at 6 (tiny.csv)."""
    km = kaplan_meier([1, 2, 3, 4, 5, 6, 6, 8], [1, 1, 0, 1, 1, 0, 1, 1])
    s = [7 / 8, 7 / 8 * 6 / 7, 0.75, 0.75 * 4 / 5, 0.6 * 3 / 4, 0.45 * 2 / 3, 0.0]
    assert km.frame["surv"].to_list() == pytest.approx(s)
    assert km.frame["n_risk"].to_list() == [8, 7, 6, 5, 4, 3, 1]
    green = sum(d / (n * (n - d)) for d, n in [(1, 8), (1, 7), (1, 5), (1, 4)])
    assert km.frame["std_err"][4] == pytest.approx(np.sqrt(green))


def test_time_to_first_censors_at_the_end_of_follow_up() -> None:
    cohort = pl.DataFrame({"offender_id": [1, 2, 3],
                           "index_date": [dt.date(2020, 1, 31), dt.date(2021, 3, 1),
                                          dt.date(2020, 6, 1)]})
    events = pl.DataFrame({"offender_id": [3], "offence_date": [dt.date(2020, 6, 11)],
                           "disposal_date": [dt.date(2020, 9, 1)],
                           "disposal_type": ["conviction"], "offence_code": ["X"],
                           "offence_category": ["theft"]})
    res = pbr.measure(cohort, events, pbr.MeasureSpec(follow_up="12 months"))
    t = time_to_first(res)
    assert t["time"].to_list() == [366, 365, 10]      # 2020 is a leap year
    assert t["event"].to_list() == [False, False, True]
    interim = pbr.measure(cohort, events, pbr.MeasureSpec(as_of="2021-06-01", interim=True))
    assert time_to_first(interim)["time"].to_list() == [366, 92, 10]


def test_bad_inputs() -> None:
    with pytest.raises(SpecError, match="conf_type"):
        kaplan_meier([1, 2], [1, 0], conf_type="logit")
    with pytest.raises(SpecError, match="event"):
        kaplan_meier([1, 2], [2, 0])
    with pytest.raises(SpecError, match="two groups"):
        logrank_test([1, 2], [1, 1], ["a", "a"])


# --------------------------------------------------------------------------- properties
samples = st.lists(st.tuples(st.integers(0, 30), st.booleans(), st.integers(1, 3)),
                   min_size=1, max_size=40)


@given(samples)
def test_km_is_monotone_and_integer_weights_are_repeated_rows(rows) -> None:
    t = np.array([r[0] for r in rows], float)
    e = np.array([r[1] for r in rows], float)
    w = np.array([r[2] for r in rows], float)
    km = kaplan_meier(t, e, weights=w, variance="greenwood")
    s = km.frame["surv"].to_numpy()
    assert np.all(np.diff(s) <= 1e-15) and np.all((s >= 0) & (s <= 1))
    rep = kaplan_meier(np.repeat(t, w.astype(int)), np.repeat(e, w.astype(int)))
    np.testing.assert_allclose(rep.frame["surv"].to_numpy(), s, atol=1e-12)
    np.testing.assert_allclose(rep.frame["std_err"].to_numpy(), km.frame["std_err"].to_numpy(),
                               atol=1e-12, equal_nan=True)
    ones = kaplan_meier(t, e, weights=np.ones_like(t))
    assert ones.frame.equals(kaplan_meier(t, e).frame)


@given(samples, st.sampled_from(["log", "log-log", "plain"]))
def test_limits_bracket_the_curve(rows, conf_type) -> None:
    t = np.array([r[0] for r in rows], float)
    e = np.array([r[1] for r in rows], float)
    f = kaplan_meier(t, e, conf_type=conf_type).frame.drop_nulls().fill_nan(None).drop_nulls()
    assert (f["lower"] <= f["surv"] + 1e-12).all() and (f["surv"] <= f["upper"] + 1e-12).all()


@given(samples)
def test_logrank_weights_of_one_equal_unweighted(rows) -> None:
    t = np.array([r[0] for r in rows], float)
    e = np.array([r[1] for r in rows], float)
    g = ["a" if r[2] == 1 else "b" for r in rows]
    if len(set(g)) < 2 or e.sum() == 0:
        return
    a = logrank_test(t, e, g)
    b = logrank_test(t, e, g, weights=np.ones_like(t))
    assert a.chisq == pytest.approx(b.chisq, nan_ok=True)
