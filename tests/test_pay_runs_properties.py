"""Caps, floors and payments on account hold across runs (hypothesis).

For random contracts (cohort, year and contract caps and floors, payments on account,
linear / tiered / at-risk / fee components with their own caps and floors, rounding per
line or on the total) and random outcomes, paying the cohorts in any split into
successive runs, each run given the earlier statements as ``prior``, either

* gives statements that reconcile, whose totals add up to the one statement over all
  the cohorts, and that after every run keep each year's and the contract's outcome
  payments within their caps and floors and deduct each payment on account once; or
* fails with a ContractError (contradictory terms: a floor above a cap).
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from pbr.contract import (
    CohortPeriod,
    Component,
    Contract,
    Outcome,
    PaymentLedger,
    PaymentStatement,
    Rounding,
    pay,
)
from pbr.errors import ContractError
from pbr.io import read_ledger

D = Decimal
ZERO = D(0)
rates = st.decimals(min_value=2, max_value=100, places=2, allow_nan=False)
money = st.decimals(min_value=0, max_value=50_000, places=2, allow_nan=False)
sizes = st.integers(min_value=1, max_value=5_000)


@st.composite
def components(draw: st.DrawFn, name: str) -> Component:
    kind = draw(st.sampled_from(["linear", "tiered", "at_risk", "fee"]))
    if kind == "fee":
        low = draw(st.integers(0, 500))
        return Component(name, "fee", amount=draw(money), periods=draw(st.integers(1, 3)),
                         band_low=low, band_high=low + draw(st.integers(0, 500)),
                         band_price=draw(st.decimals(0, 50, places=2)))
    bounds: dict[str, object] = {}
    if draw(st.booleans()):
        bounds["cap"] = draw(money)
    if draw(st.booleans()):
        bounds["floor"] = -draw(money)
    if kind == "tiered":
        cuts = sorted(set(draw(st.lists(st.integers(1, 60), min_size=1, max_size=4))))
        pays = sorted(draw(st.lists(money, min_size=len(cuts), max_size=len(cuts))))
        return Component(name, "tiered", measure="binary_rate",
                         tiers=[[D(c), p] for c, p in zip(cuts, pays, strict=True)], **bounds)
    if kind == "at_risk":
        return Component(name, "at_risk", measure="binary_rate", trigger="absolute",
                         threshold=draw(st.integers(0, 10)), value=draw(money),
                         share=draw(st.decimals(0, 1, places=2)), **bounds)
    trig = draw(st.sampled_from(["none", "relative", "absolute"]))
    return Component(name, "linear", measure="binary_rate",
                     basis=draw(st.sampled_from(["points", "points_per_offender", "avoided"])),
                     price=draw(st.decimals(0, 100, places=2)), trigger=trig,
                     threshold=None if trig == "none" else draw(st.integers(0, 20)),
                     clawback=draw(st.booleans()), **bounds)


@st.composite
def cases(draw: st.DrawFn) -> tuple[dict[str, object], list[Outcome], list[list[int]]]:
    k = draw(st.integers(2, 6))
    comps = tuple(draw(components(f"c{i}")) for i in range(draw(st.integers(1, 3))))
    periods = tuple(CohortPeriod(f"Q{i}", year=f"Y{i // 2}") for i in range(k))
    limits: dict[str, Decimal] = {}
    for scope in ("cohort", "year", "total"):
        if draw(st.booleans()):
            limits[f"{scope}_cap"] = draw(money) * 4
        if draw(st.booleans()):   # floors may be negative (they bound a clawback)
            limits[f"{scope}_floor"] = draw(st.decimals(-100_000, 100_000, places=2))
    rounding = Rounding(draw(st.sampled_from(["half_up", "half_even"])),
                        draw(st.integers(0, 2)), draw(st.sampled_from(["line", "total"])))
    on_account = tuple((f"Q{i}", rounding.round(draw(money))) for i in range(k)
                       if draw(st.booleans()))
    terms = {"components": comps, "periods": periods, "limits": limits,
             "rounding": rounding, "on_account": on_account}
    outcomes = [Outcome(f"Q{i}", "binary_rate", actual=draw(rates), comparator=draw(rates),
                        n=draw(sizes)) for i in range(k)]
    order = draw(st.permutations(range(k)))
    cuts = sorted(draw(st.sets(st.integers(1, k - 1), max_size=k - 1)))
    runs = [list(order[a:b]) for a, b in zip([0, *cuts], [*cuts, k], strict=True)]
    return terms, outcomes, runs


def _outcome_lines(s: PaymentStatement, fees: set[str]) -> list:
    return [x for x in s.lines if (x.kind == "component" and x.component not in fees)
            or x.kind == "limit"]


def _within(amount: Decimal, lim: dict[str, Decimal], scope: str) -> bool:
    cap, floor = lim.get(f"{scope}_cap"), lim.get(f"{scope}_floor")
    return (cap is None or amount <= cap) and (floor is None or amount >= floor)


@settings(max_examples=120, deadline=None)
@given(cases(), st.booleans())
def test_runs_respect_limits_and_add_up_to_one_run(
        case: tuple[dict[str, object], list[Outcome], list[list[int]]], as_file: bool) -> None:
    terms, outcomes, runs = case
    try:
        contract = Contract("runs", **terms)  # type: ignore[arg-type]
    except ContractError as exc:   # contradictory limits: named, never paid
        assert "limits." in str(exc) and "exceeds" in str(exc)
        return
    lim = dict(contract.limits)
    fees = {c.name for c in contract.components if c.kind == "fee"}
    single = pay(contract, outcomes)
    done: list[PaymentStatement] = []
    for run in runs:
        prior: object = done
        if as_file:   # the ledger as a file would hold it: text columns, read back
            prior = PaymentLedger.from_frame(PaymentLedger.from_statements(done).to_frame())
        s = pay(contract, [outcomes[i] for i in run], prior=prior)  # type: ignore[arg-type]
        assert s.total == sum((x.amount for x in s.lines), ZERO)
        assert s.total == contract.rounding.round(s.total)
        done.append(s)
        # after every run: each year's and the contract's outcome payments within limits
        paid = [x for t in done for x in _outcome_lines(t, fees)]
        for year in {x.year for x in paid if x.year is not None}:
            group = [x.amount for x in paid if x.year == year and x.component not in
                     ("limit total_cap", "limit total_floor")]
            assert _within(sum(group, ZERO), lim, "year"), (year, group, lim)
        if any(k.startswith("total") for k in lim):
            assert _within(sum((x.amount for x in paid), ZERO), lim, "total")
        for i in run:
            cohort = f"Q{i}"
            mine = [x.amount for x in paid if x.cohort == cohort]
            assert not mine or _within(sum(mine, ZERO), lim, "cohort"), (cohort, mine)
    # the runs add up to one run over every cohort, line kind by line kind
    assert sum((s.total for s in done), ZERO) == single.total
    for kind in ("on_account", "component"):
        assert sum((x.amount for s in done for x in s.lines if x.kind == kind), ZERO) == \
            sum((x.amount for x in single.lines if x.kind == kind), ZERO)
    # each payment on account deducted exactly once
    deducted = [x.cohort for s in done for x in s.lines if x.kind == "on_account"]
    assert sorted(deducted) == sorted(c for c, _ in contract.on_account)
    # a cohort already paid cannot be paid again
    try:
        pay(contract, [outcomes[runs[0][0]]], prior=done)
    except ContractError as exc:
        assert "already paid" in str(exc)
    else:
        raise AssertionError("a cohort was paid twice")


@settings(max_examples=40, deadline=None)
@given(cases())
def test_a_ledger_round_trips_through_its_frame(
        case: tuple[dict[str, object], list[Outcome], list[list[int]]]) -> None:
    terms, outcomes, _ = case
    try:
        contract = Contract("runs", **terms)  # type: ignore[arg-type]
    except ContractError:
        return
    s = pay(contract, outcomes)
    ledger = PaymentLedger.from_statements(s)
    assert PaymentLedger.from_frame(ledger.to_frame()).entries == ledger.entries
    assert (ledger.contract, ledger.currency) == ("runs", "GBP")
    assert ledger.total == s.total


def test_a_statement_file_reads_back_as_its_ledger(tmp_path: object) -> None:
    from pathlib import Path

    contract = Contract("file", components=(Component(
        "b", "linear", measure="binary_rate", basis="points", price=D("1000.00")),),
        periods=(CohortPeriod("Q1", year="Y"), CohortPeriod("Q2", year="Y")),
        limits={"year_cap": D("2500.00")}, on_account=(("Q1", D("100.00")),))
    q1 = pay(contract, [Outcome("Q1", "binary_rate", actual="25", comparator="28", n=10)])
    path = Path(str(tmp_path)) / "statement.csv"
    q1.to_frame().write_csv(path)
    assert read_ledger(path).entries == PaymentLedger.from_statements(q1).entries
    q2 = pay(contract, [Outcome("Q2", "binary_rate", actual="27", comparator="28", n=10)],
             prior=read_ledger(path))
    # 3000 capped to 2500 in Q1 (-500); Q2's 1000 is all over the cap: -1000
    assert [x.amount for x in q2.lines] == [D("1000.00"), D("-1000.00")]
    assert q1.total + q2.total == D("2400.00")


def test_run_contract_quarter_by_quarter_keeps_the_year_cap() -> None:
    import warnings

    import polars as pl

    import pbr
    from pbr.contract import run_contract

    data = pbr.synth.generate(600, seed=3)
    contract = Contract.from_toml("""
