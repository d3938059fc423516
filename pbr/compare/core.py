"""Compare a cohort's measure with its comparator: :func:`compare` -> :class:`ComparisonResult`.

The comparator is one of (docs/methodology/inference.md, "Comparators"):

* a **fixed baseline**: a number (the rate as a proportion, e.g. ``0.43``, or a mean per
  offender), a ``(value, n)`` pair when the baseline was itself measured on ``n``
  offenders, a mapping from group to either, or a baseline object with ``rate`` /
  ``value`` (and optionally ``n``) attributes (CRC 2011 baselines, methodology 2.4);
* an **adjusted baseline**: the name of a column of the cohort's frame holding each
  offender's expected value (e.g. a predicted probability); the comparator is its mean
  over the group, treated as known (methodology 1.6 and 2.4);
* a **comparison group**: another :class:`~pbr.measures.MeasureResult` (or a frame with the
  measure column), optionally weighted (matching weights; JDL and Peterborough,
  methodology 3 and 5).

Estimates are cohort minus comparator (or cohort over comparator for rate ratios), so a
reduction is negative (below 1).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from pbr._version import __version__
from pbr.compare._inputs import (
    MEASURES,
    check_baseline,
    expected_values,
    fingerprint,
    from_pandas,
    measure_values,
    resolve_comparator,
    resolve_weights,
    scheme_rules,
)
from pbr.compare.result import ComparisonResult
from pbr.errors import DataQualityWarning, SmallSampleWarning, SpecError
from pbr.stats.bootstrap import bootstrap_interval
from pbr.stats.interval import Interval, check_level
from pbr.stats.means import diff_means, group_mean
from pbr.stats.multiplicity import adjust_p
from pbr.stats.proportions import diff_proportions, normal_approximation_problem
from pbr.stats.rates import rate_ratio

__all__ = ["MEASURES", "ComparisonResult", "compare"]

METHODS = {"rate": ("normal", "newcombe", "exact", "bootstrap"),
           "mean": ("welch", "poisson", "negbin", "bootstrap")}
_ALL = "all"


def _weighted_n(y: np.ndarray, w: np.ndarray | None) -> float:
    """Effective size that makes p(1-p)/n the weighted mean's sandwich variance."""
    if w is None or (w.size and bool(np.all(w == w[0])) and w[0] > 0):
        # equal weights are no weighting: the exact n, not the sandwich form's n with
        # its rounding (so unit weights give exactly the unweighted interval and test;
        # docs/methodology/inference.md, effective size of weighted groups)
        return float(y.size)
    g = group_mean(y, w)
    p = g.mean
    v0 = g.var * (g.n - 1) / g.n if g.n > 1 else math.nan
    return p * (1 - p) / v0 if v0 > 0 else g.n_eff


#: measure -> (Baseline value name, scale to pbr.compare's units)
_BASELINE_VALUES = {"binary": ("binary_rate", 0.01), "serious": ("serious_rate", 0.01),
                    "frequency": ("per_offender", 1.0),
                    "per_reoffender": ("per_reoffender", 1.0),
                    "severity": ("severity_per_offender", 1.0)}


def _baseline_for(value: Any, key: Any, measure: str) -> tuple[float, float | None]:
    if callable(getattr(value, "group", None)):      # pbr.risk.Baseline (rates in per cent)
        group = value.group(key[0] if isinstance(key, tuple) and len(key) == 1 else key)
        name, scale = _BASELINE_VALUES[measure]
        v = group.value(name)
        if v is None:
            raise SpecError(f"comparator: the baseline has no {name} for group {key!r}")
        size = group.reoffenders if measure == "per_reoffender" else group.n
        return float(v) * scale, None if size is None else float(size)
    if isinstance(value, Mapping):
        k = key[0] if isinstance(key, tuple) and len(key) == 1 else key
        if k not in value:
            raise SpecError(f"comparator: the baseline mapping has no entry for group {k!r}")
        value = value[k]
    if isinstance(value, tuple | list):
        return float(value[0]), float(value[1])
    return float(value), None


