"""pbr.stats.diff_in_diff: a hand-worked case, statsmodels OLS of ``y ~ treated * post``
(HC2 for means, HC0 for rates), Welch's t on per-person changes (paired), the Wilson
square-and-add interval for small rate cells, R's lm / glm / t.test / prop.test
(committed output, tests/fixtures/r_did), every refusal, and the methodology page's
python blocks (docs/methodology/difference-in-differences.md)."""

from __future__ import annotations

import csv
import math
import os
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from pbr.errors import SmallSampleWarning, SpecError
from pbr.stats import diff_in_diff, diff_means, diff_proportions, group_mean

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "methodology" / "difference-in-differences.md"
R_DID = ROOT / "tests" / "fixtures" / "r_did"

# hand-worked: bed days of 3 people per cell
TP, TQ, CP, CQ = [8, 12, 10], [4, 8, 6], [6, 8, 10], [5, 7, 9]


def _cells(seed: int = 7) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.poisson(lam, n).astype(float) for lam, n in
            ((11.0, 40), (8.0, 35), (9.0, 50), (8.5, 45))]


def _binary(seed: int = 11) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.binomial(1, p, n).astype(float) for p, n in
            ((0.45, 120), (0.33, 110), (0.40, 150), (0.38, 140))]


def _frame(cells: list[np.ndarray], weights: list[np.ndarray] | None = None) -> pd.DataFrame:
    parts = []
    for i, y in enumerate(cells):
        parts.append(pd.DataFrame({"y": y, "treated": int(i < 2), "post": i % 2,
                                   "w": 1.0 if weights is None else weights[i]}))
    return pd.concat(parts, ignore_index=True)


def test_hand_worked_additive() -> None:
    # cell means 10, 6, 8, 7: (6 - 10) - (7 - 8) = -3.  Every cell has s² = 4 (deviations
    # -2, 0, 2 over n - 1 = 2), so var = 4 · 4/3 = 16/3, se = 2.3094.  Welch-Satterthwaite:
    # (16/3)² / (4 · (4/3)² / 2) = 8 degrees of freedom; t(0.975, 8) = 2.306004, so the
    # interval is -3 ± 5.3255 and t = -3 / 2.3094 = -1.299.
    iv = diff_in_diff(TP, TQ, CP, CQ)
    assert iv.estimate == -3.0
    assert iv.se == pytest.approx(math.sqrt(16 / 3), rel=1e-14)
    half = stats.t.isf(0.025, 8) * math.sqrt(16 / 3)
    assert (iv.lower, iv.upper) == pytest.approx((-3 - half, -3 + half), rel=1e-12)
    assert iv.statistic == pytest.approx(-3 / math.sqrt(16 / 3), rel=1e-12)
    assert iv.p_value == pytest.approx(2 * stats.t.sf(3 / math.sqrt(16 / 3), 8), rel=1e-12)
    assert iv.null == 0.0 and iv.note is None and not iv.excludes_null
    assert iv.method == "difference in differences, additive, welch t"


def test_hand_worked_ratio() -> None:
    # (6/10) / (7/8) = 0.685714; on the log scale var = Σ (s²/n) / m² =
    # (4/3)(1/100 + 1/36 + 1/64 + 1/49); Satterthwaite over those four terms, 2 df each.
    iv = diff_in_diff(TP, TQ, CP, CQ, form="ratio")
    assert iv.estimate == pytest.approx(0.6 * 8 / 7, rel=1e-14)
    terms = [4 / 3 / m ** 2 for m in (10, 6, 8, 7)]
    se = math.sqrt(sum(terms))
    df = sum(terms) ** 2 / sum(v * v / 2 for v in terms)
    q = stats.t.isf(0.025, df)
    theta = math.log(0.6 * 8 / 7)
    assert iv.se == pytest.approx(se, rel=1e-12)
    assert (iv.lower, iv.upper) == pytest.approx(
        (math.exp(theta - q * se), math.exp(theta + q * se)), rel=1e-12)
    assert iv.statistic == pytest.approx(theta / se, rel=1e-12)
    assert iv.null == 1.0 and iv.contains(1.0)


