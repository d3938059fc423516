"""Numba kernels: arrays in, arrays out; numpy and numba only (layer 1).

Every kernel is a module-level ``@njit(cache=True)`` function (closures do not cache),
parallel loops run over offenders or fixed-size chunks so that the number of threads
never changes a result, and outputs are preallocated by the caller.
"""

from __future__ import annotations

import numba

from pbr import _numba_cache  # noqa: F401  (caches in the user cache dir, not the package)

#: iterations per dynamically scheduled chunk of a parallel loop over offenders or events
ROWS_PER_CHUNK = 8192


class dynamic:  # noqa: N801  (used as a context manager: ``with dynamic(): ...``)
    """Schedule the parallel loops of the kernels called in this ``with`` block in
    chunks of ``per_chunk`` iterations handed to whichever thread is free.

    Numba's default gives each thread one fixed block, so one slowed thread (a virtual
    CPU the host has lent elsewhere, a partition with more events) holds up the whole
    loop: on the project's 2-vCPU machine the kernel pass over 5M offenders took 80 or
    170-210 ms from call to call with fixed blocks, and 80-85 ms with chunks of 8,192.
    Every kernel writes per-iteration outputs or order-independent reductions, so the
    schedule never changes a result.  Use 1 for loops over partitions or fixed chunks
    and :data:`ROWS_PER_CHUNK` for loops over offenders or events.  The setting is the
    calling thread's own (Numba keeps it per thread) and is restored on exit, so blocks
    may nest.
    """

    def __init__(self, per_chunk: int = 1) -> None:
        self.per_chunk = per_chunk
        self._previous = 0

    def __enter__(self) -> dynamic:
        self._previous = int(numba.set_parallel_chunksize(self.per_chunk))
        return self

    def __exit__(self, *exc: object) -> None:
        numba.set_parallel_chunksize(self._previous)
