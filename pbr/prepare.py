"""``prepare()``: join events to their offenders once, into reusable :class:`Histories`.

The join of events to each offender's index date is the expensive step of every
measure; ``prepare`` does it once (a radix-partitioned hash join in Numba, see
:mod:`pbr._kernels.grouping`) and keeps only the events that can matter to a measure
with a follow-up and waiting period up to ``horizon``: events of cohort offenders with
an offence on or after the index date and within the horizon.  ``Histories.measure``
then evaluates any spec within that horizon in one pass over the grouped events.

Event accounting (``Histories.event_counts``) reconciles every input row::

    input = invalid + outside_all_windows + not_in_cohort + outside_offender_window + kept
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from pbr import _scratch
from pbr._kernels import ROWS_PER_CHUNK, dynamic, grouping, reoffending
from pbr._kernels.calendar import add_period_array
from pbr.data import Cohort, Custody, Events, align_custody, check_id_types
from pbr.errors import SchemaError, SpecError
from pbr.period import Period
from pbr.spec import MeasureSpec

__all__ = ["Histories", "prepare"]

def _horizon(h: MeasureSpec | tuple[Any, Any] | None) -> tuple[Period, Period]:
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


def _days(s: pl.Series, scratch: _scratch.Arena | None = None) -> np.ndarray:
    return _contiguous(s.to_physical(), np.dtype(np.int32), scratch)


def _contiguous(s: pl.Series, dtype: np.dtype[Any] | None, scratch: _scratch.Arena | None
                ) -> np.ndarray:
    """A null-free numeric series as one contiguous array of ``dtype``: a view of a
    single chunk, else the chunks copied into ``scratch`` memory when given (a
    temporary of the caller's: a parquet file's row groups make a chunked cohort, and
    ``to_numpy`` would copy into memory fresh from the system).  ``dtype`` None: the
    series' own."""
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


#: cohort rows per hash partition of the join, about, and the widest fan-out (2^8
#: partitions); interleaved runs: 2^9 / 2^10 partitions at 5M were 2% / 31% slower (the
#: scatter grows faster than the probe shrinks), 2^6 at 1M 14% slower
PARTITION_ROWS = 4096
MAX_PBITS = 8
#: rows per piece of the event columns in the one-pass measure (a polars chunk is cut
#: into pieces of at most this many rows, so that both threads have work)
PIECE_ROWS = 1 << 17
#: below this many rows per chunk on average the event columns are rechunked first
MIN_CHUNK_ROWS = 8192


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


