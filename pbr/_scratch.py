"""Reused memory for the kernels' large temporary arrays (layer 0).

A measure call at 1M offenders writes about 90 MB of temporaries (the partitioned
cohort and event records, the slot of every cohort row) that are dead when the call
returns.  Memory fresh from the operating system costs far more to touch the first
time than memory already mapped: on the project's virtual machine (Firecracker, with a
balloon device that hands freed pages back to the host) writing 44 MB into a fresh
array took 47-72 ms, and into one written before 1-4 ms (docs/performance.md).  Polars
(jemalloc) and DuckDB (its buffer manager) keep freed memory for reuse; numpy's
allocator returns large arrays to the system at once.  So pbr keeps its large
temporaries here between calls, up to a limit.

Only temporaries come from here: nothing returned to the caller is a view of scratch
memory, and no kernel reads a scratch array before writing it (the contents of a
reused buffer are whatever the last call left: ``np.empty`` semantics).

The limit is ``PBR_SCRATCH_MB`` in the environment (MiB, default 1024; 0 turns reuse
off), read when the first array is returned. :func:`release` frees what is kept.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np

#: arrays smaller than this are left to the allocator (its own caches serve them)
MIN_BYTES = 1 << 20
_lock = threading.Lock()
_free: list[np.ndarray] = []  # uint8 buffers, kept for the next call
_limit: int | None = None


def limit() -> int:
    """Bytes kept for reuse at most (``PBR_SCRATCH_MB``, default 1024 MiB)."""
    global _limit
    if _limit is None:
        text = os.environ.get("PBR_SCRATCH_MB", "1024").strip()
        try:
            mb = int(text)
        except ValueError:
            mb = -1
        if mb < 0:
            raise ValueError(f"PBR_SCRATCH_MB must be a whole number of MiB >= 0, got "
                             f"{text!r}; fix: unset it (1024) or set e.g. 0 to turn reuse off")
        _limit = mb << 20
    return _limit


def kept_bytes() -> int:
    """Bytes now kept for reuse."""
    with _lock:
        return sum(b.nbytes for b in _free)


def release() -> int:
    """Free the memory kept for reuse; returns the bytes released."""
    with _lock:
        n = sum(b.nbytes for b in _free)
        _free.clear()
    return n


class Arena:
    """Temporary arrays for one call, returned for reuse when the ``with`` block ends.

    Examples
    --------
    >>> with Arena() as scratch:
    ...     a = scratch.empty((3_000_000,), np.int64)
    ...     a[:] = 1
    ...     int(a.sum())
    3000000
    """

    def __init__(self) -> None:
        self._taken: list[np.ndarray] = []

    def empty(self, shape: int | tuple[int, ...], dtype: Any) -> np.ndarray:
        """An uninitialised C-contiguous array (like ``np.empty``), valid until the
        block ends."""
        dtype = np.dtype(dtype)
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if nbytes < MIN_BYTES:
            return np.empty(shape, dtype)
        buf = None
        with _lock:
            # best fit: the smallest kept buffer that is large enough
            best = -1
            for i, b in enumerate(_free):
                if b.nbytes >= nbytes and (best < 0 or b.nbytes < _free[best].nbytes):
                    best = i
            if best >= 0:
                buf = _free.pop(best)
        if buf is None:
            # 64-byte alignment (a cache line) for any dtype; numpy's own is 16
            raw = np.empty(nbytes + 64, np.uint8)
            skip = (-raw.ctypes.data) % 64
            buf = raw[skip:skip + nbytes]
        self._taken.append(buf)
        out: np.ndarray = buf[:nbytes].view(dtype).reshape(shape)
        return out

    def close(self) -> None:
        """Return this arena's buffers for reuse (the largest first, up to the limit)."""
        taken, self._taken = self._taken, []
        cap = limit()
        with _lock:
            pool = sorted(_free + taken, key=lambda b: -b.nbytes)
            _free.clear()
            kept = 0
            for b in pool:
                if kept + b.nbytes <= cap:
                    _free.append(b)
                    kept += b.nbytes

    def __enter__(self) -> Arena:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
