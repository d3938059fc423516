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
import hashlib
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Real
from typing import Any

import numpy as np
import polars as pl

from pbr._version import __version__
from pbr.comparison import ComparisonResult
from pbr.errors import DataQualityWarning, SmallSampleWarning, SpecError
from pbr.stats.bootstrap import bootstrap_interval
from pbr.stats.interval import Interval, check_level
from pbr.stats.means import diff_means, group_mean
from pbr.stats.multiplicity import adjust_p
from pbr.stats.proportions import diff_proportions, normal_approximation_problem
from pbr.stats.rates import rate_ratio

__all__ = ["MEASURES", "ComparisonResult", "compare"]

#: measure name -> (column of MeasureResult.frame, kind)
MEASURES = {"binary": ("reoffended", "rate"), "serious": ("serious", "rate"),
            "frequency": ("reoffences", "mean"), "per_reoffender": ("reoffences", "mean"),
            "severity": ("severity", "mean")}
METHODS = {"rate": ("normal", "newcombe", "exact", "bootstrap"),
           "mean": ("welch", "poisson", "negbin", "bootstrap")}
_ALL = "all"


@dataclass(frozen=True)
class _Comparator:
    kind: str                       # "baseline", "adjusted" or "group"
    describe: str
    value: Any = None               # number, (number, n) or mapping for baselines
    column: str | None = None       # adjusted baseline column
    frame: pl.DataFrame | None = None
    weights: np.ndarray | None = None
    provenance: dict[str, Any] = field(default_factory=dict)


def _fingerprint(arr: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(arr, np.float64).tobytes()).hexdigest()


def _resolve_weights(weights: Any, frame: pl.DataFrame, who: str) -> np.ndarray | None:
    """Weights aligned with ``frame``'s rows, from any of the accepted forms."""
    if weights is None:
        return None
    if isinstance(weights, str):
        if weights not in frame.columns:
            raise SpecError(f"weights: no column {weights!r} in the {who}'s frame")
        nulls = frame[weights].null_count()
        if nulls:
            first = int(frame[weights].is_null().arg_max() or 0)
            raise SpecError(f"weights: column {weights!r} of the {who}'s frame is missing for "
                            f"{nulls:,} row(s) (first row {first}); give 0 for an offender "
                            "left out (e.g. an unmatched control)")
        w = frame[weights].cast(pl.Float64).to_numpy()
    elif isinstance(weights, pl.DataFrame | Mapping) or (
            hasattr(weights, "to_dict") and not isinstance(weights, pl.Series | np.ndarray)):
        table = weights if isinstance(weights, pl.DataFrame) else (
            pl.DataFrame({"offender_id": list(weights), "weight": list(weights.values())})
            if isinstance(weights, Mapping) else pl.from_pandas(weights))
        col = "weight" if "weight" in table.columns else "weights"
        if "offender_id" not in table.columns or col not in table.columns:
            raise SpecError("weights: a table of weights needs columns offender_id and weight")
        if "offender_id" not in frame.columns:
            raise SpecError(f"weights: a table of weights is joined on offender_id, which the "
                            f"{who}'s frame lacks; pass the weights as an array in row order")
        ours, theirs = frame.schema["offender_id"], table.schema["offender_id"]
        if ours != theirs and not (ours.is_integer() and theirs.is_integer()):
            raise SpecError(f"weights: the weights table's offender_id is {theirs} but the "
                            f"{who}'s is {ours}, so no id would match; give the weights with "
                            f"ids of the {who}'s type")
        joined = frame.select("offender_id").join(
            table.select("offender_id", pl.col(col).cast(pl.Float64).alias("_w")),
            on="offender_id", how="left", maintain_order="left")
        w = joined["_w"].fill_null(0.0).to_numpy()
    elif callable(getattr(weights, "cohort", None)):   # a MatchResult: offender_id, weight
        return _resolve_weights(weights.cohort(), frame, who)
    elif hasattr(weights, "weights"):
        return _resolve_weights(weights.weights, frame, who)
    elif hasattr(weights, "frame") and not isinstance(weights, pl.Series | np.ndarray):
        return _resolve_weights(weights.frame, frame, who)
    else:
        w = np.asarray(weights, np.float64)
        if w.shape != (frame.height,):
            raise SpecError(f"weights: {w.size} weights for the {who}'s {frame.height} rows")
    bad = np.flatnonzero(~np.isfinite(w) | (w < 0))
    arg = "cohort_weights" if who == "cohort" else "weights"
    if bad.size:
        i = int(bad[0])
        ident = frame["offender_id"][i] if "offender_id" in frame.columns else None
        raise SpecError(f"{arg}: the {who}'s weight at row {i}"
                        + (f" (offender_id {ident!r})" if ident is not None else "")
                        + f" is {float(w[i])!r} ({bad.size:,} such row(s)); weights must be finite "
                        "and >= 0 (0 leaves an offender out, e.g. an unmatched control)")
    if w.size and not w.sum() > 0:
        raise SpecError(f"{arg}: every one of the {who}'s {w.size:,} weights is 0, so nobody "
                        "would be compared; check the weights (or their offender_id join)")
    return np.asarray(w, np.float64)


