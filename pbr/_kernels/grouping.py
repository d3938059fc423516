"""Build the offender-grouped (CSR) event layout with a radix-partitioned hash join.

Why: joining each event to its offender's index date is the whole cost of a
reoffending measure (docs/performance.md).  A global hash table of 5M
offenders misses the cache on every probe; partitioning both sides by the top bits of
a multiplicative hash first makes every partition's table fit in L1/L2.  Only the
join keys (id, offence day, disposal day) are scattered into partition order; the
probe gives each kept event its final position, and the other columns are then copied
once, straight from the input order, to that position.

Layout produced, in cohort order::

    offsets[n+1]    events of cohort row r are offsets[r]:offsets[r+1]
    ev_*[K]         event columns, grouped by slot, each group sorted by
                    (offence day, disposal day, court key, input position)

Determinism: the event table is cut into a fixed number of chunks (not one per
thread), so the layout is byte-identical whatever the thread count.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

MULT = np.uint64(0x9E3779B97F4A7C15)
MULT2 = np.uint64(0xC2B2AE3D27D4EB4F)
NCHUNK = 64
NO_PART = np.uint16(0xFFFF)
LOW32 = np.int64(0xFFFFFFFF)


@njit(cache=True, inline="always")
def _hash(key: int) -> np.uint64:
    return np.uint64(key) * MULT


@njit(cache=True)
def total(a):
    """Sum of a 1-d array, in a serial loop.

    For the parallel kernels: an array expression there (``a.sum()``, ``np.zeros``,
    ``np.arange``) becomes a parallel loop of its own, and under
    :class:`pbr._kernels.dynamic` each of its iterations would be handed out alone
    (``np.zeros`` of a million elements then costs a quarter of a second).
    """
    s = 0
    for i in range(a.size):
        s += a[i]
    return s


@njit(cache=True)
def chunk_starts(hist):
    """Exclusive prefix sums of a (chunk, partition) histogram in partition-major order:
    ``(start, part_off, total)``; chunk ``c``'s rows of partition ``p`` go to
    ``start[c, p]`` onwards, and partition ``p`` spans ``part_off[p]:part_off[p + 1]``."""
    nchunk, P = hist.shape
    start = np.empty((nchunk, P), np.int64)
    part_off = np.zeros(P + 1, np.int64)
    s = 0
    for p in range(P):
        part_off[p] = s
        for c in range(nchunk):
            start[c, p] = s
            s += hist[c, p]
    part_off[P] = s
    return start, part_off, s


@njit(cache=True, parallel=True)
def cohort_histogram(ids, pbits, nchunk, part):
    """Hash partition of each cohort row (top ``pbits`` bits, written to ``part``,
    uint16) and counts per fixed chunk."""
    n = ids.size
    P = 1 << pbits
    shift = np.uint64(64 - pbits)
    hist = np.empty((nchunk, P), np.int64)
    step = (n + nchunk - 1) // nchunk
    for c in prange(nchunk):
        for q in range(P):
            hist[c, q] = 0
        for i in range(c * step, min(n, c * step + step)):
            p = _hash(ids[i]) >> shift  # unsigned: no wrap-around handling
            part[i] = np.uint16(p)
            hist[c, p] += 1
    return hist


@njit(cache=True, parallel=True)
def partition_cohort(ids, idx, pbits, nchunk, slot_to_row, part, rows, crec):
    """Stable counting sort of cohort rows by hash partition, in fixed chunks, into one
    record per slot (one write stream per partition; the probe reads one record per
    hit).

    The caller allocates the outputs (numpy's allocator asks the kernel for huge pages,
    which makes the first touch of a large array several times cheaper than Numba's):
    ``part`` (uint16, n), ``rows`` (int64, or uint32 below 2**32 rows, n) and ``crec``
    (int64, n x width).

    Returns ``part_off``: partition ``p`` holds slots ``part_off[p]:part_off[p + 1]``
    and slot ``j`` has the record ``crec[j]``, a row of ``width`` int64 words: the id,
    the index day, then ``width - 2`` zeroed words (room for per-offender accumulators;
    with ``width == 4`` the index day takes the low 32 bits of its word only, as
    :mod:`pbr._kernels.onepass` packs it).  ``rows`` maps slots to cohort rows
    (``rows[j]`` is the row of slot ``j``) when ``slot_to_row``, else cohort rows to
    slots (row ``i`` is slot ``rows[i]``).
    """
    n = ids.size
    width = crec.shape[1]
    hist = cohort_histogram(ids, pbits, nchunk, part)
    step = (n + nchunk - 1) // nchunk
    start, part_off, _ = chunk_starts(hist)
    for c in prange(nchunk):
        cur = start[c].copy()
        for i in range(c * step, min(n, c * step + step)):
            p = part[i]
            d = np.uint64(cur[p])  # unsigned: no wrap-around handling per access
            cur[p] = d + np.uint64(1)
            if slot_to_row:
                rows[d] = i
            else:
                rows[i] = d
            crec[d, 0] = ids[i]
            if width == 2:
                crec[d, 1] = idx[i]
            else:
                crec[d, 1] = np.int64(idx[i]) & 0xFFFFFFFF
                for w in range(2, width):
                    crec[d, w] = 0
    return part_off


@njit(cache=True, parallel=True)
def event_histogram(ids, off, disp, lo, hi_off, hi_disp, pbits, nchunk, epart):
    """Partition id of each event into ``epart`` (uint16, allocated by the caller;
    NO_PART if outside the global window); returns the counts per (chunk, partition)."""
    m = ids.size
    P = 1 << pbits
    shift = np.uint64(64 - pbits)
    hist = np.empty((nchunk, P), np.int64)
    step = (m + nchunk - 1) // nchunk
    for c in prange(nchunk):
        for q in range(P):
            hist[c, q] = 0
        a = c * step
        b = min(m, a + step)
        for i in range(a, b):
            o = off[i]
            if o >= lo and o <= hi_off and disp[i] <= hi_disp:
                p = _hash(ids[i]) >> shift  # unsigned: no wrap-around handling
                epart[i] = np.uint16(p)
                hist[c, p] += 1
            else:
                epart[i] = NO_PART
    return hist


@njit(cache=True, parallel=True)
def event_scatter(epart, start, ids, off, disp, b_key, b_off, b_disp):
    """Scatter the join keys of kept events (id, offence day, disposal day) into
    partition order (``b_key``, ``b_off``, ``b_disp``, allocated by the caller), stable
    within a partition: chunk ``c``'s events of partition ``p`` fill ``start[c, p]``
    onwards (:func:`chunk_starts`)."""
    m = ids.size
    nchunk = start.shape[0]
    step = (m + nchunk - 1) // nchunk
    for c in prange(nchunk):
        cur = start[c].copy()
        for i in range(c * step, min(m, c * step + step)):
            p = epart[i]
            if p == NO_PART:
                continue
            d = np.uint64(cur[p])  # unsigned: no wrap-around handling per access
            cur[p] = d + np.uint64(1)
            b_key[d] = ids[i]
            b_off[d] = off[i]
            b_disp[d] = disp[i]


@njit(cache=True, inline="always")
def build_slot_table(crec, c0, nc):
    """Open-addressing (linear probing, load factor at most 1/2) table over the cohort
    records ``crec[c0:c0 + nc]`` of one partition (:func:`partition_cohort`: id in word
    0, index day in the low 32 bits of word 1): ``(tab, tshift, tmask, dup)``.

    An entry is two words, the offender id and ``(position << 32) | index day`` (-1
    empty), so that a lookup finds the offender and its index day in one cache line:
    the horizon test, which most looked-up events fail, needs nothing else (a table of
    positions into the records took a second, dependent read; 9% slower at 1M
    offenders).  ``dup`` says whether an id occurs twice (the first is then found)."""
    tbits = 1
    while (1 << tbits) < 2 * nc:
        tbits += 1
    tmask = (1 << tbits) - 1
    tshift = np.uint64(64 - tbits)
    tab = np.empty((1 << tbits, 2), np.int64)
    for h in range(1 << tbits):
        tab[h, 1] = -1
    dup = False
    for li in range(nc):
        k = crec[c0 + li, 0]
        h = (_hash(k) * MULT2) >> tshift  # unsigned: no wrap-around handling
        while tab[h, 1] != -1:
            if tab[h, 0] == k:
                dup = True
            h = (h + np.uint64(1)) & np.uint64(tmask)
        tab[h, 0] = k
        tab[h, 1] = (np.int64(li) << 32) | (crec[c0 + li, 1] & LOW32)
    return tab, tshift, tmask, dup


@njit(cache=True, inline="always")
def lookup_slot(tab, tshift, tmask, k):
    """``(position << 32) | index day`` of id ``k`` in :func:`build_slot_table`'s
    table, or -1."""
    h = (_hash(k) * MULT2) >> tshift  # unsigned: no wrap-around handling per access
    while True:
        v = tab[h, 1]
        if v == -1 or tab[h, 0] == k:
            return v
        h = (h + np.uint64(1)) & np.uint64(tmask)


@njit(cache=True, parallel=True)
def probe(c_part_off, crec, base, t_hi, t_hd, e_part_off, b_key, b_off, b_disp, local):
    """Local hash join per partition, pruning events outside each offender's horizon.

    ``crec`` holds the cohort records in partition order (:func:`partition_cohort`).
    The horizon of an offender with index day ``idx`` is offence days
    ``[idx, t_hi[idx - base]]`` and disposal days up to ``t_hd[idx - base]`` (index +
    follow-up, + waiting period; both inclusive, so that any spec within the horizon,
    with or without the index day, can be measured).

    Writes ``local[e]`` per buffered event (it may be ``b_off`` itself: each offence
    day is read before its slot is written): the offender's position within its
    partition, -2 if the offender is not in the cohort, -1 if outside the horizon.
    Returns the number of kept events per slot (partition order), the numbers of
    events not in the cohort and outside the horizon, and whether any cohort id occurs
    twice (the first occurrence is then the one found).
    """
    P = c_part_off.size - 1
    slot_count = np.empty(crec.shape[0], np.int64)
    not_in = np.empty(P, np.int64)
    outside = np.empty(P, np.int64)
    dup = np.empty(P, np.bool_)
    for p in prange(P):
        c0 = c_part_off[p]
        for j in range(c0, c_part_off[p + 1]):
            slot_count[j] = 0
        tab, tshift, tmask, dup[p] = build_slot_table(crec, c0, c_part_off[p + 1] - c0)
        n_not_in = 0
        n_outside = 0
        for e in range(e_part_off[p], e_part_off[p + 1]):
            v = lookup_slot(tab, tshift, tmask, b_key[e])
            if v < 0:
                local[e] = -2
                n_not_in += 1
                continue
            found = v >> 32
            idx = np.int32(v & LOW32)
            o = b_off[e]
            t = np.uint64(idx - base)  # unsigned: no wrap-around handling per access
            if o < idx or o > t_hi[t] or b_disp[e] > t_hd[t]:
                local[e] = -1
                n_outside += 1
                continue
            local[e] = found
            slot_count[np.uint64(c0 + found)] += 1
        not_in[p] = n_not_in
        outside[p] = n_outside
    return slot_count, total(not_in), total(outside), total(dup) > 0


@njit(cache=True, parallel=True)
def csr_offsets(order, slot_count, nchunk):
    """Offsets per cohort row (``offsets[n + 1]``, a blocked prefix sum over fixed
    chunks); ``slot_count`` is overwritten with each slot's first position."""
    n = order.size
    offsets = np.empty(n + 1, np.int64)
    for j in prange(n):
        offsets[order[j]] = slot_count[j]
    step = (n + nchunk - 1) // nchunk
    sums = np.empty(nchunk + 1, np.int64)
    sums[0] = 0
    for c in prange(nchunk):
        acc = 0
        for r in range(c * step, min(n, c * step + step)):
            acc += offsets[r]
        sums[c + 1] = acc
    for c in range(nchunk):
        sums[c + 1] += sums[c]
    for c in prange(nchunk):
        acc = sums[c]
        for r in range(c * step, min(n, c * step + step)):
            v = offsets[r]
            offsets[r] = acc
            acc += v
    offsets[n] = sums[nchunk]
    for j in prange(n):  # slot_count is spent: it becomes each slot's first position
        slot_count[j] = offsets[order[j]]
    return offsets


@njit(cache=True, parallel=True)
def assign_dest(c_part_off, slot_start, e_part_off, local):
    """Turn each kept buffered event's partition-local slot into its position in the
    grouped layout (in place; buffered order within an offender)."""
    P = c_part_off.size - 1
    for p in prange(P):
        c0 = c_part_off[p]
        cursor = slot_start[c0:c_part_off[p + 1]].copy()
        for e in range(e_part_off[p], e_part_off[p + 1]):
            li = local[e]
            if li < 0:
                continue
            d = cursor[li]
            cursor[li] = d + 1
            local[e] = d


@njit(cache=True, inline="always")
def _less(off, disp, court, pos, a, b, has_court):
    if off[a] != off[b]:
        return off[a] < off[b]
    if disp[a] != disp[b]:
        return disp[a] < disp[b]
    if has_court and court[a] != court[b]:
        return court[a] < court[b]
    return pos[a] < pos[b]


@njit(cache=True, parallel=True)
def fill_records(epart, start, dest, window_pos, e_off, e_disp, e_typ, e_code, e_cat,
                 e_court, has_cat, has_court, recs):
    """The grouped events as records: each kept event (input order, fixed chunks as in
    :func:`event_scatter`) is written to row ``dest`` of ``recs`` (int64, allocated by
    the caller, ``3 + has_cat + has_court`` words): offence day (low 32 bits) and
    disposal day (high 32 bits); type (low) and code (high); its row in the validated
    events (``window_pos``); then its category and court id.

    The positions are random, so one record per event (one cache line touched) is much
    cheaper than one write per column; :func:`split_records` then writes the columns
    in order."""
    m = epart.size
    nchunk = start.shape[0]
    step = (m + nchunk - 1) // nchunk
    cw = recs.shape[1] - 1
    for c in prange(nchunk):
        cur = start[c].copy()
        for i in range(c * step, min(m, c * step + step)):
            p = epart[i]
            if p == NO_PART:
                continue
            b = np.uint64(cur[p])  # unsigned indices: no wrap-around handling
            cur[p] = b + np.uint64(1)
            sd = dest[b]
            if sd < 0:
                continue
            d = np.uint64(sd)
            recs[d, 0] = (np.int64(e_off[i]) & LOW32) | (np.int64(e_disp[i]) << 32)
            recs[d, 1] = np.int64(e_typ[i]) | (np.int64(e_code[i]) << 32)
            recs[d, 2] = window_pos[i]
            if has_cat:
                recs[d, 3] = e_cat[i]
            if has_court:
                recs[d, cw] = e_court[i]


@njit(cache=True, parallel=True)
def split_records(recs, has_cat, has_court, off, disp, typ, code, cat, court, pos):
    """:func:`fill_records`' records as the grouped columns (sequential, in parallel)."""
    cw = recs.shape[1] - 1
    for d in prange(recs.shape[0]):
        w = recs[d, 0]
        off[d] = np.int32(w & LOW32)
        disp[d] = np.int32(w >> 32)
        w = recs[d, 1]
        typ[d] = np.uint32(w & LOW32)
        code[d] = np.uint32(w >> 32)
        pos[d] = recs[d, 2]
        if has_cat:
            cat[d] = np.uint32(recs[d, 3])
        if has_court:
            court[d] = recs[d, cw]


@njit(cache=True, parallel=True)
def sort_groups(offsets, off, disp, typ, code, cat, court, pos, has_cat, has_court):
    """Sort each offender's events by (offence day, disposal day, court key, position):
    an insertion sort (few events per offender), skipped where already in order."""
    n = offsets.size - 1
    for r in prange(n):
        a = offsets[r]
        b = offsets[r + 1]
        ordered = True
        for i in range(a + 1, b):
            if _less(off, disp, court, pos, i, i - 1, has_court):
                ordered = False
                break
        if ordered:
            continue
        for i in range(a + 1, b):
            k = i
            while k > a and _less(off, disp, court, pos, k, k - 1, has_court):
                off[k], off[k - 1] = off[k - 1], off[k]
                disp[k], disp[k - 1] = disp[k - 1], disp[k]
                typ[k], typ[k - 1] = typ[k - 1], typ[k]
                code[k], code[k - 1] = code[k - 1], code[k]
                if has_cat:
                    cat[k], cat[k - 1] = cat[k - 1], cat[k]
                if has_court:
                    court[k], court[k - 1] = court[k - 1], court[k]
                pos[k], pos[k - 1] = pos[k - 1], pos[k]
                k -= 1


#: largest dense (type, code, category) key space numbered with a lookup table; beyond
#: it :func:`pbr._engine.layout.attribute_ids` numbers the keys with ``np.unique``
MAX_DENSE_ATTRIBUTES = 1 << 22


@njit(cache=True, inline="always")
def _attribute_key(typ, code, cat, has_cat, n_code, n_cat, k):
    g = np.int64(cat[k]) if has_cat else np.int64(0)
    return (np.int64(typ[k]) * n_code + np.int64(code[k])) * n_cat + g


@njit(cache=True, parallel=True)
def mark_attributes(typ, code, cat, has_cat, n_code, n_cat, seen):
    """``seen[key] = 1`` for every event's (type, code, category) key (``seen`` arrives
    zeroed; threads that meet the same key write the same byte)."""
    for k in prange(typ.size):
        seen[_attribute_key(typ, code, cat, has_cat, n_code, n_cat, k)] = 1


@njit(cache=True)
def number_attributes(seen, n_code, n_cat):
    """Number the keys present in ``seen`` in key order: ``(ids, table)`` where
    ``ids[key]`` is the attribute id (-1 if absent) and ``table[a]`` the (type, code,
    category) of attribute ``a``."""
    ids = np.empty(seen.size, np.int32)
    n = 0
    for key in range(seen.size):
        if seen[key]:
            ids[key] = n
            n += 1
        else:
            ids[key] = -1
    table = np.empty((n, 3), np.int64)
    for key in range(seen.size):
        a = ids[key]
        if a >= 0:
            table[a, 0] = key // (n_code * n_cat)
            table[a, 1] = (key // n_cat) % n_code
            table[a, 2] = key % n_cat
    return ids, table


@njit(cache=True, parallel=True)
def map_attributes(typ, code, cat, has_cat, n_code, n_cat, ids, out):
    """Each event's attribute id (``out``, uint32, allocated by the caller)."""
    for k in prange(typ.size):
        out[k] = np.uint32(ids[_attribute_key(typ, code, cat, has_cat, n_code, n_cat, k)])
