"""Benchmark pbr.match: 1:1 greedy nearest neighbour with a caliper, without replacement.

    python benchmarks/matching.py [--sizes 10000:1000000 100000:5000000] [--naive-max 1000]
        [--naive-full 10000] [--repeats 1] [--seed 0] [--json results.json]

Data (numpy, seeded): ``treated + pool`` offenders with 8 covariates (age, age squared,
sex, log prior sanctions, a risk score, custody, two offence-group dummies); the treated
are the ``treated`` units with the largest ``linear predictor + logistic noise`` (selection
on the covariates).  Matching: 1:1 on the logit of the propensity score, caliper 0.2 SD
of the logit (Austin 2011), treated in descending score.

Rows, per size (wall time and extra peak RSS: VmHWM reset through /proc/self/clear_refs,
minus RSS before the run; the median of --repeats runs after one warm-up of the kernels
on a small problem):

* ``pbr.match (fit + match)``: the whole call from a polars frame, including the
  statsmodels Newton fit of the propensity model on every row;
* ``pbr.match (score given)``: the same from a precomputed score (``score=``): id ranks,
  the sort of the pool, the union-find kernel, pairs, weights and the output frame;
* ``kernel only``: ``pbr._kernels.matching.greedy_sorted`` on sorted arrays;
* ``naive numpy greedy``: what the Python ports do (psmpy / pymatch style): for each
  treated unit in order, ``argmin`` of the distance to every control still free, then mark
  it used.  O(treated x pool): run on all treated units up to ``--naive-full`` of them, else timed
  on the first ``--naive-max`` and extrapolated linearly (marked "extrapolated"; every
  greedy step costs the same full scan); its pairs are asserted equal to pbr's.

The machine is shared: timings are noisy, read ratios as sizes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402

import pbr  # noqa: E402
from benchmarks import _harness  # noqa: E402
from pbr._kernels import matching as kern  # noqa: E402

COVARIATES = ["age", "age2", "male", "log_priors", "risk", "custody", "violence", "theft"]


def make_data(n_treated: int, n_pool: int, seed: int) -> pl.DataFrame:
    """Seeded offenders; the ``n_treated`` most likely to be treated are treated."""
    rng = np.random.default_rng(seed)
    n = n_treated + n_pool
    age = 18 + rng.gamma(2.2, 7.0, n)
    male = (rng.random(n) < 0.85).astype(np.float64)
    log_priors = np.log1p(rng.poisson(rng.gamma(1.0, 4.0, n)))
    risk = rng.normal(0.0, 1.0, n)
    custody = (rng.random(n) < 0.3).astype(np.float64)
    group = rng.integers(0, 3, n)
    lp = (-0.02 * age + 0.3 * male + 0.5 * log_priors + 0.4 * risk + 0.3 * custody
          + 0.2 * (group == 0))
    noisy = lp + rng.logistic(0.0, 1.0, n)
    treated = np.zeros(n, np.int8)
    treated[np.argpartition(-noisy, n_treated - 1)[:n_treated]] = 1
    ids = rng.permutation(n).astype(np.int64) + 1_000_000
    return pl.DataFrame({
        "offender_id": ids, "treated": treated, "age": age, "age2": age ** 2 / 100,
        "male": male, "log_priors": log_priors, "risk": risk, "custody": custody,
        "violence": (group == 0).astype(np.float64), "theft": (group == 1).astype(np.float64),
    })


def naive_greedy(t_score: np.ndarray, c_score: np.ndarray, caliper: float, limit: int
                 ) -> tuple[np.ndarray, float]:
    """Per treated unit (descending score) the argmin over free controls; first ``limit``."""
    order = np.argsort(-t_score, kind="stable")[:limit]
    free = np.ones(c_score.size, bool)
    out = np.full(order.size, -1, np.int64)
    t0 = time.perf_counter()
    for q, t in enumerate(order):
        d = np.abs(c_score - t_score[t])
        d[~free] = np.inf
        j = int(np.argmin(d))
        if d[j] <= caliper:
            out[q] = j
            free[j] = False
    return out, time.perf_counter() - t0


def _fmt_s(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


def bench(n_treated: int, n_pool: int, repeats: int, naive_max: int, naive_full: int,
          seed: int) -> list[dict[str, Any]]:
    df = make_data(n_treated, n_pool, seed)
    opts: dict[str, Any] = {"distance": "logit", "caliper": 0.2}
    rows: list[dict[str, Any]] = []

    def timed(label: str, fn: Any) -> Any:
        out: Any = None
        times, peaks = [], []
        for _ in range(repeats):
            out, t, peak = _harness.measured(fn)
            times.append(t)
            peaks.append(peak)
        rows.append({"size": f"{n_treated:,} vs {n_pool:,}", "approach": label,
                     "time_s": float(np.median(times)), "peak_mib": max(peaks) / 2 ** 20,
                     "extrapolated": False})
        return out

    full = timed("pbr.match (fit + match)",
                 lambda: pbr.match(df, "treated", COVARIATES, **opts))
    assert full.model is not None
    logit = full.model.linear
    scored = df.with_columns(score=pl.Series(full.model.score))
    given = timed("pbr.match (score given)",
                  lambda: pbr.match(scored, "treated", COVARIATES, score="score", **opts))
    assert given.pairs.select("treated_id", "control_id").equals(
        full.pairs.select("treated_id", "control_id"))
    t = df["treated"].to_numpy() == 1
    caliper = float(full.caliper or 0.0)
    t_score, c_score = logit[t], logit[~t]
    c_id, t_id = df["offender_id"].to_numpy()[~t], df["offender_id"].to_numpy()[t]
    perm = np.lexsort((c_id, c_score))
    cs = np.ascontiguousarray(c_score[perm])
    start = np.ones(cs.size, bool)
    start[1:] = cs[1:] != cs[:-1]
    run = np.maximum.accumulate(np.where(start, np.arange(cs.size), 0)).astype(np.int64)
    order = np.lexsort((t_id, -t_score)).astype(np.int64)
    lo = np.zeros(t_score.size, np.int64)
    hi = np.full(t_score.size, cs.size, np.int64)

    def kernel() -> int:
        m = np.full((t_score.size, 1), -1, np.int64)
        return int(kern.greedy_sorted(order, t_score, lo, hi, cs, run, np.int64(1), 1,
                                      caliper, m, np.empty((t_score.size, 1)),
                                      np.zeros(t_score.size, np.int64),
                                      np.zeros(0, np.int64), np.zeros(0, np.int64), False))

    timed("kernel only (sorted arrays)", kernel)
    limit = t_score.size if t_score.size <= naive_full else min(naive_max, t_score.size)
    out, secs = naive_greedy(t_score, c_score, caliper, limit)
    first = order[:limit]
    ours = dict(zip(full.pairs["treated_id"].to_list(), full.pairs["control_id"].to_list(),
                    strict=True))
    for q, ti in enumerate(first):
        expect = ours.get(int(t_id[ti]))
        got = None if out[q] < 0 else int(c_id[out[q]])
        assert got == expect, (q, got, expect)
    rows.append({"size": f"{n_treated:,} vs {n_pool:,}", "approach": "naive numpy greedy",
                 "time_s": secs * t_score.size / limit, "peak_mib": float("nan"),
                 "extrapolated": limit < t_score.size, "timed_units": limit})
    rows[-1]["matched"] = int(full.pairs.height)
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", nargs="+", default=["10000:1000000", "100000:5000000"])
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--naive-max", type=int, default=1000)
    ap.add_argument("--naive-full", type=int, default=10_000,
                    help="run the naive greedy on all treated units up to this many")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    warm = make_data(200, 2_000, 1)  # compile / load the kernels and import statsmodels
    pbr.match(warm, "treated", COVARIATES, distance="logit", caliper=0.2)
    rows = []
    for size in args.sizes:
        nt, npool = (int(v) for v in size.split(":"))
        rows += bench(nt, npool, args.repeats, args.naive_max, args.naive_full, args.seed)
    info = _harness.machine_info(ROOT)
    print(f"load average {_harness.load_average():.2f}; {info.get('cpu', '')}; "
          f"numba threads {info.get('numba_threads', '')}")
    print("| treated vs pool | approach | wall time | extra peak RSS | vs pbr.match |")
    print("|---|---|---|---|---|")
    base = {r["size"]: r["time_s"] for r in rows if r["approach"].startswith("pbr.match (fit")}
    for r in rows:
        time_s = _fmt_s(r["time_s"]) + (f" (extrapolated from {r['timed_units']:,} units)"
                                         if r["extrapolated"] else "")
        mem = "-" if r["peak_mib"] != r["peak_mib"] else f"{r['peak_mib']:,.0f} MiB"
        print(f"| {r['size']} | {r['approach']} | {time_s} | {mem} | "
              f"{r['time_s'] / base[r['size']]:.2f}x |")
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "rows": rows}, indent=2,
                                        default=str))


if __name__ == "__main__":
    main()