def _comparator(comparator: Any, cohort: pl.DataFrame, weights: Any) -> _Comparator:
    if isinstance(comparator, bool):
        raise SpecError("comparator: expected a baseline value, a column or a comparison group")
    if isinstance(comparator, Real):
        return _Comparator("baseline", "baseline", float(comparator),
                           provenance={"baseline": float(comparator)})
    if isinstance(comparator, tuple) and len(comparator) == 2 and all(
            isinstance(x, Real) for x in comparator):
        v, n = float(comparator[0]), float(comparator[1])
        return _Comparator("baseline", "baseline", (v, n), provenance={"baseline": [v, n]})
    if isinstance(comparator, Mapping):
        return _Comparator("baseline", "baseline", dict(comparator),
                           provenance={"baseline": {str(k): v for k, v in comparator.items()}})
    if isinstance(comparator, str):
        if comparator not in cohort.columns:
            raise SpecError(f"comparator: no column {comparator!r} in the cohort's frame; an "
                            "adjusted baseline names a column of expected values")
        return _Comparator("adjusted", "adjusted baseline", column=comparator,
                           provenance={"adjusted_baseline_column": comparator})
    frame = comparator if isinstance(comparator, pl.DataFrame) else getattr(
        comparator, "frame", None)
    if isinstance(frame, pl.DataFrame):
        w = _resolve_weights(weights, frame, "comparison group")
        prov: dict[str, Any] = {"comparison_rows": frame.height}
        sub = getattr(comparator, "provenance", None)
        if isinstance(sub, Mapping):
            prov["comparison"] = {k: v for k, v in sub.items() if k.endswith("sha256")}
        if w is not None:
            prov["weights_sha256"] = _fingerprint(w)
        return _Comparator("group", "comparison group", frame=frame, weights=w,
                           provenance=prov)
    if callable(getattr(comparator, "group", None)) and callable(
            getattr(comparator, "value", None)):          # pbr.risk.Baseline
        return _Comparator("baseline", str(getattr(comparator, "label", "baseline")),
                           comparator, provenance={"baseline": _plain_provenance(comparator)})
    for attr in ("rate", "value", "binary_rate"):
        if isinstance(getattr(comparator, attr, None), Real):
            v = float(getattr(comparator, attr))
            size = getattr(comparator, "n", None)
            value: Any = (v, float(size)) if isinstance(size, Real) else v
            return _Comparator("baseline", "baseline", value,
                               provenance={"baseline": value, "baseline_type":
                                           type(comparator).__name__})
    raise SpecError(f"comparator: expected a number, (value, n), a mapping, a column name, "
                    f"a MeasureResult or a baseline object, got {type(comparator).__name__}")


