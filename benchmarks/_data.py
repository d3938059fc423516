"""Benchmark data: generate (pbr.synth or a fast numpy generator), cache as Parquet, load.

The cache lives outside git (``bench_data/`` by default, gitignored), one directory per
source, N and seed, holding ``cohort.parquet``, ``events.parquet`` and ``weights.parquet``
(offence_code -> weight).  Every implementation, in compute and end-to-end mode, starts
from these files, so they all see the same bytes.

The ``simple`` generator (docs/performance.md, "Protocol"): random non-dense int64 ids,
a Gamma(0.45) rate per offender (negative-binomial counts, ~6 events per cohort
offender, heavy tail), history over the 5 years before the index offence, post-index
events with a decreasing hazard (exponential, scale 400 days, cut at 3 years), ~1% of
them on the index date, 30% quick disposals (0-28 days) and 70% lognormal lags (median
90 days, cap 548), 5% of rows from offenders outside the cohort, rows in offence-date
order. Index dates span 2019-2020 so that 29 February 2020 is an index date and the
month-end clamp of the calendar windows is exercised.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

EPOCH = dt.date(1970, 1, 1)
DISPOSAL_TYPES = ("conviction", "caution")
EVENT_COLUMNS = ("offender_id", "offence_date", "disposal_date", "disposal_type",
                 "offence_code", "offence_category")
N_CODES = 48
#: Offence categories of the simple generator; codes are spread over them, "breach" last.
CATEGORIES = ("violence", "theft", "drugs", "criminal_damage", "motoring", "public_order",
              "fraud", "breach")


@dataclass(frozen=True)
class BenchData:
    """One benchmark data set: polars frames plus the weight table."""

    cohort: pl.DataFrame
    events: pl.DataFrame
    weights: dict[str, float]
    directory: Path

    @property
    def n_events(self) -> int:
        return self.events.height


def _day(d: dt.date) -> int:
    return (d - EPOCH).days


def code_table(seed: int = 7) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """Offence codes, their categories, event probabilities and severity weights."""
    rng = np.random.default_rng(seed)
    codes = [f"C{i:03d}" for i in range(N_CODES)]
    # about 1 code in 8 is a breach code; the rest cycle through the other categories
    cats = ["breach" if i % 8 == 7 else CATEGORIES[i % 7] for i in range(N_CODES)]
    prob = 1.0 / np.arange(1, N_CODES + 1) ** 0.9
    prob = rng.permutation(prob)
    prob /= prob.sum()
    weights = np.round(rng.gamma(2.0, 1.7, N_CODES) + 0.05, 6)
    return codes, cats, prob, weights


def _categorical(labels: Sequence[str], idx: np.ndarray) -> pl.Series:
    return pl.Series(list(labels), dtype=pl.Categorical).gather(idx)


def generate_simple(n_offenders: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame,
                                                          dict[str, float]]:
    """Fast numpy generator (docs/performance.md, "Protocol"); returns cohort, events, weights."""
    rng = np.random.default_rng(seed)
    n = int(n_offenders)
    n_out = max(1, round(n * 0.05 / 0.95))  # offenders outside the cohort: ~5% of rows
    total = n + n_out
    # unique, random, non-dense int64 ids
    raw = np.unique(rng.integers(1, 2**40, int(total * 1.02) + 16, dtype=np.int64))
    while raw.size < total:  # pragma: no cover - astronomically unlikely
        raw = np.unique(np.concatenate([raw, rng.integers(1, 2**40, total, dtype=np.int64)]))
    ids = rng.permutation(raw)[:total]
    lo, hi = _day(dt.date(2019, 1, 1)), _day(dt.date(2020, 12, 31))
    index_day = rng.integers(lo, hi + 1, total).astype(np.int32)
    rate = rng.gamma(0.45, 1.0 / 0.45, total)
    n_hist = np.minimum(rng.poisson(3.6 * rate), 80)
    n_fut = np.minimum(rng.poisson(1.4 * rate), 40)
    n_ev = 1 + n_hist + n_fut
    owner = np.repeat(np.arange(total, dtype=np.int64), n_ev)
    m = owner.size
    # position of each row within its offender: 0 = index offence, then history, then future
    start = np.repeat(np.cumsum(n_ev) - n_ev, n_ev)
    pos = np.arange(m, dtype=np.int64) - start
    kind = np.where(pos == 0, 0, np.where(pos <= n_hist[owner], 1, 2))
    base = index_day[owner].astype(np.int64)
    offset = np.zeros(m, np.int64)
    hist = kind == 1
    offset[hist] = -rng.integers(1, 5 * 365 + 1, int(hist.sum()))
    fut = kind == 2
    nf = int(fut.sum())
    fut_off = np.ceil(rng.exponential(400.0, nf)).astype(np.int64)
    while (too_far := fut_off > 3 * 365).any():
        fut_off[too_far] = np.ceil(rng.exponential(400.0, int(too_far.sum()))).astype(np.int64)
    fut_off[rng.random(nf) < 0.01] = 0  # ~1% of post-index events on the index date
    offset[fut] = fut_off
    offence = base + offset
    quick = rng.random(m) < 0.30
    lag = np.where(quick, rng.integers(0, 29, m),
                   np.minimum(np.round(rng.lognormal(np.log(90.0), 0.85, m)), 548))
    disposal = offence + lag.astype(np.int64)
    codes, cats, prob, weights = code_table()
    code_idx = rng.choice(N_CODES, m, p=prob).astype(np.uint32)
    cat_names = list(dict.fromkeys(cats))
    cat_of_code = np.array([cat_names.index(c) for c in cats], np.uint32)
    dtype_idx = (rng.random(m) < 0.22).astype(np.uint32)  # 78% conviction, 22% caution
    order = np.argsort(offence, kind="stable")  # date-ordered extract
    ev_ids = ids[owner[order]]
    ev_disposal = disposal[order]
    events = pl.DataFrame({
        "offender_id": ev_ids,
        "offence_date": offence[order].astype(np.int32),
        "disposal_date": ev_disposal.astype(np.int32),
        "disposal_type": _categorical(DISPOSAL_TYPES, dtype_idx[order]),
        "offence_code": _categorical(codes, code_idx[order]),
        "offence_category": _categorical(cat_names, cat_of_code[code_idx[order]]),
        "court_event_id": ev_ids * 100_000 + ev_disposal,
    }).with_columns(
        pl.col("offence_date", "disposal_date").cast(pl.Date),
    )
    cohort = pl.DataFrame({"offender_id": ids[:n], "index_date": index_day[:n]}).with_columns(
        pl.col("index_date").cast(pl.Date))
    return cohort, events, dict(zip(codes, weights.tolist(), strict=True))


def _weights_dict(w: object) -> dict[str, float]:
    if isinstance(w, dict):
        return {str(k): float(v) for k, v in w.items()}
    if isinstance(w, pl.DataFrame):
        key = "offence_code" if "offence_code" in w.columns else w.columns[0]
        val = next(c for c in w.columns if c != key and w[c].dtype.is_numeric())
        return dict(zip(w[key].cast(pl.String).to_list(), w[val].cast(pl.Float64).to_list(),
                        strict=True))
    if hasattr(w, "items"):
        return {str(k): float(v) for k, v in w.items()}  # type: ignore[attr-defined]
    return {str(k): float(v) for k, v in w}  # type: ignore[attr-defined]


def generate_synth(n_offenders: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame,
                                                         dict[str, float]]:
    """pbr's own synthetic data (``pbr.synth.generate``) in the benchmark schema.

    Only the measure's columns are kept, and event rows are put in offence-date order
    (a date-ordered extract), so that every engine does a real join.
    """
    from pbr import synth

    data = synth.generate(n_offenders, seed=seed)
    cohort, events = data.cohort, data.events
    if not isinstance(cohort, pl.DataFrame):
        cohort = pl.from_pandas(cohort)
    if not isinstance(events, pl.DataFrame):
        events = pl.from_pandas(events)
    cohort = cohort.select(pl.col("offender_id").cast(pl.Int64),
                           pl.col("index_date").cast(pl.Date))
    cat_cols = [c for c in ("disposal_type", "offence_code", "offence_category")
                if c in events.columns]
    events = events.with_columns(
        pl.col("offender_id").cast(pl.Int64),
        pl.col("offence_date", "disposal_date").cast(pl.Date),
        *[pl.col(c).cast(pl.String).cast(pl.Categorical) for c in cat_cols])
    # like a date-ordered extract (docs/performance.md, "Protocol"), not grouped by offender
    events = events.sort("offence_date", maintain_order=True)
    if "offence_category" not in events.columns:
        events = events.with_columns(pl.lit("none").cast(pl.Categorical)
                                     .alias("offence_category"))
    return cohort, events, _weights_dict(data.severity_weights)


def synth_available() -> bool:
    try:
        from pbr import synth
    except Exception:
        return False
    return hasattr(synth, "generate")


def resolve_source(source: str) -> str:
    if source == "auto":
        return "synth" if synth_available() else "simple"
    return source


def data_dir(root: Path, source: str, n: int, seed: int) -> Path:
    return Path(root) / f"{source}_n{n}_s{seed}"


def ensure_data(root: Path, source: str, n: int, seed: int, *, quiet: bool = False) -> Path:
    """Generate and cache the data set once; return its directory."""
    d = data_dir(root, source, n, seed)
    if (d / "meta.json").exists():
        return d
    t0 = time.perf_counter()
    gen = generate_synth if source == "synth" else generate_simple
    cohort, events, weights = gen(n, seed)
    codes = set(events["offence_code"].cast(pl.String).unique().to_list())
    missing = codes - set(weights)
    if missing:
        raise ValueError(f"offence codes without a severity weight: {sorted(missing)[:5]}")
    write(d, cohort, events, weights)
    meta = {"source": source, "n_offenders": n, "seed": seed, "n_events": events.height,
            "generated_s": round(time.perf_counter() - t0, 2)}
    (d / "meta.json").write_text(json.dumps(meta, indent=1))
    if not quiet:
        print(f"generated {source} data N={n:,} ({events.height:,} event rows) in "
              f"{meta['generated_s']} s -> {d}", flush=True)
    return d


def write(d: Path, cohort: pl.DataFrame, events: pl.DataFrame,
          weights: dict[str, float]) -> Path:
    """Write one data set as the three Parquet files every implementation reads."""
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    cohort.write_parquet(d / "cohort.parquet", compression="snappy")
    events.write_parquet(d / "events.parquet", compression="snappy")
    pl.DataFrame({"offence_code": list(weights), "weight": list(weights.values())},
                 schema={"offence_code": pl.String, "weight": pl.Float64}).write_parquet(
        d / "weights.parquet")
    return d


def read_weights(d: Path) -> dict[str, float]:
    w = pl.read_parquet(Path(d) / "weights.parquet")
    return dict(zip(w["offence_code"].to_list(), w["weight"].to_list(), strict=True))


def load(d: Path) -> BenchData:
    """The cached data set as polars frames (what pbr and the polars baseline get)."""
    d = Path(d)
    cohort = pl.read_parquet(d / "cohort.parquet")
    events = pl.read_parquet(d / "events.parquet", columns=list(EVENT_COLUMNS))
    return BenchData(cohort, events, read_weights(d), d)
