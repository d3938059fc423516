"""The contract: a versioned TOML schema for a payment-by-results contract.

A :class:`Contract` holds the parties and currency, the cohort periods, the measure
(a preset plus overrides), the comparator, the payment components, limits (caps and
floors per cohort, per year and over the contract), payments on account, contract
variations with effective dates and the rounding rule.  It is frozen, validated on
construction (:class:`~pbr.errors.ContractError` names the field and the fix) and
round-trips through TOML read with ``parse_float=Decimal``, so money is never a float.
Every rule and its source: docs/methodology/payments.md.
"""

from __future__ import annotations

import datetime as _dt
import tomllib
from dataclasses import dataclass, field, fields
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from importlib import resources
from typing import Any

import tomli_w

from pbr.contract.checks import check_contract
from pbr.contract.comparator import Comparator
from pbr.contract.components import Component
from pbr.contract.outcome import as_decimal
from pbr.errors import ContractError, PeriodError, SpecError
from pbr.outcomes.definitions import STANDARD, OutcomeDefinition, definitions
from pbr.period import Period
from pbr.spec import MeasureSpec, parse_date, preset

__all__ = ["SCHEMA_VERSION", "CohortPeriod", "Contract", "Rounding", "Variation",
           "demo_contract_text", "read_contract_text"]

SCHEMA_VERSION = 1
ROUNDING_MODES = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN}


def _date(name: str, value: Any) -> _dt.date:
    try:  # a contract's dates are days: a datetime is refused
        return parse_date(value, datetimes=False)
    except ValueError:
        raise ContractError(f"{name}: expected a date such as 2017-08-01, got {value!r}") from None


@dataclass(frozen=True)
class CohortPeriod:
    """A cohort label with its first day and contract year (for variations and caps)."""

    name: str
    start: _dt.date | None = None
    year: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", str(self.name))
        if self.start is not None:
            object.__setattr__(self, "start", _date(f"cohorts.period {self.name!r}.start",
                                                    self.start))


@dataclass(frozen=True)
class Rounding:
    """Decimal rounding: ``mode`` half_up or half_even, ``places``, ``point`` line or total."""

    mode: str = "half_up"
    places: int = 2
    point: str = "line"

    def __post_init__(self) -> None:
        if self.mode not in ROUNDING_MODES:
            raise ContractError(f"rounding.mode: must be 'half_up' or 'half_even', "
                                f"got {self.mode!r}")
        if not isinstance(self.places, int) or not 0 <= self.places <= 6:
            raise ContractError(f"rounding.places: an integer from 0 to 6, got {self.places!r}")
        if self.point not in ("line", "total"):
            raise ContractError(f"rounding.point: 'line' (round each line) or 'total' (round "
                                f"the total only), got {self.point!r}")

    @property
    def quantum(self) -> Decimal:
        return Decimal(1).scaleb(-self.places)

    def round(self, amount: Decimal, rounding: str | None = None) -> Decimal:
        """Quantise ``amount`` with this rule (or an explicit decimal rounding constant)."""
        return amount.quantize(self.quantum, rounding=rounding or ROUNDING_MODES[self.mode])


@dataclass(frozen=True)
class Variation:
    """Component fields changed for cohorts starting on or after ``effective``."""

    effective: _dt.date
    component: str
    set: tuple[tuple[str, Any], ...]
    note: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "effective", _date("variation.effective", self.effective))
        if isinstance(self.set, dict):
            object.__setattr__(self, "set", tuple(sorted(
                (k, tuple(tuple(x) if isinstance(x, list) else x for x in v)
                 if isinstance(v, list) else tuple(sorted(v.items()))
                 if isinstance(v, dict) else v) for k, v in self.set.items())))
        if not self.set:
            raise ContractError(f"variation {self.effective}.set: give the fields changed, "
                                "e.g. set = {price = 0} or set = {active = false}")


