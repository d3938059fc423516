"""Intermediate outcomes: the outcome-events table, outcome definitions and their evidence.

==================  ===============================================================
module              owns
==================  ===============================================================
``definitions``     :class:`OutcomeDefinition` (evidence accepted, sustained weeks,
                    validity window, prerequisites), :data:`STANDARD`, evidence types
``tables``          :class:`OutcomeEvents` and :class:`Participants`, validated
                    (SchemaError naming column, row, value and fix; exclusions counted);
                    :func:`read_outcome_events` for the CSV template pbr ships
``assessment``      :func:`assess` -> :class:`OutcomeAssessment`: each claim valid or not,
                    with its rule (O1-O10) and reason
==================  ===============================================================

A contract's ``rate_card`` components (:mod:`pbr.contract`) pay the valid claims at a
price per outcome type, with caps and exclusive outcomes.  Rules and sources:
docs/methodology/outcomes.md.

Examples
--------
>>> import pbr.outcomes as po
>>> events = po.read_outcome_events(po.template_path())
>>> sorted(set(events.data["outcome_type"]))[:2]
['accommodation_13w', 'employment_13w']
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pbr.outcomes.assessment import ASSESSMENT_COLUMNS, RULES, OutcomeAssessment, assess
from pbr.outcomes.definitions import EVIDENCE_TYPES, STANDARD, OutcomeDefinition, definitions
from pbr.outcomes.tables import (
    EVENT_COLUMNS,
    PARTICIPANT_COLUMNS,
    OutcomeEvents,
    Participants,
    read_outcome_events,
    read_participants,
)

__all__ = ["ASSESSMENT_COLUMNS", "EVENT_COLUMNS", "EVIDENCE_TYPES", "PARTICIPANT_COLUMNS",
           "RULES", "STANDARD", "OutcomeAssessment", "OutcomeDefinition", "OutcomeEvents",
           "Participants", "assess", "definitions", "read_outcome_events",
           "read_participants", "template_path"]


def template_path() -> Path:
    """The outcome-events CSV template pbr ships (the columns, one example per outcome).

    Examples
    --------
    >>> template_path().name
    'template.csv'
    """
    return Path(str(resources.files("pbr") / "outcomes" / "template.csv"))
