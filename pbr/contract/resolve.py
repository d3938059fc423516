"""The comparator a contract run uses: the contract's ``[comparator]`` and what the run gives.

A contract's comparator is fixed in its TOML (baseline values, a case-mix risk column, a
comparison-group column, or a ``[comparator.match]`` spec that :func:`pbr.match` runs
inside the contract), or, where the table says ``supplied_at_run = true`` (or there is
no ``[comparator]`` table), given with the run: a :class:`~pbr.risk.Baseline`
(proportions, converted to the contract's per cent exactly, in Decimal), a fitted
:class:`~pbr.risk.CaseMixModel` (each offender's predicted risk), a
:class:`~pbr.MatchResult` (the treated are the cohort, the matched controls the
comparison group with their match weights) or a :class:`~pbr.matching.MatchSpec`
(matched on the cohort file's columns inside the run).

:func:`resolve_comparator` takes each piece of the comparator's data from exactly one
place: an object that contradicts the table's kind, or gives what the table already
fixes, is a :class:`~pbr.errors.ContractError` naming both and the fix.  It returns the
:class:`~pbr.contract.comparator.Comparator` the comparison step reads and a
:class:`ComparatorUsed` record: the kind, where the data came from, a canonical JSON
document of it and its SHA-256 (and, for a matched group, the SHA-256 of the units'
groups and weights), which the audit manifest keeps so that :func:`pbr.verify` tells a
changed comparator.  Rules and sources: docs/methodology/payments.md, "The chain:
measure -> compare -> pay".
"""

from __future__ import annotations

import dataclasses
import hashlib
from decimal import Decimal, localcontext
from typing import Any

import numpy as np
import polars as pl

from pbr.contract.comparator import PIECES, Comparator
from pbr.contract.matched import GROUP, WEIGHT, matched_frame, run_match
from pbr.contract.record import (
    ComparatorUsed,
    classify_comparator,
    comparator_document,
    weights_sha256,
)
from pbr.contract.spec import Contract
from pbr.errors import ContractError, PbrError
from pbr.matching.result import MatchResult
from pbr.matching.spec import MatchSpec
from pbr.risk.baseline import Baseline
from pbr.risk.casemix import CaseMixModel
from pbr.spec import MeasureSpec

__all__ = ["ComparatorUsed", "resolve_comparator"]

#: the column the run adds to the measured frame for each offender's predicted risk
RISK = "casemix_risk"
_WHAT = {"values": "the baseline values", "baseline_risk": "the baseline's mean predicted "
         "risk", "risk_column": "each offender's predicted risk",
         "group_column": "the comparison group"}
_OBJECTS = {"baseline": "a Baseline", "casemix": "a CaseMixModel (with a Baseline if the "
            "table leaves the baseline values to the run)", "matched": "a MatchResult or "
            "a MatchSpec"}
_HOW = {"values": "a Baseline (comparator=) or [comparator.values]",
        "baseline_risk": "a Baseline with predicted_rate (comparator=) or [comparator] "
                         "baseline_risk (percent)",
        "risk_column": "a fitted CaseMixModel (model= or comparator=) or [comparator] "
                       "risk_column",
        "group_column": "a MatchResult or MatchSpec (comparator=), a [comparator.match] "
                        "table or [comparator] group_column"}


# ---------------------------------------------------------------------- resolution
def _describe(comparator: Any, model: CaseMixModel | None) -> str:
    parts = []
    if isinstance(comparator, Baseline):
        parts.append(f"comparator=Baseline {comparator.label!r}")
    elif isinstance(comparator, MatchResult):
        parts.append(f"comparator=MatchResult ({comparator.spec.name!r})")
    elif isinstance(comparator, MatchSpec):
        parts.append(f"comparator=MatchSpec {comparator.name!r}")
    if model is not None:
        parts.append(f"a CaseMixModel ({model.measure}, {model.family})")
    return " with ".join(parts)


def _kinds(comparator: Any, model: CaseMixModel | None) -> tuple[str, ...]:
    if model is not None:
        return ("casemix",)
    if isinstance(comparator, Baseline):
        return ("baseline", "casemix")
    return ("matched",)


