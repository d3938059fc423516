"""The obvious pandas, polars and DuckDB implementations of the MoJ default measure.

An event qualifies for offender i iff its offender_id matches, ``index_date < offence_date
<= index_date + 12 months`` (calendar months, clamped to the month end, as polars
``dt.offset_by("12mo")``), ``disposal_date <= (index_date + 12 months) + 6 months``,
``disposal_type`` is a conviction or a caution and ``offence_category != "breach"``.
Per cohort row, in cohort order: reoffences (count), reoffended (count > 0), severity
(sum of the offence codes' weights, float64) and days_to_first (smallest
``offence_date - index_date`` in days; null if none).

An exact duplicate event row (every event column equal to another row's) is counted
once, as pbr does by default (rule D1: ``duplicate_event`` in pbr's ledger), so the
comparison is like for like: each baseline drops such rows first, the obvious way in its
library (pandas ``drop_duplicates``, polars ``unique``, DuckDB ``SELECT DISTINCT``).

Each engine is written the way a competent user of it would: pandas drop_duplicates +
merge + boolean filter + groupby + merge back; polars lazy unique + join + filter +
group_by + left join back; DuckDB one SQL query (native tables for compute,
``read_parquet`` end to end).
:func:`canonical` turns any of their outputs (or pbr's ``result.frame``) into one
polars schema for the equality check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from benchmarks._data import DISPOSAL_TYPES, EVENT_COLUMNS

FOLLOW_UP_MONTHS = 12
WAITING_MONTHS = 6
OUTPUT_COLUMNS = ("offender_id", "reoffended", "reoffences", "severity", "days_to_first")
_PD_KW: dict[str, Any] = {"to_pandas_kwargs": {"date_as_object": False}}


# ---------------------------------------------------------------------------- pandas
def pandas_read(d: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """Cohort, events and weights as pandas reads them from the Parquet cache."""
    d = Path(d)
    cohort = pd.read_parquet(d / "cohort.parquet", **_PD_KW)
    events = pd.read_parquet(d / "events.parquet", columns=list(EVENT_COLUMNS), **_PD_KW)
    w = pd.read_parquet(d / "weights.parquet")
    return cohort, events, dict(zip(w["offence_code"], w["weight"], strict=True))


def pandas_measure(cohort: pd.DataFrame, events: pd.DataFrame,
                   weights: dict[str, float]) -> pd.DataFrame:
    """drop_duplicates + merge + boolean filter + groupby + merge back."""
    events = events.drop_duplicates()  # an exact duplicate row counts once (pbr rule D1)
    c = cohort[["offender_id", "index_date"]].copy()
    c["follow_up_end"] = c["index_date"] + pd.DateOffset(months=FOLLOW_UP_MONTHS)
    c["disposal_end"] = c["follow_up_end"] + pd.DateOffset(months=WAITING_MONTHS)
    m = events.merge(c, on="offender_id", how="inner")
    keep = ((m["offence_date"] > m["index_date"])
            & (m["offence_date"] <= m["follow_up_end"])
            & (m["disposal_date"] <= m["disposal_end"])
            & m["disposal_type"].isin(DISPOSAL_TYPES)
            & (m["offence_category"] != "breach"))
    q = m.loc[keep, ["offender_id", "offence_date", "index_date", "offence_code"]]
    q = q.assign(weight=q["offence_code"].map(weights).astype("float64"),
                 days=(q["offence_date"] - q["index_date"]).dt.days)
    g = q.groupby("offender_id", sort=False).agg(
        reoffences=("offender_id", "size"), severity=("weight", "sum"),
        days_to_first=("days", "min"))
    out = cohort[["offender_id", "index_date"]].merge(
        g, left_on="offender_id", right_index=True, how="left")
    out["reoffences"] = out["reoffences"].fillna(0).astype("int64")
    out["severity"] = out["severity"].fillna(0.0)
    out["days_to_first"] = out["days_to_first"].astype("Int64")
    out["reoffended"] = out["reoffences"] > 0
    return out


# ---------------------------------------------------------------------------- polars
def polars_read(d: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    d = Path(d)
    return (pl.read_parquet(d / "cohort.parquet"),
            pl.read_parquet(d / "events.parquet", columns=list(EVENT_COLUMNS)),
            pl.read_parquet(d / "weights.parquet"))


def polars_plan(cohort: pl.LazyFrame, events: pl.LazyFrame,
                weights: pl.LazyFrame) -> pl.LazyFrame:
    """Lazy unique + join + filter + group_by + left join back (one optimised plan)."""
    c = cohort.select("offender_id", "index_date").with_columns(
        follow_up_end=pl.col("index_date").dt.offset_by(f"{FOLLOW_UP_MONTHS}mo"))
    c = c.with_columns(disposal_end=pl.col("follow_up_end").dt.offset_by(f"{WAITING_MONTHS}mo"))
    w = weights.select(pl.col("offence_code").cast(pl.Categorical), pl.col("weight"))
    q = (events.unique()  # an exact duplicate row counts once (pbr rule D1)
         .join(c, on="offender_id", how="inner")
         .filter((pl.col("offence_date") > pl.col("index_date"))
                 & (pl.col("offence_date") <= pl.col("follow_up_end"))
                 & (pl.col("disposal_date") <= pl.col("disposal_end"))
                 & pl.col("disposal_type").is_in(DISPOSAL_TYPES)
                 & (pl.col("offence_category") != "breach"))
         .join(w, on="offence_code", how="left")
         .group_by("offender_id")
         .agg(reoffences=pl.len(), severity=pl.col("weight").sum(),
              days_to_first=(pl.col("offence_date") - pl.col("index_date"))
              .dt.total_days().min()))
    return (cohort.select("offender_id", "index_date")
            .join(q, on="offender_id", how="left", maintain_order="left")
            .with_columns(pl.col("reoffences").fill_null(0),
                          pl.col("severity").fill_null(0.0))
            .with_columns(reoffended=pl.col("reoffences") > 0))


def polars_measure(cohort: pl.DataFrame, events: pl.DataFrame,
                   weights: pl.DataFrame) -> pl.DataFrame:
    return polars_plan(cohort.lazy(), events.lazy(), weights.lazy()).collect()


def polars_e2e(d: Path) -> pl.DataFrame:
    d = Path(d)
    return polars_plan(pl.scan_parquet(d / "cohort.parquet"),
                       pl.scan_parquet(d / "events.parquet"),
                       pl.scan_parquet(d / "weights.parquet")).collect()


# ---------------------------------------------------------------------------- DuckDB
def duckdb_sql(cohort: str, events: str, weights: str, position: str = "rowid") -> str:
    """One query; ``position`` is the expression giving each cohort row's position."""
    types = ", ".join(f"'{t}'" for t in DISPOSAL_TYPES)
    cols = ", ".join(EVENT_COLUMNS)
    # an exact duplicate event row counts once (pbr rule D1): SELECT DISTINCT
    return f"""
WITH c AS (
    SELECT {position} AS pos, offender_id, index_date,
           CAST(index_date + INTERVAL {FOLLOW_UP_MONTHS} MONTH AS DATE) AS follow_up_end
    FROM {cohort}
), cw AS (
    SELECT *, CAST(follow_up_end + INTERVAL {WAITING_MONTHS} MONTH AS DATE) AS disposal_end
    FROM c
), q AS (
    SELECT e.offender_id,
           count(*) AS reoffences,
           sum(w.weight) AS severity,
           min(e.offence_date - cw.index_date) AS days_to_first
    FROM (SELECT DISTINCT {cols} FROM {events}) e
    JOIN cw ON e.offender_id = cw.offender_id
           AND e.offence_date > cw.index_date
           AND e.offence_date <= cw.follow_up_end
           AND e.disposal_date <= cw.disposal_end
    JOIN {weights} w ON CAST(e.offence_code AS VARCHAR) = w.offence_code
    WHERE e.disposal_type IN ({types}) AND e.offence_category <> 'breach'
    GROUP BY e.offender_id
)
SELECT cw.offender_id, cw.index_date,
       coalesce(q.reoffences, 0) > 0 AS reoffended,
       coalesce(q.reoffences, 0) AS reoffences,
       coalesce(q.severity, 0.0) AS severity,
       q.days_to_first
FROM cw LEFT JOIN q ON cw.offender_id = q.offender_id
ORDER BY cw.pos
"""


