"""IOM membership: who was in an Integrated Offender Management cohort, from when to when.

One row per membership spell: ``offender_id``, ``entry`` (date), ``exit`` (date, empty
while still a member) and ``scheme`` (the cohort or scheme, e.g. ``"fixed"``, ``"flex"``,
``"free"``; default ``"iom"``). Entry and exit roll: an offender may enter, leave and
enter again, each spell a row.

Rules (docs/methodology/local.md, I1-I3): I1 ``offender_id`` and ``entry`` are
required (``missing_offender_id``, ``missing_entry``; a text that is not a date:
``bad_entry``, ``bad_exit``); I2 ``exit`` before ``entry`` (``exit_before_entry``);
I3 two spells of one offender in one scheme that overlap (``overlapping_membership``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

from pbr.attribution.spells import apply_rules, date_column
from pbr.data import Exclusion, Exclusions, as_frame
from pbr.errors import SchemaError

__all__ = ["Membership"]


@dataclass(frozen=True)
class Membership:
    """A validated IOM membership table.

    :attr:`frame` has ``offender_id``, ``entry``, ``exit`` (null while open), ``scheme``
    and ``row`` (0-based row of the input), sorted by offender and entry.

    Examples
    --------
    >>> import datetime as dt
    >>> m = Membership.from_frame({"offender_id": [1, 2],
    ...                            "entry": [dt.date(2021, 1, 1), dt.date(2021, 2, 1)],
    ...                            "exit": [dt.date(2021, 9, 30), None]})
    >>> m.frame.height, m.schemes
    (2, ('iom',))
    """

    frame: pl.DataFrame
    exclusions: Exclusions = field(default_factory=Exclusions)

    @classmethod
    def from_frame(cls, data: Any, *, offender_id: str = "offender_id", entry: str = "entry",
                   exit: str | None = "exit", scheme: str | None = "scheme",
                   on_invalid: Literal["raise", "exclude"] = "raise") -> Membership:
        """Validate a membership table (rules I1-I3); the column names are the caller's."""
        if on_invalid not in ("raise", "exclude"):
            raise SchemaError(f"membership: on_invalid must be 'raise' or 'exclude', got "
                              f"{on_invalid!r}")
        df = as_frame(data, "membership")
        for role, src, required in (("offender_id", offender_id, True),
                                    ("entry", entry, True), ("exit", exit, False),
                                    ("scheme", scheme, False)):
            if src is not None and src not in df.columns and (required or src != role):
                raise SchemaError(
                    f"membership: missing column {src!r} (role {role}); columns present: "
                    f"{', '.join(df.columns[:20])}. Fix: pass {role}='<your column>' to "
                    f"Membership.from_frame or rename the column to {role!r}")
        out = df.select(
            pl.col(offender_id).alias("offender_id"), pl.col(entry).alias("entry"),
            (pl.col(exit) if exit is not None and exit in df.columns
             else pl.lit(None, dtype=pl.Date)).alias("exit"),
            (pl.col(scheme).cast(pl.String) if scheme is not None and scheme in df.columns
             else pl.lit("iom")).alias("scheme"),
            pl.int_range(pl.len(), dtype=pl.Int64).alias("row"))
        idt = out.schema["offender_id"]
        if isinstance(idt, pl.Categorical | pl.Enum):
            out = out.with_columns(pl.col("offender_id").cast(pl.String))
        elif idt.is_integer():
            out = out.with_columns(pl.col("offender_id").cast(pl.Int64))
        elif idt not in (pl.String, pl.Null):
            raise SchemaError(f"membership: column {offender_id!r} has type {idt}; expected "
                              "integers or strings")
        out, bad_entry = date_column(out, "entry", entry)
        out, bad_exit = date_column(out, "exit", exit or "exit")
        out = out.with_columns(pl.col("scheme").fill_null("iom"))
        rules = [("missing_offender_id", f"{offender_id} is missing",
                  out["offender_id"].is_null()),
                 ("bad_entry", f"{entry} is not a date (YYYY-MM-DD)", bad_entry),
                 ("missing_entry", f"{entry} is missing", out["entry"].is_null() & ~bad_entry),
                 ("bad_exit", f"{exit} is not a date (YYYY-MM-DD)", bad_exit),
                 ("exit_before_entry", f"{exit} is before {entry}",
                  (out["exit"] < out["entry"]).fill_null(False))]
        out, entries = apply_rules(out, rules, on_invalid, "membership",
                                   lambda r: str(out.row(r, named=True)))
        s = (out.sort("offender_id", "scheme", "entry", "row")
             .with_columns(pl.col("exit").fill_null(pl.date(9999, 12, 31)).alias("__x")))
        prev = pl.col("__x").shift(1).over("offender_id", "scheme")
        hit = s.filter((pl.col("entry") <= prev).fill_null(False))
        if hit.height:
            r = hit.row(0, named=True)
            if on_invalid == "raise":
                raise SchemaError(
                    f"membership: {hit.height} spell(s) overlap an earlier spell of the same "
                    f"offender and scheme (rule overlapping_membership); first at row "
                    f"{r['row']}: offender {r['offender_id']!r} enters {r['entry']} before "
                    "leaving. Fix: merge or correct the spells")
            rows = hit["row"].to_numpy().astype(np.int64)
            entries.append(Exclusion("membership", "overlapping_membership",
                                     "overlaps an earlier spell of the same offender and scheme",
                                     rows))
            out = out.filter(~pl.col("row").is_in(rows.tolist()))
        return cls(out.sort("offender_id", "entry", "row"), Exclusions(tuple(entries)))

    @property
    def schemes(self) -> tuple[str, ...]:
        """The schemes (cohorts) present, sorted."""
        return tuple(sorted(self.frame["scheme"].unique().to_list()))