def _supplies(comparator: Any, model: CaseMixModel | None) -> set[str]:
    out = set()
    if isinstance(comparator, Baseline):
        out.add("values")
        if any(g.predicted_rate is not None for g in comparator.groups):
            out.add("baseline_risk")
    if model is not None:
        out.add("risk_column")
    if isinstance(comparator, MatchResult | MatchSpec):
        out.add("group_column")
    return out


def _fixed(toml: Comparator, piece: str) -> str:
    """The table's field holding ``piece``, as the contract writes it."""
    if piece == "values":
        return "[comparator.values]" if toml.values else "[comparator.cohorts]"
    if piece == "group_column" and toml.match is not None:
        return "[comparator.match]"
    return f"[comparator] {piece}"


def _check_spec(where: str, theirs: MeasureSpec, ours: MeasureSpec) -> None:
    """A baseline measured under other rules is not this contract's baseline."""
    skip = {"name", "as_of", "interim"}
    a, b = theirs.to_dict(), ours.to_dict()
    diff = sorted(k for k in (set(a) | set(b)) - skip if a.get(k) != b.get(k))
    if diff:
        shown = "; ".join(f"{k} {a.get(k)!r} against {b.get(k)!r}" for k in diff[:4])
        raise ContractError(f"{where}: measured under other rules than the contract's measure "
                            f"({ours.name!r} with the contract's overrides): {shown}. A "
                            "comparator measured another way would move the payment. Fix: "
                            "build it with spec=contract.measure_spec (or the same preset "
                            "and overrides)")


def _percent(x: float) -> Decimal:
    """A proportion (or a count per offender) times 100, exactly, from its shortest repr."""
    with localcontext() as ctx:
        ctx.prec = 60
        return Decimal(repr(float(x))) * 100


def _baseline(b: Baseline, contract: Contract, frame: pl.DataFrame, needed: tuple[str, ...],
              kind: str) -> dict[str, Any]:
    """Comparator fields from a Baseline: values (per cohort if grouped by the cohort
    column) and, for a case-mix kind, the baseline's mean predicted risk."""
    where = f"comparator=Baseline {b.label!r}"
    _check_spec(where, b.spec, contract.measure_spec)
    by = contract.cohort_column
    labels = sorted(str(x) for x in frame[by].cast(pl.String).unique().to_list())
    if b.by == ():
        groups = {label: b.groups[0] for label in labels}
    elif b.by == (by,):
        mine = {str(g.key[0]): g for g in b.groups}
        lacking = [label for label in labels if label not in mine]
        if lacking:
            raise ContractError(f"{where}: no baseline group for cohort(s) {lacking} (its "
                                f"groups: {sorted(mine)}); give a baseline value for every "
                                f"cohort measured, or an overall Baseline (by=None)")
        groups = {label: mine[label] for label in labels}
    else:
        raise ContractError(f"{where}: grouped by {list(b.by)}, but the contract compares "
                            f"each cohort ({by!r}); give an overall Baseline (by=None) or one "
                            f"grouped by {by!r}")
    scale = {"binary_rate": ("binary_rate", True), "per_offender": ("per_offender", False),
             "per_100": ("per_offender", True), "per_reoffender": ("per_reoffender", False)}

    def values(g: Any) -> dict[str, Decimal]:
        out = {}
        for measure, (name, pct) in scale.items():
            v = getattr(g, name)
            if v is not None:
                out[measure] = _percent(v) if pct else Decimal(repr(float(v)))
        return out

    table = {label: values(g) for label, g in groups.items()}
    for label, vals in table.items():
        lacking = [m for m in needed if m not in vals]
        if lacking:
            raise ContractError(f"{where}: no {', '.join(lacking)} value"
                                + (f" for cohort {label!r}" if b.by else "")
                                + f" (it gives {', '.join(vals) or 'none'}); the contract's "
                                f"components pay on {', '.join(needed)}. Fix: give a Baseline "
                                "with those values, or fix them in [comparator.values]")
    fields: dict[str, Any] = ({"values": table[labels[0]]} if b.by == () and labels else
                              {"cohort_values": table})
    if kind == "casemix":
        risks = {g.predicted_rate for g in groups.values()}
        if None not in risks and len(risks) > 1:
            raise ContractError(f"{where}: its groups' predicted_rate differ "
                                f"({sorted(r for r in risks if r is not None)}),"
                                " but a contract's case-mix adjustment has one baseline mean "
                                "predicted risk; give an overall Baseline, or fix "
                                "[comparator] baseline_risk and leave predicted_rate out")
        if None in risks and len(risks) > 1:
            raise ContractError(f"{where}: predicted_rate is given for some cohorts only; give "
                                "it for every group, or none")
        if risks != {None}:
            fields["baseline_risk"] = _percent(next(r for r in risks if r is not None))
    return fields


