"""Property tests: the Numba kernel and the polars reference agree on random histories.

The generated histories concentrate on the edges: offences on the index day and on
both window ends, disposals exactly at the end of the waiting period and one day
later, same-day events, leap days, missing dates, offenders with no events and events
of offenders not in the cohort.  Weights such as 0.1 + 0.2 are not exact in binary: both
engines add them as exact decimals (``MeasureSpec.severity_scale``), so the sums are
bit-identical whatever the event order and the engines are compared with ``equals``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numba
import numpy as np
import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import pbr
from pbr._kernels.calendar import add_period_array
from pbr.period import Period

BASE = dt.date(2019, 12, 1)
CODES = ["A", "B", "C", "Z"]
WEIGHTS = {"A": 0.1, "B": 0.2, "C": 0.3}
PERIODS_F = ["12 months", "6 months", "1 month", "365 days", "24 months"]
PERIODS_W = ["6 months", "0 days", "3 months", "10 days"]


def _shift(day: dt.date, text: str, extra: int = 0) -> dt.date:
    return Period.parse(text).add_date(day) + dt.timedelta(days=extra)


@st.composite
def histories(draw: Any) -> tuple[pl.DataFrame, pl.DataFrame]:
    n = draw(st.integers(0, 12))
    ids = draw(st.lists(st.integers(1, 10**12), min_size=n, max_size=n, unique=True))
    index = [BASE + dt.timedelta(days=draw(st.integers(0, 120))) for _ in ids]
    cohort = pl.DataFrame({"offender_id": pl.Series(ids, dtype=pl.Int64),
                           "index_date": pl.Series(index, dtype=pl.Date),
                           "group": [i % 2 for i in range(n)]})
    rows = []
    outsiders = [10**13 + k for k in range(3)]
    for _ in range(draw(st.integers(0, 60))):
        who = draw(st.integers(0, max(n - 1, 0))) if n and draw(st.integers(0, 9)) else -1
        oid = ids[who] if who >= 0 else draw(st.sampled_from(outsiders))
        base = index[who] if who >= 0 else BASE
        kind = draw(st.sampled_from(["index", "end", "end+1", "random", "before"]))
        f = draw(st.sampled_from(PERIODS_F))
        if kind == "index":
            off = base
        elif kind == "end":
            off = _shift(base, f)
        elif kind == "end+1":
            off = _shift(base, f, 1)
        elif kind == "before":
            off = base - dt.timedelta(days=draw(st.integers(1, 400)))
        else:
            off = base + dt.timedelta(days=draw(st.integers(0, 800)))
        lag_kind = draw(st.sampled_from(["same", "deadline", "deadline+1", "random"]))
        if lag_kind == "same":
            disp = off
        elif lag_kind in ("deadline", "deadline+1"):
            w = draw(st.sampled_from(PERIODS_W))
            disp = _shift(_shift(base, f), w, 1 if lag_kind == "deadline+1" else 0)
            disp = max(disp, off)
        else:
            disp = off + dt.timedelta(days=draw(st.integers(0, 500)))
        missing = draw(st.integers(0, 30))
        rows.append({
            "offender_id": oid,
            "offence_date": None if missing == 0 else off,
            "disposal_date": None if missing == 1 else disp,
            "disposal_type": draw(st.sampled_from(["conviction", "caution", "other"])),
            "offence_code": draw(st.sampled_from(CODES)),
            "offence_category": draw(st.sampled_from(["theft", "breach", "violence", None])),
            "court_event_id": draw(st.one_of(st.none(), st.integers(0, 3))),
        })
    schema = {"offender_id": pl.Int64, "offence_date": pl.Date, "disposal_date": pl.Date,
              "disposal_type": pl.String, "offence_code": pl.String,
              "offence_category": pl.String, "court_event_id": pl.Int64}
    events = pl.DataFrame(rows, schema=schema)
    if draw(st.booleans()):
        events = events.drop("court_event_id")
    return cohort, events


@st.composite
def specs(draw: Any) -> pbr.MeasureSpec:
    as_of = draw(st.one_of(st.none(), st.dates(dt.date(2020, 6, 1), dt.date(2022, 6, 1))))
    return pbr.MeasureSpec(
        follow_up=draw(st.sampled_from(PERIODS_F)),
        waiting_period=draw(st.sampled_from(PERIODS_W)),
        include_index_day=draw(st.booleans()),
        proof_types=draw(st.sampled_from([["conviction"], ["conviction", "caution"],
                                          ["caution", "other"]])),
        counting_unit=draw(st.sampled_from(["offence", "court_event"])),
        exclude_codes=draw(st.sampled_from([[], ["C"]])),
        include_codes=draw(st.sampled_from([[], ["A", "B", "Z"]])),
        exclude_categories=draw(st.sampled_from([["breach"], []])),
        include_categories=draw(st.sampled_from([[], ["theft", "breach"]])),
        severity_weights=draw(st.sampled_from([None, WEIGHTS])),
        unmapped_severity=draw(st.sampled_from(["zero", "default"])),
        unmapped_weight=0.7,
        serious_codes=draw(st.sampled_from([[], ["B"]])),
        as_of=as_of,
        interim=bool(as_of) and draw(st.booleans()),
    )


def _refused(events: pl.DataFrame, spec: pbr.MeasureSpec) -> bool:
    """Rule P3: a measure on events none of whose disposal types proves an offence under
    the spec is refused (SpecError), on every path."""
    ev = pbr.Events.from_frame(events, on_invalid="exclude")
    return ev.n > 0 and not set(ev.disposal_types["disposal_type"]) & set(spec.proof_types)


def _measure(cohort: pl.DataFrame, events: pl.DataFrame, spec: pbr.MeasureSpec,
             engine: str) -> pbr.MeasureResult:
    ev = pbr.Events.from_frame(events, on_invalid="exclude")
    assume(not _refused(events, spec))
    return pbr.measure(cohort, ev, spec, engine=engine)


@settings(max_examples=settings().max_examples * 5)  # 600 cases under the CI profile
@given(histories(), specs())
def test_kernel_equals_reference(data: tuple[pl.DataFrame, pl.DataFrame],
                                 spec: pbr.MeasureSpec) -> None:
    cohort, events = data
    if _refused(events, spec):
        for engine in ("numba", "polars"):
            with pytest.raises(pbr.SpecError, match="match none of the events' disposal_type"):
                pbr.measure(cohort, pbr.Events.from_frame(events, on_invalid="exclude"), spec,
                            engine=engine)
        return
    fast = _measure(cohort, events, spec, "numba")
    slow = _measure(cohort, events, spec, "polars")
    assert fast.frame.equals(slow.frame), (fast.frame, slow.frame)
    assert fast.exclusions.counts().equals(slow.exclusions.counts())


@given(histories(), specs())
def test_every_row_is_accounted_for(data: tuple[pl.DataFrame, pl.DataFrame],
                                    spec: pbr.MeasureSpec) -> None:
    cohort, events = data
    res = _measure(cohort, events, spec, "numba")
    c = res.event_counts
    assert c["input"] == events.height
    assert c["input"] == (c["invalid"] + c["outside_all_windows"] + c["not_in_cohort"]
                          + c["outside_offender_window"] + c["kept"])
    assert c["invalid"] == res.exclusions.count(table="events")
    assert cohort.height == res.frame.height + res.exclusions.count(table="cohort")


@given(histories(), specs(), st.sampled_from(PERIODS_F))
def test_monotone_in_follow_up(data: tuple[pl.DataFrame, pl.DataFrame], spec: pbr.MeasureSpec,
                               longer: str) -> None:
    cohort, events = data
    spec = spec.replace(as_of=None, interim=False)
    a, b = Period.parse(spec.follow_up), Period.parse(longer)
    assume(a.months <= b.months and a.days <= b.days)
    short = _measure(cohort, events, spec, "numba").frame["reoffences"].to_numpy()
    long = _measure(cohort, events, spec.replace(follow_up=longer), "numba")
    assert np.all(long.frame["reoffences"].to_numpy() >= short)


@given(histories(), specs(), st.randoms(use_true_random=False))
def test_invariant_to_event_row_order(data: tuple[pl.DataFrame, pl.DataFrame],
                                      spec: pbr.MeasureSpec, rnd: Any) -> None:
    cohort, events = data
    perm = list(range(events.height))
    rnd.shuffle(perm)
    a = _measure(cohort, events, spec, "numba").frame
    b = _measure(cohort, events[perm] if perm else events, spec, "numba").frame
    assert a.equals(b)


@given(histories(), specs())
def test_prepared_histories_with_longer_horizon_agree(data: tuple[pl.DataFrame, pl.DataFrame],
                                                      spec: pbr.MeasureSpec) -> None:
    cohort, events = data
    assume(not _refused(events, spec))
    ev = pbr.Events.from_frame(events, on_invalid="exclude")
    h = pbr.prepare(cohort, ev, ("24 months", "6 months"))
    assume(h.covers(spec))
    assert h.measure(spec).frame.equals(pbr.measure(cohort, ev, spec).frame)


@given(histories(), specs())
def test_thread_count_does_not_change_results(data: tuple[pl.DataFrame, pl.DataFrame],
                                              spec: pbr.MeasureSpec) -> None:
    cohort, events = data
    assume(not _refused(events, spec))
    ev = pbr.Events.from_frame(events, on_invalid="exclude")
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = pbr.prepare(cohort, ev)
        r1 = one.measure(spec.replace(follow_up="12 months", waiting_period="6 months"))
    finally:
        numba.set_num_threads(before)
    many = pbr.prepare(cohort, ev)
    rn = many.measure(spec.replace(follow_up="12 months", waiting_period="6 months"))
    assert r1.frame.equals(rn.frame)
    for name in ("offsets", "offence_day", "disposal_day", "offence_code", "position"):
        assert np.array_equal(getattr(one, name), getattr(many, name))


@given(st.lists(st.integers(-50_000, 120_000), min_size=1, max_size=200),
       st.integers(0, 600), st.integers(0, 400))
def test_calendar_kernel_matches_period_and_polars(days: list[int], months: int,
                                                   extra: int) -> None:
    arr = np.array(days, np.int32)
    kernel = add_period_array(arr, months, extra)
    period = Period(extra, "days").add(Period(months, "months").add(arr))
    assert np.array_equal(kernel, period)
    s = pl.Series(arr).cast(pl.Date).dt.offset_by(f"{months}mo").dt.offset_by(f"{extra}d")
    assert np.array_equal(kernel, s.to_physical().to_numpy())


@given(histories(), specs(), st.data())
def test_custody_kernel_equals_reference(data: tuple[pl.DataFrame, pl.DataFrame],
                                         spec: pbr.MeasureSpec, draw: Any) -> None:
    cohort, events = data
    assume(not _refused(events, spec))
    ids = [*cohort["offender_id"].to_list(), 10**13]
    spells = []
    for _ in range(draw.draw(st.integers(0, 30))):
        start = BASE + dt.timedelta(days=draw.draw(st.integers(-100, 600)))
        spells.append({"offender_id": draw.draw(st.sampled_from(ids)), "start_date": start,
                       "end_date": start + dt.timedelta(days=draw.draw(st.integers(0, 200)))})
    custody = pl.DataFrame(spells, schema={"offender_id": pl.Int64, "start_date": pl.Date,
                                           "end_date": pl.Date})
    ev = pbr.Events.from_frame(events, on_invalid="exclude")
    fast = pbr.measure(cohort, ev, spec, custody=custody)
    slow = pbr.measure(cohort, ev, spec, custody=custody, engine="polars")
    assert fast.frame.equals(slow.frame), (fast.frame, slow.frame)
