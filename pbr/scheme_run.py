"""Run a scheme end to end: cohort -> measure -> compare, against the comparator it names.

:meth:`pbr.Scheme.run` builds the cohort (from disposals with the scheme's
:class:`~pbr.cohort.rule.CohortRule`, or takes one given), measures it with the scheme's
:class:`~pbr.spec.MeasureSpec` and compares each measure its
:class:`~pbr.compare.ComparisonSpec` names with :func:`pbr.compare` (``spec=`` the
scheme's comparison: its test, confidence level, sides, minimum n and form), against the
comparator its kind needs (docs/methodology/comparison.md, "Comparators"):

=============================  ========================================================
kind                           arguments of :meth:`~pbr.Scheme.run`
=============================  ========================================================
``fixed_baseline``             ``baseline=`` (Doncaster 2009; [MoJ-Doncaster-2015])
``adjusted_baseline``          ``baseline=`` and ``model=`` (CRC 2011 with OGRS4/G3;
                               [MoJ-CRC-Final])
``matched_comparison``         ``comparison=``: the comparison group's cohort or
                               measure, or a :class:`~pbr.MatchResult` (Peterborough,
                               the Justice Data Lab; [Cave-2012], [OSR-JDL-2025])
``difference_in_differences``  ``comparison=``, ``before=`` and ``comparator_before=``
                               (Rikers ABLE against 19-year-olds; [MDRC-Rikers-2013])
``none``                       none: the measures only (MoJ headline statistics;
                               [MoJ-PRS-Bulletins])
=============================  ========================================================

A comparator the kind needs and is not given, or one it does not use, raises
:class:`~pbr.errors.SpecError` naming the argument and the fix: a scheme's comparison
is never silently replaced by another.  Every measure a scheme names is a registry name
(:data:`pbr.compare.MEASURES`), and :func:`pbr.compare` compares each of them: a measure
it cannot compare on the data given (e.g. ``per_reoffender`` when nobody reoffended)
raises its error rather than being left out of the run.  The result, :class:`SchemeRun`, holds the
measure results, one :class:`~pbr.compare.ComparisonResult` per measure, the notes and
the provenance (scheme, the SHA-256 of its TOML, pbr version), and passes
:meth:`SchemeRun.outcomes` through to each comparison for :func:`pbr.pay`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from pbr._version import __version__
from pbr.errors import SpecError

if TYPE_CHECKING:
    from pbr.compare.result import ComparisonResult
    from pbr.measures import MeasureResult
    from pbr.schemes import Scheme

__all__ = ["COMPARATORS", "KIND_NEEDS", "SchemeRun", "run_scheme"]

#: The comparator arguments of :meth:`pbr.Scheme.run`.
COMPARATORS = ("baseline", "model", "comparison", "before", "comparator_before")
#: The comparator arguments each comparison kind needs (every other one is refused).
KIND_NEEDS: dict[str, tuple[str, ...]] = {
    "none": (),
    "fixed_baseline": ("baseline",),
    "adjusted_baseline": ("baseline", "model"),
    "matched_comparison": ("comparison",),
    "difference_in_differences": ("comparison", "before", "comparator_before"),
}
_WHAT = {
    "baseline": "the baseline: a pbr.Baseline, a value (a proportion for rates), "
                "(value, n), or {measure: value}",
    "model": "the case-mix predictor: a fitted pbr.CaseMixModel (pbr.fit_casemix), "
             "pbr.casemix_score(column), {measure: model}, or the name of a cohort column of "
             "predicted probabilities",
    "comparison": "the comparison group: its cohort (measured here with the scheme's "
                  "measure), its MeasureResult, or a pbr.MatchResult",
    "before": "the cohort's before-period cohort or MeasureResult",
    "comparator_before": "the comparison group's before-period cohort or MeasureResult",
}
#: options passed through to :func:`pbr.compare` (level, sides, min_n and the test come
#: from the scheme's ComparisonSpec)
_OPTIONS = ("method", "variance", "weights", "cohort_weights", "correction", "clusters",
            "n_resamples", "seed")


@dataclass(frozen=True)
class SchemeRun:
    """A scheme run end to end: the measures and one comparison per measure.

    Attributes
    ----------
    scheme
        The :class:`~pbr.schemes.Scheme` run.
    result
        The cohort's :class:`~pbr.measures.MeasureResult` (with a ``MatchResult``
        comparator: treated and matched controls, ``match.cohort()`` measured).
    comparisons
        Measure name -> :class:`~pbr.compare.ComparisonResult`, in the order of the
        scheme's ``comparison.measures``; empty for kind ``"none"``.
    inputs
        The other groups measured: ``"comparison"``, ``"before"``,
        ``"comparator_before"`` -> their MeasureResult.
    notes
        What the reader should know: the scheme's rules applied, a measure compared with
        an unadjusted baseline, the notes of the cohort build, the measures and the
        comparisons (each once).
    provenance
        ``scheme``, ``scheme_sha256`` (of ``scheme.to_toml()``), ``pbr_version``,
        ``kind``, ``measures``, ``comparator`` (what each argument was) and each
        comparison's and measure's provenance.

    Examples
    --------
    >>> import pbr
    >>> data = pbr.synth.generate(300, seed=2)
    >>> run = pbr.scheme("moj_national_2017").run(data.cohort, data.events)
    >>> run.comparisons, run.summary()["measure"].to_list()
    ({}, ['binary_rate', 'per_offender', 'per_reoffender'])
    """

    scheme: Scheme
    result: MeasureResult
    comparisons: dict[str, ComparisonResult] = field(default_factory=dict)
    inputs: dict[str, MeasureResult] = field(default_factory=dict, compare=False)
    notes: tuple[str, ...] = ()
    provenance: dict[str, Any] = field(default_factory=dict, compare=False)
    by: tuple[str, ...] = ()

    def comparison(self, measure: str | None = None) -> ComparisonResult:
        """The comparison of one measure (the only one when ``measure`` is left out)."""
        if not self.comparisons:
            raise SpecError(f"comparison: the {self.scheme.name} scheme has no comparator "
                            f"(kind {self.scheme.comparison.kind!r}); see summary() for the "
                            "measures")
        if measure is None:
            if len(self.comparisons) > 1:
                raise SpecError(f"measure: name one of {', '.join(self.comparisons)}")
            return next(iter(self.comparisons.values()))
        from pbr.compare.registry import measure_info
        name = measure_info(measure).name
        if name not in self.comparisons:
            raise SpecError(f"measure: {measure!r} is not compared by the {self.scheme.name} "
                            f"scheme; one of {', '.join(self.comparisons)}")
        return self.comparisons[name]

    def summary(self) -> pl.DataFrame:
        """One row per measure (and group): the cohort's value and, with a comparator,
        the comparator's, the estimate, interval, p-value and conclusion."""
        if not self.comparisons:
            values = self.result.summary(by=list(self.by) or None)
            rows = [values.select(*self.by, "n", pl.lit(m).alias("measure"),
                                  pl.col(m).cast(pl.Float64).alias("cohort_value"))
                    if m in values.columns else
                    values.select(*self.by, "n", pl.lit(m).alias("measure"),
                                  pl.lit(None, pl.Float64).alias("cohort_value"))
                    for m in self.scheme.comparison.measures]
            return pl.concat(rows, how="vertical_relaxed")
        cols = [*self.by, "measure", "n", "cohort_value", "comparator_value", "estimate",
                "lower", "upper", "p_value", "significant", "conclusion"]
        return pl.concat([c.frame.select([k for k in cols if k in c.frame.columns])
                          for c in self.comparisons.values()], how="diagonal_relaxed")

    def to_frame(self) -> pl.DataFrame:
        """The summary table (polars)."""
        return self.summary()

    def to_pandas(self) -> Any:
        """The summary table as a pandas DataFrame."""
        return self.summary().to_pandas()

    def outcomes(self, *, cohort: str | None = None, unit: str | None = None,
                 contract: Any = None) -> tuple[Any, ...]:
        """Every comparison's :meth:`~pbr.compare.ComparisonResult.outcomes`, for
        :func:`pbr.pay`, in measure order.

        ``cohort`` labels an ungrouped run; ``unit`` is ``"percent"`` or ``"proportion"``
        for rates (default the contract's ``rate_unit``, else per cent); ``contract``
        gives each cohort's period start and contract year.
        """
        if not self.comparisons:
            raise SpecError(f"outcomes: the {self.scheme.name} scheme has no comparator "
                            f"(kind 'none'), so there is nothing to pay on")
        return tuple(o for c in self.comparisons.values()
                     for o in c.outcomes(cohort=cohort, unit=unit, contract=contract))

    def explain(self) -> str:
        """How the run was made: the scheme, the comparator, and each comparison."""
        cs = self.scheme.comparison
        lines = [f"Scheme {self.scheme.name!r}: {self.scheme.title}",
                 f"  comparison: {cs.kind}, test {cs.test}, {cs.level:.0%} confidence, "
                 f"{cs.sides}, form {cs.form}, minimum n {cs.min_n}",
                 f"  comparator: {self.provenance.get('comparator_text', '-')}",
                 f"  cohort: {self.result.frame.height:,} offenders measured with the "
                 f"{self.scheme.measure.name} measure spec"]
        for name, res in self.inputs.items():
            lines.append(f"  {name}: {res.frame.height:,} offenders")
        if not self.comparisons:
            lines += ["", "No comparator (kind 'none'): the measures only.",
                      _table(self.summary())]
        for name, c in self.comparisons.items():
            lines += ["", f"[{name}]", str(c)]
        lines += [f"note: {n}" for n in self.notes if not self._of_comparisons(n)]
        return "\n".join(lines)

    def _of_comparisons(self, note: str) -> bool:
        """A note of comparisons only (``explain`` prints it with each comparison)."""
        head = note.split(": ", 1)[0].split(", ")
        return ": " in note and set(head) <= set(self.comparisons)

    def __str__(self) -> str:
        cs = self.scheme.comparison
        head = (f"Scheme run {self.scheme.name!r} ({cs.kind}; test {cs.test}; "
                f"{cs.level:.0%} {cs.sides})")
        return head + "\n" + _table(self.summary())


