"""Cohort periods: calendar periods (quarters, 12 months, rolling windows, financial
years) and consecutive-N cohorts, as int32 day numbers.

Rules K3 and K5 of docs/methodology/cohorts.md (MoJ, *Guide to Proven Reoffending
Statistics*, 2019; [MoJ-PRS-Bulletins] for the MoJ calendars, [Disley-2011] for Peterborough's
1,000 consecutive releases).  A period is the half-open interval ``[start, end)``.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import numpy as np

from pbr.cohort.rule import CohortRule
from pbr.period import Period, date_to_day, day_to_date

__all__ = ["CalendarPeriods", "calendar_periods", "consecutive_cohorts", "first_n_labels"]

_LENGTH = {"quarter": Period(3, "months"), "12 months": Period(12, "months"),
           "rolling 12 months": Period(12, "months"), "financial_year": Period(12, "months")}


@dataclass(frozen=True)
class CalendarPeriods:
    """Periods ``[starts[k], ends[k])`` (int32 day numbers) with their labels."""

    starts: np.ndarray
    ends: np.ndarray
    labels: tuple[str, ...]

    def assign(self, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each day, the range ``[lo, hi)`` of periods that contain it (empty: none).

        Starts and ends both increase, so the periods holding a day are contiguous.
        """
        lo = np.searchsorted(self.ends, days, side="right")
        hi = np.searchsorted(self.starts, days, side="right")
        return lo.astype(np.int64), np.maximum(hi, lo).astype(np.int64)


def _first_start(rule: CohortRule, earliest: _dt.date) -> _dt.date:
    if rule.start is not None:
        return rule.start
    if rule.period == "financial_year":
        year = earliest.year if earliest.month >= 4 else earliest.year - 1
        return _dt.date(year, 4, 1)
    return _dt.date(earliest.year, 3 * ((earliest.month - 1) // 3) + 1, 1)


def _label(kind: str, start: _dt.date, end: _dt.date) -> str:
    last = end - _dt.timedelta(days=1)
    if kind == "quarter" and start.day == 1 and start.month in (1, 4, 7, 10):
        return f"{start.year}Q{(start.month - 1) // 3 + 1}"
    if kind == "financial_year" and (start.month, start.day) == (4, 1):
        return f"FY{start.year}/{(start.year + 1) % 100:02d}"
    return f"{start.isoformat()} to {last.isoformat()}"


def calendar_periods(rule: CohortRule, first_day: int, last_day: int) -> CalendarPeriods:
    """The calendar periods of a rule, given the earliest and latest eligible index days.

    The first period starts at ``rule.start`` or, when that is None, at the start of the
    quarter (financial year) holding ``first_day``.  Without ``rule.n_periods``, periods
    follow each other (every ``rule.rolling_step`` for rolling windows) until one starts
    after ``last_day``.

    Examples
    --------
    >>> import datetime
    >>> from pbr.period import date_to_day
    >>> p = calendar_periods(CohortRule(), date_to_day(datetime.date(2018, 2, 5)),
    ...                      date_to_day(datetime.date(2018, 4, 1)))
    >>> p.labels
    ('2018Q1', '2018Q2')
    """
    length = _LENGTH[rule.period]
    step = rule.rolling_step if rule.period == "rolling 12 months" else length
    start = _first_start(rule, day_to_date(first_day))
    starts: list[int] = []
    k = 0
    while True:
        shift = Period(step.n * k, step.unit)
        s = date_to_day(shift.add_date(start))
        if rule.n_periods is not None:
            if k >= rule.n_periods:
                break
        elif s > last_day:
            break
        starts.append(s)
        k += 1
    starts_arr = np.array(starts, dtype=np.int32)
    ends_arr = length.add(starts_arr) if starts else np.zeros(0, np.int32)
    labels = tuple(_label(rule.period, day_to_date(int(s)), day_to_date(int(e)))
                   for s, e in zip(starts_arr, ends_arr, strict=True))
    return CalendarPeriods(starts_arr, ends_arr, labels)


def first_n_labels(n: int) -> tuple[str, ...]:
    """Labels of consecutive-N cohorts: ``cohort 1``, ``cohort 2``, ...

    Examples
    --------
    >>> first_n_labels(2)
    ('cohort 1', 'cohort 2')
    """
    return tuple(f"cohort {k + 1}" for k in range(n))


def consecutive_cohorts(prev: np.ndarray, size: int, max_cohorts: int | None,
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Split an ordered sequence of eligible events into cohorts of ``size`` people.

    ``prev[i]`` is the position of the same person's previous event in the sequence
    (-1 for none).  A cohort starting at position ``s`` is closed right after the
    ``size``-th event whose person has no earlier event at or after ``s`` (the person's
    first event in that cohort); the next cohort starts at the following event, so a
    person can enter several cohorts.  The last cohort may be partial.

    Returns
    -------
    (segment, first)
        The cohort of each position (``-1``: after the last cohort) and whether the
        event is its person's first in that cohort.

    Examples
    --------
    >>> import numpy as np
    >>> prev = np.array([-1, 0, -1, -1, 1, 2])   # people a, a, b, c, a, b
    >>> seg, first = consecutive_cohorts(prev, 2, None)
    >>> seg.tolist(), first.tolist()
    ([0, 0, 0, 1, 1, 2], [True, False, True, True, True, True])
    """
    n = prev.size
    seg = np.full(n, -1, dtype=np.int64)
    first = np.zeros(n, dtype=bool)
    s, k = 0, 0
    while s < n and (max_cohorts is None or k < max_cohorts):
        width = 2 * size
        while True:
            new = prev[s:s + width] < s
            counts = np.cumsum(new)
            if (counts.size and counts[-1] >= size) or s + width >= n:
                break
            width *= 4
        full = bool(counts.size and counts[-1] >= size)
        e = s + int(np.searchsorted(counts, size)) + 1 if full else n
        seg[s:e] = k
        first[s:e] = prev[s:e] < s
        s, k = e, k + 1
    return seg, first
