"""``pbr measure``, ``pbr synth``, ``pbr demo`` and ``pbr presets``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

import pbr
from pbr import audit, io
from pbr.cli._app import Engine, Format, OnInvalid, app, cell, progress, reported_errors
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
    check_columns,
    check_not_input,
    check_output,
    check_toml,
    cli_message,
    event_options,
    flag_terms,
    input_path,
    reading,
    shown,
)
from pbr.contract.spec import demo_contract_text
from pbr.errors import SchemaError, SpecError
from pbr.io._atomic import atomic_files
from pbr.report.html import html_report
from pbr.spec import parse_date

DEFAULT_PRESET = "moj_national_2017"
DEMO_SEED = 2024


#: summary columns that are proportions: printed in per cent, labelled "(%)" (the files
#: ``--summary-out`` writes keep the proportions)
_PERCENT = ("binary_rate", "serious_rate")


def _summary_text(result: pbr.MeasureResult, by: Sequence[str]) -> str:
    """The summary as text: one line per measure, one column per group; the rates (held
    as proportions) shown in per cent, their lines labelled ``(%)``."""
    table = result.summary(by=list(by)) if by else result.summary()
    keys = list(by)
    title = f"Summary by {', '.join(keys)}" if keys else "Summary"
    if table.height == 0:
        return f"{title} ({result.spec.name}): no offenders measured"
    heads = ([" / ".join(cell(v) for v in row) for row in table.select(keys).iter_rows()]
             if keys else ["all"])
    measures = [c for c in table.columns if c not in keys]
    rows = [[f"{m} (%)", *(cell(None if v is None else 100.0 * v) for v in table[m].to_list())]
            if m in _PERCENT else [m, *(cell(v) for v in table[m].to_list())]
            for m in measures]
    width = max(len(c) for c in [*heads, *(x for r in rows for x in r[1:])]) + 2
    label = max(len(r[0]) for r in rows) + 2
    lines = [f"{title} ({result.spec.name})",
             " " * label + "".join(f"{h:>{width}}" for h in heads)]
    lines += [f"{r[0]:<{label}}" + "".join(f"{c:>{width}}" for c in r[1:]) for r in rows]
    return "\n".join(lines)


def _report(result: pbr.MeasureResult, by: Sequence[str]) -> str:
    return "\n\n".join([str(result), _summary_text(result, by), str(result.exclusions)])


# --------------------------------------------------------------------------- measure
def _spec(spec_file: Path | None, preset: str | None, as_of: str | None,
          interim: bool) -> pbr.MeasureSpec:
    if spec_file is not None and preset is not None:
        raise typer.BadParameter("give --spec or --preset, not both", param_hint="--spec")
    if preset is not None and preset not in pbr.available_presets():
        raise SpecError(f"--preset {preset}: no such preset; available: "
                        f"{', '.join(pbr.available_presets())} (see `pbr presets`)")
    check_toml(spec_file, "--spec")
    spec = io.read_spec(spec_file) if spec_file is not None else \
        pbr.preset(preset or DEFAULT_PRESET)
    changes: dict[str, Any] = {}
    if as_of is not None:
        try:
            changes["as_of"] = parse_date(as_of.strip())
        except ValueError:
            raise SpecError(f"--as-of {as_of}: not a date. Fix: give the data extract date "
                            "as YYYY-MM-DD, e.g. --as-of 2024-03-31") from None
    if interim:
        if as_of is None and spec.as_of is None:
            raise SpecError("--interim needs --as-of: give the data extract date, e.g. "
                            "--interim --as-of 2024-03-31")
        changes["interim"] = True
    return spec.replace(**changes) if changes else spec


def _out_dir(out: Path) -> None:
    """A directory output (``--out``) that is an existing file: say so before any work."""
    if out.exists() and not out.is_dir():
        raise SchemaError(f"--out {out}: is a file; give a directory (it is created if "
                          "missing)")


@app.command()
def measure(
    ctx: typer.Context,
    cohort: Annotated[str, typer.Option(
        help="Cohort file (.csv, .parquet, .xlsx) or database URI "
             "(duckdb:///project.duckdb?table=cohort): offender_id, index_date, "
             "grouping columns.")],
    events: Annotated[str, typer.Option(
        help="Proven-offence events file or database URI (a header line and no rows: "
             "nobody reoffended).")],
    out: Annotated[Path, typer.Option(
        help="Per-offender output: .csv, .parquet or .xlsx.")],
    custody: Annotated[str | None, typer.Option(
        help="Custody spells file or database URI, for custody_days.")] = None,
    spec: Annotated[Path | None, typer.Option(
        "--spec", help="Measure spec TOML file.")] = None,
    preset: Annotated[str | None, typer.Option(
        help=f"Named preset (see `pbr presets`); default {DEFAULT_PRESET}.")] = None,
    as_of: Annotated[str | None, typer.Option(
        help="Data extract date YYYY-MM-DD: incomplete windows are not measured.")] = None,
    interim: Annotated[bool, typer.Option(
        "--interim",
        help="Measure incomplete windows on the data so far (needs --as-of).")] = False,
    engine: Annotated[Engine, typer.Option(help="Measure engine.")] = Engine.numba,
    on_invalid: Annotated[OnInvalid, typer.Option(
        help="Invalid input rows: stop with an error, or exclude them (listed in the "
             "exclusions).")] = OnInvalid.raise_,
    by: Annotated[list[str] | None, typer.Option(
        help="Summarise by this column (repeat for several).")] = None,
    summary_out: Annotated[Path | None, typer.Option(
        help="Also write the summary: .csv (table) or .json (with spec, exclusions, "
             "provenance). Written together with --out: both or neither.")] = None,
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
    """Measure proven reoffending for a cohort and write one row per offender.

    Example: pbr measure --cohort cohort.parquet --events events.parquet
    --preset peterborough_sib --by provider --out measures.parquet
    """
    step = progress(ctx)
    keys = list(by or [])
    with reported_errors(), flag_terms():
        check_output(out, "--out", tuple(io.WRITE_FORMATS))
        check_output(summary_out, "--summary-out", (".csv", ".json"))
        inputs = {"--cohort": input_path(cohort), "--events": input_path(events),
                  "--custody": input_path(custody), "--spec": spec}
        check_not_input(out, "--out", inputs)
        check_not_input(summary_out, "--summary-out", inputs)
        measure_spec = _spec(spec, preset, as_of, interim)
        mode: Literal["raise", "exclude"] = (
            "exclude" if on_invalid is OnInvalid.exclude else "raise")
        read = reading(separator, encoding, date_format, id_as_string)
        step(f"reading {shown(cohort)}")
        cohort_table = io.read_cohort(cohort, offender_id=offender_id, index_date=index_date,
                                      on_invalid=mode, **read)
        check_columns(cohort_table.data.columns, keys, "--by")
        step(f"reading {shown(events)}")
        events_table = io.read_events(
            events, offender_id=offender_id, offence_date=offence_date,
            disposal_date=disposal_date, disposal_type=disposal_type,
            offence_code=offence_code, offence_category=offence_category,
            court_event_id=court_event_id, on_invalid=mode, **read,
            **event_options(disposal_type_map, keep_duplicates))
        custody_table = None
        if custody is not None:
            step(f"reading {shown(custody)}")
            custody_table = io.read_custody(custody, offender_id=offender_id,
                                            start_date=start_date, end_date=end_date,
                                            on_invalid=mode, **read)
        step(f"measuring {cohort_table.n:,} offenders, {events_table.n:,} events "
             f"({measure_spec.name}, engine {engine.value})")
        result = pbr.measure(cohort_table, events_table, measure_spec, custody=custody_table,
                             engine=engine.value)
        report = cli_message(_report(result, keys))
        step(f"writing {out}" + ("" if summary_out is None else f" and {summary_out}"))
        targets = [out] if summary_out is None else [out, summary_out]
        with atomic_files(*targets) as staged:  # both files, or neither
            io.write_table(result.frame, staged[0])
            if summary_out is not None:
                io.write_summary(result, staged[1], by=keys)
        written = [f"per-offender measures: {out} ({result.frame.height:,} rows)"]
        if summary_out is not None:
            written.append(f"summary: {summary_out}")
    typer.echo(report)
    typer.echo("\nWrote\n" + "\n".join(f"  {w}" for w in written))


# --------------------------------------------------------------------------- synth
@app.command()
def synth(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Directory to write the files to.")],
    n: Annotated[int, typer.Option("--n", min=1, help="Number of offenders.")] = 20_000,
    seed: Annotated[int, typer.Option(min=0, help="Random seed: same seed, same files.")] = 0,
    format: Annotated[Format, typer.Option(help="Table file format.")] = Format.parquet,
) -> None:
    """Write a seeded synthetic cohort, events, custody spells and a spec to a directory."""
    step = progress(ctx)
    with reported_errors():
        _out_dir(out)
        step(f"generating {n:,} synthetic offenders (seed {seed})")
        data = pbr.synth.generate(n, seed=seed)
        step(f"writing {out}")
        paths = io.write_synth(data, out, format=format.value)
    typer.echo(f"Synthetic data: {n:,} offenders, seed {seed}")
    typer.echo("\n".join(f"  {name:<17} {path}" for name, path in paths.items()))


# --------------------------------------------------------------------------- demo
@app.command()
def demo(
    ctx: typer.Context,
    n: Annotated[int, typer.Option("--n", min=1, help="Number of offenders.")] = 20_000,
    out: Annotated[Path, typer.Option(help="Directory for the data and results.")]
    = Path("pbr-demo"),
) -> None:
    """Generate the bundled synthetic example, measure it, and run a contract end to end.

    Writes the data (seed 2024) to --out, measures it with the MoJ 2017 rules (with the
    synthetic severity weights and serious-offence list, spec.toml) and with the
    Peterborough SIB rules, and prints both summaries by provider.  Then runs the bundled
    CRC-style contract (contract.toml: measure, compare with a case-mix adjusted
    baseline, pay) and writes the payment statement (CSV, JSON, Excel) and its manifest
    to --out/statement; `pbr verify` checks it.  Beside them, report.html: the
    self-contained HTML report of the run (`pbr report`).
    """
    step = progress(ctx)
    with reported_errors():
        _out_dir(out)
        step(f"generating {n:,} synthetic offenders (seed {DEMO_SEED})")
        paths = io.write_synth(pbr.synth.generate(n, seed=DEMO_SEED), out)
        step(f"reading {out}")
        cohort = io.read_cohort(paths["cohort"])
        events = io.read_events(paths["events"])
        custody = io.read_custody(paths["custody"]) if "custody" in paths else None
        specs = [io.read_spec(paths["spec"]), pbr.preset("peterborough_sib")]
        step(f"preparing {cohort.n:,} offenders and {events.n:,} events")
        histories = pbr.prepare(cohort, events, specs[0], custody=custody)
        reports, written = [], []
        for spec in specs:
            step(f"measuring {spec.name}")
            result = histories.measure(spec)
            reports.append(_report(result, ["provider"]))
            written.append(io.write_table(result.frame, out / f"measures_{spec.name}.parquet"))
            written.append(io.write_summary(result, out / f"summary_{spec.name}.json",
                                            by="provider"))
        contract = out / "contract.toml"
        contract.write_text(demo_contract_text(), encoding="utf-8")
        step(f"running the contract {contract}")
        runs, manifest = audit.pay_files(contract, paths["cohort"], paths["events"],
                                         out / "statement", seed=DEMO_SEED)
        written.append(contract)
        written += [out / "statement" / rel for _, rel, _ in manifest.outputs]
        written.append(out / "statement" / audit.MANIFEST_NAME)
        step("drawing the report")  # beside the statement (not one of its recorded outputs)
        report = out / "statement" / "report.html"
        html_report(runs, manifest=manifest, equality_by="sex").write(report)
        written.append(report)
    rule = "=" * 78
    for text in reports:
        typer.echo(f"{rule}\n{text}\n")
    typer.echo(f"{rule}\n{runs.statement}\n")
    typer.echo("Wrote")
    typer.echo("\n".join(f"  {p}" for p in [*paths.values(), *written]))
    typer.echo(f"\nMeasure it again, your way:\n  pbr measure --cohort {paths['cohort']} "
               f"--events {paths['events']} --spec {paths['spec']} --by provider "
               f"--out measures.csv")
    typer.echo(f"\nCheck the statement:\n  pbr verify {out / 'statement' / audit.MANIFEST_NAME}")
    typer.echo(f"\nRead the report in a browser:\n  {out / 'statement' / 'report.html'}")


# --------------------------------------------------------------------------- presets
@app.command()
def presets(
    name: Annotated[str | None, typer.Argument(
        help="Show this preset's rules and TOML.")] = None,
) -> None:
    """List the bundled measure presets, or show one."""
    with reported_errors():
        if name is not None:
            spec = pbr.preset(name)
            typer.echo(f"{spec}\n\n{spec.to_toml()}", nl=False)
            return
        specs = [pbr.preset(p) for p in pbr.available_presets()]
    rows = [(s.name, str(s.follow_up), str(s.waiting_period), ", ".join(s.proof_types),
             s.counting_unit) for s in specs]
    head = ("preset", "follow-up", "waiting", "proof", "unit")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    for r in [head, *rows]:
        typer.echo("  ".join(f"{c:<{w}}" for c, w in zip(r, widths, strict=True)).rstrip())

