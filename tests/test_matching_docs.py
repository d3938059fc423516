"""docs/methodology/matching.md cannot drift from the code: its python blocks run in order
in one namespace (the worked example asserts that the true effect is recovered), and
every text block is what the python block before it prints."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

PAGE = Path(__file__).resolve().parents[1] / "docs" / "methodology" / "matching.md"
_FENCE = re.compile(r"^```(python|text)[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def test_matching_page_blocks_run_and_print_what_it_shows() -> None:
    text = PAGE.read_text(encoding="utf-8")
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    printed = ""
    n_text = 0
    for m in _FENCE.finditer(text):
        lang, code = m.group(1), m.group(2)
        line = text.count("\n", 0, m.start()) + 2
        if lang == "python":
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                exec(compile("\n" * (line - 1) + code, str(PAGE), "exec"), namespace)
            printed = buf.getvalue()
        else:
            n_text += 1
            assert code.strip() in printed, f"matching.md:{line}\n{printed}"
    assert n_text >= 4


def test_matching_page_is_linked_from_the_index() -> None:
    index = (PAGE.parent / "index.md").read_text(encoding="utf-8")
    assert "(matching.md)" in index
