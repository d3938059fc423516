"""Comparison: one model of a cohort's measure against its counterfactual.

* :class:`ComparisonSpec` (:mod:`pbr.compare.spec`): the comparator kind (fixed baseline,
  case-mix adjusted baseline, matched comparison group, difference-in-differences, none),
  the measures, the form (additive or ratio), the test, the confidence level (0.95),
  the sides and the minimum n.  Schemes and contracts carry one.
* :data:`MEASURES` (:mod:`pbr.compare.registry`): the one table of measure names, units
  (rates are proportions) and directions.
* :func:`compare` (:mod:`pbr.compare.core`) -> :class:`ComparisonResult`
  (:mod:`pbr.compare.result`), whose :meth:`~ComparisonResult.outcomes` feed
  :func:`pbr.pay`.
* :mod:`pbr.compare.thresholds`: the significance thresholds around a baseline (CRC) and
  from a comparison group's interval, in exact decimals for contracts.

Sources: docs/methodology/comparison.md and inference.md.
"""

from pbr.compare.core import compare
from pbr.compare.registry import MEASURES, MeasureInfo, measure_info
from pbr.compare.result import ComparisonResult
from pbr.compare.spec import ComparisonSpec

__all__ = ["MEASURES", "ComparisonResult", "ComparisonSpec", "MeasureInfo", "compare",
           "measure_info"]
