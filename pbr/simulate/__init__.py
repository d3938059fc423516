"""The contract design lab: Monte Carlo payments, gaming and operating characteristics.

``simulate(contract, population, effect=..., behaviour=..., n_sims=..., seed=...)`` draws
simulated cohorts from a :class:`Population` under a true :class:`Effect` and a provider
:class:`Behaviour`, pays them under one or several contract designs (the same replicates
for every design), and returns a :class:`SimulationResult`.  Method and sources:
docs/methodology/simulation.md.
"""

from __future__ import annotations

from pbr.simulate.behaviour import Behaviour
from pbr.simulate.cashflow import CashFlows, ServiceCosts, cash_flows, payments_by_date
from pbr.simulate.core import simulate
from pbr.simulate.designs import Cells, CompiledContract, Evaluation
from pbr.simulate.effect import Effect
from pbr.simulate.marginal import MarginalPayment, linear_marginal, marginal_payment
from pbr.simulate.population import Population
from pbr.simulate.result import SimulationResult

__all__ = ["Behaviour", "CashFlows", "Cells", "CompiledContract", "Effect", "Evaluation",
           "MarginalPayment", "Population", "ServiceCosts", "SimulationResult", "cash_flows",
           "linear_marginal", "marginal_payment", "payments_by_date", "simulate"]
