"""``run_contract``: the one orchestrator, a plain chain of three public steps.

:func:`measure_step` (:func:`pbr.measure` with the contract's measure spec, after
checking that the follow-up windows have closed by the data extract date,
:func:`open_windows`) -> :func:`compare_step` (the comparator the contract names or the
run gives, :func:`pbr.contract.resolve.resolve_comparator`, then
:func:`pbr.contract.compare.outcomes`: per-cohort outcomes) -> :func:`pay_step`
(:func:`pbr.contract.pay.pay` with the provenance and the notes of the steps before).
Run one by one, the steps give the statement :func:`run_contract` gives, byte for byte;
:class:`ContractRun` keeps each step's output.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import polars as pl

from pbr.contract import compare
from pbr.contract.compare import OUTCOME_COLUMNS
from pbr.contract.ledger import PaymentLedger
from pbr.contract.outcome import Outcome
from pbr.contract.pay import pay
from pbr.contract.record import ComparatorUsed, classify_comparator
from pbr.contract.resolve import resolve_comparator
from pbr.contract.spec import Contract
from pbr.contract.statement import PaymentStatement
from pbr.data import Cohort, Events, as_frame
from pbr.errors import CompletenessWarning, ContractError, PbrWarning, SpecError
from pbr.measures import MeasureResult, measure
from pbr.outcomes import OutcomeAssessment, OutcomeEvents, Participants, assess
from pbr.period import date_to_day, day_to_date
from pbr.risk.casemix import CaseMixModel
from pbr.spec import MeasureSpec, as_date

T = TypeVar("T")

__all__ = ["ContractComparison", "ContractRun", "compare_step", "measure_step",
           "open_windows", "outcome_assessment", "pay_step", "run_contract"]


@dataclass(frozen=True)
class ContractComparison:
    """The compare step's output: the outcomes and what they were compared with.

    Attributes
    ----------
    contract
        The contract compared under (as given, not the run's merged comparator).
    measured
        The measure step's :class:`~pbr.MeasureResult`.
    comparator
        :class:`~pbr.contract.resolve.ComparatorUsed`: the kind, where its data came
        from, its SHA-256 (and the match weights'), the comparator applied and the
        :class:`~pbr.MatchResult` used, if any.
    outcomes
        One :class:`~pbr.Outcome` per cohort and measure the components pay on.
    notes
        The measure's notes, the comparator's and the comparison's warnings: the
        statement's notes.
    provenance
        The measure's provenance with the contract's TOML and SHA-256 and the
        comparator's SHA-256: the statement's provenance.

    Examples
    --------
    >>> import pbr
    >>> from pbr.contract import Contract
    >>> from pbr.contract.spec import demo_contract_text
    >>> c = Contract.from_toml(demo_contract_text())
    >>> data = pbr.synth.generate(300, seed=1)
    >>> compared = compare_step(c, measure_step(c, data.cohort, data.events))
    >>> [o.cohort for o in compared.outcomes][:2], compared.comparator.form
    (['2019Q1', '2019Q1'], 'contract')
    >>> compared.provenance["comparator_sha256"] == compared.comparator.sha256
    True
    """

    contract: Contract
    measured: MeasureResult
    comparator: ComparatorUsed
    outcomes: tuple[Outcome, ...]
    notes: tuple[str, ...] = ()
    provenance: dict[str, Any] = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        return "\n".join([f"Comparison under contract {self.contract.name!r}: "
                          f"{self.comparator}", *(f"  {o}" for o in self.outcomes)])


@dataclass(frozen=True)
class ContractRun:
    """Each step's output: the measures, the comparison (outcomes), the statement."""

    contract: Contract
    result: MeasureResult
    outcomes: tuple[Outcome, ...]
    statement: PaymentStatement
    comparison: ContractComparison | None = None

    @property
    def comparator(self) -> ComparatorUsed | None:
        """What the cohort was compared with (:class:`~pbr.contract.resolve.ComparatorUsed`)."""
        return None if self.comparison is None else self.comparison.comparator

    def to_html(self, path: Any = None, **options: Any) -> Any:
        """The self-contained HTML report of this run (:func:`pbr.report.html_report`,
        whose ``options`` it takes), written to ``path`` when given; returns the
        :class:`~pbr.report.HtmlReport`."""
        from pbr import _render  # the report layer lends its renderer (layer 0 registry)

        return _render.render("html", self, path=path, **options)

    def __str__(self) -> str:
        return f"{self.result}\n\n{self.statement}"


def _as_of(value: Any) -> _dt.date:
    try:
        return as_date("as_of", value)
    except SpecError:
        raise ContractError(f"as_of: the data extract date, e.g. as_of=\"2021-06-30\" (pbr pay "
                            f"--as-of 2021-06-30); got {value!r}") from None


def open_windows(spec: MeasureSpec, cohort: Cohort, by: str, as_of: _dt.date
                 ) -> pl.DataFrame:
    """Per cohort label, the offenders whose window has not closed by ``as_of``.

    An offender's window closes on the last day a disposal can prove a reoffence:
    ``index + follow_up + waiting_period`` (the day before with ``include_index_day``),
    the rule of :func:`pbr.measure` (docs/methodology/measures.md, W1-W3, A1).  Returns
    the columns ``by``, ``open`` (offenders), ``started_after`` (index date after
    ``as_of``: nothing can be measured) and ``closes`` (the last window's closing day),
    for the labels with any open window.
    """
    frame = cohort.data
    days = frame["index_date"].to_physical().cast(pl.Int32)
    uniq = np.unique(days.to_numpy())
    close = spec.waiting_period.add(spec.follow_up.add(uniq.astype(np.int32)))
    if spec.include_index_day:
        close = close - 1
    table = pl.DataFrame({"_day": uniq.astype(np.int32), "_close": close.astype(np.int32)})
    # the measure's rule A2: nothing is measurable when as_of falls before the window opens
    limit = date_to_day(as_of)
    first = limit if spec.include_index_day else limit - 1
    joined = (frame.select(pl.col(by).cast(pl.String), days.alias("_day"))
              .join(table, on="_day", how="left"))
    return (joined.filter(pl.col("_close") > limit)
            .group_by(by, maintain_order=True)
            .agg(pl.len().alias("open"), (pl.col("_day") > first).sum().alias("started_after"),
                 pl.col("_close").max().alias("closes"))
            .sort(by))


def _last(table: pl.DataFrame) -> int:
    """The latest closing day in an :func:`open_windows` table."""
    return int(table["closes"].cast(pl.Int64).to_numpy().max())


def _describe(table: pl.DataFrame, by: str) -> str:
    parts = [f"{r[by]} ({r['open']:,} offenders, the last closing {day_to_date(r['closes'])})"
             for r in table.iter_rows(named=True)]
    return ", ".join(parts[:8]) + (f" and {len(parts) - 8} more" if len(parts) > 8 else "")


def _extract_end(contract: Contract, spec: MeasureSpec, cohort: Cohort, events: Events,
                 as_of: _dt.date | None) -> tuple[MeasureSpec, list[str]]:
    """The measure spec to pay on, after checking every window closed by the extract date."""
    by = contract.cohort_column
    compare.check_cohort_column(contract, cohort.data)
    allow = ("; this contract allows provisional lines once as_of is given"
             if contract.provisional else "; or, to pay provisional lines on the windows so "
             "far, set provisional = true under [contract] and give as_of")
    if spec.interim and not contract.provisional:
        raise ContractError("measure.overrides.interim = true measures windows that have not "
                            "closed, but [contract] provisional is false: remove interim, or "
                            "set provisional = true to pay lines marked provisional")
    if as_of is not None and spec.as_of is not None and spec.as_of != as_of:
        raise ContractError(f"as_of: {as_of} differs from measure.overrides.as_of "
                            f"({spec.as_of}) in the contract; give one data extract date")
    notes: list[str] = []
    if as_of is None and spec.as_of is None:
        last = events.data["disposal_date"].max() if events.data.height else None
        if last is None:
            raise ContractError("as_of: not given, and the events hold no disposal date, so "
                                "pbr cannot tell whether the follow-up windows have closed; "
                                "pass as_of= the date the data were extracted (pbr pay "
                                "--as-of YYYY-MM-DD)")
        assert isinstance(last, _dt.date)
        table = open_windows(spec, cohort, by, last)
        if table.height:
            raise ContractError(
                f"as_of: not given, so the data are taken to end on the last disposal date "
                f"in the events, {last}; the follow-up windows (follow-up "
                f"{spec.follow_up} + waiting period {spec.waiting_period}) of cohort(s) "
                f"{_describe(table, by)} close after it, and paying on them would understate "
                "reoffending. Fix: pass as_of= the date the data were extracted (pbr pay "
                f"--as-of YYYY-MM-DD): on or after {day_to_date(_last(table))} "
                f"the contract pays in full{allow}")
        notes.append(f"as_of not given: every follow-up window closes by the last disposal "
                     f"date in the events ({last})")
        return spec, notes
    when = as_of if as_of is not None else spec.as_of
    assert when is not None
    table = open_windows(spec, cohort, by, when)
    if table.height and not contract.provisional:
        raise ContractError(
            f"as_of {when}: the follow-up windows (follow-up {spec.follow_up} + waiting "
            f"period {spec.waiting_period}) of cohort(s) {_describe(table, by)} have not "
            "closed, so their reoffending is not yet known and [contract] provisional is "
            "false. Fix: pay on a data extract taken on or after "
            f"{day_to_date(_last(table))}, or leave those cohorts out of this "
            "run; or set provisional = true under [contract] to pay lines marked provisional")
    after = table.filter(pl.col("started_after") > 0)
    if after.height:
        raise ContractError(
            f"as_of {when}: cohort(s) {after[by].to_list()} have "
            f"{int(after['started_after'].sum()):,} offender(s) whose index date is on or "
            "after the data extract date, so nothing of their follow-up is in the data. Fix: "
            "check as_of (the date the data were extracted) or leave them out of the cohort")
    spec = spec.replace(as_of=when, interim=bool(table.height))
    if table.height:
        notes.append(f"as_of {when}: provisional figures for cohort(s) "
                     f"{_describe(table, by)}: measured on the windows so far (interim)")
    return spec, notes


def _passing_on(fn: Callable[..., T], *args: Any, **kwargs: Any
                ) -> tuple[T, list[warnings.WarningMessage]]:
    """Call ``fn``, pass on every warning it issues (to the caller's filters) and return
    them too, so the run can act on them and keep them in the statement's notes."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = fn(*args, **kwargs)
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return value, caught


def measure_step(contract: Contract, cohort: Any, events: Any, *, custody: Any = None,
                 engine: str = "numba", as_of: _dt.date | str | None = None
                 ) -> MeasureResult:
    """The first step: the cohort measured with the contract's measure spec.

    Checks the cohort column's labels against the contract and that every follow-up
    window has closed by the data extract date ``as_of`` (unless the contract allows
    provisional lines: then the open cohorts are measured on the windows so far), then
    calls :func:`pbr.measure`.  The notes of the extract-date check are added to the
    result's notes; the measure's warnings are passed on.  Arguments as for
    :func:`run_contract`.

    Examples
    --------
    >>> import pbr
    >>> from pbr.contract import Contract
    >>> from pbr.contract.spec import demo_contract_text
    >>> c = Contract.from_toml(demo_contract_text())
    >>> data = pbr.synth.generate(300, seed=1)
    >>> measured = measure_step(c, data.cohort, data.events)
    >>> measured.spec.as_of is None, measured.frame.height
    (True, 300)
    """
    if not isinstance(contract, Contract):
        raise ContractError(f"contract: expected a Contract (pbr.io.read_contract(path)), got "
                            f"{type(contract).__name__}")
    when = None if as_of is None else _as_of(as_of)
    cohort = Cohort.from_frame(cohort)
    events = Events.from_frame(events)
    spec, notes = _extract_end(contract, contract.measure_spec, cohort, events, when)
    result, caught = _passing_on(measure, cohort, events, spec, custody=custody,
                                 engine=engine)
    incomplete = [str(w.message) for w in caught if issubclass(w.category, CompletenessWarning)]
    if incomplete and not spec.interim:
        raise ContractError("the measure found follow-up windows that may not have closed: "
                            f"{incomplete[0]}. A contract pays only on closed windows: pass "
                            "as_of= the data extract date (pbr pay --as-of), or set "
                            "provisional = true under [contract] to pay provisional lines")
    said = any("as_of not given" in n for n in result.notes)
    kept = tuple(dict.fromkeys([
        *result.notes, *(n for n in notes if not (said and n.startswith("as_of not given")))]))
    return result if kept == result.notes else dataclasses.replace(result, notes=kept)


def compare_step(contract: Contract, measured: MeasureResult, comparator: Any = None, *,
                 model: CaseMixModel | None = None,
                 claims: OutcomeAssessment | None = None) -> ContractComparison:
    """The second step: per-cohort outcomes against the contract's comparator.

    Parameters
    ----------
    contract
        The :class:`~pbr.contract.Contract`.
    measured
        The :func:`measure_step` result (a :class:`~pbr.MeasureResult` of the cohort).
    comparator, model
        None (the default): the contract's ``[comparator]`` table, with a
        ``[comparator.match]`` spec matched on the cohort file's columns.  Else, where
        the table says ``supplied_at_run = true`` or there is none: a
        :class:`~pbr.risk.Baseline` (its proportions in the contract's per cent,
        exactly; grouped by nothing or by the cohort column; ``predicted_rate`` gives a
        case-mix kind's baseline risk), a fitted :class:`~pbr.risk.CaseMixModel` (each
        offender's predicted risk; also as ``model=`` beside a Baseline), a
        :class:`~pbr.MatchResult` (the treated are the cohort, the matched controls the
        comparison group, weighted; the cohort given covers both) or a
        :class:`~pbr.matching.MatchSpec` (:func:`pbr.match` on the cohort file's
        columns).  See :func:`pbr.contract.resolve.resolve_comparator`.

    Returns
    -------
    ContractComparison

    Raises
    ------
    ContractError
        A comparator that contradicts the contract's kind or gives what the contract's
        table fixes (naming both and the fix), a piece of the comparator given nowhere,
        and what :func:`pbr.contract.compare.outcomes` refuses.

    Examples
    --------
    >>> import pbr
    >>> from pbr.contract import Contract
    >>> from pbr.contract.spec import demo_contract_text
    >>> c = Contract.from_toml(demo_contract_text())
    >>> data = pbr.synth.generate(300, seed=1)
    >>> compared = compare_step(c, measure_step(c, data.cohort, data.events))
    >>> compared.comparator.kind, len(compared.outcomes)
    ('casemix', 8)
    """
    if not isinstance(contract, Contract):
        raise ContractError(f"contract: expected a Contract (pbr.io.read_contract(path)), got "
                            f"{type(contract).__name__}")
    if not isinstance(measured, MeasureResult):
        raise ContractError(f"measured: expected the measure step's MeasureResult "
                            f"(measure_step(contract, cohort, events)), got "
                            f"{type(measured).__name__}")
    needed = tuple(dict.fromkeys(c.measure for c in contract.components
                                 if c.measure is not None)) or ("binary_rate",)
    unit = "conviction events" if measured.spec.counting_unit == "court_event" else None
    (used_contract, frame, used), resolved = _passing_on(
        resolve_comparator, contract, _with_claims(contract, measured.frame, claims), comparator,
        model=model, needed=needed)
    whole = [m for m in dict.fromkeys(c.measure for c in contract.components
                                      if c.measure is not None and c.subgroup_label is None)]
    subgroups: dict[str, tuple[tuple[tuple[str, tuple[str, ...]], ...], list[str]]] = {}
    for c in contract.components:
        if c.measure is not None and c.subgroup_label is not None:
            ms = subgroups.setdefault(c.subgroup_label, (c.subgroup, []))[1]
            if c.measure not in ms:
                ms.append(c.measure)
    outcomes: tuple[Outcome, ...] = ()
    compared: list[warnings.WarningMessage] = []
    if whole or not subgroups:
        outcomes, compared = _passing_on(compare.outcomes, used_contract, frame,
                                         whole or list(needed), unit_name=unit)
    for label, (rule, ms) in subgroups.items():
        part = _subgroup_frame(frame, label, rule)
        found, more = _passing_on(compare.outcomes, used_contract, part, ms, unit_name=unit)
        outcomes += tuple(dataclasses.replace(o, subgroup=label,
                                              source=f"{o.source}; subgroup {label}")
                          for o in found)
        compared = [*compared, *more]
    # the comparison's warnings (a small group, an exact method) are kept in the record
    warned = [str(w.message) for w in (*resolved, *compared)
              if issubclass(w.category, PbrWarning)]
    text = contract.to_toml()
    provenance = {**measured.provenance, "contract": text,
                  "contract_sha256": hashlib.sha256(text.encode()).hexdigest(),
                  "comparator": f"{used.kind} ({used.form})",
                  "comparator_sha256": used.sha256}
    if used.weights_sha256 is not None:
        provenance["comparator_weights_sha256"] = used.weights_sha256
    notes = tuple(dict.fromkeys([*measured.notes, *used.notes, *warned]))
    return ContractComparison(contract, measured, used, outcomes, notes, provenance)


def _subgroup_frame(frame: pl.DataFrame, label: str,
                    rule: tuple[tuple[str, tuple[str, ...]], ...]) -> pl.DataFrame:
    """The cohort's members in a component's subgroup (attribute values compared as text)."""
    for attr, _ in rule:
        if attr not in frame.columns:
            raise ContractError(f"component subgroup {label!r}: column {attr!r} is not in the "
                                f"cohort (columns: {', '.join(frame.columns)}); carry it in "
                                "the cohort file")
    mask = pl.lit(True)
    for attr, values in rule:
        mask = mask & pl.col(attr).cast(pl.String).is_in(list(values)).fill_null(False)
    part = frame.filter(mask)
    if part.is_empty():
        raise ContractError(f"component subgroup {label!r}: nobody in the cohort belongs to "
                            "it; check the attribute's values (compared as text)")
    return part


def _with_claims(contract: Contract, frame: pl.DataFrame,
                 claims: OutcomeAssessment | None) -> pl.DataFrame:
    """The cohort with the 0/1 columns of the valid outcome claims (``employed``,
    ``housed``, ``completed_treatment``; False for a cohort member with none) of the
    higher-is-better measures the contract's components pay on."""
    wanted = [OUTCOME_COLUMNS[c.measure] for c in contract.components
              if c.measure in OUTCOME_COLUMNS]
    if claims is None or not wanted:
        return frame
    clash = [c for c in wanted if c in frame.columns]
    if clash:
        raise ContractError(f"cohort: column {clash[0]!r} is already in the cohort, and the "
                            "outcome claims would give it too; rename the cohort's column "
                            "(pbr does not guess which one the contract means)")
    people = claims.participant_frame()
    extra = list(dict.fromkeys(c for c in wanted if c in people.columns))
    key = pl.col("offender_id").cast(pl.String).alias("_participant")
    joined = frame.with_columns(key).join(
        people.select("participant_id", *extra).rename({"participant_id": "_participant"}),
        on="_participant", how="left").drop("_participant")
    return joined.with_columns([pl.col(c).fill_null(False) for c in extra])


def pay_step(contract: Contract, compared: ContractComparison, *,
             prior: PaymentLedger | PaymentStatement | Iterable[PaymentStatement] | None
             = None, outcome_events: OutcomeAssessment | None = None) -> PaymentStatement:
    """The third step: :func:`pbr.contract.pay.pay` on the comparison's outcomes, with its
    provenance and notes (``pbr.pay(contract, compared)`` does the same); the contract's
    rate cards on ``outcome_events`` (:func:`outcome_assessment`).

    Examples
    --------
    >>> import pbr
    >>> from pbr.contract import Contract
    >>> from pbr.contract.spec import demo_contract_text
    >>> c = Contract.from_toml(demo_contract_text())
    >>> data = pbr.synth.generate(300, seed=1)
    >>> compared = compare_step(c, measure_step(c, data.cohort, data.events))
    >>> str(pay_step(c, compared)) == str(run_contract(c, data.cohort, data.events).statement)
    True
    """
    if not isinstance(compared, ContractComparison):
        raise ContractError(f"compared: expected the compare step's ContractComparison "
                            f"(compare_step(contract, measured)), got "
                            f"{type(compared).__name__}; to pay given outcomes use "
                            "pbr.pay(contract, outcomes)")
    if compared.contract != contract:
        raise ContractError(f"contract: {contract.name!r} is not the contract the comparison "
                            f"was made under ({compared.contract.name!r}); pay with "
                            "compared.contract, or compare again under this one")
    return pay(contract, compared.outcomes, provenance=compared.provenance, prior=prior,
               notes=compared.notes, events=outcome_events)


def outcome_assessment(contract: Contract, cohort: Any, outcome_events: Any,
                       participants: Any = None, as_of: _dt.date | str | None = None
                       ) -> OutcomeAssessment:
    """The outcome claims of a contract run checked against their evidence rules.

    ``outcome_events`` is an :class:`~pbr.outcomes.OutcomeAssessment` (used as it is),
    :class:`~pbr.outcomes.OutcomeEvents`, or a frame of them.  The participants are
    ``participants`` (a :class:`~pbr.outcomes.Participants` or a frame), or else the
    contract's cohort: ``offender_id`` as the participant, ``index_date`` as the start,
    the contract's cohort column as the cohort and the other columns as attributes.
    The definitions are the contract's (:meth:`~pbr.contract.Contract.outcome_types`).

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> from pbr.contract import Contract
    >>> from pbr.contract.spec import demo_contract_text
    >>> from pbr.outcomes import read_outcome_events, template_path
    >>> cohort = pl.DataFrame({"offender_id": ["P0001", "P0002"], "index_date":
    ...     [dt.date(2021, 3, 1)] * 2, "cohort_period": ["2019Q1"] * 2})
    >>> a = outcome_assessment(Contract.from_toml(demo_contract_text()), cohort,
    ...                        read_outcome_events(template_path()))
    >>> a.frame["valid"].sum(), a.frame["rule"].drop_nulls().to_list()
    (4, ['O2', 'O1'])
    """
    if isinstance(outcome_events, OutcomeAssessment):
        return outcome_events
    types = contract.outcome_types()
    events = (outcome_events if isinstance(outcome_events, OutcomeEvents)
              else OutcomeEvents.from_frame(outcome_events, outcome_types=types))
    if participants is None:
        frame = cohort.data if isinstance(cohort, Cohort) else as_frame(cohort, "cohort")
        keep = [c for c in frame.columns if c != "row"]
        people = Participants.from_frame(
            frame.select(keep), participant_id="offender_id", start_date="index_date",
            cohort=contract.cohort_column if contract.cohort_column in frame.columns else None,
            source="the contract's cohort")
    elif isinstance(participants, Participants):
        people = participants
    else:
        people = Participants.from_frame(participants)
    return assess(events, people, outcome_types=types, as_of=as_of)


def run_contract(contract: Contract, cohort: Any, events: Any, *, custody: Any = None,
                 engine: str = "numba", as_of: _dt.date | str | None = None,
                 prior: PaymentLedger | PaymentStatement | Iterable[PaymentStatement] | None
                 = None, comparator: Any = None, model: CaseMixModel | None = None,
                 outcome_events: Any = None, participants: Any = None) -> ContractRun:
    """Measure a cohort, compare it with the contract's comparator, and pay.

    The chain :func:`measure_step` -> :func:`compare_step` -> :func:`pay_step`; run one
    by one they give the same statement.

    Parameters
    ----------
    contract
        The :class:`~pbr.contract.spec.Contract`.
    cohort, events, custody
        As for :func:`pbr.measure`; the cohort carries ``contract.cohort_column`` (and
        for a matched comparator the group and weight columns, or the treated and the
        matched controls of ``comparator=``).
    engine
        Measure engine, ``"numba"`` or ``"polars"``.
    as_of
        The date the data were extracted.  Every follow-up window (follow-up plus
        waiting period) must have closed by then, or the run is refused
        (:class:`~pbr.errors.ContractError`) unless the contract sets
        ``provisional = true``: then the open cohorts are measured on the windows so far
        and their lines are marked provisional (a
        :class:`~pbr.errors.ProvisionalWarning`, kept in the statement's notes).
        Without ``as_of`` the data are taken to end on the last disposal date in the
        events, and a window closing after it is refused.
    prior
        Earlier statements or a :class:`~pbr.contract.ledger.PaymentLedger`: what was
        already paid, so that caps, floors and payments on account hold across runs
        (see :func:`~pbr.contract.pay.pay`).
    comparator, model
        The comparator's data given with the run (a Baseline, a fitted CaseMixModel, a
        MatchResult or a MatchSpec), where the contract's ``[comparator]`` says
        ``supplied_at_run = true`` or there is none: see :func:`compare_step`.
    outcome_events, participants
        For ``rate_card`` components, and for components on the higher-is-better
        ``employment_rate``, ``accommodation_rate`` or ``treatment_rate`` (each cohort's
        share of members with a valid claim, against the comparator): the outcome
        events and the participants (default: the cohort), see
        :func:`outcome_assessment`; claims after ``as_of`` are not valid (rule O8).

    Returns
    -------
    ContractRun
        The measure's notes (warnings) are carried into the statement's notes.

    Examples
    --------
    >>> import pbr
    >>> from pbr.contract import Contract
    >>> data = pbr.synth.generate(400, seed=1)
    >>> c = Contract.from_toml('''
    ... [contract]
    ... name = "demo"
    ... [comparator]
    ... values = {binary_rate = 40.0}
    ... [[component]]
    ... name = "binary"
    ... kind = "linear"
    ... measure = "binary_rate"
    ... basis = "points"
    ... price = 1000
    ... clawback = true
    ... ''')
    >>> run = run_contract(c, data.cohort, data.events)
    >>> run.statement.total == sum(line.amount for line in run.statement.lines)
    True
    >>> run.comparator.kind, run.comparator.form
    ('baseline', 'contract')
    """
    if not isinstance(contract, Contract):
        raise ContractError(f"contract: expected a Contract (pbr.io.read_contract(path)), got "
                            f"{type(contract).__name__}")
    classify_comparator(comparator, model)   # a wrong object is refused before anything is measured
    if outcome_events is None and any(c.kind == "rate_card" for c in contract.components):
        raise ContractError("outcome_events: the contract has rate_card components, paid on "
                            "outcome events; give outcome_events= (pbr.outcomes."
                            "read_outcome_events) and, unless the cohort is the "
                            "participants, participants=")
    measured = measure_step(contract, cohort, events, custody=custody, engine=engine,
                            as_of=as_of)
    claims = (None if outcome_events is None else
              outcome_assessment(contract, cohort, outcome_events, participants, as_of))
    compared = compare_step(contract, measured, comparator, model=model, claims=claims)
    return ContractRun(contract, measured, compared.outcomes,
                       pay_step(contract, compared, prior=prior, outcome_events=claims
                                if any(c.kind == "rate_card" for c in contract.components)
                                else None),
                       compared)
