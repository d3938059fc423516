"""What was already paid: the prior payments a statement must take into account.

Caps, floors and payments on account are limits over a contract year or the whole
contract, but statements are often run one quarter at a time.  A
:class:`PaymentLedger` holds the lines of the earlier statements (or of the payer's own
payments file); :func:`pbr.contract.pay.pay` and :func:`pbr.contract.run.run_contract`
take it as ``prior=`` so that every cap and floor holds over all the runs together and
no payment on account is deducted twice.  The ledger file format (CSV, one row a line):
docs/methodology/payments.md, "Prior payments".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl

from pbr._frames import to_polars
from pbr.contract.outcome import as_decimal
from pbr.contract.statement import PaymentStatement
from pbr.errors import ContractError

__all__ = ["LEDGER_COLUMNS", "LEDGER_KINDS", "LedgerEntry", "PaymentLedger"]

#: the columns of a ledger file, in order (``provisional`` optional, default false)
LEDGER_COLUMNS = ("cohort", "year", "component", "amount", "kind")
#: the kinds of line a ledger holds (the statement's own line kinds)
LEDGER_KINDS = ("component", "limit", "on_account", "rounding")


@dataclass(frozen=True)
class LedgerEntry:
    """One amount already paid (or deducted): a statement line.

    ``cohort`` is the cohort label, or the scope of a limit line (``"year 2019"``,
    ``"(all)"``); ``component`` the component name, ``"limit year_cap"`` etc.,
    ``"on account"`` or ``"rounding"``; ``kind`` one of :data:`LEDGER_KINDS`.
    """

    cohort: str
    year: str | None
    component: str
    amount: Decimal
    kind: str
    provisional: bool = False


@dataclass(frozen=True)
class PaymentLedger:
    """Payments already made under a contract, line by line.

    Build one with :meth:`from_statements` (earlier :class:`PaymentStatement`\\ s) or
    :func:`pbr.io.read_ledger` / :meth:`from_frame` (columns ``cohort, year, component, amount,
    kind``), and pass it as ``prior=`` to :func:`~pbr.contract.pay.pay`.  ``contract`` and
    ``currency`` are the statements' (None for a ledger file); a ledger of another
    contract or currency is refused.

    Examples
    --------
    >>> import polars as pl
    >>> ledger = PaymentLedger.from_frame(pl.DataFrame({
    ...     "cohort": ["2019Q1", "2019Q1"], "year": ["2019", "2019"],
    ...     "component": ["binary", "on account"], "amount": ["30000.00", "-10000.00"],
    ...     "kind": ["component", "on_account"]}))
    >>> ledger.total
    Decimal('20000.00')
    >>> ledger.cohorts
    ('2019Q1',)
    """

    entries: tuple[LedgerEntry, ...] = ()
    contract: str | None = None
    currency: str | None = None

    def __post_init__(self) -> None:
        for i, e in enumerate(self.entries, 1):
            if not isinstance(e, LedgerEntry):
                raise ContractError(f"prior: entry {i} is {type(e).__name__}, not a "
                                    "LedgerEntry")
            if e.kind not in LEDGER_KINDS:
                raise ContractError(f"prior: entry {i} (cohort {e.cohort!r}) has kind "
                                    f"{e.kind!r}; use one of {', '.join(LEDGER_KINDS)}")

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_statements(cls, *statements: PaymentStatement | Iterable[PaymentStatement]
                        ) -> PaymentLedger:
        """Every line of earlier statements (given one by one or as a list)."""
        flat: list[PaymentStatement] = []
        for s in statements:
            if isinstance(s, PaymentStatement):
                flat.append(s)
            elif isinstance(s, Iterable) and not isinstance(s, str | bytes):
                flat.extend(s)
            else:
                raise ContractError(f"prior: expected PaymentStatement(s), got {s!r}")
        entries = []
        for s in flat:
            if not isinstance(s, PaymentStatement):
                raise ContractError(f"prior: expected PaymentStatement(s), got {s!r}")
            entries += [LedgerEntry(x.cohort, x.year, x.component, x.amount, x.kind,
                                    x.provisional) for x in s.lines]
        names = sorted({(s.contract, s.currency) for s in flat})
        if len(names) > 1:
            raise ContractError(f"prior: the statements are of different contracts or "
                                f"currencies {names}; give the statements of one contract")
        return cls(tuple(entries), *(names[0] if names else (None, None)))

    @classmethod
    def from_frame(cls, frame: Any, *, source: str = "prior") -> PaymentLedger:
        """A ledger from a polars or pandas frame with :data:`LEDGER_COLUMNS` (and
        optionally ``provisional``); other columns (a ``statement.csv``'s ``line``,
        ``rule``, ...) are not read."""
        df = to_polars(frame)
        missing = [c for c in LEDGER_COLUMNS if c not in df.columns]
        if missing:
            raise ContractError(f"{source}: the ledger lacks column(s) {missing}; a ledger "
                                f"has the columns {', '.join(LEDGER_COLUMNS)} (and optionally "
                                "provisional), one row per statement line")
        entries = []
        for i, row in enumerate(df.iter_rows(named=True), 1):
            where = f"{source} row {i}"
            for col in ("cohort", "component", "amount", "kind"):
                if row[col] is None or str(row[col]).strip() == "":
                    raise ContractError(f"{where}: column {col!r} is empty; every ledger row "
                                        "needs cohort, component, amount and kind")
            amount = row["amount"]
            if isinstance(amount, float):
                raise ContractError(f"{where}.amount: {amount!r} was read as a float; read "
                                    "the ledger with amounts as text (pbr.io.read_ledger "
                                    "does) so that money stays exact")
            flag = row.get("provisional")
            prov = str(flag).strip().lower() if flag is not None else "false"
            if prov not in ("true", "false", "1", "0", ""):
                raise ContractError(f"{where}.provisional: expected true or false, got "
                                    f"{flag!r}")
            year = row["year"]
            entries.append(LedgerEntry(
                str(row["cohort"]), None if year is None or str(year) == "" else str(year),
                str(row["component"]), as_decimal(f"{where}.amount", amount),
                str(row["kind"]), prov in ("true", "1")))
        return cls(tuple(entries))

    # ------------------------------------------------------------------ views
    @property
    def total(self) -> Decimal:
        """The sum of every entry."""
        return sum((e.amount for e in self.entries), Decimal(0))

    @property
    def cohorts(self) -> tuple[str, ...]:
        """Cohorts with component lines (paid), in order of first appearance."""
        return tuple(dict.fromkeys(e.cohort for e in self.entries if e.kind == "component"))

    def to_frame(self) -> pl.DataFrame:
        """The ledger in its file layout (amounts as exact text)."""
        return pl.DataFrame({
            "cohort": [e.cohort for e in self.entries],
            "year": [e.year for e in self.entries],
            "component": [e.component for e in self.entries],
            "amount": [str(e.amount) for e in self.entries],
            "kind": [e.kind for e in self.entries],
            "provisional": [e.provisional for e in self.entries]},
            schema={"cohort": pl.String, "year": pl.String, "component": pl.String,
                    "amount": pl.String, "kind": pl.String, "provisional": pl.Boolean})

    def __add__(self, other: PaymentLedger) -> PaymentLedger:
        for name in ("contract", "currency"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine is not None and theirs is not None and mine != theirs:
                raise ContractError(f"prior: ledgers of different {name}s ({mine!r} and "
                                    f"{theirs!r}) cannot be combined")
        return PaymentLedger(self.entries + other.entries, self.contract or other.contract,
                             self.currency or other.currency)
