"""Bootstrap resampling: sums over resampled units, one replicate per row of indices.

The indices are drawn by the caller from a seeded ``numpy.random.Generator``, so the
random stream is numpy's and the same seed gives the same bytes; this kernel only
gathers.  ``prange`` runs over replicates, and each replicate is summed in index order
by one thread, so the thread count never changes a result.
"""

from __future__ import annotations

from numba import njit, prange

__all__ = ["gather_sums"]


@njit(parallel=True, cache=True)
def gather_sums(idx, a, b, out_a, out_b):
    """``out_a[r] = Σ_i a[idx[r, i]]`` and ``out_b[r] = Σ_i b[idx[r, i]]`` per replicate r.

    ``idx`` is (replicates, draws) of unit positions in ``[0, a.size)``; the outputs are
    preallocated float64 arrays of length ``idx.shape[0]``.
    """
    k, n = idx.shape
    for r in prange(k):
        sa = 0.0
        sb = 0.0
        for i in range(n):
            j = idx[r, i]
            sa += a[j]
            sb += b[j]
        out_a[r] = sa
        out_b[r] = sb
