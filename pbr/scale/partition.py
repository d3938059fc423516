"""Tables larger than memory, partitioned by a hash of the offender id.

:func:`partition` writes a cohort, events and custody table as one *partitioned
dataset*: each table split into ``buckets`` Parquet parts by a hash of its offender id,
so that part ``k`` of every table holds every row of the offenders whose id falls in
bucket ``k``.  A measure is per offender, so measuring part by part and putting the
parts together gives the whole table's result (:func:`pbr.scale.measure_partitioned`).

The tables are read and written by polars' streaming engine (``scan_*`` then a
partitioned ``sink_parquet``), so memory stays bounded by the engine's batches, not the
table's size.  Every row keeps its 0-based row number in the input table (column
``__pbr_row``), so that the exclusions ledger of a partitioned measure names the same
rows as the whole table's.  The dataset's manifest (``pbr-partitions.json``) records the
bucket count, the hash, the id column of each table, the row counts and the versions.

The hash: integer ids (any width, negative ones too) are multiplied by the 64-bit golden
ratio constant modulo 2^64 and the high 32 bits taken modulo ``buckets`` (Fibonacci
hashing, Knuth, *The Art of Computer Programming* vol. 3, 6.4; [Knuth-TAOCP3-1998]),
the same in every version; text ids use polars' ``hash`` with a fixed seed, which polars
may change between its versions, so a cohort partitioned later under another polars
version is refused (partition every table again).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from pbr._version import __version__
from pbr.errors import SchemaError

__all__ = ["MANIFEST", "ROW_COLUMN", "TABLES", "PartitionedData", "bucket_of", "partition"]

#: the dataset's manifest file, in its folder
MANIFEST = "pbr-partitions.json"
#: each row's 0-based number in the input table
ROW_COLUMN = "__pbr_row"
#: the tables a dataset may hold, in the order a measure reads them
TABLES = ("cohort", "events", "custody")
_BUCKET = "__pbr_bucket"
_GOLDEN = 0x9E3779B97F4A7C15
_TEXT_SEED = 0x5EED_0F_9B9
FORMAT = 1


def _id_kind(dtype: pl.DataType) -> str:
    if dtype.is_integer():
        return "integer"
    if dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum):
        return "text"
    raise SchemaError(f"offender_id of type {dtype}: pbr partitions integer or text ids. Fix: "
                      "cast the id column to an integer or text type before partitioning")


def bucket_of(column: str, buckets: int, kind: str) -> pl.Expr:
    """The bucket (0 .. buckets - 1, UInt32) of each row's id in ``column`` (rows without
    an id: bucket 0; validation leaves them out).

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"id": [1, 2, 3, -4, None]})
    >>> df.select(bucket_of("id", 4, "integer"))["id"].to_list()
    [1, 2, 0, 2, 0]
    """
    if buckets < 1:
        raise ValueError(f"buckets must be at least 1, got {buckets}")
    col = pl.col(column)
    if kind == "integer":
        h = (col.cast(pl.Int64).cast(pl.UInt64, wrap_numerical=True)
             * pl.lit(_GOLDEN, pl.UInt64)) // pl.lit(2**32, pl.UInt64)
    elif kind == "text":
        h = col.cast(pl.String).hash(seed=_TEXT_SEED)
    else:
        raise ValueError(f"kind must be 'integer' or 'text', got {kind!r}")
    return (h % buckets).fill_null(0).cast(pl.UInt32)


def _scan(source: Any, table: str) -> pl.LazyFrame:
    """A lazy scan of ``source``: a Parquet or CSV file, a folder or glob of Parquet
    files, or a polars frame (lazy or not)."""
    if isinstance(source, pl.LazyFrame):
        return source
    if isinstance(source, pl.DataFrame):
        return source.lazy()
    if isinstance(source, str | Path):
        path = Path(source)
        name = path.name.lower()
        if name.endswith((".csv", ".tsv", ".txt", ".csv.gz")):
            sep = "\t" if name.endswith(".tsv") else ","
            return pl.scan_csv(path, separator=sep, try_parse_dates=True)
        if path.is_dir():
            return pl.scan_parquet(path / "**" / "*.parquet")
        if name.endswith(".parquet") or any(c in str(source) for c in "*?["):
            return pl.scan_parquet(source)
        raise SchemaError(f"{table}: {source!s} is neither a Parquet file or folder nor a CSV "
                          "file. Fix: give a .parquet, .csv or .tsv path, a folder of Parquet "
                          "files or a polars frame")
    raise SchemaError(f"{table}: cannot partition a {type(source).__name__}. Fix: give a "
                      "path or a polars DataFrame / LazyFrame")


@dataclass(frozen=True)
class PartitionedData:
    """A partitioned dataset on disk (see :func:`partition`): its folder and manifest.

    ``tables`` maps each table held to its id column, row count and columns.  Read one
    bucket of a table with :meth:`read`.

    Examples
    --------
    >>> import pbr, tempfile
    >>> data = pbr.synth.generate(200, seed=1)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     ds = partition(d, cohort=data.cohort, events=data.events, buckets=4)
    ...     parts = [ds.read("cohort", k).height for k in range(ds.buckets)]
    >>> sum(parts), ds.tables["cohort"]["rows"]
    (200, 200)
    """

    path: Path
    buckets: int
    id_kind: str
    tables: Mapping[str, Mapping[str, Any]]
    polars_version: str

    @classmethod
    def open(cls, path: str | Path) -> PartitionedData:
        """The dataset in folder ``path`` (its manifest read and checked)."""
        root = Path(path)
        file = root / MANIFEST
        if not file.is_file():
            raise SchemaError(f"{root}: no {MANIFEST}, so not a dataset written by "
                              "pbr.scale.partition. Fix: partition the tables first")
        try:
            doc = json.loads(file.read_text(encoding="utf-8"))
            if doc.get("format") != FORMAT:
                raise SchemaError(f"{file}: format {doc.get('format')!r}, this pbr reads "
                                  f"format {FORMAT}. Fix: partition the tables again")
            return cls(root, int(doc["buckets"]), str(doc["id_kind"]), dict(doc["tables"]),
                       str(doc["polars"]))
        except (ValueError, KeyError, TypeError) as err:
            raise SchemaError(f"{file}: not a valid manifest ({err}). Fix: partition the "
                              "tables again") from None

    def files(self, table: str, bucket: int) -> list[Path]:
        """The Parquet files of one bucket of ``table`` (none when it has no rows)."""
        return sorted((self.path / table / f"{_BUCKET}={bucket}").glob("*.parquet"))

    def read(self, table: str, bucket: int) -> pl.DataFrame:
        """One bucket of ``table``, rows in input order, with :data:`ROW_COLUMN`."""
        if table not in self.tables:
            raise SchemaError(f"the dataset at {self.path} holds no {table} table (it holds "
                              f"{', '.join(self.tables)})")
        if not 0 <= bucket < self.buckets:
            raise ValueError(f"bucket {bucket} is not in 0..{self.buckets - 1}")
        files = self.files(table, bucket)
        if not files:
            return pl.DataFrame(schema=self.schema(table))
        frame = pl.read_parquet(files, hive_partitioning=False)
        return frame if len(files) == 1 else frame.sort(ROW_COLUMN)

    def schema(self, table: str) -> pl.Schema:
        """The columns of ``table`` as written (with :data:`ROW_COLUMN`)."""
        files = sorted((self.path / table).glob("*/*.parquet"))
        if files:
            return pl.Schema(pl.read_parquet_schema(files[0]))
        info = self.tables[table]
        return pl.Schema({c: getattr(pl, t) for c, t in info["schema"].items()})

    def check_polars(self) -> None:
        """Refuse to bucket a new table of text ids under another polars version."""
        if self.id_kind == "text" and self.polars_version != pl.__version__:
            raise SchemaError(
                f"the dataset at {self.path} was partitioned with polars "
                f"{self.polars_version}, whose text hash may differ from this polars "
                f"({pl.__version__}): a cohort bucketed now could miss its events. Fix: "
                "partition the cohort with the events (pbr.scale.partition(..., cohort=...))"
                " or partition the tables again")


def partition(out: str | Path, *, events: Any, cohort: Any = None, custody: Any = None,
              buckets: int = 64, offender_id: str | Mapping[str, str] = "offender_id",
              overwrite: bool = False) -> PartitionedData:
    """Write tables as a dataset partitioned by a hash of the offender id.

    Parameters
    ----------
    out
        The dataset's folder (created; an existing one only with ``overwrite=True``).
    events, cohort, custody
        Each a Parquet or CSV path, a folder or glob of Parquet files, or a polars frame
        (a ``LazyFrame`` is streamed).  Events are required; a cohort may also be given
        to :func:`pbr.scale.measure_partitioned` later.
    buckets
        Parts per table: choose it so that one part of the events fits in memory with
        room to spare (a measure holds about five times a part's Parquet size).
    offender_id
        The id column's name, one for all tables or a mapping of table to name.
    overwrite
        Replace ``out`` if it exists.

    Returns
    -------
    PartitionedData

    Examples
    --------
    >>> import pbr, tempfile
    >>> data = pbr.synth.generate(100, seed=3)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     ds = partition(d, events=data.events, buckets=2)
    ...     ds.buckets, ds.tables["events"]["rows"] == data.events.height
    (2, True)
    """
    if not isinstance(buckets, int) or isinstance(buckets, bool) or not 1 <= buckets <= 65536:
        raise ValueError(f"buckets must be an integer from 1 to 65536, got {buckets!r}")
    root = Path(out)
    if root.exists() and any(root.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{root} exists and is not empty. Fix: choose a new folder "
                                  "or pass overwrite=True")
        if not (root / MANIFEST).is_file():
            raise FileExistsError(f"{root} is not a pbr dataset (no {MANIFEST}); pbr "
                                  "replaces only its own datasets. Fix: choose a new folder")
        shutil.rmtree(root)
    given = {"cohort": cohort, "events": events, "custody": custody}
    scans = {t: _scan(src, t) for t, src in given.items() if src is not None}
    ids = {t: offender_id if isinstance(offender_id, str) else offender_id.get(t, "offender_id")
           for t in scans}
    kinds = {}
    for t, lf in scans.items():
        schema = lf.collect_schema()
        if ids[t] not in schema:
            raise SchemaError(f"{t}: no offender id column {ids[t]!r}; columns present: "
                              f"{', '.join(list(schema)[:20])}. Fix: pass offender_id= the "
                              "id column's name (a mapping for tables that differ)")
        if ROW_COLUMN in schema or _BUCKET in schema:
            raise SchemaError(f"{t}: a column is named {ROW_COLUMN!r} or {_BUCKET!r}, which "
                              "pbr writes itself. Fix: rename it")
        kinds[t] = _id_kind(schema[ids[t]])
    if len(set(kinds.values())) > 1:
        raise SchemaError(f"the tables' offender ids are of different kinds ({kinds}): the "
                          "same offender would fall in different parts. Fix: give every "
                          "table the same id type")
    kind = next(iter(kinds.values()))
    root.mkdir(parents=True, exist_ok=True)
    tables: dict[str, dict[str, Any]] = {}
    for t, lf in scans.items():
        target = root / t
        (lf.with_row_index(ROW_COLUMN)
         .with_columns(bucket_of(ids[t], buckets, kind).alias(_BUCKET))
         .sink_parquet(pl.PartitionBy(target, key=_BUCKET, include_key=False), mkdir=True))
        counted = pl.scan_parquet(target / "*" / "*.parquet", hive_partitioning=False)
        schema = counted.collect_schema()
        tables[t] = {"offender_id": ids[t], "rows": int(counted.select(pl.len()).collect().item()),
                     "source": str(given[t]) if isinstance(given[t], str | Path) else "frame",
                     "schema": {c: str(d.base_type()) for c, d in schema.items()}}
    doc = {"format": FORMAT, "buckets": buckets, "id_kind": kind,
           "hash": "fibonacci-u64" if kind == "integer" else f"polars-hash seed {_TEXT_SEED}",
           "polars": pl.__version__, "pbr": __version__, "tables": tables}
    (root / MANIFEST).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n",
                                 encoding="utf-8")
    return PartitionedData.open(root)