def duckdb_connect(threads: int | None = None) -> Any:
    import duckdb

    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads TO {int(threads)}")
    return con


def duckdb_load(con: Any, d: Path) -> None:
    """Native DuckDB tables ``cohort``, ``events``, ``weights`` from the Parquet cache."""
    d = Path(d)
    cols = ", ".join(EVENT_COLUMNS)
    con.execute(f"CREATE OR REPLACE TABLE cohort AS "
                f"SELECT * FROM read_parquet('{d}/cohort.parquet')")
    con.execute(f"CREATE OR REPLACE TABLE events AS SELECT {cols} "
                f"FROM read_parquet('{d}/events.parquet')")
    con.execute(f"CREATE OR REPLACE TABLE weights AS "
                f"SELECT * FROM read_parquet('{d}/weights.parquet')")


def duckdb_measure(con: Any) -> Any:
    """Compute on the native tables; result as an Arrow table."""
    return con.sql(duckdb_sql("cohort", "events", "weights")).to_arrow_table()


def duckdb_e2e(con: Any, d: Path) -> Any:
    d = Path(d)
    sql = duckdb_sql(f"read_parquet('{d}/cohort.parquet', file_row_number = true)",
                     f"read_parquet('{d}/events.parquet')",
                     f"read_parquet('{d}/weights.parquet')", position="file_row_number")
    return con.sql(sql).to_arrow_table()


