"""The benchmark's pandas, polars and DuckDB baselines compute pbr's MoJ default measure.

benchmarks/measures.py compares pbr against these implementations; here they are checked
on a few hundred random offenders (with leap-day and month-end index dates and events
on every window boundary) against each other, a pure-Python brute force, and
``pbr.measure``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import _baselines as bl  # noqa: E402
from benchmarks import _data, _impls  # noqa: E402

duckdb = pytest.importorskip("duckdb")

CODES = [f"C{i:02d}" for i in range(12)]
CATEGORY = {c: ("breach" if i % 5 == 4 else "violence" if i % 2 else "theft")
            for i, c in enumerate(CODES)}
WEIGHTS = {c: round(0.37 + 1.13 * i + 0.001 * i * i, 6) for i, c in enumerate(CODES)}
TYPES = ("conviction", "caution", "penalty_notice")
SPECIAL_INDEX = [dt.date(2020, 2, 29), dt.date(2019, 8, 31), dt.date(2020, 1, 31),
                 dt.date(2019, 3, 31), dt.date(2020, 8, 31), dt.date(2019, 12, 31)]


# ---------------------------------------------------------------------------- brute force
def add_months(d: dt.date, months: int) -> dt.date:
    """Calendar months, clamped to the month end (2020-02-29 + 12 months = 2021-02-28)."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return dt.date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def brute_force(cohort: list[tuple[int, dt.date]], events: list[dict]) -> pl.DataFrame:
    by_id: dict[int, list[dict]] = {}
    for e in events:
        by_id.setdefault(e["offender_id"], []).append(e)
    rows = []
    for oid, index in cohort:
        end = add_months(index, 12)
        disposal_end = add_months(end, 6)
        hits = [e for e in by_id.get(oid, [])
                if index < e["offence_date"] <= end and e["disposal_date"] <= disposal_end
                and e["disposal_type"] in ("conviction", "caution")
                and e["offence_category"] != "breach"]
        severity = 0.0
        for e in hits:
            severity += WEIGHTS[e["offence_code"]]
        rows.append({
            "offender_id": oid, "reoffended": bool(hits), "reoffences": len(hits),
            "severity": severity,
            "days_to_first": min(((e["offence_date"] - index).days for e in hits),
                                 default=None)})
    return pl.DataFrame(rows, schema={"offender_id": pl.Int64, "reoffended": pl.Boolean,
                                      "reoffences": pl.Int64, "severity": pl.Float64,
                                      "days_to_first": pl.Int64})


# ---------------------------------------------------------------------------- data
def random_data(n: int, seed: int) -> tuple[list[tuple[int, dt.date]], list[dict]]:
    rng = np.random.default_rng(seed)
    ids = rng.choice(np.arange(10**9, 10**9 + 50 * n), size=n + 30, replace=False)
    start = dt.date(2019, 1, 1)
    cohort = []
    for i, oid in enumerate(ids[:n]):
        index = (SPECIAL_INDEX[i % len(SPECIAL_INDEX)] if i % 4 == 0
                 else start + dt.timedelta(days=int(rng.integers(0, 3 * 365))))
        cohort.append((int(oid), index))
    events = []

    def event(oid: int, offence: dt.date, disposal: dt.date) -> None:
        code = CODES[int(rng.integers(0, len(CODES)))]
        events.append({"offender_id": oid, "offence_date": offence, "disposal_date": disposal,
                       "disposal_type": TYPES[int(rng.choice(3, p=[0.6, 0.3, 0.1]))],
                       "offence_code": code, "offence_category": CATEGORY[code]})

    for oid, index in cohort:
        end = add_months(index, 12)
        disposal_end = add_months(end, 6)
        for _ in range(int(rng.integers(0, 7))):  # random history and follow-up
            off = index + dt.timedelta(days=int(rng.integers(-400, 700)))
            event(oid, off, off + dt.timedelta(days=int(rng.integers(0, 300))))
        # boundaries: index day, last day, the day after; disposal on the last day and after
        for off in (index, index + dt.timedelta(days=1), end, end + dt.timedelta(days=1)):
            if rng.random() < 0.5:
                event(oid, off, off + dt.timedelta(days=int(rng.integers(0, 30))))
        if rng.random() < 0.5:
            event(oid, end - dt.timedelta(days=3), disposal_end)
        if rng.random() < 0.5:
            event(oid, end - dt.timedelta(days=2), disposal_end + dt.timedelta(days=1))
    for oid in ids[n:]:  # offenders outside the cohort
        off = start + dt.timedelta(days=int(rng.integers(0, 3 * 365)))
        event(int(oid), off, off + dt.timedelta(days=10))
    order = rng.permutation(len(events))
    return cohort, [events[i] for i in order]


def frames(cohort: list[tuple[int, dt.date]], events: list[dict]
           ) -> tuple[pl.DataFrame, pl.DataFrame]:
    c = pl.DataFrame({"offender_id": [o for o, _ in cohort], "index_date": [d for _, d in cohort]},
                     schema={"offender_id": pl.Int64, "index_date": pl.Date})
    e = pl.DataFrame(events, schema={
        "offender_id": pl.Int64, "offence_date": pl.Date, "disposal_date": pl.Date,
        "disposal_type": pl.String, "offence_code": pl.String, "offence_category": pl.String,
    }).with_columns(pl.col("disposal_type", "offence_code", "offence_category")
                    .cast(pl.Categorical))
    return c, e


