"""Thresholds of a contract's matched cohort from :func:`pbr.compare`'s interval.

:func:`group_thresholds` runs :func:`pbr.compare` on each cohort against its comparison
group and turns the interval of the difference ``[lo, hi]`` into thresholds on the
cohort's own value, ``actual - hi`` and ``actual - lo``.  It is a module of its own
because it calls :func:`pbr.compare`, which itself uses :mod:`pbr.compare.thresholds`:
kept apart, the package's imports form no cycle.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING

from pbr.compare.core import compare
from pbr.compare.thresholds import PLACES, level_of_z
from pbr.errors import ContractError, SpecError

if TYPE_CHECKING:
    import polars as pl

__all__ = ["GROUP_MEASURES", "group_thresholds"]

_Q = Decimal(1).scaleb(-PLACES)

#: contract measure -> (pbr.compare measure, scale to the contract's unit)
GROUP_MEASURES = {"binary_rate": ("binary", 100), "serious_rate": ("serious", 100),
                  "per_offender": ("frequency", 1), "per_100": ("frequency", 100),
                  "per_reoffender": ("per_reoffender", 1)}


def group_thresholds(treated: pl.DataFrame, controls: pl.DataFrame, by: str, measure: str,
                     weight: str | None, z: Decimal
                     ) -> dict[str, tuple[Decimal | None, Decimal | None, str]]:
    """Thresholds for a comparison group, from :func:`pbr.compare`'s interval.

    :func:`pbr.compare` gives the interval ``[lo, hi]`` of the difference (cohort minus
    weighted comparison group; normal approximation for rates, Welch for means,
    [Cave-2012] and [MoJ-JDL-2013]; the exact or score method for a small group, as each row's
    ``method`` says) at the two-sided level of ``z``.  The thresholds are ``actual - hi``
    and ``actual - lo``: the actual value lies below the lower threshold exactly when the
    whole interval lies below zero (a significant reduction).  ``lo`` and ``hi`` are in
    the contract's unit (per cent for rates: :data:`GROUP_MEASURES`), rounded half-even
    to :data:`PLACES` places.

    Each cohort is compared on its own.  A cohort :func:`pbr.compare` does not assess
    (``significant`` null: no interval, e.g. no variation in a frequency), cannot compare
    (nobody who reoffended, for ``per_reoffender``), or whose comparison group is empty
    gets ``(None, None, "not assessed: <reason>")``: no thresholds, never a zero-width or
    NaN interval.  A measure :func:`pbr.compare` has no form of gives ``{}``.

    Examples
    --------
    >>> import polars as pl
    >>> t = pl.DataFrame({"c": ["a"] * 200, "reoffended": [True] * 50 + [False] * 150,
    ...                   "reoffences": [1] * 50 + [0] * 150})
    >>> g = t.with_columns(reoffended=pl.Series([True] * 90 + [False] * 110))
    >>> lo, hi, how = group_thresholds(t, g, "c", "binary_rate", None,
    ...                                Decimal("1.959964"))["a"]
    >>> lo, hi
    (Decimal('-29.140664'), Decimal('-10.859336'))
    >>> how.split(" at")[0]
    'normal (both variance) interval of the difference'
    """
    import polars as pl

    from pbr.contract.outcome import as_decimal

    if measure not in GROUP_MEASURES:
        return {}
    name, scale = GROUP_MEASURES[measure]
    level = level_of_z(z)
    if not 0.5 <= level < 1.0:
        raise ContractError(f"comparator.significance_z: {z} gives a confidence level of "
                            f"{level:.4%}, which pbr.compare cannot use; give a z from 0.6745 "
                            "(50%) to 8, e.g. 1.96 for a two-sided 95% level")
    out: dict[str, tuple[Decimal | None, Decimal | None, str]] = {}
    labels = treated[by].unique().sort().to_list()
    for label in labels:
        mine = treated.filter(pl.col(by) == label)
        theirs = controls.filter(pl.col(by) == label)
        who = [("the cohort", mine), ("the comparison group", theirs if weight is None
                                      else theirs.filter(pl.col(weight) > 0))]
        empty = next((w for w, f in who if (f.filter(pl.col("reoffended")) if
                                            measure == "per_reoffender" else f).height == 0),
                     None)
        if empty is not None:
            out[str(label)] = (None, None, f"not assessed: nobody in {empty}"
                               + (" reoffended" if measure == "per_reoffender" else
                                  " (with a weight above 0)"))
            continue
        try:
            res = compare(mine, theirs, measure=name, weights=weight, by=by, level=level)
        except SpecError as exc:   # a group pbr.compare cannot compare: said, not guessed
            out[str(label)] = (None, None, f"not assessed: {exc}")
            continue
        row = res.frame.row(0, named=True)
        lo_f, hi_f = row["lower"], row["upper"]
        if row["significant"] is None or lo_f is None or hi_f is None \
                or math.isnan(lo_f) or math.isnan(hi_f) or not hi_f > lo_f:
            reason = row["conclusion"] or "not assessed: no interval"
            if not reason.startswith("not assessed"):
                reason = f"not assessed: {row['note'] or 'the interval has zero width'}"
            out[str(label)] = (None, None, f"{row['method']} interval of the difference: "
                               f"{reason}")
            continue
        lo, hi = (as_decimal("value", float(lo_f)) * scale,
                  as_decimal("value", float(hi_f)) * scale)
        how = f"{row['method']} interval of the difference at level {level:.4f}"
        if row["note"]:
            how += f" ({row['note']})"
        out[str(label)] = (lo.quantize(_Q, ROUND_HALF_EVEN), hi.quantize(_Q, ROUND_HALF_EVEN),
                           how)
    return out
