"""Properties of the payment engine (hypothesis).

* the total equals the sum of the lines, exactly;
* a cap is never exceeded (per cohort, per year, over the contract);
* under a monotone schedule a better outcome never pays less;
* rounding per line and on the total differ by at most half a unit per line.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from pbr.contract import CohortPeriod, Component, Contract, Outcome, Rounding, pay

# rates in percent; from 2%: a binary rate at or below 1 reads as a proportion (refused)
rates = st.decimals(min_value=2, max_value=100, places=3, allow_nan=False)
prices = st.decimals(min_value=0, max_value=10_000, places=3, allow_nan=False)
sizes = st.integers(min_value=1, max_value=50_000)
modes = st.sampled_from(["half_up", "half_even"])


@st.composite
def components(draw: st.DrawFn) -> Component:
    kind = draw(st.sampled_from(["linear", "tiered", "at_risk", "fee"]))
    if kind == "fee":
        low = draw(st.integers(0, 1000))
        return Component("fee", "fee", amount=draw(prices), periods=draw(st.integers(1, 12)),
                         band_low=low, band_high=low + draw(st.integers(0, 1000)),
                         band_price=draw(prices))
    if kind == "tiered":
        cuts = sorted(set(draw(st.lists(st.integers(1, 60), min_size=1, max_size=5))))
        pays = sorted(draw(st.lists(prices, min_size=len(cuts), max_size=len(cuts))))
        return Component("tiers", "tiered", measure="binary_rate",
                         tiers=[[Decimal(c), p] for c, p in zip(cuts, pays, strict=True)])
    if kind == "at_risk":
        return Component("risk", "at_risk", measure="binary_rate", trigger="absolute",
                         threshold=draw(st.integers(0, 10)), value=draw(prices),
                         share=draw(st.decimals(0, 1, places=2)))
    trig = draw(st.sampled_from(["none", "relative", "absolute"]))
    return Component("lin", "linear", measure="binary_rate",
                     basis=draw(st.sampled_from(["points", "points_per_offender", "avoided"])),
                     price=draw(prices), trigger=trig,
                     threshold=None if trig == "none" else draw(st.integers(0, 20)),
                     clawback=draw(st.booleans()))


@st.composite
def cases(draw: st.DrawFn) -> tuple[Contract, list[Outcome]]:
    comps = draw(st.lists(components(), min_size=1, max_size=4, unique_by=lambda c: c.name))
    k = draw(st.integers(1, 5))
    outcomes = [Outcome(f"Q{i}", "binary_rate", actual=draw(rates), comparator=draw(rates),
                        n=draw(sizes)) for i in range(k)]
    periods = tuple(CohortPeriod(f"Q{i}", year=f"Y{i // 2}") for i in range(k))
    limits = {}
    for key in ("cohort_cap", "year_cap", "total_cap"):
        if draw(st.booleans()):
            limits[key] = draw(prices)
    rounding = Rounding(draw(modes), draw(st.integers(0, 3)),
                        draw(st.sampled_from(["line", "total"])))
    on_account = tuple((f"Q{i}", rounding.round(draw(prices))) for i in range(k)
                       if draw(st.booleans()))
    c = Contract("prop", components=tuple(comps), periods=periods, limits=limits,
                 rounding=rounding, on_account=on_account)
    return c, outcomes


def _outcome_lines(statement: object, scope: str | None = None) -> Decimal:
    lines = statement.lines  # type: ignore[attr-defined]
    return sum((x.amount for x in lines if x.kind in ("component", "limit")
                and not x.rule.startswith(("fee", "volume"))
                and (scope is None or x.cohort == scope)), Decimal(0))


@given(cases())
def test_total_is_the_sum_of_the_lines(case: tuple[Contract, list[Outcome]]) -> None:
    contract, outcomes = case
    s = pay(contract, outcomes)
    assert s.total == sum((x.amount for x in s.lines), Decimal(0))
    assert s.total == s.earned + s.paid_on_account
    assert sum(s.totals("cohort").values(), Decimal(0)) == s.total
    assert s.total == contract.rounding.round(s.total)
    assert str(s) == str(pay(contract, outcomes))


@given(cases())
def test_a_cap_is_never_exceeded(case: tuple[Contract, list[Outcome]]) -> None:
    contract, outcomes = case
    s = pay(contract, outcomes)
    lim = dict(contract.limits)
    if contract.rounding.point == "total":
        return  # the rounding line may move the total by half a unit; checked below
    paid = [x for x in s.lines if x.kind in ("component", "limit")
            and not x.rule.startswith(("fee", "volume"))]
    if "total_cap" in lim:
        assert sum((x.amount for x in paid), Decimal(0)) <= lim["total_cap"]
    if "year_cap" in lim:  # cohort lines and the year's own adjustment
        for year in {x.year for x in paid if x.year is not None}:
            assert sum((x.amount for x in paid if x.year == year), Decimal(0)) \
                <= lim["year_cap"]
    if "cohort_cap" in lim:
        for o in outcomes:
            assert _outcome_lines(s, o.cohort) <= lim["cohort_cap"]


@given(cases())
def test_cap_with_total_rounding(case: tuple[Contract, list[Outcome]]) -> None:
    contract, outcomes = case
    lim = dict(contract.limits)
    if "total_cap" not in lim:
        return
    s = pay(contract, outcomes)
    slack = contract.rounding.quantum / 2 if contract.rounding.point == "total" else 0
    assert _outcome_lines(s) <= lim["total_cap"] + slack


@given(components().filter(lambda c: c.kind != "fee"), rates, rates, rates, sizes)
def test_a_better_outcome_never_pays_less(c: Component, comparator: Decimal, a: Decimal,
                                          b: Decimal, n: int) -> None:
    better, worse = min(a, b), max(a, b)   # lower reoffending is better
    contract = Contract("mono", components=(c,))
    paid = [pay(contract, [Outcome("Q", "binary_rate", actual=x, comparator=comparator,
                                   n=n)]).total for x in (better, worse)]
    assert paid[0] >= paid[1]


@given(st.lists(st.tuples(rates, rates, sizes), min_size=1, max_size=8), prices, modes)
def test_rounding_per_line_versus_on_the_total(rows: list[tuple[Decimal, Decimal, int]],
                                               price: Decimal, mode: str) -> None:
    comp = Component("lin", "linear", measure="binary_rate", basis="points_per_offender",
                     price=price, clawback=True)
    outcomes = [Outcome(f"Q{i}", "binary_rate", actual=a, comparator=c, n=n)
                for i, (a, c, n) in enumerate(rows)]
    line = pay(Contract("r", components=(comp,), rounding=Rounding(mode, 2, "line")), outcomes)
    total = pay(Contract("r", components=(comp,), rounding=Rounding(mode, 2, "total")),
                outcomes)
    exact = sum(((o.comparator - o.actual) * o.n * price for o in outcomes), Decimal(0))
    # on the total: the exact sum, rounded once
    assert total.total == Rounding(mode, 2, "total").round(exact)
    # per line: each line rounded, so at most half a penny per line from the exact sum
    assert abs(line.total - exact) <= Decimal("0.005") * len(outcomes)
    if mode == "half_up":
        assert all(x.amount == x.amount.quantize(Decimal("0.01"), ROUND_HALF_UP)
                   for x in line.lines)
