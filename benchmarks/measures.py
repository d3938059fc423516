"""Benchmark pbr's proven-reoffending measure against pandas, polars and DuckDB.

    python benchmarks/measures.py --sizes 1000000 5000000 [--repeats K]
        [--phases compute e2e] [--impls pbr pbr_kernel ...] [--data {auto,synth,simple}]
        [--seed S] [--data-dir bench_data] [--json results.json]

For each N it prints one markdown table.  Rows: pbr's default engine (``pbr.measure``,
one call: validation and the join fused with the measure), pbr's kernel alone on
already-prepared Histories, pbr's polars reference engine, and the obvious pandas,
polars and DuckDB implementations of the same measure (benchmarks/_baselines.py), each
counting an exact duplicate event row once as pbr does (rule D1: pandas
``drop_duplicates``, polars ``unique``, DuckDB ``SELECT DISTINCT``), so that the
comparison is like for like.
Columns:

* compute: frames already in memory, one warm-up run, then the median of K runs (one
  run when the warm-up took longer than --slow seconds, default 10);
* peak extra RSS: max over those runs of peak RSS (VmHWM, reset through
  /proc/self/clear_refs) minus RSS just before the run;
* end to end from Parquet: K fresh processes, each importing everything and running the
  implementation once untimed on a 2,000-offender data set (numba JIT / cache load,
  lazy imports), then timing Parquet read + compute (one process when the first took
  longer than --slow seconds); and its peak extra RSS;
* speed-up against the faster of polars and DuckDB, per phase.

Below each table, the memory-bandwidth floor: the time to read the event columns
(offender_id, offence_date, disposal_date) once with a parallel numba sum (fastest of 21
passes, or numpy's one-thread sum where that is faster), and the time to read the
arrays the kernel streams, with each path's multiple
of it; pbr's compute speed-up paired with the faster baseline (rounds alternating one
run of each, so that both see the same machine conditions; the median of the rounds'
ratios); and the kernel-only row paired with the floor (rounds alternating one floor read
and one kernel call, so that both are measured under the same machine conditions; the
median of the rounds' ratios).

Before anything is printed, every implementation's per-offender output (offender_id,
reoffended, reoffences, days_to_first exactly; severity to rtol 1e-9), in compute and
end-to-end mode, is asserted equal to pbr's default engine.

Protocol as in docs/performance.md.  Data: ``pbr.synth.generate`` (or the
``simple`` numpy generator in benchmarks/_data.py), cached as Parquet under --data-dir.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402

from benchmarks import _data, _harness  # noqa: E402
from benchmarks._baselines import assert_same, canonical  # noqa: E402
from benchmarks._impls import (  # noqa: E402
    IMPLS,
    KERNEL_ARRAYS,
    LABELS,
    ORDER,
    PBR_IMPLS,
    histories_io,
    histories_path,
    kernel_frame,
    pbr_status,
    reused_outputs,
)

WARM_N = 2_000
BASELINES = ("polars", "duckdb")


def default_repeats(n: int) -> int:
    """7 runs at <= 100k, 5 at <= 1M, 3 above (docs/performance.md, "Protocol")."""
    return 7 if n <= 100_000 else 5 if n <= 1_000_000 else 3


# ---------------------------------------------------------------------------- formatting
def fmt_s(s: float | None) -> str:
    if s is None:
        return "—"
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 0.1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def fmt_mib(b: int | None) -> str:
    return "—" if b is None else f"{b / _harness.MiB:,.0f} MiB"


def fmt_x(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:,.0f}x" if x >= 100 else f"{x:.1f}x" if x >= 0.95 else f"{x:.2f}x"


# ---------------------------------------------------------------------------- phases
def run_compute(name: str, d: Path, warm_dir: Path, repeats: int,
                size: dict[str, Any], slow_s: float) -> pl.DataFrame:
    """Time one implementation on in-memory inputs; return its canonical output."""
    impl = IMPLS[name]
    impl.compute(impl.load(warm_dir))  # imports, JIT, thread pools: untimed, unmeasured
    inputs = impl.load(d)
    out, warm, runs = _harness.time_runs(functools.partial(impl.compute, inputs),
                                         repeats, slow_s)
    row = size["rows"][name]
    row["compute_s"] = runs.median
    row["compute_runs_s"] = runs.times
    row["compute_warmup_s"] = warm.times[0]
    row["compute_extra_peak"] = max(warm.peak, runs.peak)
    if name == "pbr_kernel":
        row["kernel_call"] = inputs["how"]
        if inputs["raw"] is not None:  # the private array-level kernel, timed on the side
            fn, how = inputs["raw"]
            raw_out, _, raw_runs = _harness.time_runs(fn, repeats)
            assert_same(canonical(impl.finish(inputs, out)),
                        canonical(kernel_frame(inputs["histories"], raw_out)), how)
            row["raw_kernel_call"], row["raw_kernel_s"] = how, raw_runs.median
            row["raw_kernel_runs_s"] = raw_runs.times
        # the kernel against the raw-layout floor, round by round (the target's ratio)
        size["kernel_paired"] = _harness.paired_ratio(inputs["run"], raw_arrays(d))
        reuse = reused_outputs(inputs, out)
        if reuse is not None:  # the same call writing into the arrays of an earlier one
            fn, how = reuse
            before = {k: v.copy() for k, v in out.items()}
            for v in out.values():
                v.fill(1)  # overwritten in full, or the check below fails
            again = fn()
            assert_same(canonical(impl.finish(inputs, before)),
                        canonical(impl.finish(inputs, again)), how)
            size["kernel_paired_reused"] = {**_harness.paired_ratio(fn, raw_arrays(d)),
                                            "call": how}
            del again
        h = inputs["histories"]
        arrays = [getattr(h, a) for a in KERNEL_ARRAYS if hasattr(h, a)]
        size["kernel_floor"] = {**_harness.floor_time(arrays),
                                "arrays": [a for a in KERNEL_ARRAYS if hasattr(h, a)],
                                "n_events": int(h.offence_day.size)}
    result = canonical(impl.finish(inputs, out))
    del inputs, out
    gc.collect()
    return result


def run_e2e(name: str, d: Path, warm_dir: Path, repeats: int, size: dict[str, Any],
            tmp: Path, slow_s: float) -> pl.DataFrame | None:
    """``repeats`` fresh processes (one if the first takes over ``slow_s``); return the
    canonical output of the first."""
    row = size["rows"][name]
    if name == "pbr_kernel" and histories_io() is None:
        row["e2e_note"] = "pbr offers no save/load of Histories"
        return None
    times, peaks = [], []
    first: pl.DataFrame | None = None
    for r in range(repeats):
        cmd = [sys.executable, str(ROOT / "benchmarks" / "_e2e.py"), name, str(d), str(warm_dir)]
        save = tmp / f"{name}.parquet"
        if r == 0:
            cmd += ["--save", str(save)]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("E2E ")]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"end-to-end run of {name} failed:\n{proc.stdout}\n{proc.stderr}")
        rec = json.loads(lines[-1][4:])
        times.append(rec["seconds"])
        peaks.append(rec["extra_peak"])
        if r == 0:
            first = pl.read_parquet(save)
            if rec["seconds"] > slow_s:
                break
    row["e2e_s"] = sorted(times)[len(times) // 2]
    row["e2e_runs_s"] = times
    row["e2e_extra_peak"] = max(peaks)
    return first


def paired_speedup(d: Path, warm_dir: Path, size: dict[str, Any], rounds: int
                   ) -> dict[str, Any] | None:
    """pbr's compute speed-up over the faster baseline, the two run in alternation.

    The table's speed-up divides medians taken minutes apart; on a machine whose speed
    drifts (1.5x within minutes on the project's virtual machine) that ratio measures
    the drift too.  Here each round runs the baseline and then pbr on the same inputs,
    so that each ratio compares neighbouring runs; the median of the rounds' ratios is
    reported with their range.
    """
    rows = size["rows"]
    timed = [(rows[b]["compute_s"], b) for b in BASELINES if rows.get(b, {}).get("compute_s")]
    if not timed:
        return None
    best = min(timed)[1]
    runs = {}
    for name in (best, "pbr"):
        impl = IMPLS[name]
        impl.compute(impl.load(warm_dir))
        runs[name] = functools.partial(impl.compute, impl.load(d))
    times: dict[str, list[float]] = {best: [], "pbr": []}
    for _ in range(rounds):
        for name in (best, "pbr"):
            gc.collect()
            t0 = time.perf_counter()
            out = runs[name]()
            times[name].append(time.perf_counter() - t0)
            del out
    ratios = [b / p for b, p in zip(times[best], times["pbr"], strict=True)]
    del runs
    gc.collect()
    return {"baseline": best, "rounds": rounds, "times_s": times, "ratios": ratios,
            "median_ratio": statistics.median(ratios)}


def save_histories(d: Path) -> None:
    """Prepared Histories next to the data (for the kernel's end-to-end row).

    Written afresh on every run, so the layout always matches the pbr being measured.
    """
    io = histories_io()
    if io is None:
        return
    shutil.rmtree(histories_path(d), ignore_errors=True)
    import pbr
    from benchmarks._impls import _pbr_inputs

    cohort, events, spec = _pbr_inputs(d)
    io[0](pbr.prepare(cohort, events, horizon=spec), histories_path(d))


def raw_arrays(d: Path) -> list[Any]:
    """The event columns the memory-bandwidth floor reads."""
    ev = pl.read_parquet(d / "events.parquet",
                         columns=["offender_id", "offence_date", "disposal_date"])
    return [ev["offender_id"].to_numpy(),
            ev["offence_date"].to_physical().to_numpy(),
            ev["disposal_date"].to_physical().to_numpy()]


def raw_floor(d: Path) -> dict[str, Any]:
    return {**_harness.floor_time(raw_arrays(d)),
            "arrays": ["offender_id", "offence_date", "disposal_date"]}


def bench_size(n: int, d: Path, warm_dir: Path, impls: list[str], repeats: int,
               phases: list[str], slow_s: float = float("inf")) -> dict[str, Any]:
    meta = json.loads((d / "meta.json").read_text())
    size: dict[str, Any] = {"n": n, "n_events": meta["n_events"], "data": meta,
                            "repeats": repeats, "rows": {i: {} for i in impls}}
    reference: tuple[str, pl.DataFrame] | None = None

    def check(name: str, out: pl.DataFrame | None, phase: str) -> None:
        nonlocal reference
        if out is None:
            return
        if reference is None:
            reference = (name, out)
            return
        assert_same(reference[1], out, f"{name} ({phase}) vs {reference[0]}")

    t0 = time.perf_counter()
    size["load_before"] = _harness.load_average()
    if "compute" in phases:
        for name in impls:
            print(f"  N={n:,} compute {name} ...", end="", flush=True, file=sys.stderr)
            check(name, run_compute(name, d, warm_dir, repeats, size, slow_s), "compute")
            print(f" {fmt_s(size['rows'][name]['compute_s'])}", file=sys.stderr, flush=True)
    size["floor"] = raw_floor(d)
    if "compute" in phases and "pbr" in impls:
        size["paired"] = paired_speedup(d, warm_dir, size, max(repeats, 3))
    if "e2e" in phases:
        if "pbr_kernel" in impls:
            save_histories(warm_dir)
            save_histories(d)
        with tempfile.TemporaryDirectory(prefix="pbr-bench-") as tmp:
            for name in impls:
                print(f"  N={n:,} end to end {name} ...", end="", flush=True, file=sys.stderr)
                check(name, run_e2e(name, d, warm_dir, repeats, size, Path(tmp), slow_s), "e2e")
                print(f" {fmt_s(size['rows'][name].get('e2e_s'))}", file=sys.stderr,
                      flush=True)
    size["reference"] = reference[0] if reference else None
    size["slow_s"] = slow_s
    size["checked_equal"] = True
    size["wall_s"] = time.perf_counter() - t0
    size["load_after"] = _harness.load_average()
    return size


# ---------------------------------------------------------------------------- report
def _best(size: dict[str, Any], key: str) -> float | None:
    vals = [size["rows"][b].get(key) for b in BASELINES if b in size["rows"]]
    vals = [v for v in vals if v is not None]
    return min(vals) if vals else None


def _readers(fl: dict[str, Any], size: dict[str, Any]) -> str:
    return (f"fastest of 21 passes: numba prange {fmt_s(fl['numba_parallel_s'])} on "
            f"{size.get('threads', '?')} threads, numpy {fmt_s(fl['numpy_1thread_s'])} on one")


def table(size: dict[str, Any]) -> str:
    n, rows = size["n"], size["rows"]
    best_c, best_e = _best(size, "compute_s"), _best(size, "e2e_s")
    src = size["data"]["source"]
    lines = [
        f"### N = {n:,} offenders ({size['n_events']:,} event rows; data: {src}, "
        f"seed {size['data']['seed']}; median of {size['repeats']}; load average "
        f"{size['load_before']:.1f} before, {size['load_after']:.1f} after)",
        "",
        "| implementation | compute | peak extra RSS | end-to-end from Parquet "
        "| peak extra RSS | speed-up vs best of polars/DuckDB (compute / e2e) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in rows.items():
        c, e = r.get("compute_s"), r.get("e2e_s")
        sc = best_c / c if (best_c and c) else None
        se = best_e / e if (best_e and e) else None
        label = LABELS[name]
        lines.append(
            f"| {label} | {fmt_s(c)} | {fmt_mib(r.get('compute_extra_peak'))} | {fmt_s(e)} | "
            f"{fmt_mib(r.get('e2e_extra_peak'))} | {fmt_x(sc)} / {fmt_x(se)} |")
    lines.append("")
    fl = size["floor"]
    multiples = ", ".join(
        f"{name} {fmt_x(rows[name]['compute_s'] / fl['seconds'])}" for name in rows
        if name != "pbr_kernel" and rows[name].get("compute_s"))
    lines.append(
        f"Memory-bandwidth floor: reading {', '.join(fl['arrays'])} of all "
        f"{size['n_events']:,} event rows once ({fl['bytes'] / 1e6:,.0f} MB) takes "
        f"{fmt_s(fl['seconds'])} ({_readers(fl, size)})"
        + (f"; compute takes {multiples} of it." if multiples else "."))
    pr = size.get("paired")
    if pr:
        lines.append(
            f"Compute speed-up, paired: {pr['rounds']} rounds, each running "
            f"{pr['baseline']} and then pbr.measure on the same inputs: pbr is "
            f"{fmt_x(pr['median_ratio'])} faster (median of the rounds' ratios; range "
            f"{min(pr['ratios']):.1f}-{max(pr['ratios']):.1f}x; pbr "
            f"{fmt_s(statistics.median(pr['times_s']['pbr']))}, {pr['baseline']} "
            f"{fmt_s(statistics.median(pr['times_s'][pr['baseline']]))}, medians).")
    kf = size.get("kernel_floor")
    if kf and rows.get("pbr_kernel", {}).get("compute_s"):
        k = rows["pbr_kernel"]["compute_s"]
        kr = rows["pbr_kernel"]
        raw = ""
        if kr.get("raw_kernel_s"):
            r = kr["raw_kernel_s"]
            raw = (f"; of that, the array-level kernel ({kr['raw_kernel_call']}, no result "
                   f"frame) takes {fmt_s(r)} = {fmt_x(r / kf['seconds'])} of this floor")
        lines.append(
            f"Kernel floor: reading the arrays the kernel streams ({', '.join(kf['arrays'])}; "
            f"{kf['n_events']:,} prepared events, {kf['bytes'] / 1e6:,.0f} MB) takes "
            f"{fmt_s(kf['seconds'])} ({_readers(kf, size)}). The kernel-only row "
            f"({kr['kernel_call']}) takes {fmt_s(k)} = {fmt_x(k / kf['seconds'])} of it "
            f"({fmt_x(k / fl['seconds'])} of the raw-layout floor){raw}.")
    kp = size.get("kernel_paired")
    if kp and rows.get("pbr_kernel", {}).get("compute_s"):
        lo, hi = min(kp["ratios"]), max(kp["ratios"])
        lines.append(
            f"Kernel against the raw-layout floor, paired: {kp['rounds']} rounds, each "
            "reading the event columns (fastest of 3 passes) and then calling the kernel "
            f"once: the kernel takes {fmt_x(kp['median_ratio'])} of the floor (median of "
            f"the rounds' ratios; range {lo:.1f}-{hi:.1f}x; kernel "
            f"{fmt_s(statistics.median(kp['times_s']))}, floor "
            f"{fmt_s(statistics.median(kp['floor_s']))}, medians).")
    kq = size.get("kernel_paired_reused")
    if kq and rows.get("pbr_kernel", {}).get("compute_s"):
        lines.append(
            f"The same, writing into the output arrays of an earlier call ({kq['call']}; "
            "the floor allocates nothing, and memory fresh from the system costs more to "
            "touch than the kernel's work on this machine): the kernel takes "
            f"{fmt_x(kq['median_ratio'])} of the floor (range {min(kq['ratios']):.1f}-"
            f"{max(kq['ratios']):.1f}x; kernel {fmt_s(statistics.median(kq['times_s']))}, "
            f"floor {fmt_s(statistics.median(kq['floor_s']))}, medians).")
    once = []
    for nm, r in rows.items():
        phases = [ph for ph, key in (("compute", "compute_runs_s"), ("e2e", "e2e_runs_s"))
                  if len(r.get(key, [0, 0])) == 1]
        if phases:
            once.append(f"{LABELS[nm]} ({', '.join(phases)})")
    if once and size["repeats"] > 1:
        lines.append(f"Timed once (a run took over {size['slow_s']:g} s): " + "; ".join(once)
                     + ".")
    if rows.get("pbr_kernel", {}).get("e2e_s"):
        lines.append("End to end, the kernel-only row reads the saved Histories "
                     "(pbr.io.load_histories: memory-mapped .npy + Arrow IPC), not Parquet.")
    notes = [f"{LABELS[nm]}: {r['e2e_note']}" for nm, r in rows.items() if r.get("e2e_note")]
    if notes:
        lines.append("Not measured end to end: " + "; ".join(notes) + ".")
    if size.get("reference"):
        lines.append(f"All outputs asserted equal to {size['reference']} (ints exact, severity "
                     "rtol 1e-9), in every phase.")
    return "\n".join(lines)


def machine_lines(info: dict[str, Any]) -> str:
    return (f"Machine: {info['cpu']}, {info['cores']} cores ({info['cores_usable']} usable), "
            f"{info['memory_gib']} GiB; {info['platform']}\n"
            f"Versions: Python {info['python']}, numpy {info['numpy']}, pandas {info['pandas']}, "
            f"polars {info['polars']}, DuckDB {info['duckdb']}, numba {info['numba']}, "
            f"pyarrow {info['pyarrow']}, pbr {info['pbr']} (git {info['git']})\n"
            f"Threads: numba {info['numba_threads']}, polars {info['polars_threads']}; "
            "pandas computes on one")


# ---------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000])
    p.add_argument("--repeats", type=int, default=None,
                   help="timed runs per phase (default 7 / 5 / 3 for N <= 100k / 1M / more)")
    p.add_argument("--phases", nargs="+", choices=["compute", "e2e"],
                   default=["compute", "e2e"])
    p.add_argument("--impls", nargs="+", choices=list(ORDER), default=list(ORDER))
    p.add_argument("--slow", type=float, default=10.0, metavar="SECONDS",
                   help="time a row once when its warm-up (compute) or first process (e2e) "
                        "takes longer than this (default 10 s; keeps 5M under ~10 min)")
    p.add_argument("--data", choices=["auto", "synth", "simple"], default="auto",
                   help="pbr.synth (auto when importable) or the numpy generator")
    p.add_argument("--seed", type=int, default=20240601)
    p.add_argument("--data-dir", type=Path, default=ROOT / "bench_data")
    p.add_argument("--json", type=Path, default=None, help="write all results here")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = _harness.machine_info(ROOT)
    print(machine_lines(info), flush=True)
    impls = [i for i in ORDER if i in args.impls]
    why = pbr_status()
    if why and any(i in PBR_IMPLS for i in impls):
        print(f"\nSkipping the pbr rows: {why}.", flush=True)
        impls = [i for i in impls if i not in PBR_IMPLS]
    if not impls:
        print("nothing to run", file=sys.stderr)
        return 1
    source = _data.resolve_source(args.data)
    warm_dir = _data.ensure_data(args.data_dir, source, WARM_N, args.seed, quiet=True)
    results: dict[str, Any] = {"machine": info, "impls": impls, "phases": args.phases,
                               "data_source": source, "sizes": []}
    for n in args.sizes:
        d = _data.ensure_data(args.data_dir, source, n, args.seed)
        size = bench_size(n, d, warm_dir, impls, args.repeats or default_repeats(n),
                          args.phases, args.slow)
        size["threads"] = info["numba_threads"]
        results["sizes"].append(size)
        print("\n" + table(size), flush=True)
        if args.json:
            args.json.write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
