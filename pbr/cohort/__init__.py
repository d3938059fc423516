"""Cohorts: who enters a measure, and when (docs/methodology/cohorts.md, K1-K10).

The package holds the steps from disposal records to the cohorts a measure counts:

- :mod:`pbr.cohort.disposals`: :class:`Disposals`, the validated disposals table;
- :mod:`pbr.cohort.rule`: :class:`CohortRule`, the rule (index types, periods,
  precedence, filters, exclusions) and its ``[cohort]`` TOML round-trip;
- :mod:`pbr.cohort.periods`: the cohort periods (quarters, 12 months, rolling windows,
  financial years, consecutive first-N cohorts);
- :mod:`pbr.cohort.build`: :func:`build_cohort`, disposals -> index events, one outcome
  per row;
- :mod:`pbr.cohort.result`: :class:`CohortBuild`, the cohort frame, a
  :class:`~pbr.data.Cohort` per period and the ledger by reason;
- :mod:`pbr.cohort.synth`: :func:`generate_disposals`, seeded synthetic disposals.
"""

from __future__ import annotations

from pbr.cohort.build import build_cohort
from pbr.cohort.disposals import FLAGS, Disposals
from pbr.cohort.periods import CalendarPeriods, calendar_periods
from pbr.cohort.result import REASONS, CohortBuild
from pbr.cohort.rule import EXCLUSIONS, PERIOD_KINDS, CohortRule
from pbr.cohort.synth import generate_disposals

__all__ = [
    "EXCLUSIONS",
    "FLAGS",
    "PERIOD_KINDS",
    "REASONS",
    "CalendarPeriods",
    "CohortBuild",
    "CohortRule",
    "Disposals",
    "build_cohort",
    "calendar_periods",
    "generate_disposals",
]
