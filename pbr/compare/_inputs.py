"""The inputs of :func:`pbr.compare`, read and checked: comparators, weights, measure
columns, baselines and a scheme's rules.

Every input that :func:`pbr.compare` cannot be sure it reads as meant is refused here with
a :class:`~pbr.errors.SpecError` naming the argument, the row or group, the value and the
fix: a rate in per cent where a proportion is meant, a ``(value, n)`` pair written
``(n, value)``, a baseline rate of 0 or 1, weights that are negative, missing, not finite,
all zero or keyed by ids of another type, a measure column holding counts or nulls, a
scheme's rule contradicted by an argument (docs/methodology/inference.md, "What pbr
refuses and why").
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from numbers import Real
from typing import Any

import numpy as np
import polars as pl

from pbr._frames import from_pandas, to_polars
from pbr._toml import bundled_text
from pbr.compare.registry import MeasureInfo
from pbr.errors import SpecError

__all__ = ["Comparator", "check_baseline", "expected_values", "fingerprint", "from_pandas",
           "is_casemix_model", "is_match_result", "measure_values", "plain_provenance",
           "resolve_comparator", "resolve_spec", "resolve_weights", "scheme_rules"]


@dataclass(frozen=True)
class Comparator:
    """A comparator resolved: its kind, label, values or frame, weights and provenance."""

    kind: str                       # "baseline", "adjusted" or "group"
    describe: str
    value: Any = None               # number, (number, n) or mapping for baselines
    column: str | None = None       # adjusted baseline column
    frame: pl.DataFrame | None = None
    weights: np.ndarray | None = None
    provenance: dict[str, Any] = field(default_factory=dict)


def fingerprint(arr: np.ndarray) -> str:
    """SHA-256 of an array's float64 bytes (weights, recorded in provenance)."""
    return hashlib.sha256(np.ascontiguousarray(arr, np.float64).tobytes()).hexdigest()


def resolve_weights(weights: Any, frame: pl.DataFrame, who: str) -> np.ndarray | None:
    """Weights aligned with ``frame``'s rows, from any of the accepted forms."""
    if weights is None:
        return None
    if isinstance(weights, str):
        if weights not in frame.columns:
            raise SpecError(f"weights: no column {weights!r} in the {who}'s frame")
        nulls = frame[weights].null_count()
        if nulls:
            first = int(frame[weights].is_null().arg_max() or 0)
            raise SpecError(f"weights: column {weights!r} of the {who}'s frame is missing for "
                            f"{nulls:,} row(s) (first row {first}); give 0 for an offender "
                            "left out (e.g. an unmatched control)")
        w = frame[weights].cast(pl.Float64).to_numpy()
    elif isinstance(weights, pl.DataFrame | Mapping) or (
            hasattr(weights, "to_dict") and not isinstance(weights, pl.Series | np.ndarray)):
        table = weights if isinstance(weights, pl.DataFrame) else (
            pl.DataFrame({"offender_id": list(weights), "weight": list(weights.values())})
            if isinstance(weights, Mapping) else to_polars(weights))
        col = "weight" if "weight" in table.columns else "weights"
        if "offender_id" not in table.columns or col not in table.columns:
            raise SpecError("weights: a table of weights needs columns offender_id and weight")
        if "offender_id" not in frame.columns:
            raise SpecError(f"weights: a table of weights is joined on offender_id, which the "
                            f"{who}'s frame lacks; pass the weights as an array in row order")
        ours, theirs = frame.schema["offender_id"], table.schema["offender_id"]
        if ours != theirs and not (ours.is_integer() and theirs.is_integer()):
            raise SpecError(f"weights: the weights table's offender_id is {theirs} but the "
                            f"{who}'s is {ours}, so no id would match; give the weights with "
                            f"ids of the {who}'s type")
        joined = frame.select("offender_id").join(
            table.select("offender_id", pl.col(col).cast(pl.Float64).alias("_w")),
            on="offender_id", how="left", maintain_order="left")
        w = joined["_w"].fill_null(0.0).to_numpy()
    elif callable(getattr(weights, "cohort", None)):   # a MatchResult: offender_id, weight
        return resolve_weights(weights.cohort(), frame, who)
    elif hasattr(weights, "weights"):
        return resolve_weights(weights.weights, frame, who)
    elif hasattr(weights, "frame") and not isinstance(weights, pl.Series | np.ndarray):
        return resolve_weights(weights.frame, frame, who)
    else:
        w = np.asarray(weights, np.float64)
        if w.shape != (frame.height,):
            raise SpecError(f"weights: {w.size} weights for the {who}'s {frame.height} rows")
    bad = np.flatnonzero(~np.isfinite(w) | (w < 0))
    arg = "cohort_weights" if who == "cohort" else "weights"
    if bad.size:
        i = int(bad[0])
        ident = frame["offender_id"][i] if "offender_id" in frame.columns else None
        raise SpecError(f"{arg}: the {who}'s weight at row {i}"
                        + (f" (offender_id {ident!r})" if ident is not None else "")
                        + f" is {float(w[i])!r} ({bad.size:,} such row(s)); weights must be finite "
                        "and >= 0 (0 leaves an offender out, e.g. an unmatched control)")
    if w.size and not w.sum() > 0:
        raise SpecError(f"{arg}: every one of the {who}'s {w.size:,} weights is 0, so nobody "
                        "would be compared; check the weights (or their offender_id join)")
    return np.asarray(w, np.float64)


