"""Largest-remainder split of an amount by exact shares (docs/methodology/local.md, AT5)."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

import polars as pl

from pbr.data import as_frame
from pbr.errors import SchemaError, SpecError

__all__ = ["allocate"]


def allocate(shares: pl.DataFrame, amount: Decimal, quantum: Decimal, weights: Any,
              column: str | None) -> list[tuple[str, Fraction, Decimal]]:
    """Largest-remainder split of ``amount`` (a whole number of ``quantum``) by shares."""
    w: dict[Any, Fraction] = {}
    if weights is not None or column is not None:
        if weights is None or column is None:
            raise SpecError("split: give both weights= (a frame) and weight_column=")
        wf = as_frame(getattr(weights, "frame", weights), "weights")
        if column not in wf.columns or "offender_id" not in wf.columns:
            raise SchemaError(f"split: the weights need offender_id and {column!r}")
        w = {k: Fraction(str(x)) for k, x in wf.select("offender_id", column).iter_rows()
             if x is not None}
    parts: dict[str, Fraction] = {}
    wsum = Fraction(0)
    seen: set[Any] = set()
    for oid, prov, n, d in shares.iter_rows():
        if w and oid not in w:
            raise SchemaError(f"split: offender {oid!r} has no {column!r} weight")
        weight = w[oid] if w else Fraction(1)
        parts[prov] = parts.get(prov, Fraction(0)) + Fraction(n, d) * weight
        if oid not in seen:
            seen.add(oid)
            wsum += weight
    if wsum == 0:
        raise SpecError("split: the weights sum to 0; nothing to split by")
    units = amount / quantum
    if units != units.to_integral_value():
        raise SpecError(f"split: {amount} is not a whole number of {quantum}; round the "
                        "amount to the contract's rounding first")
    n_units = int(units)
    exact = {p: Fraction(n_units) * x / wsum for p, x in parts.items()}
    floor = {p: math.floor(x) for p, x in exact.items()}
    left = n_units - sum(floor.values())
    for p in sorted(exact, key=lambda p: (-(exact[p] - floor[p]), p))[:left]:
        floor[p] += 1
    q = Fraction(quantum)
    return [(p, exact[p] * q, (Decimal(floor[p]) * quantum).quantize(quantum))
            for p in sorted(exact)]
