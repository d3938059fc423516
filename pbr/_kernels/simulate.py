"""Simulation draws: reoffenders and reoffences per cell, one shard of replicates.

The model (pbr.simulate, docs/methodology/simulation.md) is a hurdle model.  An offender
reoffends at all with probability ``p``; a reoffender commits ``1 + L`` proven
reoffences, ``L`` negative binomial with mean ``m`` and shape ``theta`` (Poisson where
``theta`` is infinite).  Offenders that share ``(p, m, theta)`` within a cell form a
group, the groups of a cell sharing ``(m, theta)`` a family, and the kernel draws the
sufficient statistics exactly:

* reoffenders ``R ~ Binomial(k, p)`` for a group of ``k`` (a Bernoulli draw by one
  uniform where ``k == 1``, the per-offender case);
* later reoffences ``Σ_{i<=R} L_i`` of a family's ``R`` reoffenders, one draw: a sum
  of ``R`` independent NB(mean m, shape theta) variables sharing the success
  probability ``theta / (theta + m)`` is NB(mean ``R m``, shape ``R theta``)
  ([Johnson-Kemp-Kotz-2005], 5.1), and a sum of Poissons is Poisson(``R m``).

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
def draw_cells(first, later, n_rep, size, p, start, m, theta, cell, reoffenders, reoffences):
    """Draw ``n_rep`` replicates of every family into its cell's counts.

    A family is the offenders of one cell sharing ``(m, theta)``: groups
    ``start[f]:start[f + 1]`` (``size`` and ``p`` per group, int64 and float64), whose
    reoffenders are drawn group by group and whose later reoffences are one draw from
    the family's total.  ``m``, ``theta`` and ``cell`` are per family; ``reoffenders``
    and ``reoffences`` are preallocated int64 arrays of shape (n_rep, cells), zeroed by
    the caller, which this kernel adds to.
    """
    families = m.shape[0]
    for r in range(n_rep):
        for f in range(families):
            hits = 0
            for g in range(start[f], start[f + 1]):
                k = size[g]
                pg = p[g]
                if k <= 0 or pg <= 0.0:
                    continue
                if pg >= 1.0:
                    hits += k
                elif k == 1:
                    if first.random() < pg:
                        hits += 1
                else:
                    hits += first.binomial(k, pg)
            if hits == 0:
                continue
            extra = 0
            mf = m[f]
            if mf > 0.0:
                tf = theta[f]
                if np.isinf(tf):
                    extra = later.poisson(hits * mf)
                else:
                    extra = later.negative_binomial(hits * tf, tf / (tf + mf))
            c = cell[f]
            reoffenders[r, c] += hits
            reoffences[r, c] += hits + extra
