"""The grouped layout: each cohort offender's events, contiguous, in cohort order.

:class:`Layout` is what the grouped measure kernel reads; :class:`pbr.prepare.Histories`
is its public face (the same fields, with ``measure`` and ``measure_arrays``).  The
values derived from a layout on first use (attribute ids, the kernel's visiting order,
the index-day span) live in a separate mutable :class:`Derived` cache, so that the
layout itself stays frozen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from pbr._kernels import ROWS_PER_CHUNK, dynamic, grouping, reoffending
from pbr._kernels.calendar import add_period_array
from pbr.data import Cohort, Custody, Events
from pbr.errors import SpecError
from pbr.period import Period
from pbr.spec import MeasureSpec

#: cohort rows per chunk of :attr:`Layout.measure_order` (saved with it by
#: :func:`pbr.io.save_histories`; a saved order of another chunk size is found again)
ORDER_CHUNK_ROWS = reoffending.CHUNK_ROWS


@dataclass
class Derived:
    """Values derived from a layout, found on first use or given when known (by
    ``prepare``, or read from saved histories).  ``None``: not found yet.
    ``dataclasses.replace`` on a layout shares this cache: pass ``derived=Derived()``
    when replacing any of its arrays."""

    attributes: tuple[np.ndarray, np.ndarray] | None = None
    measure_order: tuple[np.ndarray, np.ndarray] | None = None
    index_span: tuple[int, int] | None = None


@dataclass(frozen=True)
class Layout:
    """Events grouped by offender (see :class:`pbr.prepare.Histories` for the fields)."""

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
    derived: Derived = field(default_factory=Derived, repr=False, compare=False)

    @property
    def n_offenders(self) -> int:
        """Offenders in the cohort."""
        return int(self.index_day.size)

    @property
    def n_events(self) -> int:
        """Events kept (within some offender's window under the horizon)."""
        return int(self.offence_day.size)

    @property
    def attributes(self) -> tuple[np.ndarray, np.ndarray]:
        """Each event's (disposal type, offence code, offence category) as one id.

        ``(attribute, table)``: ``attribute[k]`` (uint32) is event ``k``'s id and
        ``table[a]`` the (type, code, category) dictionary codes of id ``a`` (category 0
        without an ``offence_category`` column), ids numbered in (type, code, category)
        order.  A spec's filters, weights and flags then take one small table per
        measure (:func:`pbr._engine.tables.attribute_tables`), and the kernel reads one
        array and makes one lookup per event instead of three arrays and six lookups.
        ``prepare`` computes it; a loaded Histories reads it or finds it on first use.
        """
        d = self.derived
        if d.attributes is None:
            d.attributes = attribute_ids(self.disposal_type, self.offence_code,
                                         self.offence_category, self.dictionaries)
        return d.attributes

    @property
    def measure_order(self) -> tuple[np.ndarray, np.ndarray]:
        """The order in which the measure kernel visits the offenders with events.

        ``(order, chunk_offsets)``: the kernel works in chunks of
        :data:`ORDER_CHUNK_ROWS` cohort rows, and chunk ``c``'s rows with at least one
        event are ``order[chunk_offsets[c]:chunk_offsets[c + 1]]``, fewest events first
        (row order within a count).  The loop over one offender's events then ends
        after the same number of steps as the last one's, which the CPU predicts, where
        in row order it mispredicted about once per offender.  It depends on the layout
        only, not on a spec.  ``prepare`` computes it; a loaded Histories reads it or
        finds it on first use.
        """
        d = self.derived
        if d.measure_order is None:
            d.measure_order = measure_order(self.offsets)
        return d.measure_order

    @property
    def index_span(self) -> tuple[int, int]:
        """First and last index day number (``(0, -1)`` for an empty cohort): where the
        kernels' per-index-day window tables start and end, found once per layout
        instead of by two passes over ``index_day`` per measured spec."""
        d = self.derived
        if d.index_span is None:
            idx = self.index_day
            d.index_span = (int(idx.min()), int(idx.max())) if idx.size else (0, -1)
        return d.index_span

    def covers(self, spec: MeasureSpec) -> bool:
        """Whether every offender's window under ``spec`` lies within the horizon."""
        f, w = spec.follow_up, spec.waiting_period
        hf, hw = self.follow_up, self.waiting_period
        # adding months then days is monotone in both, so a componentwise check suffices
        if (f.months <= hf.months and f.days <= hf.days and w.months <= hw.months
                and w.days <= hw.days):
            return True
        idx = self.index_day
        hz_end = add_period_array(idx, hf.months, hf.days)
        hz_wend = add_period_array(hz_end, hw.months, hw.days)
        end = add_period_array(idx, f.months, f.days)
        wend = add_period_array(end, w.months, w.days)
        return bool(np.all(end <= hz_end) and np.all(wend <= hz_wend))

    def check_horizon(self, spec: MeasureSpec) -> None:
        """Refuse a spec whose windows reach beyond the prepared horizon."""
        if spec.window == "before":
            raise SpecError(
                "window='before': prepared histories hold each offender's events from the "
                "index date on, so a window before it cannot be measured here; measure it "
                "with pbr.measure(cohort, events, spec)")
        if not self.covers(spec):
            raise SpecError(
                f"the spec's follow-up ({spec.follow_up}) and waiting period "
                f"({spec.waiting_period}) reach beyond the prepared horizon "
                f"({self.follow_up} + {self.waiting_period}); prepare again with horizon=spec")


def measure_order(offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The kernel's order of the rows with events (:attr:`Layout.measure_order`) for
    the grouped layout ``offsets``."""
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
    :attr:`Layout.attributes`.  The ids are the ranks of the keys present, so both
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


def group_custody(cohort: Cohort, custody: Custody
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    start = spells["start_date"].to_physical().to_numpy().astype(np.int32)
    end = spells["end_date"].to_physical().to_numpy().astype(np.int32)
    return offsets, start, end
