"""Measure specifications: every rule of a proven-reoffending measure as a named field.

A :class:`MeasureSpec` is immutable and hashable, validated on construction (a bad
field raises :class:`~pbr.errors.SpecError` naming the field and the fix), prints each
rule with its MoJ default and source, and round-trips through TOML.  Presets bundle the
settings of the published schemes (``pbr.preset("peterborough_sib")``).

Sources are in docs/methodology/measures.md; the rule identifiers (W1, P1, ...) used in
the field documentation refer to that page.
"""

from __future__ import annotations

import datetime as _dt
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pbr._toml import Replaceable, TomlTable, bundled, bundled_text, describe, listed
from pbr.errors import SpecError
from pbr.period import Period
from pbr.schema import normalise_term

__all__ = ["MeasureSpec", "available_presets", "preset"]

CountingUnit = Literal["offence", "court_event"]
Unmapped = Literal["error", "zero", "default"]


def _meta(default_note: str, source: str, doc: str) -> dict[str, str]:
    return {"default_note": default_note, "source": source, "doc": doc}


def _tuple_of_str(name: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        raise SpecError(f"{name}: give a list of strings, e.g. [{value!r}], not a bare string")
    try:
        items = tuple(value)
    except TypeError:
        raise SpecError(f"{name}: expected a list of strings, got {value!r}") from None
    for item in items:
        if not isinstance(item, str):
            raise SpecError(f"{name}: every entry must be a string, got {item!r}")
    return tuple(sorted(set(items)))


@dataclass(frozen=True)
class MeasureSpec(Replaceable, TomlTable, table="measure", label="", pairs=("severity_weights",)):
    """The rules of a proven-reoffending measure.

    Every field has the MoJ national-statistics default (MoJ, *Guide to Proven
    Reoffending Statistics*, 2019) unless noted; ``print(spec)`` lists each rule with its
    source.

    Parameters
    ----------
    follow_up
        Length of the follow-up window after the index date (rule W1). Default 12 months.
    waiting_period
        Further time in which an offence committed in follow-up may be proven (W2).
        Default 6 months.
    include_index_day
        Whether an offence on the index date itself counts (W3). Default False: the
        window is ``(index, index + follow_up]``; with True it is
        ``[index, index + follow_up)``.  Both have the same length.
    window
        ``"after"`` (default) measures the follow-up window after the index date (W1);
        ``"before"`` measures the same length of time before it (W4: an entry date's
        "before" period, as in before-and-after studies of Integrated Offender
        Management): ``[index - follow_up, index - 1 day]``, or
        ``[index - follow_up + 1 day, index]`` with ``include_index_day``; offences
        proven within the waiting period after the window's last day.
    proof_types
        Disposal types that prove an offence (P1). MoJ: conviction or caution; the PbR
        prison pilots: conviction only.  Compared in lower case with surrounding
        whitespace removed (:func:`pbr.schema.normalise_term`, rule P2), as the events'
        ``disposal_type`` values are; a measure on events none of whose values is a
        proof type is refused (rule P3).
    counting_unit
        ``"offence"`` counts each proven offence (MoJ); ``"court_event"`` counts each
        conviction event, i.e. distinct court appearances (Peterborough) (C1).
    include_codes, exclude_codes, include_categories, exclude_categories
        Offence filters (F1). An event passes when its code is in ``include_codes`` (if
        given), its category in ``include_categories`` (if given) and neither is
        excluded. Breaches are excluded by default (``exclude_categories=("breach",)``).
    severity_weights
        Offence code -> weight table (S1); ``None`` leaves severity missing.
    unmapped_severity
        What an offence code missing from ``severity_weights`` gets: ``"error"``,
        ``"zero"`` or ``"default"`` (``unmapped_weight``).
    serious_codes
        Offence codes on the serious-offence list (S2).
    as_of
        Date of the data extract (A1). An offender whose follow-up plus waiting period
        has not ended by ``as_of`` is not measurable and is reported as such.
    interim
        With True, offenders whose window is incomplete are measured on the data
        available up to ``as_of`` and flagged ``window_complete=False`` (A2).
    name
        Label recorded in results and manifests.

    Examples
    --------
    >>> spec = MeasureSpec(follow_up="12 months", counting_unit="court_event",
    ...                    proof_types=["conviction"])
    >>> spec.follow_up
    Period('12 months')
    >>> MeasureSpec.from_toml(spec.to_toml()) == spec
    True
    """

    follow_up: Period = field(
        default=Period(12, "months"),
        metadata=_meta("12 months", "MoJ proven reoffending bulletins 2011-2023 [V]",
                       "follow-up window after the index date"))
    waiting_period: Period = field(
        default=Period(6, "months"),
        metadata=_meta("6 months", "MoJ proven reoffending bulletins 2011-2013 [V]",
                       "further time in which offences may be proven"))
    include_index_day: bool = field(
        default=False,
        metadata=_meta("False", "assumption, MoJ rule not verified [R]",
                       "whether an offence on the index date counts"))
    window: str = field(
        default="after",
        metadata={**_meta("after", "pbr rule W4; IOM before-and-after measures "
                          "[IOM-Strategy-2020]", "window after (or before) the index date"),
                  "omit_default": "written only when 'before', so older specs keep "
                                  "their bytes"})
    proof_types: tuple[str, ...] = field(
        default=("caution", "conviction"),
        metadata=_meta("conviction, caution", "MoJ bulletins [V]; pilots: conviction only [V]",
                       "disposal types that prove an offence"))
    counting_unit: CountingUnit = field(
        default="offence",
        metadata=_meta("offence", "MoJ counts offences [V]; Peterborough court events [V2]",
                       "what one reoffence is"))
    include_codes: tuple[str, ...] = field(
        default=(), metadata=_meta("(all)", "user choice", "offence codes that may count"))
    exclude_codes: tuple[str, ...] = field(
        default=(), metadata=_meta("(none)", "user choice", "offence codes that never count"))
    include_categories: tuple[str, ...] = field(
        default=(), metadata=_meta("(all)", "user choice", "offence categories that may count"))
    exclude_categories: tuple[str, ...] = field(
        default=("breach",),
        metadata=_meta("breach", "MoJ: breaches are not reoffences [V2]; assumed for the "
                       "PbR presets",
                       "offence categories that never count"))
    severity_weights: tuple[tuple[str, float], ...] | None = field(
        default=None,
        metadata=_meta("none", "[ONS-CSS-2016], [Sherman-CHI-2016], [Francis-2005]",
                       "offence code -> severity weight"))
    unmapped_severity: Unmapped = field(
        default="error",
        metadata=_meta("error", "pbr policy: never guess a weight silently",
                       "rule for codes missing from the weight table"))
    unmapped_weight: float = field(
        default=0.0, metadata=_meta("0", "user choice", "weight used when unmapped='default'"))
    serious_codes: tuple[str, ...] = field(
        default=(),
        metadata=_meta("(none)", "MoJ serious offences list, Appendix A of Definitions 2011 [V]",
                       "offence codes counted as serious"))
    as_of: _dt.date | None = field(
        default=None,
        metadata=_meta("none", "MoJ: PNC snapshot date [V]", "date of the data extract"))
    interim: bool = field(
        default=False,
        metadata=_meta("False", "pbr rule: windows cut at as_of; MoJ interim definition "
                       "not verified [R]", "measure incomplete windows on data so far"))
    name: str = field(default="custom", metadata=_meta("custom", "-", "label for reports"))

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for name in ("follow_up", "waiting_period"):
            value = getattr(self, name)
            try:
                set_(self, name, Period.parse(value))
            except SpecError as exc:
                raise SpecError(f"{name}: {exc}") from None
        if self.follow_up.n == 0:
            raise SpecError("follow_up: must be longer than zero, e.g. '12 months'")
        if self.window not in ("after", "before"):
            raise SpecError(f"window: 'after' (the follow-up window after the index date) or "
                            f"'before' (the same length before it), got {self.window!r}")
        for name in ("include_index_day", "interim"):
            if not isinstance(getattr(self, name), bool):
                raise SpecError(f"{name}: expected true or false, got {getattr(self, name)!r}")
        for name in ("proof_types", "include_codes", "exclude_codes", "include_categories",
                     "exclude_categories", "serious_codes"):
            set_(self, name, _tuple_of_str(name, getattr(self, name)))
        # disposal types are compared in one spelling (pbr rule P2): the events' values
        # are normalised the same way when they are validated
        set_(self, "proof_types", tuple(sorted({normalise_term(t) for t in self.proof_types}
                                               - {""})))
        if not self.proof_types:
            raise SpecError("proof_types: give at least one disposal type, e.g. ['conviction']")
        if self.counting_unit not in ("offence", "court_event"):
            raise SpecError(
                f"counting_unit: must be 'offence' (MoJ) or 'court_event' (Peterborough), "
                f"got {self.counting_unit!r}")
        if self.unmapped_severity not in ("error", "zero", "default"):
            raise SpecError(
                f"unmapped_severity: must be 'error', 'zero' or 'default', "
                f"got {self.unmapped_severity!r}")
        try:
            set_(self, "unmapped_weight", float(self.unmapped_weight))
        except (TypeError, ValueError):
            raise SpecError(f"unmapped_weight: expected a number, got "
                            f"{self.unmapped_weight!r}") from None
        if self.severity_weights is not None:
            set_(self, "severity_weights", _weights(self.severity_weights))
        if self.as_of is not None:
            set_(self, "as_of", as_date("as_of", self.as_of))
        if self.interim and self.as_of is None:
            raise SpecError("interim: an interim measure needs as_of, the data extract date")
        if not isinstance(self.name, str) or not self.name:
            raise SpecError("name: give a non-empty label")

    # ------------------------------------------------------------------ convenience
    @property
    def weights(self) -> dict[str, float] | None:
        """The severity weight table as a dict (or None)."""
        return None if self.severity_weights is None else dict(self.severity_weights)

    @property
    def severity_scale(self) -> int | None:
        """The power of ten at which every severity weight is a whole number (or None).

        Severity sums are exact decimal sums: every weight (and ``unmapped_weight`` when
        it applies) is scaled by the smallest ``10**k`` (k <= 9) that makes it a whole
        number, the scaled integers are added, and the total is divided by the scale
        once.  The result does not depend on the order of the events, so every engine
        and every path gives the same float.  None when some weight has more than 9
        decimals (or is too large); the engines then add the floats in event order.
        Rule S1 "Exact sums" in docs/methodology/measures.md.

        Examples
        --------
        >>> MeasureSpec(severity_weights={"A": 1.5, "B": 0.25}).severity_scale
        100
        >>> MeasureSpec(severity_weights={"A": 1 / 3}).severity_scale is None
        True
        """
        values = list((self.weights or {}).values())
        if self.unmapped_severity == "default":
            values.append(self.unmapped_weight)
        for k in range(10):
            scale: int = 10**k
            if all(abs(v) * scale <= 2.0**40 and round(v * scale) / scale == v
                   for v in values):
                return scale
        return None

    def __str__(self) -> str:
        return describe(self, (20, 24), lambda name, value: (
            (f"{len(value)} codes" if value else value) if name == "severity_weights"
            else listed(value)))


def parse_date(value: Any, *, datetimes: bool = True) -> _dt.date:
    """The one reading of a date given as a value: a ``date``; a ``datetime`` as its date
    (unless ``datetimes=False``); ISO text (``2024-03-31``).  Every date field and
    option (specs, cohort rules, contracts, ``as_of``, the command line's dates) reads
    through it, each caller naming its field in its own error.

    Raises
    ------
    ValueError
        Anything else, as :meth:`datetime.date.fromisoformat` does for text.

    Examples
    --------
    >>> parse_date("2024-03-31"), parse_date(_dt.datetime(2024, 3, 31, 12))
    (datetime.date(2024, 3, 31), datetime.date(2024, 3, 31))
    """
    if isinstance(value, _dt.datetime):
        if datetimes:
            return value.date()
    elif isinstance(value, _dt.date):
        return value
    elif isinstance(value, str):
        return _dt.date.fromisoformat(value)
    raise ValueError(f"not a date: {value!r}")


def as_date(name: str, value: Any) -> _dt.date:
    """A date field of a spec: a ``date``, a ``datetime`` (its date) or ISO text
    (:func:`parse_date`); anything else is a :class:`~pbr.errors.SpecError` naming the
    field."""
    try:
        return parse_date(value)
    except ValueError:
        raise SpecError(f"{name}: expected a date such as 2024-03-31, got {value!r}") from None


def _weights(value: Any) -> tuple[tuple[str, float], ...]:
    items: Iterable[Any] = value.items() if isinstance(value, Mapping) else value
    out = {}
    for pair in items:
        try:
            code, weight = pair
            weight = float(weight)
        except (TypeError, ValueError):
            raise SpecError(
                f"severity_weights: expected code = weight pairs, got {pair!r}") from None
        if not isinstance(code, str):
            raise SpecError(f"severity_weights: codes must be strings, got {code!r}")
        if weight != weight or weight < 0:
            raise SpecError(f"severity_weights: weight of {code!r} must be >= 0, got {weight}")
        out[code] = weight
    return tuple(sorted(out.items()))


def available_presets() -> list[str]:
    """Names of the bundled measure presets.

    Examples
    --------
    >>> "moj_national_2017" in available_presets()
    True
    """
    return bundled()


def preset(name: str, **overrides: Any) -> MeasureSpec:
    """The measure spec of a named scheme, optionally with fields overridden.

    Examples
    --------
    >>> preset("peterborough_sib").counting_unit
    'court_event'
    """
    data = tomllib.loads(bundled_text(name))["measure"]
    data.update(overrides)
    return MeasureSpec.from_dict(data)
