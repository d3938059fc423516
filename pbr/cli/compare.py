"""``pbr compare`` (a cohort against its comparator) and ``pbr power`` (detectable change)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer

import pbr
from pbr import io
from pbr.cli._app import app, progress, reported_errors
from pbr.cli._options import (
    CourtEventId,
    DateFormat,
    DisposalDate,
    DisposalType,
    DisposalTypeMap,
    Encoding,
    IdAsString,
    IndexDate,
    KeepDuplicates,
    OffenceCategory,
    OffenceCode,
    OffenceDate,
    OffenderId,
    Separator,
    check_columns,
    check_not_input,
    check_output,
    cli_message,
    event_options,
    flag_terms,
    input_path,
    reading,
    shown,
)
from pbr.cli.measure import DEFAULT_PRESET, _spec
from pbr.errors import PbrError, SchemaError
from pbr.io._atomic import atomic_files


class Measure(StrEnum):
    """The measures of the registry (pbr.compare.MEASURES) and their short aliases."""

    binary = "binary"
    serious = "serious"
    frequency = "frequency"
    per_reoffender = "per_reoffender"
    severity = "severity"
    binary_rate = "binary_rate"
    serious_rate = "serious_rate"
    per_offender = "per_offender"
    per_100 = "per_100"
    severity_per_offender = "severity_per_offender"
    mean_days_to_first = "mean_days_to_first"


class Alternative(StrEnum):
    two_sided = "two-sided"
    less = "less"
    greater = "greater"


class Correction(StrEnum):
    none = "none"
    holm = "holm"
    bh = "bh"


def _comparator(result: pbr.MeasureResult, treated: str | None, comparison: Any,
                baseline: float | None, baseline_n: float | None, adjusted: str | None
                ) -> tuple[Any, Any]:
    """(cohort, comparator) from exactly one of the comparator options."""
    given = [treated is not None, comparison is not None, baseline is not None,
             adjusted is not None]
    if sum(given) != 1:
        raise typer.BadParameter("give exactly one comparator: --baseline, --adjusted, "
                                 "--comparison or --treated", param_hint="--baseline")
    if treated is not None:
        if treated not in result.frame.columns:
            raise typer.BadParameter(f"no column {treated!r} in the cohort",
                                     param_hint="--treated")
        flag = _flag_column(result.frame[treated])
        return result.frame.filter(flag), result.frame.filter(~flag)
    if comparison is not None:
        return result, comparison
    if baseline is not None:
        return result, baseline if baseline_n is None else (baseline, baseline_n)
    return result, adjusted


def _flag_column(s: pl.Series) -> pl.Series:
    """A --treated column as booleans: true/false, 1/0 or their text; else an error."""
    if s.dtype == pl.Boolean:
        flag = s
    elif s.dtype.is_integer() and bool(s.drop_nulls().is_in([0, 1]).all()):
        flag = s == 1
    else:
        text = s.cast(pl.String).str.strip_chars().str.to_lowercase()
        known = {"true": True, "false": False, "1": True, "0": False, "yes": True,
                 "no": False}
        odd = s.filter(text.is_not_null() & ~text.is_in(list(known)))
        if odd.len():
            shown = odd.cast(pl.String).unique(maintain_order=True).head(3).to_list()
            raise SchemaError(
                f"--treated {s.name}: the column holds {shown!r}; "
                "give a column of true/false (or 1/0): true for the cohort, false for the "
                "comparison group")
        flag = text.replace_strict(known, default=None, return_dtype=pl.Boolean)
    if flag.null_count():
        raise SchemaError(f"--treated {s.name}: {flag.null_count():,} row(s) are empty; "
                          "every row must be true (cohort) or false (comparison group)")
    return flag


#: pbr.compare's scheme arguments as its messages write them -> ``pbr compare``'s flags
_FLAGS = {"min_n": "--min-n", "level": "--level", "alternative": "--alternative",
          "spec": "--scheme", "method": "--method", "measure": "--measure"}
_SCHEME_TERMS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(min_n|level|alternative|spec|method|measure): "), "{}: "),
    (re.compile(r"\bleave (min_n|level|alternative|method) out"), "leave {} out"),
    (re.compile(r"\blevel=(?=\d)"), "{} "),
)
_SCHEME_WORDS = (("pass min_n= and level= instead", "pass --min-n and --level instead"),
                 ("(e.g. 'justice_data_lab')", "(e.g. --scheme justice_data_lab)"),
                 (" spec's min_n ", " scheme's minimum n of "), (" spec's ", " scheme's "),
                 ("or change the spec", "or choose another --scheme"),
                 ("unknown scheme ", "--scheme: unknown scheme "),
                 ("comparator: the ", "--scheme: the "),
                 ("a comparison group (MeasureResult or frame) or a pbr.MatchResult",
                  "a comparison group (--treated or --comparison)"),
                 ("a baseline value or pbr.risk.Baseline", "a baseline (--baseline)"),
                 ("a case-mix model (pbr.risk.CaseMixModel), a Baseline with model=, or a "
                  "column of expected values", "expected values (--adjusted)"),
                 ("a comparison group with before= and comparator_before=",
                  "before and after periods of a cohort and a comparison group (a "
                  "difference in differences: use pbr.compare(..., before=, "
                  "comparator_before=) in Python)"),
                 ("got a baseline;", "got --baseline;"),
                 ("got a comparison group;", "got a comparison group;"),
                 ("pass that, or a spec of another kind", "pass that, or choose another "
                  "--scheme"), (" spec compares ", " scheme compares "))


def scheme_message(text: str) -> str:
    """pbr.compare's message about ``min_n``, ``level``, ``alternative`` or ``spec`` in the
    terms of ``pbr compare``'s flags (``--min-n``, ``--level``, ``--alternative``,
    ``--scheme``).

    Examples
    --------
    >>> print(scheme_message("min_n: 30 contradicts the justice_data_lab spec's min_n 60; "
    ...                      "leave min_n out, or change the spec"))
    --min-n: 30 contradicts the justice_data_lab scheme's minimum n of 60; leave --min-n out, or choose another --scheme
    """  # noqa: E501
    for pattern, repl in _SCHEME_TERMS:
        def flag(m: re.Match[str], r: str = repl) -> str:
            return r.format(_FLAGS[m.group(1)] if m.groups() else "--level")
        text = pattern.sub(flag, text)
    for old, new in _SCHEME_WORDS:
        text = text.replace(old, new)
    return re.sub(r"\bthe (\w+) spec has no", r"the \1 scheme has no", text)


@contextmanager
def _scheme_terms() -> Iterator[None]:
    """Re-raise pbr.compare's errors about its scheme arguments in flag terms."""
    try:
        yield
    except PbrError as exc:
        exc.args = (scheme_message(str(exc)),)
        raise


