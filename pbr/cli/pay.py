"""``pbr pay`` and ``pbr verify``: run a contract on files, and check a run's manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pbr import audit
from pbr.cli._app import Engine, announce_compile, app, progress, reported_errors
from pbr.cli._options import (
    CourtEventId,
    DateFormat,
    DisposalDate,
    DisposalType,
    DisposalTypeMap,
    Encoding,
    EndDate,
    IdAsString,
    IndexDate,
    KeepDuplicates,
    OffenceCategory,
    OffenceCode,
    OffenceDate,
    OffenderId,
    Separator,
    StartDate,
    event_options,
    flag_terms,
    reading,
    shown,
)
from pbr.cli._options import roles as column_roles
from pbr.io.db import is_database_uri


@app.command()
def pay(
    ctx: typer.Context,
    contract: Annotated[Path, typer.Argument(help="Contract TOML file.")],
    out: Annotated[Path, typer.Option(help="Directory for the statement and manifest.")],
    cohort: Annotated[str | None, typer.Option(
        help="Cohort file (.csv, .parquet, .xlsx) with the contract's cohort column, or a "
             "database URI (extracted into --out/inputs and recorded).")
    ] = None,
    events: Annotated[str | None, typer.Option(
        help="Proven-offence events file or database URI.")] = None,
    outcomes: Annotated[str | None, typer.Option(
        help="Pay from published outcomes instead of measuring: a CSV file with columns "
             "cohort, measure, actual, comparator, n (and optionally base_n, lower, upper, "
             "start, year, source, unit_name, counts).")] = None,
    custody: Annotated[str | None, typer.Option(
        help="Custody spells file or database URI (bed-day measures).")] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Date the data were extracted (YYYY-MM-DD): windows still open "
        "then are refused, or paid provisionally where the contract allows.")] = None,
    paid: Annotated[str | None, typer.Option(
        help="Ledger CSV of payments already made under the contract (cohort, year, "
             "component, amount, kind), so caps, floors and payments on account hold "
             "across runs.")] = None,
    engine: Annotated[Engine, typer.Option(help="Measure engine.")] = Engine.numba,
    outcome_events: Annotated[str | None, typer.Option(
        "--outcome-events",
        help="Outcome-events CSV for the contract's rate cards (participant_id, "
             "outcome_type, date_achieved, evidence_ref, evidence_type, verified; the "
             "template pbr ships: pbr.outcomes.template_path()).")] = None,
    participants: Annotated[str | None, typer.Option(
        help="Participants CSV for the rate cards (participant_id, start_date, cohort, "
             "attributes); default with --cohort: the cohort's offender_id and "
             "index_date.")] = None,
    offender_id: OffenderId = "offender_id",
    index_date: IndexDate = "index_date",
    offence_date: OffenceDate = "offence_date",
    disposal_date: DisposalDate = "disposal_date",
    disposal_type: DisposalType = "disposal_type",
    offence_code: OffenceCode = "offence_code",
    offence_category: OffenceCategory = None,
    court_event_id: CourtEventId = None,
    start_date: StartDate = "start_date",
    end_date: EndDate = "end_date",
    separator: Separator = None,
    encoding: Encoding = "utf-8",
    date_format: DateFormat = None,
    id_as_string: IdAsString = False,
    disposal_type_map: DisposalTypeMap = None,
    keep_duplicates: KeepDuplicates = False,
) -> None:
    """Measure, compare and pay a contract; write the statement (CSV, JSON, Excel) and a
    manifest, all or nothing (a failed run changes no file in --out).

    Example: pbr pay contract.toml --cohort cohort.parquet --events events.parquet
    --out statement/

    From published outcomes: pbr pay contract.toml --outcomes outcomes.csv --out statement/

    A later quarter, with what was already paid: pbr pay contract.toml --cohort ...
    --events ... --as-of 2021-06-30 --paid ledger.csv --out statement-q2/

    With rate cards: add --outcome-events claims.csv (and --participants people.csv
    unless the cohort is the participants); a contract of rate cards alone: pbr pay
    contract.toml --outcome-events claims.csv --participants people.csv --out statement/
    """
    step = progress(ctx)
    if participants is not None and outcome_events is None:
        raise typer.BadParameter("--participants is for the rate cards' outcome events; "
                                 "give --outcome-events too", param_hint="--participants")
    if outcomes is not None:
        if cohort is not None or events is not None:
            raise typer.BadParameter("give either --outcomes or --cohort and --events, "
                                     "not both", param_hint="--outcomes")
        if as_of is not None:
            raise typer.BadParameter("--as-of is for measuring (--cohort, --events); "
                                     "published outcomes carry their own 'provisional' "
                                     "column", param_hint="--as-of")
        with reported_errors():
            step(f"paying contract {contract} from outcomes {outcomes}")
            statement, manifest = audit.pay_outcomes(contract, outcomes, out, paid=paid,
                                                     outcome_events=outcome_events,
                                                     participants=participants)
        _written(statement, manifest, out)
        return
    if outcome_events is not None and cohort is None and events is None:
        if participants is None:
            raise typer.BadParameter("a contract of rate cards alone needs the participants "
                                     "file (participant_id, start_date, cohort, "
                                     "attributes)", param_hint="--participants")
        if as_of is not None or paid is not None:
            raise typer.BadParameter("--as-of and --paid are not read for rate cards alone",
                                     param_hint="--as-of" if as_of is not None
                                     else "--paid")
        with reported_errors():
            step(f"paying contract {contract} on outcome events {outcome_events}")
            statement, manifest = audit.pay_claims(contract, outcome_events, participants,
                                                   out)
        _written(statement, manifest, out)
        return
    if cohort is None or events is None:
        raise typer.BadParameter("give --cohort and --events (to measure), --outcomes "
                                 "(published outcomes), or --outcome-events and "
                                 "--participants (rate cards alone)",
                                 param_hint="--cohort" if cohort is None else "--events")
    roles = column_roles(offender_id=offender_id, index_date=index_date,
                         offence_date=offence_date, disposal_date=disposal_date,
                         disposal_type=disposal_type, offence_code=offence_code,
                         offence_category=offence_category, court_event_id=court_event_id,
                         start_date=start_date, end_date=end_date)
    given_options = {**reading(separator, encoding, date_format, id_as_string),
                     **event_options(disposal_type_map, keep_duplicates)}
    defaults = {"separator": None, "encoding": "utf-8", "date_format": None,
                "id_as_string": False, "disposal_type_map": None, "duplicates": "exclude"}
    # the defaults are not recorded, so a manifest reads the same as before these options
    read = {k: v for k, v in given_options.items() if defaults.get(k, object()) != v}
    with reported_errors(), flag_terms():
        announce_compile(bool((ctx.obj or {}).get("quiet", False)))
        for role, given in (("cohort", cohort), ("events", events), ("custody", custody)):
            if is_database_uri(given):
                step(f"extracting {role} from {shown(given)} into {out / 'inputs'}")
        step(f"running contract {contract}")
        # database inputs are extracted by pay_files into out/inputs, and the records of
        # the reads (database, query, rows' SHA-256) recorded in the manifest
        runs, manifest = audit.pay_files(
            contract, cohort, events, out, custody=custody, engine=engine.value,
            roles=roles, read_options=read, as_of=as_of, paid=paid,
            outcome_events=outcome_events, participants=participants)
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
