"""Scheme presets and the ComparisonSpec they carry."""

from __future__ import annotations

import doctest
import re
import sys
import tomllib
from pathlib import Path

import pytest

import pbr
import pbr.compare.spec
import pbr.schemes
from pbr.compare.spec import ComparisonSpec
from pbr.errors import SpecError
from pbr.schemes import EVIDENCE_TAGS, Scheme, scheme_evidence


def test_comparison_spec_doctests() -> None:
    assert doctest.testmod(sys.modules["pbr.compare.spec"]).failed == 0


def test_comparison_spec_round_trips_and_hashes() -> None:
    spec = ComparisonSpec(kind="adjusted_baseline", case_mix="ogrs4_g3", baseline="2011",
                          test="baseline_interval", measures=["binary_rate", "per_reoffender"],
                          level=0.9, sides="less", name="x")
    assert ComparisonSpec.from_toml(spec.to_toml()) == spec
    assert hash(spec) == hash(ComparisonSpec.from_toml(spec.to_toml()))
    assert spec.measures == ("binary_rate", "per_reoffender")
    with pytest.raises(AttributeError):
        spec.level = 0.2  # type: ignore[misc]


@pytest.mark.parametrize(("level", "sides", "z"), [
    (0.95, "two-sided", 1.959963984540054),
    (0.95, "less", 1.6448536269514722),
    (0.9, "two-sided", 1.6448536269514722),
    (0.99, "greater", 2.3263478740408408),
])
def test_z_is_the_normal_quantile(level: float, sides: str, z: float) -> None:
    assert ComparisonSpec(level=level, sides=sides).z == pytest.approx(z, abs=1e-12)  # type: ignore[arg-type]


@pytest.mark.parametrize(("changes", "field"), [
    ({"kind": "baseline"}, "kind"),
    ({"kind": "adjusted_baseline", "baseline": "2011"}, "case_mix"),
    ({"kind": "fixed_baseline", "baseline": "2009", "case_mix": "ogrs3"}, "case_mix"),
    ({"kind": "fixed_baseline"}, "baseline"),
    ({"test": "welch_t"}, "test"),
    ({"kind": "matched_comparison", "test": "baseline_interval"}, "test"),
    ({"level": 0.0}, "level"),
    ({"level": 0.05}, "level"),
    ({"level": 1.0}, "level"),
    ({"level": True}, "level"),
    ({"measures": []}, "measures"),
    ({"measures": "binary_rate"}, "measures"),
    ({"measures": ["binary_rate", "binary_rate"]}, "measures"),
    ({"measures": ["rate"]}, "measures"),
    ({"sides": "one"}, "sides"),
    ({"form": "multiplicative"}, "form"),
    ({"min_n": -1}, "min_n"),
    ({"name": ""}, "name"),
])
def test_invalid_fields_name_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(SpecError, match=f"^{field}"):
        ComparisonSpec(**changes)  # type: ignore[arg-type]


def test_unknown_toml_key_is_named() -> None:
    with pytest.raises(SpecError, match=r"unknown comparison field.*alpha"):
        ComparisonSpec.from_toml("[comparison]\nalpha = 0.05\n")


def test_str_lists_every_field_with_its_source() -> None:
    text = str(ComparisonSpec())
    for name in ("kind", "measures", "form", "case_mix", "test", "level", "sides",
                 "min_n"):
        assert f"  {name} " in text
    assert "z = 1.9600" in text
    assert pbr.ComparisonSpec is ComparisonSpec


# --------------------------------------------------------------------- scheme presets
SCHEMES = ("crc_pbr_2015", "doncaster_pbr", "justice_data_lab", "moj_national_2011",
           "moj_national_2017", "peterborough_sib", "rikers_able")
ROOT = Path(__file__).resolve().parents[1]


