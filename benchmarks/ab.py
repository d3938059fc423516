"""Interleaved A/B timing of pbr's measure path: one git revision against another.

    python benchmarks/ab.py --base REV [--head REV] [--n 1000000] [--rounds 3]
        [--reps 7] [--target {measure,prepare,kernel}] [--data-dir bench_data]
        [--hold N] [--base-env KEY=VALUE ...] [--head-env KEY=VALUE ...]

On a shared or virtual machine the speed of the same code drifts by up to 1.5x within
minutes (docs/performance.md), so two benchmark runs minutes apart cannot show a 5%
change.  This script alternates fresh processes of the two revisions (base, head,
base, head, ...), each timing ``--reps`` calls after one warm-up, so that both sides
see the same drift, and reports each side's median and the median of the per-round
ratios head / base.

``--base`` and ``--head`` are checked out into temporary git worktrees (``--head``
defaults to the working tree as it is, uncommitted changes included); one untimed
process per side runs first (Numba compiles a fresh worktree's kernels there).  Both sides read
the same cached data set (benchmarks/_data.py; generated once if missing).  Targets:
``measure`` (``pbr.measure``, one call), ``prepare`` (``pbr.prepare``) and ``kernel``
(``Histories.measure_arrays`` on a prepared layout).

``--hold N`` keeps the last N results alive while the next calls are timed (as a
user's results would be): memory they hold cannot be reused by the next call.
``--base-env`` / ``--head-env`` set environment variables in one side's processes
only: ``--base HEAD --head HEAD --head-env PBR_NUMBA_THREADS=1`` times a setting
rather than a change of code.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# Runs in a child process with the revision's tree first on sys.path: times `reps`
# calls after one warm-up and prints one JSON line.
_CHILD = r"""
import gc, json, sys, time
tree, data, target, reps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
hold = int(sys.argv[5]) if len(sys.argv) > 5 else 0
sys.path.insert(0, tree)
import polars as pl
import pbr
assert pbr.__file__.startswith(tree), pbr.__file__
cohort = pl.read_parquet(data + "/cohort.parquet")
events = pl.read_parquet(data + "/events.parquet", columns=[
    "offender_id", "offence_date", "disposal_date", "disposal_type", "offence_code",
    "offence_category"])
w = pl.read_parquet(data + "/weights.parquet")
spec = pbr.MeasureSpec(severity_weights=dict(zip(w["offence_code"].to_list(),
                                                 w["weight"].to_list())))
if target == "measure":
    fn = lambda: pbr.measure(cohort, events, spec)
elif target == "prepare":
    fn = lambda: pbr.prepare(cohort, events, horizon=spec)
else:
    h = pbr.prepare(cohort, events, horizon=spec)
    fn = lambda: h.measure_arrays(spec)
fn()
times, held = [], []
for _ in range(reps):
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    times.append(time.perf_counter() - t0)
    held.append(out)  # the last `hold` results stay alive, as a user's would
    del out, held[:max(0, len(held) - hold)]
print("AB " + json.dumps(times))
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--base", required=True, help="git revision to compare against")
    p.add_argument("--head", default=None, help="git revision (default: the working tree)")
    p.add_argument("--n", type=int, default=1_000_000, help="offenders (default 1M)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--reps", type=int, default=7, help="timed calls per process")
    p.add_argument("--target", choices=("measure", "prepare", "kernel"), default="measure")
    p.add_argument("--seed", type=int, default=20240601)
    p.add_argument("--data-dir", type=Path, default=ROOT / "bench_data")
    p.add_argument("--hold", type=int, default=0,
                   help="results kept alive while timing the next calls (default 0)")
    p.add_argument("--base-env", nargs="*", metavar="KEY=VALUE",
                   help="environment variables of the base side's processes")
    p.add_argument("--head-env", nargs="*", metavar="KEY=VALUE",
                   help="environment variables of the head side's processes")
    return p.parse_args(argv)


def _worktree(rev: str, where: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(where),
                    rev], check=True, capture_output=True)
    return where


def _env(pairs: list[str] | None) -> dict[str, str]:
    """``KEY=VALUE`` strings as a dict."""
    env = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"expected KEY=VALUE, got {pair!r}")
        env[key] = value
    return env


def _child(tree: Path, data: Path, target: str, reps: int,
           env: dict[str, str] | None = None, hold: int = 0) -> list[float]:
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(tree), str(data), target,
                           str(reps), str(hold)], capture_output=True, text=True, cwd=tree,
                          env={**os.environ, **(env or {})})
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("AB ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"timing {tree} failed:\n{proc.stdout}\n{proc.stderr}")
    times: list[float] = json.loads(lines[-1][3:])
    return times


def compare(base: Path, head: Path, data: Path, target: str, rounds: int, reps: int,
            base_env: dict[str, str] | None = None, head_env: dict[str, str] | None = None,
            hold: int = 0) -> dict[str, Any]:
    """Alternate ``rounds`` processes of each tree; per-side medians and the median of
    the per-round ratios of medians (head / base).  ``base_env`` / ``head_env``: extra
    environment variables of each side's processes; ``hold``: results kept alive."""
    sides: dict[str, list[float]] = {"base": [], "head": []}
    ratios = []
    # one untimed process per side first: in a fresh worktree the first process compiles
    # the kernels, and the compiler's garbage then slows its later calls too
    for tree, env in ((base, base_env), (head, head_env)):
        _child(tree, data, target, 1, env)
    for r in range(rounds):
        b = statistics.median(_child(base, data, target, reps, base_env, hold))
        h = statistics.median(_child(head, data, target, reps, head_env, hold))
        sides["base"].append(b)
        sides["head"].append(h)
        ratios.append(h / b)
        print(f"  round {r + 1}: base {b * 1000:,.0f} ms, head {h * 1000:,.0f} ms, "
              f"head/base {h / b:.3f}", file=sys.stderr, flush=True)
    return {"base_ms": [round(x * 1000, 1) for x in sides["base"]],
            "head_ms": [round(x * 1000, 1) for x in sides["head"]],
            "ratio_median": statistics.median(ratios)}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from benchmarks import _data

    data = _data.ensure_data(args.data_dir, _data.resolve_source("synth"), args.n, args.seed)
    with tempfile.TemporaryDirectory(prefix="pbr-ab-") as tmp:
        base = _worktree(args.base, Path(tmp) / "base")
        head = ROOT if args.head is None else _worktree(args.head, Path(tmp) / "head")
        try:
            res = compare(base, head, data, args.target, args.rounds, args.reps,
                          _env(args.base_env), _env(args.head_env), args.hold)
        finally:
            for tree in (base, head):
                if tree != ROOT:
                    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                                    str(tree)], capture_output=True)
    head_name = (args.head or "working tree") + "".join(f" {e}" for e in args.head_env or [])
    print(f"{args.target}, N={args.n:,}: base {args.base} {res['base_ms']} ms; "
          f"{head_name} {res['head_ms']} ms; head/base median {res['ratio_median']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
