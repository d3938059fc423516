"""build_cohort properties on random disposal tables: the ledger reconciles, a plain
per-person oracle agrees, and shuffling the rows changes nothing under tie_break="values".
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from pbr import CohortRule, build_cohort
from pbr.period import Period

TYPES = ["custody", "court_order", "caution", "remand", "licence_start"]
BASE = dt.date(2017, 10, 1)


@st.composite
def disposals(draw: Any) -> pl.DataFrame:
    n = draw(st.integers(0, 40))
    ids = draw(st.lists(st.integers(1, 6), min_size=n, max_size=n))
    offsets = draw(st.lists(st.integers(0, 900), min_size=n, max_size=n))
    types = draw(st.lists(st.sampled_from(TYPES), min_size=n, max_size=n))
    waits = draw(st.lists(st.one_of(st.none(), st.integers(0, 120)), min_size=n, max_size=n))
    ages = draw(st.lists(st.one_of(st.none(), st.integers(8, 30)), min_size=n, max_size=n))
    sent = draw(st.lists(st.one_of(st.none(), st.integers(0, 800)), min_size=n, max_size=n))
    flags = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    deaths = draw(st.lists(st.one_of(st.none(), st.integers(0, 1200)), min_size=n,
                           max_size=n))
    areas = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n))
    day = [BASE + dt.timedelta(days=o) for o in offsets]
    return pl.DataFrame({
        "offender_id": ids, "disposal_date": day, "disposal_type": types,
        "release_date": [None if w is None else d + dt.timedelta(days=w)
                         for d, w in zip(day, waits, strict=True)],
        "age": ages, "sentence_length_days": sent, "deported": flags,
        "date_of_death": [None if x is None else BASE + dt.timedelta(days=x) for x in deaths],
        "area": areas,
    }, schema_overrides={"offender_id": pl.Int64, "release_date": pl.Date, "age": pl.Int32,
                         "sentence_length_days": pl.Int32, "date_of_death": pl.Date,
                         "disposal_date": pl.Date, "disposal_type": pl.String})


rules = st.builds(
    CohortRule,
    index_types=st.sampled_from([("custody", "court_order", "caution"),
                                 ("custody", "licence_start"), tuple(TYPES)]),
    period=st.sampled_from(["quarter", "12 months", "rolling 12 months", "financial_year",
                            "first_n"]),
    start=st.sampled_from([None, dt.date(2018, 1, 1), dt.date(2018, 4, 1)]),
    n_periods=st.sampled_from([None, 1, 3]),
    cohort_size=st.integers(1, 4),
    multiple_periods=st.booleans(),
    same_day_precedence=st.sampled_from([("custody", "court_order", "caution"),
                                         ("caution", "licence_start")]),
    age_group=st.sampled_from(["all", "adult", "juvenile"]),
    sentence_length=st.sampled_from([None, "< 12 months", "<= 6 months"]),
    exclusions=st.sampled_from([(), ("deported",), ("died",), ("deported", "died")]),
    tie_break=st.sampled_from(["row", "values"]),
)


@given(disposals(), rules)
def test_every_row_has_exactly_one_outcome(df: pl.DataFrame, rule: CohortRule) -> None:
    built = build_cohort(df, rule)
    assert built.n_input == df.height == built.n_used + len(built.exclusions)
    used = set(built.frame["disposal_row"].to_list())
    assert len(used) == built.n_used
    led = built.exclusions.to_frame()["row"].to_list()
    assert len(led) == len(set(led)) and not used & set(led)
    assert used | set(led) == set(range(df.height))
    assert built.summary()["rows"].sum() == df.height
    # one entry per person and period, each inside its period
    assert not built.frame.select("offender_id", "cohort_period").is_duplicated().any()
    assert set(built.frame["cohort_period"].to_list()) <= set(built.periods)
    if not rule.multiple_periods:
        assert built.frame["offender_id"].is_unique().all()
    # explain() gives one line per valid disposal row of the person, with its outcome
    for person in df["offender_id"].unique().to_list()[:2]:
        lines = built.explain(person).splitlines()[1:]
        assert len(lines) == df.filter(pl.col("offender_id") == person).height
        used_rows = set(built.frame.filter(pl.col("offender_id") == person)["disposal_row"])
        assert {int(x.split(":")[0].split()[1]) for x in lines if "index event of" in x} \
            == used_rows


def _add(day: dt.date, months: int) -> dt.date:
    return Period(months, "months").add_date(day) if months else day


def _oracle(df: pl.DataFrame, rule: CohortRule) -> set[tuple[int, int, int]]:
    """(offender, period, row) of every entry, by a plain loop over people."""
    rank = {t: k for k, t in enumerate(rule.same_day_precedence)}
    rows = []
    for r, x in enumerate(df.iter_rows(named=True)):
        idx = x["release_date"] if x["disposal_type"] in rule.custodial_types \
            else x["disposal_date"]
        if x["disposal_type"] in rule.index_types and idx is not None:
            rows.append((idx, rank.get(x["disposal_type"], len(rank)), r, x["offender_id"]))
    rows.sort()
    seen_day: set[tuple[int, dt.date]] = set()
    events = []
    for idx, _, r, pid in rows:  # one event per person and day
        if (pid, idx) not in seen_day:
            seen_day.add((pid, idx))
            events.append((idx, r, pid))
    out: set[tuple[int, int, int]] = set()
    if not events:
        return out
    if rule.period == "first_n":
        start = rule.start or events[0][0]
        k, members, ever = 0, set(), set()
        for idx, r, pid in events:
            if idx < start or (rule.n_periods is not None and k >= rule.n_periods):
                continue
            if pid in members or (not rule.multiple_periods and pid in ever):
                continue
            members.add(pid)
            ever.add(pid)
            out.add((pid, k, r))
            if len(members) == rule.cohort_size:
                k, members = k + 1, set()
        return out
    first, last = events[0][0], max(e[0] for e in events)
    length = 3 if rule.period == "quarter" else 12
    step = {"quarter": 3, "rolling 12 months": rule.rolling_step.months}.get(rule.period, 12)
    if rule.start is not None:
        s0 = rule.start
    elif rule.period == "financial_year":
        s0 = dt.date(first.year if first.month >= 4 else first.year - 1, 4, 1)
    else:
        s0 = dt.date(first.year, 3 * ((first.month - 1) // 3) + 1, 1)
    k = 0
    taken: set[int] = set()
    while (rule.n_periods is None and _add(s0, step * k) <= last) or (
            rule.n_periods is not None and k < rule.n_periods):
        s = _add(s0, step * k)
        e = _add(s, length)
        chosen: dict[int, tuple[dt.date, int]] = {}
        for idx, r, pid in events:
            if s <= idx < e and pid not in chosen:
                chosen[pid] = (idx, r)
        for pid, (_, r) in chosen.items():
            if rule.multiple_periods or pid not in taken:
                out.add((pid, k, r))
                taken.add(pid)
        k += 1
    return out


plain_rules = st.builds(
    CohortRule,
    index_types=st.sampled_from([("custody", "court_order", "caution"), tuple(TYPES)]),
    period=st.sampled_from(["quarter", "12 months", "rolling 12 months", "financial_year",
                            "first_n"]),
    start=st.sampled_from([None, dt.date(2018, 1, 1), dt.date(2018, 2, 15)]),
    n_periods=st.sampled_from([None, 1, 2, 5]),
    rolling_step=st.sampled_from(["3 months", "1 month", "18 months"]),
    cohort_size=st.integers(1, 4),
    multiple_periods=st.booleans(),
    same_day_precedence=st.sampled_from([("custody", "court_order", "caution"),
                                         ("caution", "licence_start")]),
)


@settings(max_examples=150)
@given(disposals(), plain_rules)
def test_agrees_with_a_per_person_oracle(df: pl.DataFrame, rule: CohortRule) -> None:
    built = build_cohort(df, rule)
    position = {label: k for k, label in enumerate(built.periods)}
    got = {(p, position[c], r) for p, c, r in
           built.frame.select("offender_id", "cohort_period", "disposal_row").iter_rows()}
    assert got == _oracle(df, rule)


@given(disposals(), rules, st.randoms(use_true_random=False))
def test_shuffling_rows_changes_nothing_with_tie_break_values(
        df: pl.DataFrame, rule: CohortRule, rnd: Any) -> None:
    rule = rule.replace(tie_break="values")
    perm = list(range(df.height))
    rnd.shuffle(perm)
    a = build_cohort(df, rule)
    b = build_cohort(df[perm] if perm else df, rule)
    assert a.frame.drop("disposal_row").equals(b.frame.drop("disposal_row"))
    assert a.summary().equals(b.summary())
    assert a.periods == b.periods
    # the index rows hold the same values (exact duplicate rows are interchangeable)
    back = np.array(perm, dtype=np.int64)[b.frame["disposal_row"].to_numpy()]
    assert df[a.frame["disposal_row"].to_numpy()].equals(df[back])
