"""A current cohort against its baseline, adjusted for case mix, with CRC-style thresholds.

Moved from ``pbr.risk.adjust`` (``pbr.risk.compare_to_baseline`` and
``pbr.risk.AdjustedComparison`` still import from there); :func:`pbr.compare` with a
:class:`~pbr.risk.baseline.Baseline` and ``model=`` is the general entry point.  Rates
are proportions (0.42 for 42%), as in :class:`~pbr.risk.baseline.Baseline` and
``MeasureResult.summary()``.

For each group ``g`` (the baseline's ``by`` columns), with ``A`` the current cohort's
actual rate, ``P`` its mean prediction under the baseline's behaviour (a
:class:`~pbr.risk.casemix.CaseMixModel`), ``B`` the baseline rate and ``P_base`` the
baseline cohort's mean prediction:

- ``adjusted_additive = A - P + P_base`` and ``adjusted_ratio = A x P_base / P``
  ([MoJ-Definitions-2011] [I]; with a model calibrated on the baseline, ``P_base = B``, these
  are the published ``A - P + B`` and ``A x B / P``;
  :func:`pbr.compare.thresholds.adjust_rate`);
- ``adjusted_baseline`` ``E = B + P - P_base`` (additive) or ``B x P / P_base`` (ratio):
  the rate expected of the current cohort with the baseline's behaviour
  (:func:`pbr.compare.thresholds.adjust_baseline`, the formula a contract's case-mix
  comparator uses too);
- ``threshold_lower``, ``threshold_upper``: ``E -/+ z sqrt(E(1-E)/n)`` for the binary
  rate, the CRC thresholds around the (adjusted) baseline scaled to the cohort size
  ([MoJ-PbR-Baselines-2011]: form [R], level not published [V2];
  :func:`pbr.compare.thresholds.baseline_thresholds`, the one function a contract's
  thresholds come from too); and ``E -/+ z s / sqrt(n)`` for a frequency, ``s`` the
  baseline's standard deviation of the counts (normal approximation for a mean [I]; no
  published source);
- ``significant``: ``A`` outside the thresholds.

Small groups (docs/methodology/inference.md, "What pbr refuses and why"):

- where the normal approximation behind the binary thresholds is not valid, ``n·E < 5``
  or ``n·(1-E) < 5`` (:func:`pbr.stats.normal_approximation_problem`; Brown, Cai and
  DasGupta 2001), the thresholds are the exact binomial ones instead (in
  :func:`~pbr.compare.thresholds.baseline_thresholds`): a reduction is significant when
  ``P(X <= x | n, E) <= (1 - level) / 2`` two-sided (``1 - level`` one-sided), ``x`` the
  cohort's reoffenders; the row's ``method`` says which was used;
- a frequency threshold needs a positive standard deviation and, from the current
  cohort, at least two offenders; without, the group is not assessed;
- a group below the comparison spec's ``min_n`` (the Justice Data Lab's 60) keeps its
  figures but gets ``significant`` null and direction ``"below min_n"``;
- each group not assessed has its reason in ``conclusion``; a
  :class:`~pbr.errors.SmallSampleWarning` is issued and kept in ``notes``.

``P_base`` comes from the baseline cohort (``baseline_cohort=``), else from the baseline's
stored ``predicted_rate`` (binary rate only), else it is taken equal to ``B``: exact for a
logistic or Poisson model with a constant and the ``by`` groups among its covariates
fitted on the baseline cohort (the fitted means reproduce each group's rate), and the
published ``A - P + B`` form.  The result records which was used.  Without a model the
comparison is with the fixed baseline (``P = P_base``; Doncaster 2009).
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

from pbr._memo import Memo, memoised
from pbr.compare.spec import ComparisonSpec
from pbr.compare.thresholds import adjust_baseline, adjust_rate, baseline_thresholds
from pbr.errors import SchemaError, SmallSampleWarning, SpecError
from pbr.measures import _frame_fingerprint
from pbr.risk.baseline import Baseline
from pbr.risk.casemix import MODEL_MEASURES, CaseMixModel, outcome_frame

__all__ = ["AdjustedComparison", "compare_to_baseline"]

_SD = {"per_offender": "per_offender_sd", "per_reoffender": "per_reoffender_sd"}
COLUMNS = ("n", "dropped", "actual", "predicted", "predicted_baseline", "baseline",
           "adjusted_additive", "adjusted_ratio", "adjusted_baseline", "change",
           "relative_change", "threshold_lower", "threshold_upper", "significant", "direction",
           "method", "conclusion")


@dataclass(frozen=True)
class AdjustedComparison:
    """Per-group comparison of a current cohort with its (case-mix adjusted) baseline.

    Attributes
    ----------
    frame
        One row per group: the ``by`` columns and ``n`` (offenders compared; reoffenders
        for ``per_reoffender``), ``dropped`` (left out for missing covariates),
        ``actual``, ``predicted``, ``predicted_baseline``, ``baseline``,
        ``adjusted_additive``, ``adjusted_ratio``, ``adjusted_baseline`` (in the chosen
        form), ``change`` (adjusted rate - baseline, chosen form), ``relative_change``
        (``change / baseline``), ``threshold_lower``,
        ``threshold_upper``, ``significant`` and ``direction`` (``reduction``,
        ``increase``, ``none`` or ``below min_n``), ``method`` (``normal`` or ``exact
        binomial`` thresholds, or ``none``) and ``conclusion`` (``significant``, ``not
        significant``, ``no test`` or ``not assessed: <reason>``).  Binary rates (and
        their predictions and thresholds) are proportions, 0.42 for 42%.
    measure
        ``binary_rate``, ``per_offender`` or ``per_reoffender``.
    comparison
        The :class:`~pbr.compare.ComparisonSpec` (form, level, sides, test).
    baseline, model
        The inputs (``model`` None for a fixed baseline).
    predicted_baseline_source
        ``"baseline_cohort"``, ``"baseline.predicted_rate"``, ``"baseline (calibrated
        model)"`` or ``"none (fixed baseline)"``.
    frequency_sd
        ``"baseline"`` or ``"current"``: whose standard deviation the frequency
        thresholds use.
    per
        Further grouping columns of the current cohort (e.g. ``cohort_period``); the
        frame's key columns are ``keys`` = the baseline's ``by`` then ``per``.
    notes
        Caveats kept in the record.

    Examples
    --------
    A cohort of 1,000 reoffends at 40% against a 42% baseline, but its supplied risk
    score predicts 45% (the score taken as calibrated on the baseline, so P_base = 0.42):
    the adjusted rate is 0.40 - 0.45 + 0.42 = 0.37, 5 points below the baseline; the
    adjusted baseline is 0.42 + 0.45 - 0.42 = 0.45 and its lower threshold
    0.45 - 1.959964 sqrt(0.45 x 0.55 / 1000) = 0.419166, so 0.40 is a significant
    reduction.  Against the fixed baseline the change is only -2 points, inside
    0.42 -/+ 0.030591 (0.389409 to 0.450591).

    >>> import polars as pl
    >>> from pbr.compare.adjusted import compare_to_baseline
    >>> from pbr.risk.baseline import Baseline
    >>> from pbr.risk.casemix import casemix_score
    >>> cur = pl.DataFrame({"reoffended": [True] * 400 + [False] * 600,
    ...                     "reoffences": [1] * 400 + [0] * 600,
    ...                     "ogrs": [0.6, 0.3] * 500})
    >>> base = Baseline.from_values({"binary_rate": 0.42}, spec="crc_pbr_2015", label="2011")
    >>> res = compare_to_baseline(cur, base, casemix_score("ogrs"))
    >>> print(res.explain())  # doctest: +ELLIPSIS
    group all: binary_rate, additive form, level 0.95 two-sided (z = 1.9600)
      n = 1,000
      actual A = 0.400000
      predicted P = mean prediction on the current cohort = 0.450000
      baseline B = 0.420000; P_base = 0.420000 (baseline (calibrated model))
      additive: A - P + P_base = 0.370000 ([MoJ-Definitions-2011])
      ratio:    A x P_base / P = 0.373333 ([MoJ-Definitions-2011])
      adjusted baseline E = 0.450000; change -0.050000
      thresholds E -/+ z sqrt(E(1-E)/n) ...: [0.419166, 0.480834] -> reduction (significant)
    >>> fixed = compare_to_baseline(cur, base)
    >>> r = fixed.frame.row(0, named=True)
    >>> round(r["change"], 6), round(r["threshold_lower"], 6), r["direction"]
    (-0.02, 0.389409, 'none')
    """

    frame: pl.DataFrame
    measure: str
    comparison: ComparisonSpec
    baseline: Baseline
    model: CaseMixModel | None
    predicted_baseline_source: str
    frequency_sd: str
    per: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    _fingerprint: str = field(default="", repr=False, compare=False)
    _memo: Memo = field(default_factory=Memo, init=False, repr=False, compare=False)

    @property
    def keys(self) -> tuple[str, ...]:
        """The key columns of :attr:`frame`: the baseline's groups, then ``per``."""
        return self.baseline.by + self.per

    def to_frame(self) -> pl.DataFrame:
        """The per-group frame (polars)."""
        return self.frame

    def to_pandas(self) -> Any:
        """The per-group frame as a pandas DataFrame."""
        return self.frame.to_pandas()

    def summary(self) -> pl.DataFrame:
        """The groups with their headline columns: actual, adjusted baseline, change, verdict."""
        keys = list(self.keys)
        return self.frame.select([*keys, "n", "actual", "baseline", "adjusted_baseline",
                                  "change", "relative_change", "significant", "direction"])

    def explain(self, group: Any = None) -> str:
        """The arithmetic of one group, step by step, with the sources of each formula."""
        keys = self.keys
        wanted = () if group is None and not keys else (
            tuple(group) if isinstance(group, tuple) else (group,))
        rows = [r for r in self.frame.iter_rows(named=True)
                if tuple(r[k] for k in keys) == wanted]
        if not rows:
            raise SpecError(f"no group {wanted!r}; groups: "
                            f"{self.frame.select(keys).rows() if keys else [()]}")
        r = rows[0]
        c = self.comparison
        binary = self.measure == "binary_rate"
        unit = "" if binary else " per person"   # the binary rate is a proportion
        d = 6 if binary else 4
        name = ", ".join(f"{k}={v}" for k, v in zip(keys, wanted, strict=True)) or "all"
        lines = [f"group {name}: {self.measure}, {c.form} form, level {c.level:g} "
                 f"{c.sides} (z = {c.z:.4f})",
                 f"  n = {r['n']:,}" + (f" ({r['dropped']:,} dropped for missing covariates)"
                                        if r["dropped"] else ""),
                 f"  actual A = {r['actual']:.{d}f}{unit}"]
        if self.model is None:
            lines.append(f"  fixed baseline B = {r['baseline']:.{d}f}{unit} "
                         "(no case-mix model)")
        else:
            lines += [
                "  predicted P = mean prediction on the current cohort = "
                f"{r['predicted']:.{d}f}",
                f"  baseline B = {r['baseline']:.{d}f}; P_base = "
                f"{r['predicted_baseline']:.{d}f} ({self.predicted_baseline_source})",
                f"  additive: A - P + P_base = {r['adjusted_additive']:.{d}f}"
                " ([MoJ-Definitions-2011])",
                f"  ratio:    A x P_base / P = {r['adjusted_ratio']:.{d}f}"
                " ([MoJ-Definitions-2011])",
            ]
        lines.append(f"  adjusted baseline E = {r['adjusted_baseline']:.{d}f}; change "
                     f"{r['change']:+.{d}f}")
        if r["threshold_lower"] is None and r["threshold_upper"] is None:
            lines.append(f"  no thresholds (test {c.test!r})")
        else:
            if binary:
                how = "E -/+ z sqrt(E(1-E)/n) (CRC form [MoJ-PbR-Baselines-2011] [R])"
            else:
                how = (f"E -/+ z s/sqrt(n), s from the {self.frequency_sd} cohort "
                       "(normal approximation [I])")
            lo, hi = r["threshold_lower"], r["threshold_upper"]
            lines.append(f"  thresholds {how}: [{_f(lo, f'.{d}f')}, {_f(hi, f'.{d}f')}] -> "
                         f"{r['direction']}" + (" (significant)" if r["significant"] else ""))
        return "\n".join(lines)

    @memoised
    def provenance(self) -> dict[str, Any]:
        """Version, comparison spec, baseline and model fingerprints, current-frame SHA-256."""
        from pbr._version import __version__

        model = "none" if self.model is None else str(self.model)
        return {"pbr_version": __version__, "measure": self.measure,
                "comparison": self.comparison.to_toml(),
                "baseline_sha256": self.baseline.provenance["baseline_sha256"],
                "model_sha256": hashlib.sha256(model.encode()).hexdigest(),
                "current_sha256": self._fingerprint}

    def __str__(self) -> str:
        c = self.comparison
        keys = list(self.keys)
        lines = [f"Comparison with baseline {self.baseline.label!r}: {self.measure}, "
                 f"{'fixed baseline' if self.model is None else c.form + ' case-mix adjustment'}"
                 f", level {c.level:g} {c.sides}"
                 + (" (rates as proportions)" if self.measure == "binary_rate" else "")]
        head = [*keys, "n", "actual", "predicted", "baseline", "adj_baseline", "change",
                "lower", "upper", "verdict"]
        lines.append("  " + " ".join(f"{h:>12}" for h in head))
        fmt = ".4f" if self.measure == "binary_rate" else ".3f"   # proportions: 4 places
        for r in self.frame.iter_rows(named=True):
            cells = [str(r[k]) for k in keys] + [
                f"{r['n']:,}", _f(r["actual"], fmt), _f(r["predicted"], fmt),
                _f(r["baseline"], fmt), _f(r["adjusted_baseline"], fmt),
                _f(r["change"], "+" + fmt), _f(r["threshold_lower"], fmt),
                _f(r["threshold_upper"], fmt), r["direction"]]
            lines.append("  " + " ".join(f"{cell:>12}" for cell in cells))
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def _f(x: float | None, fmt: str = ".3f") -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, fmt)


