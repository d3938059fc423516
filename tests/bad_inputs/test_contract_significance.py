"""Significance triggers on small cohorts: contracts never pay on a zero-width or
normal-approximation interval where that approximation does not hold.

Where a baseline rate ``p`` on a cohort of ``n`` gives fewer than 5 expected reoffenders
or non-reoffenders (:func:`pbr.stats.normal_approximation_problem`), the thresholds are
the exact binomial ones (:func:`pbr.stats.binomial_thresholds`); a comparison-group
cohort that :func:`pbr.compare` cannot assess gets no thresholds, and a significance
trigger on it is refused; a ``significance_z`` below 0.6745 (a level under 50%) is
refused when the contract is read (docs/methodology/payments.md, "What pbr refuses and
why").  The thresholds below are worked by hand from the binomial distribution.  Nothing
here writes a file.
"""

from __future__ import annotations

import doctest
import math
import warnings
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import polars as pl
import pytest

import pbr
from pbr.compare import groups, thresholds
from pbr.compare.thresholds import baseline_thresholds, level_of_z
from pbr.contract import Contract, pay, run_contract
from pbr.contract.compare import (
    group_thresholds,
    outcomes,
    significance_interval,
    significance_thresholds,
)
from pbr.errors import ContractError, SmallSampleWarning

D = Decimal
Z = D("1.959964")


def contract(*, value: str = "30.0", z: str = "1.959964", measure: str = "binary_rate",
             trigger: str = 'trigger = "significant"', kind: str = "") -> Contract:
    comparator = ('kind = "matched"\ngroup_column = "treated"\n' if kind == "matched"
                  else f"values = {{ {measure} = {value} }}\n")
    return Contract.from_toml(f'''
[contract]
name = "small cohorts"
[comparator]
{comparator}significance_z = {z}
[[component]]
name = "reduction"
kind = "linear"
measure = "{measure}"
basis = "points_per_offender"
price = 100.00
{trigger}
''')


def measured(reoffended: list[bool], reoffences: list[int] | None = None,
             treated: list[bool] | None = None, cohort: str = "2019Q1") -> pl.DataFrame:
    """A measured frame (one row per offender) as run_contract hands to outcomes()."""
    n = len(reoffended)
    frame = pl.DataFrame({"cohort_period": [cohort] * n, "reoffended": reoffended,
                          "reoffences": reoffences if reoffences is not None
                          else [int(r) for r in reoffended],
                          "serious": [False] * n})
    return frame if treated is None else frame.with_columns(treated=pl.Series(treated))


