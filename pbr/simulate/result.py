"""``SimulationResult``: simulated outcomes and payments, per design, effect and behaviour.

Payments are held as integer quanta of each contract's rounding (exact) and shown in
pounds (floats) in the frames; :meth:`SimulationResult.statement` gives the exact
Decimal :class:`~pbr.PaymentStatement` of any replicate through :func:`pbr.pay`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from pbr.contract.spec import Contract
from pbr.contract.statement import PaymentStatement
from pbr.errors import SpecError
from pbr.simulate._draws import Groups, Layout
from pbr.simulate.behaviour import Behaviour
from pbr.simulate.designs import CompiledContract, Evaluation
from pbr.simulate.effect import Effect
from pbr.simulate.population import Population

__all__ = ["SimulationResult"]


def _label(x: Any, kind: str) -> str:
    if isinstance(x, Effect | Behaviour):
        return x.label
    if isinstance(x, str):
        return x
    raise SpecError(f"{kind}: an {kind.capitalize()} or its label, got {x!r}")


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """The outcome of :func:`pbr.simulate.simulate`.

    Attributes
    ----------
    designs
        Design name -> Contract.
    effects, behaviours
        What was simulated.
    n_sims, seed, casemix
        Replicates, seed and whether the comparator adjusts for the drawn case mix.
    provenance
        Version, seed, shard size, population fingerprint, contracts (TOML and SHA-256),
        effects, behaviours and the number of parameter groups drawn.
    notes
        Remarks kept in the record.

    Examples
    --------
    >>> from pbr.contract import Comparator, Component, Contract
    >>> from pbr.simulate import Population, simulate
    >>> c = Contract("x", comparator=Comparator(values={"binary_rate": 45}),
    ...              components=(Component("b", "linear", measure="binary_rate",
    ...                                    basis="avoided", price=100),))
    >>> res = simulate(c, Population.synthetic(areas=1, cohorts=1, size=500, area_sd=0),
    ...                n_sims=50, seed=1)
    >>> res.frame.height, res.summary().height
    (50, 1)
    """

    designs: dict[str, Contract]
    effects: tuple[Effect, ...]
    behaviours: tuple[Behaviour, ...]
    population: Population
    n_sims: int
    seed: int
    casemix: bool
    layouts: dict[str, Layout]
    compiled: dict[tuple[str, str, bool], CompiledContract]
    counts: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]
    groups: dict[tuple[str, str], Groups]
    provenance: dict[str, Any]
    notes: tuple[str, ...] = ()
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ access
    def _keys(self, design: str, effect: Any, behaviour: Any) -> tuple[str, str, str]:
        e, b = _label(effect, "effect"), _label(behaviour, "behaviour")
        if design not in self.designs:
            raise SpecError(f"design: {design!r} is not simulated; designs are "
                            f"{list(self.designs)}")
        if e not in [x.label for x in self.effects]:
            raise SpecError(f"effect: {e!r} is not simulated; effects are "
                            f"{[x.label for x in self.effects]}")
        if b not in [x.label for x in self.behaviours]:
            raise SpecError(f"behaviour: {b!r} is not simulated; behaviours are "
                            f"{[x.label for x in self.behaviours]}")
        return design, e, b

    def evaluation(self, design: str, effect: Any, behaviour: Any,
                   casemix: bool | None = None) -> Evaluation:
        """The amounts (integer quanta) of a design for every replicate and cell."""
        d, e, b = self._keys(design, effect, behaviour)
        adj = self.casemix if casemix is None else casemix
        key = ("eval", d, e, b, adj)
        if key not in self._cache:
            reo, reoff = self.counts[(e, b)]
            self._cache[key] = self.compiled[(d, b, adj)].evaluate(reo, reoff)
        out: Evaluation = self._cache[key]
        return out

    def cells(self, behaviour: Any) -> pl.DataFrame:
        """The cells of a behaviour: area, cohort, n, expected rates without the effect."""
        c = self.layouts[_label(behaviour, "behaviour")].cells
        return pl.DataFrame({"area": list(c.area), "cohort": list(c.cohort), "n": c.n,
                             "counterfactual_binary": c.expected_binary,
                             "counterfactual_frequency": c.expected_frequency,
                             "referral_binary": c.pool_binary,
                             "referral_frequency": c.pool_frequency})

    def compiled_contract(self, design: str, behaviour: Any, casemix: bool | None = None
                          ) -> CompiledContract:
        """The compiled contract of a design for a behaviour's cells (its ``evaluate``
        prices any counts, e.g. one reoffence fewer)."""
        b = _label(behaviour, "behaviour")
        return self.compiled[(design, b, self.casemix if casemix is None else casemix)]

    # ------------------------------------------------------------------ frames
    @property
    def frame(self) -> pl.DataFrame:
        """One row per (design, effect, behaviour, replicate, area, cohort)."""
        if "frame" not in self._cache:
            parts = [self._part(d, e.label, b.label) for d in self.designs
                     for e in self.effects for b in self.behaviours]
            self._cache["frame"] = pl.concat(parts, how="diagonal_relaxed")
        out: pl.DataFrame = self._cache["frame"]
        return out

    def to_frame(self) -> pl.DataFrame:
        return self.frame

    def frame_for(self, design: str, effect: Any, behaviour: Any) -> pl.DataFrame:
        """The rows of :attr:`frame` for one design, effect and behaviour, built alone
        (the whole frame holds every combination: replicates x cells x designs x effects x
        behaviours rows)."""
        d, e, b = self._keys(design, effect, behaviour)
        return self._part(d, e, b)

    def to_pandas(self) -> Any:
        return self.frame.to_pandas()

    def _part(self, design: str, e: str, b: str) -> pl.DataFrame:
        reo, reoff = self.counts[(e, b)]
        cells = self.layouts[b].cells
        g = self.groups[(e, b)]
        ev = self.evaluation(design, e, b)
        r, k = reo.shape
        n = np.tile(cells.n, r)
        safe = np.maximum(n, 1)
        cols: dict[str, Any] = {
            "design": pl.Series([design] * (r * k), dtype=pl.String),
            "effect": pl.Series([e] * (r * k), dtype=pl.String),
            "behaviour": pl.Series([b] * (r * k), dtype=pl.String),
            "replicate": np.repeat(np.arange(r, dtype=np.int64), k),
            "area": pl.Series(list(cells.area) * r, dtype=pl.String),
            "cohort": pl.Series(list(cells.cohort) * r, dtype=pl.String),
            "n": n, "reoffenders": reo.ravel(), "reoffences": reoff.ravel(),
            "binary_rate": reo.ravel() / safe, "frequency_rate": reoff.ravel() / safe,
            "expected_binary": np.tile(g.expected_binary, r),
            "expected_frequency": np.tile(g.expected_frequency, r),
            "payment": ev.pounds(ev.total).ravel(),
        }
        for name, a in ev.components.items():
            cols[f"payment_{name}"] = ev.pounds(a).ravel()
        cols["limit_adjustment"] = ev.pounds(ev.limits).ravel()
        cols["on_account"] = np.tile(ev.pounds(ev.on_account), r)
        return pl.DataFrame(cols)

    # ------------------------------------------------------------------ summaries
    def _area_totals(self, design: str, e: str, b: str, casemix: bool | None = None
                     ) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Per replicate and area: total payment and outcome payment (pounds)."""
        ev = self.evaluation(design, e, b, casemix)
        cc = self.compiled[(design, b, self.casemix if casemix is None else casemix)]
        fees = [c.name for c in self.designs[design].components if c.kind == "fee"]
        outcome = ev.total - ev.on_account[None, :] - sum(
            (ev.components[f] for f in fees), np.zeros_like(ev.total))
        areas = list(cc.area_index)
        tot = np.stack([ev.total[:, cc.area_index[a]].sum(axis=1) for a in areas], axis=1)
        out = np.stack([outcome[:, cc.area_index[a]].sum(axis=1) for a in areas], axis=1)
        return ev.pounds(tot), ev.pounds(out), areas

    def _avoided(self, e: str, b: str) -> float:
        """Expected reoffences avoided per area (the model's expectation)."""
        cells = self.layouts[b].cells
        g = self.groups[(e, b)]
        avoided = (cells.expected_frequency - g.expected_frequency) * cells.n
        return float(avoided.sum()) / len(set(cells.area))

    def summary(self) -> pl.DataFrame:
        """Per design x effect x behaviour, per area (one provider's contract):

        ``p_any_payment`` (share of replicates x areas whose outcome payments are above
        0), ``mean_payment`` and its Monte Carlo standard error ``mean_se`` (over
        replicates of the mean over areas), ``p05``, ``p95`` (of an area's total),
        ``fee_at_risk`` (the at-risk amounts of the contract, value x share per cohort,
        per area), ``p_loss`` (outcome payments below 0), ``expected_avoided`` (reoffences
        avoided
        per area, the model's expectation), ``cost_per_reoffence_avoided`` (mean payment
        / expected avoided; null where nothing is avoided) and ``gain_vs_no_behaviour``
        (mean payment minus that of behaviour ``none`` on the same replicates; null
        where ``none`` was not simulated).
        """
        rows = []
        for d in self.designs:
            for e in self.effects:
                base = None
                if any(b.kind == "none" for b in self.behaviours):
                    base = float(self._area_totals(d, e.label, "none")[0].mean())
                for b in self.behaviours:
                    tot, out, _ = self._area_totals(d, e.label, b.label)
                    avoided = self._avoided(e.label, b.label)
                    mean = float(tot.mean())
                    rows.append({
                        "design": d, "effect": e.label, "behaviour": b.label,
                        "p_any_payment": float((out > 0).mean()), "mean_payment": mean,
                        "mean_se": float(tot.mean(axis=1).std(ddof=1) / np.sqrt(tot.shape[0]))
                        if tot.shape[0] > 1 else None,
                        "p05": float(np.quantile(tot, 0.05)),
                        "p95": float(np.quantile(tot, 0.95)),
                        "fee_at_risk": self._at_risk(d, b.label),
                        "p_loss": float((out < 0).mean()),
                        "expected_avoided": avoided,
                        "cost_per_reoffence_avoided": mean / avoided if avoided > 1e-9 else None,
                        "gain_vs_no_behaviour": None if base is None else mean - base,
                    })
        return pl.DataFrame(rows, schema={
            "design": pl.String, "effect": pl.String, "behaviour": pl.String,
            "p_any_payment": pl.Float64, "mean_payment": pl.Float64, "mean_se": pl.Float64,
            "p05": pl.Float64,
            "p95": pl.Float64, "fee_at_risk": pl.Float64, "p_loss": pl.Float64,
            "expected_avoided": pl.Float64, "cost_per_reoffence_avoided": pl.Float64,
            "gain_vs_no_behaviour": pl.Float64})

    def _at_risk(self, design: str, b: str) -> float:
        cc = self.compiled[(design, b, self.casemix)]
        total = 0.0
        for i in range(cc.cells.size):
            for comp, _ in cc.terms[cc.cells.cohort[i]]:
                if comp.active and comp.kind == "at_risk":
                    assert comp.value is not None and comp.share is not None
                    total += float(comp.value * comp.share)
        return total / len(cc.area_index)

    def operating_characteristic(self, behaviour: Any = None) -> pl.DataFrame:
        """Per design x effect: the probability of any outcome payment (per area), its
        Monte Carlo standard error, and the probability of a net deduction (``p_loss``:
        for an at-risk design, 1 - p_loss is the probability that the fee is kept), under
        ``behaviour`` (default ``none`` if simulated, else the first)."""
        if behaviour is None:
            b = "none" if any(x.kind == "none" for x in self.behaviours) \
                else self.behaviours[0].label
        else:
            b = _label(behaviour, "behaviour")
        rows = []
        for d in self.designs:
            for e in self.effects:
                _, out, _ = self._area_totals(d, e.label, b)
                p = float((out > 0).mean())
                rows.append({"design": d, "effect": e.label, "effect_p": e.p,
                             "effect_frequency": e.frequency, "behaviour": b,
                             "p_any_payment": p,
                             "mc_se": float(np.sqrt(p * (1 - p) / out.size)),
                             "p_loss": float((out < 0).mean())})
        return pl.DataFrame(rows)

    def gaming(self) -> pl.DataFrame:
        """Gain of each behaviour over ``none`` in mean payment per area, with and without
        case-mix adjustment, on the same replicates (common random numbers): the gain,
        its Monte Carlo standard error (of the paired differences) and the analytic
        expected-rate gap of the cohort the behaviour leaves (drawn minus referrals)."""
        if not any(b.kind == "none" for b in self.behaviours):
            raise SpecError("gaming: simulate Behaviour.none() too; the gain of a behaviour "
                            "is measured against it")
        rows = []
        for d in self.designs:
            for e in self.effects:
                for b in self.behaviours:
                    if b.kind == "none":
                        continue
                    row: dict[str, Any] = {"design": d, "effect": e.label, "behaviour": b.label}
                    for adj, tag in ((True, "with_casemix"), (False, "without_casemix")):
                        base = self._area_totals(d, e.label, "none", adj)[0].mean(axis=1)
                        mine = self._area_totals(d, e.label, b.label, adj)[0].mean(axis=1)
                        diff = mine - base
                        row[f"gain_{tag}"] = float(diff.mean())
                        row[f"se_{tag}"] = float(diff.std(ddof=1) / np.sqrt(diff.size)) \
                            if diff.size > 1 else None
                    cells = self.layouts[b.label].cells
                    w = cells.n / cells.n.sum()
                    row["expected_binary_gap"] = float(
                        ((cells.expected_binary - cells.pool_binary) * w).sum())
                    row["expected_frequency_gap"] = float(
                        ((cells.expected_frequency - cells.pool_frequency) * w).sum())
                    rows.append(row)
        return pl.DataFrame(rows)

    # ------------------------------------------------------------------ exact
    def statement(self, design: str, effect: Any, behaviour: Any, replicate: int,
                  area: str | None = None, casemix: bool | None = None) -> PaymentStatement:
        """The exact Decimal statement of one replicate for one area, by :func:`pbr.pay`."""
        d, e, b = self._keys(design, effect, behaviour)
        cc = self.compiled[(d, b, self.casemix if casemix is None else casemix)]
        areas = list(cc.area_index)
        if area is None:
            if len(areas) > 1:
                raise SpecError(f"area: the population has {len(areas)} areas; name one of "
                                f"{areas[:5]}...")
            area = areas[0]
        if area not in cc.area_index:
            raise SpecError(f"area: {area!r} is not simulated; areas are {areas}")
        if isinstance(replicate, bool) or not isinstance(replicate, int) \
                or not 0 <= replicate < self.n_sims:
            raise SpecError(f"replicate: an integer from 0 to {self.n_sims - 1}, got "
                            f"{replicate!r}")
        reo, reoff = self.counts[(e, b)]
        idx = cc.area_index[area]
        prov = {"pbr_version": self.provenance["pbr_version"], "seed": self.seed,
                "replicate": replicate, "design": d, "effect": e, "behaviour": b,
                "area": area, "casemix": cc.casemix}
        return cc.statement(area, reo[replicate, idx].tolist(), reoff[replicate, idx].tolist(),
                            provenance=prov)

    # ------------------------------------------------------------------ outer layer
    def marginal_payment(self, by: str = "risk_decile", *, replicates: int | None = 1000
                         ) -> pl.DataFrame:
        """Marginal payment per prevented first and later reoffence, ``by`` risk decile,
        cohort, area or offence (:func:`pbr.simulate.marginal.marginal_payment`)."""
        from pbr.simulate.marginal import marginal_payment
        return marginal_payment(self, replicates=replicates).summary(by)

    def payments_by_date(self, reporting_lag: str | None = None) -> pl.DataFrame:
        """Every simulated payment with the date it falls due, per design, effect,
        behaviour, replicate and area (:func:`pbr.simulate.cashflow.payments_by_date`)."""
        from pbr.simulate.cashflow import payments_by_date
        return pl.concat([payments_by_date(c, self.frame.filter(pl.col("design") == d),
                                           reporting_lag=reporting_lag)
                          for d, c in self.designs.items()])

    def cash_flows(self, costs: Any = None, *, design: str | None = None,
                   pool_areas: bool = False, reporting_lag: str | None = None) -> Any:
        """The provider's cash flows and peak working capital need across replicates
        (:func:`pbr.simulate.cashflow.cash_flows`; ``costs`` a ``ServiceCosts``)."""
        from pbr.simulate.cashflow import cash_flows
        d = design or next(iter(self.designs))
        if d not in self.designs:
            raise SpecError(f"design: {d!r} is not simulated; designs are "
                            f"{list(self.designs)}")
        return cash_flows(self.designs[d], self.frame.filter(pl.col("design") == d), costs,
                          pool_areas=pool_areas, reporting_lag=reporting_lag)

    # ------------------------------------------------------------------ record
    @property
    def manifest(self) -> dict[str, Any]:
        """Provenance with the summary (plain JSON values)."""
        return {"provenance": self.provenance, "notes": list(self.notes),
                "summary": self.summary().to_dicts()}

    def manifest_json(self) -> str:
        """The manifest as deterministic JSON text."""
        return json.dumps(self.manifest, sort_keys=True, indent=2, default=str)

    def explain(self, design: str | None = None, effect: Any = None, behaviour: Any = None,
                replicate: int | None = None, area: str | None = None) -> str:
        """How the numbers were made: model, draws, comparator and payment evaluation.

        With ``replicate`` (and ``design``, ``effect``, ``behaviour``, ``area`` where there
        are several), the exact statement of that replicate and how each line came to its
        amount (:meth:`pbr.PaymentStatement.explain`).
        """
        if replicate is not None:
            d = design if design is not None else next(iter(self.designs))
            e = effect if effect is not None else self.effects[0]
            b = behaviour if behaviour is not None else self.behaviours[0]
            s = self.statement(d, e, b, replicate, area=area)
            return "\n\n".join([str(s), *(s.explain(x.line) for x in s.lines)])
        p = self.provenance
        lines = [
            f"Simulation of {len(self.designs)} design(s) x {len(self.effects)} effect(s) x "
            f"{len(self.behaviours)} behaviour(s), {self.n_sims:,} replicates, seed "
            f"{self.seed} (shards of {p['shard']} replicates, SeedSequence(seed, "
            "spawn_key=(shard, 0|1)))",
            f"  population: {self.population}",
            "  model: any reoffence ~ Bernoulli(p); a reoffender's later reoffences ~ "
            "NB(mean m, shape theta) (Poisson for theta = inf), m = mu/p - 1",
            "  draws: per group of offenders sharing (p, m, theta) in a cell, reoffenders ~ "
            "Binomial(k, p) and later reoffences ~ NB(R m, R theta): exact",
            "  effect: p -> p(1 - e_p) for those receiving it; m -> m(1 - e_f)",
            "  comparator: " + ("the baseline adjusted for the case mix of the cohort drawn"
                                if self.casemix else "the fixed baseline")
            + f" (baseline from {p['baseline']})",
            "  payments: each contract compiled to exact integer arithmetic (quanta of its "
            "rounding), equal to pbr.pay to the penny; res.statement(...) gives pbr.pay's "
            "statement of any replicate",
        ]
        for key, n in p["groups"].items():
            lines.append(f"  groups drawn for {key}: {n:,}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        s = self.summary()
        head = (f"{'design':<20} {'effect':<24} {'behaviour':<20} {'P(pay)':>7} "
                f"{'mean':>14} {'p05':>14} {'p95':>14}")
        out = [f"Simulated payments: {self.n_sims:,} replicates, seed {self.seed}, "
               f"case-mix adjustment {'on' if self.casemix else 'off'}", head, "-" * len(head)]
        for r in s.iter_rows(named=True):
            out.append(f"{r['design'][:20]:<20} {r['effect'][:24]:<24} {r['behaviour'][:20]:<20} "
                       f"{r['p_any_payment']:>7.3f} {r['mean_payment']:>14,.2f} "
                       f"{r['p05']:>14,.2f} {r['p95']:>14,.2f}")
        return "\n".join(out)
