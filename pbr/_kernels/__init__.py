"""Numba kernels: arrays in, arrays out; numpy and numba only (layer 1).

Every kernel is a module-level ``@njit(cache=True)`` function (closures do not cache),
parallel loops run over offenders or fixed-size chunks so that the number of threads
never changes a result, and outputs are preallocated by the caller.
"""

from __future__ import annotations

from pbr import _numba_cache  # noqa: F401  (caches in the user cache dir, not the package)
