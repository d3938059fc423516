"""Power and minimum detectable change: R's power.prop.test (fixture), a hand-worked
closed form, statsmodels' negative binomial power, and seeded simulations."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from statsmodels.stats.rates import power_negbin_ratio_2indep

from pbr.errors import SpecError
from pbr.stats import diff_proportions, rate_ratio
from pbr.stats.power import (
    mde_binary,
    mde_frequency,
    power_binary,
    power_frequency,
    power_table,
    sample_size_binary,
    sample_size_frequency,
)

R = Path(__file__).parent / "fixtures" / "r_survival" / "power_prop_test.csv"


def test_matches_r_power_prop_test() -> None:
    rows = pl.read_csv(R, infer_schema_length=0).iter_rows(named=True)
    for r in rows:
        p1, p2, sig = float(r["p1"]), float(r["p2"]), float(r["sig"])
        n, power = float(r["n"]), float(r["power"])
        alt = "greater" if r["what"] == "n_one_sided" else "two-sided"
        if r["what"] == "power":
            assert power_binary(n, p1, p2 - p1, ratio=1, level=1 - sig) == pytest.approx(
                power, abs=1e-9)
        else:
            assert sample_size_binary(p2, p1 - p2, ratio=1, level=1 - sig, power=power,
                                      alternative=alt) == pytest.approx(n, rel=1e-7)
            # R finds n with uniroot (tolerance 1.2e-4); ours is the closed form


def test_one_sample_closed_form_by_hand() -> None:
    """p0 = 0.5 -> 0.4, 5% two-sided, 80%: (1.95996·0.5 + 0.84162·sqrt(0.24))² / 0.01."""
    n = (1.959963984540054 * 0.5 + 0.8416212335729143 * math.sqrt(0.24)) ** 2 / 0.01
    assert sample_size_binary(0.5, -0.1) == pytest.approx(n, rel=1e-12)
    assert n == pytest.approx(193.85, abs=0.01)


def test_frequency_power_matches_statsmodels_negbin() -> None:
    for mu0, r, disp, n, k in [(1.5, 0.85, 1.2, 800, 1.0), (4.2, 1.1, 0.6, 2500, 2.0),
                               (0.8, 0.9, 0.0, 5000, 0.5)]:
        ours = power_frequency(n, mu0, r, dispersion=disp, ratio=k, alternative="less"
                               if r < 1 else "greater")
        theirs = power_negbin_ratio_2indep(r * mu0, mu0, n, nobs_ratio=k, dispersion=disp,
                                           alternative="smaller" if r < 1 else "larger",
                                           method_var="alt", return_results=False)
        assert ours == pytest.approx(float(theirs), abs=1e-10)


def test_round_trips() -> None:
    mde = mde_binary(1200, 0.45, ratio=2.0)
    assert mde is not None and mde < 0
    assert power_binary(1200, 0.45, mde, ratio=2.0) == pytest.approx(0.8, abs=1e-9)
    assert sample_size_binary(0.45, mde, ratio=2.0) == pytest.approx(1200, rel=1e-8)
    r = mde_frequency(900, 2.0, dispersion=0.8)
    assert r is not None and r < 1
    assert sample_size_frequency(2.0, r, dispersion=0.8) == pytest.approx(900, rel=1e-8)
    up = mde_binary(500, 0.3, direction="increase")
    assert up is not None and up > 0
    assert mde_binary(5, 0.45) is None or abs(mde_binary(5, 0.45)) > 0.3


def test_power_table_rows_equal_the_functions() -> None:
    t = power_table({"North": 400, "South": 4000}, binary_rate=0.45, per_offender=1.5,
                    dispersion=1.2, ratio=1.0, target_change=-0.05, target_ratio=0.9)
    assert t["area"].to_list() == ["North", "South"]
    row = t.row(0, named=True)
    assert row["mde_binary_pp"] == pytest.approx(100 * mde_binary(400, 0.45, ratio=1.0))
    assert row["mde_frequency_ratio"] == pytest.approx(
        mde_frequency(400, 1.5, dispersion=1.2, ratio=1.0))
    assert row["n_needed_binary"] == math.ceil(sample_size_binary(0.45, -0.05, ratio=1.0))
    assert abs(t["mde_binary_pp"][1]) < abs(t["mde_binary_pp"][0])
    per_area = power_table(pl.DataFrame({"area": ["a", "b"], "n": [500, 500],
                                         "binary_rate": [0.3, 0.5]}), binary_rate=0.4)
    assert per_area["binary_rate"].to_list() == [0.3, 0.5]
    # every column is a proportion but the one named in percentage points (_pp)
    assert row["mde_binary_relative"] == pytest.approx(row["mde_binary_pp"] / 100 / 0.45)
    assert row["mde_frequency_relative"] == pytest.approx(row["mde_frequency_ratio"] - 1)
    assert -1 < row["mde_binary_relative"] < 0 and "mde_frequency_pct" not in t.columns
    # a per-cent rate (a summary from before rates were proportions) is refused, by area
    with pytest.raises(SpecError, match=r"binary_rate of area 'b': a proportion .*got 45.0"):
        power_table(pl.DataFrame({"area": ["a", "b"], "n": [500, 500],
                                  "binary_rate": [0.3, 45.0]}), binary_rate=0.4)
    with pytest.raises(SpecError, match=r"binary_rate: a proportion .*45%.*got 45.0"):
        power_table({"a": 500}, binary_rate=45.0)


def test_errors_name_the_field() -> None:
    with pytest.raises(SpecError, match="power"):
        sample_size_binary(0.45, -0.05, power=80)
    with pytest.raises(SpecError, match="p0"):
        sample_size_binary(45, -0.05)
    with pytest.raises(SpecError, match="rate_ratio"):
        sample_size_frequency(1.5, 1.0)


# --------------------------------------------------------------------------- simulation
def test_binary_power_by_simulation_against_a_baseline() -> None:
    """Cohorts of the size the formula gives for 45% -> 39% reject ~80% of the time."""
    rng = np.random.default_rng(20261123)
    n = math.ceil(sample_size_binary(0.45, -0.06))
    counts = rng.binomial(n, 0.39, size=2000)
    rejected = [diff_proportions(x / n, n, 0.45, variance="null").p_value <= 0.05
                for x in counts]
    assert np.mean(rejected) == pytest.approx(0.80, abs=3 * math.sqrt(0.16 / 2000))


def test_frequency_power_by_simulation_two_groups() -> None:
    """Negative binomial counts (mean 1.5, dispersion 1) at the formula's size for a
    ratio of 0.8: the robust Poisson Wald test rejects ~80% of the time."""
    rng = np.random.default_rng(7)
    mu0, r, disp = 1.5, 0.8, 1.0
    n = math.ceil(sample_size_frequency(mu0, r, dispersion=disp, ratio=1))
    size = 1 / disp

    def draw(mu: float) -> np.ndarray:
        return rng.negative_binomial(size, size / (size + mu), size=n)

    sims = 300
    rejected = [rate_ratio(draw(r * mu0), draw(mu0), robust=True).p_value <= 0.05
                for _ in range(sims)]
    assert np.mean(rejected) == pytest.approx(0.80, abs=3 * math.sqrt(0.16 / sims))


@given(st.floats(0.1, 0.8), st.integers(50, 5000), st.integers(1, 4))
def test_mde_shrinks_with_cohort_size(p0, n, k) -> None:
    a = mde_binary(n, p0)
    b = mde_binary(n * (k + 1), p0)
    if a is not None and b is not None:
        assert abs(b) < abs(a)
