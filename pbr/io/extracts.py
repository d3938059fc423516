"""A database table or query copied to a file, with the record of the read beside it.

Databases change after a run; a run that must stay verifiable (a payment statement and
its manifest) runs on an extract (docs/data.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from pbr.errors import SchemaError
from pbr.io._atomic import atomic_files
from pbr.io.db import DatabaseRead, is_database_uri, parse_database_uri, read_database
from pbr.io.tables import write_table

__all__ = ["INPUTS", "extract", "extracted_inputs"]

#: where an audited run keeps the extracts of its database inputs (inside its output)
INPUTS = "inputs"


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


@contextmanager
def extracted_inputs(out: str | Path, step: Callable[[str], object] | None = None,
                     suffixes: Mapping[str, str] | None = None,
                     **inputs: str | Path | None) -> Iterator[dict[str, Path]]:
    """The database inputs of an audited run extracted into ``out/inputs``.

    Each database URI among ``inputs`` is extracted (:func:`extract`) to
    ``out/inputs/ROLE.parquet``, with the record of the read beside it as
    ``ROLE.parquet.source.json``, so that the run's manifest hashes the rows the run
    used and :func:`pbr.audit.verify` can recompute it after the database has moved on.
    Files are passed on as they are; inputs given as None are left out.  If the block
    fails, the extracts written (and the folders made for them) are removed again; an
    existing extract is never overwritten.

    Parameters
    ----------
    out
        The run's output directory.
    step
        Called with a line for each extract (the command line's progress).
    suffixes
        Role -> the extract's suffix, for inputs read as CSV (outcome events,
        participants, published outcomes, ledgers: ``".csv"``); default ``.parquet``.
    **inputs
        Role -> file, database URI or None.

    Yields
    ------
    dict
        Role -> the file to read (the extract for a database input).
    """
    out = Path(out)
    paths: dict[str, Path] = {}
    written: list[Path] = []
    folder = out / INPUTS
    created = [d for d in (folder, *folder.parents) if not d.exists()]
    try:
        for role, given in inputs.items():
            if given is None:
                continue
            if not is_database_uri(given):
                paths[role] = Path(given)
                continue
            label = parse_database_uri(given).label
            target = folder / f"{role}{(suffixes or {}).get(role, '.parquet')}"
            side = target.with_name(target.name + ".source.json")
            if target.exists() or side.exists():
                raise SchemaError(
                    f"{role} {label}: {target} already exists, and an extract is never "
                    f"overwritten. Fix: write the run to another directory, or remove "
                    f"{target}")
            if step is not None:
                step(f"extracting {label} into {target}")
            folder.mkdir(parents=True, exist_ok=True)
            written += [target, side]
            extract(given, target)
            paths[role] = target
        yield paths
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        for d in created:  # deepest first: the folders made for the extracts, if empty
            if d.is_dir() and not any(d.iterdir()):
                d.rmdir()
        raise
