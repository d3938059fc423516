"""Databases as inputs and outputs: DuckDB, SQLite and PostgreSQL, through Arrow.

A database table or query is named by a URI wherever pbr takes a file
(:func:`pbr.io.read_cohort` and its siblings, :func:`pbr.io.read_table`, the command
line's ``--cohort``, ``--events``, ``--custody``, ``--disposals``)::

    duckdb:///project.duckdb?table=cohort          a file relative to the working directory
    duckdb:////srv/data/project.duckdb?table=cohort   an absolute path (four slashes)
    sqlite:///extract.db?table=events
    postgresql://analyst@dbhost:5432/reoffending?table=pbr.cohort
    postgresql://analyst@dbhost/reoffending?sslmode=require&query=SELECT * FROM cohort

The shape is a URI's [IETF-RFC3986]; files take SQLAlchemy's three or four slashes
[SQLAlchemy-Database-URLs]; PostgreSQL takes libpq's connection URI [PostgreSQL-libpq-15].
``table=`` names a table or view (``schema.table`` allowed); ``query=`` gives a ``SELECT``
and must come last: everything after ``query=`` is the SQL, percent-decoded but
otherwise as written (so ``&``, ``+`` and ``=`` need no escaping).  Other parameters of a
PostgreSQL URI (``sslmode``, ``connect_timeout``, ...) go to libpq as written.  Give the
password through ``PGPASSWORD`` or ``~/.pgpass`` rather than in the URI: pbr never
prints it and never records it (:attr:`DatabaseSource.label` replaces it with ``***``).

DuckDB is read with its own Python package [DuckDB-Python-API], SQLite and PostgreSQL
with their ADBC drivers [Apache-ADBC-2023] (``pip install 'pbr-reoffending[db]'``); each
gives an Arrow table, which becomes a polars frame without a Python object per value.
The frame then goes through the same column mapping and validation as a file's
(docs/data.md).

:func:`pbr.io.extract` copies a table or query to a file with the record of the read.
:func:`write_results` writes results back (measures, comparisons, payment statements,
frames) to database tables, each row stamped with a run id and the manifest's SHA-256,
all tables in one transaction: a failure leaves nothing written.
"""

from __future__ import annotations

import hashlib
import importlib
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, TypeGuard
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import polars as pl

from pbr.errors import SchemaError

__all__ = [
    "SCHEMES",
    "DatabaseRead",
    "DatabaseSource",
    "exact_numbers",
    "is_database_uri",
    "parse_database_uri",
    "read_database",
    "write_results",
]

#: URI scheme -> the database it names (``postgres`` is an alias of ``postgresql``)
SCHEMES: dict[str, str] = {"duckdb": "duckdb", "sqlite": "sqlite",
                           "postgresql": "postgresql", "postgres": "postgresql"}
#: the modules each database needs, and the extra that installs them
_DRIVERS: dict[str, str] = {"duckdb": "duckdb", "sqlite": "adbc_driver_sqlite.dbapi",
                            "postgresql": "adbc_driver_postgresql.dbapi"}
_PACKAGES: dict[str, str] = {"duckdb": "duckdb", "sqlite": "adbc-driver-sqlite",
                             "postgresql": "adbc-driver-postgresql"}
#: any ``scheme://``: a URI, never a file path (an unknown scheme is refused by name)
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@/+-]{0,199}$")
#: the columns :func:`write_results` adds to every row
RUN_COLUMNS = ("run_id", "manifest_sha256")


def is_database_uri(value: object) -> TypeGuard[str]:
    """Whether ``value`` is a URI (``scheme://...``) rather than a file path: a database
    pbr reads, or one it refuses by name (:func:`parse_database_uri`).

    Examples
    --------
    >>> is_database_uri("duckdb:///project.duckdb?table=cohort"), is_database_uri("a.csv")
    (True, False)
    """
    return isinstance(value, str) and bool(_URI.match(value))


