"""pbr.areas: hierarchies roll results up; recorded-crime rates and change match R's exact
Poisson figures (tests/fixtures/r_poisson); funnel limits hand-worked."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import pbr
from pbr.areas import (
    AreaHierarchy,
    RecordedCrime,
    crime_change,
    example_hierarchy,
    funnel_limits,
    poisson_interval,
    rate_ratio_interval,
)
from pbr.errors import SchemaError, SpecError

R = Path(__file__).parent / "fixtures" / "r_poisson" / "poisson_test.csv"


def test_hierarchy_refusals() -> None:
    with pytest.raises(SchemaError, match="pcc_area 'P1' belongs to 2 package units"):
        AreaHierarchy.from_frame({"csp": ["a", "b"], "pcc_area": ["P1", "P1"],
                                  "package": ["X", "Y"]}, levels=["csp", "pcc_area", "package"])
    with pytest.raises(SchemaError, match="appears on more than one row"):
        AreaHierarchy.from_frame({"csp": ["a", "a"], "pcc_area": ["P1", "P1"]},
                                 levels=["csp", "pcc_area"])
    with pytest.raises(SchemaError, match="level 'pcc_area' is empty at row 1"):
        AreaHierarchy.from_frame({"csp": ["a", "b"], "pcc_area": ["P1", None]},
                                 levels=["csp", "pcc_area"])
    with pytest.raises(SchemaError, match="missing level column"):
        AreaHierarchy.from_frame({"csp": ["a"]}, levels=["csp", "pcc"])
    h = example_hierarchy()
    with pytest.raises(SpecError, match="is below"):
        h.parent("region", "Synthetic region", "area")
    with pytest.raises(SchemaError, match="not in the hierarchy"):
        h.attach(pl.DataFrame({"area": ["P9-N"]}), area="area")


def test_attach_rolls_a_measure_result_up_every_level() -> None:
    data = pbr.synth.generate(2_000, seed=4)
    res = pbr.measure(data.cohort, data.events)
    h = example_hierarchy()
    up = h.attach(res, area="area")
    assert isinstance(up, pbr.MeasureResult)
    by_pcc = up.summary(by="pcc_area")
    manual = (res.frame.with_columns(pl.col("area").replace_strict(
        dict(h.frame.select("area", "pcc_area").rows())).alias("pcc_area"))
        .group_by("pcc_area").agg(pl.len().alias("n"), pl.col("reoffended").sum())
        .sort("pcc_area"))
    assert by_pcc["n"].to_list() == manual["n"].to_list()
    assert by_pcc["reoffenders"].to_list() == manual["reoffended"].to_list()
    assert up.summary(by="region")["n"].to_list() == [2_000]
    # a package area spanning two PCC areas: each one's share of the cohort
    sh = h.shares(res, area="area", unit="Package A", level="package_area", down="pcc_area")
    assert sh["pcc_area"].to_list() == ["PCC East", "PCC North"]
    assert sh["share"].sum() == pytest.approx(1.0)
    assert sh["value"].sum() == by_pcc.filter(pl.col("pcc_area").is_in(
        ["PCC East", "PCC North"]))["n"].sum()


def test_poisson_figures_equal_r() -> None:
    lo, hi = poisson_interval(10)
    assert lo == pytest.approx(4.79538869613, abs=1e-9)
    assert hi == pytest.approx(18.39035604202, abs=1e-9)
    with R.open() as f:
        for row in csv.DictReader(f):
            rr, lo, hi, p = rate_ratio_interval(int(row["x_current"]), float(row["n_current"]),
                                                int(row["x_baseline"]),
                                                float(row["n_baseline"]))
            assert rr == pytest.approx(float(row["rate_ratio"]), abs=1e-9)
            assert lo == pytest.approx(float(row["lower"]), abs=1e-9)
            assert hi == pytest.approx(float(row["upper"]), abs=1e-9)
            assert p == pytest.approx(float(row["p_value"]), abs=1e-9)


def crime() -> RecordedCrime:
    counts = pl.DataFrame({
        "area": ["P1-N", "P1-N", "P1-S", "P1-S"] * 2,
        "period": ["2019", "2020"] * 4,
        "offence_group": ["violence"] * 4 + ["theft"] * 4,
        "count": [20, 10, 30, 25, 60, 45, 70, 65]})
    pop = pl.DataFrame({"area": ["P1-N", "P1-S"], "population": [40_000, 60_000]})
    return RecordedCrime.from_frames(counts, pop)


def test_crime_change_by_area_and_rolled_up() -> None:
    ch = crime_change(crime(), baseline="2019", current="2020")
    row = ch.frame.filter(pl.col("area") == "P1-N").row(0, named=True)
    # P1-N all groups: 80 -> 55 crimes, population 40,000: 2.0 -> 1.375 per 1,000
    assert (row["count_baseline"], row["count_current"]) == (80, 55)
    assert row["rate_baseline"] == pytest.approx(2.0)
    assert row["rate_current"] == pytest.approx(1.375)
    assert row["rate_ratio"] == pytest.approx(55 / 80)
    _, lo, hi, p = rate_ratio_interval(55, 40_000, 80, 40_000)
    assert (row["lower"], row["upper"], row["p_value"]) == pytest.approx((lo, hi, p))
    assert "rate ratio 0.688" in ch.explain("P1-N")
    up = crime_change(crime(), baseline="2019", current="2020",
                      hierarchy=example_hierarchy(), level="pcc_area")
    north = up.frame.row(0, named=True)
    assert north["area"] == "PCC North"
    assert (north["count_baseline"], north["count_current"]) == (180, 145)
    assert north["population_current"] == 100_000
    by_group = crime_change(crime(), baseline="2019", current="2020", by_group=True)
    assert by_group.frame.height == 4


def test_crime_refusals() -> None:
    with pytest.raises(SchemaError, match="no population for area 'P1-S'"):
        RecordedCrime.from_frames({"area": ["P1-S"], "period": ["2019"], "count": [3]},
                                  {"area": ["P1-N"], "population": [10]})
    with pytest.raises(SchemaError, match="not a whole number >= 0"):
        RecordedCrime.from_frames({"area": ["a"], "period": ["2019"], "count": [-1]},
                                  {"area": ["a"], "population": [10]})
    with pytest.raises(SchemaError, match="population that is missing or not > 0"):
        RecordedCrime.from_frames({"area": ["a"], "period": ["2019"], "count": [1]},
                                  {"area": ["a"], "population": [0]})
    with pytest.raises(SpecError, match="period '2018' is not in the data"):
        crime_change(crime(), baseline="2018", current="2020")
    with pytest.raises(SchemaError, match="appears more than once"):
        RecordedCrime.from_frames({"area": ["a", "a"], "period": ["2019"] * 2,
                                   "count": [1, 2]}, {"area": ["a"], "population": [10]})


def test_funnel_limits_hand_worked() -> None:
    # target 0.01, population 1,000: Poisson(10); P(X<=1)=0.0005 < 0.001 <= P(X<=2)=0.0028,
    # P(X<=20)=0.9984 < 0.999 <= P(X<=21)=0.9992
    lim = funnel_limits(np.array([10.0]), np.array([1000.0]), level=0.998, target=0.01)
    assert lim["lower"][0] == pytest.approx(2 / 1000)
    assert lim["upper"][0] == pytest.approx(21 / 1000)
    flagged = crime_change(RecordedCrime.from_frames(
        {"area": ["a", "a", "b", "b"], "period": ["1", "2"] * 2, "count": [100, 300, 100, 100]},
        {"area": ["a", "b"], "population": [1000, 1000]}), baseline="1", current="2")
    assert flagged.frame["funnel"].to_list() == ["above", "below"]
