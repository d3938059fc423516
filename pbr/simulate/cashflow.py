"""Cash flows of a contract: when each payment falls due, and the provider's working capital.

A payment-by-results provider spends on services while its cohorts are recruited and
is paid for outcomes only once the cohort's reoffending can be counted.  For a cohort
whose period runs from ``start`` to ``end`` (its last day) the outcome payment falls due
on::

    due = end + follow_up (- 1 day when the window includes the index day)
              + waiting_period + reporting_lag

the end of the follow-up window of an offender indexed on the period's last day
([MoJ-Guide-2019]: one-year follow-up, six-month waiting period for convictions to
be recorded), then the contract's ``reporting_lag`` (the time the payer takes to
publish the results and pay: the MoJ published the final figures of the CRC cohorts of
October-December 2019 and January-March 2020 about four months after their waiting
periods ended, on 28 October 2021 and 27 January 2022, [MoJ-CRC-Final]).  A cohort
period's end is
the contract's ``[cohorts] length`` after its start, or the day before the next listed
period starts (the last period then takes the previous one's length, with a note).

Fees for service are paid in the component's ``periods`` equal instalments at the end of
equal parts of the cohort period (the volume-band reconciliation at the period's end,
[MoJ-StrawMan-2013]); a payment on account is paid when the cohort period ends and
deducted from the outcome payment (so it appears twice: once paid, once deducted);
limits and the rounding of the total fall due with the last cohort they cover.

The provider's costs (:class:`ServiceCosts`) are spent at the start of each month of
service; payments arrive in the month they fall due.  The running balance is costs and
payments summed month by month; the *peak working capital need* is the deepest the
balance goes below zero (0 when it never does).  With a simulation the need is computed
per replicate, so its distribution is known (:meth:`CashFlows.summary`).

Money is exact where the input is: from a :class:`~pbr.contract.PaymentStatement` every
amount is a Decimal (instalments split to the quantum, the remainder on the last one)
and the schedule reconciles to the statement's total plus what was paid on account.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import polars as pl

from pbr.contract.spec import Contract
from pbr.contract.statement import PaymentStatement
from pbr.errors import ContractError, ReconciliationError, SchemaError, SpecError
from pbr.period import Period
from pbr.simulate._calendar import (
    ServiceCosts,
    Timing,
    cost_rows,
    fees_in_force,
    instalment_dates,
    month_starts,
    places,
    split,
    timings,
)
from pbr.simulate._cashframe import Flow, Matrices, matrices, plan, schedule

__all__ = ["KEYS", "CashFlows", "ServiceCosts", "cash_flows", "payment_timing",
           "payments_by_date"]

#: the columns of a simulation's frame that identify one provider's run
KEYS = ("design", "effect", "behaviour", "replicate", "area")
_ZERO = Decimal(0)


# --------------------------------------------------------------------------- timing
def payment_timing(contract: Contract, cohorts: Sequence[str] | None = None, *,
                   reporting_lag: str | Period | None = None) -> pl.DataFrame:
    """When each cohort's outcome payment falls due.

    Parameters
    ----------
    contract
        The contract (its periods, measure and ``reporting_lag``).
    cohorts
        Cohort labels (default: every period the contract lists).
    reporting_lag
        Overrides the contract's ``reporting_lag`` (default: the contract's, else 0).

    Returns
    -------
    polars.DataFrame
        cohort, start, end (last day), follow_up_end, waiting_end, due_date.

    Examples
    --------
    >>> from pbr.contract.spec import Contract, demo_contract_text
    >>> c = Contract.from_toml(demo_contract_text())
    >>> payment_timing(c, ["2019Q1"], reporting_lag="3 months").row(0)
    ... # doctest: +NORMALIZE_WHITESPACE
    ('2019Q1', datetime.date(2019, 1, 1), datetime.date(2019, 3, 31),
     datetime.date(2020, 3, 31), datetime.date(2020, 9, 30), datetime.date(2020, 12, 31))
    """
    rows, _ = timings(contract, cohorts, reporting_lag)
    return pl.DataFrame(
        [(t.cohort, t.start, t.end, t.follow_up_end, t.waiting_end, t.due)
         for t in rows.values()],
        schema={"cohort": pl.String, "start": pl.Date, "end": pl.Date,
                "follow_up_end": pl.Date, "waiting_end": pl.Date, "due_date": pl.Date},
        orient="row")


_SCHEMA_TAIL = {"cohort": pl.String, "flow": pl.String, "due_date": pl.Date}


def _from_statement(contract: Contract, s: PaymentStatement, rep: str | Period | None
                    ) -> tuple[pl.DataFrame, list[str], dict[str, Timing]]:
    if s.contract != contract.name:
        raise ContractError(f"statement: it was made under contract {s.contract!r}, not "
                            f"{contract.name!r}; give the contract it was paid under")
    cohorts = [x.cohort for x in s.lines if x.cohort in {p.name for p in contract.periods}]
    tim, notes = timings(contract, list(dict.fromkeys(cohorts)), rep)
    q = contract.rounding.quantum
    last = max((t.due for t in tim.values()), default=None)
    rows: list[tuple[str, str, _dt.date, Decimal]] = []
    for x in s.lines:
        if x.cohort in tim:
            t = tim[x.cohort]
            fees = fees_in_force(contract, t)
            if x.kind == "component" and x.component in fees and x.rule == "fee for service":
                k = fees[x.component].periods
                rows += [(x.cohort, "fee", d, a) for d, a in
                         zip(instalment_dates(t, k), split(x.amount, k, q), strict=True)]
            elif x.kind == "component" and x.component in fees:
                rows.append((x.cohort, "fee", t.end, x.amount))
            elif x.kind == "on_account":
                rows.append((x.cohort, "on account", t.end, -x.amount))
                rows.append((x.cohort, "outcome", t.due, x.amount))
            else:
                rows.append((x.cohort, "outcome", t.due, x.amount))
            continue
        if last is None:
            raise ContractError(f"statement line {x.line}: no cohort of the contract in the "
                                "statement to date it by")
        year = x.cohort[5:] if x.cohort.startswith("year ") else None
        dues = [t.due for t in tim.values() if year is None or t.year == year]
        rows.append((x.cohort, "outcome", max(dues) if dues else last, x.amount))
    scheduled = sum((r[3] for r in rows), _ZERO)
    paid_on_account = sum((-x.amount for x in s.lines if x.kind == "on_account"), _ZERO)
    if scheduled != s.total + paid_on_account:  # pragma: no cover (the rows partition lines)
        raise ReconciliationError(f"payments by date sum to {scheduled}, not the statement's "
                                  f"total {s.total} plus {paid_on_account} paid on account")
    frame = pl.DataFrame(rows, schema={**_SCHEMA_TAIL, "amount": pl.Decimal(38, places(q))},
                         orient="row")
    return frame, notes, tim


def _frame_inputs(contract: Contract, frame: pl.DataFrame, rep: str | Period | None
                  ) -> tuple[dict[str, Timing], list[str], list[str], list[Flow]]:
    for col in ("cohort", "payment"):
        if col not in frame.columns:
            raise SchemaError(f"payments.{col}: column missing; give one row per cohort (and "
                              f"replicate, area...) with cohort and payment (pounds); the "
                              f"frame has {', '.join(frame.columns)}")
    if frame["payment"].null_count() or not frame["payment"].dtype.is_numeric():
        raise SchemaError("payments.payment: numbers (pounds) with no empty value")
    keys = [k for k in KEYS if k in frame.columns]
    labels = frame["cohort"].cast(pl.String).unique(maintain_order=True).to_list()
    tim, notes = timings(contract, labels, rep)
    return tim, notes, keys, plan(contract, tim, frame)


def payments_by_date(contract: Contract, payments: PaymentStatement | pl.DataFrame, *,
                     reporting_lag: str | Period | None = None) -> pl.DataFrame:
    """Each payment with the date it falls due.

    Parameters
    ----------
    contract
        The contract the payments are made under.
    payments
        A :class:`~pbr.contract.PaymentStatement` (exact Decimal amounts), or a frame with
        ``cohort`` and ``payment`` (pounds, after payments on account are deducted), a
        ``payment_<fee>`` column for each fee component, and any of :data:`KEYS`
        (a simulation's :attr:`~pbr.simulate.SimulationResult.frame`).
    reporting_lag
        Overrides the contract's ``reporting_lag``.

    Returns
    -------
    polars.DataFrame
        The keys present, cohort, flow (``fee``, ``on account`` or ``outcome``),
        due_date and amount: a statement's in date order; a frame's row by row, each
        row's flows in date order.

    Examples
    --------
    >>> from decimal import Decimal
    >>> from pbr.contract import (CohortPeriod, Component, Contract, Line,
    ...                           PaymentStatement)
    >>> c = Contract("x", periods=(CohortPeriod("Q1", "2020-01-01"),), period_length="3 months",
    ...              components=(Component("o", "linear", measure="binary_rate",
    ...                                    basis="avoided", price=100),))
    >>> s = PaymentStatement("x", "1", "GBP", (Line("L1", "Q1", "o", "linear",
    ...                                                Decimal("500.00")),), Decimal("500.00"))
    >>> payments_by_date(c, s, reporting_lag="3 months")["due_date"].to_list()
    [datetime.date(2021, 12, 31)]
    """
    if isinstance(payments, PaymentStatement):
        frame, _, _ = _from_statement(contract, payments, reporting_lag)
        return frame.sort("due_date", "cohort", "flow", maintain_order=True)
    if not isinstance(payments, pl.DataFrame):
        raise SchemaError(f"payments: a PaymentStatement or a polars DataFrame, got "
                          f"{type(payments).__name__}")
    tim, _, keys, flows = _frame_inputs(contract, payments, reporting_lag)
    return schedule(contract, payments, tim, keys, flows)


# --------------------------------------------------------------------------- costs
@dataclass(frozen=True, eq=False)
class CashFlows:
    """A provider's cash flows under a contract: the schedule, the months, the peak need.

    Attributes
    ----------
    schedule
        :func:`payments_by_date`'s frame (built when first read).
    monthly
        Per provider run (the keys) and month: payments, costs, net and balance (the
        running sum of net); built when first read (a simulation holds runs x months).
    peaks
        Per provider run: peak_need (0 when the balance never goes below 0),
        peak_month (the first month at the lowest balance), final_balance.
    timing
        :func:`payment_timing` of the cohorts paid.
    costs
        The :class:`ServiceCosts`.
    keys
        The columns that identify a run (design, effect, behaviour, replicate, area).
    notes, provenance
        Remarks kept in the record; the contract, the timing rule, the reporting lag.
    """

    peaks: pl.DataFrame
    timing: pl.DataFrame
    costs: ServiceCosts
    keys: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    provenance: dict[str, Any] = field(default_factory=dict)
    _parts: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def schedule(self) -> pl.DataFrame:
        if "schedule" not in self._parts:
            self._parts["schedule"] = self._parts["make_schedule"]()
        out: pl.DataFrame = self._parts["schedule"]
        return out

    @property
    def monthly(self) -> pl.DataFrame:
        if "monthly" not in self._parts:
            self._parts["monthly"] = self.monthly_for({})
        out: pl.DataFrame = self._parts["monthly"]
        return out

    def monthly_for(self, select: dict[str, Any]) -> pl.DataFrame:
        """The monthly rows of the runs whose keys equal ``select`` (all: ``{}``)."""
        unknown = sorted(set(select) - set(self.keys))
        if unknown:
            raise SpecError(f"select: {unknown} are not keys of these runs ({self.keys})")
        if "monthly" in self._parts:
            out: pl.DataFrame = self._parts["monthly"]
            for k, v in select.items():
                out = out.filter(pl.col(k) == v)
            return out
        mx: Matrices = self._parts["matrices"]
        rows = np.arange(mx.payments.shape[0])
        runs = mx.runs
        if select:
            mask = np.ones(runs.height, dtype=bool)
            for k, v in select.items():
                mask &= (runs[k] == v).to_numpy()
            rows = np.flatnonzero(mask)
            runs = runs.filter(pl.Series(mask))
        m = len(mx.months)
        grid = pl.DataFrame({"month": mx.months}, schema={"month": pl.Date})
        out = runs.join(grid, how="cross") if self.keys else grid
        pay, cost = mx.payments[rows].ravel(), mx.costs[rows].ravel()
        assert out.height == rows.size * m
        return out.with_columns(pl.Series("payments", pay), pl.Series("costs", cost),
                                pl.Series("net", pay - cost),
                                pl.Series("balance", mx.balance[rows].ravel()))

    def to_frame(self) -> pl.DataFrame:
        """The monthly frame."""
        return self.monthly

    def summary(self) -> pl.DataFrame:
        """Peak working capital need: per run, or its distribution across replicates
        (mean, 5th, 50th and 95th percentiles, maximum, share of replicates with a need)."""
        if "replicate" not in self.keys:
            return self.peaks
        by = [k for k in self.keys if k != "replicate"]
        need = pl.col("peak_need").cast(pl.Float64)
        aggs = [pl.len().alias("replicates"), need.mean().alias("mean_need"),
                need.quantile(0.05, "nearest").alias("p05_need"),
                need.quantile(0.5, "nearest").alias("p50_need"),
                need.quantile(0.95, "nearest").alias("p95_need"),
                need.max().alias("max_need"), (need > 0).mean().alias("p_need"),
                pl.col("final_balance").cast(pl.Float64).mean().alias("mean_final_balance")]
        if not by:
            return self.peaks.select(aggs)
        return self.peaks.group_by(by, maintain_order=True).agg(aggs)

    def explain(self) -> str:
        """The timing rule and the costs, in words."""
        out = [f"Cash flows under {self.provenance.get('contract', 'the contract')!r}: "
               f"{self.provenance.get('rule', '')}", f"  {self.costs}, spent at the start of "
               "each month; payments arrive in the month they fall due"]
        for r in self.timing.iter_rows(named=True):
            out.append(f"  {r['cohort']}: {r['start']} to {r['end']}; follow-up to "
                       f"{r['follow_up_end']}, waiting to {r['waiting_end']}, due "
                       f"{r['due_date']}")
        out += [f"  note: {n}" for n in self.notes]
        return "\n".join(out)

    def __str__(self) -> str:
        s = self.summary()
        head = f"Cash flows ({len(self.timing)} cohort(s), {self.costs})"
        return head + "\n" + str(s)


def _timing_frame(tim: dict[str, Timing]) -> pl.DataFrame:
    return pl.DataFrame(
        [(t.cohort, t.start, t.end, t.follow_up_end, t.waiting_end, t.due)
         for t in tim.values()],
        schema={"cohort": pl.String, "start": pl.Date, "end": pl.Date,
                "follow_up_end": pl.Date, "waiting_end": pl.Date, "due_date": pl.Date},
        orient="row")


def _statement_months(contract: Contract, s: PaymentStatement, costs: ServiceCosts,
                      rep: str | Period | None
                      ) -> tuple[pl.DataFrame, pl.DataFrame, list[str], dict[str, Timing]]:
    """The exact (Decimal) monthly frame of one statement."""
    sched, notes, tim = _from_statement(contract, s, rep)
    q = contract.rounding.quantum
    money = pl.Decimal(38, places(q))
    sizes = {x.cohort: int(x.n) for x in s.lines if x.n is not None}
    rows = cost_rows(costs, tim, sizes, q)
    first = min([d for d in sched["due_date"].to_list()] + [m for m, _ in rows])
    last = max([d for d in sched["due_date"].to_list()] + [m for m, _ in rows])
    grid = pl.DataFrame({"month": month_starts(first, last)}, schema={"month": pl.Date})
    pay_m = sched.group_by(pl.col("due_date").dt.month_start().alias("month")).agg(
        pl.col("amount").sum().alias("payments"))
    cost_m = pl.DataFrame({"month": [m for m, _ in rows], "costs": [a for _, a in rows]},
                          schema={"month": pl.Date, "costs": money}).group_by("month").agg(
        pl.col("costs").sum())
    zero = pl.lit(Decimal(0), money)
    monthly = (grid.join(pay_m, on="month", how="left").join(cost_m, on="month", how="left")
               .with_columns(pl.col("payments").cast(money).fill_null(zero),
                             pl.col("costs").cast(money).fill_null(zero))
               .with_columns((pl.col("payments") - pl.col("costs")).alias("net"))
               .sort("month")
               .with_columns(pl.col("net").cum_sum().alias("balance")))
    peaks = monthly.select(
        pl.when(pl.col("balance").min() < zero).then(-pl.col("balance").min())
        .otherwise(zero).alias("peak_need"),
        pl.col("month").get(pl.col("balance").arg_min()).alias("peak_month"),
        pl.col("balance").last().alias("final_balance"))
    return monthly, peaks, notes, tim


def cash_flows(contract: Contract, payments: PaymentStatement | pl.DataFrame,
               costs: ServiceCosts | None = None, *, pool_areas: bool = False,
               reporting_lag: str | Period | None = None) -> CashFlows:
    """Month-by-month costs and payments, and the provider's peak working capital need.

    Parameters
    ----------
    contract
        The contract.
    payments
        A :class:`~pbr.contract.PaymentStatement` (one provider, exact Decimals) or a
        simulation's frame (:func:`payments_by_date`); with ``per_offender`` costs the
        frame needs an ``n`` column (offenders per cohort).
    costs
        The provider's :class:`ServiceCosts` (default none: payments only).
    pool_areas
        Treat the areas of a simulation as one provider (default: each its own).
    reporting_lag
        Overrides the contract's ``reporting_lag``.

    Returns
    -------
    CashFlows

    Examples
    --------
    >>> from decimal import Decimal
    >>> from pbr.contract import (CohortPeriod, Component, Contract, Line,
    ...                           PaymentStatement)
    >>> c = Contract("x", periods=(CohortPeriod("Q1", "2020-01-01"),), period_length="3 months",
    ...              components=(Component("o", "linear", measure="binary_rate",
    ...                                    basis="avoided", price=100),))
    >>> s = PaymentStatement("x", "1", "GBP", (Line("L1", "Q1", "o", "linear",
    ...                                                Decimal("50000.00")),), Decimal("50000.00"))
    >>> cf = cash_flows(c, s, ServiceCosts(per_cohort=30000), reporting_lag="3 months")
    >>> cf.peaks["peak_need"].to_list(), cf.peaks["final_balance"].to_list()
    ([Decimal('30000.00')], [Decimal('20000.00')])
    """
    costs = costs or ServiceCosts()
    lag = (str(Period.parse(reporting_lag)) if reporting_lag is not None
           else str(contract.reporting_lag or Period(0, "days")))
    spec = contract.measure_spec
    prov = {"contract": contract.name, "reporting_lag": lag, "pool_areas": pool_areas,
            "costs": str(costs),
            "rule": (f"due = period end + follow-up {spec.follow_up} + waiting period "
                     f"{spec.waiting_period} + reporting lag {lag}")}
    if isinstance(payments, PaymentStatement):
        statement = payments
        monthly, peaks, notes, tim = _statement_months(contract, statement, costs,
                                                       reporting_lag)
        parts: dict[str, Any] = {"monthly": monthly, "make_schedule": lambda: payments_by_date(
            contract, statement, reporting_lag=reporting_lag)}
        return CashFlows(peaks, _timing_frame(tim), costs, (), tuple(notes), prov, parts)
    if not isinstance(payments, pl.DataFrame):
        raise SchemaError(f"payments: a PaymentStatement or a polars DataFrame, got "
                          f"{type(payments).__name__}")
    frame = payments
    tim, notes, keys, flows = _frame_inputs(contract, frame, reporting_lag)
    if costs.per_offender and "n" not in frame.columns:
        raise SchemaError("payments.n: per-offender costs need the offenders per cohort; "
                          "add column n")
    run_keys = [k for k in keys if not (pool_areas and k == "area")]
    fixed = [k for k in run_keys if k != "replicate"]
    sizes: dict[tuple[Any, ...], dict[str, int]] = {}
    if "n" in frame.columns:
        first = frame.filter(pl.col("replicate") == pl.col("replicate").min()) \
            if "replicate" in frame.columns else frame
        grouped = first.group_by([*fixed, "cohort"], maintain_order=True).agg(
            pl.col("n").sum())
        for r in grouped.iter_rows(named=True):
            sizes.setdefault(tuple(r[k] for k in fixed), {})[str(r["cohort"])] = int(r["n"])
    mx = matrices(contract, frame, tim, run_keys, flows, costs, sizes)
    low = mx.balance.min(axis=1)
    at = mx.balance.argmin(axis=1)
    found = pl.DataFrame({"peak_need": np.where(low < 0, -low, 0.0),
                          "peak_month": pl.Series([mx.months[i] for i in at.tolist()],
                                                  dtype=pl.Date),
                          "final_balance": mx.balance[:, -1]})
    peaks = pl.concat([mx.runs, found], how="horizontal") if run_keys else found
    parts = {"matrices": mx, "make_schedule": lambda: payments_by_date(
        contract, frame, reporting_lag=reporting_lag)}
    return CashFlows(peaks, _timing_frame(tim), costs, tuple(run_keys), tuple(notes), prov,
                     parts)