[contract]
name = "two halves"
[cohorts]
column = "cohort_period"
period = [
    { name = "2019Q1", start = 2019-01-01, year = "2019" },
    { name = "2019Q2", start = 2019-04-01, year = "2019" },
    { name = "2019Q3", start = 2019-07-01, year = "2019" },
    { name = "2019Q4", start = 2019-10-01, year = "2019" },
]
[comparator]
values = { binary_rate = 40.0 }
[[component]]
name = "binary"
kind = "linear"
measure = "binary_rate"
basis = "points_per_offender"
price = 2.00
[limits]
year_cap = 5000.00
[on_account]
"2019Q3" = 700.00
""")
    halves = [data.cohort.filter(pl.col("cohort_period").is_in(q))
              for q in (["2019Q1", "2019Q2"], ["2019Q3", "2019Q4"])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = run_contract(contract, data.cohort, data.events)
        first = run_contract(contract, halves[0], data.events).statement
        second = run_contract(contract, halves[1], data.events, prior=[first]).statement
    earned = [x.amount for s in (first, second) for x in s.lines if x.kind == "component"]
    assert sum(earned, ZERO) > D("5000.00")   # the cap binds
    paid = [x.amount for s in (first, second) for x in _outcome_lines(s, set())]
    assert sum(paid, ZERO) == D("5000.00")
    assert first.total + second.total == whole.statement.total == D("4300.00")
    assert "earlier statements (prior)" in second.explain(second.lines[-2].line)
    # the measure's notes reach the statement
    assert set(whole.result.notes) <= set(whole.statement.notes)
