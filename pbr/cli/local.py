"""``pbr attribute``, ``pbr double-claims``, ``pbr crime-change``, ``pbr area-report`` and
``pbr iom``: local accountability (docs/methodology/local.md)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any

import polars as pl
import typer

import pbr
from pbr import io
from pbr.areas import AreaHierarchy, RecordedCrime, area_report, crime_change
from pbr.attribution import RULES, attribute, double_claims, split_statement, totals
from pbr.cli._app import app, progress, reported_errors
from pbr.cli._options import (
    Encoding,
    IdAsString,
    Separator,
    check_not_input,
    check_output,
    flag_terms,
    input_path,
    reading,
    shown,
)
from pbr.cli.measure import DEFAULT_PRESET, _spec
from pbr.errors import SchemaError, SpecError
from pbr.io._atomic import atomic_files
from pbr.io.db import is_database_uri
from pbr.iom import Membership, before_after


def _levels(text: str) -> list[str]:
    levels = [x.strip() for x in text.split(",") if x.strip()]
    if not levels:
        raise SpecError("--levels: give the hierarchy's level columns, lowest first, "
                        "separated by commas (e.g. --levels area,pcc_area,region)")
    return levels


def _table(path: Path | str, separator: str | None, encoding: str) -> pl.DataFrame:
    return io.read_table(path, separator=separator, encoding=encoding)


@app.command("attribute")
def attribute_command(
    ctx: typer.Context,
    cohort: Annotated[str, typer.Option(
        help="Cohort file or database URI: offender_id, index_date.")],
    spells: Annotated[str, typer.Option(
        help="Provider spells file or database URI: offender_id, provider, start, end "
             "(empty: open), role.")],
    rule: Annotated[str, typer.Option(
        help=f"Attribution rule: {', '.join(RULES)}.")] = "time_share",
    follow_up: Annotated[str | None, typer.Option(
        help="Follow-up window, e.g. '12 months' [default: the --preset's].")] = None,
    preset: Annotated[str | None, typer.Option(
        help=f"Measure preset whose window is used; default {DEFAULT_PRESET}.")] = None,
    values: Annotated[str | None, typer.Option(
        help="--rule shapley: a file of coalition values: pathway (providers joined by |), "
             "value.")] = None,
    uncovered: Annotated[str, typer.Option(
        help="time_share: window days under no provider go to 'unattributed' or are left "
             "out ('normalise').")] = "unattributed",
    explain: Annotated[list[str] | None, typer.Option(
        help="Print why an offender's shares are what they are (repeat).")] = None,
    statement: Annotated[str | None, typer.Option(
        help="A statement.csv of pbr pay: split each line between the providers by the "
             "shares of its cohort (needs --contract and --split-out).")] = None,
    contract: Annotated[Path | None, typer.Option(
        help="The statement's contract TOML (its rounding) and cohort column.")] = None,
    split_out: Annotated[Path | None, typer.Option(
        help="Write the split statement: line, cohort, component, provider, amount.")
    ] = None,
    out: Annotated[Path | None, typer.Option(
        help="Write the shares, one row per offender and provider (.csv, .parquet, "
             ".xlsx).")] = None,
    separator: Separator = None,
    encoding: Encoding = "utf-8",
    id_as_string: IdAsString = False,
) -> None:
    """Attribute each cohort member to the providers that worked with them.

    Example: pbr attribute --cohort cohort.csv --spells spells.csv --rule time_share
    --out shares.csv
    """
    step = progress(ctx)
    with reported_errors(), flag_terms():
        check_output(out, "--out", tuple(io.WRITE_FORMATS))
        check_not_input(out, "--out", {"--cohort": input_path(cohort),
                                       "--spells": input_path(spells)})
        check_output(split_out, "--split-out", tuple(io.WRITE_FORMATS))
        if len({statement is None, contract is None, split_out is None}) != 1:
            raise SpecError("--statement, --contract and --split-out go together")
        if rule not in RULES:
            raise SpecError(f"--rule: one of {', '.join(RULES)}, got {rule!r}")
        if (rule == "shapley") != (values is not None):
            raise SpecError("--values is read with --rule shapley, and --rule shapley needs "
                            "--values (a file of pathway, value)")
        read = reading(separator, encoding, None, id_as_string)
        step(f"reading {shown(cohort)} and {shown(spells)}")
        subjects = io.read_cohort(cohort, **read)
        sp = pbr.ProviderSpells.from_frame(_table(spells, read["separator"], encoding))
        value = None
        if values is not None:
            vt = _table(values, read["separator"], encoding)
            if not {"pathway", "value"} <= set(vt.columns):
                raise SchemaError(f"--values {values}: needs columns pathway and value; "
                                  f"has {', '.join(vt.columns)}")
            value = {frozenset(str(p).split("|")): float(v)
                     for p, v in vt.select("pathway", "value").rows()}
        window = follow_up or str(_spec(None, preset, None, False).follow_up)
        step(f"attributing ({rule})")
        a = attribute(subjects.data, sp, rule=rule, value=value,  # type: ignore[arg-type]
                      uncovered=uncovered, follow_up=window)  # type: ignore[arg-type]
        parts = None
        if statement is not None and contract is not None and split_out is not None:
            terms = io.read_contract(contract)
            lines = _statement_lines(statement, terms.rounding)
            parts = split_statement(lines, a, cohorts=subjects.data,
                                    cohort_column=terms.cohort_column)
        targets = [p for p in (out, split_out) if p is not None]
        if targets:
            with atomic_files(*targets) as staged:
                tables = ([a.frame] if out is not None else []) + (
                    [parts] if parts is not None else [])
                for table, path in zip(tables, staged, strict=True):
                    io.write_table(table, path)
    typer.echo(str(a))
    if parts is not None:
        typer.echo("\nthe statement split between providers:")
        for provider, amount, n in totals(parts).rows():
            typer.echo(f"  {provider:<24} {amount:>16} ({n} line parts)")
    for oid in explain or []:
        key: object = int(oid) if a.frame.schema["offender_id"].is_integer() else oid
        typer.echo(a.explain(key))
    for written in (out, split_out):
        if written is not None:
            typer.echo(f"wrote {written}")


@dataclass(frozen=True)
class _Lines:
    """The lines of a statement.csv, enough to split them (line, cohort, component,
    amount) and the contract's rounding."""

    lines: tuple[Any, ...]
    total: Decimal
    rounding: Any


