"""Bad inputs to the comparison step: pbr.compare, compare_to_baseline, pbr.stats.

Issue 15, "Comparisons": a group of 1, 2 or 20 people must never be called
"statistically significant" with a zero-width interval.  Each row is one input a user
could plausibly give; it ends in a clear error naming the argument, the value and the
fix, or in a SmallSampleWarning that is also kept in the result's notes together with the
right answer (docs/methodology/inference.md, "What pbr refuses and why").

The hand-worked examples at the end check each rule's numbers against a closed form or a
published value (statsmodels' ``proportion_confint``; Clopper and Pearson 1934).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable
from decimal import Decimal, localcontext
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pbr
from pbr.compare.adjusted import compare_to_baseline
from pbr.compare.spec import ComparisonSpec
from pbr.compare.thresholds import (
    adjust_baseline,
    adjust_rate,
    baseline_thresholds,
    interval_thresholds,
)
from pbr.errors import DataQualityWarning, SmallSampleWarning, SpecError
from pbr.risk.baseline import Baseline
from pbr.stats import diff_proportions
from pbr.stats.proportions import binomial_thresholds, normal_approximation_problem, wilson


def _cohort(k: int, n: int, **extra: Any) -> pl.DataFrame:
    """n offenders, the first k reoffending (one reoffence each)."""
    return pl.DataFrame({"offender_id": range(n), "reoffended": [True] * k + [False] * (n - k),
                         "reoffences": [1] * k + [0] * (n - k), **extra})


C72 = _cohort(22, 72)                       # the Justice Data Lab's Blue Sky report
GROUP = _cohort(40, 100)
BY = _cohort(30, 80, provider=["A"] * 20 + ["B"] * 60)
W = np.ones(100)


def _w(i: int, v: float) -> np.ndarray:
    w = W.copy()
    w[i] = v
    return w


# ---------------------------------------------------------------- errors
ERRORS: list[tuple[str, Callable[[], Any], type[Exception], str]] = [
    ("level given as alpha 0.05",
     lambda: pbr.compare(C72, 0.43, level=0.05), SpecError,
     r"level: 0\.05 .*significance level \(alpha\).*level=0\.95"),
    ("level given as alpha 0.1",
     lambda: pbr.compare(C72, 0.43, level=0.1), SpecError, r"level=0\.9 for a 10% test"),
    ("level in per cent",
     lambda: pbr.compare(C72, 0.43, level=95), SpecError, r"level: .*between 0 and 1.*95"),
    ("baseline in per cent (28 for 0.28)",
     lambda: pbr.compare(C72, 28), SpecError,
     r"baseline rate is 28.*proportions.*did you mean 0\.28.*pass 0\.28"),
    ("baseline in per cent, one group of a mapping",
     lambda: pbr.compare(BY, {"A": 0.3, "B": 43}, by="provider"), SpecError,
     r"baseline rate for group \('B',\) is 43.*pass 0\.43"),
    ("(value, n) pair given as (n, value)",
     lambda: pbr.compare(C72, (500, 0.43)), SpecError,
     r"baseline's n is 0\.43.*rate first, then the number of offenders"),
    ("fixed baseline rate 0",
     lambda: pbr.compare(C72, 0.0), SpecError, r"baseline rate is 0\.0.*nobody reoffended"),
    ("fixed baseline rate 1",
     lambda: pbr.compare(C72, 1.0), SpecError, r"baseline rate is 1\.0.*everyone reoffended"),
    ("baseline NaN",
     lambda: pbr.compare(C72, math.nan), SpecError, r"baseline is nan; give a finite number"),
    ("negative weight",
     lambda: pbr.compare(C72, GROUP, weights=_w(3, -1.0)), SpecError,
     r"weights: the comparison group's weight at row 3 \(offender_id 3\) is -1\.0.*>= 0"),
    ("NaN weight",
     lambda: pbr.compare(C72, GROUP, weights=_w(7, math.nan)), SpecError,
     r"weights: .*row 7 \(offender_id 7\) is nan.*finite"),
    ("infinite weight",
     lambda: pbr.compare(C72, GROUP, weights=_w(0, math.inf)), SpecError,
     r"weights: .*row 0 .* is inf"),
    ("all weights zero",
     lambda: pbr.compare(C72, GROUP, weights=np.zeros(100)), SpecError,
     r"weights: every one of the comparison group's 100 weights is 0"),
    ("weights table keyed by text ids",
     lambda: pbr.compare(C72, GROUP, weights={"1": 1.0, "2": 1.0}), SpecError,
     r"weights: the weights table's offender_id is String but the comparison group's is "
     r"Int64"),
    ("weights table keyed by other ids",
     lambda: pbr.compare(C72, GROUP, weights={901: 1.0, 902: 1.0}), SpecError,
     r"weights is 0.*offender_id join"),
    ("negative cohort weight",
     lambda: pbr.compare(C72, GROUP, cohort_weights=np.r_[-2.0, np.ones(71)]), SpecError,
     r"cohort_weights: the cohort's weight at row 0 \(offender_id 0\) is -2\.0"),
    ("weights column with nulls",
     lambda: pbr.compare(C72, GROUP.with_columns(w=pl.lit(None, pl.Float64)), weights="w"),
     SpecError, r"weights: column 'w' of the comparison group's frame is missing for 100 "
     r"row\(s\).*give 0 for an offender left out"),
    ("bootstrap seed negative",
     lambda: pbr.compare(C72, 0.43, method="bootstrap", seed=-1), SpecError,
     r"seed: a whole number >= 0, got -1"),
    ("matched sets missing",
     lambda: pbr.compare(C72.with_columns(set=pl.lit(None, pl.Int64)),
                         GROUP.with_columns(set=pl.lit(1)), method="bootstrap",
                         clusters="set"), SpecError,
     r"clusters: column 'set' of the cohort's frame is missing for 72 row\(s\)"),
    ("min_n negative",
     lambda: pbr.compare(C72, 0.43, min_n=-1), SpecError, r"min_n: a whole number .* -1"),
    ("min_n not whole",
     lambda: pbr.compare(C72, 0.43, min_n=60.5), SpecError, r"min_n: .*60\.5"),
    ("level contradicts the scheme",
     lambda: pbr.compare(C72, GROUP, spec="justice_data_lab", level=0.9), SpecError,
     r"level: 0\.9 contradicts the justice_data_lab spec's confidence level 0\.95"),
    ("min_n below the scheme's",
     lambda: pbr.compare(C72, GROUP, spec="justice_data_lab", min_n=10), SpecError,
     r"min_n: 10 contradicts the justice_data_lab spec's min_n 60"),
    ("sides contradict the scheme",
     lambda: pbr.compare(C72, GROUP, spec="justice_data_lab", alternative="less"),
     SpecError, r"alternative: 'less' contradicts .* sides 'two-sided'"),
    ("scheme without a comparator",
     lambda: pbr.compare(C72, 0.43, spec="moj_national_2017"), SpecError,
     r"spec: the moj_national_2017 spec has no comparator \(kind 'none'\)"),
    ("comparator of another kind than the scheme's",
     lambda: pbr.compare(C72, 0.43, spec="justice_data_lab"), SpecError,
     r"comparator: the justice_data_lab spec compares with a comparison group .*got a "
     r"baseline"),
    ("measure the scheme does not compare",
     lambda: pbr.compare(C72, GROUP, spec="justice_data_lab", measure="severity"), SpecError,
     r"measure: the justice_data_lab spec compares binary_rate, per_offender, "
     r"mean_days_to_first, not severity_per_offender"),
    ("method contradicting the scheme's test",
     lambda: pbr.compare(C72, GROUP, spec="justice_data_lab", method="exact"), SpecError,
     r"method: 'exact' contradicts the justice_data_lab spec's test "
     r"'difference_in_proportions' \(method 'normal'\)"),
    ("difference in differences with one before-period result",
     lambda: pbr.compare(C72, GROUP, before=C72), SpecError,
     r"before, comparator_before: a difference in differences needs both"),
    ("ComparisonSpec level given as a significance level",
     lambda: ComparisonSpec(kind="matched_comparison", test="welch_t", level=0.05), SpecError,
     r"level: a confidence level in \[0\.5, 1\).*0\.05 looks like a significance level.*"
     r"level=0\.95"),
    ("binomial_thresholds on a degenerate baseline",
     lambda: binomial_thresholds(0.0, 20), SpecError, r"p0: .*strictly between 0 and 1"),
    ("unknown scheme name",
     lambda: pbr.compare(C72, GROUP, spec="jdl"), SpecError, r"unknown scheme 'jdl'"),
    ("reoffended as counts",
     lambda: pbr.compare(C72.with_columns(reoffended=pl.Series([0, 2] * 36)), 0.43),
     SpecError, r"column 'reoffended' of the cohort's frame holds 2\.0.*True/False"),
    ("reoffended missing for a row",
     lambda: pbr.compare(C72.with_columns(reoffended=pl.Series([None] + [True] * 71)), 0.43),
     SpecError, r"column 'reoffended' of the cohort's frame is missing at row 0"),
    ("adjusted baseline column in per cent",
     lambda: pbr.compare(C72.with_columns(expected=pl.lit(43.0)), "expected"), SpecError,
     r"column 'expected' holds 43.*proportions.*per cent"),
    ("Baseline object with a percentage for a proportion",
     lambda: pbr.compare(GROUP, Baseline.from_values({"binary_rate": 42.0},
                                                     spec="crc_pbr_2015", label="2011")),
     SpecError, r"binary_rate: 42 is above 1; rates are proportions: give 0\.42 for 42%"),
    ("diff_proportions: rate in per cent",
     lambda: diff_proportions(31, 72, 0.43), SpecError,
     r"rate of the cohort must be a proportion.*31"),
    ("diff_proportions: normal refused on 0 of 20",
     lambda: diff_proportions(0.0, 20, 0.43, small_sample="error"), SpecError,
     r"normal approximation is not valid \(the cohort: n = 20 with rate 0.*method='exact'"),
    ("compare_to_baseline: baseline in per cent (rates are proportions)",
     lambda: compare_to_baseline(GROUP, Baseline.from_values(
         {"binary_rate": 42.0}, spec="crc_pbr_2015", label="2011")), SpecError,
     r"binary_rate: 42 is above 1; rates are proportions: give 0\.42 for 42%"),
    ("compare_to_baseline: baseline rate 0",
     lambda: compare_to_baseline(GROUP, Baseline.from_values(
         {"binary_rate": 0.0}, spec="crc_pbr_2015", label="2011")), SpecError,
     r"binary_rate 0 .* nobody or everyone reoffended.*a proportion, 0\.42 for 42%"),
    ("compare_to_baseline: level given as alpha in the comparison",
     lambda: compare_to_baseline(GROUP, Baseline.from_values(
         {"binary_rate": 0.42}, spec="crc_pbr_2015", label="2011"),
         comparison=CRC.replace(level=0.05)), SpecError,
     r"level: a confidence level in \[0\.5, 1\).*level=0\.95"),
    ("adjust_baseline: unknown form",
     lambda: adjust_baseline(0.3, 0.33, 0.29, "multiplicative"), SpecError,
     r"form: 'additive' or 'ratio', got 'multiplicative'"),
    ("adjust_baseline: ratio with a baseline prediction of 0",
     lambda: adjust_baseline(0.3, 0.33, 0.0, "ratio"), SpecError,
     r"predicted_baseline: the ratio form divides .*got 0\.0; use form='additive'"),
    ("adjust_baseline: Decimals and floats mixed",
     lambda: adjust_baseline(Decimal("30"), 0.33, 0.29), SpecError,
     r"base, predicted, predicted_baseline: give all Decimals .* or all floats"),
    ("adjust_rate: ratio with a Decimal prediction of 0",
     lambda: adjust_rate(Decimal("30"), Decimal("0"), Decimal("29"), "ratio"), SpecError,
     r"predicted: the ratio form divides by the cohort's mean prediction, got "
     r"Decimal\('0'\)"),
    ("baseline_thresholds: a baseline in per cent",
     lambda: baseline_thresholds(47.5, 1000), SpecError,
     r"p: the baseline as a proportion from 0 to 1 \(0\.475 for 47\.5%\), got 47\.5"),
    ("baseline_thresholds: an empty cohort",
     lambda: baseline_thresholds(0.3, 0), SpecError, r"n: .*at least 1.*got 0"),
    ("baseline_thresholds: n as a float",
     lambda: baseline_thresholds(0.3, 10.0), SpecError,  # type: ignore[arg-type]
     r"n: .*a whole number.*got 10\.0"),
    ("baseline_thresholds: level as alpha",
     lambda: baseline_thresholds(0.3, 100, level=0.05), SpecError,
     r"level: a confidence level in \[0\.5, 1\), e\.g\. 0\.95; got 0\.05"),
    ("baseline_thresholds: unknown sides",
     lambda: baseline_thresholds(0.3, 100, alternative="lower"), SpecError,
     r"alternative: one of two-sided, less, greater, got 'lower'"),
    ("interval_thresholds: interval ends swapped",
     lambda: interval_thresholds(0.25, -0.1, -0.3), SpecError,
     r"lo, hi: the interval's lower end -0\.1 is above its upper end -0\.3"),
    ("interval_thresholds: a ratio interval through 0",
     lambda: interval_thresholds(1.2, 0.0, 1.5, "ratio"), SpecError,
     r"lo: a ratio interval must lie above 0, got \[0\.0, 1\.5\]"),
    ("baseline_thresholds: baseline 1 on a small cohort",
     lambda: baseline_thresholds(1.0, 3), SpecError,
     r"p: a baseline of 1\.0 leaves nothing to test a cohort of 3 against"),
]


@pytest.mark.parametrize(("case", "call", "error", "message"), ERRORS,
                         ids=[row[0] for row in ERRORS])
def test_bad_input_is_refused(case: str, call: Callable[[], Any], error: type[Exception],
                              message: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        with pytest.raises(error, match=message):
            call()


# ---------------------------------------------------------------- warnings + right answer
def _row(res: Any, i: int = 0) -> dict[str, Any]:
    return res.frame.row(i, named=True)


def _one_reoffender(res: Any) -> None:    # n = 1: the exact interval, not significant
    r = _row(res)
    assert r["method"] == "exact (clopper-pearson)" and r["significant"] is False
    assert r["upper"] - r["lower"] > 0.5


def _two(res: Any) -> None:
    r = _row(res)
    assert r["method"] == "exact (clopper-pearson)" and r["significant"] is False


def _below_min_n(res: Any) -> None:
    r = _row(res)
    assert r["significant"] is None
    assert r["conclusion"] == ("not assessed: 20 people, below the minimum of 60 "
                               "(justice_data_lab rule)")
    text = res.jdl_text()
    assert "No conclusion is drawn about the effect" in text
    assert "significant" not in text and "reduction of" not in text


def _below_explicit_min_n(res: Any) -> None:
    assert _row(res)["conclusion"] == "not assessed: 20 people, below the minimum of 60 (min_n=60)"


def _all_reoffend(res: Any) -> None:      # significant, but with a real (exact) interval
    r = _row(res)
    assert r["method"] == "exact (clopper-pearson)" and r["significant"] is True
    assert r["lower"] == pytest.approx(0.025 ** (1 / 20) - 0.43)
    assert r["upper"] == pytest.approx(0.57) and r["upper"] > r["lower"]


def _none_reoffend(res: Any) -> None:
    r = _row(res)
    assert r["method"] == "exact (clopper-pearson)"
    assert r["upper"] == pytest.approx(1 - 0.025 ** (1 / 20) - 0.43)
    assert r["lower"] == pytest.approx(-0.43) and r["upper"] > r["lower"]


def _not_assessed(res: Any) -> None:
    r = _row(res)
    assert r["significant"] is None and math.isnan(r["lower"]) and math.isnan(r["upper"])
    assert r["conclusion"].startswith("not assessed: ")
    assert "No conclusion is drawn" in res.jdl_text()


def _weighted_switch_to_score(res: Any) -> None:
    r = _row(res)
    assert r["method"] == "newcombe hybrid score" and r["upper"] > r["lower"]


def _two_groups_all_vs_none(res: Any) -> None:
    r = _row(res)     # Fisher: 0 of 3 against 3 of 3, p = 2 / C(6, 3) = 0.1
    assert r["method"].startswith("exact (fisher") and r["p_value"] == pytest.approx(0.1)
    assert r["significant"] is False


def _holm_skips_group_not_assessed(res: Any) -> None:
    a, b = _row(res, 0), _row(res, 1)
    assert (a["significant"] is None and a["p_adjusted"] is None) or math.isnan(a["p_adjusted"])
    assert b["p_adjusted"] == pytest.approx(b["p_value"])    # a family of one


def _baseline_below_min_n(res: Any) -> None:
    r = res.frame.row(0, named=True)
    assert r["significant"] is None and r["direction"] == "below min_n"
    assert r["conclusion"].startswith("not assessed: 20 people, below the minimum of 60")


def _baseline_exact(res: Any) -> None:
    r = res.frame.row(0, named=True)   # 7 of 10 against 30%: P(X >= 7) = 0.0106 < 0.025
    assert r["method"] == "exact binomial" and r["direction"] == "increase"
    assert r["threshold_upper"] == pytest.approx(0.6) and r["threshold_lower"] == 0.0


JDL = ComparisonSpec(kind="matched_comparison", test="difference_in_proportions",
                     min_n=60, name="justice_data_lab")
CRC = ComparisonSpec(kind="fixed_baseline", baseline="2011", test="baseline_interval",
                     min_n=60, name="jdl_like")

WARNS: list[tuple[str, Callable[[], Any], str, Callable[[Any], None]]] = [
    ("n = 1, reoffended", lambda: pbr.compare(_cohort(1, 1), 0.43),
     r"normal approximation not valid \(the cohort: n = 1", _one_reoffender),
    ("n = 2", lambda: pbr.compare(_cohort(1, 2), 0.43),
     r"n = 2 with rate 0\.5 gives n·p = 1", _two),
    ("n = 20 under the JDL's 60 (scheme name)",
     lambda: pbr.compare(_cohort(20, 20), GROUP, spec="justice_data_lab"),
     r"20 people, below the minimum of 60 \(justice_data_lab rule\)", _below_min_n),
    ("n = 20 under the JDL's 60 (ComparisonSpec)",
     lambda: pbr.compare(_cohort(20, 20), GROUP, spec=JDL),
     r"below the minimum of 60", _below_min_n),
    ("n = 20 under min_n=60", lambda: pbr.compare(_cohort(5, 20), 0.43, min_n=60),
     r"below the minimum of 60 \(min_n=60\)", _below_explicit_min_n),
    ("all 20 reoffended", lambda: pbr.compare(_cohort(20, 20), 0.43),
     r"n·\(1-p\) = 0 expected non-events", _all_reoffend),
    ("none of 20 reoffended", lambda: pbr.compare(_cohort(0, 20), 0.43),
     r"n·p = 0 expected events", _none_reoffend),
    ("frequency, nobody reoffended (zero variance)",
     lambda: pbr.compare(_cohort(0, 20), 0.43, measure="frequency"),
     r"no t interval: every offender has the same value", _not_assessed),
    ("frequency, one offender", lambda: pbr.compare(_cohort(1, 1), 0.43, measure="frequency"),
     r"no t interval: a group has a single offender", _not_assessed),
    ("rate ratio, no reoffences",
     lambda: pbr.compare(_cohort(0, 20), 0.43, measure="frequency", method="poisson"),
     r"no rate ratio interval: the cohort had no reoffences", _not_assessed),
    ("bootstrap of a frequency, nobody reoffended",
     lambda: pbr.compare(_cohort(0, 20), 0.43, measure="frequency", method="bootstrap",
                         n_resamples=200),
     r"no bootstrap interval: every resample gives the same value", _not_assessed),
    ("bootstrap of a rate, nobody reoffended",
     lambda: pbr.compare(_cohort(0, 20), 0.43, method="bootstrap", n_resamples=200),
     r"bootstrap not valid \(the cohort: n = 20 with rate 0", _none_reoffend),
    ("weighted, tiny comparison group",
     lambda: pbr.compare(_cohort(0, 30), _cohort(3, 4), weights=[0.5, 1.0, 1.0, 2.0]),
     r"newcombe hybrid score used instead", _weighted_switch_to_score),
    ("two groups of 3, none vs all",
     lambda: pbr.compare(_cohort(0, 3), _cohort(3, 3)),
     r"exact \(fisher; clopper-pearson mover\) used instead", _two_groups_all_vs_none),
    ("holm, one group below min_n",
     lambda: pbr.compare(BY, 0.43, by="provider", min_n=60, correction="holm"),
     r"provider=A: 20 people, below the minimum of 60", _holm_skips_group_not_assessed),
    ("compare_to_baseline, n = 20 under min_n 60",
     lambda: compare_to_baseline(_cohort(5, 20), Baseline.from_values(
         {"binary_rate": 0.43}, spec="crc_pbr_2015", label="2011"), comparison=CRC),
     r"20 people, below the minimum of 60 \(jdl_like rule\)", _baseline_below_min_n),
    ("compare_to_baseline, 10 people at a 30% baseline",
     lambda: compare_to_baseline(_cohort(7, 10), Baseline.from_values(
         {"binary_rate": 0.30}, spec="crc_pbr_2015", label="2011")),
     r"exact binomial thresholds for group\(s\) all", _baseline_exact),
]


@pytest.mark.parametrize(("case", "call", "message", "check"), WARNS,
                         ids=[row[0] for row in WARNS])
def test_small_group_warns_notes_and_answers_right(case: str, call: Callable[[], Any],
                                                   message: str,
                                                   check: Callable[[Any], None]) -> None:
    with pytest.warns(SmallSampleWarning, match=message):
        res = call()
    assert any(re.search(message, note) for note in res.notes), res.notes
    check(res)
    if "upper" in res.frame.columns:   # never significant on a zero-width or NaN interval
        bad = res.frame.filter(pl.col("significant").fill_null(False)
                               & ~((pl.col("upper") - pl.col("lower")) > 0))
        assert bad.height == 0


# ---------------------------------------------------------------- hand-worked rules
Z = 1.959963984540054


def test_wilson_0_of_20_is_the_published_interval() -> None:
    """Wilson (1927) for 0 of 20: upper z^2 / (n + z^2) = 0.16113, statsmodels' value."""
    from statsmodels.stats.proportion import proportion_confint

    lo, hi = wilson(0.0, 20)
    assert (lo, hi) == pytest.approx((0.0, Z * Z / (20 + Z * Z)))
    assert (lo, hi) == pytest.approx(proportion_confint(0, 20, method="wilson"))
    assert hi == pytest.approx(0.16113, abs=5e-6)
    res = pbr.compare(_cohort(0, 20), 0.43, method="newcombe")   # asked for: no switch
    assert _row(res)["upper"] == pytest.approx(hi - 0.43) and res.notes == ()


