"""CohortRule: defaults with sources, validation naming the field, TOML round-trip."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pbr import CohortRule, MeasureSpec, Period, SpecError
from pbr.cohort.rule import age_bounds, sentence_bound


def test_defaults_are_the_moj_rules() -> None:
    rule = CohortRule()
    assert rule.period == "quarter"
    assert rule.index_types == ("caution", "court_order", "custody")
    assert rule.custodial_types == ("custody",)
    assert rule.same_day_precedence == ("custody", "court_order", "caution")
    assert rule.multiple_periods is True
    assert rule.ages == (None, None)
    assert rule.exclusions == ()
    assert rule.rolling_step == Period(3, "months")
    assert rule.cohort_size == 1000


def test_str_prints_every_rule_with_its_source() -> None:
    text = str(CohortRule(name="moj"))
    assert text.startswith("CohortRule 'moj'")
    for name in ("index_types", "period", "same_day_precedence", "age_group", "exclusions",
                 "sentence_length", "carry"):
        assert name in text
    assert "custody > court_order > caution" in text
    assert "[V]" in text and "[R]" in text


@pytest.mark.parametrize("rule", [
    CohortRule(),
    CohortRule(period="first_n", cohort_size=1000, n_periods=2, start=dt.date(2010, 9, 9),
               index_types=["custody"], sentence_length="< 12 months", age_group="adult",
               exclusions=["released_from_court"], multiple_periods=False, name="pb"),
    CohortRule(period="rolling 12 months", rolling_step="1 month", tie_break="values",
               same_day_precedence=["caution", "custody"], feb29_birthday="feb28",
               age_group="16-18", exclusions=["died", "deported", "time_served"],
               died_within="24 months", carry=["cpa"], disposal_categories=["licence"]),
    CohortRule(period="financial_year", sentence_length="<= 6 months", age_group="21+"),
])
def test_toml_round_trip(rule: CohortRule, tmp_path: Path) -> None:
    text = rule.to_toml()
    assert text.startswith("[cohort]")
    assert CohortRule.from_toml(text) == rule
    path = tmp_path / "rule.toml"
    path.write_text(text)
    assert CohortRule.from_toml(path) == rule
    assert CohortRule.from_toml(str(path)) == rule
    assert hash(CohortRule.from_toml(text)) == hash(rule)


def test_scheme_file_with_cohort_and_measure_tables() -> None:
    text = CohortRule(period="12 months").to_toml() + "\n" + MeasureSpec().to_toml()
    assert CohortRule.from_toml(text) == CohortRule(period="12 months")
    assert MeasureSpec.from_toml(text) == MeasureSpec()


def test_toml_without_cohort_table_is_an_error() -> None:
    with pytest.raises(SpecError, match=r"\[cohort\]"):
        CohortRule.from_toml(MeasureSpec().to_toml())


def test_bare_keys_and_unknown_keys() -> None:
    assert CohortRule.from_toml('period = "financial_year"\n').period == "financial_year"
    with pytest.raises(SpecError, match=r"unknown cohort field.*perod"):
        CohortRule.from_toml('[cohort]\nperod = "quarter"\n')


@pytest.mark.parametrize(("changes", "field"), [
    ({"period": "month"}, "period"),
    ({"index_types": "custody"}, "index_types"),
    ({"index_types": []}, "index_types"),
    ({"same_day_precedence": ["custody", "custody"]}, "same_day_precedence"),
    ({"exclusions": ["emigrated"]}, "exclusions"),
    ({"start": "2018-13-01"}, "start"),
    ({"n_periods": 0}, "n_periods"),
    ({"cohort_size": True}, "cohort_size"),
    ({"rolling_step": "3 fortnights"}, "rolling_step"),
    ({"died_within": "0 months"}, "died_within"),
    ({"multiple_periods": "yes"}, "multiple_periods"),
    ({"tie_break": "random"}, "tie_break"),
    ({"age_group": "teenagers"}, "age_group"),
    ({"age_group": "18-16"}, "age_group"),
    ({"feb29_birthday": "mar2"}, "feb29_birthday"),
    ({"sentence_length": "12 months"}, "sentence_length"),
    ({"sentence_length": "< twelve months"}, "sentence_length"),
    ({"name": ""}, "name"),
])
def test_invalid_field_names_the_field_and_the_fix(changes: dict[str, object],
                                                   field: str) -> None:
    with pytest.raises(SpecError, match=f"^{field}: ") as info:
        CohortRule(**changes)  # type: ignore[arg-type]
    assert any(w in str(info.value) for w in ("e.g.", "must be", "expected", "write",
                                              "choose", "give", "list each"))


def test_normalised_values() -> None:
    rule = CohortRule(sentence_length="<12 month", start="2018-01-01",
                      exclusions=["died", "deported", "died"][:2])
    assert rule.sentence_length == "< 12 months"
    assert rule.start == dt.date(2018, 1, 1)
    assert rule.exclusions == ("deported", "died")
    assert rule.replace(age_group="juvenile").ages == (10, 17)


def test_age_and_sentence_helpers() -> None:
    assert age_bounds("all") == (None, None)
    assert age_bounds("adult") == (18, None)
    assert age_bounds("juvenile") == (10, 17)
    assert age_bounds("21+") == (21, None)
    assert sentence_bound(">= 4 days") == (">=", Period(4, "days"))


def test_doctests_of_the_cohort_modules() -> None:
    import doctest

    import pbr.cohort.build
    import pbr.cohort.disposals
    import pbr.cohort.periods
    import pbr.cohort.result
    import pbr.cohort.rule
    import pbr.cohort.synth
    import pbr.io.tables

    for module in (pbr.cohort.build, pbr.cohort.periods, pbr.cohort.result, pbr.cohort.rule,
                   pbr.cohort.disposals, pbr.cohort.synth):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__
    runner = doctest.DocTestRunner()
    for test in doctest.DocTestFinder().find(pbr.io.tables.read_disposals):
        runner.run(test)
    assert runner.failures == 0 and runner.tries > 0
