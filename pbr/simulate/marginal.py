"""Marginal payment per prevented reoffence: the binary measure's cliff made visible.

What does a provider earn by preventing one more reoffence?  Under the hurdle model of
:mod:`pbr.simulate.population` a reoffence prevented is either

* a **first** reoffence: a reoffender with one reoffence no longer reoffends (the
  cohort's reoffenders and reoffences both fall by one), or
* a **later** reoffence: a second or later reoffence of someone who still reoffends
  (reoffences fall by one; reoffenders do not).

The *marginal payment* of each is the exact change in what the contract pays the area's
provider, all its components, triggers, hurdles, caps, limits and rounding included:
the contract's compiled payment rules (:class:`~pbr.simulate.CompiledContract`, equal
to :func:`pbr.pay` to the penny) evaluated on the simulated counts and on the same
counts with one reoffence fewer in one cohort.  Averaged over replicates it is the
derivative of the expected payment, so a trigger's jump counts with the probability
of being at it.

Under a binary measure a later reoffence pays exactly nothing: the cliff.  Under a
frequency measure per offender each reoffence prevented pays the price per reoffence;
per reoffender (the CRC measure, reoffences / reoffenders) a later reoffence pays the
price, but a first one changes ``(c - R/N) N`` to ``(c - (R-1)/(N-1)) (N-1)``: it pays
``price x (1 - c)`` where ``c`` is the comparator's reoffences per reoffender, a
*deduction* whenever ``c > 1`` (the denominator loses a reoffender).  Sources: the
binary and frequency measures of the CRC mechanism ([MoJ-CRC-Final],
[JusticeCttee-HC1004-2013], [PAC-HC897-2018]); the marginal amounts follow from their
arithmetic (pbr's own derivation, docs/methodology/simulation.md).

By risk decile: a prevented reoffence of a decile is first or later in the proportion
of its expected first (``p``) and later (``p m``) reoffences; ``per_offender_helped`` is
the payment for preventing every reoffence of an average offender of the decile
(``p M_first + p m M_later``), which is where the money lies and so whom a provider is
paid to help.  :func:`linear_marginal` gives the same slopes analytically from the
contract's prices (linear components, away from triggers' thresholds and caps).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from pbr.contract.components import Component
from pbr.contract.outcome import Outcome
from pbr.contract.pay import CONTEXT
from pbr.contract.rules import trigger
from pbr.contract.spec import Contract
from pbr.errors import SpecError
from pbr.simulate.designs import CompiledContract

if TYPE_CHECKING:
    from pbr.simulate.result import SimulationResult

__all__ = ["OFFENCES", "MarginalPayment", "linear_marginal", "marginal_payment"]

#: which reoffence is prevented
OFFENCES = ("first", "later")
_BY = ("risk_decile", "cohort", "area", "offence")


# --------------------------------------------------------------------------- analytic
def linear_marginal(contract: Contract, outcomes: Sequence[Outcome]
                    ) -> pl.DataFrame:
    """The marginal payment of a first and a later reoffence prevented, from the prices.

    For each linear component in force for each cohort: the change in its units when
    one reoffence fewer is counted, times its price, when the component pays at the
    outcome (its trigger met, or an increase with clawback, and its hurdle met), else 0.
    Thresholds crossed, caps, limits and rounding are left out: where none of them is
    at stake it equals the exact marginal of :func:`marginal_payment`.

    Parameters
    ----------
    contract
        The contract.
    outcomes
        One :class:`~pbr.contract.Outcome` per cohort and measure, as for :func:`pbr.pay`.

    Returns
    -------
    polars.DataFrame
        cohort, component, measure, offence, marginal (exact Decimal as text), value
        (float pounds).

    Examples
    --------
    >>> from pbr.contract import Comparator, Component, Contract, Outcome
    >>> c = Contract("f", components=(Component("f", "linear", measure="per_reoffender",
    ...                                         basis="avoided", price=150),))
    >>> o = Outcome("Q1", "per_reoffender", actual=3, comparator=3.45, n=1000, base_n=400)
    >>> linear_marginal(c, [o])["marginal"].to_list()   # first: 150 x (1 - 3.45)
    ['-367.50', '150']
    """
    by_key = {(o.cohort, o.measure): o for o in outcomes}
    rows: list[tuple[str, str, str, str, str, float]] = []
    cohorts = list(dict.fromkeys(o.cohort for o in outcomes))
    for cohort in cohorts:
        start = contract.period(cohort).start or next(
            (o.start for o in outcomes if o.cohort == cohort), None)
        met: dict[str, bool] = {}
        for comp, _ in contract.terms(start):
            if not comp.active or comp.kind == "fee":
                continue
            o = by_key.get((cohort, str(comp.measure)))
            if o is None:
                raise SpecError(f"outcomes: component {comp.name!r} needs measure "
                                f"{comp.measure!r} for cohort {cohort!r}")
            t = trigger(comp, o)
            gate = comp.hurdle is None or met.get(comp.hurdle, False)
            met[comp.name] = t.met and gate
            if comp.kind != "linear":
                continue
            pays = gate and (t.met or (t.increase and comp.clawback))
            for offence, slope in zip(OFFENCES, _slopes(comp, o), strict=True):
                value = slope if pays else Decimal(0)
                rows.append((cohort, comp.name, str(comp.measure), offence, str(value),
                             float(value)))
    return pl.DataFrame(rows, schema={"cohort": pl.String, "component": pl.String,
                                      "measure": pl.String, "offence": pl.String,
                                      "marginal": pl.String, "value": pl.Float64},
                        orient="row")


def _slopes(c: Component, o: Outcome) -> tuple[Decimal, Decimal]:
    """(first, later): the change in the component's amount, before triggers and caps."""
    assert c.price is not None
    with _context():
        n, m = Decimal(o.n), o.measure
        if m == "per_reoffender":
            big_n = Decimal(o.base_n or 0)
            r = (o.actual * big_n).to_integral_value()
            later_red = 1 / big_n if big_n else Decimal(0)
            first_red = (r / big_n - (r - 1) / (big_n - 1)) if big_n > 1 else Decimal(0)
            if c.basis == "avoided":
                first_units, later_units = 1 - o.comparator, Decimal(1)
            else:
                mult = n if c.basis == "points_per_offender" else Decimal(1)
                first_units, later_units = first_red * mult, later_red * mult
        else:
            scale = Decimal(o.scale)
            first_red = scale / n
            later_red = Decimal(0) if m == "binary_rate" else scale / n
            mult = (n / scale if c.basis == "avoided" else n
                    if c.basis == "points_per_offender" else Decimal(1))
            first_units, later_units = first_red * mult, later_red * mult
        return first_units * c.price, later_units * c.price