@dataclass(frozen=True)
class DatabaseSource:
    """One table or query of one database, parsed from its URI.

    Attributes
    ----------
    scheme
        ``"duckdb"``, ``"sqlite"`` or ``"postgresql"``.
    database
        The database file (DuckDB, SQLite) or the PostgreSQL URI without the password,
        ``table`` and ``query``.
    table, query
        The table (or view) read, or the SQL query run; exactly one is set (both are
        ``None`` for a URI given only to write to).
    """

    scheme: str
    database: str
    table: str | None = None
    query: str | None = None
    _connect: str = field(default="", repr=False, compare=False)

    @property
    def sql(self) -> str:
        """The statement run: the query, or ``SELECT * FROM`` the quoted table."""
        if self.query is not None:
            return self.query
        if self.table is None:
            raise SchemaError(f"{self.label}: names no table and no query. Fix: end the "
                              "URI with ?table=NAME or ?query=SELECT ...")
        return f"SELECT * FROM {quote_table(self.table)}"

    @property
    def location(self) -> str:
        """The database's URI without table, query or password."""
        return self.database if self.scheme == "postgresql" else \
            f"{self.scheme}:///{self.database}"

    @property
    def label(self) -> str:
        """The URI as pbr prints and records it: never with a password."""
        base = self.location
        if self.table is not None:
            return f"{base}{'&' if '?' in base else '?'}table={self.table}"
        if self.query is not None:
            return f"{base}{'&' if '?' in base else '?'}query={self.query}"
        return base

    def __str__(self) -> str:
        return self.label


def quote_table(name: str) -> str:
    """A table name, optionally ``schema.table``, as a quoted SQL identifier.

    Examples
    --------
    >>> quote_table("pbr.cohort")
    '"pbr"."cohort"'
    """
    parts = name.split(".")
    if not 1 <= len(parts) <= 2 or not all(_IDENT.match(p) for p in parts):
        raise SchemaError(
            f"table name {name!r}: write a name of letters, digits and underscores, "
            "optionally schema-qualified (schema.table); for anything else give "
            "query=SELECT ... instead")
    return ".".join(f'"{p}"' for p in parts)


def _without_password(netloc: str) -> str:
    if "@" not in netloc:
        return netloc
    userinfo, host = netloc.rsplit("@", 1)
    user, sep, _ = userinfo.partition(":")
    return f"{user}{':***' if sep else ''}@{host}"


def parse_database_uri(uri: str, *, table: str | None = None, query: str | None = None,
                       require: bool = True) -> DatabaseSource:
    """Parse a database URI (syntax in :mod:`pbr.io.db`).

    Parameters
    ----------
    uri
        ``duckdb:///FILE?table=NAME``, ``sqlite:///FILE?query=SQL``,
        ``postgresql://USER@HOST[:PORT]/DB?table=SCHEMA.NAME`` ...
    table, query
        Instead of ``table=`` / ``query=`` in the URI (not both ways at once).
    require
        A table or a query must be named (reading); ``False`` for writing.

    Returns
    -------
    DatabaseSource

    Raises
    ------
    SchemaError
        An unknown scheme, no file or database, both or neither of table and query, an
        unsafe table name.

    Examples
    --------
    >>> s = parse_database_uri("postgresql://ann:secret@db:5432/pbr?table=pbr.cohort")
    >>> s.label, s.sql
    ('postgresql://ann:***@db:5432/pbr?table=pbr.cohort', 'SELECT * FROM "pbr"."cohort"')
    >>> parse_database_uri("duckdb:///project.duckdb?query=SELECT a+b FROM t").query
    'SELECT a+b FROM t'
    """
    if not is_database_uri(uri) or uri.split("://", 1)[0].lower() not in SCHEMES:
        raise SchemaError(
            f"{_redact(str(uri))!r} is not a database URI pbr reads. Fix: begin it with "
            "duckdb:///, sqlite:/// or postgresql:// (e.g. "
            "duckdb:///project.duckdb?table=cohort); from another database, export the "
            "table to Parquet or CSV")
    found = re.search(r"[?&]query=", uri)
    head, sql = (uri[:found.start()], uri[found.end():]) if found else (uri, "")
    if found:
        sql = unquote(sql).strip()
        if not sql:
            raise SchemaError(f"{_redact(uri)}: query= is empty. Fix: give the SELECT after "
                              "query=, or name a table with table=")
    parts = urlsplit(head)
    scheme = SCHEMES[parts.scheme.lower()]
    params: list[tuple[str, str]] = []
    for item in filter(None, parts.query.split("&")):
        key, _, value = item.partition("=")
        params.append((unquote(key), unquote(value)))
    in_uri = [v for k, v in params if k == "table"]
    rest = [(k, v) for k, v in params if k != "table"]
    if len(in_uri) > 1:
        raise SchemaError(f"{_redact(uri)}: table= given {len(in_uri)} times. Fix: give one")
    uri_table = in_uri[0] if in_uri else None
    uri_query = sql if found else None
    if (table is not None and uri_table is not None) or (query is not None and uri_query):
        raise SchemaError(f"{_redact(uri)}: the table or query is given both in the URI and "
                          "as an argument. Fix: give it once")
    table = table if table is not None else uri_table
    query = query if query is not None else uri_query
    if table is not None and query is not None:
        raise SchemaError(f"{_redact(uri)}: names both a table and a query. Fix: give one "
                          "of table= and query=")
    if require and table is None and query is None:
        raise SchemaError(f"{_redact(uri)}: names no table and no query. Fix: end the URI "
                          "with ?table=NAME or ?query=SELECT ...")
    if table is not None:
        quote_table(table)
    if scheme == "postgresql":
        if not parts.path.strip("/"):
            raise SchemaError(f"{_redact(uri)}: no database name. Fix: "
                              "postgresql://USER@HOST[:PORT]/DATABASE?table=NAME")
        query_text = "&".join(f"{k}={v}" for k, v in rest)
        connect = urlunsplit(("postgresql", parts.netloc, parts.path, query_text, ""))
        shown = urlunsplit(("postgresql", _without_password(parts.netloc), parts.path,
                            query_text, ""))
        return DatabaseSource(scheme, shown, table, query, connect)
    if rest:
        raise SchemaError(f"{_redact(uri)}: unknown parameter(s) "
                          f"{', '.join(k for k, _ in rest)}; a {scheme} URI takes table= "
                          "or query=")
    if parts.netloc:
        raise SchemaError(f"{_redact(uri)}: a {scheme} URI has three slashes before the "
                          f"file: {scheme}:///project.{scheme} (relative) or "
                          f"{scheme}:////abs/path.{scheme}")
    path = unquote(parts.path[1:])
    if not path:
        raise SchemaError(f"{_redact(uri)}: no database file. Fix: {scheme}:///FILE?table=NAME")
    return DatabaseSource(scheme, path, table, query, path)


