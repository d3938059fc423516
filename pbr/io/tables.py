"""Read and write tables: CSV, TSV, Parquet and Excel, chosen by the file's suffix.

Reading keeps values as they are in the file.  Dates stay as text in CSV (the
``from_frame`` constructors of :mod:`pbr.data` parse ISO ``YYYY-MM-DD`` strings and
report the rows they cannot parse); a CSV column becomes integer only when every value
is a plain integer without a leading zero, so identifiers such as ``"00123"`` keep
their zeros.  Writing is deterministic: the same frame always gives the same bytes.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import polars as pl

from pbr.data import Cohort, Custody, Events
from pbr.disposals import Disposals
from pbr.errors import SchemaError

__all__ = [
    "READ_FORMATS",
    "WRITE_FORMATS",
    "read_cohort",
    "read_custody",
    "read_disposals",
    "read_events",
    "read_table",
    "write_table",
]

OnInvalid = Literal["raise", "exclude"]

#: suffix -> format name, for reading
READ_FORMATS: dict[str, str] = {
    ".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet",
    ".xlsx": "excel", ".xlsm": "excel", ".xls": "excel", ".ods": "excel",
}
#: suffix -> format name, for writing
WRITE_FORMATS: dict[str, str] = {
    ".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet", ".xlsx": "excel",
}

_INTEGER = r"^-?(0|[1-9][0-9]*)$"
_DECIMAL = r"^[+-]?((0|[1-9][0-9]*)(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_PARQUET_COMPRESSION: Literal["zstd"] = "zstd"
_PARQUET_LEVEL = 3
_PARQUET_ROW_GROUP = 512 * 1024
_EXCEL_CREATED = _dt.datetime(2000, 1, 1)  # fixed, so .xlsx bytes never depend on the clock


def _format(path: Path, formats: dict[str, str], verb: str) -> str:
    fmt = formats.get(path.suffix.lower())
    if fmt is None:
        raise SchemaError(
            f"cannot {verb} {str(path)!r}: unknown file type {path.suffix or '(no suffix)'!r}; "
            f"supported: {', '.join(formats)}")
    return fmt


# --------------------------------------------------------------------------- reading
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


def _read_csv(path: Path, columns: Sequence[str] | None) -> pl.DataFrame:
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    header = pl.read_csv(path, separator=sep, n_rows=0, infer_schema=False).columns
    _check_columns(path, header, columns)
    df = pl.read_csv(path, separator=sep, infer_schema=False, try_parse_dates=False,
                     columns=list(columns) if columns is not None else None)
    return df.with_columns(_infer_text_column(df[c]) for c in df.columns)


def _read_parquet(path: Path, columns: Sequence[str] | None) -> pl.DataFrame:
    _check_columns(path, list(pl.read_parquet_schema(path)), columns)
    return pl.read_parquet(path, columns=list(columns) if columns is not None else None)


def _read_excel(path: Path, sheet: str | int | None, columns: Sequence[str] | None
                ) -> pl.DataFrame:
    where = {"sheet_name": sheet} if isinstance(sheet, str) else \
        {"sheet_id": 1 if sheet is None else sheet + 1}
    df = pl.read_excel(path, infer_schema_length=None, **where)
    _check_columns(path, df.columns, columns)
    return df if columns is None else df.select(columns)


def _check_columns(path: Path, present: Sequence[str], wanted: Sequence[str] | None) -> None:
    if wanted is None:
        return
    missing = [c for c in wanted if c not in present]
    if missing:
        raise SchemaError(
            f"{str(path)!r}: no column(s) {', '.join(map(repr, missing))}; columns present: "
            f"{', '.join(present[:20])}")


def read_table(path: str | Path, *, sheet: str | int | None = None,
               columns: Sequence[str] | None = None) -> pl.DataFrame:
    """Read a CSV, TSV, Parquet or Excel file into a polars DataFrame.

    Parameters
    ----------
    path
        The file; its suffix chooses the format (``.csv``, ``.tsv``, ``.parquet``,
        ``.pq``, ``.xlsx``, ``.xlsm``, ``.xls``, ``.ods``).
    sheet
        Excel only: the sheet's name or 0-based position; default the first sheet.
    columns
        Read only these columns (a missing one raises, naming it).

    Returns
    -------
    polars.DataFrame
        CSV values are text, except columns whose every value is a plain integer
        (no leading zero), a decimal number or ``true``/``false``; dates stay text for
        :mod:`pbr.data` to parse and check.  Parquet and Excel keep their stored types
        (an Excel column of whole numbers is read as integers).

    Raises
    ------
    SchemaError
        The file does not exist, its suffix is not supported, it cannot be read, or a
        requested column is missing.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "cohort.csv"
    >>> _ = p.write_text("offender_id,index_date\\n00123,2020-01-31\\n45,2020-02-01\\n")
    >>> read_table(p)["offender_id"].to_list()
    ['00123', '45']
    """
    path = Path(path)
    fmt = _format(path, READ_FORMATS, "read")
    if not path.is_file():
        where = "is a directory, not a file" if path.is_dir() else "does not exist"
        raise SchemaError(f"cannot read {str(path)!r}: the file {where}")
    if sheet is not None and fmt != "excel":
        raise SchemaError(f"cannot read {str(path)!r}: sheet= applies to Excel files only")
    try:
        if fmt == "csv":
            return _read_csv(path, columns)
        if fmt == "parquet":
            return _read_parquet(path, columns)
        return _read_excel(path, sheet, columns)
    except SchemaError:
        raise
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SchemaError(f"cannot read {str(path)!r} as {fmt}: {first}") from exc


def read_cohort(path: str | Path, *, offender_id: str = "offender_id",
                index_date: str = "index_date", on_invalid: OnInvalid = "raise",
                sheet: str | int | None = None) -> Cohort:
    """Read a cohort file and validate it (see :meth:`pbr.Cohort.from_frame`).

    The role arguments name the file's columns for pbr's roles.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "cohort.csv"
    >>> _ = p.write_text("pnc,release\\n1,2020-01-31\\n2,2020-02-01\\n")
    >>> read_cohort(p, offender_id="pnc", index_date="release").n
    2
    """
    return Cohort.from_frame(read_table(path, sheet=sheet), offender_id=offender_id,
                             index_date=index_date, on_invalid=on_invalid)


def read_events(path: str | Path, *, offender_id: str = "offender_id",
                offence_date: str = "offence_date", disposal_date: str = "disposal_date",
                disposal_type: str = "disposal_type", offence_code: str = "offence_code",
                offence_category: str | None = None, court_event_id: str | None = None,
                on_invalid: OnInvalid = "raise", sheet: str | int | None = None) -> Events:
    """Read an events file and validate it (see :meth:`pbr.Events.from_frame`).

    ``offence_category`` and ``court_event_id`` are picked up when columns of those
    names exist.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "events.csv"
    >>> _ = p.write_text("offender_id,offence_date,disposal_date,disposal_type,offence_code"
    ...                  "\\n1,2020-03-01,2020-04-01,conviction,A\\n")
    >>> read_events(p).n
    1
    """
    return Events.from_frame(
        read_table(path, sheet=sheet), offender_id=offender_id, offence_date=offence_date,
        disposal_date=disposal_date, disposal_type=disposal_type, offence_code=offence_code,
        offence_category=offence_category, court_event_id=court_event_id,
        on_invalid=on_invalid)


def read_custody(path: str | Path, *, offender_id: str = "offender_id",
                 start_date: str = "start_date", end_date: str = "end_date",
                 on_invalid: OnInvalid = "raise", sheet: str | int | None = None) -> Custody:
    """Read a custody-spells file and validate it (see :meth:`pbr.Custody.from_frame`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "custody.csv"
    >>> _ = p.write_text("offender_id,start_date,end_date\\n1,2020-01-01,2020-01-10\\n")
    >>> read_custody(p).n
    1
    """
    return Custody.from_frame(read_table(path, sheet=sheet), offender_id=offender_id,
                              start_date=start_date, end_date=end_date,
                              on_invalid=on_invalid)


def read_disposals(path: str | Path, *, on_invalid: OnInvalid = "raise",
                   sheet: str | int | None = None, **roles: str | None) -> Disposals:
    """Read a disposals file and validate it (see :meth:`pbr.Disposals.from_frame`).

    ``roles`` name the file's columns for pbr's roles (``offender_id="pnc"``,
    ``release_date="discharged"``, ...).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "disposals.csv"
    >>> _ = p.write_text("pnc,disposal_date,disposal_type,release_date\\n"
    ...                  "1,2020-01-31,custody,2020-03-01\\n2,2020-02-01,caution,\\n")
    >>> read_disposals(p, offender_id="pnc").n
    2
    """
    return Disposals.from_frame(read_table(path, sheet=sheet), on_invalid=on_invalid,
                                **roles)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- writing
def _plain_types(df: pl.DataFrame) -> pl.DataFrame:
    """Categorical and enum columns as text, so bytes never depend on a dictionary order."""
    return df.with_columns(pl.col(c).cast(pl.String) for c, t in df.schema.items()
                           if isinstance(t, pl.Categorical | pl.Enum))


def write_table(df: pl.DataFrame, path: str | Path) -> Path:
    """Write a frame as CSV, TSV, Parquet or Excel (by suffix), byte-for-byte reproducibly.

    Categorical columns are written as text.  CSV dates are ISO ``YYYY-MM-DD``; Parquet
    uses zstd level 3, no column statistics and fixed row groups; the Excel workbook's
    creation date is fixed.  Missing parent directories are created.

    Parameters
    ----------
    df
        The frame (polars; a pandas frame is converted).
    path
        Target file: ``.csv``, ``.tsv``, ``.parquet``, ``.pq`` or ``.xlsx``.

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import tempfile, pathlib, polars as pl
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> df = pl.DataFrame({"offender_id": [1, 2], "reoffended": [True, False]})
    >>> a, b = write_table(df, d / "a.parquet"), write_table(df, d / "b.parquet")
    >>> a.read_bytes() == b.read_bytes()
    True
    """
    path = Path(path)
    fmt = _format(path, WRITE_FORMATS, "write")
    if not isinstance(df, pl.DataFrame):
        from pbr.data import as_frame

        df = as_frame(df, path.name)
    df = _plain_types(df)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        df.write_csv(path, separator="\t" if path.suffix.lower() == ".tsv" else ",",
                     date_format="%Y-%m-%d", line_terminator="\n")
    elif fmt == "parquet":
        df.write_parquet(path, compression=_PARQUET_COMPRESSION,
                         compression_level=_PARQUET_LEVEL, statistics=False,
                         row_group_size=_PARQUET_ROW_GROUP)
    else:
        import xlsxwriter

        with xlsxwriter.Workbook(str(path)) as workbook:
            workbook.set_properties({"created": _EXCEL_CREATED})
            df.write_excel(workbook, worksheet="data", autofit=False,
                           dtype_formats={pl.Date: "yyyy-mm-dd"})
    return path