def test_mean_equals_ols_interaction_with_hc2() -> None:
    # y ~ treated * post is the saturated cell-means model: the interaction coefficient
    # is the DiD of means, and its HC2 variance is Σ s_g²/n_g (leverage 1/n_g per cell,
    # so e²/(1-h) summed over a cell and divided by n_g² is s_g²/n_g).  HC0 and HC1 differ.
    cells = _cells()
    fit = smf.ols("y ~ treated * post", data=_frame(cells)).fit(cov_type="HC2")
    iv = diff_in_diff(*cells)
    assert iv.estimate == pytest.approx(fit.params["treated:post"], abs=1e-10)
    assert iv.se == pytest.approx(fit.bse["treated:post"], abs=1e-10)
    assert iv.se == pytest.approx(math.sqrt(sum(np.var(y, ddof=1) / y.size for y in cells)),
                                  abs=1e-12)
    hc1 = smf.ols("y ~ treated * post", data=_frame(cells)).fit(cov_type="HC1")
    assert abs(iv.se - hc1.bse["treated:post"]) > 1e-6


def test_rate_equals_ols_interaction_with_hc0() -> None:
    # for 0/1 values the house variance is p(1-p)/n (diff_proportions' "both" form),
    # the HC0 form of the same model
    cells = _binary()
    fit = smf.ols("y ~ treated * post", data=_frame(cells)).fit(cov_type="HC0")
    iv = diff_in_diff(*cells, kind="rate")
    assert iv.estimate == pytest.approx(fit.params["treated:post"], abs=1e-12)
    assert iv.se == pytest.approx(fit.bse["treated:post"], abs=1e-12)
    z = stats.norm.isf(0.025)
    assert (iv.lower, iv.upper) == pytest.approx(
        (iv.estimate - z * iv.se, iv.estimate + z * iv.se), rel=1e-12)
    assert iv.p_value == pytest.approx(2 * stats.norm.sf(abs(iv.estimate / iv.se)), rel=1e-12)
    assert iv.method == "difference in differences, additive, normal"


def test_weighted_is_the_per_cell_sandwich() -> None:
    cells = _cells(3)
    rng = np.random.default_rng(5)
    ws = [rng.uniform(0.2, 3.0, y.size) for y in cells]
    iv = diff_in_diff(*cells, weights=tuple(ws))
    means = [float(np.average(y, weights=w)) for y, w in zip(cells, ws, strict=True)]
    assert iv.estimate == pytest.approx((means[1] - means[0]) - (means[3] - means[2]),
                                        rel=1e-12)
    gms = [group_mean(y, w) for y, w in zip(cells, ws, strict=True)]
    assert iv.se == pytest.approx(math.sqrt(sum(g.var for g in gms)), rel=1e-12)
    assert iv.method.endswith("welch t (weighted)")
    # rates: the WLS HC0 sandwich of the interaction, with no small-sample factor
    bins = _binary(4)
    wb = [rng.uniform(0.2, 3.0, y.size) for y in bins]
    fit = smf.wls("y ~ treated * post", data=_frame(bins, wb), weights=_frame(bins, wb)["w"]
                  ).fit(cov_type="HC0")
    ivr = diff_in_diff(*bins, kind="rate", weights=tuple(wb))
    assert ivr.estimate == pytest.approx(fit.params["treated:post"], abs=1e-12)
    assert ivr.se == pytest.approx(fit.bse["treated:post"], abs=1e-12)


@pytest.mark.parametrize("kind,form", [("mean", "additive"), ("mean", "ratio"),
                                       ("rate", "additive"), ("rate", "ratio")])
def test_unit_weights_equal_unweighted(kind: str, form: str) -> None:
    cells = _cells() if kind == "mean" else _binary()
    plain = diff_in_diff(*cells, kind=kind, form=form)
    ones = diff_in_diff(*cells, kind=kind, form=form,
                        weights=tuple(np.ones(y.size) for y in cells))
    for field in ("estimate", "lower", "upper", "se", "statistic", "p_value"):
        assert getattr(ones, field) == pytest.approx(getattr(plain, field), rel=1e-12)
    # a zero weight leaves the person out
    w0 = np.ones(cells[0].size + 1)
    w0[-1] = 0.0
    dropped = diff_in_diff(np.append(cells[0], 1.0), *cells[1:], kind=kind, form=form,
                           weights=(w0, None, None, None))
    assert dropped.estimate == pytest.approx(plain.estimate, rel=1e-12)
    assert dropped.se == pytest.approx(plain.se, rel=1e-12)


@pytest.mark.parametrize("kind,form", [("mean", "additive"), ("mean", "ratio"),
                                       ("rate", "additive"), ("rate", "ratio")])
