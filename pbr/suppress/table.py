"""Disclosure control of a published table: :func:`suppress` and :class:`SuppressedTable`.

A table is read as *groups* (the key columns, ``by``) and *values*:

* **counts** of people (``n``, ``reoffenders``, ``reoffences``: whole numbers) form, one
  column at a time, a table over the keys with every margin assumed published (the
  overall figure, the figure per value of each key).  The threshold rule marks small
  counts (primary), :func:`~pbr.suppress.cube.secondary_suppression` adds complementary
  cells until the LP audit passes, and ``rounding`` rounds what is published.
* **rates** with a known numerator and denominator (``binary_rate`` =
  ``reoffenders / n``) are withheld when either count is withheld (publishing the rate
  and one count gives away the other) or when the numerator or denominator is small.
  A proportion whose numerator is not a column (``serious_rate``) gets its numerator
  derived (``round(rate x n)``) and treated as a count of its own.
* every other number (means, totals of days or severity points, p-values, intervals)
  is a **statistic of its group**: withheld when the group's size (its base count) is
  withheld or small.

Sources and the reasoning: docs/methodology/publication.md.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from pbr._frames import from_pandas, to_polars
from pbr._version import __version__
from pbr.errors import SchemaError, SpecError
from pbr.suppress.cube import audit_intervals as _audit
from pbr.suppress.cube import extend, primary_mask, secondary_suppression
from pbr.suppress.rules import DisclosureRules, resolve_rules

__all__ = ["KNOWN_BASES", "KNOWN_PARENTS", "KNOWN_RATES", "SuppressedTable", "suppress"]

#: rate column -> (numerator count column or None, denominator count column); a None
#: numerator of a proportion is derived as round(rate x denominator)
KNOWN_RATES: dict[str, tuple[str | None, str]] = {
    "binary_rate": ("reoffenders", "n"),
    "per_offender": ("reoffences", "n"),
    "per_100": ("reoffences", "n"),
    "per_reoffender": ("reoffences", "reoffenders"),
    "serious_rate": (None, "n"),
}
#: count column -> the count it is part of (a subset: complement rule and LP bounds)
KNOWN_PARENTS: dict[str, str] = {"reoffenders": "n"}
#: statistic column -> its base count (other statistics: ``n``)
KNOWN_BASES: dict[str, str] = {"mean_days_to_first": "reoffenders",
                               "median_days_to_first": "reoffenders"}
#: whole-number columns that are amounts, not counts of people (statistics of the group)
MAGNITUDES = frozenset({"custody_days", "severity_total", "comparator_n"})

PUBLISHED, PRIMARY, SECONDARY = "published", "primary", "secondary"
LINKED, SMALL_BASE, DEPENDENT = "linked", "small base", "dependent"
_KEY_TYPES = (pl.String, pl.Categorical, pl.Enum, pl.Boolean, pl.Date)


def _fingerprint(df: pl.DataFrame) -> str:
    return hashlib.sha256(df.write_csv().encode()).hexdigest()


@dataclass(frozen=True)
class SuppressedTable:
    """A table made safe to publish, with the reason for every value withheld.

    Attributes
    ----------
    frame
        The published table: the input's rows and columns, withheld values null and
        published counts rounded under the rules.
    status
        Same shape: the key columns and, per value column, ``published``, ``primary``
        (a small count), ``secondary`` (withheld so that a small count cannot be
        recovered from totals), ``linked`` (a rate whose count is withheld),
        ``small base`` (a rate on a small numerator or denominator) or ``dependent``
        (a statistic of a group whose size is withheld or small).
    audit
        One row per withheld count cell, margins included: the column, the cell, its
        true value, the interval [lower, upper] a reader can narrow it to from everything
        published (LP), the width and whether it meets the protection level.  It holds
        the true values: for the producer's records, **not** for publication.
    rules
        The :class:`DisclosureRules` applied.
    by, counts
        The key columns and the count columns.
    notes
        What the publisher must know (margins that must not be published elsewhere).
    provenance
        pbr version, the rules, the input's SHA-256.

    Examples
    --------
    >>> import polars as pl
    >>> t = suppress(pl.DataFrame({"area": ["A", "B", "C"], "n": [4, 9, 300]}))
    >>> t.status["n"].to_list(), t.protected
    (['primary', 'primary', 'published'], True)
    >>> print(t.explain({"area": "A"}, "n").splitlines()[1])
      a reader can narrow it to [0, 13] from what is published (width 13; protection 10: met)
    """

    frame: pl.DataFrame
    status: pl.DataFrame
    audit: pl.DataFrame
    rules: DisclosureRules
    by: tuple[str, ...]
    counts: tuple[str, ...]
    notes: tuple[str, ...] = ()
    provenance: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_frame(self) -> pl.DataFrame:
        """The published table (polars; withheld values null)."""
        return self.frame

    def to_pandas(self) -> Any:
        """The published table as a pandas DataFrame."""
        return self.frame.to_pandas()

    @property
    def protected(self) -> bool:
        """Whether every withheld cell meets the protection level under the LP audit."""
        return bool(self.audit["protected"].all()) if self.audit.height else True

    def summary(self) -> pl.DataFrame:
        """Values per column and status (``column``, ``status``, ``cells``)."""
        values = [c for c in self.status.columns if c not in self.by]
        if not values:
            return pl.DataFrame(schema={"column": pl.String, "status": pl.String,
                                        "cells": pl.Int64})
        long = self.status.select(values).unpivot(variable_name="column",
                                                  value_name="status")
        return (long.group_by(["column", "status"]).agg(pl.len().cast(pl.Int64)
                                                        .alias("cells"))
                .sort(["column", "status"]))

    def _row_index(self, row: int | dict[str, Any]) -> int:
        if isinstance(row, int):
            if not 0 <= row < self.frame.height:
                raise SpecError(f"row: 0 to {self.frame.height - 1}, got {row}")
            return row
        hit = self.status.with_row_index("_i").filter(pl.all_horizontal(
            [pl.col(k) == v for k, v in row.items()]))
        if hit.height != 1:
            raise SpecError(f"row: no single row with {row}")
        return int(hit["_i"][0])

    def explain(self, row: int | dict[str, Any], column: str) -> str:
        """Why a value is published or withheld, with its audited interval.

        ``row`` is a row number or the group's keys (``{"sex": "F"}``).
        """
        if column not in self.status.columns or column in self.by:
            names = ", ".join(c for c in self.status.columns if c not in self.by)
            raise SpecError(f"column: one of {names}")
        i = self._row_index(row)
        keys = ", ".join(f"{k}={self.status[k][i]}" for k in self.by) or "the table"
        st = self.status[column][i]
        r = self.rules
        why = {
            PUBLISHED: "published" + (f" (rounded to the nearest {r.rounding})"
                                      if r.rounding and column in self.counts else ""),
            PRIMARY: f"withheld: a count below the threshold {r.threshold} (or its "
                     "complement is)",
            SECONDARY: "withheld: so that a small count elsewhere cannot be recovered from "
                       "the totals (secondary suppression)",
            LINKED: "withheld: its numerator or denominator is withheld, and the rate "
                    "with the other count would give it away",
            SMALL_BASE: f"withheld: numerator below {r.rate_min_numerator} or denominator "
                        f"below {r.rate_min_denominator}",
            DEPENDENT: "withheld: a figure of a group whose size is withheld or below "
                       f"{r.rate_min_denominator}",
        }[st]
        lines = [f"{column} for {keys}: {why}"]
        if column in self.counts and st in (PRIMARY, SECONDARY):
            a = self.audit.filter((pl.col("column") == column) & (pl.col("row") == i))
            if a.height:
                x = a.row(0, named=True)
                up = "no upper limit" if not math.isfinite(x["upper"]) else f"{x['upper']:g}"
                lines.append(f"  a reader can narrow it to [{x['lower']:g}, {up}] from what "
                             f"is published (width {x['width']:g}; protection "
                             f"{r.protection}: {'met' if x['protected'] else 'NOT met'})")
        lines.append(f"  rules: {r}")
        return "\n".join(lines)

    def __str__(self) -> str:
        cols = self.frame.columns
        sym = self.rules.symbol
        body = []
        for i in range(self.frame.height):
            cells = []
            for c in cols:
                x = self.frame[c][i]
                if c not in self.by and self.status[c][i] != PUBLISHED:
                    cells.append(sym)
                elif x is None:
                    cells.append("-")
                elif isinstance(x, float):
                    cells.append(f"{x:.4g}")
                elif isinstance(x, int) and not isinstance(x, bool):
                    cells.append(f"{x:,}")
                else:
                    cells.append(str(x))
            body.append(cells)
        widths = [max(len(c), *(len(b[j]) for b in body)) if body else len(c)
                  for j, c in enumerate(cols)]
        out = [f"Disclosure control: {self.rules}"]
        out.append("  ".join(c.rjust(w) for c, w in zip(cols, widths, strict=True)))
        out += ["  ".join(v.rjust(w) for v, w in zip(b, widths, strict=True)) for b in body]
        out.append(f"{sym}: withheld to protect confidentiality")
        out += [f"note: {n}" for n in self.notes]
        return "\n".join(out)


# ---------------------------------------------------------------------------- inputs
def _check_counts(df: pl.DataFrame, col: str) -> np.ndarray:
    s = df[col]
    if not s.dtype.is_numeric():
        raise SchemaError(f"column {col!r}: counts must be numbers, got {s.dtype}; fix: "
                          "cast it, or leave it out of counts=")
    if s.null_count():
        row = int(s.is_null().arg_max() or 0)
        raise SchemaError(f"column {col!r}, row {row}: a count is missing; fix: fill it "
                          "(0 if none) or drop the row")
    v = s.cast(pl.Float64).to_numpy()
    bad = np.flatnonzero(~np.isfinite(v) | (v < 0) | (v != np.round(v)))
    if bad.size:
        r = int(bad[0])
        raise SchemaError(f"column {col!r}, row {r}: {s[r]!r} is not a count of people "
                          "(a whole number >= 0); fix: pass it as a statistic, not in counts=")
    return v


def _levels(df: pl.DataFrame, by: list[str]) -> tuple[list[list[Any]], np.ndarray]:
    levels, pos = [], []
    for k in by:
        vals = df[k].unique(maintain_order=False).to_list()
        lv = sorted((x for x in vals if x is not None), key=lambda x: (str(type(x)), x))
        if any(x is None for x in vals):
            lv.append(None)
        where = {x: j for j, x in enumerate(lv)}
        levels.append(lv)
        pos.append([where[x] for x in df[k].to_list()])
    return levels, np.array(pos, dtype=np.int64).T.reshape(df.height, len(by))


def _cell_label(by: list[str], levels: list[list[Any]], index: tuple[int, ...]) -> str:
    parts = [f"{k}={levels[d][i]}" if i < len(levels[d]) else f"{k}=total"
             for d, (k, i) in enumerate(zip(by, index, strict=True))]
    return ", ".join(parts) or "total"


def _round(v: np.ndarray, base: int) -> np.ndarray:
    return np.floor(v / base + 0.5) * base


# ---------------------------------------------------------------------------- suppress
def suppress(table: Any, rules: DisclosureRules | str | None = None, *,
             by: str | Sequence[str] | None = None, counts: Sequence[str] | None = None,
             rates: Mapping[str, tuple[str | None, str]] | None = None,
             bases: Mapping[str, str | Sequence[str]] | None = None,
             wide: bool = False) -> SuppressedTable:
    """Apply disclosure control to a table of counts and rates before publication.

    Parameters
    ----------
    table
        A polars or pandas DataFrame: one row per group (e.g. ``result.summary(by=...)``),
        or, with ``wide=True``, a cross-tabulation whose count columns are the second
        classification.
    rules
        :class:`DisclosureRules`, a preset name (``"threshold_10"``,
        ``"threshold_5_round_5"``, ``"round_5"``) or None for the default.
    by
        The key columns (default: the text, categorical, boolean and date columns; name
        a whole-number key such as a year here, or it is read as a count).
    counts
        Columns holding counts of people (default: the whole-number columns that are not
        keys and not amounts such as ``custody_days``).
    rates
        ``{rate: (numerator, denominator)}`` (numerator None: derived from the rate);
        pbr's summary columns are known (``binary_rate``, ``per_offender``, ...).
    bases
        ``{statistic: base count or counts}`` for statistics over a count other than
        ``n`` (withheld when any of them is withheld or small).
    wide
        The count columns are the categories of a second classification (a cross-tab).

    Returns
    -------
    SuppressedTable

    Raises
    ------
    SchemaError
        A count that is missing, negative or not whole; duplicate groups.
    SpecError
        An unknown column named; rates with ``wide=True``; more than three keys.

    Examples
    --------
    >>> import polars as pl
    >>> t = pl.DataFrame({"sex": ["F", "M"], "n": [6, 200], "reoffenders": [2, 60]})
    >>> out = suppress(t)
    >>> out.frame["n"].to_list()          # 6 is small; 200 would give it away from 206
    [None, None]
    >>> out.status["n"].to_list()
    ['primary', 'secondary']
    """
    rules = resolve_rules(rules)
    df = to_polars(from_pandas(table))
    keys = [by] if isinstance(by, str) else list(by) if by is not None else \
        [c for c in df.columns if isinstance(df.schema[c], _KEY_TYPES)]
    for k in keys:
        if k not in df.columns:
            raise SpecError(f"by: no column {k!r}; columns: {', '.join(df.columns)}")
    if not keys and df.height > 1:
        raise SpecError(f"by: the table has {df.height} rows and no key columns; name the "
                        "columns that identify a row, e.g. by=['year']")
    if len(keys) > 3:
        raise SpecError(f"by: at most three keys are audited together, got {keys}; fix: "
                        "publish two- or three-way tables")
    if df.height and keys and df.select(keys).is_duplicated().any():
        row = int(df.select(keys).is_duplicated().arg_max() or 0)
        raise SchemaError(f"row {row}: group {df.select(keys).row(row)} appears twice; one "
                          "row per group")
    if wide:
        return _wide(df, rules, keys, counts, rates)
    numeric = [c for c in df.columns if c not in keys and df.schema[c].is_numeric()]
    counts = [c for c in numeric if df.schema[c].is_integer() and c not in MAGNITUDES] \
        if counts is None else list(counts)
    for c in counts:
        if c not in df.columns:
            raise SpecError(f"counts: no column {c!r}; columns: {', '.join(df.columns)}")
    rate_map = {r: nd for r, nd in {**KNOWN_RATES, **(rates or {})}.items()
                if r in df.columns and nd[1] in counts
                and (nd[0] is None or nd[0] in counts)}
    for r, (num, den) in (rates or {}).items():
        for name in (r, num, den):
            if name is not None and name not in df.columns:
                raise SpecError(f"rates: no column {name!r} (in {r}: ({num}, {den}))")
        if r not in rate_map:
            raise SpecError(f"rates: {r!r}: its numerator and denominator must be count "
                            f"columns ({', '.join(counts)})")
    base_map: dict[str, list[str]] = {
        s: [b] if isinstance(b, str) else list(b)
        for s, b in {**KNOWN_BASES, **(bases or {})}.items()}
    for s, b in (bases or {}).items():
        if s not in df.columns or not base_map[s] or any(x not in counts
                                                         for x in base_map[s]):
            raise SpecError(f"bases: {s!r} -> {b!r}: give a column and one of the count "
                            f"columns ({', '.join(counts)})")
    # derived numerators of proportions given without their count
    work = df
    derived: dict[str, str] = {}
    for r, (num, den) in list(rate_map.items()):
        if num is None:
            name = f"_numerator_of_{r}"
            work = work.with_columns((pl.col(r) * pl.col(den)).round(0).fill_null(0)
                                     .cast(pl.Int64).alias(name))
            derived[r] = name
            rate_map[r] = (name, den)
    all_counts = [*counts, *derived.values()]
    values = {c: _check_counts(work, c) for c in all_counts}
    levels, pos = _levels(work, keys)
    shape = tuple(len(lv) for lv in levels)
    ext_shape = tuple(n + 1 for n in shape)
    present = np.zeros(shape, bool)
    if keys:
        present[tuple(pos.T)] = True
    fixed = np.zeros(ext_shape, bool)
    if keys:
        fixed[tuple(slice(0, n) for n in shape)] = ~present
    parents = {c: p for c, p in KNOWN_PARENTS.items() if c in values and p in values}
    for r, name in derived.items():
        parents.setdefault(name, rate_map[r][1])

    def inner(col: str) -> np.ndarray:
        arr = np.zeros(shape)
        if keys:
            arr[tuple(pos.T)] = values[col]
        elif work.height:
            arr = np.asarray(values[col].sum())
        return arr

    ext = {c: extend(inner(c)) for c in all_counts}
    masks: dict[str, np.ndarray] = {}
    primary: dict[str, np.ndarray] = {}
    audit_rows: list[dict[str, Any]] = []
    order = sorted(all_counts, key=lambda c: (c in parents, all_counts.index(c)))
    for c in order:
        v = ext[c]
        p = primary_mask(v, rules.threshold, zeros=rules.zeros)
        if rules.complement and c in parents:
            comp = ext[parents[c]] - v
            p |= (comp > 0) & (comp < rules.threshold)
        p &= ~fixed
        primary[c] = p
        upper = np.full(v.shape, np.inf)
        lower = np.zeros(v.shape)
        if c in parents and parents[c] in masks:
            par = parents[c]
            upper = np.where(masks[par], np.inf, ext[par])
        for child, par in parents.items():
            if par == c:   # published children bound the parent from below
                lower = np.maximum(lower, ext[child])
        if not keys:       # one figure: the threshold rule only
            masks[c] = p
            if bool(p):
                audit_rows.append({
                    "column": c, "cell": "total", "margin": False, "row": 0,
                    "value": float(v), "lower": 0.0, "upper": math.inf, "width": math.inf,
                    "protected": True, "reason": PRIMARY})
            continue
        m = secondary_suppression(v, p, rules.min_protection, upper=upper, fixed=fixed,
                                  lower=lower)
        masks[c] = m
        lo, hi = _audit(v, m, upper, lower)
        for idx in zip(*np.nonzero(m), strict=True):
            t = tuple(int(i) for i in idx)
            margin = any(i == n for i, n in zip(t, shape, strict=True))
            at: int | None = None
            if not margin:
                hits = np.flatnonzero(np.all(pos == np.array(t), axis=1))
                at = int(hits[0]) if hits.size else None
            width = float(hi[t] - lo[t])
            audit_rows.append({
                "column": c, "cell": _cell_label(keys, levels, t), "margin": margin,
                "row": at, "value": float(v[t]), "lower": float(lo[t]),
                "upper": float(hi[t]), "width": width,
                "protected": bool(width >= rules.min_protection - 1e-7),
                "reason": PRIMARY if p[t] else SECONDARY})
    # per-row status
    n_rows = work.height
    status: dict[str, list[str]] = {}

    def cell_status(c: str) -> list[str]:
        if not keys:
            return [PRIMARY if bool(primary[c]) else PUBLISHED] * n_rows
        out = []
        for i in range(n_rows):
            t = tuple(pos[i])
            out.append(PRIMARY if primary[c][t] else SECONDARY if masks[c][t] else PUBLISHED)
        return out

    for c in all_counts:
        status[c] = cell_status(c)
    numbers = {c: work[c].cast(pl.Float64).to_numpy() for c in all_counts}
    for r, (numerator, den) in rate_map.items():
        num = str(numerator)
        out = []
        for i in range(n_rows):
            if status[num][i] != PUBLISHED or status[den][i] != PUBLISHED:
                out.append(LINKED)
            elif (0 < numbers[num][i] < rules.rate_min_numerator or
                  numbers[den][i] < (rules.rate_min_denominator or 0)):
                out.append(SMALL_BASE)
            else:
                out.append(PUBLISHED)
        status[r] = out
    for s in df.columns:
        if s in keys or s in status:
            continue
        base = base_map.get(s, ["n"] if "n" in values else [])
        if not base or any(b not in values for b in base):
            if s in numeric:
                raise SpecError(f"column {s!r}: pbr cannot tell which group size it rests "
                                "on; fix: name its base count in bases={...} or its "
                                "numerator and denominator in rates={...}")
            status[s] = [PUBLISHED] * n_rows
            continue
        status[s] = [DEPENDENT if any(status[b][i] != PUBLISHED
                                      or numbers[b][i] < (rules.rate_min_denominator or 0)
                                      for b in base)
                     else PUBLISHED for i in range(n_rows)]
    # the published frame
    exprs = []
    for c in df.columns:
        if c in keys:
            continue
        keep = pl.Series([x == PUBLISHED for x in status[c]], dtype=pl.Boolean)
        col = pl.col(c)
        if rules.rounding and c in counts:
            col = ((col.cast(pl.Float64) / rules.rounding + 0.5).floor() * rules.rounding) \
                .cast(df.schema[c])
        exprs.append(pl.when(keep).then(col).otherwise(None).alias(c))
    frame = df.with_columns(exprs) if exprs else df
    status_frame = pl.DataFrame(
        [df[c] if c in keys else pl.Series(c, status[c], dtype=pl.String)
         for c in df.columns])
    audit = pl.DataFrame(audit_rows, schema={
        "column": pl.String, "cell": pl.String, "margin": pl.Boolean, "row": pl.Int64,
        "value": pl.Float64, "lower": pl.Float64, "upper": pl.Float64, "width": pl.Float64,
        "protected": pl.Boolean, "reason": pl.String})
    notes = []
    margins = audit.filter(pl.col("margin") & pl.lit(bool(keys)))
    for mrow in margins.iter_rows(named=True):
        notes.append(f"{mrow['column']}: the total {mrow['cell']} is withheld "
                     f"({mrow['reason']}); do not "
                     "publish it in another table")
    if not keys and any(status[c][0] != PUBLISHED for c in all_counts if n_rows):
        notes.append("the table has no keys: the threshold rule only (nothing to recover "
                     "from totals)")
    if derived:
        notes.append("numerators derived from rates: " + ", ".join(
            f"{r} x {rate_map[r][1]}" for r in derived))
    prov = {"pbr_version": __version__, "rules": rules.to_dict(), "by": keys,
            "counts": list(counts), "input_sha256": _fingerprint(df)}
    return SuppressedTable(frame, status_frame, audit, rules, tuple(keys), tuple(counts),
                           tuple(notes), prov)


def _wide(df: pl.DataFrame, rules: DisclosureRules, keys: list[str],
          counts: Sequence[str] | None, rates: Any) -> SuppressedTable:
    if rates:
        raise SpecError("rates: not with wide=True; suppress the long table (one row per "
                        "group) to publish rates")
    if len(keys) > 2:
        raise SpecError(f"by: a wide table has at most two key columns, got {keys}")
    counts = [c for c in df.columns if c not in keys and df.schema[c].is_numeric()] \
        if counts is None else list(counts)
    other = [c for c in df.columns if c not in keys and c not in counts]
    if other:
        raise SpecError(f"wide=True: columns {other} are neither keys nor counts; fix: drop "
                        "them or name them in by= / counts=")
    for c in counts:
        _check_counts(df, c)
    long = df.unpivot(on=counts, index=keys, variable_name="_column",
                      value_name="_count").with_columns(pl.col("_count").cast(pl.Int64))
    res = suppress(long, rules, by=[*keys, "_column"], counts=["_count"])
    order = pl.DataFrame({"_column": counts, "_order": range(len(counts))})

    def back(frame: pl.DataFrame) -> pl.DataFrame:
        out = frame.pivot(on="_column", index=keys, values="_count") if keys else \
            frame.join(order, on="_column").sort("_order").drop("_order").transpose(
                column_names="_column")
        return df.select(keys).join(out, on=keys, how="left", maintain_order="left") \
            if keys else out

    frame = back(res.frame).select(df.columns)
    status = back(res.status).select(df.columns)
    h = max(df.height, 1)
    audit = res.audit.with_columns(
        pl.col("row").map_elements(lambda r: counts[r // h], return_dtype=pl.String)
        .fill_null("total").alias("column"),
        pl.col("cell").str.replace_all("_column=", "column="),
        pl.col("row") % h)
    prov = {**res.provenance, "by": keys, "counts": counts, "input_sha256": _fingerprint(df),
            "wide": True}
    notes = tuple(n.replace("_column=", "column=").replace("_count: ", "")
                  for n in res.notes)
    return SuppressedTable(frame, status, audit, rules, tuple(keys), tuple(counts), notes,
                           prov)