def test_clopper_pearson_at_the_edges_is_closed_form() -> None:
    """Clopper and Pearson (1934): 0 of n has upper 1 - (a/2)^(1/n); n of n lower (a/2)^(1/n)."""
    from statsmodels.stats.proportion import proportion_confint

    with pytest.warns(SmallSampleWarning):
        none = diff_proportions(0.0, 20, 0.43)
    assert none.upper + 0.43 == pytest.approx(1 - 0.025 ** (1 / 20))
    assert none.upper + 0.43 == pytest.approx(proportion_confint(0, 20, method="beta")[1])
    with pytest.warns(SmallSampleWarning):
        everyone = diff_proportions(1.0, 20, 0.43)
    assert everyone.lower + 0.43 == pytest.approx(0.025 ** (1 / 20))
    # the exact binomial test: 20 of 20 at p0 = 0.43 has p = 0.43^20 (nothing is rarer)
    assert everyone.p_value == pytest.approx(0.43 ** 20)
    assert "normal approximation not valid" in str(everyone.note)


def test_normal_rule_boundary_is_five_expected_events() -> None:
    """n·p >= 5 and n·(1-p) >= 5 (Brown, Cai and DasGupta 2001): 5 of 16 is normal, 4 is not."""
    assert normal_approximation_problem(5 / 16, 16) is None
    assert "n·p = 4 expected events, below 5" in str(normal_approximation_problem(4 / 16, 16))
    assert "n·(1-p) = 4" in str(normal_approximation_problem(12 / 16, 16))
    five = pbr.compare(_cohort(5, 16), 0.43)
    assert _row(five)["method"] == "normal (cohort variance)" and _row(five)["note"] is None
    with pytest.warns(SmallSampleWarning, match="n·p = 4 expected events"):
        four = pbr.compare(_cohort(4, 16), 0.43)
    assert _row(four)["method"] == "exact (clopper-pearson)"
    # the published Blue Sky interval is untouched: 22 of 72 is well inside the rule
    blue = diff_proportions(0.31, 72, 0.43, variance="cohort")
    assert (round(-100 * blue.upper, 1), round(-100 * blue.lower, 1)) == (1.3, 22.7)
    assert blue.note is None


