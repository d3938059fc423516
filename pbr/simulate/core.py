"""``simulate()``: a contract (or several designs) run on simulated cohorts.

For every provider behaviour the population's cells are formed once; for every effect
the outcomes of ``n_sims`` replicates are drawn once (exact grouped draws, seeded shards,
:mod:`pbr.simulate._draws`); every design is then evaluated on those same counts
(common random numbers) by its compiled contract (:mod:`pbr.simulate.designs`), with
and without case-mix adjustment (the second only for :meth:`SimulationResult.gaming`).
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from pbr._version import __version__
from pbr.contract.spec import Contract
from pbr.errors import ContractError, DataQualityWarning, SpecError
from pbr.simulate import _draws
from pbr.simulate.behaviour import Behaviour
from pbr.simulate.designs import CompiledContract
from pbr.simulate.effect import Effect
from pbr.simulate.population import Population
from pbr.simulate.result import SimulationResult

__all__ = ["MAX_SIMS", "simulate"]

#: the most replicates one call draws
MAX_SIMS = 10_000_000


def _designs(contract: Contract | Mapping[str, Contract]) -> dict[str, Contract]:
    if isinstance(contract, Contract):
        return {contract.name: contract}
    if isinstance(contract, Mapping):
        if not contract:
            raise SpecError("contract: give a Contract or a mapping of design name -> Contract")
        out: dict[str, Contract] = {}
        for k, v in contract.items():
            if not isinstance(k, str) or not k:
                raise SpecError(f"contract: design names are non-empty strings, got {k!r}")
            if not isinstance(v, Contract):
                raise SpecError(f"contract[{k!r}]: expected a pbr Contract, got "
                                f"{type(v).__name__}")
            out[k] = v
        return out
    raise SpecError(f"contract: a pbr Contract or a mapping of design name -> Contract, got "
                    f"{type(contract).__name__}")


def _listed(value: Any, kind: type, name: str) -> list[Any]:
    items = list(value) if isinstance(value, Sequence) and not isinstance(value, str) \
        else [value]
    if not items:
        raise SpecError(f"{name}: give at least one")
    for x in items:
        if not isinstance(x, kind):
            raise SpecError(f"{name}: expected {kind.__name__} objects, got {x!r}")
    labels = [x.label for x in items]
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        raise SpecError(f"{name}: labels must be unique, {dupes} repeat (give name=)")
    return items


def simulate(contract: Contract | Mapping[str, Contract], population: Population, *,
             effect: Effect | Sequence[Effect] | None = None,
             behaviour: Behaviour | Sequence[Behaviour] | None = None,
             n_sims: int = 10_000, seed: int = 0, casemix: bool = True,
             baseline: str | None = None, client: Any = None,
             threads: int | None = None,
             progress: Callable[[int, int], None] | None = None) -> SimulationResult:
    """Simulate a contract's payments, side by side for several designs.

    Parameters
    ----------
    contract
        A :class:`~pbr.contract.Contract`, or ``{"design name": Contract, ...}``: every
        design is evaluated on the same replicates (common random numbers).
    population
        The referred offenders (:class:`~pbr.simulate.Population`).  Its cohort labels
        must be cohorts the contracts list (when they list any); each area is one
        provider's contract and gets its own statement.
    effect, behaviour
        One or several :class:`Effect` (the true effect; default none) and
        :class:`Behaviour` (default none).  Every combination is simulated.
    n_sims
        Replicates.
    seed
        Seed of the ``numpy.random.SeedSequence`` every shard of replicates spawns from.
    casemix
        Compare each cohort with its own expected value (the baseline adjusted for the
        case mix of the cohort actually drawn), or with the fixed baseline (False).
        :meth:`SimulationResult.gaming` reports both either way.
    baseline
        ``"contract"`` (the contract's comparator values) or ``"population"`` (the
        referral pool's expected values); default: the contract's where it gives values
        for every measure it pays on, the population's otherwise.
    client
        A ``dask.distributed.Client``: the shards of replicates are drawn on its workers
        with the same seeds, so the result is identical to the in-process run.
    threads
        Threads drawing shards in this process (default Numba's thread count); never
        changes a number.
    progress
        Called as ``progress(done, total)`` (replicates drawn over every effect and
        behaviour) as the draws advance, in the calling thread (a progress bar).

    Returns
    -------
    SimulationResult

    Examples
    --------
    >>> from pbr.contract import Comparator, Component, Contract
    >>> c = Contract("binary", comparator=Comparator(values={"binary_rate": 45}),
    ...              components=(Component("b", "linear", measure="binary_rate",
    ...                                    basis="avoided", price=2000),))
    >>> pop = Population.synthetic(areas=1, cohorts=1, size=2000, area_sd=0, seed=1)
    >>> res = simulate(c, pop, effect=[Effect.none(), Effect(p=0.1)], n_sims=200, seed=7)
    >>> oc = res.operating_characteristic()
    >>> oc["p_any_payment"].to_list()[1] > 0.99
    True
    """
    designs = _designs(contract)
    if not isinstance(population, Population):
        raise SpecError(f"population: expected a pbr.simulate.Population, got "
                        f"{type(population).__name__}")
    effects = _listed(Effect.none() if effect is None else effect, Effect, "effect")
    behaviours = _listed(Behaviour.none() if behaviour is None else behaviour, Behaviour,
                         "behaviour")
    if isinstance(n_sims, bool) or not isinstance(n_sims, int) or not 1 <= n_sims <= MAX_SIMS:
        raise SpecError(f"n_sims: replicates, an integer from 1 to {MAX_SIMS:,}, got {n_sims!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise SpecError(f"seed: an integer >= 0, got {seed!r}")
    if not isinstance(casemix, bool):
        raise SpecError(f"casemix: True or False, got {casemix!r}")
    if progress is not None and not callable(progress):
        raise SpecError(f"progress: a function progress(done, total), got {progress!r}")
    if baseline not in (None, "contract", "population"):
        raise SpecError(f"baseline: 'contract', 'population' or None, got {baseline!r}")
    bases = {name: baseline or _default_baseline(c) for name, c in designs.items()}
    layouts = {b.label: _draws.layout(population, b) for b in behaviours}
    compiled: dict[tuple[str, str, bool], CompiledContract] = {}
    for b in behaviours:
        for name, c in designs.items():
            for adj in (True, False):
                try:
                    compiled[(name, b.label, adj)] = CompiledContract(
                        c, layouts[b.label].cells, casemix=adj, baseline=bases[name])
                except ContractError as exc:
                    raise ContractError(f"design {name!r}: {exc}") from None
    notes = list(population.notes) + _baseline_notes(compiled, designs, bases, behaviours)
    for note in notes[len(population.notes):]:
        warnings.warn(note, DataQualityWarning, stacklevel=2)
    counts: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    groups: dict[tuple[str, str], _draws.Groups] = {}
    total, done = n_sims * len(effects) * len(behaviours), 0

    def advance(k: int) -> None:
        nonlocal done
        done += k
        if progress is not None:
            progress(done, total)

    for b in behaviours:
        lay = layouts[b.label]
        for e in effects:
            g = _draws.groups(lay, e)
            groups[(e.label, b.label)] = g
            if client is not None:
                from pbr.simulate._dask import draw_on
                counts[(e.label, b.label)] = draw_on(client, g, lay.cells.size, n_sims, seed)
                advance(n_sims)
            else:
                counts[(e.label, b.label)] = _draws.draw(g, lay.cells.size, n_sims, seed,
                                                         threads, advance)
    provenance = {
        "pbr_version": __version__, "seed": seed, "n_sims": n_sims, "shard": _draws.SHARD,
        "casemix": casemix, "baseline": bases,
        "engine": "numba grouped draws (hurdle model: binomial reoffenders, negative "
                  "binomial / Poisson sums of later reoffences)",
        "population_sha256": population.fingerprint(), "population": population.source,
        "contracts": {k: c.to_toml() for k, c in designs.items()},
        "contracts_sha256": {k: hashlib.sha256(c.to_toml().encode()).hexdigest()
                             for k, c in designs.items()},
        "effects": [e.to_dict() for e in effects],
        "behaviours": [b.to_dict() for b in behaviours],
        "groups": {f"{e} / {b}": int(g.size.size) for (e, b), g in groups.items()},
    }
    return SimulationResult(designs=designs, effects=tuple(effects),
                            behaviours=tuple(behaviours), population=population,
                            n_sims=n_sims, seed=seed, casemix=casemix, layouts=layouts,
                            compiled=compiled, counts=counts, groups=groups,
                            provenance=provenance, notes=tuple(notes))


def _baseline_notes(compiled: Mapping[tuple[str, str, bool], CompiledContract],
                    designs: Mapping[str, Contract], bases: Mapping[str, str],
                    behaviours: Sequence[Behaviour]) -> list[str]:
    """A contract baseline far from what the population expects (more than 10% of it)
    pays or claws back under no effect at all: say so (the user may mean
    baseline="population")."""
    out = []
    for name in designs:
        if bases[name] != "contract":
            continue
        cc = compiled[(name, behaviours[0].label, False)]
        cells = cc.cells
        for m in cc.measures:
            for i in range(cells.size):
                pool = cc._expected(m, cells.pool_binary[i], cells.pool_frequency[i])
                value = float(cc.cmp.value[m][i])
                if pool > 0 and abs(value - pool) > 0.1 * pool:
                    out.append(f"design {name!r}: the contract's {m} baseline {value:g} for "
                               f"cohort {cells.cohort[i]!r} differs by more than 10% from the "
                               f"population's expected {pool:.4g} (area {cells.area[i]!r}), so "
                               "payments move under no effect at all; to compare with what "
                               "the population expects, run with baseline=\"population\"")
                    break
            else:
                continue
            break
    return out


def _default_baseline(c: Contract) -> str:
    comp = c.comparator
    if comp is None or comp.kind == "matched":
        return "population"
    measures = {x.measure for x in c.components if x.kind != "fee"}
    for p in c.periods or ():
        for m in measures:
            if comp.value(p.name, str(m)) is None:
                return "population"
    if not c.periods and any(comp.value("", str(m)) is None for m in measures):
        return "population"
    return "contract"