def _context() -> Any:
    from decimal import localcontext
    return localcontext(CONTEXT)


# --------------------------------------------------------------------------- exact
def _exact(cc: CompiledContract, reo: np.ndarray, reoff: np.ndarray
           ) -> dict[str, dict[str, np.ndarray]]:
    """Per offence: component name (and "total") -> (replicates, cells) marginal in
    quanta, NaN where the offence cannot be prevented (no reoffender, no later one)."""
    base = cc.evaluate(reo, reoff)
    out: dict[str, dict[str, np.ndarray]] = {}
    for offence in OFFENCES:
        parts = {name: np.full(reo.shape, np.nan) for name in [*base.components, "total"]}
        for cohort in cc.order:
            cols = cc.cols[cohort]
            if cols.size == 0:
                continue
            r2, f2 = reo.copy(), reoff.copy()
            if offence == "first":
                ok = reo[:, cols] >= 1
                r2[:, cols] = np.maximum(reo[:, cols] - 1, 0)
                f2[:, cols] = np.maximum(reoff[:, cols] - 1, 0)
            else:
                ok = reoff[:, cols] > reo[:, cols]
                f2[:, cols] = np.where(ok, reoff[:, cols] - 1, reoff[:, cols])
            ev = cc.evaluate(r2, f2)
            pairs = [(name, ev.components[name] - base.components[name])
                     for name in base.components]
            pairs.append(("total", ev.total - base.total))
            for name, diff in pairs:
                for j, col in enumerate(cols.tolist()):
                    area = cc.cells.area[col]
                    same = cc.area_index[area]
                    change = diff[:, same].sum(axis=1).astype(np.float64)
                    parts[name][:, col] = np.where(ok[:, j], change, np.nan)
        out[offence] = parts
    return out


