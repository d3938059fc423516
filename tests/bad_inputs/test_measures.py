"""Bad inputs to a measure: each row is one plausible mistake, run through the three paths
(the one-pass numba measure, prepare + the grouped kernel, the polars twin), with the
error it must raise, or the warning it must issue and keep in ``notes`` and ``str()``,
or the right answer (docs/methodology/measures.md, "What pbr refuses and why").
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pytest
from conftest import make_cohort, make_events

import pbr
from pbr.errors import (
    CompletenessWarning,
    DataQualityWarning,
    PbrWarning,
    SchemaError,
    SpecError,
)

MOJ = pbr.preset("moj_national_2017")
PATHS = ("onepass", "grouped", "polars")


@dataclass(frozen=True)
class Case:
    """One bad input: the inputs, and what must happen."""

    cohort: pl.DataFrame
    events: Any  # a frame, or a callable making pbr.Events (mapping options)
    spec: pbr.MeasureSpec = MOJ
    custody: pl.DataFrame | None = None
    error: type[Exception] | None = None
    warning: type[PbrWarning] | None = None
    match: str = ""  # regex on the error or the warning (and its note)
    note: str = ""  # regex on a note kept without a warning
    check: Callable[[pbr.MeasureResult], bool] | None = None
    no_warning: tuple[type[PbrWarning], ...] = field(default=())


def run(path: str, case: Case) -> pbr.MeasureResult:
    events = case.events() if callable(case.events) else case.events
    if path == "onepass":
        return pbr.measure(case.cohort, events, case.spec, custody=case.custody)
    if path == "grouped":
        return pbr.prepare(case.cohort, events, case.spec, custody=case.custody).measure(
            case.spec)
    return pbr.measure(case.cohort, events, case.spec, custody=case.custody, engine="polars")


def reoffences(res: pbr.MeasureResult) -> list[int]:
    return res.frame["reoffences"].to_list()


# -- building blocks -----------------------------------------------------------------
TWO = make_cohort([(1, "2020-01-15"), (2, "2020-02-01")])
#: the extract runs to 2022: every window (index + 18 months) has closed
LATE = (3, "2022-06-01", "2022-07-01", "conviction", "Z", "theft")


def events(*rows: tuple[Any, ...]) -> pl.DataFrame:
    return make_events(list(rows))


def typed(types: list[str], **kw: Any) -> pl.DataFrame:
    """One offence of offender 1 per disposal type, in the window, plus a late row."""
    rows = [(1, f"2020-0{3 + k}-01", f"2020-0{3 + k}-10", t, "A", "theft")
            for k, t in enumerate(types)]
    return make_events([*rows, (3, "2022-06-01", "2022-07-01", types[0], "Z", "theft")], **kw)


def header_only(id_dtype: Any = pl.Int64) -> pl.DataFrame:
    return pl.DataFrame(schema={"offender_id": id_dtype, "offence_date": pl.String,
                                "disposal_date": pl.String, "disposal_type": pl.String,
                                "offence_code": pl.String})


def with_ids(frame: pl.DataFrame, ids: list[Any]) -> pl.DataFrame:
    return frame.with_columns(offender_id=pl.Series(ids))


MANY = make_cohort([(i, "2020-01-15") for i in range(200)])


def disjoint(found: int) -> pl.DataFrame:
    """Events of 300 people of whom ``found`` are in MANY, none in a window."""
    rows = [(i if i < found else 10_000 + i, "2019-01-01", "2019-02-01", "conviction", "A",
             "theft") for i in range(300)]
    return make_events([*rows, (10_000, "2022-06-01", "2022-07-01", "conviction", "A",
                                "theft")])


CASES: dict[str, Case] = {
    # -- vocabulary (P2-P5, F2) --------------------------------------------------------
    "case variants of proof types count": Case(
        TWO, typed(["Conviction", "CAUTION", " conviction ", "CoNvIcTiOn"]),
        check=lambda r: reoffences(r) == [4, 0]),
    "proof_types in another case count": Case(
        TWO, typed(["conviction", "caution"]),
        spec=MOJ.replace(proof_types=["Conviction", " CAUTION"]),
        check=lambda r: reoffences(r) == [2, 0] and r.spec.proof_types == ("caution",
                                                                            "conviction")),
    "foreign vocabulary refused": Case(
        TWO, typed(["fine", "community order", "Fine"]), error=SpecError,
        match=r"proof_types \[caution, conviction\] match none.*'community order' \(1 row\)"
              r".*'fine' \(3 rows\).*Fix: .*proof_types=.*disposal_type_map"),
    "typo in proof_types refused": Case(
        TWO, typed(["conviction"]), spec=MOJ.replace(proof_types=["convction"]),
        error=SpecError, match=r"\[convction\] match none.*'conviction' looks like proof "
                               r"type 'convction'"),
    "typo in one proof type warned": Case(
        TWO, typed(["conviction", "caution"]), spec=MOJ.replace(proof_types=["caution",
                                                                             "convction"]),
        warning=DataQualityWarning,
        match=r"disposal_type 'conviction' \(2 rows\) proves no offence but looks like proof "
              r"type 'convction'"),
    "typo in the data warned": Case(
        TWO, typed(["conviction", "convicton"]), warning=DataQualityWarning,
        match=r"'convicton' \(1 row\) proves no offence but looks like proof type "
              r"'conviction'.*disposal_type_map"),
    "other disposal types listed with counts": Case(
        TWO, typed(["conviction", "fine", "fine", "acquittal"]),
        note=r"prove no offence under proof_types \[caution, conviction\] and were not "
             r"counted: 'acquittal' \(1 row\), 'fine' \(2 rows\)",
        check=lambda r: reoffences(r) == [1, 0]
        and r.vocabulary.filter(pl.col("proves"))["rows"].to_list() == [2]),
    "a vocabulary mapped onto proof types": Case(
        TWO, lambda: pbr.Events.from_frame(
            typed(["Fine", "community order", "Reprimand"]),
            disposal_type_map={"fine": "conviction", "Community Order": "conviction",
                               "REPRIMAND": "caution"}),
        check=lambda r: reoffences(r) == [3, 0]),
    "a disposal_type_map that is not text to text": Case(
        TWO, lambda: pbr.Events.from_frame(typed(["fine"]), disposal_type_map={"fine": 1}),
        error=SchemaError, match=r"disposal_type_map must map.*text to text"),
    "header-only events are valid (nobody reoffended)": Case(
        TWO, header_only(), warning=CompletenessWarning,
        match=r"as_of not given and the events hold no rows.*Fix: pass as_of=",
        check=lambda r: reoffences(r) == [0, 0]),
    "header-only events with as_of": Case(
        TWO, header_only(), spec=MOJ.replace(as_of="2022-01-01"),
        check=lambda r: reoffences(r) == [0, 0] and not r.notes,
        no_warning=(PbrWarning,)),
    "header-only CSV events (ids read as text)": Case(
        TWO, header_only(pl.String), spec=MOJ.replace(as_of="2022-01-01"),
        check=lambda r: reoffences(r) == [0, 0]),
    "include_categories naming no category of the data": Case(
        TWO, typed(["conviction"]), spec=MOJ.replace(include_categories=["violent"]),
        warning=DataQualityWarning,
        match=r"include_categories \['violent'\] names no offence_category that the events "
              r"hold \(categories present: 'theft'\): no event can count"),
    "one include category the data never hold": Case(
        TWO, typed(["conviction"]), spec=MOJ.replace(include_categories=["theft", "violent"]),
        warning=DataQualityWarning,
        match=r"include_categories names 'violent', which no event's offence_category holds "
              r"\(categories present: 'theft'\): it selects nothing",
        check=lambda r: reoffences(r) == [1, 0]),
    "include_codes naming no code of the data": Case(
        TWO, typed(["conviction"]), spec=MOJ.replace(include_codes=["HO01", "HO02"]),
        warning=DataQualityWarning,
        match=r"include_codes \['HO01', 'HO02'\] names no offence_code that the events hold "
              r"\(codes present: 'A', 'Z'\): no event can count"),
    "include_codes with some codes absent is the right answer": Case(
        TWO, typed(["conviction"]), spec=MOJ.replace(include_codes=["A", "HO99"]),
        no_warning=(DataQualityWarning,), check=lambda r: reoffences(r) == [1, 0]),
    "exclude_codes in another case than the data": Case(
        TWO, typed(["conviction"]), spec=MOJ.replace(exclude_codes=["a"]),
        warning=DataQualityWarning,
        match=r"exclude_codes names 'a', which no event's offence_code holds \(the events "
              r"spell it 'A'\): those events are not left out"),
    "exclude_categories spelt differently in the data": Case(
        TWO, events((1, "2020-03-01", "2020-03-10", "conviction", "A", "Breach"), LATE),
        warning=DataQualityWarning,
        match=r"exclude_categories names 'breach', which no event's offence_category holds "
              r"\(the events spell it 'Breach'\): those events are not left out"),
    "an exclude category the data never hold is the right answer": Case(
        TWO, typed(["conviction"]), check=lambda r: reoffences(r) == [1, 0],
        no_warning=(PbrWarning,)),
    # -- completeness (A3, A4) ---------------------------------------------------------
    "extract ends before windows close, no as_of": Case(
        TWO, events((1, "2020-03-01", "2020-06-01", "conviction", "A", "theft")),
        warning=CompletenessWarning,
        match=r"2 of 2 offenders' follow-up \+ waiting period windows close after "
              r"2020-06-01.*Fix: pass as_of= .*interim=True",
        note=r"as_of not given; data extract assumed to end on 2020-06-01, the last "
             r"disposal date",
        check=lambda r: r.coverage["open_windows"] == 2),
    "some windows open, cohort restriction suggested": Case(
        make_cohort([(1, "2019-01-01"), (2, "2021-01-01")]),
        events((1, "2019-03-01", "2020-12-01", "conviction", "A", "theft")),
        warning=CompletenessWarning,
        match=r"1 of 2 offenders'.*restrict the cohort to index dates on or before "
              r"2019-01-01"),
    "every window closed, no as_of": Case(
        TWO, typed(["conviction"]), note=r"data extract assumed to end on 2022-07-01",
        no_warning=(CompletenessWarning,),
        check=lambda r: r.coverage == {"extract_end": dt.date(2022, 7, 1),
                                       "source": "last disposal date", "open_windows": 0}),
    "as_of given and consistent": Case(
        TWO, typed(["conviction"]), spec=MOJ.replace(as_of="2022-07-31"),
        no_warning=(PbrWarning,), check=lambda r: r.coverage["source"] == "as_of"),
    "as_of long after the last disposal": Case(
        TWO, events((1, "2020-03-01", "2020-04-01", "conviction", "A", "theft")),
        spec=MOJ.replace(as_of="2023-01-01"), warning=DataQualityWarning,
        match=r"as_of 2023-01-01 is more than the waiting period \(6 months\) after the last "
              r"disposal date in the events \(2020-04-01\): the extract may end earlier"),
    "as_of with interim, windows open": Case(
        TWO, events((1, "2020-03-01", "2020-06-01", "conviction", "A", "theft")),
        spec=MOJ.replace(as_of="2020-06-30", interim=True), no_warning=(CompletenessWarning,),
        check=lambda r: r.frame["window_complete"].to_list() == [False, False]),
    # -- plausible dates (T1, T2) ------------------------------------------------------
    "index date in 1800": Case(
        make_cohort([(1, "2020-01-15"), (2, "1800-02-01")]), typed(["conviction"]),
        warning=DataQualityWarning,
        match=r"cohort: 1 row\(s\) with an index_date outside 1970-01-01\.\.2100-12-31.*"
              r"row 1 \(offender_id 2, index_date 1800-02-01\)"),
    "index date in 2200": Case(
        make_cohort([(1, "2200-01-15"), (2, "2020-02-01")]), typed(["conviction"]),
        warning=DataQualityWarning, match=r"row 0 \(offender_id 1, index_date 2200-01-15\)"),
    "offence date in 1850": Case(
        TWO, events((1, "1850-03-01", "2020-03-10", "conviction", "A", "theft"), LATE),
        warning=DataQualityWarning,
        match=r"events: 1 row\(s\) with an offence or disposal date outside.*row 0 "
              r"\(offender_id 1, offence_date 1850-03-01"),
    "disposal date in 2200": Case(
        TWO, events(LATE, (1, "2020-03-01", "2200-03-10", "conviction", "A", "theft")),
        warning=DataQualityWarning, match=r"row 1 \(offender_id 1, offence_date 2020-03-01, "
                                          r"disposal_date 2200-03-10\)"),
    "offence a century before the earliest index date": Case(
        TWO, events((1, "1915-03-01", "1916-03-10", "conviction", "A", "theft"), LATE),
        warning=DataQualityWarning, match=r"outside 1920-01-15\.\.2100-12-31"),
    # -- joins (J1, J2) ----------------------------------------------------------------
    "cohort ids never in the events": Case(
        MANY, disjoint(0), warning=DataQualityWarning,
        match=r"only 0 of 200 cohort offender_ids \(0\.00%\) appear anywhere in the events, "
              r"which hold 300 distinct ids.*Fix: give both tables the same offender"),
    "cohort ids barely in the events": Case(
        MANY, disjoint(1), warning=DataQualityWarning, match=r"only 1 of 200 cohort"),
    "pseudonymised with another key": Case(
        with_ids(TWO, ["a1f3", "9bc2"]),
        with_ids(typed(["conviction"]), ["77e0", "5d1a"]),
        warning=DataQualityWarning, match=r"only 0 of 2 cohort offender_ids"),
    "3% of ids found is no warning": Case(
        MANY, disjoint(6), no_warning=(DataQualityWarning,)),
    "integer cohort ids, text event ids": Case(
        TWO, with_ids(typed(["conviction"]), ["00001", "00003"]), error=SchemaError,
        match=r"offender_id is an integer \(Int64\) in the cohort but text \(String\) in the "
              r"events \(e.g. 1 in the cohort, '00001' in the events\).*Fix: give both as text,"
              r" e.g. cohort.with_columns"),
    "text cohort ids, integer event ids": Case(
        with_ids(TWO, ["1", "2"]), typed(["conviction"]), error=SchemaError,
        match=r"text \(String\) in the cohort but an integer \(Int64\) in the events.*"
              r"events.with_columns"),
    "text custody ids for an integer cohort": Case(
        TWO, typed(["conviction"]),
        custody=pl.DataFrame({"offender_id": ["1"], "start_date": ["2020-03-01"],
                              "end_date": ["2020-03-05"]}),
        error=SchemaError, match=r"in the cohort but text \(String\) in the custody"),
    "header-only custody file (ids read as text)": Case(
        TWO, typed(["conviction"]),
        custody=pl.DataFrame(schema={"offender_id": pl.String, "start_date": pl.String,
                                     "end_date": pl.String}),
        check=lambda r: r.frame["custody_days"].to_list() == [0, 0]),
    # -- duplicate events (D1) ---------------------------------------------------------
    "an exact duplicate row is counted once": Case(
        TWO, events(*[(1, "2020-03-01", "2020-03-10", "conviction", "A", "theft")] * 2, LATE),
        note=r"1 exact duplicate event row\(s\).*counted once, ledgered as duplicate_event",
        check=lambda r: reoffences(r) == [1, 0]
        and r.exclusions.count("events", "duplicate_event") == 1
        and r.exclusions.to_frame()["row"].to_list() == [1]),
    "three copies: two ledgered": Case(
        TWO, events(LATE, *[(2, "2020-03-01", "2020-03-10", "caution", "A", "theft")] * 3),
        check=lambda r: reoffences(r) == [0, 1]
        and r.exclusions.to_frame()["row"].to_list() == [2, 3]),
    "duplicates under the court-event unit": Case(
        TWO, events(*[(1, "2020-03-01", "2020-03-10", "conviction", "A", "theft")] * 2,
                    (1, "2020-03-01", "2020-03-10", "conviction", "B", "theft"), LATE),
        spec=pbr.preset("peterborough_sib"), check=lambda r: reoffences(r) == [1, 0]),
    "rows differing in one column are two offences": Case(
        TWO, events((1, "2020-03-01", "2020-03-10", "conviction", "A", "theft"),
                    (1, "2020-03-01", "2020-03-10", "conviction", "B", "theft"), LATE),
        check=lambda r: reoffences(r) == [2, 0] and len(r.exclusions) == 0),
    "rows differing in an extra column are two offences": Case(
        TWO, events(*[(1, "2020-03-01", "2020-03-10", "conviction", "A", "theft")] * 2, LATE)
        .with_columns(offence_seq=pl.Series([1, 2, 1])),
        check=lambda r: reoffences(r) == [2, 0]),
    "duplicates kept on request": Case(
        TWO, lambda: pbr.Events.from_frame(
            events(*[(1, "2020-03-01", "2020-03-10", "conviction", "A", "theft")] * 2, LATE),
            duplicates="keep"),
        check=lambda r: reoffences(r) == [2, 0] and len(r.exclusions) == 0),
    "duplicates next to invalid rows reconcile": Case(
        TWO, lambda: pbr.Events.from_frame(
            events((1, "2020-03-01", "2020-03-10", "conviction", "A", "theft"),
                   (1, "2020-03-01", None, "conviction", "A", "theft"),
                   (1, "2020-03-01", "2020-03-10", "conviction", "A", "theft"), LATE),
            on_invalid="exclude"),
        check=lambda r: reoffences(r) == [1, 0]
        and r.exclusions.counts()["rule"].to_list() == ["missing_disposal_date",
                                                         "duplicate_event"]
        and r.event_counts["input"] == 4 and r.event_counts["invalid"] == 2),
    "a mapped id beside a column named offender_id": Case(
        TWO, lambda: pbr.Events.from_frame(
            typed(["conviction"]).with_columns(pnc=pl.col("offender_id")),
            offender_id="pnc"),
        error=SchemaError, match=r"offender_id='pnc' takes the role offender_id from column "
                                 r"'pnc', but the table also has a column named "
                                 r"'offender_id'.*Fix: drop or rename column 'offender_id'"),
    "an unknown duplicates option": Case(
        TWO, lambda: pbr.Events.from_frame(typed(["conviction"]), duplicates="drop"),
        error=SchemaError, match=r"duplicates must be 'exclude' or 'keep', got 'drop'"),
}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(name: str, path: str) -> None:
    case = CASES[name]
    if case.error is not None:
        with pytest.raises(case.error, match=case.match):
            run(path, case)
        return
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        res = run(path, case)
    issued = [w for w in seen if issubclass(w.category, PbrWarning)]
    text = str(res)
    if case.warning is not None:
        hits = [w for w in issued if issubclass(w.category, case.warning)
                and re.search(case.match, str(w.message))]
        assert hits, (name, [str(w.message) for w in issued])
        # every warning issued is kept in the notes and printed
        for w in issued:
            assert str(w.message) in res.notes
            assert f"note: {w.message}" in text
    if case.note:
        assert any(re.search(case.note, n) for n in res.notes), res.notes
        assert re.search(case.note, text)
    for cls in case.no_warning:
        assert not [w for w in issued if issubclass(w.category, cls)], \
            [str(w.message) for w in issued]
    if case.check is not None:
        assert case.check(res), res


def test_the_paths_give_the_same_notes_and_ledger() -> None:
    """The notes, the ledger and the frame agree on every case that measures."""
    for name, case in CASES.items():
        if case.error is not None:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = [run(p, case) for p in PATHS]
        for r in results[1:]:
            assert r.notes == results[0].notes, name
            assert r.frame.equals(results[0].frame), name
            assert r.exclusions.to_frame().equals(results[0].exclusions.to_frame()), name


def test_corpus_size() -> None:
    assert len(CASES) >= 35
