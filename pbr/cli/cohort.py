"""``pbr cohort`` (build a cohort from disposals) and ``pbr synth-disposals``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer

import pbr
from pbr import io
from pbr.cli._app import ROLES, OnInvalid, app, progress, reported_errors
from pbr.cli._options import (
    DateFormat,
    DisposalDate,
    DisposalType,
    Encoding,
    IdAsString,
    OffenderId,
    Separator,
    check_not_input,
    check_output,
    check_toml,
    flag_terms,
    input_path,
    reading,
    shown,
)
from pbr.cohort.rule import CohortRule
from pbr.cohort.synth import generate_disposals
from pbr.errors import SpecError
from pbr.io._atomic import atomic_files
from pbr.spec import parse_date


def _rule(rule_file: Path | None, preset: str | None, start: str | None,
          n_periods: int | None) -> CohortRule:
    if rule_file is not None and preset is not None:
        raise typer.BadParameter("give --rule or --preset, not both", param_hint="--rule")
    if rule_file is not None:
        check_toml(rule_file, "--rule")
        rule = CohortRule.from_toml(rule_file)
    elif preset is not None:
        from pbr.schemes import available_schemes, scheme

        if preset not in available_schemes():
            raise SpecError(f"unknown preset {preset!r}; available: "
                            f"{', '.join(available_schemes())}")
        rule = scheme(preset).cohort
    else:
        rule = CohortRule(name="moj_default")
    changes: dict[str, Any] = {}
    if start is not None:
        try:
            changes["start"] = parse_date(start.strip()).isoformat()
        except ValueError:
            raise SpecError(f"--start {start}: not a date. Fix: give it as YYYY-MM-DD, e.g. "
                            "--start 2018-01-01") from None
    if n_periods is not None:
        changes["n_periods"] = n_periods
    return rule.replace(**changes) if changes else rule


def _roles(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        role, sep, column = pair.partition("=")
        if not sep or not role or not column:
            raise typer.BadParameter(f"write ROLE=COLUMN, e.g. date_of_birth=dob; got {pair!r}",
                                     param_hint="--role")
        if role.strip() in ("offender_id", "disposal_date", "disposal_type"):
            flag = "--" + role.strip().replace("_", "-")
            raise typer.BadParameter(f"{role.strip()} has its own option: pass {flag} "
                                     f"{column.strip()}", param_hint="--role")
        out[role.strip()] = column.strip()
    return out


@app.command()
def cohort(
    ctx: typer.Context,
    disposals: Annotated[str, typer.Option(
        help="Disposals file (.csv, .parquet, .xlsx) or database URI: offender_id, disposal_date, "
             "disposal_type, release_date, ...")],
    out: Annotated[Path, typer.Option(
        help="Cohort output (.csv, .parquet, .xlsx): one row per person and period, "
             "ready for `pbr measure --cohort`.")],
    rule: Annotated[Path | None, typer.Option(
        "--rule", help="Cohort rule TOML file (its cohort table; a scheme file works).")]
    = None,
    preset: Annotated[str | None, typer.Option(
        help="Scheme preset whose cohort rule to use (e.g. peterborough_sib); default the "
             "MoJ rules.")] = None,
    start: Annotated[str | None, typer.Option(
        help="Override the rule's start date, YYYY-MM-DD.")] = None,
    n_periods: Annotated[int | None, typer.Option(
        min=1, help="Override the rule's number of periods.")] = None,
    on_invalid: Annotated[OnInvalid, typer.Option(
        help="Invalid rows: stop with an error, or leave them out (in the ledger).")]
    = OnInvalid.raise_,
    ledger_out: Annotated[Path | None, typer.Option(
        help="Also write the row-level ledger (row, rule, reason) of rows not used.")]
    = None,
    explain: Annotated[list[str] | None, typer.Option(
        help="Explain why each disposal of this offender was used or not (repeatable).")]
    = None,
    offender_id: OffenderId = "offender_id",
    disposal_date: DisposalDate = "disposal_date",
    disposal_type: DisposalType = "disposal_type",
    role: Annotated[list[str] | None, typer.Option(
        rich_help_panel=ROLES,
        help="Optional role's column as ROLE=COLUMN, e.g. release_date=discharged "
             "(repeatable).")] = None,
    separator: Separator = None,
    encoding: Encoding = "utf-8",
    date_format: DateFormat = None,
    id_as_string: IdAsString = False,
) -> None:
    """Build a cohort of index events from disposal records; print the ledger by reason.

    Example: pbr cohort --disposals disposals.parquet --preset peterborough_sib
    --start 2018-01-01 --out cohort.parquet
    """
    step = progress(ctx)
    with reported_errors(), flag_terms():
        check_output(out, "--out", tuple(io.WRITE_FORMATS))
        check_output(ledger_out, "--ledger-out", tuple(io.WRITE_FORMATS))
        check_not_input(out, "--out", {"--disposals": input_path(disposals)})
        check_not_input(ledger_out, "--ledger-out", {"--disposals": input_path(disposals)})
        cohort_rule = _rule(rule, preset, start, n_periods)
        mode: Literal["raise", "exclude"] = (
            "exclude" if on_invalid is OnInvalid.exclude else "raise")
        step(f"reading {shown(disposals)}")
        table = io.read_disposals(disposals, offender_id=offender_id,
                                  disposal_date=disposal_date, disposal_type=disposal_type,
                                  on_invalid=mode, **_roles(role or []),
                                  **reading(separator, encoding, date_format, id_as_string))
        step(f"building the cohort from {table.n:,} disposals ({cohort_rule.name})")
        built = pbr.build_cohort(table, cohort_rule)
        periods = built.summary(by="period")
        lines = [str(built), "", "People per period"]
        lines += [f"  {p:<28}{n:>12,}" for p, n in periods.iter_rows()]
        for who in explain or []:
            lines += ["", built.explain(who)]
        step(f"writing {out}")
        led = built.exclusions.to_frame()
        targets = [out] if ledger_out is None else [out, ledger_out]
        with atomic_files(*targets) as staged:  # both files, or neither
            io.write_table(built.frame, staged[0])
            if ledger_out is not None:
                io.write_table(led, staged[1])
        written = [f"cohort: {out} ({built.frame.height:,} rows)"]
        if ledger_out is not None:
            written.append(f"ledger: {ledger_out} ({led.height:,} rows)")
    typer.echo("\n".join(lines))
    typer.echo("\nWrote\n" + "\n".join(f"  {w}" for w in written))


@app.command("synth-disposals")
def synth_disposals(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Disposals file to write (.csv, .parquet).")],
    n: Annotated[int, typer.Option("--n", min=1, help="Number of people.")] = 20_000,
    seed: Annotated[int, typer.Option(min=0, help="Random seed: same seed, same file.")] = 0,
    start: Annotated[str, typer.Option(help="First possible disposal date.")] = "2018-01-01",
) -> None:
    """Write seeded synthetic disposal records (input for `pbr cohort`)."""
    step = progress(ctx)
    with reported_errors(), flag_terms():
        check_output(out, "--out", tuple(io.WRITE_FORMATS))
        try:
            first = parse_date(start)
        except ValueError:
            raise typer.BadParameter(f"expected YYYY-MM-DD, got {start!r}",
                                     param_hint="--start") from None
        step(f"generating disposals of {n:,} people (seed {seed})")
        df = generate_disposals(n, seed=seed, start=first)
        with atomic_files(out) as (staged,):
            io.write_table(df, staged)
        path = out
    typer.echo(f"Synthetic disposals: {n:,} people, {df.height:,} rows, seed {seed}: {path}")