def _redact(uri: str) -> str:
    """A URI for a message: the password of ``user:password@`` replaced."""
    return re.sub(r"(://[^/@:]*:)[^/@]*@", r"\1***@", uri)


def _driver(scheme: str) -> Any:
    try:
        return importlib.import_module(_DRIVERS[scheme])
    except ImportError:
        raise SchemaError(
            f"reading or writing {scheme} needs the package {_PACKAGES[scheme]}, which is "
            "not installed. Fix: pip install 'pbr-reoffending[db]'") from None


@contextmanager
def _connection(source: DatabaseSource, *, write: bool) -> Iterator[Any]:
    """A DB-API connection (DuckDB's own, or ADBC's) with autocommit off."""
    module = _driver(source.scheme)
    if source.scheme in ("duckdb", "sqlite"):
        path = Path(source.database)
        if not write and not path.is_file():
            where = "is a directory, not a file" if path.is_dir() else "does not exist"
            raise SchemaError(f"cannot read {source.label}: the database file {where}")
        if write and not path.parent.is_dir():
            raise SchemaError(f"cannot write {source.label}: the directory {path.parent} "
                              "does not exist")
    try:
        if source.scheme == "duckdb":
            con = module.connect(source.database, read_only=not write)
        elif source.scheme == "sqlite":  # read-only unless writing (SQLite's URI form)
            con = module.connect(source.database if write else
                                 f"file:{quote(source.database)}?mode=ro", autocommit=False)
        else:
            con = module.connect(source._connect, autocommit=False)
    except SchemaError:
        raise
    except Exception as exc:  # the driver's own (file locked, no server, refused login)
        raise SchemaError(f"cannot connect to {source.label}: {_first_line(exc)}") from exc
    try:
        yield con
    finally:
        con.close()


def _first_line(exc: BaseException) -> str:
    text = _redact(str(exc).strip())
    return text.splitlines()[0] if text else type(exc).__name__


