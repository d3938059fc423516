"""Reused memory for the one-call measure's large arrays (layer 0).

A one-call ``pbr.measure`` at 1M offenders writes tens of MB of temporaries (the
partitioned cohort and event records, the slot of every cohort row) that are dead when
the call returns.  Memory fresh from the operating system costs far more to touch the
first time than memory already mapped, most of all on a virtual machine whose freed
pages go back to the host; numpy's allocator returns large arrays to the system at
once.  So pbr keeps these buffers here between calls, up to a limit.  This was
measured to matter (``benchmarks/ab.py``, docs/performance.md) and is used only where
it did: the one-call measure's temporaries and its result columns, and the exact
duplicate-row search of :mod:`pbr.data`.

Temporaries come from an :class:`Arena` and go back when it closes.  The one-call
measure's result columns come from :func:`lend_many`: process-wide state behind arrays
the caller holds (the columns of the result frame), whose buffer goes back to the pool
only when the last array using it has been garbage collected (a finalizer on the
arrays' base object).  No kernel reads such an array before writing it (the contents
of a reused buffer are whatever the last user left: ``np.empty`` semantics).

The limit is ``PBR_SCRATCH_MB`` in the environment (MiB, default 1024; 0 turns reuse
off), read when the first array is returned.  :func:`release_memory`
(``pbr.release_memory``) frees what is kept.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any

import numpy as np

#: arrays smaller than this are left to the allocator (its own caches serve them)
MIN_BYTES = 1 << 20
_lock = threading.Lock()
_free: list[np.ndarray] = []  # uint8 buffers, kept for the next call
# buffers whose lent arrays have died: appended by finalizers (atomic under the GIL, no
# lock: a finalizer may run inside a garbage collection while this thread holds _lock)
_returned: list[np.ndarray] = []
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


def _drain() -> None:
    """Move returned buffers to the free list, up to the limit (under ``_lock``)."""
    if _returned:
        moved = []
        while _returned:
            moved.append(_returned.pop())
        _trim(moved)


def _trim(extra: list[np.ndarray]) -> None:
    """Keep ``extra`` with the buffers already kept, up to the limit, the most recently
    returned first (``_free`` runs from the oldest to the newest; under ``_lock``): when
    the work changes (a 5M-offender measure, then a loop over prepared histories), the
    buffers of the old work are the ones dropped."""
    cap = limit()
    pool = _free + extra
    kept, keep = 0, []
    for b in reversed(pool):
        if kept + b.nbytes <= cap:
            keep.append(b)
            kept += b.nbytes
    _free[:] = keep[::-1]


def kept_bytes() -> int:
    """Bytes now kept for reuse."""
    with _lock:
        _drain()
        return sum(b.nbytes for b in _free)


def release_memory() -> int:
    """Free the memory pbr keeps for reuse between calls; returns the bytes freed.

    pbr keeps the large temporary arrays of a measure call (partitioned records of
    offender ids, index and offence days) for the next call, up to ``PBR_SCRATCH_MB``
    MiB (default 1024; 0 keeps nothing).  They stay in this process's memory only, but
    call this after the last measure of a session to give the memory back, or before
    handing the process to other work.  Arrays held by live results are not affected:
    their memory returns to the pool when the results are gone.

    Examples
    --------
    >>> import pbr
    >>> data = pbr.synth.generate(50_000, seed=1)
    >>> _ = pbr.measure(data.cohort, data.events)
    >>> pbr.release_memory() > 0
    True
    >>> pbr.release_memory()
    0
    """
    with _lock:
        _drain()
        n = sum(b.nbytes for b in _free)
        _free.clear()
    return n


def _nbytes(shape: tuple[int, ...], dtype: np.dtype[Any]) -> int:
    return int(np.prod(shape, dtype=np.int64)) * dtype.itemsize


def _take(nbytes: int) -> np.ndarray:
    """A uint8 buffer of at least ``nbytes``, 64-byte aligned: the best fit kept, or new."""
    with _lock:
        _drain()
        best = -1
        for i, b in enumerate(_free):
            if b.nbytes >= nbytes and (best < 0 or b.nbytes < _free[best].nbytes):
                best = i
        if best >= 0:
            return _free.pop(best)
    # 64-byte alignment (a cache line) for any dtype; numpy's own is 16
    raw = np.empty(nbytes + 64, np.uint8)
    skip = (-raw.ctypes.data) % 64
    return raw[skip:skip + nbytes]


def _keep(buffers: list[np.ndarray]) -> None:
    """Keep ``buffers`` with those already kept, up to the limit (see ``_trim``)."""
    limit()  # read outside the lock (it may raise)
    with _lock:
        _drain()
        _trim(buffers)


class _Lease:
    """The base object of a lent array: exposes the buffer's memory to numpy; its
    finalizer returns the buffer once no array uses it any more."""

    __slots__ = ("__array_interface__", "__weakref__")
    __array_interface__: dict[str, Any]


def lend(shape: int | tuple[int, ...], dtype: Any) -> np.ndarray:
    """An uninitialised array (like ``np.empty``) that may be handed to the caller: its
    memory returns to the pool when the array and every view of it are gone.

    Examples
    --------
    >>> a = lend(1 << 18, np.float64)
    >>> a.fill(0.5)
    >>> float(a[-1]), a.flags.writeable
    (0.5, True)
    """
    dtype = np.dtype(dtype)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    nbytes = _nbytes(shape, dtype)
    if nbytes < MIN_BYTES or limit() == 0:
        return np.empty(shape, dtype)
    buf = _take(nbytes)
    lease = _Lease()
    lease.__array_interface__ = {"version": 3, "shape": shape, "typestr": dtype.str,
                                 "data": (buf.ctypes.data, False)}
    weakref.finalize(lease, _returned.append, buf)
    out: np.ndarray = np.asarray(lease)
    return out


def lend_many(n: int, dtypes: dict[str, Any]) -> dict[str, np.ndarray]:
    """Uninitialised arrays of ``n`` elements, one per ``dtypes`` entry, lent as one
    buffer (like :func:`lend`): it returns to the pool when every one of them (and every
    view) is gone.  One buffer instead of one each, so that a single buffer kept from an
    earlier step of the call (see :meth:`Arena.give_back`) can hold them all.

    Examples
    --------
    >>> a = lend_many(1 << 18, {"x": np.int64, "y": np.float64})
    >>> a["x"].dtype, a["y"].shape, a["x"].ctypes.data % 64
    (dtype('int64'), (262144,), 0)
    """
    types = {k: np.dtype(d) for k, d in dtypes.items()}
    starts, total = {}, 0
    for k, d in types.items():
        starts[k] = total
        total += -(-n * d.itemsize // 64) * 64  # each array on its own cache lines
    if total < MIN_BYTES or limit() == 0:
        return {k: np.empty(n, d) for k, d in types.items()}
    block = lend(total, np.uint8)
    return {k: block[starts[k]:starts[k] + n * d.itemsize].view(d) for k, d in types.items()}


def empty(arena: Arena | None, shape: int | tuple[int, ...], dtype: Any) -> np.ndarray:
    """``arena.empty(shape, dtype)``, or ``np.empty`` without an arena."""
    if arena is None:
        return np.empty(shape, dtype)
    return arena.empty(shape, dtype)


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
        nbytes = _nbytes(shape, dtype)
        if nbytes < MIN_BYTES:
            return np.empty(shape, dtype)
        buf = _take(nbytes)
        self._taken.append(buf)
        out: np.ndarray = buf[:nbytes].view(dtype).reshape(shape)
        return out

    def give_back(self, arr: np.ndarray) -> None:
        """Return the buffer of ``arr`` (an array of :meth:`empty`) to the pool now, for
        the rest of the call to reuse; ``arr`` and its views must not be used after.
        An array the allocator served (under ``MIN_BYTES``) is left to it."""
        ptr = arr.ctypes.data
        for i, buf in enumerate(self._taken):
            if buf.ctypes.data == ptr:
                _keep([self._taken.pop(i)])
                return

    def close(self) -> None:
        """Return this arena's buffers for reuse (up to the limit, see ``_trim``)."""
        taken, self._taken = self._taken, []
        _keep(taken)

    def __enter__(self) -> Arena:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