def _risk(model: CaseMixModel, contract: Contract, frame: pl.DataFrame) -> pl.DataFrame:
    """The measured frame with each offender's predicted risk under the baseline."""
    where = f"model (CaseMixModel {model.measure}, {model.family})"
    if model.measure != "binary_rate":
        raise ContractError(f"{where}: the contract's case-mix adjustment moves the binary "
                            "rate's baseline, so the model must predict reoffending: fit it "
                            "with pbr.risk.fit_casemix(..., measure='binary_rate') or use "
                            "casemix_score(column)")
    if model.spec is not None:
        _check_spec(where, model.spec, contract.measure_spec)
    if RISK in frame.columns:
        raise ContractError(f"{where}: the cohort file already has a column {RISK!r}, which "
                            "the run adds for the predicted risk; rename it")
    try:
        p = model.predict(frame)
    except PbrError as exc:
        raise ContractError(f"{where}: cannot predict the cohort's risk: {exc}") from None
    bad = ~np.isfinite(p)
    if bad.any():
        first = frame["offender_id"][int(np.flatnonzero(bad)[0])]
        raise ContractError(f"{where}: {int(bad.sum()):,} offender(s) (e.g. offender_id "
                            f"{first!r}) get no predicted risk (a missing covariate, the "
                            "model's missing='drop'); a contract pays on every offender. Fix: "
                            "fill the covariates, or leave those offenders out of the cohort")
    return frame.with_columns(pl.Series(RISK, p))


