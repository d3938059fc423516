"""docs/methodology/payments.md cannot drift from the code: every ```python block runs
(from the repository root, asserting its numbers) and every ```text block is printed by
the python block before it."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "methodology" / "payments.md"
_FENCE = re.compile(r"^```(python|text)[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def _fenced() -> list[tuple[str, int, str]]:
    text = PAGE.read_text(encoding="utf-8")
    return [(m.group(1), text.count("\n", 0, m.start()) + 2, m.group(2))
            for m in _FENCE.finditer(text)]


def _pairs() -> list[tuple[int, str, str | None]]:
    """(line, python code, the text block right after it or None)."""
    blocks = _fenced()
    out = []
    for i, (lang, line, code) in enumerate(blocks):
        if lang == "python":
            nxt = blocks[i + 1] if i + 1 < len(blocks) else None
            out.append((line, code, nxt[2] if nxt and nxt[0] == "text" else None))
    return out


def test_page_has_worked_examples() -> None:
    assert len(_pairs()) >= 5


@pytest.mark.parametrize("item", _pairs(), ids=lambda item: f"payments.md:{item[0]}")
def test_python_block(item: tuple[int, str, str | None],
                      capsys: pytest.CaptureFixture[str]) -> None:
    line, source, expected = item
    code = compile("\n" * (line - 1) + source, str(PAGE), "exec")
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        exec(code, namespace)
    finally:
        os.chdir(cwd)
    if expected is not None:
        assert expected.strip() in capsys.readouterr().out


def test_index_links_the_page() -> None:
    assert "(payments.md)" in (ROOT / "docs" / "methodology" / "index.md").read_text()
