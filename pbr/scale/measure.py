"""The measure of a partitioned dataset, part by part, on one machine or a Dask cluster.

Each part (bucket) of the dataset holds every row of its offenders, so the part's
measure (:func:`pbr.measure` on that part's cohort, events and custody) is the whole
table's measure for those offenders.  The parts' results are put together: the frame in
the cohort's row order, the exclusions ledger with the input tables' row numbers, the
event counts and the disposal-type vocabulary summed, the extract's coverage taken over
all parts.  Memory holds one part at a time (per worker, with ``client=``).

What a part cannot know alone: the extract's end when ``as_of`` is not given (the last
disposal date of *all* events, rule A3), so a partitioned measure needs ``as_of`` (the
data extract date: at national scale always known); and whether a spec none of whose
proof types occurs is to be refused (rule P3): a part whose events hold rows but no
proving disposal type is refused with its number (with millions of events a part, a
sign of a wrong vocabulary; on small data, use fewer buckets).  The notes that depend on
all the events (rule A4: ``as_of`` against the last disposal date; rule D1: the number
of exact duplicates) are found once over all parts, with the checks' own wording; the
other notes are each part's, marked with its number, and each other warning category
the parts raised is raised once, with the number of parts and the first part's message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import polars as pl

from pbr import _measure_checks
from pbr._engine.stage import whole_cohort
from pbr._version import __version__
from pbr.data import DUPLICATE_EVENT, Cohort, Custody, Events, Exclusion, Exclusions
from pbr.errors import PbrWarning, SchemaError, SpecError
from pbr.measures import MeasureResult, measure
from pbr.period import date_to_day
from pbr.scale.partition import MANIFEST, ROW_COLUMN, PartitionedData, bucket_of
from pbr.spec import MeasureSpec, preset

__all__ = ["PartResult", "cohort_span", "measure_part", "measure_partitioned"]

_REFUSED = "match none of the events' disposal_type"


@dataclass(frozen=True)
class PartResult:
    """One part's measure, ready to be put together with the others (picklable: a Dask
    worker sends it back)."""

    bucket: int
    frame: pl.DataFrame  # with the cohort's input row number, ROW_COLUMN
    exclusions: Exclusions  # rows numbered as in the input tables
    event_counts: dict[str, int]
    vocabulary: pl.DataFrame
    coverage: dict[str, Any]
    notes: tuple[str, ...]
    warnings: tuple[tuple[type[Warning], str], ...]
    last_disposal: dt.date | None = None  # of the part's kept events


def _global_rows(ledger: Exclusions, rows: Mapping[str, np.ndarray]) -> Exclusions:
    """A part's ledger with each row renumbered from its position in the part's table
    to its row number in the input table."""
    return Exclusions(tuple(Exclusion(e.table, e.rule, e.reason,
                                      rows[e.table][e.rows].astype(np.int64))
                            for e in ledger.entries))


def _split(frame: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray]:
    return frame.drop(ROW_COLUMN), frame[ROW_COLUMN].to_numpy().astype(np.int64)


def _read(ds: PartitionedData, bucket: int, cohort: pl.DataFrame | None,
          columns: Mapping[str, Mapping[str, str]], tables: tuple[str, ...]
          ) -> tuple[dict[str, pl.DataFrame], dict[str, np.ndarray], dict[str, dict[str, Any]]]:
    """One part's tables (without the row column), their input row numbers and the
    ``from_frame`` options of each."""
    frames: dict[str, pl.DataFrame] = {}
    rows: dict[str, np.ndarray] = {}
    for table in tables:
        if table == "cohort" and cohort is not None:
            raw = cohort
        elif table in ds.tables:
            raw = ds.read(table, bucket)
        else:
            continue
        frames[table] = raw.drop(ROW_COLUMN)
        rows[table] = raw[ROW_COLUMN].to_numpy().astype(np.int64)
    options: dict[str, dict[str, Any]] = {
        t: {"offender_id": ds.tables[t]["offender_id"] if t in ds.tables else "offender_id",
            **columns.get(t, {}), "on_invalid": "exclude"} for t in frames}
    return frames, rows, options


def cohort_span(data: PartitionedData | str | Path, bucket: int, *,
                cohort: pl.DataFrame | None = None,
                columns: Mapping[str, Mapping[str, str]] | None = None
                ) -> tuple[int, int] | None:
    """The first and last index day number of one part's valid cohort rows (None
    without any): the first pass of :func:`measure_partitioned`."""
    ds = data if isinstance(data, PartitionedData) else PartitionedData.open(data)
    frames, _, options = _read(ds, bucket, cohort, columns or {}, ("cohort",))
    span = Cohort.from_frame(frames["cohort"], **options["cohort"]).date_span("index_date")
    return None if span is None else (date_to_day(span[0]), date_to_day(span[1]))


def measure_part(data: PartitionedData | str | Path, bucket: int, spec: MeasureSpec, *,
                 cohort: pl.DataFrame | None = None, engine: str = "numba",
                 columns: Mapping[str, Mapping[str, str]] | None = None,
                 on_invalid: str = "raise", span: tuple[int, int] | None = None
                 ) -> PartResult:
    """Measure one part of a partitioned dataset (what each worker runs).

    ``cohort``: the part's cohort rows (with :data:`~pbr.scale.partition.ROW_COLUMN`)
    when the cohort is not in the dataset.  ``columns``: per table, the column mapping
    its ``from_frame`` takes (``{"events": {"offence_date": "off_dt"}}``).
    ``on_invalid``: as for ``from_frame``; ``"raise"`` names the first invalid row by
    its number in the input table.  ``span``: the whole cohort's index-day span
    (:func:`cohort_span` over the parts), so that the events left out are counted as
    in the whole table.  Warnings are recorded in the result, not raised.
    """
    if on_invalid not in ("raise", "exclude"):
        raise SchemaError(f"on_invalid must be 'raise' or 'exclude', got {on_invalid!r}")
    ds = data if isinstance(data, PartitionedData) else PartitionedData.open(data)
    frames, rows, mapping = _read(ds, bucket, cohort, columns or {},
                                  ("cohort", "events", "custody"))
    # the cohort's rows keep their input row number as a column: it restores their order
    c = Cohort.from_frame(frames["cohort"].with_columns(pl.Series(ROW_COLUMN, rows["cohort"])),
                          **mapping["cohort"])
    e = Events.from_frame(frames["events"], **mapping["events"])
    cu = (Custody.from_frame(frames["custody"], **mapping["custody"])
          if "custody" in frames else None)
    if on_invalid == "raise":
        _refuse_invalid(_ledger([c, e] + ([cu] if cu is not None else []), rows), bucket)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with whole_cohort(span):
                res = measure(c, e, spec, custody=cu, engine=engine)
        except SpecError as err:
            if _REFUSED in str(err):
                raise SpecError(f"part {bucket} of {ds.buckets}: {err} (rule P3 refuses a "
                                "part whose events hold no proving disposal type). Fix: "
                                "check the proof types, or partition into fewer buckets"
                                ) from None
            raise
    return PartResult(bucket, res.frame, _ledger([res], rows), dict(res.event_counts),
                      res.vocabulary, dict(res.coverage), res.notes,
                      tuple((w.category, str(w.message)) for w in caught
                            if issubclass(w.category, PbrWarning)), e.last_disposal)


def _whole_notes(spec: MeasureSpec, parts: list[PartResult], ledger: Exclusions
                 ) -> tuple[list[Any], tuple[str, ...]]:
    """The checks whose notes depend on the whole events, run on the parts' totals with
    ``pbr._measure_checks``' own rules and wording: rule A4 (``as_of`` more than the
    waiting period after the last disposal date of all parts) and the count of exact
    duplicates (rule D1); and the prefixes of the parts' own notes they replace."""
    lasts = [p.last_disposal for p in parts if p.last_disposal is not None]
    events = cast(Events, SimpleNamespace(last_disposal=max(lasts) if lasts else None,
                                          exclusions=ledger, n=len(lasts)))
    _, completeness = _measure_checks._completeness(
        cast(Cohort, None), events, spec, np.zeros(0, np.int32))
    notes = completeness + _measure_checks._duplicates(events)
    replaced = (f"as_of {spec.as_of} is more than the waiting period",
                "exact duplicate event row(s) (every column equal to an earlier row)")
    return notes, replaced


