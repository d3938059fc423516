"""One-call measures straight from the event columns: the hash join fused with the measure.

``pbr.measure(cohort, events, spec)`` evaluates one spec once.  For that it does not
need the offender-grouped layout of :mod:`pbr._kernels.grouping` (which pays for a
per-column copy of every kept event into cohort order, then a sort): the measure is a
set of order-independent per-offender reductions (the rule set of
:mod:`pbr._kernels.rules`), so each event can be folded into its offender's accumulator
the moment the join finds the offender.

Steps (each piece and partition writes only its own ranges, and every output is an
order-independent reduction, so the result does not depend on the thread count):

1. :func:`pbr._kernels.grouping.partition_cohort` (one (id, index day) record per
   slot, with room for the accumulator, and each cohort row's slot), and
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
   qualifying event (``rules.qualifies``, ``rules.fold``) into its offender's
   accumulator in the cohort record;
4. :func:`finish` finalises the accumulators into the outputs, in cohort order.

Counting unit C1 (court events): distinct court keys per offender are kept on a short
per-offender chain of the partition's counted events.  Severity is an exact integer
sum (weights times ``MeasureSpec.severity_scale``), so it does not depend on the order
in which events arrive; every output equals the grouped kernel's.

The Python entry points (:func:`probe_measure`, :func:`finish`) pick the kernels
compiled for the active rule set (:func:`pbr._kernels.rules.specialise`).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from pbr._kernels import rules
from pbr._kernels.grouping import _hash, build_slot_table, lookup_slot, total
from pbr._kernels.rules import finalise, fold, init, qualifies

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


# The cohort record of the one-pass measure (``2 + width`` int64 words per partition slot,
# written by grouping.partition_cohort): the offender's accumulator (the rule set's words,
# float64, :mod:`pbr._kernels.rules`) lives beside its id and index day, so that an event
# reads and updates one record
C_ID = 0  # the offender id
C_IDX = 1  # index day in bits 0-31
C_ACC = 2  # the first accumulator word
#: words per cohort record under the default rule set (:func:`record_width`)
C_WIDTH = C_ACC + rules.DEFAULT.width
LOW = np.int64(0xFFFFFFFF)


def record_width() -> int:
    """Words per cohort record under the active rule set (the ``width`` to give
    :func:`pbr._kernels.grouping.partition_cohort`)."""
    return C_ACC + rules.active().width


def _code_tables(weight_int: np.ndarray, code_mapped: np.ndarray, code_serious: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rule set's per-attribute tables for offence codes: every code counts (an
    event that fails the filters carries ``NOT_OK`` instead of its code)."""
    flags = (rules.A_COUNTS + code_serious * rules.A_SERIOUS
             + ~code_mapped * rules.A_UNMAPPED).astype(np.uint8)
    return flags, weight_int.astype(np.float64), weight_int


def _accumulators(crec: np.ndarray) -> np.ndarray:
    """The cohort records' words as float64 (the accumulators are read through it)."""
    if crec.shape[1] < record_width():
        raise ValueError(f"cohort records of {crec.shape[1]} words; the rule set "
                         f"{rules.active().name!r} needs {record_width()}")
    return crec.view(np.float64)


def probe_measure(c_part_off: np.ndarray, crec: np.ndarray, base: np.int32, h_hi: np.ndarray,
                  h_hd: np.ndarray, t_lo: np.ndarray, t_hi: np.ndarray, t_dlast: np.ndarray,
                  t_status: np.ndarray, e_part_off: np.ndarray, rec: np.ndarray, wide: bool,
                  court_unit: bool, with_court: bool, weight_int: np.ndarray,
                  code_mapped: np.ndarray, code_serious: np.ndarray
                  ) -> tuple[int, int, int, bool]:
    """Join each partition's events to its offenders and fold them into the measures of
    the active rule set (:func:`_probe_measure`).

    Returns the numbers of events not in the cohort, outside the horizon and kept, and
    whether any cohort id occurs twice."""
    rs = rules.active()
    kernel = rules.specialise(_probe_measure, rs)
    return kernel(c_part_off, crec, _accumulators(crec), base, h_hi, h_hd, t_lo, t_hi,
                  t_dlast, t_status, e_part_off, rec, wide, court_unit, with_court,
                  _code_tables(weight_int, code_mapped, code_serious))


