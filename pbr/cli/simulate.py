"""``pbr simulate``: a contract's payments simulated before anyone signs.

Draws replicates of the contract's cohorts from a population (synthetic, or a file with
each offender's risk and frequency) under one or several true effects and provider
behaviours, pays them under the contract (and any other designs given with
``--design``), and writes the tables (Parquet, CSV or Excel), the plots (PNG or SVG)
and a manifest into ``--out``, all or nothing.  Method: docs/methodology/simulation.md.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer

from pbr import io
from pbr.cli._app import app, reported_errors
from pbr.cli._options import shown
from pbr.errors import PeriodError, SchemaError, SpecError
from pbr.io._atomic import atomic_files
from pbr.io.db import is_database_uri
from pbr.period import Period

__all__ = ["parse_behaviour", "parse_effect", "simulate_command"]

_FORMATS = ("parquet", "csv", "xlsx")
_PLOTS = ("png", "svg", "none")
_EXCEL_ROWS = 1_048_575


def parse_effect(text: str) -> Any:
    """``none`` or ``p=0.10[,frequency=0.05][,name=LABEL]`` as an :class:`Effect`.

    Examples
    --------
    >>> parse_effect("p=0.1,frequency=0.05").label
    'p 10%, frequency 5%'
    """
    from pbr.simulate import Effect
    t = text.strip()
    if t.lower() == "none":
        return Effect.none()
    values: dict[str, Any] = {}
    for part in t.split(","):
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in ("p", "frequency", "name"):
            raise typer.BadParameter(f"write none or p=0.10,frequency=0.05 (keys p, frequency, "
                                     f"name); got {text!r}", param_hint="--effect")
        if key == "name":
            values[key] = value.strip()
            continue
        try:
            values[key] = float(value)
        except ValueError:
            raise typer.BadParameter(f"{key}={value!r} is not a number (0.10 for 10%)",
                                     param_hint="--effect") from None
    try:
        return Effect(**values)
    except SpecError as exc:
        raise typer.BadParameter(str(exc), param_hint="--effect") from None


def parse_behaviour(text: str) -> Any:
    """``none``, ``parking``, ``cherry-picking=0.8`` or ``creaming=0.5``.

    Examples
    --------
    >>> parse_behaviour("cherry-picking=0.8").label
    'cherry-picking 80%'
    """
    from pbr.simulate import Behaviour
    kind, sep, share = text.strip().partition("=")
    kind = kind.strip().lower().replace("-", "_")
    try:
        if kind in ("none", "parking") and not sep:
            return Behaviour(kind)
        if kind in ("cherry_picking", "creaming") and sep:
            return Behaviour(kind, float(share))
    except (SpecError, ValueError) as exc:
        raise typer.BadParameter(f"{text!r}: {exc}", param_hint="--behaviour") from None
    raise typer.BadParameter(f"write none, parking, cherry-picking=SHARE or creaming=SHARE "
                             f"(SHARE from 0 to 1, e.g. 0.8); got {text!r}",
                             param_hint="--behaviour")


def _population(source: str, contract: Any, areas: int, size: int, rate: float,
                per_reoffender: float, theta: float, seed: int) -> Any:
    from pbr.simulate import Population
    if source == "synthetic":
        labels = [p.name for p in contract.periods] or 4
        try:
            return Population.synthetic(areas=areas, cohorts=labels, size=size, rate=rate,
                                        per_reoffender=per_reoffender, theta=theta, seed=seed)
        except SpecError as exc:
            raise typer.BadParameter(str(exc), param_hint="--population") from None
    if is_database_uri(source):  # a database table or query (pbr.io.db)
        frame = io.read_table(source)
        return Population.from_frame(frame, source=f"database {shown(source)}")
    path = Path(source)
    if not path.is_file():
        raise typer.BadParameter(f"{source!r}: give 'synthetic' or a population file (.csv, "
                                 ".parquet, .xlsx; or a database URI) with offender_id, area, "
                                 "cohort, p, mu, theta", param_hint="--population")
    frame = io.read_table(path)
    return Population.from_frame(frame, source=f"file {path.name}")


def _decimal(text: str | None, flag: str) -> Any:
    from decimal import Decimal, InvalidOperation
    if text is None:
        return Decimal(0)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise typer.BadParameter(f"{text!r} is not an amount (e.g. 250.00)",
                                 param_hint=flag) from None
    if not value.is_finite() or value < 0:
        raise typer.BadParameter(f"{text!r}: an amount >= 0", param_hint=flag)
    return value


@app.command("simulate")
def simulate_command(
    ctx: typer.Context,
    contract: Annotated[Path, typer.Argument(help="Contract TOML file.")],
    out: Annotated[Path, typer.Option(help="Directory for the tables, plots and manifest.")],
    population: Annotated[str, typer.Option(
        help="'synthetic' (with --areas, --size, --rate, --per-reoffender, --theta; cohorts "
             "are the contract's periods) or a file (.csv, .parquet, .xlsx) with "
             "offender_id, area, cohort, p, mu, theta.")] = "synthetic",
    effect: Annotated[list[str] | None, typer.Option(
        help="True effect: none or p=0.10,frequency=0.05 (repeatable; default none and "
             "p=0.10).")] = None,
    behaviour: Annotated[list[str] | None, typer.Option(
        help="Provider behaviour: none, parking, cherry-picking=0.8, creaming=0.5 "
             "(repeatable; default none).")] = None,
    design: Annotated[list[str] | None, typer.Option(
        help="Another contract design to compare on the same replicates: NAME=FILE.toml "
             "(repeatable).")] = None,
    n_sims: Annotated[int, typer.Option("--n-sims", help="Replicates.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Seed of the replicates.")] = 0,
    no_casemix: Annotated[bool, typer.Option(
        "--no-casemix", help="Compare with the fixed baseline, not one adjusted for the "
        "case mix of the cohort drawn.")] = False,
    areas: Annotated[int, typer.Option(help="Synthetic: contract areas.")] = 21,
    size: Annotated[int, typer.Option(help="Synthetic: offenders per area and cohort.")] = 5000,
    rate: Annotated[float, typer.Option(help="Synthetic: mean probability of reoffending.")
                    ] = 0.45,
    per_reoffender: Annotated[float, typer.Option(
        help="Synthetic: reoffences per reoffender.")] = 3.0,
    theta: Annotated[float, typer.Option(
        help="Synthetic: negative binomial shape of later reoffences.")] = 1.0,
    population_seed: Annotated[int, typer.Option(help="Synthetic: seed of the areas.")] = 0,
    reporting_lag: Annotated[str | None, typer.Option(
        help="Time from the waiting period's end to payment, e.g. '3 months' (default: the "
             "contract's reporting_lag).")] = None,
    cost_per_offender: Annotated[str | None, typer.Option(
        help="Provider's cost per offender, spread over the cohort's months.")] = None,
    cost_per_month: Annotated[str | None, typer.Option(
        help="Provider's running cost per month of service.")] = None,
    cost_per_cohort: Annotated[str | None, typer.Option(
        help="Provider's cost per cohort, spread over its months.")] = None,
    marginal_replicates: Annotated[int, typer.Option(
        help="Replicates used for the marginal payment.")] = 1000,
    format: Annotated[str, typer.Option(help="Tables: parquet, csv or xlsx.")] = "parquet",
    plots: Annotated[str, typer.Option(help="Plots: png, svg or none.")] = "png",
) -> None:
    """Simulate a contract's payments; write tables, plots and a manifest (all or nothing).

    Example: pbr simulate contract.toml --effect none --effect p=0.1 --behaviour none
    --behaviour parking --n-sims 10000 --seed 1 --out sim/
    """
    from pbr.simulate import simulate
    from pbr.simulate.cashflow import ServiceCosts, cash_flows, payments_by_date
    from pbr.simulate.marginal import marginal_payment

    quiet = bool((ctx.obj or {}).get("quiet", False))
    if format not in _FORMATS:
        raise typer.BadParameter(f"{format!r}: one of {', '.join(_FORMATS)}",
                                 param_hint="--format")
    if plots not in _PLOTS:
        raise typer.BadParameter(f"{plots!r}: one of {', '.join(_PLOTS)}", param_hint="--plots")
    if n_sims < 1:
        raise typer.BadParameter(f"{n_sims}: at least 1", param_hint="--n-sims")
    if marginal_replicates < 1:
        raise typer.BadParameter(f"{marginal_replicates}: at least 1",
                                 param_hint="--marginal-replicates")
    if out.exists() and not out.is_dir():
        raise typer.BadParameter(f"{out} is a file; give a directory", param_hint="--out")
    if reporting_lag is not None:
        try:
            Period.parse(reporting_lag)
        except PeriodError as exc:
            raise typer.BadParameter(f"{reporting_lag!r}: {exc}",
                                     param_hint="--reporting-lag") from None
    effects = [parse_effect(e) for e in (effect or ["none", "p=0.10"])]
    behaviours = [parse_behaviour(b) for b in (behaviour or ["none"])]
    costs_given = {k: _decimal(v, f"--cost-{k.replace('_', '-')}") for k, v in (
        ("per_offender", cost_per_offender), ("per_month", cost_per_month),
        ("per_cohort", cost_per_cohort))}
    with reported_errors(), _Steps(quiet) as step:
        step("reading the contract(s)")
        main = io.read_contract(contract)
        designs = {main.name: main}
        for d in design or []:
            name, sep, path = d.partition("=")
            if not sep or not name.strip() or not path.strip():
                raise typer.BadParameter(f"write NAME=FILE.toml; got {d!r}",
                                         param_hint="--design")
            if name.strip() in designs:
                raise typer.BadParameter(f"design name {name.strip()!r} repeats",
                                         param_hint="--design")
            designs[name.strip()] = io.read_contract(Path(path.strip()))
        pop = _population(population, main, areas, size, rate, per_reoffender, theta,
                          population_seed)
        if format == "xlsx":
            _check_excel(designs, pop, n_sims * len(designs) * len(effects) * len(behaviours))
        step(f"simulating {n_sims:,} replicates x {len(effects)} effect(s) x "
             f"{len(behaviours)} behaviour(s) x {len(designs)} design(s)")
        res = simulate(designs if len(designs) > 1 else main, pop, effect=effects,
                       behaviour=behaviours, n_sims=n_sims, seed=seed,
                       casemix=not no_casemix, progress=step.draws)
        step("marginal payment per prevented reoffence")
        mp = marginal_payment(res, replicates=marginal_replicates)
        step("cash flows")
        costs = ServiceCosts(**costs_given)
        flows = {name: cash_flows(c, res.frame.filter(pl.col("design") == name), costs,
                                  reporting_lag=reporting_lag)
                 for name, c in designs.items()}
        schedule = pl.concat([payments_by_date(c, res.frame.filter(pl.col("design") == name),
                                               reporting_lag=reporting_lag)
                              for name, c in designs.items()])
        tables: dict[str, pl.DataFrame] = {
            "outcomes": res.frame, "summary": res.summary(),
            "operating_characteristic": res.operating_characteristic(),
            "marginal_by_decile": mp.deciles, "marginal_by_cohort": mp.cells,
            "payments_by_date": schedule,
            "working_capital": pl.concat([f.summary() for f in flows.values()]),
        }
        if any(b.kind == "none" for b in behaviours) and len(behaviours) > 1:
            tables["gaming"] = res.gaming()
        figures: dict[str, Any] = {}
        if plots != "none":
            step("plots")
            figures = _figures(res, mp, next(iter(flows.values())))
        step(f"writing {out}")
        names = [f"{k}.{format}" for k in tables] + [f"{k}.{plots}" for k in figures]
        targets = [out / n for n in names] + [out / "manifest.json"]
        with atomic_files(*targets) as staged:
            for frame, target in zip(tables.values(), staged, strict=False):
                io.write_table(frame, target)
            for fig, target in zip(figures.values(), staged[len(tables):], strict=False):
                _save_figure(fig, target)
            outputs = {n: hashlib.sha256(p.read_bytes()).hexdigest()
                       for n, p in zip(names, staged, strict=False)}
            manifest = {**res.manifest, "outputs_sha256": outputs,
                        "marginal": mp.provenance,
                        "cash_flows": {k: f.provenance for k, f in flows.items()},
                        "notes": [*res.notes, *mp.notes,
                                  *sorted({n for f in flows.values() for n in f.notes})]}
            staged[-1].write_text(json.dumps(manifest, sort_keys=True, indent=2, default=str)
                                  + "\n", encoding="utf-8")
    typer.echo(str(res))
    for note in manifest["notes"]:
        typer.echo(f"note: {note}")
    typer.echo("\nWrote\n" + "\n".join(f"  {out / n}" for n in [*names, "manifest.json"]))


def _check_excel(designs: dict[str, Any], pop: Any, runs: int) -> None:
    """Before simulating: every table fits an Excel sheet (the schedule has a row per
    fee instalment and payment on account too)."""
    cells = pop.frame.select("area", "cohort").unique().height
    per_cell = max(1 + sum(c.periods for c in d.components if c.kind == "fee")
                   + (1 if d.on_account else 0) for d in designs.values())
    rows = runs * cells * per_cell
    if rows > _EXCEL_ROWS:
        raise SchemaError(f"--format xlsx: the payments-by-date table would have about "
                          f"{rows:,} rows, more than an Excel sheet holds ({_EXCEL_ROWS:,}); "
                          "use --format parquet or csv, or fewer --n-sims")


def _figures(res: Any, mp: Any, flows: Any) -> dict[str, Any]:
    try:
        from pbr.simulate import plots
        return {"payment_distribution": plots.payment_distribution(res),
                "operating_characteristic": plots.operating_characteristic_curve(res),
                "marginal_by_decile": plots.marginal_by_decile(mp),
                "cash_flow": plots.cash_flow_curve(flows)}
    except ImportError:
        raise SchemaError("--plots: matplotlib is not installed; pip install "
                          "'pbr-reoffending[plot]', or pass --plots none") from None


def _save_figure(fig: Any, path: Path) -> None:
    """Write ``fig`` as PNG or SVG (by the suffix) with no date in the file."""
    from matplotlib import rc_context
    meta = {"Date": None} if path.suffix.lower() == ".svg" else {}
    with rc_context({"svg.hashsalt": "pbr", "svg.fonttype": "path"}):
        fig.savefig(path, dpi=100, metadata=meta)


class _Steps:
    """A progress bar on stderr over the command's steps (rich; nothing when quiet)."""

    TOTAL = 7

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: Any = None
        self.task: Any = None
        self.sims: Any = None
        self.done = 0

    def __enter__(self) -> _Steps:
        if not self.quiet:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
            self.bar = Progress(TextColumn("{task.description:<60}"), BarColumn(),
                                TimeElapsedColumn(), console=Console(stderr=True),
                                transient=False)
            self.bar.start()
            self.task = self.bar.add_task("pbr simulate", total=self.TOTAL)
        return self

    def __call__(self, message: str) -> None:
        if self.bar is not None:
            self.done = min(self.done + 1, self.TOTAL)
            self.bar.update(self.task, description=message[:60], completed=self.done)

    def draws(self, done: int, total: int) -> None:
        """The simulation's own progress: replicates drawn of all (a second bar)."""
        if self.bar is None:
            return
        if self.sims is None:
            self.sims = self.bar.add_task("replicates drawn", total=total)
        self.bar.update(self.sims, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            if exc[0] is None:
                self.bar.update(self.task, description="done", completed=self.TOTAL)
            self.bar.stop()
