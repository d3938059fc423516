"""Where Numba caches pbr's compiled kernels: the user's cache directory, not the package.

Numba's default for ``@njit(cache=True)`` writes ``.nbi``/``.nbc`` files beside the
source, i.e. into ``site-packages/pbr/_kernels/__pycache__`` for an installed pbr.  pip
does not know those files, so uninstalling (or replacing a regular install with an
editable one) leaves a ``site-packages/pbr`` directory behind that Python then imports as
an empty namespace package, shadowing the real one.  This module puts a locator in front
of Numba's in-tree one, *for pbr's kernel files only*: their caches go to Numba's
user-wide cache directory (``~/.cache/numba`` on Linux), keyed by the source file's full
path, so separate installs never share a cache.  ``NUMBA_CACHE_DIR``, when set, still
wins; every other package's Numba functions are untouched.  Caching never changes a
result: a cache entry is used only for the same source file, stamp and signature.
"""

from __future__ import annotations

import os
from typing import Any

from numba.core import caching

__all__ = ["KernelCacheLocator", "install"]

_KERNELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_kernels")


class KernelCacheLocator(caching.UserWideCacheLocator):
    """Numba's user-wide cache locator, restricted to the files of ``pbr/_kernels``."""

    @classmethod
    def from_function(cls, py_func: Any, py_file: str) -> Any:
        if os.path.dirname(os.path.abspath(py_file)) != _KERNELS:
            return None
        return super().from_function(py_func, py_file)  # type: ignore[no-untyped-call]

    def get_source_stamp(self) -> Any:
        """The modification time and size of every kernel file, not the kernel's own
        file only: a kernel inlines functions of its sibling modules (the counting rules
        of ``rules.py`` above all), so an edit to any of them must recompile it."""
        stamps = []
        for name in sorted(os.listdir(_KERNELS)):
            if name.endswith(".py"):
                st = os.stat(os.path.join(_KERNELS, name))
                stamps.append((name, st.st_mtime, st.st_size))
        return tuple(stamps)


def install() -> bool:
    """Put :class:`KernelCacheLocator` after ``NUMBA_CACHE_DIR``'s locator (idempotent).

    Returns False (Numba's default locations stay in force) if this Numba version has no
    locator list to extend.

    Examples
    --------
    >>> install()
    True
    """
    classes = getattr(getattr(caching, "CacheImpl", None), "_locator_classes", None)
    if not isinstance(classes, list):  # pragma: no cover - depends on the Numba version
        return False
    if KernelCacheLocator not in classes:
        classes.insert(1, KernelCacheLocator)
    return True


install()
