"""Hand-worked examples, one or more per rule of docs/methodology/measures.md.

Every test runs on both engines (the ``engine`` fixture): the Numba kernel over the
grouped layout and the polars reference.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from conftest import day, make_cohort, make_events

import pbr

MOJ = pbr.preset("moj_national_2017")
PB = pbr.preset("peterborough_sib")

# offender 1, index 2020-01-15: MoJ window (2020-01-15, 2021-01-15], proven by 2021-07-15
ONE = [
    (1, "2020-01-15", "2020-02-01", "conviction", "A", "violence"),  # index day
    (1, "2021-01-15", "2021-07-15", "conviction", "B", "theft"),     # window end, last day
    (1, "2021-01-16", "2021-02-01", "conviction", "A", "theft"),     # day after window
    (1, "2020-06-01", "2021-07-16", "conviction", "A", "theft"),     # proven one day late
    (1, "2020-03-01", "2020-03-10", "caution", "B", "theft"),        # caution
    (1, "2020-05-01", "2020-05-20", "conviction", "A", "breach"),    # breach
]


def row(res: pbr.MeasureResult, offender: int) -> dict:
    return res.frame.filter(pl.col("offender_id") == offender).row(0, named=True)


def test_w1_w2_window_ends_and_waiting_period(engine: str) -> None:
    res = pbr.measure(make_cohort([(1, "2020-01-15")]), make_events(ONE), MOJ, engine=engine)
    r = row(res, 1)
    # counted: the offence on the window end proven on the last waiting day, the caution
    assert r["reoffences"] == 2 and r["reoffended"] is True
    assert r["days_to_first"] == 46  # 2020-01-15 -> 2020-03-01 (leap year)
    assert r["window_complete"] is True


def test_w3_index_day_included(engine: str) -> None:
    spec = MOJ.replace(include_index_day=True)
    res = pbr.measure(make_cohort([(1, "2020-01-15")]), make_events(ONE), spec, engine=engine)
    r = row(res, 1)
    # window [2020-01-15, 2021-01-15): the index-day offence counts, the end-day one not
    assert r["reoffences"] == 2 and r["days_to_first"] == 0


def test_w1_leap_day_index_clamps_to_28_february(engine: str) -> None:
    ev = make_events([
        (2, "2021-02-28", "2021-08-28", "conviction", "A", "theft"),  # last day; proven last
        (2, "2021-03-01", "2021-03-02", "conviction", "A", "theft"),  # one day after
        (2, "2021-02-10", "2021-08-29", "conviction", "A", "theft"),  # proven a day late
    ])
    res = pbr.measure(make_cohort([(2, "2020-02-29")]), ev, MOJ, engine=engine)
    assert row(res, 2)["reoffences"] == 1


def test_w1_day_based_periods(engine: str) -> None:
    spec = MOJ.replace(follow_up="365 days", waiting_period="182 days")
    ev = make_events([
        (1, "2020-12-31", "2021-07-01", "conviction", "A", "theft"),  # day 351? within
        (1, "2021-01-14", "2021-07-15", "conviction", "A", "theft"),  # day 365, last day
        (1, "2021-01-15", "2021-01-20", "conviction", "A", "theft"),  # day 366
    ])
    # 2020 is a leap year: index + 365 days = 2021-01-14; + 182 days = 2021-07-15
    res = pbr.measure(make_cohort([(1, "2020-01-15")]), ev, spec, engine=engine)
    assert row(res, 1)["reoffences"] == 2


def test_p1_proof_types_pilots_count_convictions_only(engine: str) -> None:
    res = pbr.measure(make_cohort([(1, "2020-01-15")]), make_events(ONE), PB, engine=engine)
    r = row(res, 1)
    assert r["reoffences"] == 1 and r["days_to_first"] == 366  # only the window-end offence


def test_c1_court_events_with_and_without_ids(engine: str) -> None:
    rows = [
        (3, "2020-02-01", "2020-04-01", "conviction", "A", "theft", 7),
        (3, "2020-02-10", "2020-04-01", "conviction", "B", "theft", 7),  # same court event
        (3, "2020-02-11", "2020-04-01", "conviction", "B", "theft", 9),  # same day, other
        (3, "2020-05-01", "2020-06-01", "conviction", "A", "theft", 8),
        (3, "2020-03-01", "2020-03-02", "caution", "A", "theft", 10),    # not a conviction
    ]
    cohort = make_cohort([(3, "2020-01-01")])
    with_ids = pbr.measure(cohort, make_events(rows, court=True), PB, engine=engine)
    assert row(with_ids, 3)["reoffences"] == 3
    # without court_event_id a conviction event is offender + disposal date
    without = pbr.measure(cohort, make_events(rows), PB, engine=engine)
    assert row(without, 3)["reoffences"] == 2
    # MoJ counts offences (the caution too)
    assert row(pbr.measure(cohort, make_events(rows), MOJ, engine=engine), 3)["reoffences"] == 5


def test_c1_court_event_counted_once_even_if_first_offence_fails_a_filter(engine: str) -> None:
    rows = [
        (3, "2020-02-01", "2020-04-01", "conviction", "A", "breach", 7),  # excluded
        (3, "2020-02-10", "2020-04-01", "conviction", "B", "theft", 7),   # counts the event
    ]
    res = pbr.measure(make_cohort([(3, "2020-01-01")]), make_events(rows, court=True), PB,
                      engine=engine)
    assert row(res, 3)["reoffences"] == 1
    assert row(res, 3)["days_to_first"] == 40


def test_f1_offence_filters(engine: str) -> None:
    cohort = make_cohort([(1, "2020-01-15")])
    ev = make_events(ONE)
    # breaches are excluded by default; allowing them adds the 2020-05-01 offence
    assert row(pbr.measure(cohort, ev, MOJ.replace(exclude_categories=[]), engine=engine),
               1)["reoffences"] == 3
    assert row(pbr.measure(cohort, ev, MOJ.replace(exclude_codes=["B"]), engine=engine),
               1)["reoffences"] == 0
    assert row(pbr.measure(cohort, ev, MOJ.replace(include_codes=["B"]), engine=engine),
               1)["reoffences"] == 2
    assert row(pbr.measure(cohort, ev, MOJ.replace(include_categories=["violence"],
                                                   include_index_day=True), engine=engine),
               1)["reoffences"] == 1


def test_f1_missing_category_column_is_a_note_not_silence() -> None:
    ev = make_events(ONE).drop("offence_category")
    with pytest.warns(pbr.IncompleteDataWarning, match="offence_category"):
        res = pbr.measure(make_cohort([(1, "2020-01-15")]), ev, MOJ)
    assert any("offence_category" in n for n in res.notes)
    assert row(res, 1)["reoffences"] == 3  # the breach now counts: it cannot be recognised


def test_s1_severity_and_unmapped_rules(engine: str) -> None:
    cohort = make_cohort([(1, "2020-01-15")])
    ev = make_events([*ONE, (1, "2020-07-01", "2020-08-01", "conviction", "Z", "theft")])
    spec = MOJ.replace(severity_weights={"A": 1.5, "B": 10.0})
    with pytest.raises(pbr.SeverityError, match="Z"):
        pbr.measure(cohort, ev, spec, engine=engine)
    zero = pbr.measure(cohort, ev, spec.replace(unmapped_severity="zero"), engine=engine)
    assert row(zero, 1)["severity"] == pytest.approx(20.0)  # B + B (caution) + Z(0)
    dflt = pbr.measure(cohort, ev, spec.replace(unmapped_severity="default", unmapped_weight=2.5),
                       engine=engine)
    assert row(dflt, 1)["severity"] == pytest.approx(22.5)
    none = pbr.measure(cohort, ev, MOJ, engine=engine)
    assert row(none, 1)["severity"] is None


def test_s2_serious(engine: str) -> None:
    cohort = make_cohort([(1, "2020-01-15"), (2, "2020-01-15")])
    ev = make_events(ONE)
    res = pbr.measure(cohort, ev, MOJ.replace(serious_codes=["B"]), engine=engine)
    assert row(res, 1)["serious"] is True and row(res, 2)["serious"] is False
    assert row(pbr.measure(cohort, ev, MOJ, engine=engine), 1)["serious"] is None


def test_a1_as_of_makes_incomplete_windows_not_measurable(engine: str) -> None:
    cohort = make_cohort([(1, "2020-01-15"), (2, "2019-01-01")])
    spec = MOJ.replace(as_of=dt.date(2021, 7, 14))
    res = pbr.measure(cohort, make_events(ONE), spec, engine=engine)
    assert res.frame["offender_id"].to_list() == [2]
    assert res.exclusions.count(table="cohort", rule="window_incomplete") == 1
    led = res.exclusions.to_frame()
    assert led.filter(pl.col("rule") == "window_incomplete")["row"].to_list() == [0]
    # complete exactly on the last waiting day
    ok = pbr.measure(cohort, make_events(ONE), MOJ.replace(as_of=dt.date(2021, 7, 15)),
                     engine=engine)
    assert ok.frame.height == 2 and row(ok, 1)["reoffences"] == 2


def test_a2_interim_measures_data_so_far(engine: str) -> None:
    spec = MOJ.replace(as_of=dt.date(2021, 7, 14), interim=True)
    res = pbr.measure(make_cohort([(1, "2020-01-15")]), make_events(ONE), spec, engine=engine)
    r = row(res, 1)
    assert r["window_complete"] is False
    assert r["reoffences"] == 1  # the window-end offence was proven after as_of


def test_m6_custody_days_merge_and_clip(engine: str) -> None:
    custody = pl.DataFrame({
        "offender_id": [1, 1, 1, 2],
        "start_date": [day("2020-03-01"), day("2020-03-05"), day("2021-01-10"), day("2019-01-01")],
        "end_date": [day("2020-03-10"), day("2020-03-20"), day("2021-02-10"), day("2019-02-01")],
    })
    res = pbr.measure(make_cohort([(1, "2020-01-15"), (2, "2020-01-15")]), make_events(ONE),
                      MOJ, custody=custody, engine=engine)
    assert row(res, 1)["custody_days"] == 20 + 6  # merged spell + clipped at 2021-01-15
    assert row(res, 2)["custody_days"] == 0


def test_offender_without_events_and_events_not_in_cohort(engine: str) -> None:
    ev = make_events([*ONE, (999, "2020-05-01", "2020-06-01", "conviction", "A", "theft")])
    res = pbr.measure(make_cohort([(1, "2020-01-15"), (5, "2020-01-15")]), ev, MOJ,
                      engine=engine)
    r = row(res, 5)
    assert r["reoffences"] == 0 and r["reoffended"] is False and r["days_to_first"] is None
    if engine == "numba":
        c = res.event_counts
        assert c["not_in_cohort"] == 1
        assert c["input"] == c["invalid"] + c["outside_all_windows"] + c["not_in_cohort"] \
            + c["outside_offender_window"] + c["kept"]


def test_string_offender_ids(engine: str) -> None:
    ev = make_events(ONE).with_columns(pl.col("offender_id").cast(pl.String) + "X")
    cohort = make_cohort([("1X", "2020-01-15"), ("2X", "2020-01-15")])
    res = pbr.measure(cohort, ev, MOJ, engine=engine)
    assert res.frame["reoffences"].to_list() == [2, 0]


def test_pandas_inputs_and_user_columns_kept() -> None:
    cohort = make_cohort([(1, "2020-01-15"), (2, "2020-01-15")], provider=["P1", "P2"])
    res = pbr.measure(cohort.to_pandas(), make_events(ONE).to_pandas(), MOJ)
    assert res.frame["provider"].to_list() == ["P1", "P2"]
    assert res.to_pandas()["reoffences"].tolist() == [2, 0]


def test_summary_arithmetic_hand_worked() -> None:
    cohort = make_cohort([(i, "2020-01-15") for i in range(1, 5)], group=["a", "a", "b", "b"])
    rows = []
    for i, k in zip(range(1, 5), [2, 0, 1, 3], strict=True):
        rows += [(i, f"2020-0{m + 2}-01", f"2020-0{m + 2}-10", "conviction", "A", "theft")
                 for m in range(k)]
    res = pbr.measure(cohort, make_events(rows), MOJ.replace(severity_weights={"A": 2.0}))
    s = res.summary().row(0, named=True)
    assert (s["n"], s["reoffenders"], s["reoffences"]) == (4, 3, 6)
    # rates are proportions; per_100 is reoffences per 100 offenders (its name, its unit)
    assert s["binary_rate"] == 0.75 and s["per_offender"] == 1.5
    assert s["per_reoffender"] == 2.0 and s["per_100"] == 150.0
    assert s["severity_total"] == 12.0 and s["severity_per_offender"] == 3.0
    g = res.summary(by="group")
    assert g["group"].to_list() == ["a", "b"] and g["reoffences"].to_list() == [2, 4]
    assert g["per_reoffender"].to_list() == [2.0, 2.0]
    assert g["binary_rate"].to_list() == [0.5, 1.0]
    # the printed text shows per cent, labelled
    assert "binary rate (%)                75.00" in str(res)


def test_summary_serious_rate_is_a_proportion_of_offenders() -> None:
    cohort = make_cohort([(i, "2020-01-15") for i in range(1, 5)])
    rows = [(1, "2020-03-01", "2020-03-10", "conviction", "GBH", "violence"),
            (1, "2020-04-01", "2020-04-10", "conviction", "GBH", "violence"),
            (2, "2020-03-01", "2020-03-10", "conviction", "A", "theft")]
    res = pbr.measure(cohort, make_events(rows), MOJ.replace(serious_codes=["GBH"]))
    s = res.summary().row(0, named=True)
    assert s["serious_rate"] == 0.25 and s["binary_rate"] == 0.5
    assert "serious rate (%)               25.00" in str(res)


def test_summary_reproduces_published_ratio_pr_2010() -> None:
    # MoJ 2010 cohort: 497,969 proven reoffences by 173,274 reoffenders -> 2.874 (PR-2010)
    reoffenders = 173_274
    counts = np.full(reoffenders, 497_969 // reoffenders)
    counts[: 497_969 - counts.sum()] += 1
    frame = pl.DataFrame({"offender_id": np.arange(reoffenders), "reoffended": counts > 0,
                          "reoffences": counts, "severity": np.zeros(reoffenders),
                          "serious": np.zeros(reoffenders, bool),
                          "days_to_first": np.ones(reoffenders, np.int64)})
    s = pbr.MeasureResult(frame, MOJ, "numba").summary().row(0, named=True)
    assert round(s["per_reoffender"], 3) == 2.874


def test_explain_gives_a_reason_per_event() -> None:
    res = pbr.measure(make_cohort([(1, "2020-01-15")]), make_events(ONE), MOJ)
    text = res.explain(1)
    assert "reoffences=2" in text
    for reason in ("offence on the index day", "offence after the follow-up window",
                   "proven after the waiting period", "category excluded", "counted"):
        assert reason in text
    pb = pbr.measure(make_cohort([(1, "2020-01-15")]), make_events(ONE), PB)
    assert "disposal type does not prove" in pb.explain(1)
    with pytest.raises(pbr.SpecError, match="not in the cohort"):
        res.explain(42)


def test_histories_reused_for_several_specs_and_horizon_enforced() -> None:
    cohort, ev = make_cohort([(1, "2020-01-15")]), make_events(ONE)
    h = pbr.prepare(cohort, ev, ("24 months", "6 months"))
    for spec in (MOJ, PB, MOJ.replace(follow_up="24 months", include_index_day=True)):
        assert h.measure(spec).frame.equals(pbr.measure(cohort, ev, spec).frame)
    short = pbr.prepare(cohort, ev, MOJ.replace(follow_up="6 months"))
    with pytest.raises(pbr.SpecError, match="horizon"):
        short.measure(MOJ)


def test_unknown_engine_and_preset() -> None:
    with pytest.raises(pbr.EngineError):
        pbr.measure(make_cohort([(1, "2020-01-15")]), make_events(ONE), engine="spark")
    with pytest.raises(pbr.SpecError, match="available"):
        pbr.preset("nope")


def test_results_deterministic_and_provenance() -> None:
    a = pbr.measure(make_cohort([(1, "2020-01-15")]), make_events(ONE), MOJ)
    b = pbr.measure(make_cohort([(1, "2020-01-15")]), make_events(ONE), MOJ)
    assert str(a) == str(b) and a.frame.equals(b.frame)
    assert a.provenance == b.provenance
    assert a.provenance["pbr_version"] == pbr.__version__
    assert len(a.provenance["events_sha256"]) == 64
