"""pbr.scale: a dataset partitioned by a hash of the offender id, measured part by part
(here and on a Dask LocalCluster) gives the whole tables' measure."""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import pbr
from pbr.errors import SchemaError, SpecError
from pbr.scale import (
    PartitionedData,
    PartitionedHistories,
    bucket_of,
    measure_partitioned,
    partition,
    prepare_partitioned,
)

SPEC = pbr.preset("moj_national_2017").replace(as_of="2024-12-31")


@pytest.fixture(scope="module")
def tables() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """A synthetic cohort, its events with invalid and duplicate rows, custody."""
    data = pbr.synth.generate(600, seed=11)
    ev = data.events
    bad = ev.head(3).with_columns(offence_date=pl.lit(None, pl.Date))  # missing dates
    late = ev.slice(3, 2).with_columns(  # disposal before offence
        disposal_date=pl.col("offence_date") - pl.duration(days=1))
    events = pl.concat([ev, bad, late, ev.slice(10, 4)])  # and 4 exact duplicates
    custody = data.cohort.head(40).select(
        "offender_id", start_date=pl.col("index_date") + pl.duration(days=30),
        end_date=pl.col("index_date") + pl.duration(days=90))
    return data.cohort, events, custody


def _whole(cohort: pl.DataFrame, events: pl.DataFrame, spec: pbr.MeasureSpec = SPEC,
           custody: pl.DataFrame | None = None) -> pbr.MeasureResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pbr.measure(cohort, pbr.Events.from_frame(events, on_invalid="exclude"), spec,
                           custody=None if custody is None else pbr.Custody.from_frame(custody))


def _same(parts: pbr.MeasureResult, whole: pbr.MeasureResult) -> None:
    assert parts.frame.equals(whole.frame)
    assert parts.event_counts == whole.event_counts
    assert parts.vocabulary.equals(whole.vocabulary)
    assert parts.coverage == whole.coverage
    # the same rows per (table, rule); two rules of a table that no part holds together
    # may be listed in another order than the whole table's
    a = {(x.table, x.rule, x.reason): x.rows.tolist() for x in parts.exclusions.entries}
    b = {(x.table, x.rule, x.reason): x.rows.tolist() for x in whole.exclusions.entries}
    assert a == b
    assert len(parts.exclusions.entries) == len(whole.exclusions.entries)
    # the notes that depend on all the events (rules A4, D1) are the whole table's, once
    shared = [n for n in whole.notes if n.startswith("as_of ") or "exact duplicate" in n]
    assert all(parts.notes.count(n) == 1 for n in shared), (shared, parts.notes)
    assert not any(n.startswith("part ") and ("exact duplicate" in n or "as_of " in n)
                   for n in parts.notes)


def _parts(ds: PartitionedData | Path, spec: pbr.MeasureSpec = SPEC, **kw: object
           ) -> pbr.MeasureResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return measure_partitioned(ds, spec, on_invalid="exclude", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("spec", [
    SPEC,
    SPEC.replace(severity_weights={"A": 1.5}, unmapped_severity="zero"),  # grouped path
    SPEC.replace(counting_unit="court_event", as_of="2021-06-30", interim=False),
])
def test_partitioned_measure_equals_the_whole(
        tmp_path: Path, tables: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame],
        spec: pbr.MeasureSpec) -> None:
    cohort, events, custody = tables
    ds = partition(tmp_path / "ds", cohort=cohort, events=events, custody=custody, buckets=4)
    assert ds.tables["events"]["rows"] == events.height
    _same(_parts(ds, spec), _whole(cohort, events, spec, custody))


def test_each_offender_is_in_one_part_and_rows_keep_their_numbers(
        tmp_path: Path, tables: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]) -> None:
    cohort, events, _ = tables
    ds = partition(tmp_path / "ds", cohort=cohort, events=events, buckets=3)
    seen: dict[int, int] = {}
    rows = []
    for k in range(ds.buckets):
        part = ds.read("events", k)
        rows.append(part["__pbr_row"].to_numpy())
        assert np.all(np.diff(part["__pbr_row"].to_numpy()) > 0)  # input order kept
        for oid in part["offender_id"].unique().to_list():
            assert seen.setdefault(oid, k) == k
    assert np.array_equal(np.sort(np.concatenate(rows)), np.arange(events.height))


