"""Exact strata, coarsened exact matching and subclass weights.

* Strata are the distinct combinations of the given columns, numbered in sorted order
  of their values (so the numbering never depends on row order).
* CEM (Iacus, King and Porro 2012): each numeric, non-binary covariate is cut into
  equal-width bins between its minimum and maximum (``bins``, or Sturges' number
  ``ceil(log2(n) + 1)``, the R ``cem`` default); other covariates are kept as they are;
  the strata of the coarsened values are the subclasses.
* Subclass weights for the ATT (MatchIt's ``weights.subclass``): units in a subclass
  with both groups are kept; treated units weigh 1; a control in subclass ``s`` weighs
  ``n_treated(s) / n_control(s)``, rescaled so that the matched controls' weights
  average 1.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

__all__ = ["coarsen", "stratum_codes", "subclass_weights"]


def stratum_codes(frame: pl.DataFrame, columns: tuple[str, ...] | list[str]) -> np.ndarray:
    """Integer code of each row's combination of ``columns`` (0, 1, ... in sorted order).

    Examples
    --------
    >>> df = pl.DataFrame({"a": ["y", "x", "y"], "b": [1, 1, 1]})
    >>> stratum_codes(df, ["a", "b"]).tolist()
    [1, 0, 1]
    """
    if not columns:
        return np.zeros(frame.height, np.int64)
    codes = frame.select(pl.struct([pl.col(c) for c in columns]).rank("dense").alias("s"))
    return codes["s"].to_numpy().astype(np.int64) - 1


def coarsen(frame: pl.DataFrame, covariates: tuple[str, ...], bins: int) -> pl.DataFrame:
    """The covariates with numeric, non-binary columns replaced by their bin number.

    Examples
    --------
    >>> df = pl.DataFrame({"age": [18, 19, 30, 41, 42], "sex": ["m", "f", "m", "m", "f"]})
    >>> coarsen(df, ("age", "sex"), 2)["age"].to_list()
    [0, 0, 1, 1, 1]
    """
    out = {}
    for c in covariates:
        s = frame[c]
        if not s.dtype.is_numeric() or s.n_unique() <= 2:
            out[c] = s
            continue
        x = s.cast(pl.Float64).to_numpy()
        k = bins or math.ceil(math.log2(max(x.size, 1)) + 1)
        lo, hi = float(np.min(x)), float(np.max(x))
        width = (hi - lo) / k
        b = np.floor((x - lo) / width).astype(np.int64) if width > 0 else np.zeros(x.size, int)
        out[c] = pl.Series(c, np.minimum(b, k - 1))
    return pl.DataFrame(out)


def subclass_weights(strata: np.ndarray, treated: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(subclass 1, 2, ... or 0 if the stratum lacks a group, ATT weight) per unit.

    Examples
    --------
    >>> sub, w = subclass_weights(np.array([0, 0, 0, 1, 1, 2]),
    ...                           np.array([1, 0, 0, 1, 0, 0], bool))
    >>> sub.tolist(), w.round(4).tolist()
    ([1, 1, 1, 2, 2, 0], [1.0, 0.75, 0.75, 1.0, 1.5, 0.0])
    """
    n_s = int(strata.max()) + 1 if strata.size else 0
    nt = np.bincount(strata[treated], minlength=n_s)
    nc = np.bincount(strata[~treated], minlength=n_s)
    keep = (nt > 0) & (nc > 0)
    number = np.zeros(n_s, np.int64)
    number[keep] = np.arange(1, int(keep.sum()) + 1)
    sub = number[strata]
    w = np.zeros(strata.size)
    kept = sub > 0
    w[kept & treated] = 1.0
    ctrl = kept & ~treated
    w[ctrl] = nt[strata[ctrl]] / nc[strata[ctrl]]
    if ctrl.any():
        w[ctrl] *= ctrl.sum() / math.fsum(w[ctrl])
    return sub, w
