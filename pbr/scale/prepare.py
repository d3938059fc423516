"""Prepared histories of a partitioned dataset: :func:`pbr.prepare` part by part, saved.

``prepare_partitioned`` groups each part's events by offender once
(:func:`pbr.prepare`) and saves each part's histories (:func:`pbr.io.save_histories`)
with the input row numbers of its rows; :meth:`PartitionedHistories.measure` then
measures any spec within the horizon part by part, loading one part at a time (arrays
memory-mapped), here or on a Dask cluster, and puts the parts together as
:func:`pbr.scale.measure_partitioned` does: the same result as ``pbr.prepare`` and
``Histories.measure`` on the whole tables.  Worth it when several specs are measured
on the same extract.
"""

from __future__ import annotations

import json
import shutil
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from pbr._engine.stage import whole_cohort
from pbr.data import Cohort, Custody, Events
from pbr.errors import PbrWarning, SchemaError
from pbr.io.histories import load_histories, save_histories
from pbr.measures import MeasureResult
from pbr.prepare import prepare
from pbr.scale.measure import (
    PartResult,
    _combine,
    _ledger,
    _merge_ledgers,
    _read,
    _refuse_invalid,
    _split_cohort,
    cohort_span,
)
from pbr.scale.partition import ROW_COLUMN, PartitionedData
from pbr.spec import MeasureSpec, preset

__all__ = ["MANIFEST", "PartitionedHistories", "prepare_partitioned"]

#: the prepared dataset's manifest, in its folder
MANIFEST = "pbr-histories.json"
_TABLES = ("cohort", "events", "custody")


def _part_dir(root: Path, bucket: int) -> Path:
    return root / f"part-{bucket:05d}"


def prepare_part(data: PartitionedData | str | Path, bucket: int, out: str | Path,
                 horizon: Any, *, cohort: Any = None,
                 columns: Mapping[str, Mapping[str, str]] | None = None,
                 span: tuple[int, int] | None = None) -> Any:
    """Prepare one part and save it under ``out`` (what each worker runs); the part's
    ledger with input row numbers."""
    ds = data if isinstance(data, PartitionedData) else PartitionedData.open(data)
    frames, rows, options = _read(ds, bucket, cohort, columns or {}, _TABLES)
    c = Cohort.from_frame(frames["cohort"].with_columns(pl.Series(ROW_COLUMN, rows["cohort"])),
                          **options["cohort"])
    e = Events.from_frame(frames["events"], **options["events"])
    cu = Custody.from_frame(frames["custody"], **options["custody"]) \
        if "custody" in frames else None
    with whole_cohort(span):
        h = prepare(c, e, horizon, custody=cu)
    target = _part_dir(Path(out), bucket)
    save_histories(h, target)
    for table, numbers in rows.items():
        np.save(target / f"rows_{table}.npy", numbers)
    return _ledger([c, e] + ([cu] if cu is not None else []), rows)


def measure_prepared_part(path: str | Path, bucket: int, spec: MeasureSpec,
                          engine: str = "numba") -> PartResult:
    """Measure one saved part (what each worker runs)."""
    target = _part_dir(Path(path), bucket)
    rows = {t: np.load(target / f"rows_{t}.npy") for t in _TABLES
            if (target / f"rows_{t}.npy").exists()}
    h = load_histories(target)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = h.measure(spec, engine=engine)
    return PartResult(bucket, res.frame, _ledger([res], rows), dict(res.event_counts),
                      res.vocabulary, dict(res.coverage), res.notes,
                      tuple((w.category, str(w.message)) for w in caught
                            if issubclass(w.category, PbrWarning)), h.events.last_disposal)


def _each(client: Any, fn: Callable[..., Any], args: list[tuple[Any, ...]],
          kwargs: list[dict[str, Any]]) -> list[Any]:
    if client is None:
        return [fn(*a, **k) for a, k in zip(args, kwargs, strict=True)]
    if not (hasattr(client, "submit") and hasattr(client, "gather")):
        raise TypeError(f"client must be a dask.distributed.Client, got {type(client).__name__}")
    return list(client.gather([client.submit(fn, *a, pure=False, **k)
                               for a, k in zip(args, kwargs, strict=True)]))