def _table(frame: pl.DataFrame) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        return "-" if v is None else str(v)
    body = [[cell(v) for v in row] for row in frame.rows()]
    widths = [max(len(c), *(len(b[i]) for b in body)) if body else len(c)
              for i, c in enumerate(frame.columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(frame.columns, widths, strict=True))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(b, widths, strict=True)) for b in body]
    return "\n".join(lines)


# ---------------------------------------------------------------------- the run
def _check_comparators(s: Scheme, given: dict[str, Any]) -> None:
    """Refuse a comparator the kind needs and lacks, or one it does not use."""
    kind = s.comparison.kind
    needs = KIND_NEEDS[kind]
    for arg in COMPARATORS:
        if arg in needs and given[arg] is None:
            raise SpecError(
                f"{arg}: the {s.name} scheme compares against a {kind.replace('_', ' ')} "
                f"(comparison kind {kind!r}), which needs {', '.join(f'{a}=' for a in needs)}; "
                f"give {arg}= {_WHAT[arg]}")
        if arg not in needs and given[arg] is not None:
            uses = (f"it takes {', '.join(f'{a}=' for a in needs)} only" if needs else
                    "it reports the measures only")
            raise SpecError(
                f"{arg}: the {s.name} scheme's comparison kind is {kind!r}, which does not use "
                f"{arg}= ({uses}); leave {arg} out, or run a scheme whose comparison uses it "
                f"(scheme.replace(comparison=scheme.comparison.replace(kind=...)))")