def _ledger(holders: list[Any], rows: Mapping[str, np.ndarray]) -> Exclusions:
    """The ledgers of ``holders`` with each row renumbered from its position in the
    part's table to its row number in the input table."""
    return Exclusions(tuple(Exclusion(x.table, x.rule, x.reason,
                                      rows[x.table][x.rows].astype(np.int64))
                            for h in holders for x in h.exclusions.entries))


def _refuse_invalid(ledger: Exclusions, bucket: int | None) -> None:
    """``on_invalid="raise"``: the first row a validation rule left out, by its input
    row number, the cohort's first (exact duplicate events are not invalid: rule D1
    counts them once; nor are windows not closed by ``as_of``)."""
    order = {"cohort": 0, "events": 1, "custody": 2}
    bad = [x for x in ledger.entries if x.rule not in (DUPLICATE_EVENT, "window_incomplete")]
    if not bad:
        return
    first = min(bad, key=lambda x: (order.get(x.table, 3), int(x.rows.min())))
    row = int(first.rows.min())
    total = sum(x.count for x in bad if x.table == first.table)
    where = "" if bucket is None else f" (part {bucket})"
    raise SchemaError(
        f"{first.table} row {row}{where}: {first.reason} [{first.rule}]; {total:,} row(s) of "
        f"the {first.table} fail validation. Fix the source data, or pass "
        "on_invalid='exclude' to leave such rows out (they are then listed in the "
        "exclusions ledger with their reason)")