def _plain_provenance(obj: Any) -> Any:
    """A baseline object's provenance mapping when it has one, else its text."""
    prov = getattr(obj, "provenance", None)
    return dict(prov) if isinstance(prov, Mapping) else str(obj)


def _values(frame: pl.DataFrame, measure: str, who: str = "cohort"
            ) -> tuple[pl.DataFrame, str]:
    column, kind = MEASURES[measure]
    if column not in frame.columns:
        raise SpecError(f"measure {measure!r} needs column {column!r}, not in the {who}'s "
                        f"frame (columns: {', '.join(frame.columns)})")
    if frame[column].null_count() == frame.height and frame.height:
        raise SpecError(f"measure {measure!r}: column {column!r} is empty (severity needs a "
                        "spec with severity_weights, serious a serious_codes list)")
    if frame[column].null_count():
        row = int(frame[column].is_null().arg_max() or 0)
        raise SpecError(f"column {column!r} of the {who}'s frame is missing at row {row} "
                        f"({frame[column].null_count():,} row(s)); measure every offender, or "
                        "drop those rows before comparing")
    values = frame[column].cast(pl.Float64)
    if kind == "rate" and not values.is_in([0.0, 1.0]).all():
        odd = values.filter(~values.is_in([0.0, 1.0]))[0]
        raise SpecError(f"column {column!r} of the {who}'s frame holds {odd!r}: a rate "
                        "measure needs True/False (or 1/0) per offender")
    if kind == "mean" and (values.is_nan().any() or (values < 0).any()):
        odd = values.filter(values.is_nan() | (values < 0))[0]
        raise SpecError(f"column {column!r} of the {who}'s frame holds {odd!r}: counts and "
                        "severity per offender must be >= 0")
    if measure == "per_reoffender":
        frame = frame.filter(pl.col("reoffended"))
    return frame, column


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


def _from_pandas(obj: Any) -> Any:
    """A pandas DataFrame as polars (pandas is accepted at the public boundary)."""
    if type(obj).__module__.startswith("pandas") and hasattr(obj, "columns"):
        return pl.from_pandas(obj)
    return obj


def _check_baseline(base: tuple[float, float | None], kind: str, key: Any) -> None:
    """Refuse a baseline in the wrong unit: a percentage for a proportion, (n, value)."""
    v, size = base
    where = f" for group {key!r}" if key else ""
    if not math.isfinite(v):
        raise SpecError(f"comparator: the baseline{where} is {v!r}; give a finite number")
    if size is not None and not (math.isfinite(size) and size >= 1):
        raise SpecError(f"comparator: the baseline's n{where} is {size!r}; a (value, n) "
                        "pair gives the rate first, then the number of offenders (>= 1)")
    if kind == "rate" and not 0.0 <= v <= 1.0:
        hint = (f"; did you mean {v / 100:g} ({v:g}%)? pass {v / 100:g}" if 1.0 < v <= 100.0
                else "")
        raise SpecError(f"comparator: the baseline rate{where} is {v:g}, but pbr.compare takes "
                        f"rates as proportions in [0, 1] (0.28 for 28%){hint}")
    if kind == "mean" and v < 0:
        raise SpecError(f"comparator: the baseline{where} is {v:g}; a mean per offender is "
                        ">= 0")


def _expected(g: pl.DataFrame, column: str, kind: str) -> np.ndarray:
    """The adjusted baseline's expected values, checked (no nulls; proportions for rates)."""
    values = g[column].cast(pl.Float64)
    if values.null_count() or values.is_nan().any():
        row = int((values.is_null() | values.is_nan()).arg_max() or 0)
        raise SpecError(f"comparator: column {column!r} (expected values) is missing at row "
                        f"{row} of the group; fill it or drop those offenders")
    if kind == "rate" and ((values < 0) | (values > 1)).any():
        odd = float(values.filter((values < 0) | (values > 1))[0])
        raise SpecError(f"comparator: column {column!r} holds {odd:g}, but expected rates are "
                        f"proportions in [0, 1]" + (" (did you give per cent? divide by 100)"
                                                    if odd <= 100 else ""))
    return values.to_numpy()


