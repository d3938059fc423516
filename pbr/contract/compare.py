"""The comparison step of a contract run: per-offender measures -> per-cohort outcomes.

This is the one place where a contract's comparator (fixed baseline values, a case-mix
adjusted baseline, or a matched comparison group) meets the measured cohort.  It is
deliberately small: exact counts per cohort, the comparator's value, and where the
contract sets ``significance_z`` the thresholds:

* baselines (fixed or case-mix adjusted, rate measures): ``E -+ z*sqrt(E(1-E)/n)``
  around the (adjusted) baseline ``E`` ([MoJ-PbR-Baselines-2011], the usual normal-approximation
  form; the CRC's level is not public [R]), the case-mix adjusted ``E`` from
  :func:`pbr.compare.thresholds.adjust_baseline`.  The thresholds are
  :func:`pbr.compare.thresholds.baseline_thresholds`, the one function that
  :func:`pbr.compare.adjusted.compare_to_baseline` calls too, here in exact decimals and
  per cent (:func:`significance_thresholds`).  Where the normal approximation is not
  valid (``n·E < 5`` or ``n·(1-E) < 5``, :func:`pbr.stats.normal_approximation_problem`;
  Brown, Cai and DasGupta 2001) the thresholds are the exact binomial ones
  (:func:`pbr.stats.binomial_thresholds`); a baseline of 0% or 100% leaves nothing to
  test against and a significance trigger on it is refused;
* comparison groups: from :func:`pbr.compare`'s interval of the difference
  (:func:`group_thresholds`); a group :func:`pbr.compare` does not assess (no variation:
  no interval) gets no thresholds, and a significance trigger on it is refused.

Values are carried as Decimals rounded half-even to :data:`PLACES` places.  The
arithmetic lives in :mod:`pbr.compare.thresholds` (``significance_thresholds``,
``significance_interval``, ``group_thresholds`` and ``PLACES`` are re-imported here, so
``from pbr.contract.compare import significance_interval`` still works); this module
keeps the cohort counts, the outcomes' assembly and the contract's refusals.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

import polars as pl

from pbr.compare.groups import GROUP_MEASURES as _GROUP_MEASURES
from pbr.compare.groups import group_thresholds
from pbr.compare.thresholds import (
    PLACES,
    adjust_baseline,
    interval_thresholds,
    significance_interval,
    significance_thresholds,
)
from pbr.contract.checks import check_labels, check_ratio
from pbr.contract.comparator import Comparator
from pbr.contract.outcome import Outcome, as_decimal
from pbr.contract.pay import CONTEXT
from pbr.contract.spec import Contract
from pbr.errors import ContractError

__all__ = ["PLACES", "check_cohort_column", "cohort_counts", "group_thresholds", "outcomes",
           "significance_interval", "significance_thresholds"]

_Q = Decimal(1).scaleb(-PLACES)
#: the intermediate-outcome rates (higher is better) and the 0/1 column behind each: a
#: valid claim of the outcome that feeds the measure (pbr.outcomes), joined onto the
#: cohort by :func:`pbr.contract.run.compare_step`
OUTCOME_COLUMNS = {"employment_rate": "employed", "accommodation_rate": "housed",
                   "treatment_rate": "completed_treatment"}
_RATES = ("binary_rate", "serious_rate", *OUTCOME_COLUMNS)


def _d(x: Any) -> Decimal:
    return as_decimal("value", float(x) if not isinstance(x, int) else x)


def cohort_counts(frame: pl.DataFrame, by: str, weight: str | None = None) -> pl.DataFrame:
    """Weighted counts per cohort: n, reoffenders, reoffences, serious, custody days.

    Examples
    --------
    >>> df = pl.DataFrame({"c": ["a", "a", "b"], "reoffended": [True, False, True],
    ...                    "reoffences": [2, 0, 1], "serious": [False, False, True]})
    >>> cohort_counts(df, "c")["reoffences"].to_list()
    [2.0, 1.0]
    """
    if weight is None:
        frame = frame.with_columns(pl.lit(1.0).alias("_weight"))
    w = pl.col(weight or "_weight").cast(pl.Float64)
    aggs = [w.sum().alias("n"),
            (w * pl.col("reoffended").cast(pl.Float64)).sum().alias("reoffenders"),
            (w * pl.col("reoffences").cast(pl.Float64)).sum().alias("reoffences"),
            (w * pl.col("serious").cast(pl.Float64)).sum().alias("serious")]
    if "custody_days" in frame.columns:
        aggs.append((w * pl.col("custody_days").cast(pl.Float64)).sum().alias("custody_days"))
    for column in OUTCOME_COLUMNS.values():
        if column in frame.columns:
            aggs.append((w * pl.col(column).cast(pl.Float64)).sum().alias(column))
    return frame.group_by(by, maintain_order=True).agg(aggs).sort(by)


def _value(measure: str, row: dict[str, Any]) -> Decimal:
    n, reo = _d(row["n"]), _d(row["reoffenders"])
    num = {"binary_rate": reo * 100, "serious_rate": _d(row["serious"]) * 100,
           "per_offender": _d(row["reoffences"]), "per_100": _d(row["reoffences"]) * 100,
           "per_reoffender": _d(row["reoffences"]),
           "custody_days_per_offender": _d(row.get("custody_days") or 0),
           **{m: _d(row.get(c) or 0) * 100 for m, c in OUTCOME_COLUMNS.items()}}[measure]
    den = reo if measure == "per_reoffender" else n
    return (num / den).quantize(_Q, ROUND_HALF_EVEN) if den else Decimal(0)


def _baseline(comp: Comparator, cohort: str, measure: str, risk: Decimal | None
              ) -> tuple[Decimal, str]:
    value = comp.value(cohort, measure)
    if value is None:
        raise ContractError(f"comparator.values.{measure}: no baseline value for cohort "
                            f"{cohort!r}; add it under [comparator.values] or "
                            f"[comparator.cohorts.\"{cohort}\"]")
    if comp.kind != "casemix" or measure != "binary_rate" or risk is None:
        return value, f"fixed baseline {value}"
    assert comp.baseline_risk is not None
    adj = adjust_baseline(value, risk, comp.baseline_risk, comp.adjustment)
    how = (f"{value} + ({risk} - {comp.baseline_risk})" if comp.adjustment == "additive"
           else f"{value} x {risk} / {comp.baseline_risk}")
    if not 0 <= adj <= 100:
        raise ContractError(f"comparator: the case-mix adjusted baseline of cohort {cohort!r} is "
                            f"{how} = {adj}, outside 0 to 100; check that "
                            f"comparator.values.{measure} and baseline_risk are in percent and "
                            f"risk_column {comp.risk_column!r} holds probabilities")
    return adj.quantize(_Q, ROUND_HALF_EVEN), (f"baseline {value} adjusted for case mix "
                                               f"({comp.adjustment}): {how}")


def _tested_names(contract: Contract, cohort: str, measure: str) -> list[str]:
    """Components in force for the cohort with a significance trigger on ``measure``."""
    return [c.name for c, _ in contract.terms(contract.period(cohort).start)
            if c.active and c.trigger == "significant" and c.measure == measure]


def _tested(contract: Contract, cohort: str, measure: str) -> bool:
    """Whether a component in force for the cohort has a significance trigger on ``measure``."""
    return bool(_tested_names(contract, cohort, measure))


def _refuse_untested(contract: Contract, cohort: str, measure: str, reason: str) -> None:
    """A significance trigger on a cohort the comparison could not assess: ContractError."""
    names = _tested_names(contract, cohort, measure)
    if names:
        raise ContractError(
            f"component {names[0]!r}.trigger = \"significant\": cohort {cohort!r} {measure} "
            f"cannot be tested against the comparison group ({reason}), so neither a "
            "significant reduction nor its absence can be shown and the line would be a "
            "guess. Fix: check the cohort's and comparison group's rows "
            "(comparator.group_column, comparator.weight_column), or pay this measure with "
            "trigger = \"absolute\" or \"relative\", or give pay() outcomes with lower= and "
            "upper=")


def check_cohort_column(contract: Contract, frame: pl.DataFrame) -> None:
    """The cohort file's labels: none empty, each a cohort the contract lists."""
    by = contract.cohort_column
    if by not in frame.columns:
        raise ContractError(f"cohorts.column: column {by!r} is not in the cohort file; its "
                            f"columns are {', '.join(frame.columns)}")
    nulls = frame[by].null_count()
    if nulls:
        raise ContractError(f"cohorts.column: column {by!r} of the cohort file has {nulls:,} "
                            "empty cohort label(s); every offender needs the cohort it is paid "
                            "in. Fix: fill the labels, or leave those rows out of the cohort")
    check_labels(contract, frame[by].cast(pl.String).unique().to_list(),
                 f"cohorts.column {by!r} of the cohort file")


