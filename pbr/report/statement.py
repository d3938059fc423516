"""Payment statements as files: CSV (lines), JSON (everything) and an Excel workbook.

The workbook is for a finance team: a *Summary* sheet (totals per cohort and component,
earned, paid on account, total due, a provisional status and the notes), a *Lines*
sheet (one row per line with the baseline, actual, difference, interval, units, unit
price and amount, the exact amount as text, and "provisional" on a provisional line), a
*Contract* sheet (the contract's parameters, one per row, and its
TOML text) and a *Manifest* sheet (versions and input hashes).  Every writer is
deterministic: the same statement gives the same bytes (the workbook's creation date is
fixed).
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from pbr.contract.spec import Contract
from pbr.contract.statement import LINE_COLUMNS, PaymentStatement
from pbr.errors import AuditError
from pbr.io._atomic import atomic_files

__all__ = ["contract_parameters", "statement_document", "write_statement_csv",
           "write_statement_json", "write_statement_xlsx"]

_CREATED = _dt.datetime(2000, 1, 1)  # fixed, so the workbook's bytes never depend on the clock
#: the most characters an Excel cell holds ("Excel specifications and limits", Microsoft
#: Support: "Total number of characters that a cell can contain: 32,767 characters")
EXCEL_CELL_LIMIT = 32_767


def _string(ws: Any, row: int, col: int, text: str, fmt: Any = None) -> None:
    """Write a text cell, refusing text Excel would cut (xlsxwriter truncates silently)."""
    if len(text) > EXCEL_CELL_LIMIT:
        from xlsxwriter.utility import xl_rowcol_to_cell

        raise AuditError(
            f"Excel statement: cell {ws.get_name()}!{xl_rowcol_to_cell(row, col)} would hold "
            f"{len(text):,} characters, over Excel's limit of {EXCEL_CELL_LIMIT:,}, and "
            f"Excel would cut it short; the text starts {text[:60]!r}. Shorten it (a "
            "contract name or field, a note) so the workbook keeps it whole; nothing was "
            "written")
    ws.write_string(row, col, text, fmt)


def _text(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, _dt.date):
        return value.isoformat()
    return value


def statement_document(statement: PaymentStatement) -> dict[str, Any]:
    """The statement as a JSON-ready dict; Decimals as exact strings.

    Examples
    --------
    >>> from decimal import Decimal
    >>> from pbr.contract import Line, PaymentStatement
    >>> s = PaymentStatement("c", "1", "GBP",
    ...     (Line("L1", "Q1", "fee", "fee for service", Decimal("10.00")),), Decimal("10.00"))
    >>> statement_document(s)["total"]
    '10.00'
    """
    prov = {k: _text(v) for k, v in sorted(statement.provenance.items())}
    return {
        "contract": statement.contract, "version": statement.version,
        "currency": statement.currency,
        "rounding": {"mode": statement.rounding.mode, "places": statement.rounding.places,
                     "point": statement.rounding.point},
        "earned": str(statement.earned), "paid_on_account": str(statement.paid_on_account),
        "total": str(statement.total),
        "provisional": statement.provisional,
        "totals_by_cohort": {k: str(v) for k, v in statement.totals("cohort").items()},
        "totals_by_component": {k: str(v) for k, v in statement.totals("component").items()},
        "lines": [{**{c: _text(getattr(x, c)) for c in LINE_COLUMNS}, "source": x.source,
                   "counts": dict(x.counts), "explain": statement.explain(x.line)}
                  for x in statement.lines],
        "notes": list(statement.notes),
        "provenance": prov,
    }


def _show(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(_text(value))


def contract_parameters(contract: Contract) -> list[tuple[str, str]]:
    """The contract's parameters as (dotted name, value) rows, in schema order.

    Examples
    --------
    >>> from pbr.contract import Component, Contract
    >>> c = Contract("x", components=(Component("fee", "fee", amount="10.00"),))
    >>> ("component.fee.amount", "10.00") in contract_parameters(c)
    True
    """
    out: list[tuple[str, str]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for i, v in enumerate(value):
                walk(f"{prefix}.{v.get('name', i)}", v)
        else:
            out.append((prefix, _show(value)))

    walk("", contract.to_dict())
    return out


def write_statement_json(statement: PaymentStatement, path: str | Path) -> Path:
    """Write :func:`statement_document` as indented, key-sorted JSON."""
    path = Path(path)
    text = json.dumps(statement_document(statement), indent=2, sort_keys=True) + "\n"
    with atomic_files(path) as (tmp,):
        tmp.write_text(text, encoding="utf-8")
    return path


def write_statement_csv(statement: PaymentStatement, path: str | Path) -> Path:
    """Write the lines as CSV (exact Decimal text, ``\\n`` line ends)."""
    path = Path(path)
    frame = statement.to_frame()
    with atomic_files(path) as (tmp,):
        frame.write_csv(tmp, line_terminator="\n")
    return path


def write_statement_xlsx(statement: PaymentStatement, path: str | Path, *,
                         contract: Contract | None = None,
                         manifest: Mapping[str, Any] | None = None) -> Path:
    """Write the finance workbook: Summary, Lines, Contract and Manifest sheets.

    Amounts are Excel numbers formatted to the contract's places (Excel holds doubles);
    the *Lines* sheet also carries each amount as exact text, and the *Summary* sheet
    ends with the statement's notes.  Text longer than an Excel cell holds
    (:data:`EXCEL_CELL_LIMIT`) raises :class:`~pbr.errors.AuditError` naming the sheet
    and cell instead of being cut short; the file is written whole or not at all.
    """
    import xlsxwriter

    path = Path(path)
    places = statement.rounding.places
    # xlsxwriter writes the file even when an error stops the block: stage it
    with atomic_files(path) as (tmp,), xlsxwriter.Workbook(str(tmp)) as wb:
        wb.set_properties({"created": _CREATED, "title": f"Payment statement: "
                           f"{statement.contract}", "author": "pbr"})
        bold = wb.add_format({"bold": True})
        money = wb.add_format({"num_format": "#,##0" + ("." + "0" * places if places else "")})
        num = wb.add_format({"num_format": "0.000000"})

        ws = wb.add_worksheet("Summary")
        ws.set_column(0, 0, 28)
        ws.set_column(1, 1, 20)
        rows: list[tuple[str, Any]] = [
            ("Contract", statement.contract), ("Version", statement.version),
            ("Currency", statement.currency),
            ("Rounding", f"{statement.rounding.mode}, {places} places, per "
                         f"{statement.rounding.point}"),
            *([("Status", "PROVISIONAL: lines marked provisional rest on follow-up "
                           "windows not closed by the data extract date (estimates, to be "
                           "settled)")] if statement.provisional else []),
            ("", ""), ("Earned", statement.earned),
            ("Paid on account", statement.paid_on_account), ("Total due", statement.total),
            ("", ""), ("By cohort", "")]
        rows += list(statement.totals("cohort").items())
        rows += [("", ""), ("By component", "")]
        rows += list(statement.totals("component").items())
        if statement.notes:
            rows += [("", ""), ("Notes", "")]
            rows += [(f"{i}.", note) for i, note in enumerate(statement.notes, 1)]
        for i, (k, v) in enumerate(rows):
            _string(ws, i, 0, k, bold if k in ("Total due", "By cohort", "By component",
                                          "Notes")
                            else None)
            if isinstance(v, Decimal):
                ws.write_number(i, 1, float(v), money)
            else:
                _string(ws, i, 1, str(v))

        ws = wb.add_worksheet("Lines")
        head = [*LINE_COLUMNS, "amount (exact)", "explanation"]
        for j, h in enumerate(head):
            _string(ws, 0, j, h, bold)
        for i, x in enumerate(statement.lines, 1):
            for j, c in enumerate(LINE_COLUMNS):
                v = getattr(x, c)
                if v is None:
                    continue
                if isinstance(v, bool):
                    if v:
                        _string(ws, i, j, c, bold)  # "provisional", in bold
                elif isinstance(v, Decimal):
                    ws.write_number(i, j, float(v), money if c in ("amount", "unit_price")
                                    else num)
                elif isinstance(v, int):
                    ws.write_number(i, j, v)
                else:
                    _string(ws, i, j, str(v))
            _string(ws, i, len(LINE_COLUMNS), str(x.amount))
            _string(ws, i, len(LINE_COLUMNS) + 1, statement.explain(x.line))

        ws = wb.add_worksheet("Contract")
        ws.set_column(0, 0, 40)
        ws.set_column(1, 1, 60)
        rows_: list[tuple[str, str]] = [("parameter", "value")]
        if contract is not None:
            rows_ += contract_parameters(contract)
            rows_ += [("", ""), ("contract TOML", "")]
            rows_ += [(line, "") for line in contract.to_toml().splitlines()]
        else:
            rows_.append(("(contract not given)", ""))
        for i, (k, v) in enumerate(rows_):
            _string(ws, i, 0, k, bold if i == 0 or k == "contract TOML" else None)
            _string(ws, i, 1, v)

        ws = wb.add_worksheet("Manifest")
        ws.set_column(0, 0, 24)
        ws.set_column(1, 1, 80)
        items = sorted((manifest or {}).items())
        for i, (k, v) in enumerate(items):
            _string(ws, i, 0, str(k), bold)
            _string(ws, i, 1, v if isinstance(v, str) else json.dumps(v, sort_keys=True))
    return path
