"""``pbr pseudonymise``: replace offender identifiers in extracts by keyed pseudonyms."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pbr import io
from pbr.cli._app import app, progress, reported_errors
from pbr.cli._options import Encoding, Separator, check_output, flag_terms, reading, shown
from pbr.errors import SpecError
from pbr.io._atomic import atomic_files
from pbr.io.db import is_database_uri, parse_database_uri
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
    inputs: Annotated[list[str], typer.Argument(help="Extracts to pseudonymise (.csv, "
                                                ".parquet, .xlsx), or database URIs (each "
                                                "written as TABLE.parquet, or query.parquet).")],
    key_file: Annotated[Path, typer.Option(help="File holding the secret key (at least 16 "
                                           "bytes; one trailing newline is ignored). The "
                                           "same key gives the same pseudonyms in every "
                                           "file.")],
    out_dir: Annotated[Path, typer.Option(help="Directory for the pseudonymised files (same "
                                          "names; it must not be the inputs' directory).")],
    column: Annotated[list[str] | None, typer.Option(help="Identifier column (repeat for "
                                                     "several).")] = None,
    separator: Separator = None,
    encoding: Encoding = "utf-8",
) -> None:
    """Replace identifier columns by keyed pseudonyms (BLAKE2b MAC), the same in every file.

    Identifiers are read as text, exactly as written, so 00123 and 123 stay two people.
    The files are written all or nothing: a failure leaves --out-dir as it was.
    """
    step = progress(ctx)
    with reported_errors(), flag_terms():
        key = _read_key(key_file)
        columns = column or ["offender_id"]
        targets = [out_dir / _name(given) for given in inputs]
        if len(set(targets)) != len(targets):
            raise SpecError("--out-dir: two inputs would be written to the same file name; "
                            "pseudonymise them into separate directories")
        for given, target in zip(inputs, targets, strict=True):
            path = None if is_database_uri(given) else Path(given)
            if path is not None and target.resolve() == path.resolve():
                raise SpecError(f"--out-dir: {target} is the input itself; choose another "
                                "directory so that the original extract is not overwritten")
            check_output(target, "--out-dir", tuple(io.WRITE_FORMATS))
        read = reading(separator, encoding, None, False)
        del read["date_format"], read["id_as_string"]
        done = []
        with atomic_files(*targets) as staged:  # every file, or none
            for given, tmp in zip(inputs, staged, strict=True):
                step(f"pseudonymising {shown(given)}")
                source = given if is_database_uri(given) else Path(given)
                df = _pseudonymise(io.read_table(source, text_columns=columns, **read), key,
                                   columns=columns)
                io.write_table(df, tmp)
                done.append(df.height)
    for given, target, rows in zip(inputs, targets, done, strict=True):
        typer.echo(f"{shown(given)} -> {target}: {rows:,} rows, columns "
                   f"{', '.join(columns)} pseudonymised")


def _name(given: str) -> str:
    """The output file name of an input: a file's own name; a database table's name (or
    ``query``) as Parquet."""
    if not is_database_uri(given):
        return Path(given).name
    source = parse_database_uri(given)
    table = (source.table or "query").split(".")[-1].strip('"')
    return f"{table}.parquet"