def _rules(spec: Any, level: float | None, alternative: str | None, min_n: int | None
           ) -> tuple[float, str, int, str]:
    """Level, sidedness and minimum n from the arguments and the scheme's spec.

    A value given both ways must agree: a scheme's rule is never silently overridden.
    """
    if min_n is not None and (isinstance(min_n, bool) or not isinstance(min_n, int)
                              or min_n < 0):
        raise SpecError(f"min_n: a whole number of offenders >= 0, got {min_n!r}")
    if spec is None:
        return (0.95 if level is None else level, alternative or "two-sided", min_n or 0,
                f"min_n={min_n}")
    from pbr.comparison_spec import ComparisonSpec
    if isinstance(spec, str):
        from pbr.schemes import scheme
        spec = scheme(spec)
    cs = getattr(spec, "comparison", spec)
    if not isinstance(cs, ComparisonSpec):
        raise SpecError(f"spec: expected a ComparisonSpec, a Scheme or a scheme name, got "
                        f"{type(spec).__name__}")
    if cs.kind == "none" or cs.test == "none":
        raise SpecError(f"spec: the {cs.name} spec has no comparison test (kind {cs.kind!r}, "
                        f"test {cs.test!r}), so it cannot judge a comparison; pass min_n= and "
                        "level= instead, or a scheme that tests (e.g. 'justice_data_lab')")
    conf = 1.0 - cs.level
    if level is not None and not math.isclose(level, conf):
        raise SpecError(f"level: {level!r} contradicts the {cs.name} spec's significance level "
                        f"{cs.level:g} (confidence level {conf:g}); leave level out, or "
                        "change the spec")
    if alternative is not None and alternative != cs.sides:
        raise SpecError(f"alternative: {alternative!r} contradicts the {cs.name} spec's sides "
                        f"{cs.sides!r}; leave alternative out, or change the spec")
    if min_n is not None and min_n != cs.min_n:
        raise SpecError(f"min_n: {min_n} contradicts the {cs.name} spec's min_n {cs.min_n}; "
                        "leave min_n out, or change the spec")
    return conf, cs.sides, cs.min_n, f"{cs.name} rule"


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
    level, alternative, min_n, rule = _rules(spec, level, alternative, min_n)
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
    result, comparator = _from_pandas(result), _from_pandas(comparator)
    frame = result if isinstance(result, pl.DataFrame) else getattr(result, "frame", None)
    if not isinstance(frame, pl.DataFrame):
        raise SpecError("result: expected a MeasureResult or its per-offender frame (polars "
                        f"or pandas), got {type(result).__name__}")
    comp = _comparator(comparator, frame, weights)
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
    w_cohort = _resolve_weights(cohort_weights, frame, "cohort")
    frame = frame.with_columns(_w=pl.Series(w_cohort if w_cohort is not None
                                            else np.ones(frame.height)))
    cframe = None
    if comp.frame is not None:
        cframe = comp.frame.with_columns(_w=pl.Series(
            comp.weights if comp.weights is not None else np.ones(comp.frame.height)))
    frame, column = _values(frame, measure, "cohort")
    if cframe is not None:
        cframe, _ = _values(cframe, measure, "comparison group")
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
            expected = _expected(g, str(comp.column), kind)
            base = (float(np.average(expected, weights=w1)), None)
            comp_value = base[0]
        else:
            base = _baseline_for(comp.value, key if keys else None, measure)
            _check_baseline(base, kind, key)
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
        prov["cohort_weights_sha256"] = _fingerprint(w_cohort)
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