@dataclass(frozen=True, eq=False)
class MarginalPayment:
    """Marginal payment per prevented reoffence, per cell and per risk decile.

    Attributes
    ----------
    cells
        Per design, effect, behaviour, area, cohort and offence (``first``/``later``):
        replicates where it can be prevented, ``marginal`` (mean pounds), ``p_paid``
        (share of them paying more than 0) and ``marginal_<component>``.
    deciles
        Per design, effect, behaviour and risk decile: offenders, expected first and
        later reoffences, ``share_first``, ``marginal_first``, ``marginal_later``,
        ``per_reoffence`` (a reoffence of the decile prevented at random) and
        ``per_offender_helped``.
    provenance, notes
        What was evaluated (replicates used, seed) and remarks.
    """

    cells: pl.DataFrame
    deciles: pl.DataFrame
    provenance: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pl.DataFrame:
        """The per-decile table."""
        return self.deciles

    def summary(self, by: str = "risk_decile") -> pl.DataFrame:
        """By ``risk_decile`` (the decile table), ``cohort``, ``area`` or ``offence``
        (means of the cells' marginals, weighted by the replicates behind them)."""
        if by not in _BY:
            raise SpecError(f"by: one of {', '.join(_BY)}, got {by!r}")
        if by == "risk_decile":
            return self.deciles
        keys = ["design", "effect", "behaviour", *([by] if by == "offence" else [by, "offence"])]
        w = pl.col("replicates").cast(pl.Float64)
        return (self.cells.group_by(keys, maintain_order=True)
                .agg(((pl.col("marginal") * w).sum() / w.sum()).alias("marginal"),
                     ((pl.col("p_paid") * w).sum() / w.sum()).alias("p_paid")))

    def explain(self) -> str:
        p = self.provenance
        return "\n".join([
            f"Marginal payment per prevented reoffence ({p.get('source', '')})",
            "  first: a reoffender with one reoffence no longer reoffends (reoffenders and "
            "reoffences - 1); later: a second or later reoffence prevented (reoffences - 1)",
            "  each: the exact change in the area's payment (all components, triggers, caps, "
            "limits, rounding), averaged over replicates where it can happen",
            "  by decile: first and later weighted by the decile's expected p and p*m",
            *[f"  note: {n}" for n in self.notes]])

    def __str__(self) -> str:
        d = self.deciles
        head = (f"{'design':<16} {'effect':<20} {'dec':>3} {'share 1st':>9} {'first':>10} "
                f"{'later':>10} {'per reoff.':>10} {'per offender':>12}")
        out = ["Marginal payment per prevented reoffence (pounds)", head, "-" * len(head)]
        for r in d.iter_rows(named=True):
            out.append(f"{r['design'][:16]:<16} {r['effect'][:20]:<20} {r['risk_decile']:>3} "
                       f"{r['share_first']:>9.3f} {_f(r['marginal_first'])} "
                       f"{_f(r['marginal_later'])} {_f(r['per_reoffence'])} "
                       f"{_f(r['per_offender_helped'], 12)}")
        return "\n".join(out)


def _f(x: float | None, w: int = 10) -> str:
    return f"{'-':>{w}}" if x is None or x != x else f"{x:>{w},.2f}"


def marginal_payment(result: SimulationResult, *, design: str | None = None,
                     effect: Any = None, behaviour: Any = None,
                     replicates: int | None = 1000) -> MarginalPayment:
    """Marginal payment per prevented first and later reoffence, by cell and risk decile.

    Parameters
    ----------
    result
        A :class:`~pbr.simulate.SimulationResult`.
    design, effect, behaviour
        Restrict to one design, effect (or its label) and behaviour (default: all).
    replicates
        Use the first this many replicates (default 1,000; None: all).  The marginal of
        each is exact; their mean estimates the expected marginal.

    Returns
    -------
    MarginalPayment

    Examples
    --------
    >>> from pbr.contract import Comparator, Component, Contract
    >>> from pbr.simulate import Population, simulate
    >>> c = Contract("b", comparator=Comparator(values={"binary_rate": 49}),
    ...              components=(Component("b", "linear", measure="binary_rate",
    ...                                    basis="avoided", price=1000),))
    >>> res = simulate(c, Population.synthetic(areas=1, cohorts=1, size=5000), n_sims=20)
    >>> mp = marginal_payment(res)
    >>> mp.summary("offence")["marginal"].to_list()   # the cliff
    [1000.0, 0.0]
    """
    if replicates is not None and (isinstance(replicates, bool)
                                   or not isinstance(replicates, int) or replicates < 1):
        raise SpecError(f"replicates: a number of replicates >= 1 (or None for all), got "
                        f"{replicates!r}")
    for name in ("designs", "effects", "behaviours", "layouts", "counts", "compiled"):
        if not hasattr(result, name):
            raise SpecError(f"result: a pbr.simulate.SimulationResult, got "
                            f"{type(result).__name__}")
    designs = list(result.designs) if design is None else [design]
    for d in designs:
        if d not in result.designs:
            raise SpecError(f"design: {d!r} is not simulated; designs are {list(result.designs)}")
    effects = _pick(result.effects, effect, "effect")
    behaviours = _pick(result.behaviours, behaviour, "behaviour")
    k = result.n_sims if replicates is None else min(replicates, result.n_sims)
    cell_parts, dec_parts = [], []
    for d in designs:
        for b in behaviours:
            cc = result.compiled[(d, b.label, result.casemix)]
            lay = result.layouts[b.label]
            for e in effects:
                reo, reoff = result.counts[(e.label, b.label)]
                ex = _exact(cc, reo[:k], reoff[:k])
                q = float(cc.quantum)
                cell_parts.append(_cells(d, e.label, b.label, cc, ex, q))
                dec_parts.append(_deciles(d, e, b.label, lay, ex, q))
    notes = []
    if k < result.n_sims:
        notes.append(f"the first {k:,} of {result.n_sims:,} replicates were used")
    return MarginalPayment(pl.concat(cell_parts, how="diagonal_relaxed"), pl.concat(dec_parts),
                           {"source": f"{k:,} replicates, seed {result.seed}",
                            "replicates": k, "seed": result.seed,
                            "casemix": result.casemix}, tuple(notes))