# --------------------------------------------------------------------------- reading
@dataclass(frozen=True)
class DatabaseRead:
    """The record of one read of a database: where, what and a hash of the rows
    (written beside an extract by :func:`pbr.io.extract`).

    Attributes
    ----------
    database
        The database, without a password (:attr:`DatabaseSource.label`'s base).
    scheme, table, query
        As in :class:`DatabaseSource`; ``query`` is the SQL run (for a table,
        ``SELECT * FROM "table"``).
    rows
        Rows read.
    sha256
        SHA-256 of the rows read, in the order read: column names, types and values
        (:func:`rows_sha256`).
    """

    scheme: str
    database: str
    table: str | None
    query: str
    rows: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        """The record as plain JSON values, for a manifest."""
        return {"scheme": self.scheme, "database": self.database, "table": self.table,
                "query": self.query, "rows": self.rows, "sha256": self.sha256}


def rows_sha256(df: pl.DataFrame) -> str:
    """SHA-256 over a frame's column names, types and values, in row order.

    The same rows with the same types give the same hash whatever the polars version:
    numeric and date columns hash their little-endian values and validity, text
    columns their UTF-8 bytes and lengths, decimals their exact text.  The types are
    part of it: a column read as 32-bit integers by one database and 64-bit by another
    hashes differently.

    Examples
    --------
    >>> a = pl.DataFrame({"id": [1, 2], "code": ["A", None]})
    >>> rows_sha256(a) == rows_sha256(a.clone()), rows_sha256(a) == rows_sha256(a[::-1])
    (True, False)
    """
    h = hashlib.sha256(f"{df.height}\n".encode())
    for name in df.columns:
        s = df[name]
        h.update(f"{name}:{s.dtype.base_type()}\n".encode())
        if isinstance(s.dtype, pl.Decimal):
            s = s.cast(pl.String)
        if isinstance(s.dtype, pl.Categorical | pl.Enum) or s.dtype in (pl.String, pl.Null):
            text = s.cast(pl.String)
            h.update(text.str.len_bytes().fill_null(-1).cast(pl.Int64).to_numpy()
                     .astype("<i8").tobytes())
            h.update(text.fill_null("").str.join("").item().encode())
        elif s.dtype.is_nested() or s.dtype == pl.Object:
            raise SchemaError(f"column {name!r} has type {s.dtype}, which pbr does not read "
                              "from a database. Fix: select scalar columns only")
        else:
            h.update(s.is_null().to_numpy().astype("u1").tobytes())
            phys = s.to_physical().fill_null(0)
            h.update(phys.to_numpy().astype(phys.to_numpy().dtype.newbyteorder("<"))
                     .tobytes())
    return h.hexdigest()


def _fetch(source: DatabaseSource, columns: Sequence[str] | None) -> pl.DataFrame:
    sql = source.sql
    if columns is not None and source.table is not None:
        sql = (f"SELECT {', '.join(_quote_ident(c) for c in columns)} FROM "
               f"{quote_table(source.table)}")
    with _connection(source, write=False) as con:
        try:
            if source.scheme == "duckdb":
                rel = con.sql(sql)  # DuckDB 2 names it to_arrow_table, 1.x arrow
                arrow = rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else \
                    rel.arrow()
            else:
                cur = con.cursor()
                try:
                    cur.execute(sql)
                    arrow = cur.fetch_arrow_table()
                finally:
                    cur.close()
        except Exception as exc:  # the database's own (no such table, SQL error)
            what = f"table {source.table!r}" if source.query is None else "the query"
            hint = (". Fix: a SQLite column holds values of several types (SQLite allows "
                    "it; a table column has one type): read it with query=SELECT "
                    "CAST(column AS TEXT) AS column, ... or correct the rows"
                    if "Type mismatch" in str(exc) else "")
            raise SchemaError(f"cannot read {what} of {source.label}: "
                              f"{_first_line(exc)}{hint}") from exc
    return _from_arrow(arrow)


