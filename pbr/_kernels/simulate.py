"""Simulation draws: reoffenders and reoffences per cell, one shard of replicates.

The model (pbr.simulate, docs/methodology/simulation.md) is a hurdle model.  An offender
reoffends at all with probability ``p``; a reoffender commits ``1 + L`` proven
reoffences, ``L`` negative binomial with mean ``m`` and shape ``theta`` (Poisson where
``theta`` is infinite).  Offenders that share ``(p, m, theta)`` within a cell form a
group, and the kernel draws the group's sufficient statistics exactly:

* reoffenders ``R ~ Binomial(k, p)`` for a group of ``k`` (a Bernoulli draw by one
  uniform where ``k == 1``, the per-offender case);
* later reoffences ``Σ_{i<=R} L_i``: a sum of ``R`` independent NB(mean m, shape theta)
  variables sharing the success probability ``theta / (theta + m)`` is NB(mean ``R m``,
  shape ``R theta``) (Johnson, Kemp and Kotz 2005, 5.1), and a sum of Poissons is
  Poisson(``R m``).

Two generators per shard: ``first`` for the reoffenders and ``later`` for the later
reoffences, so a change in ``m`` (a frequency effect, parking) leaves the reoffender
draws as they were (common random numbers).  The caller makes the generators from a
``numpy.random.SeedSequence`` per shard; each shard is drawn by one thread in a fixed
order, so neither the number of threads nor of workers changes a result.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["draw_cells"]


@njit(nogil=True, cache=True)
def draw_cells(first, later, n_rep, size, p, m, theta, cell, reoffenders, reoffences):
    """Draw ``n_rep`` replicates of every group into its cell's counts.

    ``size``, ``p``, ``m``, ``theta`` and ``cell`` are per group (int64, float64 x3,
    int64); ``reoffenders`` and ``reoffences`` are preallocated int64 arrays of shape
    (n_rep, cells), zeroed by the caller, which this kernel adds to.
    """
    groups = size.shape[0]
    for r in range(n_rep):
        for g in range(groups):
            k = size[g]
            if k <= 0:
                continue
            pg = p[g]
            if pg <= 0.0:
                hit = 0
            elif pg >= 1.0:
                hit = k
            elif k == 1:
                hit = 1 if first.random() < pg else 0
            else:
                hit = first.binomial(k, pg)
            if hit == 0:
                continue
            extra = 0
            mg = m[g]
            if mg > 0.0:
                tg = theta[g]
                if np.isinf(tg):
                    extra = later.poisson(hit * mg)
                else:
                    extra = later.negative_binomial(hit * tg, tg / (tg + mg))
            c = cell[g]
            reoffenders[r, c] += hit
            reoffences[r, c] += hit + extra
