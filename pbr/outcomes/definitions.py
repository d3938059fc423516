"""Outcome definitions: what an intermediate outcome is and the evidence it needs.

An :class:`OutcomeDefinition` names one outcome type a rate card can pay for (a job
sustained 13 weeks, accommodation sustained 13 weeks, treatment completed), the evidence
types accepted for it, how long it must be sustained, its validity window relative to
the participant's start, and its prerequisites (a 26-week job outcome needs the 13-week
one).  :data:`STANDARD` holds pbr's definitions; a programme can give its own.  Sources
and the evidence for each rule: docs/methodology/outcomes.md.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pbr.errors import SpecError
from pbr.schema import normalise_term

__all__ = ["EVIDENCE_TYPES", "STANDARD", "OutcomeDefinition", "definitions"]

#: every evidence type pbr reads (vocabulary of the ``evidence_type`` column): each
#: definition accepts some of them
EVIDENCE_TYPES: dict[str, str] = {
    "payslip": "payslips covering the period",
    "employer_letter": "a letter from the employer confirming the dates worked",
    "hmrc_rti": "HMRC Real Time Information earnings record",
    "tenancy_agreement": "a tenancy or licence agreement covering the period",
    "landlord_letter": "a letter from the landlord or housing provider confirming occupation",
    "housing_benefit_record": "housing benefit / universal credit housing costs record",
    "treatment_record": "the treatment provider's record of a completed programme",
    "certificate": "an awarding body's certificate",
    "self_declaration": "the participant's own statement (accepted for no outcome pbr defines)",
    "other": "any other evidence (accepted only where a definition lists it)",
}


@dataclass(frozen=True)
class OutcomeDefinition:
    """One outcome type with its evidence rules.

    Parameters
    ----------
    name
        The outcome type as it appears in the events table (``"employment_13w"``).
    title
        What it is, in words.
    evidence
        The evidence types accepted (keys of :data:`EVIDENCE_TYPES`).
    sustained_weeks
        How long the outcome must have lasted when it is achieved: the date achieved is
        the end of the sustained period, so it cannot fall less than this many weeks
        after the participant's start (0: a single event, e.g. treatment completed).
    window_days
        The latest day after the participant's start on which the outcome counts (None:
        no limit).  The earliest is the start plus ``sustained_weeks``.
    requires
        Outcome types the participant must have achieved (validly, on or before this
        outcome's date) first.
    measure
        The registry measure it feeds (``"employment_rate"``), if any.
    source
        Where the rule comes from (keys of docs/sources.md).

    Examples
    --------
    >>> d = STANDARD["employment_26w"]
    >>> d.requires, d.sustained_weeks
    (('employment_13w',), 26)
    >>> d.earliest(_dt.date(2020, 1, 1))
    datetime.date(2020, 7, 1)
    """

    name: str
    title: str
    evidence: tuple[str, ...]
    sustained_weeks: int = 0
    window_days: int | None = None
    requires: tuple[str, ...] = ()
    measure: str | None = None
    source: str = ""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        where = f"outcome definition {self.name!r}"
        if not isinstance(self.name, str) or not self.name.strip():
            raise SpecError("outcome definition.name: give each outcome type a non-empty name")
        set_(self, "name", normalise_term(self.name))
        if isinstance(self.evidence, str):
            set_(self, "evidence", (self.evidence,))
        set_(self, "evidence", tuple(normalise_term(str(e)) for e in self.evidence))
        if not self.evidence:
            raise SpecError(f"{where}.evidence: list the evidence types accepted, e.g. "
                            "evidence = [\"payslip\", \"hmrc_rti\"]")
        unknown = [e for e in self.evidence if e not in EVIDENCE_TYPES]
        if unknown:
            raise SpecError(f"{where}.evidence: unknown evidence type(s) {unknown}; one of "
                            f"{', '.join(EVIDENCE_TYPES)}")
        for name in ("sustained_weeks", "window_days"):
            value = getattr(self, name)
            if value is None and name == "window_days":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 5200:
                raise SpecError(f"{where}.{name}: a whole number from 0 to 5200, got {value!r}")
        if self.window_days is not None and self.window_days < 7 * self.sustained_weeks:
            raise SpecError(f"{where}.window_days: {self.window_days} days is shorter than "
                            f"the {self.sustained_weeks} weeks the outcome must be sustained, "
                            "so it could never be achieved; lengthen the window")
        if isinstance(self.requires, str):
            set_(self, "requires", (self.requires,))
        set_(self, "requires", tuple(normalise_term(str(r)) for r in self.requires))
        if self.name in self.requires:
            raise SpecError(f"{where}.requires: an outcome cannot require itself")

    def earliest(self, start: _dt.date) -> _dt.date:
        """The first day the outcome can be achieved by someone starting on ``start``."""
        return start + _dt.timedelta(weeks=self.sustained_weeks)

    def latest(self, start: _dt.date) -> _dt.date | None:
        """The last day it counts (None: no limit)."""
        return None if self.window_days is None else start + _dt.timedelta(days=self.window_days)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (for provenance and TOML)."""
        out: dict[str, Any] = {"name": self.name, "title": self.title,
                               "evidence": list(self.evidence),
                               "sustained_weeks": self.sustained_weeks}
        if self.window_days is not None:
            out["window_days"] = self.window_days
        if self.requires:
            out["requires"] = list(self.requires)
        if self.measure:
            out["measure"] = self.measure
        if self.source:
            out["source"] = self.source
        return out


_EMPLOYMENT = ("payslip", "employer_letter", "hmrc_rti")
_HOUSING = ("tenancy_agreement", "landlord_letter", "housing_benefit_record")

#: pbr's standard outcome definitions (docs/methodology/outcomes.md gives each rule's
#: source; the windows are pbr's defaults [I], to be set per programme)
STANDARD: dict[str, OutcomeDefinition] = {d.name: d for d in (
    OutcomeDefinition("accommodation_13w", "accommodation sustained 13 weeks", _HOUSING,
                      sustained_weeks=13, window_days=365, measure="accommodation_rate",
                      source="[DCLG-FairChance-2014] [R]"),
    OutcomeDefinition("employment_13w", "employment sustained 13 weeks", _EMPLOYMENT,
                      sustained_weeks=13, window_days=638, measure="employment_rate",
                      source="[HoC-WorkProgramme-2013] [V2]; [DWP-WHP-Funding] [V2]"),
    OutcomeDefinition("employment_26w", "employment sustained 26 weeks", _EMPLOYMENT,
                      sustained_weeks=26, window_days=820, requires=("employment_13w",),
                      source="[HoC-WorkProgramme-2013] [V2]; [DWP-InnovationFund-2012] [R]"),
    OutcomeDefinition("treatment_completed", "drug, alcohol or mental-health treatment "
                      "programme completed", ("treatment_record",), window_days=365,
                      measure="treatment_rate", source="[GOLab-RateCards] [R]"),
    OutcomeDefinition("qualification", "first accredited qualification (entry level or "
                      "above)", ("certificate",), window_days=730,
                      source="[DWP-InnovationFund-2012] [R]; [CO-YEF-2014] [R]"),
)}


def definitions(given: Mapping[str, OutcomeDefinition] | Iterable[OutcomeDefinition]
                | None = None) -> dict[str, OutcomeDefinition]:
    """The definitions a programme uses (:data:`STANDARD` when none are given), checked:
    names unique, prerequisites defined, no circular prerequisites.

    Examples
    --------
    >>> sorted(definitions())[:2]
    ['accommodation_13w', 'employment_13w']
    """
    if given is None:
        items = list(STANDARD.values())
    elif isinstance(given, Mapping):
        items = list(given.values())
    else:
        items = list(given)
    for d in items:
        if not isinstance(d, OutcomeDefinition):
            raise SpecError(f"definitions: expected OutcomeDefinition objects, got {d!r}")
    names = [d.name for d in items]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SpecError(f"definitions: outcome types must be unique, {dupes} repeat")
    out = {d.name: d for d in items}
    for d in items:
        missing = [r for r in d.requires if r not in out]
        if missing:
            raise SpecError(f"outcome definition {d.name!r}.requires: {missing} not defined; "
                            f"define them or remove the prerequisite (defined: "
                            f"{', '.join(out)})")

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise SpecError("definitions: circular prerequisites "
                            + " -> ".join((*path, name)))
        for r in out[name].requires:
            visit(r, (*path, name))

    for n in out:
        visit(n, ())
    return out
