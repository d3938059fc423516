"""A contract compiled into a vectorised, exact evaluation of simulated outcomes.

:func:`pbr.pay` turns one set of per-cohort outcomes into a statement in Decimal
arithmetic; a simulation needs it for every replicate (10,000 x 84 cohorts).  A
:class:`CompiledContract` does the same arithmetic on integer arrays, one row per
replicate and one column per (area, cohort) cell, and gives the same amount to the
penny:

* a cohort's value is ``num / den`` rounded half-even to 6 places (as
  :func:`pbr.contract.compare.outcomes`), held as an integer count of 1e-6 units, so
  reductions, triggers (relative, absolute, significance, hurdles) and tiers are exact
  integer comparisons;
* a linear amount ``reduction x base x price / scale`` is an exact fraction ``W / b``
  of the rounding quantum (``b`` from the price and the measure's scale, reduced by their
  greatest common divisor), capped and floored by exact integer comparisons and rounded
  half-up or half-even by integer division;
* tiered, at-risk and fee amounts take one of a few Decimal constants, computed once;
* limits per cohort, year and contract and payments on account are integer sums.

Contract features this path does not evaluate are refused with
:class:`~pbr.errors.ContractError` (``rounding.point = "total"``, custody and serious
measures, matched comparison groups from the contract table).  Where an intermediate
product could exceed 2^62 the arithmetic runs on Python integers (object arrays):
slower, still exact.  ``statement()`` gives the exact :class:`~pbr.PaymentStatement` of
one replicate through :func:`pbr.pay` itself, which the tests compare line for line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

import numpy as np

from pbr.compare.thresholds import significance_thresholds
from pbr.contract.comparator import proportion_suspected
from pbr.contract.components import Component
from pbr.contract.outcome import MEASURES, RATES, Outcome
from pbr.contract.pay import CONTEXT, pay
from pbr.contract.spec import Contract
from pbr.contract.statement import PaymentStatement
from pbr.errors import ContractError

__all__ = ["SUPPORTED_MEASURES", "Cells", "CompiledContract", "Evaluation"]

#: measures the simulation draws (custody days and serious reoffending are not modelled)
SUPPORTED_MEASURES = ("binary_rate", "per_offender", "per_100", "per_reoffender")
_MICRO = 10**6
_Q6 = Decimal("0.000001")
_BIG = 2**62


@dataclass(frozen=True, eq=False)
class Cells:
    """The (area, cohort) cells of one behaviour: cohort sizes and expected values.

    ``expected_*`` are the drawn cohort's means under no effect (``p`` and ``mu``);
    ``pool_*`` the referral pool's (the cohort before any selection).
    """

    area: tuple[str, ...]
    cohort: tuple[str, ...]
    n: np.ndarray
    expected_binary: np.ndarray
    expected_frequency: np.ndarray
    pool_binary: np.ndarray
    pool_frequency: np.ndarray

    @property
    def size(self) -> int:
        return len(self.area)


@dataclass(frozen=True, eq=False)
class Evaluation:
    """Amounts (integer quanta of the contract's rounding) per replicate and cell."""

    components: dict[str, np.ndarray]
    limits: np.ndarray
    on_account: np.ndarray
    total: np.ndarray
    quantum: Decimal

    def pounds(self, a: np.ndarray) -> np.ndarray:
        return np.asarray(a, dtype=np.float64) * float(self.quantum)


def _dec(x: float) -> Decimal:
    return Decimal(repr(float(x)))


def _ratio(d: Decimal) -> tuple[int, int]:
    n, m = d.as_integer_ratio()
    return int(n), int(m)


def _round_div(w: np.ndarray, b: int, mode: str) -> np.ndarray:
    """``w / b`` rounded to an integer, half-up (away from zero) or half-even, exactly."""
    if b == 1:
        return w
    sign = np.where(w < 0, -1, 1)
    mag = np.abs(w)
    q, r = np.divmod(mag, b)
    twice = 2 * r
    up = (twice >= b) if mode == "half_up" else (twice > b) | ((twice == b) & (q % 2 == 1))
    return np.asarray(sign * (q + up))


@dataclass(frozen=True, eq=False)
class _Comparators:
    value: dict[str, list[Decimal]] = field(default_factory=dict)
    value_int: dict[str, np.ndarray] = field(default_factory=dict)
    lower: dict[str, list[Decimal | None]] = field(default_factory=dict)
    upper: dict[str, list[Decimal | None]] = field(default_factory=dict)
    lower_int: dict[str, np.ndarray] = field(default_factory=dict)
    upper_int: dict[str, np.ndarray] = field(default_factory=dict)
    source: dict[str, list[str]] = field(default_factory=dict)


class CompiledContract:
    """A contract compiled for the cells of one simulated behaviour.

    Parameters
    ----------
    contract
        The :class:`~pbr.contract.Contract`.
    cells
        The cells (area, cohort, size, expected values).
    casemix
        Compare each cohort with the expected value of the cohort actually drawn (the
        baseline moved by the drawn cohort's expected value minus the referral pool's,
        additively or, for a case-mix comparator with ``adjustment = "ratio"``, by their
        ratio; a case-mix comparator's ``baseline_risk`` stands for the referral pool's
        binary rate, as in a contract run), or with the fixed baseline (False).  Unlike a
        contract run, which adjusts the binary rate only, the simulation adjusts every
        measure it pays on, so that the comparator is the drawn cohort's own expectation.
    baseline
        ``"contract"``: the comparator values of the contract; ``"population"``: the
        referral pool's expected values (for contracts whose values are set at run time).

    Examples
    --------
    >>> import numpy as np
    >>> from pbr.contract import Component, Contract, Comparator
    >>> c = Contract("x", comparator=Comparator(values={"binary_rate": 50}),
    ...              components=(Component("b", "linear", measure="binary_rate",
    ...                                    basis="avoided", price=1000),))
    >>> cells = Cells(("a",), ("q1",), np.array([200]), np.array([0.5]), np.array([1.0]),
    ...               np.array([0.5]), np.array([1.0]))
    >>> cc = CompiledContract(c, cells)
    >>> ev = cc.evaluate(np.array([[90], [110]]), np.array([[180], [220]]))
    >>> ev.pounds(ev.total).ravel().tolist()  # 10 avoided x 1,000; an increase pays 0
    [10000.0, 0.0]
    """

    def __init__(self, contract: Contract, cells: Cells, *, casemix: bool = True,
                 baseline: str = "contract") -> None:
        if not isinstance(contract, Contract):
            raise ContractError(f"contract: expected a pbr Contract, got {type(contract).__name__}")
        if baseline not in ("contract", "population"):
            raise ContractError(f"baseline: 'contract' or 'population', got {baseline!r}")
        self.contract, self.cells, self.casemix, self.baseline = contract, cells, casemix, baseline
        r = contract.rounding
        if r.point != "line":
            raise ContractError("rounding.point = \"total\": the simulation evaluates contracts "
                                "that round each line (rounding.point = \"line\"); a contract "
                                "rounding only its total is not supported")
        self.places, self.mode = r.places, r.mode
        self.quantum = r.quantum
        labels = list(dict.fromkeys(cells.cohort))
        listed = [p.name for p in contract.periods]
        if listed:
            unknown = [c for c in labels if c not in listed]
            if unknown:
                raise ContractError(f"cohorts: the population's cohort(s) {unknown} are not "
                                    f"cohorts of contract {contract.name!r} ({listed}); relabel "
                                    "them with Population.with_cohorts({...}) or build the "
                                    "population with those labels")
        self.order = [c for c in listed if c in labels] + [c for c in labels if c not in listed]
        self.terms = {c: contract.terms(contract.period(c).start) for c in self.order}
        measures: list[str] = []
        for c in self.order:
            for comp, _ in self.terms[c]:
                if comp.active and (comp.kind == "rate_card" or comp.subgroup):
                    what = "rate card" if comp.kind == "rate_card" else "subgroup component"
                    raise ContractError(
                        f"component {comp.name!r}: a {what} is not simulated (the "
                        "simulation draws whole cohorts' proven reoffending, not outcome "
                        "claims or subgroups); simulate a contract without it")
                if comp.kind != "fee" and comp.measure not in measures:
                    measures.append(str(comp.measure))
                if comp.active and comp.kind != "fee" and comp.measure not in SUPPORTED_MEASURES:
                    raise ContractError(f"component {comp.name!r}.measure = {comp.measure!r}: "
                                        "the simulation draws proven reoffending only; it "
                                        f"evaluates {', '.join(SUPPORTED_MEASURES)}")
        if not measures:
            raise ContractError("component: the contract pays fees only, so no simulated "
                                "outcome changes a payment; add an outcome component")
        self.measures = measures
        comp_ = contract.comparator
        if comp_ is not None and comp_.kind == "matched" and baseline == "contract":
            raise ContractError("comparator.kind = \"matched\": a comparison group is not "
                                "simulated; run with baseline=\"population\" (the referral "
                                "pool's expected values as the comparator)")
        self.names = [c.name for c in contract.components]
        self.years = {c: contract.period(c).year for c in self.order}
        self.cmp = self._comparators()
        self.cols = {c: np.flatnonzero(np.array(cells.cohort) == c) for c in self.order}
        self.area_index = {a: np.flatnonzero(np.array(cells.area) == a)
                           for a in dict.fromkeys(cells.area)}

    # ------------------------------------------------------------------ comparators
    def _expected(self, measure: str, binary: float, freq: float) -> float:
        if measure == "binary_rate":
            return 100.0 * binary
        if measure == "per_offender":
            return freq
        if measure == "per_100":
            return 100.0 * freq
        return freq / binary if binary > 0 else 0.0

    def _comparators(self) -> _Comparators:
        out = _Comparators()
        cells, comp = self.cells, self.contract.comparator
        form = comp.adjustment if comp is not None and comp.kind == "casemix" else "additive"
        z = comp.significance_z if comp is not None else None
        for m in self.measures:
            tested = [c.name for cohort in self.order for c, _ in self.terms[cohort]
                      if c.active and c.trigger == "significant" and c.measure == m]
            if tested and z is None:
                raise ContractError(f"component {tested[0]!r}.trigger = \"significant\" needs "
                                    "the thresholds around the comparator: set "
                                    "comparator.significance_z (e.g. 1.96)")
            if tested and m not in RATES:
                raise ContractError(f"component {tested[0]!r}.trigger = \"significant\" on {m}: "
                                    "significance thresholds are known for rates only "
                                    "(binary_rate); use trigger = \"absolute\" or \"relative\"")
            vals: list[Decimal] = []
            lows: list[Decimal | None] = []
            highs: list[Decimal | None] = []
            srcs: list[str] = []
            for i in range(cells.size):
                cohort = cells.cohort[i]
                pool = self._expected(m, cells.pool_binary[i], cells.pool_frequency[i])
                drawn = self._expected(m, cells.expected_binary[i], cells.expected_frequency[i])
                if self.baseline == "population":
                    base = _dec(pool).quantize(_Q6, ROUND_HALF_EVEN)
                    src = f"referral pool's expected {m} {base}"
                else:
                    given = comp.value(cohort, m) if comp is not None else None
                    if given is None:
                        raise ContractError(f"comparator.values.{m}: no baseline value for "
                                            f"cohort {cohort!r}; add it to the contract or run "
                                            "with baseline=\"population\"")
                    base, src = given, f"fixed baseline {given}"
                value = base
                if (self.casemix and m == "binary_rate" and self.baseline == "contract"
                        and comp is not None and comp.kind == "casemix"
                        and comp.baseline_risk is not None):
                    pool = float(comp.baseline_risk)   # the contract's baseline risk, percent
                if self.casemix:
                    with localcontext(CONTEXT):
                        if form == "ratio":
                            if pool <= 0:
                                raise ContractError(f"casemix: the referral pool of cohort "
                                                    f"{cohort!r} expects 0 for {m}; a ratio "
                                                    "adjustment is undefined")
                            value = base * _dec(drawn) / _dec(pool)
                        else:
                            value = base + _dec(drawn) - _dec(pool)
                    value = value.quantize(_Q6, ROUND_HALF_EVEN)
                    src += (f" adjusted for the drawn cohort's case mix ({form}): expected "
                            f"{drawn:.6f} vs referrals {pool:.6f}")
                if value < 0 or (m in RATES and value > 100):
                    raise ContractError(f"comparator: cohort {cohort!r} {m} comparator {value} "
                                        "is outside the measure's range; check the baseline "
                                        "values (rates in percent)")
                if value != value.quantize(_Q6):
                    raise ContractError(f"comparator.values.{m}: {value} (cohort {cohort!r}) has "
                                        "more than 6 decimal places; the simulation compares "
                                        "values in millionths of the measure's unit, as a "
                                        "contract run rounds the cohort's own value; round it")
                if proportion_suspected(m, value):
                    raise ContractError(f"comparator.values.{m}: {value} reads as a proportion; "
                                        "rates are in percent (28.0 for 28%)")
                lo = hi = None
                if z is not None and m in RATES and int(cells.n[i]) > 0 and (
                        0 < value < 100 or tested):
                    lo, hi, how = significance_thresholds(
                        value, int(cells.n[i]), z, where=f"comparator {m} (cohort {cohort!r})")
                    src += f"; thresholds {lo} to {hi}: {how}"
                vals.append(value)
                lows.append(lo)
                highs.append(hi)
                srcs.append(src)
            out.value[m], out.lower[m], out.upper[m], out.source[m] = vals, lows, highs, srcs
            out.value_int[m] = np.array([int(v.scaleb(6)) for v in vals], dtype=np.int64)
            # a cohort value strictly below `lower` (above `upper`): integer thresholds
            out.lower_int[m] = np.array([-1 if v is None else int(v.scaleb(6)) for v in lows],
                                        dtype=np.int64)
            out.upper_int[m] = np.array([2**62 if v is None else int(v.scaleb(6))
                                         for v in highs], dtype=np.int64)
        return out

    # ------------------------------------------------------------------ outcomes
    @staticmethod
    def actual_int(measure: str, reo: np.ndarray, reoff: np.ndarray, n: np.ndarray
                   ) -> np.ndarray:
        """The cohort's value in 1e-6 units: ``num / den`` rounded half-even to 6 places."""
        if measure == "binary_rate":
            num, den = reo * 100, np.broadcast_to(n, reo.shape)
        elif measure == "per_offender":
            num, den = reoff, np.broadcast_to(n, reo.shape)
        elif measure == "per_100":
            num, den = reoff * 100, np.broadcast_to(n, reo.shape)
        else:
            num, den = reoff, reo
        safe = np.where(den > 0, den, 1)
        q, r = np.divmod(num * _MICRO, safe)
        twice = 2 * r
        up = (twice > safe) | ((twice == safe) & (q % 2 == 1))
        return np.where(den > 0, q + up, 0)

    def _const(self, c: Component, amount: Decimal) -> int:
        """A constant amount through the component's cap and floor and the line rounding."""
        with localcontext(CONTEXT):
            if c.cap is not None and amount > c.cap:
                amount = c.cap
            if c.floor is not None and amount < c.floor:
                amount = c.floor
            return int(self.contract.rounding.round(amount).scaleb(self.places))

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, reoffenders: np.ndarray, reoffences: np.ndarray) -> Evaluation:
        """Amounts per replicate (rows) and cell (columns) in quanta of the rounding.

        ``reoffenders`` and ``reoffences`` are integer arrays (replicates, cells).
        """
        reo = np.asarray(reoffenders, dtype=np.int64)
        reoff = np.asarray(reoffences, dtype=np.int64)
        if reo.ndim != 2 or reo.shape != reoff.shape or reo.shape[1] != self.cells.size:
            raise ContractError(f"evaluate: expected (replicates, {self.cells.size}) arrays of "
                                f"counts, got {reo.shape} and {reoff.shape}")
        n_rep, n_cells = reo.shape
        n = self.cells.n.astype(np.int64)
        bad = (reo < 0) | (reo > n[None, :]) | (reoff < reo)
        if bad.any():
            r, j = (int(x) for x in np.argwhere(bad)[0])
            raise ContractError(f"evaluate: replicate {r}, cell {j} ({self.cells.area[j]!r}, "
                                f"{self.cells.cohort[j]!r}) has {int(reo[r, j])} reoffenders "
                                f"and {int(reoff[r, j])} reoffences in a cohort of {int(n[j])}; "
                                "counts need 0 <= reoffenders <= n and reoffences >= "
                                "reoffenders")
        comps = {name: np.zeros((n_rep, n_cells), dtype=np.int64) for name in self.names}
        paid = np.zeros((n_rep, n_cells), dtype=np.int64)
        for cohort in self.order:
            cols = self.cols[cohort]
            if cols.size == 0:
                continue
            r_, f_, n_ = reo[:, cols], reoff[:, cols], n[cols]
            actual = {m: self.actual_int(m, r_, f_, n_) for m in self.measures}
            met: dict[str, np.ndarray] = {}
            for comp, _ in self.terms[cohort]:
                if not comp.active:
                    continue
                if comp.kind == "fee":
                    comps[comp.name][:, cols] += self._fee(comp, n_)[None, :]
                    continue
                line, ok = self._line(comp, cohort, cols, actual, r_, n_, met, (reo, reoff))
                met[comp.name] = ok
                comps[comp.name][:, cols] += line
                paid[:, cols] += line
        limits = self._limits(paid)
        on_account = np.zeros(n_cells, dtype=np.int64)
        for cohort, amount in self.contract.on_account:
            if cohort in self.cols:
                on_account[self.cols[cohort]] -= int(amount.scaleb(self.places))
        total = sum(comps.values(), np.zeros((n_rep, n_cells), dtype=np.int64))
        total = total + limits + on_account[None, :]
        return Evaluation(comps, limits, on_account, total, self.quantum)

    def _fee(self, c: Component, n: np.ndarray) -> np.ndarray:
        assert c.amount is not None
        rnd = self.contract.rounding
        with localcontext(CONTEXT):
            base = int(rnd.round(c.amount * c.periods).scaleb(self.places))
            out = np.full(n.size, base, dtype=np.int64)
            if c.band_low is not None and c.band_high is not None and c.band_price is not None:
                for j, v in enumerate(n.tolist()):
                    extra = (v - c.band_high if v > c.band_high else
                             v - c.band_low if v < c.band_low else 0)
                    out[j] += int(rnd.round(Decimal(extra) * c.band_price).scaleb(self.places))
        return out

    def _trigger(self, c: Component, cohort: str, cols: np.ndarray, a: np.ndarray,
                 cv: np.ndarray, counts: tuple[np.ndarray, np.ndarray]
                 ) -> tuple[np.ndarray, np.ndarray]:
        """(met, increase) per replicate and cell, as :func:`pbr.contract.rules.trigger`."""
        m = str(c.measure)
        red = cv[None, :] - a
        if c.trigger == "none":
            return red > 0, red < 0
        if c.trigger == "absolute":
            assert c.threshold is not None
            t = int(c.threshold.scaleb(6).to_integral_value(ROUND_CEILING))
            return red >= t, red < 0
        if c.trigger == "significant":
            lo = self.cmp.lower_int[m][cols]
            hi = self.cmp.upper_int[m][cols]
            return a < lo[None, :], a > hi[None, :]
        assert c.threshold is not None
        tn, td = _ratio(c.threshold)
        pos = cv > 0
        met = np.where(pos[None, :], red * (td * 100) >= tn * np.where(pos, cv, 1)[None, :],
                       tn <= 0)
        increase = np.where(pos[None, :], red < 0, False)
        if c.pooled_threshold is not None:
            met = met | (~met & self._pooled(c, cols, counts))
        return met, increase

    def _pooled(self, c: Component, cols: np.ndarray, counts: tuple[np.ndarray, np.ndarray]
                ) -> np.ndarray:
        """The pooled test (n-weighted mean relative reduction over ``pooled_over``);
        near the threshold (within 1e-9) decided in the Decimal arithmetic of pbr.pay."""
        base = next((b for b in self.contract.components if b.name == c.name), c)
        m = str(base.measure)
        n_rep = counts[0].shape[0]
        out = np.zeros((n_rep, cols.size), dtype=bool)
        if base.pooled_threshold is None or not base.pooled_over:
            return out
        assert c.pooled_threshold is not None
        for j, col in enumerate(cols.tolist()):
            area = self.cells.area[col]
            members: list[int] = []
            for k in base.pooled_over:
                found = [i for i in self.area_index[area] if self.cells.cohort[i] == k]
                if not found:
                    break
                members.append(int(found[0]))
            else:
                idx = np.asarray(members)
                a_int = self.actual_int(m, counts[0][:, idx], counts[1][:, idx],
                                        self.cells.n[idx].astype(np.int64))
                cvs = self.cmp.value_int[m][members]
                ns = self.cells.n[members].astype(np.float64)
                rel = np.where(cvs > 0, (cvs - a_int) / np.where(cvs > 0, cvs, 1), 0.0)
                pooled = (rel * ns).sum(axis=1) / ns.sum()
                thr = float(c.pooled_threshold) / 100
                res = pooled >= thr
                near = np.flatnonzero(np.abs(pooled - thr) < 1e-9)
                for r in near.tolist():
                    with localcontext(CONTEXT):
                        tot = sum((((Decimal(int(cvs[i])) - Decimal(int(a_int[r, i])))
                                    / Decimal(int(cvs[i])) if cvs[i] else Decimal(0))
                                   * int(self.cells.n[members[i]])
                                   for i in range(len(members))), Decimal(0))
                        res[r] = tot / int(self.cells.n[members].sum()) >= \
                            c.pooled_threshold / 100
                out[:, j] = res
        return out

    def _line(self, c: Component, cohort: str, cols: np.ndarray, actual: dict[str, np.ndarray],
              reo: np.ndarray, n: np.ndarray, met_so_far: dict[str, np.ndarray],
              counts: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        m = str(c.measure)
        a = actual[m]
        cv = self.cmp.value_int[m][cols]
        shape = a.shape
        if c.hurdle is not None:
            gate = met_so_far.get(c.hurdle, np.zeros(shape, dtype=bool))
        else:
            gate = np.ones(shape, dtype=bool)
        met, increase = self._trigger(c, cohort, cols, a, cv, counts)
        met = met & gate
        if c.kind == "at_risk":
            assert c.value is not None and c.share is not None
            keep, lose = self._const(c, Decimal(0)), self._const(c, -(c.value * c.share))
            line = np.where(met, keep, lose)
            line = np.where(gate, line, 0)
            return line.astype(np.int64), met
        if c.kind == "tiered":
            red = cv[None, :] - a
            reached = np.zeros(shape, dtype=np.int64)
            pos = cv > 0
            for at, _amount in c.tiers:
                an, ad = _ratio(at)
                ok = np.where(pos[None, :], red * (100 * ad) >= an * np.where(pos, cv, 1)[None, :],
                              an <= 0)
                reached += ok
            consts = np.array([self._const(c, Decimal(0))]
                              + [self._const(c, amt) for _, amt in c.tiers], dtype=np.int64)
            pays = reached > 0
            if c.trigger != "none":
                pays &= met
            line = np.where(pays, consts[reached], consts[0])
            return np.where(gate, line, 0).astype(np.int64), met
        return self._linear(c, a, cv, reo, n, met, increase, gate), met

    def _linear(self, c: Component, a: np.ndarray, cv: np.ndarray, reo: np.ndarray,
                n: np.ndarray, met: np.ndarray, increase: np.ndarray, gate: np.ndarray
                ) -> np.ndarray:
        assert c.price is not None
        m = str(c.measure)
        scale = MEASURES[m][0]
        red = cv[None, :] - a
        if c.basis == "points":
            base: Any = np.ones(n.size, dtype=np.int64)[None, :]
            s = _MICRO
        elif c.basis == "points_per_offender":
            base, s = n[None, :], _MICRO
        else:
            base = reo if m == "per_reoffender" else n[None, :]
            s = _MICRO * scale
        pn, pd = _ratio(c.price)
        num, den = pn * 10**self.places, s * pd
        g = math.gcd(num, den)
        a_, b_ = num // g, den // g
        pays = met | (increase & c.clawback)
        red = np.where(pays, red, 0)
        bound = int(np.abs(red).max(initial=0)) * int(np.max(base, initial=1)) * a_
        if bound >= _BIG:   # exact on Python integers
            red, base = red.astype(object), np.asarray(base).astype(object)
        w = red * base * a_
        line = _round_div(w, b_, self.mode)
        hi = np.zeros(w.shape, dtype=bool)
        if c.cap is not None:
            cap_b = (c.cap.scaleb(self.places) * b_).to_integral_value(ROUND_FLOOR)
            hi = w > int(cap_b) if abs(cap_b) < _BIG or bound >= _BIG else \
                np.zeros(w.shape, dtype=bool) if cap_b > 0 else np.ones(w.shape, dtype=bool)
            line = np.where(hi, self._const(c, c.cap), line)
        if c.floor is not None:
            floor_b = (c.floor.scaleb(self.places) * b_).to_integral_value(ROUND_CEILING)
            lo = w < int(floor_b) if abs(floor_b) < _BIG or bound >= _BIG else \
                np.zeros(w.shape, dtype=bool) if floor_b < 0 else np.ones(w.shape, dtype=bool)
            line = np.where(~hi & lo, self._const(c, c.floor), line)
        line = np.where(gate, line, 0)
        return np.asarray(line).astype(np.int64)

    def _limits(self, paid: np.ndarray) -> np.ndarray:
        """Adjustments per cohort, year and contract (year and contract adjustments are
        settled with the last cohort of their scope, in the contract's order)."""
        lim = dict(self.contract.limits)
        out = np.zeros_like(paid)
        if not lim:
            return out
        q = self.places

        def needed(total: np.ndarray, cap_key: str, floor_key: str) -> np.ndarray:
            adj = np.zeros_like(total)
            cap, floor = lim.get(cap_key), lim.get(floor_key)
            if cap is not None:
                cq = int(cap.scaleb(q).to_integral_value(ROUND_FLOOR))
                adj = np.where(total > cq, cq - total, adj)
            if floor is not None:
                fq = int(floor.scaleb(q).to_integral_value(ROUND_CEILING))
                over = total > int(cap.scaleb(q).to_integral_value(ROUND_FLOOR)) \
                    if cap is not None else np.zeros(total.shape, dtype=bool)
                adj = np.where(~over & (total < fq), fq - total, adj)
            return adj

        if "cohort_cap" in lim or "cohort_floor" in lim:
            out += needed(paid, "cohort_cap", "cohort_floor")
        for _area, idx in self.area_index.items():
            ordered = [i for c in self.order for i in idx if self.cells.cohort[i] == c]
            if "year_cap" in lim or "year_floor" in lim:
                years = [y for y in dict.fromkeys(self.years[self.cells.cohort[i]]
                                                  for i in ordered) if y is not None]
                for y in years:
                    mine = [i for i in ordered if self.years[self.cells.cohort[i]] == y]
                    total = (paid[:, mine] + out[:, mine]).sum(axis=1)
                    out[:, mine[-1]] += needed(total, "year_cap", "year_floor")
            if "total_cap" in lim or "total_floor" in lim:
                total = (paid[:, ordered] + out[:, ordered]).sum(axis=1)
                out[:, ordered[-1]] += needed(total, "total_cap", "total_floor")
        return out

    # ------------------------------------------------------------------ exact statement
    def outcomes(self, area: str, reoffenders: Sequence[int], reoffences: Sequence[int]
                 ) -> list[Outcome]:
        """The Outcomes of one area's cells for :func:`pbr.pay` (counts per cell of the area,
        in the order of the cells)."""
        idx = self.area_index[area]
        out = []
        for j, i in enumerate(idx.tolist()):
            cohort = self.cells.cohort[i]
            n, reo, reoff = int(self.cells.n[i]), int(reoffenders[j]), int(reoffences[j])
            period = self.contract.period(cohort)
            for m in self.measures:
                a = int(self.actual_int(m, np.array([[reo]]), np.array([[reoff]]),
                                        np.array([n]))[0, 0])
                out.append(Outcome(cohort, m, Decimal(a).scaleb(-6).quantize(_Q6),
                                   self.cmp.value[m][i], n,
                                   base_n=reo if m == "per_reoffender" else n,
                                   lower=self.cmp.lower[m][i], upper=self.cmp.upper[m][i],
                                   start=period.start, year=period.year,
                                   counts=(("offenders", f"{n:,}"), ("reoffenders", f"{reo:,}"),
                                           ("reoffences", f"{reoff:,}")),
                                   source="simulated: " + self.cmp.source[m][i]))
        return out

    def statement(self, area: str, reoffenders: Sequence[int], reoffences: Sequence[int],
                  provenance: dict[str, Any] | None = None) -> PaymentStatement:
        """The exact statement of one area for one replicate, by :func:`pbr.pay`."""
        return pay(self.contract, self.outcomes(area, reoffenders, reoffences),
                   provenance=provenance)
