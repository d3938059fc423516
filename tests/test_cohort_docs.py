"""docs/methodology/cohorts.md cannot drift from the code: its python blocks run, each
text block is what the python block before it prints, and every rule identifier
(K1-K10) cited in the code has a section on the page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "methodology" / "cohorts.md"
RULES = tuple(f"K{k}" for k in range(1, 11))
_FENCE = re.compile(r"^```(python|text)[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def _fenced() -> list[tuple[str, int, str]]:
    text = PAGE.read_text(encoding="utf-8")
    return [(m.group(1), text.count("\n", 0, m.start()) + 2, m.group(2))
            for m in _FENCE.finditer(text)]


def _run(line: int, source: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    exec(compile("\n" * (line - 1) + source, str(PAGE), "exec"), namespace)
    return namespace


def test_python_blocks_run_and_print_the_text_blocks(
        capsys: pytest.CaptureFixture[str]) -> None:
    blocks = _fenced()
    assert sum(lang == "python" for lang, _, _ in blocks) >= 2
    source, checked = "", 0
    for lang, line, code in blocks:
        if lang == "python":
            source += code  # later blocks continue the earlier ones
            capsys.readouterr()
            _run(line, source)
            printed = capsys.readouterr().out
        else:
            assert code.strip() in printed
            checked += 1
    assert checked >= 1


def test_every_rule_has_a_section_and_the_code_cites_no_other() -> None:
    headings = re.findall(r"^### (K\d+) ", PAGE.read_text(encoding="utf-8"), re.MULTILINE)
    assert headings == list(RULES)
    cited = {m.group(1) for path in (ROOT / "pbr" / "cohort").glob("*.py")
             for m in re.finditer(r"\b(K\d+)\b", path.read_text(encoding="utf-8"))}
    assert cited and cited <= set(RULES)


def test_index_links_the_page() -> None:
    assert "(cohorts.md)" in (ROOT / "docs" / "methodology" / "index.md").read_text()
