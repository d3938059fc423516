"""Payment components of a contract: one frozen, validated record per component.

A component is one way money moves: a fee for service, a linear outcome payment, a
tiered schedule, the share of contract value at risk, or a rate card (a price per
verified intermediate outcome per participant, with caps and exclusive outcomes,
optionally restricted to a subgroup with a ring-fenced amount).  Its fields are validated on
construction; a bad value raises :class:`~pbr.errors.ContractError` naming the field and
the fix.  Sources of each rule: docs/methodology/payments.md (the keys of docs/sources.md
it cites).
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, Literal

from pbr.contract.outcome import MEASURES, RATES, as_decimal
from pbr.errors import ContractError

__all__ = ["BASES", "FIELDS", "KINDS", "TRIGGERS", "Component"]

Kind = Literal["fee", "linear", "tiered", "at_risk", "rate_card"]
KINDS = ("fee", "linear", "tiered", "at_risk", "rate_card")
#: kinds that pay on a cohort measure (the others: fees, and rate cards on outcome events)
MEASURED = ("linear", "tiered", "at_risk")
TRIGGERS = ("none", "relative", "absolute", "significant")
#: linear bases: what one unit is
BASES = {
    "points": "percentage point (measure unit) of reduction",
    "points_per_offender": "percentage point of reduction per offender in the cohort",
    "avoided": "reoffender, reoffence, conviction event or bed day avoided",
}
_MONEY = ("price", "cap", "floor", "value", "amount", "band_price", "participant_cap",
          "ring_fenced")
#: money fields that can never be negative (a floor may be: it limits a clawback)
_NOT_NEGATIVE = ("price", "cap", "value", "amount", "band_price", "participant_cap",
                 "ring_fenced")
_OUTCOME = ("measure", "trigger", "threshold", "pooled_threshold", "pooled_over", "hurdle",
            "cap", "floor", "subgroup")
#: the fields each kind reads; any other field set away from its default would be ignored
FIELDS = {
    "fee": ("amount", "periods", "band_low", "band_high", "band_price"),
    "linear": (*_OUTCOME, "basis", "price", "clawback"),
    "tiered": (*_OUTCOME, "tiers"),
    "at_risk": (*_OUTCOME, "value", "share"),
    "rate_card": ("prices", "participant_cap", "outcome_caps", "exclusive", "cap", "subgroup",
                  "ring_fenced"),
}
_ALWAYS = ("name", "kind", "active", "note")


@dataclass(frozen=True)
class Component:
    """One payment component.

    Parameters
    ----------
    name
        Unique label (``"binary"``, ``"frequency"``, ``"fee"``).
    kind
        ``"fee"`` (fee for service: ``amount`` per period x ``periods``, with optional
        volume band ``band_low``-``band_high`` reconciled at ``band_price`` per offender
        outside it), ``"linear"`` (``price`` per unit of ``basis``), ``"tiered"``
        (``tiers``: relative reduction in percent -> amount, highest tier reached), or
        ``"at_risk"`` (``share`` of contract ``value`` returned when the trigger is missed),
        or ``"rate_card"`` (``prices`` per valid outcome claim of each participant, from
        the outcome events; docs/methodology/outcomes.md).
    measure
        The measure the component acts on (a key of :data:`pbr.contract.outcome.MEASURES`);
        not used by fees.
    basis
        Linear only: ``"points"``, ``"points_per_offender"`` or ``"avoided"``.
    trigger, threshold
        ``"none"``, ``"relative"`` (reduction >= threshold percent of the comparator),
        ``"absolute"`` (reduction >= threshold points) or ``"significant"`` (actual
        below the lower threshold of the comparator's interval).
    pooled_threshold, pooled_over
        Relative triggers: a cohort that misses ``threshold`` still pays when the
        n-weighted mean relative reduction over the cohorts ``pooled_over`` (all present)
        reaches ``pooled_threshold`` (Peterborough: 10% per cohort, 7.5% pooled).
    clawback
        Pay negative amounts for increases (linear), or deduct on a significant increase.
    hurdle
        Name of another component whose trigger must be met for the same cohort first
        (the CRC binary hurdle before frequency payments).
    cap, floor
        Limits on this component's amount per cohort; for a rate card, ``cap`` is the
        programme cap: the most the component pays over all participants.
    prices
        Rate card: outcome type -> price per valid claim, e.g. ``{employment_13w =
        1500.00, employment_26w = 1000.00}``.
    participant_cap
        Rate card: the most paid for any one participant.
    outcome_caps
        Rate card: outcome type -> the most claims of that type paid over the programme.
    exclusive
        Rate card: groups of outcome types that exclude each other: a participant is
        paid for at most one outcome of each group (the first achieved).
    subgroup
        Attribute -> accepted values (``{sex = ["F"]}``): the component pays only on the
        people whose attributes match (a women's-service component paid only on women's
        outcomes).  A rate card pays only those participants' claims; a linear, tiered
        or at-risk component pays on the outcome of the subgroup of each cohort
        (:attr:`subgroup_label`; an :class:`~pbr.contract.outcome.Outcome` with that
        ``subgroup``), measured on the cohort's members in it.
    ring_fenced
        Rate card: an amount reserved for the component (a subgroup's service): the
        component pays at most this, and the contract's cohort, year and total caps
        neither count nor cut its lines.
    active
        False switches the component off (used by contract variations).
    note
        The source of the rule, shown on the statement.

    Examples
    --------
    >>> c = Component("binary", "linear", measure="binary_rate", basis="points", price=100)
    >>> c.price
    Decimal('100')
    >>> Component("x", "linear", measure="binary_rate", basis="points")
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pbr.errors.ContractError: component 'x'.price: a linear component needs a price per unit...
    """

    name: str
    kind: Kind
    measure: str | None = None
    basis: str | None = None
    price: Decimal | None = None
    trigger: str = "none"
    threshold: Decimal | None = None
    pooled_threshold: Decimal | None = None
    pooled_over: tuple[str, ...] = ()
    clawback: bool = False
    hurdle: str | None = None
    tiers: tuple[tuple[Decimal, Decimal], ...] = ()
    value: Decimal | None = None
    share: Decimal | None = None
    amount: Decimal | None = None
    periods: int = 1
    band_low: int | None = None
    band_high: int | None = None
    band_price: Decimal | None = None
    cap: Decimal | None = None
    floor: Decimal | None = None
    prices: tuple[tuple[str, Decimal], ...] = ()
    participant_cap: Decimal | None = None
    outcome_caps: tuple[tuple[str, int], ...] = ()
    exclusive: tuple[tuple[str, ...], ...] = ()
    subgroup: tuple[tuple[str, tuple[str, ...]], ...] = ()
    ring_fenced: Decimal | None = None
    active: bool = True
    note: str = ""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        where = f"component {self.name!r}"

        def bad(field_: str, fix: str) -> ContractError:
            return ContractError(f"{where}.{field_}: {fix}")

        if not isinstance(self.name, str) or not self.name:
            raise ContractError("component.name: give each component a non-empty name")
        if self.kind not in KINDS:
            raise bad("kind", f"must be one of {', '.join(KINDS)}, got {self.kind!r}")
        for name in ("prices", "outcome_caps", "subgroup"):
            if isinstance(getattr(self, name), dict):
                set_(self, name, tuple(getattr(self, name).items()))
        _subgroup(self, bad)
        if self.kind == "rate_card":
            _rate_card(self, bad)
        for name in (*_MONEY, "threshold", "pooled_threshold", "share"):
            value = getattr(self, name)
            if value is not None:
                set_(self, name, as_decimal(f"{where}.{name}", value))
        for f in fields(self):
            if f.name in _ALWAYS or f.name in FIELDS[self.kind]:
                continue
            value = getattr(self, f.name)
            if value != f.default and not (f.default == () and not value):
                users = ", ".join(k for k, v in FIELDS.items() if f.name in v)
                raise bad(f.name, f"a {self.kind} component does not use {f.name} (it would be "
                          f"ignored), got {value!r}; remove it, or use a kind that reads it "
                          f"({users})")
        for name in _NOT_NEGATIVE:
            value = getattr(self, name)
            if value is not None and value < 0:
                fix = ("write the price as a positive amount; clawback = true deducts it for "
                       "increases" if name == "price" else
                       "a cap is the most paid; to limit a clawback use a negative floor"
                       if name == "cap" else "give the amount as a positive number")
                raise bad(name, f"must not be negative, got {value}; {fix}")
        if self.kind in MEASURED and self.measure not in MEASURES:
            raise bad("measure", f"must be one of {', '.join(MEASURES)}, got {self.measure!r}")
        if self.trigger not in TRIGGERS:
            raise bad("trigger", f"must be one of {', '.join(TRIGGERS)}, got {self.trigger!r}")
        if self.trigger in ("relative", "absolute") and self.threshold is None:
            raise bad("threshold", f"a {self.trigger} trigger needs a threshold "
                      "(percent for relative, points for absolute), e.g. threshold = 10")
        if self.trigger in ("none", "significant") and self.threshold is not None:
            raise bad("threshold", f"threshold = {self.threshold} is given but "
                      f"{where}.trigger is {self.trigger!r}, which does not read it; set "
                      "trigger = \"relative\" (percent) or \"absolute\" (points), or remove "
                      "the threshold")
        if self.threshold is not None:
            top = 100 if self.trigger == "relative" or self.measure in RATES else None
            if self.threshold < 0 or (top is not None and self.threshold > top):
                unit = ("percent of the comparator" if self.trigger == "relative"
                        else "points of the rate (percent)")
                raise bad("threshold", f"{self.threshold} is outside 0 to 100 ({unit}); "
                          "e.g. threshold = 10 for 10")
        if self.pooled_threshold is not None and not 0 <= self.pooled_threshold <= 100:
            raise bad("pooled_threshold", f"{self.pooled_threshold} is outside 0 to 100 "
                      "(percent relative reduction), e.g. pooled_threshold = 7.5")
        if self.pooled_threshold is not None:
            if self.trigger != "relative":
                raise bad("pooled_threshold", "a pooled test needs trigger = \"relative\"")
            if not self.pooled_over:
                raise bad("pooled_over", "list the cohorts pooled, e.g. "
                          "pooled_over = [\"cohort 1\", \"cohort 2\"]")
        set_(self, "pooled_over", tuple(str(c) for c in self.pooled_over))
        for name in ("clawback", "active"):
            if not isinstance(getattr(self, name), bool):
                raise bad(name, f"expected true or false, got {getattr(self, name)!r}")
        if self.kind == "linear":
            if self.basis not in BASES:
                raise bad("basis", f"must be one of {', '.join(BASES)}, got {self.basis!r}")
            if self.price is None:
                raise bad("price", "a linear component needs a price per unit, e.g. price = 100.00")
        if self.kind == "tiered":
            set_(self, "tiers", _tiers(where, self.tiers))
        if self.kind == "at_risk":
            if self.value is None or self.share is None:
                raise bad("value", "an at_risk component needs the contract value and the "
                          "share at risk, e.g. value = 1000000.00, share = 0.10")
            if not 0 <= self.share <= 1:
                raise bad("share", f"must lie in [0, 1], got {self.share}")
            if self.trigger == "none":
                raise bad("trigger", "an at_risk component needs a trigger (the target)")
        if self.kind == "fee":
            if self.amount is None:
                raise bad("amount", "a fee needs the amount per period, e.g. amount = 50000.00")
            if isinstance(self.periods, bool) or not isinstance(self.periods, int) \
                    or not 1 <= self.periods <= 10_000:
                raise bad("periods", f"must be an integer from 1 to 10000, got {self.periods!r}")
            if (self.band_low is None) != (self.band_high is None) or (
                    self.band_low is not None and self.band_price is None):
                raise bad("band_low", "a volume band needs band_low, band_high and band_price")
            for name in ("band_low", "band_high"):
                value = getattr(self, name)
                if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                          or not 0 <= value <= 10**9):
                    raise bad(name, f"a number of offenders (an integer >= 0), got {value!r}")
            if self.band_low is not None and self.band_high is not None \
                    and self.band_low > self.band_high:
                raise bad("band_high", f"{self.band_high} is below {where}.band_low "
                          f"({self.band_low}); give band_low <= band_high")
        if self.cap is not None and self.floor is not None and self.floor > self.cap:
            raise bad("floor", f"{self.floor} exceeds {where}.cap ({self.cap}): no amount "
                      "lies within both; lower the floor or raise the cap")
        if self.hurdle == self.name:
            raise bad("hurdle", "a component cannot be its own hurdle")

    @property
    def subgroup_label(self) -> str | None:
        """The subgroup as one label (``"sex=F"``; values joined by ``|``, attributes by
        ``;``), the ``subgroup`` of the outcomes the component pays on; None for all.

        Examples
        --------
        >>> Component("w", "linear", measure="binary_rate", basis="points", price=1,
        ...           subgroup={"sex": ["F"]}).subgroup_label
        'sex=F'
        """
        if not self.subgroup:
            return None
        return ";".join(f"{a}={'|'.join(v)}" for a, v in self.subgroup)

    def replace(self, **changes: Any) -> Component:
        """A copy with some fields changed (validated again)."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ContractError(f"component {self.name!r}: unknown field(s) "
                                f"{', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain TOML values, defaults left out."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value == f.default and f.name not in ("name", "kind"):
                continue
            if f.name == "tiers" or f.name == "exclusive":
                value = [list(t) for t in value]
            elif f.name in ("prices", "outcome_caps"):
                value = dict(value)
            elif f.name == "subgroup":
                value = {k: list(v) for k, v in value}
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Component:
        known = {f.name for f in fields(cls)}
        label = data.get("name", "?")
        unknown = sorted(set(data) - known)
        if unknown:
            raise ContractError(f"component {label!r}: unknown field(s) {', '.join(unknown)}; "
                                f"known: {', '.join(sorted(known))}")
        for required in ("name", "kind"):
            if required not in data:
                raise ContractError(f"component {label!r}.{required}: missing; every "
                                    "[[component]] needs a name and a kind")
        return cls(**data)


def _rate_card(c: Component, bad: Any) -> None:
    """Validate and normalise a rate card's fields (outcome types as pbr compares them)."""
    from pbr.schema import normalise_term

    set_ = object.__setattr__
    where = f"component {c.name!r}"
    prices: list[tuple[str, Decimal]] = []
    for item in c.prices:
        try:
            kind, price = item
        except (TypeError, ValueError):
            raise bad("prices", f"each price is outcome type = amount, got {item!r}") from None
        if not isinstance(kind, str) or not kind.strip():
            raise bad("prices", f"outcome type {kind!r}: give the outcome type as text")
        value = as_decimal(f"{where}.prices.{kind}", price)
        if value < 0:
            raise bad("prices", f"{kind} = {value} is negative; a rate card pays a positive "
                      "price per outcome")
        prices.append((normalise_term(kind), value))
    if not prices:
        raise bad("prices", "a rate card needs a price per outcome type, e.g. prices = "
                  "{employment_13w = 1500.00, accommodation_13w = 1000.00}")
    names = [k for k, _ in prices]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise bad("prices", f"outcome types repeat: {twice}")
    set_(c, "prices", tuple(prices))
    caps: list[tuple[str, int]] = []
    for cap_item in c.outcome_caps:
        try:
            kind, most = cap_item
        except (TypeError, ValueError):
            raise bad("outcome_caps", f"each cap is outcome type = number of claims, got "
                      f"{cap_item!r}") from None
        kind = normalise_term(str(kind))
        if kind not in names:
            raise bad("outcome_caps", f"{kind!r} has no price in {where}.prices "
                      f"({', '.join(names)}); cap an outcome the rate card pays")
        if isinstance(most, bool) or not isinstance(most, int) or most < 0:
            raise bad("outcome_caps", f"{kind} = {most!r}: the most claims paid, a whole number "
                      ">= 0")
        caps.append((kind, most))
    set_(c, "outcome_caps", tuple(caps))
    groups: list[tuple[str, ...]] = []
    for group in c.exclusive:
        if isinstance(group, str) or not isinstance(group, list | tuple):
            raise bad("exclusive", f"each group is a list of outcome types, e.g. exclusive = "
                      f'[["employment_13w", "qualification"]], got {group!r}')
        g = tuple(normalise_term(str(k)) for k in group)
        if len(set(g)) < 2:
            raise bad("exclusive", f"group {list(g)} names fewer than two outcome types; "
                      "list the outcomes that exclude each other")
        missing = [k for k in g if k not in names]
        if missing:
            raise bad("exclusive", f"{missing} have no price in {where}.prices "
                      f"({', '.join(names)})")
        groups.append(g)
    set_(c, "exclusive", tuple(groups))
    if c.ring_fenced is not None and c.cap is not None and c.cap > c.ring_fenced:
        raise bad("cap", f"{c.cap} exceeds {where}.ring_fenced ({c.ring_fenced}): the "
                  "ring-fenced amount is the most the component pays; drop the cap or lower it")


def _subgroup(c: Component, bad: Any) -> None:
    """Normalise ``subgroup`` (attribute -> accepted values as text)."""
    set_ = object.__setattr__
    sub: list[tuple[str, tuple[str, ...]]] = []
    for sub_item in c.subgroup:
        try:
            attr, values = sub_item
        except (TypeError, ValueError):
            raise bad("subgroup", f"each entry is attribute = [values], got {sub_item!r}"
                      ) from None
        vals: tuple[Any, ...] = (values,) if isinstance(values, str) else tuple(values)
        if not vals or not all(isinstance(v, str) and v for v in vals):
            raise bad("subgroup", f"{attr} = {values!r}: give the accepted values as text, e.g. "
                      'subgroup = {sex = ["female"]}')
        sub.append((str(attr), tuple(vals)))
    set_(c, "subgroup", tuple(sub))
    attrs = [a for a, _ in sub]
    if len(set(attrs)) != len(attrs):
        twice = sorted({a for a in attrs if attrs.count(a) > 1})
        raise bad("subgroup", f"attribute(s) repeat: {twice}")


def _tiers(where: str, value: Any) -> tuple[tuple[Decimal, Decimal], ...]:
    out: list[tuple[Decimal, Decimal]] = []
    for item in value:
        try:
            at, amount = item
        except (TypeError, ValueError):
            raise ContractError(f"{where}.tiers: each tier is [reduction percent, amount], "
                                f"got {item!r}") from None
        out.append((as_decimal(f"{where}.tiers", at), as_decimal(f"{where}.tiers", amount)))
    if not out:
        raise ContractError(f"{where}.tiers: give at least one tier, e.g. tiers = [[8.5, 100]]")
    for at, amount in out:
        if not 0 <= at <= 100:
            raise ContractError(f"{where}.tiers: reduction {at} is outside 0 to 100 (percent "
                                "relative reduction), e.g. [8.5, 4800000]")
        if amount < 0:
            raise ContractError(f"{where}.tiers: the amount at {at}% is negative ({amount}); "
                                "a tier pays a positive amount")
    for (a, x), (b, y) in itertools.pairwise(out):
        if not b > a:
            raise ContractError(f"{where}.tiers: reductions must increase, got {a} then {b}")
        if y < x:
            raise ContractError(f"{where}.tiers: amounts must not fall as the reduction rises, "
                                f"got {x} at {a}% then {y} at {b}%; a better outcome never "
                                "pays less")
    return tuple(out)
