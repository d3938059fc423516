"""``pbr schemes``: list the scheme presets, or show one with its rules and TOML."""

from __future__ import annotations

from typing import Annotated

import typer

import pbr
from pbr.cli._app import app, reported_errors
from pbr.schemes import scheme_toml


@app.command()
def schemes(
    name: Annotated[str | None, typer.Argument(
        help="Show this scheme's rules and its preset file (evidence per parameter).")] = None,
) -> None:
    """List the scheme presets (cohort rule + measure + comparison), or show one."""
    with reported_errors():
        if name is not None:
            s = pbr.scheme(name)
            typer.echo(f"{s}\n\n{scheme_toml(name)}", nl=False)
            return
        bundled = [pbr.scheme(n) for n in pbr.available_schemes()]
    rows = [(s.name, s.cohort.period, str(s.measure.follow_up), s.comparison.kind,
             ", ".join(s.comparison.measures)) for s in bundled]
    head = ("scheme", "cohort period", "follow-up", "comparison", "measures")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    for r in [head, *rows]:
        typer.echo("  ".join(f"{c:<{w}}" for c, w in zip(r, widths, strict=True)).rstrip())
