"""Read and write tables: CSV, TSV, Parquet and Excel, chosen by the file's suffix.

Reading keeps values as they are in the file.  Dates stay as text in CSV (the
``from_frame`` constructors of :mod:`pbr.data` parse ISO ``YYYY-MM-DD`` strings and
report the rows they cannot parse); a CSV column becomes integer only when every value
is a plain integer without a leading zero, so identifiers such as ``"00123"`` keep
their zeros.  Writing is deterministic: the same frame always gives the same bytes.

The ``read_cohort``/``read_events``/``read_custody``/``read_disposals`` readers take the
same reading options: the file's column for each role, ``separator`` and ``encoding``
(CSV), ``date_format`` (text dates other than ISO) and ``id_as_string`` (identifiers
as written, in every file of a run).  Whatever they cannot read as meant raises a
:class:`~pbr.errors.SchemaError` naming the file, column, row, value and the argument
that fixes it: an unknown encoding or bytes that are not text in it, a file that reads
as one column because the separator is another, a date that does not match the format,
a role's column that is not there.  A file with a header and no rows is valid and takes
the schema's types (an events file in which nobody reoffended).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import polars as pl

from pbr.cohort.disposals import Disposals
from pbr.data import Cohort, Custody, Events
from pbr.errors import SchemaError
from pbr.io._atomic import atomic_files
from pbr.io._csv import check_columns, read_csv
from pbr.io._dates import check_date_format, parse_dates
from pbr.io.db import database_label, is_database_uri, read_database
from pbr.schema import COHORT, CUSTODY, DISPOSALS, EVENTS, TableSchema

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
def _read_parquet(path: Path, columns: Sequence[str] | None) -> pl.DataFrame:
    check_columns(path, list(pl.read_parquet_schema(path)), columns)
    return pl.read_parquet(path, columns=list(columns) if columns is not None else None)


def _read_excel(path: Path, sheet: str | int | None, columns: Sequence[str] | None
                ) -> pl.DataFrame:
    where = {"sheet_name": sheet} if isinstance(sheet, str) else \
        {"sheet_id": 1 if sheet is None else sheet + 1}
    df = pl.read_excel(path, infer_schema_length=None, **where)
    check_columns(path, df.columns, columns)
    return df if columns is None else df.select(columns)


def _as_text(s: pl.Series) -> pl.Series:
    """Identifiers as text: whole numbers stored as floats (Excel) lose their ``.0``."""
    if s.dtype.is_float() and bool((s.drop_nulls() == s.drop_nulls().round()).all()):
        s = s.cast(pl.Int64)
    return s.cast(pl.String)


def read_table(path: str | Path, *, sheet: str | int | None = None,
               columns: Sequence[str] | None = None, separator: str | None = None,
               encoding: str = "utf-8", text_columns: Collection[str] = ()) -> pl.DataFrame:
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
    separator
        CSV and TSV only (ignored for Parquet and Excel): the field separator, one
        character; default ``","`` (``"\\t"`` for ``.tsv``).  A file that reads as one
        column whose name holds another separator raises, naming it.
    encoding
        CSV and TSV only: the text encoding, e.g. ``"utf-8"`` (default; a byte-order
        mark is skipped), ``"latin-1"``, ``"cp1252"``.  Bytes that are not text in this
        encoding raise, naming the line.
    text_columns
        Columns kept as text whatever they hold: CSV values exactly as written
        (``"00123"`` keeps its zeros); Parquet and Excel numbers converted to text
        (whole numbers without ``.0``).

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
        The file does not exist, is empty, its suffix is not supported, it cannot be
        read (wrong encoding or separator), or a requested column is missing.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "cohort.csv"
    >>> _ = p.write_text("offender_id,index_date\\n00123,2020-01-31\\n45,2020-02-01\\n")
    >>> read_table(p)["offender_id"].to_list()
    ['00123', '45']
    >>> _ = p.write_text("offender_id;index_date\\n0045;2020-01-31\\n")
    >>> read_table(p, separator=";", text_columns=["offender_id"])["offender_id"].to_list()
    ['0045']
    """
    if is_database_uri(path):  # a database table or query (pbr.io.db)
        return read_database(str(path), columns=columns, text_columns=text_columns)[0]
    path = Path(path)
    fmt = _format(path, READ_FORMATS, "read")
    if not path.is_file():
        where = "is a directory, not a file" if path.is_dir() else "does not exist"
        raise SchemaError(f"cannot read {str(path)!r}: the file {where}")
    if sheet is not None and fmt != "excel":
        raise SchemaError(f"cannot read {str(path)!r}: sheet= applies to Excel files only")
    try:
        if fmt == "csv":
            return read_csv(path, columns, separator, encoding, text_columns)
        df = _read_parquet(path, columns) if fmt == "parquet" else \
            _read_excel(path, sheet, columns)
    except SchemaError:
        raise
    except Exception as exc:  # the reader's own errors (polars, fastexcel's Calamine, OS)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        hint = (". Fix: a row has more fields than the header; check separator= and the "
                "quoting" if "more fields" in first else "")
        raise SchemaError(f"cannot read {str(path)!r} as {fmt}: {first}{hint}") from exc
    return df.with_columns(_as_text(df[c]) for c in text_columns
                           if c in df.columns and df.schema[c] != pl.String)