def _group_table(frame: pl.DataFrame, keys: list[str], y: np.ndarray, pred: np.ndarray
                 ) -> pl.DataFrame:
    kept = ~np.isnan(pred)
    work = pl.DataFrame({"_y": y, "_p": np.where(kept, pred, 0.0), "_k": kept})
    if keys:
        work = frame.select(keys).hstack(work)
    aggs = [pl.col("_k").sum().cast(pl.Int64).alias("n"),
            (~pl.col("_k")).sum().cast(pl.Int64).alias("dropped"),
            pl.col("_y").filter(pl.col("_k")).mean().alias("actual"),
            pl.col("_y").filter(pl.col("_k")).std().alias("sd"),
            pl.col("_p").filter(pl.col("_k")).mean().alias("predicted")]
    table = work.group_by(keys).agg(aggs) if keys else work.select(aggs)
    return table.sort(keys) if keys else table


def compare_to_baseline(current: Any, baseline: Baseline, model: CaseMixModel | None = None,
                        *, measure: str | None = None,
                        comparison: ComparisonSpec | None = None,
                        form: Literal["additive", "ratio"] | None = None,
                        baseline_cohort: Any = None,
                        frequency_sd: Literal["baseline", "current"] = "baseline",
                        per: str | Sequence[str] | None = None,
                        ) -> AdjustedComparison:
    """Compare a current cohort with its baseline, per baseline group.

    Parameters
    ----------
    current
        The current cohort measured: a MeasureResult or a frame with ``reoffended``,
        ``reoffences``, the baseline's ``by`` columns and the model's covariates.
    baseline
        A :class:`~pbr.risk.baseline.Baseline` (its ``by`` columns define the groups).
    model
        A :class:`~pbr.risk.casemix.CaseMixModel` from :func:`~pbr.risk.casemix.fit_casemix`
        or :func:`~pbr.risk.casemix.casemix_score`; None compares with the fixed baseline.
    measure
        ``binary_rate``, ``per_offender`` or ``per_reoffender``; default the model's.
    comparison
        Form, level, sides and test; default an additive, two-sided baseline interval at
        the 0.95 confidence level.
    form
        Overrides ``comparison.form``.
    baseline_cohort
        The baseline cohort measured, to compute ``P_base`` (its mean prediction per group).
    frequency_sd
        Standard deviation for frequency thresholds: the baseline's (stored by
        ``Baseline.from_result``) or the current cohort's.
    per
        Further columns of the current cohort to compare separately, each against its
        baseline group: ``per="cohort_period"`` gives one row per quarterly cohort and
        area against the area's annual baseline (the CRC quarterly cohorts against 2011).

    Examples
    --------
    A fixed baseline (CRC NPS, [MoJ-CRC-Final]): 34.2% against 37.5% is -3.3 points
    (rates are proportions).

    >>> import polars as pl
    >>> cur = pl.DataFrame({"reoffended": [True] * 342 + [False] * 658,
    ...                     "reoffences": [1] * 342 + [0] * 658})
    >>> base = Baseline.from_values({"binary_rate": 0.375}, spec="crc_pbr_2015",
    ...                             label="Oct-Dec 2015")
    >>> res = compare_to_baseline(cur, base)
    >>> round(res.frame["change"][0], 6), res.frame["direction"][0]
    (-0.033, 'reduction')
    """
    measure = measure or (model.measure if model is not None else "binary_rate")
    if model is not None and model.measure != measure:
        raise SpecError(f"measure: the model predicts {model.measure!r}, not {measure!r}")
    if measure not in MODEL_MEASURES:
        raise SpecError(f"measure: one of {', '.join(MODEL_MEASURES)}, got {measure!r}")
    if frequency_sd not in ("baseline", "current"):
        raise SpecError(f"frequency_sd: 'baseline' or 'current', got {frequency_sd!r}")
    comparison = comparison or ComparisonSpec(
        kind="adjusted_baseline" if model is not None else "fixed_baseline",
        case_mix=("supplied_score" if model.family == "score" else "model")
        if model is not None else "none", baseline=baseline.label or "baseline",
        test="baseline_interval", measures=(measure,))
    if form is not None:
        comparison = comparison.replace(form=form)
    if comparison.kind not in ("fixed_baseline", "adjusted_baseline"):
        raise SpecError(f"comparison: kind {comparison.kind!r} is not a baseline comparison; "
                        "use kind='fixed_baseline' or 'adjusted_baseline'")
    if comparison.kind == "adjusted_baseline" and model is None:
        raise SpecError("model: an adjusted_baseline comparison needs a case-mix model "
                        "(fit_casemix or casemix_score); for a measure compared with the "
                        "fixed baseline (the CRC frequency) pass comparison=comparison.replace("
                        "kind='fixed_baseline', case_mix='none')")
    if comparison.kind == "fixed_baseline" and model is not None:
        raise SpecError("model: a fixed_baseline comparison takes no case-mix model; use a "
                        "comparison with kind='adjusted_baseline'")
    frame, spec = outcome_frame(current, measure)
    notes = _check_spec(spec, baseline)
    bkeys = list(baseline.by)
    extra = [per] if isinstance(per, str) else list(per or [])
    if set(extra) & set(bkeys) or len(set(extra)) != len(extra):
        raise SpecError(f"per: {extra} must be new columns, not the baseline's groups {bkeys}")
    keys = bkeys + extra
    missing = [k for k in keys if k not in frame.columns]
    if missing:
        raise SchemaError(f"column(s) {missing} (the groups compared) are not in the current "
                          f"cohort; columns: {', '.join(frame.columns)}")
    y = frame["reoffended" if measure == "binary_rate" else "reoffences"].cast(
        pl.Float64).to_numpy()
    pred = (model.predict(frame) if model is not None else np.zeros(frame.height))
    table = _group_table(frame, keys, y, pred)
    sources: set[str] = set() if model is not None else {"none (fixed baseline)"}
    p0_table = None
    if model is not None and baseline_cohort is not None:
        bframe, _ = outcome_frame(baseline_cohort, measure)
        bpred = model.predict(bframe)
        missing = [k for k in bkeys if k not in bframe.columns]
        if missing:
            raise SchemaError(f"column(s) {missing} are not in the baseline cohort")
        p0_table = _group_table(bframe, bkeys, np.zeros(bframe.height), bpred)
        sources.add("baseline_cohort")
    rows = []
    for r in table.iter_rows(named=True):
        key = tuple(r[k] for k in keys)
        bkey = key[:len(bkeys)]
        group = baseline.group(bkey if bkeys else None)
        b = group.value(measure)
        if b is None:
            raise SpecError(f"baseline {baseline.label!r} has no {measure} for group {key!r}")
        p: float | None = None
        p0: float | None = None
        if model is not None:
            p = r["predicted"]
            if p0_table is not None:
                match = p0_table.filter(pl.all_horizontal(
                    [pl.col(k) == v for k, v in zip(bkeys, bkey, strict=True)])) if bkeys \
                    else p0_table
                if match.height == 0:
                    raise SchemaError(f"group {bkey!r} has no offenders in the baseline cohort")
                p0 = match["predicted"][0]
            elif measure == "binary_rate" and group.predicted_rate is not None:
                p0 = group.predicted_rate
                sources.add("baseline.predicted_rate")
            else:
                p0 = b
                sources.add("baseline (calibrated model)")
        sd = None if measure == "binary_rate" else (
            r["sd"] if frequency_sd == "current" else group.value(_SD[measure]))
        if measure != "binary_rate" and sd is None and comparison.test == "baseline_interval":
            raise SpecError(f"frequency_sd: the baseline has no {_SD[measure]} for group "
                            f"{key!r} (published values rarely do); give it in the baseline "
                            "values or pass frequency_sd='current'")
        _check_units(b, measure, key, baseline.label)
        rows.append({**dict(zip(keys, key, strict=True)),
                     **_one_group(r["n"], r["dropped"], r["actual"], p, p0, b, sd, measure,
                                  comparison)})
    schema: dict[str, Any] = {k: table.schema[k] for k in keys}
    schema.update({c: pl.Float64 for c in COLUMNS})
    schema.update(n=pl.Int64, dropped=pl.Int64, significant=pl.Boolean, direction=pl.String,
                  method=pl.String, conclusion=pl.String)
    out = pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)
    if int(out["dropped"].sum() or 0):
        notes.append(f"{int(out['dropped'].sum()):,} offender(s) with missing covariates left "
                     "out of the comparison (missing='drop')")
    notes += _small_sample_notes(out, keys)
    return AdjustedComparison(out, measure, comparison, baseline, model,
                              " + ".join(sorted(sources)), frequency_sd, tuple(extra),
                              tuple(notes), _frame_fingerprint(frame))


