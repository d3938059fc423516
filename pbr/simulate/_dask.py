"""Shards of replicates drawn on a Dask distributed cluster.

Each shard is drawn by :func:`pbr.simulate._draws.draw_shard` with the seed and shard
index alone, so the workers produce the very numbers the in-process run produces, in
any order and on any number of workers; the client gathers them in shard order.  The
workers must run the same pbr, numpy and numba as the client (checked first: another
numba may draw a binomial differently).

On a real cluster: start a scheduler and workers in the same environment (``dask
scheduler``; ``dask worker tcp://scheduler:8786`` on each machine), then
``simulate(..., client=distributed.Client("tcp://scheduler:8786"))``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pbr.errors import SpecError
from pbr.simulate import _draws

__all__ = ["draw_on"]


def versions() -> dict[str, str]:
    """The versions the draws depend on (checked on every worker)."""
    import numba

    from pbr._version import __version__
    return {"pbr": __version__, "numpy": np.__version__, "numba": numba.__version__}


def draw_on(client: Any, g: _draws.Groups, n_cells: int, n_sims: int, seed: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """All replicates drawn on the workers of ``client`` (a ``dask.distributed.Client``)."""
    if not (hasattr(client, "submit") and hasattr(client, "gather")
            and hasattr(client, "scatter")):
        raise SpecError(f"client: expected a dask.distributed.Client, got "
                        f"{type(client).__name__}")
    here = versions()
    for worker, there in dict(client.run(versions)).items():
        if there != here:
            raise SpecError(f"client: worker {worker} runs {there}, this process {here}; the "
                            "draws depend on pbr, numpy and numba, so every worker must run "
                            "the same versions (install the same environment on the cluster)")
    plan = _draws.shards(n_sims)
    shared = client.scatter(g, broadcast=True)
    futures = [client.submit(_draws.draw_shard, shared, n_cells, seed, s, k, pure=False)
               for s, _, k in plan]
    parts = client.gather(futures)
    reo = np.zeros((n_sims, n_cells), dtype=np.int64)
    reoff = np.zeros((n_sims, n_cells), dtype=np.int64)
    for (_, start, k), (a, b) in zip(plan, parts, strict=True):
        reo[start:start + k] = a
        reoff[start:start + k] = b
    return reo, reoff