def baselines(d: Path) -> dict[str, pl.DataFrame]:
    """Every baseline, on in-memory inputs and end to end from the Parquet files."""
    out = {
        "pandas": bl.pandas_measure(*bl.pandas_read(d)),
        "polars": bl.polars_measure(*bl.polars_read(d)),
        "polars_e2e": bl.polars_e2e(d),
        "duckdb_e2e": bl.duckdb_e2e(bl.duckdb_connect(), d),
    }
    con = bl.duckdb_connect()
    bl.duckdb_load(con, d)
    out["duckdb"] = bl.duckdb_measure(con)
    return {k: bl.canonical(v) for k, v in out.items()}


def pbr_or_skip():  # type: ignore[no-untyped-def]
    try:
        import pbr

        pbr.measure  # noqa: B018
        pbr.MeasureSpec  # noqa: B018
    except (ImportError, AttributeError) as exc:
        pytest.skip(f"pbr.measure is not importable yet: {exc}")
    return pbr


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pl.DataFrame]:
    cohort, events = random_data(400, seed=11)
    d = _data.write(tmp_path_factory.mktemp("bench"), *frames(cohort, events), WEIGHTS)
    return d, brute_force(cohort, events)


# ---------------------------------------------------------------------------- tests
def test_brute_force_month_clamp() -> None:
    assert add_months(dt.date(2020, 2, 29), 12) == dt.date(2021, 2, 28)
    assert add_months(add_months(dt.date(2020, 2, 29), 12), 6) == dt.date(2021, 8, 28)
    assert add_months(dt.date(2019, 8, 31), 6) == dt.date(2020, 2, 29)
    assert add_months(dt.date(2019, 12, 31), 2) == dt.date(2020, 2, 29)


def test_baselines_agree_with_brute_force(case: tuple[Path, pl.DataFrame]) -> None:
    d, expected = case
    assert expected["reoffended"].sum() > 50  # the data exercise the measure
    for name, got in baselines(d).items():
        bl.assert_same(expected, got, name)


def test_leap_day_windows_in_every_engine(tmp_path: Path) -> None:
    """2020-02-29 + 12 months = 2021-02-28 and + 6 more = 2021-08-28 (not 2021-08-29)."""
    leap = dt.date(2020, 2, 29)
    cohort = [(7, leap), (8, dt.date(2019, 8, 31))]
    ev = [
        (7, dt.date(2020, 2, 29), dt.date(2020, 3, 1), "C00"),   # index day: no
        (7, dt.date(2021, 2, 28), dt.date(2021, 8, 28), "C01"),  # last day, last disposal day
        (7, dt.date(2021, 3, 1), dt.date(2021, 3, 2), "C02"),    # day after the window: no
        (7, dt.date(2021, 2, 1), dt.date(2021, 8, 29), "C03"),   # disposal a day late: no
        (8, dt.date(2020, 8, 31), dt.date(2021, 2, 28), "C01"),  # 2019-08-31 + 12m + 6m
        (8, dt.date(2020, 8, 30), dt.date(2021, 3, 1), "C02"),   # disposal a day late: no
    ]
    events = [{"offender_id": o, "offence_date": a, "disposal_date": b,
               "disposal_type": "conviction", "offence_code": c, "offence_category": "theft"}
              for o, a, b, c in ev]
    d = _data.write(tmp_path, *frames(cohort, events), WEIGHTS)
    expected = brute_force(cohort, events)
    assert expected["reoffences"].to_list() == [1, 1]
    assert expected["days_to_first"].to_list() == [365, 366]
    for name, got in baselines(d).items():
        bl.assert_same(expected, got, name)
    pbr = pbr_or_skip()
    c, e = frames(cohort, events)
    res = pbr.measure(c, e, pbr.MeasureSpec(severity_weights=WEIGHTS))
    bl.assert_same(expected, res, "pbr.measure")


def test_pbr_measure_agrees(case: tuple[Path, pl.DataFrame]) -> None:
    pbr = pbr_or_skip()
    d, expected = case
    cohort = pl.read_parquet(d / "cohort.parquet")
    events = pl.read_parquet(d / "events.parquet")
    spec = pbr.MeasureSpec(severity_weights=WEIGHTS)
    bl.assert_same(expected, pbr.measure(cohort, events, spec), "pbr.measure")
    bl.assert_same(expected, pbr.measure(cohort, events, spec, engine="polars"),
                  "pbr.measure(engine='polars')")
    histories = pbr.prepare(cohort, events, horizon=spec)
    bl.assert_same(expected, histories.measure(spec), "Histories.measure")
    run, how = _impls.kernel_only(histories, spec)  # the benchmark's "kernel only" row
    bl.assert_same(expected, _impls.kernel_frame(histories, run()), how)
    raw = _impls.raw_kernel(histories, spec)  # and the array-level kernel timed beside it
    if raw is not None:
        bl.assert_same(expected, _impls.kernel_frame(histories, raw[0]()), raw[1])


