"""Seeded bootstrap intervals for a difference or ratio of (weighted) means.

Two resampling schemes (Efron and Tibshirani 1993, ch. 6 and 13; Davison and Hinkley
1997, section 3.8 for clustered data):

* **offender level** (``clusters=None``): the cohort's offenders and the comparator's
  offenders are resampled separately with replacement (a stratified bootstrap), each
  keeping its weight;
* **cluster** (matched sets): ``clusters1`` / ``clusters0`` give the matched set of each
  cohort and comparator row; whole sets are resampled, keeping a treated offender with
  its matched controls (Austin and Small 2014, *Stat Med* 33:4306-4319).

Each replicate draws its units with ``numpy.random.Generator.integers`` (seeded with
``seed``; 256 replicates per call, the cohort's draws before the comparator's), so the
same seed gives the same bytes; the Numba kernel
:func:`pbr._kernels.resampling.gather_sums` adds up the resampled per-unit sums (2,000
replicates of 2 x 100,000 offenders: 2.7 s, against 31.8 s for multinomial counts and a
matrix product; benchmarks/inference.py).  The interval is the percentile interval; the
p-value is twice the smaller share of replicates on either side of the null (two-sided)
or the share on the wrong side (one-sided), floored at ``1 / (n_resamples + 1)``.  Where
every replicate is the same (no variation in the data, e.g. nobody reoffended against a
fixed baseline) the percentile interval would have zero width: the result has NaN limits
and a ``note`` instead.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from pbr._kernels.resampling import gather_sums
from pbr.errors import SmallSampleWarning, SpecError
from pbr.stats.interval import Interval, check_level

__all__ = ["bootstrap_interval", "bootstrap_replicates"]

CHUNK = 256


def _units(y: np.ndarray, w: np.ndarray, clusters: np.ndarray | None,
           keys: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Per-unit sums Σwy and Σw (one unit per offender, or per cluster key)."""
    if clusters is None or keys is None:
        return w * y, w.copy()
    pos = np.searchsorted(keys, clusters)
    return (np.bincount(pos, weights=w * y, minlength=keys.size),
            np.bincount(pos, weights=w, minlength=keys.size))


def _resampled_means(rng: np.random.Generator, k: int, a: np.ndarray, b: np.ndarray
                     ) -> np.ndarray:
    """``k`` replicates of Σa/Σb over ``a.size`` units drawn with replacement."""
    n = a.size
    dtype = np.uint32 if n < 2**32 else np.int64
    idx = rng.integers(0, n, size=(k, n), dtype=dtype)
    sa, sb = np.empty(k), np.empty(k)
    gather_sums(idx, a, b, sa, sb)
    with np.errstate(divide="ignore", invalid="ignore"):
        return sa / sb


def bootstrap_replicates(y1: np.ndarray, y0: np.ndarray | float, *,
                         w1: np.ndarray | None = None, w0: np.ndarray | None = None,
                         clusters1: np.ndarray | None = None,
                         clusters0: np.ndarray | None = None,
                         statistic: str = "difference", n_resamples: int = 2000,
                         seed: int = 0) -> np.ndarray:
    """The bootstrap replicates of the statistic (see :func:`bootstrap_interval`)."""
    if statistic not in ("difference", "ratio"):
        raise SpecError(f"statistic: 'difference' or 'ratio', got {statistic!r}")
    if not isinstance(n_resamples, int) or n_resamples < 10:
        raise SpecError(f"n_resamples: a whole number >= 10, got {n_resamples!r}")
    rng = np.random.default_rng(seed)
    y1 = np.asarray(y1, np.float64)
    w1 = np.ones_like(y1) if w1 is None else np.asarray(w1, np.float64)
    fixed = isinstance(y0, int | float)
    if (clusters1 is None) != (clusters0 is None) and not fixed:
        raise SpecError("clusters: give the matched set of both the cohort and the comparator")
    out = np.empty(n_resamples)
    if fixed or clusters1 is None:
        keys1 = np.unique(clusters1) if clusters1 is not None else None
        a1, b1 = _units(y1, w1, None if clusters1 is None else np.asarray(clusters1), keys1)
        parts = [(a1, b1)]
        if not fixed:
            yy0 = np.asarray(y0, np.float64)
            ww0 = np.ones_like(yy0) if w0 is None else np.asarray(w0, np.float64)
            parts.append((ww0 * yy0, ww0))
        for start in range(0, n_resamples, CHUNK):
            k = min(CHUNK, n_resamples - start)
            stats = [_resampled_means(rng, k, a, b) for a, b in parts]
            m0 = stats[1] if not fixed else float(y0)  # type: ignore[arg-type,unused-ignore]
            out[start:start + k] = stats[0] - m0 if statistic == "difference" \
                else stats[0] / m0
        return out
    c1, c0 = np.asarray(clusters1), np.asarray(clusters0)
    keys = np.unique(np.concatenate([c1, c0]))
    yy0 = np.asarray(y0, np.float64)
    ww0 = np.ones_like(yy0) if w0 is None else np.asarray(w0, np.float64)
    a1, b1 = _units(y1, w1, c1, keys)
    a0, b0 = _units(yy0, ww0, c0, keys)
    n = keys.size
    dtype = np.uint32 if n < 2**32 else np.int64
    for start in range(0, n_resamples, CHUNK):
        k = min(CHUNK, n_resamples - start)
        idx = rng.integers(0, n, size=(k, n), dtype=dtype)
        s1, t1, s0, t0 = np.empty(k), np.empty(k), np.empty(k), np.empty(k)
        gather_sums(idx, a1, b1, s1, t1)
        gather_sums(idx, a0, b0, s0, t0)
        with np.errstate(divide="ignore", invalid="ignore"):
            m1, m0 = s1 / t1, s0 / t0
        out[start:start + k] = m1 - m0 if statistic == "difference" else m1 / m0
    return out