def paid(c: Contract, frame: pl.DataFrame, measures: tuple[str, ...] = ("binary_rate",)
         ) -> tuple[Decimal, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        got = outcomes(c, frame, list(measures))
    return pay(c, got).total, got


def _normal(value: float, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The old form p -+ z sqrt(p(1-p)/n), in percent: what pbr used to pay on."""
    p = value / 100
    half = 100 * z * math.sqrt(p * (1 - p) / n)
    return value - half, value + half


# -------------------------------------------------------------- refused (ContractError)
ZERO_VARIANCE = measured([False] * 7, [0] * 7, [True] * 3 + [False] * 4)
NOBODY_REOFFENDED = measured([False] * 3 + [True, True], [0, 0, 0, 2, 3],
                             [True] * 3 + [False] * 2)

REFUSED: list[tuple[str, Callable[[], Any], str]] = [
    ("z_is_alpha", lambda: contract(z="0.05"),
     r"comparator\.significance_z: 0\.05 gives thresholds at a confidence level below 50%.*"
     r"looks like a significance level \(alpha\).*Fix: give z, e\.g\. 1\.96 for a two-sided "
     r"95% level"),
    ("z_just_below_half", lambda: contract(z="0.674"),
     r"comparator\.significance_z: 0\.674 gives thresholds at a confidence level below 50%"),
    ("z_zero", lambda: contract(z="0"),
     r"comparator\.significance_z: 0 must be a positive multiplier.*1\.96"),
    ("baseline_100_cohort_of_3",
     lambda: paid(contract(value="100.0"), measured([True, False, False])),
     r"comparator\.values\.binary_rate \(cohort '2019Q1'\): a baseline of 100\.0% leaves "
     r"nothing to test a cohort of 3 against.*zero width.*Fix: check the baseline value"),
    ("baseline_0_cohort_of_3",
     lambda: paid(contract(value="0.0"), measured([True, False, False])),
     r"comparator\.values\.binary_rate \(cohort '2019Q1'\): a baseline of 0\.0% leaves "
     r"nothing to test.*trigger = \"absolute\" or \"relative\""),
    ("matched_frequency_without_variation",
     lambda: paid(contract(kind="matched", measure="per_offender"), ZERO_VARIANCE,
                  ("per_offender",)),
     r"component 'reduction'\.trigger = \"significant\": cohort '2019Q1' per_offender cannot "
     r"be tested against the comparison group \(welch t interval of the difference: not "
     r"assessed: no t interval: every offender has the same value.*Fix: check the cohort's "
     r"and comparison group's rows"),
    ("matched_per_reoffender_nobody_reoffended",
     lambda: paid(contract(kind="matched", measure="per_reoffender"), NOBODY_REOFFENDED,
                  ("per_reoffender",)),
     r"cohort '2019Q1' per_reoffender cannot be tested against the comparison group "
     r"\(not assessed: nobody in the cohort reoffended\)"),
    ("significance_on_a_frequency_against_a_fixed_baseline",
     lambda: paid(contract(measure="per_offender", value="1.0"),
                  measured([True, False, True], [2, 0, 1]), ("per_offender",)),
     r"component 'reduction'\.trigger = \"significant\" on per_offender: "
     r"comparator\.significance_z gives thresholds for binary_rate, serious_rate only against "
     r"a 'baseline' comparator.*Fix: use trigger = \"absolute\" or \"relative\""),
    ("thresholds_for_an_empty_cohort",
     lambda: significance_thresholds(D("30"), 0, Z),
     r"comparator: thresholds need a rate in percent \(0 to 100\) and a cohort of at least "
     r"1, got 30 and n = 0"),
    ("thresholds_rate_as_a_proportion_over_100",
     lambda: significance_interval(D("130"), 50, Z),
     r"thresholds need a rate in percent \(0 to 100\).*got 130"),
    ("thresholds_n_as_a_bool",
     lambda: significance_interval(D("30"), True, Z),  # type: ignore[arg-type]
     r"cohort of at least 1, got 30 and n = True"),
    ("interval_z_below_half_direct",
     lambda: significance_interval(D("47.5"), 108_000, D("0.05")),
     r"comparator\.significance_z: 0\.05 gives a confidence level of 4\.0%, below 50%"),
    ("z_too_large_for_exact_thresholds",
     lambda: significance_interval(D("30"), 10, D("9")),
     r"comparator\.significance_z: 9 gives a confidence level that rounds to 100%.*at most "
     r"8"),
    ("z_too_large_for_group_thresholds",
     lambda: group_thresholds(measured([True, False]), measured([False, True]),
                              "cohort_period", "binary_rate", None, D("9")),
     r"comparator\.significance_z: 9 gives a confidence level of 100\.0000%, which "
     r"pbr\.compare cannot use; give a z from 0\.6745"),
]


@pytest.mark.parametrize("case", REFUSED, ids=[c[0] for c in REFUSED])
def test_refused(case: tuple[str, Callable[[], Any], str]) -> None:
    _, call, match = case
    with pytest.raises(ContractError, match=match):
        call()


# ------------------------------------------------- right answers, worked by hand
#: (id, baseline %, n, (lower, upper) exact, why)
EXACT = [
    # n = 10 at 30% (n·p = 3): P(X = 0) = 0.7^10 = 0.0282 > 0.025, so no count is a
    # significant reduction; P(X >= 7) = 0.0106 <= 0.025 < P(X >= 6) = 0.0473
    ("n10_at_30", "30", 10, (D("0.000000"), D("60.000000"))),
    # n = 3 at 90% (n·p = 2.7): P(X = 0) = 0.001 <= 0.025 < P(X <= 1) = 0.028;
    # P(X >= 3) = 0.729, so no count is a significant increase
    ("n3_at_90", "90", 3, (D("33.333333"), D("100.000000"))),
    # n = 3 at 30%: P(X = 0) = 0.343, P(X = 3) = 0.027 > 0.025: nothing significant
    ("n3_at_30", "30", 3, (D("0.000000"), D("100.000000"))),
    # n = 20 at 10% (n·p = 2): P(X = 0) = 0.9^20 = 0.1216: no reduction; P(X >= 5) =
    # 0.0432 > 0.025 >= P(X >= 6) = 0.0113, so 6 of 20 (30%) or more is an increase
    ("n20_at_10", "10", 20, (D("0.000000"), D("25.000000"))),
    # n = 10 at 49.9%: n·p = 4.99 < 5, so exact: P(X <= 1) = 0.0109 <= 0.025 < P(X <= 2)
    # = 0.0554 and P(X >= 9) = 0.0106 <= 0.025 < P(X >= 8) = 0.0540
    ("n10_at_49_9", "49.9", 10, (D("20.000000"), D("80.000000"))),
]


@pytest.mark.parametrize("case", EXACT, ids=[c[0] for c in EXACT])
def test_exact_thresholds_by_hand(case: tuple[str, str, int, tuple[Decimal, Decimal]]
                                  ) -> None:
    _, value, n, expected = case
    lower, upper, how = significance_thresholds(D(value), n, Z)
    assert (lower, upper) == expected
    assert significance_interval(D(value), n, Z) == expected
    assert how.startswith("exact binomial thresholds at level 0.9500 (normal approximation "
                          f"not valid: the cohort: n = {n}")
    assert upper > lower   # never a zero-width interval here
    p = float(value) / 100
    assert pbr.stats.binomial_thresholds(p, n, level=0.95) == pytest.approx(
        (float(lower) / 100, float(upper) / 100), abs=1e-6)
    # the analysis side (floats, proportions) calls the same function and agrees
    t = baseline_thresholds(p, n, level=level_of_z(Z), z=float(Z))
    assert t.method == "exact binomial"
    assert (t.lower, t.upper) == pytest.approx((float(lower) / 100, float(upper) / 100),
                                               abs=5e-9)


def test_thresholds_doctests() -> None:
    result = doctest.testmod(thresholds)
    assert result.failed == 0 and result.attempted >= 18
    assert doctest.testmod(groups).failed == 0


def test_contract_names_are_the_compare_thresholds() -> None:
    # moved to pbr.compare.thresholds and .groups; pbr.contract.compare re-imports them
    assert significance_thresholds is thresholds.significance_thresholds
    assert significance_interval is thresholds.significance_interval
    assert group_thresholds is groups.group_thresholds


def test_normal_form_kept_where_valid() -> None:
    # n·p = n·(1-p) = 5: the normal approximation holds, the published form is kept
    lower, upper, how = significance_thresholds(D("50"), 10, D("1.96"))
    assert how.startswith("normal approximation: 50 -+ 1.96 x sqrt(p(1-p)/10)")
    half = D("30.990321")   # 1.96 x sqrt(0.025) x 100, rounded half-even to 6 places
    assert (lower, upper) == (D("50") - half, D("50") + half)
    assert significance_interval(D("47.5"), 108000, D("1.96")) == (D("47.202168"),
                                                                    D("47.797832"))


SMALL = [
    # (id, baseline, reoffended, amount paid, significant reduction, what the old normal
    #  interval said)
    ("n10_none_reoffended", "30.0", [False] * 10, D("0.00"), False, True),
    ("n3_one_of_three_at_90", "90.0", [True, False, False], D("0.00"), False, True),
    ("n3_none_of_three_at_90", "90.0", [False] * 3, D("27000.00"), True, True),
    ("n3_none_of_three_at_30", "30.0", [False] * 3, D("0.00"), False, False),
]


@pytest.mark.parametrize("case", SMALL, ids=[c[0] for c in SMALL])
def test_small_cohorts_pay_on_exact_thresholds(case: tuple[Any, ...]) -> None:
    _, value, reoffended, amount, reduction, old = case
    total, (o,) = paid(contract(value=value), measured(reoffended))
    assert total == amount
    assert o.significant_reduction is reduction
    assert "exact binomial thresholds" in o.source
    # the old normal-approximation interval: a plausible, wrong verdict in two rows
    assert (float(o.actual) < _normal(float(value), len(reoffended))[0]) is old


def test_a_count_equal_to_the_exact_threshold_is_not_significant() -> None:
    # 1 of 3 is 33.333333 both as the cohort's rate and as the exact threshold: rounding
    # never puts it below (P(X <= 1 | 3, 0.9) = 0.028 > 0.025)
    total, (o,) = paid(contract(value="90.0"), measured([True, False, False]))
    assert o.actual == o.lower == D("33.333333")
    assert o.significant_reduction is False and total == 0


def test_cohort_of_three_end_to_end_does_not_pay_on_a_normal_interval() -> None:
    data = pbr.synth.generate(200, seed=1)
    first = data.cohort.filter(pl.col("cohort_period") == "2019Q1")
    measured_all = pbr.measure(first, data.events, pbr.preset("moj_national_2017")).frame
    ids = measured_all.filter(~pl.col("reoffended"))["offender_id"].head(3)
    three = first.filter(pl.col("offender_id").is_in(ids.implode()))
    c = contract(value="90.0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = run_contract(c, three, data.events)
    (o,) = run.outcomes
    assert o.n == 3 and o.actual == 0
    # 0 of 3 at 90%: P(X = 0) = 0.001, a genuine exact reduction: paid 90 points x 3 x 100
    assert (o.lower, o.upper) == (D("33.333333"), D("100.000000"))
    assert run.statement.total == D("27000.00")
    assert "exact binomial" in run.statement.lines[0].source
    # the same cohort against a baseline of 100%: refused, where it used to pay on [100, 100]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ContractError, match=r"a baseline of 100\.0% leaves nothing"):
            run_contract(contract(value="100.0"), three, data.events)


def test_baseline_0_without_a_significance_trigger_is_not_refused() -> None:
    c = contract(value="0.0", trigger='trigger = "absolute"\nthreshold = 1')
    total, (o,) = paid(c, measured([False] * 3))
    assert o.lower is None and o.upper is None
    assert "no thresholds: a baseline of 0.0% leaves nothing to test against" in o.source
    assert total == 0


def test_matched_cohort_not_assessed_without_a_significance_trigger() -> None:
    c = contract(kind="matched", measure="per_offender", trigger='trigger = "none"')
    with pytest.warns(SmallSampleWarning, match="not assessed"):
        got = outcomes(c, ZERO_VARIANCE, ["per_offender"])
    (o,) = got
    assert o.lower is None and "no thresholds: welch t interval of the difference: not " \
        "assessed: no t interval" in o.source
    assert pay(c, got).total == 0


def test_matched_small_binary_uses_pbr_compares_exact_interval() -> None:
    # 3 treated, none reoffended; 4 controls, all reoffended: pbr.compare switches to the
    # exact (Fisher; Clopper-Pearson MOVER) interval, which the thresholds name
    frame = measured([False] * 3 + [True] * 4, treated=[True] * 3 + [False] * 4)
    total, (o,) = paid(contract(kind="matched"), frame)
    assert "exact (fisher" in o.source and o.upper > o.lower
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        row = pbr.compare(frame.filter(pl.col("treated")), frame.filter(~pl.col("treated")),
                          level=0.95).frame.row(0, named=True)
    # thresholds actual - hi, actual - lo (percent); z = 1.959964 is the 95% level
    assert float(o.lower) == pytest.approx(0 - 100 * row["upper"], abs=1e-4)
    assert float(o.upper) == pytest.approx(0 - 100 * row["lower"], abs=1e-4)
    assert o.significant_reduction is (row["upper"] < 0)
    assert total == (D("30000.00") if row["upper"] < 0 else D("0.00"))


def test_comparison_warnings_reach_the_statement_notes() -> None:
    # a matched comparison on a handful of people: pbr.compare warns (exact method, small
    # group) and run_contract keeps that warning in the statement's notes, so it reaches
    # the statement files and the manifest
    data = pbr.synth.generate(200, seed=1)
    few = data.cohort.head(12).with_columns(cohort_period=pl.lit("2019Q1"),
                                            treated=pl.Series([True] * 5 + [False] * 7))
    c = contract(kind="matched", trigger='trigger = "none"')
    with pytest.warns(SmallSampleWarning) as caught:
        run = run_contract(c, few, data.events)
    said = {str(w.message) for w in caught if issubclass(w.category, SmallSampleWarning)}
    assert said and said <= set(run.statement.notes)