def test_simple_generator_data_through_every_baseline(tmp_path: Path) -> None:
    """The fallback generator's data: mapped codes, boundary cases, baselines agree."""
    d = _data.ensure_data(tmp_path, "simple", 3_000, seed=5, quiet=True)
    data = _data.load(d)
    assert data.cohort.height == 3_000
    assert data.cohort["offender_id"].is_unique().all()
    assert data.events["offence_date"].is_sorted()
    assert set(data.events["offence_code"].cast(pl.String).unique()) <= set(data.weights)
    assert data.events.join(data.cohort, on="offender_id").height < data.events.height
    results = baselines(d)
    ref = results.pop("polars")
    assert 0.2 < ref["reoffended"].mean() < 0.6  # type: ignore[operator]
    for name, got in results.items():
        bl.assert_same(ref, got, name)
    try:
        import pbr

        spec = pbr.MeasureSpec(severity_weights=data.weights)
        res = pbr.measure(data.cohort, data.events, spec)
    except (ImportError, AttributeError):
        return
    bl.assert_same(ref, res, "pbr.measure")


def test_canonical_and_assert_same_catch_differences() -> None:
    a = pl.DataFrame({"offender_id": [1, 2], "reoffended": [True, False], "reoffences": [2, 0],
                      "severity": [1.5, 0.0], "days_to_first": [3, None]})
    bl.assert_same(a, a.with_columns(pl.col("severity") * (1 + 1e-12)), "tiny")
    with pytest.raises(AssertionError, match="days_to_first"):
        bl.assert_same(a, a.with_columns(pl.lit(3).alias("days_to_first")), "null")
    with pytest.raises(AssertionError, match="severity"):
        bl.assert_same(a, a.with_columns(pl.col("severity") + 1e-6), "sev")


def test_paired_ratio_pairs_each_run_with_its_own_floor() -> None:
    from benchmarks import _harness

    a = np.arange(200_000, dtype=np.int64)
    calls = []

    def fn() -> int:
        calls.append(1)
        return int(a.sum())

    r = _harness.paired_ratio(fn, [a, a.astype(np.int32)], rounds=5, passes=2)
    assert len(calls) == 5 and r["rounds"] == 5
    assert len(r["floor_s"]) == len(r["times_s"]) == len(r["ratios"]) == 5
    for t, f, q in zip(r["times_s"], r["floor_s"], r["ratios"], strict=True):
        assert f > 0 and q == t / f
    assert r["median_ratio"] == sorted(r["ratios"])[2]


def test_paired_speedup_alternates_pbr_and_the_faster_baseline(tmp_path: Path) -> None:
    from benchmarks import measures

    d = _data.ensure_data(tmp_path, "synth", 300, 7, quiet=True)
    size = {"rows": {"pbr": {"compute_s": 0.01}, "polars": {"compute_s": 0.02},
                     "duckdb": {"compute_s": 0.5}}}
    r = measures.paired_speedup(d, d, size, 3)
    assert r is not None and r["baseline"] == "polars" and r["rounds"] == 3
    assert len(r["times_s"]["pbr"]) == len(r["times_s"]["polars"]) == len(r["ratios"]) == 3
    assert r["ratios"] == [b / p for b, p in zip(r["times_s"]["polars"], r["times_s"]["pbr"],
                                                 strict=True)]
    assert "paired" in measures.table({**size, "n": 300, "n_events": 1, "repeats": 1,
                                       "load_before": 0.0, "load_after": 0.0, "slow_s": 9.0,
                                       "data": {"source": "synth", "seed": 7},
                                       "floor": {"seconds": 1e-3, "bytes": 1, "arrays": ["x"],
                                                 "numba_parallel_s": 1e-3,
                                                 "numpy_1thread_s": 1e-3},
                                       "paired": r})
    assert measures.paired_speedup(d, d, {"rows": {"pbr": {"compute_s": 1.0}}}, 3) is None


def test_kernel_row_also_times_the_kernel_into_reused_outputs(tmp_path: Path) -> None:
    from benchmarks import measures

    d = _data.ensure_data(tmp_path, "synth", 400, 9, quiet=True)
    size: dict = {"rows": {"pbr_kernel": {}}}
    measures.run_compute("pbr_kernel", d, d, 2, size, 9.0)
    q = size["kernel_paired_reused"]
    assert "out=" in q["call"] and len(q["ratios"]) == len(q["floor_s"]) == q["rounds"]
    assert size["kernel_paired"]["rounds"] == q["rounds"]
    text = measures.table({**size, "n": 400, "n_events": 1, "repeats": 2,
                           "load_before": 0.0, "load_after": 0.0, "slow_s": 9.0,
                           "data": {"source": "synth", "seed": 9},
                           "floor": {"seconds": 1e-3, "bytes": 1, "arrays": ["x"],
                                     "numba_parallel_s": 1e-3, "numpy_1thread_s": 1e-3}})
    assert "writing into the output arrays of an earlier call" in text