def _statement_lines(path: str, rounding: Any) -> _Lines:
    if is_database_uri(path):  # a statement stored by pbr store / write_results
        stored = io.read_table(path)
        table = stored.with_columns(pl.col(c).cast(pl.String) for c in stored.columns)
    else:
        table = pl.read_csv(path, infer_schema=False)
    need = {"line", "cohort", "component", "amount"}
    if not need <= set(table.columns):
        raise SchemaError(f"--statement {path}: not a pbr statement.csv (it needs the columns "
                          f"{', '.join(sorted(need))}); give the statement.csv pbr pay wrote")
    rows: list[SimpleNamespace] = []
    for line, cohort, component, amount in table.select("line", "cohort", "component",
                                                         "amount").rows():
        try:
            value = Decimal(amount)
        except InvalidOperation:
            raise SchemaError(f"--statement {path}: line {line} has amount {amount!r}, not a "
                              "decimal amount") from None
        rows.append(SimpleNamespace(line=line, cohort=cohort or "", component=component,
                                    amount=value))
    return _Lines(tuple(rows), sum((r.amount for r in rows), Decimal(0)), rounding)


@app.command("crime-change")
def crime_change_command(
    crime: Annotated[str, typer.Option(
        help="Recorded crime file: area, period, count (and offence_group).")],
    population: Annotated[str, typer.Option(
        help="Population file: area, population (and period).")],
    baseline: Annotated[str, typer.Option(help="Baseline period, as in the period column.")],
    current: Annotated[str, typer.Option(help="Current period.")],
    hierarchy: Annotated[str | None, typer.Option(
        help="Area hierarchy file, one row per lowest unit (see --levels).")] = None,
    levels: Annotated[str | None, typer.Option(
        help="The hierarchy's level columns, lowest first, comma-separated.")] = None,
    level: Annotated[str | None, typer.Option(
        help="Roll the areas up to this level of --hierarchy.")] = None,
    by_group: Annotated[bool, typer.Option("--by-group",
                                           help="Keep offence groups apart.")] = False,
    per: Annotated[float, typer.Option(help="Rates per this many people.")] = 1000.0,
    out: Annotated[Path | None, typer.Option(help="Write the table.")] = None,
    separator: Separator = None,
    encoding: Encoding = "utf-8",
) -> None:
    """Change in recorded crime per area against a baseline period (exact Poisson).

    Example: pbr crime-change --crime crime.csv --population pop.csv --baseline 2019
    --current 2020
    """
    with reported_errors(), flag_terms():
        check_output(out, "--out", tuple(io.WRITE_FORMATS))
        check_not_input(out, "--out", {"--crime": input_path(crime),
                                       "--population": input_path(population),
                                       "--hierarchy": input_path(hierarchy)})
        if (hierarchy is None) != (levels is None) or (level is not None and hierarchy is None):
            raise SpecError("--hierarchy and --levels go together, and --level needs them")
        h = None if hierarchy is None else AreaHierarchy.from_frame(
            _table(hierarchy, separator, encoding), levels=_levels(levels or ""))
        rc = RecordedCrime.from_frames(_table(crime, separator, encoding),
                                       _table(population, separator, encoding))
        ch = crime_change(rc, baseline=baseline, current=current, hierarchy=h, level=level,
                          by_group=by_group, per=per)
        if out is not None:
            with atomic_files(out) as (staged,):
                io.write_table(ch.frame, staged)
    typer.echo(str(ch))
    if out is not None:
        typer.echo(f"wrote {out}")


