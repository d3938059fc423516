"""Rows that may repeat an earlier row exactly (rule D1): the hash pass and the search
for repeated hashes behind :func:`pbr.data._duplicate_rows`.

One 64-bit hash per row is folded from the columns' physical values (integers, day
numbers, categorical codes, or a polars hash of any other column), piece by piece so
that a piece's hashes stay in cache while every column is folded in; each piece also
counts its hashes per radix bucket (the top bits).  The hashes are then scattered by
bucket, each piece into its own ranges, and every bucket (a few thousand rows, in
cache) finds its repeated hashes in a small open-addressing table.  Equal rows have
equal hashes, so every row that repeats another is marked; a marked row may also be a
hash collision, which the caller's exact comparison settles.  No result depends on
the number of threads: the pieces and buckets write disjoint outputs.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

#: odd multiplier of the per-column fold (2^64 / golden ratio)
_K = np.uint64(0x9E3779B97F4A7C15)
#: rows per bucket of the search for repeated hashes, about (its table stays in cache)
BUCKET_ROWS = 16384
#: the most radix bits (buckets = 2^bits; a wider fan-out slows the scatter)
MAX_BITS = 8


def radix_bits(n: int) -> int:
    """Radix bits for ``n`` rows: buckets of about :data:`BUCKET_ROWS` rows."""
    bits = 0
    while bits < MAX_BITS and (n >> bits) > BUCKET_ROWS:
        bits += 1
    return bits


@njit(cache=True, nogil=True)
def fold(h: np.ndarray, col: np.ndarray, first: bool) -> None:  # pragma: no cover - compiled
    """Fold one column's values (any integer type) into the rows' hashes ``h``."""
    if first:
        for i in range(h.size):
            x = np.uint64(np.int64(col[i])) * _K
            h[i] = x ^ (x >> np.uint64(29))
    else:
        for i in range(h.size):
            x = (h[i] ^ np.uint64(np.int64(col[i]))) * _K
            h[i] = x ^ (x >> np.uint64(29))


@njit(cache=True, nogil=True)
def finish(h: np.ndarray, bits: int, hist: np.ndarray) -> None:  # pragma: no cover
    """Final mix of each hash (murmur3's fmix64) and the piece's count per bucket."""
    shift = np.uint64(64 - bits)
    for i in range(h.size):
        x = h[i]
        x ^= x >> np.uint64(33)
        x *= np.uint64(0xFF51AFD7ED558CCD)
        x ^= x >> np.uint64(33)
        x *= np.uint64(0xC4CEB9FE1A85EC53)
        x ^= x >> np.uint64(33)
        h[i] = x
        if bits:
            hist[x >> shift] += 1
        else:
            hist[0] += 1


@njit(cache=True, parallel=True)
def scatter(h: np.ndarray, piece_start: np.ndarray, start: np.ndarray, bits: int,
            ph: np.ndarray, prow: np.ndarray) -> None:  # pragma: no cover - compiled
    """Each piece's hashes (their low 32 bits: the top bits are the bucket's) and row
    numbers into its own ranges of the buckets (``start[k, b]``: piece ``k``'s first
    slot in bucket ``b``)."""
    shift = np.uint64(64 - bits)
    for k in prange(piece_start.size - 1):
        pos = start[k].copy()
        for i in range(piece_start[k], piece_start[k + 1]):
            x = h[i]
            b = np.int64(x >> shift) if bits else 0
            p = pos[b]
            ph[p] = np.uint32(x & np.uint64(0xFFFFFFFF))
            prow[p] = i
            pos[b] = p + 1


@njit(cache=True, parallel=True)
def repeated(ph: np.ndarray, prow: np.ndarray, bucket_off: np.ndarray,
             mark: np.ndarray) -> None:  # pragma: no cover - compiled
    """Mark (``mark[row] = True``) every row whose hash (bucket and low 32 bits) occurs
    more than once in its bucket."""
    for b in prange(bucket_off.size - 1):
        lo, hi = bucket_off[b], bucket_off[b + 1]
        size = 16
        while size < 2 * (hi - lo):
            size *= 2
        table = np.full(size, -1, np.int32)
        for j in range(lo, hi):
            x = ph[j]
            s = np.int64(x) & (size - 1)
            while True:
                t = table[s]
                if t < 0:
                    table[s] = j - lo
                    break
                if ph[lo + t] == x:
                    mark[prow[lo + t]] = True
                    mark[prow[j]] = True
                    break
                s = (s + 1) & (size - 1)
