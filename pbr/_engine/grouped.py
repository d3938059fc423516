"""The grouped path: ``prepare``'s join into a :class:`~pbr._engine.layout.Layout`,
and the measure kernel over it.
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np

from pbr._engine.layout import Derived, Layout, group_custody
from pbr._engine.stage import stage, window_columns
from pbr._engine.tables import (
    attribute_tables,
    check_out,
    code_tables,
    empty_outputs,
    window_tables,
)
from pbr._kernels import ROWS_PER_CHUNK, dynamic, grouping
from pbr._kernels import reoffending as kern
from pbr.spec import MeasureSpec

L = TypeVar("L", bound=Layout)


def group(cohort: Any, events: Any, horizon: Any, custody: Any, kind: type[L]) -> L:
    """Validate the inputs and group each cohort offender's events within the horizon
    (``prepare``'s work): a ``kind`` (:class:`Layout` or a subclass) in cohort order."""
    st = stage(cohort, events, custody, horizon)
    cohort, events = st.cohort, st.events
    w = window_columns(st)
    c_part_off, c_order, crec = st.partition_cohort(w.c_ids, slot_to_row=True)
    epart, hist = w.histogram(st)
    # large outputs are allocated by numpy, which asks for huge pages: their first touch
    # costs several times less than in Numba's allocator
    start, e_part_off, s = grouping.chunk_starts(hist)
    b_key, b_off, b_disp = np.empty(s, np.int64), np.empty(s, np.int32), np.empty(s, np.int32)
    with dynamic():
        grouping.event_scatter(epart, start, w.e_ids, w.e_off, w.e_disp, b_key, b_off,
                               b_disp)
    n_buffered = int(b_key.size)
    base, t_hi, t_hd = st.horizon_tables()
    # the probe writes each event's slot over its offence day (read first, same index)
    dest = b_off if n_buffered < 2**31 else np.empty(n_buffered, np.int64)
    with dynamic():
        slot_count, not_in, outside, dup = grouping.probe(
            c_part_off, crec, np.int32(base), t_hi, t_hd, e_part_off, b_key, b_off, b_disp,
            dest)
    del b_key, b_off, b_disp, crec
    if dup:
        st.raise_duplicate()
    offsets = grouping.csr_offsets(c_order, slot_count, grouping.NCHUNK)
    with dynamic():
        grouping.assign_dest(c_part_off, slot_count, e_part_off, dest)
    k = int(offsets[-1])
    recs = np.empty((k, 3 + st.has_cat + st.has_court), np.int64)
    with dynamic():
        grouping.fill_records(epart, start, dest, w.position, w.e_off, w.e_disp, w.typ,
                              w.code, w.cat, w.court, st.has_cat, st.has_court, recs)
    del dest, epart
    off, disp = np.empty(k, np.int32), np.empty(k, np.int32)
    styp, scode = np.empty(k, np.uint32), np.empty(k, np.uint32)
    scat = np.empty(k if st.has_cat else 0, np.uint32)
    scourt = np.empty(k if st.has_court else 0, np.int64)
    pos = np.empty(k, np.int64)
    with dynamic(ROWS_PER_CHUNK):
        grouping.split_records(recs, st.has_cat, st.has_court, off, disp, styp, scode, scat,
                               scourt, pos)
    del recs
    with dynamic(ROWS_PER_CHUNK):
        grouping.sort_groups(offsets, off, disp, styp, scode, scat, scourt, pos, st.has_cat,
                             st.has_court)
    counts = {
        "input": events.n_input,
        "invalid": len(events.exclusions),
        "outside_all_windows": events.n - n_buffered,
        "not_in_cohort": int(not_in),
        "outside_offender_window": int(outside),
        "kept": int(off.size),
    }
    extra: dict[str, Any] = {}
    if st.custody is not None:
        extra["custody"] = group_custody(cohort, st.custody)
    layout = kind(cohort, events, st.follow_up, st.waiting, st.index_day, offsets, off, disp,
                  styp, scode, scat, scourt, pos, w.dictionaries, counts, st.custody, extra,
                  Derived(index_span=(st.idx_min, st.idx_max)))
    _ = layout.attributes  # part of preparing: every measure reads them
    _ = layout.measure_order
    return layout

def kernel_arrays(h: Layout, spec: MeasureSpec, out: dict[str, np.ndarray] | None = None
                  ) -> dict[str, np.ndarray]:
    """Run the measure kernel on a grouped layout; raw arrays in cohort order (written
    into ``out``'s arrays when given).  The caller has checked the horizon
    (:meth:`Layout.check_horizon`)."""
    ct = code_tables(h.dictionaries, spec)
    custody = "custody" in h.extra
    out = empty_outputs(h.cohort.n) if out is None else check_out(out, h.cohort.n, custody)
    idx = h.index_day
    base, t_lo, t_hi, t_dlast, t_status = window_tables(idx, spec, h.index_span)
    if custody:
        out["custody_days"] = custody_days(idx, h.extra["custody"], base, t_lo, t_hi,
                                           out.get("custody_days"))
    attr, table = h.attributes
    a_flags, a_weight, a_weight_int = attribute_tables(ct, table)
    order, chunk_offsets = h.measure_order
    with dynamic():  # a loop over chunks of kern.CHUNK_ROWS cohort rows
        kern.measure_grouped(
            idx, h.offsets, order, chunk_offsets, h.offence_day, h.disposal_day, attr,
            h.court_event, h.events.has_court_event, np.int64(base), t_lo, t_hi, t_dlast,
            t_status, spec.counting_unit == "court_event", a_flags, a_weight, a_weight_int,
            np.float64(ct["scale"]), out)
    return out


def custody_days(idx: np.ndarray, grouped: Any, base: int, t_lo: np.ndarray,
                 t_hi: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Days in custody within each offender's follow-up window (M6), from the spells
    grouped by cohort row (:func:`~pbr._engine.layout.group_custody`)."""
    c_off, c_start, c_end = grouped
    if out is None:
        out = np.zeros(idx.size, np.int64)
    else:
        out[:] = 0
    with dynamic(ROWS_PER_CHUNK):
        kern.custody_grouped(idx, c_off, c_start, c_end, np.int64(base), t_lo, t_hi, out)
    return out
