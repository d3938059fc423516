"""The measure kernel's visiting order (``Histories.measure_order``) and the kernel over
many chunks of cohort rows.

The property tests (tests/test_properties.py) draw cohorts of a dozen offenders, all in
one chunk of ``CHUNK_ROWS`` rows; here cohorts span several chunks, so that every chunk
boundary, the order by event count within a chunk and the rows not measurable in a
chunk are checked against the polars reference.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

import pbr
from pbr._engine.layout import measure_order
from pbr._kernels.reoffending import CHUNK_ROWS, COUNT_GROUPS
from pbr.io import load_histories, save_histories


def _check_order(offsets: np.ndarray, order: np.ndarray, chunk_offsets: np.ndarray) -> None:
    """Every row with events once, in its own chunk, fewest events first and in row
    order within a count (rows with COUNT_GROUPS or more events count alike)."""
    n = offsets.size - 1
    counts = np.diff(offsets)
    n_chunks = (n + CHUNK_ROWS - 1) // CHUNK_ROWS
    assert chunk_offsets.shape == (n_chunks + 1,) and chunk_offsets[0] == 0
    assert np.array_equal(np.sort(order), np.flatnonzero(counts > 0))
    for c in range(n_chunks):
        rows = order[chunk_offsets[c]:chunk_offsets[c + 1]].astype(np.int64)
        assert np.all(rows // CHUNK_ROWS == c)
        key = np.minimum(counts[rows], COUNT_GROUPS) * (n + 1) + rows
        assert np.all(np.diff(key) > 0), f"chunk {c} not in (count, row) order"


def test_order_of_a_layout_with_every_kind_of_row() -> None:
    rng = np.random.default_rng(11)
    n = 3 * CHUNK_ROWS + 123  # a short last chunk
    counts = rng.choice([0, 0, 0, 1, 2, 3, 7, COUNT_GROUPS, COUNT_GROUPS + 9], size=n)
    counts[CHUNK_ROWS:2 * CHUNK_ROWS] = 0  # a chunk without events
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    order, chunk_offsets = measure_order(offsets)
    assert order.dtype == np.uint32
    _check_order(offsets, order, chunk_offsets)
    assert chunk_offsets[2] == chunk_offsets[1]


@pytest.mark.parametrize("n", [0, 1, CHUNK_ROWS, CHUNK_ROWS + 1])
def test_order_at_the_edges(n: int) -> None:
    offsets = np.arange(n + 1, dtype=np.int64)  # one event each
    order, chunk_offsets = measure_order(offsets)
    _check_order(offsets, order, chunk_offsets)
    assert np.array_equal(order, np.arange(n))


@pytest.fixture(scope="module")
def big() -> pbr.synth.SynthData:
    return pbr.synth.generate(3 * CHUNK_ROWS + 500, seed=31)


@pytest.mark.parametrize("unit", ["offence", "court_event"])
@pytest.mark.parametrize("as_of", [None, "final", "interim"])
def test_kernel_over_many_chunks_equals_reference(big: pbr.synth.SynthData, unit: str,
                                                  as_of: str | None) -> None:
    """Rows with and without events, not measurable (as_of inside the cohort's windows),
    interim and both counting units, across chunk boundaries."""
    spec = pbr.preset("moj_national_2017").replace(
        severity_weights=big.severity_weights, counting_unit=unit,
        serious_codes=tuple(sorted(big.severity_weights))[:3])
    if as_of is not None:
        spec = spec.replace(as_of=dt.date(2020, 12, 31), interim=as_of == "interim")
    h = pbr.prepare(big.cohort, big.events, spec)
    _check_order(h.offsets, *h.measure_order)
    fast = h.measure(spec)
    slow = h.measure(spec, engine="polars")
    assert fast.frame.equals(slow.frame)
    status = set(np.unique(h.measure_arrays(spec)["status"]).tolist())
    assert status == {None: {0}, "final": {0, 1}, "interim": {0, 2}}[as_of]


def test_saved_order_is_loaded_and_found_again_when_missing_or_stale(
        big: pbr.synth.SynthData, tmp_path: Path) -> None:
    spec = pbr.preset("moj_national_2017").replace(severity_weights=big.severity_weights)
    h = pbr.prepare(big.cohort, big.events, spec)
    want = h.measure_arrays(spec)
    path = save_histories(h, tmp_path / "h")
    loaded = load_histories(path)
    assert loaded.derived.measure_order is not None
    for a, b in zip(loaded.measure_order, h.measure_order, strict=True):
        assert np.array_equal(a, b)
    # saved for another chunk size (another pbr version): found again, not used
    meta = (path / "histories.json").read_text()
    (path / "histories.json").write_text(
        meta.replace(f'"measure_order_chunk_rows": {CHUNK_ROWS}',
                     f'"measure_order_chunk_rows": {CHUNK_ROWS // 2}'))
    stale = load_histories(path)
    assert stale.derived.measure_order is None
    # saved before the order existed
    (path / "measure_order.npy").unlink()
    older = load_histories(path)
    assert older.derived.measure_order is None
    for other in (stale, older):
        got = other.measure_arrays(spec)
        assert all(np.array_equal(got[k], want[k]) for k in want)
        _check_order(other.offsets, *other.measure_order)


def test_a_saved_order_that_does_not_fit_is_named(big: pbr.synth.SynthData,
                                                  tmp_path: Path) -> None:
    h = pbr.prepare(big.cohort, big.events)
    path = save_histories(h, tmp_path / "h")
    small = pbr.prepare(big.cohort.head(100), big.events)
    np.save(path / "measure_order_chunks.npy", small.measure_order[1])
    with pytest.raises(pbr.SchemaError, match=r"measure_order\.npy does not fit"):
        load_histories(path)
