"""Equality impact of a measure, a comparison or a payment mechanism
(docs/methodology/equality.md).

==============  ==================================================================
module          owns
==============  ==================================================================
``groups``      the characteristic columns, missing values, the age bands
``ratios``      risk ratios (Katz log interval), ratios of means (delta method),
                differences of independent estimates
``core``        :func:`equality`: outcomes, disparities, effects, payment shares
``result``      :class:`EqualityResult` (frames, summary with publication mode,
                explain, text)
==============  ==================================================================
"""

from __future__ import annotations

from pbr.equality.core import equality
from pbr.equality.groups import AGE_BANDS, NOT_RECORDED, age_band
from pbr.equality.ratios import Ratio, difference, mean_ratio, risk_ratio
from pbr.equality.result import EqualityResult

__all__ = ["AGE_BANDS", "NOT_RECORDED", "EqualityResult", "Ratio", "age_band", "difference",
           "equality", "mean_ratio", "risk_ratio"]
