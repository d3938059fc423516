"""The payment statement: lines that reconcile to the totals exactly.

A :class:`PaymentStatement` is frozen.  On construction it checks that the total equals
the sum of its lines, that earned + paid on account = total, and (with rounding per
line) that every amount is already rounded; a failure raises
:class:`~pbr.errors.ReconciliationError`.  ``explain(line)`` traces a line from the
offender counts to the money, ``to_frame()`` gives one row per line, and ``str()`` is
deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import polars as pl

from pbr.contract.spec import Rounding
from pbr.errors import ReconciliationError

__all__ = ["LINE_COLUMNS", "Line", "PaymentStatement"]

ZERO = Decimal(0)
LINE_COLUMNS = ("line", "kind", "cohort", "year", "measure", "component", "rule", "baseline",
                "actual", "difference", "lower", "upper", "n", "units", "unit", "unit_price",
                "amount", "provisional", "participant", "evidence")


@dataclass(frozen=True)
class Line:
    """One statement line: a cohort, a measure and a component, and its money.

    ``kind`` is ``"component"``, ``"limit"`` (a cap or floor adjustment),
    ``"on_account"`` (a payment already made, deducted) or ``"rounding"``.
    ``provisional`` is True when the line rests on follow-up windows that had not closed
    by the data extract date (a contract with ``provisional = true``): an estimate, to be
    replaced by the final statement, not a settled amount.  A rate-card line (one outcome
    claim) has the outcome type as ``measure``, the ``participant`` and the ``evidence``
    (type, reference, verified or not).
    """

    line: str
    cohort: str
    component: str
    rule: str
    amount: Decimal
    kind: str = "component"
    measure: str | None = None
    year: str | None = None
    baseline: Decimal | None = None
    actual: Decimal | None = None
    difference: Decimal | None = None
    lower: Decimal | None = None
    upper: Decimal | None = None
    n: int | None = None
    units: Decimal | None = None
    unit: str = ""
    unit_price: Decimal | None = None
    counts: tuple[tuple[str, str], ...] = ()
    source: str = ""
    steps: tuple[str, ...] = ()
    provisional: bool = False
    participant: str | None = None
    evidence: str = ""

    def row(self) -> dict[str, Any]:
        return {c: getattr(self, c) for c in LINE_COLUMNS}


@dataclass(frozen=True)
class PaymentStatement:
    """What a contract pays, line by line, with totals that reconcile exactly.

    Attributes
    ----------
    contract, version, currency
        The contract's name, version and currency.
    lines
        The lines, in order (components per cohort, then limits, payments on account
        and the rounding line).
    total
        The balance due: the sum of every line.
    rounding
        The rounding rule applied.
    notes
        Remarks kept in the record (e.g. components switched off by a variation).
    provenance
        Version, contract hash, measure spec and input fingerprints, when known.

    Examples
    --------
    >>> from decimal import Decimal
    >>> s = PaymentStatement("demo", "1", "GBP",
    ...     (Line("L1", "Q1", "fee", "fee for service", Decimal("10.00")),), Decimal("10.00"))
    >>> s.total
    Decimal('10.00')
    >>> PaymentStatement("demo", "1", "GBP", s.lines, Decimal("10.01"))
    Traceback (most recent call last):
    ...
    pbr.errors.ReconciliationError: total 10.01 differs from the sum of the lines 10.00 by 0.01
    """

    contract: str
    version: str
    currency: str
    lines: tuple[Line, ...]
    total: Decimal
    rounding: Rounding = field(default_factory=Rounding)
    notes: tuple[str, ...] = ()
    provenance: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        summed = sum((x.amount for x in self.lines), ZERO)
        if summed != self.total:
            raise ReconciliationError(f"total {self.total} differs from the sum of the lines "
                                      f"{summed} by {self.total - summed}")
        ids = [x.line for x in self.lines]
        if len(set(ids)) != len(ids):
            raise ReconciliationError("line identifiers must be unique")
        if self.total != self.rounding.round(self.total):
            raise ReconciliationError(f"total {self.total} is not rounded to "
                                      f"{self.rounding.places} places")
        if self.rounding.point == "line":
            for x in self.lines:
                if x.amount != self.rounding.round(x.amount):
                    raise ReconciliationError(f"line {x.line}: amount {x.amount} is not "
                                              f"rounded to {self.rounding.places} places")
        if self.earned + self.paid_on_account != self.total:  # pragma: no cover (sums)
            raise ReconciliationError("earned + paid on account differs from the total")

    # ------------------------------------------------------------------ totals
    @property
    def provisional(self) -> bool:
        """Whether any line is provisional (windows not closed by the extract date)."""
        return any(x.provisional for x in self.lines)

    @property
    def earned(self) -> Decimal:
        """Everything but payments on account."""
        return sum((x.amount for x in self.lines if x.kind != "on_account"),
                   self.rounding.round(ZERO))

    @property
    def paid_on_account(self) -> Decimal:
        """Payments already made on account (negative: deducted from what is due)."""
        return sum((x.amount for x in self.lines if x.kind == "on_account"),
                   self.rounding.round(ZERO))

    def totals(self, by: str = "cohort") -> dict[str, Decimal]:
        """Sum of the lines per ``cohort``, ``component``, ``year`` or ``kind``."""
        out: dict[str, Decimal] = {}
        for x in self.lines:
            key = str(getattr(x, by))
            out[key] = out.get(key, ZERO) + x.amount
        return out

    def line(self, key: str) -> Line:
        """The line with identifier ``key`` (``"L3"``)."""
        for x in self.lines:
            if x.line == key:
                return x
        raise KeyError(f"no line {key!r}; lines are {', '.join(x.line for x in self.lines)}")

    # ------------------------------------------------------------------ views
    def to_frame(self) -> pl.DataFrame:
        """One row per line; money and values as text holding the exact Decimal."""
        rows = [x.row() for x in self.lines]
        schema: dict[str, Any] = dict.fromkeys(LINE_COLUMNS, pl.String)
        schema["n"] = pl.Int64
        schema["provisional"] = pl.Boolean
        data = {c: [None if r[c] is None else (r[c] if c in ("n", "provisional") else str(r[c]))
                    for r in rows] for c in LINE_COLUMNS}
        return pl.DataFrame(data, schema=schema)

    def to_html(self, path: Any = None, **options: Any) -> Any:
        """The self-contained HTML report of this statement (:func:`pbr.report.html_report`,
        whose ``options`` it takes), written to ``path`` when given; returns the
        :class:`~pbr.report.HtmlReport`."""
        from pbr import _render  # the report layer lends its renderer (layer 0 registry)

        return _render.render("html", self, path=path, **options)

    def to_pandas(self) -> Any:
        """The lines as a pandas DataFrame."""
        return self.to_frame().to_pandas()

    def summary(self, by: str = "cohort") -> pl.DataFrame:
        """Totals per ``cohort``/``component``/``year``/``kind`` as a frame (amount as text)."""
        totals = self.totals(by)
        return pl.DataFrame({by: list(totals), "amount": [str(v) for v in totals.values()]})

    def explain(self, key: str) -> str:
        """How line ``key`` came to its amount, from offender counts to money."""
        x = self.line(key)
        cur = self.currency
        out = [f"Line {x.line}: cohort {x.cohort}, component {x.component!r} ({x.rule})"]
        if x.participant is not None:
            out.append(f"  participant {x.participant}, outcome {x.measure}; evidence "
                       f"{x.evidence}")
        elif x.measure is not None:
            out.append(f"  measure {x.measure}" + (f"; comparator: {x.source}" if x.source
                                                   else ""))
        if x.counts:
            out.append("  counts: " + "; ".join(f"{k} {v}" for k, v in x.counts))
        if x.actual is not None:
            out.append(f"  actual {x.actual} vs comparator {x.baseline}: difference "
                       f"{x.difference}" + (f"; interval [{x.lower}, {x.upper}]"
                                            if x.lower is not None else ""))
        out += [f"  {s}" for s in x.steps]
        out.append(f"  amount {cur} {x.amount}" + (" PROVISIONAL (follow-up windows not "
                                                    "closed by the data extract date)"
                                                    if x.provisional else ""))
        return "\n".join(out)

    def __str__(self) -> str:
        cur = self.currency
        out = [f"Payment statement: {self.contract} (version {self.version}), {cur}",
               f"rounding {self.rounding.mode} to {self.rounding.places} places per "
               f"{self.rounding.point}"]
        head = f"{'line':<5} {'cohort':<20} {'component':<16} {'rule':<46} {'amount':>16}"
        out += [head, "-" * len(head)]
        if self.provisional:
            out.insert(1, "PROVISIONAL: lines marked P rest on follow-up windows that had not "
                          "closed; not a final settlement")
        for x in self.lines:
            out.append(f"{x.line:<5} {x.cohort[:20]:<20} {x.component[:16]:<16} "
                       f"{x.rule[:46]:<46} {x.amount:>16,}" + (" P" if x.provisional else ""))
        out.append("-" * len(head))
        out.append(f"{'earned':<89} {self.earned:>16,}")
        out.append(f"{'paid on account':<89} {self.paid_on_account:>16,}")
        out.append(f"{'total due':<89} {self.total:>16,}")
        out += [f"note: {n}" for n in self.notes]
        return "\n".join(out)
