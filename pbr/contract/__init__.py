"""Contracts and payments: the contract schema, the payment rules, ``pay`` and statements.

==================  ===============================================================
module              owns
==================  ===============================================================
``outcome``         :class:`Outcome`: one measure for one cohort against its comparator
``components``      :class:`Component`: fee, linear, tiered, at-risk and rate-card components
``comparator``      :class:`Comparator`: fixed, case-mix adjusted baseline, or comparison group
``spec``            :class:`Contract`: the versioned TOML schema, validation, variations
``checks``          contradictions across fields, cohort labels, rate units (ContractError)
``ledger``          :class:`PaymentLedger`: what was already paid (earlier statements, CSV)
``prior``           checks of a ledger against the contract and the run that follows it
``rules``           the pure payment rules (triggers, linear, tiers, at risk, fees, limits)
``ratecard``        rate cards: one line per outcome claim (prices, caps, exclusive, subgroup)
``pay``             :func:`pay`: rules -> limits -> on account -> rounding
``statement``       :class:`PaymentStatement` and :class:`Line` (reconciled on construction)
``compare``         per-offender measures -> per-cohort outcomes against the comparator
``resolve``         the comparator a run uses: the contract's table and what the run gives
``record``          :class:`ComparatorUsed`: its kind, form, document and SHA-256
``matched``         a matched group in a run: the match, the cohort cut to matched units
``run``             :func:`run_contract`: measure_step -> compare_step -> pay_step
==================  ===============================================================

Every rule and its source: docs/methodology/payments.md (rate cards:
docs/methodology/outcomes.md).
"""

from __future__ import annotations

from pbr.contract.comparator import Comparator
from pbr.contract.components import Component
from pbr.contract.ledger import LedgerEntry, PaymentLedger
from pbr.contract.outcome import Outcome
from pbr.contract.pay import pay
from pbr.contract.record import ComparatorUsed
from pbr.contract.run import (
    ContractComparison,
    ContractRun,
    compare_step,
    measure_step,
    pay_step,
    run_contract,
)
from pbr.contract.spec import CohortPeriod, Contract, Rounding, Variation
from pbr.contract.statement import Line, PaymentStatement

__all__ = ["CohortPeriod", "Comparator", "ComparatorUsed", "Component", "Contract",
           "ContractComparison", "ContractRun", "LedgerEntry", "Line", "Outcome",
           "PaymentLedger", "PaymentStatement", "Rounding", "Variation", "compare_step",
           "measure_step", "pay", "pay_step", "run_contract"]
