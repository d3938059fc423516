"""The one-call path: the hash join fused with the measure, for one spec once
(:mod:`pbr._kernels.onepass`): the same values and event ledger as the grouped path,
without building the grouped layout.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from pbr import _scratch
from pbr._engine.grouped import custody_days
from pbr._engine.layout import group_custody
from pbr._engine.stage import Piece, Staged, event_pieces, stage
from pbr._engine.tables import code_tables, empty_outputs, window_tables
from pbr._kernels import ROWS_PER_CHUNK, dynamic, onepass
from pbr._kernels.grouping import chunk_starts
from pbr.data import Cohort, Custody, Events, each_piece
from pbr.spec import MeasureSpec


def scatter_pieces(st: Staged, pieces: list[Piece], ct: dict[str, Any], with_court: bool,
                   wide: bool, scratch: _scratch.Arena) -> tuple[np.ndarray, np.ndarray]:
    """Histogram and scatter the events piece by piece (zero-copy views of the frame's
    chunks), on as many threads as Numba uses.  Every piece writes its own histogram
    row and its own ranges of the records, so the records are in input order within
    each partition whatever the threads do."""
    threads = max(1, numba.get_num_threads())
    hist = np.zeros((len(pieces), 1 << st.pbits), np.int64)
    window = (np.int32(st.lo), np.int32(st.hi_off), np.int32(st.hi_disp), st.pbits)
    order_bad = np.zeros(len(pieces), np.bool_)

    def histogram(k: int) -> None:
        ids, off, disp = pieces[k][:3]
        order_bad[k] = onepass.piece_histogram(ids, off, disp, *window, hist[k])

    each_piece(histogram, len(pieces), threads)
    st.check_deferred(bool(order_bad.any()))
    start, part_off, total = chunk_starts(hist)
    width = 2 + (1 if wide else 0) + (1 if with_court else 0)
    rec = scratch.empty((total, width), np.uint64)

    def scatter(k: int) -> None:
        ids, off, disp, typ, code, cat, court = pieces[k]
        onepass.piece_scatter(start[k].copy(), ids, off, disp, typ, code, cat, court,
                              *window, st.has_cat, with_court, wide, ct["type_ok"],
                              ct["code_ok"], ct["cat_ok"], rec)

    each_piece(scatter, len(pieces), threads)
    return part_off, rec


def onepass_arrays(cohort: Any, events: Any, spec: MeasureSpec, custody: Any,
                   scratch: _scratch.Arena) -> tuple[Cohort, Events, Custody | None,
                                                     dict[str, np.ndarray], dict[str, int]]:
    """One spec, once: the hash join fused with the measure (:mod:`pbr._kernels.onepass`).

    Validates like :func:`~pbr.prepare.prepare` with ``horizon=spec`` and returns the
    same values and event ledger as ``kernel_arrays(prepare(...), spec)``, without
    building the grouped layout.  Needs exact severity sums (``spec.severity_scale``).
    The temporaries (records, slots, the cohort's id and index-day arrays) come from
    ``scratch`` and are valid until it closes; the outputs are one lent buffer, in
    the event records' memory when it is large enough (see :func:`empty_outputs`).
    """
    st = stage(cohort, events, custody, spec, one_call=True, scratch=scratch)
    ev = event_pieces(st, scratch)
    n = st.cohort.n
    ct = code_tables(ev.dictionaries, spec)
    court_unit = spec.counting_unit == "court_event"
    with_court = court_unit and st.has_court
    # 16-byte records unless the codes or the window are too wide to pack
    wide = ct["weight_int"].size >= 0xFFFF or st.hi_disp - st.lo >= 0xFFFF
    c_part_off, c_slot, crec = st.partition_cohort(
        ev.c_ids, slot_to_row=False, width=onepass.record_width(), scratch=scratch)
    e_part_off, rec = scatter_pieces(st, ev.pieces, ct, with_court, wide, scratch)
    # the pieces are views of the frame, or of its one rechunked copy, which is then
    # freed before the probe allocates
    del ev
    base, h_hi, h_hd = st.horizon_tables()
    _, t_lo, t_hi, t_dlast, t_status = window_tables(st.index_day, spec,
                                                     (st.idx_min, st.idx_max))
    with dynamic():
        not_in, outside, kept, dup = onepass.probe_measure(
            c_part_off, crec, np.int32(base), h_hi, h_hd, t_lo, t_hi, t_dlast, t_status,
            e_part_off, rec, wide, court_unit, with_court, ct["weight_int"],
            ct["mapped"], ct["serious"])
    if dup:
        st.raise_duplicate()
    n_buffered = int(rec.shape[0])
    # the event records are dead: the outputs may take their memory (in a fresh
    # process, memory new to it is the slowest part of the call on some machines)
    scratch.give_back(rec)
    del rec
    out = empty_outputs(n, frame=True)
    with dynamic(ROWS_PER_CHUNK):
        onepass.finish(c_slot, crec, np.float64(ct["scale"]), st.index_day, np.int32(base),
                       t_dlast, t_status, out)
    del c_slot, crec
    if st.custody is not None:
        out["custody_days"] = custody_days(st.index_day, group_custody(st.cohort, st.custody),
                                           base, t_lo, t_hi)
    counts = {
        "input": st.events.n_input,
        "invalid": len(st.events.exclusions),
        "outside_all_windows": st.events.n - n_buffered,
        "not_in_cohort": int(not_in),
        "outside_offender_window": int(outside),
        "kept": int(kept),
    }
    return st.cohort, st.events, st.custody, out, counts
