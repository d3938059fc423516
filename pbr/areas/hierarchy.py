"""Area hierarchies: local units rolled up to PCC areas, contract package areas, regions.

An :class:`AreaHierarchy` is a table with one row per unit of the lowest level and one
column per level, from the lowest to the highest, e.g. ``csp`` (community safety
partnership or local authority) -> ``pcc_area`` -> ``package_area`` -> ``region``.
Validation (docs/methodology/local.md, H1-H3):

* H1 every level column is present and has no empty value;
* H2 each unit of the lowest level appears once;
* H3 the levels nest: each unit of a level belongs to exactly one unit of every higher
  level (a PCC area in two package areas is refused, naming both).

:meth:`AreaHierarchy.attach` adds the higher levels to any frame that carries the lowest
level, so that ``summary(by=...)``, comparisons and statements can be cut at any level;
:meth:`AreaHierarchy.shares` reports, for a unit of a higher level, the share of each
unit below it (a contract package area spanning several PCC areas).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import polars as pl

from pbr.data import as_frame
from pbr.errors import SchemaError, SpecError

__all__ = ["AreaHierarchy", "example_hierarchy"]


@dataclass(frozen=True)
class AreaHierarchy:
    """A validated area hierarchy, lowest level first.

    Examples
    --------
    >>> h = AreaHierarchy.from_frame(
    ...     {"csp": ["a", "b", "c"], "pcc_area": ["P1", "P1", "P2"],
    ...      "region": ["R", "R", "R"]}, levels=["csp", "pcc_area", "region"])
    >>> h.parent("pcc_area", "P2", "region")
    'R'
    >>> h.children("region", "R", "pcc_area")
    ('P1', 'P2')
    """

    frame: pl.DataFrame
    levels: tuple[str, ...]

    @classmethod
    def from_frame(cls, data: Any, *, levels: Sequence[str]) -> AreaHierarchy:
        """Validate a hierarchy table (rules H1-H3).

        Parameters
        ----------
        data
            A polars or pandas frame (or a dict of columns), one row per lowest unit.
        levels
            The level columns, lowest first (at least one).
        """
        levels = tuple(levels)
        if not levels or len(set(levels)) != len(levels):
            raise SpecError(f"area hierarchy: levels must be distinct column names, lowest "
                            f"first; got {list(levels)}")
        df = as_frame(data, "areas")
        missing = [lv for lv in levels if lv not in df.columns]
        if missing:
            raise SchemaError(f"area hierarchy: missing level column(s) {missing}; columns "
                              f"present: {', '.join(df.columns[:20])}. Fix: name the levels "
                              "as your columns, lowest first")
        df = df.select([pl.col(lv).cast(pl.String) for lv in levels])
        for lv in levels:
            empty = df[lv].is_null() | (df[lv].str.strip_chars() == "")
            if empty.any():
                row = int(empty.arg_max() or 0)
                raise SchemaError(f"area hierarchy: level {lv!r} is empty at row {row} "
                                  f"(0-based): {df.row(row, named=True)}. Fix: every unit "
                                  "needs a parent at every level")
        dup = df[levels[0]].is_duplicated()
        if dup.any():
            unit = df.filter(dup)[levels[0]][0]
            raise SchemaError(f"area hierarchy: unit {unit!r} of level {levels[0]!r} appears "
                              "on more than one row; list each lowest unit once")
        for i, lv in enumerate(levels[:-1]):
            for up in levels[i + 1:]:
                multi = (df.group_by(lv).agg(pl.col(up).unique().sort())
                         .filter(pl.col(up).list.len() > 1))
                if multi.height:
                    unit, parents = multi.sort(lv).row(0)
                    raise SchemaError(
                        f"area hierarchy: {lv} {unit!r} belongs to {len(parents)} {up} units "
                        f"({', '.join(parents)}); the levels must nest. Fix the table, or "
                        "drop the level that does not nest")
        return cls(df.sort(list(reversed(levels))), levels)

    def _level(self, level: str) -> None:
        if level not in self.levels:
            raise SpecError(f"area hierarchy: no level {level!r}; levels: "
                            f"{', '.join(self.levels)}")

    def units(self, level: str) -> tuple[str, ...]:
        """The units of one level, sorted."""
        self._level(level)
        return tuple(sorted(self.frame[level].unique().to_list()))

    def parent(self, level: str, unit: str, up: str) -> str:
        """The unit of level ``up`` that ``unit`` (of ``level``) belongs to."""
        self._level(level)
        self._level(up)
        if self.levels.index(up) < self.levels.index(level):
            raise SpecError(f"area hierarchy: {up!r} is below {level!r}, not above it")
        rows = self.frame.filter(pl.col(level) == unit)
        if rows.height == 0:
            raise SpecError(f"area hierarchy: no {level} unit {unit!r}")
        return str(rows[up][0])

    def children(self, level: str, unit: str, down: str) -> tuple[str, ...]:
        """The units of level ``down`` within ``unit`` (of ``level``)."""
        self._level(level)
        self._level(down)
        if self.levels.index(down) > self.levels.index(level):
            raise SpecError(f"area hierarchy: {down!r} is above {level!r}, not below it")
        rows = self.frame.filter(pl.col(level) == unit)
        if rows.height == 0:
            raise SpecError(f"area hierarchy: no {level} unit {unit!r}")
        return tuple(sorted(rows[down].unique().to_list()))

    def attach(self, data: Any, *, area: str, level: str | None = None) -> Any:
        """Add the levels above ``level`` to a frame or result whose ``area`` column holds
        units of ``level`` (default the lowest).

        Works on a polars/pandas frame and on any frozen result with a ``frame`` (a
        :class:`~pbr.MeasureResult`): a new result is returned whose ``summary(by=...)``
        can then group by any level. Units missing from the hierarchy are refused, named.
        """
        level = level or self.levels[0]
        self._level(level)
        above = self.levels[self.levels.index(level):]
        table = self.frame.select(list(above)).unique(level).rename({level: "__unit"})
        target = getattr(data, "frame", None)
        frame = as_frame(data if target is None else target, "data")
        if area not in frame.columns:
            raise SchemaError(f"attach: no column {area!r}; columns present: "
                              f"{', '.join(frame.columns[:20])}. Fix: pass area=")
        clash = [c for c in above[1:] if c in frame.columns]
        if clash:
            raise SchemaError(f"attach: the data already has column(s) {clash}; drop or rename "
                              "them first")
        units = frame[area].cast(pl.String)
        unknown = sorted(set(units.drop_nulls().unique().to_list()) - set(table["__unit"]))
        if unknown or units.null_count():
            what = (f"{len(unknown)} {level} unit(s) not in the hierarchy: {unknown[:10]}"
                    if unknown else f"{units.null_count()} row(s) with no {area}")
            raise SchemaError(f"attach: {what}. Fix: add them to the hierarchy table or "
                              "correct the area codes")
        out = frame.with_columns(units.alias("__unit")).join(
            table, on="__unit", how="left", maintain_order="left").drop("__unit")
        return out if target is None else replace(data, frame=out)

    def shares(self, data: Any, *, area: str, unit: str, level: str, down: str,
               weight: str | None = None) -> pl.DataFrame:
        """The share of each ``down`` unit within one ``level`` unit, e.g. each PCC area's
        share of a contract package area's cohort (``weight=None``: rows) or of a column
        (``weight="payment"``)."""
        frame = self.attach(data, area=area)
        frame = getattr(frame, "frame", frame)
        self.children(level, unit, down)  # validates the unit and the direction
        sub: pl.DataFrame = frame.filter(pl.col(level) == unit)
        w = pl.len().cast(pl.Float64) if weight is None else pl.col(weight).cast(
            pl.Float64).sum()
        out = sub.group_by(down).agg(w.alias("value")).sort(down)
        total = float(out["value"].sum())
        return out.with_columns((pl.col("value") / total if total else pl.lit(None))
                                .alias("share"))

    def __str__(self) -> str:
        parts = [f"{lv} ({self.frame[lv].n_unique()})" for lv in self.levels]
        return "AreaHierarchy: " + " -> ".join(parts)


def example_hierarchy() -> AreaHierarchy:
    """The synthetic hierarchy of the bundled example data (not real boundaries).

    The synthetic cohort's ``area`` codes (``P1-N``, ``P1-S``, ... : provider ``P1``'s
    north and south areas) are the lowest level; they roll up to four synthetic PCC
    areas, two contract package areas and one region.

    Examples
    --------
    >>> example_hierarchy().levels
    ('area', 'pcc_area', 'package_area', 'region')
    """
    areas = [f"P{p}-{s}" for p in range(1, 5) for s in ("N", "S")]
    pcc = {"P1-N": "PCC North", "P1-S": "PCC North", "P2-N": "PCC North",
           "P2-S": "PCC East", "P3-N": "PCC East", "P3-S": "PCC South",
           "P4-N": "PCC West", "P4-S": "PCC West"}
    package = {"PCC North": "Package A", "PCC East": "Package A",
               "PCC South": "Package B", "PCC West": "Package B"}
    return AreaHierarchy.from_frame(
        {"area": areas, "pcc_area": [pcc[a] for a in areas],
         "package_area": [package[pcc[a]] for a in areas],
         "region": ["Synthetic region"] * len(areas)},
        levels=["area", "pcc_area", "package_area", "region"])
