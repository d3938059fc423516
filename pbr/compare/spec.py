"""How a scheme judges its outcome: :class:`ComparisonSpec`.

A comparison spec names the counterfactual (a fixed historic baseline, a baseline
adjusted for case mix, a matched comparison group, a difference-in-differences against a
comparison group's trend, or none), the measures compared, the form (additive or
ratio), the statistical test, its confidence level and sides, and the smallest cohort
the scheme draws a conclusion on.  It is data, like :class:`~pbr.spec.MeasureSpec`:
frozen, hashable, validated on construction (a bad field raises
:class:`~pbr.errors.SpecError` naming the field and the fix), printable with each
default's source, and round-trips through TOML (a ``[comparison]`` table).
:func:`pbr.compare` (``spec=``), :meth:`pbr.schemes.Scheme.run` and the contracts read
it.

Sources: docs/methodology/comparison.md (the model), baselines.md (adjusted rates and
their two forms; the CRC mechanism: binary rate adjusted with OGRS4/G3 against the 2011
baseline, payment for statistically significant change), matching.md (Peterborough and
the Justice Data Lab), difference-in-differences.md (Rikers ABLE) and docs/schemes/.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from scipy.stats import norm

from pbr._toml import Replaceable, TomlTable, describe, listed
from pbr.compare.registry import MEASURES, measure_info
from pbr.errors import SpecError

__all__ = ["COMPARED_MEASURES", "ComparisonSpec"]

Kind = Literal["fixed_baseline", "adjusted_baseline", "matched_comparison",
               "difference_in_differences", "none"]
Form = Literal["additive", "ratio"]
Sides = Literal["two-sided", "less", "greater"]
Test = Literal["none", "baseline_interval", "difference_in_proportions", "welch_t",
               "rate_ratio", "bootstrap"]
CaseMix = Literal["none", "model", "ogrs3", "ogrs4_g3", "supplied_score"]

KINDS = ("fixed_baseline", "adjusted_baseline", "matched_comparison",
         "difference_in_differences", "none")
FORMS = ("additive", "ratio")
SIDES = ("two-sided", "less", "greater")
TESTS = ("none", "baseline_interval", "difference_in_proportions", "welch_t", "rate_ratio",
         "bootstrap")
CASE_MIX = ("none", "model", "ogrs3", "ogrs4_g3", "supplied_score")
#: Cohort measures a comparison may name: the registry's names (``pbr.compare.MEASURES``).
COMPARED_MEASURES = tuple(MEASURES)


def _meta(default_note: str, source: str, doc: str) -> dict[str, str]:
    return {"default_note": default_note, "source": source, "doc": doc}


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise SpecError(f"{name}: must be one of {', '.join(map(repr, allowed))}, "
                        f"got {value!r}")


@dataclass(frozen=True)
class ComparisonSpec(Replaceable, TomlTable, table="comparison"):
    """The counterfactual and the test a scheme judges its outcome by.

    Parameters
    ----------
    kind
        ``"fixed_baseline"`` (the measure on a historic cohort, e.g. Doncaster 2009),
        ``"adjusted_baseline"`` (the historic baseline moved for the current cohort's
        case mix, e.g. CRC 2011 with OGRS4/G3), ``"matched_comparison"`` (a concurrent
        or historic matched group, e.g. Peterborough PSM, the Justice Data Lab),
        ``"difference_in_differences"`` (the change in the cohort between a before and
        an after period against the change in a comparison group over the same periods,
        e.g. Rikers ABLE against 19-year-olds) or ``"none"`` (the MoJ headline
        statistics). Default ``"none"``.
    measures
        The cohort measures compared, by their registry names (:data:`pbr.compare.MEASURES`,
        the columns of ``MeasureResult.summary()``: ``binary_rate``, ``per_reoffender``,
        ...); the short names ``pbr.compare`` takes (``"binary"``) are read as these.
    form
        ``"additive"`` (differences: actual - comparator, and a case-mix prediction moves
        the baseline by actual - predicted + baseline) or ``"ratio"`` (actual /
        comparator: rate ratios, and actual x baseline / predicted); both in the
        adjusted-rate literature (docs/methodology/baselines.md) [I]; which one each
        publication used is not verified [R].
    case_mix
        The predictor used for an adjusted baseline: ``"model"`` (a model fitted on the
        baseline cohort), ``"ogrs3"``, ``"ogrs4_g3"`` (CRC [V]) or ``"supplied_score"``;
        ``"none"`` for every other kind.
    baseline
        Free-text label of the baseline cohort (``"2011, per contract package area"``),
        or of the comparison group of a difference-in-differences (``"19-year-olds"``).
    test
        The statistical test: ``"baseline_interval"`` (CRC thresholds p_base +/- z
        sqrt(p(1-p)/n) [R]: the null-variance test against a known baseline),
        ``"difference_in_proportions"`` (JDL normal approximation [I]), ``"welch_t"``,
        ``"rate_ratio"`` (negative binomial), ``"bootstrap"`` or ``"none"``.
    level
        Confidence level, in [0.5, 1). Default 0.95 (conventional; the CRC level was not
        published [V2]).  A value below 0.5 (0.05) is refused as a significance level.
    sides
        ``"two-sided"``, ``"less"`` (a reduction is the alternative) or ``"greater"``.
    min_n
        Smallest cohort the scheme reports on (JDL: 60 [R]); default 0.  A smaller group
        keeps its figures but no conclusion is drawn.
    name
        Label recorded in results.

    Examples
    --------
    >>> spec = ComparisonSpec(kind="adjusted_baseline", case_mix="ogrs4_g3",
    ...                       test="baseline_interval", baseline="2011")
    >>> round(spec.z, 4), spec.level
    (1.96, 0.95)
    >>> ComparisonSpec.from_toml(spec.to_toml()) == spec
    True
    """

    kind: Kind = field(
        default="none",
        metadata=_meta("none", "MoJ headline statistics have no comparator [V] [MoJ-PRS-Bulletins]",
                       "the counterfactual"))
    measures: tuple[str, ...] = field(
        default=("binary_rate",),
        metadata=_meta("binary_rate", "the MoJ headline measure [V] [MoJ-PRS-Bulletins]",
                       "cohort measures compared"))
    form: Form = field(
        default="additive",
        metadata=_meta("additive", "both forms [MoJ-Definitions-2011] [I]; per scheme [R]",
                       "how a case-mix prediction moves the baseline"))
    case_mix: CaseMix = field(
        default="none",
        metadata=_meta("none", "CRC: OGRS4/G3 [V] [MoJ-CRC-Final]",
                       "predictor of an adjusted baseline"))
    baseline: str = field(
        default="",
        metadata=_meta("(none)", "CRC 2011 per CPA [V]; Doncaster 2009 [V]",
                       "label of the baseline cohort"))
    test: Test = field(
        default="none",
        metadata=_meta("none", "CRC vs 2011 baseline [V], formula [R] [MoJ-PbR-Baselines-2011]",
                       "statistical test"))
    level: float = field(
        default=0.95,
        metadata=_meta("0.95", "conventional; CRC level not published [V2]",
                       "confidence level"))
    sides: Sides = field(
        default="two-sided",
        metadata=_meta("two-sided", "CRC pays for reductions and deducts for increases [V]",
                       "alternative hypothesis"))
    min_n: int = field(
        default=0,
        metadata=_meta("0", "JDL minimum 60 [R] [MoJ-JDL-2013]", "smallest cohort reported on"))
    name: str = field(default="custom", metadata=_meta("custom", "-", "label for reports"))

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        _choice("kind", self.kind, KINDS)
        _choice("form", self.form, FORMS)
        _choice("case_mix", self.case_mix, CASE_MIX)
        _choice("test", self.test, TESTS)
        _choice("sides", self.sides, SIDES)
        if isinstance(self.measures, str):
            raise SpecError(f"measures: give a list, e.g. [{self.measures!r}], not a bare string")
        measures = tuple(self.measures)
        if not measures:
            raise SpecError("measures: name at least one measure, e.g. ['binary_rate']")
        measures = tuple(measure_info(m, argument="measures").name for m in measures)
        if len(set(measures)) != len(measures):
            raise SpecError(f"measures: each measure once, got {list(measures)}")
        set_(self, "measures", measures)
        level = self.level
        if isinstance(level, bool) or not isinstance(level, int | float) \
                or not 0.5 <= float(level) < 1.0:
            hint = (f" ({level!r} looks like a significance level (alpha): the confidence "
                    f"level is level={1 - float(level):.4g})"
                    if isinstance(level, int | float) and not isinstance(level, bool)
                    and 0.0 < float(level) < 0.5 else "")
            raise SpecError(f"level: a confidence level in [0.5, 1), e.g. 0.95; got "
                            f"{level!r}{hint}")
        set_(self, "level", float(level))
        if isinstance(self.min_n, bool) or not isinstance(self.min_n, int) or self.min_n < 0:
            raise SpecError(f"min_n: a whole number >= 0, got {self.min_n!r}")
        for name in ("baseline", "name"):
            if not isinstance(getattr(self, name), str):
                raise SpecError(f"{name}: expected text, got {getattr(self, name)!r}")
        if not self.name:
            raise SpecError("name: give a non-empty label")
        self._check_combination()

    def _check_combination(self) -> None:
        if self.kind == "adjusted_baseline" and self.case_mix == "none":
            raise SpecError("case_mix: an adjusted_baseline needs a predictor, e.g. "
                            "case_mix='ogrs4_g3' or 'model'; or use kind='fixed_baseline'")
        if self.kind != "adjusted_baseline" and self.case_mix != "none":
            raise SpecError(f"case_mix: only an adjusted_baseline uses a case-mix predictor; "
                            f"set kind='adjusted_baseline' or case_mix='none' "
                            f"(kind is {self.kind!r})")
        if self.kind == "none" and self.test != "none":
            raise SpecError("test: kind='none' has nothing to test against; set test='none', "
                            "or choose a comparison kind")
        if self.test == "baseline_interval" and self.kind not in ("fixed_baseline",
                                                                  "adjusted_baseline"):
            raise SpecError("test: 'baseline_interval' is an interval around a baseline; use it "
                            "with kind='fixed_baseline' or 'adjusted_baseline'")
        if self.kind in ("fixed_baseline", "adjusted_baseline") and not self.baseline:
            raise SpecError("baseline: name the baseline cohort, e.g. baseline='2011'")

    # ------------------------------------------------------------------ derived
    @property
    def z(self) -> float:
        """The normal critical value for ``level`` and ``sides``.

        ``Phi^-1(1 - (1 - level) / 2)`` two-sided, ``Phi^-1(level)`` one-sided.
        """
        q = 1.0 - (1.0 - self.level) / 2.0 if self.sides == "two-sided" else self.level
        return float(norm.ppf(q))

    def __str__(self) -> str:
        def show(name: str, value: Any) -> Any:
            if name == "level":
                return f"{self.level:g} (z = {self.z:.4f})"
            return listed(value, empty="") if isinstance(value, tuple) else (
                value if value != "" else "-")
        return describe(self, (17, 28), show)