# ---------------------------------------------------------------------------- checks
def canonical(result: Any) -> pl.DataFrame:
    """Any implementation's output as one polars schema, cohort order kept."""
    if hasattr(result, "frame"):
        result = result.frame
    if isinstance(result, pd.DataFrame):
        result = pl.from_pandas(result[list(OUTPUT_COLUMNS)])
    elif not isinstance(result, pl.DataFrame):
        result = pl.from_arrow(result)
    assert isinstance(result, pl.DataFrame)
    return result.select(
        pl.col("offender_id").cast(pl.Int64),
        pl.col("reoffended").cast(pl.Boolean),
        pl.col("reoffences").cast(pl.Int64),
        pl.col("severity").cast(pl.Float64),
        pl.col("days_to_first").cast(pl.Int64))


def assert_same(reference: pl.DataFrame, other: pl.DataFrame, name: str,
                rtol: float = 1e-9) -> None:
    """Ints and booleans exact (nulls included), severity to ``rtol``; raise naming the row."""
    ref, got = canonical(reference), canonical(other)
    if ref.height != got.height:
        raise AssertionError(f"{name}: {got.height} rows, expected {ref.height}")
    for col in ("offender_id", "reoffended", "reoffences", "days_to_first"):
        a, b = ref[col], got[col]
        diff = ~(a.eq_missing(b))
        if diff.any():
            i = int(diff.arg_true()[0])
            raise AssertionError(
                f"{name}: {col} differs in {int(diff.sum())} rows; first at row {i} "
                f"(offender {ref['offender_id'][i]}): {b[i]!r}, expected {a[i]!r}")
    a, b = ref["severity"].to_numpy(), got["severity"].to_numpy()
    bad = ~np.isclose(b, a, rtol=rtol, atol=0.0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise AssertionError(
            f"{name}: severity differs in {int(bad.sum())} rows; first at row {i} "
            f"(offender {ref['offender_id'][i]}): {b[i]!r}, expected {a[i]!r}")
