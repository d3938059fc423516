"""Statistical disclosure control for published tables (docs/methodology/publication.md).

==============  ==================================================================
module          owns
==============  ==================================================================
``rules``       :class:`DisclosureRules` (threshold, protection, rate rules,
                rounding, the symbol) and the named presets
``cube``        a table with its margins as one array: the threshold rule, secondary
                suppression and the LP audit of every withheld cell
``table``       :func:`suppress` on a frame (one row per group, or a cross-tab) and
                :class:`SuppressedTable` (published frame, status, audit, explain)
==============  ==================================================================
"""

from __future__ import annotations

from pbr.suppress.cube import audit_intervals, extend, primary_mask, secondary_suppression
from pbr.suppress.rules import PRESETS, DisclosureRules, resolve_rules
from pbr.suppress.table import SuppressedTable, suppress

__all__ = ["PRESETS", "DisclosureRules", "SuppressedTable", "audit_intervals", "extend",
           "primary_mask", "resolve_rules", "secondary_suppression", "suppress"]
