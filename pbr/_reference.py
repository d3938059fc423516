"""The plain polars reference engine: the same outputs as the kernel, and reasons.

This is the "twin" of :mod:`pbr._kernels.reoffending`: it applies the rules of a
:class:`~pbr.spec.MeasureSpec` with ordinary joins and filters on the validated
tables, so that it can be read against docs/methodology/measures.md rule by rule.
It also labels every event of an offender with the reason it does or does not count,
which powers ``MeasureResult.explain``.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
import polars as pl

from pbr.period import Period
from pbr.spec import MeasureSpec

__all__ = ["event_reasons", "measure_reference", "windows"]

COUNTED = "counted"
SAME_COURT_EVENT = "qualifies; same court event as an earlier counted offence"


def _shift(expr: pl.Expr, period: Period) -> pl.Expr:
    if period.months:
        expr = expr.dt.offset_by(f"{period.months}mo")
    if period.days:
        expr = expr + pl.duration(days=period.days)
    return expr


def windows(cohort: pl.DataFrame, spec: MeasureSpec) -> pl.DataFrame:
    """Per offender: ``lo``/``hi`` (first/last offence day that can count), ``dlast``
    (last disposal day) and ``status`` (0 complete, 1 not measurable, 2 interim)."""
    one = pl.duration(days=1)
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


def measure_reference(cohort: pl.DataFrame, events: pl.DataFrame,
                      spec: MeasureSpec) -> pl.DataFrame:
    """Per-offender measures in cohort order.

    Columns: ``reoffences`` (Int64), ``severity`` (Float64), ``serious`` (bool),
    ``days_to_first`` (Int64, -1 if none), ``status`` (Int8), ``unmapped`` (Int64),
    ``window_end`` (Date: the last disposal day that counts).
    """
    j = event_reasons(cohort, events, spec).filter(pl.col("qualifies"))
    order = ["offence_date", "disposal_date",
             *(["court_event_id"] if "court_event_id" in j.columns else []), "row"]
    scale = spec.severity_scale
    # exact decimal sums when the weights allow (MeasureSpec.severity_scale), else
    # left-to-right in the kernel's event order, so the float sums are identical
    # (the division by the scale is done in numpy: polars divides by a scalar through
    # its reciprocal, which is not the correctly rounded quotient)
    severity = ((pl.col("weight") * scale).round().cast(pl.Int64).sum()
                if scale else pl.col("weight").sort_by(order).cum_sum().last())
    agg = j.group_by("offender_id").agg(
        reoffences=pl.col("counted").sum().cast(pl.Int64),
        severity=severity,
        serious=pl.col("serious").any(),
        first_day=pl.col("offence_date").min(),
        unmapped=(~pl.col("mapped")).sum().cast(pl.Int64),
    )
    w = windows(cohort, spec).select("offender_id", "status", window_end="dlast")
    out = (cohort.select("offender_id", "index_date")
           .join(w, on="offender_id", how="left", maintain_order="left")
           .join(agg, on="offender_id", how="left", maintain_order="left"))
    if scale:
        out = out.with_columns(severity=pl.Series(
            out["severity"].fill_null(0).to_numpy().astype(np.int64) / scale))
    measurable = pl.col("status") != 1
    return out.select(
        "offender_id",
        reoffences=pl.when(measurable).then(pl.col("reoffences").fill_null(0)).otherwise(0),
        severity=pl.when(measurable).then(pl.col("severity").fill_null(0.0)).otherwise(0.0),
        serious=pl.when(measurable).then(pl.col("serious").fill_null(False)).otherwise(False),
        days_to_first=pl.when(measurable & pl.col("first_day").is_not_null())
        .then((pl.col("first_day") - pl.col("index_date")).dt.total_days()).otherwise(-1)
        .cast(pl.Int64),
        status=pl.col("status"),
        unmapped=pl.when(measurable).then(pl.col("unmapped").fill_null(0)).otherwise(0),
        window_end=pl.col("window_end"),
    )


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
