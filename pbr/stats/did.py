"""Difference in differences: the change in a cohort against the change in a comparison group.

The design of the Rikers Island ABLE social impact bond evaluation (Vera Institute of
Justice 2015; Rudd et al., MDRC 2013): the programme group's outcome before and after,
against a comparison group not eligible for the programme (there, 19-year-olds) over the
same periods.  Four cells, each a set of per-person values ``y`` with weights ``w``
(all ones when unweighted): treated before (``tp``), treated after (``tq``), control
before (``cp``) and control after (``cq``).  Each cell's mean is ``m = Σwy / Σw``.

``form="additive"``
    ``(m_tq - m_tp) - (m_cq - m_cp)``, null 0.
``form="ratio"``
    ``(m_tq / m_tp) / (m_cq / m_cp)``, null 1; the interval is formed for the log of the
    ratio and exponentiated (delta method: ``var(log m) = var(m) / m²``).

Standard errors (the four cells independent; docs/methodology/difference-in-differences.md):

``kind="mean"`` (bed days, reoffences per person)
    ``var(m) = n/(n-1) · Σw²(y-m)² / (Σw)²`` per cell, the weighted-mean sandwich of
    :func:`pbr.stats.group_mean` (``s²/n`` unweighted: the HC2 standard error of the
    interaction in the saturated OLS model ``y ~ treated * post``, MacKinnon and White
    1985).  Interval and test: Student t with Welch-Satterthwaite degrees of freedom over
    the four cells (Kish's effective sizes), as :func:`pbr.stats.diff_means`.
``kind="rate"`` (0/1 per person: reoffended or not)
    ``var(p) = Σw²(y-p)² / (Σw)²`` per cell (``p(1-p)/n`` unweighted, the OLS HC0 form,
    as :func:`pbr.stats.diff_proportions` uses); normal interval and z-test.  The normal
    approximation is only used where every cell has ``n·p >= 5`` and ``n·(1-p) >= 5``
    (Brown, Cai and DasGupta 2001; :func:`pbr.stats.normal_approximation_problem`), ``n``
    the weighted effective size.  Where a cell fails it, ``small_sample="switch"`` (the
    default) uses the square-and-add (MOVER) interval built from the four cells' Wilson
    score intervals (Newcombe 2001 for the difference between differences; Zou and
    Donner 2008 on the log scale for the ratio), whose p-value is the level at which the
    interval just reaches the null; the ``method`` names it, the ``note`` says why and a
    :class:`~pbr.errors.SmallSampleWarning` is issued.  ``small_sample="error"`` raises.

``paired=True``: the same people measured before and after (``treated_pre[i]`` and
``treated_post[i]`` are one person).  Each group's variance is then that of the
per-person change, ``n/(n-1) · Σw²(d-d̄)² / (Σw)²`` for means (``var(d)/n``
unweighted; the change on the log scale for the ratio form), ``Σw²(d-d̄)²/(Σw)²`` for
rates; a person's weight must be the same before and after.  The Wilson square-and-add
interval assumes independent cells, so a paired rate DiD failing the small-sample rule
is not assessed (NaN limits and a note).

``clusters=``: a label per person in each cell (a person id where people appear in
several cells, a matched set, a wing or an area; equal labels in different cells are one
cluster).  The variance is then the cluster-robust CR1 sandwich of ``y ~ treated * post``
(Liang and Zeger 1986; ``sandwich::vcovCL``'s default adjustment
``G/(G-1) · (N-1)/(N-4)``, as :func:`pbr.estimate_effect` uses for matched pairs), with
``G - 1`` t degrees of freedom for means (Cameron and Miller 2015) and a normal interval
for rates; a rate DiD failing the small-sample rule is then not assessed.

No interval is formed (NaN limits and p-value, a ``note`` and a
:class:`~pbr.errors.SmallSampleWarning`) where the standard error is zero or undefined
(a cell of one person for ``kind="mean"``, every value the same) or, in the ratio form,
where a cell's mean is 0 (nobody reoffended: its log is undefined).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize as _opt
from scipy import stats as _st

from pbr.errors import SmallSampleWarning, SpecError
from pbr.stats.interval import Interval, check_level, p_from_z
from pbr.stats.proportions import normal_approximation_problem

__all__ = ["diff_in_diff"]

KINDS = ("mean", "rate")
FORMS = ("additive", "ratio")
SMALL_SAMPLE = ("switch", "error")
_CELLS = ("treated_pre", "treated_post", "control_pre", "control_post")
#: sign of each cell's mean (or log mean) in the estimate: + tq - tp - cq + cp
_SIGN = {"treated_pre": -1.0, "treated_post": 1.0, "control_pre": 1.0, "control_post": -1.0}
#: the largest |z| searched when a MOVER interval is inverted for its p-value
_Z_MAX = 38.0


@dataclass(frozen=True)
class _Cell:
    name: str
    y: np.ndarray          # values of the people with positive weight
    w: np.ndarray          # their weights
    mean: float
    n: int
    n_eff: float           # Kish (Σw)² / Σw²
    labels: np.ndarray | None = None   # cluster of each person (clusters=)

    @property
    def infl(self) -> np.ndarray:
        """Each person's term in the mean's sandwich: ``w(y - m) / Σw``."""
        return self.w * (self.y - self.mean) / float(self.w.sum())


def _values(a: Any, name: str, kind: str) -> np.ndarray:
    try:
        y = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SpecError(f"{name}: needs numbers, one per person (an array, list or "
                        f"Series), got {type(a).__name__}: {exc}") from None
    if y.ndim != 1:
        raise SpecError(f"{name}: needs a one-dimensional array of per-person values, got "
                        f"shape {y.shape}")
    if y.size == 0:
        raise SpecError(f"{name}: has no people; each of treated_pre, treated_post, "
                        "control_pre and control_post needs at least one value")
    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size:
        i = int(bad[0])
        raise SpecError(f"{name}: value {float(y[i])!r} at position {i} is not finite; drop or "
                        "impute the missing values before the comparison")
    if kind == "rate":
        odd = np.flatnonzero((y != 0.0) & (y != 1.0))
        if odd.size:
            i = int(odd[0])
            raise SpecError(f"{name}: kind='rate' needs 0 or 1 per person (reoffended or "
                            f"not), got {float(y[i])!r} at position {i}; for counts or bed days "
                            "use kind='mean'")
    return y


def _weights(weights: Any) -> tuple[Any, Any, Any, Any]:
    if weights is None:
        return (None, None, None, None)
    if isinstance(weights, np.ndarray) or not isinstance(weights, Sequence) \
            or isinstance(weights, str) or len(weights) != 4:
        raise SpecError("weights: a tuple of four (treated_pre, treated_post, control_pre, "
                        "control_post weights), each an array or None for unit weights; "
                        f"got {type(weights).__name__}"
                        + (f" of length {len(weights)}" if hasattr(weights, "__len__") else ""))
    return (weights[0], weights[1], weights[2], weights[3])


def _weight_array(w: Any, n: int, name: str) -> np.ndarray:
    if w is None:
        return np.ones(n)
    try:
        arr = np.asarray(w, dtype=np.float64)
    except (TypeError, ValueError):
        raise SpecError(f"{name}: needs numbers, one weight per person, got "
                        f"{type(w).__name__}") from None
    if arr.shape != (n,):
        raise SpecError(f"{name}: {arr.size} weights for {n} people; give one weight per "
                        "value, in the same order")
    bad = np.flatnonzero(~np.isfinite(arr) | (arr < 0))
    if bad.size:
        i = int(bad[0])
        raise SpecError(f"{name}: weight {float(arr[i])!r} at position {i}; weights must be "
                        "finite and >= 0 (0 leaves the person out)")
    if not np.any(arr > 0):
        raise SpecError(f"{name}: every weight is 0, so the cell has nobody in it; give "
                        "at least one positive weight or None for unit weights")
    return arr


def _cell(y: np.ndarray, w: np.ndarray, name: str, labels: np.ndarray | None = None
          ) -> _Cell:
    keep = w > 0
    y, w = y[keep], w[keep]
    sw = float(w.sum())
    return _Cell(name, y, w, float(np.dot(w, y) / sw), int(y.size),
                 sw * sw / float(np.dot(w, w)), None if labels is None else labels[keep])


def _cluster_labels(clusters: Any, sizes: Sequence[int]) -> list[np.ndarray]:
    if isinstance(clusters, np.ndarray) or not isinstance(clusters, Sequence) \
            or isinstance(clusters, str) or len(clusters) != 4:
        raise SpecError("clusters: a tuple of four (treated_pre, treated_post, "
                        "control_pre, control_post cluster labels), each an array with "
                        "one label per person, e.g. a person id or a matched set id; got "
                        f"{type(clusters).__name__}")
    out = []
    for i, (c, n, name) in enumerate(zip(clusters, sizes, _CELLS, strict=True)):
        where = f"clusters[{i}] ({name})"
        if c is None:
            raise SpecError(f"{where}: is None; give a label for every person (their own "
                            "id where they share a cluster with nobody)")
        arr = np.asarray(c)
        if arr.shape != (n,):
            raise SpecError(f"{where}: {arr.size} labels for {n} people; give one label "
                            "per value, in the same order")
        missing = [j for j, x in enumerate(arr.tolist()) if x is None or x != x]
        if missing:
            raise SpecError(f"{where}: label {arr.tolist()[missing[0]]!r} at position "
                            f"{missing[0]} is missing; every person needs a cluster label")
        out.append(arr)
    if len({a.dtype.kind in "biuf" for a in out}) > 1:
        raise SpecError("clusters: some cells have numeric labels and others text; equal "
                        "labels must be the same value in every cell, so use one type "
                        "(all integers or all strings)")
    return out


def _not_assessed(estimate: float, why: str, level: float, alternative: str, method: str,
                  null: float, se: float | None = None) -> Interval:
    warnings.warn(f"no interval: {why}", SmallSampleWarning, stacklevel=3)
    return Interval(float(estimate), math.nan, math.nan, float(level), alternative, method,
                    se, math.nan, math.nan, float(null), note=f"no interval: {why}")


def _wilson_z(p: float, n: float, z: float) -> tuple[float, float]:
    """Wilson (1927) score limits for a proportion at the normal quantile ``z``."""
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / denom
    half = z * math.sqrt(max(p * (1.0 - p), 0.0) / n + z * z / (4.0 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _mover(cells: Sequence[_Cell], sizes: Sequence[float], z: float, log: bool
           ) -> tuple[float, float]:
    """Square-and-add limits of ``Σ c·θ_g`` from each cell's Wilson limits at ``z``."""
    theta = lo_sq = hi_sq = 0.0
    for c, n in zip(cells, sizes, strict=True):
        s = _SIGN[c.name]
        lw, uw = _wilson_z(c.mean, n, z)
        p = c.mean
        if log:
            p, lw, uw = math.log(p), math.log(lw), math.log(uw)
        theta += s * p
        below, above = p - lw, uw - p
        if s > 0:
            lo_sq += below * below
            hi_sq += above * above
        else:
            lo_sq += above * above
            hi_sq += below * below
    return theta - math.sqrt(lo_sq), theta + math.sqrt(hi_sq)


