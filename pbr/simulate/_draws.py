"""Cells, groups and seeded shards of replicates: the inputs of the Numba draws.

A *cell* is one contract area and cohort as the provider's behaviour leaves it; a
*group* is the offenders of a cell that share ``(p, m, theta)`` once the effect is
applied.  Replicates are drawn in shards of :data:`SHARD` replicates; shard ``s`` draws
from two generators seeded by ``SeedSequence(seed, spawn_key=(s, 0))`` and ``(s, 1)``
(the first reoffence, the later ones), so a shard's numbers depend on the seed and its
index only: neither the thread count nor the Dask workers change a result, and every
effect, behaviour and design sees the same random streams (common random numbers).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numba
import numpy as np
import polars as pl

from pbr._kernels.simulate import draw_cells
from pbr.simulate.behaviour import Behaviour
from pbr.simulate.designs import Cells
from pbr.simulate.effect import Effect
from pbr.simulate.population import Population

__all__ = ["SHARD", "Groups", "Layout", "draw", "draw_shard", "groups", "layout"]

#: replicates per shard (fixed: part of what makes a seed's numbers)
SHARD = 250


@dataclass(frozen=True, eq=False)
class Layout:
    """The cells of one behaviour and, per offender kept, its cell and effect masks."""

    cells: Cells
    cell: np.ndarray          # per kept offender: cell index
    p: np.ndarray             # per kept offender
    m: np.ndarray             # later reoffences of a reoffender (mean)
    theta: np.ndarray
    decile: np.ndarray
    on_p: np.ndarray          # receives the effect on p
    on_f: np.ndarray          # receives the effect on frequency


@dataclass(frozen=True, eq=False)
class Groups:
    """Offenders sharing parameters within a cell: sizes and parameters per group."""

    size: np.ndarray
    p: np.ndarray
    start: np.ndarray               # families: groups start[f]:start[f + 1]
    m: np.ndarray                   # per family
    theta: np.ndarray               # per family
    cell: np.ndarray                # per family
    expected_binary: np.ndarray     # per cell, under the effect
    expected_frequency: np.ndarray  # per cell, under the effect


def layout(pop: Population, behaviour: Behaviour) -> Layout:
    """Apply a behaviour to each area and cohort of the population."""
    f = pop.frame
    p = f["p"].to_numpy()
    mu = f["mu"].to_numpy()
    theta = f["theta"].to_numpy()
    decile = f["risk_decile"].to_numpy().astype(np.int64)
    m = np.where(p > 0, mu / np.where(p > 0, p, 1.0) - 1.0, 0.0)
    m = np.maximum(m, 0.0)
    keys = f.select("area", "cohort").with_row_index("row").group_by(
        "area", "cohort", maintain_order=True).agg(pl.col("row"))
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("idx", "cell", "on_p", "on_f")}
    c_area, c_cohort, n, eb, ef, pb, pf = [], [], [], [], [], [], []
    for ci, (a, c, rows) in enumerate(keys.iter_rows()):
        rows = np.asarray(rows, dtype=np.int64)
        keep, on_p, on_f = behaviour.apply(p[rows])
        kept = rows[keep]
        parts["idx"].append(kept)
        parts["cell"].append(np.full(kept.size, ci, dtype=np.int64))
        parts["on_p"].append(on_p[keep])
        parts["on_f"].append(on_f[keep])
        c_area.append(str(a))
        c_cohort.append(str(c))
        n.append(kept.size)
        eb.append(float(p[kept].mean()) if kept.size else 0.0)
        ef.append(float(mu[kept].mean()) if kept.size else 0.0)
        pb.append(float(p[rows].mean()))
        pf.append(float(mu[rows].mean()))
    idx = np.concatenate(parts["idx"])
    cells = Cells(tuple(c_area), tuple(c_cohort), np.array(n, dtype=np.int64), np.array(eb),
                  np.array(ef), np.array(pb), np.array(pf))
    return Layout(cells, np.concatenate(parts["cell"]), p[idx], m[idx], theta[idx],
                  decile[idx], np.concatenate(parts["on_p"]), np.concatenate(parts["on_f"]))


def groups(lay: Layout, effect: Effect) -> Groups:
    """The groups of offenders sharing ``(cell, p, m, theta)`` under an effect."""
    fp, ff = effect.factors(lay.decile)
    p = np.clip(np.where(lay.on_p, lay.p * fp, lay.p), 0.0, 1.0)
    m = np.maximum(np.where(lay.on_f, lay.m * ff, lay.m), 0.0)
    frame = pl.DataFrame({"cell": lay.cell, "p": p, "m": m, "theta": lay.theta})
    g = frame.group_by("cell", "m", "theta", "p", maintain_order=True).agg(
        pl.len().alias("size")).sort("cell", "m", "theta", "p")
    fam = g.select("cell", "m", "theta").with_row_index("row").group_by(
        "cell", "m", "theta", maintain_order=True).agg(pl.col("row").first())
    start = np.append(fam["row"].to_numpy().astype(np.int64), g.height)
    k = lay.cells.size
    eb = np.bincount(lay.cell, weights=p, minlength=k) / np.maximum(lay.cells.n, 1)
    ef = np.bincount(lay.cell, weights=p * (1.0 + m), minlength=k) / np.maximum(lay.cells.n, 1)
    return Groups(g["size"].to_numpy().astype(np.int64), g["p"].to_numpy(), start,
                  fam["m"].to_numpy(), fam["theta"].to_numpy(),
                  fam["cell"].to_numpy().astype(np.int64), eb, ef)


def shards(n_sims: int) -> list[tuple[int, int, int]]:
    """(shard index, first replicate, replicates) of every shard."""
    return [(s, s * SHARD, min(SHARD, n_sims - s * SHARD))
            for s in range(-(-n_sims // SHARD))]


def draw_shard(g: Groups, n_cells: int, seed: int, shard: int, n_rep: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """One shard's (reoffenders, reoffences), each (n_rep, n_cells) int64."""
    first = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(shard, 0))))
    later = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(shard, 1))))
    reo = np.zeros((n_rep, n_cells), dtype=np.int64)
    reoff = np.zeros((n_rep, n_cells), dtype=np.int64)
    draw_cells(first, later, n_rep, g.size, g.p, g.start, g.m, g.theta, g.cell, reo, reoff)
    return reo, reoff


def draw(g: Groups, n_cells: int, n_sims: int, seed: int, threads: int | None = None,
         progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """All replicates, shard by shard on a pool of threads (the kernel releases the GIL);
    ``progress(k)`` is called in this thread as each shard of ``k`` replicates is done."""
    reo = np.zeros((n_sims, n_cells), dtype=np.int64)
    reoff = np.zeros((n_sims, n_cells), dtype=np.int64)
    plan = shards(n_sims)

    def one(job: tuple[int, int, int]) -> None:
        s, start, k = job
        a, b = draw_shard(g, n_cells, seed, s, k)
        reo[start:start + k] = a
        reoff[start:start + k] = b

    workers = threads or numba.get_num_threads()
    if workers <= 1 or len(plan) == 1:
        for job in plan:
            one(job)
            if progress is not None:
                progress(job[2])
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for job, _ in zip(plan, pool.map(one, plan), strict=True):
                if progress is not None:
                    progress(job[2])
    return reo, reoff
