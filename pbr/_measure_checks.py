"""The fail-safe checks of a measure's inputs (docs/methodology/measures.md, "What pbr
refuses and why"): vocabulary (P2-P5, F2), completeness (A3, A4), plausible dates (T1,
T2), the join of the cohort to the events (J1) and duplicate events (D1).

Each check reads the validated tables and the engine's per-offender outputs, which every
engine computes alike, so the numba paths and the polars twin give the same notes.  A
check either raises (:class:`~pbr.errors.SpecError`), or returns a :class:`Note`: a
line for ``MeasureResult.notes`` and, where the reader must act, the warning class
:func:`issue` raises it with.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from pbr.data import DUPLICATE_EVENT, Cohort, Events
from pbr.errors import (
    CompletenessWarning,
    DataQualityWarning,
    IncompleteDataWarning,
    PbrWarning,
    SpecError,
)
from pbr.period import date_to_day, day_to_date
from pbr.schema import normalise_term
from pbr.spec import MeasureSpec

__all__ = ["EVENT_DATE_BOUNDS", "INDEX_DATE_BOUNDS", "MIN_ID_OVERLAP", "Note", "check",
           "issue", "vocabulary"]

#: index dates outside these bounds are implausible (rule T1)
INDEX_DATE_BOUNDS = (_dt.date(1970, 1, 1), _dt.date(2100, 12, 31))
#: offence and disposal dates outside these bounds are implausible (rule T2)
EVENT_DATE_BOUNDS = (_dt.date(1900, 1, 1), _dt.date(2100, 12, 31))
#: an offence this many years before the earliest index date is implausible (rule T2)
YEARS_BEFORE_INDEX = 100
#: below this share of cohort ids found in the events the join is suspect (rule J1)
MIN_ID_OVERLAP = 0.01


@dataclass(frozen=True)
class Note:
    """One line of a result's notes; ``category`` is the warning it is issued as (None:
    a note for the record only)."""

    text: str
    category: type[PbrWarning] | None = None


def issue(notes: list[Note], stacklevel: int) -> tuple[str, ...]:
    """Issue every note that is a warning; the notes' text, in order."""
    for note in notes:
        if note.category is not None:
            warnings.warn(note.text, note.category, stacklevel=stacklevel + 1)
    return tuple(n.text for n in notes)


def _rows(n: int) -> str:
    return f"{n:,} row" if n == 1 else f"{n:,} rows"


def _listing(items: list[str], total: int) -> str:
    more = f" and {total - len(items):,} more" if total > len(items) else ""
    return ", ".join(items) + more


# ------------------------------------------------------------------------- vocabulary
def vocabulary(events: Events, spec: MeasureSpec) -> pl.DataFrame:
    """Rows per disposal type of the events and whether it proves an offence under the
    spec (``disposal_type``, ``rows``, ``proves``)."""
    return events.disposal_types.with_columns(
        proves=pl.col("disposal_type").is_in(list(spec.proof_types)))


def _vocabulary(events: Events, spec: MeasureSpec) -> tuple[pl.DataFrame, list[Note]]:
    vocab = vocabulary(events, spec)
    unmatched = vocab.filter(~pl.col("proves"))
    # every value is listed: vocabularies are short, and each one is a decision
    shown = [f"{v!r} ({_rows(n)})" for v, n, _ in unmatched.iter_rows()]
    close = {v: difflib.get_close_matches(v, spec.proof_types, n=1, cutoff=0.8)
             for v in unmatched["disposal_type"].to_list()}
    proofs = ", ".join(spec.proof_types)
    if events.n and unmatched.height == vocab.height:  # rule P3
        hints = [f"{v!r} looks like proof type {c[0]!r}" for v, c in close.items() if c]
        hint = f" ({'; '.join(hints)})" if hints else ""
        target = "conviction" if "conviction" in spec.proof_types else spec.proof_types[0]
        raise SpecError(
            f"proof_types [{proofs}] match none of the events' disposal_type values "
            f"(compared in lower case without surrounding spaces): "
            f"{_listing(shown, unmatched.height)}{hint}. Every offender would measure 0. "
            "Fix: list the values that prove an offence, e.g. MeasureSpec(proof_types="
            f"{unmatched['disposal_type'].head(3).to_list()!r}), or map your vocabulary onto "
            "the proof types with Events.from_frame(events, disposal_type_map={"
            f"{unmatched['disposal_type'][0]!r}: {target!r}, ...}})")
    notes: list[Note] = []
    if unmatched.height:  # rule P4
        notes.append(Note(
            f"disposal_type values that prove no offence under proof_types [{proofs}] and "
            f"were not counted: {_listing(shown, unmatched.height)}"))
    rows = dict(zip(unmatched["disposal_type"], unmatched["rows"], strict=True))
    for value, match in close.items():  # rule P5
        if match:
            notes.append(Note(
                f"disposal_type {value!r} ({_rows(rows[value])}) proves no offence but looks "
                f"like proof type {match[0]!r}: a misspelling in the data or in proof_types? "
                f"Fix: correct it, or map it with Events.from_frame(events, "
                f"disposal_type_map={{{value!r}: {match[0]!r}}})", DataQualityWarning))
    return vocab, notes