def _small_sample_notes(out: pl.DataFrame, keys: list[str]) -> list[str]:
    """Warn (SmallSampleWarning) about groups not assessed and exact thresholds; notes."""
    def label(r: dict[str, Any]) -> str:
        return ", ".join(f"{k}={r[k]}" for k in keys) or "all"

    notes = []
    skipped = out.filter(pl.col("conclusion").str.starts_with("not assessed"))
    if skipped.height:
        notes.append(f"{skipped.height} group(s) not assessed, no significance conclusion "
                     "drawn: " + "; ".join(
                         f"{label(r)}: {r['conclusion'].removeprefix('not assessed: ')}"
                         for r in skipped.iter_rows(named=True)))
    exact = out.filter(pl.col("method") == "exact binomial")
    if exact.height:
        notes.append("normal approximation not valid (n·E or n·(1-E) below 5; Brown, Cai "
                     "and DasGupta 2001): exact binomial thresholds for group(s) "
                     + ", ".join(label(r) for r in exact.iter_rows(named=True)))
    for text in notes:
        warnings.warn(text, SmallSampleWarning, stacklevel=3)
    return notes


def _check_units(b: float, measure: str, key: Any, label: str) -> None:
    """Refuse a binary baseline of 0 or 1: nothing to test against."""
    if measure == "binary_rate" and not 0.0 < b < 1.0:
        raise SpecError(f"baseline {label!r}: binary_rate {b:g} for group {key!r} leaves "
                        "nothing to test against (a baseline where nobody or everyone "
                        "reoffended); check the value (a proportion, 0.42 for 42%)")


