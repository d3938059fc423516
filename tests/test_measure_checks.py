"""The fail-safe checks of a measure (pbr/_measure_checks.py): the three paths agree on
data with exact duplicate rows and disposal types in mixed case, and each rule's edge.
"""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Any

import polars as pl
import pytest
from conftest import make_cohort, make_events
from hypothesis import given, settings
from hypothesis import strategies as st

import pbr
from pbr._measure_checks import MIN_ID_OVERLAP
from pbr.schema import normalise_term

BASE = dt.date(2020, 1, 1)
SPELLINGS = ["conviction", "Conviction", "CONVICTION", " conviction", "caution", "Caution ",
             "fine", "FINE"]


@st.composite
def histories(draw: Any) -> tuple[pl.DataFrame, pl.DataFrame]:
    n = draw(st.integers(1, 8))
    cohort = make_cohort([(i, str(BASE + dt.timedelta(days=draw(st.integers(0, 60)))))
                          for i in range(n)])
    rows = []
    for _ in range(draw(st.integers(0, 25))):
        off = BASE + dt.timedelta(days=draw(st.integers(-30, 700)))
        row = (draw(st.integers(0, n)), str(off),
               str(off + dt.timedelta(days=draw(st.integers(0, 200)))),
               draw(st.sampled_from(SPELLINGS)), draw(st.sampled_from(["A", "B"])),
               draw(st.sampled_from(["theft", "breach"])))
        rows += [row] * draw(st.integers(1, 3))  # exact duplicates
    events = make_events(rows)
    if events.height:
        events = events.sample(fraction=1.0, shuffle=True, seed=draw(st.integers(0, 99)))
    return cohort, events


def _path(k: int, cohort: pl.DataFrame, events: pl.DataFrame, spec: pbr.MeasureSpec
          ) -> pbr.MeasureResult:
    """Path ``k``: the one-pass measure, prepare + grouped kernel, the polars twin."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pbr.PbrWarning)
        if k == 0:
            return pbr.measure(cohort, events, spec)
        if k == 1:
            return pbr.prepare(cohort, events, spec).measure(spec)
        return pbr.measure(cohort, events, spec, engine="polars")


@settings(max_examples=15)
@given(histories(), st.sampled_from([None, dt.date(2021, 3, 1), dt.date(2022, 6, 1)]),
       st.sampled_from(["offence", "court_event"]))
def test_three_paths_agree_with_duplicates_and_mixed_case(
        data: tuple[pl.DataFrame, pl.DataFrame], as_of: dt.date | None, unit: str) -> None:
    cohort, events = data
    spec = pbr.MeasureSpec(as_of=as_of, interim=as_of is not None, counting_unit=unit)
    folded = {normalise_term(t) for t in events["disposal_type"].to_list()}
    if events.height and not folded & set(spec.proof_types):
        for k in range(3):
            with pytest.raises(pbr.SpecError, match="match none"):
                _path(k, cohort, events, spec)
        return
    first, *others = [_path(k, cohort, events, spec) for k in range(3)]
    for r in others:
        assert r.frame.equals(first.frame)
        assert r.notes == first.notes
        assert r.exclusions.to_frame().equals(first.exclusions.to_frame())
        assert r.vocabulary.equals(first.vocabulary)
        assert r.coverage == first.coverage
    # counted once: the same as measuring the distinct rows, normalised by hand
    unique = events.unique(maintain_order=True).with_columns(
        pl.col("disposal_type").str.strip_chars().str.to_lowercase())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pbr.PbrWarning)
        by_hand = pbr.measure(cohort, unique, spec, engine="polars")
    assert by_hand.frame.equals(first.frame)
    ledger = first.exclusions.count("events", "duplicate_event")
    assert ledger == events.height - unique.height
    assert first.event_counts["input"] == events.height


def test_normalise_term() -> None:
    assert normalise_term("  Community \t Order ") == "community order"
    assert pbr.MeasureSpec(proof_types=["Conviction", "conviction "]).proof_types == (
        "conviction",)
    with pytest.raises(pbr.SpecError, match="proof_types: give at least one"):
        pbr.MeasureSpec(proof_types=["  "])


def test_proof_types_round_trip_in_their_normal_form() -> None:
    spec = pbr.MeasureSpec(proof_types=["CAUTION", "Conviction"])
    assert pbr.MeasureSpec.from_toml(spec.to_toml()) == spec
    assert spec.proof_types == ("caution", "conviction")
    assert "CAUTION" not in spec.to_toml()


def test_vocabulary_table() -> None:
    """Counts per normalised value; rows equal once normalised are duplicates (P2, D1)."""
    ev = make_events([(1, "2020-03-01", "2020-03-10", t, c, "theft")
                      for t, c in [("Fine", "A"), ("fine ", "B"), ("conviction", "A"),
                                   ("caution", "A")]])
    with pytest.warns(pbr.CompletenessWarning):
        res = pbr.measure(make_cohort([(1, "2020-01-01")]), ev)
    assert res.vocabulary.rows() == [("caution", 1, True), ("conviction", 1, True),
                                     ("fine", 2, False)]
    same = make_events([(1, "2020-03-01", "2020-03-10", t, "A", "theft")
                        for t in ["Fine", "fine "]])
    assert pbr.Events.from_frame(same).exclusions.count(rule="duplicate_event") == 1


def test_join_threshold_is_one_percent() -> None:
    """Rule J1 warns below 1% of the cohort's ids found in the events, not at 1%."""
    n = 300
    cohort = make_cohort([(i, "2020-01-15") for i in range(n)])
    late = (10**6, "2022-06-01", "2022-07-01", "conviction", "A", "theft")

    def events(found: int) -> pl.DataFrame:
        return make_events([(i, "2019-01-01", "2019-02-01", "conviction", "A", "theft")
                            for i in range(found)] + [late])

    at = int(MIN_ID_OVERLAP * n)
    with warnings.catch_warnings():
        warnings.simplefilter("error", pbr.DataQualityWarning)
        pbr.measure(cohort, events(at))
    with pytest.warns(pbr.DataQualityWarning, match=f"only {at - 1} of {n}"):
        pbr.measure(cohort, events(at - 1))


