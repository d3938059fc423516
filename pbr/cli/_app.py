"""The Typer app and the plumbing every command shares.

Reports go to stdout and are deterministic; progress goes to stderr.  An error raised by
pbr (:class:`~pbr.PbrError`: a missing column, an invalid spec, a bad row) is printed as
one line, without a traceback, and the exit code is 2.  Each command lives in its own
module of :mod:`pbr.cli`; this one holds no command.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated, Any

import typer

import pbr
from pbr.errors import PbrError, PbrWarning

__all__ = ["ROLES", "Engine", "Format", "OnInvalid", "app", "cell", "progress", "reported_errors"]

app = typer.Typer(
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
    """PbrError -> one line on stderr and exit code 2; pbr's warnings stay in the notes."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PbrWarning)
            yield
    except PbrError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except OSError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def progress(ctx: typer.Context) -> _Progress:
    return _Progress(bool((ctx.obj or {}).get("quiet", False)))


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
) -> None:
    """Proven-reoffending measures for payment-by-results contracts.

    Start with `pbr demo`, which writes synthetic data and measures it.
    """
    ctx.obj = {"quiet": quiet}
