"""The plain polars reference engine: the same outputs as the kernel, and reasons.

This is the "twin" of the Numba rule set (:mod:`pbr._kernels.rules`): it applies the
rules of a :class:`~pbr.spec.MeasureSpec` with ordinary joins and filters on the validated
tables, so that it can be read against docs/methodology/measures.md rule by rule.
It also labels every event of an offender with the reason it does or does not count,
which powers ``MeasureResult.explain``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from pbr._kernels import rules
from pbr.period import Period
from pbr.spec import MeasureSpec

__all__ = ["TWINS", "Twin", "event_reasons", "measure_reference", "windows"]

COUNTED = "counted"
SAME_COURT_EVENT = "qualifies; same court event as an earlier counted offence"


def _shift(expr: pl.Expr, period: Period) -> pl.Expr:
    if period.months:
        expr = expr.dt.offset_by(f"{period.months}mo")
    if period.days:
        expr = expr + pl.duration(days=period.days)
    return expr


def _back(expr: pl.Expr, period: Period) -> pl.Expr:
    """``expr`` minus ``period``: whole months back first (clamped to the month's last
    day), then days."""
    if period.months:
        expr = expr.dt.offset_by(f"-{period.months}mo")
    if period.days:
        expr = expr - pl.duration(days=period.days)
    return expr


def windows(cohort: pl.DataFrame, spec: MeasureSpec) -> pl.DataFrame:
    """Per offender: ``lo``/``hi`` (first/last offence day that can count), ``dlast``
    (last disposal day) and ``status`` (0 complete, 1 not measurable, 2 interim)."""
    one = pl.duration(days=1)
    if spec.window == "before":  # W4: the same length of time before the index date
        start = _back(pl.col("index_date"), spec.follow_up)
        if spec.include_index_day:
            lo, hi = start + one, pl.col("index_date")
        else:
            lo, hi = start, pl.col("index_date") - one
        dlast = _shift(hi, spec.waiting_period)
    else:
        end = _shift(pl.col("index_date"), spec.follow_up)
        wend = _shift(end, spec.waiting_period)
        if spec.include_index_day:
            lo, hi, dlast = pl.col("index_date"), end - one, wend - one
        else:
            lo, hi, dlast = pl.col("index_date") + one, end, wend
    out = cohort.select("offender_id", "index_date", lo.alias("lo"), hi.alias("hi"),
                        dlast.alias("dlast"))
    if spec.as_of is None:
        return out.with_columns(status=pl.lit(0, pl.Int8))
    as_of = pl.lit(spec.as_of, dtype=pl.Date)
    late = pl.col("dlast") > as_of
    started = pl.col("lo") <= as_of
    interim_ok = started if spec.interim else pl.lit(False)
    status = (pl.when(late & interim_ok).then(pl.lit(2, pl.Int8))
              .when(late).then(pl.lit(1, pl.Int8)).otherwise(pl.lit(0, pl.Int8)))
    out = out.with_columns(status=status)
    if spec.interim:
        out = out.with_columns(hi=pl.min_horizontal("hi", as_of),
                               dlast=pl.min_horizontal("dlast", as_of))
    return out


def _weights(spec: MeasureSpec) -> pl.DataFrame:
    table = spec.weights or {}
    return pl.DataFrame({"offence_code": list(table), "weight": list(table.values())},
                        schema={"offence_code": pl.String, "weight": pl.Float64})


def event_reasons(cohort: pl.DataFrame, events: pl.DataFrame, spec: MeasureSpec) -> pl.DataFrame:
    """Every event of every cohort offender with the reason it counts or not.

    Columns: the event columns, ``index_date``, ``lo``, ``hi``, ``dlast``, ``status``,
    ``qualifies`` (bool), ``counted`` (bool: adds one to ``reoffences``), ``weight``,
    ``mapped``, ``serious`` and ``reason``.
    """
    w = windows(cohort, spec)
    ev = events.with_columns(pl.col("disposal_type").cast(pl.String),
                             pl.col("offence_code").cast(pl.String))
    has_cat = "offence_category" in ev.columns
    if has_cat:
        ev = ev.with_columns(pl.col("offence_category").cast(pl.String))
    j = ev.join(w, on="offender_id", how="inner")
    weights = _weights(spec)
    j = j.join(weights, on="offence_code", how="left")
    default = 0.0 if spec.unmapped_severity != "default" else spec.unmapped_weight
    j = j.with_columns(mapped=pl.col("weight").is_not_null(),
                       weight=pl.col("weight").fill_null(default))
    code_ok = pl.lit(True)
    if spec.include_codes:
        code_ok = pl.col("offence_code").is_in(list(spec.include_codes))
    if spec.exclude_codes:
        code_ok = code_ok & ~pl.col("offence_code").is_in(list(spec.exclude_codes))
    cat_ok = pl.lit(True)
    if has_cat and spec.include_categories:
        cat_ok = pl.col("offence_category").is_in(list(spec.include_categories))
    if has_cat and spec.exclude_categories:
        cat_ok = cat_ok & ~pl.col("offence_category").is_in(list(spec.exclude_categories))
    o, d = pl.col("offence_date"), pl.col("disposal_date")
    reason = (
        pl.when(pl.col("status") == 1).then(pl.lit("offender not measurable: window not "
                                                    "complete by as_of"))
        .when((o == pl.col("index_date")) & (o < pl.col("lo")))
        .then(pl.lit("offence on the index day (include_index_day=False)"))
        .when(o < pl.col("lo")).then(pl.lit("offence before the follow-up window"))
        .when(o > pl.col("hi")).then(pl.lit("offence after the follow-up window"
                                            " (or after as_of)"))
        .when(d > pl.col("dlast")).then(pl.lit("proven after the waiting period"
                                               " (or after as_of)"))
        .when(~pl.col("disposal_type").is_in(list(spec.proof_types)))
        .then(pl.lit("disposal type does not prove an offence under proof_types"))
        .when(~code_ok).then(pl.lit("offence code excluded by the offence filters"))
        .when(~cat_ok).then(pl.lit("offence category excluded by the offence filters"))
        .otherwise(pl.lit(COUNTED))
    )
    j = j.with_columns(reason=reason)
    j = j.with_columns(qualifies=pl.col("reason") == COUNTED,
                       serious=pl.col("offence_code").is_in(list(spec.serious_codes)))
    key = "court_event_id" if "court_event_id" in j.columns else "disposal_date"
    if spec.counting_unit == "court_event":
        j = j.sort(["offender_id", "offence_date", "disposal_date",
                    *(["court_event_id"] if key == "court_event_id" else []), "row"])
        first_of_event = pl.col("row").first().over(["offender_id", key, "qualifies"])
        j = j.with_columns(counted=pl.col("qualifies") & (pl.col("row") == first_of_event))
        j = j.with_columns(reason=pl.when(pl.col("qualifies") & ~pl.col("counted"))
                           .then(pl.lit(SAME_COURT_EVENT)).otherwise(pl.col("reason")))
    else:
        j = j.with_columns(counted=pl.col("qualifies"))
    return j


@dataclass(frozen=True)
class Twin:
    """The polars statement of one rule output (:mod:`pbr._kernels.rules`).

    Attributes
    ----------
    agg
        ``agg(spec, order)``: the aggregation over one offender's qualifying events
        (the frame of :func:`event_reasons`, filtered to ``qualifies``; ``order`` is
        the kernel's event order, for order-dependent float sums).
    finish
        ``finish(column, spec)``: applied to the aggregated column after offenders
        without qualifying events took the output's null value (``None``: nothing).
    """

    agg: Callable[[MeasureSpec, list[str]], pl.Expr]
    finish: Callable[[pl.Series, MeasureSpec], pl.Series] | None = None


def _severity(spec: MeasureSpec, order: list[str]) -> pl.Expr:
    # exact decimal sums when the weights allow (MeasureSpec.severity_scale), else
    # left-to-right in the kernel's event order, so the float sums are identical
    scale = spec.severity_scale
    if scale:
        return (pl.col("weight") * scale).round().cast(pl.Int64).sum()
    return pl.col("weight").sort_by(order).cum_sum().last()


def _severity_finish(col: pl.Series, spec: MeasureSpec) -> pl.Series:
    # the division by the scale is done in numpy: polars divides by a scalar through
    # its reciprocal, which is not the correctly rounded quotient
    scale = spec.severity_scale
    if not scale:
        return col
    return pl.Series(col.name, col.to_numpy().astype(np.int64) / scale)


#: the polars twin of each rule output, by the output table's names
TWINS: dict[str, Twin] = {
    "reoffences": Twin(lambda spec, order: pl.col("counted").sum().cast(pl.Int64)),
    "severity": Twin(_severity, _severity_finish),
    "serious": Twin(lambda spec, order: pl.col("serious").any()),
    "days_to_first": Twin(lambda spec, order: (
        pl.col("offence_date") - pl.col("index_date") if spec.window == "after"
        # W4: counted from the day before the window opens (1 = its first day)
        else pl.col("offence_date") - pl.col("lo") + pl.duration(days=1))
        .dt.total_days().min().cast(pl.Int64)),
    "unmapped": Twin(lambda spec, order: (~pl.col("mapped")).sum().cast(pl.Int64)),
}


def measure_reference(cohort: pl.DataFrame, events: pl.DataFrame,
                      spec: MeasureSpec) -> pl.DataFrame:
    """Per-offender measures in cohort order: ``offender_id`` and every output of the
    active rule set's table (:func:`pbr._kernels.rules.active`), each rule output from
    its :data:`TWINS` entry.

    Default columns: ``reoffences`` (Int64), ``severity`` (Float64), ``serious`` (bool),
    ``days_to_first`` (Int64, -1 if none), ``status`` (Int8), ``unmapped`` (Int64),
    ``window_end`` (Date: the last disposal day that counts).  An offender without a
    qualifying event, or not measurable, has each output's null value.
    """
    outputs = rules.active().rule_outputs
    missing = [o.name for o in outputs if o.name not in TWINS]
    if missing:
        raise KeyError(f"no polars twin for the rule outputs {missing} (pbr._reference.TWINS)")
    j = event_reasons(cohort, events, spec).filter(pl.col("qualifies"))
    order = ["offence_date", "disposal_date",
             *(["court_event_id"] if "court_event_id" in j.columns else []), "row"]
    agg = j.group_by("offender_id").agg(
        **{o.name: TWINS[o.name].agg(spec, order) for o in outputs})
    w = windows(cohort, spec).select("offender_id", "status", window_end="dlast")
    out = (cohort.select("offender_id", "index_date")
           .join(w, on="offender_id", how="left", maintain_order="left")
           .join(agg, on="offender_id", how="left", maintain_order="left"))
    measurable = pl.col("status") != 1
    out = out.with_columns(**{o.name: pl.when(measurable).then(pl.col(o.name))
                              .fill_null(o.null) for o in outputs})
    for o in outputs:
        finish = TWINS[o.name].finish
        if finish is not None:
            out = out.with_columns(finish(out[o.name], spec))
    return out.select("offender_id", *(o.name for o in rules.active().outputs))


def custody_days(cohort: pl.DataFrame, custody: pl.DataFrame, spec: MeasureSpec
                 ) -> pl.DataFrame:
    """Days in custody within each offender's follow-up window (spells merged first).

    A day counts when it lies in ``[lo, hi]`` of :func:`windows` (the waiting period is
    not part of a bed-day window).  Returns ``offender_id``, ``custody_days`` in cohort
    order.
    """
    w = windows(cohort, spec)
    spells = (custody.select("offender_id", "start_date", "end_date")
              .sort(["offender_id", "start_date", "end_date"]))
    # merge overlapping or touching spells per offender
    spells = spells.with_columns(
        prev_end=pl.col("end_date").cum_max().shift(1).over("offender_id"))
    spells = spells.with_columns(
        new=(pl.col("prev_end").is_null()
             | (pl.col("start_date") > pl.col("prev_end") + pl.duration(days=1))))
    spells = spells.with_columns(grp=pl.col("new").cum_sum().over("offender_id"))
    merged = spells.group_by(["offender_id", "grp"]).agg(
        start=pl.col("start_date").min(), end=pl.col("end_date").max())
    j = merged.join(w, on="offender_id", how="inner")
    a = pl.max_horizontal("start", "lo")
    b = pl.min_horizontal("end", "hi")
    j = j.with_columns(days=pl.when(b >= a).then((b - a).dt.total_days() + 1).otherwise(0))
    agg = j.group_by("offender_id").agg(custody_days=pl.col("days").sum().cast(pl.Int64))
    out = (cohort.select("offender_id")
           .join(agg, on="offender_id", how="left", maintain_order="left")
           .with_columns(pl.col("custody_days").fill_null(0)))
    return out


_ = _dt  # dates flow through polars expressions only
