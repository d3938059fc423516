"""Replicates sharded over a Dask LocalCluster give the in-process result byte for byte."""

from __future__ import annotations

import numpy as np
import pytest

from pbr.contract import Comparator, Component, Contract
from pbr.errors import SpecError
from pbr.simulate import Behaviour, Effect, Population, simulate

distributed = pytest.importorskip("dask.distributed")


def test_local_cluster_equals_in_process() -> None:
    # worker threads keep the test under a second; worker processes (processes=True) give
    # the same bytes too but take some 15 s to start on the project's machine
    c = Contract("x", comparator=Comparator(values={"binary_rate": 45, "per_offender": "1.35"}),
                 components=(Component("b", "linear", measure="binary_rate", basis="avoided",
                                       price=1000),
                             Component("f", "linear", measure="per_offender", basis="avoided",
                                       price=100, clawback=True)))
    pop = Population.synthetic(areas=3, cohorts=2, size=400, seed=2)
    kw = dict(effect=[Effect.none(), Effect(p=0.05)],
              behaviour=[Behaviour.none(), Behaviour.parking()], n_sims=620, seed=9)
    here = simulate(c, pop, **kw)  # type: ignore[arg-type]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        there = simulate(c, pop, client=client, **kw)  # type: ignore[arg-type]

    for key, (reo, reoff) in here.counts.items():
        assert np.array_equal(reo, there.counts[key][0])
        assert np.array_equal(reoff, there.counts[key][1])
    assert here.frame.equals(there.frame)
    assert here.summary().equals(there.summary())


def test_client_must_be_a_client() -> None:
    c = Contract("x", comparator=Comparator(values={"binary_rate": 45}),
                 components=(Component("b", "linear", measure="binary_rate", basis="avoided",
                                       price=1000),))
    pop = Population.synthetic(areas=1, cohorts=1, size=100, seed=2)
    with pytest.raises(SpecError, match="Client"):
        simulate(c, pop, n_sims=10, client=object())

    class OtherVersions:   # a cluster whose workers run another numba
        def run(self, f):  # type: ignore[no-untyped-def]
            return {"tcp://w1": {**f(), "numba": "0.1"}}

        scatter = submit = gather = run

    with pytest.raises(SpecError, match="same versions"):
        simulate(c, pop, n_sims=10, client=OtherVersions())
