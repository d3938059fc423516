"""The outcome-events and participants tables, validated.

:class:`OutcomeEvents` holds one row per claimed outcome (participant, outcome type,
date achieved, evidence reference, evidence type, verified flag); :class:`Participants`
one row per participant (identifier, start date, cohort label and attributes such as sex
for subgroup components).  Like pbr's other inputs (:mod:`pbr.data`), a problem raises
:class:`~pbr.errors.SchemaError` naming the table, the column, the row (0-based), the
value and the fix; with ``on_invalid="exclude"`` the rows are left out instead and
counted in an :class:`~pbr.data.Exclusions` ledger with the rule and reason.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from pbr.data import Exclusion, Exclusions, as_frame
from pbr.errors import SchemaError
from pbr.outcomes.definitions import EVIDENCE_TYPES, OutcomeDefinition, definitions
from pbr.schema import normalise_term

__all__ = ["EVENT_COLUMNS", "PARTICIPANT_COLUMNS", "OutcomeEvents", "Participants",
           "read_outcome_events", "read_participants"]

#: the columns of the outcome-events table, in the template's order
EVENT_COLUMNS = ("participant_id", "outcome_type", "date_achieved", "evidence_ref",
                 "evidence_type", "verified")
#: the required columns of the participants table (any others are attributes)
PARTICIPANT_COLUMNS = ("participant_id", "start_date")
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


def _rename(frame: pl.DataFrame, table: str, mapping: Mapping[str, str | None],
            required: Iterable[str]) -> pl.DataFrame:
    """Map the user's column names onto the roles; missing required roles are refused."""
    renames = {}
    for role, col in mapping.items():
        if col is None or col == role:
            continue
        if col not in frame.columns:
            raise SchemaError(f"{table}: column {col!r} (given for {role}) is not in the table; "
                              f"columns: {', '.join(frame.columns)}")
        renames[col] = role
    frame = frame.rename(renames)
    for role in required:
        if role not in frame.columns:
            raise SchemaError(f"{table}: required column {role!r} is missing (columns: "
                              f"{', '.join(frame.columns)}); add it, or map yours with "
                              f"{role}=\"your_column\"")
    return frame


class _Rows:
    """Rows found invalid, per rule: raised at once or collected for exclusion."""

    def __init__(self, table: str, exclude: bool) -> None:
        self.table, self.exclude = table, exclude
        self.found: dict[str, tuple[str, list[int]]] = {}

    def bad(self, rule: str, reason: str, rows: np.ndarray, message: str) -> None:
        if rows.size == 0:
            return
        if not self.exclude:
            raise SchemaError(message + f" ({rows.size:,} row(s)); or pass "
                              "on_invalid=\"exclude\" to leave such rows out, counted")
        old = self.found.get(rule, (reason, []))[1]
        self.found[rule] = (reason, sorted({*old, *rows.tolist()}))

    def ledger(self) -> Exclusions:
        return Exclusions(tuple(Exclusion(self.table, rule, reason,
                                          np.asarray(rows, dtype=np.int64))
                                for rule, (reason, rows) in self.found.items()))

    def dropped(self) -> set[int]:
        return {r for _, rows in self.found.values() for r in rows}


def _ids(frame: pl.DataFrame, table: str, bad: _Rows) -> pl.DataFrame:
    col = frame["participant_id"]
    if col.dtype.is_float():
        raise SchemaError(f"{table}.participant_id: identifiers must be integers or text, got "
                          f"{col.dtype}; read the column as text (a float id loses digits)")
    if col.dtype not in (pl.String, pl.Categorical) and not col.dtype.is_integer():
        raise SchemaError(f"{table}.participant_id: identifiers must be integers or text, got "
                          f"{col.dtype}")
    text = col.cast(pl.String).str.strip_chars()
    missing = np.flatnonzero((text.is_null() | (text == "")).to_numpy())
    bad.bad("missing_participant_id", "participant_id is missing", missing,
            f"{table}.participant_id: missing at row {missing[0] if missing.size else 0}; "
            "every row needs the participant's identifier")
    return frame.with_columns(text.alias("participant_id"))


