"""The investors' return and the payer's net cost across simulated replicates.

A simulation (:func:`pbr.simulate.simulate`) gives, for every replicate, what the
contract pays and when (:func:`pbr.simulate.cashflow.payments_by_date`).  Set against an
:class:`~pbr.finance.ImpactBond` that holds the capital side only (drawdowns, service
costs, fees, repayments; no outcome payments of its own), each replicate is one possible
life of the bond: :func:`return_distribution` computes per replicate the investors'
annual IRR (actual/365, with its status: a replicate whose flows have no or several
IRRs is counted, not given a number), the money multiple, the NPV at the stated
discount rate, and the payer's cost, outcomes (reoffences avoided) and net saving; and
per design x effect x behaviour their distribution (:meth:`ReturnDistribution.summary`).

Runs are computed together: the flows form one matrix (runs x dates); a run whose flows
change sign once has exactly one IRR, found by bisection in ``ln(1 + r)`` on all such
runs at once (80 halvings of [-20, 20], to float resolution; equal to :func:`xirr` to
1e-12); runs with more sign changes go through :func:`xirr`'s full search one by one.

Reoffences avoided in a replicate are the cells' expected reoffences without the effect
(``res.cells(behaviour)``: counterfactual frequency x n) minus the reoffences drawn.
Simulated payments are floats in pounds: each payment is rounded half-even to the
bond's places before it enters the flows, and the per-replicate figures are floats;
:meth:`ReturnDistribution.appraisal` rebuilds one replicate exactly as an
:class:`~pbr.finance.Appraisal`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

import numpy as np
import polars as pl

from pbr._version import __version__
from pbr.errors import SchemaError, SpecError
from pbr.finance.appraise import GREEN_BOOK_RATE, Appraisal, appraise
from pbr.finance.bond import Flow, ImpactBond
from pbr.finance.rates import _rate, _solve, as_money

__all__ = ["ReturnDistribution", "return_distribution"]

_KEYS = ("design", "effect", "behaviour")


@dataclass(frozen=True)
class ReturnDistribution:
    """Per replicate and across replicates: the investors' return, the payer's net cost.

    Attributes
    ----------
    frame
        One row per (keys, replicate): ``invested`` and ``returned`` (the negative and the
        positive net flows per date: a clawback paid back counts as invested),
        ``multiple``, ``irr``
        (null when not unique), ``irr_status``, ``npv``, ``payer_cost``, ``outcomes``,
        ``payer_net`` (outcomes x savings per outcome - cost; null without savings).
    keys
        The grouping columns (design, effect, behaviour, those present).
    bond, payments
        The capital side, and the payments (keys, replicate, date, amount) used.
    discount_rate, savings_per_outcome
        As given.
    notes, provenance
        Remarks; version, bond fingerprint, the simulation's seed where known.
    """

    frame: pl.DataFrame
    keys: tuple[str, ...]
    bond: ImpactBond
    payments: pl.DataFrame
    discount_rate: Decimal
    savings_per_outcome: Decimal | None
    notes: tuple[str, ...] = ()
    provenance: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_frame(self) -> pl.DataFrame:
        return self.frame

    def to_pandas(self) -> Any:
        return self.frame.to_pandas()

    def summary(self) -> pl.DataFrame:
        """Per group: replicates, ``p_irr_defined``, IRR mean and 5th/50th/95th
        percentiles (over replicates with a unique IRR), multiple mean and percentiles,
        ``p_loss`` (multiple below 1), ``p_total_loss`` (nothing returned), NPV mean and
        percentiles, payer cost mean and 95th percentile, outcomes mean, payer net mean
        and percentiles, ``p_payer_net_loss`` and ``cost_per_outcome`` (mean cost / mean
        outcomes)."""
        def q(col: str, p: float) -> pl.Expr:
            return pl.col(col).quantile(p, interpolation="linear").alias(f"{col}_p{int(p*100):02d}")

        aggs: list[pl.Expr] = [
            pl.len().alias("replicates"),
            (pl.col("irr_status") == "unique").mean().alias("p_irr_defined"),
            pl.col("irr").mean().alias("irr_mean"), q("irr", 0.05), q("irr", 0.5),
            q("irr", 0.95),
            pl.col("multiple").mean().alias("multiple_mean"), q("multiple", 0.05),
            q("multiple", 0.5), q("multiple", 0.95),
            (pl.col("multiple") < 1).mean().alias("p_loss"),
            (pl.col("returned") <= 0).mean().alias("p_total_loss"),
            pl.col("npv").mean().alias("npv_mean"), q("npv", 0.05), q("npv", 0.95),
            pl.col("payer_cost").mean().alias("payer_cost_mean"), q("payer_cost", 0.95),
            pl.col("outcomes").mean().alias("outcomes_mean"),
            pl.col("payer_net").mean().alias("payer_net_mean"), q("payer_net", 0.05),
            q("payer_net", 0.95),
            (pl.col("payer_net") < 0).mean().alias("p_payer_net_loss"),
            pl.when(pl.col("outcomes").mean() > 0).then(
                pl.col("payer_cost").mean() / pl.col("outcomes").mean()
            ).otherwise(None).alias("cost_per_outcome"),
        ]
        if not self.keys:
            return self.frame.select(aggs)
        return self.frame.group_by(list(self.keys), maintain_order=True).agg(aggs)

    def appraisal(self, replicate: int, **keys: str) -> Appraisal:
        """One replicate's bond appraised exactly (Decimal flows), e.g.
        ``dist.appraisal(3, design="lin", effect="none", behaviour="none")``."""
        missing = [k for k in self.keys if k not in keys]
        if missing:
            raise SpecError(f"appraisal: give {', '.join(missing)} (the distribution has "
                            f"several groups)")
        rows = self.payments.filter(pl.col("replicate") == replicate)
        for k, v in keys.items():
            if k not in self.keys:
                raise SpecError(f"appraisal: {k!r} is not a key of this distribution "
                                f"({', '.join(self.keys) or 'none'})")
            rows = rows.filter(pl.col(k) == v)
        if rows.is_empty():
            raise SpecError(f"appraisal: no payments for replicate {replicate} with {keys}")
        quantum = Decimal(1).scaleb(-self.bond.places)
        flows = [Flow(r["date"], "outcome_payment", Decimal(repr(r["amount"])).quantize(
                      quantum, rounding=ROUND_HALF_EVEN), f"replicate {replicate}",
                      "simulation") for r in rows.iter_rows(named=True) if r["amount"] > 0]
        bond = self.bond.with_outcome_payments(flows)
        row = self.frame.filter(pl.col("replicate") == replicate)
        for k, v in keys.items():
            row = row.filter(pl.col(k) == v)
        if self.savings_per_outcome is None:
            return appraise(bond, discount_rate=self.discount_rate)
        outcomes = Decimal(repr(round(float(row["outcomes"][0]), 6)))
        return appraise(bond, discount_rate=self.discount_rate, outcomes=max(outcomes,
                        Decimal(0)), savings_per_outcome=self.savings_per_outcome)

    def explain(self) -> str:
        n = self.frame.height
        return "\n".join([
            f"Return distribution of {self.bond.name!r} over {n} replicate runs "
            f"(groups: {', '.join(self.keys) or 'one'}).",
            "Per replicate the investors' flows are the bond's capital flows (drawdowns "
            "negative, repayments positive) plus the replicate's payments on their due "
            "dates; IRR actual/365 (null where the flows have no or several IRRs), "
            f"multiple = returned / invested, NPV at {self.discount_rate} a year to the "
            "bond's first date.",
            "Payer: cost = the payments; outcomes = expected reoffences without the effect "
            "minus those drawn; net = outcomes x savings per outcome - cost"
            + (f" (savings per outcome {self.savings_per_outcome})."
               if self.savings_per_outcome is not None else " (no savings stated)."),
            *[f"note: {x}" for x in self.notes]])

    def __str__(self) -> str:
        s = self.summary()
        out = [f"Return distribution: {self.bond.name} ({self.bond.currency}), "
               f"{self.frame.height} runs"]
        for r in s.iter_rows(named=True):
            head = " / ".join(str(r[k]) for k in self.keys) or "all"
            irr = r["irr_p50"]
            out.append(f"  {head}: P(IRR defined) {r['p_irr_defined']:.3f}; median IRR "
                       + ("n/a" if irr is None else f"{irr:.2%}")
                       + f"; mean multiple {r['multiple_mean']:.3f}; P(loss) "
                       f"{r['p_loss']:.3f}; mean payer cost {r['payer_cost_mean']:,.2f}")
        out += [f"note: {x}" for x in self.notes]
        return "\n".join(out)


def _from_simulation(res: Any, area: str | None, design: Sequence[str] | None
                     ) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    from pbr.simulate.cashflow import payments_by_date

    notes: list[str] = []
    frame: pl.DataFrame = res.frame
    designs = list(res.designs) if design is None else list(design)
    for d in designs:
        if d not in res.designs:
            raise SpecError(f"design {d!r} is not simulated; designs are "
                            f"{', '.join(res.designs)}")
    if area is not None:
        areas = frame["area"].unique().to_list()
        if area not in areas:
            raise SpecError(f"area {area!r} is not in the simulation; areas are "
                            f"{', '.join(sorted(areas))}")
        frame = frame.filter(pl.col("area") == area)
    elif frame["area"].n_unique() > 1:
        notes.append(f"payments pooled over {frame['area'].n_unique()} areas: one bond "
                     f"finances every area's contract (give area= for one provider)")
    parts = []
    for d in designs:
        part = frame.filter(pl.col("design") == d)
        sched = payments_by_date(res.designs[d], part)
        parts.append(sched.select([*_KEYS, "replicate", pl.col("due_date").alias("date"),
                                   pl.col("amount").cast(pl.Float64)]))
    pay = pl.concat(parts)
    outcomes = []
    for b in frame["behaviour"].unique(maintain_order=True).to_list():
        cells = res.cells(b).select("area", "cohort", "counterfactual_frequency")
        sub = frame.filter(pl.col("behaviour") == b).join(cells, on=["area", "cohort"])
        outcomes.append(sub.group_by([*_KEYS, "replicate"]).agg(
            (pl.col("counterfactual_frequency") * pl.col("n") - pl.col("reoffences"))
            .sum().alias("outcomes")))
    return pay, pl.concat(outcomes), notes


def return_distribution(payments: Any, bond: ImpactBond, *,
                        discount_rate: Any = GREEN_BOOK_RATE,
                        savings_per_outcome: Any = None,
                        outcomes: pl.DataFrame | None = None, area: str | None = None,
                        design: Sequence[str] | None = None) -> ReturnDistribution:
    """The investors' IRR, multiple and NPV and the payer's net cost per replicate.

    Parameters
    ----------
    payments
        A :class:`~pbr.simulate.SimulationResult` (its payments by due date and its
        reoffences avoided are computed here), or a frame with ``replicate``, a date
        (``date`` or ``due_date``), ``amount`` and any of design / effect / behaviour.
    bond
        The capital side (no outcome payments): drawdowns, service costs, fees.
    discount_rate
        The investors' annual discount rate.
    savings_per_outcome
        The payer's stated saving per reoffence avoided (``payer_net`` is null without).
    outcomes
        With a frame: outcomes per replicate (keys, ``replicate``, ``outcomes``).
    area, design
        With a simulation: one area's contract only (default: all areas pooled) and
        the designs to include (default: all).

    Examples
    --------
    >>> import datetime as dt
    >>> bond = ImpactBond.build("demo", "GBP", service_costs=[("2021-01-01", 100)])
    >>> pay = pl.DataFrame({"replicate": [0, 1], "date": [dt.date(2022, 1, 1)] * 2,
    ...                     "amount": [121.0, 90.0]})
    >>> d = return_distribution(pay, bond, discount_rate="0.1")
    >>> d.frame["multiple"].to_list(), [round(x, 4) for x in d.frame["irr"]]
    ([1.21, 0.9], [0.21, -0.1])
    """
    rate = _rate("discount_rate", discount_rate)
    savings = None if savings_per_outcome is None else as_money("savings_per_outcome",
                                                                savings_per_outcome)
    if any(f.kind == "outcome_payment" for f in bond.flows):
        raise SpecError(f"bond {bond.name!r} has outcome payments of its own; give the capital "
                        f"side only (drawdowns, service costs, fees): each replicate's "
                        f"payments are added to it")
    notes: list[str] = []
    prov: dict[str, Any] = {**bond.provenance, "pbr_version": __version__,
                            "discount_rate": str(rate)}
    if isinstance(payments, pl.DataFrame):
        pay = payments
        day = "date" if "date" in pay.columns else "due_date"
        for col in ("replicate", day, "amount"):
            if col not in pay.columns:
                raise SchemaError(f"payments: no column {col!r}; need replicate, date (or "
                                  f"due_date) and amount; columns are {', '.join(pay.columns)}")
        if pay.schema[day] != pl.Date:
            raise SchemaError(f"payments: column {day!r} must be dates (pl.Date), got "
                              f"{pay.schema[day]}")
        keys = tuple(k for k in _KEYS if k in pay.columns)
        pay = pay.select([*keys, "replicate", pl.col(day).alias("date"),
                          pl.col("amount").cast(pl.Float64)])
        if pay["amount"].is_null().any() or not pay["amount"].is_finite().all():
            raise SchemaError("payments: amount has missing or non-finite values")
        if outcomes is not None:
            need = [*keys, "replicate", "outcomes"]
            lack = [c for c in need if c not in outcomes.columns]
            if lack:
                raise SchemaError(f"outcomes: no column(s) {', '.join(lack)}")
            outs = outcomes.select(need)
        else:
            outs = pay.select([*keys, "replicate"]).unique().with_columns(
                pl.lit(None, dtype=pl.Float64).alias("outcomes"))
    else:
        if not hasattr(payments, "designs") or not hasattr(payments, "frame"):
            raise SchemaError(f"payments: a SimulationResult or a polars DataFrame, got "
                              f"{type(payments).__name__}")
        if outcomes is not None:
            raise SpecError("outcomes: computed from the simulation; give it only with a frame")
        pay, outs, more = _from_simulation(payments, area, design)
        notes += more
        keys = _KEYS
        prov["simulation"] = {"seed": payments.seed, "n_sims": payments.n_sims}
    frame = _per_replicate(pay, outs, keys, bond, rate, savings)
    bad = frame.filter(pl.col("irr_status") != "unique").height
    if bad:
        notes.append(f"{bad} of {frame.height} runs have no unique IRR (counted in "
                     f"p_irr_defined; their irr is null)")
    return ReturnDistribution(frame, keys, bond, pay, rate, savings, tuple(notes), prov)


def _sign_changes(m: np.ndarray) -> np.ndarray:
    """Sign changes along each row, zeros skipped (Descartes' count per run)."""
    last = np.zeros(m.shape[0])
    changes = np.zeros(m.shape[0], dtype=np.int64)
    for j in range(m.shape[1]):
        s = np.sign(m[:, j])
        changes += (s != 0) & (last != 0) & (s != last)
        last = np.where(s != 0, s, last)
    return changes


def _bisect(m: np.ndarray, times: np.ndarray, limit: float) -> tuple[np.ndarray, np.ndarray]:
    """The root in x = ln(1 + r) of each row's NPV, for rows with one sign change (so
    one root), by bisection on [-limit, limit] run on all rows at once (to float
    resolution); returns the rates and whether the root lies inside the range."""
    scale = np.abs(m).max(axis=1, keepdims=True)
    c = m / np.where(scale > 0, scale, 1)

    def f(x: np.ndarray) -> np.ndarray:
        out: np.ndarray = (c * np.exp(-np.outer(x, times))).sum(axis=1)
        return out

    lo = np.full(m.shape[0], -limit)
    hi = np.full(m.shape[0], limit)
    f_lo = f(lo)
    inside = np.sign(f_lo) * np.sign(f(hi)) <= 0
    for _ in range(80):  # 40 / 2^80: below float resolution
        mid = (lo + hi) / 2
        f_mid = f(mid)
        left = np.sign(f_mid) * np.sign(f_lo) <= 0
        hi = np.where(left, mid, hi)
        lo = np.where(left, lo, mid)
        f_lo = np.where(left, f_lo, f_mid)
    return np.expm1((lo + hi) / 2), inside


def _per_replicate(pay: pl.DataFrame, outs: pl.DataFrame, keys: tuple[str, ...],
                   bond: ImpactBond, rate: Decimal, savings: Decimal | None) -> pl.DataFrame:
    origin = bond.flows[0].date
    base = bond.investor_flows()
    dates = sorted({d for d, _ in base} | set(pay["date"].unique().to_list()))
    origin = min(origin, dates[0])
    with localcontext() as ctx:
        ctx.prec = 28
        factors = [float(1 / (1 + rate) ** (Decimal((d - origin).days) / 365)) for d in dates]
    disc = np.array(factors)
    base_vec = np.zeros(len(dates))
    index = {d: i for i, d in enumerate(dates)}
    for d, a in base:
        base_vec[index[d]] += float(a)
    times = np.array([(d - origin).days / 365.0 for d in dates])
    exact_t = [Decimal((d - origin).days) / Decimal(365) for d in dates]
    quantum = Decimal(1).scaleb(-bond.places)
    pay = pay.with_columns(pl.col("amount").round(bond.places))
    runs = pl.concat([pay.select([*keys, "replicate"]),
                      outs.select([*keys, "replicate"]).cast(
                          pay.select([*keys, "replicate"]).schema)]).unique().sort(
        [*keys, "replicate"]).with_row_index("run")
    day_index = pl.DataFrame({"date": dates, "day": np.arange(len(dates))},
                             schema={"date": pl.Date, "day": pl.Int64})
    located = pay.join(runs, on=[*keys, "replicate"]).join(day_index, on="date")
    paid = np.zeros((runs.height, len(dates)))
    np.add.at(paid, (located["run"].to_numpy(), located["day"].to_numpy()),
              located["amount"].to_numpy())
    m = paid + base_vec[None, :]
    invested = -np.where(m < 0, m, 0).sum(axis=1)
    returned = np.where(m > 0, m, 0).sum(axis=1)
    changes = _sign_changes(m)
    irr = np.full(runs.height, np.nan)
    status = np.where(changes == 0, "none", "unique").astype(object)
    one = np.flatnonzero(changes == 1)
    span = max(float(np.abs(times).max()), 1e-12)
    if one.size:
        rates, inside = _bisect(m[one], times, min(20.0, 700.0 / span))
        irr[one[inside]] = rates[inside]
        status[one[~inside]] = "none"
    for i in np.flatnonzero(changes > 1):  # several possible roots: the full search
        keep = m[i] != 0
        amounts = [Decimal(repr(float(x))).quantize(quantum, rounding=ROUND_HALF_EVEN)
                   for x in m[i][keep]]
        res = _solve(times[keep], "actual/365",
                     [t for t, k in zip(exact_t, keep, strict=True) if k], amounts)
        status[i] = res.status
        irr[i] = np.nan if res.rate is None else res.rate
    frame = runs.drop("run").with_columns(
        pl.Series("invested", invested), pl.Series("returned", returned),
        pl.Series("multiple", np.where(invested > 0, returned / np.where(
            invested > 0, invested, 1), np.nan)).fill_nan(None),
        pl.Series("irr", irr).fill_nan(None),
        pl.Series("irr_status", status.astype(str), dtype=pl.String),
        pl.Series("npv", np.round(m @ disc, bond.places)),
        pl.Series("payer_cost", np.round(paid.sum(axis=1), bond.places)),
        pl.Series("payer_cost_pv", np.round(paid @ disc, bond.places)),
    ).with_columns(pl.col("replicate").cast(pl.Int64))
    outs = outs.with_columns(pl.col("replicate").cast(pl.Int64),
                             pl.col("outcomes").cast(pl.Float64))
    frame = frame.join(outs, on=[*keys, "replicate"], how="left", maintain_order="left")
    if savings is None:
        return frame.with_columns(pl.lit(None, dtype=pl.Float64).alias("payer_net"))
    return frame.with_columns((pl.col("outcomes") * float(savings) - pl.col("payer_cost"))
                              .round(bond.places).alias("payer_net"))
