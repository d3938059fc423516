"""The methodology pages cannot drift from the code.

* Every ```python block of docs/methodology/measures.md runs without error (the worked
  examples assert their expected numbers against pbr, on both engines), and every
  ```text block is what the python block before it prints.
* The preset table of that page matches ``pbr.preset(name)`` field by field.
* The page has a section for every rule identifier, and the code cites no other.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "methodology" / "measures.md"
RULES = ("W1", "W2", "W3", "W4", "A1", "A2", "P1", "C1", "F1", "S1", "S2",
         "M1", "M2", "M3", "M4", "M5", "M6", "V1", "E1",
         # section 8, what pbr refuses and why
         "P2", "P3", "P4", "P5", "F2", "A3", "A4", "T1", "T2", "J1", "J2", "D1")

_FENCE = re.compile(r"^```(python|text)[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def _text() -> str:
    return PAGE.read_text(encoding="utf-8")


def _fenced() -> list[tuple[str, int, str]]:
    """(language, first line of the code, code) of every python/text block, in order."""
    text = _text()
    return [(m.group(1), text.count("\n", 0, m.start()) + 2, m.group(2))
            for m in _FENCE.finditer(text)]


def _blocks() -> list[tuple[int, str]]:
    return [(line, code) for lang, line, code in _fenced() if lang == "python"]


def _outputs() -> list[tuple[int, str, tuple[int, str]]]:
    """Each text block with the python block before it."""
    out, last = [], None
    for lang, line, code in _fenced():
        if lang == "python":
            last = (line, code)
        elif last is not None:
            out.append((line, code, last))
    return out


def _run(block: tuple[int, str]) -> None:
    line, source = block
    # pad so that tracebacks point at the page's own line numbers
    code = compile("\n" * (line - 1) + source, str(PAGE), "exec")
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    exec(code, namespace)


def _block_id(block: tuple[int, str]) -> str:
    return f"measures.md:{block[0]}"


def test_page_has_python_blocks() -> None:
    assert len(_blocks()) >= 3


@pytest.mark.parametrize("block", _blocks(), ids=_block_id)
def test_python_block_runs(block: tuple[int, str]) -> None:
    _run(block)


@pytest.mark.parametrize("item", _outputs(), ids=lambda item: f"measures.md:{item[0]}")
def test_text_block_is_printed_by_the_block_before(
        item: tuple[int, str, tuple[int, str]], capsys: pytest.CaptureFixture[str]) -> None:
    _, expected, block = item
    _run(block)
    assert expected.strip() in capsys.readouterr().out


def test_every_rule_has_a_section() -> None:
    headings = re.findall(r"^### ([A-Z]\d) ", _text(), re.MULTILINE)
    assert sorted(headings) == sorted(RULES)


def test_rules_cited_in_the_code_exist() -> None:
    """W1, P1, ... in pbr's docstrings and comments (not evidence tags like [V2])."""
    pattern = re.compile(r"(?<!\[)\b([WAPCFSMVE]\d)\b(?!\])")
    cited = {m.group(1): path.relative_to(ROOT)
             for path in sorted((ROOT / "pbr").rglob("*.py"))
             for m in pattern.finditer(path.read_text(encoding="utf-8"))}
    assert cited, "no rule identifiers found in pbr/"
    unknown = {rule: str(path) for rule, path in cited.items() if rule not in RULES}
    assert not unknown, f"rules cited in the code but not documented: {unknown}"


def _cell(value: Any) -> str:
    """How the preset table writes a field value."""
    if value is None or value == ():
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ", ".join(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _preset_table() -> tuple[list[str], dict[str, list[str]]]:
    lines = _text().split("\n")
    start = next(i for i, s in enumerate(lines) if s.startswith("<!-- preset-table"))
    header = [c.strip() for c in lines[start + 1].strip().strip("|").split("|")]
    rows: dict[str, list[str]] = {}
    for s in lines[start + 3:]:
        if not s.startswith("|"):
            break
        cells = [c.strip() for c in s.strip().strip("|").split("|")]
        rows[cells[0].strip("`")] = cells[1:]
    return header[1:], rows


def test_preset_table_matches_the_presets() -> None:
    import dataclasses

    import pbr

    presets, rows = _preset_table()
    assert sorted(presets) == pbr.available_presets()
    fields = [f.name for f in dataclasses.fields(pbr.MeasureSpec) if f.name != "name"]
    assert sorted(rows) == sorted(fields)
    for j, name in enumerate(presets):
        spec = pbr.preset(name)
        for field in fields:
            assert rows[field][j] == _cell(getattr(spec, field)), (name, field)