def _is_match(x: Any) -> bool:
    from pbr.matching.result import MatchResult
    return isinstance(x, MatchResult)


def _measured(s: Scheme, who: str, x: Any, events: Any, custody: Any,
              engine: str) -> MeasureResult:
    """A group's MeasureResult under the scheme's measure spec."""
    from pbr.cohort.result import CohortBuild
    from pbr.measures import MeasureResult, measure
    if _is_match(x):
        raise SpecError(f"{who}: a pbr.MatchResult is the comparator of a matched comparison "
                        "(comparison=) only; give this group's cohort or MeasureResult")
    if isinstance(x, MeasureResult):
        if x.spec != s.measure:
            raise SpecError(
                f"{who}: this MeasureResult was measured with the {x.spec.name!r} measure "
                f"spec, not the {s.name} scheme's; measure it with scheme.measure "
                "(pbr.measure(cohort, events, spec=scheme.measure)) or pass its cohort")
        return x
    if events is None:
        raise SpecError(f"events: the {who} is a cohort to measure, so give events= the "
                        "proven-offence extract (or pass a MeasureResult)")
    if isinstance(x, CohortBuild):
        x = x.cohort
    if custody is None and "custody_days_per_offender" in s.comparison.measures:
        raise SpecError(f"custody: the {s.name} scheme compares custody_days_per_offender "
                        "(bed days), which is measured from custody spells; pass custody= the "
                        "custody table (offender_id, start_date, end_date)")
    return measure(x, events, s.measure, custody=custody, engine=engine)