def test_the_cohort_given_at_measure_time_and_a_column_mapping(
        tmp_path: Path, tables: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]) -> None:
    cohort, events, _ = tables
    renamed = events.rename({"offender_id": "pnc", "offence_date": "off_dt"})
    ds = partition(tmp_path / "ds", events=renamed, buckets=5, offender_id="pnc")
    parts = _parts(ds, cohort=cohort, columns={"events": {"offence_date": "off_dt"}})
    _same(parts, _whole(cohort, events))
    assert parts.notes[0].startswith("measured in 5 part(s)")


def test_text_ids_and_csv_input(
        tmp_path: Path, tables: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]) -> None:
    cohort, events, _ = tables
    cohort = cohort.select("offender_id", "index_date").with_columns(
        pl.format("P{}", "offender_id").alias("offender_id"))
    events = events.with_columns(pl.format("P{}", "offender_id").alias("offender_id"))
    events.write_csv(tmp_path / "events.csv")
    ds = partition(tmp_path / "ds", cohort=cohort, events=tmp_path / "events.csv", buckets=3)
    assert ds.id_kind == "text"
    whole = _whole(cohort, pl.read_csv(tmp_path / "events.csv", try_parse_dates=True))
    _same(_parts(ds), whole)


def test_bucket_hash_is_fixed_for_integer_ids() -> None:
    df = pl.DataFrame({"id": pl.Series([0, 1, 2, 3, -1, 2**62, None], dtype=pl.Int64)})
    got = df.select(bucket_of("id", 8, "integer"))["id"].to_list()
    # Fibonacci hashing by hand: high 32 bits of id * 0x9E3779B97F4A7C15 mod 2^64, mod 8
    want = [((v % 2**64) * 0x9E3779B97F4A7C15 % 2**64 >> 32) % 8 for v in
            [0, 1, 2, 3, -1, 2**62]] + [0]
    assert got == want
    same = pl.DataFrame({"id": pl.Series([1, 2, 3], dtype=pl.Int16)})
    assert same.select(bucket_of("id", 8, "integer"))["id"].to_list() == want[1:4]


def test_partitioning_twice_writes_the_same_parts(
        tmp_path: Path, tables: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]) -> None:
    cohort, events, _ = tables
    a = partition(tmp_path / "a", cohort=cohort, events=events, buckets=3)
    b = partition(tmp_path / "b", cohort=cohort, events=events, buckets=3)
    for k in range(3):
        assert a.read("events", k).equals(b.read("events", k))
    assert (tmp_path / "a" / "pbr-partitions.json").read_text() == \
        (tmp_path / "b" / "pbr-partitions.json").read_text()


def test_dask_local_cluster_gives_the_same_result(
        tmp_path: Path, tables: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]) -> None:
    distributed = pytest.importorskip("distributed")
    cohort, events, custody = tables
    ds = partition(tmp_path / "ds", cohort=cohort, events=events, custody=custody, buckets=4)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        on_cluster = _parts(ds, client=client)
        prepared = prepare_partitioned(ds, tmp_path / "h", client=client, on_invalid="exclude")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from_histories = prepared.measure(SPEC, client=client)
    _same(on_cluster, _parts(ds))
    _same(on_cluster, _whole(cohort, events, custody=custody))
    _same(from_histories, on_cluster)


