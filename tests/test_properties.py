"""Property tests: the Numba kernel and the polars reference agree on random histories.

The generated histories concentrate on the edges: offences on the index day and on
both window ends, disposals exactly at the end of the waiting period and one day
later, same-day events, leap days, missing dates, offenders with no events and events
of offenders not in the cohort.  Weights such as 0.1 + 0.2 are not exact in binary: both
engines add them as exact decimals (``MeasureSpec.severity_scale``), so the sums are
bit-identical whatever the event order and the engines are compared with ``equals``.

Most properties are checked on a *batch* of generated histories measured together
(:func:`batches`: each history's offenders under ids of their own, the offenders in no
cohort shared): a measure is per offender, so a batch checks every history in it, and
one call of each engine serves them all (a call's fixed cost, not its rows, is what
the suite pays for).  An empty batch, a batch of one history and a history of one
offender remain among the examples hypothesis draws first.
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
#: a history's offender ids are below this; the k-th history of a batch adds k times it
ID_SPAN = 10**12
#: ids of offenders in no cohort (shared by the histories of a batch)
OUTSIDER = 10**13


_PERIODS = {text: Period.parse(text) for text in PERIODS_F + PERIODS_W}


def _shift(day: dt.date, text: str, extra: int = 0) -> dt.date:
    return _PERIODS[text].add_date(day) + dt.timedelta(days=extra)


# Each strategy is built once: hypothesis spends most of a small example's time building
# and drawing strategies, so an event is one draw of one tuple (values a kind of event
# does not use are drawn and ignored).
_OFFENDERS = st.lists(st.tuples(st.integers(1, 10**12), st.integers(0, 120)), max_size=12,
                      unique_by=lambda t: t[0])
_EVENT = st.tuples(
    st.integers(0, 9),  # 0: an offender in no cohort, else one of the cohort
    st.integers(0, 11),  # which of them (modulo their number)
    st.sampled_from(["index", "end", "end+1", "random", "before"]),  # offence date
    st.sampled_from(PERIODS_F),
    st.integers(1, 400),  # days before the index date ("before")
    st.integers(0, 800),  # days after it ("random")
    st.sampled_from(["same", "deadline", "deadline+1", "random"]),  # disposal date
    st.sampled_from(PERIODS_W),
    st.integers(0, 500),  # days from offence to disposal ("random")
    st.integers(0, 30),  # 0: no offence date, 1: no disposal date
    st.sampled_from(["conviction", "caution", "other"]),
    st.sampled_from(CODES),
    st.sampled_from(["theft", "breach", "violence", None]),
    st.one_of(st.none(), st.integers(0, 3)),  # court_event_id
)
_EVENTS = st.lists(_EVENT, max_size=60)
_SCHEMA = {"offender_id": pl.Int64, "offence_date": pl.Date, "disposal_date": pl.Date,
           "disposal_type": pl.String, "offence_code": pl.String,
           "offence_category": pl.String, "court_event_id": pl.Int64}


@st.composite
def histories(draw: Any) -> tuple[pl.DataFrame, pl.DataFrame]:
    offenders = draw(_OFFENDERS)
    n = len(offenders)
    ids = [i for i, _ in offenders]
    index = [BASE + dt.timedelta(days=d) for _, d in offenders]
    cohort = pl.DataFrame({"offender_id": pl.Series(ids, dtype=pl.Int64),
                           "index_date": pl.Series(index, dtype=pl.Date),
                           "group": pl.Series([i % 2 for i in range(n)], dtype=pl.Int64)})
    rows = []
    for (inside, pick, kind, f, before, after, lag_kind, w, lag, missing, dtype, code,
         category, court) in draw(_EVENTS):
        who = pick % n if n and inside else -1
        oid = ids[who] if who >= 0 else OUTSIDER + pick % 3
        base = index[who] if who >= 0 else BASE
        if kind == "index":
            off = base
        elif kind == "end":
            off = _shift(base, f)
        elif kind == "end+1":
            off = _shift(base, f, 1)
        elif kind == "before":
            off = base - dt.timedelta(days=before)
        else:
            off = base + dt.timedelta(days=after)
        if lag_kind == "same":
            disp = off
        elif lag_kind in ("deadline", "deadline+1"):
            disp = _shift(_shift(base, f), w, 1 if lag_kind == "deadline+1" else 0)
            disp = max(disp, off)
        else:
            disp = off + dt.timedelta(days=lag)
        rows.append((oid, None if missing == 0 else off, None if missing == 1 else disp,
                     dtype, code, category, court))
    return cohort, pl.DataFrame(rows, schema=_SCHEMA, orient="row")




@st.composite
def batches(draw: Any, max_size: int = 6) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Up to ``max_size`` histories measured together, as one cohort and one events
    table; ``court_event_id`` present in all of them or in none."""
    parts = draw(st.lists(histories(), min_size=1, max_size=max_size))
    cohorts, events = [], []
    for k, (c, e) in enumerate(parts):
        shift = pl.lit(k * ID_SPAN, pl.Int64)
        cohorts.append(c.with_columns(pl.col("offender_id") + shift))
        own = pl.col("offender_id") < OUTSIDER
        events.append(e.with_columns(pl.when(own).then(pl.col("offender_id") + shift)
                                     .otherwise(pl.col("offender_id"))))
    cohort, ev = pl.concat(cohorts), pl.concat(events)
    if draw(st.booleans()):
        ev = ev.drop("court_event_id")
    return cohort, ev


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


