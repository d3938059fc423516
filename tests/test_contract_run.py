"""run_contract: measure -> compare -> pay on synthetic data, checked against the other
steps' own public functions (MeasureResult.summary, pbr.risk.compare_to_baseline,
pbr.compare, pbr.compare.thresholds)."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

import pbr
from pbr.compare.thresholds import adjust_baseline, baseline_thresholds
from pbr.contract import Contract, run_contract
from pbr.contract.spec import demo_contract_text
from pbr.errors import ContractError
from pbr.risk import Baseline, casemix_score, compare_to_baseline

DATA = pbr.synth.generate(2000, seed=11)


def _contract(comparator: str, components: str = "") -> Contract:
    return Contract.from_toml(f'''
[contract]
name = "t"
[measure]
preset = "crc_pbr_2015"
[comparator]
{comparator}
[[component]]
name = "binary"
kind = "linear"
measure = "binary_rate"
basis = "points_per_offender"
price = 1.00
trigger = "significant"
clawback = true
[[component]]
name = "frequency"
kind = "linear"
measure = "per_reoffender"
basis = "avoided"
price = 10.00
{components}
''')


def test_outcomes_match_the_measure_summary() -> None:
    c = _contract("values = {binary_rate = 30.0, per_reoffender = 3.0}")
    # a significance trigger without thresholds could never be met: refused
    with pytest.raises(ContractError, match=r"component 'binary'\.trigger = \"significant\" "
                       r"needs the thresholds.*set comparator\.significance_z"):
        run_contract(c, DATA.cohort, DATA.events)
    c = _contract("values = {binary_rate = 30.0, per_reoffender = 3.0}\nsignificance_z = 1.96")
    run = run_contract(c, DATA.cohort, DATA.events)
    summary = run.result.summary(by="cohort_period").sort("cohort_period")
    got = {(o.cohort, o.measure): o for o in run.outcomes}
    for row in summary.iter_rows(named=True):
        b = got[(row["cohort_period"], "binary_rate")]
        f = got[(row["cohort_period"], "per_reoffender")]
        assert b.n == row["n"] and f.base_n == row["reoffenders"]
        # the summary's rate is a proportion, the contract's outcome per cent
        assert float(b.actual) == pytest.approx(100 * row["binary_rate"], abs=1e-6)
        assert float(f.actual) == pytest.approx(row["per_reoffender"], abs=1e-6)
        assert b.lower is not None and b.upper is not None
        assert f.lower is None   # thresholds are for rates only


def test_casemix_thresholds_agree_with_compare_to_baseline() -> None:
    """Regression: the contract's thresholds (exact decimals, per cent) and
    compare_to_baseline's (floats, proportions) both come from the one
    pbr.compare.thresholds.baseline_thresholds, around the one adjust_baseline."""
    c = _contract('kind = "casemix"\nvalues = {binary_rate = 30.0, per_reoffender = 3.0}\n'
                  'risk_column = "true_risk"\nbaseline_risk = 29.0\nsignificance_z = 1.959964')
    run = run_contract(c, DATA.cohort, DATA.events)
    base = Baseline.from_values(   # proportions; the contract TOML stays in per cent
        [{"cohort_period": q, "binary_rate": 0.30, "predicted_rate": 0.29}
         for q in ("2019Q1", "2019Q2", "2019Q3", "2019Q4")],
        by="cohort_period", spec="crc_pbr_2015")
    theirs = compare_to_baseline(run.result, base, casemix_score("true_risk")).frame
    mine = [o for o in run.outcomes if o.measure == "binary_rate"]
    assert len(mine) == theirs.height == 4
    for o, row in zip(mine, theirs.sort("cohort_period").iter_rows(named=True), strict=True):
        assert float(o.comparator) / 100 == pytest.approx(row["adjusted_baseline"], abs=2e-8)
        assert float(o.lower) / 100 == pytest.approx(row["threshold_lower"], abs=3e-8)
        assert float(o.upper) / 100 == pytest.approx(row["threshold_upper"], abs=3e-8)
        assert bool(o.significant_reduction or o.significant_increase) == row["significant"]
        t = baseline_thresholds(row["adjusted_baseline"], row["n"], z=1.959964)
        assert (t.lower, t.upper) == pytest.approx(
            (row["threshold_lower"], row["threshold_upper"]), abs=1e-6)
        risk = Decimal(repr(100 * row["predicted"])).quantize(Decimal("0.000001"))
        assert o.comparator == adjust_baseline(Decimal("30.0"), risk, Decimal("29.0"))


def test_matched_thresholds_come_from_pbr_compare() -> None:
    cohort = DATA.cohort.with_columns(pl.lit(1.0).alias("w"))
    c = _contract('kind = "matched"\ngroup_column = "treated"\nweight_column = "w"\n'
                  'significance_z = 1.959964')
    run = run_contract(c, cohort, DATA.events)
    frame = run.result.frame
    res = pbr.compare(frame.filter(pl.col("treated")), frame.filter(~pl.col("treated")),
                      measure="binary", weights="w", by="cohort_period", level=0.95)
    for row in res.frame.iter_rows(named=True):
        o = next(o for o in run.outcomes
                 if o.cohort == row["cohort_period"] and o.measure == "binary_rate")
        assert float(o.comparator) == pytest.approx(100 * row["comparator_value"], abs=1e-6)
        significant = row["upper"] < 0 or row["lower"] > 0
        assert bool(o.significant_reduction or o.significant_increase) == significant
        assert bool(o.significant_increase) == (row["lower"] > 0)


def test_engines_give_the_same_statement() -> None:
    c = Contract.from_toml(demo_contract_text())
    a = run_contract(c, DATA.cohort, DATA.events, engine="numba").statement
    b = run_contract(c, DATA.cohort, DATA.events, engine="polars").statement
    assert a == b and str(a) == str(b)
    assert a.total == sum((x.amount for x in a.lines), Decimal(0))
    assert a.provenance["contract_sha256"] and a.provenance["cohort_sha256"]


def test_court_events_are_named_in_explanations() -> None:
    c = Contract.from_toml('''
[contract]
name = "pb"
[measure]
preset = "peterborough_sib"
[comparator]
values = {per_100 = 200.0}
[[component]]
name = "events"
kind = "linear"
measure = "per_100"
basis = "avoided"
price = 1
''')
    run = run_contract(c, DATA.cohort, DATA.events)
    assert "conviction events avoided" in run.statement.explain("L1")


def test_missing_columns_and_values_are_contract_errors() -> None:
    c = _contract("values = {binary_rate = 30.0}")
    with pytest.raises(ContractError, match=r"comparator\.values\.per_reoffender"):
        run_contract(c, DATA.cohort, DATA.events)
    bare = Contract("no comparator", components=c.components)
    assert Contract.from_toml(bare.to_toml()) == bare and bare.comparator is None
    with pytest.raises(ContractError, match=r"comparator: measuring a cohort"):
        run_contract(bare, DATA.cohort, DATA.events)
    c = _contract('kind = "matched"\ngroup_column = "in_programme"')
    with pytest.raises(ContractError, match="'in_programme' is not in the cohort file"):
        run_contract(c, DATA.cohort, DATA.events)