def _group(key: tuple[str, str]) -> int:
    """Where a ledger entry comes in a measure's ledger (see :func:`_merge_ledgers`)."""
    table, rule = key
    if rule == "window_incomplete":
        return 4
    if rule == DUPLICATE_EVENT:
        return 2
    return {"cohort": 0, "events": 1, "custody": 3}.get(table, 5)


def _merge_ledgers(ledgers: list[Exclusions]) -> Exclusions:
    """One entry per (table, rule) with the rows of every part, sorted.  The entries'
    order is one every part's order agrees with (each part lists its rules in the
    validation's order: the cohort's rules, the events', their duplicates, the
    custody's, then the windows not measurable); two rules of one table that no part
    lists together follow their first appearance, which may differ from the whole
    table's order (the rows are the same)."""
    seqs = [[(x.table, x.rule) for x in led.entries] for led in ledgers]
    rows: dict[tuple[str, str], list[np.ndarray]] = {}
    reason: dict[tuple[str, str], str] = {}
    first: dict[tuple[str, str], tuple[int, int]] = {}
    after: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for i, led in enumerate(ledgers):
        for j, x in enumerate(led.entries):
            key = (x.table, x.rule)
            rows.setdefault(key, []).append(x.rows)
            reason.setdefault(key, x.reason)
            first.setdefault(key, (j, i))
            after.setdefault(key, set()).update(seqs[i][:j])
    order: list[tuple[str, str]] = []
    left = set(rows)
    while left:  # Kahn's algorithm: a key whose predecessors are all placed, earliest first
        ready = [k for k in left if not (after[k] & left)] or list(left)
        key = min(ready, key=lambda k: (_group(k), first[k]))
        order.append(key)
        left.discard(key)
    return Exclusions(tuple(Exclusion(t, r, reason[(t, r)],
                                      np.sort(np.concatenate(rows[(t, r)])))
                            for t, r in order))


