"""Areas: hierarchies (local unit -> PCC area -> contract package area -> region) and
recorded crime by area (rates, change against a baseline, funnel limits).

==================  ===============================================================
module              owns
==================  ===============================================================
``hierarchy``       :class:`AreaHierarchy` (validated, nested levels; ``attach``,
                    ``shares``), :func:`example_hierarchy` (synthetic)
``crime``           :class:`RecordedCrime`, :func:`crime_rates`, :func:`crime_change`,
                    :func:`funnel_limits`, exact Poisson intervals
``report``          :func:`area_report`: one unit's oversight view
==================  ===============================================================

Every rule and its source: docs/methodology/local.md.
"""

from __future__ import annotations

from pbr.areas.crime import (
    CrimeChange,
    RecordedCrime,
    crime_change,
    crime_rates,
    funnel_limits,
    poisson_interval,
    rate_ratio_interval,
)
from pbr.areas.hierarchy import AreaHierarchy, example_hierarchy
from pbr.areas.report import AreaReport, area_report

__all__ = ["AreaHierarchy", "AreaReport", "CrimeChange", "RecordedCrime", "area_report",
           "crime_change", "crime_rates", "example_hierarchy", "funnel_limits",
           "poisson_interval", "rate_ratio_interval"]