def resolve_comparator(comparator: Any, cohort: pl.DataFrame, weights: Any) -> Comparator:
    """The comparator as a :class:`Comparator`, from any accepted form."""
    if isinstance(comparator, bool):
        raise SpecError("comparator: expected a baseline value, a column or a comparison group")
    if isinstance(comparator, Real):
        return Comparator("baseline", "baseline", float(comparator),
                           provenance={"baseline": float(comparator)})
    if isinstance(comparator, tuple) and len(comparator) == 2 and all(
            isinstance(x, Real) for x in comparator):
        v, n = float(comparator[0]), float(comparator[1])
        return Comparator("baseline", "baseline", (v, n), provenance={"baseline": [v, n]})
    if isinstance(comparator, Mapping):
        return Comparator("baseline", "baseline", dict(comparator),
                           provenance={"baseline": {str(k): v for k, v in comparator.items()}})
    if isinstance(comparator, str):
        if comparator not in cohort.columns:
            raise SpecError(f"comparator: no column {comparator!r} in the cohort's frame; an "
                            "adjusted baseline names a column of expected values")
        return Comparator("adjusted", "adjusted baseline", column=comparator,
                           provenance={"adjusted_baseline_column": comparator})
    frame = comparator if isinstance(comparator, pl.DataFrame) else getattr(
        comparator, "frame", None)
    if isinstance(frame, pl.DataFrame):
        w = resolve_weights(weights, frame, "comparison group")
        prov: dict[str, Any] = {"comparison_rows": frame.height}
        sub = getattr(comparator, "provenance", None)
        if isinstance(sub, Mapping):
            prov["comparison"] = {k: v for k, v in sub.items() if k.endswith("sha256")}
        if w is not None:
            prov["weights_sha256"] = fingerprint(w)
        return Comparator("group", "comparison group", frame=frame, weights=w,
                           provenance=prov)
    if callable(getattr(comparator, "group", None)) and callable(
            getattr(comparator, "value", None)):          # pbr.risk.Baseline
        return Comparator("baseline", str(getattr(comparator, "label", "baseline")),
                           comparator, provenance={"baseline": plain_provenance(comparator)})
    for attr in ("rate", "value", "binary_rate"):
        if isinstance(getattr(comparator, attr, None), Real):
            v = float(getattr(comparator, attr))
            size = getattr(comparator, "n", None)
            value: Any = (v, float(size)) if isinstance(size, Real) else v
            return Comparator("baseline", "baseline", value,
                               provenance={"baseline": value, "baseline_type":
                                           type(comparator).__name__})
    raise SpecError(f"comparator: expected a number, (value, n), a mapping, a column name, "
                    f"a MeasureResult or a baseline object, got {type(comparator).__name__}")


