"""Prepared histories survive a save/load round trip, memory-mapped."""

from __future__ import annotations

from pathlib import Path

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
    assert "index_span" not in loaded.__dict__
    assert loaded.index_span == want
    empty = pbr.prepare(data.cohort.head(0), data.events)
    assert empty.index_span == (0, -1)
    assert empty.measure_arrays()["reoffences"].size == 0
