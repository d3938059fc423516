"""A database table or query copied to a file, with the record of the read beside it.

Databases change after a run; a run that must stay verifiable (a payment statement and
its manifest) runs on an extract (docs/data.md).
"""

from __future__ import annotations

import json
from pathlib import Path

from pbr.io._atomic import atomic_files
from pbr.io.db import DatabaseRead, read_database
from pbr.io.tables import write_table

__all__ = ["extract"]


def extract(uri: str, path: str | Path) -> DatabaseRead:
    """Copy a database table or query to a file, with the record of the read beside it.

    Databases change; an audited run needs the rows it read.  The rows are written with
    :func:`pbr.io.write_table` (same rows, same bytes) and the :class:`DatabaseRead`
    record (database without password, query, rows, SHA-256 of the rows) as JSON to
    ``<path>.source.json``.  A contract run on the file
    (:func:`pbr.audit.pay_files`) then records the file's hash in its manifest, and
    :func:`pbr.audit.verify` can recompute it after the database has moved on.

    Parameters
    ----------
    uri
        The database table or query (syntax in :mod:`pbr.io.db`).
    path
        The file to write: ``.parquet`` (recommended: keeps the types), ``.csv``, ...

    Returns
    -------
    DatabaseRead

    Examples
    --------
    >>> import duckdb, json, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with duckdb.connect(str(d / "p.duckdb")) as con:
    ...     _ = con.execute("CREATE TABLE cohort AS SELECT 1 AS offender_id")
    >>> record = extract(f"duckdb:///{d / 'p.duckdb'}?table=cohort", d / "cohort.parquet")
    >>> json.loads((d / "cohort.parquet.source.json").read_text())["rows"]
    1
    """
    df, record = read_database(uri)
    path = Path(path)
    side = path.with_name(path.name + ".source.json")
    text = json.dumps(record.to_dict(), indent=2, sort_keys=True) + "\n"
    with atomic_files(path, side) as (rows, source):  # both files, or neither
        write_table(df, rows)
        source.write_text(text, encoding="utf-8")
    return record