def plain_provenance(obj: Any) -> Any:
    """A baseline object's provenance mapping when it has one, else its text."""
    prov = getattr(obj, "provenance", None)
    return dict(prov) if isinstance(prov, Mapping) else str(obj)


def is_match_result(obj: Any) -> bool:
    """A :class:`pbr.MatchResult` (duck-typed: pairs, a spec naming the treatment, weights)."""
    return (isinstance(getattr(obj, "pairs", None), pl.DataFrame)
            and isinstance(getattr(obj, "frame", None), pl.DataFrame)
            and isinstance(getattr(getattr(obj, "spec", None), "treatment", None), str)
            and "weight" in obj.frame.columns)


def is_casemix_model(obj: Any) -> bool:
    """A fitted :class:`pbr.risk.CaseMixModel` (duck-typed: predict, family, measure)."""
    return callable(getattr(obj, "predict", None)) and isinstance(
        getattr(obj, "family", None), str) and isinstance(getattr(obj, "measure", None), str)


def measure_values(frame: pl.DataFrame, info: MeasureInfo, who: str = "cohort"
                   ) -> tuple[pl.DataFrame, str]:
    """The measure's column, checked: present, not missing, 0/1 for rates, >= 0 for means.

    Measures aggregated over reoffenders (``per_reoffender``, ``mean_days_to_first``)
    keep the reoffenders' rows only.
    """
    measure, column, kind = info.name, info.column, info.kind
    if info.aggregation == "mean over reoffenders" and "reoffended" in frame.columns:
        frame = frame.filter(pl.col("reoffended"))
    if column not in frame.columns:
        raise SpecError(f"measure {measure!r} needs column {column!r}, not in the {who}'s "
                        f"frame (columns: {', '.join(frame.columns)})")
    if frame[column].null_count() == frame.height and frame.height:
        raise SpecError(f"measure {measure!r}: column {column!r} is empty (severity needs a "
                        "spec with severity_weights, serious a serious_codes list, custody "
                        "days the custody spells)")
    if frame[column].null_count():
        row = int(frame[column].is_null().arg_max() or 0)
        raise SpecError(f"column {column!r} of the {who}'s frame is missing at row {row} "
                        f"({frame[column].null_count():,} row(s)); measure every offender, or "
                        "drop those rows before comparing")
    values = frame[column].cast(pl.Float64)
    if kind == "rate" and not values.is_in([0.0, 1.0]).all():
        odd = values.filter(~values.is_in([0.0, 1.0]))[0]
        raise SpecError(f"column {column!r} of the {who}'s frame holds {odd!r}: a rate "
                        "measure needs True/False (or 1/0) per offender")
    if kind == "mean" and (values.is_nan().any() or (values < 0).any()):
        odd = values.filter(values.is_nan() | (values < 0))[0]
        raise SpecError(f"column {column!r} of the {who}'s frame holds {odd!r}: counts and "
                        "severity per offender must be >= 0")
    return frame, column


