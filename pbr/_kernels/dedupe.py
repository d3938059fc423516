"""Rows that may repeat an earlier row exactly (rule D1): the searches behind
:func:`pbr.data._duplicate_rows`.

The radix search takes rows in any order.  One 64-bit hash per row is folded from the
columns' physical values (integers, day numbers, categorical codes, or a polars hash of
any other column), piece by piece so that a piece's hashes stay in cache while every
column is folded in; each piece also counts its hashes per radix bucket (the top bits).
The hashes are then scattered by bucket, each piece into its own ranges, and every
bucket (a few thousand rows, in cache) finds its repeated hashes in a small
open-addressing table.

The run search takes rows in the order of one column (``key``: its values never
decrease, or never increase, as in an extract sorted by date or by person).  Equal
rows are then in one run of equal ``key`` values, and each run is searched on its own,
in cache: a filter on a second column first (rows that share no value of it with
another row of the run cannot repeat one), then the full hash of the rows left.

Equal rows have equal hashes, so every row that repeats another is marked; a marked
row may also be a hash collision, which the caller's exact comparison settles.  No
result depends on the number of threads: the pieces and buckets write disjoint
outputs.
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


# ------------------------------------------------------------------ rows in key order
#: the longest run of equal key values the run search takes (its filter stays in the
#: L2 cache); a longer run sends the whole table to the radix search
MAX_RUN = (1 << 16) - 1
#: filter slots per row of a run (a row is a candidate when another row of its run
#: takes its slot: about one row in 2 * FILTER_SLOTS by chance)
FILTER_SLOTS = 8
#: runs of at most this many candidates compare every pair of hashes, without a table
PAIRWISE = 8


@njit(cache=True, nogil=True)
def filter_slots(rows: int) -> int:  # pragma: no cover - compiled
    """The filter slots of a run of ``rows`` rows: a power of two, at least 16 and at
    least :data:`FILTER_SLOTS` a row (the buffer holds one word more: the count of
    runs, see :func:`_search_run`)."""
    size = 16
    while size < FILTER_SLOTS * rows:
        size *= 2
    return size


@njit(cache=True, nogil=True)
def order(a: np.ndarray) -> tuple[bool, bool, int]:  # pragma: no cover - compiled
    """Whether ``a`` never decreases, whether it never increases, and its number of
    runs of equal values."""
    ups = downs = 0
    for i in range(1, a.size):
        ups += a[i] > a[i - 1]
        downs += a[i] < a[i - 1]
    return downs == 0, ups == 0, (ups + downs + 1) if a.size else 0


@njit(cache=True, nogil=True)
def _run_end(key: np.ndarray, i: int, stop: int) -> int:  # pragma: no cover - compiled
    """The end of the run of ``key[i]`` (ordered ``key``): the first row from ``i`` to
    ``stop`` with another value, or ``stop``; by doubling steps, then halving."""
    x = key[i]
    step = 1
    lo = i  # key[lo] == x
    while lo + step < stop and key[lo + step] == x:
        lo += step
        step *= 2
    hi = min(lo + step, stop)  # key[hi] != x, or hi == stop
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if key[mid] == x:
            lo = mid
        else:
            hi = mid
    return hi


@njit(cache=True, nogil=True)
def _run_start(key: np.ndarray, j: int) -> int:  # pragma: no cover - compiled
    """The start of the run of ``key[j]`` (ordered ``key``)."""
    x = key[j]
    step = 1
    hi = j  # key[hi] == x
    while hi - step >= 0 and key[hi - step] == x:
        hi -= step
        step *= 2
    lo = max(hi - step, -1)  # key[lo] != x, or lo == -1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if key[mid] == x:
            hi = mid
        else:
            lo = mid
    return hi


@njit(cache=True, nogil=True)
def _row_hash(cols: tuple, p: int) -> np.uint64:  # type: ignore[type-arg]  # pragma: no cover
    """Row ``p``'s hash of every column (the fold of :func:`hash_rows`, one row)."""
    x = np.uint64(0)
    for col in literal_unroll(cols):
        x = (x ^ np.uint64(np.int64(col[p]))) * _K
        x ^= x >> np.uint64(29)
    x ^= x >> np.uint64(33)
    x *= np.uint64(0xFF51AFD7ED558CCD)
    x ^= x >> np.uint64(33)
    x *= np.uint64(0xC4CEB9FE1A85EC53)
    return x ^ (x >> np.uint64(33))


