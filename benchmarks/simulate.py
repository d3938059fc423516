"""Time pbr.simulate on a CRC-shaped contract (seeded; no files).

    python benchmarks/simulate.py [--n-sims 10000] [--per-offender-sims 500] [--workers 1 2]

The contract: 21 areas x 4 quarterly cohorts x 5,000 offenders; a binary component
(points per offender, significance trigger, clawback, a cohort cap) and a frequency
component (per reoffender, after the binary hurdle) with a year cap; the comparator is
adjusted for the case mix drawn.  Prints one markdown table:

* grouped draws: the synthetic population's offenders share their parameters in ten
  risk bands per area and cohort, so each replicate draws 840 binomial counts and
  negative binomial sums; the time is ``simulate()`` (draws and the exact payments of
  every replicate) and then ``summary()``;
* per-offender draws: every offender has its own risk (a Beta draw), so each offender
  costs one uniform per replicate; the rate is offender-replicates per second;
* the same grouped run through a ``dask.distributed.LocalCluster`` of 1 and 2 worker
  processes (one thread each), checked equal to the in-process run.

Each row is the median of three runs after one warm-up (Numba compiles on the warm-up).
Not a test: the timings depend on the machine (report its cores and load with them).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import polars as pl

from pbr.contract import CohortPeriod, Comparator, Component, Contract
from pbr.simulate import Behaviour, Effect, Population, _draws, simulate

AREAS, COHORTS, SIZE = 21, ("2019Q1", "2019Q2", "2019Q3", "2019Q4"), 5000


def crc_contract() -> Contract:
    """A CRC-shaped contract: binary and frequency components, hurdle, caps."""
    return Contract(
        "CRC-shaped benchmark",
        periods=tuple(CohortPeriod(c, f"2019-{m:02d}-01", "2019")
                      for c, m in zip(COHORTS, (1, 4, 7, 10), strict=True)),
        comparator=Comparator(values={"binary_rate": Decimal("45.0"),
                                                      "per_reoffender": Decimal("3.0")},
                              significance_z=Decimal("1.96")),
        components=(
            Component("binary", "linear", measure="binary_rate",
                      basis="points_per_offender", price=Decimal("2.00"),
                      trigger="significant", clawback=True, cap=Decimal("60000")),
            Component("frequency", "linear", measure="per_reoffender", basis="avoided",
                      price=Decimal("150.00"), hurdle="binary"),
        ),
        limits={"year_cap": Decimal("200000")})


def _time(f: Callable[[], Any], runs: int = 3) -> tuple[float, Any]:
    out = f()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def per_offender_population(seed: int = 1) -> Population:
    """The CRC shape with every offender's risk its own (no two share parameters)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    n = AREAS * len(COHORTS) * SIZE
    p = rng.beta(1.8, 2.2, n)
    return Population.from_frame(pl.DataFrame({
        "offender_id": np.arange(1, n + 1),
        "area": np.repeat([f"area {i + 1:02d}" for i in range(AREAS)], len(COHORTS) * SIZE),
        "cohort": np.tile(np.repeat(COHORTS, SIZE), AREAS),
        "p": p, "mu": p * 3.0, "theta": np.ones(n)}), source="benchmark: Beta risks")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-sims", type=int, default=10_000)
    ap.add_argument("--per-offender-sims", type=int, default=500)
    ap.add_argument("--workers", type=int, nargs="*", default=[1, 2])
    args = ap.parse_args()
    contract = crc_contract()
    effect = Effect(p=0.10, frequency=0.05)
    grouped = Population.synthetic(areas=AREAS, cohorts=list(COHORTS), size=SIZE, rate=0.45,
                                   per_reoffender=3.0, seed=1)
    offenders = grouped.frame.height
    rows: list[tuple[str, str, str]] = []

    def run(pop: Population, n: int, client: Any = None) -> Any:
        res = simulate(contract, pop, effect=effect, n_sims=n, seed=7, client=client)
        res.summary()
        return res

    t, base = _time(lambda: run(grouped, args.n_sims))
    groups = next(iter(base.provenance["groups"].values()))
    rows.append((f"grouped draws + exact payments, {args.n_sims:,} replicates "
                 f"({groups:,} groups)", f"{t:.2f} s",
                 f"{offenders * args.n_sims / t / 1e6:,.0f}M offender-replicates/s"))
    lay = _draws.layout(grouped, Behaviour.none())
    g = _draws.groups(lay, effect)
    t, _ = _time(lambda: _draws.draw(g, lay.cells.size, args.n_sims, 7))
    rows.append(("  of which the draws (Numba kernel, all threads)", f"{t:.2f} s", ""))
    per = per_offender_population()
    k = args.per_offender_sims
    t, res = _time(lambda: simulate(contract, per, effect=effect, n_sims=k, seed=7), runs=1)
    groups = next(iter(res.provenance["groups"].values()))
    rows.append((f"per-offender draws + exact payments, {k:,} replicates ({groups:,} groups)",
                 f"{t:.2f} s",
                 f"{per.frame.height * k / t / 1e6:,.0f}M offender-replicates/s"))
    lay = _draws.layout(per, Behaviour.none())
    g = _draws.groups(lay, effect)
    t, _ = _time(lambda: _draws.draw(g, lay.cells.size, k, 7))
    rows.append(("  of which the draws (Numba kernel, all threads)", f"{t:.2f} s",
                 f"{per.frame.height * k / t / 1e6:,.0f}M offender-replicates/s"))
    if args.workers:
        from dask.distributed import Client, LocalCluster
        for w in args.workers:
            with LocalCluster(n_workers=w, threads_per_worker=1, processes=True,
                              dashboard_address=":0") as cluster, Client(cluster) as client:
                t, res = _time(lambda c=client: run(grouped, args.n_sims, c))  # type: ignore
                key = next(iter(base.counts))
                same = all(np.array_equal(a, b) for a, b in
                           zip(res.counts[key], base.counts[key], strict=True))
                rows.append((f"grouped, LocalCluster {w} worker(s) x 1 thread",
                             f"{t:.2f} s", "identical to in-process" if same else "DIFFERENT"))
    print(f"pbr.simulate benchmark: {AREAS} areas x {len(COHORTS)} cohorts x {SIZE:,} "
          f"offenders ({offenders:,}); {os.cpu_count()} CPU(s) visible")
    print("| run | time | rate / check |")
    print("|---|---:|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} |")


if __name__ == "__main__":
    main()