def test_null_variance_rule_uses_the_baseline_rate() -> None:
    """variance='null' treats n·p0 as the expected count: 20 at 43% is 8.6, fine; 10 at 43%
    is 4.3, exact instead."""
    ok = diff_proportions(0.0, 20, 0.43, variance="null")
    assert ok.method == "normal (null variance)"
    assert ok.lower == pytest.approx(-0.43 - Z * math.sqrt(0.43 * 0.57 / 20))
    with pytest.warns(SmallSampleWarning, match="under the baseline rate"):
        small = pbr.compare(_cohort(0, 10), 0.43, variance="null")
    assert _row(small)["method"] == "exact (clopper-pearson)"


def test_min_n_is_inclusive_and_reaches_the_sentence() -> None:
    """A group of exactly min_n is assessed; one fewer is not, and its sentence says why."""
    sixty = pbr.compare(_cohort(10, 60), GROUP, spec="justice_data_lab")
    assert _row(sixty)["significant"] is True and _row(sixty)["conclusion"] == "significant"
    assert "This is statistically significant" in sixty.jdl_text()
    with pytest.warns(SmallSampleWarning):
        fifty_nine = pbr.compare(_cohort(10, 59), GROUP, spec="justice_data_lab")
    assert _row(fifty_nine)["significant"] is None
    assert fifty_nine.jdl_text().endswith(
        "No conclusion is drawn about the effect: 59 people, below the minimum of 60 "
        "(justice_data_lab rule); the difference is not evidence either way.")
    assert "n/a" in str(fifty_nine) and fifty_nine.provenance["min_n"] == 60
    # the scheme's level and sides are the comparison's
    assert sixty.level == pytest.approx(0.95) and sixty.alternative == "two-sided"


