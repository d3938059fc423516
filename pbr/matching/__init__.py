"""Matched comparison groups: propensity model, matching, balance, effects, sensitivity.

``pbr.match(data, treatment, covariates, ...)`` -> :class:`MatchResult`;
``result.balance()`` -> :class:`BalanceResult`; ``result.effect(outcomes, outcome)`` ->
:class:`EffectResult`; :func:`rosenbaum_bounds` and :func:`e_value` for sensitivity.
Every rule and its source: docs/methodology/matching.md.
"""

from __future__ import annotations

from pbr.matching.balance import BalanceResult, balance
from pbr.matching.effects import EffectResult, estimate_effect
from pbr.matching.match import match
from pbr.matching.result import MatchResult
from pbr.matching.sensitivity import e_value, rosenbaum_binary, rosenbaum_bounds
from pbr.matching.spec import MatchSpec

__all__ = ["BalanceResult", "EffectResult", "MatchResult", "MatchSpec", "balance",
           "e_value", "estimate_effect", "match", "rosenbaum_binary", "rosenbaum_bounds"]
