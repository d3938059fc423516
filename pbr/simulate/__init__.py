"""The contract design lab: Monte Carlo payments, gaming and operating characteristics.

``simulate(contract, population, effect=..., behaviour=..., n_sims=..., seed=...)`` draws
simulated cohorts from a :class:`Population` under a true :class:`Effect` and a provider
:class:`Behaviour`, pays them under one or several contract designs (the same replicates
for every design), and returns a :class:`SimulationResult`.  Method and sources:
docs/methodology/simulation.md.
"""

from __future__ import annotations

from pbr.simulate.behaviour import Behaviour
from pbr.simulate.core import simulate
from pbr.simulate.designs import Cells, CompiledContract, Evaluation
from pbr.simulate.effect import Effect
from pbr.simulate.population import Population
from pbr.simulate.result import SimulationResult

__all__ = ["Behaviour", "Cells", "CompiledContract", "Effect", "Evaluation", "Population",
           "SimulationResult", "simulate"]