@app.command("area-report")
def area_report_command(
    ctx: typer.Context,
    cohort: Annotated[str, typer.Option(help="Cohort file with an area column.")],
    events: Annotated[str, typer.Option(help="Proven-offence events file.")],
    hierarchy: Annotated[str, typer.Option(help="Area hierarchy file.")],
    levels: Annotated[str, typer.Option(
        help="The hierarchy's level columns, lowest first, comma-separated.")],
    level: Annotated[str, typer.Option(help="The level reported, e.g. pcc_area.")],
    unit: Annotated[str, typer.Option(help="The unit reported, e.g. 'PCC North'.")],
    area: Annotated[str, typer.Option(help="The cohort's area column.")] = "area",
    baseline_rate: Annotated[float | None, typer.Option(
        help="Compare the binary rate with this baseline (a proportion).")] = None,
    crime: Annotated[str | None, typer.Option(help="Recorded crime file.")] = None,
    population: Annotated[str | None, typer.Option(help="Population file.")] = None,
    baseline: Annotated[str | None, typer.Option(help="Crime baseline period.")] = None,
    current: Annotated[str | None, typer.Option(help="Crime current period.")] = None,
    preset: Annotated[str | None, typer.Option(
        help=f"Named preset; default {DEFAULT_PRESET}.")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Directory to write each section as CSV.")] = None,
    separator: Separator = None,
    encoding: Encoding = "utf-8",
    id_as_string: IdAsString = False,
) -> None:
    """The oversight view of one PCC area or region: cohort, measures, comparison,
    recorded crime.

    Example: pbr area-report --cohort c.csv --events e.csv --hierarchy areas.csv --levels
    area,pcc_area,region --level pcc_area --unit 'PCC North' --baseline-rate 0.3
    """
    step = progress(ctx)
    with reported_errors(), flag_terms():
        if (crime is None) != (population is None) or (crime is not None and (
                baseline is None or current is None)):
            raise SpecError("--crime needs --population, --baseline and --current")
        if out is not None and out.exists() and not out.is_dir():
            raise SchemaError(f"--out {out}: not a directory")
        read = reading(separator, encoding, None, id_as_string)
        h = AreaHierarchy.from_frame(_table(hierarchy, read["separator"], encoding),
                                     levels=_levels(levels))
        step(f"reading and measuring {cohort}")
        result = pbr.measure(io.read_cohort(cohort, **read), io.read_events(events, **read),
                             _spec(None, preset, None, False))
        rc = None if crime is None or population is None else RecordedCrime.from_frames(
            _table(crime, read["separator"], encoding),
            _table(population, read["separator"], encoding))
        rep = area_report(result, h, level=level, unit=unit, area=area,
                          comparator=baseline_rate, crime=rc, baseline=baseline,
                          current=current)
        if out is not None:
            names = list(rep.sections)
            with atomic_files(*[out / f"{n}.csv" for n in names]) as staged:
                for n, path in zip(names, staged, strict=True):
                    io.write_table(rep.sections[n], path)
    typer.echo(str(rep))
    if out is not None:
        typer.echo(f"wrote {len(rep.sections)} tables to {out}")


@app.command("iom")
def iom_command(
    ctx: typer.Context,
    membership: Annotated[str, typer.Option(
        help="IOM membership file: offender_id, entry, exit (empty: still a member), "
             "scheme.")],
    events: Annotated[str, typer.Option(help="Proven-offence events file.")],
    period: Annotated[str, typer.Option(
        help="Length of the window before entry (and after it with --after window).")
    ] = "12 months",
    after: Annotated[str, typer.Option(
        help="'window': the same length after entry; 'during': entry to exit, per 365 "
             "days.")] = "window",
    comparison: Annotated[str | None, typer.Option(
        help="Comparison group around pseudo entry dates (same columns as --membership): "
             "adds the difference in differences.")] = None,
    custody: Annotated[str | None, typer.Option(
        help="Custody spells file (offender_id, start_date, end_date): adds custody days."
    )] = None,
    as_of: Annotated[str | None, typer.Option(help="Data extract date YYYY-MM-DD.")] = None,
    preset: Annotated[str | None, typer.Option(
        help=f"Measure preset (proof, filters, weights); default {DEFAULT_PRESET}.")] = None,
    spec: Annotated[Path | None, typer.Option("--spec", help="Measure spec TOML file.")
                    ] = None,
    out: Annotated[Path | None, typer.Option(
        help="Write the per-person table (.csv, .parquet, .xlsx).")] = None,
    separator: Separator = None,
    encoding: Encoding = "utf-8",
    id_as_string: IdAsString = False,
) -> None:
    """IOM before and after: offending, harm and custody before entry against after.

    Example: pbr iom --membership iom.csv --events events.csv --period '12 months'
    --comparison matched.csv
    """
    step = progress(ctx)
    with reported_errors(), flag_terms():
        check_output(out, "--out", tuple(io.WRITE_FORMATS))
        check_not_input(out, "--out", {"--membership": input_path(membership),
                                       "--events": input_path(events),
                                       "--comparison": input_path(comparison)})
        if after not in ("window", "during"):
            raise SpecError(f"--after: 'window' or 'during', got {after!r}")
        read = reading(separator, encoding, None, id_as_string)
        measure_spec = _spec(spec, preset, None, False)
        step(f"reading {membership} and {events}")
        m = Membership.from_frame(_table(membership, read["separator"], encoding))
        ev = io.read_events(events, **read)
        comp = None if comparison is None else Membership.from_frame(
            _table(comparison, read["separator"], encoding))
        cust = None if custody is None else io.read_table(custody, separator=read["separator"],
                                                          encoding=encoding)
        step("measuring before and after entry")
        ba = before_after(m, ev, spec=measure_spec, period=period,
                          after=after,  # type: ignore[arg-type]
                          custody=cust, comparison=comp, as_of=as_of)
        if out is not None:
            with atomic_files(out) as (staged,):
                io.write_table(ba.frame, staged)
    typer.echo(str(ba))
    if out is not None:
        typer.echo(f"wrote {out}")


@app.command("double-claims")
def double_claims_command(
    claim: Annotated[list[str], typer.Option(
        help="NAME=FILE: a contract's cohort file (offender_id, index_date); give two or "
             "more.")],
    follow_up: Annotated[str, typer.Option(
        help="The contracts' follow-up window, e.g. '12 months'.")] = "12 months",
    out: Annotated[Path | None, typer.Option(help="Write the overlaps.")] = None,
    separator: Separator = None,
    encoding: Encoding = "utf-8",
    id_as_string: IdAsString = False,
) -> None:
    """Offenders whose outcome two contracts claim over overlapping follow-up windows.

    Exit code 0 with none found; 1 when some offender is claimed twice.

    Example: pbr double-claims --claim crc=crc_cohort.csv --claim iom=iom_cohort.csv
    """
    with reported_errors(), flag_terms():
        check_output(out, "--out", tuple(io.WRITE_FORMATS))
        cohorts: dict[str, Any] = {}
        for item in claim:
            name, sep, path = item.partition("=")
            if not sep or not name or not path:
                raise SpecError(f"--claim {item!r}: write NAME=FILE, e.g. --claim crc=c.csv")
            if name in cohorts:
                raise SpecError(f"--claim: the name {name!r} is given twice")
            cohorts[name] = io.read_cohort(path, **reading(
                separator, encoding, None, id_as_string)).data
        found = double_claims(cohorts, follow_up=follow_up)
        if out is not None:
            with atomic_files(out) as (staged,):
                io.write_table(found, staged)
    if found.height == 0:
        typer.echo(f"no offender is claimed by two contracts over overlapping windows "
                   f"({len(cohorts)} contracts)")
        return
    typer.echo(f"{found['offender_id'].n_unique():,} offender(s) claimed twice over "
               "overlapping windows:")
    with pl.Config(tbl_rows=20, tbl_hide_dataframe_shape=True,
                   tbl_hide_column_data_types=True):
        typer.echo(str(found.head(20)))
    if out is not None:
        typer.echo(f"wrote {out}")
    raise typer.Exit(1)
