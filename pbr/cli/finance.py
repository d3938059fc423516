"""``pbr finance``: an impact bond's investor and payer view from a flows table, and its
INDIGO export (docs/finance.md)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer

from pbr.cli._app import app, reported_errors
from pbr.errors import SchemaError
from pbr.finance import ImpactBond, appraise, indigo_json, to_indigo
from pbr.io._atomic import atomic_files
from pbr.io.db import is_database_uri, read_database

__all__ = ["finance_command"]


@app.command("finance")
def finance_command(
    flows: Annotated[str, typer.Argument(
        help="CSV of the bond's flows (or a database URI of the same table): date "
             "(YYYY-MM-DD), kind (drawdown, service_cost, fee, outcome_payment, guarantee, "
             "repayment), amount (positive), and optionally label and source.")],
    name: Annotated[str, typer.Option(help="The project's name.")] = "impact bond",
    currency: Annotated[str, typer.Option(help="ISO 4217 currency code.")] = "GBP",
    commitment: Annotated[str | None, typer.Option(
        help="Capital the investors committed.")] = None,
    discount_rate: Annotated[str, typer.Option(
        "--discount-rate", help="The investors' annual discount rate for the NPV, as a "
        "fraction (0.05 for 5%).")] = "0.035",
    outcomes: Annotated[str | None, typer.Option(
        help="Outcomes achieved (e.g. reoffences avoided), for the payer's view.")] = None,
    savings_per_outcome: Annotated[str | None, typer.Option(
        "--savings-per-outcome", help="The payer's stated saving per outcome.")] = None,
    payer_discount_rate: Annotated[str, typer.Option(
        "--payer-discount-rate", help="The payer's annual discount rate (Green Book "
        "3.5%).")] = "0.035",
    places: Annotated[int, typer.Option(help="Decimal places of the currency.")] = 2,
    out: Annotated[Path | None, typer.Option(
        help="Directory for appraisal.txt, summary.csv, flows.csv and manifest.json.")
    ] = None,
    indigo: Annotated[Path | None, typer.Option(
        help="Write the project as an INDIGO data standard JSON document here.")] = None,
    stage: Annotated[str | None, typer.Option(
        help="INDIGO stage of development (Contracted, Implementation, Service delivery "
             "complete, Complete).")] = None,
    jurisdiction: Annotated[str | None, typer.Option(
        help="ISO 3166 two-letter country code for INDIGO.")] = None,
    capital_type: Annotated[str, typer.Option(
        "--capital-type", help="INDIGO transaction type of the drawdowns (Debt, Equity, "
        "Debt and Equity, Grant, Other).")] = "Other",
) -> None:
    """The investors' return (money multiple, IRR, NPV) and the payer's value for money of
    an impact bond, from its dated flows; optionally its INDIGO export."""
    with reported_errors():
        source: dict[str, Any] | None = None
        if is_database_uri(flows):  # the rows as text, as from the CSV; the read recorded
            rows, record = read_database(flows)
            table = rows.with_columns(pl.col(c).cast(pl.String) for c in rows.columns)
            source = record.to_dict()
        else:
            try:
                table = pl.read_csv(flows, infer_schema=False)
            except pl.exceptions.PolarsError as exc:
                raise SchemaError(f"{flows}: cannot read the flows CSV ({exc})") from None
        bond = ImpactBond.from_frame(table, name, currency, commitment=commitment,
                                     places=places)
        view = appraise(bond, discount_rate=discount_rate, outcomes=outcomes,
                        savings_per_outcome=savings_per_outcome,
                        payer_discount_rate=payer_discount_rate)
        doc = None
        if indigo is not None:
            doc = indigo_json(to_indigo(bond, appraisal=view, stage=stage,
                                        jurisdiction=jurisdiction,
                                        capital_type=capital_type)) + "\n"
        text = str(view) + "\n"
        targets: list[Path] = []
        if out is not None:
            targets += [out / n for n in ("appraisal.txt", "summary.csv", "flows.csv",
                                          "manifest.json")]
        if indigo is not None:
            targets.append(indigo)
        if targets:
            with atomic_files(*targets) as staged:
                k = 0
                if out is not None:
                    staged[0].write_text(text, encoding="utf-8")
                    view.summary().write_csv(staged[1])
                    view.to_frame().write_csv(staged[2])
                    outputs = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                               for p in staged[:3]}
                    read: dict[str, Any] = (
                        {"flows_source": source} if source is not None else
                        {"flows_file_sha256": hashlib.sha256(
                            Path(flows).read_bytes()).hexdigest()})
                    manifest = {**view.provenance, **read, "outputs_sha256": outputs,
                                "notes": [*bond.notes, *view.notes]}
                    staged[3].write_text(json.dumps(manifest, sort_keys=True, indent=2),
                                         encoding="utf-8")
                    k = 4
                if doc is not None:
                    staged[k].write_text(doc, encoding="utf-8")
    typer.echo(text, nl=False)