@dataclass(frozen=True)
class Contract:
    """A payment-by-results contract (schema version 1).

    Build one from TOML with :meth:`from_toml` (or :func:`pbr.io.read_contract`).

    ``rate_unit`` (``[contract] rate_unit``) declares the unit of every rate field:
    comparator values and absolute thresholds of ``binary_rate`` and ``serious_rate``,
    and ``baseline_risk``; ``"percent"`` (28.0 for 28%) is the only unit, and a binary
    rate at or below 1 is refused as a proportion written by mistake.  ``provisional``
    (``[contract] provisional = true``) allows :func:`~pbr.contract.run.run_contract` to
    pay on follow-up windows that have not closed by the data extract date; the lines
    are then marked provisional.  ``reporting_lag`` (``[contract] reporting_lag = "3
    months"``) is the time from the end of a cohort's waiting period to its payment, and
    ``period_length`` (``[cohorts] length = "3 months"``) each cohort period's length
    (otherwise the gap between listed starts): both optional, read by
    :mod:`pbr.simulate.cashflow` for when payments fall due.  Contradictory or
    incomplete terms raise :class:`~pbr.errors.ContractError` naming every field involved
    (:mod:`pbr.contract.checks`).

    Examples
    --------
    >>> text = '''
    ... [contract]
    ... schema = 1
    ... name = "Doncaster"
    ... currency = "GBP"
    ... [comparator]
    ... values = {binary_rate = 58.0}
    ... [[component]]
    ... name = "at risk"
    ... kind = "at_risk"
    ... measure = "binary_rate"
    ... trigger = "absolute"
    ... threshold = 5
    ... value = 1000000.00
    ... share = 0.10
    ... '''
    >>> c = Contract.from_toml(text)
    >>> c.components[0].share
    Decimal('0.10')
    >>> Contract.from_toml(c.to_toml()) == c
    True
    """

    name: str
    currency: str = "GBP"
    parties: tuple[tuple[str, str], ...] = ()
    version: str = "1"
    cohort_column: str = "cohort_period"
    periods: tuple[CohortPeriod, ...] = ()
    measure_preset: str = "moj_national_2017"
    measure_overrides: tuple[tuple[str, Any], ...] = ()
    comparator: Comparator | None = None
    components: tuple[Component, ...] = ()
    limits: tuple[tuple[str, Decimal], ...] = ()
    on_account: tuple[tuple[str, Decimal], ...] = ()
    variations: tuple[Variation, ...] = ()
    rounding: Rounding = field(default_factory=Rounding)
    source: str = ""
    rate_unit: str = "percent"
    provisional: bool = False
    outcome_definitions: tuple[OutcomeDefinition, ...] = ()
    reporting_lag: Period | None = None
    period_length: Period | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for name, key in (("reporting_lag", "contract.reporting_lag"),
                          ("period_length", "cohorts.length")):
            value = getattr(self, name)
            if value is not None:  # timing of payments (pbr.simulate.cashflow)
                try:
                    set_(self, name, Period.parse(value))
                except (PeriodError, TypeError, AttributeError):
                    raise ContractError(f"{key}: a period such as '3 months' or '90 days', "
                                        f"got {value!r}") from None
                if name == "period_length" and getattr(self, name).n == 0:
                    raise ContractError("cohorts.length: a cohort period is longer than zero, "
                                        "e.g. '3 months'")
        if not isinstance(self.name, str) or not self.name:
            raise ContractError("contract.name: give the contract a name")
        if not (isinstance(self.currency, str) and len(self.currency) == 3
                and self.currency.isupper()):
            raise ContractError(f"contract.currency: an ISO 4217 code such as 'GBP', "
                                f"got {self.currency!r}")
        for name in ("parties", "measure_overrides"):
            if isinstance(getattr(self, name), dict):
                set_(self, name, tuple(sorted(
                    (k, tuple(v) if isinstance(v, list) else v)
                    for k, v in getattr(self, name).items())))
        if isinstance(self.limits, dict):
            set_(self, "limits", tuple(sorted(
                (k, as_decimal(f"limits.{k}", v)) for k, v in self.limits.items())))
        for key, _ in self.limits:
            if key not in LIMITS:
                raise ContractError(f"limits.{key}: unknown limit; use {', '.join(LIMITS)}")
        paid = self.on_account.items() if isinstance(self.on_account, dict) else self.on_account
        set_(self, "on_account", tuple(
            (str(c), as_decimal(f"on_account {c!r}.amount", a)) for c, a in paid))
        for cohort, amount in self.on_account:
            if amount != self.rounding.round(amount):
                raise ContractError(f"on_account {cohort!r}.amount: {amount} has more than "
                                    f"{self.rounding.places} decimal places (rounding.places)")
        names = [c.name for c in self.components]
        if not names:
            raise ContractError("component: a contract needs at least one [[component]]")
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ContractError(f"component.name: names must be unique, {dupes} repeat")
        for c in self.components:
            if c.hurdle is not None and c.hurdle not in names:
                raise ContractError(f"component {c.name!r}.hurdle: no component named "
                                    f"{c.hurdle!r}; use one of {names}")
            if c.hurdle is not None and self.components[names.index(c.hurdle)].kind \
                    == "rate_card":
                raise ContractError(f"component {c.name!r}.hurdle: {c.hurdle!r} is a rate "
                                    "card, paid per outcome claim, with no trigger to meet "
                                    "per cohort; make the hurdle a linear, tiered or at_risk "
                                    "component")
            if c.hurdle is not None and names.index(c.hurdle) > names.index(c.name):
                raise ContractError(f"component {c.name!r}.hurdle: list {c.hurdle!r} before "
                                    f"{c.name!r} (hurdles are evaluated in order)")
        if isinstance(self.outcome_definitions, dict):
            set_(self, "outcome_definitions", tuple(self.outcome_definitions.values()))
        try:
            defined = self.outcome_types()
        except SpecError as exc:
            raise ContractError(f"outcome: {exc}") from None
        for c in self.components:
            if c.kind != "rate_card":
                continue
            undefined = [k for k, _ in c.prices if k not in defined]
            if undefined:
                raise ContractError(
                    f"component {c.name!r}.prices: {undefined} are not defined outcome types "
                    f"(defined: {', '.join(defined)}); correct the name, or define the "
                    "outcome in an [[outcome]] table (name, title, evidence, "
                    "sustained_weeks, window_days, requires)")
            money = [(f"prices.{k}", v) for k, v in c.prices] + [
                (k, getattr(c, k)) for k in ("participant_cap", "cap", "ring_fenced")
                if getattr(c, k) is not None]
            for key, amount in money:
                if amount != self.rounding.round(amount):
                    raise ContractError(
                        f"component {c.name!r}.{key}: {amount} has more than "
                        f"{self.rounding.places} decimal places (rounding.places); a rate "
                        "card's prices and caps are amounts of money, so that a capped line "
                        "never rounds above its cap")
        for v in self.variations:
            if v.component not in names:
                raise ContractError(f"variation {v.effective}.component: no component named "
                                    f"{v.component!r}; use one of {names}")
            self.components[names.index(v.component)].replace(**dict(v.set))
        labels = [p.name for p in self.periods]
        if len(set(labels)) != len(labels):
            raise ContractError("cohorts.period: cohort names must be unique")
        try:
            preset(self.measure_preset, **dict(self.measure_overrides))
        except SpecError as exc:
            raise ContractError(f"measure: {exc}") from None
        check_contract(self)

    # ------------------------------------------------------------------ derived
    def outcome_types(self) -> dict[str, OutcomeDefinition]:
        """The outcome definitions the contract's rate cards pay on: pbr's standard ones
        (:data:`pbr.outcomes.STANDARD`) with the contract's ``[[outcome]]`` tables added
        (or replacing a standard one of the same name).

        Examples
        --------
        >>> sorted(Contract("x", components=(Component("c", "rate_card", prices={
        ...     "employment_13w": 1}),)).outcome_types())[:2]
        ['accommodation_13w', 'employment_13w']
        """
        merged = {**STANDARD, **{d.name: d for d in self.outcome_definitions}}
        return definitions(merged)

    @property
    def measure_spec(self) -> MeasureSpec:
        """The measure: the preset with the contract's overrides."""
        return preset(self.measure_preset, **dict(self.measure_overrides))

    def period(self, cohort: str) -> CohortPeriod:
        """The cohort's period record (a bare one when the contract does not list it)."""
        for p in self.periods:
            if p.name == cohort:
                return p
        return CohortPeriod(cohort)

    def terms(self, start: _dt.date | None) -> tuple[tuple[Component, tuple[Variation, ...]], ...]:
        """Components in force for a cohort starting on ``start``, with the variations applied."""
        out = []
        for c in self.components:
            applied = tuple(v for v in sorted(self.variations, key=lambda v: v.effective)
                            if v.component == c.name and start is not None
                            and start >= v.effective)
            for v in applied:
                c = c.replace(**dict(v.set))
            out.append((c, applied))
        return tuple(out)

    # ------------------------------------------------------------------ TOML
    def to_dict(self) -> dict[str, Any]:
        """Plain TOML values in the schema's layout."""
        head: dict[str, Any] = {"schema": SCHEMA_VERSION, "name": self.name,
                                "version": self.version, "currency": self.currency}
        if self.parties:
            head["parties"] = dict(self.parties)
        if self.source:
            head["source"] = self.source
        head["rate_unit"] = self.rate_unit
        if self.provisional:
            head["provisional"] = True
        if self.reporting_lag is not None:
            head["reporting_lag"] = str(self.reporting_lag)
        cohorts: dict[str, Any] = {"column": self.cohort_column}
        if self.period_length is not None:
            cohorts["length"] = str(self.period_length)
        if self.periods:
            cohorts["period"] = [{k: v for k, v in (("name", p.name), ("start", p.start),
                                                    ("year", p.year)) if v is not None}
                                 for p in self.periods]
        measure: dict[str, Any] = {"preset": self.measure_preset}
        if self.measure_overrides:
            measure["overrides"] = dict(self.measure_overrides)
        comp: dict[str, Any] = {}
        for f in fields(Comparator) if self.comparator is not None else ():
            value = getattr(self.comparator, f.name)
            if value == f.default and f.name != "kind":
                continue
            if f.name == "values":
                value = dict(value)
            elif f.name == "match":
                value = value.to_dict()
            elif f.name == "cohort_values":
                f_name, value = "cohorts", {c: dict(v) for c, v in value}
                comp[f_name] = value
                continue
            comp[f.name] = value
        out: dict[str, Any] = {"contract": head, "cohorts": cohorts, "measure": measure,
                               **({"comparator": comp} if comp else {}),
                               "component": [c.to_dict() for c in self.components],
                               "rounding": {"mode": self.rounding.mode,
                                            "places": self.rounding.places,
                                            "point": self.rounding.point}}
        if self.limits:
            out["limits"] = dict(self.limits)
        if self.on_account:
            out["on_account"] = dict(self.on_account)
        if self.variations:
            out["variation"] = [{"effective": v.effective, "component": v.component,
                                 "set": dict(v.set), **({"note": v.note} if v.note else {})}
                                for v in self.variations]
        if self.outcome_definitions:
            out["outcome"] = [d.to_dict() for d in self.outcome_definitions]
        return out

    def to_toml(self) -> str:
        """The contract as TOML text (reads back equal with :meth:`from_toml`)."""
        return tomli_w.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Contract:
        """Build from the schema's tables; unknown tables or keys raise ContractError."""
        return _from_dict(cls, data)

    @classmethod
    def from_toml(cls, text: str) -> Contract:
        """Read contract TOML text (numbers as Decimal, never float)."""
        return cls.from_dict(read_contract_text(text))

    def __str__(self) -> str:
        lines = [f"Contract {self.name!r} (version {self.version}, {self.currency}; "
                 f"schema {SCHEMA_VERSION}; rates in {self.rate_unit}"
                 + ("; provisional lines allowed" if self.provisional else "") + ")"]
        lines += [f"  {role:<12} {who}" for role, who in self.parties]
        lines.append(f"  measure      {self.measure_preset}"
                     + (f" with {dict(self.measure_overrides)}" if self.measure_overrides else ""))
        if self.comparator is not None:
            comp = self.comparator
            lines.append(f"  comparator   {comp.kind} {dict(comp.values)}"
                         + (f"; match {comp.match.name!r} on {', '.join(comp.match.covariates)}"
                            if comp.match is not None else "")
                         + ("; supplied at run: " + ", ".join(_SHOWN[m] for m in comp.missing())
                            if comp.supplied_at_run else ""))
        for c in self.components:
            lines.append(f"  component    {c.name}: {c.kind}"
                         + (f" on {c.measure}" if c.measure else "")
                         + (f", trigger {c.trigger}" if c.trigger != "none" else "")
                         + (f" {c.threshold}" if c.threshold is not None else "")
                         + ("; " + ", ".join(f"{k} {v}" for k, v in c.prices)
                            if c.prices else "")
                         + (" for " + ", ".join(f"{a} in {list(v)}" for a, v in c.subgroup)
                            if c.subgroup else "")
                         + (f"; ring-fenced {c.ring_fenced}" if c.ring_fenced is not None
                            else ""))
        lines += [f"  outcome      {d.name}: {d.title}"
                  + (f", sustained {d.sustained_weeks} weeks" if d.sustained_weeks else "")
                  + (f", within {d.window_days} days" if d.window_days is not None else "")
                  + (f", after {', '.join(d.requires)}" if d.requires else "")
                  for d in self.outcome_definitions]
        lines += [f"  limit        {k} {v}" for k, v in self.limits]
        lines += [f"  variation    from {v.effective}: {v.component} {dict(v.set)}"
                  for v in self.variations]
        lines.append(f"  rounding     {self.rounding.mode} to {self.rounding.places} places "
                     f"per {self.rounding.point}")
        return "\n".join(lines)


