"""Each claimed outcome checked against its definition's evidence rules.

:func:`assess` takes the outcome events, the participants and the definitions and gives
every claim a verdict: *valid* (it may be paid, subject to the contract's prices, caps
and exclusive outcomes) or *not valid* with the reason, checked in this order (the first
that applies is the reason; docs/methodology/outcomes.md, rules O1-O9):

O1  the participant is not in the participants table;
O2  the evidence is not verified;
O3  there is no evidence reference;
O4  the evidence type is not one the definition accepts;
O5  the date achieved is before the participant's start;
O6  it is less than the sustained period after the start (cannot have been sustained);
O7  it is after the validity window (``window_days`` after the start);
O8  it is after the data extract date (``as_of``);
O9  the same outcome was already validly claimed for the participant (earlier date,
    then input row);
O10 a prerequisite was not validly achieved on or before the date.

Claims are taken in date order (then participant, outcome type, evidence reference and
type, verified before not, and last the input row), so that the result does not depend
on the order of the input rows.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from pbr._version import __version__
from pbr.data import Exclusions
from pbr.errors import SpecError
from pbr.outcomes.definitions import OutcomeDefinition, definitions
from pbr.outcomes.tables import OutcomeEvents, Participants
from pbr.spec import parse_date

__all__ = ["ASSESSMENT_COLUMNS", "RULES", "OutcomeAssessment", "assess"]

#: the rules a claim can fail, with their short names (docs/methodology/outcomes.md)
RULES = {
    "O1": "participant not enrolled",
    "O2": "evidence not verified",
    "O3": "no evidence reference",
    "O4": "evidence type not accepted",
    "O5": "achieved before the start",
    "O6": "not sustained long enough",
    "O7": "outside the validity window",
    "O8": "after the data extract date",
    "O9": "already claimed",
    "O10": "prerequisite not achieved",
}

#: the columns of :attr:`OutcomeAssessment.frame`
ASSESSMENT_COLUMNS = ("row", "participant_id", "cohort", "start_date", "outcome_type",
                      "date_achieved", "days_from_start", "evidence_type", "evidence_ref",
                      "verified", "valid", "rule", "reason")


@dataclass(frozen=True)
class OutcomeAssessment:
    """Every claimed outcome with its verdict, and the participants behind them.

    Attributes
    ----------
    frame
        One row per claim (:data:`ASSESSMENT_COLUMNS`): ``valid`` True when the claim
        meets its definition's evidence rules; otherwise ``rule`` (O1-O10) and
        ``reason`` say why not, in words naming the dates and the evidence.
    participants
        The participants table (for cohorts and subgroup attributes).
    definitions
        The outcome definitions used.
    exclusions
        Rows of the input tables left out when they were read (``on_invalid="exclude"``).
    as_of
        The data extract date, if given.
    provenance
        pbr's version, a SHA-256 of the definitions and of each input table (their
        contents as validated, not their file names, so that a run and its
        verification from moved files agree).

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> from pbr.outcomes import OutcomeEvents, Participants
    >>> p = Participants.from_frame(pl.DataFrame({"participant_id": ["A"],
    ...     "start_date": [dt.date(2020, 1, 1)]}))
    >>> e = OutcomeEvents.from_frame(pl.DataFrame({"participant_id": ["A", "A"],
    ...     "outcome_type": ["employment_13w", "employment_26w"],
    ...     "date_achieved": [dt.date(2020, 2, 1), dt.date(2020, 8, 1)],
    ...     "evidence_ref": ["PS-1", "PS-2"], "evidence_type": ["payslip", "payslip"],
    ...     "verified": [True, True]}))
    >>> a = assess(e, p)
    >>> a.frame["rule"].to_list()
    ['O6', 'O10']
    >>> print(a.frame["reason"][0])  # doctest: +NORMALIZE_WHITESPACE
    achieved 2020-02-01, 31 days after the start 2020-01-01: less than the 13 weeks
    the outcome must be sustained (earliest 2020-04-01)
    """

    frame: pl.DataFrame
    participants: Participants
    definitions: dict[str, OutcomeDefinition]
    exclusions: Exclusions = field(default_factory=Exclusions)
    as_of: _dt.date | None = None
    provenance: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def valid(self) -> pl.DataFrame:
        """The valid claims."""
        return self.frame.filter(pl.col("valid"))

    def summary(self) -> pl.DataFrame:
        """Per outcome type: claims, valid claims, and the claims not valid by rule."""
        f = self.frame
        out = (f.group_by("outcome_type", maintain_order=True)
               .agg(pl.len().alias("claimed"), pl.col("valid").sum().alias("valid"),
                    (~pl.col("valid")).sum().alias("not_valid"))
               .sort("outcome_type"))
        return out.with_columns(pl.col("claimed").cast(pl.Int64),
                                pl.col("valid").cast(pl.Int64),
                                pl.col("not_valid").cast(pl.Int64))

    def reasons(self) -> pl.DataFrame:
        """Claims not valid, counted per rule with an example reason."""
        f = self.frame.filter(~pl.col("valid"))
        return (f.group_by("rule", maintain_order=True)
                .agg(pl.len().cast(pl.Int64).alias("count"), pl.col("reason").first())
                .sort("rule"))

    def explain(self, participant: Any) -> str:
        """Every claim of one participant: the evidence and the verdict, in words."""
        pid = str(participant)
        rows = self.frame.filter(pl.col("participant_id") == pid)
        if rows.is_empty():
            raise KeyError(f"no claims for participant {pid!r}")
        start = rows["start_date"][0]
        out = [f"Participant {pid}" + (f": started {start}, cohort {rows['cohort'][0]}"
                                       if start is not None else "")]
        for r in rows.iter_rows(named=True):
            verdict = "valid" if r["valid"] else f"not valid ({r['rule']}): {r['reason']}"
            out.append(f"  input row {r['row']}: {r['outcome_type']} achieved "
                       f"{r['date_achieved']}; evidence {r['evidence_type'] or '(none)'} "
                       f"{r['evidence_ref'] or '(no reference)'}, "
                       f"{'verified' if r['verified'] else 'not verified'} -> {verdict}")
        return "\n".join(out)

    def participant_frame(self, outcome_type: str | None = None) -> pl.DataFrame:
        """One row per participant with a 0/1 column per registry measure: ``employed``,
        ``housed``, ``completed_treatment`` (a valid claim of the outcome type that feeds the
        measure), for :func:`pbr.compare` against a comparator (higher is better).

        ``outcome_type`` picks the outcome for a measure when several feed it.
        """
        from pbr.compare.registry import measure_info

        base = self.participants.data.drop("row")
        cols = []
        chosen: dict[str, str] = {}
        for d in self.definitions.values():
            if d.measure is None:
                continue
            if outcome_type is not None and d.name != outcome_type \
                    and self.definitions.get(outcome_type, d).measure == d.measure:
                continue
            chosen.setdefault(d.measure, d.name)
        for measure, name in chosen.items():
            column = measure_info(measure).column
            ids = self.valid.filter(pl.col("outcome_type") == name)["participant_id"]
            cols.append(pl.col("participant_id").is_in(ids.implode()).alias(column))
        return base.with_columns(cols)

    def __str__(self) -> str:
        lines = [f"Outcome assessment: {self.frame.height:,} claims, "
                 f"{int(self.frame['valid'].sum()):,} valid, "
                 f"{self.participants.n:,} participants"
                 + (f"; data extract {self.as_of}" if self.as_of else "")]
        for r in self.summary().iter_rows(named=True):
            lines.append(f"  {r['outcome_type']:<22} claimed {r['claimed']:>6,}  valid "
                         f"{r['valid']:>6,}  not valid {r['not_valid']:>6,}")
        for r in self.reasons().iter_rows(named=True):
            lines.append(f"  {r['rule']:<4} {r['count']:>6,}  e.g. {r['reason']}")
        if len(self.exclusions):
            lines.append(str(self.exclusions))
        return "\n".join(lines)


def _fingerprint(frame: pl.DataFrame) -> str:
    buf = frame.write_csv().encode("utf-8")
    return hashlib.sha256(buf).hexdigest()


def assess(events: OutcomeEvents, participants: Participants, *,
           outcome_types: Mapping[str, OutcomeDefinition] | Iterable[OutcomeDefinition]
           | None = None, as_of: Any = None) -> OutcomeAssessment:
    """Check every claimed outcome against its definition (rules O1-O10).

    Parameters
    ----------
    events
        The validated :class:`~pbr.outcomes.OutcomeEvents`.
    participants
        The validated :class:`~pbr.outcomes.Participants` (start dates).
    outcome_types
        The definitions (default :data:`pbr.outcomes.STANDARD`); every outcome type in
        ``events`` must be defined.
    as_of
        The data extract date: a claim dated after it is not valid (O8).

    Returns
    -------
    OutcomeAssessment

    Examples
    --------
    See :class:`OutcomeAssessment`.
    """
    if not isinstance(events, OutcomeEvents):
        raise SpecError(f"events: expected pbr.outcomes.OutcomeEvents (read_outcome_events or "
                        f"OutcomeEvents.from_frame), got {type(events).__name__}")
    if not isinstance(participants, Participants):
        raise SpecError(f"participants: expected pbr.outcomes.Participants, got "
                        f"{type(participants).__name__}")
    defs = definitions(outcome_types)
    undefined = sorted(set(events.data["outcome_type"].to_list()) - set(defs))
    if undefined:
        raise SpecError(f"outcome_types: the events claim {undefined}, which the definitions "
                        f"do not define (defined: {', '.join(defs)})")
    extract: _dt.date | None = None
    if as_of is not None:
        try:
            extract = parse_date(as_of, datetimes=False)
        except ValueError:
            raise SpecError(f"as_of: expected a date such as 2021-03-31, got {as_of!r}") from None
    starts = participants.start()
    cohorts = (dict(zip(participants.data["participant_id"].to_list(),
                        participants.data["cohort"].to_list(), strict=True))
               if "cohort" in participants.data.columns else {})
    ev = events.data.sort(["date_achieved", "participant_id", "outcome_type", "evidence_ref",
                           "evidence_type", "verified", "row"],
                          descending=[False, False, False, False, False, True, False],
                          nulls_last=True)
    done: dict[tuple[str, str], tuple[_dt.date, int]] = {}
    out: list[dict[str, Any]] = []
    for r in ev.iter_rows(named=True):
        pid, kind, when = r["participant_id"], r["outcome_type"], r["date_achieved"]
        d = defs[kind]
        start = starts.get(pid)
        rule, reason = _verdict(r, d, start, extract, done)
        if rule is None:
            done[(pid, kind)] = (when, r["row"])
        out.append({"row": r["row"], "participant_id": pid, "cohort": cohorts.get(pid),
                    "start_date": start, "outcome_type": kind, "date_achieved": when,
                    "days_from_start": None if start is None else (when - start).days,
                    "evidence_type": r["evidence_type"], "evidence_ref": r["evidence_ref"],
                    "verified": r["verified"], "valid": rule is None, "rule": rule,
                    "reason": reason})
    schema = {"row": pl.Int64, "participant_id": pl.String, "cohort": pl.String,
              "start_date": pl.Date, "outcome_type": pl.String, "date_achieved": pl.Date,
              "days_from_start": pl.Int64, "evidence_type": pl.String,
              "evidence_ref": pl.String, "verified": pl.Boolean, "valid": pl.Boolean,
              "rule": pl.String, "reason": pl.String}
    frame = pl.DataFrame(out, schema=schema) if out else pl.DataFrame(schema=schema)
    provenance = {
        "pbr_version": __version__,
        "definitions_sha256": hashlib.sha256(json.dumps(
            [d.to_dict() for d in defs.values()], sort_keys=True).encode()).hexdigest(),
        "events_sha256": _fingerprint(events.data),
        "participants_sha256": _fingerprint(participants.data),
        "as_of": None if extract is None else extract.isoformat(),
    }
    return OutcomeAssessment(frame, participants, defs,
                             events.exclusions + participants.exclusions, extract, provenance)


def _verdict(r: dict[str, Any], d: OutcomeDefinition, start: _dt.date | None,
             extract: _dt.date | None, done: dict[tuple[str, str], tuple[_dt.date, int]]
             ) -> tuple[str | None, str | None]:
    pid, when = r["participant_id"], r["date_achieved"]
    if start is None:
        return "O1", f"participant {pid!r} is not in the participants table (no start date)"
    if not r["verified"]:
        return "O2", (f"evidence {r['evidence_type'] or '(none)'} "
                      f"{r['evidence_ref'] or '(no reference)'} not verified")
    if r["evidence_ref"] is None:
        return "O3", "no evidence reference"
    if r["evidence_type"] is None or r["evidence_type"] not in d.evidence:
        what = r["evidence_type"] or "(none)"
        return "O4", (f"evidence type {what} is not accepted for {d.name} (accepted: "
                      f"{', '.join(d.evidence)})")
    days = (when - start).days
    if when < start:
        return "O5", f"achieved {when}, before the start {start}"
    earliest = d.earliest(start)
    if when < earliest:
        return "O6", (f"achieved {when}, {days} days after the start {start}: less than the "
                      f"{d.sustained_weeks} weeks the outcome must be sustained (earliest "
                      f"{earliest})")
    latest = d.latest(start)
    if latest is not None and when > latest:
        return "O7", (f"achieved {when}, {days} days after the start {start}: outside the "
                      f"validity window of {d.window_days} days (last day {latest})")
    if extract is not None and when > extract:
        return "O8", f"achieved {when}, after the data extract date {extract}"
    if (pid, d.name) in done:
        first, row = done[(pid, d.name)]
        return "O9", f"{d.name} already claimed for {pid} (achieved {first}, input row {row})"
    for req in d.requires:
        got = done.get((pid, req))
        if got is None:
            return "O10", f"prerequisite {req} not validly achieved by {when}"
    return None, None