def _dates(frame: pl.DataFrame, table: str, name: str, bad: _Rows) -> pl.DataFrame:
    col = frame[name]
    if col.dtype == pl.Null:   # nothing given at all: every row missing
        col = col.cast(pl.String)
    if col.dtype == pl.Date:
        parsed = col
    elif isinstance(col.dtype, pl.Datetime):
        raise SchemaError(f"{table}.{name}: holds date-times ({col.dtype}); give dates "
                          f"(cast with .dt.date()) so that no time of day is dropped silently")
    elif col.dtype == pl.String:
        parsed = col.str.strip_chars().str.to_date("%Y-%m-%d", strict=False)
        wrong = np.flatnonzero((col.is_not_null() & (col.str.strip_chars() != "")
                                & parsed.is_null()).to_numpy())
        if wrong.size:
            r = int(wrong[0])
            bad.bad(f"bad_{name}", f"{name} is not a date (YYYY-MM-DD)", wrong,
                    f"{table}.{name}: row {r} holds {col[r]!r}, not a date; write dates as "
                    "YYYY-MM-DD, e.g. 2020-03-31")
    else:
        raise SchemaError(f"{table}.{name}: expected dates (YYYY-MM-DD), got a {col.dtype} "
                          "column")
    missing = np.flatnonzero(parsed.is_null().to_numpy()
                             & ~np.isin(np.arange(frame.height), list(bad.dropped())))
    bad.bad(f"missing_{name}", f"{name} is missing", missing,
            f"{table}.{name}: missing at row {missing[0] if missing.size else 0}; give the date")
    return frame.with_columns(parsed.alias(name))


def _flags(frame: pl.DataFrame, table: str, name: str, bad: _Rows) -> pl.DataFrame:
    col = frame[name]
    if col.dtype == pl.Null:
        col = col.cast(pl.String)
    if col.dtype == pl.Boolean:
        out = col
    elif col.dtype.is_integer():
        wrong = np.flatnonzero((col.is_not_null() & ~col.is_in([0, 1])).to_numpy())
        if wrong.size:
            r = int(wrong[0])
            bad.bad(f"bad_{name}", f"{name} is not true/false", wrong,
                    f"{table}.{name}: row {r} holds {col[r]!r}; give true or false (1 or 0)")
        out = pl.Series(name, [None if v is None or v not in (0, 1) else bool(v)
                               for v in col.to_list()], dtype=pl.Boolean)
    elif col.dtype == pl.String:
        values: list[bool | None] = []
        wrong_rows: list[int] = []
        for i, v in enumerate(col.to_list()):
            t = None if v is None else v.strip().lower()
            if t is None or t == "":
                values.append(None)
            elif t in _TRUE:
                values.append(True)
            elif t in _FALSE:
                values.append(False)
            else:
                values.append(None)
                wrong_rows.append(i)
        if wrong_rows:
            r = wrong_rows[0]
            bad.bad(f"bad_{name}", f"{name} is not true/false", np.array(wrong_rows),
                    f"{table}.{name}: row {r} holds {col[r]!r}; give true or false (yes/no, "
                    "1/0)")
        out = pl.Series(name, values, dtype=pl.Boolean)
    else:
        raise SchemaError(f"{table}.{name}: expected true/false, got a {col.dtype} column")
    missing = np.flatnonzero(out.is_null().to_numpy()
                             & ~np.isin(np.arange(frame.height), list(bad.dropped())))
    bad.bad(f"missing_{name}", f"{name} is missing", missing,
            f"{table}.{name}: missing at row {missing[0] if missing.size else 0}; say whether "
            "the evidence was verified (true or false)")
    return frame.with_columns(out.alias(name))


def _text(frame: pl.DataFrame, table: str, name: str) -> pl.DataFrame:
    col = frame[name]
    if col.dtype == pl.Null:
        col = col.cast(pl.String)
    if col.dtype != pl.String:
        col = col.cast(pl.String)
    col = col.str.strip_chars()
    return frame.with_columns(pl.when(col == "").then(None).otherwise(col).alias(name))


def _on_invalid(value: str) -> bool:
    if value not in ("raise", "exclude"):
        raise SchemaError(f"on_invalid: 'raise' or 'exclude', got {value!r}")
    return value == "exclude"


