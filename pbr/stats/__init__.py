"""Inference for reoffending measures: intervals, tests, survival curves and power.

==================  ==========================================================================
module              what
==================  ==========================================================================
``interval``        :class:`Interval`, the result of every test; sidedness and z values
``proportions``     binary rates: normal (three variance forms), Wilson/Newcombe, exact
``means``           frequency and severity: Welch's t on per-offender values, weighted
``rates``           Poisson and negative binomial rate ratios (statsmodels)
``bootstrap``       seeded offender-level and matched-set (cluster) bootstrap
``multiplicity``    Holm and Benjamini-Hochberg adjusted p-values
``survival``        Kaplan-Meier (R ``survfit`` conventions), log-rank test
``mcf``             mean cumulative function of reoffences (recurrent events)
``power``           minimum detectable change and cohort size, per contract area
==================  ==========================================================================

Methods, formulas and sources: docs/methodology/inference.md.
"""

from __future__ import annotations

from pbr.stats.bootstrap import bootstrap_interval, bootstrap_replicates
from pbr.stats.interval import Interval, z_value
from pbr.stats.means import diff_means, group_mean
from pbr.stats.multiplicity import adjust_p, benjamini_hochberg, holm
from pbr.stats.proportions import clopper_pearson, diff_proportions, wilson
from pbr.stats.rates import rate_ratio

__all__ = [
    "Interval",
    "adjust_p",
    "benjamini_hochberg",
    "bootstrap_interval",
    "bootstrap_replicates",
    "clopper_pearson",
    "diff_means",
    "diff_proportions",
    "group_mean",
    "holm",
    "rate_ratio",
    "wilson",
    "z_value",
]
