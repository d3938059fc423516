"""An impact bond's cash flows: capital drawn, services paid for, fees, outcome payments.

In a social impact bond the investors put up the working capital: it is drawn down as
the service is delivered, pays the provider's costs and the intermediary's fees, and
the outcome payer's payments go back to the investors ([Disley-2011]; [MDRC-Rikers-2013]).
An :class:`ImpactBond` holds those flows as exact, dated Decimal amounts, each with its
kind (:data:`FLOW_KINDS`):

* ``drawdown``: capital drawn from the investors (they pay it);
* ``service_cost`` and ``fee``: the project's spending, paid out of drawn capital;
* ``outcome_payment``: what the outcome payer pays (received by the investors);
* ``guarantee``: what a guarantor pays the investors (first-loss cover, e.g. Bloomberg
  Philanthropies' guarantee of the Rikers loan, [MDRC-Rikers-2013]);
* ``repayment``: drawn capital returned unspent.

Rules checked on construction (a failure raises :class:`~pbr.errors.SchemaError` or
:class:`~pbr.errors.SpecError` naming the flow, the value and the fix): amounts are
non-negative and carry at most ``places`` decimals; by every date the capital drawn
covers the spending to that date; drawdowns stay within the ``commitment``; repayments
never exceed what was drawn and not spent.  Without drawdowns, capital is drawn as it is
spent (one drawdown per spending date, recorded in ``notes``); drawn capital left unspent
after the last spending is returned on the bond's last date (``return_unspent``).

The investors' flows are ``-drawdown + outcome_payment + guarantee + repayment`` per date;
the outcome payer's cost is the sum of the outcome payments.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import polars as pl

from pbr._version import __version__
from pbr.contract.statement import PaymentStatement
from pbr.errors import SchemaError, SpecError
from pbr.finance.rates import as_money

__all__ = ["FLOW_KINDS", "Flow", "ImpactBond", "flows_from_frame", "flows_from_statements"]

#: the kinds of flow, in the order flows on one date are listed
FLOW_KINDS: dict[str, str] = {
    "drawdown": "capital drawn from the investors",
    "service_cost": "the provider's service costs, paid from drawn capital",
    "fee": "fees (intermediary, management, evaluation), paid from drawn capital",
    "outcome_payment": "paid by the outcome payer, received by the investors",
    "guarantee": "paid to the investors by a guarantor (first-loss cover), not the payer",
    "repayment": "drawn capital returned unspent to the investors",
}
_ZERO = Decimal(0)


def _date(name: str, value: Any) -> _dt.date:
    if isinstance(value, _dt.datetime):
        raise SchemaError(f"{name}: a date without a time of day, got {value!r}")
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str):
        try:
            return _dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise SchemaError(f"{name}: expected a date (datetime.date or 'YYYY-MM-DD'), got {value!r}")


@dataclass(frozen=True)
class Flow:
    """One dated amount of an impact bond.

    Parameters
    ----------
    date
        When the money moves.
    kind
        One of :data:`FLOW_KINDS`.
    amount
        A non-negative amount (the kind gives the direction).
    label
        What it is ("year 1 service", "cohort 1 outcome payment").
    source
        Where the figure comes from (a statement, a published source, "illustrative").

    Examples
    --------
    >>> Flow("2011-01-01", "drawdown", "1000000").amount
    Decimal('1000000')
    """

    date: _dt.date
    kind: str
    amount: Decimal
    label: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        what = f"flow {self.label or self.kind} ({self.date})"
        object.__setattr__(self, "date", _date(f"{what}: date", self.date))
        if self.kind not in FLOW_KINDS:
            raise SchemaError(f"{what}: kind {self.kind!r} is not one of "
                              f"{', '.join(FLOW_KINDS)}")
        amount = as_money(f"{what}: amount", self.amount)
        if amount < 0:
            raise SchemaError(f"{what}: amount {amount} is negative; amounts are positive "
                              f"and the kind gives the direction (a refund of capital is a "
                              f"'repayment')")
        object.__setattr__(self, "amount", amount)

    @property
    def investor_amount(self) -> Decimal:
        """The flow as the investors see it (negative when they pay)."""
        if self.kind == "drawdown":
            return -self.amount
        if self.kind in ("outcome_payment", "guarantee", "repayment"):
            return self.amount
        return _ZERO


def _flows(kind: str, items: Iterable[Any]) -> list[Flow]:
    out: list[Flow] = []
    for i, item in enumerate(items):
        if isinstance(item, Flow):
            if item.kind != kind:
                raise SchemaError(f"{kind}s[{i}]: a {item.kind!r} flow given as a {kind}")
            out.append(item)
            continue
        if not isinstance(item, tuple | list) or len(item) not in (2, 3, 4):
            raise SchemaError(f"{kind}s[{i}]: expected (date, amount[, label[, source]]) or "
                              f"a Flow, got {item!r}")
        out.append(Flow(item[0], kind, item[1], *(str(x) for x in item[2:])))
    return out


def flows_from_statements(statements: Mapping[Any, PaymentStatement] | Iterable[
        tuple[Any, PaymentStatement]]) -> list[Flow]:
    """One outcome payment per statement, on the date it is paid.

    Parameters
    ----------
    statements
        ``{date: PaymentStatement}`` or ``(date, statement)`` pairs: each statement's
        total (what is due after payments on account) is paid on its date.  For when each
        cohort's payment falls due under the contract's timing use
        :func:`pbr.simulate.cashflow.payments_by_date` and :func:`flows_from_frame`.

    Examples
    --------
    >>> from pbr.contract import Line
    >>> s = PaymentStatement("x", "1", "GBP", (Line("L1", "Q1", "o", "linear",
    ...                      Decimal("500.00")),), Decimal("500.00"))
    >>> flows_from_statements({"2021-12-31": s})[0].amount
    Decimal('500.00')
    """
    pairs = list(statements.items()) if isinstance(statements, Mapping) else list(statements)
    out = []
    for i, pair in enumerate(pairs):
        day, s = pair
        if not isinstance(s, PaymentStatement):
            raise SchemaError(f"statements[{i}]: expected a PaymentStatement, got "
                              f"{type(s).__name__}")
        if s.total < 0:
            raise SchemaError(f"statements[{i}] ({s.contract} v{s.version}): total {s.total} "
                              f"is negative (more paid on account than earned); record the "
                              f"refund as a negative adjustment outside the bond")
        prov = " PROVISIONAL" if s.provisional else ""
        out.append(Flow(day, "outcome_payment", s.total, f"{s.contract} statement{prov}",
                        f"statement {s.contract} version {s.version}, {len(s.lines)} lines"))
    return out


def flows_from_frame(frame: pl.DataFrame, kind: str = "outcome_payment", *,
                     places: int = 2) -> list[Flow]:
    """Flows from a frame with a date (``date`` or ``due_date``) and an ``amount``.

    Amounts may be Decimal, text or float (floats, e.g. a simulation's pounds, are rounded
    half-even to ``places``); a ``label`` or ``flow`` column and ``cohort`` label them.

    Examples
    --------
    >>> import datetime
    >>> f = pl.DataFrame({"due_date": [datetime.date(2021, 12, 31)], "amount": [500.0]})
    >>> flows_from_frame(f)[0].amount
    Decimal('500.00')
    """
    if not isinstance(frame, pl.DataFrame):
        raise SchemaError(f"frame: a polars DataFrame, got {type(frame).__name__}")
    day = "date" if "date" in frame.columns else "due_date"
    for col in (day, "amount"):
        if col not in frame.columns:
            raise SchemaError(f"frame: no column {col!r} (need 'date' or 'due_date', and "
                              f"'amount'); columns are {', '.join(frame.columns)}")
    quantum = Decimal(1).scaleb(-places)
    out = []
    for i, row in enumerate(frame.iter_rows(named=True)):
        value = row["amount"]
        if value is None:
            raise SchemaError(f"frame row {i}: amount is missing")
        amount = as_money(f"frame row {i}: amount", value)
        if isinstance(value, float):
            amount = amount.quantize(quantum)
        label = " ".join(str(row[c]) for c in ("cohort", "flow", "label")
                         if c in frame.columns and row[c] is not None)
        if amount < 0:
            raise SchemaError(f"frame row {i}: amount {amount} is negative ({label}); a "
                              f"bond's flows are positive amounts of a kind")
        out.append(Flow(row[day], kind, amount, label, "frame"))
    return out


@dataclass(frozen=True)
class ImpactBond:
    """The cash flows of one impact bond, validated (see the module docstring).

    Build one with :meth:`build`.

    Attributes
    ----------
    name, currency
        The project and its ISO 4217 currency code.
    flows
        The flows in date order (kinds in :data:`FLOW_KINDS` order on one date).
    commitment
        Capital the investors committed (``None``: not stated).
    places
        Decimal places of the currency's amounts.
    notes
        What was derived (drawdowns as spent, unspent capital returned).

    Examples
    --------
    >>> bond = ImpactBond.build("demo", "GBP", commitment=100,
    ...     service_costs=[("2020-01-01", 60), ("2021-01-01", 40)],
    ...     outcome_payments=[("2023-01-01", 130)])
    >>> [str(f.amount) for f in bond.flows if f.kind == "drawdown"]
    ['60', '40']
    >>> bond.total("outcome_payment")
    Decimal('130')
    """

    name: str
    currency: str
    flows: tuple[Flow, ...]
    commitment: Decimal | None = None
    places: int = 2
    notes: tuple[str, ...] = ()
    provenance: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise SchemaError(f"name: a non-empty project name, got {self.name!r}")
        if not (isinstance(self.currency, str) and len(self.currency) == 3
                and self.currency.isalpha() and self.currency.isupper()):
            raise SchemaError(f"currency: an ISO 4217 code such as 'GBP' or 'USD', got "
                              f"{self.currency!r}")
        if not isinstance(self.places, int) or isinstance(self.places, bool) or not (
                0 <= self.places <= 6):
            raise SpecError(f"places: an integer from 0 to 6, got {self.places!r}")
        if not self.flows:
            raise SchemaError(f"bond {self.name!r}: no flows")
        order = list(FLOW_KINDS)
        flows = tuple(sorted(self.flows, key=lambda f: (f.date, order.index(f.kind))))
        object.__setattr__(self, "flows", flows)
        quantum = Decimal(1).scaleb(-self.places)
        for f in flows:
            if f.amount != f.amount.quantize(quantum):
                raise SchemaError(f"flow {f.label or f.kind} ({f.date}): amount {f.amount} "
                                  f"has more than {self.places} decimal places; round it "
                                  f"(or give places=)")
        if self.commitment is not None:
            c = as_money("commitment", self.commitment)
            if c <= 0:
                raise SchemaError(f"commitment: a positive amount, got {c}")
            object.__setattr__(self, "commitment", c)
            drawn = self.total("drawdown")
            if drawn > c:
                raise SpecError(f"bond {self.name!r}: drawdowns total {drawn}, more than the "
                                f"capital committed ({c}); raise the commitment or draw less")
        self._check_funding()
        if not self.provenance:
            object.__setattr__(self, "provenance", {
                "pbr_version": __version__, "bond": self.name, "flows_sha256":
                hashlib.sha256(self.flows_text().encode()).hexdigest()})

    def _check_funding(self) -> None:
        drawn = spent = repaid = _ZERO
        for f in self.flows:
            if f.kind == "drawdown":
                drawn += f.amount
            elif f.kind in ("service_cost", "fee"):
                spent += f.amount
                if spent > drawn:
                    raise SchemaError(
                        f"bond {self.name!r}: by {f.date} the spending ({spent}) exceeds the "
                        f"capital drawn ({drawn}) at flow {f.label or f.kind}; add a "
                        f"drawdown on or before {f.date}, or give no drawdowns to draw "
                        f"capital as it is spent")
            elif f.kind == "repayment":
                repaid += f.amount
                if repaid > drawn - spent:
                    raise SchemaError(
                        f"bond {self.name!r}: repayment on {f.date} ({f.amount}) returns "
                        f"more than the capital drawn and not spent "
                        f"({drawn - spent - repaid + f.amount})")

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, name: str, currency: str, *, commitment: Any = None,
              drawdowns: Iterable[Any] = (), service_costs: Iterable[Any] = (),
              fees: Iterable[Any] = (), outcome_payments: Iterable[Any] | pl.DataFrame
              | Mapping[Any, PaymentStatement] = (), guarantees: Iterable[Any] = (),
              repayments: Iterable[Any] = (),
              places: int = 2, return_unspent: bool = True) -> ImpactBond:
        """A bond from its flows: ``(date, amount[, label[, source]])`` tuples or
        :class:`Flow` s per kind; ``outcome_payments`` may also be a frame
        (:func:`flows_from_frame`) or ``{date: PaymentStatement}``
        (:func:`flows_from_statements`).

        Without ``drawdowns`` capital is drawn as it is spent; with ``return_unspent``
        drawn capital left after the spending is repaid on the bond's last date.
        """
        notes: list[str] = []
        if isinstance(outcome_payments, pl.DataFrame):
            paid = flows_from_frame(outcome_payments, places=places)
        elif isinstance(outcome_payments, Mapping):
            paid = flows_from_statements(outcome_payments)
        else:
            paid = _flows("outcome_payment", outcome_payments)
        spend = _flows("service_cost", service_costs) + _flows("fee", fees)
        draws = _flows("drawdown", drawdowns)
        if not draws and spend:
            by_day: dict[_dt.date, Decimal] = {}
            for f in spend:
                by_day[f.date] = by_day.get(f.date, _ZERO) + f.amount
            draws = [Flow(d, "drawdown", a, "drawn as spent", "derived")
                     for d, a in sorted(by_day.items())]
            notes.append("no drawdowns given: capital drawn on each spending date, equal "
                         "to the spending")
        repay = _flows("repayment", repayments)
        flows = [*draws, *spend, *paid, *_flows("guarantee", guarantees), *repay]
        if not flows:
            raise SchemaError(f"bond {name!r}: no flows given")
        unspent = (sum((f.amount for f in draws), _ZERO) - sum((f.amount for f in spend),
                   _ZERO) - sum((f.amount for f in repay), _ZERO))
        if return_unspent and unspent > 0:
            last = max(f.date for f in flows)
            flows.append(Flow(last, "repayment", unspent, "unspent capital returned",
                              "derived"))
            notes.append(f"capital drawn but not spent ({unspent}) returned to the investors "
                         f"on {last}")
        return cls(name, currency, tuple(flows), None if commitment is None else
                   as_money("commitment", commitment), places, tuple(notes))

    @classmethod
    def from_frame(cls, frame: pl.DataFrame, name: str, currency: str, *,
                   commitment: Any = None, places: int = 2,
                   return_unspent: bool = True) -> ImpactBond:
        """A bond from a table of flows: ``date``, ``kind`` (:data:`FLOW_KINDS`),
        ``amount`` and optional ``label`` and ``source`` (amounts best read as text, so
        that they stay exact).  A bad row raises naming its row number (1 = the first
        data row), the column and the value.

        Examples
        --------
        >>> f = pl.DataFrame({"date": ["2020-01-01", "2022-01-01"],
        ...                   "kind": ["service_cost", "outcome_payment"],
        ...                   "amount": ["100.00", "121.00"]})
        >>> ImpactBond.from_frame(f, "demo", "GBP").total("drawdown")
        Decimal('100.00')
        """
        if not isinstance(frame, pl.DataFrame):
            raise SchemaError(f"flows: a polars DataFrame, got {type(frame).__name__}")
        lack = [c for c in ("date", "kind", "amount") if c not in frame.columns]
        if lack:
            raise SchemaError(f"flows: no column(s) {', '.join(lack)}; a flows table has "
                              f"date, kind, amount (and optionally label, source); columns "
                              f"are {', '.join(frame.columns)}")
        by_kind: dict[str, list[Flow]] = {k: [] for k in FLOW_KINDS}
        for i, row in enumerate(frame.iter_rows(named=True), start=1):
            for col in ("date", "kind", "amount"):
                if row[col] is None or (isinstance(row[col], str) and not row[col].strip()):
                    raise SchemaError(f"flows row {i}: {col} is empty")
            value = row["amount"]
            try:
                amount = as_money("amount", value.strip() if isinstance(value, str)
                                  else value)
                flow = Flow(row["date"], str(row["kind"]).strip(), amount,
                            str(row.get("label") or ""), str(row.get("source") or ""))
            except SchemaError as exc:
                raise SchemaError(f"flows row {i}: {exc}") from None
            by_kind[flow.kind].append(flow)
        return cls.build(name, currency, commitment=commitment,
                         drawdowns=by_kind["drawdown"], service_costs=by_kind["service_cost"],
                         fees=by_kind["fee"], outcome_payments=by_kind["outcome_payment"],
                         guarantees=by_kind["guarantee"], repayments=by_kind["repayment"],
                         places=places, return_unspent=return_unspent)

    def with_outcome_payments(self, flows: Iterable[Flow]) -> ImpactBond:
        """The same bond with these outcome payments instead of its own."""
        kept = tuple(f for f in self.flows if f.kind != "outcome_payment")
        return replace(self, flows=kept + tuple(flows), provenance={})

    # ------------------------------------------------------------------ views
    def total(self, kind: str) -> Decimal:
        """The sum of the flows of one kind."""
        if kind not in FLOW_KINDS:
            raise SchemaError(f"kind {kind!r} is not one of {', '.join(FLOW_KINDS)}")
        return sum((f.amount for f in self.flows if f.kind == kind), _ZERO)

    def investor_flows(self) -> list[tuple[_dt.date, Decimal]]:
        """The investors' net flow per date (negative: they pay), dates ascending;
        dates where it nets to zero are kept (they carry no weight in any rate)."""
        out: dict[_dt.date, Decimal] = {}
        for f in self.flows:
            if f.kind in ("drawdown", "outcome_payment", "guarantee", "repayment"):
                out[f.date] = out.get(f.date, _ZERO) + f.investor_amount
        return sorted(out.items())

    def flows_text(self) -> str:
        """The flows as canonical text (what the fingerprint hashes)."""
        return "\n".join(f"{f.date}|{f.kind}|{f.amount}|{f.label}|{f.source}"
                         for f in self.flows)

    def to_frame(self) -> pl.DataFrame:
        """One row per flow: date, kind, amount (text, exact), investor_amount, label,
        source."""
        return pl.DataFrame({
            "date": [f.date for f in self.flows], "kind": [f.kind for f in self.flows],
            "amount": [str(f.amount) for f in self.flows],
            "investor_amount": [str(f.investor_amount) for f in self.flows],
            "label": [f.label for f in self.flows], "source": [f.source for f in self.flows],
        }, schema={"date": pl.Date, "kind": pl.String, "amount": pl.String,
                   "investor_amount": pl.String, "label": pl.String, "source": pl.String})

    def __str__(self) -> str:
        head = f"{'date':<10}  {'kind':<16} {'amount':>18}  label"
        out = [f"Impact bond: {self.name} ({self.currency})"
               + (f", capital committed {self.commitment:,}" if self.commitment else ""),
               head, "-" * len(head)]
        out += [f"{f.date!s:<10}  {f.kind:<16} {f.amount:>18,}  {f.label}" for f in self.flows]
        out += [f"note: {n}" for n in self.notes]
        return "\n".join(out)
