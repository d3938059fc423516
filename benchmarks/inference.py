"""Time pbr's inference functions on synthetic arrays (seeded; no files).

    python benchmarks/inference.py [--n 1000000] [--resamples 2000]

Prints one markdown table: Kaplan-Meier (Greenwood, and weighted with the robust
variance), the log-rank test, the mean cumulative function, the bootstrap (the Numba
gather kernel, and the multinomial-count baseline it replaced), Welch, Poisson and
negative binomial rate ratios, and pbr.compare by group.  Each row is the median of three
runs after one warm-up (numba compiles on the warm-up).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

import pbr
from pbr.stats import (
    bootstrap_interval,
    diff_means,
    kaplan_meier,
    logrank_test,
    mean_cumulative_function,
    rate_ratio,
)


def _multinomial_bootstrap(y1: np.ndarray, y0: np.ndarray, reps: int, seed: int) -> None:
    """The replaced approach: multinomial counts per replicate and a matrix product."""
    rng = np.random.default_rng(seed)
    for start in range(0, reps, 256):
        k = min(256, reps - start)
        for y in (y1, y0):
            counts = rng.multinomial(y.size, np.full(y.size, 1.0 / y.size), size=k)
            _ = (counts @ y) / y.size


def _time(f: Callable[[], Any]) -> float:
    f()
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        f()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--resamples", type=int, default=2000)
    args = ap.parse_args()
    n, reps = args.n, args.resamples
    rng = np.random.default_rng(0)
    t = rng.integers(1, 366, n).astype(float)
    e = rng.random(n) < 0.3
    g = np.where(rng.random(n) < 0.5, "a", "b")
    w = rng.uniform(0.5, 1.5, n)
    m = n // 5
    per = rng.poisson(0.8, m)
    ids = np.repeat(np.arange(m), per)
    times = rng.integers(1, 366, ids.size)
    half = n // 10
    y1 = rng.poisson(1.2, half).astype(float)
    y0 = rng.poisson(1.3, half).astype(float)
    frame = pl.DataFrame({"offender_id": np.arange(n), "reoffended": e, "provider": g})
    rows = [
        (f"kaplan_meier, {n:,} offenders, 2 groups (Greenwood)",
         lambda: kaplan_meier(t, e, group=g)),
        (f"kaplan_meier, {n:,}, weighted (robust variance)",
         lambda: kaplan_meier(t, e, group=g, weights=w)),
        (f"logrank_test, {n:,}, 2 groups", lambda: logrank_test(t, e, g)),
        (f"mean_cumulative_function, {m:,} offenders, {ids.size:,} reoffences",
         lambda: mean_cumulative_function(np.arange(m), np.full(m, 365), ids, times)),
        (f"bootstrap_interval, {reps:,} x ({half:,} + {half:,}), gather kernel",
         lambda: bootstrap_interval(y1, y0, n_resamples=reps)),
        (f"bootstrap, {reps:,} x ({half:,} + {half:,}), multinomial counts (replaced)",
         lambda: _multinomial_bootstrap(y1, y0, reps, 0)),
        (f"diff_means (Welch), {half:,} + {half:,}", lambda: diff_means(y1, y0)),
        (f"rate_ratio poisson, {half:,} + {half:,}", lambda: rate_ratio(y1, y0)),
        (f"rate_ratio negbin, {half:,} + {half:,}",
         lambda: rate_ratio(y1, y0, method="negbin")),
        (f"pbr.compare, {n:,} offenders by provider vs a baseline",
         lambda: pbr.compare(frame, 0.3, by="provider")),
    ]
    print("| operation | seconds |\n|---|---:|")
    for label, f in rows:
        print(f"| {label} | {_time(f):.3f} |")


if __name__ == "__main__":
    main()
