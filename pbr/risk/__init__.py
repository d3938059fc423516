"""Actuarial risk scores for case-mix adjustment.

OGRS3 (:mod:`pbr.risk.ogrs3`): one- and two-year proven-reoffending probabilities from
static factors (Howard et al. 2009).  Baselines and case-mix adjustment
(:mod:`pbr.risk.baseline`, :mod:`pbr.risk.casemix`): the measure on a historic cohort and
a model of the baseline's behaviour (or a supplied OGRS score).

``compare_to_baseline`` and ``AdjustedComparison`` (the current cohort compared with the
baseline in additive or ratio form) moved to :mod:`pbr.compare.adjusted`; they are
re-exported here.  ``pbr.compare(result, baseline, model=...)`` is the general entry
point.

Examples
--------
>>> from pbr.risk import ogrs3_score
>>> p1, p2 = ogrs3_score(sex="male", previous_sanctions=1, offence_category="violence",
...                      age=20, age_at_conviction=20, age_at_first_sanction=20)
>>> round(p2, 4)
0.4865
"""

from __future__ import annotations

from pbr.compare.adjusted import AdjustedComparison, compare_to_baseline
from pbr.risk.baseline import Baseline, BaselineGroup
from pbr.risk.casemix import CaseMixModel, casemix_score, fit_casemix
from pbr.risk.ogrs3 import (
    AGE_BANDS,
    BAND_NAMES,
    OFFENCE_CATEGORIES,
    STATUSES,
    VARIANTS,
    Ogrs3Terms,
    age_on,
    ogrs3,
    ogrs3_band,
    ogrs3_coefficients,
    ogrs3_score,
    ogrs3_terms,
)

__all__ = [
    "AGE_BANDS",
    "BAND_NAMES",
    "OFFENCE_CATEGORIES",
    "STATUSES",
    "VARIANTS",
    "AdjustedComparison",
    "Baseline",
    "BaselineGroup",
    "CaseMixModel",
    "Ogrs3Terms",
    "age_on",
    "casemix_score",
    "compare_to_baseline",
    "fit_casemix",
    "ogrs3",
    "ogrs3_band",
    "ogrs3_coefficients",
    "ogrs3_score",
    "ogrs3_terms",
]