def _from_arrow(arrow: Any) -> pl.DataFrame:
    """An Arrow table as a polars frame.  Columns in a driver's extension type (ADBC's
    PostgreSQL ``numeric`` is an opaque type over its exact text) become their storage;
    ``numeric`` text becomes integers when every value is whole, else exact decimals."""
    import pyarrow as pa

    numeric: list[str] = []
    for i, f in enumerate(arrow.schema):
        if isinstance(f.type, pa.BaseExtensionType):
            if getattr(f.type, "type_name", "") == "numeric":
                numeric.append(f.name)
            storage = pa.chunked_array([c.storage for c in arrow.column(i).chunks],
                                       type=f.type.storage_type)
            arrow = arrow.set_column(i, pa.field(f.name, storage.type), storage)
    df = pl.from_arrow(arrow, rechunk=True)
    assert isinstance(df, pl.DataFrame)
    for name in numeric:
        text = df[name].cast(pl.String).str.strip_chars()
        values = text.drop_nulls()
        if bool(values.str.contains(r"^-?\d{1,18}$").all()):
            df = df.with_columns(text.cast(pl.Int64).alias(name))
        elif bool(values.str.contains(r"^-?\d+(\.\d+)?$").all()):
            df = df.with_columns(text.str.to_decimal(scale=_scale(values)).alias(name))
    return df


def _scale(values: pl.Series) -> int:
    """The most digits after the point among decimal texts."""
    digits = values.str.extract(r"\.(\d+)$").str.len_chars().max()
    return int(digits) if isinstance(digits, int) else 0


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _whole_decimals(df: pl.DataFrame) -> pl.DataFrame:
    """Decimal columns with no fraction digits (PostgreSQL ``numeric(p, 0)``, SQL
    ``DECIMAL`` identifiers) as integers, the type a file would have given."""
    return df.with_columns(pl.col(c).cast(pl.Int64) for c, t in df.schema.items()
                           if isinstance(t, pl.Decimal) and t.scale == 0
                           and (t.precision or 38) <= 18)


def read_database(uri: str | DatabaseSource, *, table: str | None = None,
                  query: str | None = None, columns: Sequence[str] | None = None,
                  text_columns: Collection[str] = ()) -> tuple[pl.DataFrame, DatabaseRead]:
    """Read a table or query of a database into a polars frame, through Arrow.

    Parameters
    ----------
    uri
        ``duckdb:///FILE``, ``sqlite:///FILE`` or ``postgresql://USER@HOST/DB``, with
        ``?table=`` or ``?query=`` (syntax in :mod:`pbr.io.db`), or a parsed source.
    table, query
        The table or query, when the URI does not name one.
    columns
        Read only these columns (a missing one raises, naming it and the columns there).
    text_columns
        Columns converted to text (whole numbers without ``.0``), as for files.

    Returns
    -------
    (polars.DataFrame, DatabaseRead)
        The rows with the database's types (dates as ``pl.Date``, whole-number decimals
        as integers) and the record of the read for the manifest.

    Raises
    ------
    SchemaError
        A malformed URI, a driver not installed (naming the extra), a database that
        cannot be reached, a table or SQL error (the database's message, without the
        password), a missing column.

    Examples
    --------
    >>> import duckdb, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "project.duckdb"
    >>> with duckdb.connect(str(p)) as con:
    ...     _ = con.execute("CREATE TABLE cohort AS SELECT 1 AS offender_id, "
    ...                     "DATE '2020-01-31' AS index_date")
    >>> df, record = read_database(f"duckdb:///{p}?table=cohort")
    >>> df.height, record.query, record.rows
    (1, 'SELECT * FROM "cohort"', 1)
    """
    source = uri if isinstance(uri, DatabaseSource) else \
        parse_database_uri(uri, table=table, query=query)
    if columns is not None and source.table is not None:
        present = _fetch_columns(source)
        missing = [c for c in columns if c not in present]
        if missing:
            raise SchemaError(
                f"{source.label}: no column(s) {', '.join(map(repr, missing))}; columns "
                f"present: {', '.join(present[:20])}")
    df = _fetch(source, columns)
    if columns is not None and source.table is None:
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise SchemaError(
                f"{source.label}: no column(s) {', '.join(map(repr, missing))}; columns "
                f"present: {', '.join(df.columns[:20])}")
        df = df.select(columns)
    df = _whole_decimals(df)
    record = DatabaseRead(source.scheme, source.location, source.table, source.sql,
                          df.height, rows_sha256(df))
    df = df.with_columns(_as_text(df[c]) for c in text_columns
                         if c in df.columns and df.schema[c] != pl.String)
    return df, record


