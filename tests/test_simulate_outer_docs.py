"""docs/methodology/simulation.md: its Python example runs (with fewer replicates), and
the figures it shows are in the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "methodology" / "simulation.md"

pytestmark = pytest.mark.filterwarnings("ignore::pbr.errors.PbrWarning")


def test_python_example_runs() -> None:
    blocks = re.findall(r"^```python\n(.*?)^```", PAGE.read_text(encoding="utf-8"),
                        re.DOTALL | re.MULTILINE)
    assert blocks
    code = blocks[0].replace("n_sims=2000", "n_sims=50").replace("size=1000", "size=300")
    assert "n_sims=50" in code
    namespace: dict[str, object] = {}
    exec(compile(code, str(PAGE), "exec"), namespace)
    assert namespace["res"].n_sims == 50  # type: ignore[attr-defined]


def test_figures_exist() -> None:
    text = PAGE.read_text(encoding="utf-8")
    figures = re.findall(r"\]\((\.\./figures/[^)]+\.png)\)", text)
    assert len(figures) == 4
    for rel in figures:
        path = (PAGE.parent / rel).resolve()
        assert path.is_file() and path.stat().st_size < 100_000, rel
