"""Reports (layer 3): results as files and text for people.

===========================  ======================================================
function                     does
===========================  ======================================================
``write_statement_csv``      :class:`~pbr.contract.PaymentStatement` lines -> CSV
``write_statement_json``     the whole statement (lines, totals, explanations) -> JSON
``write_statement_xlsx``     the finance workbook: Summary, Lines, Contract, Manifest
``statement_document``       the statement as a JSON-ready dict
``contract_parameters``      a contract's parameters as (dotted name, value) rows
``html_report``              the self-contained HTML report -> :class:`HtmlReport`
``write_html_report``        the same, written to a file
===========================  ======================================================
"""

from __future__ import annotations

from pbr.report.html import HtmlReport, html_report, write_html_report
from pbr.report.statement import (
    contract_parameters,
    statement_document,
    write_statement_csv,
    write_statement_json,
    write_statement_xlsx,
)

__all__ = ["HtmlReport", "contract_parameters", "html_report", "statement_document",
           "write_html_report", "write_statement_csv", "write_statement_json",
           "write_statement_xlsx"]
