"""benchmarks/ab.py times pbr in child processes; its child script must keep working."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import _data, ab  # noqa: E402


@pytest.mark.parametrize("target", ["measure", "kernel"])
def test_compare_times_both_sides(tmp_path: Path, target: str) -> None:
    data = _data.ensure_data(tmp_path, "synth", 300, 7, quiet=True)
    res = ab.compare(ROOT, ROOT, data, target, rounds=1, reps=2)
    assert len(res["base_ms"]) == len(res["head_ms"]) == 1
    assert res["base_ms"][0] > 0 and res["head_ms"][0] > 0
    assert res["ratio_median"] > 0


def test_a_failing_child_names_the_tree(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="timing"):
        ab._child(tmp_path, tmp_path / "missing", "measure", 1)