def _validated(events: pl.DataFrame) -> pbr.Events:
    return pbr.Events.from_frame(events, on_invalid="exclude")


def _refused(ev: pbr.Events, spec: pbr.MeasureSpec) -> bool:
    """Rule P3: a measure on events none of whose disposal types proves an offence under
    the spec is refused (SpecError), on every path."""
    return ev.n > 0 and not set(ev.disposal_types["disposal_type"]) & set(spec.proof_types)


def _measure(cohort: pl.DataFrame, events: pl.DataFrame, spec: pbr.MeasureSpec,
             engine: str) -> pbr.MeasureResult:
    """The measure by ``engine`` from the events validated afresh (examples the spec
    refuses are left to the test of the refusal)."""
    ev = _validated(events)
    assume(not _refused(ev, spec))
    return pbr.measure(cohort, ev, spec, engine=engine)


# 240 batches of ~3 histories under the CI profile (600 single histories before)
@settings(max_examples=settings().max_examples * 2)
@given(batches(), specs())
def test_kernel_equals_reference(data: tuple[pl.DataFrame, pl.DataFrame],
                                 spec: pbr.MeasureSpec) -> None:
    cohort, events = data
    if _refused(_validated(events), spec):
        for engine in ("numba", "polars"):
            with pytest.raises(pbr.SpecError, match="match none of the events' disposal_type"):
                pbr.measure(cohort, _validated(events), spec, engine=engine)
        return
    fast = _measure(cohort, events, spec, "numba")
    slow = _measure(cohort, events, spec, "polars")
    assert fast.frame.equals(slow.frame), (fast.frame, slow.frame)
    assert fast.exclusions.counts().equals(slow.exclusions.counts())


@settings(max_examples=max(settings().max_examples // 2, 10))  # batches: ~3 histories each
@given(batches(), specs())
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


@settings(max_examples=max(settings().max_examples // 2, 10))
@given(batches(), specs(), st.sampled_from(PERIODS_F))
def test_monotone_in_follow_up(data: tuple[pl.DataFrame, pl.DataFrame], spec: pbr.MeasureSpec,
                               longer: str) -> None:
    cohort, events = data
    spec = spec.replace(as_of=None, interim=False)
    a, b = Period.parse(spec.follow_up), Period.parse(longer)
    assume(a.months <= b.months and a.days <= b.days)
    short = _measure(cohort, events, spec, "numba").frame["reoffences"].to_numpy()
    long = _measure(cohort, events, spec.replace(follow_up=longer), "numba")
    assert np.all(long.frame["reoffences"].to_numpy() >= short)


@settings(max_examples=max(settings().max_examples // 2, 10))
@given(batches(), specs(), st.randoms(use_true_random=False))
def test_invariant_to_event_row_order(data: tuple[pl.DataFrame, pl.DataFrame],
                                      spec: pbr.MeasureSpec, rnd: Any) -> None:
    cohort, events = data
    perm = list(range(events.height))
    rnd.shuffle(perm)
    a = _measure(cohort, events, spec, "numba").frame
    b = _measure(cohort, events[perm] if perm else events, spec, "numba").frame
    assert a.equals(b)


@settings(max_examples=max(settings().max_examples // 2, 10))
@given(batches(), specs())
def test_prepared_histories_with_longer_horizon_agree(data: tuple[pl.DataFrame, pl.DataFrame],
                                                      spec: pbr.MeasureSpec) -> None:
    cohort, events = data
    ev = _validated(events)
    assume(not _refused(ev, spec))
    h = pbr.prepare(cohort, ev, ("24 months", "6 months"))
    assume(h.covers(spec))
    assert h.measure(spec).frame.equals(pbr.measure(cohort, ev, spec).frame)


@settings(max_examples=max(settings().max_examples // 2, 10))
@given(batches(), specs())
def test_thread_count_does_not_change_results(data: tuple[pl.DataFrame, pl.DataFrame],
                                              spec: pbr.MeasureSpec) -> None:
    cohort, events = data
    ev = _validated(events)
    assume(not _refused(ev, spec))
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


@settings(max_examples=max(settings().max_examples // 2, 10))
@given(batches(), specs(), st.data())
def test_custody_kernel_equals_reference(data: tuple[pl.DataFrame, pl.DataFrame],
                                         spec: pbr.MeasureSpec, draw: Any) -> None:
    cohort, events = data
    ev = _validated(events)
    assume(not _refused(ev, spec))
    ids = [*cohort["offender_id"].to_list(), OUTSIDER]
    spells = []
    for _ in range(draw.draw(st.integers(0, 60))):
        start = BASE + dt.timedelta(days=draw.draw(st.integers(-100, 600)))
        spells.append({"offender_id": draw.draw(st.sampled_from(ids)), "start_date": start,
                       "end_date": start + dt.timedelta(days=draw.draw(st.integers(0, 200)))})
    custody = pl.DataFrame(spells, schema={"offender_id": pl.Int64, "start_date": pl.Date,
                                           "end_date": pl.Date})
    fast = pbr.measure(cohort, ev, spec, custody=custody)
    slow = pbr.measure(cohort, ev, spec, custody=custody, engine="polars")
    assert fast.frame.equals(slow.frame), (fast.frame, slow.frame)
