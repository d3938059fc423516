"""``pbr report``: the self-contained HTML report of a contract run or an evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

import pbr
from pbr import io
from pbr.cli._app import Engine, announce_compile, app, progress, reported_errors
from pbr.cli._options import (
    DateFormat,
    DisposalDate,
    DisposalType,
    Encoding,
    IdAsString,
    IndexDate,
    OffenceCode,
    OffenceDate,
    OffenderId,
    Separator,
    check_columns,
    check_not_input,
    check_output,
    flag_terms,
    input_path,
    reading,
    shown,
)
from pbr.errors import AuditError
from pbr.io.db import is_database_uri
from pbr.io.manifest import read_manifest
from pbr.report.html import HtmlReport, html_report


def _manifest_for(manifest: Path, files: dict[str, Path]) -> Any:
    """The manifest, checked to be the record of these input files (the contract too)."""
    _, m = read_manifest(manifest)
    recorded = {role: digest for role, _, digest in m.inputs}
    for role, path in files.items():
        if role in recorded and io.sha256_file(path) != recorded[role]:
            raise AuditError(f"--manifest {manifest}: the {role} file {path} is not the one "
                             f"recorded (sha256 {recorded[role][:16]}...); give the inputs "
                             "of that run, or leave out --manifest")
    return m


@app.command()
def report(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="The HTML file to write (.html).")],
    cohort: Annotated[str, typer.Option(
        help="Cohort file (.csv, .parquet, .xlsx) or database URI.")],
    events: Annotated[str, typer.Option(help="Proven-offence events file or database URI.")],
    contract: Annotated[Path | None, typer.Option(
        help="Contract TOML: report a contract run (statement, outcomes, waterfall).")
    ] = None,
    manifest: Annotated[Path | None, typer.Option(
        help="The run's manifest.json (from pbr pay): its hashes go in the report, and the "
             "input files are checked against it.")] = None,
    custody: Annotated[str | None, typer.Option(
        help="Custody spells file or database URI.")] = None,
    preset: Annotated[str | None, typer.Option(
        help="Measure preset for an evaluation (without --contract).")] = None,
    spec: Annotated[Path | None, typer.Option(
        help="Measure spec TOML for an evaluation (without --contract).")] = None,
    baseline: Annotated[float | None, typer.Option(
        help="Compare the cohort's proven reoffending rate with this proportion (0.43).")
    ] = None,
    treatment: Annotated[str | None, typer.Option(
        help="Evaluation by matching: the cohort's treated flag column (with --match-on).")
    ] = None,
    match_on: Annotated[list[str] | None, typer.Option(
        "--match-on", help="Covariates for the propensity score (repeat the flag).")] = None,
    group: Annotated[str | None, typer.Option(
        help="Cohort column for one curve per value (default: the contract's cohort "
             "column, or the treatment).")] = None,
    units: Annotated[str | None, typer.Option(
        help="Column of areas or providers for the funnel plot (default: area or "
             "provider where present).")] = None,
    equality_by: Annotated[list[str] | None, typer.Option(
        "--equality-by", help="Protected characteristic for the equality tables (repeat: "
        "--equality-by sex --equality-by age_band).")] = None,
    publication: Annotated[bool, typer.Option(
        "--publication", help="Apply disclosure control to everything in the report.")
    ] = False,
    rules: Annotated[str | None, typer.Option(
        help="Disclosure rules preset for --publication (threshold_10, "
             "threshold_5_round_5, round_5).")] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Date the data were extracted (YYYY-MM-DD).")] = None,
    title: Annotated[str | None, typer.Option(help="The report's title.")] = None,
    engine: Annotated[Engine, typer.Option(help="Measure engine.")] = Engine.numba,
    offender_id: OffenderId = "offender_id",
    index_date: IndexDate = "index_date",
    offence_date: OffenceDate = "offence_date",
    disposal_date: DisposalDate = "disposal_date",
    disposal_type: DisposalType = "disposal_type",
    offence_code: OffenceCode = "offence_code",
    separator: Separator = None,
    encoding: Encoding = "utf-8",
    date_format: DateFormat = None,
    id_as_string: IdAsString = False,
) -> None:
    """Write one self-contained HTML report (no network, no scripts, prints on A4).

    A contract run: pbr report --contract contract.toml --cohort cohort.parquet
    --events events.parquet --manifest statement/manifest.json --out report.html

    An evaluation by matching: pbr report --cohort cohort.parquet --events events.parquet
    --preset moj_national_2017 --treatment treated --match-on age --match-on sex
    --out evaluation.html

    Add --publication to apply disclosure control to every count, figure and explanation.
    """
    step = progress(ctx)
    if rules is not None and not publication:
        raise typer.BadParameter("--rules is for --publication; add --publication",
                                 param_hint="--rules")
    if contract is not None and (preset or spec or baseline is not None or treatment):
        raise typer.BadParameter("--preset, --spec, --baseline and --treatment are for an "
                                 "evaluation; a contract names its own measure and "
                                 "comparator", param_hint="--contract")
    if (treatment is None) != (not match_on):
        raise typer.BadParameter("give --treatment and --match-on together",
                                 param_hint="--treatment" if treatment is None
                                 else "--match-on")
    if baseline is not None and treatment is not None:
        raise typer.BadParameter("compare with --baseline or with a matched group "
                                 "(--treatment), not both", param_hint="--baseline")
    if manifest is not None and contract is None:
        raise typer.BadParameter("--manifest records a contract run; give --contract",
                                 param_hint="--manifest")
    with reported_errors(), flag_terms():
        check_output(out, "--out", (".html", ".htm"))
        check_not_input(out, "--out", {"--cohort": input_path(cohort),
                                       "--events": input_path(events),
                                       "--contract": contract,
                                       "--custody": input_path(custody)})
        given_uris = [flag for flag, value in (("--cohort", cohort), ("--events", events),
                                                ("--custody", custody))
                      if is_database_uri(value)]
        if manifest is not None and given_uris:
            raise typer.BadParameter(
                f"{given_uris[0]} is a database URI, but --manifest records files: give the "
                "extracts the run used (its --out/inputs/*.parquet), or leave out --manifest",
                param_hint="--manifest")
        announce_compile(bool((ctx.obj or {}).get("quiet", False)))
        read = reading(separator, encoding, date_format, id_as_string)
        step(f"reading {shown(cohort)}")
        cohort_table = io.read_cohort(cohort, offender_id=offender_id,
                                      index_date=index_date, **read)
        check_columns(cohort_table.data.columns,
                      [c for c in (group, units, treatment) if c] + list(match_on or []),
                      "--group/--units/--treatment/--match-on")
        step(f"reading {shown(events)}")
        events_table = io.read_events(events, offender_id=offender_id,
                                      offence_date=offence_date,
                                      disposal_date=disposal_date,
                                      disposal_type=disposal_type, offence_code=offence_code,
                                      **read)
        custody_table = None if custody is None else io.read_custody(
            custody, offender_id=offender_id, **read)
        options: dict[str, Any] = {
            "group": group, "units": units or "auto", "title": title,
            "equality_by": equality_by or None,
            "publication": (rules or True) if publication else False}
        if contract is not None:
            files = {"contract": contract, "cohort": Path(cohort), "events": Path(events)}
            if custody is not None:
                files["custody"] = Path(custody)
            m = None if manifest is None else _manifest_for(manifest, files)
            step(f"running contract {contract}")
            run = pbr.run_contract(io.read_contract(contract), cohort_table, events_table,
                                   custody=custody_table, engine=engine.value,
                                   as_of=as_of if as_of is not None
                                   else (m.as_of if m is not None else None))
            step("drawing the report")
            made = html_report(run, manifest=m, **options)
        else:
            made = _evaluation(step, cohort_table, events_table, custody_table, preset,
                               spec, baseline, treatment, match_on, as_of, engine.value,
                               options)
        step(f"writing {out}")
        made.write(out)
    typer.echo(str(made))
    typer.echo(f"\nWrote\n  {out}")


def _evaluation(step: Any, cohort: Any, events: Any, custody: Any, preset: str | None,
                spec: Path | None, baseline: float | None, treatment: str | None,
                match_on: list[str] | None, as_of: str | None, engine: str,
                options: dict[str, Any]) -> HtmlReport:
    if preset is not None and spec is not None:
        raise typer.BadParameter("give --preset or --spec, not both", param_hint="--spec")
    measure_spec = io.read_spec(spec) if spec is not None else pbr.preset(
        preset or "moj_national_2017")
    if as_of is not None:
        measure_spec = measure_spec.replace(as_of=as_of)
    matched = None
    target = cohort
    if treatment is not None:
        step(f"matching on {', '.join(match_on or [])}")
        matched = pbr.match(cohort.data, treatment, list(match_on or []))
        target = matched.cohort()
        options["group"] = options["group"] or treatment
    step(f"measuring {len(target) if matched is not None else cohort.n:,} offenders "
         f"({measure_spec.name})")
    result = pbr.measure(target, events, measure_spec, custody=custody, engine=engine)
    comparison = None
    if matched is not None:
        step("comparing with the matched group")
        comparison = pbr.compare(result, matched)
    elif baseline is not None:
        step(f"comparing with the baseline {baseline}")
        comparison = pbr.compare(result, baseline)
    step("drawing the report")
    return html_report(result, comparison=comparison, match=matched, **options)