def _one(measure: str, method: str, y1: np.ndarray, w1: np.ndarray | None,
         y0: np.ndarray | None, w0: np.ndarray | None,
         base: tuple[float, float | None], c1: np.ndarray | None, c0: np.ndarray | None,
         opts: dict[str, Any]) -> Interval:
    kind = MEASURES[measure][1]
    level, alt = opts["level"], opts["alternative"]
    if method == "bootstrap" and kind == "rate" and c1 is None:
        problem = _bootstrap_problem(y1, w1, y0, w0)
        if problem is not None:   # a percentile interval of a few 0/1 values: exact instead
            whole = w1 is None and w0 is None
            iv = _one(measure, "exact" if whole else "newcombe", y1, w1, y0, w0, base, c1,
                      c0, opts)
            return dataclasses.replace(iv, note=f"bootstrap not valid ({problem}; Brown, Cai "
                                       f"and DasGupta 2001): {iv.method} used instead")
    if method == "bootstrap":
        target: Any = y0 if y0 is not None else base[0]
        return bootstrap_interval(y1, target, w1=w1, w0=w0, clusters1=c1, clusters0=c0,
                                  n_resamples=opts["n_resamples"],
                                  seed=opts["seed"], level=level, alternative=alt)
    if kind == "rate":
        p1 = float(np.average(y1, weights=w1))
        n1 = _weighted_n(y1, w1)
        n0: float | None
        if y0 is not None:
            p0, n0 = float(np.average(y0, weights=w0)), _weighted_n(y0, w0)
        else:
            p0, n0 = base
        if method == "exact" and (w1 is not None or w0 is not None):
            raise SpecError("method='exact' needs unweighted groups; use 'newcombe'")
        return diff_proportions(p1, n1, p0, n0, method=method, variance=opts["variance"],
                                level=level, alternative=alt)
    target = y0 if y0 is not None else base[0]
    if method == "welch":
        return diff_means(y1, target, w1=w1, w0=w0, level=level, alternative=alt)
    return rate_ratio(y1, target, w1=w1, w0=w0, method=method, level=level,
                      alternative=alt)


def _reason(iv: Interval, n: int, min_n: int, rule: str, measure: str) -> str | None:
    """Why no conclusion is drawn for a group, or None when it is assessed."""
    if n < min_n:
        who = "reoffender" if measure == "per_reoffender" else "person"
        plural = who if n == 1 else ("reoffenders" if who == "reoffender" else "people")
        return f"not assessed: {n:,} {plural}, below the minimum of {min_n:,} ({rule})"
    if not iv.assessable:
        return "not assessed: " + (iv.note or "the interval has zero width (no variation)")
    return None


def _small_sample_notes(out: pl.DataFrame, keys: list[str]) -> list[str]:
    """Warn (SmallSampleWarning) and note groups not assessed and method switches."""
    def label(r: dict[str, Any]) -> str:
        return "".join(f"{k}={r[k]}, " for k in keys)[:-2] + ": " if keys else ""

    notes = []
    skipped = out.filter(pl.col("significant").is_null())
    if skipped.height:
        notes.append(f"{skipped.height} group(s) not assessed, no significance conclusion "
                     "drawn: " + "; ".join(f"{label(r)}{r['conclusion'][14:]}"
                                           for r in skipped.iter_rows(named=True)))
    switched = out.filter(pl.col("note").is_not_null() & pl.col("significant").is_not_null())
    if switched.height:
        notes.append("; ".join(f"{label(r)}{r['note']}"
                               for r in switched.iter_rows(named=True)))
    for text in notes:
        warnings.warn(text, SmallSampleWarning, stacklevel=3)
    return notes


def _bootstrap_problem(y1: np.ndarray, w1: np.ndarray | None, y0: np.ndarray | None,
                       w0: np.ndarray | None) -> str | None:
    """The normal-approximation rule applied to a bootstrap of 0/1 values (pbr rule)."""
    problem = normal_approximation_problem(float(np.average(y1, weights=w1)),
                                           _weighted_n(y1, w1))
    if problem is None and y0 is not None:
        problem = normal_approximation_problem(float(np.average(y0, weights=w0)),
                                               _weighted_n(y0, w0), "the comparator")
    return problem


