"""Input validation: errors name the column, the row and the fix; exclude mode keeps a
ledger and every row is accounted for."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from conftest import make_cohort, make_events

import pbr
from pbr import Cohort, Custody, Events, SchemaError

GOOD = [(1, "2020-02-01", "2020-03-01", "conviction", "A", "theft")]


def test_missing_column_named_with_fix() -> None:
    with pytest.raises(SchemaError, match=r"missing column 'index_date'.*index_date="):
        Cohort.from_frame(pl.DataFrame({"offender_id": [1]}))
    ev = make_events(GOOD).rename({"offence_date": "off_dt"})
    with pytest.raises(SchemaError, match="offence_date"):
        Events.from_frame(ev)
    assert Events.from_frame(ev, offence_date="off_dt").n == 1


def test_wrong_type_named() -> None:
    with pytest.raises(SchemaError, match=r"'index_date'.*Float64.*expected a date"):
        Cohort.from_frame(pl.DataFrame({"offender_id": [1], "index_date": [1.5]}))
    with pytest.raises(SchemaError, match=r"offender_id.*expected integers or strings"):
        Cohort.from_frame(pl.DataFrame({"offender_id": [1.5], "index_date": [dt.date.today()]}))


def test_row_errors_name_row_rule_and_fix() -> None:
    rows = [*GOOD, (2, "2020-05-01", "2020-04-01", "conviction", "A", "theft")]
    with pytest.raises(SchemaError, match=r"events row 1 \(offender_id=2\).*disposal_date is "
                       r"before offence_date.*on_invalid='exclude'"):
        Events.from_frame(make_events(rows))


def test_unparseable_dates_and_strings_parsed() -> None:
    df = pl.DataFrame({"offender_id": [1, 2, 3],
                       "index_date": ["2020-01-01", "2020-13-01", None]})
    with pytest.raises(SchemaError, match=r"row 1.*not a date"):
        Cohort.from_frame(df)
    c = Cohort.from_frame(df, on_invalid="exclude")
    assert c.n == 1 and c.frame["index_date"].dtype == pl.Date
    counts = dict(zip(c.exclusions.counts()["rule"], c.exclusions.counts()["count"],
                      strict=True))
    assert counts == {"unparseable_index_date": 1, "missing_index_date": 1}
    assert c.n_input == c.n + len(c.exclusions)


def test_duplicate_offender_in_cohort() -> None:
    df = make_cohort([(1, "2020-01-01"), (2, "2020-01-01"), (1, "2020-02-01")])
    with pytest.raises(SchemaError, match=r"row 2.*more than once"):
        Cohort.from_frame(df)
    c = Cohort.from_frame(df, on_invalid="exclude")
    assert c.frame["index_date"].to_list() == [dt.date(2020, 1, 1)] * 2
    assert c.exclusions.to_frame()["row"].to_list() == [2]


@pytest.mark.parametrize("ids", [[1, 2, 1], ["a", "b", "a"]])
@pytest.mark.parametrize("n_events", [0, 1])
def test_duplicate_offender_found_by_prepare(ids: list[object], n_events: int) -> None:
    # prepare / measure find duplicates in their hash join, not by a separate pass
    df = pl.DataFrame({"offender_id": ids, "index_date": [dt.date(2020, 1, 1)] * 3})
    ev = make_events(GOOD[:n_events]) if n_events else make_events(GOOD).head(0)
    if isinstance(ids[0], str):
        ev = ev.with_columns(pl.col("offender_id").cast(pl.String).replace({"1": "a"}))
    for call in (lambda: pbr.prepare(df, ev), lambda: pbr.measure(df, ev)):
        with pytest.raises(SchemaError, match=r"cohort row 2 .*more than once"):
            call()
    # a cohort large enough for a many-partition join
    big = pl.DataFrame({"offender_id": [*range(50_000), 49_999],
                        "index_date": [dt.date(2020, 1, 1)] * 50_001})
    with pytest.raises(SchemaError, match=r"cohort row 50000 .*more than once"):
        pbr.measure(big, make_events(GOOD))
    assert pbr.measure(big.head(50_000), make_events(GOOD)).frame.height == 50_000


def test_events_exclusion_ledger_reconciles() -> None:
    rows = [
        *GOOD,
        (None, "2020-02-01", "2020-03-01", "conviction", "A", "theft"),
        (1, None, "2020-03-01", "conviction", "A", "theft"),
        (1, "2020-02-01", None, "conviction", "A", "theft"),
        (1, "2020-03-02", "2020-03-01", "conviction", "A", "theft"),
        (1, "2020-02-01", "2020-03-01", None, "A", "theft"),
        (1, "2020-02-01", "2020-03-01", "conviction", None, "theft"),
    ]
    ev = Events.from_frame(make_events(rows), on_invalid="exclude")
    assert ev.n == 1 and ev.n_input == 7 and len(ev.exclusions) == 6
    led = ev.exclusions.to_frame().sort("row")
    assert led["rule"].to_list() == ["missing_offender_id", "missing_offence_date",
                                     "missing_disposal_date", "disposal_before_offence",
                                     "missing_disposal_type", "missing_offence_code"]
    res = pbr.measure(make_cohort([(1, "2020-01-15")]), ev)
    assert res.exclusions.count(table="events") == 6
    assert "missing_offence_date" in str(res.exclusions)


def test_role_mapping_and_datetime_columns() -> None:
    df = pl.DataFrame({"pnc": ["a", "b"],
                       "released": [dt.datetime(2020, 1, 1, 9), dt.datetime(2020, 2, 1, 17)],
                       "area": ["N", "S"]})
    c = Cohort.from_frame(df, offender_id="pnc", index_date="released")
    assert c.frame.columns == ["row", "offender_id", "index_date", "area"]
    assert c.frame["index_date"].to_list() == [dt.date(2020, 1, 1), dt.date(2020, 2, 1)]


def test_custody_validation() -> None:
    df = pl.DataFrame({"offender_id": [1, 1], "start_date": ["2020-01-10", "2020-01-10"],
                       "end_date": ["2020-01-20", "2020-01-01"]})
    with pytest.raises(SchemaError, match="end_date is before start_date"):
        Custody.from_frame(df)
    assert Custody.from_frame(df, on_invalid="exclude").n == 1


def test_mismatched_id_types() -> None:
    with pytest.raises(SchemaError,
                       match=r"text \(String\) in the cohort but an integer.*Fix: give both"):
        pbr.measure(make_cohort([("x", "2020-01-01")]), make_events(GOOD))


def test_not_a_frame() -> None:
    with pytest.raises(SchemaError, match="expected a polars or pandas DataFrame"):
        Cohort.from_frame([1, 2, 3])
