"""Actuarial risk scores for case-mix adjustment.

Currently OGRS3 (:mod:`pbr.risk.ogrs3`): one- and two-year proven-reoffending
probabilities from static factors (Howard et al. 2009).

Examples
--------
>>> from pbr.risk import ogrs3_score
>>> p1, p2 = ogrs3_score(sex="male", previous_sanctions=1, offence_category="violence",
...                      age=20, age_at_conviction=20, age_at_first_sanction=20)
>>> round(p2, 4)
0.4865
"""

from __future__ import annotations

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
    "Ogrs3Terms",
    "age_on",
    "ogrs3",
    "ogrs3_band",
    "ogrs3_coefficients",
    "ogrs3_score",
    "ogrs3_terms",
]