# --------------------------------------------------------------------------- roles

def _check_mapping(path: Path, kind: str, found: Mapping[str, str],
                   columns: Sequence[str]) -> None:
    """Each role its own column, and no column named like a role left beside the one
    the caller chose for it (which of the two is meant?)."""
    by_column: dict[str, str] = {}
    for role, col in found.items():
        if col in by_column:
            raise SchemaError(
                f"the {kind} file {str(path)!r}: {by_column[col]} and {role} both name the "
                f"column {col!r}. Fix: pass each role its own column, e.g. "
                f"{role}='<your column>'")
        by_column[col] = role
    for role, col in found.items():
        if col != role and role in columns and role not in by_column:
            raise SchemaError(
                f"the {kind} file {str(path)!r} has a column {role!r}, but {role}={col!r} "
                f"names column {col!r} for that role: which is meant? Fix: pass "
                f"{role}={role!r}, or rename or remove the file's column {role!r}")


def _whole_ids(df: pl.DataFrame, path: Path, kind: str, col: str) -> pl.DataFrame:
    """Identifiers written as decimals: whole ones ("123.0", as a spreadsheet exports
    them) are the integers they name; a fraction is no identifier."""
    ids = df[col]
    if not ids.dtype.is_float():
        return df
    values = ids.drop_nulls()
    whole = values == values.round()
    if bool(whole.all()) and bool((values.abs() < 2.0**53).all()):
        return df.with_columns(ids.cast(pl.Int64))
    shown = values.filter(~whole).head(3).to_list()
    raise SchemaError(
        f"the {kind} file {str(path)!r}: column {col!r} (role offender_id) holds numbers "
        f"with fractions, e.g. {shown}; an identifier is a whole number or text. Fix: "
        "correct the export, or pass id_as_string=True to read the identifiers as text in "
        "every file")