@dataclass(frozen=True)
class OutcomeEvents:
    """The validated outcome-events table: one row per claimed outcome.

    Build it with :meth:`from_frame` or :func:`read_outcome_events`.  ``data`` holds
    the kept rows with their input row number ``row`` (0-based); ``exclusions`` counts
    the rows left out with ``on_invalid="exclude"``.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> ev = OutcomeEvents.from_frame(pl.DataFrame({
    ...     "participant_id": ["P1"], "outcome_type": ["Employment_13W"],
    ...     "date_achieved": [dt.date(2020, 6, 1)], "evidence_ref": ["PS-1"],
    ...     "evidence_type": ["payslip"], "verified": [True]}))
    >>> ev.data["outcome_type"].to_list()
    ['employment_13w']
    """

    data: pl.DataFrame
    exclusions: Exclusions = field(default_factory=Exclusions)
    source: str = ""

    @property
    def n(self) -> int:
        return self.data.height

    @classmethod
    def from_frame(cls, data: Any, *, on_invalid: str = "raise",
                   outcome_types: Mapping[str, OutcomeDefinition]
                   | Iterable[OutcomeDefinition] | None = None,
                   participant_id: str | None = None, outcome_type: str | None = None,
                   date_achieved: str | None = None, evidence_ref: str | None = None,
                   evidence_type: str | None = None, verified: str | None = None,
                   source: str = "") -> OutcomeEvents:
        """Validate an outcome-events frame (polars or pandas).

        Parameters
        ----------
        data
            The table; its columns are mapped onto :data:`EVENT_COLUMNS` by the keyword
            arguments of the same names (default: the same names).
        on_invalid
            ``"raise"`` (the default): a bad row raises :class:`~pbr.errors.SchemaError`
            naming the column, row, value and fix; ``"exclude"``: bad rows are left out
            and counted with their reason.
        outcome_types
            The definitions whose names are the vocabulary of ``outcome_type`` (default
            :data:`pbr.outcomes.STANDARD`).

        Rules: ``participant_id`` present (integer or text, compared as text);
        ``outcome_type`` one of the definitions (case and spaces normalised);
        ``date_achieved`` a date; ``evidence_type`` one of
        :data:`~pbr.outcomes.EVIDENCE_TYPES` (may be empty: the claim is then unpaid for
        want of evidence); ``evidence_ref`` text, may be empty (likewise unpaid);
        ``verified`` true/false (yes/no, 1/0).  Exact duplicate rows are left out as
        ``duplicate_row`` (always counted, never paid twice).
        """
        exclude = _on_invalid(on_invalid)
        table = "outcome_events"
        defs = definitions(outcome_types)
        frame = as_frame(data, table)
        frame = _rename(frame, table, {"participant_id": participant_id,
                                       "outcome_type": outcome_type,
                                       "date_achieved": date_achieved,
                                       "evidence_ref": evidence_ref,
                                       "evidence_type": evidence_type, "verified": verified},
                        EVENT_COLUMNS)
        frame = frame.select(EVENT_COLUMNS).with_row_index("row")
        frame = frame.with_columns(pl.col("row").cast(pl.Int64))
        bad = _Rows(table, exclude)
        frame = _ids(frame, table, bad)
        for name in ("outcome_type", "evidence_type", "evidence_ref"):
            frame = _text(frame, table, name)
        frame = frame.with_columns(
            pl.col("outcome_type").map_elements(normalise_term, return_dtype=pl.String),
            pl.col("evidence_type").map_elements(normalise_term, return_dtype=pl.String))
        kinds = frame["outcome_type"]
        missing = np.flatnonzero(kinds.is_null().to_numpy())
        bad.bad("missing_outcome_type", "outcome_type is missing", missing,
                f"{table}.outcome_type: missing at row {missing[0] if missing.size else 0}; "
                f"give one of {', '.join(defs)}")
        unknown = np.flatnonzero((kinds.is_not_null() & ~kinds.is_in(list(defs))).to_numpy())
        if unknown.size:
            r = int(unknown[0])
            bad.bad("unknown_outcome_type", "outcome_type is not a defined outcome", unknown,
                    f"{table}.outcome_type: row {r} holds {kinds[r]!r}, not a defined outcome "
                    f"type; use one of {', '.join(defs)} (or define it with "
                    "pbr.outcomes.OutcomeDefinition)")
        ev = frame["evidence_type"]
        odd = np.flatnonzero((ev.is_not_null() & ~ev.is_in(list(EVIDENCE_TYPES))).to_numpy())
        if odd.size:
            r = int(odd[0])
            bad.bad("unknown_evidence_type", "evidence_type is not a known evidence type", odd,
                    f"{table}.evidence_type: row {r} holds {ev[r]!r}; use one of "
                    f"{', '.join(EVIDENCE_TYPES)}")
        frame = _dates(frame, table, "date_achieved", bad)
        frame = _flags(frame, table, "verified", bad)
        dropped = bad.dropped()
        kept = frame.filter(~pl.col("row").is_in(sorted(dropped)))
        dup = kept.select(~pl.struct(list(EVENT_COLUMNS)).is_first_distinct()).to_series()
        rows = kept.filter(dup)["row"].to_numpy()
        ledger = bad.ledger()
        if rows.size:
            ledger = ledger + Exclusions((Exclusion(
                table, "duplicate_row", "the same claim repeated row for row (kept once)",
                rows.astype(np.int64)),))
            kept = kept.filter(~dup)
        return cls(kept, ledger, source)


