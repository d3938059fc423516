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
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import polars as pl

from pbr.contract.components import Component
from pbr.contract.outcome import as_decimal
from pbr.contract.spec import Contract
from pbr.contract.statement import PaymentStatement
from pbr.errors import ContractError, ReconciliationError, SchemaError
from pbr.period import Period

__all__ = ["KEYS", "CashFlows", "ServiceCosts", "cash_flows", "payment_timing",
           "payments_by_date"]

#: the columns of a simulation's frame that identify one provider's run
KEYS = ("design", "effect", "behaviour", "replicate", "area")
_DAY = _dt.timedelta(days=1)
_ZERO = Decimal(0)


# --------------------------------------------------------------------------- timing
def _months_between(a: _dt.date, b: _dt.date) -> int | None:
    """Whole months from ``a`` to ``b`` when ``a`` plus them is exactly ``b``."""
    k = (b.year - a.year) * 12 + b.month - a.month
    return k if k > 0 and Period(k, "months").add_date(a) == b else None


def _add(day: _dt.date, *periods: Period) -> _dt.date:
    """``day`` plus the periods: in one step when all are whole months (so 31 March plus
    21 months is 31 December, not the 30th that three clamped steps give), else in turn."""
    if all(p.months or p.n == 0 for p in periods):
        return Period(sum(p.months for p in periods), "months").add_date(day)
    for p in periods:
        day = p.add_date(day)
    return day


@dataclass(frozen=True)
class _Timing:
    cohort: str
    start: _dt.date
    end: _dt.date
    months: int | None          # the period's length in whole months, when it is one
    follow_up_end: _dt.date
    waiting_end: _dt.date
    due: _dt.date
    year: str | None


def _timings(contract: Contract, cohorts: Sequence[str] | None,
             reporting_lag: str | Period | None) -> tuple[dict[str, _Timing], list[str]]:
    notes: list[str] = []
    listed = list(contract.periods)
    if not listed:
        raise ContractError("cohorts.period: cash flows need each cohort's first day; list "
                            "the periods, e.g. period = [{ name = \"2019Q1\", start = "
                            "2019-01-01 }]")
    names = [p.name for p in listed]
    wanted = list(names if cohorts is None else dict.fromkeys(str(c) for c in cohorts))
    unknown = [c for c in wanted if c not in names]
    if unknown:
        raise ContractError(f"cohorts: {unknown} are not cohorts of contract "
                            f"{contract.name!r} ({names})")
    if reporting_lag is not None:
        try:
            lag = Period.parse(reporting_lag)
        except Exception:
            raise ContractError(f"reporting_lag: a period such as '3 months', got "
                                f"{reporting_lag!r}") from None
    elif contract.reporting_lag is not None:
        lag = contract.reporting_lag
    else:
        lag = Period(0, "days")
        notes.append("the contract sets no reporting_lag: outcome payments are taken to fall "
                     "due the day the waiting period ends (set [contract] reporting_lag)")
    spec = contract.measure_spec
    out: dict[str, _Timing] = {}
    for i, p in enumerate(listed):
        if p.name not in wanted:
            continue
        if p.start is None:
            raise ContractError(f"cohorts.period {p.name!r}.start: cash flows need each "
                                "cohort's first day; add start = YYYY-MM-DD")
        length = contract.period_length
        if length is None and i + 1 < len(listed):
            nxt = listed[i + 1].start
            if nxt is None or nxt <= p.start:
                raise ContractError(f"cohorts.period {listed[i + 1].name!r}.start: must be a "
                                    f"date after {p.name!r} starts ({p.start}); or set "
                                    "[cohorts] length")
            k = _months_between(p.start, nxt)
            length = Period(k, "months") if k else Period((nxt - p.start).days, "days")
        elif length is None:
            prev = listed[i - 1].start if i > 0 else None
            if prev is None:
                raise ContractError(f"cohorts.length: the length of cohort {p.name!r}'s period "
                                    "is not known (no later period starts); set [cohorts] "
                                    "length, e.g. length = \"3 months\"")
            k = _months_between(prev, p.start)
            length = Period(k, "months") if k else Period((p.start - prev).days, "days")
            notes.append(f"cohort {p.name!r}: period length taken as the previous period's "
                         f"({length}); set [cohorts] length to state it")
        end = length.add_date(p.start) - _DAY
        shift = _DAY if spec.include_index_day else _dt.timedelta(0)
        follow = _add(end, spec.follow_up) - shift
        waiting = _add(end, spec.follow_up, spec.waiting_period) - shift
        due = _add(end, spec.follow_up, spec.waiting_period, lag) - shift
        out[p.name] = _Timing(p.name, p.start, end, length.months or None, follow, waiting,
                              due, p.year)
    return out, notes


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
    rows, _ = _timings(contract, cohorts, reporting_lag)
    return pl.DataFrame(
        [(t.cohort, t.start, t.end, t.follow_up_end, t.waiting_end, t.due)
         for t in rows.values()],
        schema={"cohort": pl.String, "start": pl.Date, "end": pl.Date,
                "follow_up_end": pl.Date, "waiting_end": pl.Date, "due_date": pl.Date},
        orient="row")


