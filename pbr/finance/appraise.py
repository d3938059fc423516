"""Appraising an impact bond: the investors' return and the outcome payer's value for money.

:func:`appraise` takes an :class:`~pbr.finance.ImpactBond` and returns an
:class:`Appraisal`:

* the investors' view: capital drawn, money returned (outcome payments and unspent
  capital), the net gain, the money multiple (returned / drawn), the annual IRR of the
  dated flows (actual/365, as Excel's ``XIRR``; :class:`~pbr.finance.IrrResult` says when
  it is not unique or does not exist) and the NPV at a stated annual discount rate
  (``XNPV``, to the first flow's date);
* the outcome payer's view (when ``outcomes`` and ``savings_per_outcome`` are given):
  the cost (the outcome payments), its present value at the payer's discount rate
  (HM Treasury's Green Book rate, 3.5% a year, by default, [HMT-GreenBook-2022]), the
  stated savings (outcomes achieved x savings per outcome, undiscounted and discounted
  on the payment dates), the net saving, the benefit-cost ratio and the cost per outcome
  (e.g. cost per reoffence avoided).  The savings per outcome are the user's stated
  figure (for England and Wales the Home Office's unit costs of crime,
  [HomeOffice-CostsOfCrime-2018]); pbr does not supply one.

Money is exact: totals and NPVs are Decimals rounded half-even to the bond's places.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

import polars as pl

from pbr._version import __version__
from pbr.errors import SchemaError, SpecError
from pbr.finance.bond import ImpactBond
from pbr.finance.rates import IrrResult, _rate, as_money, xirr, xnpv

__all__ = ["Appraisal", "PayerView", "appraise"]

_ZERO = Decimal(0)
GREEN_BOOK_RATE = Decimal("0.035")


@dataclass(frozen=True)
class PayerView:
    """The outcome payer's cost set against the stated savings.

    Attributes
    ----------
    cost
        Outcome payments made (undiscounted).
    cost_pv
        Their present value at ``discount_rate`` to the bond's first date.
    outcomes
        Outcomes achieved (e.g. reoffences avoided), as stated or measured.
    outcome_unit
        What one outcome is.
    savings_per_outcome
        The stated saving per outcome.
    savings, savings_pv
        outcomes x savings per outcome; discounted as if realised when paid for.
    net, net_pv
        savings - cost (positive: the payer saves more than it pays).
    cost_per_outcome
        cost / outcomes (``None`` when no outcome was achieved).
    benefit_cost_ratio
        savings_pv / cost_pv (``None`` when nothing was paid).
    """

    cost: Decimal
    cost_pv: Decimal
    outcomes: Decimal
    outcome_unit: str
    savings_per_outcome: Decimal
    savings: Decimal
    savings_pv: Decimal
    net: Decimal
    net_pv: Decimal
    cost_per_outcome: Decimal | None
    benefit_cost_ratio: Decimal | None
    discount_rate: Decimal


@dataclass(frozen=True)
class Appraisal:
    """The investors' return on an impact bond and the payer's value for money.

    Attributes
    ----------
    bond
        The bond appraised.
    invested, returned, net_gain
        Capital drawn; outcome payments, guarantee payments and repayments received;
        returned - invested.
    multiple
        returned / invested (4 decimals, half-even).
    irr
        The annual IRR of the investors' dated flows (:class:`IrrResult`).
    discount_rate, npv
        The investors' stated annual discount rate and the NPV at it (XNPV).
    payer
        The payer's view (:class:`PayerView`) or ``None``.
    notes, provenance
        Remarks kept in the record; version, bond fingerprint, rates.

    Examples
    --------
    The standard reference stream -100, 39, 59, 55, 20 (one year apart, 2001-2005, no
    leap day) has an IRR of 28.09%:

    >>> bond = ImpactBond.build("ref", "GBP", drawdowns=[("2001-01-01", 100)],
    ...     service_costs=[("2001-01-01", 100)], outcome_payments=[
    ...     ("2002-01-01", 39), ("2003-01-01", 59), ("2004-01-01", 55), ("2005-01-01", 20)])
    >>> a = appraise(bond, discount_rate="0.1")
    >>> f"{a.irr.require():.2%}", a.multiple
    ('28.09%', Decimal('1.7300'))
    """

    bond: ImpactBond
    invested: Decimal
    returned: Decimal
    net_gain: Decimal
    multiple: Decimal | None
    irr: IrrResult
    discount_rate: Decimal
    npv: Decimal
    payer: PayerView | None = None
    notes: tuple[str, ...] = ()
    provenance: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_frame(self) -> pl.DataFrame:
        """The investors' flows per date: date, net flow, cumulative, discount factor
        and present value (money as exact text)."""
        origin = self.bond.investor_flows()[0][0]
        rows = []
        cum = _ZERO
        with localcontext() as ctx:
            ctx.prec = 28
            for day, amount in self.bond.investor_flows():
                cum += amount
                factor = (1 + self.discount_rate) ** (Decimal((day - origin).days) / 365)
                rows.append({"date": day, "investor_flow": str(amount), "cumulative": str(cum),
                             "discount_factor": float(1 / factor),
                             "present_value": str(self._round(amount / factor))})
        return pl.DataFrame(rows, schema={"date": pl.Date, "investor_flow": pl.String,
                                          "cumulative": pl.String,
                                          "discount_factor": pl.Float64,
                                          "present_value": pl.String})

    def to_pandas(self) -> Any:
        return self.to_frame().to_pandas()

    def _round(self, x: Decimal) -> Decimal:
        return x.quantize(Decimal(1).scaleb(-self.bond.places), rounding=ROUND_HALF_EVEN)

    def summary(self) -> pl.DataFrame:
        """One row per figure: ``metric``, ``value`` (text, exact) and ``view``."""
        rate = self.irr.rate
        rows: list[tuple[str, str, str]] = [
            ("investor", "capital_committed", str(self.bond.commitment or "")),
            ("investor", "invested", str(self.invested)),
            ("investor", "returned", str(self.returned)),
            ("investor", "net_gain", str(self.net_gain)),
            ("investor", "multiple", "" if self.multiple is None else str(self.multiple)),
            ("investor", "irr", "" if rate is None else f"{rate:.6f}"),
            ("investor", "irr_status", self.irr.status),
            ("investor", "discount_rate", str(self.discount_rate)),
            ("investor", "npv", str(self.npv)),
        ]
        p = self.payer
        if p is not None:
            rows += [("payer", k, "" if v is None else str(v)) for k, v in (
                ("cost", p.cost), ("cost_pv", p.cost_pv), ("outcomes", p.outcomes),
                ("savings_per_outcome", p.savings_per_outcome), ("savings", p.savings),
                ("savings_pv", p.savings_pv), ("net", p.net), ("net_pv", p.net_pv),
                ("cost_per_outcome", p.cost_per_outcome),
                ("benefit_cost_ratio", p.benefit_cost_ratio),
                ("discount_rate", p.discount_rate))]
        return pl.DataFrame({"view": [r[0] for r in rows], "metric": [r[1] for r in rows],
                             "value": [r[2] for r in rows]})

    def explain(self, metric: str = "irr") -> str:
        """How a figure came about: ``irr``, ``npv``, ``multiple`` or ``payer``."""
        cur = self.bond.currency
        flows = self.bond.investor_flows()
        lines = "\n".join(f"  {d}  {a:>18,}" for d, a in flows)
        if metric == "irr":
            return (f"IRR of the investors' flows (actual/365 from {flows[0][0]}, as Excel's "
                    f"XIRR):\n{lines}\n  {self.irr.explain()}"
                    + (f"\n  NPV at the rate: {self.irr.residual:.3E}"
                       if self.irr.residual is not None else ""))
        if metric == "npv":
            return (f"NPV at {self.discount_rate} a year (actual/365, to {flows[0][0]}): "
                    f"sum of flow x (1 + {self.discount_rate})^-(days/365)\n{lines}\n"
                    f"  = {cur} {self.npv:,}")
        if metric == "multiple":
            return (f"money multiple = returned / invested = {self.returned:,} / "
                    f"{self.invested:,} = {self.multiple}")
        if metric == "payer":
            p = self.payer
            if p is None:
                return "no payer view: give outcomes= and savings_per_outcome= to appraise()"
            return (f"outcome payer: paid {cur} {p.cost:,} (present value {p.cost_pv:,} at "
                    f"{p.discount_rate} a year); {p.outcomes} {p.outcome_unit} x "
                    f"{cur} {p.savings_per_outcome:,} stated saving each = {p.savings:,} "
                    f"(present value {p.savings_pv:,}); net saving {p.net:,} "
                    f"(present value {p.net_pv:,}); cost per outcome "
                    f"{p.cost_per_outcome}; benefit-cost ratio {p.benefit_cost_ratio}")
        raise KeyError(f"metric {metric!r}: one of irr, npv, multiple, payer")

    def __str__(self) -> str:
        cur = self.bond.currency
        out = [f"Impact bond appraisal: {self.bond.name} ({cur})",
               f"  invested {self.invested:,}; returned {self.returned:,}; net gain "
               f"{self.net_gain:,}",
               f"  money multiple {self.multiple}",
               f"  {self.irr}",
               f"  NPV at {self.discount_rate} a year: {self.npv:,}"]
        if self.payer is not None:
            p = self.payer
            out.append(f"  payer: cost {p.cost:,}; savings {p.savings:,}; net {p.net:,}; "
                       f"cost per outcome ({p.outcome_unit}) "
                       f"{'n/a' if p.cost_per_outcome is None else p.cost_per_outcome}")
        out += [f"note: {n}" for n in (*self.bond.notes, *self.notes)]
        return "\n".join(out)


def _payer(bond: ImpactBond, outcomes: Any, savings_per_outcome: Any, rate: Decimal,
           unit: str) -> PayerView:
    n = as_money("outcomes", outcomes)
    if n < 0:
        raise SchemaError(f"outcomes: {n} is negative; give the outcomes achieved (e.g. "
                          f"reoffences avoided, 0 when none)")
    s = as_money("savings_per_outcome", savings_per_outcome)
    if s < 0:
        raise SchemaError(f"savings_per_outcome: {s} is negative")
    paid = [(f.date, f.amount) for f in bond.flows if f.kind == "outcome_payment"]
    origin = bond.flows[0].date
    q = Decimal(1).scaleb(-bond.places)
    cost = sum((a for _, a in paid), _ZERO)
    cost_pv = xnpv(rate, paid, as_of=origin, places=bond.places) if paid else _ZERO
    with localcontext() as ctx:
        ctx.prec = 28
        savings = (n * s).quantize(q, rounding=ROUND_HALF_EVEN)
        # savings realised as the outcomes are paid for, in proportion to the payments
        savings_pv = (cost_pv * savings / cost).quantize(q, rounding=ROUND_HALF_EVEN) \
            if cost > 0 else savings
        per = (cost / n).quantize(q, rounding=ROUND_HALF_EVEN) if n > 0 else None
        bcr = (savings_pv / cost_pv).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN) \
            if cost_pv > 0 else None
    return PayerView(cost, cost_pv, n, unit, s, savings, savings_pv, savings - cost,
                     savings_pv - cost_pv, per, bcr, rate)


def appraise(bond: ImpactBond, *, discount_rate: Any = GREEN_BOOK_RATE,
             outcomes: Any = None, savings_per_outcome: Any = None,
             payer_discount_rate: Any = GREEN_BOOK_RATE,
             outcome_unit: str = "reoffences avoided") -> Appraisal:
    """The investors' return and (with ``outcomes`` and ``savings_per_outcome``) the
    outcome payer's value for money.

    Parameters
    ----------
    bond
        The bond's flows.
    discount_rate
        The investors' annual discount rate for the NPV (a fraction).
    outcomes
        Outcomes achieved (e.g. reoffences avoided: the comparator's expected count minus
        the cohort's, from the comparison).
    savings_per_outcome
        The stated saving to the public purse per outcome.
    payer_discount_rate
        The payer's annual discount rate (3.5%, the Green Book's, by default).
    outcome_unit
        What one outcome is, for the reports.

    Examples
    --------
    >>> bond = ImpactBond.build("demo", "GBP", service_costs=[("2020-01-01", 1000)],
    ...     outcome_payments=[("2022-01-01", 1200)])
    >>> a = appraise(bond, outcomes=40, savings_per_outcome=50)
    >>> a.payer.cost_per_outcome, a.payer.net
    (Decimal('30.00'), Decimal('800.00'))
    """
    rate = _rate("discount_rate", discount_rate)
    if (outcomes is None) != (savings_per_outcome is None):
        raise SpecError("outcomes and savings_per_outcome go together: give both for the "
                        "payer's view, or neither")
    flows = bond.investor_flows()
    invested = bond.total("drawdown")
    returned = (bond.total("outcome_payment") + bond.total("guarantee")
                + bond.total("repayment"))
    notes: list[str] = []
    if invested == 0:
        notes.append("no capital drawn: the multiple and the IRR are not defined")
    with localcontext() as ctx:
        ctx.prec = 28
        multiple = (returned / invested).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN
                                                  ) if invested > 0 else None
    nonzero = [(d, a) for d, a in flows if a != 0]
    result = xirr(nonzero) if nonzero else IrrResult("none", (), 0, "actual/365", notes=(
        "no investor flows",))
    npv = xnpv(rate, flows, places=bond.places)
    payer = None
    if outcomes is not None:
        payer = _payer(bond, outcomes, savings_per_outcome,
                       _rate("payer_discount_rate", payer_discount_rate), outcome_unit)
    if result.status != "unique":
        notes.append(f"IRR {result.status}: {result.explain()}")
    prov = {**bond.provenance, "pbr_version": __version__, "discount_rate": str(rate),
            "irr_basis": result.basis, "as_of": str(flows[0][0] if flows else
                                                    _dt.date.min)}
    return Appraisal(bond, invested, returned, returned - invested, multiple, result, rate,
                     npv, payer, tuple(notes), prov)