@dataclass(frozen=True)
class Participants:
    """The validated participants table: who started when, in which cohort, with which
    attributes (sex, age band, ... for subgroup components and equality tables).

    ``participant_id`` must be unique; ``start_date`` a date; ``cohort`` (optional) the
    contract's cohort label; every other column is kept as an attribute (text).

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> p = Participants.from_frame(pl.DataFrame({"participant_id": [1, 2],
    ...     "start_date": [dt.date(2020, 1, 1), dt.date(2020, 2, 1)], "sex": ["F", "M"]}))
    >>> p.attributes, p.data["participant_id"].to_list()
    (('sex',), ['1', '2'])
    """

    data: pl.DataFrame
    exclusions: Exclusions = field(default_factory=Exclusions)
    attributes: tuple[str, ...] = ()
    source: str = ""

    @property
    def n(self) -> int:
        return self.data.height

    @classmethod
    def from_frame(cls, data: Any, *, on_invalid: str = "raise",
                   participant_id: str | None = None, start_date: str | None = None,
                   cohort: str | None = None, source: str = "") -> Participants:
        """Validate a participants frame (polars or pandas).

        ``participant_id`` and ``start_date`` name the user's columns (e.g. a contract
        cohort's ``offender_id`` and ``index_date``); ``cohort`` the column holding the
        cohort label (default ``cohort`` when present).
        """
        exclude = _on_invalid(on_invalid)
        table = "participants"
        frame = as_frame(data, table)
        if cohort is not None and cohort != "cohort":
            if cohort not in frame.columns:
                raise SchemaError(f"{table}: cohort column {cohort!r} is not in the table; "
                                  f"columns: {', '.join(frame.columns)}")
            frame = frame.drop("cohort", strict=False).rename({cohort: "cohort"})
        frame = _rename(frame, table, {"participant_id": participant_id,
                                       "start_date": start_date}, PARTICIPANT_COLUMNS)
        frame = frame.with_row_index("row").with_columns(pl.col("row").cast(pl.Int64))
        bad = _Rows(table, exclude)
        frame = _ids(frame, table, bad)
        frame = _dates(frame, table, "start_date", bad)
        attrs = tuple(c for c in frame.columns
                      if c not in ("row", "participant_id", "start_date"))
        for a in attrs:
            frame = _text(frame, table, a)
        if "cohort" in frame.columns:
            frame = frame.with_columns(pl.col("cohort").fill_null("(no cohort)"))
        kept = frame.filter(~pl.col("row").is_in(sorted(bad.dropped())))
        dup = kept["participant_id"].is_duplicated().to_numpy()
        if dup.any():
            first = kept.filter(pl.Series(dup))
            pid = first["participant_id"][0]
            rows = first.filter(pl.col("participant_id") == pid)["row"].to_list()
            raise SchemaError(f"{table}.participant_id: {pid!r} appears on rows {rows} "
                              f"({int(dup.sum()):,} rows share an identifier); a participant "
                              "starts once: keep one row per participant")
        return cls(kept, bad.ledger(), tuple(a for a in attrs if a != "cohort"), source)

    def start(self) -> dict[str, _dt.date]:
        """participant -> start date."""
        return dict(zip(self.data["participant_id"].to_list(),
                        self.data["start_date"].to_list(), strict=True))


def _read_csv(path: str | Path, table: str, separator: str, encoding: str) -> pl.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise SchemaError(f"{table}: no file {str(p)!r}")
    try:
        return pl.read_csv(p, separator=separator, encoding=encoding,
                           infer_schema_length=0)    # every column as text: parsed here
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError, UnicodeDecodeError) as exc:
        raise SchemaError(f"{table}: cannot read {str(p)!r} as CSV ({exc})") from None


def read_outcome_events(path: str | Path, *, on_invalid: str = "raise",
                        outcome_types: Mapping[str, OutcomeDefinition]
                        | Iterable[OutcomeDefinition] | None = None,
                        separator: str = ",", encoding: str = "utf8",
                        **columns: str) -> OutcomeEvents:
    """Read an outcome-events CSV in the layout of the template pbr ships.

    The template (``pbr/outcomes/template.csv``, :func:`pbr.outcomes.template_path`) has
    the columns of :data:`EVENT_COLUMNS`; dates as YYYY-MM-DD, ``verified`` as
    true/false.  Every column is read as text and validated by
    :meth:`OutcomeEvents.from_frame` (``columns`` map other column names).

    Examples
    --------
    >>> from pbr.outcomes import template_path
    >>> read_outcome_events(template_path()).n
    6
    """
    frame = _read_csv(path, "outcome_events", separator, encoding)
    return OutcomeEvents.from_frame(frame, on_invalid=on_invalid, outcome_types=outcome_types,
                                    source=str(path), **columns)


def read_participants(path: str | Path, *, on_invalid: str = "raise", separator: str = ",",
                      encoding: str = "utf8", participant_id: str | None = None,
                      start_date: str | None = None, cohort: str | None = None
                      ) -> Participants:
    """Read a participants CSV (``participant_id``, ``start_date``, optional ``cohort``
    and attributes), validated by :meth:`Participants.from_frame`."""
    frame = _read_csv(path, "participants", separator, encoding)
    return Participants.from_frame(frame, on_invalid=on_invalid,
                                   participant_id=participant_id, start_date=start_date,
                                   cohort=cohort, source=str(path))