@dataclass(frozen=True)
class Histories:
    """Events grouped by offender, ready to measure any spec within the horizon.

    Build with :func:`prepare`.  Offender ``r`` (row ``r`` of ``cohort.frame``) has
    events ``offsets[r]:offsets[r + 1]`` of the event columns, sorted by offence day,
    disposal day, court event and input position.  ``position`` holds each event's
    position in ``events.frame``.

    Examples
    --------
    >>> import pbr
    >>> data = pbr.synth.generate(200, seed=1)
    >>> h = pbr.prepare(data.cohort, data.events)
    >>> r1 = h.measure(pbr.preset("moj_national_2017"))
    >>> r2 = h.measure(pbr.preset("peterborough_sib"))
    >>> r1.summary()["n"][0] == r2.summary()["n"][0] == 200
    True
    """

    cohort: Cohort
    events: Events
    follow_up: Period
    waiting_period: Period
    index_day: np.ndarray
    offsets: np.ndarray
    offence_day: np.ndarray
    disposal_day: np.ndarray
    disposal_type: np.ndarray
    offence_code: np.ndarray
    offence_category: np.ndarray
    court_event: np.ndarray
    position: np.ndarray
    dictionaries: dict[str, pl.Series]
    event_counts: dict[str, int]
    custody: Custody | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_offenders(self) -> int:
        return int(self.index_day.size)

    @property
    def n_events(self) -> int:
        return int(self.offence_day.size)

    @functools.cached_property
    def attributes(self) -> tuple[np.ndarray, np.ndarray]:
        """Each event's (disposal type, offence code, offence category) as one id.

        ``(attribute, table)``: ``attribute[k]`` (uint32) is event ``k``'s id and
        ``table[a]`` the (type, code, category) dictionary codes of id ``a`` (category 0
        without an ``offence_category`` column), ids numbered in (type, code, category)
        order.  A spec's filters, weights and flags then take one small table per
        measure (:func:`pbr.measures.kernel_arrays`), and the kernel reads one array
        and makes one lookup per event instead of three arrays and six lookups.
        ``prepare`` computes it; a loaded Histories reads it or finds it on first use.
        """
        return attribute_ids(self.disposal_type, self.offence_code, self.offence_category,
                             self.dictionaries)

    @functools.cached_property
    def measure_order(self) -> tuple[np.ndarray, np.ndarray]:
        """The order in which the measure kernel visits the offenders with events.

        ``(order, chunk_offsets)``: the kernel works in chunks of
        :data:`pbr._kernels.reoffending.CHUNK_ROWS` cohort rows, and chunk ``c``'s rows
        with at least one event are ``order[chunk_offsets[c]:chunk_offsets[c + 1]]``,
        fewest events first (row order within a count).  The loop over one offender's
        events then ends after the same number of steps as the last one's, which the
        CPU predicts, where in row order it mispredicted about once per offender
        (docs/performance.md).  It depends on the layout only, not on a spec.
        ``prepare`` computes it; a loaded Histories reads it or finds it on first use.
        """
        return measure_order(self.offsets)

    @functools.cached_property
    def index_span(self) -> tuple[int, int]:
        """First and last index day number (``(0, -1)`` for an empty cohort): where the
        kernels' per-index-day window tables start and end, found once per Histories
        instead of by two passes over ``index_day`` per measured spec."""
        idx = self.index_day
        return (int(idx.min()), int(idx.max())) if idx.size else (0, -1)

    def covers(self, spec: MeasureSpec) -> bool:
        """Whether every offender's window under ``spec`` lies within the horizon."""
        f, w = spec.follow_up, spec.waiting_period
        hf, hw = self.follow_up, self.waiting_period
        # adding months then days is monotone in both, so a componentwise check suffices
        if (f.months <= hf.months and f.days <= hf.days and w.months <= hw.months
                and w.days <= hw.days):
            return True
        idx = self.index_day
        hz_end = add_period_array(idx, self.follow_up.months, self.follow_up.days)
        hz_wend = add_period_array(hz_end, self.waiting_period.months, self.waiting_period.days)
        end = add_period_array(idx, f.months, f.days)
        wend = add_period_array(end, w.months, w.days)
        return bool(np.all(end <= hz_end) and np.all(wend <= hz_wend))

    def measure_arrays(self, spec: MeasureSpec | str | None = None, *,
                       out: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """The kernel's raw per-offender arrays (cohort order), without building a frame.

        The fastest path for repeated evaluation (bootstraps, sensitivity runs):
        ``reoffences``, ``severity``, ``serious``, ``days_to_first`` (-1 if none),
        ``status`` (0 complete, 1 not measurable, 2 interim), ``unmapped`` and
        ``window_end`` (day number of the last disposal day that counts), and
        ``custody_days`` when the histories hold custody spells.

        ``out``: the dict a previous call returned, whose arrays are overwritten and
        returned again (every element is written).  A loop over many specs then touches
        no new memory: memory fresh from the operating system costs more to write than
        the kernel's own work on some machines (docs/performance.md).  Without ``out``
        the arrays are new to the caller, in memory lent from pbr's pool: it returns
        there once they are dropped (``pbr.release_memory()`` frees the pool).

        Examples
        --------
        >>> import pbr
        >>> data = pbr.synth.generate(200, seed=3)
        >>> h = pbr.prepare(data.cohort, data.events, ("24 months", "6 months"))
        >>> a = h.measure_arrays("moj_national_2017")
        >>> b = h.measure_arrays(pbr.preset("moj_national_2017", follow_up="24 months"),
        ...                      out=a)
        >>> b["reoffences"] is a["reoffences"]
        True
        """
        from pbr.measures import _spec, kernel_arrays

        spec = _spec(spec)
        self._check_horizon(spec)
        return kernel_arrays(self, spec, out)

    def _check_horizon(self, spec: MeasureSpec) -> None:
        if not self.covers(spec):
            raise SpecError(
                f"the spec's follow-up ({spec.follow_up}) and waiting period "
                f"({spec.waiting_period}) reach beyond the prepared horizon "
                f"({self.follow_up} + {self.waiting_period}); prepare again with horizon=spec")

    def measure(self, spec: MeasureSpec | str | None = None, *, engine: str = "numba") -> Any:
        """Measure ``spec`` (a MeasureSpec or a preset name) on these histories.

        ``engine="numba"`` runs the kernel on the grouped layout; ``engine="polars"``
        runs the plain polars reference implementation on the validated tables.
        """
        from pbr.measures import measure_histories

        return measure_histories(self, spec, engine=engine)

    def __repr__(self) -> str:
        return (f"Histories({self.n_offenders:,} offenders, {self.n_events:,} events within "
                f"{self.follow_up} + {self.waiting_period})")


#: the row rule the one-pass measure checks in its own pass (see ``_Stage``)
ORDER_RULE = ("disposal_before_offence",)


class _Stage:
    """Validated inputs as the join kernels' arrays: what ``prepare`` and the one-pass
    measure share (validation, the global window, the window filter in polars, codes
    and dictionaries, the partition width)."""

    def __init__(self, cohort: Any, events: Any, custody: Any, horizon: Any, *,
                 positions: bool, pieces: bool = False,
                 scratch: _scratch.Arena | None = None) -> None:
        self.raw_cohort, self.checked = cohort, isinstance(cohort, Cohort)
        # duplicate ids are found by the hash join, not by a separate pass
        self.cohort = cohort if self.checked else Cohort._validate(
            cohort, "offender_id", "index_date", "raise", check_duplicates=False)
        # the one-pass path checks disposal >= offence day in its histogram pass, which
        # reads both columns anyway (check_deferred; a failure validates again in full)
        self.raw_events = events
        self.deferred = ORDER_RULE if pieces and not isinstance(events, Events) else ()
        self.events = events = Events.from_frame(events, _defer=self.deferred)
        # the one-pass path reads the events before their exact duplicate rows are left
        # out (no copy of the frame) and skips those rows (Events._with_duplicates)
        pending = events._with_duplicates() if pieces else None
        values = events.data if pending is None else pending[0]
        check_id_types(self.cohort.data, values)  # rule J2, before any pruning
        self.custody = None if custody is None else Custody.from_frame(custody)
        if self.custody is not None:
            check_id_types(self.cohort.data, self.custody.data, "custody")
            self.custody = align_custody(self.cohort, self.custody)
        self.follow_up, self.waiting = follow_up, waiting = _horizon(horizon)
        # with ``scratch`` (the one-pass path: the cohort arrays die with the call) a
        # chunked cohort column is copied into reused memory
        self.scratch = scratch
        self.c_idx = c_idx = _days(self.cohort.data["index_date"], scratch)
        n = self.cohort.n
        self.fm, self.fd = follow_up.months, follow_up.days
        self.wm, self.wd = waiting.months, waiting.days
        # the first and last index day (0, -1 for an empty cohort), computed once
        self.idx_min, self.idx_max = (int(c_idx.min()), int(c_idx.max())) if n else (0, -1)
        if n == 0 or events.n == 0:
            self.lo, self.hi_off, self.hi_disp = 0, -1, -1
        else:  # adding a period is monotone, so the global window comes from min/max index
            ends = add_period_array(np.array([self.idx_min, self.idx_max], np.int32),
                                    self.fm, self.fd)
            self.lo, self.hi_off = self.idx_min, int(ends[1])
            self.hi_disp = int(add_period_array(ends[1:], self.wm, self.wd)[0])
        # prune to the global window in polars first: only the rows that can matter are
        # copied out of the (often chunked) frame into contiguous arrays; the physical
        # columns (codes, day numbers) are filtered and then rechunked in parallel, so
        # that each to_numpy below is a view
        roles = [c for c in ("offender_id", "offence_date", "disposal_date", "disposal_type",
                             "offence_code", "offence_category", "court_event_id")
                 if c in values.columns]
        schema = values.schema
        ev = values.select([pl.col(c).to_physical() for c in roles])
        self.has_cat = events.has_category
        self.has_court = events.has_court_event
        self.pbits = int(min(MAX_PBITS, max(1, round(np.log2(max(n, 1) / PARTITION_ROWS)))))
        self.pieces: list[tuple[np.ndarray, ...]] | None = None
        if pieces:
            self._pieces(ev, roles, schema, None if pending is None else pending[1])
            return
        if positions:
            ev = ev.with_row_index("__pos")
        ev = ev.filter((pl.col("offence_date") >= self.lo)
                       & (pl.col("offence_date") <= self.hi_off)
                       & (pl.col("disposal_date") <= self.hi_disp)).rechunk()
        # unsigned polars row indices in events.frame
        self.window_pos = ev["__pos"].to_numpy() if positions else np.zeros(0, np.int64)
        self.c_ids, self.e_ids = _id_arrays(self.cohort.data, ev)
        self.e_off = _days(ev["offence_date"])
        self.e_disp = _days(ev["disposal_date"])
        d: dict[str, pl.Series] = {}
        self.typ, d["disposal_type"] = _codes(ev["disposal_type"], schema["disposal_type"])
        self.code, d["offence_code"] = _codes(ev["offence_code"], schema["offence_code"])
        if self.has_cat:
            self.cat, d["offence_category"] = _codes(ev["offence_category"],
                                                     schema["offence_category"])
        else:
            self.cat = np.zeros(1, np.uint32)
        self.dictionaries = d
        self.court = (ev["court_event_id"].to_numpy().astype(np.int64, copy=False)
                      if self.has_court else np.zeros(1, np.int64))

    def _pieces(self, ev: pl.DataFrame, roles: list[str], schema: Any,
                skip: np.ndarray | None) -> None:
        """The event columns as zero-copy views of the frame's chunks, cut into pieces of
        at most ``PIECE_ROWS`` rows (no window filter, no copy): ``self.pieces`` holds
        one (id, offence day, disposal day, type, code, category, court) tuple per piece.
        Chunks that differ between columns are aligned by one rechunk.  The rows at
        positions ``skip`` (exact duplicates) get an offence day before any window, in a
        copy of that one column, so that no pass counts them."""
        c_type, e_type = self.cohort.data.schema["offender_id"], ev.schema["offender_id"]
        if c_type.is_integer() and e_type.is_integer():
            # integer ids are read from the chunks below: a contiguous copy of all event
            # ids (to_numpy of a chunked column) would cost a pass over 8 bytes a row
            self.c_ids = _contiguous(self.cohort.data["offender_id"], None, self.scratch)
        else:
            self.c_ids, e_ids = _id_arrays(self.cohort.data, ev)
            ev = ev.with_columns(offender_id=pl.Series(e_ids))  # encoded: one array
        # one rechunk when the columns' chunks differ, or when there are so many small
        # chunks (a streamed or concatenated frame) that per-chunk calls would dominate
        if (len({tuple(ev[c].chunk_lengths()) for c in ev.columns}) > 1
                or ev.n_chunks() > max(64, ev.height // MIN_CHUNK_ROWS)):
            ev = ev.rechunk()
        d: dict[str, pl.Series] = {}
        for role in ("disposal_type", "offence_code", "offence_category"):
            if role in roles:
                d[role] = _category_names(schema[role])
        self.dictionaries = d
        none = np.zeros(1, np.uint32)
        self.e_ids = self.e_off = self.e_disp = self.typ = self.code = np.zeros(0, np.int32)
        self.cat, self.court, self.window_pos = none, none, np.zeros(0, np.int64)
        off_all = None
        if skip is not None and skip.size:
            off_all = (np.empty if self.scratch is None else self.scratch.empty)(
                ev.height, np.int32)
            pos = 0
            for c in ev["offence_date"].get_chunks():
                days = c.to_numpy()
                off_all[pos:pos + days.size] = days
                pos += days.size
            off_all[skip] = np.iinfo(np.int32).min
        cols = [ev[c] for c in roles]
        pieces: list[tuple[np.ndarray, ...]] = []
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
                               arrays["offence_category"][a:b] if self.has_cat else none,
                               arrays["court_event_id"][a:b] if self.has_court else none))
        self.pieces = pieces

    def check_deferred(self, failed: bool) -> None:
        """After the caller's pass over every event row: if a deferred rule failed on
        some row, validate the raw events in full, which raises the error naming the
        row (``on_invalid="raise"``)."""
        if failed and self.deferred:
            Events.from_frame(self.raw_events)
            raise SchemaError(  # pragma: no cover - defensive: the full check raises
                "events: a disposal_date is before its offence_date")

    def release_events(self) -> None:
        """Drop the event pieces once they are scattered (views of the frame, or of its
        one rechunked copy, which is then freed before the probe allocates)."""
        self.pieces = None

    def partition_cohort(self, slot_to_row: bool, width: int = 2,
                         scratch: _scratch.Arena | None = None) -> tuple[np.ndarray, ...]:
        """:func:`pbr._kernels.grouping.partition_cohort` on this cohort (its arrays from
        ``scratch`` when given: temporaries of the caller's).  The map between rows and
        slots is uint32 whenever the cohort allows: half the memory of int64."""
        n = self.c_ids.size
        empty = np.empty if scratch is None else scratch.empty
        small = n <= np.iinfo(np.uint32).max
        rows, crec = empty(n, np.uint32 if small else np.int64), empty((n, width), np.int64)
        with dynamic():
            part_off = grouping.partition_cohort(self.c_ids, self.c_idx, self.pbits,
                                                 grouping.NCHUNK, slot_to_row,
                                                 empty(n, np.uint16), rows, crec)
        return part_off, rows, crec

    def histogram(self) -> tuple[np.ndarray, np.ndarray]:
        """Each event's hash partition (``NO_PART`` outside the global window) and the
        counts per (fixed chunk, partition)."""
        epart = np.empty(self.e_ids.size, np.uint16)
        with dynamic():
            hist: np.ndarray = grouping.event_histogram(
                self.e_ids, self.e_off, self.e_disp, np.int32(self.lo), np.int32(self.hi_off),
                np.int32(self.hi_disp), self.pbits, grouping.NCHUNK, epart)
        return epart, hist

    def horizon_tables(self) -> tuple[int, np.ndarray, np.ndarray]:
        """Horizon ends per index day from the first (offenders share few index dates):
        ``(base, last offence day, last disposal day)``, both inclusive."""
        base = self.idx_min
        days = np.arange(base, max(self.idx_max, base) + 1, dtype=np.int32)
        t_hi = add_period_array(days, self.fm, self.fd)
        return base, t_hi, add_period_array(t_hi, self.wm, self.wd)

    def raise_duplicate(self) -> None:
        if not self.checked:
            Cohort.from_frame(self.raw_cohort)  # raises the SchemaError naming the row
        raise SchemaError("cohort: offender_id appears more than once")  # pragma: no cover


def prepare(cohort: Any, events: Any, horizon: MeasureSpec | tuple[Any, Any] | None = None, *,
            custody: Any = None) -> Histories:
    """Validate the inputs and group each cohort offender's relevant events.

    Parameters
    ----------
    cohort, events
        :class:`~pbr.data.Cohort` / :class:`~pbr.data.Events`, or frames with pbr's
        column names (validated with ``on_invalid="raise"``).
    horizon
        The longest follow-up and waiting period that will be measured: a MeasureSpec or
        a ``(follow_up, waiting_period)`` pair. Default: 12 months + 6 months.
    custody
        Optional custody spells for bed-day outcomes.

    Returns
    -------
    Histories

    Examples
    --------
    >>> import pbr
    >>> data = pbr.synth.generate(100, seed=3)
    >>> pbr.prepare(data.cohort, data.events, ("24 months", "6 months")).n_offenders
    100
    """
    st = _Stage(cohort, events, custody, horizon, positions=True)
    cohort, events = st.cohort, st.events
    c_part_off, c_order, crec = st.partition_cohort(slot_to_row=True)
    epart, hist = st.histogram()
    # large outputs are allocated by numpy, which asks for huge pages: their first touch
    # costs several times less than in Numba's allocator
    start, e_part_off, s = grouping.chunk_starts(hist)
    b_key, b_off, b_disp = np.empty(s, np.int64), np.empty(s, np.int32), np.empty(s, np.int32)
    with dynamic():
        grouping.event_scatter(epart, start, st.e_ids, st.e_off, st.e_disp, b_key, b_off,
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
        grouping.fill_records(epart, start, dest, st.window_pos, st.e_off, st.e_disp, st.typ,
                              st.code, st.cat, st.court, st.has_cat, st.has_court, recs)
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
        extra["custody"] = _group_custody(cohort, st.custody)
    h = Histories(cohort, events, st.follow_up, st.waiting, st.c_idx, offsets, off, disp,
                  styp, scode, scat, scourt, pos, st.dictionaries, counts, st.custody, extra)
    h.__dict__["index_span"] = (st.idx_min, st.idx_max)  # known already (cached_property)
    _ = h.attributes  # part of preparing: every measure reads them
    _ = h.measure_order
    return h


#: cohort rows per chunk of :attr:`Histories.measure_order` (saved with it by
#: :func:`pbr.io.save_histories`; a saved order of another chunk size is found again)
ORDER_CHUNK_ROWS = reoffending.CHUNK_ROWS


def measure_order(offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The kernel's order of the rows with events (:attr:`Histories.measure_order`)
    for the grouped layout ``offsets``."""
    n = offsets.size - 1
    rows = np.empty((n + ORDER_CHUNK_ROWS - 1) // ORDER_CHUNK_ROWS, np.int64)
    with dynamic():
        reoffending.rows_with_events(offsets, rows)
    chunk_offsets = np.zeros(rows.size + 1, np.int64)
    np.cumsum(rows, out=chunk_offsets[1:])
    order = np.empty(int(chunk_offsets[-1]), np.uint32 if n <= 1 << 32 else np.int64)
    with dynamic():
        reoffending.order_by_count(offsets, chunk_offsets, order)
    return order, chunk_offsets


def attribute_ids(typ: np.ndarray, code: np.ndarray, cat: np.ndarray,
                  dictionaries: dict[str, pl.Series]) -> tuple[np.ndarray, np.ndarray]:
    """(attribute id per event, (type, code, category) per id): see
    :attr:`Histories.attributes`.  The ids are the ranks of the keys present, so both
    ways of numbering them (a dense table, or ``np.unique`` for key spaces larger than
    :data:`pbr._kernels.grouping.MAX_DENSE_ATTRIBUTES`) give the same ids."""
    has_cat = "offence_category" in dictionaries
    n_code = max(len(dictionaries["offence_code"]), 1)
    n_cat = max(len(dictionaries["offence_category"]), 1) if has_cat else 1
    n_keys = max(len(dictionaries["disposal_type"]), 1) * n_code * n_cat
    out = np.empty(typ.size, np.uint32)
    if n_keys <= grouping.MAX_DENSE_ATTRIBUTES:
        seen = np.zeros(n_keys, np.uint8)
        with dynamic(ROWS_PER_CHUNK):
            grouping.mark_attributes(typ, code, cat, has_cat, n_code, n_cat, seen)
        ids, table = grouping.number_attributes(seen, n_code, n_cat)
        with dynamic(ROWS_PER_CHUNK):
            grouping.map_attributes(typ, code, cat, has_cat, n_code, n_cat, ids, out)
        return out, table
    key = (typ.astype(np.int64) * n_code + code) * n_cat
    if has_cat:
        key += cat
    uniq, inverse = np.unique(key, return_inverse=True)
    out[:] = inverse
    table = np.stack([uniq // (n_code * n_cat), (uniq // n_cat) % n_code, uniq % n_cat],
                     axis=1).astype(np.int64)
    return out, table


def _group_custody(cohort: Cohort, custody: Custody) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Custody spells of cohort offenders grouped by cohort row, sorted by start day:
    (offsets[n + 1], start_day, end_day)."""
    rows = cohort.frame.select("offender_id").with_row_index("__crow")
    spells = (custody.frame.select("offender_id", "start_date", "end_date")
              .join(rows, on="offender_id", how="inner")
              .sort(["__crow", "start_date", "end_date"]))
    crow = spells["__crow"].to_numpy().astype(np.int64)
    counts = np.bincount(crow, minlength=cohort.n)
    offsets = np.zeros(cohort.n + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets, _days(spells["start_date"]).copy(), _days(spells["end_date"]).copy()
