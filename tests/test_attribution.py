"""pbr.attribute: provider spells, the four attribution rules hand-worked on a
three-provider pathway, exact Shapley values against brute force, money split to the
penny, and the double-claim check."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from fractions import Fraction

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pbr
from pbr.attribution import (
    UNATTRIBUTED,
    ProviderSpells,
    as_value,
    attribute,
    double_claims,
    pathway_values,
    shapley_values,
    split_statement,
)
from pbr.contract.spec import demo_contract_text
from pbr.errors import SchemaError, SpecError

D = dt.date
COHORT = pl.DataFrame({"offender_id": [1], "index_date": [D(2021, 3, 31)]})
# window (I, I + 12 months] = 2021-04-01 .. 2022-03-31, 365 days
SPELLS = pl.DataFrame({
    "offender_id": [1, 1, 1],
    "provider": ["A", "B", "C"],
    "start": [D(2020, 10, 1), D(2021, 4, 20), D(2021, 9, 1)],
    "end": [D(2021, 4, 30), D(2021, 9, 30), None],
    "role": ["custody", "resettlement", "community"],
})
V = {frozenset("A"): 1, frozenset("B"): 2, frozenset("C"): 3, frozenset("AB"): 4,
     frozenset("AC"): 4, frozenset("BC"): 6, frozenset("ABC"): 9}


def shares(a: pbr.attribution.Attribution, oid: int = 1) -> dict[str, Fraction]:
    return a.shares(oid)


def test_index_rule_is_the_provider_on_the_index_date() -> None:
    a = attribute(COHORT, SPELLS, rule="index", follow_up="12 months")
    assert shares(a) == {"A": 1}


def test_last_rule_is_the_latest_spell_to_start_by_the_window_end() -> None:
    a = attribute(COHORT, SPELLS, rule="last", follow_up="12 months")
    assert shares(a) == {"C": 1}


def test_time_share_hand_worked() -> None:
    # Apr 1-19 A (19); Apr 20-30 A+B (11, split); May-Aug B (123); Sep B+C (30, split);
    # Oct-Mar C (182): A 24.5, B 143.5, C 197 of 365 days
    a = attribute(COHORT, SPELLS, rule="time_share", follow_up="12 months")
    assert shares(a) == {"A": Fraction(49, 730), "B": Fraction(287, 730),
                         "C": Fraction(394, 730)}
    assert sum(shares(a).values()) == 1
    assert "shared days split equally" in a.explain(1)


def test_time_share_uncovered_days() -> None:
    # without C: September is B's alone (B 5.5 + 123 + 30 = 158.5 days); Oct-Mar under
    # nobody: 182 days
    gap = SPELLS.filter(pl.col("provider") != "C")
    a = attribute(COHORT, gap, rule="time_share", follow_up="12 months")
    assert shares(a) == {"A": Fraction(49, 730), "B": Fraction(317, 730),
                         UNATTRIBUTED: Fraction(182, 365)}
    n = attribute(COHORT, gap, rule="time_share", follow_up="12 months",
                  uncovered="normalise")
    assert shares(n) == {"A": Fraction(49, 366), "B": Fraction(317, 366)}  # of 183 days


def brute_force(players: str, v: dict[frozenset[str], int]) -> dict[str, Fraction]:
    perms = list(itertools.permutations(players))
    out = {p: Fraction(0) for p in players}
    for order in perms:
        before: frozenset[str] = frozenset()
        for p in order:
            out[p] += Fraction(v.get(before | {p}, 0) - v.get(before, 0), len(perms))
            before = before | {p}
    return out


def test_shapley_equals_brute_force_and_is_efficient() -> None:
    phi = shapley_values("ABC", V)
    assert phi == brute_force("ABC", V)
    assert sum(phi.values()) == 9
    a = attribute(COHORT, SPELLS, rule="shapley", value=V, follow_up="12 months")
    assert shares(a) == {p: x / 9 for p, x in phi.items()}


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(-5, 20), min_size=15, max_size=15))
def test_shapley_brute_force_random_four_players(values: list[int]) -> None:
    players = "ABCD"
    subsets = [frozenset(c) for k in range(1, 5) for c in itertools.combinations(players, k)]
    v = dict(zip(subsets, values, strict=True))
    assert shapley_values(players, v) == brute_force(players, v)


def test_shapley_missing_coalition_and_zero_pathway_are_refused() -> None:
    with pytest.raises(SpecError, match="no value for the coalition"):
        attribute(COHORT, SPELLS, rule="shapley", value={frozenset("ABC"): 1},
                  follow_up="12 months")
    zero = dict(V) | {frozenset("ABC"): 0}
    with pytest.raises(SpecError, match="is 0"):
        attribute(COHORT, SPELLS, rule="shapley", value=zero, follow_up="12 months")
    with pytest.raises(SpecError, match="needs value"):
        attribute(COHORT, SPELLS, rule="shapley", follow_up="12 months")


def test_unplaced_members_go_to_unattributed_and_are_noted() -> None:
    cohort = pl.DataFrame({"offender_id": [1, 2], "index_date": [D(2021, 3, 31)] * 2})
    a = attribute(cohort, SPELLS, rule="index", follow_up="12 months")
    assert shares(a, 2) == {UNATTRIBUTED: 1}
    assert "1 cohort member(s) attributed to (unattributed)" in a.notes[0]
    assert a.summary()["members"].sum() == 2


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 4), st.sampled_from("PQRS"), st.integers(-400, 400),
                          st.one_of(st.none(), st.integers(0, 300))), max_size=12),
       st.sampled_from(["index", "last", "time_share"]),
       st.booleans())
def test_every_members_shares_sum_to_one(raw: list[tuple[int, str, int, int | None]],
                                         rule: str, include_day: bool) -> None:
    base = D(2021, 1, 1)
    rows = {(o, p): (base + dt.timedelta(days=s),
                     None if n is None else base + dt.timedelta(days=s + n))
            for o, p, s, n in raw}  # one spell per offender and provider: no overlaps
    spells = pl.DataFrame({"offender_id": [k[0] for k in rows], "provider": [k[1] for k in rows],
                           "start": [v[0] for v in rows.values()],
                           "end": [v[1] for v in rows.values()]},
                          schema={"offender_id": pl.Int64, "provider": pl.String,
                                  "start": pl.Date, "end": pl.Date})
    cohort = pl.DataFrame({"offender_id": [1, 2, 3, 4], "index_date": [base] * 4})
    a = attribute(cohort, spells, rule=rule, follow_up="12 months",  # type: ignore[arg-type]
                  include_index_day=include_day)
    for oid in range(1, 5):
        assert sum(a.shares(oid).values()) == 1
        assert all(x > 0 for x in a.shares(oid).values())


def test_allocate_amount_reconciles_to_the_penny() -> None:
    a = attribute(COHORT, SPELLS, rule="time_share", follow_up="12 months")
    parts = a.allocate_amount("1000.00")
    amounts = dict(zip(parts["provider"], parts["amount"], strict=True))
    # exact 67.123..., 393.150..., 539.726...: floors 67.12, 393.15, 539.72 leave 0.01,
    # which goes to the largest remainder (C: 0.726)
    assert amounts == {"A": "67.12", "B": "393.15", "C": "539.73"}
    assert sum(Decimal(x) for x in amounts.values()) == Decimal("1000.00")
    with pytest.raises(SpecError, match="not a whole number"):
        a.allocate_amount("10.005")


def test_allocate_sums_a_quantity_by_share() -> None:
    cohort = pl.DataFrame({"offender_id": [1, 2], "index_date": [D(2021, 3, 31)] * 2})
    spells = pl.concat([SPELLS, SPELLS.filter(pl.col("provider") == "A")
                        .with_columns(pl.lit(2, dtype=pl.Int64).alias("offender_id"))])
    a = attribute(cohort, spells, rule="index", follow_up="12 months")
    vals = pl.DataFrame({"offender_id": [1, 2], "avoided": [2.0, 3.0]})
    assert a.allocate(vals, "avoided").rows() == [("A", 5.0)]
    with pytest.raises(SchemaError, match="have no 'avoided' value"):
        a.allocate(vals.head(1), "avoided")


def test_spells_validation_names_row_and_fix() -> None:
    bad = SPELLS.with_columns(pl.when(pl.col("provider") == "B").then(pl.lit(D(2021, 1, 1)))
                              .otherwise(pl.col("end")).alias("end"))
    with pytest.raises(SchemaError, match=r"end_before_start.*row 1"):
        ProviderSpells.from_frame(bad)
    ok = ProviderSpells.from_frame(bad, on_invalid="exclude")
    assert ok.exclusions.count(rule="end_before_start") == 1 and len(ok) == 2
    with pytest.raises(SchemaError, match="missing column 'supplier'"):
        ProviderSpells.from_frame(SPELLS, provider="supplier")
    strings = SPELLS.with_columns(pl.col("start").cast(pl.String))
    strings = strings.with_columns(pl.when(pl.col("provider") == "C").then(pl.lit("1/9/2021"))
                                   .otherwise(pl.col("start")).alias("start"))
    with pytest.raises(SchemaError, match="bad_start"):
        ProviderSpells.from_frame(strings)
    dup = pl.concat([SPELLS, SPELLS.head(1).with_columns(pl.lit(D(2021, 4, 1)).alias("start"))])
    with pytest.raises(SchemaError, match="overlapping_spells"):
        ProviderSpells.from_frame(dup)
    assert ProviderSpells.from_frame(dup, on_invalid="exclude").exclusions.count() == 2


def test_id_type_mismatch_and_bad_rule_are_refused() -> None:
    with pytest.raises(SchemaError, match="no id would join"):
        attribute(COHORT, SPELLS.with_columns(pl.col("offender_id").cast(pl.String)),
                  follow_up="12 months")
    with pytest.raises(SpecError, match="rule must be one of"):
        attribute(COHORT, SPELLS, rule="first", follow_up="12 months")  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="give follow_up"):
        attribute(COHORT, SPELLS)


def test_double_claims_reports_overlapping_windows_only() -> None:
    a = pl.DataFrame({"offender_id": [1, 2, 3], "index_date": [D(2020, 1, 1)] * 3})
    b = pl.DataFrame({"offender_id": [2, 3], "index_date": [D(2020, 6, 1), D(2021, 1, 1)]})
    out = double_claims({"A": a, "B": b}, follow_up="12 months")
    # offender 3: A's window ends 2021-01-01, B's starts 2021-01-02: no overlap
    assert out.select("offender_id", "contract_a", "contract_b", "overlap_days").rows() == [
        (2, "A", "B", 214)]


def test_pathway_values_and_a_measure_result() -> None:
    data = pbr.synth.generate(300, seed=3)
    spec = pbr.preset("moj_national_2017").replace(severity_weights=data.severity_weights,
                                                   serious_codes=data.serious_codes)
    res = pbr.measure(data.cohort, data.events, spec)
    ids = res.frame["offender_id"]
    idx = res.frame["index_date"]
    spells = pl.DataFrame({
        "offender_id": pl.concat([ids, ids]),
        "provider": ["custody"] * len(ids) + ["community"] * len(ids),
        "start": pl.concat([idx - dt.timedelta(days=30), idx + dt.timedelta(days=60)]),
        "end": pl.concat([idx + dt.timedelta(days=59), pl.Series([None] * len(ids),
                                                                  dtype=pl.Date)])})
    a = attribute(res, spells, rule="time_share")
    assert a.window.startswith("(index date, index date + 12 months]")
    assert a.summary()["members"].sum() == pytest.approx(len(ids))
    vals = pathway_values(res, spells, outcome="reoffences")
    assert vals["n"].sum() == len(ids)
    v = as_value(vals) | {frozenset({"custody"}): 0.5, frozenset({"community"}): 0.5}
    s = attribute(res, spells, rule="shapley", value=v)
    assert s.shares(ids[0]) == {"community": Fraction(1, 2), "custody": Fraction(1, 2)}


def test_split_statement_parts_add_up_to_every_line() -> None:
    contract = pbr.Contract.from_toml(demo_contract_text())
    data = pbr.synth.generate(2_000, seed=5)
    run = pbr.run_contract(contract, data.cohort, data.events)
    st_ = run.statement if hasattr(run, "statement") else run
    ids = data.cohort["offender_id"]
    idx = data.cohort["index_date"]
    spells = pl.DataFrame({"offender_id": pl.concat([ids, ids]),
                           "provider": ["X"] * len(ids) + ["Y"] * len(ids),
                           "start": pl.concat([idx, idx + dt.timedelta(days=100)]),
                           "end": pl.concat([idx + dt.timedelta(days=99),
                                             pl.Series([None] * len(ids), dtype=pl.Date)])})
    a = attribute(data.cohort, spells, rule="time_share", follow_up="12 months")
    parts = split_statement(st_, a, cohorts=data.cohort, cohort_column=contract.cohort_column)
    for line in st_.lines:
        got = parts.filter(pl.col("line") == line.line)["amount"].to_list()
        assert sum((Decimal(x) for x in got), Decimal(0)) == line.amount
