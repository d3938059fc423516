"""docs/data.md cannot drift from the code: its python blocks run, in order, in one
namespace, in a temporary directory (they create project.duckdb and results.duckdb)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import pbr.io.db

PAGE = Path(__file__).resolve().parents[2] / "docs" / "data.md"
_FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def test_the_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = _FENCE.findall(PAGE.read_text(encoding="utf-8"))
    assert len(blocks) >= 4
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    for code in blocks:
        exec(compile(code, str(PAGE), "exec"), namespace)
    assert (tmp_path / "results.duckdb").is_file()


def test_the_page_names_what_the_code_has() -> None:
    text = PAGE.read_text(encoding="utf-8")
    for scheme in pbr.io.db.SCHEMES:
        if scheme != "postgres":
            assert f"{scheme}://" in text
    for field in ("scheme", "database", "table", "query", "rows", "sha256"):
        assert f"| `{field}` |" in text
    assert all(f"`{c}`" in text for c in pbr.io.db.RUN_COLUMNS)
    assert os.path.exists(PAGE.parents[1] / ".ci" / "postgres.sh")
