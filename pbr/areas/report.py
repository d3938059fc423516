"""``pbr.area_report``: the oversight view of one PCC area or region from one call.

For one unit of a hierarchy level it gathers (docs/methodology/local.md, O1):

* the cohort: members whose area rolls up to the unit, overall and by the level below;
* the measures (``MeasureResult.summary``) overall and by the level below;
* the comparison against a comparator (``pbr.compare``), overall and by the level below;
* the payments: each statement line split between the areas below by their members
  (largest remainder, to the contract's quantum), and the unit's part;
* the attributed shares: the providers' shares of the unit's members
  (:func:`pbr.attribute`);
* recorded crime: the change in each area below against the baseline period.

Each section is a polars frame in :attr:`AreaReport.sections`; ``str(report)`` prints
them as text.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import polars as pl

from pbr.areas.crime import RecordedCrime, crime_change
from pbr.areas.hierarchy import AreaHierarchy
from pbr.attribution.claims import split_by_shares
from pbr.attribution.core import Attribution
from pbr.compare import compare
from pbr.errors import SpecError

__all__ = ["AreaReport", "area_report"]


@dataclass(frozen=True)
class AreaReport:
    """One unit's oversight view: a frame per section and the notes.

    Attributes
    ----------
    level, unit, down
        The level and unit reported, and the level below it used for the breakdowns.
    sections
        ``{"cohort", "measures", "comparison", "payments", "attribution", "crime"}``;
        only the sections whose inputs were given.
    notes
        What the report could not show, and why.
    """

    level: str
    unit: str
    down: str
    sections: dict[str, pl.DataFrame] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        lines = [f"Area report: {self.level} {self.unit!r} (broken down by {self.down})"]
        with pl.Config(tbl_rows=50, tbl_cols=20, tbl_width_chars=120,
                       tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):
            for name, frame in self.sections.items():
                lines.append(f"\n{name}:")
                lines.append(str(frame))
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)


def area_report(result: Any, hierarchy: AreaHierarchy, *, level: str, unit: str,
                area: str = "area", down: str | None = None, comparator: Any = None,
                measure: str = "binary", statement: Any = None,
                cohort_column: str = "cohort_period", attribution: Attribution | None = None,
                crime: RecordedCrime | None = None, baseline: str | None = None,
                current: str | None = None) -> AreaReport:
    """The oversight view of one unit (a PCC area, a region) from one call.

    Parameters
    ----------
    result
        A :class:`~pbr.MeasureResult` whose ``area`` column holds the hierarchy's lowest
        level.
    hierarchy, level, unit
        The hierarchy and the unit reported (e.g. ``level="pcc_area", unit="PCC North"``).
    down
        The level of the breakdowns (default: the level just below ``level``).
    comparator, measure
        Passed to :func:`pbr.compare` (overall and ``by=down``).
    statement, cohort_column
        A :class:`~pbr.PaymentStatement` of the contract that covers the unit; each line
        is split between the ``down`` areas by their members in the line's cohort.
    attribution
        Provider shares (:func:`pbr.attribute`) of the cohort; summed over the unit.
    crime, baseline, current
        Recorded crime and the two periods compared.

    Examples
    --------
    >>> import pbr
    >>> from pbr.areas import example_hierarchy
    >>> data = pbr.synth.generate(1_000, seed=1)
    >>> res = pbr.measure(data.cohort, data.events)
    >>> rep = area_report(res, example_hierarchy(), level="pcc_area", unit="PCC North")
    >>> rep.sections["measures"]["n"][0] == rep.sections["cohort"]["n"].sum()
    True
    """
    levels = hierarchy.levels
    if level not in levels:
        raise SpecError(f"area_report: no level {level!r}; levels: {', '.join(levels)}")
    i = levels.index(level)
    if down is None:
        if i == 0:
            raise SpecError(f"area_report: {level!r} is the lowest level; give down= or report "
                            "a higher level")
        down = levels[i - 1]
    if down not in levels or levels.index(down) >= i:
        raise SpecError(f"area_report: down={down!r} must be a level below {level!r}")
    if unit not in hierarchy.units(level):
        raise SpecError(f"area_report: no {level} unit {unit!r}; units: "
                        f"{', '.join(hierarchy.units(level))}")
    up = hierarchy.attach(result, area=area)
    sub = replace(up, frame=up.frame.filter(pl.col(level) == unit))
    notes: list[str] = []
    sections: dict[str, pl.DataFrame] = {}
    sections["cohort"] = (sub.frame.group_by(down).agg(pl.len().alias("n")).sort(down)
                          .with_columns((pl.col("n") / pl.col("n").sum()).alias("share")))
    overall = sub.summary().with_columns(pl.lit(f"{unit} (all)").alias(down))
    parts = sub.summary(by=down)
    sections["measures"] = pl.concat([overall.select(parts.columns), parts],
                                     how="vertical_relaxed")
    if sub.frame.height == 0:
        notes.append(f"no cohort member rolls up to {level} {unit!r}")
    if comparator is not None and sub.frame.height:
        whole = compare(sub, comparator, measure=measure).frame
        by = compare(sub, comparator, measure=measure, by=down).frame
        both = pl.concat(
            [whole.with_columns(pl.lit(f"{unit} (all)").alias(down)).select(by.columns), by],
            how="vertical_relaxed")
        keep = [c for c in (down, "n", "cohort_value", "comparator_value", "estimate",
                            "lower", "upper", "p_value", "conclusion") if c in both.columns]
        sections["comparison"] = both.select(keep)
    if statement is not None:
        shares = up.frame.select("offender_id", pl.col(down).alias("provider"),
                                 pl.lit(1).alias("share_num"), pl.lit(1).alias("share_den"))
        split = split_by_shares(statement, shares, cohorts=up.frame,
                                cohort_column=cohort_column, rule="areas")
        mine = set(hierarchy.children(level, unit, down))
        table = (split.filter(pl.col("provider").is_in(list(mine)))
                 .rename({"provider": down}))
        total = sum((Decimal(a) for a in table["amount"].to_list()), Decimal(0))
        sections["payments"] = table
        notes.append(f"the unit's part of the statement: {total} {statement.currency} of "
                     f"{statement.total} (lines split by members, largest remainder)")
    if attribution is not None:
        ids = sub.frame["offender_id"].implode()
        a = attribution.frame.filter(pl.col("offender_id").is_in(ids))
        sections["attribution"] = (a.group_by("provider")
                                   .agg(pl.col("share").sum().alias("members"),
                                        pl.col("offender_id").n_unique().alias("offenders"))
                                   .sort("provider"))
    if crime is not None:
        if baseline is None or current is None:
            raise SpecError("area_report: crime= needs baseline= and current= periods")
        ch = crime_change(crime, baseline=baseline, current=current, hierarchy=hierarchy,
                          level=down)
        mine = set(hierarchy.children(level, unit, down))
        sections["crime"] = ch.frame.filter(pl.col("area").is_in(list(mine))).select(
            "area", "offence_group", "count_baseline", "count_current", "rate_baseline",
            "rate_current", "rate_ratio", "lower", "upper", "p_value", "funnel")
    return AreaReport(level, unit, down, sections, tuple(notes))
