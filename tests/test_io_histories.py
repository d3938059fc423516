"""Prepared histories survive a save/load round trip, memory-mapped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import pbr
from pbr.io import load_histories, save_histories


def test_round_trip_gives_identical_results(tmp_path: Path) -> None:
    data = pbr.synth.generate(800, seed=5)
    h = pbr.prepare(data.cohort, data.events, ("24 months", "6 months"), custody=data.custody)
    loaded = load_histories(save_histories(h, tmp_path / "h"))
    assert isinstance(loaded.offence_day, np.memmap)
    assert loaded.event_counts == h.event_counts
    for name in ("moj_national_2017", "peterborough_sib"):
        spec = pbr.preset(name).replace(severity_weights=data.severity_weights)
        a, b = h.measure(spec), loaded.measure(spec)
        assert a.frame.equals(b.frame)
        assert loaded.measure(spec, engine="polars").frame.equals(a.frame)
    arrays = loaded.measure_arrays(pbr.preset("moj_national_2017"))
    assert np.array_equal(arrays["reoffences"], h.measure_arrays("moj_national_2017")["reoffences"])


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(pbr.SchemaError, match=r"histories\.json"):
        load_histories(tmp_path)


def test_index_span_is_the_first_and_last_index_day(tmp_path: Path) -> None:
    """prepare records the span it found; a loaded Histories computes it on first use."""
    data = pbr.synth.generate(300, seed=9)
    h = pbr.prepare(data.cohort, data.events)
    want = (int(h.index_day.min()), int(h.index_day.max()))
    assert h.index_span == want and want[0] < want[1]
    loaded = load_histories(save_histories(h, tmp_path / "h"))
    assert loaded.derived.index_span is None
    assert loaded.index_span == want
    empty = pbr.prepare(data.cohort.head(0), data.events)
    assert empty.index_span == (0, -1)
    assert empty.measure_arrays()["reoffences"].size == 0


def _triples(h: Any) -> np.ndarray:
    return np.stack([h.disposal_type.astype(np.int64), h.offence_code.astype(np.int64),
                     h.offence_category.astype(np.int64) if h.offence_category.size
                     else np.zeros(h.n_events, np.int64)], axis=1)


def test_attribute_ids_name_each_events_type_code_and_category(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from pbr._engine.layout import attribute_ids
    from pbr._kernels import grouping

    data = pbr.synth.generate(1500, seed=21)
    h = pbr.prepare(data.cohort, data.events)
    attr, table = h.attributes
    assert attr.dtype == np.uint32 and attr.size == h.n_events
    assert np.array_equal(table[attr], _triples(h))
    assert np.array_equal(np.unique(table, axis=0), table)  # numbered in key order, once
    # the np.unique numbering of large key spaces gives the same ids
    monkeypatch.setattr(grouping, "MAX_DENSE_ATTRIBUTES", 0)
    attr2, table2 = attribute_ids(h.disposal_type, h.offence_code, h.offence_category,
                                  h.dictionaries)
    assert np.array_equal(attr2, attr) and np.array_equal(table2, table)
    # without an offence_category column the category is 0
    events = data.events.drop("offence_category")
    h2 = pbr.prepare(data.cohort, events)
    a3, t3 = h2.attributes
    assert h2.offence_category.size == 0 and set(t3[:, 2]) == {0}
    assert np.array_equal(t3[a3], _triples(h2))


def test_histories_saved_without_attribute_ids_still_load(tmp_path: Path) -> None:
    data = pbr.synth.generate(600, seed=22)
    spec = pbr.preset("moj_national_2017").replace(severity_weights=data.severity_weights)
    h = pbr.prepare(data.cohort, data.events, spec)
    path = save_histories(h, tmp_path / "h")
    loaded = load_histories(path)
    assert loaded.derived.attributes is not None
    assert np.array_equal(loaded.attributes[0], h.attributes[0])
    (path / "attribute.npy").unlink()
    (path / "attribute_table.npy").unlink()
    older = load_histories(path)
    assert older.derived.attributes is None
    assert older.measure(spec).frame.equals(h.measure(spec).frame)
