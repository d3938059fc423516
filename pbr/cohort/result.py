"""The result of :func:`pbr.build_cohort`: :class:`CohortBuild`.

It holds the cohort (one row per person and period), the rule, and the ledger of every
disposal row that was not used, with its reason.  Rows in = index events used + rows not
used, always (checked on construction).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from pbr._memo import Memo, memoised
from pbr.cohort.rule import CohortRule
from pbr.data import Cohort, Exclusions
from pbr.errors import ReconciliationError, SpecError

if TYPE_CHECKING:
    from pbr.cohort.disposals import Disposals

__all__ = ["REASONS", "CohortBuild"]

#: outcome of a disposal row, in the order the rules are applied (code = position)
REASONS: tuple[tuple[str, str], ...] = (
    ("index_event", "used as an index event"),
    ("not_index_type", "disposal type is not an index event type (K1)"),
    ("not_released", "custodial disposal without a release date: no index date (K2)"),
    ("short_stay", "custodial stay shorter than min_custody_stay (K2)"),
    ("where", "a column value not allowed by the rule's where filter (K10)"),
    ("disposal_category", "index disposal category not allowed by the rule (K7)"),
    ("missing_age", "no date of birth or age for the age group (K6)"),
    ("age_group", "age at the index date outside the age group (K6)"),
    ("missing_sentence_length", "no sentence length for the sentence-length filter (K7)"),
    ("sentence_length", "sentence length outside the filter (K7)"),
    ("deported", "deported or moved to immigration removal on release (K8)"),
    ("time_served", "sentenced to time already served on remand (K8)"),
    ("breach_only", "sentence for breach of a court order only (K8)"),
    ("released_from_court", "released directly from court (K8)"),
    ("outside_periods", "index date outside every cohort period (K3)"),
    ("same_day_precedence", "another event of the person on the same day took precedence "
                            "(K4)"),
    ("not_first_in_period", "not the person's first index event in the period (K4)"),
    ("in_earlier_period", "the person already entered an earlier period (K5)"),
    ("died", "died within died_within of the index date (K8)"),
)
_REASON = dict(REASONS)


def _version() -> str:
    from pbr._version import __version__

    return __version__


@dataclass(frozen=True)
class CohortBuild:
    """A cohort built from disposals, with the ledger of every row not used.

    Attributes
    ----------
    frame
        One row per person and period, in period, index-date and offender order:
        ``offender_id``, ``index_date``, ``cohort_period``, ``index_type``,
        ``disposal_date``, then ``release_date``, ``age`` (at the index date),
        ``sentence_length_days``, ``disposal_category`` and the carried columns when
        present, and ``disposal_row`` (the index disposal's input row).
    rule
        The :class:`~pbr.cohort.rule.CohortRule` applied.
    exclusions
        The ledger: invalid rows and rows not used, each with its rule and reason.
    n_input, n_used
        Disposal rows in, and rows used as an index event (a row used in several
        overlapping rolling windows counts once).
    periods
        The label of every cohort period, in order (periods may be empty).

    Examples
    --------
    >>> import pbr
    >>> from pbr.cohort.synth import generate_disposals
    >>> built = pbr.build_cohort(generate_disposals(200, seed=1), pbr.CohortRule())
    >>> built.n_input == built.n_used + len(built.exclusions)
    True
    """

    frame: pl.DataFrame
    rule: CohortRule
    exclusions: Exclusions
    n_input: int
    n_used: int
    periods: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    _disposals: Disposals | None = field(default=None, repr=False, compare=False)
    _codes: pl.DataFrame | None = field(default=None, repr=False, compare=False)
    _memo: Memo = field(default_factory=Memo, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.n_input != self.n_used + len(self.exclusions):
            raise ReconciliationError(
                f"cohort ledger does not reconcile: {self.n_input:,} disposal rows in, "
                f"{self.n_used:,} used + {len(self.exclusions):,} not used")

    # ------------------------------------------------------------------ cohorts
    @property
    def cohort(self) -> Cohort:
        """The cohort as a :class:`pbr.Cohort`, ready for :func:`pbr.measure`.

        Raises SpecError when a person is in several periods (measure each period with
        :meth:`for_period` or :meth:`cohorts`).
        """
        if self.frame["offender_id"].n_unique() < self.frame.height:
            raise SpecError(
                "cohort: some people are in several periods, and a Cohort holds each person "
                "once. Fix: measure each period with .for_period(label) or .cohorts(), or "
                "build with multiple_periods=False")
        return Cohort.from_frame(self.frame)

    def for_period(self, label: str) -> Cohort:
        """The cohort of one period as a :class:`pbr.Cohort`."""
        if label not in self.periods:
            raise SpecError(f"unknown period {label!r}; periods: {', '.join(self.periods)}")
        return Cohort.from_frame(self.frame.filter(pl.col("cohort_period") == label))

    def cohorts(self) -> dict[str, Cohort]:
        """Every period's cohort, by label, in period order."""
        return {label: self.for_period(label) for label in self.periods}

    # ------------------------------------------------------------------ conversions
    def to_frame(self) -> pl.DataFrame:
        """The cohort frame (polars)."""
        return self.frame

    def to_pandas(self) -> Any:
        """The cohort frame as a pandas DataFrame."""
        return self.frame.to_pandas()

    # ------------------------------------------------------------------ summaries
    def summary(self, by: str | None = None) -> pl.DataFrame:
        """Disposal rows by outcome: rule, reason and rows, in the order the rules apply.

        The first line is the index events used; the rows add up to ``n_input``.  With
        ``by="period"``: people per cohort period instead.
        """
        if by == "period":
            counts = self.frame.group_by("cohort_period").len("people")
            names = pl.DataFrame({"cohort_period": pl.Series(self.periods, dtype=pl.String)})
            return names.join(counts, on="cohort_period", how="left", maintain_order="left"
                              ).with_columns(pl.col("people").fill_null(0).cast(pl.Int64))
        if by is not None:
            raise SpecError(f"summary: by must be None or 'period', got {by!r}")
        led = self.exclusions.counts()
        used = pl.DataFrame({"rule": ["index_event"], "reason": [_REASON["index_event"]],
                             "rows": [self.n_used]}, schema={"rule": pl.String,
                                                             "reason": pl.String,
                                                             "rows": pl.Int64})
        return pl.concat([used, led.select("rule", "reason", pl.col("count").alias("rows"))])

    def __str__(self) -> str:
        people = self.frame["offender_id"].n_unique()
        lines = [f"Cohort build ({self.rule.name}; {self.rule.period} periods, "
                 f"{len(self.periods)} period(s))",
                 f"  disposal rows in        {self.n_input:>12,}",
                 f"  cohort rows             {self.frame.height:>12,}  ({people:,} people)"]
        for r in self.summary().iter_rows(named=True):
            lines.append(f"  {r['rule']:<24}{r['rows']:>12,}  {r['reason']}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    # ------------------------------------------------------------------ explain
    def explain(self, offender_id: Any) -> str:
        """Why each of a person's disposals was used as an index event or not."""
        if self._disposals is None or self._codes is None:
            raise SpecError("explain() needs the inputs; this result was built without them")
        dtype = self._disposals.frame.schema["offender_id"]
        if dtype == pl.String and not isinstance(offender_id, str):
            offender_id = str(offender_id)
        elif dtype.is_integer() and isinstance(offender_id, str):
            if not offender_id.lstrip("-").isdigit():
                raise SpecError(f"offender {offender_id!r}: the identifiers are integers")
            offender_id = int(offender_id)
        rows = self._disposals.frame.filter(pl.col("offender_id") == offender_id)
        if rows.height == 0:
            raise SpecError(f"offender {offender_id!r} has no valid disposal rows (invalid "
                            "rows are listed by row number in .exclusions)")
        rows = rows.join(self._codes, on="row", how="left").sort("row")
        used = self.frame.filter(pl.col("offender_id") == offender_id)
        periods = {r: [] for r in used["disposal_row"].to_list()}  # type: dict[int, list[str]]
        for r, p in used.select("disposal_row", "cohort_period").iter_rows():
            periods[r].append(p)
        lines = [f"offender {offender_id}: {rows.height} disposal row(s), "
                 f"{used.height} cohort entr{'y' if used.height == 1 else 'ies'} "
                 f"({self.rule.name})"]
        for r in rows.iter_rows(named=True):
            name, reason = REASONS[int(r["code"])]
            what = (f"index event of {', '.join(periods[r['row']])}" if name == "index_event"
                    else f"not used: {reason} [{name}]")
            release = f", released {r['release_date']}" if r.get("release_date") else ""
            lines.append(f"  row {r['row']}: {r['disposal_type']} {r['disposal_date']}"
                         f"{release} -> {what}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ provenance
    @memoised
    def provenance(self) -> dict[str, Any]:
        """Version, rule (TOML) and input fingerprints (SHA-256)."""
        from pbr.measures import _frame_fingerprint

        prov: dict[str, Any] = {
            "pbr_version": _version(),
            "rule": self.rule.to_toml(),
            "rule_sha256": hashlib.sha256(self.rule.to_toml().encode()).hexdigest(),
            "cohort_sha256": _frame_fingerprint(self.frame),
        }
        if self._disposals is not None:
            prov["disposals_sha256"] = _frame_fingerprint(self._disposals.frame)
        return prov