def _combine(parts: list[PartResult], spec: MeasureSpec, engine: str, source: str
             ) -> MeasureResult:
    parts = sorted(parts, key=lambda p: p.bucket)
    frame = pl.concat([p.frame for p in parts], how="vertical_relaxed").sort(ROW_COLUMN) \
        .drop(ROW_COLUMN)
    counts: dict[str, int] = {}
    for p in parts:
        for k, v in p.event_counts.items():
            counts[k] = counts.get(k, 0) + v
    vocab = (pl.concat([p.vocabulary for p in parts])
             .group_by("disposal_type", maintain_order=True)
             .agg(pl.col("rows").sum(), pl.col("proves").first()).sort("disposal_type"))
    coverage = dict(parts[0].coverage) if parts else {}
    if "open_windows" in coverage:
        coverage["open_windows"] = sum(int(p.coverage.get("open_windows") or 0) for p in parts)
    ledger = _merge_ledgers([p.exclusions for p in parts])
    whole, replaced = _whole_notes(spec, parts, ledger)
    notes = [f"measured in {len(parts)} part(s) of the partitioned dataset {source}"]
    notes += _measure_checks.issue(whole, stacklevel=3)
    notes += [f"part {p.bucket}: {n}" for p in parts for n in p.notes
              if not any(r in n for r in replaced)]
    raised: dict[type[Warning], list[tuple[int, str]]] = {}
    for p in parts:
        for category, text in p.warnings:
            if not any(r in text for r in replaced):
                raised.setdefault(category, []).append((p.bucket, text))
    for category, seen in raised.items():
        bucket, text = seen[0]
        warnings.warn(f"{len(seen)} part(s) of {len(parts)} raised {category.__name__}; "
                      f"part {bucket}: {text}", category, stacklevel=3)
    return MeasureResult(frame, spec, engine, ledger, tuple(notes), counts, vocab, coverage)


