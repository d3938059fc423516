"""Rows per categorical code, and whether given codes occur: the vocabulary, category
and code checks of a measure (:mod:`pbr._measure_checks`) read the events' codes
without a group-by."""

from __future__ import annotations

import numpy as np
from numba import njit

#: interleaved counters: a column of few codes would otherwise make every increment
#: wait for the one before it (same counter, through memory); eight hide most of the
#: wait where one code holds most rows (a disposal type)
LANES = 8
#: the most codes counted in interleaved counters (their zeroing grows with the codes:
#: a categorical type shares its categories with every column of that type)
MAX_LANED = 4096


@njit(cache=True, nogil=True)
def count_codes(codes: np.ndarray, counts: np.ndarray) -> None:  # pragma: no cover
    """Add the number of rows of each code (``codes`` any unsigned integer type, every
    code below ``counts.size``) to ``counts``."""
    n = codes.size
    m = counts.size
    if m > MAX_LANED:  # many codes: consecutive rows seldom share a counter
        for i in range(n):
            counts[np.int64(codes[i])] += 1
        return
    lanes = np.zeros(LANES * m, np.int64)
    i = 0
    while i + LANES <= n:
        for k in range(LANES):
            lanes[k * m + np.int64(codes[i + k])] += 1
        i += LANES
    while i < n:
        lanes[np.int64(codes[i])] += 1
        i += 1
    for c in range(m):
        total = 0
        for k in range(LANES):
            total += lanes[k * m + c]
        counts[c] += total


@njit(cache=True, nogil=True)
def find_codes(codes: np.ndarray, wanted: np.ndarray, left: int) -> int:  # pragma: no cover
    """Clear ``wanted[code]`` for each wanted code that ``codes`` holds (``left`` of them
    still wanted), stopping once none is left; returns how many are still wanted."""
    for i in range(codes.size):
        c = np.int64(codes[i])
        if wanted[c]:
            wanted[c] = False
            left -= 1
            if left == 0:
                break
    return left
