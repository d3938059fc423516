"""pbr.match reproduces R's MatchIt 4.5.1 on the Lalonde data (tests/fixtures/matchit).

The fixture is a peer run of R 4.2.2 / MatchIt 4.5.1 / sandwich 3.0.2 (README.md and the
raw printed output nn_1to1_results.txt; nn_1to1_units.csv has every unit's score, weight
and subclass): 1:1 greedy nearest neighbour without replacement on the propensity score
of ``glm(treat ~ age + educ + race + married + nodegree + re74 + re75, binomial)``,
treated units in descending score.  MatchIt breaks the last ties by data order and pbr
by id, so the ids given to pbr are the row numbers (data order).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import pbr

FIX = Path(__file__).parent / "fixtures" / "matchit"
COVARIATES = ["age", "educ", "race", "married", "nodegree", "re74", "re75"]


@pytest.fixture(scope="module")
def lalonde() -> pl.DataFrame:
    return pl.read_csv(FIX / "lalonde.csv", infer_schema_length=None).with_row_index(
        "row", offset=1)


@pytest.fixture(scope="module")
def units() -> pl.DataFrame:
    return pl.read_csv(FIX / "nn_1to1_units.csv", infer_schema_length=None,
                       schema_overrides={"subclass": pl.String}, null_values="NA")


@pytest.fixture(scope="module")
def result(lalonde: pl.DataFrame) -> pbr.MatchResult:
    return pbr.match(lalonde, "treat", COVARIATES, id="row")


def _printed() -> str:
    return (FIX / "nn_1to1_results.txt").read_text()


def _table(title: str) -> dict[str, list[float]]:
    """A balance table of the printed summary, wrapped columns joined per row name."""
    text = _printed()
    start = text.index(title)
    block = text[start:text.index("\n\n", text.index("\n", start) + 1)]
    rows: dict[str, list[float]] = {}
    for line in block.splitlines()[1:]:
        parts = line.split()
        if not re.match(r"^[a-z]", line):  # headers are indented, rows start with a name
            continue
        rows.setdefault(parts[0], []).extend(np.nan if p == "." else float(p)
                                             for p in parts[1:])
    return rows


def test_propensity_model_matches_glm(result: pbr.MatchResult, units: pl.DataFrame) -> None:
    printed = {"Intercept": -1.663282e+00, "age": 1.577707e-02, "educ": 1.613069e-01,
               "racehispan": -2.081734e+00, "racewhite": -3.065368e+00,
               "married": -8.321133e-01, "nodegree": 7.072969e-01, "re74": -7.177669e-05,
               "re75": 5.344645e-05}
    assert result.model is not None
    coef = result.model.coefficients()
    for term, value in printed.items():
        assert coef[term] == pytest.approx(value, rel=1e-6), term
    np.testing.assert_allclose(result.frame["ps"].to_numpy(), units["ps"].to_numpy(),
                               atol=1e-8)


def test_same_control_for_every_treated_unit(result: pbr.MatchResult, lalonde: pl.DataFrame,
                                             units: pl.DataFrame) -> None:
    name = dict(zip(lalonde["row"].to_list(), lalonde["id"].to_list(), strict=True))
    ours = {name[t]: name[c] for t, c in result.pairs.select("treated_id", "control_id")
            .iter_rows()}
    matched = units.filter(pl.col("weight") > 0)
    ref = dict(matched.filter(pl.col("treat") == 1).select("id", "subclass").join(
        matched.filter(pl.col("treat") == 0).select(pl.col("id").alias("control"), "subclass"),
        on="subclass").select("id", "control").iter_rows())
    assert len(ref) == 185
    assert ours == ref
    np.testing.assert_array_equal(result.frame["weight"].to_numpy(),
                                  units["weight"].to_numpy())


def test_subclasses_are_matchit_s(result: pbr.MatchResult, units: pl.DataFrame) -> None:
    """Same pairs; R labels subclass k (k-th pair matched) by the rank of str(k) among
    the sorted labels (a factor's character levels), so compare through that map."""
    ours = result.frame["subclass"].to_list()
    labels = sorted(str(k) for k in range(1, 186))
    r_label = {k: str(labels.index(str(k)) + 1) for k in range(1, 186)}
    assert [None if s is None else r_label[s] for s in ours] == units["subclass"].to_list()


@pytest.mark.parametrize("when,title", [("before", "Summary of Balance for All Data:"),
                                        ("after", "Summary of Balance for Matched Data:")])
def test_balance_table(result: pbr.MatchResult, when: str, title: str) -> None:
    printed = _table(title)
    ours = result.balance().frame
    assert ours["covariate"].to_list() == list(printed)
    names = ["mean_treated", "mean_control", "smd", "var_ratio", "ecdf_mean", "ecdf_max"]
    for row in ours.iter_rows(named=True):
        expected = printed[row["covariate"]]
        got = [row[f"{n}_{when}"] for n in names]
        if when == "after":
            got.append(row["pair_distance"])
        assert len(got) == len(expected)
        for g, e in zip(got, expected, strict=True):
            if np.isnan(e):
                assert g is None, (row["covariate"], got)
            else:
                assert round(g, 4) == pytest.approx(e, abs=1e-12), (row["covariate"], got)


def test_sample_sizes(result: pbr.MatchResult) -> None:
    s = {r[0]: (r[1], r[2]) for r in result.sample_sizes().iter_rows()}
    assert s["all"] == (429, 185)
    assert s["matched"] == (185, 185)
    assert s["unmatched"] == (244, 0)
    assert s["discarded"] == (0, 0)


def test_att_and_pair_clustered_se(result: pbr.MatchResult) -> None:
    e = pbr.estimate_effect(result, None, "re78")
    assert round(e.estimate, 4) == 894.3675
    assert round(e.se, 4) == 715.7634
    assert (round(e.ci[0], 4), round(e.ci[1], 4)) == (-508.5030, 2297.2380)
    assert e.se_method == "cluster"
    assert "ATT re78: 894.3675  SE 715.7634" in _printed()


def test_naive_difference(lalonde: pl.DataFrame) -> None:
    t = lalonde.filter(pl.col("treat") == 1)["re78"].mean()
    c = lalonde.filter(pl.col("treat") == 0)["re78"].mean()
    assert isinstance(t, float) and isinstance(c, float)
    assert round(t - c, 4) == -635.0262


def test_caliper_in_sd_units_as_printed(lalonde: pl.DataFrame) -> None:
    m = pbr.match(lalonde, "treat", COVARIATES, id="row", caliper=0.2)
    # printed to 10 digits; the scores agree with R's to 3e-9
    assert m.caliper == pytest.approx(0.0580626744, rel=1e-8)
    assert (m.pairs["distance"] <= m.caliper).all()
    ml = pbr.match(lalonde, "treat", COVARIATES, id="row", caliper=0.2, distance="logit")
    assert ml.caliper == pytest.approx(0.3609023925, rel=1e-8)


# ---------------------------------------------------------------- extra cases (extra_cases.R)
EXTRA = {
    "nn_1to2": ({"ratio": 2}, COVARIATES),
    "nn_caliper_logit": ({"distance": "logit", "caliper": 0.3609023925,
                          "caliper_scale": "absolute"}, COVARIATES),
    "nn_exact_married": ({"exact": ["married"]}, COVARIATES),
    "nn_replace_1to2": ({"ratio": 2, "replace": True}, COVARIATES),
    "cem": ({"method": "cem"}, COVARIATES),
    "exact": ({"method": "exact"}, ["race", "married", "nodegree"]),
}


def _extra_printed(case: str) -> tuple[float, float | None]:
    m = re.search(rf"^{case}: ATT (\S+) SE (\S+)", (FIX / "extra_results.txt").read_text(),
                  re.MULTILINE)
    assert m is not None
    return float(m.group(1)), None if m.group(2) == "NA" else float(m.group(2))


@pytest.mark.parametrize("case", list(EXTRA))
def test_extra_matchit_cases(case: str, lalonde: pl.DataFrame) -> None:
    options, covariates = EXTRA[case]
    m = pbr.match(lalonde, "treat", covariates, id="row", **options)
    name = dict(zip(lalonde["row"].to_list(), lalonde["id"].to_list(), strict=True))
    units = pl.read_csv(FIX / "extra_units.csv", infer_schema_length=None,
                        null_values="NA").filter(pl.col("case") == case)
    r_weight = dict(zip(units["id"].to_list(), units["weight"].to_list(), strict=True))
    ours = dict(zip([name[i] for i in m.frame["row"].to_list()], m.frame["weight"].to_list(),
                    strict=True))
    ps = dict(zip([name[i] for i in m.frame["row"].to_list()], m.frame["ps"].to_list(),
                  strict=True)) if "ps" in m.frame.columns else {}
    att, se = _extra_printed(case)
    # balance after matching.  With replacement the tied twins have identical covariates,
    # so means, SMDs and eCDFs agree, but the reliability-weighted variance depends on how
    # the weight is split between the twins (sum of squared weights): no variance ratio.
    bal = pl.read_csv(FIX / "extra_balance.csv", null_values="NA").filter(
        pl.col("case") == case)
    got = m.balance().frame.filter(pl.col("covariate") != "ps")
    assert got["covariate"].to_list() == bal["covariate"].to_list()
    for ours_col, r_col in (("mean_treated_after", "Means Treated"),
                            ("mean_control_after", "Means Control"),
                            ("smd_after", "Std. Mean Diff."), ("var_ratio_after", "Var. Ratio"),
                            ("ecdf_mean_after", "eCDF Mean"), ("ecdf_max_after", "eCDF Max")):
        if case == "nn_replace_1to2" and r_col == "Var. Ratio":
            continue
        np.testing.assert_allclose(got[ours_col].cast(pl.Float64).to_numpy(),
                                   bal[r_col].cast(pl.Float64).to_numpy(), rtol=1e-9,
                                   atol=1e-12, err_msg=f"{case} {r_col}")
    if case == "nn_replace_1to2":
        # pairs equal up to exact ties in score (MatchIt: later control; pbr: smaller id)
        pairs = pl.read_csv(FIX / "extra_pairs.csv").filter(pl.col("case") == case)
        ref = sorted((t, round(ps[c], 12)) for t, c in pairs.select("treated", "control")
                     .iter_rows())
        got = sorted((name[t], round(ps[name[c]], 12))
                     for t, c in m.pairs.select("treated_id", "control_id").iter_rows())
        assert got == ref and len(got) == 370
        mine = {(name[t], name[c]) for t, c in m.pairs.select("treated_id", "control_id")
                .iter_rows()}
        theirs = set(pairs.select("treated", "control").iter_rows())
        assert len(mine - theirs) == 1  # NSW20: PSID375 (pbr) vs its twin PSID408 (MatchIt)
        return
    assert ours == pytest.approx(r_weight, abs=1e-12)
    if m.pairs.height:
        pairs = pl.read_csv(FIX / "extra_pairs.csv").filter(pl.col("case") == case)
        assert {(name[t], name[c]) for t, c in m.pairs.select("treated_id", "control_id")
                .iter_rows()} == set(pairs.select("treated", "control").iter_rows())
    e = pbr.estimate_effect(m, None, "re78")
    assert round(e.estimate, 4) == att
    assert se is not None and round(e.se, 4) == se