def compare(result: Any, comparator: Any, *, measure: str = "binary",
            method: str | None = None, variance: str | None = None,
            level: float | None = None, alternative: str | None = None,
            weights: Any = None, cohort_weights: Any = None,
            by: str | Sequence[str] | None = None, correction: str | None = None,
            clusters: str | None = None, n_resamples: int = 2000, seed: int = 0,
            min_n: int | None = None, spec: Any = None) -> ComparisonResult:
    """Difference between a cohort's measure and its comparator, with interval and test.

    Parameters
    ----------
    result
        The cohort's :class:`~pbr.measures.MeasureResult` (or its per-offender frame).
    comparator
        A fixed baseline (number, ``(value, n)``, mapping by group, or baseline object),
        an adjusted baseline (column name of expected values in the cohort's frame), or a
        comparison group (``MeasureResult`` or frame); see the module docstring.  Rates
        are proportions (``0.28``, not ``28``).
    measure
        ``"binary"`` (reoffended), ``"serious"``, ``"frequency"`` (reoffences per
        offender), ``"per_reoffender"`` (reoffences per reoffender, the CRC frequency
        measure) or ``"severity"``.
    method
        Binary: ``"normal"`` (default), ``"newcombe"``, ``"exact"``, ``"bootstrap"``.
        Means: ``"welch"`` (default), ``"poisson"``, ``"negbin"`` (rate ratios),
        ``"bootstrap"``.  Where the normal approximation is not valid for a group
        (fewer than 5 expected reoffenders or non-reoffenders), ``"normal"`` (and, for
        rates without ``clusters``, ``"bootstrap"``) switches to the exact method (the
        score method for weighted groups) for that group; the
        row's ``method`` and ``note`` say so, and a :class:`~pbr.errors.SmallSampleWarning`
        is issued (:func:`pbr.stats.diff_proportions`).
    variance
        Variance form of ``method="normal"``: ``"cohort"``, ``"both"``, ``"null"``
        (:func:`pbr.stats.diff_proportions`).
    level, alternative
        Confidence level (default 0.95; a level below 0.5, such as 0.05, is refused as
        an alpha given for a confidence level) and sidedness (default two-sided;
        ``"less"``: is the cohort's reoffending lower?).  With ``spec``, taken from it.
    weights, cohort_weights
        Weights of the comparison group's (and the cohort's) offenders: a column name,
        an array in row order, a mapping or table ``offender_id -> weight``, or an object
        with ``.weights`` (e.g. a matching result).  Finite and >= 0, not all 0.
    by
        Column(s) to compare within (providers, areas); one row per group.
    correction
        ``"holm"`` or ``"bh"`` across the assessed groups (adjusted p-values;
        ``significant`` uses them).  Intervals are not adjusted.
    clusters
        Column (in both frames) of matched-set identifiers, for the cluster bootstrap.
    n_resamples, seed
        Bootstrap replicates and seed.
    min_n
        Smallest cohort group on which a conclusion is drawn (the Justice Data Lab
        publishes nothing for fewer than 60).  A smaller group keeps its figures but gets
        ``significant`` null and a ``conclusion`` saying why, with a
        :class:`~pbr.errors.SmallSampleWarning`.  Default: the spec's, else none.
    spec
        The scheme's rules: a :class:`~pbr.comparison_spec.ComparisonSpec`, a
        :class:`~pbr.schemes.Scheme` or a scheme name (``"justice_data_lab"``).  Its
        ``min_n``, significance ``level`` (confidence ``1 - level``) and ``sides`` are
        used; an argument that contradicts them raises :class:`~pbr.errors.SpecError`.

    Returns
    -------
    ComparisonResult
        Per group also ``conclusion`` (``"significant"``, ``"not significant"`` or
        ``"not assessed: <reason>"``) and ``note`` (a method switch); ``significant``
        is null for a group not assessed and never true for a zero-width interval.

    Examples
    --------
    >>> import polars as pl
    >>> cohort = pl.DataFrame({"offender_id": range(72), "reoffended": [True] * 22 + [False] * 50})
    >>> res = compare(cohort, 0.43, variance="cohort")
    >>> row = res.frame.row(0, named=True)
    >>> round(100 * row["estimate"], 1), round(100 * row["lower"], 1), round(100 * row["upper"], 1)
    (-12.4, -23.1, -1.8)
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     small = compare(cohort.head(20), 0.43, spec="justice_data_lab")
    >>> small.frame["conclusion"][0]
    'not assessed: 20 people, below the minimum of 60 (justice_data_lab rule)'
    """
    level, alternative, min_n, rule = scheme_rules(spec, level, alternative, min_n)
    check_level(level, alternative)
    if measure not in MEASURES:
        raise SpecError(f"measure: one of {', '.join(MEASURES)}, got {measure!r}")
    kind = MEASURES[measure][1]
    method = method or ("normal" if kind == "rate" else "welch")
    if method not in METHODS[kind]:
        raise SpecError(f"method: for the {measure} measure one of "
                        f"{', '.join(METHODS[kind])}, got {method!r}")
    if measure == "severity" and method in ("poisson", "negbin"):
        raise SpecError("method: rate ratios need counts; severity takes 'welch' or "
                        "'bootstrap'")
    if correction is not None and correction not in ("holm", "bh"):
        raise SpecError(f"correction: 'holm', 'bh' or None, got {correction!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise SpecError(f"seed: a whole number >= 0, got {seed!r}")
    result, comparator = from_pandas(result), from_pandas(comparator)
    frame = result if isinstance(result, pl.DataFrame) else getattr(result, "frame", None)
    if not isinstance(frame, pl.DataFrame):
        raise SpecError("result: expected a MeasureResult or its per-offender frame (polars "
                        f"or pandas), got {type(result).__name__}")
    comp = resolve_comparator(comparator, frame, weights)
    keys = [by] if isinstance(by, str) else list(by or [])
    for k in keys + ([clusters] if clusters else []):
        if k not in frame.columns or (comp.frame is not None and k not in comp.frame.columns):
            raise SpecError(f"no column {k!r} in the cohort's (or comparison group's) frame")
    if clusters and method != "bootstrap":
        raise SpecError("clusters: matched sets are used by method='bootstrap' only")
    for name, table in (("cohort", frame), ("comparison group", comp.frame)):
        if clusters and table is not None and table[clusters].null_count():
            raise SpecError(f"clusters: column {clusters!r} of the {name}'s frame is missing "
                            f"for {table[clusters].null_count():,} row(s); every offender "
                            "needs its matched set")
    w_cohort = resolve_weights(cohort_weights, frame, "cohort")
    frame = frame.with_columns(_w=pl.Series(w_cohort if w_cohort is not None
                                            else np.ones(frame.height)))
    cframe = None
    if comp.frame is not None:
        cframe = comp.frame.with_columns(_w=pl.Series(
            comp.weights if comp.weights is not None else np.ones(comp.frame.height)))
    frame, column = measure_values(frame, measure, "cohort")
    if cframe is not None:
        cframe, _ = measure_values(cframe, measure, "comparison group")
    if frame.height == 0:
        raise SpecError("result: the cohort has no offenders to compare"
                        + (" (per_reoffender: nobody reoffended)"
                           if measure == "per_reoffender" else ""))
    opts = {"level": level, "alternative": alternative, "variance": variance,
            "n_resamples": n_resamples, "seed": seed}
    groups = (frame.select(keys).unique().sort(keys, nulls_last=True).rows()
              if keys else [()])
    rows = []
    for key in groups:
        sel = pl.all_horizontal([pl.col(k).eq_missing(v) for k, v in zip(keys, key,
                                                                         strict=True)]) \
            if keys else pl.lit(True)
        g = frame.filter(sel)
        y1 = g[column].cast(pl.Float64).to_numpy()
        w1 = g["_w"].to_numpy() if w_cohort is not None else None
        if w1 is not None and not w1.sum() > 0:
            raise SpecError(f"cohort_weights: every weight is 0 in group {key!r}; nobody in "
                            "it would be compared")
        y0 = w0 = c1 = c0 = None
        base: tuple[float, float | None] = (math.nan, None)
        comp_value: float
        comp_n: float | None = None
        if comp.kind == "group":
            assert cframe is not None
            h = cframe.filter(sel)
            if h.height == 0:
                raise SpecError(f"the comparison group has nobody in group {key!r}")
            y0 = h[column].cast(pl.Float64).to_numpy()
            w0 = h["_w"].to_numpy() if comp.weights is not None else None
            if w0 is not None and not w0.sum() > 0:
                raise SpecError(f"weights: every comparison-group weight is 0 in group "
                                f"{key!r}; nobody there would be compared")
            comp_value = float(np.average(y0, weights=w0))
            comp_n = float(np.count_nonzero(w0)) if w0 is not None else float(h.height)
            if clusters:
                c0 = h[clusters].to_numpy()
        elif comp.kind == "adjusted":
            expected = expected_values(g, str(comp.column), kind)
            base = (float(np.average(expected, weights=w1)), None)
            comp_value = base[0]
        else:
            base = _baseline_for(comp.value, key if keys else None, measure)
            check_baseline(base, kind, key)
            if callable(getattr(comp.value, "group", None)) and kind == "rate" and \
                    base[0] < 0.01 and float(np.average(y1, weights=w1)) > 10 * base[0]:
                raise SpecError(f"comparator: the baseline's {measure} rate is "
                                f"{100 * base[0]:g}% against the cohort's "
                                f"{100 * float(np.average(y1, weights=w1)):.1f}%: a Baseline "
                                f"holds rates in per cent, so give {10_000 * base[0]:g} for "
                                f"{10_000 * base[0]:g}%, not {100 * base[0]:g}")
            comp_value, comp_n = base
        if clusters:
            c1 = g[clusters].to_numpy()
        with warnings.catch_warnings():   # each is summarised once below, per group
            warnings.simplefilter("ignore", SmallSampleWarning)
            iv = _one(measure, method, y1, w1, y0, w0, base, c1, c0, opts)
        n1 = int(np.count_nonzero(w1)) if w1 is not None else g.height
        rows.append({**dict(zip(keys, key, strict=True)), "n": n1,
                     "cohort_value": float(np.average(y1, weights=w1)),
                     "comparator_value": comp_value, "comparator_n": comp_n,
                     **{k: iv.to_dict()[k] for k in ("estimate", "lower", "upper", "se",
                                                       "statistic", "p_value", "null",
                                                       "method", "note")},
                     "_reason": _reason(iv, n1, min_n, rule, measure)})
    out = pl.DataFrame(rows, infer_schema_length=None).with_columns(
        pl.col("note").cast(pl.String), pl.col("_reason").cast(pl.String))
    assessed = pl.col("_reason").is_null()
    if correction:
        p = out["p_value"].cast(pl.Float64).fill_null(np.nan).to_numpy().copy()
        p[out["_reason"].is_not_null().to_numpy()] = np.nan   # not in the family
        out = out.with_columns(p_adjusted=pl.Series(adjust_p(p, correction)))
        verdict = pl.col("p_adjusted") <= 1 - level
    else:
        verdict = ~((pl.col("lower") <= pl.col("null")) & (pl.col("null") <= pl.col("upper")))
    out = out.with_columns(
        significant=pl.when(assessed).then(verdict.fill_null(False)).otherwise(None),
    ).with_columns(
        conclusion=pl.when(~assessed).then(pl.col("_reason"))
        .when(pl.col("significant")).then(pl.lit("significant"))
        .otherwise(pl.lit("not significant")),
        measure=pl.lit(measure), comparator=pl.lit(comp.describe),
        level=pl.lit(level), alternative=pl.lit(alternative)).drop("_reason")
    prov = {"pbr_version": __version__, "measure": measure, "method": method,
            "variance": variance, "level": level, "alternative": alternative,
            "correction": correction, "by": keys, "seed": seed if method == "bootstrap"
            else None, "n_resamples": n_resamples if method == "bootstrap" else None,
            "comparator": comp.provenance, "min_n": min_n, "min_n_rule": rule}
    cohort_prov = getattr(result, "provenance", None)
    if isinstance(cohort_prov, Mapping):
        prov["cohort"] = {k: v for k, v in cohort_prov.items() if k.endswith("sha256")}
    if w_cohort is not None:
        prov["cohort_weights_sha256"] = fingerprint(w_cohort)
    notes = []
    if correction:
        notes.append("intervals are not adjusted for multiple comparisons; 'significant' "
                     "uses the adjusted p-values of the groups assessed")
    if comp.kind == "adjusted" or (comp.kind == "baseline" and kind == "mean"):
        notes.append(f"the {comp.describe} is treated as known (no sampling variance)")
    if comp.kind == "group" and method != "bootstrap" and clusters is None and \
            comp.weights is not None:
        notes.append("weighted comparison group: sandwich variance of the weighted mean "
                     "(matched sets are not resampled; use method='bootstrap' with "
                     "clusters= for that)")
    for k in keys:
        if frame[k].null_count():
            text = (f"by: column {k!r} is missing for {frame[k].null_count():,} cohort "
                    f"offender(s); they are compared as a group of their own ({k}=None)")
            warnings.warn(text, DataQualityWarning, stacklevel=2)
            notes.append(text)
    notes += _small_sample_notes(out, keys)
    return ComparisonResult(out, tuple(keys), measure, method, comp.describe, level,
                            alternative, correction, prov, tuple(notes))
