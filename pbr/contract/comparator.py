"""The comparator of a contract: what the cohort is compared with.

Fixed baseline values per measure (optionally per cohort), a case-mix adjusted baseline,
or a matched comparison group (a column of the cohort file, or a ``[comparator.match]``
spec that :func:`pbr.match` runs inside the contract), with optional significance
thresholds.  With ``supplied_at_run = true`` the comparator's data come with the run
(:func:`pbr.contract.compare_step`'s ``comparator=``: a Baseline, a CaseMixModel, a
MatchResult or a MatchSpec; :mod:`pbr.contract.resolve`).  Sources:
docs/methodology/payments.md, "Comparators" and "The chain: measure -> compare -> pay"
([MoJ-CRC-Final], [MoJ-PbR-Baselines-2011], [Cave-2012], [MoJ-Doncaster-2015]).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from pbr.contract.outcome import MEASURES, RATES, as_decimal
from pbr.errors import ContractError, SpecError
from pbr.matching.spec import MatchSpec

__all__ = ["COMPARATORS", "Comparator", "proportion_suspected"]

COMPARATORS = ("baseline", "casemix", "matched")
#: z of a two-sided 50% level, Phi^-1(0.75): a smaller significance_z is refused
_Z_HALF = Decimal("0.6744897501960817")
#: the fields each kind reads (any other set away from its default would be ignored)
_USES = {"baseline": ("values", "cohort_values", "significance_z", "supplied_at_run"),
         "casemix": ("values", "cohort_values", "risk_column", "baseline_risk", "adjustment",
                     "significance_z", "supplied_at_run"),
         "matched": ("group_column", "weight_column", "significance_z", "supplied_at_run",
                     "match")}
#: the data of each kind, by field: what ``supplied_at_run = true`` lets the run give
PIECES = {"baseline": ("values",), "casemix": ("values", "baseline_risk", "risk_column"),
          "matched": ("group_column",)}


def proportion_suspected(measure: str, value: Decimal) -> bool:
    """A binary reoffending rate in percent at or below 1 (0 < value <= 1) reads as a
    proportion written in a percent contract (0.28 for 28%).  pbr rule: proven
    reoffending rates of offender cohorts lie far above 1% (MoJ proven reoffending
    statistics: 20-60% for adult cohorts), so such a value is a unit slip, not a rate.

    Examples
    --------
    >>> proportion_suspected("binary_rate", Decimal("0.28"))
    True
    >>> proportion_suspected("binary_rate", Decimal("28.0"))
    False
    """
    return measure == "binary_rate" and 0 < value <= 1


def _values(name: str, data: Any) -> tuple[tuple[str, Decimal], ...]:
    if not isinstance(data, dict):
        raise ContractError(f"{name}: expected a table of measure = value, got {data!r}")
    for key in data:
        if key not in MEASURES:
            raise ContractError(f"{name}.{key}: not a measure; use one of {', '.join(MEASURES)}")
    out = tuple(sorted((k, as_decimal(f"{name}.{k}", v)) for k, v in data.items()))
    for key, value in out:
        if value < 0:
            raise ContractError(f"{name}.{key}: {value} is negative; a baseline is a count "
                                "or a rate, never below 0")
        if key in RATES and value > 100:
            raise ContractError(f"{name}.{key}: {value} is over 100; rates are in percent "
                                "(rate_unit = \"percent\"), e.g. 28.0 for 28%")
        if proportion_suspected(key, value):
            raise ContractError(f"{name}.{key}: {value} reads as a proportion, but rates are "
                                f"in percent (rate_unit = \"percent\"): write "
                                f"{value * 100} for {value * 100}%")
    return out


@dataclass(frozen=True)
class Comparator:
    """What the cohort is compared with: a historical baseline, adjusted or not, or a group.

    ``kind="baseline"``: fixed values per measure (``values``, with per-cohort
    ``cohort_values``); ``"casemix"``: the binary baseline moved by the difference
    between the cohort's mean predicted risk (``risk_column``, a probability) and the
    baseline's (``baseline_risk``, percent), ``"additive"`` or ``"ratio"``;
    ``"matched"``: the rows of the cohort file with ``group_column`` false, weighted by
    ``weight_column`` if given, or the comparison group :func:`pbr.match` builds from the
    cohort file with the ``match`` spec (``[comparator.match]``, the fields of
    :class:`~pbr.matching.MatchSpec`).  ``significance_z`` adds the thresholds
    ``p +- z*sqrt(p(1-p)/n)`` around a rate comparator (CRC, [MoJ-PbR-Baselines-2011] [R]).

    ``supplied_at_run = true`` says that the kind's data (baseline values, the baseline's
    mean predicted risk, the per-offender risk, the comparison group) that the table
    leaves out come with the run: ``run_contract(..., comparator=...)`` with a
    :class:`~pbr.risk.Baseline`, a fitted :class:`~pbr.risk.CaseMixModel`, a
    :class:`~pbr.MatchResult` or a :class:`~pbr.matching.MatchSpec`
    (:mod:`pbr.contract.resolve`), recorded in the manifest.

    Examples
    --------
    >>> Comparator("casemix", supplied_at_run=True, significance_z="1.96").kind
    'casemix'
    >>> Comparator("matched", match={"covariates": ["age"], "exact": ["cohort_period"]}
    ...            ).match.exact
    ('cohort_period',)
    """

    kind: str = "baseline"
    values: tuple[tuple[str, Decimal], ...] = ()
    cohort_values: tuple[tuple[str, tuple[tuple[str, Decimal], ...]], ...] = ()
    risk_column: str | None = None
    baseline_risk: Decimal | None = None
    adjustment: str = "additive"
    group_column: str | None = None
    weight_column: str | None = None
    significance_z: Decimal | None = None
    source: str = ""
    supplied_at_run: bool = False
    match: MatchSpec | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if self.kind not in COMPARATORS:
            raise ContractError(f"comparator.kind: must be one of {', '.join(COMPARATORS)}, "
                                f"got {self.kind!r}")
        if not isinstance(self.supplied_at_run, bool):
            raise ContractError(f"comparator.supplied_at_run: true or false, got "
                                f"{self.supplied_at_run!r}")
        if isinstance(self.match, dict):
            try:
                set_(self, "match", MatchSpec.from_dict(self.match))
            except SpecError as exc:
                raise ContractError(f"comparator.match: {exc} (the [comparator.match] table "
                                    "holds the fields of pbr.matching.MatchSpec)") from None
        if self.match is not None and not isinstance(self.match, MatchSpec):
            raise ContractError(f"comparator.match: expected a [comparator.match] table of "
                                f"MatchSpec fields, got {self.match!r}")
        if isinstance(self.values, dict):
            set_(self, "values", _values("comparator.values", self.values))
        if isinstance(self.cohort_values, dict):
            set_(self, "cohort_values", tuple(sorted(
                (str(c), _values(f"comparator.cohorts.{c}", v))
                for c, v in self.cohort_values.items())))
        for name in ("baseline_risk", "significance_z"):
            if getattr(self, name) is not None:
                set_(self, name, as_decimal(f"comparator.{name}", getattr(self, name)))
        for f in fields(self):
            if f.name in ("kind", "source") or f.name in _USES[self.kind]:
                continue
            value = getattr(self, f.name)
            if value != f.default and not (f.default == () and not value):
                users = [k for k, v in _USES.items() if f.name in v]
                label = "cohorts" if f.name == "cohort_values" else f.name
                raise ContractError(f"comparator.{label}: a {self.kind!r} comparator does not "
                                    f"use {label} (it would be ignored); remove it, or set "
                                    f"comparator.kind to {' or '.join(map(repr, users))}")
        z = self.significance_z
        if z is not None and not 0 < z <= 10:
            raise ContractError(f"comparator.significance_z: {z} must be a positive multiplier "
                                "of the standard error (at most 10), e.g. 1.96 for a "
                                "two-sided 95% level")
        if z is not None and z < _Z_HALF:   # level 2*Phi(z) - 1 below 50% (pbr rule)
            raise ContractError(f"comparator.significance_z: {z} gives thresholds at a "
                                "confidence level below 50%, so nearly every cohort would be "
                                "\"significant\"; it looks like a significance level (alpha) "
                                "or a p-value, not the multiplier z. Fix: give z, e.g. 1.96 "
                                "for a two-sided 95% level (alpha 0.05), 1.645 for 90%")
        risk = self.baseline_risk
        if risk is not None:
            if not 0 <= risk <= 100:
                raise ContractError(f"comparator.baseline_risk: {risk} is outside 0 to 100; "
                                    "it is the baseline's mean predicted risk in percent, "
                                    "e.g. 28.0")
            if risk == 0:
                raise ContractError("comparator.baseline_risk: 0 cannot be a baseline's mean "
                                    "predicted risk (the ratio adjustment divides by it); give "
                                    "it in percent, e.g. 28.0")
            if 0 < risk <= 1:
                raise ContractError(f"comparator.baseline_risk: {risk} reads as a proportion, "
                                    "but it is the mean predicted risk in percent "
                                    f"(rate_unit = \"percent\"): write {risk * 100}")
        self._check_pieces()

    def _check_pieces(self) -> None:
        """Each piece of the kind's data given once: in the table, by the contract's own
        match, or (``supplied_at_run``) by the run."""
        run = ("; or set supplied_at_run = true to give {} with the run "
               "(run_contract(..., comparator=...))")
        if self.kind in ("baseline", "casemix") and not (self.values or self.cohort_values) \
                and not self.supplied_at_run:
            raise ContractError("comparator.values: a baseline needs values, e.g. "
                                "[comparator.values] binary_rate = 47.5" + run.format("them"))
        if self.kind == "casemix":
            if (self.risk_column is None or self.baseline_risk is None) \
                    and not self.supplied_at_run:
                raise ContractError("comparator.risk_column: a case-mix adjusted baseline "
                                    "needs risk_column (predicted probability per offender) "
                                    "and baseline_risk (the baseline's mean, percent)"
                                    + run.format("what is missing"))
            if self.adjustment not in ("additive", "ratio"):
                raise ContractError("comparator.adjustment: must be 'additive' or 'ratio', "
                                    f"got {self.adjustment!r}")
        if self.kind == "matched":
            if self.match is not None and (self.group_column or self.weight_column):
                name = "group_column" if self.group_column else "weight_column"
                raise ContractError(f"comparator.{name}: [comparator.match] builds the "
                                    "comparison group and its weights inside the contract "
                                    f"(treatment column {self.match.treatment!r}), so "
                                    f"{name} would give them twice; remove {name}, or "
                                    "remove [comparator.match]")
            if self.match is not None and self.supplied_at_run:
                raise ContractError("comparator.supplied_at_run: [comparator.match] builds "
                                    "the comparison group inside the contract, so nothing is "
                                    "left for the run to supply; remove supplied_at_run, or "
                                    "remove [comparator.match] and give the match with the "
                                    "run")
            if self.group_column is None and self.match is None and not self.supplied_at_run:
                raise ContractError("comparator.group_column: a matched comparison needs the "
                                    "column that is true for the cohort, false for "
                                    "comparators, or a [comparator.match] table (a MatchSpec "
                                    "run inside the contract)" + run.format("the group"))
        if self.supplied_at_run and not self.missing():
            given = ", ".join(PIECES[self.kind])
            raise ContractError(f"comparator.supplied_at_run: the table already gives every "
                                f"piece of a {self.kind!r} comparator ({given}), so nothing "
                                "is left for the run to supply; remove supplied_at_run, or "
                                "remove what the run gives")

    def missing(self) -> tuple[str, ...]:
        """The pieces of the kind's data this table does not give (left to the run).

        Examples
        --------
        >>> Comparator("casemix", values={"binary_rate": 30}, supplied_at_run=True).missing()
        ('baseline_risk', 'risk_column')
        """
        given = {"values": bool(self.values or self.cohort_values),
                 "baseline_risk": self.baseline_risk is not None,
                 "risk_column": self.risk_column is not None,
                 "group_column": self.group_column is not None or self.match is not None}
        return tuple(p for p in PIECES[self.kind] if not given[p])

    def value(self, cohort: str, measure: str) -> Decimal | None:
        """The fixed comparator value of a measure for a cohort (per-cohort first)."""
        for name, values in self.cohort_values:
            if name == cohort:
                found = dict(values).get(measure)
                if found is not None:
                    return found
        return dict(self.values).get(measure)
