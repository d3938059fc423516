"""MeasureSpec validation and TOML round-trips; Period parsing and calendar arithmetic."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pbr
from pbr import MeasureSpec, Period
from pbr.errors import PeriodError, SpecError


@pytest.mark.parametrize(("text", "expected"), [
    ("12 months", Period(12, "months")), ("6 months", Period(6, "months")),
    ("182 days", Period(182, "days")), ("1 year", Period(1, "years")),
    ("2 weeks", Period(2, "weeks")), (" 3   Months ", Period(3, "months")),
])
def test_period_parse(text: str, expected: Period) -> None:
    assert Period.parse(text) == expected


@pytest.mark.parametrize("bad", ["", "twelve months", "12", "12 fortnights", "-1 days", "1.5 m"])
def test_period_parse_errors(bad: str) -> None:
    with pytest.raises(PeriodError, match="period"):
        Period.parse(bad)


@pytest.mark.parametrize(("start", "period", "expected"), [
    ("2020-02-29", "12 months", "2021-02-28"),   # leap day clamps
    ("2020-02-29", "48 months", "2024-02-29"),
    ("2019-08-31", "6 months", "2020-02-29"),    # month end clamps into a leap February
    ("2019-01-31", "1 month", "2019-02-28"),
    ("2020-01-15", "365 days", "2021-01-14"),
    ("2020-01-15", "1 year", "2021-01-15"),
    ("2020-12-31", "0 days", "2020-12-31"),
])
def test_period_calendar_arithmetic(start: str, period: str, expected: str) -> None:
    assert Period.parse(period).add_date(dt.date.fromisoformat(start)) == \
        dt.date.fromisoformat(expected)


def test_period_add_keeps_missing_dates() -> None:
    arr = np.array([0, pbr.period.NULL_DAY], np.int32)
    assert Period.parse("12 months").add(arr)[1] == pbr.period.NULL_DAY


def test_spec_defaults_are_the_moj_rules() -> None:
    s = MeasureSpec()
    assert (s.follow_up, s.waiting_period) == (Period(12, "months"), Period(6, "months"))
    assert s.proof_types == ("caution", "conviction") and s.counting_unit == "offence"
    assert s.exclude_categories == ("breach",) and s.include_index_day is False
    text = str(s)
    assert "MoJ" in text and "[R]" in text and "waiting_period" in text


@pytest.mark.parametrize(("field", "value", "match"), [
    ("follow_up", "0 days", "follow_up"),
    ("follow_up", "twelve", "follow_up"),
    ("counting_unit", "person", "counting_unit"),
    ("proof_types", [], "proof_types"),
    ("proof_types", "conviction", "not a bare string"),
    ("unmapped_severity", "guess", "unmapped_severity"),
    ("severity_weights", {"A": -1}, "severity_weights"),
    ("as_of", "31/12/2020", "as_of"),
    ("include_index_day", "yes", "include_index_day"),
])
def test_spec_errors_name_the_field(field: str, value: object, match: str) -> None:
    with pytest.raises(SpecError, match=match):
        MeasureSpec(**{field: value})


def test_interim_needs_as_of_and_unknown_toml_keys() -> None:
    with pytest.raises(SpecError, match="as_of"):
        MeasureSpec(interim=True)
    with pytest.raises(SpecError, match="unknown field"):
        MeasureSpec.from_toml('[measure]\nfollow_upp = "12 months"\n')
    with pytest.raises(SpecError, match="TOML"):
        MeasureSpec.from_toml("[measure\n")


@pytest.mark.parametrize("name", pbr.available_presets())
def test_presets_round_trip(name: str, tmp_path: object) -> None:
    spec = pbr.preset(name)
    assert spec.name == name
    assert MeasureSpec.from_toml(spec.to_toml()) == spec
    path = tmp_path / f"{name}.toml"  # type: ignore[operator]
    path.write_text(spec.to_toml())
    assert MeasureSpec.from_toml(path) == spec
    assert hash(spec) == hash(MeasureSpec.from_toml(spec.to_toml()))


def test_preset_differences() -> None:
    assert pbr.preset("peterborough_sib").counting_unit == "court_event"
    assert pbr.preset("peterborough_sib").proof_types == ("conviction",)
    assert pbr.preset("doncaster_pbr").proof_types == ("conviction",)
    assert pbr.preset("rikers_able").waiting_period == Period(0, "days")
    assert pbr.preset("moj_national_2017", follow_up="6 months").follow_up == Period(6, "months")


@given(follow=st.integers(1, 36), wait=st.integers(0, 400), idx=st.booleans(),
       unit=st.sampled_from(["offence", "court_event"]),
       codes=st.lists(st.text("ABCDEFGH0123456789", min_size=1, max_size=6), max_size=5),
       weights=st.dictionaries(st.text("ABC123", min_size=1, max_size=4),
                               st.floats(0, 1e6, allow_nan=False), max_size=5),
       as_of=st.one_of(st.none(), st.dates(dt.date(2000, 1, 1), dt.date(2040, 1, 1))))
def test_any_spec_round_trips_through_toml(follow: int, wait: int, idx: bool, unit: str,
                                           codes: list[str], weights: dict[str, float],
                                           as_of: dt.date | None) -> None:
    spec = MeasureSpec(follow_up=f"{follow} months", waiting_period=f"{wait} days",
                       include_index_day=idx, counting_unit=unit, exclude_codes=codes,
                       serious_codes=codes, severity_weights=weights or None, as_of=as_of)
    assert MeasureSpec.from_toml(spec.to_toml()) == spec