def test_prepared_parts_measure_like_the_whole_prepared_tables(
        tmp_path: Path, tables: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]) -> None:
    cohort, events, custody = tables
    ds = partition(tmp_path / "ds", cohort=cohort, events=events, custody=custody, buckets=3)
    prepared = prepare_partitioned(ds, tmp_path / "h", ("24 months", "6 months"),
                                   on_invalid="exclude")
    assert PartitionedHistories.open(tmp_path / "h") == prepared
    whole = pbr.prepare(cohort, pbr.Events.from_frame(events, on_invalid="exclude"),
                        ("24 months", "6 months"), custody=pbr.Custody.from_frame(custody))
    for spec in (SPEC, SPEC.replace(follow_up="24 months", counting_unit="court_event")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _same(prepared.measure(spec), whole.measure(spec))
    with pytest.raises(SpecError, match="needs as_of"):
        prepared.measure(SPEC.replace(as_of=None))
    with pytest.raises(FileExistsError, match="not empty"):
        prepare_partitioned(ds, tmp_path / "h")
    with pytest.raises(SchemaError, match="events row"):  # invalid rows, named; folder removed
        prepare_partitioned(ds, tmp_path / "h2")
    assert not (tmp_path / "h2").exists()


# ------------------------------------------------------------------------ refusals
def test_refusals(tmp_path: Path, tables: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]
                  ) -> None:
    cohort, events, _ = tables
    ds = partition(tmp_path / "ds", cohort=cohort, events=events, buckets=2)
    with pytest.raises(SpecError, match="needs as_of"):
        measure_partitioned(ds, SPEC.replace(as_of=None))
    with pytest.raises(TypeError, match=r"dask\.distributed\.Client"):
        measure_partitioned(ds, SPEC, client=object())
    with pytest.raises(FileExistsError, match="overwrite=True"):
        partition(tmp_path / "ds", events=events)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("x")
    with pytest.raises(FileExistsError, match="not a pbr dataset"):
        partition(tmp_path / "other", events=events, overwrite=True)
    with pytest.raises(ValueError, match="buckets"):
        partition(tmp_path / "z", events=events, buckets=0)
    with pytest.raises(SchemaError, match="no offender id column 'pnc'"):
        partition(tmp_path / "z", events=events, offender_id="pnc")
    with pytest.raises(SchemaError, match="different kinds"):
        partition(tmp_path / "z", events=events,
                  cohort=cohort.with_columns(pl.col("offender_id").cast(pl.String)))
    with pytest.raises(SchemaError, match=r"no pbr-partitions\.json"):
        measure_partitioned(tmp_path / "other", SPEC)
    with pytest.raises(SpecError, match="holds no cohort"):
        measure_partitioned(partition(tmp_path / "e", events=events, buckets=2), SPEC)


def test_invalid_rows_are_named_by_their_input_row(
        tmp_path: Path, tables: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]) -> None:
    cohort, events, _ = tables
    ds = partition(tmp_path / "ds", cohort=cohort, events=events, buckets=2)
    first = events.height - 9  # the first of the rows without an offence date
    with pytest.raises(SchemaError, match=f"events row {first}: .*missing_offence_date"):
        measure_partitioned(ds, SPEC)


def test_a_part_without_proving_events_is_refused_with_its_number(tmp_path: Path) -> None:
    d = dt.date(2020, 1, 1)
    cohort = pl.DataFrame({"offender_id": [1, 2, 3, 4], "index_date": [d] * 4})
    events = pl.DataFrame({"offender_id": [1, 2, 3, 4], "offence_date": [d] * 4,
                           "disposal_date": [d] * 4, "offence_code": ["A"] * 4,
                           "disposal_type": ["conviction", "caution", "caution", "caution"]})
    ds = partition(tmp_path / "ds", cohort=cohort, events=events, buckets=2)
    parts = [set(ds.read("events", k)["disposal_type"].to_list()) for k in range(2)]
    assert {"caution"} in parts  # one part holds cautions only
    with pytest.raises(SpecError, match=r"part \d of 2: .*rule P3"):
        measure_partitioned(ds, SPEC.replace(proof_types=("conviction",)))


def test_scale_benchmark_steps_agree(tmp_path: Path) -> None:
    """benchmarks/scale.py's steps (run in this process here) give the same reoffences."""
    pytest.importorskip("duckdb")
    from benchmarks import _data
    from benchmarks.scale import child

    d = _data.ensure_data(tmp_path, "simple", 2_000, 5, quiet=True)
    work = tmp_path / "work"
    work.mkdir()
    for step in ("partition", "pbr", "pbr_memory", "polars", "duckdb"):
        out = child(step, d, work, 3)
        assert out["seconds"] > 0 and out["peak_mib"] > 0
    ref = pl.read_parquet(work / "pbr.parquet")
    assert ref.height == 2_000 and ref["reoffences"].sum() > 0
    for step in ("pbr_memory", "polars", "duckdb"):
        assert pl.read_parquet(work / f"{step}.parquet").equals(ref), step
