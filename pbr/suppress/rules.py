"""The disclosure-control rules a published table follows: :class:`DisclosureRules`.

Each rule is a named field with a documented default and source
(docs/methodology/publication.md):

=====================  ============================================================  =======
field                  rule                                                          default
=====================  ============================================================  =======
threshold              primary suppression of counts ``0 < n < threshold``           10
                       (the threshold rule; [GSS-SDC-Admin-2014],
                       [Hundepool-SDC-2012] 5.2)
protection             width each suppressed cell's feasible interval must reach     10
                       under the LP audit (sliding protection; [Cox-1980])
rate_min_numerator     rates (proportions, per-offender figures) are suppressed     10
                       when their numerator is below this (and above 0)
rate_min_denominator   ... or their denominator (the group's size) is below this     10
complement             a proportion's numerator is also unsafe when the complement   True
                       ``denominator - numerator`` is ``0 < c < threshold`` (group
                       disclosure: "all but 2 of the 40 reoffended")
zeros                  zero cells are unsafe too (off: a zero is not a small count   False
                       of people; [GSS-SDC-Admin-2014] leaves it to the producer)
rounding               published counts rounded to the nearest multiple (None: not   None
                       rounded; 5 is the common base; halves round up)
symbol                 shown in printed tables for a suppressed value: ``[c]``,      "[c]"
                       "confidential" ([GSS-Symbols-2021])
=====================  ============================================================  =======

The threshold and rounding base are the producer's policy: the defaults are pbr's own
choice **[I]**, within the range UK producers of administrative-data statistics use
**[R]**; set them from your organisation's published policy and name it in ``name``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from pbr.errors import SpecError

__all__ = ["PRESETS", "DisclosureRules", "resolve_rules"]


@dataclass(frozen=True)
class DisclosureRules:
    """Statistical disclosure control for a published table.

    Parameters
    ----------
    threshold
        Counts below this (and above zero) are suppressed (primary suppression).
    protection
        Each suppressed cell's feasible interval, given every published cell and the
        table's totals, must be at least this wide (checked by linear programming).
        Default: the threshold.
    rate_min_numerator, rate_min_denominator
        Rates whose numerator (when positive) or denominator is below these are
        suppressed.  Default: the threshold.
    complement
        Also treat a proportion's numerator as unsafe when its complement is small.
    zeros
        Treat zero counts as unsafe.
    rounding
        Round published counts to the nearest multiple of this (``None``: no rounding).
    symbol
        Text shown for a suppressed value in printed tables.
    name
        The policy's name, recorded in the provenance (e.g. your organisation's
        disclosure control policy and its date).

    Examples
    --------
    >>> r = DisclosureRules(threshold=5, rounding=5)
    >>> r.protection, r.rate_min_denominator
    (5, 5)
    """

    threshold: int = 10
    protection: int | None = None
    rate_min_numerator: int | None = None
    rate_min_denominator: int | None = None
    complement: bool = True
    zeros: bool = False
    rounding: int | None = None
    symbol: str = "[c]"
    name: str = "pbr default (threshold 10)"

    def __post_init__(self) -> None:
        for f in ("threshold", "protection", "rate_min_numerator", "rate_min_denominator",
                  "rounding"):
            x = getattr(self, f)
            if x is None and f != "threshold":
                continue
            if isinstance(x, bool) or not isinstance(x, int):
                raise SpecError(f"DisclosureRules.{f}: a whole number, got {x!r} "
                                f"({type(x).__name__})")
            if x < 0 or (f == "rounding" and x < 1):
                raise SpecError(f"DisclosureRules.{f}: must be "
                                f"{'at least 1' if f == 'rounding' else 'non-negative'}, "
                                f"got {x}; e.g. {f}=5")
        for f in ("complement", "zeros"):
            if not isinstance(getattr(self, f), bool):
                raise SpecError(f"DisclosureRules.{f}: True or False, got "
                                f"{getattr(self, f)!r}")
        if not isinstance(self.symbol, str) or not self.symbol:
            raise SpecError("DisclosureRules.symbol: a non-empty text such as '[c]'")
        for f in ("protection", "rate_min_numerator", "rate_min_denominator"):
            if getattr(self, f) is None:
                object.__setattr__(self, f, self.threshold)

    @property
    def min_protection(self) -> int:
        """The protection level as a number (never None after construction)."""
        return int(self.protection or 0)

    def to_dict(self) -> dict[str, Any]:
        """The rules as plain values (for provenance and manifests)."""
        return dataclasses.asdict(self)

    def __str__(self) -> str:
        parts = [f"counts 1-{self.threshold - 1} suppressed" if self.threshold > 1
                 else "no threshold",
                 f"protection interval >= {self.protection}",
                 f"rates need numerator >= {self.rate_min_numerator} and denominator >= "
                 f"{self.rate_min_denominator}"]
        if self.complement:
            parts.append("complements checked")
        if self.zeros:
            parts.append("zeros suppressed")
        if self.rounding:
            parts.append(f"counts rounded to {self.rounding}")
        return f"{self.name}: " + "; ".join(parts)


#: Named rule sets.  ``threshold_10``: pbr's default.  ``threshold_5_round_5``: counts
#: 1-4 suppressed and every published count rounded to the nearest 5.  ``round_5``:
#: rounding alone (no suppression), for tables whose every cell is already large.
PRESETS: dict[str, DisclosureRules] = {
    "threshold_10": DisclosureRules(),
    "threshold_5_round_5": DisclosureRules(threshold=5, rounding=5,
                                           name="threshold 5, rounded to 5"),
    "round_5": DisclosureRules(threshold=0, protection=0, rate_min_numerator=0,
                               rate_min_denominator=0, complement=False, rounding=5,
                               name="rounded to 5"),
}


def resolve_rules(rules: DisclosureRules | str | None) -> DisclosureRules:
    """The rules given, a preset by name, or the default."""
    if rules is None:
        return PRESETS["threshold_10"]
    if isinstance(rules, DisclosureRules):
        return rules
    if isinstance(rules, str):
        if rules not in PRESETS:
            raise SpecError(f"rules: no preset {rules!r}; presets: {', '.join(PRESETS)}, "
                            "or give DisclosureRules(...)")
        return PRESETS[rules]
    raise SpecError(f"rules: DisclosureRules, a preset name or None, got "
                    f"{type(rules).__name__}")