def test_sidedness(kind: str, form: str) -> None:
    cells = _cells() if kind == "mean" else _binary()
    two = diff_in_diff(*cells, kind=kind, form=form, level=0.9)
    less = diff_in_diff(*cells, kind=kind, form=form, level=0.95, alternative="less")
    greater = diff_in_diff(*cells, kind=kind, form=form, level=0.95, alternative="greater")
    assert less.lower == (0.0 if form == "ratio" else -math.inf)   # exp(-inf) for ratios
    assert greater.upper == math.inf
    assert less.upper == pytest.approx(two.upper, rel=1e-12)
    assert greater.lower == pytest.approx(two.lower, rel=1e-12)
    toward, away = (less, greater) if two.statistic < 0 else (greater, less)
    assert toward.p_value == pytest.approx(two.p_value / 2, rel=1e-10)
    assert away.p_value == pytest.approx(1 - two.p_value / 2, rel=1e-10)


def test_paired_is_welch_on_the_changes() -> None:
    rng = np.random.default_rng(21)
    tp, cp = rng.poisson(10, 30).astype(float), rng.poisson(9, 40).astype(float)
    tq, cq = tp + rng.normal(-2, 3, 30), cp + rng.normal(-1, 3, 40)
    iv = diff_in_diff(tp, tq, cp, cq, paired=True)
    ref = stats.ttest_ind(tq - tp, cq - cp, equal_var=False)
    ci = ref.confidence_interval()
    assert iv.estimate == pytest.approx(float(np.mean(tq - tp) - np.mean(cq - cp)), rel=1e-12)
    assert iv.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert iv.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert (iv.lower, iv.upper) == pytest.approx((ci.low, ci.high), rel=1e-10)
    assert "paired" in iv.method
    # weighted: diff_means on the changes with the same weights
    wt, wc = rng.uniform(0.5, 2, 30), rng.uniform(0.5, 2, 40)
    ivw = diff_in_diff(tp, tq, cp, cq, paired=True, weights=(wt, wt, wc, wc))
    dm = diff_means(tq - tp, cq - cp, w1=wt, w0=wc)
    for field in ("estimate", "lower", "upper", "se", "statistic", "p_value"):
        assert getattr(ivw, field) == pytest.approx(getattr(dm, field), rel=1e-10)
    # ratio: the change in log means, its variance from each person's two terms
    ivr = diff_in_diff(tp, tq, cp, cq, paired=True, form="ratio")
    var = 0.0
    for pre, post in ((tp, tq), (cp, cq)):
        n = pre.size
        d = (post - post.mean()) / post.mean() - (pre - pre.mean()) / pre.mean()
        var += float(np.sum(d * d)) / (n * (n - 1))
    assert ivr.se == pytest.approx(math.sqrt(var), rel=1e-12)
    # independent samples ignore the pairing and give a different standard error
    assert abs(diff_in_diff(tp, tq, cp, cq).se - iv.se) > 1e-3


def test_paired_rate_is_the_wald_of_the_changes() -> None:
    rng = np.random.default_rng(8)
    tp, cp = rng.binomial(1, 0.5, 200), rng.binomial(1, 0.45, 220)
    tq = np.where(rng.random(200) < 0.8, tp, 1 - tp)
    cq = np.where(rng.random(220) < 0.85, cp, 1 - cp)
    iv = diff_in_diff(tp, tq, cp, cq, kind="rate", paired=True)
    dt, dc = (tq - tp).astype(float), (cq - cp).astype(float)
    se = math.sqrt(np.var(dt) / dt.size + np.var(dc) / dc.size)   # ddof 0: HC0
    assert iv.estimate == pytest.approx(dt.mean() - dc.mean(), rel=1e-12)
    assert iv.se == pytest.approx(se, rel=1e-12)


