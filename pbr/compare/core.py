"""Compare a cohort's measure with its comparator: :func:`compare` -> :class:`ComparisonResult`.

The comparator is one of (docs/methodology/inference.md, "Comparators"):

* a **fixed baseline**: a number (the rate as a proportion, e.g. ``0.43``, or a mean per
  offender), a ``(value, n)`` pair when the baseline was itself measured on ``n``
  offenders, a mapping from group to either, or a baseline object with ``rate`` /
  ``value`` (and optionally ``n``) attributes (CRC 2011 baselines, [MoJ-PbR-Baselines-2011]);
* an **adjusted baseline**: the name of a column of the cohort's frame holding each
  offender's expected value (e.g. a predicted probability); the comparator is its mean
  over the group, treated as known ([MoJ-Definitions-2011], [MoJ-PbR-Baselines-2011]);
* a **comparison group**: another :class:`~pbr.measures.MeasureResult` (or a frame with the
  measure column), optionally weighted (matching weights; JDL and Peterborough,
  [Cave-2012], [MoJ-JDL-2013]).

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
    Comparator,
    check_baseline,
    expected_values,
    fingerprint,
    from_pandas,
    is_casemix_model,
    is_match_result,
    measure_values,
    resolve_comparator,
    resolve_spec,
    resolve_weights,
    scheme_rules,
)
from pbr.compare.registry import MEASURES, MeasureInfo, measure_info
from pbr.compare.result import ComparisonResult
from pbr.compare.thresholds import adjust_baseline
from pbr.errors import DataQualityWarning, SmallSampleWarning, SpecError
from pbr.stats.bootstrap import bootstrap_interval
from pbr.stats.did import diff_in_diff
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


#: a scheme's test -> (method, variance) for rate and for mean measures
_TEST_METHOD: dict[str, dict[str, tuple[str, str | None]]] = {
    "baseline_interval": {"rate": ("normal", "null"), "mean": ("welch", None)},
    "difference_in_proportions": {"rate": ("normal", None), "mean": ("welch", None)},
    "welch_t": {"rate": ("normal", None), "mean": ("welch", None)},
    "rate_ratio": {"rate": ("normal", None), "mean": ("negbin", None)},
    "bootstrap": {"rate": ("bootstrap", None), "mean": ("bootstrap", None)},
    "none": {"rate": ("normal", None), "mean": ("welch", None)},
}
_DID_LABEL = "counterfactual (the cohort before, moved by the comparison group's change)"
#: a scheme's comparator kind -> the comparator it needs
_KIND_NEEDS = {"fixed_baseline": ("baseline", "a baseline value or pbr.risk.Baseline"),
               "adjusted_baseline": ("adjusted", "a case-mix model (pbr.risk.CaseMixModel), a "
                                     "Baseline with model=, or a column of expected values"),
               "matched_comparison": ("group", "a comparison group (MeasureResult or frame) "
                                      "or a pbr.MatchResult"),
               "difference_in_differences": ("did", "a comparison group with before= and "
                                             "comparator_before=")}


def _baseline_group(baseline: Any, key: Any) -> Any:
    k = key[0] if isinstance(key, tuple) and len(key) == 1 else key
    try:
        return baseline.group(k)
    except (KeyError, SpecError) as exc:
        raise SpecError(f"comparator: the baseline has no group {k!r} ({exc}); compare "
                        f"by the baseline's groups ({', '.join(baseline.by) or 'none'})"
                        ) from None


def _baseline_for(value: Any, key: Any, measure: str) -> tuple[float, float | None]:
    if callable(getattr(value, "group", None)):      # pbr.risk.Baseline (proportions)
        group = _baseline_group(value, key)
        v = group.value(measure)
        if v is None:
            raise SpecError(f"comparator: the baseline has no {measure} for group {key!r}")
        size = group.reoffenders if measure == "per_reoffender" else group.n
        return float(v), None if size is None else float(size)
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
    kind = MEASURES[measure].kind
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
        who = "reoffender" if MEASURES[measure].aggregation == "mean over reoffenders" \
            else "person"
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


def _split_by_match(frame: pl.DataFrame, match: Any) -> tuple[pl.DataFrame, pl.DataFrame,
                                                               dict[str, Any]]:
    """The treated rows and the matched controls (with their match weights) of ``frame``."""
    if "offender_id" not in frame.columns:
        raise SpecError("comparator: a MatchResult is joined on offender_id, which the "
                        "result's frame lacks")
    mf = match.frame.filter(pl.col("weight") > 0).select(
        pl.col(match.spec.id).alias("offender_id"),
        pl.col(match.spec.treatment).cast(pl.Boolean).alias("_treated"),
        pl.col("weight").cast(pl.Float64).alias("_match_weight"))
    if mf["offender_id"].dtype != frame["offender_id"].dtype:
        try:
            mf = mf.with_columns(pl.col("offender_id").cast(frame["offender_id"].dtype))
        except pl.exceptions.InvalidOperationError:
            raise SpecError(f"comparator: the MatchResult's ids ({mf['offender_id'].dtype}) "
                            f"are not the result's offender_id ({frame['offender_id'].dtype})"
                            ) from None
    joined = frame.join(mf, on="offender_id", how="inner", maintain_order="left")
    missing = mf.height - joined.height
    if missing:
        raise SpecError(f"comparator: {missing:,} matched unit(s) of the MatchResult have no "
                        "measured row in the result; measure the matched cohort "
                        "(pbr.measure(match.cohort(), events)) so both groups are measured")
    treated = joined.filter(pl.col("_treated")).drop("_treated")
    controls = joined.filter(~pl.col("_treated")).drop("_treated")
    prov = {"matched_pairs": match.pairs.height, "matched_treated": treated.height,
            "matched_controls": controls.height,
            "match_weights_sha256": fingerprint(controls["_match_weight"].to_numpy())}
    return treated, controls, prov


def _casemix_expected(g: pl.DataFrame, model: Any, baseline: Any, key: Any, form: str,
                      info: MeasureInfo) -> tuple[np.ndarray, dict[str, float]]:
    """Each offender's expected value under the baseline's behaviour (an adjusted baseline).

    Without a Baseline the model's prediction ``P_i`` itself (a model fitted on the
    baseline cohort: its mean over the cohort is ``E``).  With a Baseline of value ``B``
    and mean prediction ``P_base``: ``B + P_i - P_base`` (additive) or ``B x P_i / P_base``
    (ratio), whose mean is the adjusted baseline ``E = B + P - P_base`` or ``B x P / P_base``
    (docs/methodology/baselines.md).
    """
    if model.measure != info.name:
        raise SpecError(f"model: the case-mix model predicts {model.measure}, not "
                        f"{info.name}; fit one for this measure (pbr.risk.fit_casemix(..., "
                        f"measure={info.name!r}))")
    pred = np.asarray(model.predict(g), dtype=np.float64)
    parts: dict[str, float] = {}
    if baseline is None:
        return pred, parts
    grp = _baseline_group(baseline, key)
    b = grp.value(info.name)
    if b is None:
        raise SpecError(f"comparator: the baseline has no {info.name} for group {key!r}")
    p_base = grp.predicted_rate if info.name == "binary_rate" and \
        grp.predicted_rate is not None else b
    parts = {"baseline": float(b), "predicted_baseline": float(p_base)}
    return adjust_baseline(float(b), pred, float(p_base), form), parts


def compare(result: Any, comparator: Any, *, measure: str = "binary",
            method: str | None = None, variance: str | None = None,
            level: float | None = None, alternative: str | None = None,
            weights: Any = None, cohort_weights: Any = None,
            by: str | Sequence[str] | None = None, correction: str | None = None,
            clusters: str | None = None, n_resamples: int = 2000, seed: int = 0,
            min_n: int | None = None, spec: Any = None, model: Any = None,
            form: str | None = None, before: Any = None,
            comparator_before: Any = None) -> ComparisonResult:
    """Difference between a cohort's measure and its comparator, with interval and test.

    Parameters
    ----------
    result
        The cohort's :class:`~pbr.measures.MeasureResult` (or its per-offender frame).
        With a :class:`~pbr.matching.MatchResult` comparator: the result measured on the
        treated units and the controls together (``pbr.measure(match.cohort(), ...)``).
    comparator
        What the cohort is compared with (docs/methodology/comparison.md):

        * a fixed baseline: a number (a rate as a proportion, ``0.43``, or a mean per
          offender), a ``(value, n)`` pair when the baseline was measured on ``n``
          offenders, a mapping from group to either, or a :class:`pbr.risk.Baseline`;
        * an adjusted baseline: a fitted :class:`pbr.risk.CaseMixModel` (each offender's
          prediction; the comparator is their mean), a ``Baseline`` with ``model=``
          (``E = B + P - P_base``, or ``B x P / P_base`` with ``form="ratio"``), or the
          name of a column of expected values; treated as known (no sampling variance);
        * a comparison group: a ``MeasureResult`` or frame, optionally weighted
          (``weights=``), or a :class:`pbr.MatchResult` (its matched controls, with the
          match weights, against its treated units);
        * difference in differences: the comparison group's after-period result, with
          ``before=`` and ``comparator_before=``.

        Rates are proportions (``0.28``, not ``28``).
    measure
        A measure of the registry (:data:`pbr.compare.MEASURES`): ``"binary_rate"``
        (alias ``"binary"``), ``"serious_rate"`` (``"serious"``), ``"per_offender"``
        (``"frequency"``), ``"per_reoffender"`` (the CRC frequency measure),
        ``"severity_per_offender"`` (``"severity"``), ``"custody_days_per_offender"``
        (bed days) or ``"mean_days_to_first"``.  With ``spec`` and no measure given,
        the spec's first measure.
    method
        Rates: ``"normal"`` (default), ``"newcombe"``, ``"exact"``, ``"bootstrap"``.
        Means: ``"welch"`` (default), ``"poisson"``, ``"negbin"`` (rate ratios of
        counts), ``"bootstrap"``.  Where the normal approximation is not valid for a
        group (fewer than 5 expected reoffenders or non-reoffenders), ``"normal"`` (and,
        for rates without ``clusters``, ``"bootstrap"``) switches to the exact method
        (the score method for weighted groups) for that group; the row's ``method`` and
        ``note`` say so, and a :class:`~pbr.errors.SmallSampleWarning` is issued.  With
        ``spec`` the scheme's test chooses it (``baseline_interval``: normal with the
        null variance, the CRC thresholds; ``difference_in_proportions``: normal;
        ``welch_t``: Welch; ``rate_ratio``: negative binomial; ``bootstrap``).
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
        with ``.weights``.  Finite and >= 0, not all 0.
    by
        Column(s) to compare within (providers, areas, cohorts); one row per group.
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
        The scheme's rules: a :class:`~pbr.compare.ComparisonSpec`, a
        :class:`~pbr.schemes.Scheme` or a scheme name (``"justice_data_lab"``).  Its kind
        must match the comparator given; its ``min_n``, ``level``, ``sides``, ``form`` and
        ``test`` are used; an argument that contradicts them raises
        :class:`~pbr.errors.SpecError`.  A spec whose test is ``"none"`` gives the
        estimates with no significance conclusion.
    model
        A :class:`pbr.risk.CaseMixModel` fitted on the baseline cohort, with a
        ``Baseline`` comparator: the adjusted baseline.
    form
        ``"additive"`` (default) or ``"ratio"``: how a case-mix prediction moves the
        baseline, and the form of a difference in differences.
    before, comparator_before
        The cohort's and the comparison group's before-period results: the comparison
        becomes a difference in differences (:func:`pbr.stats.diff_in_diff`).

    Returns
    -------
    ComparisonResult
        Per group also ``conclusion`` (``"significant"``, ``"not significant"``, ``"no
        test"`` or ``"not assessed: <reason>"``) and ``note`` (a method switch);
        ``significant`` is null for a group not assessed or not tested and never true
        for a zero-width interval.

    Examples
    --------
    >>> import polars as pl
    >>> cohort = pl.DataFrame({"offender_id": range(72), "reoffended": [True] * 22 + [False] * 50})
    >>> res = compare(cohort, 0.43, variance="cohort")
    >>> row = res.frame.row(0, named=True)
    >>> round(100 * row["estimate"], 1), round(100 * row["lower"], 1), round(100 * row["upper"], 1)
    (-12.4, -23.1, -1.8)
    >>> group = pl.DataFrame({"offender_id": range(100, 200),
    ...                       "reoffended": [True] * 43 + [False] * 57})
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     small = compare(cohort.head(20), group, spec="justice_data_lab")
    >>> small.frame["conclusion"][0]
    'not assessed: 20 people, below the minimum of 60 (justice_data_lab rule)'
    """
    cs = resolve_spec(spec)
    if cs is not None and measure == "binary" and cs.measures[0] != "binary_rate":
        measure = cs.measures[0]
    info = measure_info(measure)
    measure = info.name
    if cs is not None and measure not in cs.measures:
        raise SpecError(f"measure: the {cs.name} spec compares {', '.join(cs.measures)}, "
                        f"not {measure}; pass one of those, or change the spec")
    level, alternative, min_n, rule = scheme_rules(cs, level, alternative, min_n)
    check_level(level, alternative)
    kind = info.kind
    tested = True
    if cs is not None:
        want, var = _TEST_METHOD[cs.test][kind]
        if want == "negbin" and not info.counts:
            want = "welch"
        if method is not None and method != want:
            raise SpecError(f"method: {method!r} contradicts the {cs.name} spec's test "
                            f"{cs.test!r} (method {want!r}); leave method out, or change "
                            "the spec")
        if variance is not None and var is not None and variance != var:
            raise SpecError(f"variance: {variance!r} contradicts the {cs.name} spec's test "
                            f"{cs.test!r} (variance {var!r}); leave variance out")
        method, variance = want, variance or var
        tested = cs.test != "none"
        if form is not None and form != cs.form:
            raise SpecError(f"form: {form!r} contradicts the {cs.name} spec's form "
                            f"{cs.form!r}; leave form out, or change the spec")
        form = cs.form
    form = form or "additive"
    if form not in ("additive", "ratio"):
        raise SpecError(f"form: 'additive' or 'ratio', got {form!r}")
    did = before is not None or comparator_before is not None
    if did and (before is None or comparator_before is None):
        raise SpecError("before, comparator_before: a difference in differences needs both "
                        "before-period results (the cohort's and the comparison group's)")
    method = method or ("normal" if kind == "rate" else "welch")
    if method not in METHODS[kind]:
        raise SpecError(f"method: for the {measure} measure one of "
                        f"{', '.join(METHODS[kind])}, got {method!r}")
    if not info.counts and method in ("poisson", "negbin"):
        raise SpecError(f"method: rate ratios need counts; {measure} takes 'welch' or "
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
    keys = [by] if isinstance(by, str) else list(by or [])
    extra_prov: dict[str, Any] = {}
    if model is not None and not is_casemix_model(model):
        raise SpecError(f"model: expected a fitted pbr.risk.CaseMixModel, got "
                        f"{type(model).__name__}")
    if model is not None and not callable(getattr(comparator, "group", None)):
        raise SpecError("model: a case-mix model adjusts a pbr.risk.Baseline comparator; pass "
                        "the model itself as the comparator to compare with its predictions")
    if is_match_result(comparator):
        if weights is not None or cohort_weights is not None:
            raise SpecError("weights: a MatchResult comparator brings its own match weights; "
                            "leave weights and cohort_weights out")
        frame, cframe0, extra_prov = _split_by_match(frame, comparator)
        comp = Comparator("group", "matched comparison group", frame=cframe0,
                          weights=cframe0["_match_weight"].to_numpy(), provenance=extra_prov)
        w_match = frame["_match_weight"].to_numpy()
        cohort_weights = None if bool(np.all(w_match == 1.0)) else w_match
    elif is_casemix_model(comparator) or model is not None:
        comp = Comparator("adjusted", "case-mix adjusted baseline" if model is not None
                          else "case-mix prediction", column="_expected",
                          provenance={"casemix_model": comparator.family if model is None
                                      else model.family, "form": form})
    else:
        comp = resolve_comparator(comparator, frame, weights)
    if did:
        if comp.kind != "group":
            raise SpecError("comparator: a difference in differences compares with a "
                            "comparison group's after-period result (a MeasureResult or "
                            "frame), with before= and comparator_before=")
        if weights is not None or cohort_weights is not None or clusters or \
                method == "bootstrap":
            raise SpecError("before: a difference in differences takes unweighted groups "
                            "and analytic intervals; leave weights, cohort_weights, clusters "
                            "and method='bootstrap' out")
    if cs is not None:
        need, what = _KIND_NEEDS[cs.kind]
        got = "did" if did else comp.kind
        if got != need:
            raise SpecError(f"comparator: the {cs.name} spec compares with {what} (kind "
                            f"{cs.kind!r}), got a {comp.describe}; pass that, or a spec of "
                            "another kind")
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
    offenders = frame
    frame, column = measure_values(frame, info, "cohort")
    if cframe is not None:
        cframe, _ = measure_values(cframe, info, "comparison group")
    bframes: tuple[pl.DataFrame, pl.DataFrame] | None = None
    if did:
        pair = []
        for who, obj in (("cohort before", before), ("comparison group before",
                                                     comparator_before)):
            f = from_pandas(obj)
            f = f if isinstance(f, pl.DataFrame) else getattr(f, "frame", None)
            if not isinstance(f, pl.DataFrame):
                raise SpecError(f"{'before' if who == 'cohort before' else 'comparator_before'}"
                                f": expected a MeasureResult or its frame, got "
                                f"{type(obj).__name__}")
            for k in keys:
                if k not in f.columns:
                    raise SpecError(f"no column {k!r} in the {who} frame")
            pair.append(measure_values(f, info, who)[0])
        bframes = (pair[0], pair[1])
    if frame.height == 0:
        raise SpecError("result: the cohort has no offenders to compare"
                        + (" (nobody reoffended)"
                           if info.aggregation == "mean over reoffenders" else ""))
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
        row_extra: dict[str, Any] = {}
        if comp.column == "_expected":
            expected, parts = _casemix_expected(
                g, model if model is not None else comparator,
                comparator if model is not None else None, key if keys else None, form, info)
            keep = np.isfinite(expected)
            if not keep.all():
                row_extra["dropped"] = int((~keep).sum())
                g = g.filter(pl.Series(keep))
                expected = expected[keep]
            g = g.with_columns(_expected=pl.Series(expected))
            row_extra.update(parts)
        y1 = g[column].cast(pl.Float64).to_numpy() * info.scale
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
            y0 = h[column].cast(pl.Float64).to_numpy() * info.scale
            w0 = h["_w"].to_numpy() if comp.weights is not None else None
            if w0 is not None and not w0.sum() > 0:
                raise SpecError(f"weights: every comparison-group weight is 0 in group "
                                f"{key!r}; nobody there would be compared")
            comp_value = float(np.average(y0, weights=w0))
            comp_n = float(np.count_nonzero(w0)) if w0 is not None else float(h.height)
            if clusters:
                c0 = h[clusters].to_numpy()
        elif comp.kind == "adjusted":
            if comp.column == "_expected":   # made here: only the group's mean is a rate
                expected = g["_expected"].to_numpy() * info.scale
                mean = float(np.average(expected, weights=w1))
                if kind == "rate" and not 0.0 <= mean <= 1.0:
                    raise SpecError(f"comparator: the adjusted baseline of group {key!r} is "
                                    f"{mean:.4g}, outside [0, 1] ({form} form); use "
                                    "form='additive', or check the baseline's value and "
                                    "predicted_rate (proportions)")
            else:
                expected = expected_values(g, str(comp.column), kind) * info.scale
            base = (float(np.average(expected, weights=w1)), None)
            comp_value = base[0]
        else:
            base = _baseline_for(comp.value, key if keys else None, measure)
            base = (base[0] * info.scale, base[1])
            check_baseline(base, kind, key)
            comp_value, comp_n = base
        if clusters:
            c1 = g[clusters].to_numpy()
        with warnings.catch_warnings():   # each is summarised once below, per group
            warnings.simplefilter("ignore", SmallSampleWarning)
            if bframes is not None:
                assert y0 is not None
                tp = bframes[0].filter(sel)[column].cast(pl.Float64).to_numpy() * info.scale
                cp = bframes[1].filter(sel)[column].cast(pl.Float64).to_numpy() * info.scale
                for who, arr in (("cohort's before-period", tp),
                                 ("comparison group's before-period", cp)):
                    if arr.size == 0:
                        raise SpecError(f"the {who} result has nobody in group {key!r}")
                iv = diff_in_diff(tp, y1, cp, y0, kind=kind, form=form, level=level,
                                  alternative=alternative)
                m_tp, m_cp = float(tp.mean()), float(cp.mean())
                row_extra.update(cohort_before=m_tp, comparison_value=comp_value,
                                 comparison_before=m_cp)
                comp_value = (m_tp + comp_value - m_cp) if form == "additive" else (
                    m_tp * comp_value / m_cp if m_cp > 0 else math.nan)
            else:
                iv = _one(measure, method, y1, w1, y0, w0, base, c1, c0, opts)
        n1 = int(np.count_nonzero(w1)) if w1 is not None else g.height
        n_all = offenders.filter(sel).height
        reason = _reason(iv, n1, min_n, rule, measure)
        if reason is None and not tested:
            reason = f"no test: the {cs.name if cs else ''} spec has no significance test"
        rows.append({**dict(zip(keys, key, strict=True)), "n": n1, "offenders": n_all,
                     "cohort_value": float(np.average(y1, weights=w1)),
                     "comparator_value": comp_value, "comparator_n": comp_n,
                     **{k: iv.to_dict()[k] for k in ("estimate", "lower", "upper", "se",
                                                       "statistic", "p_value", "null",
                                                       "method", "note")},
                     "_reason": reason, **row_extra})
    out = pl.DataFrame(rows, infer_schema_length=None).with_columns(
        pl.col("note").cast(pl.String), pl.col("_reason").cast(pl.String))
    assessed = pl.col("_reason").is_null()
    label = comp.describe if not did else _DID_LABEL
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
        measure=pl.lit(measure), comparator=pl.lit(label),
        level=pl.lit(level), alternative=pl.lit(alternative)).drop("_reason")
    used = "difference in differences" if did else method
    prov = {"pbr_version": __version__, "measure": measure, "method": used,
            "variance": variance, "level": level, "alternative": alternative,
            "correction": correction, "by": keys, "seed": seed if method == "bootstrap"
            else None, "n_resamples": n_resamples if method == "bootstrap" else None,
            "comparator": {**comp.provenance, **extra_prov}, "min_n": min_n,
            "min_n_rule": rule, "form": form,
            "spec": cs.to_dict() if cs is not None else None}
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
    if "dropped" in out.columns and out["dropped"].fill_null(0).sum():
        text = (f"{int(out['dropped'].fill_null(0).sum()):,} cohort offender(s) left out of "
                "the adjusted baseline: a covariate of the case-mix model is missing "
                "(missing='drop')")
        warnings.warn(text, DataQualityWarning, stacklevel=2)
        notes.append(text)
    if comp.kind == "group" and method != "bootstrap" and clusters is None and \
            comp.weights is not None and not did and not bool(np.all(comp.weights ==
                                                                    comp.weights[0])):
        notes.append("weighted comparison group: sandwich variance of the weighted mean "
                     "(matched sets are not resampled; use method='bootstrap' with "
                     "clusters= for that)")
    if did:
        notes.append("difference in differences: the comparison group's change stands for "
                      "the change the cohort would have had without the programme "
                      "(parallel trends, which the data cannot confirm); comparator_value "
                      "is that counterfactual")
    if not tested and cs is not None:
        notes.append(f"the {cs.name} spec has no significance test: estimates and intervals "
                     "only, no conclusion")
    for k in keys:
        if frame[k].null_count():
            text = (f"by: column {k!r} is missing for {frame[k].null_count():,} cohort "
                    f"offender(s); they are compared as a group of their own ({k}=None)")
            warnings.warn(text, DataQualityWarning, stacklevel=2)
            notes.append(text)
    notes += _small_sample_notes(out.filter(~pl.col("conclusion").str.starts_with("no test"))
                                 if not tested else out, keys)
    return ComparisonResult(out, tuple(keys), measure, used, label, level, alternative,
                            correction,
                            prov, tuple(notes), form=form)