def _pick(items: Sequence[Any], wanted: Any, kind: str) -> list[Any]:
    if wanted is None:
        return list(items)
    label = wanted if isinstance(wanted, str) else getattr(wanted, "label", None)
    found = [x for x in items if x.label == label]
    if not found:
        raise SpecError(f"{kind}: {label!r} is not simulated; {kind}s are "
                        f"{[x.label for x in items]}")
    return found


def _cells(d: str, e: str, b: str, cc: CompiledContract,
           ex: dict[str, dict[str, np.ndarray]], q: float) -> pl.DataFrame:
    rows: dict[str, list[Any]] = {"design": [], "effect": [], "behaviour": [], "area": [],
                                  "cohort": [], "offence": [], "replicates": [],
                                  "marginal": [], "p_paid": []}
    names = [n for n in ex["first"] if n != "total"]
    for n in names:
        rows[f"marginal_{n}"] = []
    for offence in OFFENCES:
        tot = ex[offence]["total"]
        valid = ~np.isnan(tot)
        count = valid.sum(axis=0)
        with np.errstate(invalid="ignore"):
            mean = np.where(count > 0, np.nansum(tot, axis=0) / np.maximum(count, 1), np.nan)
            paid = np.where(count > 0, (np.nan_to_num(tot) > 0).sum(axis=0)
                            / np.maximum(count, 1), np.nan)
        for j in range(cc.cells.size):
            rows["design"].append(d)
            rows["effect"].append(e)
            rows["behaviour"].append(b)
            rows["area"].append(cc.cells.area[j])
            rows["cohort"].append(cc.cells.cohort[j])
            rows["offence"].append(offence)
            rows["replicates"].append(int(count[j]))
            rows["marginal"].append(float(mean[j]) * q if count[j] else None)
            rows["p_paid"].append(float(paid[j]) if count[j] else None)
            for n in names:
                a = ex[offence][n][:, j]
                rows[f"marginal_{n}"].append(float(np.nanmean(a)) * q if count[j] else None)
    return pl.DataFrame(rows, schema_overrides={"marginal": pl.Float64, "p_paid": pl.Float64,
                                                **{f"marginal_{n}": pl.Float64
                                                   for n in names}})


def _col_mean(a: np.ndarray) -> np.ndarray:
    """Column means over the values that are not NaN (0 where there are none)."""
    valid = ~np.isnan(a)
    count = valid.sum(axis=0)
    return np.where(count > 0, np.where(valid, a, 0.0).sum(axis=0) / np.maximum(count, 1), 0.0)


def _deciles(d: str, e: Any, b: str, lay: Any, ex: dict[str, dict[str, np.ndarray]],
             q: float) -> pl.DataFrame:
    fp, ff = e.factors(lay.decile)
    p = np.clip(np.where(lay.on_p, lay.p * fp, lay.p), 0.0, 1.0)
    m = np.maximum(np.where(lay.on_f, lay.m * ff, lay.m), 0.0)
    cell_mean = {o: _col_mean(ex[o]["total"]) * q for o in OFFENCES}
    first_w, later_w = p, p * m
    rows = []
    for dec in range(1, 11):
        mask = lay.decile == dec
        if not mask.any():
            continue
        cells = lay.cell[mask]
        wf, wl = first_w[mask], later_w[mask]
        mf = float((wf * cell_mean["first"][cells]).sum() / wf.sum()) if wf.sum() > 0 else None
        ml = float((wl * cell_mean["later"][cells]).sum() / wl.sum()) if wl.sum() > 0 else None
        total = float(wf.sum() + wl.sum())
        gain = float((wf * cell_mean["first"][cells]).sum()
                     + (wl * cell_mean["later"][cells]).sum())
        rows.append({"design": d, "effect": e.label, "behaviour": b, "risk_decile": dec,
                     "offenders": int(mask.sum()), "expected_first": float(wf.sum()),
                     "expected_later": float(wl.sum()),
                     "share_first": float(wf.sum()) / total if total > 0 else None,
                     "marginal_first": mf, "marginal_later": ml,
                     "per_reoffence": gain / total if total > 0 else None,
                     "per_offender_helped": gain / int(mask.sum())})
    return pl.DataFrame(rows, schema_overrides={k: pl.Float64 for k in (
        "share_first", "marginal_first", "marginal_later", "per_reoffence")})
