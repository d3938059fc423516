"""Cohort rules: which disposals become index events, and in which cohort period.

A :class:`CohortRule` is immutable and hashable, validated on construction (a bad field
raises :class:`~pbr.errors.SpecError` naming the field and the fix), prints each rule
with its default and source, and round-trips through TOML as a ``[cohort]`` table, so a
scheme file can hold ``[cohort]``, ``[measure]`` and ``[comparison]`` tables side by side.

Every rule is documented, with its source and whether the source was verified, in
docs/methodology/cohorts.md (rule identifiers K1-K10 below refer to that page; the
primary source is the MoJ *Guide to Proven Reoffending Statistics*, 2019,
[MoJ-Guide-2019], with the bulletins, [MoJ-PRS-Bulletins]; docs/sources.md).
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pbr._toml import Replaceable, TomlTable, describe, listed
from pbr.errors import SpecError
from pbr.period import Period
from pbr.spec import as_date

__all__ = ["EXCLUSIONS", "PERIOD_KINDS", "CohortRule"]

#: cohort period kinds (K3)
PERIOD_KINDS = ("quarter", "12 months", "rolling 12 months", "financial_year", "first_n")
#: optional exclusions (K8): name -> the disposals column that flags it
EXCLUSIONS: dict[str, str] = {
    "deported": "deported",
    "time_served": "time_served",
    "breach_only": "breach_only",
    "released_from_court": "released_from_court",
    "died": "date_of_death",
}
_AGE_GROUPS = {"all": (None, None), "adult": (18, None), "juvenile": (10, 17)}
_AGE_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)|(\+))\s*$")
_SENTENCE = re.compile(r"^\s*(<=|<|>=|>)\s*(.+?)\s*$")
Feb29 = Literal["mar1", "feb28"]
TieBreak = Literal["row", "values"]


def _meta(default_note: str, source: str, doc: str) -> dict[str, str]:
    return {"default_note": default_note, "source": source, "doc": doc}


def _strings(name: str, value: Any, *, keep_order: bool = False) -> tuple[str, ...]:
    if isinstance(value, str):
        raise SpecError(f"{name}: give a list of strings, e.g. [{value!r}], not a bare string")
    try:
        items = tuple(value)
    except TypeError:
        raise SpecError(f"{name}: expected a list of strings, got {value!r}") from None
    for item in items:
        if not isinstance(item, str) or not item:
            raise SpecError(f"{name}: every entry must be a non-empty string, got {item!r}")
    if keep_order:
        if len(set(items)) != len(items):
            raise SpecError(f"{name}: an entry appears twice in {list(items)}; list each once")
        return items
    return tuple(sorted(set(items)))


def age_bounds(age_group: str) -> tuple[int | None, int | None]:
    """(lowest, highest) age of an age group, both inclusive; None = unbounded.

    Examples
    --------
    >>> age_bounds("adult"), age_bounds("juvenile"), age_bounds("16-18")
    ((18, None), (10, 17), (16, 18))
    """
    if age_group in _AGE_GROUPS:
        return _AGE_GROUPS[age_group]
    m = _AGE_RANGE.match(age_group)
    if not m:
        raise SpecError(
            f"age_group: {age_group!r} is not an age group; write 'all', 'adult' (18+), "
            "'juvenile' (10-17), a range such as '16-18' or an open range such as '21+'")
    lo = int(m.group(1))
    hi = None if m.group(3) else int(m.group(2))
    if hi is not None and hi < lo:
        raise SpecError(f"age_group: {age_group!r} ends before it starts; write e.g. '16-18'")
    return lo, hi


def sentence_bound(text: str) -> tuple[str, Period]:
    """The comparison and the period of a sentence-length filter such as ``"< 12 months"``.

    Examples
    --------
    >>> sentence_bound("<= 6 months")
    ('<=', Period('6 months'))
    """
    m = _SENTENCE.match(text)
    if not m:
        raise SpecError(
            f"sentence_length: {text!r} is not a filter; write an operator (<, <=, >, >=) "
            "and a period, e.g. '< 12 months' or '<= 6 months'")
    try:
        return m.group(1), Period.parse(m.group(2))
    except SpecError as exc:
        raise SpecError(f"sentence_length: {exc}") from None


@dataclass(frozen=True)
class CohortRule(Replaceable, TomlTable, table="cohort", strict=True, pairs=("where",)):
    """The rules that turn disposal records into a cohort of index events.

    Defaults are the MoJ proven-reoffending rules since the October 2017 publication
    (MoJ, *Guide to Proven Reoffending Statistics*, 2019; [MoJ-Guide-2019]) unless
    noted; ``print(rule)`` lists each rule with its source and docs/methodology/cohorts.md
    has the detail.

    Parameters
    ----------
    index_types
        Disposal types that can be an index event (K1); an open set.  MoJ: release from
        custody (``"custody"`` rows enter on their release date), a non-custodial court
        order or conviction (``"court_order"``) and a caution.
    custodial_types
        Disposal types whose people enter on *release*, not at sentence (K2).
    disposal_categories
        Index disposal categories allowed (K7), matched against the optional
        ``disposal_category`` column; empty means all.
    period
        Cohort period kind (K3): ``"quarter"`` (3-month cohorts), ``"12 months"``,
        ``"rolling 12 months"`` (12-month windows starting every ``rolling_step``),
        ``"financial_year"`` (1 April to 31 March) or ``"first_n"`` (the first
        ``cohort_size`` consecutive eligible people, Peterborough).
    start
        First day of the first period.  None: the start of the quarter (financial year
        for ``financial_year``) holding the earliest eligible index date; for
        ``first_n`` that date itself.
    n_periods
        Number of periods (cohorts).  None: as many as reach the latest eligible index
        date.
    rolling_step, cohort_size
        Step between rolling windows (default 3 months) and people per ``first_n``
        cohort (default 1,000).
    same_day_precedence
        Order of disposal types when a person has several eligible events on one day
        (K4): the first listed wins; unlisted types come after, in input order.
    multiple_periods
        Whether a person may enter several periods (K5); with False only their first.
    tie_break
        Order of same-day events of the same type (K4): ``"row"`` (input order) or
        ``"values"`` (by the rows' values, so that shuffling the input changes nothing).
    age_group
        ``"all"``, ``"adult"`` (18+), ``"juvenile"`` (10-17) or a range such as
        ``"16-18"`` / ``"21+"``, by age at the index date (K6).
    feb29_birthday
        When a 29 February birthday falls in a non-leap year: ``"mar1"`` (the default)
        or ``"feb28"``.
    sentence_length
        Filter on the sentence length (K7) such as ``"< 12 months"`` or
        ``"<= 6 months"``; None for none.
    exclusions
        Optional exclusions (K8): any of ``deported``, ``time_served``,
        ``breach_only``, ``released_from_court``, ``died``.
    died_within
        For ``died``: death within this time of the index date (the follow-up).
    carry
        Columns copied from the index disposal to the cohort (K9), e.g. the provider,
        contract package area and region.
    where
        Attribute filters (K10): a mapping of a disposals column to the values allowed,
        compared as text, e.g. ``{"sex": ["M"]}`` for Peterborough's male prisoners or
        ``{"establishment": ["HMP Peterborough"]}``; a row with another value or none is
        left out with the reason ``where``.  Empty: no filter.
    min_custody_stay
        Custodial rows (K2) enter only if release minus sentence date is at least this
        long (Rikers ABLE: stays above 4 days, later 7 or more); None for no minimum.
    name
        Label recorded in results.

    Examples
    --------
    >>> rule = CohortRule(period="first_n", cohort_size=1000, sentence_length="< 12 months",
    ...                   index_types=["custody"], age_group="adult")
    >>> rule.cohort_size
    1000
    >>> CohortRule.from_toml(rule.to_toml()) == rule
    True
    """

    index_types: tuple[str, ...] = field(
        default=("caution", "court_order", "custody"),
        metadata=_meta("custody, court_order, caution",
                       "released, convicted non-custodial, cautioned [MoJ-PRS-Bulletins] [V]",
                       "disposal types that can be an index event (K1)"))
    custodial_types: tuple[str, ...] = field(
        default=("custody",),
        metadata=_meta("custody", "custody enters on release [MoJ-PRS-Bulletins] [V]",
                       "types that enter on their release date (K2)"))
    disposal_categories: tuple[str, ...] = field(
        default=(), metadata=_meta("(all)",
                                   "user choice; CRC orders, licences [MoJ-PbR-Baselines-2011] [R]",
                                   "index disposal categories allowed (K7)"))
    period: str = field(
        default="quarter",
        metadata=_meta("quarter", "MoJ 3-month cohorts since Oct 2017 [MoJ-PRS-Bulletins] [V]",
                       "cohort period kind (K3)"))
    start: _dt.date | None = field(
        default=None, metadata=_meta("(from data)", "user choice; from the data [I]",
                                     "first day of period 1"))
    n_periods: int | None = field(
        default=None, metadata=_meta("(from data)", "user choice; from the data [I]",
                                     "number of periods"))
    rolling_step: Period = field(
        default=Period(3, "months"),
        metadata=_meta("3 months", "MoJ 2011-17: one each quarter [MoJ-PRS-Bulletins] [V]",
                       "step between rolling windows"))
    cohort_size: int = field(
        default=1000,
        metadata=_meta("1000", "Peterborough SIB: 1,000 consecutive releases [Disley-2011] [V]",
                       "people per first_n cohort"))
    same_day_precedence: tuple[str, ...] = field(
        default=("custody", "court_order", "caution"),
        metadata=_meta("custody > court_order > caution",
                       "MoJ Guide 2019 section 2.1, not read [MoJ-Guide-2019] [R]",
                       "winner among same-day events (K4)"))
    multiple_periods: bool = field(
        default=True,
        metadata=_meta("True", "MoJ: up to four quarterly cohorts a year [MoJ-PRS-Bulletins] [R]",
                       "a person may enter several periods (K5)"))
    tie_break: TieBreak = field(
        default="row", metadata=_meta("row", "pbr rule: input order [I]",
                                      "same-day, same-type ties (K4)"))
    age_group: str = field(
        default="all",
        metadata=_meta("all", "adults 18+, juveniles 10-17 at index [MoJ-PRS-Bulletins] [V]",
                       "age group at the index date (K6)"))
    feb29_birthday: Feb29 = field(
        default="mar1", metadata=_meta("mar1", "assumption [R]; 'feb28' the alternative",
                                       "29 Feb birthday in a non-leap year (K6)"))
    sentence_length: str | None = field(
        default=None, metadata=_meta("(none)", "Peterborough: < 12 months [Disley-2011] [V]",
                                     "sentence-length filter (K7)"))
    exclusions: tuple[str, ...] = field(
        default=(), metadata=_meta("(none)", "MoJ removes none [MoJ-Guide-2019] [R]; "
                                   "Doncaster [Webster-Doncaster-2015] [V2]",
                                   "optional exclusions with reasons (K8)"))
    died_within: Period = field(
        default=Period(12, "months"),
        metadata=_meta("12 months", "MoJ follow-up year [MoJ-PRS-Bulletins] [V]",
                       "window of the died exclusion"))
    carry: tuple[str, ...] = field(
        default=("area", "provider", "region"),
        metadata=_meta("area, provider, region",
                       "CRC by area [MoJ-PbR-Baselines-2011] [V]; from index [I]",
                       "columns copied from the index disposal (K9)"))
    where: tuple[tuple[str, tuple[str, ...]], ...] = field(
        default=(), metadata=_meta("(none)", "user choice; Peterborough: male prisoners "
                                   "[Disley-2011] [V]", "attribute filters (K10)"))
    min_custody_stay: Period | None = field(
        default=None, metadata=_meta("(none)", "Rikers: stays above 4 days [MDRC-Rikers-2013] [V2]",
                                     "shortest custodial stay that enters (K2)"))
    name: str = field(default="custom", metadata=_meta("custom", "-", "label for reports"))

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for name in ("index_types", "custodial_types", "disposal_categories", "carry"):
            set_(self, name, _strings(name, getattr(self, name)))
        set_(self, "same_day_precedence",
             _strings("same_day_precedence", self.same_day_precedence, keep_order=True))
        if not self.index_types:
            raise SpecError("index_types: give at least one disposal type, e.g. ['custody']")
        set_(self, "exclusions", _strings("exclusions", self.exclusions))
        unknown = sorted(set(self.exclusions) - set(EXCLUSIONS))
        if unknown:
            raise SpecError(f"exclusions: unknown {', '.join(map(repr, unknown))}; choose "
                            f"from {', '.join(EXCLUSIONS)}")
        if self.period not in PERIOD_KINDS:
            raise SpecError(f"period: must be one of {', '.join(map(repr, PERIOD_KINDS))}, "
                            f"got {self.period!r}")
        if self.start is not None:
            set_(self, "start", as_date("start", self.start))
        for name, low in (("n_periods", 1), ("cohort_size", 1)):
            value = getattr(self, name)
            if value is None and name == "n_periods":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise SpecError(f"{name}: expected a whole number >= {low}, got {value!r}")
        for name in ("rolling_step", "died_within"):
            try:
                set_(self, name, Period.parse(getattr(self, name)))
            except SpecError as exc:
                raise SpecError(f"{name}: {exc}") from None
            if getattr(self, name).n == 0:
                raise SpecError(f"{name}: must be longer than zero, e.g. '3 months'")
        if not isinstance(self.multiple_periods, bool):
            raise SpecError(f"multiple_periods: expected true or false, "
                            f"got {self.multiple_periods!r}")
        if self.tie_break not in ("row", "values"):
            raise SpecError(f"tie_break: must be 'row' (input order) or 'values', "
                            f"got {self.tie_break!r}")
        if not isinstance(self.age_group, str):
            raise SpecError(f"age_group: expected text such as 'adult', got {self.age_group!r}")
        age_bounds(self.age_group)
        if self.feb29_birthday not in ("mar1", "feb28"):
            raise SpecError(f"feb29_birthday: must be 'mar1' or 'feb28', "
                            f"got {self.feb29_birthday!r}")
        if self.sentence_length is not None:
            if not isinstance(self.sentence_length, str):
                raise SpecError(f"sentence_length: expected text such as '< 12 months', "
                                f"got {self.sentence_length!r}")
            op, period = sentence_bound(self.sentence_length)
            set_(self, "sentence_length", f"{op} {period}")
        set_(self, "where", _where(self.where))
        if self.min_custody_stay is not None:
            try:
                set_(self, "min_custody_stay", Period.parse(self.min_custody_stay))
            except SpecError as exc:
                raise SpecError(f"min_custody_stay: {exc}") from None
        if not isinstance(self.name, str) or not self.name:
            raise SpecError("name: give a non-empty label")

    # ------------------------------------------------------------------ convenience
    @property
    def ages(self) -> tuple[int | None, int | None]:
        """(lowest, highest) age allowed, inclusive; None = unbounded."""
        return age_bounds(self.age_group)

    def __str__(self) -> str:
        def show(name: str, value: Any) -> Any:
            if name == "where":
                return "; ".join(f"{c} in {', '.join(v)}" for c, v in value) or "-"
            if value is None:
                return "-"
            return listed(value, sep=" > " if name == "same_day_precedence" else ", ")
        return describe(self, (20, 32), show)


def _where(value: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Attribute filters as sorted ``((column, (allowed, ...)), ...)`` (hashable)."""
    items = value.items() if isinstance(value, Mapping) else value
    try:
        pairs = [(column, allowed) for column, allowed in items]
    except (TypeError, ValueError):
        raise SpecError(f"where: give a mapping of column to allowed values, e.g. "
                        f"{{'sex': ['M']}}, got {value!r}") from None
    out = []
    for column, allowed in pairs:
        if not isinstance(column, str) or not column:
            raise SpecError(f"where: column names must be non-empty text, got {column!r}")
        if isinstance(allowed, str | int):
            allowed = [allowed]
        values = _strings(f"where.{column}", [str(a) for a in allowed])
        if not values:
            raise SpecError(f"where.{column}: give at least one allowed value, or drop the "
                            "column from where")
        out.append((column, values))
    columns = [c for c, _ in out]
    if len(set(columns)) != len(columns):
        raise SpecError(f"where: a column appears twice in {columns}; list each once")
    return tuple(sorted(out))
