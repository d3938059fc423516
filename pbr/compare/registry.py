"""The one table of measure names: what each measure is, its unit, direction and column.

Every part of pbr that names a cohort measure (``MeasureResult.summary()``, a
:class:`~pbr.compare.ComparisonSpec`, :func:`pbr.compare`, a contract's components and
comparator, a :class:`~pbr.risk.Baseline`) reads it from :data:`MEASURES`, so that a
measure is declared once.  Names are the columns of ``MeasureResult.summary()``;
:func:`pbr.compare` also takes the short names it has always taken (``"binary"`` for
``"binary_rate"``, ``"frequency"`` for ``"per_offender"``, ``"serious"``,
``"severity"``), listed in each entry's ``aliases``.

Units: rates are **proportions** (0.28, not 28) in every API and result
(docs/methodology/comparison.md, "Units"); per cent appears only in printed text and,
where a contract states ``rate_unit = "percent"``, in contract TOML.

Direction: the reoffending measures are lower-is-better; the intermediate outcomes a
rate card also pays for (``employment_rate``, ``accommodation_rate``, ``treatment_rate``:
the per-participant 0/1 columns ``employed``, ``housed``, ``completed_treatment``, e.g. from
:meth:`pbr.outcomes.OutcomeAssessment.participant_frame`) are higher-is-better, so that
a comparison against a comparator and a contract's payment on improvement read the
direction from here (docs/methodology/outcomes.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pbr.errors import SpecError

__all__ = ["MEASURES", "MeasureInfo", "better", "measure_info"]

Direction = Literal["lower_is_better", "higher_is_better"]


@dataclass(frozen=True)
class MeasureInfo:
    """One cohort measure: name, meaning, unit, direction and how it is aggregated.

    Attributes
    ----------
    name
        The canonical name (a column of ``MeasureResult.summary()``).
    title
        What it is, in words.
    unit
        ``"proportion"``, ``"per offender"``, ``"per reoffender"``, ``"per 100 offenders"``
        or ``"days"``.
    direction
        ``"lower_is_better"`` for every reoffending measure (a reduction is the aim);
        ``"higher_is_better"`` for the intermediate outcomes (employment, accommodation,
        treatment completed) and the days to the first reoffence (an increase is the aim).
        A contract's rules pay on the *improvement* in this direction
        (:attr:`pbr.contract.Outcome.improvement`), and :func:`better` says which of two
        values is the better one.
    column
        The per-offender column of ``MeasureResult.frame`` it aggregates.
    aggregation
        ``"mean"`` (over offenders), ``"mean over reoffenders"`` (``per_reoffender``:
        reoffences / reoffenders) or ``"mean x 100"`` (``per_100``).
    kind
        ``"rate"`` (a mean of 0/1 values: proportion intervals and tests) or ``"mean"``
        (a mean of counts, weights or days: Welch, rate ratios, bootstrap).
    counts
        Whether the per-offender values are counts (rate ratios apply).
    noun
        How text names what is counted ("reoffended", "reoffences").
    aliases
        Other names :func:`pbr.compare` accepts for it.
    table
        Where the per-person column comes from: ``"measure"`` (``MeasureResult.frame``)
        or ``"outcomes"`` (the participant frame of an outcome assessment,
        :meth:`pbr.outcomes.OutcomeAssessment.participant_frame`).
    """

    name: str
    title: str
    unit: str
    direction: Direction
    column: str
    aggregation: str
    kind: Literal["rate", "mean"]
    counts: bool
    noun: str
    aliases: tuple[str, ...] = ()
    table: Literal["measure", "outcomes"] = "measure"

    @property
    def is_rate(self) -> bool:
        """A proportion (shown per cent in text)."""
        return self.kind == "rate"

    @property
    def higher_is_better(self) -> bool:
        """Whether an increase is the aim (employment rate) rather than a reduction."""
        return self.direction == "higher_is_better"

    def improvement(self, actual: float, comparator: float) -> float:
        """The change in the better direction: ``comparator - actual`` for
        lower-is-better measures, ``actual - comparator`` for higher-is-better ones.

        Examples
        --------
        >>> MEASURES["binary_rate"].improvement(0.40, 0.45) > 0
        True
        >>> round(MEASURES["employment_rate"].improvement(0.30, 0.25), 2)
        0.05
        """
        return actual - comparator if self.higher_is_better else comparator - actual

    @property
    def scale(self) -> float:
        """The factor from the per-offender mean to the measure (100 for ``per_100``)."""
        return 100.0 if self.aggregation == "mean x 100" else 1.0


_ALL = (
    MeasureInfo("binary_rate", "proportion of the cohort who reoffended", "proportion",
                "lower_is_better", "reoffended", "mean", "rate", False, "reoffended",
                ("binary",)),
    MeasureInfo("serious_rate", "proportion with a serious reoffence", "proportion",
                "lower_is_better", "serious", "mean", "rate", False,
                "committed a serious reoffence", ("serious",)),
    MeasureInfo("per_offender", "reoffences per offender (frequency)", "per offender",
                "lower_is_better", "reoffences", "mean", "mean", True, "reoffences",
                ("frequency",)),
    MeasureInfo("per_100", "reoffences per 100 offenders", "per 100 offenders",
                "lower_is_better", "reoffences", "mean x 100", "mean", True, "reoffences"),
    MeasureInfo("per_reoffender", "reoffences per reoffender (CRC frequency)",
                "per reoffender", "lower_is_better", "reoffences", "mean over reoffenders",
                "mean", True, "reoffences"),
    MeasureInfo("severity_per_offender", "severity points per offender", "per offender",
                "lower_is_better", "severity", "mean", "mean", False, "severity points",
                ("severity",)),
    MeasureInfo("custody_days_per_offender", "days in custody per offender (bed days)",
                "days", "lower_is_better", "custody_days", "mean", "mean", True,
                "custody days", ("custody_days",)),
    MeasureInfo("mean_days_to_first", "days to the first reoffence (reoffenders)", "days",
                "higher_is_better", "days_to_first", "mean over reoffenders", "mean", False,
                "days to the first reoffence"),
    MeasureInfo("employment_rate", "proportion of participants in sustained employment",
                "proportion", "higher_is_better", "employed", "mean", "rate", False,
                "were in sustained employment", ("employment",), "outcomes"),
    MeasureInfo("accommodation_rate", "proportion of participants in sustained "
                "accommodation", "proportion", "higher_is_better", "housed", "mean", "rate",
                False, "were in sustained accommodation", ("accommodation",), "outcomes"),
    MeasureInfo("treatment_rate", "proportion of participants who completed treatment",
                "proportion", "higher_is_better", "completed_treatment", "mean", "rate", False,
                "completed treatment", ("treatment",), "outcomes"),
)

#: canonical name -> :class:`MeasureInfo`
MEASURES: dict[str, MeasureInfo] = {m.name: m for m in _ALL}
_BY_ALIAS = {a: m for m in _ALL for a in m.aliases}


def better(name: str, a: float, b: float) -> bool:
    """Whether value ``a`` of measure ``name`` is strictly better than ``b``.

    Examples
    --------
    >>> better("binary_rate", 0.40, 0.45), better("employment_rate", 0.40, 0.45)
    (True, False)
    """
    return measure_info(name).improvement(a, b) > 0


def measure_info(name: str, *, argument: str = "measure") -> MeasureInfo:
    """The registry entry of a measure, by its name or one of its aliases.

    Raises
    ------
    SpecError
        An unknown name, with the list of names.

    Examples
    --------
    >>> measure_info("binary").name, measure_info("binary_rate").unit
    ('binary_rate', 'proportion')
    >>> measure_info("per_reoffender").direction
    'lower_is_better'
    """
    if isinstance(name, str):
        found = MEASURES.get(name) or _BY_ALIAS.get(name)
        if found is not None:
            return found
    names = ", ".join(f"{m.name}" + (f" ({'/'.join(m.aliases)})" if m.aliases else "")
                      for m in _ALL)
    raise SpecError(f"{argument}: unknown measure {name!r}; one of {names}")
