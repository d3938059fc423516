"""Scheme presets and the ComparisonSpec they carry."""

from __future__ import annotations

import doctest

import pytest

import pbr
import pbr.comparison_spec
from pbr.comparison_spec import ComparisonSpec
from pbr.errors import SpecError


def test_comparison_spec_doctests() -> None:
    assert doctest.testmod(pbr.comparison_spec).failed == 0


def test_comparison_spec_round_trips_and_hashes() -> None:
    spec = ComparisonSpec(kind="adjusted_baseline", case_mix="ogrs4_g3", baseline="2011",
                          test="baseline_interval", measures=["binary_rate", "per_reoffender"],
                          level=0.1, sides="less", name="x")
    assert ComparisonSpec.from_toml(spec.to_toml()) == spec
    assert hash(spec) == hash(ComparisonSpec.from_toml(spec.to_toml()))
    assert spec.measures == ("binary_rate", "per_reoffender")
    with pytest.raises(AttributeError):
        spec.level = 0.2  # type: ignore[misc]


@pytest.mark.parametrize(("level", "sides", "z"), [
    (0.05, "two-sided", 1.959963984540054),
    (0.05, "less", 1.6448536269514722),
    (0.1, "two-sided", 1.6448536269514722),
    (0.01, "greater", 2.3263478740408408),
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
    ({"level": 0.7}, "level"),
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
    with pytest.raises(SpecError, match="unknown field.*alpha"):
        ComparisonSpec.from_toml("[comparison]\nalpha = 0.05\n")


def test_str_lists_every_field_with_its_source() -> None:
    text = str(ComparisonSpec())
    for name in ("kind", "measures", "form", "case_mix", "test", "level", "sides",
                 "trend_adjustment", "min_n"):
        assert f"  {name} " in text
    assert "z = 1.9600" in text
    assert pbr.ComparisonSpec is ComparisonSpec