def _fetch_columns(source: DatabaseSource) -> list[str]:
    assert source.table is not None
    probe = DatabaseSource(source.scheme, source.database, None,
                           f"SELECT * FROM {quote_table(source.table)} LIMIT 0",
                           source._connect)
    return list(_fetch(probe, None).columns)


def _as_text(s: pl.Series) -> pl.Series:
    if s.dtype.is_float() and bool((s.drop_nulls() == s.drop_nulls().round()).all()):
        s = s.cast(pl.Int64)
    return s.cast(pl.String)


# --------------------------------------------------------------------------- writing
def exact_numbers(df: pl.DataFrame, columns: Collection[str] | None = None) -> pl.DataFrame:
    """Text columns that hold numbers as typed columns, exactly: whole numbers as
    integers, numbers with a decimal point as decimals (the most digits after the point
    any value has), ``true``/``false`` as booleans; other text is left as it is.

    For numbers kept as exact text (a payment statement's amounts, a statement CSV), so
    that a database stores them as ``DECIMAL`` and SQL can add them up.

    Examples
    --------
    >>> df = exact_numbers(pl.DataFrame({"amount": ["150000.00", "-0.5"], "code": ["A", "B"]}))
    >>> df.schema["amount"], df["amount"].to_list()
    (Decimal(precision=38, scale=2), [Decimal('150000.00'), Decimal('-0.50')])
    """
    for name in df.columns if columns is None else columns:
        if name not in df.columns or df.schema[name] != pl.String:
            continue
        values = df[name].drop_nulls()
        if values.len() == 0:
            continue
        if bool(values.str.contains(r"^-?(0|[1-9]\d{0,17})$").all()):
            df = df.with_columns(pl.col(name).cast(pl.Int64))
        elif bool(values.str.contains(r"^-?\d+\.\d+$").all()):
            df = df.with_columns(pl.col(name).str.to_decimal(scale=_scale(values)))
        elif bool(values.is_in(["true", "false"]).all()):
            df = df.with_columns(pl.col(name) == "true")
    return df


def _result_frame(name: str, result: Any) -> pl.DataFrame:
    if isinstance(result, pl.DataFrame):
        return result
    from pbr.contract.statement import PaymentStatement

    if isinstance(result, PaymentStatement):  # its frame holds exact decimal text
        frame = result.to_frame()
        return exact_numbers(frame, [c for c in frame.columns
                                     if c not in ("line", "cohort", "participant")])
    to_frame = getattr(result, "to_frame", None)
    if to_frame is None:
        raise SchemaError(
            f"write_results: {name!r} is a {type(result).__name__}; expected a polars "
            "DataFrame or a pbr result (MeasureResult, ComparisonResult, PaymentStatement, "
            "anything with to_frame())")
    frame = to_frame()
    if not isinstance(frame, pl.DataFrame):
        raise SchemaError(f"write_results: {name!r}.to_frame() did not give a polars frame")
    return frame


def _storable(df: pl.DataFrame, name: str, scheme: str) -> pl.DataFrame:
    """Columns in types every database stores exactly: categories as text, Decimal
    objects as exact decimals (text in SQLite, which has no decimal type)."""
    out = []
    for col, dtype in df.schema.items():
        s = df[col]
        if isinstance(dtype, pl.Categorical | pl.Enum) or dtype == pl.Null:
            s = s.cast(pl.String)
        elif dtype == pl.Object:
            values = s.to_list()
            if not all(v is None or isinstance(v, Decimal) for v in values):
                raise SchemaError(f"write_results: {name!r} column {col!r} holds Python "
                                  "objects that are not Decimal. Fix: cast it first")
            s = pl.Series(col, [None if v is None else str(v) for v in values], pl.String)
        elif dtype.is_nested():
            raise SchemaError(f"write_results: {name!r} column {col!r} has type {dtype}, "
                              "which a database table does not hold. Fix: drop or flatten it")
        if isinstance(s.dtype, pl.Decimal) and scheme == "sqlite":
            s = s.cast(pl.String)
        out.append(s)
    return pl.DataFrame(out)


