"""Provider spells: who worked with an offender, in what role, from when to when.

A spell is one row ``(offender_id, provider, start, end, role)``: ``start`` and ``end``
are dates, both inclusive; an empty ``end`` means the spell is still open (it runs to
the end of any window it is used with). ``role`` names the kind of work (``custody``,
``community``, ``resettlement``, ...); it is optional and defaults to ``""``.

Validation follows the other inputs (:mod:`pbr.data`): a missing column, a column of the
wrong type or a bad row raises :class:`~pbr.SchemaError` naming the column, the row and
the fix; with ``on_invalid="exclude"`` the bad rows are left out and counted with their
rule and reason in :attr:`ProviderSpells.exclusions`.

Rules (docs/methodology/local.md, SP1-SP4):

* SP1 ``offender_id``, ``provider`` and ``start`` are required on every row
  (``missing_offender_id``, ``missing_provider``, ``missing_start``);
* SP2 a date that is not a date (``bad_start``, ``bad_end``);
* SP3 ``end`` before ``start`` (``end_before_start``);
* SP4 two spells of one offender with the same provider and role that overlap are
  refused (``overlapping_spells``): one of them is a duplicate or a data error and pbr
  will not guess which. Spells of *different*
  providers or roles may overlap (a custody spell beside a resettlement spell).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

from pbr.data import Exclusion, Exclusions, as_frame
from pbr.errors import SchemaError

__all__ = ["ROLES", "ProviderSpells", "apply_rules", "date_column"]

#: the columns of a spells table, in order
ROLES = ("offender_id", "provider", "start", "end", "role")
_REQUIRED = ("offender_id", "provider", "start")
_ROW = "__row"


def date_column(df: pl.DataFrame, col: str, source: str) -> tuple[pl.DataFrame, pl.Series]:
    """Cast ``col`` to Date; return the frame and a mask of strings that are not dates."""
    dtype = df.schema[col]
    none = pl.Series(np.zeros(df.height, dtype=bool))
    if dtype == pl.Date:
        return df, none
    if isinstance(dtype, pl.Datetime):
        return df.with_columns(pl.col(col).dt.date()), none
    if dtype == pl.Null:
        return df.with_columns(pl.col(col).cast(pl.Date)), none
    if dtype == pl.String or isinstance(dtype, pl.Categorical):
        raw = df[col].cast(pl.String).str.strip_chars()
        parsed = raw.str.to_date("%Y-%m-%d", strict=False)
        bad = (raw.is_not_null() & (raw != "") & parsed.is_null()).fill_null(False)
        return df.with_columns(parsed.alias(col)), bad.cast(pl.Boolean)
    raise SchemaError(
        f"spells: column {source!r} (role {col}) has type {dtype}; expected a date. Fix: give "
        "pl.Date / datetime values or ISO 'YYYY-MM-DD' strings")


@dataclass(frozen=True)
class ProviderSpells:
    """A validated table of provider spells.

    Build it with :meth:`from_frame`; :attr:`frame` has the columns ``offender_id``,
    ``provider``, ``start``, ``end`` (null when open), ``role`` and ``row`` (the 0-based
    row of the input table), sorted by offender, start, provider and role.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> df = pl.DataFrame({"offender_id": [1, 1], "provider": ["A", "B"],
    ...                    "start": [dt.date(2020, 1, 1), dt.date(2020, 3, 1)],
    ...                    "end": [dt.date(2020, 2, 29), None]})
    >>> spells = ProviderSpells.from_frame(df)
    >>> spells.frame.height, spells.providers
    (2, ('A', 'B'))
    """

    frame: pl.DataFrame
    exclusions: Exclusions = field(default_factory=Exclusions)

    @classmethod
    def from_frame(cls, data: Any, *, offender_id: str = "offender_id",
                   provider: str = "provider", start: str = "start", end: str = "end",
                   role: str | None = "role",
                   on_invalid: Literal["raise", "exclude"] = "raise") -> ProviderSpells:
        """Validate a spells table (a polars or pandas frame).

        Parameters
        ----------
        data
            The table; other columns are ignored.
        offender_id, provider, start, end, role
            The user's column for each role. ``end`` may be absent (every spell open);
            ``role`` may be absent or ``None`` (every role ``""``).
        on_invalid
            ``"raise"`` (default) refuses a table with a bad row, naming the first;
            ``"exclude"`` leaves bad rows out and records them in :attr:`exclusions`.
        """
        if on_invalid not in ("raise", "exclude"):
            raise SchemaError(f"spells: on_invalid must be 'raise' or 'exclude', got "
                              f"{on_invalid!r}")
        df = as_frame(data, "spells")
        mapping: Mapping[str, str | None] = {"offender_id": offender_id, "provider": provider,
                                             "start": start, "end": end, "role": role}
        cols: dict[str, pl.Series] = {}
        for r in ROLES:
            src = mapping[r]
            if src is None or src not in df.columns:
                if r in _REQUIRED or (src is not None and src != r):
                    raise SchemaError(
                        f"spells: missing column {src!r} (role {r}); columns present: "
                        f"{', '.join(df.columns[:20])}. Fix: pass {r}='<your column>' to "
                        f"ProviderSpells.from_frame or rename the column to {r!r}")
                continue
            cols[r] = df[src].alias(r)
        out = pl.DataFrame(list(cols.values()))
        if "end" not in out.columns:
            out = out.with_columns(pl.lit(None, dtype=pl.Date).alias("end"))
        if "role" not in out.columns:
            out = out.with_columns(pl.lit("", dtype=pl.String).alias("role"))
        out = out.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias(_ROW))
        idt = out.schema["offender_id"]
        if isinstance(idt, pl.Categorical | pl.Enum):
            out = out.with_columns(pl.col("offender_id").cast(pl.String))
        elif idt.is_integer():
            out = out.with_columns(pl.col("offender_id").cast(pl.Int64))
        elif idt not in (pl.String, pl.Null):
            raise SchemaError(
                f"spells: column {offender_id!r} (offender_id) has type {idt}; expected "
                "integers or strings. Fix: cast it to Int64 or String")
        out = out.with_columns(pl.col("provider").cast(pl.String),
                               pl.col("role").cast(pl.String).fill_null(""))
        out, bad_start = date_column(out, "start", start)
        out, bad_end = date_column(out, "end", end)
        rules: list[tuple[str, str, pl.Series]] = [
            ("missing_offender_id", f"{offender_id} is missing", out["offender_id"].is_null()),
            ("missing_provider", f"{provider} is missing",
             out["provider"].is_null() | (out["provider"].str.strip_chars() == "")),
            ("bad_start", f"{start} is not a date (YYYY-MM-DD)", bad_start),
            ("missing_start", f"{start} is missing", out["start"].is_null() & ~bad_start),
            ("bad_end", f"{end} is not a date (YYYY-MM-DD)", bad_end),
            ("end_before_start", f"{end} is before {start}",
             (out["end"] < out["start"]).fill_null(False)),
        ]
        out, entries = apply_rules(out, rules, on_invalid, "spells",
                                   lambda r: _show(out, r, mapping))
        rows = _overlaps(out)
        if rows.size:
            if on_invalid == "raise":
                pair = out.filter(pl.col(_ROW).is_in(rows[:2].tolist()))
                raise SchemaError(
                    f"spells: {rows.size} row(s) overlap another spell of the same offender, "
                    f"provider and role (rule overlapping_spells); first rows "
                    f"{', '.join(str(r) for r in pair[_ROW].to_list())} (0-based): "
                    f"{_show(out, 0, mapping, pair)}. Fix: merge or correct the spells, or "
                    "pass on_invalid='exclude' to leave them all out")
            entries.append(Exclusion("spells", "overlapping_spells",
                                     "overlaps another spell of the same offender, provider "
                                     "and role", rows))
            out = out.filter(~pl.col(_ROW).is_in(rows.tolist()))
        out = (out.rename({_ROW: "row"})
               .select("offender_id", "provider", "start", "end", "role", "row")
               .sort("offender_id", "start", "provider", "role", "row"))
        return cls(out, Exclusions(tuple(entries)))

    @property
    def providers(self) -> tuple[str, ...]:
        """The providers named in the table, sorted."""
        return tuple(sorted(self.frame["provider"].unique().to_list()))

    def __len__(self) -> int:
        return self.frame.height

    def __str__(self) -> str:
        f = self.frame
        lines = [f"ProviderSpells: {f.height:,} spells of {f['offender_id'].n_unique():,} "
                 f"offenders, providers {', '.join(self.providers) or '-'}"]
        if len(self.exclusions):
            lines.append(str(self.exclusions))
        return "\n".join(lines)


def apply_rules(frame: pl.DataFrame, rules: list[tuple[str, str, pl.Series]],
                on_invalid: str, table: str, show: Callable[[int], str]
                ) -> tuple[pl.DataFrame, list[Exclusion]]:
    """Apply row rules ``(rule, reason, mask)`` in order: raise a SchemaError naming the
    first bad row (``show(row)`` prints it) or, with ``on_invalid="exclude"``, drop the
    rows and return one :class:`Exclusion` per rule broken (a row counted once, under
    the first rule it breaks)."""
    entries: list[Exclusion] = []
    drop = np.zeros(frame.height, dtype=bool)
    for rule, reason, mask in rules:
        m = mask.cast(pl.Boolean).fill_null(False).to_numpy().astype(bool) & ~drop
        if not m.any():
            continue
        rows = np.flatnonzero(m)
        if on_invalid == "raise":
            r0 = int(rows[0])
            raise SchemaError(
                f"{table}: {rows.size} row(s) break rule {rule} ({reason}); first at row "
                f"{r0} (0-based): {show(r0)}. Fix the rows, or pass on_invalid='exclude' to "
                "leave them out (they are counted)")
        entries.append(Exclusion(table, rule, reason, rows))
        drop |= m
    return frame.filter(pl.Series(~drop)), entries


def _show(df: pl.DataFrame, row: int, mapping: Mapping[str, str | None],
          pair: pl.DataFrame | None = None) -> str:
    part = pair if pair is not None else df.slice(row, 1)
    shown = []
    for rec in part.iter_rows(named=True):
        shown.append("{" + ", ".join(f"{mapping[k] or k}={rec[k]!s}" for k in ROLES
                                     if k in rec) + "}")
    return "; ".join(shown)


def _overlaps(df: pl.DataFrame) -> np.ndarray:
    """Input rows of spells overlapping an earlier spell with the same offender/provider/role."""
    if df.height < 2:
        return np.zeros(0, dtype=np.int64)
    s = (df.sort("offender_id", "provider", "role", "start", _ROW)
         .with_columns(pl.col("end").fill_null(pl.date(9999, 12, 31)).alias("__end")))
    prev_end = pl.col("__end").cum_max().shift(1).over("offender_id", "provider", "role")
    hit = s.filter(pl.col("start") <= prev_end)
    if hit.height == 0:
        return np.zeros(0, dtype=np.int64)
    keys = hit.select("offender_id", "provider", "role").unique()
    both = s.join(keys, on=["offender_id", "provider", "role"])
    # every spell of an overlapping chain: those overlapping a neighbour, before or after
    nxt = pl.col("start").shift(-1).over("offender_id", "provider", "role")
    prv = pl.col("__end").cum_max().shift(1).over("offender_id", "provider", "role")
    rows = both.filter((pl.col("__end") >= nxt).fill_null(False)
                       | (pl.col("start") <= prv).fill_null(False))[_ROW]
    return np.sort(rows.to_numpy().astype(np.int64))
