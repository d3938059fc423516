"""The one-call path (hash join fused with the measure) equals prepare + grouped kernel.

``pbr.measure`` evaluates a spec once without building the offender-grouped layout
(:mod:`pbr._kernels.onepass`).  Every output array and the whole event ledger must be
identical to ``kernel_arrays(prepare(cohort, events, spec), spec)``, on random edge-case
histories (tests/test_properties.py), on synthetic cohorts big enough for many hash
partitions, under any thread count, with custody, and with ``court_event_id``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numba
import numpy as np
import polars as pl
import pytest
from hypothesis import given
from test_properties import histories, specs

import pbr
from pbr import _scratch
from pbr._engine import onepass
from pbr._engine.grouped import kernel_arrays
from pbr.errors import SchemaError

WEIGHTS = {"A": 1.5, "B": 0.25, "C": 7.0}


def onepass_arrays(cohort: Any, events: Any, spec: pbr.MeasureSpec, custody: Any = None
                   ) -> tuple[Any, ...]:
    """The engine's onepass_arrays with a scratch arena of its own; the arrays copied out
    before the arena closes (some are scratch memory, valid only until then)."""
    with _scratch.Arena() as scratch:
        c, e, cu, arrays, counts = onepass.onepass_arrays(cohort, events, spec, custody,
                                                          scratch)
        return c, e, cu, {k: v.copy() for k, v in arrays.items()}, counts


def _same(cohort: Any, events: Any, spec: pbr.MeasureSpec, custody: Any = None) -> None:
    _, _, _, fast, counts = onepass_arrays(cohort, events, spec, custody)
    h = pbr.prepare(cohort, events, spec, custody=custody)
    slow = kernel_arrays(h, spec)
    assert sorted(fast) == sorted(slow)
    for name, arr in slow.items():
        # the one-pass path writes the counts and days in the result frame's Int64
        want = np.int64 if name in ("reoffences", "days_to_first") else arr.dtype
        assert fast[name].dtype == want, name
        assert np.array_equal(fast[name], arr), name
    assert counts == h.event_counts
    assert sum(v for k, v in counts.items() if k != "input") == counts["input"]


@given(histories(), specs())
def test_onepass_equals_prepared_kernel(data: tuple[pl.DataFrame, pl.DataFrame],
                                        spec: pbr.MeasureSpec) -> None:
    cohort, events = data
    _same(cohort, pbr.Events.from_frame(events, on_invalid="exclude"), spec)


@pytest.fixture(scope="module")
def synth() -> pbr.synth.SynthData:
    return pbr.synth.generate(40_000, seed=11)


def _with_court(events: pl.DataFrame) -> pl.DataFrame:
    # court events: the same disposal day splits into two hearings by offence parity
    return events.with_columns(court_event_id=(
        pl.col("disposal_date").cast(pl.Int64) * 2 + pl.col("offence_date").cast(pl.Int64) % 2))


@pytest.mark.parametrize("name", ["moj_national_2017", "peterborough_sib", "doncaster_pbr",
                                  "crc_pbr_2015"])
@pytest.mark.parametrize("court", [False, True])
def test_onepass_equals_prepared_kernel_on_synth(synth: Any, name: str, court: bool) -> None:
    spec = pbr.preset(name)
    codes = synth.events["offence_code"].unique().sort().to_list()
    spec = spec.replace(severity_weights={c: (i % 7) * 0.5 + 0.01 for i, c in
                                          enumerate(codes)},
                        serious_codes=codes[:3], unmapped_severity="zero")
    events = _with_court(synth.events) if court else synth.events
    _same(synth.cohort, events, spec, synth.custody)


def test_onepass_interim_and_as_of(synth: Any) -> None:
    for interim in (False, True):
        spec = pbr.MeasureSpec(as_of="2020-09-30", interim=interim,
                               counting_unit="court_event")
        _same(synth.cohort, synth.events, spec)


def test_onepass_does_not_depend_on_thread_count(synth: Any) -> None:
    spec = pbr.preset("peterborough_sib").replace(severity_weights={"X": 1.0},
                                                  unmapped_severity="default",
                                                  unmapped_weight=0.3)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = onepass_arrays(synth.cohort, synth.events, spec)
    finally:
        numba.set_num_threads(before)
    many = onepass_arrays(synth.cohort, synth.events, spec)
    assert one[4] == many[4]
    for name in one[3]:
        assert np.array_equal(one[3][name], many[3][name]), name


def test_onepass_severity_does_not_depend_on_event_order(synth: Any) -> None:
    spec = pbr.MeasureSpec(severity_weights={c: 0.1 for c in
                                             synth.events["offence_code"].unique()})
    a = pbr.measure(synth.cohort, synth.events, spec).frame
    b = pbr.measure(synth.cohort, synth.events.sample(fraction=1.0, shuffle=True, seed=5),
                    spec).frame
    assert a.equals(b)


def test_inexact_weights_fall_back_to_the_grouped_path() -> None:
    data = pbr.synth.generate(2_000, seed=4)
    codes = data.events["offence_code"].unique().to_list()
    spec = pbr.MeasureSpec(severity_weights={c: 1 / 3 for c in codes})
    assert spec.severity_scale is None
    fast = pbr.measure(data.cohort, data.events, spec)
    slow = pbr.measure(data.cohort, data.events, spec, engine="polars")
    assert fast.frame.equals(slow.frame)
    assert fast.event_counts == pbr.prepare(data.cohort, data.events, spec).event_counts


def test_onepass_finds_duplicate_cohort_ids() -> None:
    data = pbr.synth.generate(500, seed=2)
    cohort = pl.concat([data.cohort, data.cohort.head(1)])
    with pytest.raises(SchemaError, match="offender_id"):
        pbr.measure(cohort, data.events)


def test_string_ids_match_the_same_offenders_as_integers() -> None:
    # regression: a named polars category mapping was released between the cohort and
    # the events, so both got codes 0, 1, 2, ... and events matched the wrong offenders
    data = pbr.synth.generate(3_000, seed=9)
    cohort = data.cohort.with_columns(pl.col("offender_id").cast(pl.String).str.zfill(12))
    events = data.events.with_columns(pl.col("offender_id").cast(pl.String).str.zfill(12))
    _same(cohort, events, pbr.preset("peterborough_sib"))
    a = pbr.measure(cohort, events).frame
    b = pbr.measure(data.cohort, data.events).frame
    assert a.drop("offender_id").equals(b.drop("offender_id"))
    assert pbr.measure(cohort, events, engine="polars").frame.equals(
        pbr.measure(cohort, events).frame)
    h = pbr.prepare(cohort, events)
    assert h.measure().frame.equals(b.with_columns(offender_id=cohort["offender_id"]))


def test_wide_records_many_codes_and_a_long_window(monkeypatch: pytest.MonkeyPatch) -> None:
    # the packed 16-byte event records need < 65,535 codes and a global window under
    # 65,535 days; beyond either the scatter switches to wide records

    from pbr._kernels import onepass

    seen: list[bool] = []
    real = onepass.piece_scatter

    def spy(*args: Any) -> Any:
        seen.append(bool(args[14]))
        return real(*args)

    monkeypatch.setattr(onepass, "piece_scatter", spy)
    data = pbr.synth.generate(3_000, seed=21)
    n_extra = 70_000
    first = data.events.head(1)
    extra = pl.concat([first] * n_extra).with_columns(
        offender_id=pl.lit(10**15, dtype=first.schema["offender_id"]),
        offence_code=pl.Series([f"X{i}" for i in range(n_extra)]).cast(
            data.events.schema["offence_code"]))
    events = pl.concat([data.events, extra])
    codes = data.events["offence_code"].unique().to_list()
    spec = pbr.MeasureSpec(severity_weights={c: 0.5 * (i % 3) for i, c in enumerate(codes)},
                           unmapped_severity="zero", counting_unit="court_event")
    _same(data.cohort, events, spec)
    assert seen and all(seen)
    seen.clear()
    # a cohort whose index dates span two centuries
    cohort = data.cohort.with_columns(index_date=pl.when(pl.int_range(pl.len()) % 10 == 0)
                                      .then(pl.lit(dt.date(1830, 1, 1)))
                                      .otherwise(pl.col("index_date")))
    _same(cohort, data.events, pbr.preset("peterborough_sib"))
    assert seen and all(seen)
    assert pbr.measure(cohort, data.events).frame.equals(
        pbr.measure(cohort, data.events, engine="polars").frame)


@pytest.mark.parametrize("layout", ["many_small_chunks", "misaligned_chunks", "one_chunk"])
def test_chunk_layouts_give_the_same_result(synth: Any, layout: str) -> None:
    # the one-pass path reads the frame's chunks in place; every layout must agree
    events = synth.events
    if layout == "many_small_chunks":
        events = pl.concat([events.slice(i, 97) for i in range(0, events.height, 97)],
                           rechunk=False)
        assert events.n_chunks() > 1000
    elif layout == "misaligned_chunks":
        half = events.height // 2
        a = pl.concat([events.slice(0, half), events.slice(half, events.height - half)],
                      rechunk=False)
        events = a.with_columns(a["offence_date"].rechunk())
        assert len(set(events.n_chunks("all"))) > 1
    else:
        events = events.rechunk()
    spec = pbr.preset("peterborough_sib")
    _same(synth.cohort, events, spec)
    assert pbr.measure(synth.cohort, events, spec).frame.equals(
        pbr.measure(synth.cohort, synth.events, spec).frame)


def test_dates_before_1970_negative_day_numbers() -> None:
    # the cohort records pack the index day into 32 bits: a shift by one Gregorian
    # cycle (400 years = 146,097 days, the same calendar) into negative day numbers
    # must change no measure, in either path
    data = pbr.synth.generate(2_000, seed=5)
    cycle = pl.duration(days=146_097)
    cohort = data.cohort.with_columns(pl.col("index_date") - cycle)
    events = data.events.with_columns(pl.col("offence_date") - cycle,
                                      pl.col("disposal_date") - cycle)
    assert cohort["index_date"].max() < dt.date(1970, 1, 1)
    for spec in (pbr.preset("moj_national_2017"), pbr.preset("peterborough_sib")):
        _same(cohort, events, spec)
        before = pbr.measure(data.cohort, data.events, spec).frame
        after = pbr.measure(cohort, events, spec).frame
        cols = ["offender_id", "reoffended", "reoffences", "severity", "serious",
                "days_to_first", "window_complete"]
        assert after.select(cols).equals(before.select(cols))
        assert after["reoffences"].sum() > 0


def test_dynamic_schedule_is_restored_and_nests() -> None:
    from pbr._kernels import dynamic

    before = numba.get_parallel_chunksize()
    with dynamic(64):
        assert numba.get_parallel_chunksize() == 64
        with dynamic(1):
            assert numba.get_parallel_chunksize() == 1
        assert numba.get_parallel_chunksize() == 64
    assert numba.get_parallel_chunksize() == before


@pytest.mark.parametrize("per_chunk", [0, 1, 7, 8192])
def test_the_schedule_never_changes_a_result(monkeypatch: pytest.MonkeyPatch,
                                             per_chunk: int) -> None:
    # every parallel loop, scheduled in fixed blocks (0) or in chunks of any size, gives
    # the same arrays in both paths
    from pbr._engine import grouped, layout, stage
    from pbr._kernels import dynamic

    data = pbr.synth.generate(3_000, seed=17)
    spec = pbr.preset("peterborough_sib")
    ref = onepass_arrays(data.cohort, data.events, spec)[3]
    ref_k = kernel_arrays(pbr.prepare(data.cohort, data.events, horizon=spec), spec)
    forced = lambda per_chunk_ignored=1: dynamic(per_chunk)  # noqa: E731
    for module in (onepass, grouped, layout, stage):
        monkeypatch.setattr(module, "dynamic", forced)
    out = onepass_arrays(data.cohort, data.events, spec)[3]
    out_k = kernel_arrays(pbr.prepare(data.cohort, data.events, horizon=spec), spec)
    for name in ref:
        np.testing.assert_array_equal(out[name], ref[name], err_msg=name)
        np.testing.assert_array_equal(out_k[name], ref_k[name], err_msg=name)


@pytest.mark.parametrize("where", [0, 1234, -1])
def test_disposal_before_offence_found_by_the_histogram_pass(synth: Any, where: int) -> None:
    """The one-pass path checks this rule in its histogram pass (not in polars first):
    the error is the one full validation gives, whichever chunk holds the row, and
    even when the row lies outside every follow-up window."""
    from pbr.data import Events

    cohort, events = synth.cohort, synth.events
    spec = pbr.preset("moj_national_2017").replace(severity_weights=synth.severity_weights)
    row = where % events.height
    shifted = events.with_columns(
        offence_date=pl.when(pl.int_range(pl.len()) == row)
        .then(pl.col("disposal_date") + pl.duration(days=1)).otherwise(pl.col("offence_date")))
    # three chunks, so that the bad row can sit in a later piece
    third = shifted.height // 3
    chunked = pl.concat([shifted[:third], shifted[third:2 * third], shifted[2 * third:]],
                        rechunk=False)
    with pytest.raises(SchemaError) as full:
        Events.from_frame(chunked)
    assert f"row {row} " in str(full.value) and "disposal_before_offence" in str(full.value)
    for frame in (shifted, chunked):
        with pytest.raises(SchemaError) as one:
            pbr.measure(cohort, frame, spec)
        assert str(one.value) == str(full.value)
    # deferred, the rule is left to the caller: from_frame alone lets the row through
    # (exact duplicate rows of the synthetic extract are ledgered, rule D1)
    deferred = Events.from_frame(chunked, _defer=("disposal_before_offence",))
    assert deferred.n + deferred.exclusions.count(rule="duplicate_event") == events.height
    assert len(deferred.exclusions) == deferred.exclusions.count(rule="duplicate_event")
    # with the rows excluded instead, the measure is the polars engine's
    ok = Events.from_frame(chunked, on_invalid="exclude")
    assert ok.exclusions.count(rule="disposal_before_offence") == 1
    assert pbr.measure(cohort, ok, spec).frame.equals(
        pbr.measure(cohort, ok, spec, engine="polars").frame)


def test_each_runs_every_index_once_and_raises_the_first_error() -> None:
    from pbr.data import each_piece as _each

    for threads in (1, 2, 5):
        seen: list[int] = []
        _each(seen.append, 100, threads)
        assert sorted(seen) == list(range(100))
    _each(seen.append, 0, 2)  # nothing to do

    def fail(k: int) -> None:
        if k == 7:
            raise ValueError("piece 7")

    with pytest.raises(ValueError, match="piece 7"):
        _each(fail, 50, 2)