def _manifest_sha256(manifest: Any) -> str:
    if manifest is None:
        return ""
    if isinstance(manifest, str) and re.fullmatch(r"[0-9a-f]{64}", manifest):
        return manifest
    if isinstance(manifest, str | Path):
        path = Path(manifest)
        if not path.is_file():
            raise SchemaError(f"write_results: manifest {str(path)!r} is not a file. Fix: "
                              "give the manifest file, a Manifest, or its SHA-256")
        return hashlib.sha256(path.read_bytes()).hexdigest()
    to_json = getattr(manifest, "to_json", None)
    if to_json is None:
        raise SchemaError("write_results: manifest= takes a Manifest, its file or its "
                          f"SHA-256; got a {type(manifest).__name__}")
    return hashlib.sha256(str(to_json()).encode()).hexdigest()


def _existing(con: Any, scheme: str, table: str) -> list[str] | None:
    """The table's columns, or None when it does not exist."""
    schema, _, name = table.rpartition(".")
    if scheme == "sqlite":
        sql = f"SELECT name FROM pragma_table_info('{name}')"
    else:
        where = f"table_name = '{name}'" + (f" AND table_schema = '{schema}'" if schema
                                            else "")
        if scheme == "postgresql" and not schema:
            where += " AND table_schema = current_schema()"
        sql = (f"SELECT column_name FROM information_schema.columns WHERE {where} "
               "ORDER BY ordinal_position")
    rows = _query(con, scheme, sql)
    return [str(r[0]) for r in rows] or None


def _query(con: Any, scheme: str, sql: str) -> list[tuple[Any, ...]]:
    if scheme == "duckdb":
        return list(con.execute(sql).fetchall())
    cur = con.cursor()
    try:
        cur.execute(sql)
        return list(cur.fetchall())
    finally:
        cur.close()


def _execute(con: Any, scheme: str, sql: str) -> None:
    if scheme == "duckdb":
        con.execute(sql)
        return
    cur = con.cursor()
    try:
        cur.execute(sql)
    finally:
        cur.close()


def _insert(con: Any, scheme: str, table: str, df: pl.DataFrame, create: bool) -> None:
    arrow = df.to_arrow()
    if scheme == "duckdb":
        con.register("__pbr_rows", arrow)
        try:
            verb = "CREATE TABLE {} AS" if create else "INSERT INTO {} BY NAME"
            con.execute(f"{verb.format(quote_table(table))} SELECT * FROM __pbr_rows")
        finally:  # after a failed statement DuckDB refuses this too: keep the first error
            with suppress(Exception):
                con.unregister("__pbr_rows")
        return
    schema, _, name = table.rpartition(".")
    cur = con.cursor()
    try:
        cur.adbc_ingest(name, arrow, mode="create" if create else "append",
                        **({"db_schema_name": schema} if schema else {}))
    finally:
        cur.close()


