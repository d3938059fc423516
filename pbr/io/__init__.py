"""File access: read inputs into validated tables, write results and specs.

The only layer of pbr that touches files (layer 3); it prints nothing.

=====================  ============================================================
function               does
=====================  ============================================================
``read_table``         CSV / TSV / Parquet / Excel -> polars DataFrame (by suffix)
``read_cohort``        file -> :class:`~pbr.Cohort` (roles mapped, validated)
``read_events``        file -> :class:`~pbr.Events`
``read_custody``       file -> :class:`~pbr.Custody`
``read_disposals``     file -> :class:`~pbr.Disposals` (input of ``build_cohort``)
``write_table``        frame -> CSV / TSV / Parquet / Excel, reproducible bytes
``write_summary``      :class:`~pbr.MeasureResult` summary -> CSV or JSON
``read_outcomes``      CSV of published per-cohort outcomes -> :class:`~pbr.Outcome` s
``write_outcomes``     :class:`~pbr.Outcome` s -> that CSV (exact Decimal text)
``read_ledger``        payments already made (CSV; a ``statement.csv``) -> ``PaymentLedger``
``read_spec``          TOML file -> :class:`~pbr.MeasureSpec`
``write_spec``         :class:`~pbr.MeasureSpec` -> TOML file
``write_synth``        :func:`pbr.synth.generate` output -> files for ``pbr measure``
``read_contract``      TOML file -> :class:`~pbr.contract.Contract` (numbers as Decimal)
``write_contract``     :class:`~pbr.contract.Contract` -> TOML file
``sha256_file``        SHA-256 of a file, for manifests
``save_histories``     prepared :class:`~pbr.Histories` -> .npy + Arrow IPC directory
``load_histories``     that directory -> Histories, memory-mapped
``read_database``      a database table or query (DuckDB, SQLite, PostgreSQL URI) -> frame
``write_results``      results -> database tables with a run id, in one transaction
``extract``            a database table or query -> file + the record of the read
=====================  ============================================================

The ``read_*`` functions share the reading arguments ``separator`` and ``encoding``
(CSV), ``date_format`` (text dates other than ISO) and ``id_as_string`` (identifiers as
written: give it for every file of a run), and stop with a
:class:`~pbr.errors.SchemaError` naming the file, column, row, value and the argument
that fixes what they cannot read as meant.  Writers stage each file beside its target
and move it in complete, so a failed call leaves the target as it was.
"""

from __future__ import annotations

from pbr.io.contracts import read_contract, sha256_file, write_contract
from pbr.io.db import read_database, write_results
from pbr.io.extracts import extract
from pbr.io.histories import load_histories, save_histories
from pbr.io.results import (
    read_ledger,
    read_outcomes,
    summary_document,
    write_outcomes,
    write_summary,
)
from pbr.io.specs import read_spec, write_spec
from pbr.io.synthetic import synth_spec, write_synth
from pbr.io.tables import (
    READ_FORMATS,
    WRITE_FORMATS,
    read_cohort,
    read_custody,
    read_disposals,
    read_events,
    read_table,
    write_table,
)

__all__ = [
    "READ_FORMATS",
    "WRITE_FORMATS",
    "extract",
    "load_histories",
    "read_cohort",
    "read_contract",
    "read_custody",
    "read_database",
    "read_disposals",
    "read_events",
    "read_ledger",
    "read_outcomes",
    "read_spec",
    "read_table",
    "save_histories",
    "sha256_file",
    "summary_document",
    "synth_spec",
    "write_contract",
    "write_outcomes",
    "write_results",
    "write_spec",
    "write_summary",
    "write_synth",
    "write_table",
]
