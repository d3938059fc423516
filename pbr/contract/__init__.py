"""Contracts and payments: the contract schema, the payment rules, ``pay`` and statements.

==================  ===============================================================
module              owns
==================  ===============================================================
``outcome``         :class:`Outcome`: one measure for one cohort against its comparator
``components``      :class:`Component`: fee, linear, tiered and at-risk components
``comparator``      :class:`Comparator`: fixed, case-mix adjusted baseline, or comparison group
``spec``            :class:`Contract`: the versioned TOML schema, validation, variations
``checks``          contradictions across fields, cohort labels, rate units (ContractError)
``ledger``          :class:`PaymentLedger`: what was already paid (earlier statements, CSV)
``prior``           checks of a ledger against the contract and the run that follows it
``rules``           the pure payment rules (triggers, linear, tiers, at risk, fees, limits)
``pay``             :func:`pay`: rules -> limits -> on account -> rounding
``statement``       :class:`PaymentStatement` and :class:`Line` (reconciled on construction)
``compare``         per-offender measures -> per-cohort outcomes against the comparator
``run``             :func:`run_contract`: measure -> compare -> pay
==================  ===============================================================

Every rule and its source: docs/methodology/payments.md.
"""

from __future__ import annotations

from pbr.contract.comparator import Comparator
from pbr.contract.components import Component
from pbr.contract.ledger import LedgerEntry, PaymentLedger
from pbr.contract.outcome import Outcome
from pbr.contract.pay import pay
from pbr.contract.run import ContractRun, run_contract
from pbr.contract.spec import CohortPeriod, Contract, Rounding, Variation
from pbr.contract.statement import Line, PaymentStatement

__all__ = ["CohortPeriod", "Comparator", "Component", "Contract", "ContractRun", "LedgerEntry",
           "Line", "Outcome", "PaymentLedger", "PaymentStatement", "Rounding", "Variation", "pay",
           "run_contract"]
