"""Text dates of the role columns: ISO by default, or a strftime ``date_format``.

Private to :mod:`pbr.io.tables`.  A value that does not parse raises a
:class:`~pbr.errors.SchemaError` naming the file, column, row, line, ``offender_id`` and
value, and the formats that would read the values (docs/methodology/measures.md,
"Reading files").
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl

from pbr.data import OnInvalid
from pbr.errors import SchemaError

__all__ = ["check_date_format", "parse_dates"]

#: date formats suggested when a date column does not read as ISO YYYY-MM-DD
_DATE_FORMATS = ("%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d", "%d/%m/%y",
                 "%Y%m%d", "%Y-%m-%d %H:%M:%S", "%d %b %Y", "%d-%b-%Y", "%d-%b-%y")
_ISO = "%Y-%m-%d"


def check_date_format(date_format: str) -> None:
    """A strftime format that reads back a full date; else raise with an example."""
    sample = _dt.date(2001, 2, 3)
    try:
        back = pl.Series([sample.strftime(date_format)]).str.to_date(
            date_format, strict=False)[0]
    except (ValueError, pl.exceptions.PolarsError):
        back = None
    if back != sample:
        raise SchemaError(
            f"date_format={date_format!r} is not a strftime format that reads a whole date "
            "(day, month and year). Fix: give e.g. date_format='%d/%m/%Y' for 31/01/2020")


def _parse(s: pl.Series, fmt: str) -> pl.Series:
    return s.cast(pl.String).str.strip_chars().str.to_date(fmt, strict=False)


def _fitting_formats(values: Sequence[str]) -> list[str]:
    """The common date formats that read every one of ``values``."""
    s = pl.Series(values, dtype=pl.String)
    return [f for f in _DATE_FORMATS if _parse(s, f).null_count() == 0]


def parse_dates(df: pl.DataFrame, path: Path, kind: str, columns: Mapping[str, str],
           date_format: str | None, on_invalid: OnInvalid, id_col: str) -> pl.DataFrame:
    """Parse each role's text date column with ``date_format`` (default ISO).

    A value that does not parse raises, naming the file, column, row, value and the
    fix; with ``on_invalid="exclude"`` the column is left for the validator, which
    ledgers such rows (ISO text for the values that parsed, the others as written).
    """
    fmt = _ISO if date_format is None else date_format
    for role, col in columns.items():
        if col not in df.columns:
            continue
        raw = df[col]
        if raw.dtype.is_integer():  # e.g. 20200131 in a workbook: read as text
            raw = raw.cast(pl.String)
        elif raw.dtype not in (pl.String, pl.Null):
            continue
        parsed = _parse(raw, fmt)
        stripped = raw.cast(pl.String).str.strip_chars()
        bad = (raw.is_not_null() & parsed.is_null() & (stripped != "")).fill_null(False)
        if not bad.any():
            df = df.with_columns(parsed.alias(col))
            continue
        if on_invalid == "exclude":
            if date_format is not None:
                df = df.with_columns(pl.when(parsed.is_not_null())
                                     .then(parsed.dt.to_string(_ISO))
                                     .otherwise(stripped).alias(col))
            continue
        rows = bad.arg_true()
        first = int(rows[0])
        line = f"line {first + 2}, " if path.suffix.lower() in (".csv", ".tsv") else ""
        who = df[id_col][first] if id_col in df.columns else None
        values = stripped.filter(bad).head(100).to_list()
        fits = _fitting_formats(values)
        reads = " or ".join(f"date_format={f!r}" for f in fits[:2])
        if date_format is not None:
            what = f"does not match date_format={date_format!r}"
            fix = "correct the values or date_format=" + (f" ({reads} reads them)"
                                                           if fits else "")
        elif re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", values[0]):
            what, fix = "is not a calendar date", "correct the source data"
        elif fits:
            what = "is not a date in YYYY-MM-DD form"
            fix = f"pass {reads}" + (" (check which: both read these values)"
                                     if len(fits) > 1 else "")
        else:
            what = "is not a date in YYYY-MM-DD form"
            fix = ("pass date_format='<strftime format>', e.g. date_format='%d/%m/%Y' for "
                   "31/01/2020, or correct the source data")
        raise SchemaError(
            f"{kind} row {first} ({line}offender_id={who!r}) of {str(path)!r}, column "
            f"{col!r} (role {role}): {values[0]!r} {what}; {rows.len():,} row(s) in all. "
            f"Fix: {fix}, or pass on_invalid='exclude' to leave such rows out (listed "
            "in the exclusions)")
    return df