def measure_partitioned(data: PartitionedData | str | Path, spec: MeasureSpec | str | None
                        = None, *, cohort: Any = None, client: Any = None,
                        engine: str = "numba",
                        columns: Mapping[str, Mapping[str, str]] | None = None,
                        on_invalid: str = "raise") -> MeasureResult:
    """Proven-reoffending measures of a partitioned dataset, part by part.

    Parameters
    ----------
    data
        A :class:`~pbr.scale.partition.PartitionedData` or its folder
        (:func:`~pbr.scale.partition.partition`).
    spec
        A :class:`~pbr.spec.MeasureSpec` or preset name (default the MoJ rules); it must
        give ``as_of``, the data extract date (see the module's docstring).
    cohort
        The cohort when the dataset holds none: a polars frame (or path read by
        :func:`~pbr.scale.partition.partition`'s rules) with the dataset's id column;
        it is bucketed with the dataset's hash.
    client
        A ``dask.distributed.Client``: each part is measured by a task on a worker
        (which must import pbr and read the dataset's folder); None measures the parts
        one after another in this process.
    engine, columns, on_invalid
        As for :func:`pbr.measure` (``columns``: per table, the column mapping its
        ``from_frame`` takes, e.g. ``{"events": {"offence_date": "off_dt"}}``;
        ``on_invalid`` as for ``from_frame``, an invalid row named by its input row).

    Returns
    -------
    MeasureResult
        The same frame, exclusions (input row numbers), event counts, vocabulary and
        coverage as :func:`pbr.measure` on the whole tables.

    Examples
    --------
    >>> import pbr, tempfile
    >>> from pbr.scale import partition
    >>> data = pbr.synth.generate(300, seed=2)
    >>> spec = pbr.preset("moj_national_2017").replace(as_of="2022-12-31")
    >>> whole = pbr.measure(data.cohort, data.events, spec)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     ds = partition(d, cohort=data.cohort, events=data.events, buckets=3)
    ...     parts = measure_partitioned(ds, spec)
    >>> parts.frame.equals(whole.frame), parts.event_counts == whole.event_counts
    (True, True)
    """
    ds = data if isinstance(data, PartitionedData) else PartitionedData.open(data)
    spec = preset(spec) if isinstance(spec, str) else (spec or preset("moj_national_2017"))
    if spec.as_of is None:
        raise SpecError("a partitioned measure needs as_of, the data extract date: a part "
                        "cannot tell the extract's end from its own last disposal date "
                        "(rule A3). Fix: spec.replace(as_of='YYYY-MM-DD')")
    if "events" not in ds.tables:
        raise SpecError(f"the dataset at {ds.path} holds no events table. Fix: partition "
                        "the events (pbr.scale.partition(..., events=...))")
    cohorts = _split_cohort(ds, cohort, columns)
    if on_invalid not in ("raise", "exclude"):
        raise SchemaError(f"on_invalid must be 'raise' or 'exclude', got {on_invalid!r}")
    if client is not None and not (hasattr(client, "submit") and hasattr(client, "gather")):
        raise TypeError(f"client must be a dask.distributed.Client, got "
                        f"{type(client).__name__}")

    def each(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> list[Any]:
        """``fn(dataset, k, *args, cohort=..., columns=..., **kwargs)`` for every part."""
        if client is None:
            return [fn(ds, k, *args, cohort=cohorts[k], columns=columns, **kwargs)
                    for k in range(ds.buckets)]
        futures = [client.submit(fn, str(ds.path), k, *args, cohort=cohorts[k],
                                 columns=columns, pure=False, **kwargs)
                   for k in range(ds.buckets)]
        return list(client.gather(futures))

    # first pass: the whole cohort's index-day span (reads the cohort parts only)
    spans = [s for s in each(cohort_span) if s is not None]
    span = (min(s[0] for s in spans), max(s[1] for s in spans)) if spans else None
    # each part leaves invalid rows out; "raise" then names the first of all the parts'
    parts: list[PartResult] = each(measure_part, spec, engine=engine, on_invalid="exclude",
                                   span=span)
    if on_invalid == "raise":
        _refuse_invalid(_merge_ledgers([p.exclusions for p in parts]), None)
    return _combine(parts, spec, engine, _describe(ds))


def _split_cohort(ds: PartitionedData, cohort: Any,
                  columns: Mapping[str, Mapping[str, str]] | None) -> list[pl.DataFrame | None]:
    """The cohort given at measure time, one frame per bucket (with its input row
    numbers); None for each bucket when the dataset holds the cohort."""
    cohorts: list[pl.DataFrame | None] = [None] * ds.buckets
    if cohort is not None:
        ds.check_polars()
        frame = cohort if isinstance(cohort, pl.DataFrame) else pl.DataFrame(cohort)
        key = (columns or {}).get("cohort", {}).get("offender_id", "offender_id")
        if key not in frame.columns:
            raise SpecError(f"cohort: no offender id column {key!r}. Fix: pass columns="
                            "{'cohort': {'offender_id': '<your column>'}}")
        frame = frame.with_row_index(ROW_COLUMN).with_columns(
            bucket_of(key, ds.buckets, ds.id_kind).alias("__pbr_bucket"))
        split = frame.partition_by("__pbr_bucket", as_dict=True, include_key=False)
        empty = frame.head(0).drop("__pbr_bucket")
        cohorts = [split.get((k,), empty) for k in range(ds.buckets)]
    elif "cohort" not in ds.tables:
        raise SpecError(f"the dataset at {ds.path} holds no cohort. Fix: pass cohort= or "
                        "partition the cohort with the events")
    return cohorts


def _describe(ds: PartitionedData) -> str:
    digest = hashlib.sha256((ds.path / MANIFEST).read_bytes()).hexdigest()[:16]
    return f"{ds.path.name} ({ds.buckets} buckets; manifest sha256 {digest}...; pbr {__version__})"