def write_results(uri: str, results: Mapping[str, Any], *, run_id: str,
                  manifest: Any = None,
                  if_run_exists: Literal["error", "replace"] = "error") -> dict[str, int]:
    """Write results to database tables, every row with the run id and manifest hash,
    all in one transaction.

    Each table is created on first use (its columns those of the first frame written,
    plus ``run_id`` and ``manifest_sha256``) and appended to afterwards; a frame whose
    columns differ from the table's is refused.  Every table is written inside one
    transaction, committed only when all are: a failure anywhere (a refused frame, the
    database's own error) rolls back every table, so nothing is written.

    Parameters
    ----------
    uri
        ``duckdb:///FILE``, ``sqlite:///FILE`` or ``postgresql://USER@HOST/DB`` (without
        ``table=``: the tables are the keys of ``results``).  A DuckDB or SQLite file is
        created if missing.
    results
        Table name (``schema.table`` allowed) -> result: a polars frame, or anything
        with ``to_frame()`` (:class:`~pbr.MeasureResult`, :class:`~pbr.ComparisonResult`,
        :class:`~pbr.PaymentStatement`, ...).  Decimal amounts stay exact (``DECIMAL``
        in DuckDB and PostgreSQL; text in SQLite, which has no decimal type).
    run_id
        Names this run in every row: letters, digits and ``_.:@/+-``, up to 200
        characters.  Give it yourself (e.g. ``"2026-Q1-final"``): pbr reads no clock.
    manifest
        The run's :class:`~pbr.io.manifest.Manifest`, its file, or its SHA-256 (hex);
        its hash is written in ``manifest_sha256`` (empty when not given).
    if_run_exists
        ``"error"`` (default): refuse a run id a table already holds; ``"replace"``:
        delete that run's rows first (in the same transaction).

    Returns
    -------
    dict
        Table -> rows written.

    Raises
    ------
    SchemaError
        A bad URI, table name or run id, a run already written, columns that differ from
        the table's, the database's own error; nothing is written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> frame = pl.DataFrame({"offender_id": [1, 2], "reoffended": [True, False]})
    >>> write_results(f"duckdb:///{d / 'out.duckdb'}", {"measures": frame}, run_id="r1")
    {'measures': 2}
    >>> read_database(f"duckdb:///{d / 'out.duckdb'}?table=measures")[0]["run_id"].to_list()
    ['r1', 'r1']
    """
    source = parse_database_uri(uri, require=False)
    if source.table is not None or source.query is not None:
        raise SchemaError(f"write_results: {source.label} names a table or query; the "
                          "tables are the keys of results. Fix: give the database URI alone")
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        raise SchemaError(f"write_results: run_id {run_id!r} is not a run id. Fix: give "
                          "letters, digits and _.:@/+- (up to 200 characters), e.g. "
                          "'2026-Q1-final'")
    if if_run_exists not in ("error", "replace"):
        raise SchemaError(f"write_results: if_run_exists must be 'error' or 'replace', got "
                          f"{if_run_exists!r}")
    if not results:
        raise SchemaError("write_results: no results given. Fix: pass {'table': result}")
    digest = _manifest_sha256(manifest)
    frames: dict[str, pl.DataFrame] = {}
    for name, result in results.items():
        quote_table(name)
        df = _storable(_result_frame(name, result), name, source.scheme)
        clash = [c for c in RUN_COLUMNS if c in df.columns]
        if clash:
            raise SchemaError(f"write_results: {name!r} already has column(s) {clash}, "
                              "which pbr adds. Fix: rename or drop them")
        frames[name] = df.with_columns(pl.lit(run_id).alias("run_id"),
                                       pl.lit(digest).alias("manifest_sha256"))
    written: dict[str, int] = {}
    with _connection(source, write=True) as con:
        if source.scheme == "duckdb":
            con.execute("BEGIN TRANSACTION")
        try:
            for name, df in frames.items():
                written[name] = _write_one(con, source, name, df, run_id, if_run_exists)
            con.commit()
        except BaseException as exc:
            con.rollback()
            if isinstance(exc, SchemaError) or not isinstance(exc, Exception):
                raise
            raise SchemaError(f"write_results to {source.label} failed; nothing was "
                              f"written: {_first_line(exc)}") from exc
    return written


def _write_one(con: Any, source: DatabaseSource, name: str, df: pl.DataFrame, run_id: str,
               if_run_exists: str) -> int:
    present = _existing(con, source.scheme, name)
    if present is not None:
        if sorted(present) != sorted(df.columns):
            extra = sorted(set(df.columns) - set(present))
            lacking = sorted(set(present) - set(df.columns))
            raise SchemaError(
                f"write_results: table {name!r} of {source.label} has other columns than "
                f"the result: new {extra}, missing {lacking}. Nothing was written. Fix: "
                "write to another table, or drop the old one")
        held = _query(con, source.scheme, f"SELECT COUNT(*) FROM {quote_table(name)} "
                      f"WHERE run_id = '{run_id}'")[0][0]
        if held and if_run_exists == "error":
            raise SchemaError(
                f"write_results: table {name!r} of {source.label} already holds {held} "
                f"row(s) of run {run_id!r}. Nothing was written. Fix: give a new run_id, "
                "or if_run_exists='replace'")
        if held:  # run_id is checked against _RUN_ID: no quote can reach the SQL
            _execute(con, source.scheme,
                     f"DELETE FROM {quote_table(name)} WHERE run_id = '{run_id}'")
        df = df.select(present)
    _insert(con, source.scheme, name, df, create=present is None)
    return df.height


def database_label(uri: str) -> Path:
    """A database URI as the name pbr's reading messages give a file: the password
    replaced, ``scheme:`` before the database (a path cannot keep ``//``).

    Examples
    --------
    >>> str(database_label("duckdb:///project.duckdb?table=cohort"))
    'duckdb:project.duckdb?table=cohort'
    """
    label = parse_database_uri(uri).label
    return Path(label.replace(":///", ":", 1).replace("://", ":", 1))
