"""The duplicate-row search behind ``duplicate_event`` (rule D1) and the code tallies of
the measure checks: same answers as polars' exact comparison, whatever the column
types, nulls, chunk layouts, thread counts and hash collisions."""

from __future__ import annotations

import datetime as dt

import numba
import numpy as np
import polars as pl
import pytest

import pbr
from pbr import data
from pbr._kernels import codes, dedupe


def brute(df: pl.DataFrame) -> np.ndarray:
    """Positions of the rows equal to an earlier row, by polars' exact comparison."""
    return np.flatnonzero(df.select(~pl.struct(df.columns).is_first_distinct())
                          .to_series().to_numpy())


def frame(n: int, seed: int, *, nulls: bool = False) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    k = max(2, n // 3)  # few distinct values: many exact repeats
    ids = rng.integers(0, k, n)
    day = rng.integers(0, 5, n)
    df = pl.DataFrame({
        "offender_id": ids,
        "offence_date": [dt.date(2020, 1, 1) + dt.timedelta(days=int(d)) for d in day],
        "disposal_type": pl.Series(rng.choice(["conviction", "caution"], n)).cast(
            pl.Categorical),
        "score": rng.choice([0.5, -0.0, 0.0, 2.25], n),
        "note": rng.choice(["a", "b", "ab"], n),
    })
    if nulls:
        mask = rng.random(n) < 0.2
        df = df.with_columns(pl.when(pl.Series(mask)).then(None)
                             .otherwise(pl.col("note")).alias("note"),
                             pl.when(pl.Series(~mask)).then(pl.col("offender_id"))
                             .alias("offender_id"))
    return df


@pytest.mark.parametrize("n,seed,nulls", [(2, 1, False), (50, 2, False), (3000, 3, False),
                                          (3000, 4, True), (70_000, 5, False)])
def test_duplicate_rows_equal_the_exact_comparison(n: int, seed: int, nulls: bool) -> None:
    df = frame(n, seed, nulls=nulls)
    assert np.array_equal(data._duplicate_rows(df), brute(df))


def test_chunk_layouts_that_differ_between_columns() -> None:
    """Columns cut into chunks at different rows: the pieces follow every boundary."""
    df = frame(5000, 6)
    parts = [df.slice(0, 1200), df.slice(1200, 2500), df.slice(3700, 1300)]
    chunked = pl.concat(parts, rechunk=False)
    mixed = chunked.with_columns(pl.concat([df["note"].slice(0, 4000),
                                            df["note"].slice(4000)], rechunk=False))
    assert len({tuple(mixed[c].chunk_lengths()) for c in mixed.columns}) > 1
    expected = brute(df)
    assert np.array_equal(data._duplicate_rows(chunked), expected)
    assert np.array_equal(data._duplicate_rows(mixed), expected)


def test_thread_count_changes_nothing() -> None:
    df = frame(40_000, 7)
    expected = brute(df)
    before = numba.get_num_threads()
    try:
        for threads in sorted({1, before}):
            numba.set_num_threads(threads)
            assert np.array_equal(data._duplicate_rows(df), expected)
    finally:
        numba.set_num_threads(before)


def test_a_hash_collision_is_not_a_duplicate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every row a candidate (as if every hash collided): only exact repeats are kept."""
    df = frame(500, 8)
    monkeypatch.setattr(data, "_repeated_hash_rows",
                        lambda cols: np.arange(cols.n, dtype=np.int64))
    assert np.array_equal(data._duplicate_rows(df), brute(df))  # floats, text: hashed
    exact = df.select("offender_id", "offence_date", "disposal_type").drop_nulls()
    assert data._Columns(exact).exact and not data._Columns(df).exact
    assert np.array_equal(data._duplicate_rows(exact), brute(exact))  # key values


def test_later_repeats_equal_polars_is_first_distinct() -> None:
    rng = np.random.default_rng(9)
    values = (rng.integers(0, 4, 400), rng.integers(0, 3, 400).astype(np.int32),
              rng.integers(0, 2, 400).astype(np.uint32))
    df = pl.DataFrame({str(j): v for j, v in enumerate(values)})
    assert np.array_equal(np.flatnonzero(data._later_repeats(values)), brute(df))
    assert data._later_repeats((np.array([5]),)).tolist() == [False]


def test_repeated_marks_rows_sharing_a_hash_only() -> None:
    """The bucket search on hand-made packed words: equal low 32 bits in one bucket."""
    words = np.array([(7 << 32) | 0, (9 << 32) | 1, (7 << 32) | 2, (8 << 32) | 3,
                      (9 << 32) | 4], np.uint64)
    hist = np.array([[5]], np.int64)
    mark = np.zeros(5, np.bool_)
    dedupe.repeated(words, np.zeros((1, 1), np.int64), hist, mark)
    assert mark.tolist() == [True, True, True, False, True]


def test_radix_bits() -> None:
    assert dedupe.radix_bits(10) == 0
    assert dedupe.radix_bits(dedupe.BUCKET_ROWS * 4 + 1) == 2  # 4 buckets of ~BUCKET_ROWS
    assert dedupe.radix_bits(10**12) == dedupe.MAX_BITS


def test_count_codes_and_the_tally() -> None:
    counts = np.zeros(4, np.int64)
    codes.count_codes(np.array([3, 0, 3, 3, 1, 3, 0], np.uint32), counts)
    assert counts.tolist() == [2, 1, 0, 4]
    many = np.zeros(codes.MAX_LANED + 5, np.int64)
    codes.count_codes(np.array([3, 0, 3, codes.MAX_LANED + 4], np.uint32), many)
    assert many[[0, 3, codes.MAX_LANED + 4]].tolist() == [1, 2, 1] and many.sum() == 4
    s = pl.Series("t", ["b", "a", "b", "c", "b"]).cast(pl.Categorical)
    tally = data._Tally.of(s)
    assert tally is not None
    assert dict(tally.values().iter_rows()) == {"a": 1, "b": 3, "c": 1}
    less = tally.less(s, np.array([0, 3]))
    assert dict(less.values().iter_rows()) == {"a": 1, "b": 2}
    assert data._Tally.of(pl.Series(["a", None]).cast(pl.Categorical)) is None
    assert data._Tally.of(pl.Series(["a"])) is None


def test_events_read_before_their_duplicates_are_left_out() -> None:
    """Counts, spans and sets before ``data`` is made equal those after."""
    d = dt.date(2020, 3, 1)
    raw = pl.DataFrame({"offender_id": [1, 1, 2, 1], "offence_date": [d, d, d, d],
                        "disposal_date": [d, d, d + dt.timedelta(days=9), d],
                        "disposal_type": ["Conviction", "conviction", "caution",
                                          "conviction"],
                        "offence_code": ["A", "A", "B", "A"]})
    ev = pbr.Events.from_frame(raw)
    assert ev._with_duplicates() is not None
    assert ev.n == 2 and ev.last_disposal == d + dt.timedelta(days=9)
    assert ev.codes == frozenset({"A", "B"})
    assert ev.disposal_types.rows() == [("caution", 1), ("conviction", 1)]
    assert ev.exclusions.entries[0].rows.tolist() == [1, 3]
    assert ev.data["row"].to_list() == [0, 2]
    assert ev._with_duplicates() is None and ev.n == 2
    fresh = pbr.Events.from_frame(raw)
    assert fresh.frame.equals(ev.frame)  # made on first use, through frame too


def ordered_frame(n: int, seed: int, *, descending: bool = False) -> pl.DataFrame:
    """Rows in the order of ``day`` (runs of equal days), many exact repeats; ``note``
    has nulls (hashed: never the key)."""
    rng = np.random.default_rng(seed)
    day = np.sort(rng.integers(0, max(2, n // 40), n))
    if descending:
        day = day[::-1].copy()
    return pl.DataFrame({
        "offender_id": rng.integers(0, max(2, n // 8), n),
        "day": day.astype(np.int32),
        "code": pl.Series(rng.choice(["A", "B"], n)).cast(pl.Categorical),
        "note": [None if v == "z" else str(v) for v in rng.choice(["x", "y", "z"], n)],
    })


def run_search(df: pl.DataFrame) -> np.ndarray | None:
    """The run search's candidates, or None where it declines."""
    cols = data._Columns(df)
    ordered = cols.ordered_column()
    return None if ordered is None else data._repeated_in_runs(cols, *ordered)


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("piece_rows", [64, 1 << 17])
def test_rows_in_key_order_are_searched_run_by_run(descending: bool, piece_rows: int,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows ordered by one column: the run search is taken and finds every repeat, also
    where runs go on across pieces and chunks (small pieces: most runs do)."""
    monkeypatch.setattr(data, "HASH_PIECE_ROWS", piece_rows)
    df = ordered_frame(6000, 11, descending=descending)
    chunked = pl.concat([df.slice(0, 1000), df.slice(1000, 3001), df.slice(4001)],
                        rechunk=False)
    tiny_first = pl.concat([df.slice(0, 1), df.slice(1)], rechunk=False)  # sampled after it
    expected = brute(df)
    for table in (df, chunked, tiny_first):
        found = run_search(table)
        assert found is not None and np.isin(expected, found).all()
        assert np.array_equal(data._duplicate_rows(table), expected)
    assert data._Columns(df).ordered_column() == (1, 0)  # key: day; filter: the ids


def test_order_broken_after_the_sample_falls_back() -> None:
    """Ordered in the rows sampled, not after: the radix search answers."""
    df = ordered_frame(3 * data.ORDER_SAMPLE, 12)
    broken = pl.concat([df.slice(data.ORDER_SAMPLE), df.slice(0, data.ORDER_SAMPLE)])
    assert data._Columns(broken).ordered_column() is not None
    assert run_search(broken) is None
    assert np.array_equal(data._duplicate_rows(broken), brute(broken))


def test_pieces_ordered_each_way_fall_back() -> None:
    """Each chunk in order but the two in opposite orders: the repeats across them are
    not in one run, so the run search declines."""
    up = pl.DataFrame({"day": [1, 2, 3, 4, 5], "v": [7, 7, 7, 7, 7]})
    table = pl.concat([up, up.reverse()], rechunk=False)
    assert run_search(table) is None
    assert np.array_equal(data._duplicate_rows(table), brute(table))


def test_a_run_longer_than_the_longest_taken_falls_back() -> None:
    n = dedupe.MAX_RUN + 10
    df = pl.DataFrame({"day": np.zeros(n, np.int32), "v": np.arange(n) % 1000})
    assert run_search(df) is None
    assert np.array_equal(data._duplicate_rows(df), brute(df))


def test_many_runs_wrap_the_filters_run_count() -> None:
    """More runs than the filter's run count holds (it wraps: the slots are cleared)."""
    runs = 100_000
    day = np.repeat(np.arange(runs), 2)
    v = np.where(np.arange(2 * runs) % 7 == 0, 1, np.arange(2 * runs) % 2)
    df = pl.DataFrame({"v": v, "day": day})
    found = run_search(df)
    expected = brute(df)
    assert found is not None and expected.size and np.isin(expected, found).all()
    assert np.array_equal(data._duplicate_rows(df), expected)


def test_run_repeats_on_hand_made_runs() -> None:
    """Three runs of ``key``; rows repeating within a run are found (those repeating
    across runs cannot be equal), and the first and last run are left to the caller
    unless they are complete."""
    key = np.array([1, 1, 2, 2, 2, 3, 3], np.int64)
    sub = np.array([5, 5, 5, 6, 5, 5, 5], np.int64)
    other = np.array([0, 0, 1, 0, 1, 0, 1], np.int64)
    r = dedupe.MAX_RUN
    bufs = (np.zeros(dedupe.filter_slots(r) + 1, np.uint32), np.zeros(r, np.bool_),
            np.empty(r, np.int64), np.empty(r, np.uint64), np.empty(2 * r, np.int32))
    out = np.empty(key.size, np.int64)
    up, down, short, head_end, tail_start, k = dedupe.run_repeats(
        (key, sub, other), key, sub, True, True, *bufs, out)
    assert (up, down, short, head_end, tail_start) == (True, False, True, 2, 5)
    assert sorted(out[:k].tolist()) == [0, 1, 2, 4]
    *_, k = dedupe.run_repeats((key, sub, other), key, sub, False, False, *bufs, out)
    assert sorted(out[:k].tolist()) == [2, 4]  # the middle run only
    assert not bufs[1].any()  # the flags are all False again
    assert dedupe.order(np.array([3, 2, 2, 1])) == (False, True, 3)
    assert dedupe.order(np.array([1, 3, 2]))[:2] == (False, False)


def test_find_codes_stops_once_every_code_is_found() -> None:
    wanted = np.zeros(5, np.bool_)
    wanted[[1, 3]] = True
    assert codes.find_codes(np.array([3, 0, 3, 4], np.uint32), wanted, 2) == 1
    assert wanted.tolist() == [False, True, False, False, False]
    assert codes.find_codes(np.array([0, 1, 3], np.uint8), wanted, 1) == 0


def test_holds_equals_the_values_of_the_rows() -> None:
    """Events.holds: the asked values that the rows hold, whatever the column's type
    may hold besides (categories no row holds: the rows with them were sliced off)."""
    d = dt.date(2020, 3, 1)
    raw = pl.DataFrame({"offender_id": [1, 2, 3, 4, 4], "offence_date": [d] * 5,
                        "disposal_date": [d] * 5, "disposal_type": ["conviction"] * 5,
                        "offence_code": pl.Series(["Z", "A", "b", "B", "B"],
                                                  dtype=pl.Categorical),
                        "offence_category": ["x", None, "y", "x", "x"]}).slice(1)
    ev = pbr.Events.from_frame(raw)
    assert ev.exclusions.count(rule="duplicate_event") == 1
    spellings = ev.spellings("offence_code")
    assert spellings is not None and "Z" in set(spellings)  # the type may hold it
    assert ev.codes == frozenset({"A", "b", "B"})
    asked = {"A", "B", "Z", "Q", "a"}
    assert ev.holds("offence_code", asked) == frozenset({"A", "B"})
    assert ev.holds("offence_category", {"x", "", "z"}) == frozenset({"x", ""})
    assert ev.holds("offence_code", set()) == frozenset()


def test_gather_spans_and_arrays_across_chunks() -> None:
    s = pl.Series("v", np.arange(20, dtype=np.int64))
    chunked = pl.concat([s.slice(0, 5), s.slice(5, 0), s.slice(5, 7), s.slice(12)],
                        rechunk=False)
    cols = data._Columns(chunked.to_frame())
    spans = [[3, 6], [11, 13], [19, 20]]
    (got,) = cols.gather_spans(spans)
    assert got.tolist() == [3, 4, 5, 11, 12, 19]
    (picked,) = cols.gather_arrays(np.array([0, 4, 5, 12, 19]))
    assert picked.tolist() == [0, 4, 5, 12, 19]
