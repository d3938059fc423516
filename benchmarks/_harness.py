"""Measurement tools: peak-RSS probes, timed runs, the memory-bandwidth floor, machine info.

Memory follows docs/performance.md's protocol: the peak resident set (``VmHWM``) is
reset through ``/proc/self/clear_refs`` before each run, and a run's "extra" memory is
its peak minus the resident set just before it.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numba
import numpy as np

MiB = 1024 * 1024


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def rss_bytes() -> int:
    return _status_kb("VmRSS") * 1024


def peak_bytes() -> int:
    return _status_kb("VmHWM") * 1024


@dataclass
class Runs:
    """Timings (s) and extra peak RSS (bytes) of repeated runs."""

    times: list[float] = field(default_factory=list)
    extra_peak: list[int] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def peak(self) -> int:
        return max(self.extra_peak) if self.extra_peak else 0


def measured(fn: Callable[[], Any]) -> tuple[Any, float, int]:
    """Run ``fn`` once: its result, wall time and extra peak RSS."""
    gc.collect()
    reset_peak()
    before = rss_bytes()
    t0 = time.perf_counter()
    out = fn()
    elapsed = time.perf_counter() - t0
    return out, elapsed, max(0, peak_bytes() - before)


def time_runs(fn: Callable[[], Any], repeats: int,
              slow_s: float = float("inf")) -> tuple[Any, Runs, Runs]:
    """One warm-up, then ``repeats`` timed runs (one if the warm-up took over ``slow_s``).

    Returns the warm-up's result, the warm-up as a Runs and the timed runs.
    """
    out, t, m = measured(fn)
    warm = Runs([t], [m])
    runs = Runs()
    for _ in range(1 if t > slow_s else repeats):
        res, t, m = measured(fn)
        del res
        runs.times.append(t)
        runs.extra_peak.append(m)
    return out, warm, runs


# ---------------------------------------------------------------------------- floor
@numba.njit(parallel=True, cache=True)
def _sum(a: np.ndarray) -> int:  # pragma: no cover - compiled
    # an integer accumulator vectorises (a float one would not, without fastmath);
    # overflow wraps, which is fine for a pure read.
    acc = 0
    for i in numba.prange(a.size):
        acc += a[i]
    return acc


_INT_VIEW = {1: np.uint8, 2: np.int16, 4: np.int32, 8: np.int64}


def _int_views(arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Contiguous integer views of the arrays, for the vectorised numba sum."""
    return [np.ascontiguousarray(a).view(_INT_VIEW[np.dtype(a.dtype).itemsize])
            for a in arrays]


def floor_time(arrays: Sequence[np.ndarray], repeats: int = 21) -> dict[str, Any]:
    """Time to read every array once, and the bytes read.

    Two readers: a numba ``prange`` sum on all threads (the raw floor) and numpy's
    one-thread ``sum``.  Each is the fastest of ``repeats`` passes, since a floor is the
    best the machine does; ``seconds`` is the faster of the two.  On a busy machine a
    parallel pass waits for a scheduler slice at every barrier, which can make the
    one-thread read the faster one.
    """
    arrays = _int_views(arrays)
    for a in arrays:  # compile + fault in
        _sum(a)

    def best(read: Callable[[np.ndarray], Any]) -> float:
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            for a in arrays:
                read(a)
            times.append(time.perf_counter() - t0)
        return min(times)

    parallel = best(_sum)
    serial = best(np.sum)
    return {"seconds": min(parallel, serial), "numba_parallel_s": parallel,
            "numpy_1thread_s": serial, "bytes": sum(a.nbytes for a in arrays)}


def paired_ratio(fn: Callable[[], Any], arrays: Sequence[np.ndarray], rounds: int = 11,
                 passes: int = 3) -> dict[str, Any]:
    """``fn``'s time as a multiple of the floor, both measured under the same conditions.

    :func:`floor_time` is the best of 21 passes, taken at one moment, and a row's time
    the median of its runs, taken at another; on a machine whose speed drifts (a shared
    virtual machine: 1.5x within minutes on the project's) their ratio then measures the
    drift as much as the code.  Here each of ``rounds`` rounds reads the arrays
    (fastest of ``passes`` numba passes) and then runs ``fn`` once, so that each ratio
    compares two neighbouring measurements; the median of the ratios is reported, with
    their range.
    """
    arrays = _int_views(arrays)
    for a in arrays:
        _sum(a)
    floors, times = [], []
    for _ in range(rounds):
        best = float("inf")
        for _ in range(passes):
            t0 = time.perf_counter()
            for a in arrays:
                _sum(a)
            best = min(best, time.perf_counter() - t0)
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        del out
        floors.append(best)
    ratios = [t / f for t, f in zip(times, floors, strict=True)]
    return {"rounds": rounds, "floor_s": floors, "times_s": times, "ratios": ratios,
            "median_ratio": statistics.median(ratios)}


def load_average() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:  # pragma: no cover
        return float("nan")


# ---------------------------------------------------------------------------- info
def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _git_commit(root: Path) -> str:
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "pbr"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return out + ("+dirty pbr/" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine_info(root: Path) -> dict[str, Any]:
    import duckdb
    import pandas as pd
    import polars as pl
    import pyarrow as pa

    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        affinity = os.cpu_count() or 1
    try:
        import pbr

        pbr_version = getattr(pbr, "__version__", "(no __version__)")
    except Exception:
        pbr_version = "not importable"
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": affinity,
        "memory_gib": round(_mem_total() / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "polars": pl.__version__,
        "duckdb": duckdb.__version__,
        "numba": numba.__version__,
        "pyarrow": pa.__version__,
        "pbr": pbr_version,
        "git": _git_commit(root),
        "numba_threads": numba.get_num_threads(),
        "polars_threads": pl.thread_pool_size(),
        "executable": sys.executable,
    }