def _categories(events: Events, spec: MeasureSpec) -> list[Note]:
    """Rule F2: offence filters that name a category (or code) the events never hold."""
    notes: list[Note] = []
    if not events.n:
        return notes  # no event to filter
    if (spec.exclude_categories or spec.include_categories) and not events.has_category:
        notes.append(Note(
            "the events have no offence_category column, so the category filters "
            f"({', '.join(spec.exclude_categories + spec.include_categories)}) could not be "
            "applied; pass offence_category= to Events.from_frame", IncompleteDataWarning))
    elif spec.exclude_categories or spec.include_categories:
        notes += _filter_names(events, "offence_category", spec.include_categories,
                               spec.exclude_categories, "categories", every=True)
    if spec.include_codes or spec.exclude_codes:
        notes += _filter_names(events, "offence_code", spec.include_codes,
                               spec.exclude_codes, "codes", every=False)
    return notes


def _filter_names(events: Events, column: str, include: tuple[str, ...],
                  exclude: tuple[str, ...], kind: str, *, every: bool) -> list[Note]:
    """Warnings for the names of one filter list that the events never hold.

    An include list none of whose entries occurs is one warning (nothing can count);
    an entry that the data spell in another case or spacing is one warning each; and
    with ``every`` (categories: short lists) so is any other absent include entry.  An
    absent exclude entry spelt no other way leaves nothing out: the right answer.

    Only the entries and their other spellings (among the values the column's type
    may hold) are looked for in the rows (:meth:`~pbr.data.Events.holds`); every value
    the rows hold is read only for a warning that lists them."""
    def every_value() -> frozenset[str]:
        return events.categories if column == "offence_category" else events.codes

    spellings = events.spellings(column)
    keys = {normalise_term(v) for v in include + exclude}
    folded: dict[str, list[str]] = {}
    for c in (every_value() if spellings is None else spellings):
        if normalise_term(c) in keys:
            folded.setdefault(normalise_term(c), []).append(c)
    present = events.holds(column, {*include, *exclude, *(c for f in folded.values()
                                                             for c in f)})

    def listed() -> str:
        shown = ", ".join(repr(c) for c in sorted(every_value())[:20])
        return f"{kind} present: {shown}"

    fix = "Fix: spell them as the data do in MeasureSpec({}=...)"
    notes: list[Note] = []
    if include and not any(c in present for c in include):
        shown = ", ".join(repr(c) for c in include[:20])
        notes.append(Note(
            f"include_{kind} [{shown}] names no {column} that the events hold ({listed()}):"
            f" no event can count. {fix.format(f'include_{kind}')}", DataQualityWarning))
        include = ()
    for name, names in ((f"include_{kind}", include), (f"exclude_{kind}", exclude)):
        for value in names:
            if value in present:
                continue
            variants = sorted(c for c in folded.get(normalise_term(value), [])
                              if c in present)
            if variants:
                like = f"the events spell it {', '.join(map(repr, variants))}"
            elif every and name.startswith("include"):
                like = listed()
            else:
                continue
            effect = ("those events are not left out" if name.startswith("exclude")
                      else "it selects nothing")
            notes.append(Note(
                f"{name} names {value!r}, which no event's {column} holds ({like}): "
                f"{effect}. {fix.format(name)}", DataQualityWarning))
    return notes


# ----------------------------------------------------------------------- completeness
def _completeness(cohort: Cohort, events: Events, spec: MeasureSpec,
                  window_end: np.ndarray) -> tuple[dict[str, Any], list[Note]]:
    last = events.last_disposal
    if spec.as_of is not None:  # rule A4
        coverage = {"extract_end": spec.as_of, "source": "as_of"}
        if last is not None and spec.as_of > spec.waiting_period.add_date(last):
            return coverage, [Note(
                f"as_of {spec.as_of} is more than the waiting period ({spec.waiting_period}) "
                f"after the last disposal date in the events ({last}): the extract may end "
                "earlier than as_of, and windows closing in between are then taken as "
                "complete with offences missing. Fix: pass as_of= the date the data were "
                "extracted", DataQualityWarning)]
        return coverage, []
    if last is None:
        return {"extract_end": None, "source": None, "open_windows": None}, [Note(
            "as_of not given and the events hold no rows, so pbr cannot tell when the data "
            "extract ends; every window is taken as complete. Fix: pass as_of= the data "
            "extract date", CompletenessWarning)]
    notes = [Note(f"as_of not given; data extract assumed to end on {last}, the last "
                  "disposal date in the events")]
    end = date_to_day(last)
    open_ = window_end > end
    n_open = int(open_.sum())
    coverage = {"extract_end": last, "source": "last disposal date", "open_windows": n_open}
    if n_open:
        idx = cohort.data["index_date"].to_physical().to_numpy()
        closed = idx[~open_]
        restrict = (f", or restrict the cohort to index dates on or before "
                    f"{day_to_date(int(closed.max()))}" if closed.size else "")
        notes.append(Note(
            f"{n_open:,} of {window_end.size:,} offenders' follow-up + waiting period "
            f"windows close after {last}, the last disposal date in the events (taken as the "
            "extract's end as as_of is not given): if the extract ends there, their "
            "reoffending is understated. Fix: pass as_of= the data extract date (with "
            f"interim=True for an interim measure){restrict}", CompletenessWarning))
    return coverage, notes


