"""Staging: validated inputs as the join kernels' arrays.

:func:`stage` validates the cohort, events and custody and finds the horizon and the
global window (the union of every offender's window): what both measure paths share.
Each path then reads the event columns its own way:

* :func:`window_columns` (``prepare``): the rows inside the global window, copied into
  contiguous arrays with each row's position in ``events.frame``;
* :func:`event_pieces` (the one-call measure): zero-copy views of the frame's chunks,
  no window filter (the kernels skip the rows outside it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from pbr._kernels import dynamic, grouping
from pbr._kernels.calendar import add_period_array
from pbr._scratch import Arena, empty
from pbr.data import Cohort, Custody, Events, align_custody, check_id_types
from pbr.errors import SchemaError, SpecError
from pbr.period import Period
from pbr.spec import MeasureSpec

#: cohort rows per hash partition of the join, about, and the widest fan-out (2^8
#: partitions); interleaved runs: 2^9 / 2^10 partitions at 5M were slower (the scatter
#: grows faster than the probe shrinks), and 2^6 at 1M too
PARTITION_ROWS = 4096
MAX_PBITS = 8
#: rows per piece of the event columns in the one-call measure (a polars chunk is cut
#: into pieces of at most this many rows, so that both threads have work)
PIECE_ROWS = 1 << 17
#: below this many rows per chunk on average the event columns are rechunked first
MIN_CHUNK_ROWS = 8192
#: the row rule the one-call measure checks in its own pass (see :func:`stage`)
ORDER_RULE = ("disposal_before_offence",)
#: the index-day span (first, last) of the whole cohort when a call measures one part of
#: it (``pbr.scale``): the global window, which sorts the events a measure leaves out
#: into ``outside_all_windows`` or the other counts, is then the whole cohort's, and
#: the parts' event counts add up to the whole table's.  Set only by :func:`whole_cohort`
#: for the calls inside its block (a context variable: this thread or task only).
_WHOLE_SPAN: ContextVar[tuple[int, int] | None] = ContextVar("pbr_whole_span", default=None)


@contextmanager
def whole_cohort(span: tuple[int, int] | None) -> Iterator[None]:
    """Within the block, measures find the global window from ``span`` (the first and
    last index day number of the whole cohort; None: each call's own cohort)."""
    token = _WHOLE_SPAN.set(span)
    try:
        yield
    finally:
        _WHOLE_SPAN.reset(token)


#: the event columns the kernels read, in this order
ROLES = ("offender_id", "offence_date", "disposal_date", "disposal_type", "offence_code",
         "offence_category", "court_event_id")


def horizon_of(h: MeasureSpec | tuple[Any, Any] | None) -> tuple[Period, Period]:
    """(follow-up, waiting period) of a ``horizon`` argument."""
    if h is None:
        spec = MeasureSpec()
        return spec.follow_up, spec.waiting_period
    if isinstance(h, MeasureSpec):
        return h.follow_up, h.waiting_period
    try:
        f, w = h
        return Period.parse(f), Period.parse(w)
    except (TypeError, ValueError):
        raise SpecError(
            f"horizon: give a MeasureSpec or (follow_up, waiting_period), got {h!r}") from None


def _id_arrays(cohort: pl.DataFrame, events: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    ct, et = cohort.schema["offender_id"], events.schema["offender_id"]
    if ct.is_integer() != et.is_integer() and (cohort.height == 0 or events.height == 0):
        # one side empty (a header-only file reads as text): nothing can match, so each
        # side is coded on its own
        return _own_codes(cohort["offender_id"]), _own_codes(events["offender_id"])
    if ct.is_integer() and et.is_integer():
        return cohort["offender_id"].to_numpy(), events["offender_id"].to_numpy()
    if ct == pl.String and et == pl.String:
        # one private category mapping for both sides; polars keeps a mapping only while
        # a series uses it, so the cohort's categorical stays alive until the events are
        # encoded (with a named mapping released in between, both sides got codes 0, 1,
        # 2, ... independently and every event matched the wrong offender)
        dtype = pl.Categorical(pl.Categories.random())
        c_cat = cohort["offender_id"].cast(dtype)
        e_cat = events["offender_id"].cast(dtype)
        c = c_cat.to_physical().cast(pl.Int64).to_numpy()
        e = e_cat.to_physical().cast(pl.Int64).to_numpy()
        del c_cat, e_cat
        return c, e
    check_id_types(cohort, events)
    raise SchemaError(  # pragma: no cover - check_id_types raises for every mixed pair
        f"offender_id is {ct} in the cohort but {et} in the events: give both as integers or "
        "both as strings")


def _own_codes(ids: pl.Series) -> np.ndarray:
    """Integer ids as they are, text ids as codes of a private mapping."""
    if ids.dtype.is_integer():
        return ids.to_numpy().astype(np.int64, copy=False)
    return ids.cast(pl.Categorical(pl.Categories.random())).to_physical().cast(
        pl.Int64).to_numpy()


def days(s: pl.Series, scratch: Arena | None = None) -> np.ndarray:
    """A null-free date series as int32 day numbers (see :func:`contiguous`)."""
    return contiguous(s.to_physical(), np.dtype(np.int32), scratch)


def contiguous(s: pl.Series, dtype: np.dtype[Any] | None, scratch: Arena | None
               ) -> np.ndarray:
    """A null-free numeric series as one contiguous array of ``dtype``: a view of a
    single chunk, else the chunks copied into ``scratch`` memory when given (a
    temporary of the caller's: a parquet file's row groups make a chunked cohort).
    ``dtype`` None: the series' own."""
    if scratch is None or s.n_chunks() == 1:
        a = s.to_numpy()
        return a if dtype is None else a.astype(dtype, copy=False)
    chunks = [c.to_numpy() for c in s.get_chunks()]
    out = scratch.empty(len(s), chunks[0].dtype if dtype is None else dtype)
    pos = 0
    for a in chunks:
        out[pos:pos + a.size] = a
        pos += a.size
    return out


def _category_names(dtype: Any) -> pl.Series:
    """The text of every code of a categorical (or enum) type, by code."""
    names = dtype.categories.to_series() if isinstance(dtype, pl.Categorical) else \
        pl.Series(list(dtype.categories), dtype=pl.String)
    return names.cast(pl.String)


def _codes(s: pl.Series, dtype: Any) -> tuple[np.ndarray, pl.Series]:
    """Physical codes of a categorical column of type ``dtype`` (``s`` may already be
    physical) and the text of every code (by code)."""
    phys = s.to_physical().to_numpy().astype(np.uint32, copy=False)
    names = _category_names(dtype)
    top = int(phys.max()) + 1 if phys.size else 0
    if names.len() < top:  # pragma: no cover - defensive: unknown category mapping
        raise SchemaError(f"{s.name}: categorical codes beyond the category list")
    return phys, names


@dataclass
class Staged:
    """Validated inputs, the horizon and the global window, shared by both paths.

    ``events_frame`` holds the event columns (physical types) that the path reads;
    ``skip`` (the one-call path) the positions of exact duplicate rows still in it.
    """

    raw_cohort: Any
    raw_events: Any
    cohort: Cohort
    events: Events
    custody: Custody | None
    deferred: tuple[str, ...]
    follow_up: Period
    waiting: Period
    index_day: np.ndarray
    idx_min: int
    idx_max: int
    lo: int
    hi_off: int
    hi_disp: int
    has_cat: bool
    has_court: bool
    pbits: int
    events_frame: pl.DataFrame
    schema: Any
    skip: np.ndarray | None

    def partition_cohort(self, c_ids: np.ndarray, slot_to_row: bool, width: int = 2,
                         scratch: Arena | None = None) -> tuple[np.ndarray, ...]:
        """:func:`pbr._kernels.grouping.partition_cohort` on this cohort (its arrays from
        ``scratch`` when given: temporaries of the caller's).  The map between rows and
        slots is uint32 whenever the cohort allows: half the memory of int64."""
        n = c_ids.size
        small = n <= np.iinfo(np.uint32).max
        rows = empty(scratch, n, np.uint32 if small else np.int64)
        crec = empty(scratch, (n, width), np.int64)
        with dynamic():
            part_off = grouping.partition_cohort(c_ids, self.index_day, self.pbits,
                                                 grouping.NCHUNK, slot_to_row,
                                                 empty(scratch, n, np.uint16), rows, crec)
        return part_off, rows, crec

    def horizon_tables(self) -> tuple[int, np.ndarray, np.ndarray]:
        """Horizon ends per index day from the first (offenders share few index dates):
        ``(base, last offence day, last disposal day)``, both inclusive."""
        base = self.idx_min
        day = np.arange(base, max(self.idx_max, base) + 1, dtype=np.int32)
        t_hi = add_period_array(day, self.follow_up.months, self.follow_up.days)
        return base, t_hi, add_period_array(t_hi, self.waiting.months, self.waiting.days)

    def check_deferred(self, failed: bool) -> None:
        """After the caller's pass over every event row: if a deferred rule failed on
        some row, validate the raw events in full, which raises the error naming the
        row (``on_invalid="raise"``)."""
        if failed and self.deferred:
            Events.from_frame(self.raw_events)
            raise SchemaError(  # pragma: no cover - defensive: the full check raises
                "events: a disposal_date is before its offence_date")

    def raise_duplicate(self) -> None:
        """Raise the error naming a duplicate cohort id (the join found one)."""
        if not isinstance(self.raw_cohort, Cohort):
            Cohort.from_frame(self.raw_cohort)  # raises the SchemaError naming the row
        raise SchemaError("cohort: offender_id appears more than once")  # pragma: no cover


def stage(cohort: Any, events: Any, custody: Any, horizon: Any, *, one_call: bool = False,
          scratch: Arena | None = None) -> Staged:
    """Validate the inputs and find the global window.

    ``one_call`` (the one-call measure): the disposal-before-offence rule is left to the
    caller's histogram pass, which reads both columns anyway (``check_deferred``; a
    failure validates again in full), and the exact duplicate rows stay in the frame
    (no copy of it) with their positions in ``skip``.  ``scratch``: where a chunked
    cohort column is copied (the one-call path, whose cohort arrays die with the call).
    """
    # duplicate ids are found by the hash join, not by a separate pass
    checked = cohort if isinstance(cohort, Cohort) else Cohort._validate(
        cohort, "offender_id", "index_date", "raise", check_duplicates=False)
    deferred = ORDER_RULE if one_call and not isinstance(events, Events) else ()
    ev = Events.from_frame(events, _defer=deferred)
    pending = ev._with_duplicates() if one_call else None
    values = ev.data if pending is None else pending[0]
    check_id_types(checked.data, values)  # rule J2, before any pruning
    cust = None if custody is None else Custody.from_frame(custody)
    if cust is not None:
        check_id_types(checked.data, cust.data, "custody")
        cust = align_custody(checked, cust)
    follow_up, waiting = horizon_of(horizon)
    c_idx = days(checked.data["index_date"], scratch)
    n = checked.n
    idx_min, idx_max = (int(c_idx.min()), int(c_idx.max())) if n else (0, -1)
    whole = _WHOLE_SPAN.get()
    w_min, w_max = (idx_min, idx_max) if whole is None else whole
    if w_min > w_max or ev.n == 0:
        lo, hi_off, hi_disp = 0, -1, -1
    else:  # adding a period is monotone, so the global window comes from min/max index
        ends = add_period_array(np.array([w_min, w_max], np.int32), follow_up.months,
                                follow_up.days)
        lo, hi_off = w_min, int(ends[1])
        hi_disp = int(add_period_array(ends[1:], waiting.months, waiting.days)[0])
    roles = [c for c in ROLES if c in values.columns]
    pbits = int(min(MAX_PBITS, max(1, round(np.log2(max(n, 1) / PARTITION_ROWS)))))
    return Staged(cohort, events, checked, ev, cust, deferred, follow_up, waiting, c_idx,
                  idx_min, idx_max, lo, hi_off, hi_disp, ev.has_category, ev.has_court_event,
                  pbits, values.select([pl.col(c).to_physical() for c in roles]),
                  values.schema, None if pending is None else pending[1])


@dataclass
class WindowColumns:
    """The event rows inside the global window as contiguous arrays (``prepare``):
    ids (coded alike on both sides), days, dictionary codes, court events and each
    row's position in ``events.frame``; ``cat`` / ``court`` hold one zero without
    their column."""

    c_ids: np.ndarray
    e_ids: np.ndarray
    e_off: np.ndarray
    e_disp: np.ndarray
    typ: np.ndarray
    code: np.ndarray
    cat: np.ndarray
    court: np.ndarray
    position: np.ndarray
    dictionaries: dict[str, pl.Series]

    def histogram(self, st: Staged) -> tuple[np.ndarray, np.ndarray]:
        """Each event's hash partition (``NO_PART`` outside the global window) and the
        counts per (fixed chunk, partition)."""
        epart = np.empty(self.e_ids.size, np.uint16)
        with dynamic():
            hist: np.ndarray = grouping.event_histogram(
                self.e_ids, self.e_off, self.e_disp, np.int32(st.lo), np.int32(st.hi_off),
                np.int32(st.hi_disp), st.pbits, grouping.NCHUNK, epart)
        return epart, hist


def window_columns(st: Staged) -> WindowColumns:
    """The rows inside the global window, pruned in polars first: only the rows that
    can matter are copied out of the (often chunked) frame; the physical columns are
    filtered and rechunked in parallel, so that each ``to_numpy`` is a view."""
    ev = st.events_frame.with_row_index("__pos").filter(
        (pl.col("offence_date") >= st.lo) & (pl.col("offence_date") <= st.hi_off)
        & (pl.col("disposal_date") <= st.hi_disp)).rechunk()
    c_ids, e_ids = _id_arrays(st.cohort.data, ev)
    d: dict[str, pl.Series] = {}
    typ, d["disposal_type"] = _codes(ev["disposal_type"], st.schema["disposal_type"])
    code, d["offence_code"] = _codes(ev["offence_code"], st.schema["offence_code"])
    if st.has_cat:
        cat, d["offence_category"] = _codes(ev["offence_category"],
                                            st.schema["offence_category"])
    else:
        cat = np.zeros(1, np.uint32)
    court = (ev["court_event_id"].to_numpy().astype(np.int64, copy=False)
             if st.has_court else np.zeros(1, np.int64))
    # unsigned polars row indices in events.frame
    return WindowColumns(c_ids, e_ids, days(ev["offence_date"]), days(ev["disposal_date"]),
                         typ, code, cat, court, ev["__pos"].to_numpy(), d)


#: one piece of the event columns: (id, offence day, disposal day, type, code, category,
#: court event), the last two one zero without their column
Piece = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
              np.ndarray]


@dataclass
class EventPieces:
    """The event columns as zero-copy pieces (the one-call measure), with the cohort's
    ids coded like the events' and the dictionaries."""

    c_ids: np.ndarray
    pieces: list[Piece]
    dictionaries: dict[str, pl.Series]


def event_pieces(st: Staged, scratch: Arena | None) -> EventPieces:
    """The event columns as zero-copy views of the frame's chunks, cut into pieces of
    at most ``PIECE_ROWS`` rows (no window filter, no copy).  Chunks that differ between
    columns are aligned by one rechunk.  The rows at positions ``st.skip`` (exact
    duplicates) get an offence day before any window, in a copy of that one column, so
    that no pass counts them."""
    ev = st.events_frame
    roles = ev.columns
    c_type, e_type = st.cohort.data.schema["offender_id"], ev.schema["offender_id"]
    if c_type.is_integer() and e_type.is_integer():
        # integer ids are read from the chunks below: a contiguous copy of all event
        # ids (to_numpy of a chunked column) would cost a pass over 8 bytes a row
        c_ids = contiguous(st.cohort.data["offender_id"], None, scratch)
    else:
        c_ids, e_ids = _id_arrays(st.cohort.data, ev)
        ev = ev.with_columns(offender_id=pl.Series(e_ids))  # encoded: one array
    # one rechunk when the columns' chunks differ, or when there are so many small
    # chunks (a streamed or concatenated frame) that per-chunk calls would dominate
    if (len({tuple(ev[c].chunk_lengths()) for c in ev.columns}) > 1
            or ev.n_chunks() > max(64, ev.height // MIN_CHUNK_ROWS)):
        ev = ev.rechunk()
    d: dict[str, pl.Series] = {role: _category_names(st.schema[role])
         for role in ("disposal_type", "offence_code", "offence_category") if role in roles}
    none = np.zeros(1, np.uint32)
    off_all = None
    if st.skip is not None and st.skip.size:
        off_all = empty(scratch, ev.height, np.int32)
        pos = 0
        for c in ev["offence_date"].get_chunks():
            day = c.to_numpy()
            off_all[pos:pos + day.size] = day
            pos += day.size
        off_all[st.skip] = np.iinfo(np.int32).min
    cols = [ev[c] for c in roles]
    pieces: list[Piece] = []
    first = 0  # the chunk's first row in the frame
    for chunk in zip(*(c.get_chunks() for c in cols), strict=True):
        arrays = dict(zip(roles, (c.to_numpy() for c in chunk), strict=True))
        if off_all is not None:
            arrays["offence_date"] = off_all[first:first + arrays["offender_id"].size]
        first += arrays["offender_id"].size
        for a in range(0, arrays["offender_id"].size, PIECE_ROWS):
            b = a + PIECE_ROWS
            pieces.append((arrays["offender_id"][a:b], arrays["offence_date"][a:b],
                           arrays["disposal_date"][a:b], arrays["disposal_type"][a:b],
                           arrays["offence_code"][a:b],
                           arrays["offence_category"][a:b] if st.has_cat else none,
                           arrays["court_event_id"][a:b] if st.has_court else none))
    return EventPieces(c_ids, pieces, d)