def _read_roles(path: str | Path, schema: TableSchema, mapping: Mapping[str, str | None], *,
                sheet: str | int | None, separator: str | None, encoding: str,
                date_format: str | None, id_as_string: bool, on_invalid: OnInvalid
                ) -> tuple[pl.DataFrame, dict[str, str]]:
    """Read a file for one table of :mod:`pbr.schema`: check that each role's column is
    there (naming the file and the argument to pass), read the id as text when asked,
    type a table with no rows from the schema, parse the dates.  Returns the frame and
    the arguments for ``from_frame`` (the roles that were given or found)."""
    uri = str(path) if is_database_uri(path) else None  # a database (pbr.io.db)
    path = Path(path) if uri is None else database_label(uri)
    if on_invalid not in ("raise", "exclude"):
        raise SchemaError(f"on_invalid must be 'raise' or 'exclude', got {on_invalid!r}")
    if date_format is not None:
        check_date_format(date_format)
    id_col = mapping.get("offender_id") or "offender_id"
    text = [id_col] if id_as_string else []
    if uri is None and READ_FORMATS.get(path.suffix.lower()) == "csv":
        # a CSV's dates and codes stay as written: "20200131" is not a number, nor "1.10"
        text += [mapping.get(r) or r for r in (*schema.dates, *schema.categorical)]
    df = read_table(path if uri is None else uri, sheet=sheet, separator=separator,
                    encoding=encoding, text_columns=text)
    found: dict[str, str] = {}
    for role in schema.roles:
        col = mapping.get(role)
        if col is not None and not str(col).strip():
            raise SchemaError(f"an empty column name for {role}. Fix: pass "
                              f"{role}='<your column>', naming the file's column")
        if col is None and role in schema.optional:
            if role in df.columns:
                found[role] = role
            continue
        col = col or role
        if col not in df.columns:
            raise SchemaError(
                f"the {schema.name} file {str(path)!r} has no column {col!r} (role {role}); "
                f"columns: {', '.join(df.columns[:30])}. Fix: pass {role}='<your column>' to "
                f"name the file's column for {role}, or rename the column to {role!r}")
        found[role] = col
    _check_mapping(path, schema.name, found, df.columns)
    df = _whole_ids(df, path, schema.name, found["offender_id"])
    if df.height == 0:  # nothing to infer from: the schema's types
        types: dict[str, Any] = {c: pl.Date for r, c in found.items()
                                 if r in schema.dates}
        types |= {c: pl.String for r, c in found.items() if r in schema.categorical}
        if id_as_string or df.schema[found["offender_id"]] not in (pl.String, pl.Null):
            types[found["offender_id"]] = pl.String if id_as_string else \
                df.schema[found["offender_id"]]
        else:
            types[found["offender_id"]] = pl.Int64
        df = df.with_columns(pl.col(c).cast(t) for c, t in types.items())
    dates = {r: c for r, c in found.items() if r in schema.dates}
    df = parse_dates(df, path, schema.name, dates, date_format, on_invalid,
                     found["offender_id"])
    return df, found


def read_cohort(path: str | Path, *, offender_id: str = "offender_id",
                index_date: str = "index_date", on_invalid: OnInvalid = "raise",
                sheet: str | int | None = None, separator: str | None = None,
                encoding: str = "utf-8", date_format: str | None = None,
                id_as_string: bool = False) -> Cohort:
    """Read a cohort file and validate it (see :meth:`pbr.Cohort.from_frame`).

    Parameters
    ----------
    path
        CSV, TSV, Parquet or Excel file (see :func:`read_table`).
    offender_id, index_date
        The file's column for each role.
    on_invalid
        ``"raise"`` (default) or ``"exclude"`` rows that fail validation (ledgered).
    sheet, separator, encoding
        As for :func:`read_table`.
    date_format
        strftime format of the text dates, e.g. ``"%d/%m/%Y"``; default ISO
        ``YYYY-MM-DD``.  A value that does not match raises, naming the file, column,
        row and value (or, with ``on_invalid="exclude"``, is ledgered).
    id_as_string
        Read ``offender_id`` as text, exactly as written (``"00123"`` keeps its zeros).
        Give the same value for every file of a run: the cohort and the events must hold
        the id in the same type to join.

    Returns
    -------
    Cohort

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "cohort.csv"
    >>> _ = p.write_text("pnc,release\\n1,2020-01-31\\n2,2020-02-01\\n")
    >>> read_cohort(p, offender_id="pnc", index_date="release").n
    2
    >>> _ = p.write_text("pnc;release\\n007;31/01/2020\\n")
    >>> c = read_cohort(p, offender_id="pnc", index_date="release", separator=";",
    ...                 date_format="%d/%m/%Y", id_as_string=True)
    >>> c.frame["offender_id"].to_list(), str(c.frame["index_date"][0])
    (['007'], '2020-01-31')
    """
    df, found = _read_roles(path, COHORT, {"offender_id": offender_id,
                                           "index_date": index_date},
                            sheet=sheet, separator=separator, encoding=encoding,
                            date_format=date_format, id_as_string=id_as_string,
                            on_invalid=on_invalid)
    return Cohort.from_frame(df, on_invalid=on_invalid, **found)


