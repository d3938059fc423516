"""Multiple-comparison corrections when many providers, areas or subgroups are tested.

``holm``: Holm (1979) step-down adjusted p-values (controls the family-wise error rate).
``bh``: Benjamini and Hochberg (1995) step-up adjusted p-values (controls the false
discovery rate).  Both are the adjusted p-values of R's ``p.adjust`` and statsmodels'
``multipletests``; a hypothesis is rejected at ``alpha`` when its adjusted p <= alpha.
Missing p-values (NaN) are left out of the family and stay NaN.
"""

from __future__ import annotations

import numpy as np

from pbr.errors import SpecError

__all__ = ["CORRECTIONS", "adjust_p", "benjamini_hochberg", "holm"]

CORRECTIONS = ("holm", "bh")


def holm(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values.

    Examples
    --------
    >>> holm(np.array([0.01, 0.04, 0.03])).tolist()
    [0.03, 0.06, 0.06]
    """
    return adjust_p(p, "holm")


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg step-up adjusted p-values.

    Examples
    --------
    >>> benjamini_hochberg(np.array([0.01, 0.04, 0.03])).tolist()
    [0.03, 0.04, 0.04]
    """
    return adjust_p(p, "bh")


def adjust_p(p: np.ndarray, method: str) -> np.ndarray:
    """Adjusted p-values by ``"holm"`` or ``"bh"`` (NaNs ignored and kept)."""
    if method not in CORRECTIONS:
        raise SpecError(f"correction: must be one of {', '.join(CORRECTIONS)} or None, "
                        f"got {method!r}")
    p = np.asarray(p, np.float64)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    m = q.size
    if m == 0:
        return out
    order = np.argsort(q, kind="stable")
    s = q[order]
    if method == "holm":
        adj = np.maximum.accumulate((m - np.arange(m)) * s)
    else:
        adj = np.minimum.accumulate(m / np.arange(m, 0, -1) * s[::-1])[::-1]
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out
