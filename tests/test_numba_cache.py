"""pbr's kernels cache outside the installed package (see pbr/_numba_cache.py)."""

from __future__ import annotations

import os
from pathlib import Path

import numba
import pytest

import pbr
from pbr._kernels import grouping, matching, onepass, reoffending, resampling
from pbr._numba_cache import KernelCacheLocator

KERNELS = Path(pbr.__file__).parent / "_kernels"


@pytest.mark.parametrize("fn", [grouping.partition_cohort, reoffending._measure_grouped,
                                onepass._probe_measure, onepass.piece_scatter,
                                matching._lower_bound, resampling.gather_sums])
def test_kernel_caches_go_to_the_user_cache_not_the_package(fn: object) -> None:
    cache = fn._cache  # type: ignore[attr-defined]
    if os.environ.get("NUMBA_CACHE_DIR"):
        pytest.skip("NUMBA_CACHE_DIR set: Numba's own locator wins, as documented")
    assert isinstance(cache._impl.locator, KernelCacheLocator)
    assert not Path(cache._cache_path).resolve().is_relative_to(KERNELS.resolve())


def test_other_numba_functions_keep_numba_defaults(tmp_path: Path) -> None:
    assert KernelCacheLocator.from_function(lambda: None, str(tmp_path / "x.py")) is None
    assert numba.core.caching.CacheImpl._locator_classes.count(KernelCacheLocator) == 1