def read_events(path: str | Path, *, offender_id: str = "offender_id",
                offence_date: str = "offence_date", disposal_date: str = "disposal_date",
                disposal_type: str = "disposal_type", offence_code: str = "offence_code",
                offence_category: str | None = None, court_event_id: str | None = None,
                on_invalid: OnInvalid = "raise", sheet: str | int | None = None,
                separator: str | None = None, encoding: str = "utf-8",
                date_format: str | None = None, id_as_string: bool = False,
                disposal_type_map: Mapping[str, str] | None = None,
                duplicates: Literal["exclude", "keep"] = "exclude") -> Events:
    """Read an events file and validate it (see :meth:`pbr.Events.from_frame`).

    A file with its header and no rows (nobody reoffended) is valid: its columns take
    the schema's types.

    Parameters
    ----------
    path
        CSV, TSV, Parquet or Excel file (see :func:`read_table`).
    offender_id, offence_date, disposal_date, disposal_type, offence_code
        The file's column for each role.
    offence_category, court_event_id
        Optional roles: picked up when columns of those names exist.
    on_invalid
        ``"raise"`` (default) or ``"exclude"`` rows that fail validation (ledgered).
    sheet, separator, encoding
        As for :func:`read_table`.
    date_format, id_as_string
        As for :func:`read_cohort`; give the cohort the same ``id_as_string``.
    disposal_type_map, duplicates
        As for :meth:`pbr.Events.from_frame`: the data's disposal types mapped onto
        pbr's (``{"fine": "conviction"}``); exact duplicate rows ``"exclude"``-d
        (ledgered, counted once; default) or kept.

    Returns
    -------
    Events

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "events.csv"
    >>> _ = p.write_text("offender_id,offence_date,disposal_date,disposal_type,offence_code"
    ...                  "\\n1,2020-03-01,2020-04-01,conviction,A\\n")
    >>> read_events(p).n
    1
    >>> _ = p.write_text("offender_id,offence_date,disposal_date,disposal_type,offence_code"
    ...                  "\\n")
    >>> read_events(p).n
    0
    """
    df, found = _read_roles(
        path, EVENTS, {"offender_id": offender_id, "offence_date": offence_date,
                       "disposal_date": disposal_date, "disposal_type": disposal_type,
                       "offence_code": offence_code, "offence_category": offence_category,
                       "court_event_id": court_event_id},
        sheet=sheet, separator=separator, encoding=encoding, date_format=date_format,
        id_as_string=id_as_string, on_invalid=on_invalid)
    return Events.from_frame(df, on_invalid=on_invalid, disposal_type_map=disposal_type_map,
                             duplicates=duplicates, **found)


def read_custody(path: str | Path, *, offender_id: str = "offender_id",
                 start_date: str = "start_date", end_date: str = "end_date",
                 on_invalid: OnInvalid = "raise", sheet: str | int | None = None,
                 separator: str | None = None, encoding: str = "utf-8",
                 date_format: str | None = None, id_as_string: bool = False) -> Custody:
    """Read a custody-spells file and validate it (see :meth:`pbr.Custody.from_frame`).

    Parameters
    ----------
    path
        CSV, TSV, Parquet or Excel file (see :func:`read_table`).
    offender_id, start_date, end_date
        The file's column for each role.
    on_invalid, sheet, separator, encoding, date_format, id_as_string
        As for :func:`read_cohort`.

    Returns
    -------
    Custody

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "custody.csv"
    >>> _ = p.write_text("offender_id,start_date,end_date\\n1,2020-01-01,2020-01-10\\n")
    >>> read_custody(p).n
    1
    """
    df, found = _read_roles(path, CUSTODY, {"offender_id": offender_id,
                                            "start_date": start_date, "end_date": end_date},
                            sheet=sheet, separator=separator, encoding=encoding,
                            date_format=date_format, id_as_string=id_as_string,
                            on_invalid=on_invalid)
    return Custody.from_frame(df, on_invalid=on_invalid, **found)


