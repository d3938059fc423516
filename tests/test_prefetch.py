"""The software prefetch intrinsic (pbr._kernels.prefetch) changes no value."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit
from numba.core.errors import TypingError

from pbr._kernels.prefetch import prefetch


@njit
def _gather(a, order):  # 1-d: prefetch 4 ahead, then read
    s = 0
    for i in range(order.size):
        if i + 4 < order.size:
            prefetch(a, order[i + 4])
        s += a[order[i]]
    return s


@njit
def _gather_rows(m, order):  # 2-d: an (i, j) tuple
    s = 0.0
    for i in range(order.size):
        if i + 2 < order.size:
            prefetch(m, (order[i + 2], 1))
        s += m[order[i], 1]
    return s


def test_prefetch_leaves_results_unchanged() -> None:
    rng = np.random.default_rng(3)
    a = rng.integers(0, 1000, 50_000)
    order = rng.permutation(a.size)
    assert _gather(a, order) == int(a.sum())
    m = rng.random((2_000, 3))
    rows = rng.permutation(m.shape[0])
    assert _gather_rows(m, rows) == pytest.approx(float(m[:, 1].sum()))


def test_prefetch_needs_an_index_per_dimension() -> None:
    @njit
    def wrong(m):
        prefetch(m, 0)

    with pytest.raises(TypingError):
        wrong(np.zeros((2, 2)))


@pytest.mark.parametrize("dtype", [np.uint32, np.int32, np.uint16, np.uint64])
def test_prefetch_takes_indices_of_any_integer_type(dtype: type) -> None:
    """Narrow index arrays (a uint32 slot map) as well as intp ones, mixed in a tuple."""
    rng = np.random.default_rng(5)
    m = rng.random((3_000, 2))
    rows = rng.permutation(m.shape[0]).astype(dtype)
    assert _gather_rows(m, rows) == pytest.approx(float(m[:, 1].sum()))
    a = rng.integers(0, 1000, 3_000)
    assert _gather(a, rows) == int(a.sum())


def test_prefetch_rejects_a_non_integer_index() -> None:
    @njit
    def wrong(a):
        prefetch(a, 1.5)

    with pytest.raises(TypingError):
        wrong(np.zeros(4))
