"""Every spec writes and reads its TOML through one base (pbr._toml): the classes hold no
copy of their own, the text is the one the hand-written methods wrote (pinned below, with
a tuple-of-pairs table, a period, a date and None fields left out), and every spec reads
what it writes."""

from __future__ import annotations

import datetime as dt

import pytest

import pbr
from pbr._toml import TomlDocument, TomlTable, plain

TABLES = {pbr.MeasureSpec: "measure", pbr.CohortRule: "cohort", pbr.ComparisonSpec: "comparison",
          pbr.MatchSpec: "match"}

RULE_TOML = """\
[cohort]
index_types = [
    "caution",
    "court_order",
    "custody",
]
custodial_types = [
    "custody",
]
disposal_categories = []
period = "quarter"
start = 2020-01-01
n_periods = 2
rolling_step = "3 months"
cohort_size = 1000
same_day_precedence = [
    "custody",
    "court_order",
    "caution",
]
multiple_periods = true
tie_break = "row"
age_group = "all"
feb29_birthday = "mar1"
exclusions = []
died_within = "12 months"
carry = [
    "area",
]
min_custody_stay = "5 days"
name = "golden"

[cohort.where]
sex = [
    "M",
]
"""

MEASURE_TOML = """\
[measure]
follow_up = "12 months"
waiting_period = "6 months"
include_index_day = false
proof_types = [
    "conviction",
]
counting_unit = "offence"
include_codes = []
exclude_codes = []
include_categories = []
exclude_categories = [
    "breach",
]
unmapped_severity = "error"
unmapped_weight = 0.0
serious_codes = []
as_of = 2024-03-31
interim = false
name = "golden"

[measure.severity_weights]
A = 1.5
B = 2.0
"""


def test_the_specs_share_one_base() -> None:
    for cls, name in TABLES.items():
        assert issubclass(cls, TomlTable) and cls._table == name
        for method in ("to_dict", "from_dict", "to_toml", "from_toml"):
            assert method not in vars(cls), f"{cls.__name__}.{method} is a copy"
    for cls in (pbr.Scheme, pbr.Baseline):
        assert issubclass(cls, TomlDocument)
        assert "to_toml" not in vars(cls) and "from_toml" not in vars(cls)


def test_the_text_is_pinned() -> None:
    rule = pbr.CohortRule(where=(("sex", ("M",)),), min_custody_stay=pbr.Period(5, "days"),
                          start=dt.date(2020, 1, 1), n_periods=2, carry=("area",),
                          name="golden")
    spec = pbr.MeasureSpec(severity_weights=(("A", 1.5), ("B", 2.0)),
                           as_of=dt.date(2024, 3, 31), proof_types=("conviction",),
                           name="golden")
    assert rule.to_toml() == RULE_TOML and spec.to_toml() == MEASURE_TOML
    assert pbr.CohortRule.from_toml(RULE_TOML) == rule
    assert pbr.MeasureSpec.from_toml(MEASURE_TOML) == spec
    assert rule.to_dict()["where"] == {"sex": ["M"]} and "sentence_length" not in rule.to_dict()


@pytest.mark.parametrize("name", pbr.available_schemes())
def test_every_scheme_and_its_specs_read_what_they_write(name: str) -> None:
    s = pbr.scheme(name)
    assert pbr.Scheme.from_toml(s.to_toml()) == s
    for part in (s.cohort, s.measure, s.comparison):
        assert type(part).from_toml(part.to_toml()) == part
        assert type(part).from_dict(part.to_dict()) == part


def test_unknown_keys_are_named_with_the_table() -> None:
    with pytest.raises(pbr.SpecError, match=r"^unknown match field\(s\) ratoi; known"):
        pbr.MatchSpec.from_toml("[match]\nratoi = 2")
    with pytest.raises(pbr.SpecError, match=r"^unknown field\(s\) follow_upp; known"):
        pbr.MeasureSpec.from_toml("follow_upp = '6 months'")
    with pytest.raises(pbr.SpecError, match=r"no \[cohort\] table"):
        pbr.CohortRule.from_toml("[measure]\nfollow_up = '6 months'")


def test_plain_values() -> None:
    assert plain((pbr.Period(6, "months"), ("a", "b"))) == ["6 months", ["a", "b"]]
    assert plain(dt.date(2024, 1, 2)) == dt.date(2024, 1, 2)
