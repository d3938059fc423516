"""``run_contract``: the one orchestrator, a plain composition of the public steps.

measure (:func:`pbr.measure` with the contract's measure spec) -> compare
(:func:`pbr.contract.compare.outcomes`: per-cohort outcomes against the comparator) ->
pay (:func:`pbr.contract.pay.pay`).  Each step can be called on its own; this function
only wires them and records the provenance.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from pbr.contract import compare
from pbr.contract.outcome import Outcome
from pbr.contract.pay import pay
from pbr.contract.spec import Contract
from pbr.contract.statement import PaymentStatement
from pbr.measures import MeasureResult, measure

__all__ = ["ContractRun", "run_contract"]


@dataclass(frozen=True)
class ContractRun:
    """The three results of a contract run: measures, outcomes, statement."""

    contract: Contract
    result: MeasureResult
    outcomes: tuple[Outcome, ...]
    statement: PaymentStatement

    def __str__(self) -> str:
        return f"{self.result}\n\n{self.statement}"


def run_contract(contract: Contract, cohort: Any, events: Any, *, custody: Any = None,
                 engine: str = "numba") -> ContractRun:
    """Measure a cohort, compare it with the contract's comparator, and pay.

    Parameters
    ----------
    contract
        The :class:`~pbr.contract.spec.Contract`.
    cohort, events, custody
        As for :func:`pbr.measure`; the cohort carries ``contract.cohort_column`` (and
        for a matched comparator the group and weight columns).
    engine
        Measure engine, ``"numba"`` or ``"polars"``.

    Examples
    --------
    >>> import pbr
    >>> from pbr.contract import Contract
    >>> data = pbr.synth.generate(400, seed=1)
    >>> c = Contract.from_toml('''
    ... [contract]
    ... name = "demo"
    ... [comparator]
    ... values = {binary_rate = 40.0}
    ... [[component]]
    ... name = "binary"
    ... kind = "linear"
    ... measure = "binary_rate"
    ... basis = "points"
    ... price = 1000
    ... clawback = true
    ... ''')
    >>> run = run_contract(c, data.cohort, data.events)
    >>> run.statement.total == sum(line.amount for line in run.statement.lines)
    True
    """
    spec = contract.measure_spec
    result = measure(cohort, events, spec, custody=custody, engine=engine)
    needed = list(dict.fromkeys(c.measure for c in contract.components
                                if c.measure is not None)) or ["binary_rate"]
    unit = "conviction events" if spec.counting_unit == "court_event" else None
    outcomes = compare.outcomes(contract, result.frame, needed, unit_name=unit)
    text = contract.to_toml()
    provenance = {**result.provenance, "contract": text,
                  "contract_sha256": hashlib.sha256(text.encode()).hexdigest()}
    return ContractRun(contract, result, outcomes, pay(contract, outcomes,
                                                       provenance=provenance))
