"""The proven-reoffending measure kernel over the offender-grouped layout.

One pass over each offender's events (already sorted by offence day).  An event
qualifies when (docs/methodology/measures.md):

* W1/W3: its offence day lies in the follow-up window: ``(index, end]`` or, with the
  index day included, ``[index, end)``, where ``end = index + follow_up``;
* W2: its disposal day is no later than the last day of the waiting period
  (``end + waiting_period``, same inclusivity);
* A1/A2: with an ``as_of`` date, windows are cut at ``as_of`` (interim) or the
  offender is not measurable (final); an offender whose window has not started by
  ``as_of`` is not measurable even in interim mode;
* P1: its disposal type proves an offence; F1: its code and category pass the filters.

Counting unit C1: every qualifying offence, or distinct court events (court_event_id,
else the disposal day) among qualifying offences.

The windows are computed here; what qualifies and what an event adds to its offender's
measures are the rule set's (:mod:`pbr._kernels.rules`), which this kernel and the
one-call path (:mod:`pbr._kernels.onepass`) share.  :func:`measure_grouped` picks the
kernel compiled for the active rule set.

Status codes: 0 complete window, 1 not measurable (window not complete by as_of),
2 interim (measured on data up to as_of).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from pbr._kernels import rules
from pbr._kernels.calendar import NULL_DAY, add_period
from pbr._kernels.rules import finalise, fold, init, qualifies

#: the attribute flag bits of the rule set's tables (the callers build them)
A_COUNTS = rules.A_COUNTS
A_SERIOUS = rules.A_SERIOUS
A_UNMAPPED = rules.A_UNMAPPED

#: accumulator words of the rule set the kernels are compiled for
N_WORDS = rules.DEFAULT.width

ST_OK = 0
ST_NOT_MEASURABLE = 1
ST_INTERIM = 2


@njit(cache=True, inline="always")
def window(idx, fu_months, fu_days, w_months, w_days, include_index_day, as_of, interim, ms):
    """One offender's window (rules W1-W3, A1-A2): first and last offence day that can
    count, last disposal day that counts, and the status code."""
    end = add_period(idx, fu_months, fu_days, ms)
    wend = add_period(end, w_months, w_days, ms)
    if include_index_day:
        lo = idx
        hi = end - 1
        dlast = wend - 1
    else:
        lo = idx + 1
        hi = end
        dlast = wend
    status = ST_OK
    if as_of != NULL_DAY and dlast > as_of:
        if interim and as_of >= lo:
            status = ST_INTERIM
            if hi > as_of:
                hi = as_of
            dlast = as_of
        else:
            status = ST_NOT_MEASURABLE
    return lo, hi, dlast, status


@njit(cache=True)
def window_table(base, n_days, fu_months, fu_days, w_months, w_days, include_index_day, as_of,
                 interim, ms):
    """:func:`window` for every index day ``base .. base + n_days - 1``.

    Offenders share few distinct index dates, so the kernels look their window up here
    instead of doing calendar arithmetic per offender.
    """
    t_lo = np.empty(n_days, np.int32)
    t_hi = np.empty(n_days, np.int32)
    t_dlast = np.empty(n_days, np.int32)
    t_status = np.empty(n_days, np.int8)
    for t in range(n_days):
        lo, hi, dlast, status = window(base + t, fu_months, fu_days, w_months, w_days,
                                       include_index_day, as_of, interim, ms)
        t_lo[t] = lo
        t_hi[t] = hi
        t_dlast[t] = dlast
        t_status[t] = status
    return t_lo, t_hi, t_dlast, t_status


#: cohort rows per chunk of :func:`measure_grouped`'s parallel loop (its two passes
#: share a chunk's outputs while they are in the core's cache: 4,096 rows of outputs are
#: 104 KB) and of the order :func:`order_by_count` lists
CHUNK_ROWS = 4096

#: event counts :func:`order_by_count` tells apart (rows with more share the last group)
COUNT_GROUPS = 32


@njit(cache=True, parallel=True)
def rows_with_events(offsets, out_rows):
    """``out_rows[c]``: the number of rows with at least one event in chunk ``c`` of
    :data:`CHUNK_ROWS` rows (call with ``dynamic(1)``)."""
    n = offsets.size - 1
    for c in prange(out_rows.size):
        r0 = c * CHUNK_ROWS
        r1 = min(n, r0 + CHUNK_ROWS)
        m = 0
        for r in range(r0, r1):
            m += offsets[r + 1] > offsets[r]
        out_rows[c] = m


@njit(cache=True, parallel=True)
def order_by_count(offsets, chunk_offsets, order):
    """The rows with events of each chunk of :data:`CHUNK_ROWS` rows, by number of events
    (1, 2, ... :data:`COUNT_GROUPS` or more), in row order within a count: chunk ``c``'s
    are ``order[chunk_offsets[c]:chunk_offsets[c + 1]]`` (a counting sort per chunk;
    call with ``dynamic(1)``)."""
    n = offsets.size - 1
    for c in prange(chunk_offsets.size - 1):
        r0 = c * CHUNK_ROWS
        r1 = min(n, r0 + CHUNK_ROWS)
        # the rows with events first (without a branch), then a counting sort of them
        rows = np.empty(r1 - r0, np.int64)
        m = 0
        for r in range(r0, r1):
            rows[m] = r
            m += offsets[r + 1] > offsets[r]
        start = np.zeros(COUNT_GROUPS + 1, np.int64)
        for i in range(m):
            r = rows[i]
            start[min(offsets[r + 1] - offsets[r], COUNT_GROUPS)] += 1
        p = chunk_offsets[c]
        for g in range(1, COUNT_GROUPS + 1):
            size = start[g]
            start[g] = p
            p += size
        for i in range(m):
            r = rows[i]
            g = min(offsets[r + 1] - offsets[r], COUNT_GROUPS)
            order[start[g]] = r
            start[g] += 1


def measure_grouped(index_day: np.ndarray, offsets: np.ndarray, order: np.ndarray,
                    chunk_offsets: np.ndarray, off: np.ndarray, disp: np.ndarray,
                    attr: np.ndarray, court: np.ndarray, has_court: bool, base: np.int64,
                    t_lo: np.ndarray, t_hi: np.ndarray, t_dlast: np.ndarray,
                    t_status: np.ndarray, court_unit: bool, a_flags: np.ndarray,
                    a_weight: np.ndarray, a_weight_int: np.ndarray, scale: np.float64,
                    out: dict[str, np.ndarray]) -> None:
    """Per-offender measures under the active rule set (:func:`pbr._kernels.rules.active`)
    into the arrays of ``out`` (output name -> array, as the rule set's output table
    names them), in cohort order: call it with ``dynamic(1)``
    (:class:`pbr._kernels.dynamic`).  See :func:`_measure_grouped`."""
    rs = rules.active()
    outs = tuple(out[o.name] for o in rs.rule_outputs)
    kernel = rules.specialise(_measure_grouped, rs, (_offender,))
    kernel(index_day, offsets, order, chunk_offsets, off, disp, attr, court, has_court, base,
           t_lo, t_hi, t_dlast, t_status, court_unit, (a_flags, a_weight, a_weight_int),
           scale, outs, out["status"], out["window_end"])


@njit(cache=True, parallel=True)
def _measure_grouped(index_day, offsets, order, chunk_offsets, off, disp, attr, court,
                     has_court, base, t_lo, t_hi, t_dlast, t_status, court_unit, tables,
                     scale, outs, out_status, out_window_end):
    """Per-offender measures (outputs in cohort order), in chunks of :data:`CHUNK_ROWS`
    cohort rows.

    Each chunk is two passes.  The first writes every row's status and window end and
    the outputs of an empty accumulator (an offender without events); the second
    measures the rows with events (:func:`_offender`) in the order of ``order``
    (:func:`order_by_count`: ``Histories.measure_order``), fewest events first.  Taken
    in row order, the number of events changes from one offender to the next at random,
    and the branch that ends each offender's loop was mispredicted about once per
    offender (a loop over random counts took about five times as long as over the same
    counts sorted).

    ``attr`` is each event's attribute id (:attr:`pbr.prepare.Histories.attributes`);
    ``tables`` the rule set's per-attribute tables (:mod:`pbr._kernels.rules`); ``outs``
    the arrays of the rule outputs.
    """
    n = index_day.size
    for c in prange((n + CHUNK_ROWS - 1) // CHUNK_ROWS):
        r0 = c * CHUNK_ROWS
        r1 = min(n, r0 + CHUNK_ROWS)
        acc = np.empty((1, N_WORDS), np.float64)  # the accumulator of the row in hand
        init(acc, 0)
        for sr in range(r0, r1):
            # unsigned indices: Numba then adds no wrap-around handling for negative
            # ones to each array access
            r = np.uint64(sr)
            t = np.uint64(index_day[r] - base)
            out_status[r] = t_status[t]
            out_window_end[r] = t_dlast[t]
            finalise(acc, 0, scale, outs, r)
        # the counting unit chooses the loop once, not once per event
        j0 = np.uint64(chunk_offsets[c])
        j1 = np.uint64(chunk_offsets[c + 1])
        if court_unit:
            for j in range(j0, j1):
                _offender(np.uint64(order[j]), index_day, offsets, base, t_lo, t_hi,
                          t_dlast, t_status, off, disp, attr, court, has_court, True, tables,
                          scale, acc, outs)
        else:
            for j in range(j0, j1):
                _offender(np.uint64(order[j]), index_day, offsets, base, t_lo, t_hi,
                          t_dlast, t_status, off, disp, attr, court, has_court, False, tables,
                          scale, acc, outs)


@njit(cache=True, inline="always")
def _offender(r, index_day, offsets, base, t_lo, t_hi, t_dlast, t_status, off, disp, attr,
              court, has_court, court_unit, tables, scale, acc, outs):
    """Cohort row ``r``'s measures from its events (sorted by offence day) in its window
    ``[lo, hi]`` with disposals up to ``dlast``; a row not measurable keeps the first
    pass's values."""
    idx = index_day[r]
    t = np.uint64(idx - base)
    if t_status[t] == ST_NOT_MEASURABLE:
        return
    lo = t_lo[t]
    hi = t_hi[t]
    dlast = t_dlast[t]
    a = np.uint64(offsets[r])
    b = np.uint64(offsets[r + np.uint64(1)])
    init(acc, 0)
    for k in range(a, b):
        o = off[k]
        if o > hi:
            break  # events are sorted by offence day
        c = np.uint64(attr[k])
        if not qualifies(o, disp[k], lo, hi, dlast, c, tables):
            continue
        new_unit = True
        if court_unit:
            for q in range(a, k):
                same = court[q] == court[k] if has_court else disp[q] == disp[k]
                if same and qualifies(off[q], disp[q], lo, hi, dlast, np.uint64(attr[q]),
                                      tables):
                    new_unit = False
                    break
        fold(acc, 0, o, disp[k], idx, c, tables, scale, new_unit)
    finalise(acc, 0, scale, outs, r)


@njit(cache=True, parallel=True)
def custody_grouped(index_day, c_offsets, c_start, c_end, base, t_lo, t_hi, out_days):
    """Days in custody within each offender's follow-up window (rule M6).

    Spells of offender ``r`` are ``c_offsets[r]:c_offsets[r + 1]``, sorted by start day;
    overlapping or touching spells are merged on the fly so that a day counts once.  The
    window is the offence window ``[lo, hi]`` of :func:`measure_grouped` (cut at
    ``as_of`` in interim mode).
    """
    n = index_day.size
    for r in prange(n):
        t = index_day[r] - base
        lo = t_lo[t]
        hi = t_hi[t]
        total = 0
        covered = lo - 1  # last day already counted
        for k in range(c_offsets[r], c_offsets[r + 1]):
            a = c_start[k]
            b = c_end[k]
            if a <= covered:
                a = covered + 1
            if a < lo:
                a = lo
            if b > hi:
                b = hi
            if b >= a:
                total += b - a + 1
                covered = b
        out_days[r] = total