@app.command()
def compare(
    ctx: typer.Context,
    cohort: Annotated[str, typer.Option(
        help="Cohort file (.csv, .parquet, .xlsx) or database URI: offender_id, index_date, "
             "grouping columns (and a treatment flag with --treated).")],
    events: Annotated[str, typer.Option(
        help="Proven-offence events file or database URI.")],
    baseline: Annotated[float | None, typer.Option(
        help="Fixed baseline: the rate as a proportion (0.43) or the mean per offender.")
    ] = None,
    baseline_n: Annotated[float | None, typer.Option(
        help="Size of the cohort the baseline was measured on (adds its variance).")
    ] = None,
    adjusted: Annotated[str | None, typer.Option(
        help="Adjusted baseline: cohort column of expected values (predicted rates).")
    ] = None,
    comparison: Annotated[str | None, typer.Option(
        help="Comparison-group cohort file or database URI, measured with the same "
             "spec.")] = None,
    comparison_events: Annotated[str | None, typer.Option(
        help="Events of the comparison group [default: --events].")] = None,
    treated: Annotated[str | None, typer.Option(
        help="Boolean column of --cohort: true rows are the cohort, false rows the "
             "comparison group.")] = None,
    weights: Annotated[str | None, typer.Option(
        help="Column of the comparison group's weights (e.g. matching weights).")] = None,
    measure: Annotated[Measure, typer.Option(help="Measure compared.")] = Measure.binary,
    method: Annotated[str | None, typer.Option(
        help="binary: normal, newcombe, exact, bootstrap; means: welch, poisson, negbin, "
             "bootstrap.")] = None,
    variance: Annotated[str | None, typer.Option(
        help="normal method's variance: cohort, both or null.")] = None,
    level: Annotated[float | None, typer.Option(
        help="Confidence level [default: 0.95, or the --scheme's].")] = None,
    alternative: Annotated[Alternative | None, typer.Option(
        help="two-sided, or one-sided: less (a reduction) / greater [default: two-sided, "
             "or the --scheme's].")] = None,
    min_n: Annotated[int | None, typer.Option(
        "--min-n", min=0, help="Smallest group on which a conclusion is drawn: a smaller group "
        "keeps its figures but is 'not assessed' [default: none, or the --scheme's: 60 "
        "for justice_data_lab].")] = None,
    scheme: Annotated[str | None, typer.Option(
        help="Scheme whose comparison rules apply (minimum n, level, sides), e.g. "
             "justice_data_lab; see pbr schemes.")] = None,
    by: Annotated[list[str] | None, typer.Option(
        help="Compare within groups of this column (repeat for several).")] = None,
    correction: Annotated[Correction, typer.Option(
        help="Multiple-comparison correction across groups.")] = Correction.none,
    clusters: Annotated[str | None, typer.Option(
        help="Matched-set column for the cluster bootstrap.")] = None,
    seed: Annotated[int, typer.Option(min=0, help="Bootstrap seed.")] = 0,
    n_resamples: Annotated[int, typer.Option(help="Bootstrap replicates.")] = 2000,
    spec: Annotated[Path | None, typer.Option("--spec", help="Measure spec TOML file.")
                    ] = None,
    preset: Annotated[str | None, typer.Option(
        help=f"Named preset; default {DEFAULT_PRESET}.")] = None,
    as_of: Annotated[str | None, typer.Option(help="Data extract date YYYY-MM-DD.")] = None,
    interim: Annotated[bool, typer.Option("--interim", help="Interim measure.")] = False,
    out: Annotated[Path | None, typer.Option(
        help="Write the comparison table (.csv, .parquet, .xlsx).")] = None,
    offender_id: OffenderId = "offender_id",
    index_date: IndexDate = "index_date",
    offence_date: OffenceDate = "offence_date",
    disposal_date: DisposalDate = "disposal_date",
    disposal_type: DisposalType = "disposal_type",
    offence_code: OffenceCode = "offence_code",
    offence_category: OffenceCategory = None,
    court_event_id: CourtEventId = None,
    separator: Separator = None,
    encoding: Encoding = "utf-8",
    date_format: DateFormat = None,
    id_as_string: IdAsString = False,
    disposal_type_map: DisposalTypeMap = None,
    keep_duplicates: KeepDuplicates = False,
) -> None:
    """Compare a cohort's reoffending with a baseline or a comparison group.

    Prints the comparison table and the Justice Data Lab style sentence ("for every 100
    typical people ...") for each group.

    Example: pbr compare --cohort cohort.parquet --events events.parquet --baseline 0.43
    --by provider --correction holm
    """
    step = progress(ctx)
    keys = list(by or [])
    with reported_errors(), flag_terms():
        check_output(out, "--out", tuple(io.WRITE_FORMATS))
        check_not_input(out, "--out", {"--cohort": input_path(cohort),
                                       "--events": input_path(events),
                                       "--comparison": input_path(comparison),
                                       "--comparison-events": input_path(comparison_events)})
        measure_spec = _spec(spec, preset, as_of, interim)
        read = reading(separator, encoding, date_format, id_as_string)
        cohort_roles: dict[str, Any] = {"offender_id": offender_id,
                                        "index_date": index_date}
        event_roles: dict[str, Any] = {
            "offender_id": offender_id, "offence_date": offence_date,
            "disposal_date": disposal_date, "disposal_type": disposal_type,
            "offence_code": offence_code, "offence_category": offence_category,
            "court_event_id": court_event_id,
            **event_options(disposal_type_map, keep_duplicates)}
        step(f"reading {shown(cohort)} and {shown(events)}")
        subjects = io.read_cohort(cohort, **cohort_roles, **read)
        columns = subjects.data.columns
        check_columns(columns, keys, "--by")
        for flag, column in (("--treated", treated), ("--adjusted", adjusted),
                             ("--clusters", clusters)):
            check_columns(columns, None if column is None else [column], flag)
        if comparison is None:
            check_columns(columns, None if weights is None else [weights], "--weights")
        for flag, column in (("--adjusted", adjusted), ("--weights", weights)):
            if column in columns and not subjects.data.schema[column].is_numeric():
                raise SchemaError(
                    f"{flag} {column}: the column holds "
                    f"{subjects.data[column].cast(pl.String).head(2).to_list()!r}, not "
                    f"numbers. Fix: give {flag} a column of "
                    + ("expected rates (proportions)" if flag == "--adjusted" else "weights"))
        ev = io.read_events(events, **event_roles, **read)
        result = pbr.measure(subjects, ev, measure_spec)
        other = None
        if comparison is not None:
            step(f"reading and measuring {shown(comparison)}")
            other_events = ev if comparison_events is None else io.read_events(
                comparison_events, **event_roles, **read)
            other_cohort = io.read_cohort(comparison, **cohort_roles, **read)
            check_columns(other_cohort.data.columns, None if weights is None else [weights],
                          "--weights", "comparison group")
            other = pbr.measure(other_cohort, other_events, measure_spec)
        subject, comparator = _comparator(result, treated, other, baseline, baseline_n,
                                          adjusted)
        step(f"comparing ({measure.value})")
        with _scheme_terms():
            res = pbr.compare(subject, comparator, measure=measure.value, method=method,
                              variance=variance, level=level,
                              alternative=None if alternative is None else alternative.value,
                              weights=weights, by=keys or None,
                              correction=None if correction is Correction.none
                              else correction.value, clusters=clusters, seed=seed,
                              n_resamples=n_resamples, min_n=min_n, spec=scheme)
        written = None
        if out is not None:
            with atomic_files(out) as (staged,):
                io.write_table(res.frame, staged)
            written = out
    def said(text: str) -> str:   # the rule a group fell below, as the flag that set it
        return text if min_n is None else text.replace(f"(min_n={min_n})", f"(--min-n {min_n})")

    typer.echo(said(cli_message(str(res))))
    if keys:
        typer.echo("")
        for key in res.frame.select(keys).rows():
            label = ", ".join(f"{k}={v}" for k, v in zip(keys, key, strict=True))
            typer.echo(f"{label}: {said(res.jdl_text(key if len(key) > 1 else key[0]))}")
    if written is not None:
        typer.echo(f"\nWrote\n  {written} ({res.frame.height} rows)")