def read_disposals(path: str | Path, *, on_invalid: OnInvalid = "raise",
                   sheet: str | int | None = None, separator: str | None = None,
                   encoding: str = "utf-8", date_format: str | None = None,
                   id_as_string: bool = False, **roles: str | None) -> Disposals:
    """Read a disposals file and validate it (see :meth:`pbr.Disposals.from_frame`).

    Parameters
    ----------
    path
        CSV, TSV, Parquet or Excel file (see :func:`read_table`).
    on_invalid, sheet, separator, encoding, date_format, id_as_string
        As for :func:`read_cohort`.
    **roles
        The file's column for pbr's roles (``offender_id="pnc"``,
        ``release_date="discharged"``, ...); optional roles not given are read from a
        column of the role's name when one exists.

    Returns
    -------
    Disposals

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "disposals.csv"
    >>> _ = p.write_text("pnc,disposal_date,disposal_type,release_date\\n"
    ...                  "1,2020-01-31,custody,2020-03-01\\n2,2020-02-01,caution,\\n")
    >>> read_disposals(p, offender_id="pnc").n
    2
    """
    unknown = sorted(set(roles) - set(DISPOSALS.roles))
    if unknown:
        raise SchemaError(
            f"disposals: unknown role(s) {', '.join(unknown)}; roles: "
            f"{', '.join(DISPOSALS.roles)}")
    df, found = _read_roles(path, DISPOSALS, roles, sheet=sheet, separator=separator,
                            encoding=encoding, date_format=date_format,
                            id_as_string=id_as_string, on_invalid=on_invalid)
    return Disposals.from_frame(df, on_invalid=on_invalid, **found)


# --------------------------------------------------------------------------- writing
def _plain_types(df: pl.DataFrame) -> pl.DataFrame:
    """Categorical and enum columns as text, so bytes never depend on a dictionary order."""
    return df.with_columns(pl.col(c).cast(pl.String) for c, t in df.schema.items()
                           if isinstance(t, pl.Categorical | pl.Enum))


def write_table(df: pl.DataFrame, path: str | Path) -> Path:
    """Write a frame as CSV, TSV, Parquet or Excel (by suffix), byte-for-byte reproducibly.

    Categorical columns are written as text.  CSV dates are ISO ``YYYY-MM-DD``; Parquet
    uses zstd level 3, no column statistics and fixed row groups; the Excel workbook's
    creation date is fixed.  Missing parent directories are created.  The file is
    written beside the target and moved in when complete, so a failed write leaves the
    target as it was (:func:`pbr.io._atomic.atomic_files`).

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
    with atomic_files(path) as (tmp,):  # a failed write leaves the target as it was
        if fmt == "csv":
            df.write_csv(tmp, separator="\t" if path.suffix.lower() == ".tsv" else ",",
                         date_format="%Y-%m-%d", line_terminator="\n")
        elif fmt == "parquet":
            df.write_parquet(tmp, compression=_PARQUET_COMPRESSION,
                             compression_level=_PARQUET_LEVEL, statistics=False,
                             row_group_size=_PARQUET_ROW_GROUP)
        else:
            import xlsxwriter

            with xlsxwriter.Workbook(str(tmp)) as workbook:
                workbook.set_properties({"created": _EXCEL_CREATED})
                df.write_excel(workbook, worksheet="data", autofit=False,
                               dtype_formats={pl.Date: "yyyy-mm-dd"})
    return path