def _cell(value: object) -> str:
    """How a parameter value is written in the docs tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "—"
    if value == "":
        return "—"
    return str(value)


def parameter_table(name: str) -> str:
    """The parameter table of docs/schemes/<name>.md, built from the preset file."""
    s = pbr.scheme(name)
    evidence = scheme_evidence(name)
    lines = ["| table | parameter | value | evidence | source or note |",
             "|---|---|---|---|---|"]
    for table, values in s.to_dict().items():
        if table == "scheme":
            continue
        for key, value in values.items():
            tag, note = evidence[(table, key)]
            lines.append(f"| {table} | `{key}` | {_cell(value)} | {tag} | {note} |")
    return "\n".join(lines)


def test_every_scheme_is_available() -> None:
    assert tuple(pbr.available_schemes()) == SCHEMES


@pytest.mark.parametrize("name", SCHEMES)
def test_scheme_round_trips_through_toml_exactly(name: str) -> None:
    s = pbr.scheme(name)
    assert isinstance(s, Scheme) and s.name == name
    again = Scheme.from_toml(s.to_toml())
    assert again == s and hash(again.comparison) == hash(s.comparison)
    assert again.to_toml() == s.to_toml()
    # the preset file states every field: its tables are exactly the scheme's
    raw = tomllib.loads((ROOT / "pbr" / "presets" / "schemes" / f"{name}.toml").read_text())
    assert raw == s.to_dict()
    with pytest.raises(AttributeError):
        s.name = "x"  # type: ignore[misc]


@pytest.mark.parametrize("name", SCHEMES)
def test_scheme_measure_is_the_measure_preset(name: str) -> None:
    assert pbr.scheme(name).measure == pbr.preset(name)


@pytest.mark.parametrize("name", SCHEMES)
def test_every_parameter_has_evidence(name: str) -> None:
    s = pbr.scheme(name).to_dict()
    evidence = scheme_evidence(name)
    expected = {(t, k) for t in ("cohort", "measure", "comparison") for k in s[t]}
    assert set(evidence) == expected
    for (_table, _key), (tag, note) in evidence.items():
        assert tag in EVIDENCE_TAGS and note


@pytest.mark.parametrize("name", SCHEMES)
def test_docs_page_lists_every_parameter(name: str) -> None:
    page = (ROOT / "docs" / "schemes" / f"{name}.md").read_text(encoding="utf-8")
    assert parameter_table(name) in page, (
        f"docs/schemes/{name}.md is out of date with the preset; replace its table with "
        f"parameter_table({name!r}) from tests/test_schemes.py")
    assert pbr.scheme(name).source in page
    index = (ROOT / "docs" / "schemes" / "index.md").read_text(encoding="utf-8")
    assert f"({name}.md)" in index


def test_published_settings() -> None:
    crc = pbr.scheme("crc_pbr_2015")
    assert (crc.comparison.kind, crc.comparison.case_mix) == ("adjusted_baseline", "ogrs4_g3")
    assert crc.cohort.age_group == "adult" and crc.cohort.period == "quarter"
    pb = pbr.scheme("peterborough_sib")
    assert (pb.cohort.period, pb.cohort.cohort_size, pb.cohort.sentence_length) == \
        ("first_n", 1000, "< 12 months")
    assert pb.measure.counting_unit == "court_event" and pb.comparison.form == "ratio"
    rk = pbr.scheme("rikers_able")
    assert str(rk.measure.waiting_period) == "0 days" and rk.cohort.age_group == "16-18"
    assert rk.comparison.kind == "difference_in_differences"
    assert pbr.scheme("justice_data_lab").comparison.min_n == 60
    assert pbr.scheme("moj_national_2011").cohort.period == "rolling 12 months"


def test_scheme_errors_and_printing() -> None:
    with pytest.raises(SpecError, match="unknown scheme 'nope'"):
        pbr.scheme("nope")
    text = pbr.scheme("doncaster_pbr").to_toml()
    with pytest.raises(SpecError, match=r"missing table\(s\) \[comparison\]"):
        Scheme.from_toml(text.split("[comparison]")[0])
    with pytest.raises(SpecError, match="unknown table"):
        Scheme.from_toml(text + "\n[payment]\nx = 1\n")
    with pytest.raises(SpecError, match="unknown cohort field"):
        Scheme.from_toml(text.replace("[cohort]\n", "[cohort]\nwhatever = 1\n"))
    s = pbr.scheme("crc_pbr_2015")
    out = str(s)
    for part in ("Scheme 'crc_pbr_2015'", "CohortRule", "MeasureSpec", "ComparisonSpec"):
        assert part in out
    assert s.replace(title="other").title == "other"


def test_schemes_doctests() -> None:
    assert doctest.testmod(pbr.schemes).failed == 0


_FENCE = re.compile(r"^```(python|text)[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def run_page(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Run a page's python blocks in order; each text block is what the block before printed."""
    namespace: dict[str, object] = {"__name__": "__docs__"}
    text = path.read_text(encoding="utf-8")
    for m in _FENCE.finditer(text):
        line = text.count("\n", 0, m.start()) + 2
        if m.group(1) == "python":
            capsys.readouterr()
            exec(compile("\n" * (line - 1) + m.group(2), str(path), "exec"), namespace)
            printed = capsys.readouterr().out
        else:
            assert m.group(2).strip() in printed, f"{path.name}:{line}"


@pytest.mark.parametrize("page", sorted((ROOT / "docs" / "schemes").glob("*.md")),
                         ids=lambda p: p.name)
def test_scheme_pages_run(page: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_page(page, capsys)


def test_cli_lists_and_shows_schemes() -> None:
    from typer.testing import CliRunner

    from pbr.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["schemes"])
    assert res.exit_code == 0, res.output
    for name in SCHEMES:
        assert name in res.output
    assert "adjusted_baseline" in res.output
    res = runner.invoke(app, ["schemes", "rikers_able"])
    assert res.exit_code == 0 and "difference_in_differences" in res.output
    assert "# [V] change in the 16-18-year-olds against the change in 19-year-olds" \
        in res.output
    toml = "# Rikers" + res.output.split("\n\n# Rikers", 1)[1]
    assert Scheme.from_toml(toml) == pbr.scheme("rikers_able")
    assert runner.invoke(app, ["schemes", "nope"]).exit_code == 2
