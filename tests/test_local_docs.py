"""docs/methodology/local.md cannot drift from the code: every python block runs (its
assertions are the worked examples) and every text block is what the block before it
prints; every rule the local-accountability code cites has a section on the page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "methodology" / "local.md"
_FENCE = re.compile(r"^```(python|text)[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def _fenced() -> list[tuple[str, int, str]]:
    text = PAGE.read_text(encoding="utf-8")
    return [(m.group(1), text.count("\n", 0, m.start()) + 2, m.group(2))
            for m in _FENCE.finditer(text)]


def _run(line: int, source: str) -> None:
    exec(compile("\n" * (line - 1) + source, str(PAGE), "exec"), {"__name__": "__docs__"})


BLOCKS = [(line, code) for lang, line, code in _fenced() if lang == "python"]


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: f"local.md:{b[0]}")
def test_python_block_runs(block: tuple[int, str], capsys: pytest.CaptureFixture[str]) -> None:
    _run(*block)
    printed = capsys.readouterr().out
    fenced = _fenced()
    i = next(k for k, (lang, line, _) in enumerate(fenced) if line == block[0])
    if i + 1 < len(fenced) and fenced[i + 1][0] == "text":
        assert fenced[i + 1][2].strip() in printed


def test_every_cited_rule_has_a_section() -> None:
    text = PAGE.read_text(encoding="utf-8")
    cited: set[str] = set()
    for folder in ("attribution", "areas", "iom"):
        for path in (ROOT / "pbr" / folder).rglob("*.py"):
            cited |= set(re.findall(r"\b((?:SP|AT|H|R|I|O)\d)\b", path.read_text("utf-8")))
    for rule in sorted(cited):
        assert re.search(rf"\b{rule}\b", text), f"rule {rule} is cited in pbr/ but not on the page"


