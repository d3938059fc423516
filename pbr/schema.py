"""The column contract of every input table, in one place.

Each table has *roles*: pbr's names for the columns it needs.  Users map their own
column names onto roles with ``Events.from_frame(df, offender_id="pnc_id", ...)``.

=========  ==================  ==========================================================
table      role                meaning
=========  ==================  ==========================================================
cohort     offender_id         person identifier (integer or string), unique in a cohort
cohort     index_date          start of follow-up: release, court order start, caution
events     offender_id         person identifier, same type as the cohort's
events     offence_date        date the offence was committed (the window test uses it)
events     disposal_date       date the offence was proven (conviction or caution)
events     disposal_type       how it was proven: "conviction", "caution", ... (open set)
events     offence_code        offence code (e.g. Home Office code), for filters/weights
events     offence_category    optional: category such as "breach", for filters
events     court_event_id      optional: conviction event (court appearance) identifier;
                               default: one event per offender and disposal date
custody    offender_id         person identifier
custody    start_date          first day in custody
custody    end_date            last day in custody (inclusive)
disposals  offender_id         person identifier
disposals  disposal_date       date of sentence, court order or caution
disposals  disposal_type       "custody", "court_order", "caution", ... (open set)
disposals  release_date        custodial types: date of release (the index date)
disposals  date_of_birth, age  either, for the age at the index date
disposals  sentence_length_days  sentence length in days, for sentence-length filters
disposals  disposal_category   optional index disposal category
disposals  deported, ...       optional exclusion flags (see pbr.cohort.disposals)
=========  ==================  ==========================================================
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["COHORT", "CUSTODY", "DISPOSALS", "EVENTS", "TableSchema", "normalise_term"]


def normalise_term(value: str) -> str:
    """A vocabulary term as pbr compares it: lower case, surrounding whitespace removed
    and inner runs of whitespace as one space.

    Applied to ``disposal_type`` values when events are validated and to
    ``MeasureSpec.proof_types`` (pbr rule P2, docs/methodology/measures.md: extracts
    spell the same disposal ``Conviction``, ``CONVICTION`` or ``conviction ``).

    Examples
    --------
    >>> normalise_term("  Community   Order ")
    'community order'
    """
    return " ".join(value.split()).lower()


@dataclass(frozen=True, slots=True)
class TableSchema:
    """Roles of one input table: which are required, optional, and which are dates."""

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    dates: tuple[str, ...]
    categorical: tuple[str, ...] = ()

    @property
    def roles(self) -> tuple[str, ...]:
        return self.required + self.optional


COHORT = TableSchema("cohort", ("offender_id", "index_date"), (), ("index_date",))
EVENTS = TableSchema(
    "events",
    ("offender_id", "offence_date", "disposal_date", "disposal_type", "offence_code"),
    ("offence_category", "court_event_id"),
    ("offence_date", "disposal_date"),
    ("disposal_type", "offence_code", "offence_category"),
)
CUSTODY = TableSchema(
    "custody", ("offender_id", "start_date", "end_date"), (), ("start_date", "end_date")
)
DISPOSALS = TableSchema(
    "disposals",
    ("offender_id", "disposal_date", "disposal_type"),
    ("release_date", "date_of_birth", "age", "sentence_length_days", "disposal_category",
     "deported", "time_served", "breach_only", "released_from_court", "date_of_death",
     "provider", "area", "region"),
    ("disposal_date", "release_date", "date_of_birth", "date_of_death"),
    ("disposal_type", "disposal_category"),
)
