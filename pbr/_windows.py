"""Windows before the index date (rule W4) on the measure kernels.

A spec with ``window="before"`` measures the ``follow_up`` before each index date ``I``:
offences in ``[lo, hi]`` = ``[I - follow_up, I - 1 day]`` (or ``[I - follow_up + 1 day,
I]`` with ``include_index_day``), proven by ``hi + waiting_period``
(docs/methodology/measures.md, W4).  The kernels measure windows after an index date;
this module maps each offender's before-window onto one exactly: with ``N`` the
window's length in days (``I - (I - follow_up)``, which month lengths make vary between
offenders), the after-window of the pseudo index date ``lo - 1 day`` and a follow-up of
``N`` days is ``(lo - 1, lo - 1 + N]`` = ``[lo, hi]``, and its last disposal day is
``hi + waiting_period``, the same day.  Offenders are measured in groups of equal
``N`` and the outputs put back in cohort order.  The polars engine states W4 directly
(:func:`pbr._reference.windows`), so the two engines stay independent twins.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import polars as pl

from pbr._engine import grouped
from pbr._engine.layout import Layout
from pbr._kernels import rules
from pbr.data import Cohort, Custody, Events
from pbr.spec import MeasureSpec

__all__ = ["before_arrays", "span_arrays"]


def _start(index: pl.Expr, spec: MeasureSpec) -> pl.Expr:
    p = spec.follow_up
    start = index.dt.offset_by(f"-{p.months}mo") if p.months else index
    if p.days:
        start = start - pl.duration(days=p.days)
    return start


def before_arrays(cohort: Cohort, events: Events, custody: Custody | None, spec: MeasureSpec
                  ) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """The kernel outputs of a ``window="before"`` spec, in cohort order, and the event
    ledger (``input``, ``invalid``, ``not_in_cohort``, ``outside_offender_window``,
    ``kept``)."""
    one = pl.duration(days=1)
    lo = _start(pl.col("index_date"), spec)
    hi = pl.col("index_date") - one
    if spec.include_index_day:
        lo, hi = lo + one, pl.col("index_date")
    return span_arrays(cohort.data.select(pl.col("offender_id"), lo.alias("lo"),
                                          hi.alias("hi")), events, custody, spec)


def span_arrays(spans: pl.DataFrame, events: Events, custody: Custody | None,
                spec: MeasureSpec) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """The kernel outputs for an explicit window per offender: ``spans`` has
    ``offender_id``, ``lo`` and ``hi`` (the first and last offence day that counts,
    inclusive, ``hi >= lo``); offences count if proven by ``hi + spec.waiting_period``.
    The spec's other rules (proof, counting unit, filters, severity, ``as_of``) apply;
    its ``follow_up``, ``window`` and ``include_index_day`` are replaced by the spans.
    An offender may hold several spans.  Outputs in the order of ``spans``; the event
    ledger as :func:`before_arrays` (an event counted in two spans is kept twice)."""
    n = spans.height
    bad = spans.filter(pl.col("lo").is_null() | pl.col("hi").is_null()
                       | (pl.col("hi") < pl.col("lo")))
    if bad.height:  # pragma: no cover - callers pass valid spans
        raise ValueError(f"span_arrays: {bad.height} span(s) empty or missing")
    shifted = spans.with_columns(
        (pl.col("lo") - pl.duration(days=1)).alias("__pseudo"),
        pl.int_range(pl.len(), dtype=pl.Int64).alias("__pos"),
        ((pl.col("hi") - pl.col("lo")).dt.total_days() + 1).alias("__days"),
        # one offender may hold several spans (re-entry): each measure sees it once
        pl.int_range(pl.len()).over("offender_id").alias("__rep"))
    out: dict[str, np.ndarray] = {o.name: np.full(n, o.null, o.dtype)
                                  for o in rules.active().outputs}
    if custody is not None:
        out["custody_days"] = np.zeros(n, np.int64)
    kept = 0
    for (days, _), part in shifted.group_by(["__days", "__rep"], maintain_order=True):
        sub = part.select(pl.col("offender_id"), pl.col("__pseudo").alias("index_date"))
        g_spec = replace(spec, window="after", include_index_day=False,
                         follow_up=f"{int(days)} days")  # type: ignore[arg-type]
        layout = grouped.group(sub, events, g_spec, custody, Layout)
        arrays = grouped.kernel_arrays(layout, g_spec)
        pos = part["__pos"].to_numpy()
        for name, values in arrays.items():
            if name not in out:  # pragma: no cover - every output is initialised above
                out[name] = np.zeros(n, dtype=values.dtype)
            out[name][pos] = values
        kept += int(layout.event_counts.get("kept", 0))
    valid = events.n
    in_cohort = int(events.data["offender_id"].is_in(spans["offender_id"].implode()).sum())
    counts = {"input": events.n_input, "invalid": len(events.exclusions),
              "not_in_cohort": valid - in_cohort,
              "outside_offender_window": in_cohort - kept, "kept": kept}
    return out, counts