def resolve_comparator(contract: Contract, frame: pl.DataFrame, comparator: Any = None, *,
                       model: CaseMixModel | None = None, needed: tuple[str, ...] = ()
                       ) -> tuple[Contract, pl.DataFrame, ComparatorUsed]:
    """The contract and measured frame the comparison step reads, and the record.

    Parameters
    ----------
    contract
        The :class:`~pbr.contract.Contract`.
    frame
        The measured frame (:attr:`pbr.MeasureResult.frame`): the cohort file's columns
        and the measure's.
    comparator, model
        What the run gives (see the module docstring); None: the contract's table.
    needed
        The measures the contract's components pay on (checked against a Baseline).

    Returns
    -------
    (Contract, DataFrame, ComparatorUsed)
        The contract with the comparator the run uses (the table's settings and the
        run's data), the frame with the columns it reads (``casemix_risk``;
        ``matched_group`` and ``match_weight``, cut to the matched units), the record.

    Raises
    ------
    ContractError
        An object that contradicts the table's kind or gives what the table fixes, a
        piece given nowhere, a baseline measured under other rules, a match whose pairs
        cross cohorts or whose units are not in the cohort given.

    Examples
    --------
    A Baseline's proportion becomes the contract's per cent exactly:

    >>> from pbr.contract import Contract
    >>> c = Contract.from_toml('''
    ... [contract]
    ... name = "t"
    ... [comparator]
    ... supplied_at_run = true
    ... significance_z = 1.96
    ... [[component]]
    ... name = "b"
    ... kind = "linear"
    ... measure = "binary_rate"
    ... basis = "points"
    ... price = 1
    ... ''')
    >>> b = Baseline.from_values({"binary_rate": 0.285}, spec="moj_national_2017")
    >>> used_contract, _, used = resolve_comparator(
    ...     c, pl.DataFrame({"cohort_period": ["Q1"]}), b, needed=("binary_rate",))
    >>> used_contract.comparator.values, used_contract.comparator.significance_z
    ((('binary_rate', Decimal('28.500')),), Decimal('1.96'))
    >>> used.form
    'baseline'
    """
    comparator, model = classify_comparator(comparator, model)
    toml = contract.comparator
    given = comparator is not None or model is not None
    form, document = comparator_document(comparator, model=model, contract=contract)
    if not given and toml is None:
        raise ContractError("comparator: measuring a cohort against the contract needs a "
                            "[comparator] table (baseline values, case mix or a comparison "
                            "group) or a comparator given with the run (comparator= a "
                            "Baseline, CaseMixModel, MatchResult or MatchSpec); pay() on "
                            "given outcomes does not")
    what = _describe(comparator, model)
    if given:
        kinds = _kinds(comparator, model)
        kind = kinds[0]
        if toml is not None:
            if toml.kind not in kinds:
                raise ContractError(
                    f"{what} gives a {' or '.join(map(repr, kinds))} comparator, but the "
                    f"contract's [comparator] kind is {toml.kind!r}. Fix: set [comparator] "
                    f"kind = {kinds[0]!r} (with supplied_at_run = true), or give "
                    f"{_OBJECTS[toml.kind]} for a {toml.kind!r} comparator")
            kind = toml.kind
    else:
        assert toml is not None
        kind = toml.kind
    fixed = set() if toml is None else set(PIECES[kind]) - set(toml.missing())
    supplied = _supplies(comparator, model) & set(PIECES[kind])
    twice = sorted(fixed & supplied)
    if twice:
        assert toml is not None
        raise ContractError(
            f"{what} gives {_WHAT[twice[0]]}, which the contract's "
            f"{_fixed(toml, twice[0])} already fixes; a comparator comes from one place. "
            f"Fix: leave "
            f"comparator=/model= out to use the contract's, or remove "
            f"{_fixed(toml, twice[0])} and set supplied_at_run = true under [comparator]")
    if given and toml is not None and not toml.supplied_at_run:
        raise ContractError(f"{what}: the contract's [comparator] does not say its data come "
                            "with the run; set supplied_at_run = true under [comparator], or "
                            "leave comparator=/model= out")
    lacking = [p for p in PIECES[kind] if p not in fixed | supplied]
    if lacking:
        why = (f"the contract's [comparator] leaves {_WHAT[lacking[0]]} to the run "
               "(supplied_at_run = true), but the run gave none" if not given else
               f"{what} does not give {_WHAT[lacking[0]]}")
        raise ContractError(f"comparator: {why}. Fix: give {_HOW[lacking[0]]}")
    notes: list[str] = []
    fields: dict[str, Any] = {}
    if toml is not None:
        fields = {f.name: getattr(toml, f.name) for f in dataclasses.fields(Comparator)
                  if f.name not in ("supplied_at_run", "match")}
    fields["kind"] = kind
    if isinstance(comparator, Baseline):
        fields.update(_baseline(comparator, contract, frame, needed, kind))
    if model is not None:
        frame = _risk(model, contract, frame)
        fields["risk_column"] = RISK
    spec = comparator if isinstance(comparator, MatchSpec) else (
        toml.match if toml is not None and not given else None)
    used_match = comparator if isinstance(comparator, MatchResult) else None
    if spec is not None:
        used_match = run_match(spec, frame, "comparator=MatchSpec" if given
                          else "[comparator.match]")
    weights = None
    if used_match is not None:
        frame, more_notes = matched_frame(used_match, contract, frame,
                                          what or "[comparator.match]")
        notes += more_notes
        if isinstance(comparator, MatchResult):
            notes += [f"match: {n}" for n in used_match.notes]
        fields.update(group_column=GROUP, weight_column=WEIGHT)
        weights = weights_sha256(used_match)
    try:
        effective = toml if not given and spec is None else Comparator(**fields)
        assert effective is not None
        compared = contract if effective == toml else dataclasses.replace(
            contract, comparator=effective)
    except ContractError as exc:   # the run's data under the contract's rules
        raise ContractError(f"{what or '[comparator.match]'}: {exc}") from None
    used = ComparatorUsed(kind, form, document, hashlib.sha256(document.encode()).hexdigest(),
                          weights, effective, used_match, tuple(notes))
    return compared, frame, used
