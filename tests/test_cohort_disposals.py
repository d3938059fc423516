"""Disposals: the table contract, validation errors naming column, row and fix, reading
files, the synthetic generator, and build_cohort's output measured end to end."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

import pbr
from pbr import CohortRule, Disposals, SchemaError, build_cohort
from pbr.cohort.synth import generate_disposals
from pbr.schema import DISPOSALS

D = dt.date.fromisoformat


def base(**extra: list[object]) -> pl.DataFrame:
    return pl.DataFrame({"offender_id": [1, 2], "disposal_date": ["2018-01-01", "2018-02-01"],
                         "disposal_type": ["custody", "caution"], **extra})


def test_schema_roles() -> None:
    assert DISPOSALS.required == ("offender_id", "disposal_date", "disposal_type")
    for role in ("release_date", "date_of_birth", "age", "sentence_length_days", "deported",
                 "time_served", "breach_only", "released_from_court", "date_of_death",
                 "provider", "area", "region", "disposal_category"):
        assert role in DISPOSALS.optional


def test_types_are_normalised() -> None:
    d = Disposals.from_frame(base(release_date=["2018-01-20", ""], deported=["yes", None],
                                  time_served=[1, 0], age=["19", None],
                                  sentence_length_days=[30.0, None]))
    f = d.frame
    assert f.schema["disposal_date"] == pl.Date and f.schema["release_date"] == pl.Date
    assert f["deported"].to_list() == [True, False]
    assert f["time_served"].to_list() == [True, False]
    assert f["age"].to_list() == [19, None]
    assert f["sentence_length_days"].to_list() == [30, None]
    assert d.n == d.n_input == 2


def test_missing_required_column_names_the_role_and_fix() -> None:
    with pytest.raises(SchemaError, match=r"missing column 'disposal_type'.*Fix: pass "
                                          r"disposal_type="):
        Disposals.from_frame(base().drop("disposal_type"))
    with pytest.raises(SchemaError, match="missing column 'discharged'"):
        Disposals.from_frame(base(), release_date="discharged")
    with pytest.raises(SchemaError, match=r"unknown role.*release"):
        Disposals.from_frame(base(), release="x")


@pytest.mark.parametrize(("extra", "row", "rule"), [
    ({"disposal_date": ["2018-01-01", "2018-02-30"]}, 1, "unparseable_disposal_date"),
    ({"release_date": ["2017-12-31", None]}, 0, "release_before_disposal"),
    ({"date_of_birth": ["2000-01-01", "2019-01-01"]}, 1, "birth_after_disposal"),
    ({"deported": ["maybe", "no"]}, 0, "unparseable_deported"),
    ({"age": [-1, 20]}, 0, "negative_age"),
    ({"sentence_length_days": [10.5, 3.0]}, 0, "unparseable_sentence_length_days"),
    ({"disposal_type": ["custody", None]}, 1, "missing_disposal_type"),
])
def test_bad_rows_raise_naming_row_and_rule_or_go_to_the_ledger(
        extra: dict[str, list[object]], row: int, rule: str) -> None:
    df = base().with_columns(**{k: pl.Series(v) for k, v in extra.items()})
    with pytest.raises(SchemaError, match=rf"disposals row {row} .*\[{rule}\].*on_invalid="):
        Disposals.from_frame(df)
    d = Disposals.from_frame(df, on_invalid="exclude")
    assert d.exclusions.count(rule=rule) == 1 and d.n == 1
    assert d.exclusions.to_frame()["row"].to_list() == [row]


def test_wrong_column_type_names_the_column() -> None:
    with pytest.raises(SchemaError, match=r"'deported' \(role deported\).*Fix"):
        Disposals.from_frame(base(deported=[1.5, 2.5]))
    with pytest.raises(SchemaError, match=r"'disposal_date' \(role disposal_date\)"):
        Disposals.from_frame(base().with_columns(disposal_date=pl.lit(3.5)))


def test_roles_with_validated_disposals_are_an_error() -> None:
    d = Disposals.from_frame(base())
    with pytest.raises(SchemaError, match=r"release_date.*Disposals\.from_frame"):
        build_cohort(d, release_date="x")


def test_pandas_input() -> None:
    pdf = pd.DataFrame({"offender_id": [1], "disposal_date": [pd.Timestamp("2018-01-05")],
                        "disposal_type": ["caution"]})
    built = build_cohort(pdf)
    assert built.frame["index_date"].to_list() == [D("2018-01-05")]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_read_disposals(tmp_path: Path, suffix: str) -> None:
    df = generate_disposals(50, seed=4)
    path = tmp_path / f"d{suffix}"
    pbr.io.write_table(df, path)
    d = pbr.io.read_disposals(path)
    assert d.n == df.height
    assert build_cohort(d).frame.equals(build_cohort(df).frame)
    renamed = tmp_path / f"r{suffix}"
    pbr.io.write_table(df.rename({"offender_id": "pnc", "release_date": "out"}), renamed)
    assert pbr.io.read_disposals(renamed, offender_id="pnc", release_date="out").n == df.height


def test_generator_is_seeded_and_covers_the_rules() -> None:
    a, b = generate_disposals(400, seed=9), generate_disposals(400, seed=9)
    assert a.equals(b) and not a.equals(generate_disposals(400, seed=10))
    assert set(a["disposal_type"].unique()) == {"custody", "court_order", "caution", "remand"}
    for flag in ("deported", "time_served", "breach_only", "released_from_court"):
        assert a[flag].any()
    assert a["date_of_death"].null_count() < a.height
    assert a.filter(pl.col("disposal_type") == "custody")["release_date"].null_count() > 0
    built = build_cohort(a, CohortRule(exclusions=["deported", "time_served", "breach_only",
                                                   "released_from_court", "died"],
                                       age_group="adult", sentence_length="< 12 months"))
    rules = set(built.summary()["rule"].to_list())
    assert {"index_event", "not_index_type", "not_released", "age_group", "deported",
            "same_day_precedence", "not_first_in_period"} <= rules


def test_end_to_end_build_then_measure() -> None:
    rows = pl.DataFrame({
        "offender_id": [1, 2, 3, 3],
        "disposal_date": [D("2018-01-10"), D("2017-12-01"), D("2018-02-01"), D("2018-03-01")],
        "disposal_type": ["court_order", "custody", "caution", "caution"],
        "release_date": [None, D("2018-02-15"), None, None],
        "area": ["north", "south", "south", "north"]})
    built = build_cohort(rows, CohortRule(start=D("2018-01-01"), n_periods=1))
    events = pl.DataFrame({
        "offender_id": [1, 2, 2, 3],
        "offence_date": [D("2018-05-01"), D("2018-02-10"), D("2018-03-01"), D("2019-03-01")],
        "disposal_date": [D("2018-06-01"), D("2018-03-01"), D("2018-04-01"), D("2019-04-01")],
        "disposal_type": ["conviction", "conviction", "caution", "conviction"],
        "offence_code": ["A", "B", "C", "D"], "offence_category": ["x"] * 4})
    res = pbr.measure(built.cohort, events, pbr.MeasureSpec())
    got = res.frame.sort("offender_id").select("offender_id", "area", "reoffended",
                                               "reoffences").rows()
    # person 2 entered on release (15 Feb): the offence of 10 Feb is before follow-up;
    # person 3's index event is the caution of 1 Feb, so 1 March 2019 is outside the year
    assert got == [(1, "north", True, 1), (2, "south", True, 1), (3, "south", False, 0)]
    by_area = res.summary(by="area")
    assert by_area["n"].to_list() == [1, 2]
    per = built.cohorts()
    assert pbr.measure(per["2018Q1"], events).frame.height == 3


def test_synthetic_build_measures_every_quarter() -> None:
    built = build_cohort(generate_disposals(300, seed=2), CohortRule())
    data = pbr.synth.generate(300, seed=2)
    for label, cohort in built.cohorts().items():
        res = pbr.measure(cohort, data.events)
        assert res.frame.height == built.summary(by="period").filter(
            pl.col("cohort_period") == label)["people"].item()
