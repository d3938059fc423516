"""Every payment rule with hand-worked amounts, to the penny."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from pbr.contract import Component, Contract, Outcome, Rounding, Variation, pay
from pbr.contract.rules import pooled_reduction, trigger
from pbr.errors import ContractError, ReconciliationError

D = Decimal


def contract(*components: Component, **kw: object) -> Contract:
    return Contract("test", components=components, **kw)  # type: ignore[arg-type]


def linear(**kw: object) -> Component:
    args: dict[str, object] = {"measure": "binary_rate", "basis": "points", "price": 100}
    args.update(kw)
    return Component("c", "linear", **args)  # type: ignore[arg-type]


def rate(actual: object, comparator: object = 50, n: int = 1000, cohort: str = "Q1",
         **kw: object) -> Outcome:
    return Outcome(cohort, "binary_rate", actual=actual, comparator=comparator, n=n,
                   **kw)  # type: ignore[arg-type]


def amounts(statement: object) -> list[D]:
    return [x.amount for x in statement.lines]  # type: ignore[attr-defined]


# ------------------------------------------------------------------------- linear
def test_linear_per_point() -> None:
    # 50 - 47.25 = 2.75 points x 100.00 = 275.00
    assert amounts(pay(contract(linear(price="100.00")), [rate("47.25")])) == [D("275.00")]


def test_linear_per_point_per_offender() -> None:
    # 2.1 points x 1,234 offenders = 2,591.4 point-offenders x 0.35 = 906.99
    c = contract(linear(basis="points_per_offender", price="0.35"))
    assert amounts(pay(c, [rate("47.9", n=1234)])) == [D("906.99")]


def test_linear_per_reoffence_avoided() -> None:
    # (4.2 - 3.95) x 412 reoffenders = 103 reoffences x 250.00 = 25,750.00
    c = contract(linear(measure="per_reoffender", basis="avoided", price="250.00"))
    o = Outcome("Q1", "per_reoffender", actual="3.95", comparator="4.2", n=1000, base_n=412)
    assert amounts(pay(c, [o])) == [D("25750.00")]


def test_linear_per_event_avoided_per_100() -> None:
    # (155 - 142) per 100 x 1,000 / 100 = 130 events x 1,500.00 = 195,000.00
    c = contract(linear(measure="per_100", basis="avoided", price="1500.00"))
    o = Outcome("c1", "per_100", actual=142, comparator=155, n=1000)
    assert amounts(pay(c, [o])) == [D("195000.00")]


def test_linear_per_bed_day_avoided() -> None:
    # (30.5 - 27.25) days x 321 offenders = 1,043.25 bed days x 12.34 = 12,873.7050 -> .71
    c = contract(linear(measure="custody_days_per_offender", basis="avoided", price="12.34"))
    o = Outcome("y1", "custody_days_per_offender", actual="27.25", comparator="30.5", n=321)
    assert amounts(pay(c, [o])) == [D("12873.71")]


def test_increase_pays_nothing_without_clawback_and_is_deducted_with_it() -> None:
    assert amounts(pay(contract(linear()), [rate("51.5")])) == [D("0.00")]
    # 1.5 points increase x 100 = -150.00
    assert amounts(pay(contract(linear(clawback=True)), [rate("51.5")])) == [D("-150.00")]


# ------------------------------------------------------------------------- triggers
def test_relative_trigger_peterborough_cohort_1() -> None:
    c = linear(measure="per_100", basis="avoided", trigger="relative", threshold=10)
    o = Outcome("cohort 1", "per_100", actual=142, comparator=155, n=1000)
    t = trigger(c, o)
    assert not t.met and "8.387%" in t.words
    o2 = Outcome("cohort 1", "per_100", actual="139.5", comparator=155, n=1000)  # exactly 10%
    assert trigger(c, o2).met


def test_pooled_trigger_is_the_n_weighted_mean_and_needs_every_cohort() -> None:
    c = linear(measure="per_100", basis="avoided", price=10, trigger="relative", threshold=10,
               pooled_threshold="7.5", pooled_over=["1", "2"])
    from pbr.contract import CohortPeriod

    periods = (CohortPeriod("1"), CohortPeriod("2"))
    o1 = Outcome("1", "per_100", actual=92, comparator=100, n=1000)   # 8%
    o2 = Outcome("2", "per_100", actual=94, comparator=100, n=3000)   # 6%
    # pooled (1000 x 8% + 3000 x 6%) / 4000 = 6.5% < 7.5%: nothing
    assert pooled_reduction([o1, o2]) == D("0.065")
    assert pay(contract(c, periods=periods), [o1, o2]).total == 0
    o2 = Outcome("2", "per_100", actual=93, comparator=100, n=1000)   # 7%, pooled 7.5%
    s = pay(contract(c, periods=periods), [o1, o2])
    # 8 x 1000/100 = 80 events x 10 = 800.00; 7 x 10 = 70 events -> 700.00
    assert amounts(s) == [D("800.00"), D("700.00")]
    # cohort 1 alone: the pooled test cannot run yet
    assert pay(contract(c, periods=periods), [o1]).total == 0


def test_absolute_trigger() -> None:
    c = linear(trigger="absolute", threshold=5, price=1000)
    assert amounts(pay(contract(c), [rate("45.0")])) == [D("5000.00")]   # exactly 5 points
    assert amounts(pay(contract(c), [rate("45.01")])) == [D("0.00")]


def test_significance_trigger_and_deduction() -> None:
    c = linear(trigger="significant", clawback=True, basis="points_per_offender", price=2)
    inside = rate("49", lower="48", upper="52")
    below = rate("47.5", lower="48", upper="52")
    above = rate("53", lower="48", upper="52")
    assert amounts(pay(contract(c), [inside])) == [D("0.00")]
    # 2.5 points x 1000 x 2.00 = 5,000.00; increase 3 points x 1000 x 2 = -6,000.00
    assert amounts(pay(contract(c), [below])) == [D("5000.00")]
    assert amounts(pay(contract(c), [above])) == [D("-6000.00")]
    # no interval: the trigger could never be met, so the outcome is refused
    with pytest.raises(ContractError, match=r"needs the thresholds around the comparator"):
        pay(contract(c), [rate("40")])


def test_hurdle_blocks_frequency_when_binary_missed() -> None:
    binary = Component("binary", "linear", measure="binary_rate", basis="points", price=1,
                       trigger="significant")
    freq = Component("frequency", "linear", measure="per_reoffender", basis="avoided",
                     price=10, hurdle="binary")
    f = Outcome("Q1", "per_reoffender", actual="3.5", comparator="4", n=1000, base_n=300)
    missed = pay(contract(binary, freq), [rate("49", lower="48", upper="52"), f])
    assert amounts(missed) == [D("0.00"), D("0.00")]
    assert "hurdle" in missed.lines[1].rule
    met = pay(contract(binary, freq), [rate("47", lower="48", upper="52"), f])
    # binary 3 points x 1 = 3.00; frequency 0.5 x 300 = 150 reoffences x 10 = 1,500.00
    assert amounts(met) == [D("3.00"), D("1500.00")]


# ------------------------------------------------------------------------- tiers, at risk
def test_tiered_schedule_steps() -> None:
    c = Component("r", "tiered", measure="custody_days_per_offender",
                  tiers=[[D("8.5"), 4_800_000], [10, 9_600_000], [20, 11_713_376]])

    def paid(days: str) -> D:
        o = Outcome("x", "custody_days_per_offender", actual=days, comparator=100, n=50)
        return pay(contract(c, rounding=Rounding(places=0)), [o]).total

    assert paid("91.6") == 0                 # 8.4% < 8.5%
    assert paid("91.5") == D(4_800_000)      # 8.5%
    assert paid("85") == D(9_600_000)        # 15%: the 10% step, not interpolated
    assert paid("80") == D(11_713_376)       # 20%


def test_at_risk_doncaster() -> None:
    c = Component("d", "at_risk", measure="binary_rate", trigger="absolute", threshold=5,
                  value="12345678.90", share="0.10")
    assert amounts(pay(contract(c), [rate("44.3", comparator="50")])) == [D("0.00")]  # -5.7
    # -3.3 points: return 10% of 12,345,678.90 = 1,234,567.89
    assert amounts(pay(contract(c), [rate("46.7", comparator="50")])) == [D("-1234567.89")]


# ------------------------------------------------------------------------- fees
def test_fee_schedule_and_volume_band() -> None:
    fee = Component("fee", "fee", amount="41666.67", periods=12, band_low=900,
                    band_high=1100, band_price="55.50")
    c = contract(fee)
    # 12 x 41,666.67 = 500,000.04; 1,150 offenders: 50 above the band x 55.50 = 2,775.00
    assert amounts(pay(c, [rate(40, n=1150)])) == [D("500000.04"), D("2775.00")]
    # 850: 50 below -> -2,775.00; 1000: inside -> 0
    assert amounts(pay(c, [rate(40, n=850)]))[1] == D("-2775.00")
    assert amounts(pay(c, [rate(40, n=1000)]))[1] == D("0.00")


# ------------------------------------------------------------------------- caps and floors
def test_component_cap_and_floor_per_cohort() -> None:
    c = linear(price=1000, cap="2500.00", floor="-1000.00", clawback=True)
    assert amounts(pay(contract(c), [rate("45")])) == [D("2500.00")]     # 5,000 capped
    assert amounts(pay(contract(c), [rate("53")])) == [D("-1000.00")]    # -3,000 floored


def test_contract_limits_per_cohort_year_and_total() -> None:
    c = linear(price=1000, clawback=True)
    outcomes = [rate("47", cohort="Q1"), rate("48", cohort="Q2"), rate("46", cohort="Q3"),
                rate("52", cohort="Q4")]   # 3,000; 2,000; 4,000; -2,000
    years = (("Q1", "Y1"), ("Q2", "Y1"), ("Q3", "Y2"), ("Q4", "Y2"))
    from pbr.contract import CohortPeriod

    periods = tuple(CohortPeriod(q, year=y) for q, y in years)
    s = pay(contract(c, periods=periods, limits={"cohort_cap": "3500", "cohort_floor": "-1500",
                                                 "year_cap": "4500", "total_cap": "5000"}),
            outcomes)
    adj = {x.cohort: x.amount for x in s.lines if x.kind == "limit"}
    # cohort Q3 4,000 -> cap 3,500 (-500); Q4 -2,000 -> floor -1,500 (+500)
    assert adj["Q3"] == D("-500.00") and adj["Q4"] == D("500.00")
    # year Y1: 3,000 + 2,000 = 5,000 -> 4,500 (-500); Y2: 3,500 - 1,500 = 2,000 (inside)
    assert adj["year Y1"] == D("-500.00")
    # total 4,500 + 2,000 = 6,500 -> 5,000 (-1,500)
    assert adj["(all)"] == D("-1500.00")
    assert s.total == D("5000.00")


def test_cap_rounds_down_so_it_is_never_exceeded() -> None:
    c = linear(price="0.333", basis="points")
    s = pay(contract(c, limits={"total_cap": "0.50"}), [rate(48), rate(48, cohort="Q2")])
    # lines 0.67 + 0.67 = 1.34 -> cap 0.50
    assert s.total == D("0.50")


# ------------------------------------------------------------------------- on account
def test_payments_on_account_are_deducted() -> None:
    from pbr.contract import CohortPeriod

    c = contract(linear(price=1000), on_account=(("Q1", "1200.00"), ("Q9", "5.00")),
                 periods=(CohortPeriod("Q1"), CohortPeriod("Q9")))
    s = pay(c, [rate("48")])
    assert amounts(s) == [D("2000.00"), D("-1200.00")]   # Q9 is not on this statement
    assert s.earned == D("2000.00") and s.paid_on_account == D("-1200.00")
    assert s.total == D("800.00")


# ------------------------------------------------------------------------- variations
def test_variation_applies_from_its_effective_date() -> None:
    freq = Component("frequency", "linear", measure="binary_rate", basis="points", price=100)
    v = (Variation(dt.date(2017, 8, 1), "frequency", {"price": 40}),
         Variation(dt.date(2018, 1, 1), "frequency", {"active": False}))
    from pbr.contract import CohortPeriod

    periods = (CohortPeriod("A", dt.date(2017, 7, 1)), CohortPeriod("B", dt.date(2017, 8, 1)),
               CohortPeriod("C", dt.date(2018, 1, 1)))
    s = pay(contract(freq, periods=periods, variations=v),
            [rate(48, cohort="A"), rate(48, cohort="B"), rate(48, cohort="C")])
    assert amounts(s) == [D("200.00"), D("80.00"), D("0.00")]
    assert s.lines[2].rule == "not in force"
    assert "as varied from 2017-08-01" in s.explain("L2")


def test_variation_must_name_a_component_and_valid_fields() -> None:
    with pytest.raises(ContractError, match="no component named 'nope'"):
        contract(linear(), variations=(Variation(dt.date(2017, 8, 1), "nope", {"price": 1}),))
    with pytest.raises(ContractError, match="unknown field"):
        contract(linear(), variations=(Variation(dt.date(2017, 8, 1), "c", {"prize": 1}),))


# ------------------------------------------------------------------------- rounding
def test_rounding_half_up_and_half_even_per_line() -> None:
    c = linear(price="0.125", basis="points")   # 1 point -> 0.125
    up = pay(contract(c, rounding=Rounding("half_up", 2, "line")), [rate(49)])
    even = pay(contract(c, rounding=Rounding("half_even", 2, "line")), [rate(49)])
    assert up.total == D("0.13") and even.total == D("0.12")


def test_rounding_on_the_total_adds_a_rounding_line() -> None:
    c = linear(price="0.125", basis="points")
    outcomes = [rate(49, cohort="Q1"), rate(49, cohort="Q2"), rate(49, cohort="Q3")]
    per_line = pay(contract(c, rounding=Rounding("half_up", 2, "line")), outcomes)
    on_total = pay(contract(c, rounding=Rounding("half_up", 2, "total")), outcomes)
    assert per_line.total == D("0.39")          # 3 x 0.13
    assert on_total.total == D("0.38")          # 0.375 -> 0.38
    assert on_total.lines[-1].kind == "rounding"
    assert on_total.lines[-1].amount == D("0.005")


# ------------------------------------------------------------------------- statement
def test_statement_checks_reconciliation_on_construction() -> None:
    s = pay(contract(linear()), [rate(48)])
    from pbr.contract import PaymentStatement

    with pytest.raises(ReconciliationError, match="differs from the sum"):
        PaymentStatement(s.contract, s.version, s.currency, s.lines, s.total + D("0.01"))
    bad = (s.lines[0].__class__(**{**s.lines[0].__dict__, "amount": D("200.001")}),)
    with pytest.raises(ReconciliationError, match="not rounded"):
        PaymentStatement(s.contract, s.version, s.currency, bad, D("200.001"))


def test_explain_traces_counts_to_money() -> None:
    o = rate("47.9", n=1234, counts=(("offenders", "1,234"), ("reoffenders", "591")))
    s = pay(contract(linear(basis="points_per_offender", price="0.35")), [o])
    text = s.explain("L1")
    for piece in ("offenders 1,234", "reoffenders 591", "2.1 points x 1,234 offenders",
                  "2591.4 x 0.35", "amount GBP 906.99"):
        assert piece in text, piece
    with pytest.raises(KeyError, match="no line 'L9'"):
        s.explain("L9")


def test_str_and_frame_are_deterministic() -> None:
    c = contract(linear(price=1000))
    a, b = pay(c, [rate("48")]), pay(c, [rate("48")])
    assert str(a) == str(b) and "total due" in str(a)
    frame = a.to_frame()
    assert frame["amount"].to_list() == ["2000.00"] and frame.height == 1
    assert a.summary("component")["amount"].to_list() == ["2000.00"]


def test_duplicate_or_missing_outcomes_are_errors() -> None:
    with pytest.raises(ContractError, match="two outcomes"):
        pay(contract(linear()), [rate(48), rate(47)])
    freq = Component("f", "linear", measure="per_reoffender", basis="avoided", price=1)
    with pytest.raises(ContractError, match="needs measure 'per_reoffender'"):
        pay(contract(freq), [rate(48)])
