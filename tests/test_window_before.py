"""Rule W4, the window before the index date: hand-worked boundaries, and the Numba
kernels (through pbr._windows' exact mapping onto after-windows) against the polars
twin (which states W4 directly) on random histories at the window's edges."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pbr
from pbr.period import Period

D = dt.date


def _events(rows: list[tuple[int, dt.date, dt.date]]) -> pl.DataFrame:
    return pl.DataFrame({"offender_id": [r[0] for r in rows],
                         "offence_date": [r[1] for r in rows],
                         "disposal_date": [r[2] for r in rows],
                         "disposal_type": ["conviction"] * len(rows),
                         "offence_code": ["A"] * len(rows)},
                        schema={"offender_id": pl.Int64, "offence_date": pl.Date,
                                "disposal_date": pl.Date, "disposal_type": pl.String,
                                "offence_code": pl.String})


COHORT = pl.DataFrame({"offender_id": [1], "index_date": [D(2020, 3, 1)]})
# index 2020-03-01, 12 months before: [2019-03-01, 2020-02-29]; proven by 2020-08-29
EDGES = _events([
    (1, D(2019, 2, 28), D(2019, 3, 5)),    # the day before the window opens: out
    (1, D(2019, 3, 1), D(2019, 3, 5)),     # first day: in
    (1, D(2020, 2, 29), D(2020, 8, 29)),   # last day, proven on the last disposal day: in
    (1, D(2020, 2, 29), D(2020, 8, 30)),   # proven a day late: out
    (1, D(2020, 3, 1), D(2020, 3, 2)),     # the index day: out (in with include_index_day)
])


@pytest.mark.parametrize("engine", ["numba", "polars"])
def test_before_window_boundaries_hand_worked(engine: str) -> None:
    spec = pbr.MeasureSpec(window="before")
    row = pbr.measure(COHORT, EDGES, spec, engine=engine).frame.row(0, named=True)
    assert row["reoffences"] == 2
    assert row["days_to_first"] == 1  # counted from the day before the window opens
    inc = pbr.measure(COHORT, EDGES, spec.replace(include_index_day=True),
                      engine=engine).frame.row(0, named=True)
    # [2019-03-02, 2020-03-01], proven by 2020-09-01: the first day's offence drops out;
    # the index day's counts, and so does the one proven on 2020-08-30
    assert inc["reoffences"] == 3


@pytest.mark.parametrize("engine", ["numba", "polars"])
def test_before_window_clamps_month_ends(engine: str) -> None:
    cohort = pl.DataFrame({"offender_id": [1, 2], "index_date": [D(2021, 3, 31),
                                                                   D(2020, 3, 30)]})
    # one month before 2021-03-31 is 2021-02-28 (clamped): [2021-02-28, 2021-03-30]
    ev = _events([(1, D(2021, 2, 27), D(2021, 3, 1)), (1, D(2021, 2, 28), D(2021, 3, 1)),
                  (2, D(2020, 2, 29), D(2020, 3, 1)), (2, D(2020, 2, 28), D(2020, 3, 1))])
    res = pbr.measure(cohort, ev, pbr.MeasureSpec(window="before", follow_up="1 month",
                                                  waiting_period="0 days"), engine=engine)
    assert res.frame["reoffences"].to_list() == [1, 1]


def test_before_window_refusals_and_round_trip() -> None:
    with pytest.raises(pbr.SpecError, match="window: 'after'"):
        pbr.MeasureSpec(window="earlier")
    spec = pbr.MeasureSpec(window="before")
    assert 'window = "before"' in spec.to_toml()
    assert "window" not in pbr.MeasureSpec().to_toml()  # older specs keep their bytes
    assert pbr.MeasureSpec.from_toml(spec.to_toml()) == spec
    h = pbr.prepare(COHORT, EDGES)
    with pytest.raises(pbr.SpecError, match="window='before'"):
        h.measure(spec)


@st.composite
def histories(draw: Any) -> tuple[pl.DataFrame, pl.DataFrame, pbr.MeasureSpec]:
    follow = draw(st.sampled_from(["12 months", "1 month", "6 months", "30 days"]))
    wait = draw(st.sampled_from(["6 months", "0 days", "10 days"]))
    n = draw(st.integers(0, 8))
    index = [D(2020, 1, 1) + dt.timedelta(days=draw(st.integers(0, 120))) for _ in range(n)]
    cohort = pl.DataFrame({"offender_id": pl.Series(range(1, n + 1), dtype=pl.Int64),
                           "index_date": pl.Series(index, dtype=pl.Date)})
    rows = []
    for _ in range(draw(st.integers(0, 40))):
        who = draw(st.integers(0, n)) if n else 0
        oid = who + 1 if who < n else 99
        idx = index[who] if who < n else D(2020, 1, 1)
        start = Period.parse(follow).add_date(idx)  # a point as far after as lo is before
        lo = idx - (start - idx)
        off = draw(st.sampled_from([lo - dt.timedelta(days=1), lo, lo + dt.timedelta(days=1),
                                    idx - dt.timedelta(days=1), idx,
                                    idx + dt.timedelta(days=1),
                                    idx - dt.timedelta(days=draw(st.integers(0, 500)))]))
        hi = idx - dt.timedelta(days=1)
        last = Period.parse(wait).add_date(hi)
        disp = draw(st.sampled_from([off, last, last + dt.timedelta(days=1),
                                     off + dt.timedelta(days=draw(st.integers(0, 300)))]))
        rows.append((oid, off, max(off, disp)))
    spec = pbr.MeasureSpec(window="before", follow_up=follow, waiting_period=wait,
                           include_index_day=draw(st.booleans()),
                           counting_unit=draw(st.sampled_from(["offence", "court_event"])),
                           severity_weights={"A": 0.1})
    return cohort, _events(rows), spec


@settings(max_examples=60, deadline=None)
@given(histories())
def test_kernel_equals_twin_before(data: tuple[pl.DataFrame, pl.DataFrame, pbr.MeasureSpec]
                                   ) -> None:
    cohort, events, spec = data
    fast = pbr.measure(cohort, events, spec)
    slow = pbr.measure(cohort, events, spec, engine="polars")
    assert fast.frame.equals(slow.frame), (fast.frame, slow.frame)
    counts = fast.event_counts
    assert counts["kept"] + counts["outside_offender_window"] + counts["not_in_cohort"] \
        == counts["input"] - counts["invalid"]


@pytest.mark.parametrize("engine", ["numba", "polars"])
def test_before_window_custody_days(engine: str) -> None:
    custody = pl.DataFrame({"offender_id": [1, 1], "start_date": [D(2019, 2, 20),
                                                                  D(2020, 2, 25)],
                            "end_date": [D(2019, 3, 10), D(2020, 3, 10)]})
    res = pbr.measure(COHORT, EDGES, pbr.MeasureSpec(window="before"), custody=custody,
                      engine=engine)
    # [2019-03-01, 2020-02-29]: 1-10 March 2019 and 25-29 February 2020
    assert res.frame["custody_days"].to_list() == [15]
