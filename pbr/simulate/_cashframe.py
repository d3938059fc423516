"""Cash flows of a simulation's frame, vectorised (private to :mod:`pbr.simulate.cashflow`).

A simulation at the CRC's scale holds 10,000 replicates x 21 areas x 4 cohorts per
effect and behaviour: every payment of a cohort row falls on a few dates fixed by the
contract (:func:`plan`), so the schedule is one select per planned flow and the monthly
balances are a ``(runs, months)`` matrix summed with ``numpy.bincount``.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from pbr.contract.spec import Contract
from pbr.errors import SchemaError
from pbr.simulate._calendar import (
    ServiceCosts,
    Timing,
    cost_rows,
    fees_in_force,
    instalment_dates,
    month_starts,
    split,
)

__all__ = ["Flow", "Matrices", "matrices", "plan", "schedule"]


@dataclass(frozen=True)
class Flow:
    """One planned payment of a cohort row: ``fixed`` pounds, or ``column`` minus
    ``fixed`` (a fee's volume band), or the outcome (``payment`` less the fees)."""

    cohort: str
    flow: str
    date: _dt.date
    fixed: float = 0.0
    column: str | None = None
    outcome: bool = False


def plan(contract: Contract, tim: dict[str, Timing], frame: pl.DataFrame) -> list[Flow]:
    """Every planned flow of every cohort, checking the frame has each fee's column."""
    out: list[Flow] = []
    q = contract.rounding.quantum
    for cohort, t in tim.items():
        for name, comp in fees_in_force(contract, t).items():
            col = f"payment_{name}"
            if col not in frame.columns:
                raise SchemaError(f"payments.{col}: the contract pays fee {name!r} during the "
                                  "cohort period, so its amount must be told apart from the "
                                  f"outcome payment; add column {col}")
            if comp.amount is None:  # pragma: no cover (a fee always has an amount)
                continue
            fixed = contract.rounding.round(comp.amount * comp.periods)
            out += [Flow(cohort, "fee", d, float(a)) for d, a in zip(
                instalment_dates(t, comp.periods), split(fixed, comp.periods, q), strict=True)]
            if comp.band_price is not None:   # the volume band, reconciled at the end
                out.append(Flow(cohort, "fee", t.end, float(fixed), column=col))
        paid = dict(contract.on_account).get(cohort)
        if paid is not None:
            out.append(Flow(cohort, "on account", t.end, float(paid)))
        out.append(Flow(cohort, "outcome", t.due, outcome=True))
    return out


def _fee_total(contract: Contract, tim: dict[str, Timing]) -> pl.Expr:
    """Per row: the sum of its cohort's fee columns (0 for cohorts without fees)."""
    names = list(dict.fromkeys(n for t in tim.values() for n in fees_in_force(contract, t)))
    total = pl.lit(0.0)
    for name in names:
        mine = [c for c, t in tim.items() if name in fees_in_force(contract, t)]
        total = total + pl.when(pl.col("cohort").is_in(mine)).then(
            pl.col(f"payment_{name}").cast(pl.Float64)).otherwise(0.0)
    return total


def _amount(f: Flow, fees: pl.Expr) -> pl.Expr:
    if f.outcome:
        return pl.col("payment").cast(pl.Float64) - fees
    if f.column is not None:
        return pl.col(f.column).cast(pl.Float64) - f.fixed
    return pl.lit(f.fixed, pl.Float64)


def _needed(frame: pl.DataFrame, keys: list[str], contract: Contract,
            tim: dict[str, Timing]) -> pl.DataFrame:
    """Only the columns the flows read (a simulation's frame holds many more)."""
    fees = dict.fromkeys(f"payment_{n}" for t in tim.values()
                         for n in fees_in_force(contract, t))
    return frame.select(*keys, pl.col("cohort").cast(pl.String), "payment", *fees)


def schedule(contract: Contract, frame: pl.DataFrame, tim: dict[str, Timing],
             keys: list[str], flows: list[Flow]) -> pl.DataFrame:
    """The payments by date: per row of ``frame``, its cohort's flows in plan order."""
    data = _needed(frame, keys, contract, tim).with_row_index("_row")
    fees = _fee_total(contract, tim)
    parts = []
    for j, f in enumerate(flows):
        parts.append(data.filter(pl.col("cohort") == f.cohort).select(
            "_row", pl.lit(j, pl.Int64).alias("_flow"), *keys, "cohort",
            pl.lit(f.flow).alias("flow"), pl.lit(f.date, pl.Date).alias("due_date"),
            _amount(f, fees).alias("amount")))
    out = pl.concat(parts, how="vertical_relaxed")
    return out.sort("_row", "_flow").drop("_row", "_flow")


@dataclass(frozen=True, eq=False)
class Matrices:
    """Per run (a row of ``runs``) and month: payments, costs and the running balance."""

    runs: pl.DataFrame
    months: list[_dt.date]
    payments: np.ndarray
    costs: np.ndarray
    balance: np.ndarray


def _ids(frame: pl.DataFrame, keys: list[str]) -> tuple[pl.DataFrame, np.ndarray]:
    """The distinct runs (in order of appearance) and each row's run index."""
    if not keys:
        return pl.DataFrame(), np.zeros(frame.height, dtype=np.int64)
    runs = frame.select(keys).unique(maintain_order=True)
    index = runs.with_row_index("_run")
    ids = frame.select(keys).join(index, on=keys, how="left", maintain_order="left")
    return runs, ids["_run"].to_numpy().astype(np.int64)


def matrices(contract: Contract, frame: pl.DataFrame, tim: dict[str, Timing],
             keys: list[str], flows: list[Flow], costs: ServiceCosts,
             sizes: dict[tuple[Any, ...], dict[str, int]]) -> Matrices:
    """Month-by-month payments, costs and balance of every run."""
    fixed_keys = [k for k in keys if k != "replicate"]
    q = contract.rounding.quantum
    data = _needed(frame, keys, contract, tim)
    first = min([t.start for t in tim.values()] + [f.date for f in flows])
    last = max(f.date for f in flows)
    months = month_starts(first, last)
    m = len(months)

    def index(d: _dt.date) -> int:
        return (d.year - months[0].year) * 12 + d.month - months[0].month

    runs, run_id = _ids(data, keys)
    n_runs = max(runs.height, 1)
    cohort = data["cohort"].to_numpy()
    fees = _fee_total(contract, tim)
    flat = np.zeros(n_runs * m)
    for f in flows:
        rows = np.flatnonzero(cohort == f.cohort)
        if rows.size == 0:
            continue
        amount = data[rows].select(_amount(f, fees)).to_series().to_numpy() \
            if (f.outcome or f.column) else np.full(rows.size, f.fixed)
        flat += np.bincount(run_id[rows] * m + index(f.date), weights=amount,
                            minlength=n_runs * m)
    pay = flat.reshape(n_runs, m)
    combos, combo_id = _ids(runs, fixed_keys) if fixed_keys else (pl.DataFrame(),
                                                                 np.zeros(n_runs, np.int64))
    table = np.zeros((max(combos.height, 1), m))
    for i, combo in enumerate(combos.iter_rows() if fixed_keys else [()]):
        for month, spent in cost_rows(costs, tim, sizes.get(tuple(combo), sizes.get((), {})),
                                      q):
            table[i, index(month)] += float(spent)
    cost = table[combo_id]
    return Matrices(runs, months, pay, cost, np.cumsum(pay - cost, axis=1))
