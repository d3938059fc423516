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
#: the most rows (row numbers are packed in 32 bits beside 32 bits of the hash; the
#: bucket tables keep positions as uint32, 0xFFFFFFFF marking an empty slot)
MAX_ROWS = (1 << 32) - 1
#: rows per bucket of the search for repeated hashes, about (its table stays in cache)
BUCKET_ROWS = 16384
#: rows per block of the hash pass (its hashes stay in the L1 cache while every
#: column is folded in)
BLOCK_ROWS = 2048
#: groups of buckets of the search (each group reuses one table)
GROUPS = 16
#: the most radix bits (buckets = 2^bits; a wider fan-out slows the scatter)
MAX_BITS = 8


def radix_bits(n: int) -> int:
    """Radix bits for ``n`` rows: buckets of about :data:`BUCKET_ROWS` rows."""
    bits = 0
    while bits < MAX_BITS and (n >> bits) > BUCKET_ROWS:
        bits += 1
    return bits


@njit(cache=True, nogil=True)
def _fold(h: np.ndarray, col: np.ndarray) -> None:  # pragma: no cover - compiled
    """Fold one column's values (any integer type) into the hashes ``h``."""
    for i in range(h.size):
        x = (h[i] ^ np.uint64(np.int64(col[i]))) * _K
        h[i] = x ^ (x >> np.uint64(29))


@njit(cache=True, nogil=True)
def hash_rows(cols: tuple, h: np.ndarray, bits: int, hist: np.ndarray,  # type: ignore[type-arg]
              row0: int, packed: np.ndarray) -> None:  # pragma: no cover - compiled
    """One piece of rows: their hashes from one piece of every column (``cols``: a
    tuple of arrays of any integer types, one value per row each; ``h``: the piece's
    scratch), the piece's count per bucket (``hist``), and the piece's rows grouped by
    bucket into ``packed`` (the piece's own range), one word a row: the hash's low 32
    bits (the top bits are the bucket's) above the row number (``row0`` + position).

    Each column is folded in by a multiply and a shift; the result gets murmur3's final
    mix (fmix64), whose top bits pick the bucket."""
    n = h.size
    shift = np.uint64(64 - bits)
    for lo in range(0, n, BLOCK_ROWS):  # a block's hashes stay in L1 while folded
        hi = min(n, lo + BLOCK_ROWS)
        hb = h[lo:hi]
        hb[:] = 0
        for col in literal_unroll(cols):
            _fold(hb, col[lo:hi])
        for i in range(hb.size):
            x = hb[i]
            x ^= x >> np.uint64(33)
            x *= np.uint64(0xFF51AFD7ED558CCD)
            x ^= x >> np.uint64(33)
            x *= np.uint64(0xC4CEB9FE1A85EC53)
            hb[i] = x ^ (x >> np.uint64(33))
        if bits:
            for i in range(hb.size):
                hist[np.int64(hb[i] >> shift)] += 1
        else:
            hist[0] += hb.size
    pos = np.empty(hist.size, np.int64)
    total = 0
    for b in range(hist.size):
        pos[b] = total
        total += hist[b]
    for i in range(n):
        x = h[i]
        b = np.int64(x >> shift) if bits else 0
        packed[pos[b]] = (x << np.uint64(32)) | np.uint64(row0 + i)
        pos[b] += 1


@njit(cache=True, parallel=True)
def repeated(packed: np.ndarray, seg_start: np.ndarray, hist: np.ndarray,
             mark: np.ndarray) -> None:  # pragma: no cover - compiled
    """Mark (``mark[row] = True``) every row whose hash (bucket and low 32 bits) occurs
    more than once.  Bucket ``b`` is the segments ``packed[seg_start[k, b]:][:hist[k,
    b]]`` of every piece ``k``; its open-addressing table holds the packed words
    themselves (no row number is 0xFFFFFFFF, so the all-ones word marks an empty
    slot)."""
    low = np.uint64(0xFFFFFFFF)
    empty = np.uint64(0xFFFFFFFFFFFFFFFF)
    n_pieces, n_buckets = hist.shape
    n_groups = min(n_buckets, GROUPS)
    for g in prange(n_groups):
        # one table per group of buckets, reused: a fresh allocation per bucket (some
        # hundred KiB) would be memory new to the process each time
        table = np.empty(16, np.uint64)
        for b in range(g, n_buckets, n_groups):
            rows = 0
            for k in range(n_pieces):
                rows += hist[k, b]
            size = 16
            while size < 2 * rows:
                size *= 2
            if table.size < size:
                table = np.empty(size, np.uint64)
            table[:size] = empty
            for k in range(n_pieces):
                first = seg_start[k, b]
                for j in range(first, first + hist[k, b]):
                    w = packed[j]
                    x = w >> np.uint64(32)
                    s = np.int64(x) & (size - 1)
                    while True:
                        t = table[s]
                        if t == empty:
                            table[s] = w
                            break
                        if t >> np.uint64(32) == x:
                            mark[np.int64(t & low)] = True
                            mark[np.int64(w & low)] = True
                            break
                        s = (s + 1) & (size - 1)
