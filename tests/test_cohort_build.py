"""build_cohort: a hand-worked case for every rule (K1-K10, docs/methodology/cohorts.md)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import polars as pl
import pytest

import pbr
from pbr import CohortRule, SchemaError, SpecError, build_cohort

D = dt.date.fromisoformat


def dis(rows: Sequence[tuple[Any, ...]], **extra: Sequence[Any]) -> pl.DataFrame:
    """Disposals from (offender_id, disposal_date, type[, release_date]) tuples."""
    data: dict[str, Any] = {
        "offender_id": [r[0] for r in rows],
        "disposal_date": [D(r[1]) for r in rows],
        "disposal_type": [r[2] for r in rows],
        "release_date": [D(r[3]) if len(r) > 3 and r[3] else None for r in rows],
    }
    data.update(extra)
    return pl.DataFrame(data, schema_overrides={"offender_id": pl.Int64,
                                                "release_date": pl.Date})


def entries(built: pbr.CohortBuild) -> list[tuple[Any, ...]]:
    return built.frame.select("offender_id", "cohort_period", "index_date",
                              "disposal_row").rows()


def reason(built: pbr.CohortBuild, row: int) -> str:
    for e in built.exclusions.entries:
        if row in e.rows.tolist():
            return e.rule
    return "index_event"


def reasons(built: pbr.CohortBuild) -> list[str]:
    return [reason(built, r) for r in range(built.n_input)]


# ----------------------------------------------------------------- K1, K2: who enters
def test_index_types_and_custody_entering_on_release() -> None:
    built = build_cohort(dis([
        (1, "2017-11-01", "custody", "2018-02-01"),   # sentenced Q4 2017, enters Q1 2018
        (2, "2018-01-10", "court_order"),
        (3, "2018-01-11", "caution"),
        (4, "2018-01-12", "remand"),                   # not an index type
        (5, "2018-01-13", "custody"),                  # still in custody
    ]), CohortRule(start=D("2018-01-01"), n_periods=1))
    assert entries(built) == [(2, "2018Q1", D("2018-01-10"), 1),
                              (3, "2018Q1", D("2018-01-11"), 2),
                              (1, "2018Q1", D("2018-02-01"), 0)]
    assert reasons(built) == ["index_event"] * 3 + ["not_index_type", "not_released"]
    assert built.frame["index_type"].to_list() == ["court_order", "caution", "custody"]


def test_open_set_of_types_and_custodial_types() -> None:
    rule = CohortRule(index_types=["licence_start", "order_start"], custodial_types=[],
                      start=D("2018-01-01"), n_periods=1)
    built = build_cohort(dis([(1, "2018-01-02", "licence_start"),
                              (2, "2018-01-03", "order_start"),
                              (3, "2018-01-04", "custody", "2018-01-05")]), rule)
    assert [e[0] for e in entries(built)] == [1, 2]
    assert reasons(built)[2] == "not_index_type"


def test_release_in_a_later_quarter_enters_that_quarter() -> None:
    built = build_cohort(dis([(1, "2018-03-20", "custody", "2018-04-02")]),
                         CohortRule(start=D("2018-01-01"), n_periods=2))
    assert entries(built) == [(1, "2018Q2", D("2018-04-02"), 0)]


# ----------------------------------------------------------------- K3: periods
def test_quarters_and_several_periods() -> None:
    rows = dis([(1, "2018-03-31", "caution"), (1, "2018-04-01", "caution"),
                (1, "2018-05-01", "court_order")])
    many = build_cohort(rows, CohortRule())
    assert many.periods == ("2018Q1", "2018Q2")
    assert entries(many) == [(1, "2018Q1", D("2018-03-31"), 0), (1, "2018Q2", D("2018-04-01"), 1)]
    assert reasons(many) == ["index_event", "index_event", "not_first_in_period"]
    once = build_cohort(rows, CohortRule(multiple_periods=False))
    assert entries(once) == [(1, "2018Q1", D("2018-03-31"), 0)]
    assert reasons(once) == ["index_event", "in_earlier_period", "not_first_in_period"]


def test_twelve_month_period_and_outside_periods() -> None:
    built = build_cohort(dis([(1, "2017-12-31", "caution"), (2, "2018-01-01", "caution"),
                              (3, "2018-12-31", "caution"), (4, "2019-01-01", "caution")]),
                         CohortRule(period="12 months", start=D("2018-01-01"), n_periods=1))
    assert built.periods == ("2018-01-01 to 2018-12-31",)
    assert [e[0] for e in entries(built)] == [2, 3]
    assert reasons(built) == ["outside_periods", "index_event", "index_event",
                              "outside_periods"]


def test_rolling_twelve_month_windows_overlap() -> None:
    built = build_cohort(dis([(1, "2018-02-01", "caution"), (1, "2018-05-01", "caution"),
                              (2, "2019-03-31", "caution")]),
                         CohortRule(period="rolling 12 months", start=D("2018-01-01"),
                                    n_periods=3))
    w0, w1, w2 = built.periods
    assert (w0, w2) == ("2018-01-01 to 2018-12-31", "2018-07-01 to 2019-06-30")
    assert entries(built) == [(1, w0, D("2018-02-01"), 0), (1, w1, D("2018-05-01"), 1),
                              (2, w1, D("2019-03-31"), 2), (2, w2, D("2019-03-31"), 2)]
    assert built.n_used == 3 and len(built.exclusions) == 0
    assert built.summary(by="period")["people"].to_list() == [1, 2, 1]


def test_financial_years_from_the_data() -> None:
    built = build_cohort(dis([(1, "2018-03-31", "caution"), (2, "2018-04-01", "caution"),
                              (3, "2019-03-31", "caution")]),
                         CohortRule(period="financial_year"))
    assert built.periods == ("FY2017/18", "FY2018/19")
    assert [e[:2] for e in entries(built)] == [(1, "FY2017/18"), (2, "FY2018/19"),
                                               (3, "FY2018/19")]


def _sequence() -> pl.DataFrame:
    # people in release order: A A B C A B D (one release a day from 1 March 2011)
    people = [1, 1, 2, 3, 1, 2, 4]
    return dis([(p, f"2011-03-{k + 1:02d}", "custody", f"2011-03-{k + 1:02d}")
                for k, p in enumerate(people)])


def test_first_n_consecutive_people_several_cohorts() -> None:
    built = build_cohort(_sequence(), CohortRule(period="first_n", cohort_size=2))
    assert built.periods == ("cohort 1", "cohort 2", "cohort 3")
    assert [(e[0], e[1]) for e in entries(built)] == [
        (1, "cohort 1"), (2, "cohort 1"), (3, "cohort 2"), (1, "cohort 2"),
        (2, "cohort 3"), (4, "cohort 3")]
    assert reasons(built)[1] == "not_first_in_period"


def test_first_n_once_per_person_and_number_of_cohorts() -> None:
    once = build_cohort(_sequence(), CohortRule(period="first_n", cohort_size=2,
                                                multiple_periods=False))
    assert [(e[0], e[1]) for e in entries(once)] == [
        (1, "cohort 1"), (2, "cohort 1"), (3, "cohort 2"), (4, "cohort 2")]
    assert reasons(once) == ["index_event", "not_first_in_period", "index_event",
                             "index_event", "in_earlier_period", "in_earlier_period",
                             "index_event"]
    one = build_cohort(_sequence(), CohortRule(period="first_n", cohort_size=2, n_periods=1,
                                               multiple_periods=False,
                                               start=D("2011-03-02")))
    assert [e[0] for e in entries(one)] == [1, 2]
    assert reasons(one) == ["outside_periods", "index_event", "index_event",
                            "outside_periods", "outside_periods", "outside_periods",
                            "outside_periods"]


# ----------------------------------------------------------------- K4: same day
def test_same_day_precedence_default_and_configured() -> None:
    rows = dis([(1, "2018-02-01", "caution"), (1, "2018-02-01", "court_order"),
                (1, "2018-01-01", "custody", "2018-02-01"), (1, "2018-02-01", "licence_start")],
               area=["a", "b", "c", "d"])
    rule = CohortRule(index_types=["caution", "court_order", "custody", "licence_start"])
    built = build_cohort(rows, rule)
    assert built.frame["index_type"].to_list() == ["custody"]
    assert built.frame["area"].to_list() == ["c"]
    assert reasons(built) == ["same_day_precedence", "same_day_precedence", "index_event",
                              "same_day_precedence"]
    caution_first = build_cohort(rows, rule.replace(same_day_precedence=["caution"]))
    assert caution_first.frame["index_type"].to_list() == ["caution"]
    # unlisted types come after the listed ones, in input order
    only_licence = build_cohort(rows, rule.replace(same_day_precedence=["licence_start"]))
    assert only_licence.frame["index_type"].to_list() == ["licence_start"]
    neither = build_cohort(rows, rule.replace(same_day_precedence=["remand"]))
    assert neither.frame["index_type"].to_list() == ["caution"]


def test_same_type_tie_broken_by_row_or_by_values() -> None:
    rows = dis([(1, "2018-02-01", "caution"), (1, "2018-02-01", "caution")], area=["z", "a"])
    assert build_cohort(rows, CohortRule()).frame["area"].to_list() == ["z"]
    assert build_cohort(rows, CohortRule(tie_break="values")).frame["area"].to_list() == ["a"]
    flipped = rows.reverse()
    assert build_cohort(flipped, CohortRule(tie_break="values")).frame["area"].to_list() == ["a"]


def test_first_event_in_period_wins_over_a_later_higher_precedence_one() -> None:
    built = build_cohort(dis([(1, "2018-01-05", "caution"),
                              (1, "2018-01-01", "custody", "2018-01-06")]), CohortRule())
    assert built.frame["index_type"].to_list() == ["caution"]
    assert reasons(built) == ["index_event", "not_first_in_period"]


# ----------------------------------------------------------------- K6: age
def test_age_boundary_on_the_eighteenth_birthday() -> None:
    rows = dis([(1, "2018-06-14", "caution"), (2, "2018-06-15", "caution")],
               date_of_birth=[D("2000-06-15")] * 2)
    adult = build_cohort(rows, CohortRule(age_group="adult"))
    juvenile = build_cohort(rows, CohortRule(age_group="juvenile"))
    assert adult.frame.select("offender_id", "age").rows() == [(2, 18)]
    assert juvenile.frame.select("offender_id", "age").rows() == [(1, 17)]
    assert reasons(adult) == ["age_group", "index_event"]


@pytest.mark.parametrize(("index", "mar1", "feb28"), [
    ("2018-02-28", 17, 18), ("2018-03-01", 18, 18), ("2017-02-28", 16, 17),
    ("2020-02-28", 19, 19), ("2020-02-29", 20, 20),
])
def test_29_february_birthdays(index: str, mar1: int, feb28: int) -> None:
    rows = dis([(1, index, "caution")], date_of_birth=[D("2000-02-29")])
    assert build_cohort(rows, CohortRule()).frame["age"].to_list() == [mar1]
    assert build_cohort(rows, CohortRule(feb29_birthday="feb28")).frame["age"].to_list() == \
        [feb28]


def test_age_at_release_for_custody_and_age_column() -> None:
    rows = dis([(1, "2018-06-01", "custody", "2018-07-01")], date_of_birth=[D("2000-06-15")])
    assert build_cohort(rows, CohortRule(age_group="adult")).frame["age"].to_list() == [18]
    by_age = dis([(1, "2018-01-01", "caution"), (2, "2018-01-01", "caution"),
                  (3, "2018-01-01", "caution"), (4, "2018-01-01", "caution")],
                 age=[9, 10, 17, None])
    built = build_cohort(by_age, CohortRule(age_group="juvenile"))
    assert built.frame["offender_id"].to_list() == [2, 3]
    assert reasons(built) == ["age_group", "index_event", "index_event", "missing_age"]
    assert build_cohort(by_age, CohortRule(age_group="16-18")).frame["offender_id"].to_list() \
        == [3]


def test_age_group_without_an_age_column_names_the_fix() -> None:
    with pytest.raises(SchemaError, match=r"date_of_birth or age column.*Fix"):
        build_cohort(dis([(1, "2018-01-01", "caution")]), CohortRule(age_group="adult"))


# ----------------------------------------------------------------- K7: sentence, category
@pytest.mark.parametrize(("rule", "days", "kept"), [
    ("< 12 months", [364, 365], [True, False]),
    ("<= 6 months", [181, 182], [True, False]),     # 2018-01-01 + 6 months = 2018-07-01
    ("< 6 months", [180, 181], [True, False]),
    (">= 12 months", [364, 365], [False, True]),
    ("> 4 days", [4, 5], [False, True]),
])
def test_sentence_length_boundaries(rule: str, days: list[int], kept: list[bool]) -> None:
    rows = dis([(1, "2018-01-01", "court_order"), (2, "2018-01-01", "court_order")],
               sentence_length_days=days)
    built = build_cohort(rows, CohortRule(sentence_length=rule))
    assert [p in built.frame["offender_id"].to_list() for p in (1, 2)] == kept


def test_sentence_length_in_months_is_calendar_from_the_sentence_date() -> None:
    # 2019-02-01 + 12 months = 2020-02-01: 365 days (not leap) fits "< 12 months"
    # while from 2019-03-01 it is 366 days, so 365 days is still shorter
    rows = dis([(1, "2019-02-01", "court_order"), (2, "2019-03-01", "court_order")],
               sentence_length_days=[365, 365])
    built = build_cohort(rows, CohortRule(sentence_length="< 12 months"))
    assert built.frame["offender_id"].to_list() == [2]
    missing = build_cohort(dis([(1, "2018-01-01", "caution")], sentence_length_days=[None]),
                           CohortRule(sentence_length="< 12 months"))
    assert reasons(missing) == ["missing_sentence_length"]


def test_disposal_categories() -> None:
    rows = dis([(1, "2018-01-01", "court_order"), (2, "2018-01-01", "court_order"),
                (3, "2018-01-01", "court_order")],
               disposal_category=["community_order", "fine", None])
    built = build_cohort(rows, CohortRule(disposal_categories=["community_order"]))
    assert built.frame["offender_id"].to_list() == [1]
    assert reasons(built) == ["index_event", "disposal_category", "disposal_category"]


# ----------------------------------------------------------------- K8: exclusions
@pytest.mark.parametrize("flag", ["deported", "time_served", "breach_only",
                                  "released_from_court"])
def test_each_flag_exclusion(flag: str) -> None:
    rows = dis([(1, "2018-01-01", "custody", "2018-01-20"),
                (2, "2018-01-01", "custody", "2018-01-20")], **{flag: [True, False]})
    assert build_cohort(rows, CohortRule()).n_used == 2  # off by default
    built = build_cohort(rows, CohortRule(exclusions=[flag]))
    assert built.frame["offender_id"].to_list() == [2]
    assert reasons(built) == [flag, "index_event"]
    assert built.exclusions.count(rule=flag) == 1


def test_flagged_exclusion_lets_a_later_eligible_event_in() -> None:
    rows = dis([(1, "2018-01-01", "custody", "2018-01-20"), (1, "2018-02-01", "caution")],
               deported=[True, False])
    built = build_cohort(rows, CohortRule(exclusions=["deported"]))
    assert built.frame["index_type"].to_list() == ["caution"]


def test_died_during_follow_up() -> None:
    rows = dis([(1, "2018-02-01", "caution"), (1, "2018-03-01", "caution"),
                (2, "2018-02-01", "caution"), (3, "2018-02-01", "caution")],
               date_of_death=[D("2019-01-31"), D("2019-01-31"), D("2019-02-01"), None])
    built = build_cohort(rows, CohortRule(exclusions=["died"]))
    # death one day before the end of the 12 months excludes; on the day it does not
    assert built.frame["offender_id"].to_list() == [2, 3]
    assert reasons(built) == ["died", "not_first_in_period", "index_event", "index_event"]
    shorter = build_cohort(rows, CohortRule(exclusions=["died"], died_within="6 months"))
    assert shorter.frame["offender_id"].to_list() == [1, 2, 3]


def test_exclusion_without_its_column_names_the_fix() -> None:
    with pytest.raises(SchemaError, match="'deported' exclusion needs a deported column"):
        build_cohort(dis([(1, "2018-01-01", "caution")]), CohortRule(exclusions=["deported"]))
    with pytest.raises(SchemaError, match="date_of_death"):
        build_cohort(dis([(1, "2018-01-01", "caution")]), CohortRule(exclusions=["died"]))


# ----------------------------------------------------------------- K9: carried columns
def test_provider_area_region_come_from_the_index_event() -> None:
    rows = dis([(1, "2018-01-05", "court_order"), (1, "2018-02-01", "caution"),
                (1, "2018-04-01", "caution")],
               provider=["P1", "P2", "P3"], area=["A1", "A2", "A3"], region=["R1", "R2", "R3"])
    built = build_cohort(rows, CohortRule())
    assert built.frame.select("cohort_period", "provider", "area", "region").rows() == [
        ("2018Q1", "P1", "A1", "R1"), ("2018Q2", "P3", "A3", "R3")]
    assert not built.notes
    custom = build_cohort(rows.rename({"area": "cpa"}), CohortRule(carry=["cpa", "lot"]))
    assert custom.frame["cpa"].to_list() == ["A1", "A3"]
    assert custom.notes == ("carry column 'lot' is not in the disposals; not carried",)


def test_user_column_names_map_onto_roles() -> None:
    rows = dis([(1, "2018-01-01", "custody", "2018-01-10")]).rename(
        {"offender_id": "pnc", "release_date": "discharged", "disposal_date": "sentenced"})
    built = build_cohort(rows, CohortRule(), offender_id="pnc", release_date="discharged",
                         disposal_date="sentenced")
    assert entries(built) == [(1, "2018Q1", D("2018-01-10"), 0)]


# ----------------------------------------------------------------- result object
def test_cohort_for_measure_and_periods() -> None:
    rows = dis([(1, "2018-01-01", "caution"), (1, "2018-04-01", "caution"),
                (2, "2018-01-02", "caution")])
    built = build_cohort(rows, CohortRule())
    with pytest.raises(SpecError, match=r"several periods.*for_period"):
        _ = built.cohort
    assert built.for_period("2018Q1").n == 2
    assert {k: c.n for k, c in built.cohorts().items()} == {"2018Q1": 2, "2018Q2": 1}
    with pytest.raises(SpecError, match="unknown period"):
        built.for_period("2019Q1")
    once = build_cohort(rows, CohortRule(multiple_periods=False))
    assert once.cohort.n == 2


def test_summary_str_explain_and_provenance() -> None:
    rows = dis([(1, "2018-01-01", "caution"), (1, "2018-01-01", "court_order"),
                (1, "2018-02-01", "remand")])
    built = build_cohort(rows, CohortRule(name="moj"))
    s = built.summary()
    assert s["rule"].to_list() == ["index_event", "not_index_type", "same_day_precedence"]
    assert s["rows"].sum() == built.n_input == 3
    text = str(built)
    assert text == str(build_cohort(rows, CohortRule(name="moj")))
    assert "disposal rows in                   3" in text
    why = built.explain(1)
    assert "row 1: court_order 2018-01-01 -> index event of 2018Q1" in why
    assert "row 0: caution 2018-01-01 -> not used:" in why and "[same_day_precedence]" in why
    assert "[not_index_type]" in why
    with pytest.raises(SpecError, match="no valid disposal rows"):
        built.explain(99)
    prov = built.provenance
    assert prov["rule"] == built.rule.to_toml()
    assert len(prov["disposals_sha256"]) == 64
    assert built.to_pandas().shape[0] == 1


def test_invalid_rows_go_to_the_ledger_with_exclude() -> None:
    rows = pl.DataFrame({"offender_id": [1, 2, None], "disposal_date": ["2018-01-01", "x",
                                                                        "2018-01-01"],
                         "disposal_type": ["caution"] * 3})
    with pytest.raises(SchemaError, match=r"row 1 .*disposal_date is not a date"):
        build_cohort(rows)
    built = build_cohort(rows, on_invalid="exclude")
    assert built.n_input == 3 and built.n_used == 1
    assert built.summary()["rule"].to_list() == ["index_event", "missing_offender_id",
                                                 "unparseable_disposal_date"]


def test_empty_and_rule_type_errors() -> None:
    built = build_cohort(dis([(1, "2018-01-01", "remand")]), CohortRule())
    assert built.frame.height == 0 and built.periods == ()
    with pytest.raises(SpecError, match="unknown scheme 'moj'"):
        build_cohort(dis([(1, "2018-01-01", "remand")]), "moj")
    with pytest.raises(SpecError, match="expected a CohortRule or a scheme name"):
        build_cohort(dis([(1, "2018-01-01", "remand")]), 3)  # type: ignore[arg-type]


def test_scheme_name_as_rule() -> None:
    rows = dis([(1, "2010-09-10", "custody", "2010-10-01"), (2, "2010-09-10", "caution")],
               date_of_birth=[D("1980-01-01")] * 2, sentence_length_days=[90, None],
               released_from_court=[False, False], sex=["M", "M"])
    built = build_cohort(rows, "peterborough_sib")
    assert built.rule == pbr.scheme("peterborough_sib").cohort
    assert entries(built) == [(1, "cohort 1", D("2010-10-01"), 0)]
    assert reasons(built) == ["index_event", "not_index_type"]


def test_explain_accepts_the_identifier_as_text() -> None:
    built = build_cohort(dis([(7, "2018-01-01", "caution")]))
    assert built.explain("7") == built.explain(7)
    text = build_cohort(dis([(7, "2018-01-01", "caution")]).with_columns(
        pl.col("offender_id").cast(pl.String)))
    assert text.explain(7) == text.explain("7")
    with pytest.raises(SpecError, match="identifiers are integers"):
        built.explain("x7")


# ----------------------------------------------------------------- K2 stay, K10 where
def test_min_custody_stay_counts_release_minus_sentence_date() -> None:
    rows = dis([
        (1, "2018-01-10", "custody", "2018-01-14"),   # 4 days: too short for 5 days
        (2, "2018-01-10", "custody", "2018-01-15"),   # exactly 5 days: enters
        (3, "2018-01-10", "court_order"),             # not custodial: no stay rule
        (4, "2018-01-10", "custody"),                 # still in custody: not released
    ])
    built = build_cohort(rows, CohortRule(start=D("2018-01-01"), n_periods=1,
                                          min_custody_stay="5 days"))
    assert reasons(built) == ["short_stay", "index_event", "index_event", "not_released"]
    assert [o for o, *_ in entries(built)] == [3, 2]  # by index date: 10 and 15 January
    assert built.n_input == built.n_used + len(built.exclusions.to_frame())


def test_where_keeps_only_the_allowed_values_and_names_a_missing_column() -> None:
    rows = dis([(1, "2018-01-10", "caution"), (2, "2018-01-11", "caution"),
                (3, "2018-01-12", "caution"), (4, "2018-01-13", "caution")],
               sex=["M", "F", None, "M"], establishment=["A", "A", "A", "B"])
    rule = CohortRule(start=D("2018-01-01"), n_periods=1,
                      where={"sex": ["M"], "establishment": ["A"]})
    built = build_cohort(rows, rule)
    assert reasons(built) == ["index_event", "where", "where", "where"]
    assert CohortRule.from_toml(rule.to_toml()) == rule
    assert "sex in M" in str(rule)
    with pytest.raises(SchemaError, match=r"where\.prison"):
        build_cohort(rows, rule.replace(where={"prison": ["A"]}))
    with pytest.raises(SpecError, match=r"where\.sex: give at least one"):
        CohortRule(where={"sex": []})
    with pytest.raises(SpecError, match="min_custody_stay"):
        CohortRule(min_custody_stay="five days")


def test_where_compares_numbers_as_text() -> None:
    rows = dis([(1, "2018-01-10", "caution"), (2, "2018-01-11", "caution")], site=[7, 8])
    built = build_cohort(rows, CohortRule(start=D("2018-01-01"), n_periods=1,
                                          where={"site": [7]}))
    assert reasons(built) == ["index_event", "where"]
