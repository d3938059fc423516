"""Civil-calendar arithmetic on int32 day numbers inside kernels.

The algorithms are Howard Hinnant's ``days_from_civil`` / ``civil_from_days`` (public
domain).  ``add_period`` adds whole months (clamped to the end of the target month)
and then whole days, matching :meth:`pbr.period.Period.add`; a property test keeps the
two in agreement.
"""

from __future__ import annotations

import numpy as np
from numba import njit

NULL_DAY = np.int32(np.iinfo(np.int32).min)


@njit(cache=True, inline="always")
def days_from_civil(y: int, m: int, d: int) -> int:
    y = y - 1 if m <= 2 else y
    era = y // 400
    yoe = y - era * 400
    mp = m - 3 if m > 2 else m + 9
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@njit(cache=True, inline="always")
def civil_from_days(z: int) -> tuple[int, int, int]:
    z = z + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    if m <= 2:
        y += 1
    return y, m, d


@njit(cache=True, inline="always")
def days_in_month(y: int, m: int) -> int:
    if m == 2:
        leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
        return 29 if leap else 28
    if m == 4 or m == 6 or m == 9 or m == 11:
        return 30
    return 31


def _month_starts(first_year: int, last_year: int) -> np.ndarray:
    years = np.arange(first_year, last_year + 2)
    months = (years[:, None] - 1970) * 12 + np.arange(12)[None, :]
    starts = months.ravel().astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    return starts[: (last_year - first_year + 1) * 12 + 1]


_FIRST_YEAR = 1800
_LAST_YEAR = 2299
#: Day number of the first day of each month from January 1800 (plus one sentinel).
MONTH_START = _month_starts(_FIRST_YEAR, _LAST_YEAR).astype(np.int32)
_LO_DAY = int(MONTH_START[0])
_HI_DAY = int(MONTH_START[-1])
_NMONTHS = MONTH_START.size - 1
_DAYS_PER_MONTH = 365.2425 / 12.0


@njit(cache=True, inline="always")
def _add_months_civil(day: int, months: int) -> int:
    y, m, d = civil_from_days(day)
    total = y * 12 + (m - 1) + months
    y2 = total // 12
    m2 = total - y2 * 12 + 1
    dim = days_in_month(y2, m2)
    return days_from_civil(y2, m2, d if d < dim else dim)


@njit(cache=True, inline="always")
def add_months(day: int, months: int, ms: np.ndarray) -> int:
    """Add calendar months, clamping to the end of the target month (lookup in the
    month-start table ``ms`` = MONTH_START for 1800-2299, civil arithmetic outside).

    The table is an argument, not a global: Numba re-materialises global arrays inside
    parallel regions, which made each call about 20 times slower."""
    if day < _LO_DAY or day >= _HI_DAY:
        return _add_months_civil(day, months)
    mi = int((day - _LO_DAY) / _DAYS_PER_MONTH)
    if mi >= _NMONTHS:
        mi = _NMONTHS - 1
    while ms[mi] > day:
        mi -= 1
    while ms[mi + 1] <= day:
        mi += 1
    target = mi + months
    if target < 0 or target + 1 > _NMONTHS:
        return _add_months_civil(day, months)
    dom = day - ms[mi]
    length = ms[target + 1] - ms[target]
    return ms[target] + (dom if dom < length else length - 1)


@njit(cache=True, inline="always")
def add_period(day: int, months: int, days: int, ms: np.ndarray) -> int:
    """Add ``months`` calendar months (end-of-month clamp), then ``days`` days."""
    if months != 0:
        day = add_months(day, months, ms)
    return day + days


@njit(cache=True)
def _add_period_array(days_in: np.ndarray, months: int, days: int, ms: np.ndarray
                      ) -> np.ndarray:
    out = np.empty(days_in.size, np.int32)
    for i in range(days_in.size):
        v = days_in[i]
        out[i] = NULL_DAY if v == NULL_DAY else add_period(v, months, days, ms)
    return out


def add_period_array(days_in: np.ndarray, months: int, days: int) -> np.ndarray:
    """Add a period to every day number of an int32 array (NULL_DAY stays NULL_DAY)."""
    return _add_period_array(days_in, months, days, MONTH_START)
