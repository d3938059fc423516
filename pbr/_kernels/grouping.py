"""Build the offender-grouped (CSR) event layout with a radix-partitioned hash join.

Why: joining each event to its offender's index date is the whole cost of a
reoffending measure (reference/performance-anchors.md).  A global hash table of 5M
offenders misses the cache on every probe; partitioning both sides by the top bits of
a multiplicative hash first makes every partition's table fit in L1/L2, and the
partitioned events can then be grouped by offender with a local counting sort.

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

from pbr._kernels.calendar import add_period

MULT = np.uint64(0x9E3779B97F4A7C15)
MULT2 = np.uint64(0xC2B2AE3D27D4EB4F)
NCHUNK = 64
NO_PART = np.uint16(0xFFFF)


@njit(cache=True, inline="always")
def _hash(key: int) -> np.uint64:
    return np.uint64(key) * MULT


@njit(cache=True)
def partition_cohort(ids, pbits):
    """Counting sort of cohort rows by hash partition. Returns (part_off, order)."""
    n = ids.size
    P = 1 << pbits
    shift = np.uint64(64 - pbits)
    part = np.empty(n, np.int32)
    counts = np.zeros(P + 1, np.int64)
    for i in range(n):
        p = np.int32(_hash(ids[i]) >> shift)
        part[i] = p
        counts[p + 1] += 1
    for p in range(P):
        counts[p + 1] += counts[p]
    cur = counts[:P].copy()
    order = np.empty(n, np.int64)
    for i in range(n):
        p = part[i]
        order[cur[p]] = i
        cur[p] += 1
    return counts, order


@njit(cache=True, parallel=True)
def gather_by_order(order, ids, idx):
    """Cohort ids and index days in partition order (contiguous reads in the probe)."""
    n = order.size
    k = np.empty(n, np.int64)
    d = np.empty(n, np.int32)
    for j in prange(n):
        r = order[j]
        k[j] = ids[r]
        d[j] = idx[r]
    return k, d


@njit(cache=True, parallel=True)
def event_histogram(ids, off, disp, lo, hi_off, hi_disp, pbits, nchunk):
    """Partition id of each event (NO_PART if outside the global window) and counts."""
    m = ids.size
    P = 1 << pbits
    shift = np.uint64(64 - pbits)
    epart = np.empty(m, np.uint16)
    hist = np.zeros((nchunk, P), np.int64)
    step = (m + nchunk - 1) // nchunk
    for c in prange(nchunk):
        a = c * step
        b = min(m, a + step)
        for i in range(a, b):
            o = off[i]
            if o >= lo and o <= hi_off and disp[i] <= hi_disp:
                p = np.int64(_hash(ids[i]) >> shift)
                epart[i] = np.uint16(p)
                hist[c, p] += 1
            else:
                epart[i] = NO_PART
    return epart, hist


@njit(cache=True, parallel=True)
def event_scatter(epart, hist, ids, off, disp, typ, code, cat, court, has_cat, has_court,
                  nchunk):
    """Scatter kept events into partition order (stable within a partition)."""
    m = ids.size
    P = hist.shape[1]
    start = np.empty((nchunk, P), np.int64)
    part_off = np.zeros(P + 1, np.int64)
    s = 0
    for p in range(P):
        part_off[p] = s
        for c in range(nchunk):
            start[c, p] = s
            s += hist[c, p]
    part_off[P] = s
    b_key = np.empty(s, np.int64)
    b_pos = np.empty(s, np.int64)
    b_off = np.empty(s, np.int32)
    b_disp = np.empty(s, np.int32)
    b_typ = np.empty(s, np.uint32)
    b_code = np.empty(s, np.uint32)
    b_cat = np.empty(s if has_cat else 0, np.uint32)
    b_court = np.empty(s if has_court else 0, np.int64)
    step = (m + nchunk - 1) // nchunk
    for c in prange(nchunk):
        cur = start[c].copy()
        a = c * step
        b = min(m, a + step)
        for i in range(a, b):
            p = epart[i]
            if p == NO_PART:
                continue
            d = cur[p]
            cur[p] = d + 1
            b_key[d] = ids[i]
            b_pos[d] = i
            b_off[d] = off[i]
            b_disp[d] = disp[i]
            b_typ[d] = typ[i]
            b_code[d] = code[i]
            if has_cat:
                b_cat[d] = cat[i]
            if has_court:
                b_court[d] = court[i]
    return part_off, b_key, b_pos, b_off, b_disp, b_typ, b_code, b_cat, b_court


@njit(cache=True, parallel=True)
def probe(c_part_off, c_order, c_ids, c_idx, fu_months, fu_days, w_months, w_days, ms,
          e_part_off, b_key, b_off, b_disp):
    """Local hash join per partition, pruning events outside each offender's horizon.

    ``c_ids`` and ``c_idx`` are in partition order (:func:`gather_by_order`), so each
    partition reads them contiguously; ``c_order`` maps partition slots to cohort rows.

    The horizon of an offender is offence days ``[index, index + follow_up]`` and
    disposal days up to ``index + follow_up + waiting_period`` (both inclusive, so that
    any spec within the horizon, with or without the index day, can be measured).

    Returns per buffered event the slot (position in partition order) of its offender,
    -2 if the offender is not in the cohort or -1 if outside the horizon, and per
    cohort row the number of kept events.
    """
    P = c_part_off.size - 1
    s = b_key.size
    slot_of = np.empty(s, np.int64)
    row_count = np.zeros(c_order.size, np.int64)
    for p in prange(P):
        c0 = c_part_off[p]
        nc = c_part_off[p + 1] - c0
        tbits = 1
        while (1 << tbits) < 2 * nc:
            tbits += 1
        tsize = 1 << tbits
        tmask = tsize - 1
        tshift = np.uint64(64 - tbits)
        table = np.full(tsize, -1, np.int32)
        keys = np.empty(nc, np.int64)
        lo = np.empty(nc, np.int32)
        hi = np.empty(nc, np.int32)
        hd = np.empty(nc, np.int32)
        count = np.zeros(nc, np.int64)
        for li in range(nc):
            k = c_ids[c0 + li]
            keys[li] = k
            idx = c_idx[c0 + li]
            lo[li] = idx
            end = add_period(idx, fu_months, fu_days, ms)
            hi[li] = end
            hd[li] = add_period(end, w_months, w_days, ms)
            h = np.int64((_hash(k) * MULT2) >> tshift)
            while table[h] != -1:
                h = (h + 1) & tmask
            table[h] = np.int32(li)
        for e in range(e_part_off[p], e_part_off[p + 1]):
            k = b_key[e]
            h = np.int64((_hash(k) * MULT2) >> tshift)
            found = -1
            while True:
                li = table[h]
                if li == -1:
                    break
                if keys[li] == k:
                    found = li
                    break
                h = (h + 1) & tmask
            if found < 0:
                slot_of[e] = -2
                continue
            o = b_off[e]
            if o < lo[found] or o > hi[found] or b_disp[e] > hd[found]:
                slot_of[e] = -1
                continue
            slot_of[e] = c0 + found
            count[found] += 1
        for li in range(nc):
            row_count[c_order[c0 + li]] = count[li]
    return slot_of, row_count


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
def fill_csr(c_part_off, c_order, e_part_off, slot_of, row_count, b_pos, b_off, b_disp, b_typ,
             b_code, b_cat, b_court, has_cat, has_court):
    """Offsets per cohort row and the grouped event columns, in cohort order, each
    offender's events sorted by (offence day, disposal day, court key, position)."""
    P = c_part_off.size - 1
    n = row_count.size
    offsets = np.empty(n + 1, np.int64)
    acc = 0
    for r in range(n):
        offsets[r] = acc
        acc += row_count[r]
    offsets[n] = acc
    K = acc
    off = np.empty(K, np.int32)
    disp = np.empty(K, np.int32)
    typ = np.empty(K, np.uint32)
    code = np.empty(K, np.uint32)
    cat = np.empty(K if has_cat else 0, np.uint32)
    court = np.empty(K if has_court else 0, np.int64)
    pos = np.empty(K, np.int64)
    for p in prange(P):
        c0 = c_part_off[p]
        c1 = c_part_off[p + 1]
        cursor = np.empty(c1 - c0, np.int64)
        for li in range(c1 - c0):
            cursor[li] = offsets[c_order[c0 + li]]
        for e in range(e_part_off[p], e_part_off[p + 1]):
            j = slot_of[e]
            if j < 0:
                continue
            d = cursor[j - c0]
            cursor[j - c0] = d + 1
            off[d] = b_off[e]
            disp[d] = b_disp[e]
            typ[d] = b_typ[e]
            code[d] = b_code[e]
            if has_cat:
                cat[d] = b_cat[e]
            if has_court:
                court[d] = b_court[e]
            pos[d] = b_pos[e]
        # insertion sort of each offender's events (few per offender)
        for li in range(c1 - c0):
            r = c_order[c0 + li]
            a = offsets[r]
            b = offsets[r + 1]
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
    return offsets, off, disp, typ, code, cat, court, pos


@njit(cache=True)
def count_outcomes(slot_of):
    """Numbers of buffered events not in the cohort (-2) and outside the horizon (-1)."""
    not_in = 0
    outside = 0
    for e in range(slot_of.size):
        v = slot_of[e]
        if v == -2:
            not_in += 1
        elif v == -1:
            outside += 1
    return not_in, outside
