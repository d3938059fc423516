"""MatchSpec: every setting of a matched comparison as a named, cited field.

Frozen and hashable, validated on construction (a bad field raises
:class:`~pbr.errors.SpecError` naming the field and the fix), printable rule by rule
with its default and source, and round-trips through TOML (``[match]`` table).
Sources: docs/methodology/matching.md.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from pbr._toml import TomlTable, describe
from pbr.errors import SpecError

__all__ = ["MatchSpec"]

Distance = Literal["propensity", "logit", "mahalanobis"]
Method = Literal["nearest", "exact", "cem"]
Order = Literal["largest", "smallest", "data", "random"]
Discard = Literal["none", "both", "control", "treated"]
Missing = Literal["error", "drop", "indicator"]
Ties = Literal["id", "data"]
PseudoIndex = Literal["own", "matched", "offset"]
MissingReference = Literal["error", "exclude"]

_CHOICES: dict[str, tuple[str, ...]] = {
    "distance": ("propensity", "logit", "mahalanobis"),
    "method": ("nearest", "exact", "cem"),
    "order": ("largest", "smallest", "data", "random"),
    "discard": ("none", "both", "control", "treated"),
    "missing": ("error", "drop", "indicator"),
    "caliper_scale": ("sd", "absolute"),
    "ties": ("id", "data"),
    "pseudo_index": ("own", "matched", "offset"),
    "missing_reference": ("error", "exclude"),
}


def _meta(default_note: str, source: str) -> dict[str, str]:
    return {"default_note": default_note, "source": source}


def _names(name: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        raise SpecError(f"{name}: give a list of column names, e.g. [{value!r}]")
    items = tuple(value)
    for item in items:
        if not isinstance(item, str):
            raise SpecError(f"{name}: every entry must be a column name, got {item!r}")
    if len(set(items)) != len(items):
        raise SpecError(f"{name}: a column is named twice in {list(items)}")
    return items


@dataclass(frozen=True)
class MatchSpec(TomlTable, table="match"):
    """The settings of a matched comparison group (greedy nearest neighbour by default).

    Defaults follow R's MatchIt 4.5 (Ho, Imai, King and Stuart 2011) so that results can
    be checked against it; ``print(spec)`` shows each with its source.

    Parameters
    ----------
    treatment
        0/1 or boolean column: 1 for the cohort (treated), 0 for the comparison pool.
    covariates
        Columns of the propensity model (numeric, boolean or categorical); also the
        balance table's rows and Mahalanobis matching's variables.
    formula
        A statsmodels/patsy right-hand side such as ``"age + I(age**2) + C(area)"``
        used for the propensity model instead of the plain covariate list.
    id
        Unique unit identifier; breaks every tie (docs/methodology/matching.md).
    distance
        ``"propensity"`` (|difference in score|, MatchIt's default), ``"logit"`` (its
        linear predictor, Austin 2011) or ``"mahalanobis"`` (on the covariates, pooled
        within-group covariance).
    method
        ``"nearest"`` (greedy nearest neighbour), ``"exact"`` (exact strata on the
        covariates) or ``"cem"`` (coarsened exact matching, Iacus, King and Porro 2012).
    exact
        Columns within whose levels nearest-neighbour pairs must lie.
    cem_bins
        Number of equal-width bins per numeric covariate for CEM; 0 uses Sturges' rule
        (the R ``cem`` package's default).
    ratio, replace, reuse_max
        Controls per treated unit (1:k); matching with replacement; with replacement,
        the most times one control may be used (None: no limit).
    caliper, caliper_scale
        Largest allowed distance, in standard deviations of the distance over all units
        (``"sd"``, MatchIt's ``std.caliper``) or in the distance's own units.
    order
        Order in which treated units choose: ``"largest"`` / ``"smallest"`` score first,
        ``"data"`` (row order) or ``"random"`` (needs ``seed``).
    ties
        Among controls at exactly equal distance: ``"id"`` (default; the higher score,
        then the smaller id, so the result does not depend on the row order) or
        ``"data"`` (MatchIt 4.5's rule on row order, to reproduce its matches: the
        nearest control below or above the treated unit's place in the (score, row)
        order, the lower at equal distance; treated units with equal scores choose in
        row order).
    discard
        Common support: drop units whose propensity score lies outside the other group's
        range (``"both"``, ``"control"``, ``"treated"``; MatchIt's ``discard``).
    missing
        Missing covariate values: ``"error"`` (default, names the columns), ``"drop"``
        (complete cases) or ``"indicator"`` (fill with the mean and add a missingness
        indicator per column; Rosenbaum and Rubin 1984, appendix).
    index_date
        Column holding each unit's own qualifying event date (the treated units' index
        dates; see ``pseudo_index`` for the comparison units').
    pseudo_index
        How a matched comparison unit gets the index date its outcomes are measured
        from (docs/methodology/matching.md, "Pseudo index dates"): ``"own"`` (default:
        its own ``index_date``), ``"matched"`` (the index date of the treated unit it
        was matched to; with replacement, the earliest of them) or ``"offset"`` (its
        ``reference_date`` plus ``offset_days``).
    reference_date
        With ``pseudo_index="offset"``: the column holding each unit's reference event
        (e.g. release or sentence start).
    offset_days
        With ``pseudo_index="offset"``: days from the reference event to the pseudo
        index date; None (default) takes the matched treated units' median offset
        (``index_date - reference_date``, the lower median: an offset one of them has).
    missing_reference
        With ``pseudo_index="offset"``, a comparison unit without a reference date:
        ``"error"`` (default, names the count and ids) or ``"exclude"`` (left out before
        matching and recorded in ``exclusions``).
    seed
        Seed of the random matching order.
    name
        Label recorded in results.

    Examples
    --------
    >>> spec = MatchSpec(covariates=["age", "sex"], distance="logit", caliper=0.2)
    >>> MatchSpec.from_toml(spec.to_toml()) == spec
    True
    >>> MatchSpec(order="random")
    Traceback (most recent call last):
    pbr.errors.SpecError: seed: order='random' needs a seed, e.g. seed=1
    """

    treatment: str = field(default="treated", metadata=_meta("treated", "pbr.synth"))
    covariates: tuple[str, ...] = field(default=(), metadata=_meta("()", "user choice"))
    formula: str | None = field(default=None, metadata=_meta("none", "user choice"))
    id: str = field(default="offender_id", metadata=_meta("offender_id", "pbr schema"))
    distance: Distance = field(
        default="propensity", metadata=_meta("propensity", "MatchIt distance='glm'"))
    method: Method = field(default="nearest", metadata=_meta("nearest", "MatchIt"))
    exact: tuple[str, ...] = field(default=(), metadata=_meta("()", "MatchIt exact="))
    cem_bins: int = field(default=0, metadata=_meta("0 (Sturges)", "R cem, Iacus et al. 2012"))
    ratio: int = field(default=1, metadata=_meta("1", "MatchIt ratio"))
    replace: bool = field(default=False, metadata=_meta("False", "MatchIt replace"))
    reuse_max: int | None = field(default=None, metadata=_meta("none", "MatchIt reuse.max"))
    caliper: float | None = field(default=None, metadata=_meta("none", "MatchIt caliper; "
                                                              "0.2 SD logit: Austin 2011"))
    caliper_scale: Literal["sd", "absolute"] = field(
        default="sd", metadata=_meta("sd", "MatchIt std.caliper=TRUE"))
    order: Order = field(default="largest", metadata=_meta("largest", "MatchIt m.order"))
    ties: Ties = field(default="id", metadata=_meta("id", "pbr rule; 'data': MatchIt 4.5.1"))
    discard: Discard = field(default="none", metadata=_meta("none", "MatchIt discard"))
    missing: Missing = field(default="error", metadata=_meta("error", "pbr policy"))
    index_date: str = field(default="index_date", metadata=_meta("index_date", "pbr schema"))
    pseudo_index: PseudoIndex = field(default="own", metadata=_meta("own", "pbr rule"))
    reference_date: str | None = field(default=None, metadata=_meta("none", "user choice"))
    offset_days: int | None = field(default=None, metadata=_meta(
        "none (treated median)", "pbr rule"))
    missing_reference: MissingReference = field(default="error",
                                                metadata=_meta("error", "pbr policy"))
    seed: int | None = field(default=None, metadata=_meta("none", "pbr: seeded randomness"))
    name: str = field(default="custom", metadata=_meta("custom", "-"))

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for name in ("covariates", "exact"):
            set_(self, name, _names(name, getattr(self, name)))
        for name, choices in _CHOICES.items():
            if getattr(self, name) not in choices:
                raise SpecError(f"{name}: must be one of {', '.join(map(repr, choices))}, "
                                f"got {getattr(self, name)!r}")
        for name in ("treatment", "id", "index_date", "name"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise SpecError(f"{name}: give a non-empty column name or label")
        if self.formula is not None and not isinstance(self.formula, str):
            raise SpecError("formula: give a right-hand side such as 'age + C(area)'")
        for name in ("ratio", "cem_bins"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < (name == "ratio"):
                raise SpecError(f"{name}: expected a whole number >= {int(name == 'ratio')}, "
                                f"got {value!r}")
        if not isinstance(self.replace, bool):
            raise SpecError(f"replace: expected true or false, got {self.replace!r}")
        if self.reuse_max is not None:
            if isinstance(self.reuse_max, bool) or not isinstance(self.reuse_max, int) \
                    or self.reuse_max < 1:
                raise SpecError(f"reuse_max: expected a whole number >= 1, got "
                                f"{self.reuse_max!r}")
            if not self.replace:
                raise SpecError("reuse_max: only applies with replace=True (without "
                                "replacement every control is used at most once)")
        if self.caliper is not None:
            try:
                set_(self, "caliper", float(self.caliper))
            except (TypeError, ValueError):
                raise SpecError(f"caliper: expected a number, got {self.caliper!r}") from None
            if not self.caliper > 0:
                raise SpecError(f"caliper: must be > 0, got {self.caliper!r}")
            if self.distance == "mahalanobis" and self.caliper_scale == "sd":
                raise SpecError("caliper_scale: a Mahalanobis distance has no SD scale; use "
                                "caliper_scale='absolute'")
        if self.order == "random" and self.seed is None:
            raise SpecError("seed: order='random' needs a seed, e.g. seed=1")
        if self.seed is not None and (isinstance(self.seed, bool)
                                      or not isinstance(self.seed, int)):
            raise SpecError(f"seed: expected a whole number, got {self.seed!r}")
        if self.method != "nearest" and (self.caliper is not None or self.ratio != 1
                                         or self.replace or self.exact):
            raise SpecError(f"method: caliper, ratio, replace and exact apply to "
                            f"method='nearest', not {self.method!r}")
        self._check_pseudo_index()
        if self.treatment in self.covariates or self.id in self.covariates:
            raise SpecError("covariates: must not include the treatment or id column")

    def _check_pseudo_index(self) -> None:
        if self.pseudo_index == "offset":
            if not isinstance(self.reference_date, str) or not self.reference_date:
                raise SpecError("reference_date: pseudo_index='offset' needs the column of "
                                "the reference event, e.g. reference_date='release_date'")
            if self.offset_days is not None and (isinstance(self.offset_days, bool) or
                                                 not isinstance(self.offset_days, int)):
                raise SpecError(f"offset_days: expected a whole number of days (or none "
                                f"for the treated units' median), got {self.offset_days!r}")
        else:
            for name in ("reference_date", "offset_days"):
                if getattr(self, name) is not None:
                    raise SpecError(f"{name}: only applies with pseudo_index='offset', not "
                                    f"{self.pseudo_index!r}; drop it or set "
                                    "pseudo_index='offset'")
            if self.missing_reference != "error":
                raise SpecError("missing_reference: only applies with "
                                "pseudo_index='offset'")
        if self.pseudo_index == "matched" and self.method != "nearest":
            raise SpecError(f"pseudo_index: 'matched' needs pairs (method='nearest'); "
                            f"method={self.method!r} forms strata with no treated unit per "
                            "control: use 'own' or 'offset'")

    def replace_fields(self, **changes: Any) -> MatchSpec:
        """A copy with some fields changed (validated again).

        Examples
        --------
        >>> MatchSpec().replace_fields(ratio=3).ratio
        3
        """
        return dataclasses.replace(self, **changes)

    def __str__(self) -> str:
        return describe(self, (14, 24))
