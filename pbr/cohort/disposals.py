"""Validated disposal records: the input of :func:`pbr.build_cohort`.

One row per disposal (a sentence, court order, caution, or a custodial sentence with its
release date).  Roles (:data:`pbr.schema.DISPOSALS`):

=======================  ================================================================
role                     meaning
=======================  ================================================================
offender_id              person identifier (integer or text)
disposal_date            date of the sentence, order or caution
disposal_type            ``"custody"``, ``"court_order"``, ``"caution"``, ... (open set)
release_date             custodial types: date of release, their index date (optional;
                         missing for a person still in custody)
date_of_birth / age      for the age at the index date (either; age is taken as the age
                         at the index date)
sentence_length_days     sentence length in days (for sentence-length filters)
disposal_category        index disposal category (e.g. ``"community_order"``)
deported, time_served,   exclusion flags (true/false; missing = false): deported or moved
breach_only,             to immigration removal on release, sentenced to time served on
released_from_court      remand, sentence for breach only, released directly from court
date_of_death            for the ``died`` exclusion
provider, area, region   carried to the cohort from the index disposal
=======================  ================================================================

Optional roles are picked up when a column of that name exists.  Row rules follow
:mod:`pbr.data`: ``on_invalid="raise"`` names the column, row and fix;
``on_invalid="exclude"`` moves bad rows to the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from pbr.data import OnInvalid, _apply_rules, _as_date, _as_id, _select_roles, _Table, as_frame
from pbr.errors import SchemaError
from pbr.schema import DISPOSALS

__all__ = ["FLAGS", "Disposals"]

#: boolean exclusion flags
FLAGS = ("deported", "time_served", "breach_only", "released_from_court")
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0", "")


def _as_flag(df: pl.DataFrame, role: str, source: str) -> tuple[pl.DataFrame, pl.Expr]:
    """Cast a flag column to Boolean (missing = False); returns an expr flagging bad text."""
    dtype = df.schema[role]
    if dtype == pl.Boolean:
        return df.with_columns(pl.col(role).fill_null(False)), pl.lit(False)
    if dtype.is_integer() or dtype == pl.Null:
        return df.with_columns((pl.col(role).fill_null(0) != 0).alias(role)), pl.lit(False)
    if dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum):
        text = pl.col(f"__raw_{role}").cast(pl.String).str.strip_chars().str.to_lowercase()
        bad = text.is_not_null() & ~text.is_in(_TRUE + _FALSE)
        return (df.with_columns(pl.col(role).alias(f"__raw_{role}"))
                .with_columns(text.is_in(_TRUE).fill_null(False).alias(role)), bad)
    raise SchemaError(
        f"disposals: column {source!r} (role {role}) has type {dtype}; expected true/false. "
        "Fix: give booleans, 0/1 or the text true/false")


def _as_whole(df: pl.DataFrame, role: str, source: str) -> tuple[pl.DataFrame, pl.Expr]:
    """Cast a count column (age, sentence days) to Int32; flags non-whole numbers."""
    dtype = df.schema[role]
    if dtype.is_integer() or dtype == pl.Null:
        return df.with_columns(pl.col(role).cast(pl.Int32)), pl.lit(False)
    if dtype.is_float():
        bad = pl.col(f"__raw_{role}").is_not_null() & (
            pl.col(f"__raw_{role}") != pl.col(f"__raw_{role}").floor())
        return (df.with_columns(pl.col(role).alias(f"__raw_{role}"))
                .with_columns(pl.col(role).cast(pl.Int32, strict=False)), bad)
    if dtype == pl.String:
        bad = pl.col(f"__raw_{role}").is_not_null() & pl.col(role).is_null() & (
            pl.col(f"__raw_{role}").str.strip_chars() != "")
        return (df.with_columns(pl.col(role).alias(f"__raw_{role}"))
                .with_columns(pl.col(role).str.strip_chars().cast(pl.Int32, strict=False)), bad)
    raise SchemaError(
        f"disposals: column {source!r} (role {role}) has type {dtype}; expected whole "
        "numbers. Fix: cast it to integers")


@dataclass(frozen=True)
class Disposals(_Table):
    """Validated disposal records (see the module docstring for the roles).

    ``frame`` holds the kept rows with the role columns (dates as ``pl.Date``, flags as
    booleans, ``age`` and ``sentence_length_days`` as Int32), the input's other
    columns, and ``row``, the input row number.  Row rules: offender_id, disposal_date
    and disposal_type present; dates parseable; release_date not before disposal_date;
    date_of_birth not after disposal_date; age and sentence length whole and >= 0;
    flags true/false.

    Examples
    --------
    >>> import datetime, polars as pl
    >>> d = datetime.date
    >>> dis = Disposals.from_frame(pl.DataFrame({
    ...     "pnc": [1, 2], "sentenced": [d(2020, 3, 1), d(2020, 5, 1)],
    ...     "kind": ["custody", "caution"], "release_date": [d(2020, 2, 1), None]}),
    ...     offender_id="pnc", disposal_date="sentenced", disposal_type="kind",
    ...     on_invalid="exclude")
    >>> dis.n, dis.exclusions.count(rule="release_before_disposal")
    (1, 1)
    """

    @classmethod
    def from_frame(cls, data: Any, *, offender_id: str = "offender_id",
                   disposal_date: str = "disposal_date", disposal_type: str = "disposal_type",
                   on_invalid: OnInvalid = "raise", **optional: str | None) -> Disposals:
        """Validate a disposals table.

        Parameters
        ----------
        data
            A polars or pandas frame.
        offender_id, disposal_date, disposal_type
            The user's column for each required role.
        on_invalid
            ``"raise"`` (SchemaError naming column, row and fix) or ``"exclude"``.
        **optional
            The user's column for optional roles (``release_date="released"``,
            ``date_of_birth="dob"``, ``provider="crc"``, ...); roles not given are read
            from a column of the role's name when one exists.
        """
        if isinstance(data, Disposals):
            return data
        unknown = sorted(set(optional) - set(DISPOSALS.optional))
        if unknown:
            raise SchemaError(
                f"disposals: unknown role(s) {', '.join(unknown)}; optional roles: "
                f"{', '.join(DISPOSALS.optional)}")
        df = as_frame(data, "disposals")
        n_input = df.height
        mapping: dict[str, str | None] = {"offender_id": offender_id,
                                          "disposal_date": disposal_date,
                                          "disposal_type": disposal_type}
        for role in DISPOSALS.optional:
            given = optional.get(role)
            mapping[role] = given if given is not None else (role if role in df.columns
                                                             else None)
        df, sources = _select_roles(df, DISPOSALS, mapping)
        df = _as_id(df, sources["offender_id"], "disposals")
        rules: list[tuple[str, str, pl.Expr]] = [
            ("missing_offender_id", "offender_id is missing", pl.col("offender_id").is_null())]
        for role in DISPOSALS.dates:
            if role in df.columns:
                df, bad = _as_date(df, role, sources[role], "disposals")
                rules.append((f"unparseable_{role}",
                              f"{role} is not a date in YYYY-MM-DD form", bad))
        for role in ("disposal_type", "disposal_category"):
            if role in df.columns:
                dtype = df.schema[role]
                if not (dtype == pl.String or dtype.is_integer() or dtype == pl.Null
                        or isinstance(dtype, pl.Categorical | pl.Enum)):
                    raise SchemaError(
                        f"disposals: column {sources[role]!r} (role {role}) has type {dtype};"
                        " expected text codes. Fix: cast it to strings")
                df = df.with_columns(pl.col(role).cast(pl.String))
        for role in FLAGS:
            if role in df.columns:
                df, bad = _as_flag(df, role, sources[role])
                rules.append((f"unparseable_{role}", f"{role} is not true/false", bad))
        for role in ("age", "sentence_length_days"):
            if role in df.columns:
                df, bad = _as_whole(df, role, sources[role])
                rules.append((f"unparseable_{role}", f"{role} is not a whole number", bad))
                rules.append((f"negative_{role}", f"{role} is negative", pl.col(role) < 0))
        rules += [
            ("missing_disposal_date", "disposal_date is missing",
             pl.col("disposal_date").is_null()),
            ("missing_disposal_type", "disposal_type is missing",
             pl.col("disposal_type").is_null()),
        ]
        if "release_date" in df.columns:
            rules.append(("release_before_disposal", "release_date is before disposal_date",
                          pl.col("release_date") < pl.col("disposal_date")))
        if "date_of_birth" in df.columns:
            rules.append(("birth_after_disposal", "date_of_birth is after disposal_date",
                          pl.col("date_of_birth") > pl.col("disposal_date")))
        frame, led = _apply_rules(df, "disposals", rules, on_invalid, sources)
        return cls(frame, led, n_input, sources)