def test_exact_baseline_thresholds_by_hand() -> None:
    """10 people at a 30% baseline (n·E = 3 < 5): P(X >= 7) = 0.0106 <= 0.025 < P(X >= 6)
    = 0.0473 and P(X = 0) = 0.0282 > 0.025, so 7 of 10 is a significant increase, 6 of 10
    is not, and no reduction is possible."""
    def tail(k: int) -> float:
        return sum(math.comb(10, j) * 0.3 ** j * 0.7 ** (10 - j) for j in range(k, 11))

    assert tail(7) == pytest.approx(0.010592, abs=1e-6)
    assert tail(6) == pytest.approx(0.047349, abs=1e-6)
    assert pytest.approx(0.028248, abs=1e-6) == 0.7 ** 10
    base = Baseline.from_values({"binary_rate": 0.30}, spec="crc_pbr_2015", label="2011")
    for k, direction in ((7, "increase"), (6, "none"), (0, "none")):
        with pytest.warns(SmallSampleWarning):
            r = compare_to_baseline(_cohort(k, 10), base).frame.row(0, named=True)
        assert (r["method"], r["direction"]) == ("exact binomial", direction), k
    # a big enough group keeps the normal (CRC) thresholds
    r = compare_to_baseline(_cohort(30, 100), base).frame.row(0, named=True)
    assert r["method"] == "normal" and r["threshold_lower"] == pytest.approx(
        0.3 - Z * math.sqrt(0.3 * 0.7 / 100))
    # the one threshold function, for floats (proportions) and a contract's Decimals
    t = baseline_thresholds(0.3, 10)
    assert (t.method, t.lower, t.upper, t.count_lower, t.count_upper) == (
        "exact binomial", 0.0, 0.6, 0, 6)
    with localcontext() as ctx:
        ctx.prec = 34
        d = baseline_thresholds(Decimal("0.3"), 10, z=Decimal("1.959964"))
    assert (d.lower, d.upper) == (Decimal(0), Decimal("0.6"))
    # one-sided, the whole 5% in one tail: P(X >= 6) = 0.0473 <= 0.05, so 6 of 10 is now
    # a significant increase
    one = baseline_thresholds(0.3, 10, alternative="greater")
    assert one.lower is None and one.upper == 0.5
    n = baseline_thresholds(0.3, 100, alternative="less")
    assert n.upper is None and n.lower == pytest.approx(0.3 - 1.6448536 * math.sqrt(.0021))


