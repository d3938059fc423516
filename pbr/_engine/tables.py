"""The spec as the kernels' tables, and the kernels' output arrays.

A spec becomes small lookup tables (per dictionary code, then per attribute id of a
grouped layout) and per-index-day window tables; the kernels write per-offender output
arrays allocated here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from pbr import _scratch
from pbr._kernels import reoffending as kern
from pbr._kernels import rules
from pbr._kernels.calendar import MONTH_START
from pbr.errors import SpecError
from pbr.period import NULL_DAY, date_to_day
from pbr.spec import MeasureSpec, preset


def resolve_spec(spec: MeasureSpec | str | None) -> MeasureSpec:
    if spec is None:
        return MeasureSpec()
    if isinstance(spec, str):
        return preset(spec)
    if not isinstance(spec, MeasureSpec):
        raise SpecError(f"spec: expected a MeasureSpec or a preset name, got {spec!r}")
    return spec


def _lookup(names: pl.Series, values: Any, dtype: Any) -> np.ndarray:
    """Per category code: membership in a set (bool) or a mapped value (dict)."""
    # a few dozen names as a rule: plain Python beats a polars expression's overhead
    if isinstance(values, dict):
        default = values.pop(None, 0.0)
        return np.array([values.get(n, default) for n in names.to_list()], np.float64
                        ).astype(dtype)
    members = set(values)
    return np.array([n in members for n in names.to_list()], np.bool_).astype(dtype)


def _allowed(names: pl.Series, include: tuple[str, ...], exclude: tuple[str, ...]
             ) -> np.ndarray:
    """Rule F1 per category code: in ``include`` (when given) and not in ``exclude``."""
    ok = np.ones(names.len(), np.bool_)
    if include:
        ok &= _lookup(names, include, np.bool_)
    if exclude:
        ok &= ~_lookup(names, exclude, np.bool_)
    return ok


def _integer_weights(spec: MeasureSpec, weight: np.ndarray) -> tuple[int, np.ndarray]:
    """(scale, weights times scale as int64) for exact decimal severity sums; scale 0
    when the weights are not exact decimals (see ``MeasureSpec.severity_scale``)."""
    scale = spec.severity_scale or 0
    if not scale:
        return 0, np.zeros(weight.size, np.int64)
    return scale, np.round(weight * scale).astype(np.int64)


def code_tables(d: dict[str, pl.Series], spec: MeasureSpec) -> dict[str, Any]:
    """Per category code lookups for the kernels: filters (P1, F1), weights (S1),
    mapped and serious flags, and the exact-severity scale and integer weights."""
    type_ok = _lookup(d["disposal_type"], spec.proof_types, np.bool_)
    codes = d["offence_code"]
    code_ok = _allowed(codes, spec.include_codes, spec.exclude_codes)
    has_cat = "offence_category" in d
    cat_ok = (_allowed(d["offence_category"], spec.include_categories, spec.exclude_categories)
              if has_cat else np.ones(1, np.bool_))
    table = spec.weights or {}
    default = spec.unmapped_weight if spec.unmapped_severity == "default" else 0.0
    weight = _lookup(codes, {**table, None: default}, np.float64)
    scale, weight_int = _integer_weights(spec, weight)
    return {"type_ok": type_ok, "code_ok": code_ok, "cat_ok": cat_ok, "has_cat": has_cat,
            "weight": weight, "mapped": _lookup(codes, tuple(table), np.bool_),
            "serious": _lookup(codes, spec.serious_codes, np.bool_), "scale": scale,
            "weight_int": weight_int}


def window_tables(idx: np.ndarray, spec: MeasureSpec, span: tuple[int, int] | None = None
                   ) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(base, t_lo, t_hi, t_dlast, t_status): the spec's window per index day from
    ``base`` (:func:`pbr._kernels.reoffending.window_table`); ``span`` is the first and
    last index day when already known."""
    as_of = NULL_DAY if spec.as_of is None else date_to_day(spec.as_of)
    if span is None:
        span = (int(idx.min()), int(idx.max())) if idx.size else (0, -1)
    base = span[0]
    n_days = max(span[1] - base + 1, 1)
    t_lo, t_hi, t_dlast, t_status = kern.window_table(
        np.int64(base), n_days, spec.follow_up.months, spec.follow_up.days,
        spec.waiting_period.months, spec.waiting_period.days, spec.include_index_day,
        np.int32(as_of), spec.interim, MONTH_START)
    return base, t_lo, t_hi, t_dlast, t_status


def attribute_tables(ct: dict[str, Any], table: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The spec's code tables per attribute (type, code, category) of the histories:
    flags (``A_COUNTS`` when P1 and F1 pass, ``A_SERIOUS``, ``A_UNMAPPED``), float and
    integer weights."""
    typ, code, cat = table[:, 0], table[:, 1], table[:, 2]
    counts = ct["type_ok"][typ] & ct["code_ok"][code]
    if ct["has_cat"]:
        counts &= ct["cat_ok"][cat]
    flags = (counts * kern.A_COUNTS + ct["serious"][code] * kern.A_SERIOUS
             + ~ct["mapped"][code] * kern.A_UNMAPPED).astype(np.uint8)
    return flags, ct["weight"][code], ct["weight_int"][code]


#: the outputs the one-pass path writes in the result frame's own types (Int64, Float64)
FRAME_DTYPES: dict[str, type] = {
    "reoffences": np.int64, "severity": np.float64, "days_to_first": np.int64,
}


def empty_outputs(n: int, *, frame: bool = False) -> dict[str, np.ndarray]:
    """The kernels' per-offender output arrays, uninitialised: both kernels
    (``measure_grouped``, ``onepass.finish``) write every element.

    ``Histories.measure_arrays``: plain numpy arrays, the caller's (a loop that wants
    no new memory per call passes ``out=``).

    ``frame`` (the one-call path, whose arrays only feed the result frame):
    ``reoffences`` and ``days_to_first`` are int64, the frame's own type, so that the
    frame takes them and ``severity`` without a copy; all of them are one buffer lent
    from pbr's pool (:func:`pbr._scratch.lend_many`), which returns there when the frame
    is gone, so that the buffer of the call's event records, given back before, holds
    them (memory new to the process is the costliest part of a call on some machines:
    docs/performance.md has the measurement)."""
    dtypes = rules.active().dtypes()
    if not frame:
        return {k: np.empty(n, dtype) for k, dtype in dtypes.items()}
    return _scratch.lend_many(n, {k: FRAME_DTYPES.get(k, dtype) for k, dtype in dtypes.items()})


def check_out(out: dict[str, np.ndarray], n: int, custody: bool) -> dict[str, np.ndarray]:
    """``out`` (arrays a previous ``measure_arrays`` call returned) checked for reuse."""
    want: dict[str, np.dtype[Any]] = {k: np.dtype(d)
                                      for k, d in rules.active().dtypes().items()}
    if custody:
        want["custody_days"] = np.dtype(np.int64)
    for key, dtype in want.items():
        a = out.get(key) if isinstance(out, dict) else None
        if not (isinstance(a, np.ndarray) and a.dtype == dtype and a.shape == (n,)
                and a.flags.c_contiguous and a.flags.writeable):
            raise ValueError(
                f"out[{key!r}] must be a writeable contiguous {dtype} array of {n:,} "
                f"elements (got {None if a is None else f'{a.dtype} {a.shape}'}). Fix: pass "
                "the dict a previous measure_arrays call on these histories returned")
    return {k: out[k] for k in want}
