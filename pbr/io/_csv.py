"""Reading CSV text: the encoding, the separator, a file that is not CSV, type inference.

Private to :mod:`pbr.io.tables`.  Every reading it cannot be sure of raises a
:class:`~pbr.errors.SchemaError` naming the file and the argument that fixes it
(docs/methodology/measures.md, "Reading files").
"""

from __future__ import annotations

import codecs
from collections.abc import Collection, Sequence
from pathlib import Path

import polars as pl

from pbr.errors import SchemaError

__all__ = ["check_columns", "read_csv"]

_INTEGER = r"^-?(0|[1-9][0-9]*)$"
_DECIMAL = r"^[+-]?((0|[1-9][0-9]*)(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"


def _infer_text_column(s: pl.Series) -> pl.Series:
    """Integer, float or boolean when every value is one, else the text unchanged.

    Numbers with a leading zero ("007") and integers too large for Int64 stay text:
    they are identifiers, not quantities.
    """
    values = s.drop_nulls()
    if values.len() == 0:
        return s
    if values.str.contains(_INTEGER).all():
        as_int = s.cast(pl.Int64, strict=False)
        return as_int if as_int.null_count() == s.null_count() else s
    if values.str.contains(_DECIMAL).all():
        return s.cast(pl.Float64, strict=False)
    if values.is_in(["true", "false"]).all():
        return s == "true"
    return s


def _check_encoding(encoding: str) -> str:
    """The codec's canonical name; an unknown one raises, with examples."""
    try:
        return codecs.lookup(encoding).name
    except (LookupError, TypeError):
        raise SchemaError(
            f"encoding={encoding!r} is not a known text encoding. Fix: give one such as "
            "encoding='utf-8', encoding='latin-1' or encoding='cp1252' (Excel's CSV on "
            "Windows)") from None


def _check_separator(separator: str) -> None:
    if len(separator) != 1 or separator in ('"', "\n", "\r"):
        raise SchemaError(
            f"separator={separator!r}: give one character other than a quote or a line "
            "break, e.g. separator=';' or separator='\\t'")


def _not_text(path: Path, raw: bytes, encoding: str, exc: UnicodeDecodeError) -> SchemaError:
    line = raw[:exc.start].count(b"\n") + 1
    byte = raw[exc.start:exc.start + 1].hex()
    hint = ("encoding='latin-1' or encoding='cp1252' (Excel's CSV on Windows)"
            if encoding == "utf-8" else "the encoding the file was saved in")
    return SchemaError(
        f"cannot read {str(path)!r}: it is not {encoding} text (byte 0x{byte} on line "
        f"{line}). Fix: pass {hint}")


def _csv_source(path: Path, encoding: str) -> Path | bytes:
    """The file itself when it is to be read as UTF-8 (polars reads it, and checks that
    it is), else its text re-encoded as UTF-8 bytes."""
    codec = _check_encoding(encoding)
    with path.open("rb") as f:
        head = f.read(1 << 16)
    if not head.strip() and path.stat().st_size <= len(head):
        raise SchemaError(
            f"cannot read {str(path)!r}: the file is empty. Fix: give the file with its "
            "header line (a table with no rows still needs its column names)")
    for magic, kind, suffix in ((b"PAR1", "a Parquet file", ".parquet"),
                                (b"PK\x03\x04", "an Excel workbook (or another zip)", ".xlsx")):
        if head.startswith(magic):
            raise SchemaError(
                f"cannot read {str(path)!r} as CSV: it is {kind}. Fix: give it its own "
                f"suffix ({suffix})")
    if codec in ("utf-8", "utf-8-sig"):
        return path
    raw = path.read_bytes()
    try:
        return raw.decode(codec).encode("utf-8")
    except UnicodeDecodeError as exc:
        raise _not_text(path, raw, codec, exc) from None


def _utf8_error(path: Path, exc: Exception) -> SchemaError | None:
    """The error for a file that polars found is not UTF-8, naming the line."""
    if "utf-8" not in str(exc).lower() and "utf8" not in str(exc).lower():
        return None
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return _not_text(path, raw, "utf-8", bad)
    return None


def _one_column(path: Path, header: Sequence[str], separator: str) -> None:
    """A file read as one column whose name holds another separator: say which."""
    if len(header) != 1:
        return
    for other in (";", "\t", "|", ","):
        parts = header[0].split(other)
        if other != separator and len(parts) > 1 and all(p.strip() for p in parts):
            raise SchemaError(
                f"cannot read {str(path)!r}: the file has one column {header[0]!r} when "
                f"read with separator={separator!r}; did you mean separator={other!r}?")


def read_csv(path: Path, columns: Sequence[str] | None, separator: str | None,
              encoding: str, text_columns: Collection[str]) -> pl.DataFrame:
    sep = separator if separator is not None else \
        "\t" if path.suffix.lower() == ".tsv" else ","
    _check_separator(sep)
    source = _csv_source(path, encoding)
    try:
        header = pl.read_csv(source, separator=sep, n_rows=0, infer_schema=False).columns
        _one_column(path, header, sep)
        check_columns(path, header, columns)
        df = pl.read_csv(source, separator=sep, infer_schema=False, try_parse_dates=False,
                         columns=list(columns) if columns is not None else None)
    except pl.exceptions.ComputeError as exc:
        error = _utf8_error(path, exc) if isinstance(source, Path) else None
        if error is None:
            raise
        raise error from None
    return df.with_columns(_infer_text_column(df[c]) for c in df.columns
                           if c not in text_columns)


def check_columns(path: Path, present: Sequence[str], wanted: Sequence[str] | None) -> None:
    if wanted is None:
        return
    missing = [c for c in wanted if c not in present]
    if missing:
        raise SchemaError(
            f"{str(path)!r}: no column(s) {', '.join(map(repr, missing))}; columns present: "
            f"{', '.join(present[:20])}")