def _check_risk(frame: pl.DataFrame, column: str) -> None:
    """Predicted risks are probabilities: numbers in [0, 1], none missing."""
    s = frame[column]
    if not s.dtype.is_numeric():
        raise ContractError(f"comparator.risk_column: column {column!r} holds {s.dtype}, not "
                            "numbers; it must hold each offender's predicted probability of "
                            "reoffending (0 to 1)")
    s = s.cast(pl.Float64)
    bad = s.is_null() | s.is_nan()
    if bad.any():
        raise ContractError(f"comparator.risk_column: column {column!r} has {int(bad.sum()):,} "
                            "missing or NaN risk score(s); give every offender a predicted "
                            "probability, or leave them out of the cohort")
    low, high = float(s.min()), float(s.max())  # type: ignore[arg-type]
    if low < 0 or high > 1:
        hint = (" (it looks like percent: divide the column by 100)" if 1 < high <= 100
                and low >= 0 else "")
        raise ContractError(f"comparator.risk_column: column {column!r} ranges from {low:g} to "
                            f"{high:g}, but risk scores are probabilities from 0 to 1{hint}; "
                            "comparator.baseline_risk stays in percent")


def _check_weights(frame: pl.DataFrame, column: str) -> None:
    """Comparison-group weights: numbers >= 0, none missing."""
    s = frame[column]
    if not s.dtype.is_numeric():
        raise ContractError(f"comparator.weight_column: column {column!r} holds {s.dtype}, not "
                            "numbers (the matching weights)")
    s = s.cast(pl.Float64)
    bad = s.is_null() | s.is_nan() | s.is_infinite() | (s < 0)
    if bad.any():
        raise ContractError(f"comparator.weight_column: column {column!r} has "
                            f"{int(bad.sum()):,} missing, infinite or negative weight(s); "
                            "give every row a weight >= 0 (0 leaves it out)")


