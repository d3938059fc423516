"""Outcome events and participants: validation (bad inputs name column, row, value and
fix; exclusions counted), the shipped template, definitions, the evidence rules O1-O10
hand-worked, and higher-is-better outcome measures compared and paid on improvement."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

import pbr
from pbr.compare.registry import MEASURES, better, measure_info
from pbr.contract import Component, Contract, Outcome, pay
from pbr.errors import SchemaError, SpecError
from pbr.outcomes import (
    EVENT_COLUMNS,
    STANDARD,
    OutcomeDefinition,
    OutcomeEvents,
    Participants,
    assess,
    definitions,
    read_outcome_events,
    read_participants,
    template_path,
)

D = dt.date


def _events(**over: list[object]) -> pl.DataFrame:
    base: dict[str, list[object]] = {
        "participant_id": ["A"], "outcome_type": ["employment_13w"],
        "date_achieved": ["2020-06-01"], "evidence_ref": ["PS-1"],
        "evidence_type": ["payslip"], "verified": ["true"]}
    base.update(over)
    return pl.DataFrame(base)


# ---------------------------------------------------------------- the template
def test_template_reads_and_has_the_columns() -> None:
    path = template_path()
    assert path.is_file()
    assert path.read_text().splitlines()[0] == ",".join(EVENT_COLUMNS)
    ev = read_outcome_events(path)
    assert ev.n == 6 and not len(ev.exclusions)
    assert ev.data["verified"].to_list() == [True, True, True, True, False, True]
    assert ev.data["date_achieved"].dtype == pl.Date
    assert pbr.read_outcome_events is read_outcome_events


def test_read_from_a_file_with_other_names(tmp_path: Path) -> None:
    p = tmp_path / "claims.csv"
    p.write_text("pid;what;when;ref;kind;ok\n7;Employment_13W ;2021-01-05;R;Payslip;Yes\n")
    ev = read_outcome_events(p, separator=";", participant_id="pid", outcome_type="what",
                             date_achieved="when", evidence_ref="ref", evidence_type="kind",
                             verified="ok")
    assert ev.data.row(0, named=True) | {"row": 0} == {
        "row": 0, "participant_id": "7", "outcome_type": "employment_13w",
        "date_achieved": D(2021, 1, 5), "evidence_ref": "R", "evidence_type": "payslip",
        "verified": True}
    assert ev.source == str(p)


# ---------------------------------------------------------------- bad inputs
@pytest.mark.parametrize(("over", "match"), [
    ({"outcome_type": ["employment_12w"]},
     r"outcome_events.outcome_type: row 0 holds 'employment_12w', not a defined outcome"),
    ({"outcome_type": [None]}, r"outcome_type: missing at row 0"),
    ({"date_achieved": ["01/06/2020"]},
     r"date_achieved: row 0 holds '01/06/2020', not a date; write dates as YYYY-MM-DD"),
    ({"date_achieved": [None]}, r"date_achieved: missing at row 0"),
    ({"verified": ["maybe"]}, r"verified: row 0 holds 'maybe'; give true or false"),
    ({"verified": [None]}, r"verified: missing at row 0"),
    ({"verified": [2]}, r"verified: row 0 holds 2"),
    ({"evidence_type": ["photo"]}, r"evidence_type: row 0 holds 'photo'; use one of payslip"),
    ({"participant_id": [" "]}, r"participant_id: missing at row 0"),
    ({"participant_id": [1.5]}, r"identifiers must be integers or text"),
])
def test_bad_event_rows_are_named(over: dict[str, list[object]], match: str) -> None:
    with pytest.raises(SchemaError, match=match):
        OutcomeEvents.from_frame(_events(**over))


def test_missing_column_and_unknown_mapping() -> None:
    with pytest.raises(SchemaError, match=r"required column 'verified' is missing.*"
                                          r"verified=\"your_column\""):
        OutcomeEvents.from_frame(_events().drop("verified"))
    with pytest.raises(SchemaError, match=r"column 'ok' \(given for verified\) is not in"):
        OutcomeEvents.from_frame(_events(), verified="ok")
    with pytest.raises(SchemaError, match=r"on_invalid: 'raise' or 'exclude'"):
        OutcomeEvents.from_frame(_events(), on_invalid="drop")
    with pytest.raises(SchemaError, match=r"holds date-times"):
        OutcomeEvents.from_frame(_events(date_achieved=[dt.datetime(2020, 1, 1, 9)]))
    with pytest.raises(SchemaError, match=r"no file"):
        read_outcome_events("/nonexistent/claims.csv")


def test_exclude_counts_rows_with_their_reasons() -> None:
    frame = pl.DataFrame({
        "participant_id": ["A", "B", "C", "D", "A", None],
        "outcome_type": ["employment_13w", "nonsense", "employment_13w", "qualification",
                         "employment_13w", "qualification"],
        "date_achieved": ["2020-06-01", "2020-06-01", "2020-13-01", "2020-06-01",
                          "2020-06-01", "2020-06-01"],
        "evidence_ref": ["PS-1", "X", "Y", "C", "PS-1", "Z"],
        "evidence_type": ["payslip", "payslip", "payslip", "certificate", "payslip",
                          "certificate"],
        "verified": ["true", "true", "true", "no", "true", "yes"]})
    ev = OutcomeEvents.from_frame(frame, on_invalid="exclude")
    assert ev.data["row"].to_list() == [0, 3]
    counts = {r["rule"]: r["count"] for r in ev.exclusions.counts().iter_rows(named=True)}
    assert counts == {"missing_participant_id": 1, "unknown_outcome_type": 1,
                      "bad_date_achieved": 1, "duplicate_row": 1}
    assert ev.exclusions.to_frame().filter(pl.col("rule") == "duplicate_row")["row"] \
        .to_list() == [4]


def test_participants_validation() -> None:
    with pytest.raises(SchemaError, match=r"participants.participant_id: 'A' appears on rows "
                                          r"\[0, 1\]"):
        Participants.from_frame(pl.DataFrame({"participant_id": ["A", "A"],
                                              "start_date": [D(2020, 1, 1)] * 2}))
    with pytest.raises(SchemaError, match=r"participants.start_date: missing at row 1"):
        Participants.from_frame(pl.DataFrame({"participant_id": ["A", "B"],
                                              "start_date": [D(2020, 1, 1), None]}))
    p = Participants.from_frame(pl.DataFrame({"offender_id": [1, 2], "index_date":
                                              ["2020-01-01", "bad"], "sex": ["F", "M"],
                                              "period": ["Q1", "Q1"]}),
                                participant_id="offender_id", start_date="index_date",
                                cohort="period", on_invalid="exclude")
    assert p.data["participant_id"].to_list() == ["1"]
    assert p.attributes == ("sex",) and p.data["cohort"].to_list() == ["Q1"]
    assert p.exclusions.count(rule="bad_start_date") == 1


def test_read_participants(tmp_path: Path) -> None:
    f = tmp_path / "people.csv"
    f.write_text("participant_id,start_date,cohort,sex\nP0001,2021-03-01,2021,F\n")
    p = read_participants(f)
    assert p.start() == {"P0001": D(2021, 3, 1)} and p.attributes == ("sex",)


# ---------------------------------------------------------------- definitions
def test_standard_definitions() -> None:
    assert set(STANDARD) == {"accommodation_13w", "employment_13w", "employment_26w",
                             "treatment_completed", "qualification"}
    assert STANDARD["employment_26w"].requires == ("employment_13w",)
    assert STANDARD["accommodation_13w"].earliest(D(2020, 1, 1)) == D(2020, 4, 1)
    assert STANDARD["treatment_completed"].latest(D(2020, 1, 1)) == D(2020, 12, 31)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"evidence": ()}, r"evidence: list the evidence types"),
    ({"evidence": ("photo",)}, r"unknown evidence type"),
    ({"sustained_weeks": -1}, r"sustained_weeks: a whole number"),
    ({"sustained_weeks": 13, "window_days": 30}, r"shorter than the 13 weeks"),
    ({"requires": ("x",)}, r"an outcome cannot require itself"),
])
def test_bad_definitions(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"name": "x", "title": "t", "evidence": ("payslip",)}
    args.update(kwargs)
    with pytest.raises(SpecError, match=match):
        OutcomeDefinition(**args)  # type: ignore[arg-type]


def test_definitions_prerequisites_checked() -> None:
    a = OutcomeDefinition("a", "a", ("payslip",), requires=("b",))
    b = OutcomeDefinition("b", "b", ("payslip",), requires=("a",))
    with pytest.raises(SpecError, match=r"\['b'\] not defined"):
        definitions([a])
    with pytest.raises(SpecError, match=r"circular prerequisites a -> b -> a"):
        definitions([a, b])


# ---------------------------------------------------------------- rules O1-O10
def test_every_rule_hand_worked() -> None:
    """One claim per rule; start 2020-01-01 for everyone, data extract 2021-06-30."""
    people = Participants.from_frame(pl.DataFrame({
        "participant_id": ["A", "B", "C"], "start_date": [D(2020, 1, 1)] * 3}))
    rows = [  # participant, outcome, date, ref, type, verified -> expected rule
        ("Z", "employment_13w", D(2020, 6, 1), "R", "payslip", True, "O1"),
        ("A", "employment_13w", D(2020, 6, 1), "R", "payslip", False, "O2"),
        ("A", "employment_13w", D(2020, 6, 2), None, "payslip", True, "O3"),
        ("A", "employment_13w", D(2020, 6, 3), "R", "certificate", True, "O4"),
        ("A", "treatment_completed", D(2019, 12, 31), "T", "treatment_record", True, "O5"),
        ("A", "accommodation_13w", D(2020, 3, 31), "L", "landlord_letter", True, "O6"),
        ("A", "accommodation_13w", D(2021, 1, 1), "L", "landlord_letter", True, "O7"),
        ("B", "qualification", D(2021, 7, 1), "C", "certificate", True, "O8"),
        ("B", "employment_13w", D(2020, 4, 1), "R", "hmrc_rti", True, None),
        ("B", "employment_13w", D(2020, 5, 1), "R2", "hmrc_rti", True, "O9"),
        ("B", "employment_26w", D(2020, 7, 1), "R3", "hmrc_rti", True, None),
        ("C", "employment_26w", D(2020, 7, 1), "R4", "hmrc_rti", True, "O10"),
        ("A", "accommodation_13w", D(2020, 4, 1), "L", "tenancy_agreement", True, None),
    ]
    cols = [*EVENT_COLUMNS, "expected"]
    frame = pl.DataFrame(rows, schema=cols, orient="row")
    ev = OutcomeEvents.from_frame(frame.drop("expected"))
    a = assess(ev, people, as_of="2021-06-30")
    got = {r["row"]: r["rule"] for r in a.frame.iter_rows(named=True)}
    assert got == dict(enumerate(frame["expected"].to_list()))
    reason = dict(zip(a.frame["rule"], a.frame["reason"], strict=True))
    assert reason["O6"] == ("achieved 2020-03-31, 90 days after the start 2020-01-01: less "
                            "than the 13 weeks the outcome must be sustained (earliest "
                            "2020-04-01)")
    assert reason["O7"] == ("achieved 2021-01-01, 366 days after the start 2020-01-01: "
                            "outside the validity window of 365 days (last day 2020-12-31)")
    assert reason["O9"] == ("employment_13w already claimed for B (achieved 2020-04-01, "
                            "input row 8)")
    assert reason["O10"] == "prerequisite employment_13w not validly achieved by 2020-07-01"
    assert reason["O4"].startswith("evidence type certificate is not accepted for "
                                   "employment_13w (accepted: payslip, employer_letter")
    summary = {r["outcome_type"]: (r["claimed"], r["valid"])
               for r in a.summary().iter_rows(named=True)}
    assert summary["employment_13w"] == (6, 1)
    assert "input row 8: employment_13w achieved 2020-04-01; evidence hmrc_rti R, " \
           "verified -> valid" in a.explain("B")
    assert "O10" in str(a) and a.provenance["as_of"] == "2021-06-30"
    # order of the input rows does not matter
    again = assess(OutcomeEvents.from_frame(frame.drop("expected").reverse()), people,
                   as_of="2021-06-30")
    assert sorted(again.frame["rule"].drop_nulls().to_list()) == \
        sorted(a.frame["rule"].drop_nulls().to_list())


def test_assess_refusals() -> None:
    people = Participants.from_frame(pl.DataFrame({"participant_id": ["A"],
                                                   "start_date": [D(2020, 1, 1)]}))
    ev = OutcomeEvents.from_frame(_events())
    with pytest.raises(SpecError, match=r"events: expected pbr.outcomes.OutcomeEvents"):
        assess(_events(), people)  # type: ignore[arg-type]
    with pytest.raises(SpecError, match=r"as_of: expected a date"):
        assess(ev, people, as_of="soon")
    only = [OutcomeDefinition("qualification", "q", ("certificate",))]
    with pytest.raises(SpecError, match=r"the events claim \['employment_13w'\]"):
        assess(ev, people, outcome_types=only)


# ---------------------------------------------------------------- higher is better
def test_registry_directions() -> None:
    for name in ("employment_rate", "accommodation_rate", "treatment_rate"):
        info = MEASURES[name]
        assert info.higher_is_better and info.is_rate and info.table == "outcomes"
    assert not MEASURES["binary_rate"].higher_is_better
    assert measure_info("employment").name == "employment_rate"
    assert better("employment_rate", 0.3, 0.2) and not better("binary_rate", 0.3, 0.2)


def _participant_frame() -> pl.DataFrame:
    """40 participants; 16 have a valid 13-week job (rate 0.40)."""
    n = 40
    people = Participants.from_frame(pl.DataFrame({
        "participant_id": [f"P{i:02d}" for i in range(n)],
        "start_date": [D(2020, 1, 1)] * n}))
    ev = OutcomeEvents.from_frame(pl.DataFrame({
        "participant_id": [f"P{i:02d}" for i in range(16)],
        "outcome_type": ["employment_13w"] * 16, "date_achieved": [D(2020, 5, 1)] * 16,
        "evidence_ref": [f"R{i}" for i in range(16)], "evidence_type": ["hmrc_rti"] * 16,
        "verified": [True] * 16}))
    return assess(ev, people).participant_frame()


def test_higher_is_better_measure_paid_on_an_increase_not_on_a_decrease() -> None:
    frame = _participant_frame()
    assert frame["employed"].sum() == 16 and frame["housed"].sum() == 0
    up = pbr.compare(frame, 0.25, measure="employment_rate").outcomes(cohort="2020")[0]
    down = pbr.compare(frame, 0.55, measure="employment_rate").outcomes(cohort="2020")[0]
    assert (up.actual, up.comparator) == (Decimal("40.000000"), Decimal("25.000000"))
    assert up.improvement == Decimal("15.000000") and down.improvement < 0
    comp = Component("jobs", "linear", measure="employment_rate", basis="avoided",
                     price=1000, clawback=False)
    c = Contract("employment", components=(comp,))
    s = pay(c, [up])
    # (40 - 25) x 40 participants / 100 = 6 additional participants employed, x 1000
    assert s.total == Decimal("6000.00")
    assert "(40.000000 - 25.000000) x 40 participants / 100 = 6.000000 additional " \
           "participants employed" in s.explain("L1")
    assert s.line("L1").rule == "linear 1000 per additional outcome"
    assert pay(c, [down]).total == Decimal("0.00")
    assert "increase, no clawback" in pay(c, [down]).explain("L1")
    # the comparison's interval as significance thresholds: 40% against 25% on 40
    # participants is not significant (interval -0.2 to 30.2 points), so a significance
    # trigger pays nothing
    sig = Contract("employment", components=(comp.replace(trigger="significant"),))
    assert not up.significant_reduction and not up.significant_increase
    assert pay(sig, [up]).total == Decimal("0.00")
    assert "within the interval -> not met" in pay(sig, [up]).explain("L1")


def test_significance_trigger_reads_the_direction() -> None:
    comp = Component("jobs", "linear", measure="employment_rate", basis="points", price=100,
                     trigger="significant", clawback=True)
    c = Contract("employment", components=(comp,))
    up = Outcome("2020", "employment_rate", actual=40, comparator=25, n=200, lower=18,
                 upper=32)
    down = Outcome("2020", "employment_rate", actual=40, comparator=55, n=200, lower=48,
                   upper=62)
    assert up.significant_reduction and not up.significant_increase
    s = pay(c, [up])
    assert s.total == Decimal("1500.00")
    assert "significant increase -> met" in s.explain("L1")
    d = pay(c, [down])
    assert d.total == Decimal("-1500.00")     # clawback on a significant decrease
    assert "significant decrease -> not met" in d.explain("L1")
    lower_is_better = Outcome("2020", "binary_rate", actual=40, comparator=45, n=200)
    assert lower_is_better.improvement == Decimal(5)


# ---------------------------------------------------------------- the methodology page
def test_outcomes_page_examples_print_what_the_page_shows(
        capsys: pytest.CaptureFixture[str]) -> None:
    import re

    page = Path(__file__).resolve().parents[1] / "docs" / "methodology" / "outcomes.md"
    text = page.read_text(encoding="utf-8")
    blocks = re.findall(r"^```(python|text)[ \t]*\n(.*?)^```[ \t]*$", text,
                        re.DOTALL | re.MULTILINE)
    ran = 0
    for (lang, code), nxt in zip(blocks, [*blocks[1:], ("", "")], strict=True):
        if lang == "python":
            exec(compile(code, str(page), "exec"), {"__name__": "__docs__"})
            ran += 1
            if nxt[0] == "text":
                assert nxt[1].strip() in capsys.readouterr().out
    assert ran >= 1
    index = (page.parent / "index.md").read_text(encoding="utf-8")
    assert "(outcomes.md)" in index


def test_doctests_of_the_outcome_modules() -> None:
    import doctest
    import importlib

    for name in ("pbr.outcomes", "pbr.outcomes.definitions", "pbr.outcomes.tables",
                 "pbr.outcomes.assessment", "pbr.contract.ratecard", "pbr.compare.registry"):
        result = doctest.testmod(importlib.import_module(name),
                                 optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0 and result.attempted > 0, name
