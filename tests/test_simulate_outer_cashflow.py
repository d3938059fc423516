"""Cash flows (pbr.simulate.cashflow): when payments fall due and the working capital a
provider needs, with hand-worked schedules; the contract's timing fields round-trip."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from pbr.contract import CohortPeriod, Comparator, Component, Contract, Outcome, pay
from pbr.contract.spec import demo_contract_text
from pbr.errors import ContractError, SchemaError, SpecError
from pbr.simulate.cashflow import ServiceCosts, cash_flows, payment_timing, payments_by_date

D = Decimal
FEE = Component("fee", "fee", amount=1000, periods=3)
OUT = Component("o", "linear", measure="binary_rate", basis="avoided", price=100)


def _contract(**kw: object) -> Contract:
    base: dict[str, object] = dict(
        periods=(CohortPeriod("Q1", "2020-01-01", "2020"),), period_length="3 months",
        reporting_lag="3 months", comparator=Comparator(values={"binary_rate": 50}),
        components=(FEE, OUT), on_account={"Q1": 300})
    base.update(kw)
    return Contract("t", **base)  # type: ignore[arg-type]


def _statement(c: Contract, actual: int = 40) -> object:
    return pay(c, [Outcome("Q1", "binary_rate", actual=actual, comparator=50, n=200)])


# ------------------------------------------------------------------ contract fields
def test_timing_fields_round_trip_and_refusals() -> None:
    text = demo_contract_text().replace(
        'rate_unit = "percent"', 'rate_unit = "percent"\nreporting_lag = "4 months"', 1
    ).replace('column = "cohort_period"', 'column = "cohort_period"\nlength = "3 months"')
    c = Contract.from_toml(text)
    assert str(c.reporting_lag) == "4 months" and str(c.period_length) == "3 months"
    assert Contract.from_toml(c.to_toml()) == c
    assert 'reporting_lag = "4 months"' in c.to_toml()
    assert Contract.from_toml(demo_contract_text()).reporting_lag is None
    for bad, msg in (('length = "soon"', "cohorts.length: a period"),
                     ('length = "0 months"', "longer than zero"),
                     ("length = 3", "got 3")):
        with pytest.raises(ContractError, match=msg):
            Contract.from_toml(text.replace('length = "3 months"', bad))
    with pytest.raises(ContractError, match=r"contract.reporting_lag"):
        Contract.from_toml(text.replace('reporting_lag = "4 months"', 'reporting_lag = "x"'))


# ------------------------------------------------------------------ timing
def test_due_dates_of_the_demo_quarters() -> None:
    c = Contract.from_toml(demo_contract_text())   # crc_pbr_2015: 12 months + 6 months
    t = payment_timing(c, reporting_lag="3 months")
    assert t["cohort"].to_list() == ["2019Q1", "2019Q2", "2019Q3", "2019Q4"]
    # period ends: the day before the next start; the last takes the previous length
    assert t["end"].to_list() == [dt.date(2019, 3, 31), dt.date(2019, 6, 30),
                                  dt.date(2019, 9, 30), dt.date(2019, 12, 31)]
    # 31 March 2019 + 12 + 6 + 3 months, in one step: 31 December 2020; 30 June 2019 +
    # 21 months is 30 March 2021 (pbr's calendar months, rule W1)
    assert t["due_date"].to_list() == [dt.date(2020, 12, 31), dt.date(2021, 3, 30),
                                       dt.date(2021, 6, 30), dt.date(2021, 9, 30)]
    assert t["waiting_end"][0] == dt.date(2020, 9, 30)
    # no lag given anywhere: due when the waiting period ends, and a note says so
    cf = cash_flows(c, pl.DataFrame({"cohort": ["2019Q1"], "payment": [1.0],
                                     "payment_fee": [0.0]}))
    assert cf.timing["due_date"][0] == dt.date(2020, 9, 30)
    assert any("no reporting_lag" in n for n in cf.notes)
    assert any("2019Q4" in n for n in cash_flows(
        c, pl.DataFrame({"cohort": ["2019Q4"], "payment": [1.0], "payment_fee": [0.0]})).notes)


def test_index_day_included_moves_the_window_end_back_a_day() -> None:
    c = _contract(measure_overrides={"include_index_day": True})
    assert payment_timing(c)["follow_up_end"][0] == dt.date(2021, 3, 30)


# ------------------------------------------------------------------ a statement, by hand
def test_statement_schedule_and_peak_need_by_hand() -> None:
    c = _contract()
    s = _statement(c)              # fee 3,000 + 20 reoffenders avoided x 100 - 300 on account
    assert s.total == D("4700.00")  # type: ignore[attr-defined]
    cf = cash_flows(c, s, ServiceCosts(per_month=2000))  # type: ignore[arg-type]
    sched = cf.schedule
    assert sched.select("flow", "due_date", "amount").rows() == [
        ("fee", dt.date(2020, 1, 31), D("1000.00")),
        ("fee", dt.date(2020, 2, 29), D("1000.00")),
        ("fee", dt.date(2020, 3, 31), D("1000.00")),
        ("on account", dt.date(2020, 3, 31), D("300.00")),
        ("outcome", dt.date(2021, 12, 31), D("2000.00")),
        ("outcome", dt.date(2021, 12, 31), D("-300.00"))]
    # the schedule pays the statement's total plus what was paid on account
    assert sum(sched["amount"].to_list()) == D("4700.00") + D("300.00")
    # balance: Jan -1,000; Feb -2,000; Mar +1,300 - 2,000 = -2,700; then nothing until
    # December 2021, when 2,000 - 300 arrive: -1,000
    m = cf.monthly
    assert m["balance"].to_list()[:3] == [D("-1000.00"), D("-2000.00"), D("-2700.00")]
    assert m["month"][-1] == dt.date(2021, 12, 1) and m.height == 24
    assert cf.peaks.row(0) == (D("2700.00"), dt.date(2020, 3, 1), D("-1000.00"))
    assert cf.summary().equals(cf.peaks)
    assert "due 2021-12-31" in cf.explain() and "2700.00" in str(cf)


def test_fee_instalments_split_to_the_penny_and_costs_per_offender() -> None:
    fee = Component("fee", "fee", amount=D("100.00"), periods=3, band_low=100,
                    band_high=150, band_price=2)
    c = _contract(components=(fee, OUT), on_account={}, period_length="90 days")
    s = pay(c, [Outcome("Q1", "binary_rate", actual=50, comparator=50, n=160)])
    fees = payments_by_date(c, s).filter(pl.col("flow") == "fee")
    # 300.00 in three day-based parts of a 90-day period (ends 30 Mar 2020), and the band
    # reconciliation (10 offenders above 150 at 2.00) at the period's end
    assert fees.select("due_date", "amount").rows() == [
        (dt.date(2020, 1, 30), D("100.00")), (dt.date(2020, 2, 29), D("100.00")),
        (dt.date(2020, 3, 30), D("100.00")), (dt.date(2020, 3, 30), D("20.00"))]
    # 1,000 per cohort + 2.50 per offender (160) = 1,400 over Jan, Feb, Mar: 466.66 x 2 + 466.68
    cf = cash_flows(c, s, ServiceCosts(per_cohort=1000, per_offender=D("2.50")))
    assert cf.monthly["costs"].to_list()[:3] == [D("466.66"), D("466.66"), D("466.68")]
    assert sum(cf.monthly["costs"].to_list()) == D("1400.00")


def test_limits_fall_due_with_the_last_cohort_of_their_year() -> None:
    c = _contract(periods=(CohortPeriod("Q1", "2020-01-01", "2020"),
                           CohortPeriod("Q2", "2020-04-01", "2020")),
                  components=(OUT,), on_account={}, limits={"year_cap": 1500})
    s = pay(c, [Outcome("Q1", "binary_rate", actual=40, comparator=50, n=200),
                Outcome("Q2", "binary_rate", actual=45, comparator=50, n=200)])
    sched = payments_by_date(c, s)
    cap = sched.filter(pl.col("cohort") == "year 2020")
    assert cap.select("due_date", "amount").row(0) == (dt.date(2022, 3, 30), D("-1500.00"))
    assert sum(sched["amount"].to_list()) == s.total   # type: ignore[attr-defined]


# ------------------------------------------------------------------ a simulation's frame
def _sim_frame() -> pl.DataFrame:
    return pl.DataFrame({
        "design": ["d"] * 4, "effect": ["e"] * 4, "behaviour": ["none"] * 4,
        "replicate": [0, 0, 1, 1], "area": ["a", "b", "a", "b"], "cohort": ["Q1"] * 4,
        "n": [200, 100, 200, 100], "payment": [5000.0, 3000.0, 3000.0, 4000.0],
        "payment_fee": [3000.0] * 4, "payment_o": [2300.0, 300.0, 300.0, 1300.0]})


def test_simulated_payments_per_replicate_and_area() -> None:
    c = _contract()
    frame = _sim_frame()
    sched = payments_by_date(c, frame)
    assert set(sched.columns) >= {"design", "effect", "behaviour", "replicate", "due_date",
                                  "amount"}
    # per run: three fee instalments, the on-account payment, the outcome net of fees
    one = sched.filter((pl.col("replicate") == 0) & (pl.col("area") == "a"))
    assert one.select("flow", "amount").rows() == [
        ("fee", 1000.0), ("fee", 1000.0), ("fee", 1000.0), ("on account", 300.0),
        ("outcome", 2000.0)]
    cf = cash_flows(c, frame, ServiceCosts(per_offender=30))
    # area a: costs 6,000 over three months (2,000 a month); b: 3,000 (1,000 a month)
    # a, replicate 0: Jan -1,000, Feb -2,000, Mar -2,700 -> need 2,700, final -700
    # b, replicate 0: Jan 0, Feb 0, Mar +300 -> need 0; final 300 + 0 = 300
    peaks = {(r["replicate"], r["area"]): (r["peak_need"], r["final_balance"])
             for r in cf.peaks.iter_rows(named=True)}
    assert peaks[(0, "a")] == (2700.0, -700.0)
    assert peaks[(0, "b")] == (0.0, 300.0)
    assert peaks[(1, "a")] == (2700.0, -2700.0)
    m = cf.monthly           # 4 runs x 24 months (January 2020 to December 2021)
    assert m.height == 4 * 24 and m.columns[-4:] == ["payments", "costs", "net", "balance"]
    last = m.filter(pl.col("month") == dt.date(2021, 12, 1))
    assert last["balance"].to_list() == cf.peaks["final_balance"].to_list()
    assert cf.monthly_for({"area": "b", "replicate": 0})["costs"].to_list()[:3] == [1000.0] * 3
    with pytest.raises(SpecError, match="not keys"):
        cf.monthly_for({"cohort": "Q1"})
    s = cf.summary()
    assert s["replicates"].to_list() == [2, 2]
    assert s.filter(pl.col("area") == "a")["p_need"].item() == 1.0
    pooled = cash_flows(c, frame, ServiceCosts(per_offender=30), pool_areas=True)
    assert "area" not in pooled.peaks.columns
    # both areas: Jan -1,000, Feb -2,000, Mar -2,000 + 600 ... need 2,400 in replicate 0
    assert pooled.peaks.sort("replicate")["peak_need"].to_list() == [2400.0, 2400.0]
    assert pooled.summary()["mean_need"].item() == 2400.0


# ------------------------------------------------------------------ refusals
@pytest.mark.parametrize(("kw", "payments", "err", "msg"), [
    ({"periods": (CohortPeriod("Q1"),)}, None, ContractError, "start: cash flows need"),
    ({"period_length": None}, None, ContractError, "cohorts.length: the length"),
    ({}, pl.DataFrame({"cohort": ["Q1"]}), SchemaError, "payments.payment"),
    ({}, pl.DataFrame({"cohort": ["Q1"], "payment": [1.0]}), SchemaError, "payment_fee"),
    ({}, pl.DataFrame({"cohort": ["Q9"], "payment": [1.0], "payment_fee": [0.0]}),
     ContractError, "Q9"),
    ({}, "not a frame", SchemaError, "PaymentStatement or a polars"),
])
def test_refusals(kw: dict[str, object], payments: object, err: type[Exception],
                  msg: str) -> None:
    c = _contract(**kw)
    given = payments if payments is not None else pl.DataFrame(
        {"cohort": ["Q1"], "payment": [1.0], "payment_fee": [0.0]})
    with pytest.raises(err, match=msg):
        cash_flows(c, given)  # type: ignore[arg-type]


def test_more_refusals() -> None:
    c = _contract()
    with pytest.raises(ContractError, match=r"costs.per_month: -1 is negative"):
        ServiceCosts(per_month=-1)
    with pytest.raises(ContractError, match="reporting_lag: a period"):
        payment_timing(c, reporting_lag="soon")
    with pytest.raises(SchemaError, match=r"payments.n: per-offender"):
        cash_flows(c, _sim_frame().drop("n"), ServiceCosts(per_offender=1))
    other = Contract("other", periods=c.periods, components=(FEE, OUT),
                     comparator=c.comparator, period_length="3 months")
    with pytest.raises(ContractError, match="not 'other'"):
        cash_flows(other, _statement(c))  # type: ignore[arg-type]
    with pytest.raises(ContractError, match=r"cohorts.period: cash flows need"):
        payment_timing(Contract("x", components=(OUT,)))


def test_simulated_fee_band_reconciled_at_the_period_end() -> None:
    fee = Component("fee", "fee", amount=1000, periods=3, band_low=100, band_high=150,
                    band_price=2)
    c = _contract(components=(fee, OUT), on_account={})
    frame = pl.DataFrame({"replicate": [0], "cohort": ["Q1"], "payment": [3020.0],
                          "payment_fee": [3020.0]})       # 160 offenders: 10 x 2.00 above
    fees = payments_by_date(c, frame).filter(pl.col("flow") == "fee")
    assert fees.select("due_date", "amount").rows() == [
        (dt.date(2020, 1, 31), 1000.0), (dt.date(2020, 2, 29), 1000.0),
        (dt.date(2020, 3, 31), 1000.0), (dt.date(2020, 3, 31), 20.0)]
    outcome = payments_by_date(c, frame).filter(pl.col("flow") == "outcome")
    assert outcome["amount"].to_list() == [0.0]