#: the comparator's pieces as ``str(contract)`` names them
_SHOWN = {"values": "baseline values", "baseline_risk": "baseline risk",
          "risk_column": "risk per offender", "group_column": "comparison group"}
#: contract-level limits: caps (maximum) and floors (minimum) of outcome payments
LIMITS = ("cohort_cap", "cohort_floor", "year_cap", "year_floor", "total_cap", "total_floor")

_TABLES = {"outcome", "contract", "cohorts", "measure", "comparator", "component", "limits",
           "on_account", "variation", "rounding"}


def read_contract_text(text: str) -> dict[str, Any]:
    """Parse contract TOML with ``parse_float=Decimal`` (errors as ContractError)."""
    try:
        return tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise ContractError(f"cannot read the contract TOML: {exc}") from None


def demo_contract_text() -> str:
    """The TOML text of the contract ``pbr demo`` runs on the synthetic data (seed 2024).

    Examples
    --------
    >>> Contract.from_toml(demo_contract_text()).cohort_column
    'cohort_period'
    """
    return (resources.files("pbr") / "contract" / "demo.toml").read_text(encoding="utf-8")


def _keys(table: str, data: Any, known: set[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ContractError(f"{table}: expected a table, got {data!r}")
    unknown = sorted(set(data) - known)
    if unknown:
        raise ContractError(f"{table}: unknown key(s) {', '.join(unknown)}; "
                            f"known: {', '.join(sorted(known))}")
    return data


def _outcome(data: Any) -> OutcomeDefinition:
    """An ``[[outcome]]`` table as an :class:`~pbr.outcomes.OutcomeDefinition`."""
    known = {"name", "title", "evidence", "sustained_weeks", "window_days", "requires",
             "measure", "source"}
    table = _keys("outcome", data, known)
    for key in ("name", "title", "evidence"):
        if key not in table:
            raise ContractError(f"outcome {table.get('name', '?')!r}.{key}: missing; an "
                                "[[outcome]] needs name, title and evidence")
    try:
        args: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                                for k, v in table.items()}
        return OutcomeDefinition(**args)
    except SpecError as exc:
        raise ContractError(str(exc)) from None


def _from_dict(cls: type[Contract], data: dict[str, Any]) -> Contract:
    _keys("(top level)", data, _TABLES)
    head = _keys("contract", data.get("contract", {}),
                 {"schema", "name", "version", "currency", "parties", "source", "rate_unit",
                  "provisional", "reporting_lag"})
    schema = head.get("schema", SCHEMA_VERSION)
    if schema != SCHEMA_VERSION:
        raise ContractError(f"contract.schema: this pbr reads schema {SCHEMA_VERSION}, "
                            f"got {schema!r}")
    if "name" not in head:
        raise ContractError("contract.name: missing; add name = \"...\" under [contract]")
    cohorts = _keys("cohorts", data.get("cohorts", {}), {"column", "period", "length"})
    periods = tuple(CohortPeriod(**_keys("cohorts.period", p, {"name", "start", "year"}))
                    for p in cohorts.get("period", []))
    measure = _keys("measure", data.get("measure", {}), {"preset", "overrides"})
    comp = dict(_keys("comparator", data.get("comparator", {}),
                      {f.name for f in fields(Comparator)} - {"cohort_values"} | {"cohorts"}))
    if "cohorts" in comp:
        comp["cohort_values"] = comp.pop("cohorts")
    rounding = _keys("rounding", data.get("rounding", {}), {"mode", "places", "point"})
    on_account = data.get("on_account", {})
    if not isinstance(on_account, dict):
        raise ContractError("on_account: a table of cohort = amount paid on account, e.g. "
                            "[on_account] \"2019Q1\" = 10000.00")
    variations = tuple(Variation(**_keys("variation", v, {"effective", "component", "set",
                                                           "note"}))
                       for v in data.get("variation", []))
    return cls(
        name=head["name"], currency=head.get("currency", "GBP"),
        parties=head.get("parties", {}), version=str(head.get("version", "1")),
        source=head.get("source", ""), rate_unit=head.get("rate_unit", "percent"),
        provisional=head.get("provisional", False),
        reporting_lag=head.get("reporting_lag"), period_length=cohorts.get("length"),
        cohort_column=cohorts.get("column", "cohort_period"), periods=periods,
        measure_preset=measure.get("preset", "moj_national_2017"),
        measure_overrides=measure.get("overrides", {}),
        comparator=Comparator(**comp) if comp else None,
        components=tuple(Component.from_dict(dict(c)) for c in data.get("component", [])),
        limits=data.get("limits", {}), on_account=tuple(on_account.items()),
        variations=variations,
        rounding=Rounding(**rounding),
        outcome_definitions=tuple(_outcome(d) for d in data.get("outcome", [])))