@pytest.mark.filterwarnings("ignore::pbr.errors.SmallSampleWarning")
def test_missing_group_label_is_its_own_group_with_a_warning() -> None:
    """Offenders with no provider are compared as a group of their own, and said so."""
    frame = BY.with_columns(provider=pl.when(pl.col("offender_id") < 3).then(None)
                            .otherwise(pl.col("provider")))
    with pytest.warns(DataQualityWarning, match=r"column 'provider' is missing for 3"):
        res = pbr.compare(frame, 0.43, by="provider")
    assert res.frame["provider"].to_list() == ["A", "B", None]
    assert res.frame["n"].to_list() == [17, 60, 3]
    assert any("compared as a group of their own" in n for n in res.notes)


def test_pandas_frames_are_read_as_polars() -> None:
    """pandas is accepted at the public boundary: the same answer as polars."""
    assert pbr.compare(C72.to_pandas(), 0.43).frame.equals(pbr.compare(C72, 0.43).frame)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 80), k=st.integers(0, 80), p0=st.floats(0.02, 0.98),
       group=st.none() | st.tuples(st.integers(1, 80), st.integers(0, 80)),
       method=st.sampled_from(["normal", "newcombe", "exact"]))
def test_no_small_group_is_significant_on_a_degenerate_interval(
        n: int, k: int, p0: float, group: tuple[int, int] | None, method: str) -> None:
    """For any group of 1 to 80 against a baseline or a comparison group: 'significant'
    only on an interval of positive width that excludes 0, and never the Wald interval
    where fewer than 5 events or non-events are expected."""
    k = min(k, n)
    comparator: Any = p0 if group is None else _cohort(min(group[1], group[0]), group[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        r = _row(pbr.compare(_cohort(k, n), comparator, method=method))
    if r["significant"]:
        assert r["upper"] > r["lower"] and not r["lower"] <= 0.0 <= r["upper"]
    if normal_approximation_problem(k / n, n) is not None:
        assert not r["method"].startswith("normal")
