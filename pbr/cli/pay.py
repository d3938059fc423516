"""``pbr pay`` and ``pbr verify``: run a contract on files, and check a run's manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pbr import audit
from pbr.cli._app import ROLES, Engine, announce_compile, app, progress, reported_errors


@app.command()
def pay(
    ctx: typer.Context,
    contract: Annotated[Path, typer.Argument(help="Contract TOML file.")],
    out: Annotated[Path, typer.Option(help="Directory for the statement and manifest.")],
    cohort: Annotated[Path | None, typer.Option(
        help="Cohort file (.csv, .parquet, .xlsx) with the contract's cohort column.")
    ] = None,
    events: Annotated[Path | None, typer.Option(help="Proven-offence events file.")] = None,
    outcomes: Annotated[Path | None, typer.Option(
        help="Pay from published outcomes instead of measuring: a CSV file with columns "
             "cohort, measure, actual, comparator, n (and optionally base_n, lower, upper, "
             "start, year, source, unit_name, counts).")] = None,
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
    manifest, all or nothing (a failed run changes no file in --out).

    Example: pbr pay contract.toml --cohort cohort.parquet --events events.parquet
    --out statement/

    From published outcomes: pbr pay contract.toml --outcomes outcomes.csv --out statement/
    """
    step = progress(ctx)
    if outcomes is not None:
        if cohort is not None or events is not None:
            raise typer.BadParameter("give either --outcomes or --cohort and --events, "
                                     "not both", param_hint="--outcomes")
        with reported_errors():
            step(f"paying contract {contract} from outcomes {outcomes}")
            statement, manifest = audit.pay_outcomes(contract, outcomes, out)
        _written(statement, manifest, out)
        return
    if cohort is None or events is None:
        raise typer.BadParameter("give --cohort and --events (to measure), or --outcomes "
                                 "(published outcomes)",
                                 param_hint="--cohort" if cohort is None else "--events")
    given = {"offender_id": offender_id, "index_date": index_date,
             "offence_date": offence_date, "disposal_date": disposal_date,
             "disposal_type": disposal_type, "offence_code": offence_code,
             "offence_category": offence_category, "court_event_id": court_event_id}
    roles = {k: v for k, v in given.items() if v is not None and v != k}
    with reported_errors():
        announce_compile(bool((ctx.obj or {}).get("quiet", False)))
        step(f"running contract {contract}")
        runs, manifest = audit.pay_files(contract, cohort, events, out, custody=custody,
                                         engine=engine.value, roles=roles)
    _written(runs.statement, manifest, out)


def _written(statement: object, manifest: audit.Manifest, out: Path) -> None:
    typer.echo(str(statement))
    typer.echo("\nWrote")
    for _, rel, _ in manifest.outputs:
        typer.echo(f"  {out / rel}")
    typer.echo(f"  {out / audit.MANIFEST_NAME}")
    typer.echo(f"\nCheck it: pbr verify {out / audit.MANIFEST_NAME}")


@app.command()
def verify(
    manifest: Annotated[Path, typer.Argument(
        help="manifest.json written by `pbr pay` or `pbr demo` (or its directory).")],
    inputs: Annotated[Path | None, typer.Option(
        help="Directory holding the input files, when they moved since the run (found "
             "by their recorded file names).")] = None,
) -> None:
    """Check every input's SHA-256, then recompute the statement and report identical, or
    every difference.  Other library versions than recorded are shown as notes.

    Exit code 0 when identical, 1 when anything differs (a changed input is reported
    and nothing is recomputed from it), 2 when the manifest cannot be read.
    """
    with reported_errors():
        result = audit.verify(manifest, inputs=inputs)
    typer.echo(str(result))
    if not result.ok:
        raise typer.Exit(1)
