"""pbr.compare: each comparator form against the stats functions it must equal, weights,
groups with multiple-comparison correction, and the JDL text ([JDL-Reports], docs/sources.md)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import pbr
from pbr.errors import SpecError
from pbr.risk.baseline import Baseline
from pbr.stats import adjust_p, diff_means, diff_proportions, rate_ratio


@pytest.fixture(scope="module")
def measured() -> tuple[pbr.MeasureResult, pl.DataFrame, pl.DataFrame]:
    data = pbr.synth.generate(1500, seed=11)
    res = pbr.measure(data.cohort, data.events)
    return res, res.frame.filter(pl.col("treated")), res.frame.filter(~pl.col("treated"))


def _blue_sky() -> pl.DataFrame:
    return pl.DataFrame({"offender_id": range(72), "reoffended": [True] * 22 + [False] * 50})


def test_fixed_baseline_is_the_proportion_interval() -> None:
    res = pbr.compare(_blue_sky(), 0.43, variance="cohort")
    row = res.frame.row(0, named=True)
    iv = diff_proportions(22 / 72, 72, 0.43, variance="cohort")
    assert (row["estimate"], row["lower"], row["upper"], row["p_value"]) == pytest.approx(
        (iv.estimate, iv.lower, iv.upper, iv.p_value), rel=1e-12)
    assert row["significant"] and row["comparator_n"] is None
    assert res.jdl_text() == (
        "For every 100 typical people in the cohort, 31 reoffended, compared with 43 for "
        "every 100 typical people in the baseline. This is statistically significant (95% "
        "confidence): a reduction of between 2 and 23 percentage points.")


def test_comparison_group_binary_and_frequency(measured) -> None:
    _, t, c = measured
    res = pbr.compare(t, c)
    y1 = t["reoffended"].to_numpy().astype(float)
    y0 = c["reoffended"].to_numpy().astype(float)
    iv = diff_proportions(y1.mean(), y1.size, y0.mean(), y0.size, variance="both")
    assert res.frame["estimate"][0] == pytest.approx(iv.estimate, rel=1e-12)
    assert res.frame["lower"][0] == pytest.approx(iv.lower, rel=1e-12)
    freq = pbr.compare(t, c, measure="frequency")
    iv = diff_means(t["reoffences"].to_numpy(), c["reoffences"].to_numpy())
    assert freq.frame["upper"][0] == pytest.approx(iv.upper, rel=1e-12)
    ratio = pbr.compare(t, c, measure="frequency", method="poisson")
    iv = rate_ratio(t["reoffences"].to_numpy(), c["reoffences"].to_numpy())
    assert ratio.frame["estimate"][0] == pytest.approx(iv.estimate, rel=1e-9)
    assert "ratio" in str(ratio) and "per cent" in ratio.jdl_text()


def test_per_reoffender_uses_reoffenders_only(measured) -> None:
    _, t, c = measured
    res = pbr.compare(t, c, measure="per_reoffender")
    r1 = t.filter(pl.col("reoffended"))["reoffences"].to_numpy()
    assert res.frame["n"][0] == r1.size
    assert res.frame["cohort_value"][0] == pytest.approx(r1.mean())


def test_unit_weights_equal_unweighted_and_weights_move_the_comparator(measured) -> None:
    _, t, c = measured
    plain = pbr.compare(t, c, method="newcombe")
    ones = pbr.compare(t, c, method="newcombe", weights=np.ones(c.height))
    cols = ["estimate", "lower", "upper", "p_value"]
    assert plain.frame.select(cols).equals(ones.frame.select(cols))
    w = np.where(c["reoffended"].to_numpy(), 2.0, 1.0)
    weighted = pbr.compare(t, c, weights=w)
    y0 = c["reoffended"].to_numpy().astype(float)
    assert weighted.frame["comparator_value"][0] == pytest.approx(np.average(y0, weights=w))
    assert "weights_sha256" in weighted.provenance["comparator"]


def test_weights_from_a_column_a_mapping_and_a_match_result(measured) -> None:
    _, t, c = measured
    w = np.linspace(0.5, 1.5, c.height)
    c2 = c.with_columns(weight=pl.Series(w))
    by_col = pbr.compare(t, c2, weights="weight").frame
    mapping = dict(zip(c["offender_id"].to_list(), w.tolist(), strict=True))
    by_map = pbr.compare(t, c, weights=mapping).frame

    class FakeMatch:                      # duck-typed like pbr.matching.MatchResult
        def cohort(self) -> pl.DataFrame:
            return c2.select("offender_id", "weight")

    by_match = pbr.compare(t, c, weights=FakeMatch()).frame
    for other in (by_map, by_match):
        assert other["estimate"][0] == pytest.approx(by_col["estimate"][0], rel=1e-12)
        assert other["upper"][0] == pytest.approx(by_col["upper"][0], rel=1e-12)


def test_by_group_with_holm_and_bh(measured) -> None:
    _, t, c = measured
    res = pbr.compare(t, c, by="provider", correction="holm")
    assert res.frame["provider"].to_list() == sorted(t["provider"].unique().to_list())
    assert np.allclose(res.frame["p_adjusted"].to_numpy(),
                       adjust_p(res.frame["p_value"].to_numpy(), "holm"))
    for row in res.frame.iter_rows(named=True):
        one = pbr.compare(t.filter(pl.col("provider") == row["provider"]),
                          c.filter(pl.col("provider") == row["provider"]))
        assert row["estimate"] == pytest.approx(one.frame["estimate"][0], rel=1e-12)
        assert row["significant"] == (row["p_adjusted"] <= 0.05)
    assert "intervals are not adjusted for multiple comparisons" in str(res)
    bh = pbr.compare(t, c, by="provider", correction="bh")
    assert np.all(bh.frame["p_adjusted"].to_numpy() <= res.frame["p_adjusted"].to_numpy()
                  + 1e-15)
    first = res.frame["provider"][0]
    assert f"provider={first}" in res.explain(first)
    with pytest.raises(KeyError):
        res.explain("no such provider")


def test_baseline_object_mapping_and_adjusted_baseline(measured) -> None:
    _, t, _ = measured
    b = Baseline.from_values({"binary_rate": 0.43, "n": 900}, spec="moj_national_2017")
    res = pbr.compare(t, b, variance="both")
    p1 = t["reoffended"].mean()
    iv = diff_proportions(p1, t.height, 0.43, 900, variance="both")
    assert res.frame["upper"][0] == pytest.approx(iv.upper, rel=1e-12)
    per_area = {p: 0.4 for p in t["provider"].unique().to_list()}
    assert pbr.compare(t, per_area, by="provider").frame["comparator_value"].to_list() == \
        [0.4] * len(per_area)
    adjusted = pbr.compare(t, "true_risk")
    assert adjusted.notes == ("the adjusted baseline is treated as known (no sampling "
                              "variance)",)
    assert adjusted.frame["comparator_value"][0] == pytest.approx(t["true_risk"].mean())
    assert adjusted.comparator == "adjusted baseline"


def test_bootstrap_is_seeded_and_cluster_option_runs(measured) -> None:
    _, t, c = measured
    a = pbr.compare(t, c, method="bootstrap", seed=3, n_resamples=300)
    b = pbr.compare(t, c, method="bootstrap", seed=3, n_resamples=300)
    assert a.frame.equals(b.frame)
    assert a.provenance["seed"] == 3
    t2 = t.with_columns(set=pl.col("offender_id") % 50)
    c2 = c.with_columns(set=pl.col("offender_id") % 50)
    cl = pbr.compare(t2, c2, method="bootstrap", clusters="set", n_resamples=300)
    assert "cluster" in cl.frame["method"][0]


def test_str_is_deterministic_and_provenance_records_inputs(measured) -> None:
    res_all, _, _ = measured
    res = pbr.compare(res_all, 0.4, by="provider")
    assert str(res) == str(pbr.compare(res_all, 0.4, by="provider"))
    assert str(res).startswith("Comparison: binary_rate measure, cohort vs baseline")
    assert "cohort_sha256" in res.provenance["cohort"]
    assert res.to_pandas().shape[0] == res.frame.height
    assert res.summary().columns[:2] == ["provider", "n"]


def test_one_sided_text_and_errors() -> None:
    res = pbr.compare(_blue_sky(), 0.43, alternative="less")
    assert res.frame["upper"][0] < 0 and res.frame["lower"][0] == -np.inf
    bound = -100 * res.frame["upper"][0]           # 3.51: rounded to the nearest point
    assert bound == pytest.approx(3.51, abs=0.01)
    assert "a reduction of at least 4 percentage points" in res.jdl_text()
    with pytest.raises(SpecError, match="measure"):
        pbr.compare(_blue_sky(), 0.43, measure="rate")
    with pytest.raises(SpecError, match="method"):
        pbr.compare(_blue_sky(), 0.43, method="welch")
    with pytest.raises(SpecError, match="comparator"):
        pbr.compare(_blue_sky(), object())


# --------------------------------------------------------------------------- the docs page
PAGE = Path(__file__).resolve().parents[1] / "docs" / "methodology" / "inference.md"
_FENCE = re.compile(r"^```(python|text)[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def test_inference_page_examples_print_what_the_page_shows(
        capsys: pytest.CaptureFixture[str]) -> None:
    """Every python block of docs/methodology/inference.md runs (in one namespace, in
    order) and prints the text block that follows it."""
    text = PAGE.read_text(encoding="utf-8")
    namespace: dict[str, object] = {"__name__": "__docs__"}
    blocks = [(m.group(1), m.group(2)) for m in _FENCE.finditer(text)]
    assert sum(lang == "python" for lang, _ in blocks) >= 4
    for (lang, code), nxt in zip(blocks, [*blocks[1:], ("", "")], strict=True):
        if lang != "python":
            continue
        exec(compile(code, str(PAGE), "exec"), namespace)
        out = capsys.readouterr().out
        if nxt[0] == "text":
            assert nxt[1].strip() in out, (code, out)


def test_weights_from_a_real_match_result() -> None:
    data = pbr.synth.generate(1200, seed=5)
    m = pbr.match(data.cohort, "treated", ["age", "sex", "prior_sanctions"],
                  distance="logit", replace=True, ratio=2)
    res = pbr.measure(data.cohort, data.events)
    t, c = res.frame.filter(pl.col("treated")), res.frame.filter(~pl.col("treated"))
    via_match = pbr.compare(t, c, weights=m, cohort_weights=m)
    table = m.cohort().select("offender_id", "weight")
    via_table = pbr.compare(t, c, weights=table, cohort_weights=table)
    assert via_match.frame.select("estimate", "lower", "upper").equals(
        via_table.frame.select("estimate", "lower", "upper"))
    matched = table.join(c.select("offender_id"), on="offender_id")
    assert via_match.frame["comparator_n"][0] == (matched["weight"] > 0).sum()
    naive = pbr.compare(t, c)
    assert via_match.frame["comparator_value"][0] != naive.frame["comparator_value"][0]


def test_severity_is_welch_on_the_severity_column() -> None:
    data = pbr.synth.generate(900, seed=13)
    res = pbr.measure(data.cohort, data.events, pbr.io.synth_spec(data))
    t, c = res.frame.filter(pl.col("treated")), res.frame.filter(~pl.col("treated"))
    out = pbr.compare(t, c, measure="severity", level=0.9, alternative="greater")
    iv = diff_means(t["severity"].to_numpy(), c["severity"].to_numpy(), level=0.9,
                    alternative="greater")
    assert (out.frame["estimate"][0], out.frame["lower"][0]) == pytest.approx(
        (iv.estimate, iv.lower), rel=1e-12)
    assert out.frame["upper"][0] == np.inf
    with pytest.raises(SpecError, match="counts"):
        pbr.compare(t, c, measure="severity", method="poisson")
    with pytest.raises(SpecError, match="severity"):
        pbr.compare(pbr.measure(data.cohort, data.events), 1.0, measure="severity")


def test_per_group_baseline_object(measured) -> None:
    _, t, _ = measured
    providers = sorted(t["provider"].unique().to_list())
    b = Baseline.from_values([{"provider": p, "binary_rate": 0.40 + i / 100, "n": 500 + i,
                               "per_offender": 1.0 + i / 10}
                              for i, p in enumerate(providers)],
                             by="provider", spec="moj_national_2017", label="2011")
    res = pbr.compare(t, b, by="provider", variance="both")
    assert res.frame["comparator_value"].to_list() == pytest.approx(
        [0.40 + i / 100 for i in range(len(providers))])
    assert res.frame["comparator_n"].to_list() == [500 + i for i in range(len(providers))]
    assert res.comparator == "2011"
    freq = pbr.compare(t, b, by="provider", measure="frequency")
    assert freq.frame["comparator_value"].to_list() == pytest.approx(
        [1.0 + i / 10 for i in range(len(providers))])


def test_jdl_bounds_that_round_to_zero_keep_one_decimal() -> None:
    from pbr.compare.result import _describe

    assert _describe(-15.08, 0.33, "percentage points") == (
        "between a reduction of 0.3 and an increase of 15 percentage points")
    assert _describe(1.3, 22.7, "percentage points") == (
        "a reduction of between 1 and 23 percentage points")
    assert _describe(-0.01, 4.0, "percentage points") == (
        "between a reduction of 4 and an increase of 0 percentage points")