@dataclass(frozen=True)
class PartitionedHistories:
    """Prepared histories of a partitioned dataset, one saved part per bucket.

    Examples
    --------
    >>> import pbr, tempfile
    >>> from pbr.scale import partition, prepare_partitioned
    >>> data = pbr.synth.generate(300, seed=4)
    >>> spec = pbr.preset("moj_national_2017").replace(as_of="2022-12-31")
    >>> whole = pbr.prepare(data.cohort, data.events).measure(spec)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     ds = partition(f"{d}/ds", cohort=data.cohort, events=data.events, buckets=3)
    ...     parts = prepare_partitioned(ds, f"{d}/histories").measure(spec)
    >>> parts.frame.equals(whole.frame)
    True
    """

    path: Path
    buckets: int
    source: str

    @classmethod
    def open(cls, path: str | Path) -> PartitionedHistories:
        """The prepared dataset in folder ``path``."""
        root = Path(path)
        file = root / MANIFEST
        if not file.is_file():
            raise SchemaError(f"{root}: no {MANIFEST}, so not written by "
                              "pbr.scale.prepare_partitioned. Fix: prepare the dataset first")
        doc = json.loads(file.read_text(encoding="utf-8"))
        return cls(root, int(doc["buckets"]), str(doc["source"]))

    def measure(self, spec: MeasureSpec | str | None = None, *, client: Any = None,
                engine: str = "numba") -> MeasureResult:
        """Measure ``spec`` (within the prepared horizon; ``as_of`` given) part by part
        and put the parts together (see :func:`pbr.scale.measure_partitioned`)."""
        from pbr.errors import SpecError

        spec = preset(spec) if isinstance(spec, str) else (spec or preset("moj_national_2017"))
        if spec.as_of is None:
            raise SpecError("a partitioned measure needs as_of, the data extract date: a part "
                            "cannot tell the extract's end from its own last disposal date "
                            "(rule A3). Fix: spec.replace(as_of='YYYY-MM-DD')")
        parts = _each(client, measure_prepared_part,
                      [(str(self.path), k, spec) for k in range(self.buckets)],
                      [{"engine": engine}] * self.buckets)
        return _combine(parts, spec, engine, self.source)


def prepare_partitioned(data: PartitionedData | str | Path, out: str | Path,
                        horizon: MeasureSpec | tuple[Any, Any] | None = None, *,
                        cohort: Any = None, client: Any = None,
                        columns: Mapping[str, Mapping[str, str]] | None = None,
                        on_invalid: str = "raise", overwrite: bool = False
                        ) -> PartitionedHistories:
    """:func:`pbr.prepare` on each part of a partitioned dataset, saved under ``out``.

    ``horizon``, as for :func:`pbr.prepare`; ``cohort``, ``client``, ``columns`` and
    ``on_invalid`` as for :func:`pbr.scale.measure_partitioned`.  Each part's histories
    are written by :func:`pbr.io.save_histories` to ``out/part-<k>``.
    """
    ds = data if isinstance(data, PartitionedData) else PartitionedData.open(data)
    if on_invalid not in ("raise", "exclude"):
        raise SchemaError(f"on_invalid must be 'raise' or 'exclude', got {on_invalid!r}")
    root = Path(out)
    if root.exists() and any(root.iterdir()):
        if not overwrite or not (root / MANIFEST).is_file():
            raise FileExistsError(f"{root} exists and is not empty (pbr replaces only its "
                                  "own prepared datasets, with overwrite=True). Fix: choose "
                                  "a new folder")
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    cohorts = _split_cohort(ds, cohort, columns)
    path = str(ds.path)
    spans = [s for s in _each(client, cohort_span, [(path, k) for k in range(ds.buckets)],
                              [{"cohort": cohorts[k], "columns": columns}
                               for k in range(ds.buckets)]) if s is not None]
    span = (min(s[0] for s in spans), max(s[1] for s in spans)) if spans else None
    ledgers = _each(client, prepare_part,
                    [(path, k, str(root), horizon) for k in range(ds.buckets)],
                    [{"cohort": cohorts[k], "columns": columns, "span": span}
                     for k in range(ds.buckets)])
    if on_invalid == "raise":
        try:
            _refuse_invalid(_merge_ledgers(ledgers), None)
        except SchemaError:
            shutil.rmtree(root)
            raise
    source = f"{ds.path.name} ({ds.buckets} buckets)"
    (root / MANIFEST).write_text(json.dumps({"buckets": ds.buckets, "source": source,
                                             "dataset": str(ds.path)}, indent=2) + "\n",
                                 encoding="utf-8")
    return PartitionedHistories.open(root)