def _instalment_dates(t: _Timing, k: int) -> list[_dt.date]:
    """The last days of ``k`` equal parts of the cohort period."""
    if t.months is not None and t.months % k == 0:
        step = t.months // k
        return [Period(step * (j + 1), "months").add_date(t.start) - _DAY for j in range(k)]
    days = (t.end - t.start).days + 1
    return [t.start + _dt.timedelta(days=(j + 1) * days // k - 1) for j in range(k)]


def _places(quantum: Decimal) -> int:
    exponent = quantum.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _split(amount: Decimal, k: int, quantum: Decimal) -> list[Decimal]:
    """``amount`` in ``k`` parts of whole quanta, the remainder on the last part."""
    part = (amount / k).quantize(quantum, rounding=ROUND_FLOOR)
    return [part] * (k - 1) + [amount - part * (k - 1)]


# --------------------------------------------------------------------------- schedule
_SCHEMA_TAIL = {"cohort": pl.String, "flow": pl.String, "due_date": pl.Date}


def _fees(contract: Contract, t: _Timing) -> dict[str, Component]:
    """The fee components in force for the cohort (variations applied)."""
    return {c.name: c for c, _ in contract.terms(t.start) if c.kind == "fee" and c.active}


def _from_statement(contract: Contract, s: PaymentStatement, rep: str | Period | None
                    ) -> tuple[pl.DataFrame, list[str], dict[str, _Timing]]:
    if s.contract != contract.name:
        raise ContractError(f"statement: it was made under contract {s.contract!r}, not "
                            f"{contract.name!r}; give the contract it was paid under")
    cohorts = [x.cohort for x in s.lines if x.cohort in {p.name for p in contract.periods}]
    tim, notes = _timings(contract, list(dict.fromkeys(cohorts)), rep)
    q = contract.rounding.quantum
    last = max((t.due for t in tim.values()), default=None)
    rows: list[tuple[str, str, _dt.date, Decimal]] = []
    for x in s.lines:
        if x.cohort in tim:
            t = tim[x.cohort]
            fees = _fees(contract, t)
            if x.kind == "component" and x.component in fees and x.rule == "fee for service":
                k = fees[x.component].periods
                rows += [(x.cohort, "fee", d, a) for d, a in
                         zip(_instalment_dates(t, k), _split(x.amount, k, q), strict=True)]
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
    frame = pl.DataFrame(rows, schema={**_SCHEMA_TAIL, "amount": pl.Decimal(38, _places(q))},
                         orient="row")
    return frame, notes, tim


def _from_frame(contract: Contract, frame: pl.DataFrame, rep: str | Period | None
                ) -> tuple[pl.DataFrame, list[str], dict[str, _Timing], list[str]]:
    for col in ("cohort", "payment"):
        if col not in frame.columns:
            raise SchemaError(f"payments.{col}: column missing; give one row per cohort (and "
                              f"replicate, area...) with cohort and payment (pounds); the "
                              f"frame has {', '.join(frame.columns)}")
    keys = [k for k in KEYS if k in frame.columns]
    labels = frame["cohort"].cast(pl.String).unique(maintain_order=True).to_list()
    tim, notes = _timings(contract, labels, rep)
    if frame["payment"].null_count() or not frame["payment"].dtype.is_numeric():
        raise SchemaError("payments.payment: numbers (pounds) with no empty value")
    parts: list[pl.DataFrame] = []
    base = frame.select(*keys, pl.col("cohort").cast(pl.String),
                        pl.col("payment").cast(pl.Float64))
    fee_total = pl.lit(0.0)
    for name in dict.fromkeys(n for t in tim.values() for n in _fees(contract, t)):
        col = f"payment_{name}"
        if col not in frame.columns:
            raise SchemaError(f"payments.{col}: the contract pays fee {name!r} during the "
                              "cohort period, so its amount must be told apart from the "
                              f"outcome payment; add column {col}")
        fee_total = fee_total + pl.col(col).cast(pl.Float64)
        for cohort, t in tim.items():
            comp = _fees(contract, t).get(name)
            if comp is None or comp.amount is None:
                continue
            k = comp.periods
            mine = frame.filter(pl.col("cohort").cast(pl.String) == cohort)
            # the schedule in its instalments; the rest (the volume band) at the period's end
            fixed = contract.rounding.round(comp.amount * k)
            dates = _instalment_dates(t, k)
            for d, part in zip(dates, _split(fixed, k, contract.rounding.quantum), strict=True):
                parts.append(mine.select(*keys, pl.lit(cohort).alias("cohort"),
                                         pl.lit("fee").alias("flow"), pl.lit(d).alias("due_date"),
                                         pl.lit(float(part)).alias("amount")))
            if comp.band_price is not None:
                parts.append(mine.select(*keys, pl.lit(cohort).alias("cohort"),
                                         pl.lit("fee").alias("flow"),
                                         pl.lit(t.end).alias("due_date"),
                                         (pl.col(col).cast(pl.Float64) - float(fixed))
                                         .alias("amount")))
    outcome = frame.with_columns(fee_total.alias("_fees")).select(
        *keys, pl.col("cohort").cast(pl.String), pl.lit("outcome").alias("flow"),
        pl.col("cohort").cast(pl.String).replace_strict({c: t.due for c, t in tim.items()},
                                                        return_dtype=pl.Date).alias("due_date"),
        (pl.col("payment").cast(pl.Float64) - pl.col("_fees")).alias("amount"))
    parts.append(outcome)
    for cohort, amount in contract.on_account:
        if cohort in tim:
            mine = base.filter(pl.col("cohort") == cohort)
            parts.append(mine.select(*keys, pl.lit(cohort).alias("cohort"),
                                     pl.lit("on account").alias("flow"),
                                     pl.lit(tim[cohort].end).alias("due_date"),
                                     pl.lit(float(amount)).alias("amount")))
    out = pl.concat(parts, how="vertical_relaxed")
    return out, notes, tim, keys


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
        due_date and amount, sorted by the keys and date.

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
        keys: list[str] = []
    elif isinstance(payments, pl.DataFrame):
        frame, _, _, keys = _from_frame(contract, payments, reporting_lag)
    else:
        raise SchemaError(f"payments: a PaymentStatement or a polars DataFrame, got "
                          f"{type(payments).__name__}")
    return frame.sort([*keys, "due_date", "cohort", "flow"], maintain_order=True)


# --------------------------------------------------------------------------- costs
@dataclass(frozen=True)
class ServiceCosts:
    """What the provider spends on the service, month by month.

    Parameters
    ----------
    per_month
        A running cost per month, from the first cohort's start to the last one's end.
    per_cohort
        A cost per cohort, spread evenly over the months of its period.
    per_offender
        A cost per offender in a cohort, spread evenly over the months of its period.

    Amounts are exact (Decimal, from ints, strings or floats by their shortest form) and
    must not be negative.

    Examples
    --------
    >>> ServiceCosts(per_month=20000).per_month
    Decimal('20000')
    """

    per_month: Decimal = _ZERO
    per_cohort: Decimal = _ZERO
    per_offender: Decimal = _ZERO

    def __post_init__(self) -> None:
        for name in ("per_month", "per_cohort", "per_offender"):
            value = as_decimal(f"costs.{name}", getattr(self, name))
            if value < 0:
                raise ContractError(f"costs.{name}: {value} is negative; give what the "
                                    "provider spends (payments are counted separately)")
            object.__setattr__(self, name, value)

    def __str__(self) -> str:
        return (f"costs {self.per_month} per month + {self.per_cohort} per cohort + "
                f"{self.per_offender} per offender")


def _month_starts(first: _dt.date, last: _dt.date) -> list[_dt.date]:
    out, d = [], first.replace(day=1)
    while d <= last:
        out.append(d)
        d = Period(1, "months").add_date(d)
    return out


def _cost_rows(costs: ServiceCosts, tim: dict[str, _Timing], sizes: dict[str, int],
               quantum: Decimal) -> list[tuple[_dt.date, Decimal]]:
    rows: list[tuple[_dt.date, Decimal]] = []
    if costs.per_month:
        first = min(t.start for t in tim.values())
        last = max(t.end for t in tim.values())
        rows += [(m, costs.per_month) for m in _month_starts(first, last)]
    if costs.per_cohort or costs.per_offender:
        for cohort, t in tim.items():
            months = _month_starts(t.start, t.end)
            amount = costs.per_cohort + costs.per_offender * sizes.get(cohort, 0)
            rows += list(zip(months, _split(amount, len(months), quantum), strict=True))
    return rows


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class CashFlows:
    """A provider's cash flows under a contract: the schedule, the months, the peak need.

    Attributes
    ----------
    schedule
        :func:`payments_by_date`'s frame.
    monthly
        Per provider run (the keys) and month: costs, payments, net and balance (the
        running sum of net).
    peaks
        Per provider run: peak_need (0 when the balance never goes below 0),
        peak_month, final_balance.
    timing
        :func:`payment_timing` of the cohorts paid.
    costs
        The :class:`ServiceCosts`.
    notes, provenance
        Remarks kept in the record; the contract, reporting lag and keys.
    """

    schedule: pl.DataFrame
    monthly: pl.DataFrame
    peaks: pl.DataFrame
    timing: pl.DataFrame
    costs: ServiceCosts
    keys: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    provenance: dict[str, Any] = field(default_factory=dict)

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
    q = contract.rounding.quantum
    exact = isinstance(payments, PaymentStatement)
    sizes_by: dict[tuple[Any, ...], dict[str, int]] = {}
    if isinstance(payments, PaymentStatement):
        sched, notes, tim = _from_statement(contract, payments, reporting_lag)
        keys: list[str] = []
        sizes = {x.cohort: int(x.n) for x in payments.lines if x.n is not None}
        sizes_by[()] = sizes
    elif isinstance(payments, pl.DataFrame):
        sched, notes, tim, keys = _from_frame(contract, payments, reporting_lag)
        if costs.per_offender and "n" not in payments.columns:
            raise SchemaError("payments.n: per-offender costs need the offenders per cohort; "
                              "add column n")
        if pool_areas and "area" in keys:
            keys = [k for k in keys if k != "area"]
            sched = sched.drop("area")
        fixed = [k for k in keys if k != "replicate"]
        if "n" in payments.columns:
            first = payments.filter(pl.col("replicate") == pl.col("replicate").min()) \
                if "replicate" in payments.columns else payments
            grouped = first.group_by([*fixed, "cohort"], maintain_order=True).agg(
                pl.col("n").sum())
            for r in grouped.iter_rows(named=True):
                sizes_by.setdefault(tuple(r[k] for k in fixed), {})[str(r["cohort"])] = \
                    int(r["n"])
    else:
        raise SchemaError(f"payments: a PaymentStatement or a polars DataFrame, got "
                          f"{type(payments).__name__}")
    fixed = [k for k in keys if k != "replicate"]
    money: Any = pl.Decimal(38, _places(q)) if exact else pl.Float64
    # costs per fixed key (they do not vary by replicate)
    cost_parts = []
    combos = (sched.select(fixed).unique(maintain_order=True).iter_rows() if fixed
              else iter([()]))
    for combo in combos:
        rows = _cost_rows(costs, tim, sizes_by.get(tuple(combo), sizes_by.get((), {})), q)
        if rows:
            cost_parts.append(pl.DataFrame(
                {**{k: [v] * len(rows) for k, v in zip(fixed, combo, strict=True)},
                 "month": [m for m, _ in rows],
                 "costs": [a if exact else float(a) for _, a in rows]},
                schema_overrides={"month": pl.Date, "costs": money}))
    sched = sched.with_columns(pl.col("amount").cast(money))
    pay_m = sched.group_by([*keys, pl.col("due_date").dt.month_start().alias("month")]).agg(
        pl.col("amount").sum().alias("payments"))
    cost_m = (pl.concat(cost_parts).group_by([*fixed, "month"]).agg(pl.col("costs").sum())
              if cost_parts else None)
    months = [d for d in [sched["due_date"].min(), *(c["month"].min() for c in cost_parts)]
              if d is not None]
    ends = [d for d in [sched["due_date"].max(), *(c["month"].max() for c in cost_parts)]
            if d is not None]
    grid = pl.DataFrame({"month": _month_starts(min(months), max(ends))},  # type: ignore
                        schema={"month": pl.Date})
    runs = sched.select(keys).unique(maintain_order=True) if keys else pl.DataFrame()
    monthly = runs.join(grid, how="cross") if keys else grid
    monthly = monthly.join(pay_m, on=[*keys, "month"], how="left")
    if cost_m is not None:
        monthly = monthly.join(cost_m, on=[*fixed, "month"], how="left")
    else:
        monthly = monthly.with_columns(pl.lit(None, money).alias("costs"))
    zero = pl.lit(Decimal(0) if exact else 0.0, money)
    monthly = (monthly.with_columns(pl.col("payments").fill_null(zero),
                                    pl.col("costs").fill_null(zero))
               .with_columns((pl.col("payments") - pl.col("costs")).alias("net"))
               .sort([*keys, "month"])
               .with_columns(pl.col("net").cum_sum().over(keys).alias("balance") if keys
                             else pl.col("net").cum_sum().alias("balance")))
    agg = [pl.when(pl.col("balance").min() < zero).then(-pl.col("balance").min())
           .otherwise(zero).alias("peak_need"),
           pl.col("month").get(pl.col("balance").arg_min()).alias("peak_month"),
           pl.col("balance").last().alias("final_balance")]
    peaks = (monthly.group_by(keys, maintain_order=True).agg(agg) if keys
             else monthly.select(agg))
    lag = (str(Period.parse(reporting_lag)) if reporting_lag is not None
           else str(contract.reporting_lag or Period(0, "days")))
    spec = contract.measure_spec
    rule = (f"due = period end + follow-up {spec.follow_up} + waiting period "
            f"{spec.waiting_period} + reporting lag {lag}")
    timing = pl.DataFrame(
        [(t.cohort, t.start, t.end, t.follow_up_end, t.waiting_end, t.due)
         for t in tim.values()],
        schema={"cohort": pl.String, "start": pl.Date, "end": pl.Date,
                "follow_up_end": pl.Date, "waiting_end": pl.Date, "due_date": pl.Date},
        orient="row")
    return CashFlows(sched.sort([*keys, "due_date", "cohort", "flow"], maintain_order=True),
                     monthly, peaks, timing, costs, tuple(keys), tuple(notes),
                     {"contract": contract.name, "rule": rule, "reporting_lag": lag,
                      "pool_areas": pool_areas, "costs": str(costs)})
