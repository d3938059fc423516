"""Inference for reoffending measures: intervals, tests, survival curves and power.

==================  ==========================================================================
module              what
==================  ==========================================================================
``interval``        :class:`Interval`, the result of every test; sidedness and z values
``proportions``     binary rates: normal (three variance forms), Wilson/Newcombe, exact
``means``           frequency and severity: Welch's t on per-offender values, weighted
``did``             difference in differences of four groups (additive or ratio form)
``rates``           Poisson and negative binomial rate ratios; NB2 fitted by Newton
``bootstrap``       seeded offender-level and matched-set (cluster) bootstrap
``multiplicity``    Holm and Benjamini-Hochberg adjusted p-values
``survival``        Kaplan-Meier (R ``survfit`` conventions), time to first reoffence
``logrank``         log-rank test between groups (R ``survdiff``)
``mcf``             mean cumulative function of reoffences (recurrent events)
``power``           minimum detectable change and cohort size, per contract area
==================  ==========================================================================

Methods, formulas and sources: docs/methodology/inference.md.
"""

from __future__ import annotations

from pbr.stats.bootstrap import bootstrap_interval, bootstrap_replicates
from pbr.stats.did import diff_in_diff
from pbr.stats.interval import Interval, z_value
from pbr.stats.logrank import LogRankResult, logrank_test
from pbr.stats.mcf import MeanCumulativeFunction, mean_cumulative_function, reoffence_times
from pbr.stats.means import diff_means, group_mean
from pbr.stats.multiplicity import adjust_p, benjamini_hochberg, holm
from pbr.stats.power import (
    mde_binary,
    mde_frequency,
    power_binary,
    power_frequency,
    power_table,
    sample_size_binary,
    sample_size_frequency,
)
from pbr.stats.proportions import (
    binomial_thresholds,
    clopper_pearson,
    diff_proportions,
    normal_approximation_problem,
    wilson,
)
from pbr.stats.rates import NegBinFit, negbin_fit, rate_ratio
from pbr.stats.survival import SurvivalCurves, kaplan_meier, time_to_first

__all__ = [
    "Interval",
    "LogRankResult",
    "MeanCumulativeFunction",
    "NegBinFit",
    "SurvivalCurves",
    "adjust_p",
    "benjamini_hochberg",
    "binomial_thresholds",
    "bootstrap_interval",
    "bootstrap_replicates",
    "clopper_pearson",
    "diff_in_diff",
    "diff_means",
    "diff_proportions",
    "group_mean",
    "holm",
    "kaplan_meier",
    "logrank_test",
    "mde_binary",
    "mde_frequency",
    "mean_cumulative_function",
    "negbin_fit",
    "normal_approximation_problem",
    "power_binary",
    "power_frequency",
    "power_table",
    "rate_ratio",
    "reoffence_times",
    "sample_size_binary",
    "sample_size_frequency",
    "time_to_first",
    "wilson",
    "z_value",
]
