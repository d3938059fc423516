"""The Typer app and the plumbing every command shares.

Reports go to stdout and are deterministic; progress goes to stderr.  Exit codes, for
every command: 0 success; 1 ``pbr verify`` found differences; 2 bad input (any
:class:`~pbr.PbrError`: a missing column, an invalid spec or contract, a bad or foreign
manifest; a file that is missing or cannot be read; a usage error); 3 internal error (a
bug in pbr).  Errors are printed as one line without a traceback; ``pbr --debug ...``
lets the exception through so its traceback shows.  The first command that measures
says once that Numba is compiling the kernels.  Each command lives in its own module of
:mod:`pbr.cli`; this one holds no command.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

import pbr
from pbr.errors import PbrError, PbrWarning

__all__ = ["EXIT_BAD_INPUT", "EXIT_DIFFERENCES", "EXIT_INTERNAL", "EXIT_OK", "ROLES",
           "Engine", "Format", "OnInvalid", "announce_compile", "app", "cell",
           "kernels_cached", "progress", "reported_errors"]

#: exit codes of every command
EXIT_OK, EXIT_DIFFERENCES, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3
#: commands that measure, so may compile the kernels on a first run
MEASURING = frozenset({"measure", "demo", "compare"})  # `pay` says it itself


#: exceptions that already carry their exit code (Typer's own, usage errors)
_PASS = (typer.Exit, typer.Abort, typer.TyperException)


def _fail(exc: BaseException, debug: bool) -> NoReturn:
    """Print ``exc`` as one line and exit with its code (or re-raise under --debug)."""
    if debug:
        raise exc
    if isinstance(exc, PbrError):
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    if isinstance(exc, OSError):
        where = f" {exc.filename!r}" if exc.filename else ""
        typer.echo(f"error: cannot read or write{where}: {exc.strerror or exc}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    typer.echo(f"internal error (a bug in pbr {pbr.__version__}): {type(exc).__name__}: "
               f"{exc}\nRun the same command as `pbr --debug ...` to see the traceback, and "
               "report it with that traceback.", err=True)
    raise typer.Exit(EXIT_INTERNAL) from None


class _Group(TyperGroup):
    """The app's group: any exception a command lets out becomes its exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except _PASS:
            raise
        except Exception as exc:  # every error gets an exit code
            _fail(exc, bool((ctx.obj or {}).get("debug", False)))


app = typer.Typer(
    cls=_Group,
    name="pbr",
    help="Proven-reoffending measures for payment-by-results contracts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

ROLES = "Column names (when the file's differ from pbr's role names)"


class Engine(StrEnum):
    numba = "numba"
    polars = "polars"


class OnInvalid(StrEnum):
    raise_ = "raise"
    exclude = "exclude"


class Format(StrEnum):
    parquet = "parquet"
    csv = "csv"


# --------------------------------------------------------------------------- plumbing
class _Progress:
    """Progress lines on stderr, with the seconds since the command started."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        if not self.quiet:
            typer.echo(f"[{time.perf_counter() - self.start:6.1f}s] {message}", err=True)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Run a command's work with pbr's warnings kept in the notes, not printed twice.

    Errors pass through to the app, which prints them as one line and exits:
    :class:`~pbr.PbrError` and a file that cannot be read or written (``OSError``) with
    2, anything else (a bug) with 3 and a line saying so; ``pbr --debug`` re-raises.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PbrWarning)
        try:
            yield
        finally:
            _stop_bar()  # the work is done (or failed): the bar goes before any output


def kernels_cached(kernels: Iterable[Any] | None = None) -> bool:
    """Whether Numba's cache holds compiled code for ``kernels`` (default: the one-call
    measure's kernels and the events' validation kernels), so that no compile is due.

    Reads each kernel's cache index (for pbr's kernels, in the directory
    :mod:`pbr._numba_cache` chose); an index written for an older source counts as
    missing (Numba checks the source's stamp).  If Numba's cache cannot be inspected,
    says True (no message).
    """
    try:
        if kernels is None:
            from pbr._kernels import codes, dedupe, onepass

            # the one-call measure's kernels and those every events validation runs (the
            # duplicate search's order test: the search itself depends on the rows' order)
            kernels = [onepass._probe_measure, onepass._finish, dedupe.order,
                       codes.count_codes]
        kernel: Any
        for kernel in kernels:
            if not kernel._cache._cache_file._load_index():
                return False
    except Exception:  # pragma: no cover - a Numba internal we only peek at
        return True
    return True


def announce_compile(quiet: bool = False) -> bool:
    """Say once on stderr that the kernels are being compiled, if the cache is cold."""
    if kernels_cached():
        return False
    if not quiet:
        typer.echo("First run: compiling pbr's kernels with Numba (about a minute, once; "
                   "later runs start at once).", err=True)
    return True


def progress(ctx: typer.Context, total: int | None = None) -> Any:
    """The command's step reporter: a rich progress bar on stderr when stderr is a
    terminal (:class:`pbr.cli._progress.StepBar`, ``total`` steps if known), plain
    timestamped lines otherwise, nothing with ``--quiet``."""
    quiet = bool((ctx.obj or {}).get("quiet", False))
    if quiet or not sys.stderr.isatty():
        return _Progress(quiet)
    from pbr.cli._progress import StepBar

    bar = StepBar(total)
    ctx.call_on_close(bar.stop)
    _LIVE.append(bar)
    return bar


#: the live progress bars of this process's command (stopped when its work ends)
_LIVE: list[Any] = []


def _stop_bar() -> None:
    """Stop a live progress bar before the command prints its report."""
    while _LIVE:
        _LIVE.pop().stop()


def cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.3f}"
    return str(value)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"pbr {pbr.__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="No progress messages on stderr.")] = False,
    debug: Annotated[bool, typer.Option(
        "--debug", help="Show the traceback of any error (for reporting a bug).")] = False,
) -> None:
    """Proven-reoffending measures for payment-by-results contracts.

    Start with `pbr demo`, which writes synthetic data and measures it.  Exit codes: 0
    success, 1 `pbr verify` found differences, 2 bad input, 3 internal error (a bug:
    rerun with --debug for the traceback).
    """
    ctx.obj = {"quiet": quiet, "debug": debug}
    if ctx.invoked_subcommand in MEASURING and not (ctx.resilient_parsing or
                                                    ctx.obj.get("compile_announced")):
        ctx.obj["compile_announced"] = announce_compile(quiet)
