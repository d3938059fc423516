"""IOM before-and-after (pbr.iom): windows at their boundaries, the time-in-scheme mode,
the comparison group's difference in differences, and the refusals."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from pbr.errors import SchemaError, SpecError
from pbr.iom import NOT_AN_EFFECT, Membership, before_after
from pbr.spec import MeasureSpec

D = dt.date
SPEC = MeasureSpec(exclude_categories=[], waiting_period="0 days",
                   severity_weights={"A": 10.0, "B": 1.0})


def events(rows: list[tuple[int, dt.date, str]]) -> pl.DataFrame:
    return pl.DataFrame({"offender_id": [r[0] for r in rows],
                         "offence_date": [r[1] for r in rows],
                         "disposal_date": [r[1] for r in rows],
                         "disposal_type": ["conviction"] * len(rows),
                         "offence_code": [r[2] for r in rows]},
                        schema={"offender_id": pl.Int64, "offence_date": pl.Date,
                                "disposal_date": pl.Date, "disposal_type": pl.String,
                                "offence_code": pl.String})


# entry 2021-03-01: before [2020-03-01, 2021-02-28], after (2021-03-01, 2022-03-01]
EV = events([(1, D(2020, 2, 29), "A"),   # a day before the before-window: out
             (1, D(2020, 3, 1), "A"),    # its first day: in
             (1, D(2021, 2, 28), "B"),   # its last day: in
             (1, D(2021, 3, 1), "A"),    # the entry day: in neither
             (1, D(2022, 3, 1), "B"),    # the after-window's last day: in
             (1, D(2022, 3, 2), "A"),    # a day later: out
             (2, D(2021, 6, 1), "B")])
MEMBERS = pl.DataFrame({"offender_id": [1, 2], "entry": [D(2021, 3, 1), D(2021, 3, 1)],
                        "exit": [D(2021, 8, 31), None], "scheme": ["fixed", "flex"]})


def test_windows_at_their_boundaries() -> None:
    ba = before_after(MEMBERS, EV, spec=SPEC)
    r = ba.frame.row(0, named=True)
    assert (r["offences_before"], r["offences_after"]) == (2, 1)
    assert (r["harm_before"], r["harm_after"]) == (11.0, 1.0)
    assert (r["offences_change"], r["harm_change"]) == (-1, -10.0)
    assert (r["days_before"], r["days_after"]) == (365, 365)
    r2 = ba.frame.row(1, named=True)
    assert (r2["offences_before"], r2["offences_after"]) == (0, 1)
    assert ba.notes[0] == NOT_AN_EFFECT
    assert "not an effect" in str(ba)
    s = ba.summary(by=None).filter(pl.col("measure") == "offences").row(0, named=True)
    assert (s["mean_before"], s["mean_after"], s["change"]) == (1.0, 1.0, 0.0)
    assert s["ratio"] == 1.0


def test_time_in_scheme_per_365_days() -> None:
    with pytest.raises(SpecError, match="give as_of="):
        before_after(MEMBERS, EV, spec=SPEC, after="during")
    ba = before_after(MEMBERS, EV, spec=SPEC, after="during", as_of=D(2022, 12, 31))
    r = ba.frame.row(0, named=True)
    # in the scheme (2021-03-01, 2021-08-31]: 183 days, no offence; before: 2 in 365 days
    assert r["days_after"] == 183 and r["offences_after"] == 0
    assert r["offences_change"] == pytest.approx(0 - 2 / 365 * 365)
    r2 = ba.frame.row(1, named=True)  # open: measured to as_of, 670 days, one offence
    assert r2["days_after"] == 670
    assert r2["offences_change"] == pytest.approx(365 / 670)


def test_comparison_gives_the_difference_in_differences() -> None:
    rng = np.random.default_rng(3)
    rows, members, controls = [], [], []
    for i in range(1, 81):
        entry = D(2021, 1, 1) + dt.timedelta(days=int(rng.integers(0, 90)))
        (members if i <= 40 else controls).append((i, entry))
        for _ in range(int(rng.integers(0, 4))):
            rows.append((i, entry - dt.timedelta(days=int(rng.integers(1, 365))), "A"))
        for _ in range(int(rng.integers(0, 3 if i <= 40 else 4))):
            rows.append((i, entry + dt.timedelta(days=int(rng.integers(1, 365))), "B"))
    m = pl.DataFrame({"offender_id": [x[0] for x in members], "entry": [x[1] for x in members]})
    c = pl.DataFrame({"offender_id": [x[0] for x in controls],
                      "entry": [x[1] for x in controls]})
    ba = before_after(m, events(rows), spec=SPEC, comparison=c)
    s = ba.summary(by=None).filter(pl.col("measure") == "offences").row(0, named=True)
    d1 = ba.frame["offences_change"].to_numpy()
    d0 = ba.comparison["offences_change"].to_numpy()  # type: ignore[index]
    assert s["did"] == pytest.approx(d1.mean() - d0.mean())
    se = np.sqrt(d1.var(ddof=1) / d1.size + d0.var(ddof=1) / d0.size)
    assert s["did_upper"] - s["did"] == pytest.approx(s["did"] - s["did_lower"])
    assert (s["did_upper"] - s["did"]) / se == pytest.approx(1.99, abs=0.02)  # Welch t, ~77 df
    assert NOT_AN_EFFECT not in ba.notes


def test_membership_refusals() -> None:
    with pytest.raises(SchemaError, match="exit_before_entry"):
        Membership.from_frame({"offender_id": [1], "entry": [D(2021, 3, 1)],
                               "exit": [D(2021, 2, 1)]})
    with pytest.raises(SchemaError, match="overlapping_membership"):
        Membership.from_frame({"offender_id": [1, 1], "entry": [D(2021, 3, 1), D(2021, 5, 1)],
                               "exit": [D(2021, 6, 1), None]})
    ok = Membership.from_frame({"offender_id": [1, 1, None], "entry": [D(2021, 3, 1),
                                                                       D(2021, 5, 1),
                                                                       D(2021, 1, 1)],
                                "exit": [D(2021, 6, 1), None, None]}, on_invalid="exclude")
    assert ok.exclusions.count(rule="overlapping_membership") == 1
    assert ok.exclusions.count(rule="missing_offender_id") == 1
    with pytest.raises(SchemaError, match="missing column 'joined'"):
        Membership.from_frame({"offender_id": [1]}, entry="joined")
    with pytest.raises(SpecError, match="default window"):
        before_after(MEMBERS, EV, spec=SPEC.replace(window="before"))
    with pytest.raises(SpecError, match="after must be"):
        before_after(MEMBERS, EV, spec=SPEC, after="later")  # type: ignore[arg-type]


def test_re_entry_is_measured_per_spell() -> None:
    m = pl.DataFrame({"offender_id": [1, 1], "entry": [D(2021, 3, 1), D(2022, 6, 1)],
                      "exit": [D(2021, 8, 31), None]})
    ba = before_after(m, EV, spec=SPEC, as_of=D(2024, 1, 1))  # both windows closed
    # second spell: before [2021-06-01, 2022-05-31] holds 2022-03-01 and 2022-03-02
    assert ba.frame["offences_before"].to_list() == [2, 2]
    assert ba.frame["entry"].to_list() == [D(2021, 3, 1), D(2022, 6, 1)]


def test_a_window_not_closed_by_the_extract_is_left_out_not_counted_as_zero() -> None:
    # the events end in March 2022 (last disposal 2022-03-02); a spell entering in 2200
    # (a typo for 2020) has windows far beyond the extract: left out, with the reason
    m = pl.DataFrame({"offender_id": [1, 2], "entry": [D(2021, 3, 1), D(2200, 3, 1)]})
    ba = before_after(m, EV, spec=SPEC)
    assert ba.frame["offender_id"].to_list() == [1]
    assert any("1 membership spell(s) left out: a window" in n and "2022-03-02" in n
               for n in ba.notes)
    # an extract date before the after-window closes: nobody measurable after it
    short = before_after(m, EV, spec=SPEC, as_of=D(2021, 12, 31))
    assert short.frame.height == 0
    assert any("2 membership spell(s) left out" in n and "(as_of)" in n for n in short.notes)
