"""Equality impact: :func:`equality` on a measure, a comparison or a payment statement.

For each protected characteristic named in ``by`` (docs/methodology/equality.md):

* **outcomes** per group: offenders, share of the cohort, reoffenders, the binary rate,
  reoffences and reoffences per offender (a comparison: its cohort and comparator
  values);
* **disparities**: each group against the reference group (named, or the largest), as
  ratios with intervals (:mod:`pbr.equality.ratios`), the p-values of the table adjusted
  together for multiple comparisons (Holm by default; :func:`pbr.stats.adjust_p`);
* **effects** per group (a comparison grouped by the characteristic, or per-offender
  ``expected`` values): the group's effect and its gap from the reference group's;
* **payments**: whether the payment mechanism rewards each group in proportion to its
  share of the cohort: the group's *payment share* (a statement's money allocated to
  groups by their contribution to each paid outcome), its *cohort share*, and its *share
  of reoffences avoided*.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import polars as pl

from pbr._frames import from_pandas
from pbr._version import __version__
from pbr.compare.registry import MEASURES
from pbr.compare.result import ComparisonResult
from pbr.contract.statement import PaymentStatement
from pbr.equality.groups import AGE_BANDS, NOT_RECORDED, group_columns
from pbr.equality.ratios import difference, mean_ratio, risk_ratio
from pbr.equality.result import EqualityResult, frame_of
from pbr.errors import ReconciliationError, SchemaError, SpecError
from pbr.measures import MeasureResult
from pbr.stats.interval import check_level, z_value
from pbr.stats.multiplicity import adjust_p

__all__ = ["OUTCOME_OF", "equality"]

#: the per-offender outcome and base of each measure a payment line can be on
OUTCOME_OF: dict[str, tuple[str, str | None]] = {
    "binary_rate": ("reoffended", None), "serious_rate": ("serious", None),
    "per_offender": ("reoffences", None), "per_100": ("reoffences", None),
    "per_reoffender": ("reoffences", "reoffended")}
_EXPECTED_OUTCOMES = {"binary_rate": "reoffended", "per_offender": "reoffences"}


def _reference(groups: pl.DataFrame, k: str, given: Mapping[str, Any] | None) -> str:
    names = groups[k].to_list()
    if given and k in given:
        ref = str(given[k])
        if ref not in names:
            raise SpecError(f"reference[{k!r}]: no group {ref!r}; groups: {', '.join(names)}")
        return ref
    ok = groups.filter(pl.col(k) != NOT_RECORDED) if len(names) > 1 else groups
    best = ok.sort(["n", k], descending=[True, False])
    return str(best[k][0])


def _adjust(frame: pl.DataFrame, correction: str | None, level: float) -> pl.DataFrame:
    if frame.height == 0:
        return frame.with_columns(pl.lit(None, pl.Float64).alias("p_adjusted"),
                                  pl.lit(None, pl.Boolean).alias("significant"))
    p = frame["p_value"].fill_null(math.nan).to_numpy().astype(np.float64)
    adj = adjust_p(p, correction) if correction else p
    sig = [None if math.isnan(x) else bool(x <= 1 - level) for x in adj]
    return frame.with_columns(pl.Series("p_adjusted", adj).fill_nan(None),
                              pl.Series("significant", sig, dtype=pl.Boolean))


# ---------------------------------------------------------------------------- per offender
def _check_frame(df: pl.DataFrame) -> None:
    for c in ("reoffended", "reoffences"):
        if c not in df.columns:
            raise SchemaError(f"equality: the measure has no column {c!r}; fix: give a "
                              "MeasureResult from pbr.measure")


def _outcomes(df: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    total = df.height
    parts = []
    for k in keys:
        g = df.group_by(k).agg(
            pl.len().cast(pl.Int64).alias("n"),
            pl.col("reoffended").sum().cast(pl.Int64).alias("reoffenders"),
            pl.col("reoffences").sum().cast(pl.Int64).alias("reoffences"),
            pl.col("reoffences").cast(pl.Float64).std().alias("_sd"),
        ).sort(k)
        parts.append(g.rename({k: "group"}).with_columns(
            pl.lit(k).alias("characteristic"),
            (pl.col("n") / total).alias("share"),
            (pl.col("reoffenders") / pl.col("n")).alias("binary_rate"),
            (pl.col("reoffences") / pl.col("n")).alias("per_offender")))
    cols = ["characteristic", "group", "n", "share", "reoffenders", "binary_rate",
            "reoffences", "per_offender", "_sd"]
    return pl.concat([p.select(cols) for p in parts])


def _disparities(out: pl.DataFrame, refs: dict[str, str], z: float) -> pl.DataFrame:
    rows = []
    for k, ref in refs.items():
        sub = out.filter(pl.col("characteristic") == k)
        r0 = sub.filter(pl.col("group") == ref).row(0, named=True)
        for r in sub.iter_rows(named=True):
            if r["group"] == ref:
                continue
            rr = risk_ratio(r["reoffenders"], r["n"], r0["reoffenders"], r0["n"], z)
            mr = mean_ratio(r["per_offender"], r["_sd"] or 0.0, r["n"], r0["per_offender"],
                            r0["_sd"] or 0.0, r0["n"], z)
            for m, x, v, v0 in (("binary_rate", rr, r["binary_rate"], r0["binary_rate"]),
                                ("per_offender", mr, r["per_offender"],
                                 r0["per_offender"])):
                rows.append({"characteristic": k, "group": r["group"], "reference": ref,
                             "measure": m, "value": v, "reference_value": v0,
                             "ratio": x.estimate, "lower": x.lower, "upper": x.upper,
                             "p_value": x.p_value, "note": x.note})
    return frame_of(rows, "disparities")


def _expected_values(df: pl.DataFrame, expected: Mapping[str, Any]) -> dict[str, np.ndarray]:
    out = {}
    for m, e in expected.items():
        if m not in _EXPECTED_OUTCOMES:
            raise SpecError(f"expected: keys are {', '.join(_EXPECTED_OUTCOMES)} (the "
                            f"measure each expectation is for), got {m!r}")
        if isinstance(e, str):
            if e not in df.columns:
                raise SchemaError(f"expected[{m!r}]: no column {e!r} in the measure's frame")
            col = df[e]
            if not col.dtype.is_numeric() or col.null_count():
                raise SchemaError(f"expected[{m!r}]: column {e!r} must be numbers without "
                                  "gaps (each offender's expected value)")
            vals = col.cast(pl.Float64).to_numpy()
        elif isinstance(e, int | float | Decimal) and not isinstance(e, bool):
            vals = np.full(df.height, float(e))
        else:
            raise SpecError(f"expected[{m!r}]: a column name or a number, got {e!r}")
        if m == "binary_rate" and ((vals < 0) | (vals > 1)).any():
            raise SpecError(f"expected[{m!r}]: probabilities between 0 and 1 (a proportion, "
                            "not per cent); fix: divide by 100")
        if (vals < 0).any():
            raise SpecError(f"expected[{m!r}]: negative expected values")
        out[m] = vals
    return out


def _effects(df: pl.DataFrame, keys: list[str], refs: dict[str, str],
             exp: dict[str, np.ndarray], z: float) -> pl.DataFrame:
    rows = []
    for m, e in exp.items():
        y = df[_EXPECTED_OUTCOMES[m]].cast(pl.Float64).to_numpy()
        d = pl.Series("_d", y - e)
        for k in keys:
            stats = df.select(k).with_columns(d, pl.Series("_y", y), pl.Series("_e", e)) \
                .group_by(k).agg(pl.len().alias("n"), pl.col("_y").mean().alias("actual"),
                                 pl.col("_e").mean().alias("expected"),
                                 pl.col("_d").mean().alias("effect"),
                                 pl.col("_d").std().alias("sd")).sort(k)
            got = {r[k]: r for r in stats.iter_rows(named=True)}
            r0 = got[refs[k]]
            se0 = (r0["sd"] or 0.0) / math.sqrt(r0["n"])
            for g, r in got.items():
                se = (r["sd"] or 0.0) / math.sqrt(r["n"])
                gap = difference(r["effect"], se, r0["effect"], se0, z)
                ref = g == refs[k]
                rows.append({"characteristic": k, "group": g, "reference": refs[k],
                             "measure": m, "n": r["n"], "actual": r["actual"],
                             "expected": r["expected"], "effect": r["effect"],
                             "lower": r["effect"] - z * se, "upper": r["effect"] + z * se,
                             "gap": None if ref else gap.estimate,
                             "gap_lower": None if ref else gap.lower,
                             "gap_upper": None if ref else gap.upper,
                             "p_value": None if ref else gap.p_value})
    return frame_of(rows, "effects")


def _shares(df: pl.DataFrame, keys: list[str], exp: dict[str, np.ndarray]) -> pl.DataFrame:
    paid = "binary_rate" if "binary_rate" in exp else "per_offender"
    cols: dict[str, np.ndarray] = {"_paid": exp[paid] - df[_EXPECTED_OUTCOMES[paid]]
                                   .cast(pl.Float64).to_numpy()}
    if "per_offender" in exp:
        cols["_avoided"] = exp["per_offender"] - df["reoffences"].cast(pl.Float64).to_numpy()
    rows = []
    base = df.select(keys).with_columns([pl.Series(c, v) for c, v in cols.items()])
    tot = {c: round(math.fsum(v.tolist()), 9) for c, v in cols.items()}
    for k in keys:
        g = base.group_by(k).agg(pl.len().alias("n"), *(pl.col(c).sum().round(9)
                                                         for c in cols)).sort(k)
        for r in g.iter_rows(named=True):
            ps = r["_paid"] / tot["_paid"] if tot["_paid"] > 0 else None
            cs = r["n"] / df.height
            av = r["_avoided"] / tot["_avoided"] if "_avoided" in r and tot["_avoided"] > 0 \
                else None
            rows.append({"characteristic": k, "group": r[k], "n": r["n"], "cohort_share": cs,
                         "payment_share": ps, "avoided_share": av, "amount": None,
                         "proportionality": None if ps is None else ps / cs})
    return frame_of(rows, "payments")


# ---------------------------------------------------------------------------- statements
def _per_unit(measure: str, value: Decimal, rate_unit: str) -> float:
    info = MEASURES[measure]
    v = float(value)
    if (info.is_rate and rate_unit == "percent") or info.unit == "per 100 offenders":
        return v / 100.0
    return v


def _allocate(amount: Decimal, weights: Sequence[Fraction], places: int) -> list[Decimal]:
    """Split ``amount`` exactly in proportion to ``weights`` (summing to 1), to the
    contract's places: each part rounded down, the units left over to the largest
    remainders (ties: order)."""
    q = Fraction(1, 10 ** places)
    exact = [Fraction(amount) * w for w in weights]
    floors = [math.floor(x / q) for x in exact]
    left = int(Fraction(amount) / q) - sum(floors)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] / q - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    unit = Decimal(1).scaleb(-places)
    return [Decimal(f) * unit for f in floors]


def _statement(stmt: PaymentStatement, df: pl.DataFrame, keys: list[str],
               cohort_column: str | None, rate_unit: str,
               exp: dict[str, np.ndarray]) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    notes: list[str] = []
    df = df.with_columns([pl.Series(f"_exp_{m}", v) for m, v in exp.items()])
    places = stmt.rounding.places
    if cohort_column is not None and cohort_column not in df.columns:
        raise SchemaError(f"cohort_column: no column {cohort_column!r} in the measure; fix: "
                          "the contract's [cohorts] column, or None for one cohort")
    alloc_rows = []
    freq_note = False
    avoided: dict[tuple[str, str], float] = {}
    for line in stmt.lines:
        sel = df if cohort_column is None else df.filter(
            pl.col(cohort_column).cast(pl.String) == line.cohort)
        if sel.height == 0:
            sel = df
            notes.append(f"line {line.line}: no offender has {cohort_column} = "
                         f"{line.cohort}; allocated over the whole cohort")
        contrib = None
        if line.measure in OUTCOME_OF and line.baseline is not None:
            out, base = OUTCOME_OF[line.measure]
            if out not in sel.columns or sel[out].null_count() == sel.height:
                notes.append(f"line {line.line}: the measure has no {out!r}; allocated by "
                             "cohort share")
            else:
                y = sel[out].cast(pl.Float64).fill_null(0).to_numpy()
                b = np.ones(sel.height) if base is None else \
                    sel[base].cast(pl.Float64).to_numpy()
                if f"_exp_{line.measure}" in sel.columns:
                    e = sel[f"_exp_{line.measure}"].to_numpy()
                else:
                    e = _per_unit(line.measure, line.baseline, rate_unit) * b
                contrib = pl.Series("_c", e - y)
                if line.measure in ("per_offender", "per_100", "per_reoffender"):
                    freq_note = freq_note or line.measure == "per_reoffender"
                    for k in keys:
                        for g, v in sel.select(k).with_columns(contrib).group_by(k).agg(
                                pl.col("_c").sum()).iter_rows():
                            avoided[(k, g)] = avoided.get((k, g), 0.0) + float(v)
        for k in keys:
            n_g = sel.group_by(k).agg(pl.len().alias("n")).sort(k)
            groups = n_g[k].to_list()
            basis = "cohort share"
            weights = [Fraction(int(n), sel.height) for n in n_g["n"]]
            if contrib is not None and line.amount != 0:
                c = sel.select(k).with_columns(contrib).group_by(k).agg(pl.col("_c").sum())
                cmap = dict(c.iter_rows())
                tot = sum(cmap.values())
                if tot != 0 and (tot > 0) == (line.amount > 0):
                    fr = [Fraction(cmap[g]).limit_denominator(10 ** 9) for g in groups]
                    s = sum(fr)
                    if s != 0:
                        weights = [x / s for x in fr]
                        basis = "outcome"
            parts = _allocate(line.amount, weights, places)
            for g, w, amt in zip(groups, weights, parts, strict=True):
                alloc_rows.append({"line": line.line, "cohort": line.cohort,
                                   "component": line.component, "kind": line.kind,
                                   "characteristic": k, "group": g, "basis": basis,
                                   "weight": float(w), "amount": amt})
    alloc = frame_of(alloc_rows, "allocation")
    n_tot = df.height
    rows = []
    for k in keys:
        sub = [r for r in alloc_rows if r["characteristic"] == k]
        total = sum((r["amount"] for r in sub), Decimal(0))
        if total != stmt.total:      # pragma: no cover (each line is split exactly)
            raise ReconciliationError(f"equality: {k} parts add up to {total}, the "
                                      f"statement to {stmt.total}")
        counts = dict(df.group_by(k).agg(pl.len()).iter_rows())
        av_tot = sum(v for (kk, _), v in avoided.items() if kk == k)
        for g in sorted(counts):
            amt = sum((r["amount"] for r in sub if r["group"] == g), Decimal(0))
            ps = float(amt / stmt.total) if stmt.total != 0 else None
            cs = counts[g] / n_tot
            av = avoided.get((k, g), 0.0) / av_tot if avoided and av_tot > 0 else None
            rows.append({"characteristic": k, "group": g, "n": counts[g], "cohort_share": cs,
                         "payment_share": ps, "avoided_share": av, "amount": amt,
                         "proportionality": None if ps is None else ps / cs})
    if avoided and sum(avoided.values()) <= 0:
        notes.append("no reoffences avoided overall on the statement's frequency lines: "
                     "shares of a total that is not positive are not given")
    if not avoided:
        notes.append("no frequency line on the statement: the share of reoffences avoided "
                     "is not known (give expected={'per_offender': ...} with a measure)")
    elif freq_note:
        notes.append("reoffences avoided from per-reoffender lines count reoffences among "
                     "reoffenders only")
    return frame_of(rows, "payments"), alloc, notes


# ---------------------------------------------------------------------------- comparison
def _comparison(res: ComparisonResult, keys: list[str], refs_given: Mapping[str, Any] | None,
                z: float) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame,
                                   dict[str, str], list[str]]:
    if len(res.by) != 1 or keys != list(res.by):
        raise SpecError(f"by: a comparison gives effects for the characteristic it is grouped "
                        f"by; this one is grouped by {list(res.by) or 'nothing'}; fix: "
                        f"pbr.compare(result, comparator, by='{keys[0]}') for each "
                        "characteristic")
    k = keys[0]
    f = res.frame.with_columns(pl.col(k).cast(pl.String).fill_null(NOT_RECORDED))
    total = int(f["n"].sum())
    rate = MEASURES[res.measure].is_rate
    out = f.select(pl.lit(k).alias("characteristic"), pl.col(k).alias("group"),
                   pl.col("n").cast(pl.Int64), (pl.col("n") / total).alias("share"),
                   pl.col("cohort_value").alias("value"), "comparator_value")
    refs = {k: _reference(f.select(k, "n"), k, refs_given)}
    r0 = f.filter(pl.col(k) == refs[k]).row(0, named=True)
    notes = []
    disp, eff, pay = [], [], []
    ratio = res.method in ("poisson", "negbin")
    lv = math.log if ratio else (lambda x: x)
    zc = z_value(res.level)

    def se_of(r: dict[str, Any]) -> float:
        lo, hi = r["lower"], r["upper"]
        if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)) or \
                (ratio and lo <= 0):
            return math.nan
        return (lv(hi) - lv(lo)) / (2 * zc)

    gain = {r[k]: r["n"] * (r["comparator_value"] - r["cohort_value"])
            for r in f.iter_rows(named=True)}
    g_tot = sum(gain.values())
    for r in f.iter_rows(named=True):
        g = r[k]
        if g != refs[k]:
            if rate:
                x = risk_ratio(round(r["cohort_value"] * r["n"]), r["n"],
                               round(r0["cohort_value"] * r0["n"]), r0["n"], z)
            else:
                x = mean_ratio(r["cohort_value"], math.nan, r["n"], r0["cohort_value"],
                               math.nan, r0["n"], z)._replace(lower=math.nan, upper=math.nan,
                                                               p_value=math.nan,
                                                               note="no interval: group "
                                                               "variances not in a comparison")
            disp.append({"characteristic": k, "group": g, "reference": refs[k],
                         "measure": res.measure, "value": r["cohort_value"],
                         "reference_value": r0["cohort_value"],
                         "ratio": x.estimate if r0["cohort_value"] else math.nan,
                         "lower": x.lower, "upper": x.upper, "p_value": x.p_value,
                         "note": x.note})
        est, est0 = r["estimate"], r0["estimate"]
        gap = difference(lv(est) if ratio else est, se_of(r), lv(est0) if ratio else est0,
                         se_of(r0), z) if est is not None and est0 is not None and \
            (not ratio or (est > 0 and est0 > 0)) else None
        is_ref = g == refs[k]
        eff.append({"characteristic": k, "group": g, "reference": refs[k],
                    "measure": res.measure, "n": r["n"], "actual": r["cohort_value"],
                    "expected": r["comparator_value"], "effect": est, "lower": r["lower"],
                    "upper": r["upper"],
                    "gap": None if is_ref or gap is None else gap.estimate,
                    "gap_lower": None if is_ref or gap is None else gap.lower,
                    "gap_upper": None if is_ref or gap is None else gap.upper,
                    "p_value": None if is_ref or gap is None else gap.p_value})
        ps = gain[g] / g_tot if g_tot else None
        cs = r["n"] / total
        av = ps if res.measure in ("per_offender", "per_100") else None
        pay.append({"characteristic": k, "group": g, "n": r["n"], "cohort_share": cs,
                    "payment_share": ps, "avoided_share": av, "amount": None,
                    "proportionality": None if ps is None else ps / cs})
    if ratio:
        notes.append("effect gaps of a ratio comparison are differences of log ratios")
    notes.append(f"payment share: each group's share of the improvement on {res.measure} "
                 "(what a linear payment per unit of it would pay)")
    return (out, frame_of(disp, "disparities"), frame_of(eff, "effects"),
            frame_of(pay, "payments"), refs, notes)


# ---------------------------------------------------------------------------- entry point
def equality(source: Any, by: str | Sequence[str], *,
             reference: Mapping[str, Any] | None = None, level: float = 0.95,
             correction: str | None = "holm",
             age_bands: Sequence[tuple[int, int | None, str]] = AGE_BANDS,
             expected: Mapping[str, Any] | None = None, measure: Any = None,
             cohort_column: str | None = None, rate_unit: str | None = None
             ) -> EqualityResult:
    """Outcomes, disparities, effects and payments for each protected characteristic.

    Parameters
    ----------
    source
        A :class:`~pbr.MeasureResult`, a :class:`~pbr.ComparisonResult` grouped by the
        characteristic, a :class:`~pbr.PaymentStatement` (with ``measure=``) or a
        contract run (``pbr.run_contract``: its measure and statement).
    by
        The characteristics: columns of the cohort (``"sex"``, ``"ethnicity"``,
        ``"disability"``, ...); ``"age_band"`` is derived from ``age`` or
        ``date_of_birth`` when not a column.
    reference
        ``{characteristic: group}``; default the largest group of each.
    level
        Confidence level of the intervals (unadjusted; the p-values are adjusted).
    correction
        ``"holm"`` (default), ``"bh"`` or None, over each table's tests together.
    age_bands
        ``(lowest, highest or None, label)`` bands; default the MoJ statistics' bands.
    expected
        Each offender's expected outcome, for effects and payment shares of a measure:
        ``{"binary_rate": column or probability, "per_offender": column or number}``.
    measure
        The per-offender measure behind a statement (a MeasureResult or its frame).
    cohort_column
        The column holding each offender's statement cohort label (a contract run: the
        contract's); None: every line is on the whole cohort.
    rate_unit
        The statement's rate unit, ``"percent"`` (default) or ``"proportion"``.

    Returns
    -------
    EqualityResult

    Examples
    --------
    >>> import polars as pl, pbr
    >>> frame = pl.DataFrame({"offender_id": range(200), "sex": ["F"] * 50 + ["M"] * 150,
    ...                       "reoffended": [True] * 10 + [False] * 40 + [True] * 45
    ...                                     + [False] * 105,
    ...                       "reoffences": [1] * 10 + [0] * 40 + [2] * 45 + [0] * 105})
    >>> res = pbr.equality(frame, by="sex")
    >>> row = res.disparities.filter(pl.col("measure") == "binary_rate").row(0, named=True)
    >>> row["group"], row["reference"], round(row["ratio"], 4)
    ('F', 'M', 0.6667)
    """
    check_level(level, "two-sided")
    if correction is not None and correction not in ("holm", "bh"):
        raise SpecError(f"correction: 'holm', 'bh' or None, got {correction!r}")
    z = z_value(level)
    keys = [by] if isinstance(by, str) else list(by)
    notes: list[str] = []
    stmt: PaymentStatement | None = None
    kind = type(source).__name__
    if hasattr(source, "statement") and hasattr(source, "result") and \
            hasattr(source, "contract"):
        stmt, measure = source.statement, source.result
        cohort_column = cohort_column or source.contract.cohort_column
        rate_unit = rate_unit or source.contract.rate_unit
    elif isinstance(source, PaymentStatement):
        stmt = source
        if measure is None:
            raise SpecError("measure: a statement alone has no offenders; give the "
                            "per-offender measure, equality(statement, by=..., "
                            "measure=run.result)")
    if rate_unit not in (None, "percent", "proportion"):
        raise SpecError(f"rate_unit: 'percent' or 'proportion', got {rate_unit!r}")
    if isinstance(source, ComparisonResult):
        out, disp, eff, pay, refs, extra = _comparison(source, keys, reference, z)
        notes += extra
        alloc = frame_of([], "allocation")
        prov_input: dict[str, Any] = {"comparison": source.provenance}
    else:
        base = measure if stmt is not None else source
        if isinstance(base, MeasureResult):
            df = base.frame
            prov_input = {"measure": dict(base.provenance)}
        elif isinstance(from_pandas(base), pl.DataFrame):
            df = from_pandas(base)
            prov_input = {"measure": {"frame": "a per-offender frame", "rows": df.height}}
        else:
            raise SpecError(f"equality: give a MeasureResult, a ComparisonResult, a "
                            f"PaymentStatement (with measure=) or a contract run, got "
                            f"{type(base).__name__}")
        _check_frame(df)
        df, keys = group_columns(df, keys, age_bands)
        outcomes = _outcomes(df, keys)
        refs = {k: _reference(outcomes.filter(pl.col("characteristic") == k)
                              .rename({"group": k}), k, reference) for k in keys}
        disp = _disparities(outcomes, refs, z)
        out = outcomes.drop("_sd")
        exp = _expected_values(df, expected or {})
        eff = _effects(df, keys, refs, exp, z) if exp else frame_of([], "effects")
        if stmt is not None:
            pay, alloc, extra = _statement(stmt, df, keys, cohort_column,
                                           rate_unit or "percent", exp)
            notes += extra
            prov_input["statement"] = {"contract": stmt.contract, "version": stmt.version,
                                       "total": str(stmt.total)}
        else:
            pay = _shares(df, keys, exp) if exp else frame_of([], "payments")
            alloc = frame_of([], "allocation")
            if not exp:
                notes.append("no expected outcomes: effects and payment shares need "
                             "expected={...} or a comparison or statement")
    disp = _adjust(disp, correction, level)
    eff = _adjust(eff, correction, level)
    notes.append(f"intervals at {level:.0%}, unadjusted; p-values adjusted together within "
                 f"each table ({correction or 'no correction'})")
    prov = {"pbr_version": __version__, "source": kind, "by": keys, "reference": refs,
            "measure": source.measure if isinstance(source, ComparisonResult) else None,
            "level": level, "correction": correction,
            "age_bands": [list(b) for b in age_bands], "input": prov_input}
    return EqualityResult(out, disp, eff, pay, alloc, tuple(keys), refs, level, correction,
                          tuple(notes), prov)