def _check_spec(spec: Any, baseline: Baseline) -> list[str]:
    if spec is None:
        return ["the current cohort came as a frame, so its MeasureSpec could not be checked "
                "against the baseline's"]
    ignore = {"name", "as_of", "interim"}
    a, b = spec.to_dict(), baseline.spec.to_dict()
    differ = sorted(k for k in set(a) | set(b) if k not in ignore and a.get(k) != b.get(k))
    if differ:
        raise SpecError(f"the current cohort was measured with different rules from the baseline "
                        f"({', '.join(differ)}); measure both with the same MeasureSpec")
    return []


def _one_group(n: int, dropped: int, actual: float, p: float | None, p0: float | None,
               b: float, sd: float | None, measure: str, c: ComparisonSpec) -> dict[str, Any]:
    if p is None or p0 is None:  # fixed baseline
        add = ratio = actual
        expected = b
    else:
        add = adjust_rate(actual, p, p0, "additive")
        ratio = adjust_rate(actual, p, p0, "ratio")
        expected = (adjust_baseline(b, p, p0, c.form) if c.form == "additive" or p0 > 0
                    else math.nan)
    adjusted = add if c.form == "additive" else ratio
    lower = upper = None
    direction, method, reason = "none", "none", None
    significant: bool | None = False
    if c.test == "baseline_interval" and n > 0 and not math.isnan(expected):
        if measure == "binary_rate":
            if not 0.0 < expected < 1.0:
                reason = (f"the adjusted baseline E = {expected:.4g} is outside (0, 1), so "
                          "there is nothing to test against")
            else:
                t = baseline_thresholds(expected, n, level=c.level, alternative=c.sides,
                                        z=c.z)
                lower, upper, method = t.lower, t.upper, t.method
        elif sd is None or not sd > 0 or math.isnan(sd):
            reason = (f"the standard deviation of the counts is {sd!r}, so the threshold "
                      "E -/+ z s/sqrt(n) would have zero width")
        else:
            half = c.z * float(sd) / math.sqrt(n)
            lower, upper, method = expected - half, expected + half, "normal"
            if c.sides == "less":
                upper = None
            elif c.sides == "greater":
                lower = None
        tol = 1e-9   # an exact threshold is a count over n: no rounding may cross it
        if lower is not None and actual < lower - tol:
            direction = "reduction"
        elif upper is not None and actual > upper + tol:
            direction = "increase"
        significant = direction != "none"
        if reason is not None:
            significant, direction = None, "none"
    elif c.test == "baseline_interval":
        significant, reason = None, "nobody in the group" if n == 0 else (
            "the adjusted baseline could not be computed (a prediction of 0)")
    else:
        significant = None
    if n < c.min_n:
        significant, direction = None, "below min_n"
        reason = (f"{n:,} {'reoffenders' if measure == 'per_reoffender' else 'people'}, "
                  f"below the minimum of {c.min_n:,} ({c.name} rule)")
    conclusion = (f"not assessed: {reason}" if reason is not None else "no test"
                  if significant is None else "significant" if significant
                  else "not significant")
    return {"n": n, "dropped": dropped, "actual": actual, "predicted": p,
            "predicted_baseline": p0, "baseline": b, "adjusted_additive": add,
            "adjusted_ratio": ratio, "adjusted_baseline": expected,
            "change": adjusted - b, "relative_change": (adjusted - b) / b if b else math.nan,
            "threshold_lower": lower, "threshold_upper": upper,
            "significant": significant, "direction": direction, "method": method,
            "conclusion": conclusion}
