"""One-call measures straight from the event columns: the hash join fused with the measure.

``pbr.measure(cohort, events, spec)`` evaluates one spec once.  For that it does not
need the offender-grouped layout of :mod:`pbr._kernels.grouping` (which pays for a
per-column copy of every kept event into cohort order, then a sort): the measure is a
set of per-offender reductions (count, exact severity sum, any serious, first day,
unmapped count), so each event can be folded into its offender's accumulators the
moment the join finds the offender.

Steps (each piece and partition writes only its own ranges, and every output is an
order-independent reduction, so the result does not depend on the thread count):

1. :func:`pbr._kernels.grouping.partition_cohort` (one (id, index day) record per
   slot, and each cohort row's slot), and
   :func:`piece_histogram` over the event columns' pieces (zero-copy views of the
   frame's chunks, run on several threads): events inside the global window per hash
   partition, as for ``prepare``;
2. :func:`piece_scatter` moves each event inside the global window into its hash
   partition as one packed record: join keys (id, offence day, disposal day), the
   attribute (the offence code when the event's type, code and category pass the
   spec's filters P1/F1, else ``NOT_OK``) and, for the court-event unit with a
   ``court_event_id``, the court key;
3. :func:`probe_measure` builds each partition's hash table (cache-sized), finds each
   event's offender, classifies the event exactly as ``prepare`` does for the event
   ledger (not in the cohort / outside the offender's horizon / kept) and folds every
   qualifying event (rules W1-W3, A1-A2 of :mod:`pbr._kernels.reoffending`) into the
   partition's accumulators, which are written to cohort order at the end.

Counting unit C1 (court events): distinct court keys per offender are kept on a short
per-offender chain of the partition's counted events.  Severity is an exact integer
sum (weights times ``MeasureSpec.severity_scale``), so it does not depend on the order
in which events arrive; every output equals the grouped kernel's.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from pbr._kernels.grouping import _hash, build_slot_table, lookup_slot, total
from pbr._kernels.prefetch import prefetch

NOT_OK = np.uint32(0xFFFFFFFF)
#: events whose hash lookups :func:`probe_measure` does together
BATCH = 16
ST_NOT_MEASURABLE = 1


@njit(cache=True, inline="always")
def _unpack(rec, e, wide):
    """(offence day, disposal day, attribute) of record ``e`` (see :func:`piece_scatter`)."""
    w = rec[e, 1]
    o = np.int32(np.int64(w >> np.uint64(32)) - 2**31)
    if wide:
        return o, o + np.int32(w & np.uint64(0xFFFFFFFF)), np.uint32(rec[e, 2])
    a = np.uint32(w & np.uint64(0xFFFF))
    return o, o + np.int32((w >> np.uint64(16)) & np.uint64(0xFFFF)), (NOT_OK if a == 0xFFFF
                                                                      else a)


@njit(cache=True, nogil=True)
def piece_histogram(ids, off, disp, lo, hi_off, hi_disp, pbits, hist_row):
    """Count one piece's events inside the global window per hash partition (serial:
    pieces run on several threads).  A piece is a polars chunk or part of one.

    Returns whether any event of the piece, inside the window or not, has its disposal
    day before its offence day (the validation rule ``disposal_before_offence``, checked
    here on a pass that reads both days anyway)."""
    shift = np.uint64(64 - pbits)
    order_bad = False
    for i in range(ids.size):
        o = off[i]
        d = disp[i]
        order_bad |= d < o
        if o >= lo and o <= hi_off and d <= hi_disp:
            hist_row[_hash(ids[i]) >> shift] += 1  # unsigned: no wrap-around handling
    return order_bad


@njit(cache=True, nogil=True)
def piece_scatter(cur, ids, off, disp, typ, code, cat, court, lo, hi_off, hi_disp, pbits,
                  has_cat, with_court, wide, type_ok, code_ok, cat_ok, rec):
    """Write one piece's events inside the global window into partition order, as one
    record each; ``cur[p]`` is the piece's next position in partition ``p`` (advanced in
    place; the window test and the hash are recomputed rather than stored).

    A record is a row of ``rec`` (uint64), so that the scatter writes and the probe
    reads one stream per partition:

    * word 0: the offender id (its int64 bits);
    * word 1: offence day + 2**31 in the high 32 bits; then, packed (``wide`` False:
      fewer than 65,535 offence codes and a global window shorter than 65,535 days), the
      disposal lag (disposal - offence day, >= 0 after validation) in bits 16-31 and the
      attribute in bits 0-15 (0xFFFF for ``NOT_OK``); or (``wide``) the lag in bits
      0-31 and the attribute in word 2;
    * last word (``with_court``): the court event id.

    The attribute is the offence code of an event whose disposal type, code and
    category pass the filters, else ``NOT_OK``.
    """
    width = rec.shape[1]
    shift = np.uint64(64 - pbits)
    for i in range(ids.size):
        o = off[i]
        if o < lo or o > hi_off or disp[i] > hi_disp:
            continue
        # unsigned indices (p, d): Numba adds no wrap-around handling to the accesses
        p = _hash(ids[i]) >> shift
        d = np.uint64(cur[p])
        cur[p] = d + np.uint64(1)
        k = code[i]
        ok = type_ok[typ[i]] and code_ok[k]
        if has_cat and not cat_ok[cat[i]]:
            ok = False
        hi = np.uint64(np.int64(o) + 2**31) << np.uint64(32)
        lag = np.uint64(disp[i] - o)
        rec[d, 0] = np.uint64(ids[i])
        if wide:
            rec[d, 1] = hi | lag
            rec[d, 2] = np.uint64(k if ok else NOT_OK)
        else:
            rec[d, 1] = hi | (lag << np.uint64(16)) | np.uint64(k if ok else 0xFFFF)
        if with_court:
            rec[d, width - 1] = np.uint64(court[i])


# The cohort record of the one-pass measure (4 int64 words per partition slot, written
# by grouping.partition_cohort with width=4): the offender's accumulators live beside
# its id and index day, so that an event reads and updates one 32-byte record
C_ID = 0  # the offender id
C_IDX = 1  # index day in bits 0-31; 2 * unmapped + serious in bits 32-63
C_SEV = 2  # sum of integer weights
C_COUNT = 3  # reoffences in the counting unit in bits 0-31; 1 + days to first (0: none) above
C_WIDTH = 4
LOW = np.int64(0xFFFFFFFF)
SERIOUS = np.int64(1) << 32  # in word C_IDX
UNMAPPED_ONE = np.int64(2) << 32  # in word C_IDX: one more unmapped qualifying offence


@njit(cache=True, parallel=True)
def probe_measure(c_part_off, crec, base, h_hi, h_hd, t_lo, t_hi, t_dlast,
                  t_status, e_part_off, rec, wide, court_unit, with_court, weight_int,
                  code_mapped, code_serious):
    """Join each partition's events to its offenders and fold them into the measures.

    Per event: not in the cohort; outside the offender's horizon (offence days
    ``[idx, h_hi]``, disposal days up to ``h_hd``, per index day from ``base``, as in
    :func:`pbr._kernels.grouping.probe`); or kept, and then counted when it qualifies
    under the spec's window tables (``t_lo``, ``t_hi``, ``t_dlast``, ``t_status``) and
    its attribute word is not ``NOT_OK``.  ``rec`` holds the events as
    :func:`piece_scatter` packs them; ``crec`` the cohort records (see ``C_*``), whose
    accumulator words are updated in place.

    Returns the numbers of events not in the cohort, outside the horizon and kept, and
    whether any cohort id occurs twice.  Counts and flags are 32-bit fields: an
    offender would need more than 2**30 events to overflow them.
    """
    P = c_part_off.size - 1
    cw = rec.shape[1] - 1  # the court word, when with_court
    not_in = np.empty(P, np.int64)
    outside = np.empty(P, np.int64)
    kept = np.empty(P, np.int64)
    dup = np.empty(P, np.bool_)
    for p in prange(P):
        c0 = c_part_off[p]
        nc = c_part_off[p + 1] - c0
        e0 = e_part_off[p]
        ne = e_part_off[p + 1] - e0
        tab, tshift, tmask, dup[p] = build_slot_table(crec, c0, nc)
        head = np.full(nc if court_unit else 0, -1, np.int32)
        nxt = np.empty(ne if court_unit else 0, np.int32)
        n_not_in = 0
        n_outside = 0
        n_kept = 0
        lis = np.empty(BATCH, np.int64)
        for e in range(e0, e0 + ne):
            # unsigned array indices (ue, j, t): Numba then adds no wrap-around handling
            # for negative ones to each access
            ue = np.uint64(e)
            b = (e - e0) % BATCH
            if b == 0:
                # the lookups of a batch of events first: they are independent of each
                # other and their branches predictable, so their cache misses overlap
                # (the classification below branches unpredictably, and a mispredicted
                # branch would discard lookups already under way)
                for i in range(min(BATCH, e0 + ne - e)):
                    lis[i] = lookup_slot(tab, tshift, tmask,
                                         np.int64(rec[ue + np.uint64(i), 0]))
            v = lis[b]
            if v < 0:
                n_not_in += 1
                continue
            li = v >> 32
            j = np.uint64(c0 + li)
            idx = np.int32(v & LOW)
            o, d, a = _unpack(rec, ue, wide)
            t = np.uint64(idx - base)
            if o < idx or o > h_hi[t] or d > h_hd[t]:
                n_outside += 1
                continue
            n_kept += 1
            if a == NOT_OK or t_status[t] == ST_NOT_MEASURABLE:
                continue
            if o < t_lo[t] or o > t_hi[t] or d > t_dlast[t]:
                continue
            w3 = crec[j, C_COUNT]
            f = np.int64(o - idx + 1)
            if (w3 >> 32) == 0 or f < (w3 >> 32):
                w3 = (w3 & LOW) | (f << 32)
            crec[j, C_SEV] += weight_int[a]
            if code_serious[a]:
                crec[j, C_IDX] |= SERIOUS
            if not code_mapped[a]:
                crec[j, C_IDX] += UNMAPPED_ONE
            if court_unit:
                q = head[li]
                seen = False
                while q >= 0:
                    if with_court:
                        seen = rec[e0 + q, cw] == rec[ue, cw]
                    else:
                        seen = _unpack(rec, e0 + q, wide)[1] == d
                    if seen:
                        break
                    q = nxt[q]
                if not seen:
                    w3 += 1
                    nxt[e - e0] = head[li]
                    head[li] = np.int32(e - e0)
            else:
                w3 += 1
            crec[j, C_COUNT] = w3
        not_in[p] = n_not_in
        outside[p] = n_outside
        kept[p] = n_kept
    return total(not_in), total(outside), total(kept), total(dup) > 0


#: rows ahead whose cohort record :func:`finish` prefetches (16, 32 and 64 measured alike)
FINISH_AHEAD = 16


@njit(cache=True, parallel=True)
def finish(slot, crec, scale, index_day, base, t_dlast, t_status, out_count, out_severity,
           out_serious, out_first, out_unmapped, out_status, out_window_end):
    """The outputs in cohort order: cohort row ``r`` reads its record ``crec[slot[r]]``
    (one random read per offender, prefetched ``FINISH_AHEAD`` rows ahead; sequential
    writes), its status and last counting disposal day from the window tables; severity
    is ``sum(weight_int) / scale``."""
    n = slot.size
    for sr in prange(n):
        r = np.uint64(sr)  # unsigned indices: no wrap-around handling per access
        if sr + FINISH_AHEAD < n:
            prefetch(crec, (slot[r + np.uint64(FINISH_AHEAD)], 0))
        j = np.uint64(slot[r])
        w3 = crec[j, C_COUNT]
        out_count[r] = w3 & LOW
        out_severity[r] = crec[j, C_SEV] / scale if scale > 0 else 0.0
        flags = crec[j, C_IDX] >> 32
        out_serious[r] = (flags & 1) != 0
        out_unmapped[r] = flags >> 1
        out_first[r] = (w3 >> 32) - 1
        t = np.uint64(index_day[r] - base)
        out_status[r] = t_status[t]
        out_window_end[r] = t_dlast[t]
