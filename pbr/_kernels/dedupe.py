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
from numba import literal_unroll, njit, prange

#: odd multiplier of the per-column fold (2^64 / golden ratio)
_K = np.uint64(0x9E3779B97F4A7C15)
#: the most rows (row numbers are packed in 32 bits beside 32 bits of the hash)
MAX_ROWS = 1 << 32
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
def hash_rows(cols: tuple, h: np.ndarray, bits: int,  # type: ignore[type-arg]
              hist: np.ndarray) -> None:  # pragma: no cover - compiled
    """The rows' hashes ``h`` from one piece of every column (``cols``: a tuple of
    arrays of any integer types, one value per row each), and the piece's count per
    bucket (``hist``).  Each column is folded in by a multiply and a shift; the result
    gets murmur3's final mix (fmix64), whose top bits pick the bucket."""
    n = h.size
    first = True
    for col in literal_unroll(cols):
        if first:
            for i in range(n):
                x = np.uint64(np.int64(col[i])) * _K
                h[i] = x ^ (x >> np.uint64(29))
            first = False
        else:
            for i in range(n):
                x = (h[i] ^ np.uint64(np.int64(col[i]))) * _K
                h[i] = x ^ (x >> np.uint64(29))
    shift = np.uint64(64 - bits)
    for i in range(n):
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
            packed: np.ndarray) -> None:  # pragma: no cover - compiled
    """Each piece's rows into its own ranges of the buckets (``start[k, b]``: piece
    ``k``'s first slot in bucket ``b``), one word a row: the hash's low 32 bits (the
    top bits are the bucket's) above the row number."""
    shift = np.uint64(64 - bits)
    for k in prange(piece_start.size - 1):
        pos = start[k].copy()
        for i in range(piece_start[k], piece_start[k + 1]):
            x = h[i]
            b = np.int64(x >> shift) if bits else 0
            p = pos[b]
            packed[p] = (x << np.uint64(32)) | np.uint64(i)
            pos[b] = p + 1


@njit(cache=True, parallel=True)
def repeated(packed: np.ndarray, bucket_off: np.ndarray,
             mark: np.ndarray) -> None:  # pragma: no cover - compiled
    """Mark (``mark[row] = True``) every row whose hash (bucket and low 32 bits) occurs
    more than once in its bucket."""
    low = np.uint64(0xFFFFFFFF)
    for b in prange(bucket_off.size - 1):
        lo, hi = bucket_off[b], bucket_off[b + 1]
        size = 16
        while size < 2 * (hi - lo):
            size *= 2
        table = np.full(size, -1, np.int32)
        for j in range(lo, hi):
            x = packed[j] >> np.uint64(32)
            s = np.int64(x) & (size - 1)
            while True:
                t = table[s]
                if t < 0:
                    table[s] = j - lo
                    break
                y = packed[lo + t]
                if y >> np.uint64(32) == x:
                    mark[np.int64(y & low)] = True
                    mark[np.int64(packed[j] & low)] = True
                    break
                s = (s + 1) & (size - 1)