@njit(cache=True, parallel=True)
def _probe_measure(c_part_off, crec, cacc, base, h_hi, h_hd, t_lo, t_hi, t_dlast,
                   t_status, e_part_off, rec, wide, court_unit, with_court, tables):
    """Join each partition's events to its offenders and fold them into the measures.

    Per event: not in the cohort; outside the offender's horizon (offence days
    ``[idx, h_hi]``, disposal days up to ``h_hd``, per index day from ``base``, as in
    :func:`pbr._kernels.grouping.probe`); or kept, and then folded into its offender's
    accumulator when it qualifies under the spec's window tables (``t_lo``, ``t_hi``,
    ``t_dlast``, ``t_status``) and its attribute word is not ``NOT_OK``.  ``rec`` holds
    the events as :func:`piece_scatter` packs them; ``crec`` the cohort records (see
    ``C_*``) and ``cacc`` the same memory as float64, whose accumulator words (from
    ``C_ACC``) are set to the empty accumulator and then updated in place.  Severity is
    always the exact integer sum here (the one-call path needs
    ``MeasureSpec.severity_scale``).

    Returns the numbers of events not in the cohort, outside the horizon and kept, and
    whether any cohort id occurs twice.
    """
    P = c_part_off.size - 1
    cw = rec.shape[1] - 1  # the court word, when with_court
    not_in = np.empty(P, np.int64)
    outside = np.empty(P, np.int64)
    kept = np.empty(P, np.int64)
    dup = np.empty(P, np.bool_)
    acc = cacc[:, C_ACC:]
    for p in prange(P):
        c0 = c_part_off[p]
        nc = c_part_off[p + 1] - c0
        e0 = e_part_off[p]
        ne = e_part_off[p + 1] - e0
        tab, tshift, tmask, dup[p] = build_slot_table(crec, c0, nc)
        for li in range(nc):
            init(acc, c0 + li)
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
            if not qualifies(o, d, t_lo[t], t_hi[t], t_dlast[t], a, tables):
                continue
            new_unit = True
            if court_unit:
                q = head[li]
                while q >= 0:
                    if with_court:
                        same = rec[e0 + q, cw] == rec[ue, cw]
                    else:
                        same = _unpack(rec, e0 + q, wide)[1] == d
                    if same:
                        new_unit = False
                        break
                    q = nxt[q]
                if new_unit:
                    nxt[e - e0] = head[li]
                    head[li] = np.int32(e - e0)
            fold(acc, j, o, d, idx, a, tables, 1.0, new_unit)
        not_in[p] = n_not_in
        outside[p] = n_outside
        kept[p] = n_kept
    return total(not_in), total(outside), total(kept), total(dup) > 0


def finish(slot: np.ndarray, crec: np.ndarray, scale: np.float64, index_day: np.ndarray,
           base: np.int32, t_dlast: np.ndarray, t_status: np.ndarray,
           out: dict[str, np.ndarray]) -> None:
    """The outputs of the active rule set in cohort order, into the arrays of ``out``
    (output name -> array, as the rule set's output table names them; see
    :func:`_finish`)."""
    rs = rules.active()
    outs = tuple(out[o.name] for o in rs.rule_outputs)
    kernel = rules.specialise(_finish, rs)
    kernel(slot, _accumulators(crec), scale, index_day, base, t_dlast, t_status, outs,
           out["status"], out["window_end"])


@njit(cache=True, parallel=True)
def _finish(slot, cacc, scale, index_day, base, t_dlast, t_status, outs, out_status,
            out_window_end):
    """The outputs in cohort order: cohort row ``r`` finalises the accumulator of its
    record ``slot[r]`` (one random read per offender; sequential writes), and reads its
    status and last counting disposal day from the window tables."""
    n = slot.size
    acc = cacc[:, C_ACC:]
    for sr in prange(n):
        r = np.uint64(sr)  # unsigned indices: no wrap-around handling per access
        finalise(acc, np.uint64(slot[r]), scale, outs, r)
        t = np.uint64(index_day[r] - base)
        out_status[r] = t_status[t]
        out_window_end[r] = t_dlast[t]
