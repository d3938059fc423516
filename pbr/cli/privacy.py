"""``pbr pseudonymise``: replace offender identifiers in extracts by keyed pseudonyms."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pbr import io
from pbr.cli._app import app, progress, reported_errors
from pbr.errors import SpecError
from pbr.privacy import pseudonymise as _pseudonymise


def _read_key(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecError(f"--key-file {path}: cannot read it ({exc.strerror}). Fix: create it "
                        "with e.g. python -c \"import secrets; print(secrets.token_hex(32))\" "
                        f"> {path}") from None
    return raw.rstrip(b"\r\n")


@app.command("pseudonymise")
def pseudonymise(
    ctx: typer.Context,
    inputs: Annotated[list[Path], typer.Argument(help="Extracts to pseudonymise (.csv, "
                                                 ".parquet, .xlsx).")],
    key_file: Annotated[Path, typer.Option(help="File holding the secret key (at least 16 "
                                           "bytes; one trailing newline is ignored). The "
                                           "same key gives the same pseudonyms in every "
                                           "file.")],
    out_dir: Annotated[Path, typer.Option(help="Directory for the pseudonymised files (same "
                                          "names; it must not be the inputs' directory).")],
    column: Annotated[list[str] | None, typer.Option(help="Identifier column (repeat for "
                                                     "several).")] = None,
) -> None:
    """Replace identifier columns by keyed pseudonyms (BLAKE2b MAC), the same in every file."""
    step = progress(ctx)
    with reported_errors():
        key = _read_key(key_file)
        columns = column or ["offender_id"]
        for path in inputs:
            target = out_dir / path.name
            if target.resolve() == path.resolve():
                raise SpecError(f"--out-dir: {target} is the input itself; choose another "
                                "directory so that the original extract is not overwritten")
            step(f"pseudonymising {path}")
            df = _pseudonymise(io.read_table(path), key, columns=columns)
            written = io.write_table(df, target)
            typer.echo(f"{path} -> {written}: {df.height:,} rows, columns "
                       f"{', '.join(columns)} pseudonymised")
