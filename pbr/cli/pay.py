"""``pbr pay`` and ``pbr verify``: run a contract on files, and check a run's manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pbr import audit
from pbr.cli._app import ROLES, Engine, app, progress, reported_errors


@app.command()
def pay(
    ctx: typer.Context,
    contract: Annotated[Path, typer.Argument(help="Contract TOML file.")],
    cohort: Annotated[Path, typer.Option(
        help="Cohort file (.csv, .parquet, .xlsx) with the contract's cohort column.")],
    events: Annotated[Path, typer.Option(help="Proven-offence events file.")],
    out: Annotated[Path, typer.Option(help="Directory for the statement and manifest.")],
    custody: Annotated[Path | None, typer.Option(
        help="Custody spells file (bed-day measures).")] = None,
    engine: Annotated[Engine, typer.Option(help="Measure engine.")] = Engine.numba,
    offender_id: Annotated[str, typer.Option(rich_help_panel=ROLES)] = "offender_id",
    index_date: Annotated[str, typer.Option(rich_help_panel=ROLES)] = "index_date",
    offence_date: Annotated[str, typer.Option(rich_help_panel=ROLES)] = "offence_date",
    disposal_date: Annotated[str, typer.Option(rich_help_panel=ROLES)] = "disposal_date",
    disposal_type: Annotated[str, typer.Option(rich_help_panel=ROLES)] = "disposal_type",
    offence_code: Annotated[str, typer.Option(rich_help_panel=ROLES)] = "offence_code",
    offence_category: Annotated[str | None, typer.Option(
        rich_help_panel=ROLES, help="[default: offence_category, if present]")] = None,
    court_event_id: Annotated[str | None, typer.Option(
        rich_help_panel=ROLES, help="[default: court_event_id, if present]")] = None,
) -> None:
    """Measure, compare and pay a contract; write the statement (CSV, JSON, Excel) and a
    manifest.

    Example: pbr pay contract.toml --cohort cohort.parquet --events events.parquet
    --out statement/
    """
    step = progress(ctx)
    given = {"offender_id": offender_id, "index_date": index_date,
             "offence_date": offence_date, "disposal_date": disposal_date,
             "disposal_type": disposal_type, "offence_code": offence_code,
             "offence_category": offence_category, "court_event_id": court_event_id}
    roles = {k: v for k, v in given.items() if v is not None and v != k}
    with reported_errors():
        step(f"running contract {contract}")
        runs, manifest = audit.pay_files(contract, cohort, events, out, custody=custody,
                                         engine=engine.value, roles=roles)
    typer.echo(str(runs.statement))
    typer.echo("\nWrote")
    for _, rel, _ in manifest.outputs:
        typer.echo(f"  {out / rel}")
    typer.echo(f"  {out / audit.MANIFEST_NAME}")
    typer.echo(f"\nCheck it: pbr verify {out / audit.MANIFEST_NAME}")


@app.command()
def verify(
    manifest: Annotated[Path, typer.Argument(
        help="manifest.json written by `pbr pay` or `pbr demo` (or its directory).")],
) -> None:
    """Recompute a run from its inputs and report identical, or every difference.

    Exit code 0 when identical, 1 when anything differs.
    """
    with reported_errors():
        result = audit.verify(manifest)
    typer.echo(str(result))
    if not result.ok:
        raise typer.Exit(1)
