"""Reused scratch memory (pbr._scratch) and the lazily numbered ``row`` column."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import polars as pl
import pytest

import pbr
from pbr import _scratch
from pbr.data import Events


@pytest.fixture(autouse=True)
def _fresh_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    _scratch.release_memory()
    monkeypatch.setattr(_scratch, "_limit", None)
    monkeypatch.delenv("PBR_SCRATCH_MB", raising=False)


def test_a_large_buffer_is_reused_by_the_next_arena() -> None:
    with _scratch.Arena() as a:
        x = a.empty((1 << 18,), np.int64)  # 2 MiB
        x[:] = 7
        address = x.ctypes.data
    assert _scratch.kept_bytes() >= x.nbytes
    with _scratch.Arena() as b:
        y = b.empty((1 << 17, 2), np.int64)  # same bytes, another shape
        assert y.ctypes.data == address
        assert y.shape == (1 << 17, 2) and y.flags.c_contiguous
        assert y.ctypes.data % 64 == 0
    with _scratch.Arena() as c:  # smaller requests take the best fit, as a prefix
        z = c.empty(1000, np.int32)
        assert z.ctypes.data != address  # under MIN_BYTES: plain numpy memory


def test_two_arenas_at_once_never_share_a_buffer() -> None:
    with _scratch.Arena() as a:
        a.empty(1 << 18, np.int64)
    a, b = _scratch.Arena(), _scratch.Arena()
    x, y = a.empty(1 << 18, np.int64), b.empty(1 << 18, np.int64)
    assert x.ctypes.data != y.ctypes.data
    a.close()
    b.close()
    assert _scratch.kept_bytes() == 2 * x.nbytes


def test_the_limit_keeps_the_most_recently_returned_buffers(monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    monkeypatch.setenv("PBR_SCRATCH_MB", "3")
    with _scratch.Arena() as a:
        a.empty(2 << 20, np.uint8)
        a.empty(2 << 20, np.uint8)
        a.empty(1 << 20, np.uint8)
    assert _scratch.kept_bytes() == 3 << 20
    old = {b.ctypes.data for b in _scratch._free}
    with _scratch.Arena() as a, _scratch.Arena() as b:  # both kept buffers taken
        a.empty(2 << 20, np.uint8)
        b.empty(1 << 20, np.uint8)
        new = a.empty(3 << 20, np.uint8).ctypes.data  # a new one, returned last
    assert _scratch.kept_bytes() == 3 << 20
    assert [x.ctypes.data for x in _scratch._free] == [new]  # the older ones dropped
    assert new not in old
    assert _scratch.release_memory() == 3 << 20
    assert _scratch.kept_bytes() == 0


def test_zero_turns_reuse_off_and_a_bad_value_is_named(monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    monkeypatch.setenv("PBR_SCRATCH_MB", "0")
    with _scratch.Arena() as a:
        a.empty(4 << 20, np.uint8)
    assert _scratch.kept_bytes() == 0
    monkeypatch.setattr(_scratch, "_limit", None)
    monkeypatch.setenv("PBR_SCRATCH_MB", "lots")
    with pytest.raises(ValueError, match="PBR_SCRATCH_MB"):
        _scratch.limit()


def test_measures_do_not_depend_on_what_reused_memory_held() -> None:
    """Calls of different sizes in turn (each reusing the last one's buffers, with
    whatever they hold) give the results of calls with reuse off."""
    big = pbr.synth.generate(60_000, seed=11)
    small = pbr.synth.generate(20_000, seed=12)
    spec = pbr.MeasureSpec(severity_weights={c: 1.5 for c in
                                             big.events["offence_code"].unique().to_list()
                                             + small.events["offence_code"].unique().to_list()},
                           unmapped_severity="zero")
    _scratch._limit = 0
    want_big = pbr.measure(big.cohort, big.events, spec).frame
    want_small = pbr.measure(small.cohort, small.events, spec).frame
    _scratch._limit = 1 << 30
    for _ in range(2):
        assert pbr.measure(big.cohort, big.events, spec).frame.equals(want_big)
        assert _scratch.kept_bytes() > 0
        assert pbr.measure(small.cohort, small.events, spec).frame.equals(want_small)
    # a cohort read in several chunks (a parquet file's row groups) is copied into
    # reused memory; the result does not change
    chunked = pl.concat([big.cohort.slice(0, 25_000), big.cohort.slice(25_000)],
                        rechunk=False)
    assert chunked.n_chunks() == 2
    assert pbr.measure(chunked, big.events, spec).frame.equals(want_big)


def test_concurrent_measures_agree() -> None:
    data = pbr.synth.generate(30_000, seed=5)
    want = pbr.measure(data.cohort, data.events).frame
    got: list[pl.DataFrame] = []

    def run() -> None:
        got.append(pbr.measure(data.cohort, data.events).frame)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 3 and all(g.equals(want) for g in got)


def test_row_numbers_are_added_on_first_use_and_kept_when_rows_are_left_out() -> None:
    df = pl.DataFrame({"offender_id": [1, 2, 3],
                       "offence_date": ["2020-01-05", "2020-02-01", "2020-03-01"],
                       "disposal_date": ["2020-02-01", "2020-01-01", "2020-04-01"],
                       "disposal_type": ["conviction"] * 3, "offence_code": ["a"] * 3})
    ok = Events.from_frame(df.filter(pl.col("offender_id") != 2))
    assert "row" not in ok.data.columns and ok.n == 2
    assert ok.frame.columns[0] == "row" and ok.frame["row"].to_list() == [0, 1]
    assert ok.frame is ok.frame  # numbered once
    some = Events.from_frame(df, on_invalid="exclude")  # row 1: disposal before offence
    assert some.data["row"].to_list() == [0, 2] and some.frame is some.data
    assert some.exclusions.count() == 1


def test_measure_arrays_writes_into_the_arrays_of_a_previous_call() -> None:
    data = pbr.synth.generate(3_000, seed=21)
    h = pbr.prepare(data.cohort, data.events, ("24 months", "6 months"),
                    custody=data.custody)
    first = h.measure_arrays("moj_national_2017")
    kept = {k: v.copy() for k, v in first.items()}
    longer = pbr.preset("moj_national_2017", follow_up="24 months", include_index_day=True)
    again = h.measure_arrays(longer, out=first)
    assert all(again[k] is first[k] for k in first)
    fresh = h.measure_arrays(longer)
    assert sorted(again) == sorted(fresh) and "custody_days" in fresh
    for k in fresh:
        np.testing.assert_array_equal(again[k], fresh[k], err_msg=k)
    assert any(not np.array_equal(kept[k], fresh[k]) for k in kept)  # it was overwritten
    back = h.measure_arrays("moj_national_2017", out=again)
    for k in kept:
        np.testing.assert_array_equal(back[k], kept[k], err_msg=k)
    with pytest.raises(ValueError, match=r"out\['serious'\] must be a writeable"):
        h.measure_arrays("moj_national_2017", out={**kept, "serious": kept["serious"][1:]})
    with pytest.raises(ValueError, match="custody_days"):
        h.measure_arrays("moj_national_2017", out={k: v for k, v in kept.items()
                                                   if k != "custody_days"})


def test_a_lent_array_returns_to_the_pool_only_when_its_last_user_is_gone() -> None:
    import gc

    a = _scratch.lend((1 << 17, 2), np.int64)
    address = a.ctypes.data
    a[:] = 3
    view = a[10:20]
    series = pl.Series(a[:, 0].copy())  # a copy: not a user of the buffer
    frame_col = pl.Series(a.reshape(-1))  # zero-copy: a user
    assert frame_col.to_numpy().ctypes.data == address
    del a
    gc.collect()
    assert _scratch.kept_bytes() == 0  # the view and the series still use it
    with _scratch.Arena() as arena:
        assert arena.empty(1 << 18, np.int64).ctypes.data != address
    del view
    gc.collect()
    assert _scratch.kept_bytes() == 2 << 20  # the arena's buffer only
    del frame_col
    gc.collect()
    assert _scratch.kept_bytes() == 2 * (2 << 20)
    assert int(series.sum()) == 3 * (1 << 17)
    with _scratch.Arena() as a1, _scratch.Arena() as a2:
        got = {a1.empty(1 << 18, np.int64).ctypes.data, a2.empty(1 << 18, np.int64).ctypes.data}
    assert address in got


def test_result_columns_in_lent_memory_survive_later_calls(monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    monkeypatch.setattr(_scratch, "MIN_BYTES", 1024)  # every output from the pool
    data = pbr.synth.generate(40_000, seed=8)
    first = pbr.measure(data.cohort, data.events, pbr.preset("peterborough_sib"))
    kept = first.frame.clone()
    want = first.frame.select("reoffences", "days_to_first").to_numpy().copy()
    for _ in range(3):  # each call takes buffers from the pool; first's are still in use
        pbr.measure(data.cohort, data.events, pbr.preset("moj_national_2017"))
    assert _scratch.kept_bytes() > 0
    assert first.frame.equals(kept)
    assert np.array_equal(first.frame.select("reoffences", "days_to_first").to_numpy(), want,
                          equal_nan=True)
    assert first.frame["days_to_first"].null_count() < first.frame.height


def test_measure_arrays_are_plain_numpy_arrays(monkeypatch: pytest.MonkeyPatch) -> None:
    """No pool behind the arrays the caller holds: lending them gained nothing on the
    kernel path (``out=`` is the way to reuse memory there)."""
    monkeypatch.setattr(_scratch, "MIN_BYTES", 1024)  # anything lent would be pooled
    data = pbr.synth.generate(20_000, seed=31)
    h = pbr.prepare(data.cohort, data.events, ("24 months", "6 months"))
    before = _scratch.kept_bytes()
    held = h.measure_arrays("moj_national_2017")
    assert all(v.base is None and v.flags.owndata for v in held.values())
    kept = {k: v.copy() for k, v in held.items()}
    del held
    assert _scratch.kept_bytes() == before
    again = h.measure_arrays("moj_national_2017")
    for k in kept:
        np.testing.assert_array_equal(again[k], kept[k], err_msg=k)


def test_lend_many_is_one_buffer_back_when_every_array_is_gone() -> None:
    import gc

    n = 1 << 17
    arrays = _scratch.lend_many(n, {"a": np.int64, "b": np.float64, "c": np.int8,
                                    "d": np.bool_})
    assert [v.dtype for v in arrays.values()] == [np.int64, np.float64, np.int8, np.bool_]
    assert all(v.shape == (n,) and v.flags.writeable and v.ctypes.data % 64 == 0
               for v in arrays.values())
    for i, v in enumerate(arrays.values()):  # no overlap: each keeps what it was given
        v[:] = i + 1
    assert [int(v[0]) for v in arrays.values()] == [1, 2, 3, 1]
    assert [int(v[-1]) for v in arrays.values()] == [1, 2, 3, 1]
    size = 8 * n + 8 * n + n + n
    keep = arrays["c"]
    del arrays, v
    gc.collect()
    assert _scratch.kept_bytes() == 0  # "c" still uses the buffer
    del keep
    gc.collect()
    assert _scratch.kept_bytes() == size
    small = _scratch.lend_many(10, {"x": np.int64})
    assert small["x"].base is None and _scratch.kept_bytes() == size  # plain numpy


def test_give_back_lets_the_rest_of_the_call_reuse_a_dead_temporary() -> None:
    with _scratch.Arena() as arena:
        rec = arena.empty((1 << 18, 2), np.uint64)  # 4 MiB
        address = rec.ctypes.data
        arena.give_back(rec)
        del rec
        assert _scratch.kept_bytes() == 4 << 20
        out = _scratch.lend_many(1 << 18, {"a": np.int64, "b": np.int32})  # 3 MiB
        assert out["a"].ctypes.data == address
        arena.give_back(np.empty(10))  # not the arena's: nothing happens
    assert _scratch.kept_bytes() == 0  # the buffer is lent, not returned twice
    del out
    import gc

    gc.collect()
    assert _scratch.kept_bytes() == 4 << 20


def test_one_pass_outputs_take_the_event_records_memory(monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    """The first call in a process touches no new memory for its outputs: they take the
    buffer of the event records once the probe is done with them."""
    fresh: list[int] = []  # new buffers for the call's temporaries
    fresh_outputs: list[int] = []  # new buffers for its outputs
    lent: list[int] = []
    take, lend = _scratch._take, _scratch.lend
    lending = [False]

    def counting(nbytes: int) -> np.ndarray:
        before = {id(b) for b in _scratch._free}
        buf = take(nbytes)
        if id(buf) not in before:
            (fresh_outputs if lending[0] else fresh).append(nbytes)
        return buf

    def lending_lend(shape: Any, dtype: Any) -> np.ndarray:
        lending[0] = True
        try:
            out = lend(shape, dtype)
        finally:
            lending[0] = False
        lent.append(out.nbytes)
        return out

    monkeypatch.setattr(_scratch, "_take", counting)
    monkeypatch.setattr(_scratch, "lend", lending_lend)
    data = pbr.synth.generate(200_000, seed=12)
    spec = pbr.preset("moj_national_2017").replace(severity_weights=data.severity_weights)
    res = pbr.measure(data.cohort, data.events, spec)
    assert len(lent) == 1 and lent[0] >= 34 * data.cohort.height  # the outputs, one buffer
    assert fresh and not fresh_outputs, (fresh, fresh_outputs)
    assert res.frame.equals(pbr.measure(data.cohort, data.events, spec, engine="polars")
                            .frame)
