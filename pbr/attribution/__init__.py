"""Responsibility and attribution: which provider a result belongs to.

==================  ===============================================================
module              owns
==================  ===============================================================
``spells``          :class:`ProviderSpells`: the validated provider-spells table
``core``            :func:`attribute` and :class:`Attribution` (rules index, last,
                    time_share, shapley), :func:`pathway_values`
``shapley``         exact Shapley values for small coalitions
``claims``          :func:`split_statement` (several providers paid from one
                    statement), :func:`double_claims` (one outcome, two contracts)
==================  ===============================================================

Every rule and its source: docs/methodology/local.md.
"""

from __future__ import annotations

from pbr.attribution.claims import double_claims, split_by_shares, split_statement, totals
from pbr.attribution.core import (
    RULES,
    UNATTRIBUTED,
    Attribution,
    as_value,
    attribute,
    pathway_values,
)
from pbr.attribution.shapley import MAX_PLAYERS, shapley_values
from pbr.attribution.spells import ProviderSpells

__all__ = ["MAX_PLAYERS", "RULES", "UNATTRIBUTED", "Attribution", "ProviderSpells", "as_value",
           "attribute", "double_claims", "pathway_values", "shapley_values", "split_by_shares",
           "split_statement", "totals"]
