"""``pbr extract`` (a database table or query to a file, with the record of the read) and
``pbr store`` (result files into database tables, with a run id, in one transaction)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from pbr import io
from pbr.cli._app import app, progress, reported_errors
from pbr.cli._options import check_output, flag_terms, shown
from pbr.errors import SchemaError
from pbr.io.db import exact_numbers, is_database_uri, parse_database_uri, write_results
from pbr.io.extracts import extract as _extract

_TABLE = re.compile(r"^([A-Za-z_][A-Za-z0-9_$]*(?:\.[A-Za-z_][A-Za-z0-9_$]*)?)=(.+)$")


def _read_result(path: Path) -> pl.DataFrame:
    """A result file as a frame.  A CSV is read as text and its numbers typed exactly
    (:func:`pbr.io.db.exact_numbers`): a statement's amounts are decimals, never floats."""
    if io.READ_FORMATS.get(path.suffix.lower()) != "csv" or not path.is_file():
        return io.read_table(path)
    return exact_numbers(io.read_table(path, text_columns=io.read_table(path).columns))


@app.command("extract")
def extract(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(
        help="Database table or query: duckdb:///project.duckdb?table=cohort, "
             "sqlite:///x.db?query=SELECT ..., postgresql://user@host/db?table=s.t "
             "(docs/data.md).")],
    out: Annotated[Path, typer.Option(
        help="File to write (.parquet keeps the types; .csv, .xlsx); the record of the "
             "read goes beside it as FILE.source.json.")],
) -> None:
    """Copy a database table or query to a file, for a run that must stay verifiable.

    The rows are written reproducibly (same rows, same bytes) and the record of the read
    (database without password, query, rows, SHA-256 of the rows) beside them; both
    files, or neither.  Run pbr pay on the file: its manifest records the file's hash.

    Example: pbr extract "duckdb:///project.duckdb?table=cohort" --out inputs/cohort.parquet
    """
    step = progress(ctx)
    with reported_errors(), flag_terms():
        check_output(out, "--out", tuple(io.WRITE_FORMATS))
        step(f"reading {shown(source)}")
        record = _extract(source, out)
    typer.echo(f"{record.rows:,} rows of {shown(source)}\n  rows SHA-256 {record.sha256}"
               f"\n\nWrote\n  {out}\n  {out.name}.source.json")


@app.command("store")
def store(
    ctx: typer.Context,
    results: Annotated[list[str], typer.Argument(
        help="Result files to store (.parquet, .csv, .xlsx: pbr measure's --out, pbr "
             "compare's --out, a statement.csv), each as TABLE=FILE or FILE (table: the "
             "file's name without suffix).")],
    into: Annotated[str, typer.Option(
        help="Database: duckdb:///results.duckdb (created if missing), sqlite:///x.db, "
             "postgresql://user@host/db.")],
    run_id: Annotated[str, typer.Option(
        help="Names this run in every row, e.g. 2026-Q1-final.")],
    manifest: Annotated[Path | None, typer.Option(
        help="The run's manifest.json: its SHA-256 is written in every row.")] = None,
    replace: Annotated[bool, typer.Option(
        "--replace", help="Replace the rows of a run id the tables already hold (default: "
                          "refuse).")] = False,
) -> None:
    """Write result files into database tables: every row with the run id and the
    manifest's SHA-256, every table in one transaction (a failure writes nothing).

    Example: pbr store measures=out/measures.parquet statement=out/statement.csv
    --into duckdb:///results.duckdb --run-id 2026-Q1 --manifest out/manifest.json
    """
    step = progress(ctx)
    with reported_errors(), flag_terms():
        if not is_database_uri(into):
            raise SchemaError(f"--into {into}: not a database URI. Fix: e.g. --into "
                              "duckdb:///results.duckdb")
        parse_database_uri(into, require=False)
        tables: dict[str, Path] = {}
        for item in results:
            m = _TABLE.match(item)
            table, path = (m.group(1), Path(m.group(2))) if m else (Path(item).stem,
                                                                     Path(item))
            if table in tables:
                raise SchemaError(f"{item}: table {table!r} given twice. Fix: name each "
                                  "file's table, TABLE=FILE")
            tables[table] = path
        frames = {}
        for table, path in tables.items():
            step(f"reading {path}")
            frames[table] = _read_result(path)
        step(f"writing {', '.join(tables)} to {shown(into)}")
        written = write_results(into, frames, run_id=run_id, manifest=manifest,
                                if_run_exists="replace" if replace else "error")
    typer.echo(f"Run {run_id} stored in {shown(into)} (one transaction)\n" + "\n".join(
        f"  {table:<20} {n:>10,} rows  from {tables[table]}" for table, n in written.items()))