@app.command()
def power(
    volume: Annotated[list[str] | None, typer.Option(
        help="AREA=N: cohort size of a contract area (repeat for several).")] = None,
    volumes: Annotated[str | None, typer.Option(
        help="Table of areas (a file or database URI): columns area, n (and binary_rate).")
    ] = None,
    binary_rate: Annotated[float, typer.Option(
        help="Baseline reoffending rate, a proportion.")] = 0.45,
    per_offender: Annotated[float | None, typer.Option(
        help="Baseline reoffences per offender (adds the frequency measure).")] = None,
    dispersion: Annotated[float, typer.Option(
        help="Negative binomial dispersion of reoffences (0: Poisson).")] = 0.0,
    ratio: Annotated[float | None, typer.Option(
        help="Comparison group size per cohort member [default: a fixed baseline].")
    ] = None,
    level: Annotated[float, typer.Option(help="Confidence level of the test.")] = 0.95,
    target_power: Annotated[float, typer.Option("--power", help="Power.")] = 0.8,
    alternative: Annotated[Alternative, typer.Option(
        help="two-sided or one-sided test.")] = Alternative.two_sided,
    target_change: Annotated[float | None, typer.Option(
        help="Also the cohort size to detect this change in the rate (e.g. -0.05).")
    ] = None,
    target_ratio: Annotated[float | None, typer.Option(
        help="Also the cohort size to detect this rate ratio (e.g. 0.9).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the table (.csv, .xlsx).")] = None,
) -> None:
    """Minimum detectable change per contract area (and the cohort size needed).

    Example: pbr power --volume North=400 --volume South=4000 --binary-rate 0.45
    --per-offender 1.5 --dispersion 1.2
    """
    with reported_errors(), flag_terms():
        check_output(out, "--out", tuple(io.WRITE_FORMATS))
        if (volume is None) == (volumes is None):
            raise typer.BadParameter("give --volume AREA=N (repeatable) or --volumes FILE",
                                     param_hint="--volume")
        if volumes is not None:
            table: Any = io.read_table(volumes)
            missing = [c for c in ("area", "n") if c not in table.columns]
            if missing:
                raise SchemaError(
                    f"--volumes {volumes}: no column(s) {', '.join(map(repr, missing))}; "
                    f"columns: {', '.join(table.columns[:30])}. Fix: give a table with "
                    "columns area and n (and binary_rate), one row per contract area")
        else:
            table = {}
            for item in volume or []:
                area, _, n = item.partition("=")
                if not n.strip().replace(".", "", 1).isdigit():
                    raise typer.BadParameter(f"expected AREA=N, got {item!r}",
                                             param_hint="--volume")
                table[area.strip()] = float(n)
        frame = pbr.stats.power_table(
            table, binary_rate=binary_rate, per_offender=per_offender, dispersion=dispersion,
            ratio=ratio, level=level, power=target_power, alternative=alternative.value,
            target_change=target_change, target_ratio=target_ratio)
        written = None
        if out is not None:
            with atomic_files(out) as (staged,):
                io.write_table(frame, staged)
            written = out
    design = "fixed baseline" if ratio is None else f"comparison group {ratio:g} per member"
    typer.echo(f"Minimum detectable change ({design}; {level:.0%} {alternative.value} test, "
               f"power {target_power:.0%}; decreases)")
    cols = [c for c in frame.columns if c != "area"]
    head = ["area", *cols]
    body = [[str(r["area"]), *("-" if r[c] is None else
                              f"{r[c]:,.0f}" if c.startswith("n") else f"{r[c]:.3f}"
                              for c in cols)] for r in frame.iter_rows(named=True)]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    typer.echo("  ".join(h.rjust(w) for h, w in zip(head, widths, strict=True)))
    for b in body:
        typer.echo("  ".join(v.rjust(w) for v, w in zip(b, widths, strict=True)))
    typer.echo("(mde_binary_pp in percentage points; the other rates and relative changes "
               "are proportions)")
    if written is not None:
        typer.echo(f"\nWrote\n  {written}")