def test_clusters_equal_statsmodels_cr1() -> None:
    cells = _cells(3)
    rng = np.random.default_rng(9)
    labels = [rng.integers(0, 25, y.size) for y in cells]     # sets spanning the cells
    frame = _frame(cells)
    groups = np.concatenate(labels)
    fit = smf.ols("y ~ treated * post", data=frame).fit(cov_type="cluster",
                                                        cov_kwds={"groups": groups})
    iv = diff_in_diff(*cells, clusters=tuple(labels))
    assert iv.estimate == pytest.approx(fit.params["treated:post"], abs=1e-10)
    assert iv.se == pytest.approx(fit.bse["treated:post"], abs=1e-10)
    g = np.unique(groups).size
    q = stats.t.isf(0.025, g - 1)                              # t with G - 1 df
    assert (iv.lower, iv.upper) == pytest.approx(
        (iv.estimate - q * iv.se, iv.estimate + q * iv.se), rel=1e-12)
    assert iv.method == "difference in differences, clustered (CR1), additive, t"
    # weighted, rates, ratio form: WLS / the same sandwich on the log scale
    ws = [rng.uniform(0.2, 3.0, y.size) for y in cells]
    fw = smf.wls("y ~ treated * post", data=frame, weights=np.concatenate(ws)).fit(
        cov_type="cluster", cov_kwds={"groups": groups})
    ivw = diff_in_diff(*cells, clusters=tuple(labels), weights=tuple(ws))
    assert ivw.se == pytest.approx(fw.bse["treated:post"], abs=1e-10)
    bins = _binary(6)
    lb = [rng.integers(0, 40, y.size).astype(str) for y in bins]   # text labels
    fb = smf.ols("y ~ treated * post", data=_frame(bins)).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(np.concatenate(lb))[0]})
    ivb = diff_in_diff(*bins, kind="rate", clusters=tuple(lb))
    assert ivb.se == pytest.approx(fb.bse["treated:post"], abs=1e-12)
    # every person in a cluster of their own: CR1 is then HC1 of the whole model
    own = np.arange(sum(y.size for y in cells))
    parts = tuple(np.split(own, np.cumsum([y.size for y in cells])[:-1]))
    hc1 = smf.ols("y ~ treated * post", data=frame).fit(cov_type="HC1")
    assert diff_in_diff(*cells, clusters=parts).se == pytest.approx(
        hc1.bse["treated:post"], abs=1e-10)


def test_clusters_that_cannot_give_an_interval() -> None:
    cells = _cells()
    with pytest.warns(SmallSampleWarning, match="1 cluster"):
        one = diff_in_diff(*cells, clusters=tuple(np.zeros(y.size, int) for y in cells))
    assert math.isnan(one.lower) and not one.excludes_null
    small = [np.r_[np.ones(3), np.zeros(17)], np.r_[np.ones(10), np.zeros(15)],
             np.r_[np.ones(60), np.zeros(90)], np.r_[np.ones(55), np.zeros(85)]]
    with pytest.warns(SmallSampleWarning, match="independent people"):
        iv = diff_in_diff(*small, kind="rate",
                          clusters=tuple(np.arange(y.size) % 7 for y in small))
    assert math.isnan(iv.upper)


def test_small_rate_cells_use_the_wilson_square_and_add() -> None:
    # 3 of 20 reoffended before: n·p = 3 < 5, so no Wald interval
    cells = [np.r_[np.ones(3), np.zeros(17)], np.r_[np.ones(1), np.zeros(24)],
             np.r_[np.ones(60), np.zeros(90)], np.r_[np.ones(55), np.zeros(85)]]
    with pytest.warns(SmallSampleWarning, match="treated_pre: n = 20 with rate 0.15"):
        iv = diff_in_diff(*cells, kind="rate")
    assert iv.method == "difference in differences, additive, wilson square-and-add"
    assert "Brown, Cai and DasGupta 2001" in iv.note
    # Newcombe (2001): square-and-add of the four Wilson intervals, by hand
    z = stats.norm.isf(0.025)

    def wilson(x: int, n: int) -> tuple[float, float]:
        p = x / n
        c, h = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        return (c - h) / (1 + z * z / n), (c + h) / (1 + z * z / n)

    (p1, n1), (p2, n2), (p3, n3), (p4, n4) = (3, 20), (1, 25), (60, 150), (55, 140)
    l1, u1 = wilson(p1, n1)
    l2, u2 = wilson(p2, n2)
    l3, u3 = wilson(p3, n3)
    l4, u4 = wilson(p4, n4)
    a, b, c, d = p1 / n1, p2 / n2, p3 / n3, p4 / n4
    est = (b - a) - (d - c)
    lo = est - math.sqrt((b - l2) ** 2 + (u1 - a) ** 2 + (u4 - d) ** 2 + (c - l3) ** 2)
    hi = est + math.sqrt((u2 - b) ** 2 + (a - l1) ** 2 + (d - l4) ** 2 + (u3 - c) ** 2)
    assert (iv.estimate, iv.lower, iv.upper) == pytest.approx((est, lo, hi), rel=1e-12)
    # the p-value is the level at which the interval just reaches 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        edge = diff_in_diff(*cells, kind="rate", level=1 - iv.p_value)
        ratio = diff_in_diff(*cells, kind="rate", form="ratio")
        edge_r = diff_in_diff(*cells, kind="rate", form="ratio", level=1 - ratio.p_value)
    assert edge.upper == pytest.approx(0.0, abs=1e-9)
    assert edge_r.upper == pytest.approx(1.0, abs=1e-9)
    assert ratio.method.endswith("wilson square-and-add, log scale")
    assert ratio.lower < ratio.estimate < ratio.upper
    with pytest.raises(SpecError, match="normal approximation not valid"):
        diff_in_diff(*cells, kind="rate", small_sample="error")