def test_extract_end_from_the_kept_rows_only() -> None:
    """The extract's end is the last disposal date of the rows kept, not of an invalid
    row left out (rule A3)."""
    ev = pbr.Events.from_frame(make_events([
        (1, "2020-03-01", "2020-03-10", "conviction", "A", "theft"),
        (1, "2025-03-01", "2024-03-10", "conviction", "A", "theft")]), on_invalid="exclude")
    with pytest.warns(pbr.CompletenessWarning, match="close after 2020-03-10"):
        res = pbr.measure(make_cohort([(1, "2020-01-01")]), ev)
    assert res.coverage["extract_end"] == dt.date(2020, 3, 10)


def test_duplicates_with_python_objects_and_nulls() -> None:
    """Rule D1 compares every column: nulls equal nulls, Python objects by their repr."""
    base = make_events([(1, "2020-03-01", "2020-03-10", "conviction", "A", "theft")] * 3)
    frame = base.with_columns(
        note=pl.Series([None, None, "x"], dtype=pl.String),
        obj=pl.Series([("a", 1), ("a", 1), ("b", 2)], dtype=pl.Object))
    ev = pbr.Events.from_frame(frame)
    assert ev.n == 2
    assert ev.exclusions.to_frame()["row"].to_list() == [1]


def test_saved_histories_give_the_same_notes(tmp_path: Any) -> None:
    """A loaded Histories holds the whole events table: the same checks, the same notes."""
    from pbr.io import load_histories, save_histories

    cohort = make_cohort([(1, "2020-01-15"), (2, "2021-06-01")])
    events = make_events([(1, "2020-03-01", "2020-06-01", t, "A", "theft")
                          for t in ["Conviction", "conviction", "fine"]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pbr.PbrWarning)
        direct = pbr.measure(cohort, events)
        save_histories(pbr.prepare(cohort, events), tmp_path / "h")
        loaded = load_histories(tmp_path / "h").measure()
    assert loaded.notes == direct.notes
    assert any("'fine' (1 row)" in n for n in loaded.notes)
    assert loaded.coverage == direct.coverage
