"""pbr: payment-by-results contract analytics for offender rehabilitation.

The one straight pass: load -> validate (:class:`Cohort`, :class:`Events`) -> prepare
(:func:`prepare` -> :class:`Histories`) -> measure (:func:`measure`,
:class:`MeasureResult`).  See docs/methodology/measures.md for every rule and its source.
"""

from __future__ import annotations

from pbr._version import __version__, check_distribution

check_distribution()

from pbr import areas, attribution, finance, io, iom, outcomes, risk, stats, synth
from pbr._scratch import release_memory
from pbr.areas import AreaHierarchy, RecordedCrime, area_report, crime_change
from pbr.attribution import Attribution, ProviderSpells, attribute
from pbr.audit import Manifest, VerificationResult, pay, verify
from pbr.cohort import CohortBuild, CohortRule, Disposals, build_cohort
from pbr.compare import ComparisonResult, ComparisonSpec, compare
from pbr.contract import (
    Component,
    Contract,
    Outcome,
    PaymentLedger,
    PaymentStatement,
    run_contract,
)
from pbr.data import Cohort, Custody, Events, Exclusion, Exclusions
from pbr.equality import EqualityResult, equality
from pbr.errors import (
    AuditError,
    CompletenessWarning,
    ContractError,
    DataQualityWarning,
    EngineError,
    IncompleteDataWarning,
    PbrError,
    PbrWarning,
    PeriodError,
    ProvisionalWarning,
    ReconciliationError,
    SchemaError,
    SeverityError,
    SmallSampleWarning,
    SpecError,
)
from pbr.matching import (
    BalanceResult,
    EffectResult,
    MatchResult,
    MatchSpec,
    e_value,
    estimate_effect,
    match,
    rosenbaum_bounds,
)
from pbr.measures import MeasureResult, measure
from pbr.outcomes import OutcomeAssessment, OutcomeEvents, Participants, read_outcome_events
from pbr.period import Period
from pbr.prepare import Histories, prepare
from pbr.privacy import pseudonymise
from pbr.report.html import HtmlReport, html_report
from pbr.risk import (
    AdjustedComparison,
    Baseline,
    CaseMixModel,
    casemix_score,
    compare_to_baseline,
    fit_casemix,
)
from pbr.scale import PartitionedData, measure_partitioned
from pbr.scheme_run import SchemeRun
from pbr.schemes import Scheme, available_schemes, scheme
from pbr.simulate import SimulationResult, simulate
from pbr.spec import MeasureSpec, available_presets, preset
from pbr.stats import (
    kaplan_meier,
    logrank_test,
    mean_cumulative_function,
    power_table,
    time_to_first,
)
from pbr.suppress import DisclosureRules, SuppressedTable, suppress

__all__ = [
    "AdjustedComparison",
    "AreaHierarchy",
    "Attribution",
    "AuditError",
    "BalanceResult",
    "Baseline",
    "CaseMixModel",
    "Cohort",
    "CohortBuild",
    "CohortRule",
    "ComparisonResult",
    "ComparisonSpec",
    "CompletenessWarning",
    "Component",
    "Contract",
    "ContractError",
    "Custody",
    "DataQualityWarning",
    "DisclosureRules",
    "Disposals",
    "EffectResult",
    "EngineError",
    "EqualityResult",
    "Events",
    "Exclusion",
    "Exclusions",
    "Histories",
    "HtmlReport",
    "IncompleteDataWarning",
    "Manifest",
    "MatchResult",
    "MatchSpec",
    "MeasureResult",
    "MeasureSpec",
    "Outcome",
    "OutcomeAssessment",
    "OutcomeEvents",
    "Participants",
    "PartitionedData",
    "PaymentLedger",
    "PaymentStatement",
    "PbrError",
    "PbrWarning",
    "Period",
    "PeriodError",
    "ProviderSpells",
    "ProvisionalWarning",
    "ReconciliationError",
    "RecordedCrime",
    "SchemaError",
    "Scheme",
    "SchemeRun",
    "SeverityError",
    "SimulationResult",
    "SmallSampleWarning",
    "SpecError",
    "SuppressedTable",
    "VerificationResult",
    "__version__",
    "area_report",
    "areas",
    "attribute",
    "attribution",
    "available_presets",
    "available_schemes",
    "build_cohort",
    "casemix_score",
    "compare",
    "compare_to_baseline",
    "crime_change",
    "e_value",
    "equality",
    "estimate_effect",
    "finance",
    "fit_casemix",
    "html_report",
    "io",
    "iom",
    "kaplan_meier",
    "logrank_test",
    "match",
    "mean_cumulative_function",
    "measure",
    "measure_partitioned",
    "outcomes",
    "pay",
    "power_table",
    "prepare",
    "preset",
    "pseudonymise",
    "read_outcome_events",
    "release_memory",
    "risk",
    "rosenbaum_bounds",
    "run_contract",
    "scale",
    "scheme",
    "simulate",
    "stats",
    "suppress",
    "synth",
    "time_to_first",
    "verify",
]