def check_baseline(base: tuple[float, float | None], kind: str, key: Any) -> None:
    """Refuse a baseline in the wrong unit: a percentage for a proportion, (n, value)."""
    v, size = base
    where = f" for group {key!r}" if key else ""
    if not math.isfinite(v):
        raise SpecError(f"comparator: the baseline{where} is {v!r}; give a finite number")
    if size is not None and not (math.isfinite(size) and size >= 1):
        raise SpecError(f"comparator: the baseline's n{where} is {size!r}; a (value, n) "
                        "pair gives the rate first, then the number of offenders (>= 1)")
    if kind == "rate" and not 0.0 <= v <= 1.0:
        hint = (f"; did you mean {v / 100:g} ({v:g}%)? pass {v / 100:g}" if 1.0 < v <= 100.0
                else "")
        raise SpecError(f"comparator: the baseline rate{where} is {v:g}, but pbr.compare takes "
                        f"rates as proportions in [0, 1] (0.28 for 28%){hint}")
    if kind == "mean" and v < 0:
        raise SpecError(f"comparator: the baseline{where} is {v:g}; a mean per offender is "
                        ">= 0")


def expected_values(g: pl.DataFrame, column: str, kind: str) -> np.ndarray:
    """The adjusted baseline's expected values, checked (no nulls; proportions for rates)."""
    values = g[column].cast(pl.Float64)
    if values.null_count() or values.is_nan().any():
        row = int((values.is_null() | values.is_nan()).arg_max() or 0)
        raise SpecError(f"comparator: column {column!r} (expected values) is missing at row "
                        f"{row} of the group; fill it or drop those offenders")
    if kind == "rate" and ((values < 0) | (values > 1)).any():
        odd = float(values.filter((values < 0) | (values > 1))[0])
        raise SpecError(f"comparator: column {column!r} holds {odd:g}, but expected rates are "
                        f"proportions in [0, 1]" + (" (did you give per cent? divide by 100)"
                                                    if odd <= 100 else ""))
    return values.to_numpy()


def resolve_spec(spec: Any) -> Any:
    """A :class:`~pbr.compare.ComparisonSpec` from a spec, a Scheme or a scheme name."""
    if spec is None:
        return None
    from pbr.compare.spec import ComparisonSpec
    if isinstance(spec, str):  # a scheme preset's [comparison] table (pbr.scheme(spec))
        spec = ComparisonSpec.from_toml(bundled_text(spec, "schemes", "scheme"))
    cs = getattr(spec, "comparison", spec)
    if not isinstance(cs, ComparisonSpec):
        raise SpecError(f"spec: expected a ComparisonSpec, a Scheme or a scheme name, got "
                        f"{type(spec).__name__}")
    if cs.kind == "none":
        raise SpecError(f"spec: the {cs.name} spec has no comparator (kind 'none'), so it "
                        "cannot judge a comparison; pass min_n= and level= instead, or a "
                        "scheme that compares (e.g. 'justice_data_lab')")
    return cs


def scheme_rules(cs: Any, level: float | None, alternative: str | None, min_n: int | None
                 ) -> tuple[float, str, int, str]:
    """Level, sidedness and minimum n from the arguments and the scheme's spec ``cs``.

    A value given both ways must agree: a scheme's rule is never silently overridden.
    """
    if min_n is not None and (isinstance(min_n, bool) or not isinstance(min_n, int)
                              or min_n < 0):
        raise SpecError(f"min_n: a whole number of offenders >= 0, got {min_n!r}")
    if cs is None:
        return (0.95 if level is None else level, alternative or "two-sided", min_n or 0,
                f"min_n={min_n}")
    conf = cs.level
    if level is not None and not math.isclose(level, conf):
        raise SpecError(f"level: {level!r} contradicts the {cs.name} spec's confidence level "
                        f"{conf:g}; leave level out, or change the spec")
    if alternative is not None and alternative != cs.sides:
        raise SpecError(f"alternative: {alternative!r} contradicts the {cs.name} spec's sides "
                        f"{cs.sides!r}; leave alternative out, or change the spec")
    if min_n is not None and min_n != cs.min_n:
        raise SpecError(f"min_n: {min_n} contradicts the {cs.name} spec's min_n {cs.min_n}; "
                        "leave min_n out, or change the spec")
    return conf, cs.sides, cs.min_n, f"{cs.name} rule"
