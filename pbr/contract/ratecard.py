"""Rate cards: a price per valid outcome claim, per participant, with caps.

:func:`rate_card_drafts` turns an :class:`~pbr.outcomes.OutcomeAssessment` (each claimed
outcome checked against its evidence rules) into one statement line per claim and
rate-card component, in the assessment's order (date achieved, participant, outcome type,
evidence; :func:`pbr.outcomes.assess`):

R1  the claim goes to the first active ``rate_card`` component, in contract order, that
    prices its outcome type and whose ``subgroup`` the participant belongs to (the
    component in force for the participant's start date: variations apply to
    participants starting on or after their effective date); a claim no component takes
    is counted in the statement's notes, never paid;
R2  a claim that is not valid (rules O1-O10 of :mod:`pbr.outcomes.assessment`) is an
    unpaid line with the reason;
R3  ``exclusive``: a participant already paid for an outcome of the same group is not
    paid again (the first achieved is paid);
R4  ``outcome_caps``: once the component has paid that many claims of the type, later
    claims are unpaid;
R5  ``participant_cap``: the price is cut to what the participant's cap leaves;
R6  the programme cap (``cap``, or ``ring_fenced`` if lower): the price is cut to what
    the component's cap leaves.

Each line's steps name the participant, the start, the date achieved, the evidence and
every cut, so that ``PaymentStatement.explain`` traces the money to the evidence.
Sources: docs/methodology/outcomes.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pbr.contract.components import Component
from pbr.contract.rules import Draft
from pbr.contract.spec import Contract
from pbr.errors import ContractError
from pbr.outcomes import RULES, OutcomeAssessment

__all__ = ["NO_COHORT", "rate_card_drafts"]

ZERO = Decimal(0)
#: the cohort of a rate-card line whose participant has no cohort label
NO_COHORT = "(programme)"


def _matches(c: Component, attrs: dict[str, Any]) -> bool:
    return all(attrs.get(a) in values for a, values in c.subgroup)


def _evidence(r: dict[str, Any]) -> str:
    kind = r["evidence_type"] or "(no evidence type)"
    ref = r["evidence_ref"] or "(no reference)"
    return f"{kind} {ref}, {'verified' if r['verified'] else 'not verified'}"


def rate_card_drafts(contract: Contract, assessment: OutcomeAssessment
                     ) -> tuple[list[Draft], list[str]]:
    """Statement lines (before rounding and limits) and notes for the rate cards.

    Parameters
    ----------
    contract
        The contract; its ``rate_card`` components are applied.
    assessment
        The claims with their verdicts (:func:`pbr.outcomes.assess`).

    Returns
    -------
    (drafts, notes)

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> from pbr.contract import Component
    >>> from pbr.outcomes import OutcomeEvents, Participants, assess
    >>> c = Contract("jobs", components=(Component(
    ...     "card", "rate_card", prices={"employment_13w": 1500}),))
    >>> people = Participants.from_frame(pl.DataFrame({"participant_id": ["A"],
    ...     "start_date": [dt.date(2020, 1, 1)]}))
    >>> claims = OutcomeEvents.from_frame(pl.DataFrame({"participant_id": ["A", "A"],
    ...     "outcome_type": ["employment_13w"] * 2, "date_achieved": [dt.date(2020, 4, 1),
    ...     dt.date(2020, 5, 1)], "evidence_ref": ["R1", "R2"], "evidence_type":
    ...     ["payslip"] * 2, "verified": [True, True]}))
    >>> drafts, notes = rate_card_drafts(c, assess(claims, people))
    >>> [str(d.amount) for d in drafts], drafts[1].rule
    (['1500', '0'], 'not paid: already claimed (O9)')
    """
    cards = [c for c in contract.components if c.kind == "rate_card"]
    if not cards:
        raise ContractError("events: outcome events were given but the contract has no "
                            "rate_card component to pay them; add a [[component]] with kind "
                            "= \"rate_card\" and prices, or leave the events out")
    people = assessment.participants.data
    attrs = {a: people[a].to_list() for a in assessment.participants.attributes}
    ids = people["participant_id"].to_list()
    who = {pid: {a: attrs[a][i] for a in attrs} for i, pid in enumerate(ids)}
    starts = assessment.participants.start()
    drafts: list[Draft] = []
    paid_comp: dict[str, Decimal] = {}
    paid_person: dict[tuple[str, str], Decimal] = {}
    counted: dict[tuple[str, str], int] = {}
    taken: dict[tuple[str, str, int], str] = {}
    unpriced: dict[str, int] = {}
    outside: dict[str, int] = {}
    for r in assessment.frame.iter_rows(named=True):
        pid, kind = r["participant_id"], r["outcome_type"]
        start = starts.get(pid)
        terms = [c for c, _ in contract.terms(start)
                 if c.kind == "rate_card" and kind in dict(c.prices)]
        if not terms:
            unpriced[kind] = unpriced.get(kind, 0) + 1
            continue
        mine = [c for c in terms if c.active and _matches(c, who.get(pid, {}))]
        if not mine:
            outside[kind] = outside.get(kind, 0) + 1
            continue
        c = mine[0]
        applied = [v for c2, vs in contract.terms(start) if c2.name == c.name for v in vs]
        price = dict(c.prices)[kind]
        cohort = r["cohort"] if r["cohort"] not in (None, "(no cohort)") else NO_COHORT
        ring = c.ring_fenced is not None
        steps = [f"started {r['start_date']}" if r["start_date"] else
                 "not in the participants table",
                 f"{kind} achieved {r['date_achieved']}"
                 + (f", {r['days_from_start']} days after the start"
                    if r["days_from_start"] is not None else ""),
                 f"evidence: {_evidence(r)} (input row {r['row']})"]
        steps += [f"as varied from {v.effective}" for v in applied]
        if c.subgroup:
            steps.append("subgroup " + ", ".join(f"{a} in {list(v)}" for a, v in c.subgroup)
                         + ": " + ", ".join(f"{a} = {who.get(pid, {}).get(a)}"
                                            for a, _ in c.subgroup))

        def line(amount: Decimal, rule: str, more: Sequence[str], units: Decimal,
                 c: Component = c, cohort: str = cohort, ring: bool = ring,
                 steps: list[str] = steps, kind: str = kind, pid: str = pid,
                 price: Decimal = price, r: dict[str, Any] = r) -> Draft:
            return Draft(cohort, c.name, rule, amount, units, "outcome", price, None,
                         amount > 0, (*steps, *more), measure=kind, participant=pid,
                         evidence=_evidence(r), ring_fenced=ring)

        if not r["valid"]:
            drafts.append(line(ZERO, f"not paid: {RULES[r['rule']]} ({r['rule']})",
                               [f"not valid ({r['rule']}): {r['reason']}: nothing paid"], ZERO))
            continue
        group = next((g for g in c.exclusive if kind in g), None)
        if group is not None:
            key = (c.name, pid, c.exclusive.index(group))
            if key in taken:
                drafts.append(line(ZERO, f"not paid: exclusive with {taken[key]}",
                                   [f"{kind} and {taken[key]} exclude each other "
                                    f"({', '.join(group)}); {pid} was paid for {taken[key]}: "
                                    "nothing paid"], ZERO))
                continue
        most = dict(c.outcome_caps).get(kind)
        if most is not None and counted.get((c.name, kind), 0) >= most:
            drafts.append(line(ZERO, f"not paid: outcome cap {most} reached",
                               [f"outcome cap: {most} {kind} claims already paid: nothing "
                                "paid"], ZERO))
            continue
        amount = price
        more = [f"price {price} per {kind}"]
        if c.participant_cap is not None:
            so_far = paid_person.get((c.name, pid), ZERO)
            room = max(c.participant_cap - so_far, ZERO)
            if amount > room:
                more.append(f"participant cap {c.participant_cap}: {so_far} already paid for "
                            f"{pid}, {room} left: pay {room}")
                amount = room
        limit = min((x for x in (c.cap, c.ring_fenced) if x is not None), default=None)
        if limit is not None:
            so_far = paid_comp.get(c.name, ZERO)
            room = max(limit - so_far, ZERO)
            if amount > room:
                label = "ring-fenced amount" if limit == c.ring_fenced else "programme cap"
                more.append(f"{label} {limit}: {so_far} already paid by {c.name!r}, {room} "
                            f"left: pay {room}")
                amount = room
        if amount == ZERO and price > 0:
            more.append("nothing left under the caps: nothing paid")
            rule = "not paid: cap reached"
        else:
            rule = f"rate card {price} per {kind}"
        if ring:
            more.append(f"ring-fenced for {c.name!r}: outside the contract's cohort, year and "
                        "total limits")
        drafts.append(line(amount, rule, more, Decimal(1)))
        if amount > 0 or price == 0:
            paid_comp[c.name] = paid_comp.get(c.name, ZERO) + amount
            paid_person[(c.name, pid)] = paid_person.get((c.name, pid), ZERO) + amount
            counted[(c.name, kind)] = counted.get((c.name, kind), 0) + 1
            if group is not None:
                taken[(c.name, pid, c.exclusive.index(group))] = kind
    notes = [f"outcome events: {n:,} claim(s) of {k} priced by no rate_card component "
             "(not paid)" for k, n in sorted(unpriced.items())]
    notes += [f"outcome events: {n:,} claim(s) of {k} by participants outside every active "
              "rate card's subgroup (not paid)" for k, n in sorted(outside.items())]
    if len(assessment.exclusions):
        notes += [f"outcome events: {e.count:,} input row(s) of {e.table} left out: {e.reason}"
                  for e in assessment.exclusions.entries]
    return drafts, notes
