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


@njit(cache=True, inline="always")
def add_period(day: int, months: int, days: int) -> int:
    """Add ``months`` calendar months (end-of-month clamp), then ``days`` days."""
    if months != 0:
        y, m, d = civil_from_days(day)
        total = y * 12 + (m - 1) + months
        y2 = total // 12
        m2 = total - y2 * 12 + 1
        dim = days_in_month(y2, m2)
        day = days_from_civil(y2, m2, d if d < dim else dim)
    return day + days


@njit(cache=True)
def add_period_array(days_in: np.ndarray, months: int, days: int) -> np.ndarray:
    out = np.empty(days_in.size, np.int32)
    for i in range(days_in.size):
        v = days_in[i]
        out[i] = NULL_DAY if v == NULL_DAY else add_period(v, months, days)
    return out
