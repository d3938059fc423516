"""The repository is self-contained: no citation points outside it.

Every published source is cited by a key (``[MoJ-Guide-2019]``) listed with its full
reference in docs/sources.md; no file cites a note, a design brief or a section number
of a document that is not in the repository.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "docs" / "sources.md"
SUFFIXES = {".md", ".py", ".toml", ".txt", ".cfg", ".R", ".csv"}

#: A source key: a capitalised word and one or more hyphenated parts, in square
#: brackets, not a markdown link's text.
_NAME = r"[A-Z][A-Za-z0-9]+(?:-[A-Za-z0-9]{2,})+"
KEY = re.compile(r"\[(" + _NAME + r")\](?!\()")

#: Citations of files or sections outside the repository.
OUTSIDE = {
    "a file of the shared reference folder": re.compile(r"reference/[\w-]+\.md"),
    "the research note": re.compile(r"research note", re.IGNORECASE),
    "the shared folder": re.compile(r"\.\./shared|/work/shared"),
    "the methodology note by name": re.compile(r"(?<![\w/])methodology\.md"),
    "a section of the methodology note": re.compile(
        r"methodology,? (s\.|sections? )?\d", re.IGNORECASE),
    "a section number (s.N)": re.compile(r"\(s\.\d|\bs\.\d+\.\d+"),
    "the design brief": re.compile(r"\bDESIGN\.md"),
    "the performance or software anchors": re.compile(
        r"anchors\.md|performance anchors|software anchors", re.IGNORECASE),
}


def _files() -> list[Path]:
    out = [ROOT / "README.md", ROOT / "ARCHITECTURE.md", ROOT / "pyproject.toml"]
    for top in ("pbr", "docs", "examples", "benchmarks", "tests"):
        out += sorted(p for p in (ROOT / top).rglob("*")
                      if p.is_file() and p.suffix in SUFFIXES and "__pycache__" not in p.parts)
    here = Path(__file__).resolve()
    return [p for p in out if p.exists() and p.resolve() != here]


def _defined() -> set[str]:
    text = SOURCES.read_text(encoding="utf-8")
    return set(re.findall(r"^\*\*\[(" + _NAME + r")\]\*\*", text, re.MULTILINE))


def test_patterns_catch_what_they_should() -> None:
    hits = {
        "see reference/methodology.md": "a file of the shared reference folder",
        "(research note s.1.2)": "the research note",
        "../shared/DESIGN.md": "the shared folder",
        "methodology.md 1.8 item 2": "the methodology note by name",
        "(methodology 9.5)": "a section of the methodology note",
        "methodology s.2.4": "a section of the methodology note",
        "the project methodology, section 6": "a section of the methodology note",
        "vectors of methodology section 9.1": "a section of the methodology note",
        "follow-up (s.1.3)": "a section number (s.N)",
        "thresholds (F15.05; s.2.4)": "a section number (s.N)",
        "layers (DESIGN.md)": "the design brief",
        "protocol of performance-anchors.md": "the performance or software anchors",
    }
    for text, name in hits.items():
        assert OUTSIDE[name].search(text), (name, text)
    for text in ("docs/methodology/measures.md", "[MoJ-PbR-Baselines-2011] section 2.4",
                 "Statistics 3.5", "numpy's.1"):
        assert not any(p.search(text) for p in OUTSIDE.values()), text
    assert KEY.findall("see [MoJ-Guide-2019] and [Vera-ABLE-2015]") == [
        "MoJ-Guide-2019", "Vera-ABLE-2015"]
    assert KEY.findall("[V] [V2] [R] [I] [cohort] [A-Za-z] [link-Text](x.md)") == []


@pytest.mark.parametrize("name", sorted(OUTSIDE))
def test_no_citation_outside_the_repository(name: str) -> None:
    pattern = OUTSIDE[name]
    found = []
    for path in _files():
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace")
                                      .splitlines(), 1):
            if pattern.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    assert not found, (f"{len(found)} citation(s) of {name}; cite a key of docs/sources.md "
                       "instead:\n" + "\n".join(found[:20]))


def test_every_cited_key_is_in_sources() -> None:
    defined = _defined()
    assert len(defined) >= 30 and "Howard-OGRS3-2009" in defined
    missing = []
    for path in _files():
        if path.parts[len(ROOT.parts)] not in ("pbr", "docs", "examples", "tests"):
            continue
        for key in KEY.findall(path.read_text(encoding="utf-8", errors="replace")):
            if key not in defined:
                missing.append(f"{path.relative_to(ROOT)}: [{key}]")
    assert not missing, "keys cited but not listed in docs/sources.md:\n" + "\n".join(missing)


def test_every_source_entry_is_complete_and_cited() -> None:
    text = SOURCES.read_text(encoding="utf-8")
    entries = re.split(r"^(?=\*\*\[" + _NAME + r"\]\*\*)", text, flags=re.MULTILINE)[1:]
    cited: set[str] = set()
    for path in _files():
        if path != SOURCES:
            cited.update(KEY.findall(path.read_text(encoding="utf-8", errors="replace")))
    for entry in entries:
        key = re.match(r"\*\*\[([^\]]+)\]\*\*", entry)
        assert key, entry[:80]
        body = " ".join(entry.split("\n## ")[0].split())
        # a year and what pbr takes from the source (or why it is cited)
        assert re.search(r"\b(19|20)\d\d\b", body), key[1]
        assert "pbr takes from" in body or "Cited for" in body or "Read through" in body \
            or "Also " in body, key[1]
        # cited somewhere outside this page, or by another entry of this page
        others = text.replace(f"**[{key[1]}]**", "")
        assert key[1] in cited or f"[{key[1]}]" in others, f"[{key[1]}] is never cited"