def _baseline_for(s: Scheme, baseline: Any, measure: str) -> Any:
    """The comparator of one measure from ``baseline=``."""
    from pbr.compare.registry import MEASURES, measure_info
    if callable(getattr(baseline, "group", None)):      # a pbr.Baseline holds every measure
        return baseline
    if isinstance(baseline, Mapping) and baseline and all(
            isinstance(k, str) and (k in MEASURES or any(k in m.aliases
                                                         for m in MEASURES.values()))
            for k in baseline):
        by_name = {measure_info(k).name: v for k, v in baseline.items()}
        if measure not in by_name:
            raise SpecError(f"baseline: no value for the {measure} measure, which the {s.name} "
                            f"scheme compares; give one for each of "
                            f"{', '.join(s.comparison.measures)}")
        return by_name[measure]
    if len(s.comparison.measures) > 1:
        raise SpecError(f"baseline: the {s.name} scheme compares "
                        f"{len(s.comparison.measures)} measures "
                        f"({', '.join(s.comparison.measures)}), so one value cannot be the "
                        "baseline of each; give a pbr.Baseline holding each, or "
                        "{measure: value}")
    return baseline


def _models(s: Scheme, model: Any) -> dict[str, Any]:
    """Measure name -> case-mix model from ``model=``."""
    from pbr.compare.registry import measure_info
    from pbr.risk.casemix import CaseMixModel, casemix_score
    if isinstance(model, str):
        out = {"binary_rate": casemix_score(model, measure="binary_rate")}
    elif isinstance(model, CaseMixModel):
        out = {model.measure: model}
    elif isinstance(model, Mapping):
        out = {}
        for k, v in model.items():
            name = measure_info(k, argument="model").name
            out[name] = casemix_score(v, measure=name) if isinstance(v, str) else v
            if not isinstance(out[name], CaseMixModel):
                raise SpecError(f"model: the {name} model is a {type(v).__name__}; give a "
                                "pbr.CaseMixModel or a column name")
    else:
        raise SpecError(f"model: {_WHAT['model']}; got {type(model).__name__}")
    unused = sorted(set(out) - set(s.comparison.measures))
    if unused:
        raise SpecError(f"model: a case-mix model of {', '.join(unused)}, which the {s.name} "
                        f"scheme does not compare (it compares "
                        f"{', '.join(s.comparison.measures)}); fit the model for one of those")
    return out


def _describe(arg: str, x: Any) -> str:
    label = getattr(x, "label", None)
    if arg == "baseline" and isinstance(label, str):
        return f"Baseline {label!r}"
    if arg == "model" and hasattr(x, "family"):
        return f"CaseMixModel ({x.measure}, {x.family}: {', '.join(x.covariates)})"
    if _is_match(x):
        return f"MatchResult ({x.spec.method}, {int((x.frame['weight'] > 0).sum()):,} matched)"
    if isinstance(x, str):
        return f"column {x!r}"
    if hasattr(x, "frame") and hasattr(x, "spec"):
        return f"MeasureResult ({x.frame.height:,} offenders)"
    if isinstance(x, pl.DataFrame):
        return f"cohort frame ({x.height:,} rows)"
    if hasattr(x, "n") and hasattr(x, "data"):        # a pbr.Cohort
        return f"Cohort ({x.n:,} offenders)"
    return type(x).__name__ if not isinstance(x, int | float | tuple) else repr(x)