def outcomes(contract: Contract, frame: pl.DataFrame, measures: Sequence[str], *,
             unit_name: str | None = None) -> tuple[Outcome, ...]:
    """Per-cohort outcomes of ``measures`` for a measured frame under the contract.

    ``frame`` is a :class:`~pbr.MeasureResult` frame (one row per offender with the
    cohort's columns).  The cohort label is ``contract.cohort_column``; ``unit_name``
    names what a reoffence is (``"conviction events"`` when counting court events).
    Every label must be a cohort the contract lists (when it lists any), none may be
    empty, and a case-mix ``risk_column`` must hold probabilities (0 to 1); a cohort
    with any window not complete (``window_complete`` false) gives provisional outcomes.
    """
    comp, by = contract.comparator, contract.cohort_column
    if comp is None:
        raise ContractError("comparator: measuring a cohort against the contract needs a "
                            "[comparator] table (baseline values, case mix or a comparison "
                            "group); pay() on given outcomes does not")
    for column in (by, comp.risk_column, comp.group_column, comp.weight_column):
        if column is not None and column not in frame.columns:
            raise ContractError(f"cohorts.column / comparator: column {column!r} is not in the "
                                f"cohort file; its columns are {', '.join(frame.columns)}")
    check_cohort_column(contract, frame)
    for measure in measures:
        column = OUTCOME_COLUMNS.get(measure)
        if column is not None and column not in frame.columns:
            raise ContractError(f"component measure {measure!r}: the share of participants "
                                f"with a valid outcome claim ({column!r}) needs the outcome "
                                "events: run_contract(..., outcome_events=...) or pbr pay "
                                "--outcome-events FILE")
    if "custody_days_per_offender" in measures and "custody_days" not in frame.columns:
        raise ContractError("component measure custody_days_per_offender: the measured cohort "
                            "has no custody_days (no custody table was given), so every "
                            "cohort would count 0 bed days; pass custody= (pbr pay --custody) "
                            "with the custody spells")
    if comp.risk_column is not None:
        _check_risk(frame, comp.risk_column)
    if comp.group_column is not None and frame[comp.group_column].null_count():
        raise ContractError(f"comparator.group_column: column {comp.group_column!r} has "
                            f"{frame[comp.group_column].null_count():,} empty value(s); each "
                            "row must be true (the cohort) or false (a comparator)")
    if comp.weight_column is not None:
        _check_weights(frame, comp.weight_column)
    treated = frame
    controls: pl.DataFrame | None = None
    if comp.kind == "matched":
        assert comp.group_column is not None
        flag = pl.col(comp.group_column).cast(pl.Boolean)
        treated, controls = frame.filter(flag), frame.filter(~flag)
    counts = cohort_counts(treated, by)
    provisional: set[str] = set()
    if "window_complete" in frame.columns:
        provisional = {str(x) for x in frame.filter(~pl.col("window_complete"))[by].unique()
                       .to_list()}
    ctrl = None if controls is None else {
        str(r[by]): r for r in cohort_counts(controls, by, comp.weight_column).iter_rows(
            named=True)}
    risks: dict[str, Decimal] = {}
    if comp.risk_column is not None:
        for r in treated.group_by(by).agg(pl.col(comp.risk_column).mean()).iter_rows():
            risks[str(r[0])] = (_d(r[1]) * 100).quantize(_Q, ROUND_HALF_EVEN)
    intervals: dict[str, dict[str, tuple[Decimal | None, Decimal | None, str]]] = {}
    if controls is not None and comp.significance_z is not None:
        intervals = {m: group_thresholds(treated, controls, by, m, comp.weight_column,
                                         comp.significance_z) for m in measures}
    out: list[Outcome] = []
    with localcontext(CONTEXT):
        for row in counts.iter_rows(named=True):
            cohort = str(row[by])
            n, reo = int(row["n"]), int(row["reoffenders"])
            period = contract.period(cohort)
            shown = {"offenders": f"{n:,}", "reoffenders": f"{reo:,}",
                     "reoffences": f"{int(row['reoffences']):,}"}
            if row.get("custody_days") is not None:
                shown["custody days"] = f"{int(row['custody_days']):,}"
            for column in OUTCOME_COLUMNS.values():
                if row.get(column) is not None:
                    shown[column] = f"{int(row[column]):,}"
            for measure in measures:
                actual = _value(measure, row)
                if ctrl is not None:
                    c_row = ctrl.get(cohort)
                    if c_row is None:
                        raise ContractError(f"comparator.group_column: no comparison rows for "
                                            f"cohort {cohort!r}")
                    value = _value(measure, c_row)
                    source = (f"matched comparison group: {float(c_row['n']):,.1f} weighted "
                              f"offenders, {float(c_row['reoffenders']):,.1f} reoffenders, "
                              f"{float(c_row['reoffences']):,.1f} reoffences")
                else:
                    value, source = _baseline(comp, cohort, measure, risks.get(cohort))
                    check_ratio(f"comparator.values.{measure} for cohort {cohort!r} (measured "
                                f"{actual})", actual, value)
                lower = upper = None
                found = intervals.get(measure, {}).get(cohort)
                if found is not None:
                    lo, hi, how = found
                    if lo is None or hi is None:
                        _refuse_untested(contract, cohort, measure, how)
                        source += f"; no thresholds: {how}"
                    else:
                        lower, upper = interval_thresholds(actual, lo, hi)
                        source += (f"; {how}: [{lo}, {hi}] -> thresholds actual - hi, "
                                   "actual - lo")
                elif ctrl is None and comp.significance_z is not None and measure in _RATES \
                        and n > 0:
                    if 0 < value < 100 or _tested(contract, cohort, measure):
                        lower, upper, how = significance_thresholds(
                            value, n, comp.significance_z,
                            where=f"comparator.values.{measure} (cohort {cohort!r})")
                        source += f"; thresholds {lower} to {upper}: {how}"
                    else:   # no significance trigger reads them: none, and said why
                        source += (f"; no thresholds: a baseline of {value}% leaves nothing "
                                   "to test against")
                elif comp.significance_z is not None and _tested(contract, cohort, measure):
                    names = ("binary_rate, serious_rate" if ctrl is None else
                             ", ".join(_GROUP_MEASURES))
                    raise ContractError(
                        f"component {_tested_names(contract, cohort, measure)[0]!r}.trigger = "
                        f"\"significant\" on {measure}: comparator.significance_z gives "
                        f"thresholds for {names} only against a {comp.kind!r} comparator "
                        "(no sampling variance of this measure is known), so the trigger "
                        "could never be met. Fix: use trigger = \"absolute\" or \"relative\", "
                        "or give pay() outcomes with lower= and upper=")
                out.append(Outcome(cohort, measure, actual, value, n,
                                   base_n=reo if measure == "per_reoffender" else n,
                                   lower=lower, upper=upper, start=period.start,
                                   year=period.year, counts=tuple(shown.items()),
                                   source=source, provisional=cohort in provisional,
                                   unit_name=None if measure in ("binary_rate",
                                                                 "serious_rate",
                                                                 "custody_days_per_offender")
                                   else unit_name))
    return tuple(out)