@njit(cache=True, nogil=True)
def _search_run(cols: tuple, sub: np.ndarray, i: int, j: int,  # type: ignore[type-arg]
                slots: np.ndarray, flag: np.ndarray, cand: np.ndarray, ch: np.ndarray,
                table: np.ndarray, out: np.ndarray, count: int) -> int:  # pragma: no cover
    """Rows ``i`` to ``j`` (one run): append to ``out`` (from ``count``, in no order)
    every row whose hash of every column is shared with another row of the run;
    returns the new count.

    A filter first: each row takes the slot that its ``sub`` value hashes to, among
    about :data:`FILTER_SLOTS` slots a row, and a row that finds the slot taken is a
    candidate, with the row there (``flag`` marks them; all False on entry and on
    return): so is every row that shares its ``sub`` value with another.  Only the
    candidates (``cand``) are hashed in full and compared, pairwise or in ``table``.
    ``slots[0]`` counts the runs searched with ``slots`` (zeros at first), and a slot
    holds that count above the row of the run (plus one) that took it, so that no
    slot is cleared between runs."""
    m = j - i
    size = filter_slots(m)
    lg = 4
    while (1 << lg) < size:
        lg += 1
    shift = np.uint64(64 - lg)  # the top lg bits of a hash pick the slot
    run = (slots[0] + 1) & 0xFFFF
    if run == 0:  # the count wraps: every slot cleared (once in 65,535 runs)
        slots[:] = 0
        run = 1
    slots[0] = run
    table_slots = slots[1:size + 1]
    taken = np.uint32(run << 16)
    c = 0
    for p in range(m):
        s = np.int64((np.uint64(np.int64(sub[i + p])) * _K) >> shift)
        t = table_slots[s]
        table_slots[s] = taken | np.uint32(p + 1)
        if t >> 16 == run:  # taken by row q of this run: both are candidates
            q = np.int64(t & 0xFFFF) - 1
            if not flag[q]:
                flag[q] = True
                cand[c] = i + q
                c += 1
            flag[p] = True
            cand[c] = i + p
            c += 1
    for a in range(c):
        flag[cand[a] - i] = False
        ch[a] = _row_hash(cols, cand[a])
    # from here on flag[a]: whether candidate a repeats another
    if c < 2:
        return count
    if c <= PAIRWISE:
        for a in range(c):
            for b in range(a + 1, c):
                if ch[a] == ch[b]:
                    flag[a] = True
                    flag[b] = True
    else:
        size = 16
        while size < 2 * c:
            size *= 2
        mask = size - 1
        table[:size] = -1
        for a in range(c):
            x = ch[a]
            s = np.int64(x) & mask
            while True:
                t = table[s]
                if t < 0:
                    table[s] = a
                    break
                if ch[t] == x:
                    flag[t] = True
                    flag[a] = True
                    break
                s = (s + 1) & mask
    for a in range(c):
        if flag[a]:
            out[count] = cand[a]
            count += 1
            flag[a] = False
    return count


@njit(cache=True, nogil=True)
def run_repeats(cols: tuple, key: np.ndarray, sub: np.ndarray,  # type: ignore[type-arg]
                head_done: bool, tail_done: bool, slots: np.ndarray, flag: np.ndarray,
                cand: np.ndarray, ch: np.ndarray, table: np.ndarray,
                out: np.ndarray) -> tuple[bool, bool, bool, int, int, int]:  # pragma: no cover
    """One piece of rows (``cols``) in the order of ``key`` (one of them): the rows
    whose hash of every column is shared with another row of their run of equal
    ``key`` values (:func:`_search_run`, filtered by ``sub``), into ``out`` (in no
    order; ``flag`` all False on entry, and so on return).  Equal rows
    are equal in ``key``: where ``key`` never decreases (or never increases) they are
    in one run, and every row that repeats another is among those found.

    The first run is searched only with ``head_done`` (it does not go on from the
    piece before), the last only with ``tail_done``.  Returns whether ``key`` never
    decreases, whether it never increases (nothing is searched unless one holds),
    whether every run searched has at most :data:`MAX_RUN` rows (the search stops at
    a longer one), where the first run ends, where the last begins, and the number of
    rows written to ``out``."""
    n = key.size
    if n == 0:
        return True, True, True, 0, 0, 0
    up, down, _ = order(key)
    if not (up or down):
        return False, False, True, 0, 0, 0
    head_end = _run_end(key, 0, n)
    tail_start = _run_start(key, n - 1)
    a = 0 if head_done else head_end
    b = n if tail_done else tail_start
    count = 0
    i = a
    while i < b:
        j = _run_end(key, i, b)
        if j - i > MAX_RUN:
            return up, down, False, head_end, tail_start, count
        if j - i > 1:
            count = _search_run(cols, sub, i, j, slots, flag, cand, ch, table, out, count)
        i = j
    return up, down, True, head_end, tail_start, count
