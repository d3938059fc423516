"""pbr.finance: NPV / XNPV / IRR / XIRR against published and hand-worked values, the
no-root and several-root cases, the bond's flows and their validation, and the investor
and payer views of an appraisal.

Published anchors: the IRR reference stream -100, 39, 59, 55, 20 -> 28.09% (issue 20);
Microsoft's Excel documentation examples for IRR (-2.1%, 8.7%, -44.4%), NPV (1,188.44;
1,922.06 and -3,749.47), XNPV (2,086.647602) and XIRR (0.373362535) ([Microsoft-XIRR]).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pbr.contract import Line, PaymentStatement
from pbr.errors import SchemaError, SpecError
from pbr.finance import (
    Flow,
    ImpactBond,
    appraise,
    flows_from_frame,
    flows_from_statements,
    irr,
    money_multiple,
    npv,
    xirr,
    xnpv,
)

D = Decimal
EXCEL_XIRR = [(dt.date(2008, 1, 1), -10000), (dt.date(2008, 3, 1), 2750),
              (dt.date(2008, 10, 30), 4250), (dt.date(2009, 2, 15), 3250),
              (dt.date(2009, 4, 1), 2750)]


# ------------------------------------------------------------------ published values
def test_reference_irr_28_09_percent() -> None:
    r = irr([-100, 39, 59, 55, 20])
    assert r.status == "unique" and r.sign_changes == 1
    assert round(r.require() * 100, 2) == 28.09
    # the NPV at the rate is zero to far below a cent
    assert r.residual is not None and abs(r.residual) < D("1e-10")
    assert npv(r.require(), [-100, 39, 59, 55, 20], places=8) == 0


def test_excel_irr_examples() -> None:
    flows = [-70000, 12000, 15000, 18000, 21000]
    assert round(irr(flows).require() * 100, 1) == -2.1
    assert round(irr([*flows, 26000]).require() * 100, 1) == 8.7
    assert round(irr(flows[:3]).require() * 100, 1) == -44.4


def test_excel_npv_examples() -> None:
    assert npv("0.1", [-10000, 3000, 4200, 6800], start=1) == D("1188.44")
    assert npv("0.08", [-40000, 8000, 9200, 10000, 12000, 14500]) == D("1922.06")
    assert npv("0.08", [-40000, 8000, 9200, 10000, 12000, 14500, -9000]) == D("-3749.47")
    # hand-worked: -10000/1.1 + 3000/1.21 + 4200/1.331 + 6800/1.4641
    assert npv("0.1", [-10000, 3000, 4200, 6800], start=0) == D("1307.29")


def test_excel_xnpv_and_xirr_examples() -> None:
    assert xnpv("0.09", EXCEL_XIRR, places=6) == D("2086.647602")
    assert xnpv("0.09", EXCEL_XIRR) == D("2086.65")
    r = xirr(EXCEL_XIRR)
    # Excel prints 0.373362535 (it stops at a 0.000001% tolerance); the root is 0.3733625335
    assert abs(r.require() - 0.373362535) < 1e-8
    assert r.basis == "actual/365"
    assert xnpv(r.require(), EXCEL_XIRR, places=6) == 0
    # order of the flows does not matter; discounting to a later date scales the NPV
    assert xirr(list(reversed(EXCEL_XIRR))).require() == pytest.approx(r.require(), abs=1e-13)


def test_hand_worked_rates() -> None:
    assert irr([-100, 110]).require() == pytest.approx(0.1, abs=1e-14)
    two_years = [(dt.date(2021, 1, 1), -1000), (dt.date(2023, 1, 1), 1210)]  # 730 days
    assert xirr(two_years).require() == pytest.approx(0.1, abs=1e-14)
    assert xnpv("0.1", two_years) == 0
    assert xnpv("0.05", two_years) == D("97.51")  # 1210 / 1.05^2 - 1000 = 97.5057
    assert npv("0", [-5, 2, 3]) == 0
    assert money_multiple([-100, 39, 59, 55, 20]) == D("1.73")
    assert money_multiple(two_years) == D("1.21")


# ------------------------------------------------------------------ no root, several roots
def test_two_rates_are_reported_not_chosen() -> None:
    r = irr([-1000, 2300, -1320])  # 1320 v^2 - 2300 v + 1000 = 0: v = 1/1.1, 1/1.2
    assert r.status == "multiple" and r.rate is None and r.sign_changes == 2
    assert [round(x, 10) for x in r.rates] == [0.1, 0.2]
    with pytest.raises(SpecError, match=r"no unique internal rate.*10\.000000%, 20\.000000%"):
        r.require()
    assert "IRR not defined" in str(r)


def test_three_rates() -> None:
    # -1000 (1 - 1.1 v)(1 - 1.2 v)(1 - 1.3 v): rates 10%, 20%, 30%
    r = irr([-1000, 3600, -4310, 1716])
    assert r.status == "multiple" and r.sign_changes == 3
    assert [round(x, 9) for x in r.rates] == [0.1, 0.2, 0.3]


def test_no_rate() -> None:
    same = irr([100, 50, 0, 20])
    assert same.status == "none" and same.sign_changes == 0 and "same sign" in same.explain()
    # two sign changes, no real root: 250 v^2 - 300 v + 100 has a negative discriminant
    none = irr([100, -300, 250])
    assert none.status == "none" and none.sign_changes == 2 and none.rates == ()
    with pytest.raises(SpecError, match="no unique internal rate"):
        none.require()

def test_double_root_is_found_and_named() -> None:
    # -1000 (1 - 1.1 v)^2: the NPV touches zero at 10% without changing sign
    touch = irr([-1000, 2200, -1210])
    assert touch.status == "unique" and touch.sign_changes == 2
    assert touch.require() == pytest.approx(0.1, abs=1e-12)
    assert "double root at 10.000000%" in touch.explain()
    # on a grid point (r = 0) as well
    assert irr([1, -2, 1]).require() == 0


def test_rates_bad_inputs() -> None:
    with pytest.raises(SpecError, match="fractions"):
        npv(3.5, [-1, 2])                      # 3.5 meant 3.5%
    with pytest.raises(SpecError, match="above -1"):
        npv(-1, [-1, 2])
    with pytest.raises(SchemaError, match="no cash flows"):
        irr([])
    with pytest.raises(SchemaError, match=r"flows\[1\]: .x2. is not a number"):
        irr([-1, "x2"])
    with pytest.raises(SchemaError, match="not a finite"):
        irr([-1, float("nan")])
    with pytest.raises(SchemaError, match=r"datetime\.date"):
        xirr([("2020-01-01", -1), (dt.date(2021, 1, 1), 2)])
    with pytest.raises(SchemaError, match=r"flows\[0\]: expected a \(date, amount\) pair"):
        xnpv("0.1", [5])
    with pytest.raises(SpecError, match="start"):
        npv("0.1", [1], start=2)
    with pytest.raises(SpecError, match="nothing was invested"):
        money_multiple([1, 2])


# ------------------------------------------------------------------ the bond
def test_bond_draws_as_spent_and_returns_unspent_capital() -> None:
    bond = ImpactBond.build("demo", "GBP", commitment=100,
                            service_costs=[("2020-01-01", 60), ("2020-07-01", 40)],
                            outcome_payments=[("2022-01-01", 130)])
    assert [(f.date, f.kind, f.amount) for f in bond.flows if f.kind == "drawdown"] == [
        (dt.date(2020, 1, 1), "drawdown", D(60)), (dt.date(2020, 7, 1), "drawdown", D(40))]
    assert bond.investor_flows() == [(dt.date(2020, 1, 1), D(-60)),
                                     (dt.date(2020, 7, 1), D(-40)),
                                     (dt.date(2022, 1, 1), D(130))]
    assert "drawn on each spending date" in bond.notes[0]
    # 100 drawn up front, 80 spent: 20 returned on the last date
    b2 = ImpactBond.build("demo", "GBP", drawdowns=[("2020-01-01", 100)],
                          service_costs=[("2020-01-01", 50)], fees=[("2020-06-01", 30)],
                          outcome_payments=[("2022-01-01", 90)])
    rep = [f for f in b2.flows if f.kind == "repayment"]
    assert [(f.date, f.amount) for f in rep] == [(dt.date(2022, 1, 1), D(20))]
    assert b2.investor_flows()[-1] == (dt.date(2022, 1, 1), D(110))
    assert b2.to_frame().height == 5 and "unspent capital" in str(b2)
    assert b2.provenance["flows_sha256"] == ImpactBond.build(
        "demo", "GBP", drawdowns=[("2020-01-01", 100)], service_costs=[("2020-01-01", 50)],
        fees=[("2020-06-01", 30)], outcome_payments=[("2022-01-01", 90)]
    ).provenance["flows_sha256"]


def test_bond_refusals() -> None:
    with pytest.raises(SchemaError, match=r"by 2020-06-01 the spending \(150\) exceeds the "
                                          r"capital drawn \(100\)"):
        ImpactBond.build("b", "GBP", drawdowns=[("2020-01-01", 100)],
                         service_costs=[("2020-01-01", 50), ("2020-06-01", 100)])
    with pytest.raises(SpecError, match="more than the capital committed"):
        ImpactBond.build("b", "GBP", commitment=50, service_costs=[("2020-01-01", 60)])
    with pytest.raises(SchemaError, match="is negative"):
        Flow("2020-01-01", "fee", -5)
    with pytest.raises(SchemaError, match="kind 'interest' is not one of"):
        Flow("2020-01-01", "interest", 5)
    with pytest.raises(SchemaError, match="without a time of day"):
        Flow(dt.datetime(2020, 1, 1), "fee", 5)  # type: ignore[arg-type]
    with pytest.raises(SchemaError, match="expected a date"):
        Flow("01/02/2020", "fee", 5)  # type: ignore[arg-type]
    with pytest.raises(SchemaError, match="ISO 4217"):
        ImpactBond.build("b", "pounds", service_costs=[("2020-01-01", 1)])
    with pytest.raises(SchemaError, match="more than 2 decimal places"):
        ImpactBond.build("b", "GBP", service_costs=[("2020-01-01", "1.005")])
    with pytest.raises(SchemaError, match="returns more than the capital drawn"):
        ImpactBond.build("b", "GBP", drawdowns=[("2020-01-01", 10)],
                         repayments=[("2020-02-01", 11)])
    with pytest.raises(SchemaError, match="no flows"):
        ImpactBond.build("b", "GBP")
    with pytest.raises(SchemaError, match=r"service_costs\[0\]: expected \(date, amount"):
        ImpactBond.build("b", "GBP", service_costs=[5])


def test_outcome_payments_from_statements_and_frames() -> None:
    s = PaymentStatement("x", "2", "GBP", (
        Line("L1", "Q1", "o", "linear", D("130000.00")),
        Line("L2", "Q2", "o", "linear", D("144200.00"))), D("274200.00"))
    flows = flows_from_statements({dt.date(2015, 7, 1): s})
    assert flows[0].amount == D("274200.00") and "version 2" in flows[0].source
    import polars as pl
    f = pl.DataFrame({"due_date": [dt.date(2021, 12, 31)], "amount": [0.1 + 0.2],
                      "cohort": ["Q1"], "flow": ["outcome"]})
    one = flows_from_frame(f)[0]
    assert one.amount == D("0.30") and one.label == "Q1 outcome"
    with pytest.raises(SchemaError, match="no column 'amount'"):
        flows_from_frame(f.drop("amount"))
    with pytest.raises(SchemaError, match="negative"):
        flows_from_frame(f.with_columns(pl.lit(-1.0).alias("amount")))
    with pytest.raises(SchemaError, match="expected a PaymentStatement"):
        flows_from_statements({dt.date(2015, 7, 1): "s"})  # type: ignore[dict-item]


# ------------------------------------------------------------------ appraisal
def _two_year_bond() -> ImpactBond:
    return ImpactBond.build("two", "GBP", commitment=1500,
                            service_costs=[("2021-01-01", 1000)],
                            outcome_payments=[("2023-01-01", 1210)])


def test_appraisal_investor_view() -> None:
    a = appraise(_two_year_bond(), discount_rate="0.05")
    assert (a.invested, a.returned, a.net_gain) == (D(1000), D(1210), D(210))
    assert a.multiple == D("1.2100")
    assert a.irr.require() == pytest.approx(0.1, abs=1e-13)
    assert a.npv == D("97.51")
    frame = a.to_frame()
    assert frame["investor_flow"].to_list() == ["-1000", "1210"]
    assert frame["present_value"].to_list() == ["-1000.00", "1097.51"]
    summary = dict(zip(a.summary()["metric"], a.summary()["value"], strict=False))
    assert summary["irr"] == "0.100000" and summary["irr_status"] == "unique"
    assert "97.51" in a.explain("npv") and "1,210 / 1,000" in a.explain("multiple")
    assert "IRR 10.0000%" in str(a)
    with pytest.raises(KeyError, match="one of irr"):
        a.explain("roi")


def test_appraisal_payer_view_hand_worked() -> None:
    a = appraise(_two_year_bond(), outcomes=40, savings_per_outcome=50)
    p = a.payer
    assert p is not None
    # cost 1,210 for 40 reoffences avoided at a stated 50 each (2,000)
    assert (p.cost, p.savings, p.net) == (D(1210), D("2000.00"), D("790.00"))
    assert p.cost_per_outcome == D("30.25")
    # discounted at 3.5% for exactly two years: 1210 / 1.071225 = 1129.55
    assert p.cost_pv == D("1129.55")
    assert p.savings_pv == D("1867.02")  # 1129.55 x 2000 / 1210
    assert p.benefit_cost_ratio == D("1.6529")
    assert "cost per outcome 30.25" in a.explain("payer")
    none = appraise(_two_year_bond(), outcomes=0, savings_per_outcome=50).payer
    assert none is not None and none.cost_per_outcome is None


def test_appraisal_without_returns_reports_no_irr() -> None:
    bond = ImpactBond.build("lost", "USD", service_costs=[("2013-09-01", 9_600_000)])
    a = appraise(bond)
    assert a.irr.status == "none" and a.irr.rate is None and a.multiple == D("0.0000")
    assert any("IRR none" in n for n in a.notes)
    assert "IRR not defined" in str(a)
    with pytest.raises(SpecError, match="go together"):
        appraise(bond, outcomes=5)
    with pytest.raises(SchemaError, match="outcomes: -1 is negative"):
        appraise(bond, outcomes=-1, savings_per_outcome=1)
    with pytest.raises(SpecError, match="discount_rate"):
        appraise(bond, discount_rate=5)


def test_guarantee_pays_the_investors_not_the_payer() -> None:
    # Rikers as it ended ([V2]): 7.2m drawn, the guarantor paid 6.0m, the City nothing
    bond = ImpactBond.build(
        "rikers", "USD", commitment=9_600_000,
        drawdowns=[("2012-09-01", 2_400_000), ("2013-09-01", 2_400_000),
                   ("2014-09-01", 2_400_000)],
        service_costs=[("2012-09-01", 2_400_000), ("2013-09-01", 2_400_000),
                       ("2014-09-01", 2_400_000)],
        guarantees=[("2015-08-31", 6_000_000)])
    a = appraise(bond, outcomes=0, savings_per_outcome=1)
    assert (a.invested, a.returned, a.net_gain) == (D(7_200_000), D(6_000_000),
                                                    D(-1_200_000))
    assert a.multiple == D("0.8333") and a.irr.status == "unique"
    rate = a.irr.require()
    assert -0.2 < rate < 0
    assert xnpv(rate, bond.investor_flows(), places=4) == 0
    assert a.payer is not None and a.payer.cost == 0 and a.payer.benefit_cost_ratio is None


def test_doctests_and_the_docs_page_run() -> None:
    import doctest
    import importlib
    import re
    from pathlib import Path

    for name in ("rates", "bond", "appraise", "replicates", "indigo"):
        module = importlib.import_module(f"pbr.finance.{name}")  # not the function
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, name
    page = (Path(__file__).resolve().parents[1] / "docs" / "finance.md").read_text()
    blocks = re.findall(r"^```python\n(.*?)^```", page, re.DOTALL | re.MULTILINE)
    assert blocks
    for code in blocks:
        exec(compile(code, "docs/finance.md", "exec"), {})


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-1000, 1000), min_size=2, max_size=7))
def test_irr_finds_the_polynomial_roots(flows: list[int]) -> None:
    """Every rate reported zeroes the NPV; the rates are the positive real roots v of
    sum c_i v^i (numpy's companion-matrix roots), r = 1/v - 1; a unique rate is
    reported only when there is exactly one."""
    import itertools

    import numpy as np

    result = irr(flows)
    for r in result.rates:
        v = 1 / (1 + r)
        terms = [c * v**i for i, c in enumerate(flows)]
        assert abs(sum(terms)) < 1e-7 * sum(map(abs, terms))
    coeffs = np.trim_zeros(np.array(list(reversed(flows)), dtype=float), "f")
    roots = np.roots(coeffs) if len(coeffs) > 1 else np.array([])
    real = sorted(1 / v.real - 1 for v in roots if abs(v.imag) < 1e-7 and v.real > 1e-6)
    distinct: list[float] = []
    for r in real:  # a double root comes as two equal (or very close) roots
        if not distinct or abs(r - distinct[-1]) > 1e-4 * max(1.0, abs(r)):
            distinct.append(r)
    for r in result.rates:
        assert any(abs(r - d) < 1e-4 * max(1.0, abs(d)) for d in distinct), (r, distinct)
    separated = all(b - a > 1e-2 * max(1.0, abs(a)) for a, b in itertools.pairwise(distinct))
    in_range = all(-0.999 < d < 1e6 for d in distinct)
    if separated and in_range and len(real) == len(distinct):  # simple, separated roots
        assert len(result.rates) == len(distinct), (result, distinct)
    assert len(result.rates) <= result.sign_changes
    assert (result.status == "unique") == (len(result.rates) == 1)


def test_rate_is_exact_to_a_fraction_of_a_cent_on_large_streams() -> None:
    # the Excel stream scaled to billions: the NPV at the rate found is below half a cent
    big = [(d, D(a) * 1_000_000) for d, a in EXCEL_XIRR]
    r = xirr(big)
    assert r.residual is not None and abs(r.residual) < D("0.005")
    assert xnpv(r.require(), big) == 0


def test_appraisal_with_two_rates_reports_both_and_gives_no_irr() -> None:
    # capital drawn again after an outcome payment: -1,000, +2,300, -1,320 a year apart
    bond = ImpactBond.build("twice", "GBP",
                            service_costs=[("2021-01-01", 1000), ("2023-01-01", 1320)],
                            outcome_payments=[("2022-01-01", 2300)])
    a = appraise(bond, discount_rate="0.15")
    assert a.irr.status == "multiple" and a.irr.rate is None
    assert [round(r, 10) for r in a.irr.rates] == [0.1, 0.2]
    summary = dict(zip(a.summary()["metric"], a.summary()["value"], strict=False))
    assert summary["irr"] == "" and summary["irr_status"] == "multiple"
    assert any("IRR multiple" in n for n in a.notes) and "IRR not defined" in str(a)
    # the NPV at a stated rate still answers: positive between the two rates
    assert a.npv == D("1.89")  # -1000 + 2300/1.15 - 1320/1.3225 = -1000 + 2000 - 998.11