# ----------------------------------------------------------------------- plausibility
def _outside(frame: pl.DataFrame, cond: pl.Expr, cols: list[str], table: str, what: str,
             why: str) -> list[Note]:
    bad = frame.filter(cond)
    if not bad.height:
        return []
    shown = [f"row {r['row']} (offender_id {r['offender_id']!r}, "
             + ", ".join(f"{c} {r[c]}" for c in cols) + ")"
             for r in bad.head(5).iter_rows(named=True)]
    return [Note(
        f"{table}: {bad.height:,} row(s) with {what} ({why}): {_listing(shown, bad.height)}. "
        "They are measured as given. Fix: correct the dates (a typing or century error?) "
        f"or leave those rows out of the {table}", DataQualityWarning)]


def _years_before(day: _dt.date, years: int) -> _dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _plausibility(cohort: Cohort, events: Events) -> list[Note]:
    notes: list[Note] = []
    lo, hi = INDEX_DATE_BOUNDS
    index_span = cohort.date_span("index_date")
    if index_span is not None:
        first, last = index_span
        if first < lo or last > hi:  # rule T1
            notes += _outside(cohort.frame, ~pl.col("index_date").is_between(lo, hi),
                              ["index_date"], "cohort", f"an index_date outside {lo}..{hi}",
                              "pbr rule T1")
    dates = ["offence_date", "disposal_date"]
    event_span = events.date_span(*dates)
    if event_span is None:
        return notes
    elo, ehi = EVENT_DATE_BOUNDS
    if index_span is not None:  # an offence a century before anyone's index date
        elo = max(elo, _years_before(index_span[0], YEARS_BEFORE_INDEX))
    if event_span[0] < elo or event_span[1] > ehi:  # rule T2
        notes += _outside(events.frame, ~pl.col("offence_date").is_between(elo, ehi)
                          | ~pl.col("disposal_date").is_between(elo, ehi),
                          dates, "events", f"an offence or disposal date outside {elo}..{ehi}",
                          f"pbr rule T2: from {YEARS_BEFORE_INDEX} years before the earliest "
                          f"index date, and within {EVENT_DATE_BOUNDS[0]}.."
                          f"{EVENT_DATE_BOUNDS[1]}")
    return notes


# ---------------------------------------------------------------------------- joins
def _join(cohort: Cohort, events: Events, reoffences: np.ndarray) -> list[Note]:
    """Rule J1: cohort ids that (almost) never appear in the events."""
    n = cohort.n
    if not n or not events.n:
        return []
    # everyone who reoffended is in the events: the exact count is needed only below 1%
    if int(np.count_nonzero(reoffences)) >= MIN_ID_OVERLAP * n:
        return []
    ids = events.data["offender_id"].unique()
    found = cohort.data.select("offender_id").join(
        ids.to_frame(), on="offender_id", how="semi").height
    if found and found >= MIN_ID_OVERLAP * n:
        return []
    return [Note(
        f"only {found:,} of {n:,} cohort offender_ids ({100 * found / n:.2f}%) appear "
        f"anywhere in the events, which hold {ids.len():,} distinct ids (e.g. cohort "
        f"{cohort.data['offender_id'][0]!r}, events {ids.sort()[0]!r}): the tables may "
        "use different keys (pseudonymised with another key, reformatted ids), and everyone "
        "not found measures as not reoffending. Fix: give both tables the same offender "
        "identifier", DataQualityWarning)]


def _duplicates(events: Events) -> list[Note]:
    k = events.exclusions.count(table="events", rule=DUPLICATE_EVENT)
    if not k:
        return []
    return [Note(f"{k:,} exact duplicate event row(s) (every column equal to an earlier row) "
                 f"counted once, ledgered as {DUPLICATE_EVENT}; pass Events.from_frame(..., "
                 "duplicates='keep') if identical rows are distinct offences")]


def check(cohort: Cohort, events: Events, spec: MeasureSpec, arrays: dict[str, np.ndarray]
          ) -> tuple[list[Note], pl.DataFrame, dict[str, Any]]:
    """Every check of a measure, in a fixed order: the notes, the vocabulary table and
    the extract's coverage (``extract_end``, ``source``, ``open_windows``)."""
    vocab, notes = _vocabulary(events, spec)
    notes = _categories(events, spec) + notes
    coverage, more = _completeness(cohort, events, spec, arrays["window_end"])
    notes += more
    notes += _plausibility(cohort, events)
    notes += _join(cohort, events, arrays["reoffences"])
    notes += _duplicates(events)
    return notes, vocab, coverage
