"""Scale benchmark: a partitioned, larger-than-memory measure against polars streaming and
DuckDB on the same query (docs/performance.md, "Scale").

    python benchmarks/scale.py --n 20000000            # 20M offenders, ~120M event rows
    python benchmarks/scale.py --n 2000000 --buckets 8 # what a busy 2-core machine allows

Each step runs in a child process of its own, which reports its time and its peak
resident memory (``VmHWM``), so no step's memory is counted in another's:

* ``partition``: ``pbr.scale.partition`` of the cached cohort and events Parquet files
  into ``--buckets`` parts (polars streaming sink);
* ``pbr``: ``pbr.scale.measure_partitioned`` of that dataset, one part in memory at a time;
* ``pbr_memory``: ``pbr.measure`` on the whole tables in memory (skipped above
  ``--memory-max`` offenders);
* ``polars``: the baseline query (``benchmarks/_baselines.polars_plan``) on the Parquet
  files, collected by polars' streaming engine;
* ``duckdb``: the same query in DuckDB SQL straight from the Parquet files.

The data are the benchmark's cached synthetic sets (``benchmarks/_data.py``: ``simple``,
about 6 event rows an offender); every result is checked against the partitioned
measure (reoffences per offender, in cohort order).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import polars as pl

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # run as a script: the package's benchmarks
    sys.path.insert(0, str(HERE.parent))

from benchmarks._baselines import duckdb_connect, duckdb_sql, polars_plan  # noqa: E402
from benchmarks._data import EVENT_COLUMNS, ensure_data, read_weights  # noqa: E402

STEPS = ("partition", "pbr", "pbr_memory", "polars", "duckdb")
#: every window closes before this extract date, as the baseline queries assume
AS_OF = dt.date(2030, 12, 31)


def _spec(d: Path) -> Any:
    import pbr

    return pbr.MeasureSpec(severity_weights=tuple(read_weights(d).items()), as_of=AS_OF)


def child(step: str, d: Path, work: Path, buckets: int) -> dict[str, Any]:
    """Run one step in this process; its seconds and the reoffences it found."""
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    if step == "partition":
        from pbr.scale import partition

        partition(work / "ds", cohort=d / "cohort.parquet", events=d / "events.parquet",
                  buckets=buckets, overwrite=True)
        out = None
    elif step == "pbr":
        from pbr.scale import measure_partitioned

        out = measure_partitioned(work / "ds", _spec(d)).frame["reoffences"]
    elif step == "pbr_memory":
        import pbr

        out = pbr.measure(pl.read_parquet(d / "cohort.parquet"),
                          pl.read_parquet(d / "events.parquet"), _spec(d)).frame["reoffences"]
    elif step == "polars":
        out = polars_plan(pl.scan_parquet(d / "cohort.parquet"),
                          pl.scan_parquet(d / "events.parquet"),
                          pl.scan_parquet(d / "weights.parquet")).collect(
            engine="streaming")["reoffences"]
    elif step == "duckdb":
        con = duckdb_connect()
        sql = duckdb_sql(f"read_parquet('{d}/cohort.parquet', file_row_number = true)",
                         f"read_parquet('{d}/events.parquet')",
                         f"read_parquet('{d}/weights.parquet')", position="file_row_number")
        # an exact duplicate is equal in every column (rule D1), court_event_id included,
        # as pbr and the polars query read the file
        cols = ", ".join(EVENT_COLUMNS)
        if "court_event_id" in pl.read_parquet_schema(d / "events.parquet"):
            sql = sql.replace(f"SELECT DISTINCT {cols} FROM",
                              f"SELECT DISTINCT {cols}, court_event_id FROM")
        out = pl.from_arrow(con.sql(sql).to_arrow_table())["reoffences"]  # type: ignore[index]
    else:
        raise ValueError(f"unknown step {step!r}")
    seconds = time.perf_counter() - t0
    if out is not None:
        pl.DataFrame({"reoffences": pl.Series(out).cast(pl.Int64)}).write_parquet(
            work / f"{step}.parquet")
    return {"step": step, "seconds": seconds, "peak_mib": peak_mib()}


def peak_mib() -> float:
    """This process's peak resident memory in MiB: ``VmHWM`` of /proc/self/status (the
    high-water mark of this program's own memory; ``ru_maxrss`` would also hold the
    parent's resident size at the fork, which Linux keeps across exec), else
    ``ru_maxrss``."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_step(step: str, d: Path, work: Path, buckets: int) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", step, "--dir", str(d),
           "--work", str(work), "--buckets", str(buckets)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode:
        return {"step": step, "error": (res.stderr or res.stdout).strip().splitlines()[-1]}
    out: dict[str, Any] = json.loads(res.stdout.strip().splitlines()[-1])
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=20_000_000, help="offenders (default 20M)")
    p.add_argument("--source", choices=["simple", "synth"], default="simple")
    p.add_argument("--seed", type=int, default=20240601)
    p.add_argument("--buckets", type=int, default=0,
                   help="parts (default: one per 2.5M offenders, at least 2)")
    p.add_argument("--root", type=Path, default=HERE.parent / "bench_data")
    p.add_argument("--steps", nargs="+", choices=STEPS, default=list(STEPS))
    p.add_argument("--memory-max", type=int, default=5_000_000,
                   help="largest N for the in-memory pbr.measure step")
    p.add_argument("--child", choices=STEPS, help=argparse.SUPPRESS)
    p.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        print(json.dumps(child(a.child, a.dir, a.work, a.buckets)))
        return 0
    buckets = a.buckets or max(2, -(-a.n // 2_500_000))
    t0 = time.perf_counter()
    d = ensure_data(a.root, a.source, a.n, a.seed)
    meta = json.loads((d / "meta.json").read_text())
    print(f"data: {a.source} N={a.n:,}, {meta['n_events']:,} event rows ({d}; ready in "
          f"{time.perf_counter() - t0:.0f} s)", flush=True)
    work = d / "scale"
    work.mkdir(exist_ok=True)
    steps = [s for s in a.steps if s != "pbr_memory" or a.n <= a.memory_max]
    if "pbr" in steps and "partition" not in steps and not (work / "ds").exists():
        steps.insert(0, "partition")
    rows = []
    for step in steps:
        r = run_step(step, d, work, buckets)
        rows.append(r)
        print(json.dumps(r), flush=True)
    ref = work / "pbr.parquet"
    print(f"\n| step (N={a.n:,}, {meta['n_events']:,} rows, {buckets} parts) | time | "
          "peak memory | same reoffences as pbr.scale |")
    print("|---|---:|---:|---|")
    for r in rows:
        if "error" in r:
            print(f"| {r['step']} | failed: {r['error']} | | |")
            continue
        out = work / f"{r['step']}.parquet"
        same = ""
        if ref.exists() and out.exists() and r["step"] != "pbr":
            same = "yes" if pl.read_parquet(out).equals(pl.read_parquet(ref)) else "NO"
        print(f"| {r['step']} | {r['seconds']:.1f} s | {r['peak_mib']:,.0f} MiB | {same} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