def test_square_and_add_reduces_to_newcombe_when_control_is_huge() -> None:
    # control cells of a billion people at the same rate add (almost) no width: the
    # interval is Newcombe's hybrid score interval for treated post minus treated pre
    big = np.r_[np.ones(500_000), np.zeros(500_000)]
    tp, tq = np.r_[np.ones(4), np.zeros(26)], np.r_[np.ones(2), np.zeros(28)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        iv = diff_in_diff(tp, tq, big, big, kind="rate")
    ref = diff_proportions(2 / 30, 30, 4 / 30, 30, method="newcombe")
    assert (iv.lower, iv.upper) == pytest.approx((ref.lower, ref.upper), abs=2e-3)


def test_no_interval_without_variation_or_with_an_empty_ratio_cell() -> None:
    with pytest.warns(SmallSampleWarning, match="single person"):
        one = diff_in_diff([5.0], [4.0, 2.0], [3.0, 1.0], [2.0, 2.0])
    assert math.isnan(one.lower) and not one.excludes_null and one.note
    with pytest.warns(SmallSampleWarning, match="standard error is zero"):
        flat = diff_in_diff([2.0, 2.0], [1.0, 1.0], [3.0, 3.0], [3.0, 3.0])
    assert flat.estimate == -1.0 and math.isnan(flat.p_value)
    with pytest.warns(SmallSampleWarning, match="mean of treated_post is 0"):
        zero = diff_in_diff([1.0, 3.0], [0.0, 0.0], [2.0, 1.0], [2.0, 3.0], form="ratio")
    assert zero.estimate == 0.0 and math.isnan(zero.upper)
    # paired rates with a small cell: no independent-cells interval to switch to
    with pytest.warns(SmallSampleWarning, match="independent people"):
        pr = diff_in_diff(np.r_[np.ones(3), np.zeros(17)], np.zeros(20), np.ones(20) * 0,
                          np.r_[np.ones(10), np.zeros(10)], kind="rate", paired=True)
    assert math.isnan(pr.lower) and not pr.excludes_null


def _r_cells(design: str, column: str) -> tuple[list[np.ndarray], tuple[np.ndarray, ...]]:
    with (R_DID / "did_data.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    ys: list[np.ndarray] = []
    ws = []
    for group, period in (("treated", "pre"), ("treated", "post"), ("control", "pre"),
                          ("control", "post")):
        sel = sorted((r for r in rows if (r["design"], r["group"], r["period"])
                      == (design, group, period)), key=lambda r: int(r["id"]))
        ys.append(np.array([float(r[column]) for r in sel]))
        ws.append(np.array([float(r["w"]) for r in sel]))
    return ys, tuple(ws)


def _r_reference() -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    with (R_DID / "did_reference.csv").open(newline="") as fh:
        for r in csv.DictReader(fh):
            out.setdefault(r["case"], {})[r["quantity"]] = float(r["value"])
    return out


def test_equals_r() -> None:
    """R 4.2.2 lm / glm sandwich variances, t.test and prop.test (tests/fixtures/r_did)."""
    ref = _r_reference()
    days, w = _r_cells("independent", "days")
    reo, _ = _r_cells("independent", "reoffended")
    pdays, _ = _r_cells("paired", "days")
    preo, _ = _r_cells("paired", "reoffended")
    small, _ = _r_cells("small", "reoffended")
    sets = tuple(_r_cells("independent", "set")[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        got = {
            "mean_additive": (diff_in_diff(*days), "se_hc2"),
            "mean_additive_weighted": (diff_in_diff(*days, weights=w), "se_cell_hc1"),
            "rate_additive": (diff_in_diff(*reo, kind="rate"), "se_hc0"),
            "rate_additive_weighted": (diff_in_diff(*reo, kind="rate", weights=w), "se_hc0"),
            "mean_ratio": (diff_in_diff(*days, form="ratio"), "se_log_hc2"),
            "mean_ratio_weighted": (diff_in_diff(*days, form="ratio", weights=w),
                                    "se_log_cell_hc1"),
            "rate_ratio": (diff_in_diff(*reo, kind="rate", form="ratio"), "se_log_hc0"),
            "rate_ratio_weighted": (diff_in_diff(*reo, kind="rate", form="ratio",
                                                 weights=w), "se_log_hc0"),
            "paired_mean": (diff_in_diff(*pdays, paired=True), ""),
            "paired_mean_less90": (diff_in_diff(*pdays, paired=True, level=0.9,
                                                alternative="less"), ""),
            "paired_rate": (diff_in_diff(*preo, kind="rate", paired=True), "se_hc0"),
            "small_additive": (diff_in_diff(*small, kind="rate"), ""),
            "small_ratio": (diff_in_diff(*small, kind="rate", form="ratio"), ""),
            "cluster_mean": (diff_in_diff(*days, clusters=sets), "se_cr1"),
            "cluster_mean_weighted": (diff_in_diff(*days, clusters=sets, weights=w),
                                      "se_cr1"),
            "cluster_rate_ratio": (diff_in_diff(*reo, kind="rate", form="ratio",
                                                clusters=sets), "se_log_cr1"),
        }
    assert set(got) == set(ref)
    worst = 0.0
    for case, (iv, se_name) in got.items():
        for quantity, value in ref[case].items():
            if quantity in ("se_hc0", "se_hc1", "df") and quantity != se_name:
                continue                                   # contrasts, not pbr's variance
            field = "se" if quantity == se_name else quantity
            mine = iv.to_dict()[field]
            assert mine == pytest.approx(value, rel=1e-9, abs=1e-12), (case, quantity)
            worst = max(worst, abs(mine - value))
    assert worst < 1e-11
    # only HC2 is sqrt(sum s_g^2 / n_g): HC0 and HC1 differ from pbr's standard error
    for other in ("se_hc0", "se_hc1"):
        assert abs(got["mean_additive"][0].se - ref["mean_additive"][other]) > 1e-3


GOOD = ([1.0, 2.0], [2.0, 3.0], [1.0, 4.0], [0.0, 5.0])


@pytest.mark.parametrize("args,kwargs,match", [
    (([], *GOOD[1:]), {}, "treated_pre: has no people"),
    ((GOOD[0], [1.0, math.nan], *GOOD[2:]), {}, r"treated_post: value nan at position 1"),
    ((*GOOD[:2], [[1.0, 2.0]], GOOD[3]), {}, "control_pre: needs a one-dimensional"),
    ((*GOOD[:3], ["a", "b"]), {}, "control_post: needs numbers"),
    (([0, 1], [1, 2], [0, 1], [1, 0]), {"kind": "rate"},
     r"treated_post: kind='rate' needs 0 or 1 .* use kind='mean'"),
    (GOOD, {"kind": "count"}, "kind: 'mean'"),
    (GOOD, {"form": "log"}, "form: 'additive'"),
    (GOOD, {"level": 0.05}, "looks like a significance level"),
    (GOOD, {"alternative": "lower"}, "alternative: must be one of"),
    (GOOD, {"small_sample": "ignore"}, "small_sample: 'switch' or 'error'"),
    (GOOD, {"paired": "yes"}, "paired: True or False"),
    (GOOD, {"weights": np.ones(2)}, "weights: a tuple of four"),
    (GOOD, {"weights": (None, None)}, "weights: a tuple of four .* of length 2"),
    (GOOD, {"weights": ([1.0, -1.0], None, None, None)},
     r"weights\[0\] \(treated_pre\): weight -1.0 at position 1"),
    (GOOD, {"weights": (None, [1.0, math.inf], None, None)},
     r"weights\[1\] \(treated_post\): weight inf"),
    (GOOD, {"weights": (None, None, [0.0, 0.0], None)},
     r"weights\[2\] \(control_pre\): every weight is 0"),
    (GOOD, {"weights": (None, None, None, [1.0])},
     r"weights\[3\] \(control_post\): 1 weights for 2 people"),
    (([1.0, 2.0, 3.0], *GOOD[1:]), {"paired": True},
     "paired=True: treated_pre has 3 people and treated_post 2"),
    (GOOD, {"paired": True, "weights": (None, None, [1.0, 2.0], [2.0, 1.0])},
     r"paired=True: weights\[2\] \(control_pre\) and weights\[3\] \(control_post\) differ"),
    (GOOD, {"clusters": np.ones(2)}, "clusters: a tuple of four"),
    (GOOD, {"clusters": (None, [1, 2], [1, 2], [1, 2])},
     r"clusters\[0\] \(treated_pre\): is None"),
    (GOOD, {"clusters": ([1, 2], [1], [1, 2], [1, 2])},
     r"clusters\[1\] \(treated_post\): 1 labels for 2 people"),
    (GOOD, {"clusters": ([1, 2], [1, 2], [1.0, math.nan], [1, 2])},
     r"clusters\[2\] \(control_pre\): label nan at position 1 is missing"),
    (GOOD, {"clusters": ([1, 2], [1, 2], [1, 2], np.array(["a", None], dtype=object))},
     r"clusters\[3\] \(control_post\): label None at position 1"),
    (GOOD, {"clusters": ([1, 2], [1, 2], [1, 2], ["a", "b"])},
     "clusters: some cells have numeric labels and others text"),
    (GOOD, {"clusters": (*(np.array([1, 2], dtype=object),) * 3,
                         np.array([1, "b"], dtype=object))}, "clusters: labels of mixed types"),
    (GOOD, {"paired": True, "clusters": ([1, 2],) * 4}, "clusters: not with paired=True"),
    (([-3.0, 1.0], *GOOD[1:]), {"form": "ratio"},
     "form='ratio': the mean of treated_pre is -1;.* use form='additive'"),
])
def test_refusals(args: tuple[Any, ...], kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(SpecError, match=match):
        diff_in_diff(*args, **kwargs)


_cell = st.lists(st.integers(0, 30), min_size=2, max_size=12).map(
    lambda v: np.asarray(v, float) + 1.0)


@settings(max_examples=40, deadline=None)
@given(_cell, _cell, _cell, _cell)
def test_swapping_groups_negates_and_inverts(tp: np.ndarray, tq: np.ndarray,
                                             cp: np.ndarray, cq: np.ndarray) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        a = diff_in_diff(tp, tq, cp, cq)
        b = diff_in_diff(cp, cq, tp, tq)
        ra = diff_in_diff(tp, tq, cp, cq, form="ratio")
        rb = diff_in_diff(cp, cq, tp, tq, form="ratio")
    assert b.estimate == pytest.approx(-a.estimate, abs=1e-9)
    assert rb.estimate == pytest.approx(1.0 / ra.estimate, rel=1e-9)
    for x, y in ((a, b), (ra, rb)):
        if x.se is not None and x.se > 0:
            assert y.se == pytest.approx(x.se, rel=1e-9)
            assert y.p_value == pytest.approx(x.p_value, rel=1e-9, abs=1e-300)
    if a.se:
        assert (b.lower, b.upper) == pytest.approx((-a.upper, -a.lower), rel=1e-9, abs=1e-9)


# the methodology page: every python block runs, each text block is what the block
# before it prints
_FENCE = re.compile(r"^```(python|text)[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def _pairs() -> list[tuple[int, str, str | None]]:
    text = PAGE.read_text(encoding="utf-8")
    blocks = [(m.group(1), text.count("\n", 0, m.start()) + 2, m.group(2))
              for m in _FENCE.finditer(text)]
    out = []
    for i, (lang, line, code) in enumerate(blocks):
        if lang == "python":
            nxt = blocks[i + 1] if i + 1 < len(blocks) else None
            out.append((line, code, nxt[2] if nxt and nxt[0] == "text" else None))
    return out


def test_page_has_worked_examples() -> None:
    assert len(_pairs()) >= 2


def test_page_blocks_run(capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        for line, source, expected in _pairs():
            exec(compile("\n" * (line - 1) + source, str(PAGE), "exec"), namespace)
            if expected is not None:
                assert expected.strip() in capsys.readouterr().out, f"block at line {line}"
    finally:
        os.chdir(cwd)


def test_index_links_the_page() -> None:
    assert "(difference-in-differences.md)" in (ROOT / "docs" / "methodology" / "index.md"
                                                 ).read_text(encoding="utf-8")