def run_scheme(s: Scheme, cohort: Any = None, events: Any = None, *, disposals: Any = None,
               period: str | None = None, custody: Any = None, baseline: Any = None,
               model: Any = None, comparison: Any = None, before: Any = None,
               comparator_before: Any = None, by: str | list[str] | None = None,
               as_of: Any = None, engine: str = "numba", **options: Any) -> SchemeRun:
    """The work of :meth:`pbr.Scheme.run` (see there)."""
    if as_of is not None:   # the data extract's date, recorded in the run's scheme
        s = s.replace(measure=s.measure.replace(as_of=as_of))
    from pbr.cohort import build_cohort
    from pbr.compare.core import compare

    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise SpecError(f"{unknown[0]}: not an option of Scheme.run; the scheme's "
                        f"ComparisonSpec sets level, sides, min_n, form and the test; "
                        f"pbr.compare options passed through: {', '.join(_OPTIONS)}")
    given = {"baseline": baseline, "model": model, "comparison": comparison,
             "before": before, "comparator_before": comparator_before}
    _check_comparators(s, given)
    cs = s.comparison
    match = comparison if _is_match(comparison) else None
    if match is not None and cs.kind != "matched_comparison":
        raise SpecError("comparison: a pbr.MatchResult is the comparator of a matched "
                        f"comparison; the {s.name} scheme's kind is {cs.kind!r}: give the "
                        "comparison group's after-period cohort or MeasureResult")
    notes: list[str] = []
    build = None
    if match is not None:
        if cohort is not None or disposals is not None:
            raise SpecError("cohort: with a pbr.MatchResult comparator the cohort is the "
                            "match's treated units and controls (match.cohort()); leave "
                            "cohort and disposals out")
        cohort = match.cohort()
    elif disposals is not None:
        if cohort is not None:
            raise SpecError("cohort: give either cohort= or disposals= (built into the "
                            "cohort with the scheme's cohort rule), not both")
        build = build_cohort(disposals, s.cohort)
        cohort = build.cohort if period is None else build.for_period(period)
        notes += list(build.notes)
    elif cohort is None:
        raise SpecError("cohort: give the cohort (a pbr.Cohort, a frame with offender_id and "
                        "index_date, a CohortBuild or a MeasureResult), or disposals= to "
                        "build it with the scheme's cohort rule")
    if period is not None and build is None:
        raise SpecError("period: selects a cohort period of disposals= built here; leave it "
                        "out with a cohort given")
    result = _measured(s, "cohort", cohort, events, custody, engine)
    inputs = {k: _measured(s, k, given[k], events, custody, engine)
              for k in ("comparison", "before", "comparator_before")
              if given[k] is not None and not (k == "comparison" and match is not None)}
    models = _models(s, model) if model is not None else {}
    keys = [by] if isinstance(by, str) else list(by or [])
    comparisons: dict[str, ComparisonResult] = {}
    for m in cs.measures if cs.kind != "none" else ():
        kw: dict[str, Any] = {"measure": m, "spec": cs, "by": keys or None, **options}
        if cs.kind == "fixed_baseline":
            target = _baseline_for(s, baseline, m)
        elif cs.kind == "adjusted_baseline":
            target = _baseline_for(s, baseline, m)
            if m in models:
                kw["model"] = models[m]
            else:   # the scheme's rules with the baseline as it is (CRC's frequency [V])
                kw["spec"] = cs.replace(kind="fixed_baseline", case_mix="none")
                notes.append(f"{m}: compared with the baseline unadjusted, as a fixed "
                             f"baseline under the scheme's test (no case-mix model of {m} "
                             f"given; the models given predict {', '.join(models)})")
        elif match is not None:
            target = match
        else:
            target = inputs["comparison"]
            if cs.kind == "difference_in_differences":
                kw["before"] = inputs["before"]
                kw["comparator_before"] = inputs["comparator_before"]
        comparisons[m] = compare(result, target, **kw)
    if cs.kind == "none":
        notes.append(f"the {s.name} scheme has no comparator (kind 'none'): the measures only")
    origins: dict[str, list[str]] = {}   # a note of several groups (the same events) once
    for origin, extra in [("cohort", result.notes), *((k, v.notes) for k, v in inputs.items()),
                          *((m, c.notes) for m, c in comparisons.items())]:
        for n in extra:
            origins.setdefault(n, []).append(origin)
    notes += [f"{', '.join(dict.fromkeys(o))}: {n}" for n, o in origins.items()]
    toml = s.to_toml()
    described = {k: _describe(k, v) for k, v in given.items() if v is not None}
    prov: dict[str, Any] = {
        "scheme": s.name, "scheme_sha256": hashlib.sha256(toml.encode()).hexdigest(),
        "pbr_version": __version__, "engine": engine, "kind": cs.kind,
        "measures": list(cs.measures), "by": keys, "comparator": described,
        "comparator_text": "; ".join(f"{k}={v}" for k, v in described.items()) or "none",
        "cohort_source": "disposals" if build is not None else "match" if match is not None
        else "cohort",
        "measure": {k: v.provenance for k, v in (("cohort", result), *inputs.items())},
        "comparisons": {m: c.provenance for m, c in comparisons.items()},
    }
    if build is not None:
        prov["cohort_build"] = {"n_input": build.n_input, "n_used": build.n_used,
                                "periods": list(build.periods), "period": period}
    return SchemeRun(s, result, comparisons, inputs, tuple(dict.fromkeys(notes)), prov,
                     tuple(keys))