def bootstrap_interval(y1: np.ndarray, y0: np.ndarray | float, *,
                       w1: np.ndarray | None = None, w0: np.ndarray | None = None,
                       clusters1: np.ndarray | None = None,
                       clusters0: np.ndarray | None = None,
                       statistic: str = "difference", n_resamples: int = 2000,
                       seed: int = 0, level: float = 0.95,
                       alternative: str = "two-sided") -> Interval:
    """Percentile bootstrap interval for the difference (or ratio) of weighted means.

    Parameters
    ----------
    y1, w1
        The cohort's per-offender values (reoffended as 0/1, reoffences, severity) and
        weights.
    y0, w0
        The comparator's values and weights, or a fixed baseline value.
    clusters1, clusters0
        Matched-set identifiers for a cluster bootstrap (both or neither).
    statistic
        ``"difference"`` (cohort minus comparator) or ``"ratio"``.
    n_resamples, seed
        Number of replicates and the seed of :func:`numpy.random.default_rng`.
    level, alternative
        Confidence level and sidedness.

    Examples
    --------
    >>> y1 = np.r_[np.ones(22), np.zeros(50)]; y0 = np.r_[np.ones(430), np.zeros(570)]
    >>> iv = bootstrap_interval(y1, y0, seed=1, n_resamples=1000)
    >>> round(iv.estimate, 4), iv.lower < iv.estimate < iv.upper
    (-0.1244, True)
    """
    check_level(level, alternative)
    reps = bootstrap_replicates(y1, y0, w1=w1, w0=w0, clusters1=clusters1,
                                clusters0=clusters0, statistic=statistic,
                                n_resamples=n_resamples, seed=seed)
    y1 = np.asarray(y1, np.float64)
    ww1 = np.ones_like(y1) if w1 is None else np.asarray(w1, np.float64)
    m1 = float(np.dot(ww1, y1) / ww1.sum())
    if isinstance(y0, int | float):
        m0 = float(y0)
    else:
        yy0 = np.asarray(y0, np.float64)
        ww0 = np.ones_like(yy0) if w0 is None else np.asarray(w0, np.float64)
        m0 = float(np.dot(ww0, yy0) / ww0.sum())
    est = m1 - m0 if statistic == "difference" else m1 / m0
    null = 0.0 if statistic == "difference" else 1.0
    good = reps[np.isfinite(reps)]
    kind = "cluster" if clusters1 is not None else "offender-level"
    name = f"bootstrap percentile ({kind}, {n_resamples} resamples, seed {seed})"
    if good.size < 2 or float(np.ptp(good)) == 0.0:
        note = ("no bootstrap interval: every resample gives the same value (no variation "
                "in the data)")
        warnings.warn(note, SmallSampleWarning, stacklevel=2)
        return Interval(est, math.nan, math.nan, level, alternative, name, None, None,
                        math.nan, null, note=note)
    tail = (1.0 - level) / 2.0 if alternative == "two-sided" else 1.0 - level
    lo = float(np.quantile(good, tail)) if alternative != "less" else -math.inf
    hi = float(np.quantile(good, 1.0 - tail)) if alternative != "greater" else math.inf
    below = float(np.mean(good <= null))
    above = float(np.mean(good >= null))
    floor = 1.0 / (good.size + 1)
    p = {"two-sided": min(1.0, 2.0 * min(below, above)), "less": above,
         "greater": below}[alternative]
    return Interval(est, lo, hi, level, alternative, name, float(np.std(good, ddof=1)), None,
                    max(p, floor), null)
