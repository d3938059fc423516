"""``pbr.match``: build a matched comparison group (docs/methodology/matching.md).

The steps, each a rule of the methodology page: propensity model (or a user score) ->
common-support discard -> distance and caliper -> strata (exact / CEM) -> greedy nearest
neighbour (:mod:`pbr.matching.nearest`) or subclass weights -> pairs, weights, subclasses.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from pbr._frames import is_pandas, to_polars
from pbr.data import Exclusion, Exclusions
from pbr.errors import PbrWarning, SchemaError, SpecError
from pbr.matching.nearest import matching_order, nearest, whiten
from pbr.matching.propensity import (
    PropensityModel,
    design_matrix,
    fit_propensity,
    handle_missing,
)
from pbr.matching.result import MatchResult
from pbr.matching.spec import MatchSpec
from pbr.matching.strata import coarsen, stratum_codes, subclass_weights

__all__ = ["match"]

_ADDED = ("ps", "weight", "subclass", "matched", "discarded")


def _frame(data: Any) -> pl.DataFrame:
    if isinstance(data, pl.DataFrame):
        return data
    if isinstance(data, pl.LazyFrame):
        return data.collect()
    if hasattr(data, "to_frame") and hasattr(data, "frame"):  # a pbr result or table
        return pl.DataFrame(data.frame)
    try:
        return to_polars(data) if is_pandas(data) else pl.DataFrame(data)
    except Exception as exc:
        raise SchemaError(f"data: expected a polars or pandas frame, got {type(data)}: "
                          f"{exc}") from None


def _formula_columns(formula: str, columns: list[str]) -> tuple[str, ...]:
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", formula))
    return tuple(c for c in columns if c in words)


def _check(frame: pl.DataFrame, spec: MatchSpec) -> np.ndarray:
    need = [spec.id, spec.treatment, *spec.covariates, *spec.exact]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise SchemaError(f"column(s) {', '.join(map(repr, missing))} not in the data; "
                          f"columns: {', '.join(frame.columns)}")
    clash = [c for c in _ADDED if c in frame.columns]
    if clash:
        raise SchemaError(f"the data already have column(s) {clash}, which pbr.match adds; "
                          "rename them first")
    ids = frame[spec.id]
    if ids.null_count() or ids.n_unique() != ids.len():
        dup = ids.filter(ids.is_duplicated()).head(3).to_list()
        raise SchemaError(f"column {spec.id!r} (id): ids must be unique and present "
                          f"(e.g. duplicated {dup}); one row per candidate unit")
    t = frame[spec.treatment]
    if t.null_count():
        row = int(np.flatnonzero(t.is_null().to_numpy())[0])
        raise SchemaError(f"column {spec.treatment!r} (treatment): missing at row {row}; "
                          "give 1/True for treated and 0/False for comparison units")
    tv = t.cast(pl.Float64).to_numpy() if t.dtype != pl.Boolean else t.to_numpy().astype(float)
    bad = np.flatnonzero((tv != 0) & (tv != 1))
    if bad.size:
        raise SchemaError(f"column {spec.treatment!r} (treatment): value {tv[bad[0]]!r} at row "
                          f"{int(bad[0])}; expected 0/1 or true/false")
    treated = np.asarray(tv == 1, dtype=np.bool_)
    if treated.all() or not treated.any():
        raise SchemaError(f"column {spec.treatment!r}: need both treated and comparison units")
    for c in spec.exact:
        if frame[c].null_count():
            raise SchemaError(f"exact column {c!r} has missing values; fill or drop them")
    return treated


def _reference_rows(frame: pl.DataFrame, spec: MatchSpec, treated: np.ndarray, score: Any
                    ) -> tuple[pl.DataFrame, np.ndarray, Any, Exclusions, np.ndarray]:
    """The date columns a pseudo index rule needs, checked; comparison units without a
    reference date refused or left out (``missing_reference``).  Returns the frame,
    treatment, score and the ledger, and the input row of each row kept."""
    kept = np.arange(frame.height, dtype=np.int64)
    if spec.pseudo_index == "own":
        return frame, treated, score, Exclusions(), kept
    need = [spec.index_date] + ([spec.reference_date] if spec.reference_date else [])
    for c in need:
        role = "index_date" if c == spec.index_date else "reference_date"
        if c not in frame.columns:
            raise SchemaError(f"column {c!r} ({role}) is not in the data; "
                              f"pseudo_index={spec.pseudo_index!r} needs it")
        if not frame[c].dtype.is_temporal():
            raise SchemaError(f"column {c!r} ({role}): expected dates, got "
                              f"{frame[c].dtype}; parse it first (e.g. "
                              "pl.col(...).str.to_date())")
    if spec.reference_date is None:
        return frame, treated, score, Exclusions(), kept
    lacking = ~treated & frame[spec.reference_date].is_null().to_numpy()
    if not lacking.any():
        return frame, treated, score, Exclusions(), kept
    ids = frame[spec.id].filter(pl.Series(lacking)).head(3).to_list()
    if spec.missing_reference == "error":
        raise SchemaError(f"column {spec.reference_date!r} (reference_date): "
                          f"{int(lacking.sum()):,} comparison unit(s) have no reference date "
                          f"(e.g. ids {ids}), so no pseudo index date can be drawn; fill it "
                          "or pass missing_reference='exclude' to leave them out")
    if lacking.sum() == (~treated).sum():
        raise SchemaError(f"column {spec.reference_date!r} (reference_date): no comparison "
                          "unit has a reference date; fill the column or choose another "
                          "pseudo_index rule")
    rows = np.flatnonzero(lacking).astype(np.int64)
    ledger = Exclusions((Exclusion(
        "data", "missing_reference_date",
        f"comparison unit without a reference date ({spec.reference_date} missing; "
        "pseudo_index='offset', missing_reference='exclude')", rows),))
    if score is not None and not isinstance(score, str):
        score = np.delete(np.asarray(score, dtype=np.float64), rows)
    keep = ~lacking
    return frame.filter(pl.Series(keep)), treated[keep], score, ledger, kept[keep]


def _score(frame: pl.DataFrame, score: Any, spec: MatchSpec, treated: np.ndarray,
           covariates: tuple[str, ...], notes: list[str]
           ) -> tuple[np.ndarray | None, np.ndarray | None, PropensityModel | None]:
    """(propensity score, its logit, model) or (None, None, None)."""
    if score is not None:
        ps = frame[score].cast(pl.Float64).to_numpy() if isinstance(score, str) \
            else np.asarray(score, dtype=np.float64)
        if ps.shape != (frame.height,) or not np.isfinite(ps).all():
            raise SchemaError("score: give one finite number per row (a column name or array)")
        inside = (ps > 0) & (ps < 1)
        logit = np.where(inside, np.log(np.where(inside, ps, 0.5) / (1 - np.where(inside, ps,
                                                                                  0.5))), np.nan)
        if spec.distance == "logit" and not inside.all():
            raise SpecError("distance: 'logit' needs scores strictly between 0 and 1; use "
                            "distance='propensity' for other scores")
        return ps, logit, None
    needed = spec.discard != "none" or (spec.method == "nearest" and (
        spec.distance != "mahalanobis" or spec.order in ("largest", "smallest")))
    if not needed or (not covariates and spec.formula is None):
        return None, None, None
    model = fit_propensity(frame, treated, covariates, spec.formula)
    if not model.converged:
        notes.append("the propensity model did not converge (perfect separation?); scores "
                     "may be unreliable")
    return model.score, model.linear, model


def _discard(ps: np.ndarray | None, treated: np.ndarray, rule: str) -> np.ndarray:
    out = np.zeros(treated.size, np.bool_)
    if rule == "none":
        return out
    if ps is None:
        raise SpecError("discard: common-support discard needs a propensity score")
    t, c = ps[treated], ps[~treated]
    if rule in ("both", "control"):
        out |= ~treated & ((ps < t.min()) | (ps > t.max()))
    if rule in ("both", "treated"):
        out |= treated & ((ps < c.min()) | (ps > c.max()))
    return out


def match(data: Any, treatment: str = "treated", covariates: Sequence[str] | None = None, *,
          spec: MatchSpec | None = None, score: Any = None, **options: Any) -> MatchResult:
    """Match comparison units to treated units.

    Parameters
    ----------
    data
        One row per unit (treated and comparison pool), polars or pandas.
    treatment, covariates
        Treatment column (0/1 or boolean) and covariate columns (see :class:`MatchSpec`);
        a string is taken as a formula right-hand side (``"age + C(sentence)"``).
    spec
        A :class:`MatchSpec`; ``treatment``, ``covariates`` and ``options`` override it.
    score
        A user-supplied propensity score instead of the model: a column name or an array.
    **options
        Any :class:`MatchSpec` field: ``distance``, ``method``, ``exact``, ``ratio``,
        ``replace``, ``reuse_max``, ``caliper``, ``caliper_scale``, ``order``,
        ``discard``, ``missing``, ``formula``, ``id``, ``index_date``, ``seed``, ...

    Returns
    -------
    MatchResult

    Examples
    --------
    >>> import pbr
    >>> cohort = pbr.synth.generate(2_000, seed=1).cohort
    >>> m = pbr.match(cohort, "treated", ["age", "sex", "prior_sanctions"],
    ...               distance="logit", caliper=0.2)
    >>> pairs = m.pairs
    >>> bool(pairs["control_id"].is_unique().all() and (pairs["distance"] <= m.caliper).all())
    True
    """
    frame = _frame(data)
    fields = dict(options)
    if isinstance(covariates, str):  # a formula right-hand side
        fields["formula"] = covariates
        covariates = None
    if spec is None:
        spec = MatchSpec(treatment=treatment, covariates=tuple(covariates or ()), **fields)
    else:
        if treatment != "treated":
            fields["treatment"] = treatment
        if covariates is not None:
            fields["covariates"] = tuple(covariates)
        spec = spec.replace_fields(**fields) if fields else spec
    if not spec.covariates and spec.formula is not None:
        spec = spec.replace_fields(covariates=_formula_columns(spec.formula, frame.columns))
    treated = _check(frame, spec)
    notes: list[str] = []
    frame, treated, score, exclusions, kept = _reference_rows(frame, spec, treated, score)
    work, model_covs, dropped = handle_missing(frame, spec.covariates, spec.missing)
    if dropped.size:
        exclusions += Exclusions((Exclusion("data", "missing_covariate",
                                            "missing covariate value (missing='drop')",
                                            kept[dropped].astype(np.int64)),))
        treated = np.delete(treated, dropped)
        if score is not None and not isinstance(score, str):
            score = np.delete(np.asarray(score, dtype=np.float64), dropped)
        if treated.all() or not treated.any():
            raise SchemaError("after dropping rows with missing covariates only one group "
                              "is left")
    ps, logit, model = _score(work, score, spec, treated, model_covs, notes)
    discarded = _discard(ps, treated, spec.discard)
    if not (treated & ~discarded).any() or not (~treated & ~discarded).any():
        raise SchemaError(f"discard={spec.discard!r} leaves no treated or no comparison unit "
                          "on the common support; check the propensity model or discard less")
    weight = np.zeros(work.height)
    subclass = np.zeros(work.height, np.int64)
    pairs = _empty_pairs(work[spec.id].dtype)
    caliper_abs: float | None = None
    keep = ~discarded
    if spec.method == "nearest":
        pairs, weight, subclass, caliper_abs = _nearest(work, spec, treated, keep, ps, logit,
                                                        model_covs)
    else:
        cols = tuple(model_covs)
        if not cols:
            raise SpecError(f"covariates: method={spec.method!r} needs covariates")
        table = work.select(cols) if spec.method == "exact" else \
            coarsen(work, cols, spec.cem_bins)
        strata = stratum_codes(table.filter(pl.Series(keep)), list(cols))
        sub, w = subclass_weights(strata, treated[keep])
        subclass[keep], weight[keep] = sub, w
    for note in notes:
        warnings.warn(note, PbrWarning, stacklevel=2)
    added = [pl.Series("weight", weight),
             pl.Series("subclass", subclass).replace(0, None).cast(pl.Int64),
             pl.Series("matched", weight > 0), pl.Series("discarded", discarded)]
    if ps is not None:
        added.insert(0, pl.Series("ps", ps))
    out = work.with_columns(added)
    return MatchResult(out, pairs, spec, model, caliper_abs, exclusions, tuple(notes),
                       tuple(model_covs), tuple(frame.columns))


def _empty_pairs(id_dtype: Any) -> pl.DataFrame:
    return pl.DataFrame(schema={"treated_id": id_dtype, "control_id": id_dtype,
                                "distance": pl.Float64, "subclass": pl.Int64,
                                "round": pl.Int64, "pair_weight": pl.Float64})


def _nearest(work: pl.DataFrame, spec: MatchSpec, treated: np.ndarray, keep: np.ndarray,
             ps: np.ndarray | None, logit: np.ndarray | None, covariates: tuple[str, ...]
             ) -> tuple[pl.DataFrame, np.ndarray, np.ndarray, float | None]:
    n = work.height
    if spec.distance == "mahalanobis":
        if not covariates:
            raise SpecError("distance: 'mahalanobis' needs covariates")
        _, x, _ = design_matrix(work, covariates)
        z = whiten(x[keep], treated[keep])
        dist = np.zeros((n, z.shape[1]))
        dist[keep] = z
        caliper = spec.caliper
    else:
        d = ps if spec.distance == "propensity" else logit
        if d is None:
            raise SpecError("covariates: give covariates (or a formula) for the propensity "
                            "model, or a score=")
        dist = d
        caliper = spec.caliper
        if caliper is not None and spec.caliper_scale == "sd":
            caliper = caliper * float(np.std(d[keep], ddof=1))
    strata = stratum_codes(work, list(spec.exact))
    t_idx = np.flatnonzero(treated & keep)
    c_idx = np.flatnonzero(~treated & keep)
    ids = work[spec.id]
    data_ties = spec.ties == "data"
    t_rank = np.arange(t_idx.size, dtype=np.int64) if data_ties else \
        ids.gather(t_idx).rank("ordinal").to_numpy().astype(np.int64)
    order_score = None if ps is None else ps[t_idx]
    if order_score is None and spec.order in ("largest", "smallest"):
        raise SpecError("order: 'largest'/'smallest' need a propensity score; use "
                        "order='data' or 'random'")
    order = matching_order(spec.order, order_score, t_rank, spec.seed)
    res = nearest(dist[t_idx], dist[c_idx], t_rank, ids.gather(c_idx), strata[t_idx],
                  strata[c_idx], order, ratio=spec.ratio, replace=spec.replace,
                  reuse_max=spec.reuse_max, caliper=np.inf if caliper is None else caliper,
                  rows=(t_idx, c_idx) if data_ties else None)
    got = res.match >= 0
    k_t = got.sum(axis=1)
    ti, rnd = np.nonzero(got)
    by_step = np.lexsort((rnd, res.seq[ti]))  # matching order: never the row order
    ti, rnd = ti[by_step], rnd[by_step]
    ctrl = c_idx[res.match[ti, rnd]]
    trt = t_idx[ti]
    pw = 1.0 / k_t[ti]
    sub_t = res.seq[ti]
    pairs = pl.DataFrame({"treated_id": ids.gather(trt), "control_id": ids.gather(ctrl),
                          "distance": res.dist[ti, rnd], "subclass": sub_t.astype(np.int64),
                          "round": (rnd + 1).astype(np.int64), "pair_weight": pw})
    pairs = pairs.sort(["subclass", "round"])
    weight = np.zeros(n)
    weight[t_idx[k_t > 0]] = 1.0
    np.add.at(weight, ctrl, pw)
    cm = ~treated & (weight > 0)
    if cm.any():  # fsum: exactly rounded, so independent of the row order
        weight[cm] *= cm.sum() / math.fsum(weight[cm])
    subclass = np.zeros(n, np.int64)
    subclass[t_idx] = res.seq
    if not spec.replace:
        subclass[ctrl] = sub_t
    return pairs, weight, subclass, caliper
