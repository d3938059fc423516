"""Mean cumulative function against R (survfit on counting-process data, CGD trial),
the frequency measure it must end at, and the closed-form variance at a common end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pbr
from pbr.errors import SpecError
from pbr.stats.mcf import mean_cumulative_function, reoffence_times

R = Path(__file__).parent / "fixtures" / "r_survival"


def test_matches_r_on_the_cgd_recurrent_infections() -> None:
    cgd = pl.read_csv(R / "cgd.csv")
    r = pl.read_csv(R / "mcf_cgd.csv")
    per = cgd.group_by("id").agg(end=pl.col("tstop").max(), start=pl.col("tstart").min(),
                                 treat=pl.col("treat").first()).sort("id")
    ev = cgd.filter(pl.col("status") == 1)
    f = mean_cumulative_function(per["id"], per["end"], ev["id"], ev["tstop"],
                                 group=per["treat"], start=per["start"]).frame
    assert f["group"].to_list() == r["group"].to_list()
    for ours, theirs in [("time", "time"), ("n_risk", "n_risk"), ("n_event", "n_event"),
                         ("mcf", "cumhaz"), ("std_err", "std_chaz")]:
        np.testing.assert_allclose(f[ours].to_numpy(), r[theirs].to_numpy(), atol=1e-6,
                                   rtol=0, err_msg=ours)


def test_ends_at_the_frequency_measure_with_a_common_follow_up() -> None:
    data = pbr.synth.generate(800, seed=21)
    res = pbr.measure(data.cohort, data.events, pbr.MeasureSpec(follow_up="365 days"))
    offenders, events = reoffence_times(res)
    assert events.height == res.frame["reoffences"].sum()
    m = mean_cumulative_function(offenders["offender_id"], offenders["end"],
                                 events["offender_id"], events["time"],
                                 group=offenders["treated"])
    end = m.at([365])
    for g in (False, True):
        y = res.frame.filter(pl.col("treated") == g)["reoffences"].to_numpy().astype(float)
        row = end.filter(pl.col("group") == g).row(0, named=True)
        assert row["mcf"] == pytest.approx(y.mean(), rel=1e-12)
        # Lawless-Nadeau at a common end: Σ (N_i - mean)² / n²
        assert row["std_err"] ** 2 == pytest.approx(((y - y.mean()) ** 2).sum() / y.size ** 2,
                                                    rel=1e-10)
        assert row["lower"] < row["mcf"] < row["upper"]


def test_hand_worked_and_errors() -> None:
    m = mean_cumulative_function([1, 2], [10, 6], [1, 1, 2], [3, 5, 5])
    # day 3: 1/2; day 5: +2/2; day 6: offender 2 leaves (no event); day 10: only 1 left
    assert m.frame["mcf"].to_list() == [0.5, 1.5, 1.5, 1.5]
    assert m.frame["n_risk"].to_list() == [2, 2, 2, 1]
    with pytest.raises(SpecError, match="fall in"):
        mean_cumulative_function([1], [5], [1], [6])
    with pytest.raises(SpecError, match="not in offender_id"):
        mean_cumulative_function([1], [5], [2], [3])


@given(st.lists(st.tuples(st.integers(1, 20), st.lists(st.integers(1, 20), max_size=4)),
                min_size=1, max_size=25))
def test_mcf_is_non_decreasing_and_unit_weights_change_nothing(rows) -> None:
    ids = list(range(len(rows)))
    end = [r[0] for r in rows]
    ev_id = [i for i, r in enumerate(rows) for t in r[1] if t <= r[0]]
    ev_t = [t for r in rows for t in r[1] if t <= r[0]]
    a = mean_cumulative_function(ids, end, ev_id, ev_t)
    b = mean_cumulative_function(ids, end, ev_id, ev_t, weights=np.ones(len(ids)))
    assert np.all(np.diff(a.frame["mcf"].to_numpy()) >= 0)
    assert a.frame.equals(b.frame)