def _mover_interval(cells: Sequence[_Cell], sizes: Sequence[float], theta: float,
                    log: bool, level: float, alternative: str) -> tuple[float, float, float]:
    """MOVER limits (on the estimate's scale: log for ratios) and the signed z at which
    the two-sided-per-tail interval just reaches the null (0 on either scale)."""
    tail = (1.0 - level) / 2.0 if alternative == "two-sided" else 1.0 - level
    z = float(_st.norm.isf(tail))
    lo, hi = _mover(cells, sizes, z, log)
    if theta == 0.0:
        stat = 0.0
    else:
        # the bound on the null's side moves monotonically towards it as z grows
        def gap(zz: float) -> float:
            lim = _mover(cells, sizes, zz, log)
            return lim[0] if theta > 0 else -lim[1]
        # an interval excluding the null even at |z| = 38 has p < 1e-300: stop there
        root = _Z_MAX if gap(_Z_MAX) > 0 else float(_opt.brentq(gap, 0.0, _Z_MAX,
                                                                 xtol=1e-12))
        stat = math.copysign(root, theta)
    if alternative == "less":
        lo = -math.inf
    elif alternative == "greater":
        hi = math.inf
    return lo, hi, stat


def diff_in_diff(treated_pre: Any, treated_post: Any, control_pre: Any, control_post: Any,
                 *, kind: str = "mean", form: str = "additive",
                 weights: Sequence[Any] | None = None, paired: bool = False,
                 clusters: Sequence[Any] | None = None, level: float = 0.95,
                 alternative: str = "two-sided",
                 small_sample: str = "switch") -> Interval:
    """Difference in differences of four groups' means or rates, with its interval.

    Parameters
    ----------
    treated_pre, treated_post
        Per-person values of the programme group before and after (bed days or
        reoffences per person for ``kind="mean"``; 0/1 for ``kind="rate"``).
    control_pre, control_post
        The comparison group's values over the same two periods.
    kind
        ``"mean"`` (t interval, per-cell variance ``s²/n``) or ``"rate"`` (0/1 values;
        normal interval with ``p(1-p)/n``, the small-sample rule below).
    form
        ``"additive"``: ``(T_post - T_pre) - (C_post - C_pre)``, null 0;
        ``"ratio"``: ``(T_post / T_pre) / (C_post / C_pre)``, null 1, interval on the log
        scale (delta method).
    weights
        ``(w_treated_pre, w_treated_post, w_control_pre, w_control_post)``, each an array
        of per-person weights >= 0 (e.g. matching weights) or None for unit weights.
    paired
        The same people before and after: ``treated_pre[i]`` and ``treated_post[i]`` are
        one person (so are the control arrays); the variance is that of each person's
        change.  Weights must then be equal before and after.
    clusters
        ``(labels_treated_pre, labels_treated_post, labels_control_pre,
        labels_control_post)``: a cluster label per person (a person id where people
        appear in several cells, a matched set, a wing or an area).  Equal labels in any
        cells are one cluster: the cluster-robust (CR1) variance, as
        ``sandwich::vcovCL`` of ``y ~ treated * post``, with ``G - 1`` t degrees of
        freedom for means (``G`` clusters).  Not with ``paired=True`` (the pairing is
        then ``clusters`` with the person's id).
    level, alternative
        Confidence level (e.g. 0.95) and sidedness: ``"less"`` asks whether the
        programme group's change is below the comparison group's (an upper bound only;
        the lower limit is ``-inf``, or 0 for a ratio).
    small_sample
        ``kind="rate"`` where a cell has fewer than 5 expected events or non-events:
        ``"switch"`` (default) to the Wilson square-and-add interval, with the reason in
        the ``note``; ``"error"`` raises :class:`~pbr.errors.SpecError`.

    Returns
    -------
    Interval
        ``estimate`` the difference in differences (or ratio of ratios), ``se`` on the
        additive or log scale, ``statistic`` t or z, ``p_value`` against ``null``.

    Raises
    ------
    SpecError
        An empty or non-finite array, a rate value other than 0 or 1, weights that are
        negative, not finite, all zero or of the wrong length, a ratio of negative means,
        paired arrays of different lengths, cluster labels missing or of the wrong length,
        ``clusters`` with ``paired=True``, an unknown option.

    Examples
    --------
    Bed days per person: the programme group fell by 4 (from 10 to 6), the comparison
    group by 1 (from 8 to 7), so the difference in differences is -3.

    >>> iv = diff_in_diff([8, 12, 10], [4, 8, 6], [6, 8, 10], [5, 7, 9])
    >>> iv.estimate, round(iv.se, 4), round(iv.lower, 4), round(iv.upper, 4)
    (-3.0, 2.3094, -8.3255, 2.3255)
    >>> rr = diff_in_diff([8, 12, 10], [4, 8, 6], [6, 8, 10], [5, 7, 9], form="ratio")
    >>> round(rr.estimate, 4)
    0.6857
    """
    check_level(level, alternative)
    if kind not in KINDS:
        raise SpecError(f"kind: 'mean' (values per person, e.g. bed days) or 'rate' (0/1 "
                        f"per person), got {kind!r}")
    if form not in FORMS:
        raise SpecError(f"form: 'additive' (difference of changes) or 'ratio' (ratio of "
                        f"ratios), got {form!r}")
    if small_sample not in SMALL_SAMPLE:
        raise SpecError(f"small_sample: 'switch' or 'error', got {small_sample!r}")
    if not isinstance(paired, bool):
        raise SpecError(f"paired: True or False, got {paired!r}")
    ys = [_values(a, name, kind) for a, name in
          zip((treated_pre, treated_post, control_pre, control_post), _CELLS, strict=True)]
    ws = [_weight_array(w, y.size, f"weights[{i}] ({name})")
          for i, (w, y, name) in enumerate(zip(_weights(weights), ys, _CELLS, strict=True))]
    if paired:
        for g, (a, b) in (("treated", (0, 1)), ("control", (2, 3))):
            if ys[a].size != ys[b].size:
                raise SpecError(f"paired=True: {_CELLS[a]} has {ys[a].size} people and "
                                f"{_CELLS[b]} {ys[b].size}; paired arrays hold the same "
                                f"people in the same order (or pass paired=False for "
                                f"independent {g} samples)")
            if not np.array_equal(ws[a], ws[b]):
                raise SpecError(f"paired=True: weights[{a}] ({_CELLS[a]}) and weights[{b}] "
                                f"({_CELLS[b]}) differ; a person has one weight, so pass "
                                "the same array for both periods")
    labels: list[np.ndarray] | list[None] = [None] * 4
    if clusters is not None:
        if paired:
            raise SpecError("clusters: not with paired=True; paired=True already treats "
                            "each person's before and after values as one cluster (pass "
                            "one of the two)")
        labels = _cluster_labels(clusters, [y.size for y in ys])
    cells = [_cell(y, w, name, lab)
             for y, w, name, lab in zip(ys, ws, _CELLS, labels, strict=True)]
    tp, tq, cp, cq = cells
    weighted = weights is not None and any(w is not None for w in weights)
    clustered = clusters is not None
    ratio = form == "ratio"
    null = 1.0 if ratio else 0.0
    how = ("t" if clustered else "welch t") if kind == "mean" else "normal"
    how += " (weighted)" if weighted else ""
    design = "paired, " if paired else "clustered (CR1), " if clustered else ""
    method = (f"difference in differences, {design}{form}, {how}"
              + (", log scale" if ratio else ""))

    if ratio:
        if kind == "mean":
            neg = [c for c in cells if c.mean < 0]
            if neg:
                raise SpecError(f"form='ratio': the mean of {neg[0].name} is "
                                f"{neg[0].mean:.6g}; a ratio of ratios needs non-negative "
                                "outcomes (counts, bed days); use form='additive'")
        den = tp.mean * cq.mean
        estimate = tq.mean * cp.mean / den if den > 0 else math.nan
        zero = [c.name for c in cells if c.mean == 0.0]
        if zero:
            return _not_assessed(
                estimate, f"the mean of {', '.join(zero)} is 0, so the ratio of ratios "
                "has no log-scale interval (a ratio with nothing in a cell); use "
                "form='additive'", level, alternative, method, null)
        theta = sum(_SIGN[c.name] * math.log(c.mean) for c in cells)
    else:
        estimate = (tq.mean - tp.mean) - (cq.mean - cp.mean)
        theta = estimate

    # variance components, one per independent sample, with their t degrees of freedom
    def scale(c: _Cell) -> float:
        return c.mean if ratio else 1.0

    def factor(n: int) -> float:
        if kind == "rate":
            return 1.0
        return n / (n - 1.0) if n > 1 else math.nan

    n_clusters = 0
    if clustered:
        # each person's term in the estimate, summed within clusters (CR1: G/(G-1) and
        # (N-1)/(N-4), the 4 coefficients of y ~ treated * post; sandwich::vcovCL)
        phi = np.concatenate([_SIGN[c.name] * c.infl / scale(c) for c in cells])
        try:
            _, gi = np.unique(np.concatenate([c.labels for c in cells]),
                              return_inverse=True)
        except TypeError:
            raise SpecError("clusters: labels of mixed types that cannot be compared; use "
                            "one type (all integers or all strings)") from None
        n_clusters, n_obs = int(gi.max()) + 1, int(phi.size)
        u = np.bincount(gi, weights=phi, minlength=n_clusters)
        adj = (n_clusters / (n_clusters - 1.0) * (n_obs - 1.0) / (n_obs - 4.0)
               if n_clusters > 1 and n_obs > 4 else math.nan)
        comps = [(adj * float(np.dot(u, u)), n_clusters - 1.0)]
    elif paired:
        comps = []
        for pre, post in ((tp, tq), (cp, cq)):
            d = post.infl / scale(post) - pre.infl / scale(pre)
            comps.append((factor(pre.n) * float(np.dot(d, d)), pre.n_eff - 1.0))
    else:
        comps = [(factor(c.n) * float(np.dot(c.infl, c.infl)) / scale(c) ** 2, c.n_eff - 1.0)
                 for c in cells]
    var = sum(v for v, _ in comps)
    se = math.sqrt(var) if var >= 0 else math.nan

    if kind == "rate":
        # effective size making p(1-p)/n the cell's sandwich variance (n unweighted)
        sizes = []
        for c in cells:
            v = float(np.dot(c.infl, c.infl))
            pq = c.mean * (1.0 - c.mean)
            sizes.append(pq / v if v > 0 and pq > 0 else c.n_eff)
        if not weighted:
            sizes = [float(c.n) for c in cells]
        problem = next((pr for c, n in zip(cells, sizes, strict=True)
                        if (pr := normal_approximation_problem(c.mean, n, c.name))), None)
        if problem is not None:
            reason = f"normal approximation not valid ({problem}; Brown, Cai and DasGupta 2001)"
            if small_sample == "error":
                raise SpecError(f"kind='rate': the {reason}; use small_sample='switch' for "
                                "the Wilson square-and-add interval, or larger groups")
            if paired or clustered:
                return _not_assessed(
                    estimate, f"{reason}, and the Wilson square-and-add interval needs "
                    "independent people (paired=False, clusters=None)", level,
                    alternative, method, null, se)
            lo, hi, stat = _mover_interval(cells, sizes, theta, ratio, level, alternative)
            name = (f"difference in differences, {form}, wilson square-and-add"
                    + (" (weighted)" if weighted else "") + (", log scale" if ratio else ""))
            note = f"{reason}: wilson square-and-add (MOVER) used instead"
            warnings.warn(note, SmallSampleWarning, stacklevel=2)
            if ratio:
                lo, hi = math.exp(lo), math.exp(hi)
            return Interval(float(estimate), float(lo), float(hi), float(level), alternative,
                            name, None, float(stat), p_from_z(stat, alternative), null,
                            note=note)

    if not se > 0:
        if clustered and math.isnan(se):
            why = f"{n_clusters} cluster(s): a cluster-robust variance needs at least 2"
        else:
            why = ("a cell has a single person, so no variance" if math.isnan(se) else
                   "the standard error is zero (no variation in the data)")
        return _not_assessed(estimate, why, level, alternative, method, null,
                             None if math.isnan(se) else se)
    tail = (1.0 - level) / 2.0 if alternative == "two-sided" else 1.0 - level
    stat = theta / se
    if kind == "mean":
        den = sum(v * v / max(df, 1e-12) for v, df in comps)
        df = var * var / den if den > 0 else math.inf   # clustered: G - 1
        q = float(_st.t.isf(tail, df))
        if alternative == "two-sided":
            p = float(2.0 * _st.t.sf(abs(stat), df))
        elif alternative == "less":
            p = float(_st.t.cdf(stat, df))
        else:
            p = float(_st.t.sf(stat, df))
    else:
        q = float(_st.norm.isf(tail))
        p = p_from_z(stat, alternative)
    lo = theta - q * se if alternative != "less" else -math.inf
    hi = theta + q * se if alternative != "greater" else math.inf
    if ratio:
        lo, hi = math.exp(lo), math.exp(hi)
    return Interval(float(estimate), float(lo), float(hi), float(level), alternative, method,
                    float(se), float(stat), p, null)
