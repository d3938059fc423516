"""The average treatment effect on the treated (ATT) after matching, with its uncertainty.

Rules (docs/methodology/matching.md, "Effects"):

* ATT = mean outcome of the matched treated units - weighted mean of the matched
  controls (weights of :class:`~pbr.matching.result.MatchResult`), i.e. the coefficient
  of treatment in the weighted regression ``y ~ treated`` that MatchIt's vignette fits.
  Binary outcomes give a difference in proportions, counts (frequency, severity) a
  difference in means, and time outcomes (days to first reoffence) a difference in
  means among units with an event (JDL; units without one are left out).
* Standard errors: ``"cluster"`` (default without replacement): cluster-robust on the
  subclass (pair), CR1 as R's ``sandwich::vcovCL`` (Austin 2011; Greifer, MatchIt
  vignette "Estimating effects"); ``"abadie_imbens"`` (default with replacement):
  Abadie and Imbens (2006), Theorem 7, as in Abadie, Drukker, Herr and Imbens (2004,
  eq. 14): ``V = [sum_t (y_t - yhat_t(0) - ATT)^2 + sum_c (w_c^2 - sum 1/k^2) s2_c] / N1^2``
  with ``s2_c`` from the nearest other control on the matching score (J = 1);
  ``"bootstrap"``: seeded resampling of matched groups (pairs / subclasses) with
  percentile intervals (Austin and Small 2014).
* The ratio of the treated mean to the control mean (rate ratio for counts, risk ratio
  for binary outcomes) with a delta-method interval on the log scale.
* Normal (z) intervals, as MatchIt's vignette's ``coeftest``/``coefci`` with z.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from scipy import stats

from pbr._frames import to_polars
from pbr.errors import SchemaError, SpecError

if TYPE_CHECKING:  # types only: MatchResult.effect imports this module
    from pbr.matching.result import MatchResult

__all__ = ["EffectResult", "estimate_effect"]

KINDS = ("binary", "count", "time")
SE_METHODS = ("cluster", "abadie_imbens", "bootstrap")


@dataclass(frozen=True)
class EffectResult:
    """The ATT on one outcome.

    Attributes
    ----------
    estimate, se, ci
        ATT (treated minus control), its standard error and interval.
    ratio, ratio_ci
        Treated mean / control mean and its interval (None where undefined).

    Examples
    --------
    Four matched pairs; one of the four treated units reoffended, three of the four
    controls: ATT = 0.25 - 0.75 = -0.5, ratio 1/3.

    >>> import polars as pl, pbr
    >>> df = pl.DataFrame({"id": range(8), "t": [1, 1, 1, 1, 0, 0, 0, 0],
    ...                    "s": [0.2, 0.4, 0.6, 0.8, 0.21, 0.41, 0.61, 0.81],
    ...                    "reoffended": [0, 1, 0, 0, 1, 1, 0, 1]})
    >>> m = pbr.match(df, "t", score="s", id="id", order="data")
    >>> e = m.effect(None, "reoffended")
    >>> e.mean_treated, e.mean_control, e.estimate, e.se_method
    (0.25, 0.75, -0.5, 'cluster')
    >>> print(e)  # doctest: +NORMALIZE_WHITESPACE
    ATT on reoffended (binary) (percentage points): -50.0000, SE 31.1805 (cluster),
    95% CI [-111.1126, 11.1126], p = 0.1088
      treated mean 0.2500 (n = 4); control mean 0.7500 (n = 4)
      ratio treated/control 0.3333, CI [0.0453, 2.4530]
      per 100 people: 25.0 treated vs 75.0 comparison
    """

    outcome: str
    kind: str
    estimate: float
    se: float
    ci: tuple[float, float]
    p_value: float
    mean_treated: float
    mean_control: float
    ratio: float | None
    ratio_ci: tuple[float, float] | None
    se_method: str
    level: float
    n_treated: int
    n_control: int
    notes: tuple[str, ...] = ()
    seed: int | None = None
    n_boot: int = 0
    integer: bool = True

    def to_frame(self) -> pl.DataFrame:
        """One row with every number."""
        r = self.ratio_ci or (None, None)
        return pl.DataFrame([{
            "outcome": self.outcome, "kind": self.kind, "mean_treated": self.mean_treated,
            "mean_control": self.mean_control, "att": self.estimate, "se": self.se,
            "ci_low": self.ci[0], "ci_high": self.ci[1], "p_value": self.p_value,
            "ratio": self.ratio, "ratio_ci_low": r[0], "ratio_ci_high": r[1],
            "se_method": self.se_method, "n_treated": self.n_treated,
            "n_control": self.n_control}])

    @property
    def frame(self) -> pl.DataFrame:
        return self.to_frame()

    def to_pandas(self) -> Any:
        return self.to_frame().to_pandas()

    def summary(self) -> pl.DataFrame:
        return self.to_frame()

    def explain(self, key: str = "att") -> str:
        """How the estimate and its interval were computed."""
        z = stats.norm.ppf(0.5 + self.level / 2)
        return (f"ATT = {self.mean_treated:.6g} (mean of {self.n_treated} matched treated) - "
                f"{self.mean_control:.6g} (weighted mean of {self.n_control} matched "
                f"controls) = {self.estimate:.6g}; SE {self.se:.6g} ({self.se_method}); "
                f"{self.level:.0%} CI = ATT -/+ {z:.4f} x SE" if self.se_method != "bootstrap"
                else f"{self.level:.0%} CI: percentiles of {self.n_boot} resamples of "
                f"matched groups (seed {self.seed})")

    @property
    def provenance(self) -> dict[str, Any]:
        from pbr._version import __version__

        return {"pbr_version": __version__, "se_method": self.se_method, "seed": self.seed,
                "n_boot": self.n_boot, "level": self.level}

    def __str__(self) -> str:
        unit = " (percentage points)" if self.kind == "binary" else ""
        scale = 100.0 if self.kind == "binary" else 1.0
        lines = [f"ATT on {self.outcome} ({self.kind}){unit}: "
                 f"{scale * self.estimate:.4f}, SE {scale * self.se:.4f} ({self.se_method}), "
                 f"{self.level:.0%} CI [{scale * self.ci[0]:.4f}, {scale * self.ci[1]:.4f}], "
                 f"p = {self.p_value:.4g}",
                 f"  treated mean {self.mean_treated:.4f} (n = {self.n_treated:,}); control "
                 f"mean {self.mean_control:.4f} (n = {self.n_control:,})"]
        if self.ratio is not None:
            rc = self.ratio_ci
            lines.append(f"  ratio treated/control {self.ratio:.4f}"
                         + (f", CI [{rc[0]:.4f}, {rc[1]:.4f}]" if rc else ""))
        if self.kind == "binary" or (self.kind == "count" and self.integer):
            lines.append(f"  per 100 people: {100 * self.mean_treated:.1f} treated vs "
                         f"{100 * self.mean_control:.1f} comparison")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def _outcome_values(result: MatchResult, outcomes: Any, outcome: str) -> tuple[np.ndarray,
                                                                                list[str]]:
    """Outcome per unit of ``result.frame`` (NaN where missing)."""
    sid = result.spec.id
    if outcomes is None:
        frame = result.frame.select(sid, outcome)
    else:
        src = outcomes.frame if hasattr(outcomes, "frame") else outcomes
        src = to_polars(src)
        key = sid if sid in src.columns else "offender_id"
        if key not in src.columns or outcome not in src.columns:
            raise SchemaError(f"outcomes: need columns {key!r} and {outcome!r}; got "
                              f"{', '.join(src.columns)}")
        src = src.select(pl.col(key).alias(sid), pl.col(outcome))
        if not src[sid].is_unique().all():
            raise SchemaError(f"outcomes: column {key!r} has duplicated ids")
        frame = result.frame.select(sid).join(src, on=sid, how="left", maintain_order="left")
    y = frame[outcome].cast(pl.Float64).to_numpy()
    notes = []
    lost = np.isnan(y) & (result.frame["weight"].to_numpy() > 0)
    if lost.any():
        notes.append(f"{int(lost.sum()):,} matched unit(s) have no {outcome} value and are "
                     "left out")
    return y, notes


def _kind(y: np.ndarray, kind: str | None) -> str:
    if kind is not None:
        if kind not in KINDS:
            raise SpecError(f"kind: must be one of {', '.join(KINDS)}, got {kind!r}")
        return kind
    v = y[~np.isnan(y)]
    return "binary" if np.isin(v, (0.0, 1.0)).all() else "count"


def _cluster_vcov(y: np.ndarray, t: np.ndarray, w: np.ndarray, g: np.ndarray) -> np.ndarray:
    """CR1 covariance of (intercept, treatment) in the WLS fit y ~ 1 + t (sandwich::vcovCL)."""
    x = np.column_stack([np.ones(y.size), t.astype(float)])
    xw = x * w[:, None]
    bread = np.linalg.inv(x.T @ xw)
    beta = bread @ (xw.T @ y)
    e = y - x @ beta
    _, gi = np.unique(g, return_inverse=True)
    n_g = int(gi.max()) + 1
    if n_g < 2 or y.size < 3:
        return np.full((2, 2), np.nan)
    u = np.zeros((n_g, 2))
    np.add.at(u, gi, xw * e[:, None])
    n = y.size
    adj = n_g / (n_g - 1) * (n - 1) / (n - 2)
    return adj * bread @ (u.T @ u) @ bread


def _groups(result: MatchResult, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                          np.ndarray, np.ndarray]:
    """Estimation rows: (y, treated, weight, group, unit position) with outcome present."""
    f = result.frame
    t = result.treated
    w = f["weight"].to_numpy()
    if result.spec.method == "nearest" and result.spec.replace:
        _, pc = result.pair_rows()
        sub = result.pairs["subclass"].to_numpy()
        tu = np.flatnonzero(t & (w > 0))
        rows = np.concatenate([tu, pc])
        ww = np.concatenate([np.ones(tu.size), result.pairs["pair_weight"].to_numpy()])
        gg = np.concatenate([f["subclass"].to_numpy()[tu], sub])
        tt = np.concatenate([np.ones(tu.size, bool), np.zeros(pc.size, bool)])
    else:
        rows = np.flatnonzero(w > 0)
        ww, gg, tt = w[rows], f["subclass"].to_numpy()[rows], t[rows]
    ok = ~np.isnan(y[rows])
    return y[rows][ok], tt[ok], ww[ok], gg[ok].astype(np.int64), rows[ok]


def _ai_variance(result: MatchResult, yt: np.ndarray, yc: np.ndarray, tau: float) -> float:
    """Abadie-Imbens (2006) variance of the ATT; ``yt``/``yc`` per unit of the frame."""
    f = result.frame
    pt, pc = result.pair_rows()
    pw = result.pairs["pair_weight"].to_numpy()
    n = f.height
    yhat0 = np.zeros(n)
    np.add.at(yhat0, pt, pw * yc[pc])
    tu = np.unique(pt)
    term_t = ((yt[tu] - yhat0[tu] - tau) ** 2).sum()
    raw = np.zeros(n)
    np.add.at(raw, pc, pw)
    sq = np.zeros(n)
    np.add.at(sq, pc, pw ** 2)
    cu = np.flatnonzero(raw > 0)
    score = f["ps"].to_numpy() if "ps" in f.columns else None
    if score is None:
        raise SpecError("se: 'abadie_imbens' needs a propensity score for the variance terms")
    ctrl = np.flatnonzero(~result.treated & ~np.isnan(yc))  # neighbours with an outcome
    order = ctrl[np.lexsort((f[result.spec.id].rank("ordinal").to_numpy()[ctrl], score[ctrl]))]
    s = score[order]
    if order.size < 2:
        return float("nan")
    inv = np.empty(n, np.int64)
    inv[order] = np.arange(order.size)
    p = inv[cu]
    dl = np.where(p > 0, s[p] - s[np.maximum(p - 1, 0)], np.inf)
    dr = np.where(p < order.size - 1, s[np.minimum(p + 1, order.size - 1)] - s[p], np.inf)
    j = np.where(dr <= dl, p + 1, p - 1)  # nearest other control; tie: the higher score
    s2 = 0.5 * (yc[cu] - yc[order[j]]) ** 2
    term_c = ((raw[cu] ** 2 - sq[cu]) * s2).sum()
    return float((term_t + term_c) / tu.size ** 2)


def estimate_effect(result: MatchResult, outcomes: Any, outcome: str, *,
                    kind: str | None = None, se: str | None = None, level: float = 0.95,
                    n_boot: int = 999, seed: int | None = None) -> EffectResult:
    """The ATT of treatment on ``outcome`` among the matched units.

    Parameters
    ----------
    result
        A :class:`~pbr.matching.result.MatchResult`.
    outcomes
        A :class:`~pbr.measures.MeasureResult` or a frame with the outcome and the id
        (``offender_id`` or the match's id column), joined on the id; None takes the
        outcome from ``result.frame``.
    outcome
        Column name, e.g. ``"reoffended"``, ``"reoffences"``, ``"days_to_first"``.
    kind
        ``"binary"``, ``"count"`` or ``"time"``; default binary for 0/1 values, else count.
    se
        ``"cluster"``, ``"abadie_imbens"`` or ``"bootstrap"``; default cluster without
        replacement and Abadie-Imbens with replacement.
    level, n_boot, seed
        Interval level; bootstrap resamples and seed (required for the bootstrap).

    Examples
    --------
    >>> import numpy as np, polars as pl, pbr
    >>> df = pl.DataFrame({"id": range(6), "t": [1, 1, 0, 0, 0, 0],
    ...                    "s": [0.9, 0.5, 0.88, 0.52, 0.1, 0.2],
    ...                    "y": [3.0, 2.0, 1.0, 1.0, 0.0, 5.0]})
    >>> m = pbr.match(df, "t", score="s", id="id", order="data")
    >>> pbr.estimate_effect(m, None, "y").estimate
    1.5
    """
    y, notes = _outcome_values(result, outcomes, outcome)
    kind = _kind(y, kind)
    replace = result.spec.method == "nearest" and result.spec.replace
    method = se or ("abadie_imbens" if replace else "cluster")
    if method not in SE_METHODS:
        raise SpecError(f"se: must be one of {', '.join(SE_METHODS)}, got {method!r}")
    if method == "abadie_imbens" and (result.spec.method != "nearest" or kind == "time"):
        raise SpecError("se: 'abadie_imbens' applies to nearest-neighbour matching and "
                        "outcomes without missing values; use 'cluster' or 'bootstrap'")
    if method == "bootstrap" and seed is None:
        raise SpecError("seed: the bootstrap needs a seed, e.g. seed=1")
    if not 0 < level < 1:
        raise SpecError(f"level: must be between 0 and 1, got {level!r}")
    yy, tt, ww, gg, rows = _groups(result, y)
    if not tt.any() or tt.all():
        raise SchemaError(f"no matched treated or control units with a {outcome} value")
    mt = float(np.average(yy[tt], weights=ww[tt]))
    mc = float(np.average(yy[~tt], weights=ww[~tt]))
    att = mt - mc
    z = float(stats.norm.ppf(0.5 + level / 2))
    ratio = mt / mc if mc > 0 else None
    ratio_ci: tuple[float, float] | None = None
    if method == "cluster":
        if replace:
            notes.append("with replacement, clustering on match groups ignores the reuse "
                         "of controls across groups; prefer se='abadie_imbens'")
        v = _cluster_vcov(yy, tt, ww, gg)
        sd = float(np.sqrt(v[1, 1]))
        ci = (att - z * sd, att + z * sd)
        if ratio is not None and mt > 0:
            var_t, var_c, cov = v[0, 0] + 2 * v[0, 1] + v[1, 1], v[0, 0], v[0, 0] + v[0, 1]
            vl = var_t / mt ** 2 + var_c / mc ** 2 - 2 * cov / (mt * mc)
            ratio_ci = (ratio * np.exp(-z * np.sqrt(vl)), ratio * np.exp(z * np.sqrt(vl)))
    elif method == "abadie_imbens":
        if np.isnan(y[result.frame["weight"].to_numpy() > 0]).any():
            raise SpecError("se: 'abadie_imbens' needs the outcome of every matched unit; "
                            "use se='bootstrap' when some are missing")
        yv = y
        sd = float(np.sqrt(_ai_variance(result, yv, yv, att)))
        ci = (att - z * sd, att + z * sd)
        if ratio is not None and mt > 0:
            vl = _ai_variance(result, yv / mt, yv / mc, 0.0)
            ratio_ci = (ratio * np.exp(-z * np.sqrt(vl)), ratio * np.exp(z * np.sqrt(vl)))
    else:
        sd, ci, ratio_ci = _bootstrap(yy, tt, ww, gg, n_boot, seed, level, ratio is not None)
        if replace:
            notes.append("resampling match groups ignores the reuse of controls, so the "
                         "bootstrap understates uncertainty with replacement (Abadie and "
                         "Imbens 2008); prefer se='abadie_imbens'")
    if math.isnan(sd):  # too few groups or controls for the variance
        notes.append("too few matched groups for a standard error")
    p = float(2 * stats.norm.sf(abs(att / sd))) if sd > 0 else float("nan")
    return EffectResult(outcome, kind, att, sd, (float(ci[0]), float(ci[1])), p, mt, mc,
                        ratio, None if ratio_ci is None else
                        (float(ratio_ci[0]), float(ratio_ci[1])), method, level,
                        int(tt.sum()), int(np.unique(rows[~tt]).size), tuple(notes), seed,
                        n_boot if method == "bootstrap" else 0,
                        bool(np.all(yy == np.round(yy))))


def _bootstrap(y: np.ndarray, t: np.ndarray, w: np.ndarray, g: np.ndarray, n_boot: int,
               seed: int | None, level: float, with_ratio: bool
               ) -> tuple[float, tuple[float, float], tuple[float, float] | None]:
    """Resample matched groups with replacement; percentile intervals."""
    _, gi = np.unique(g, return_inverse=True)
    n_g = int(gi.max()) + 1
    sums = np.zeros((n_g, 4))  # treated sum, treated weight, control sum, control weight
    np.add.at(sums, (gi, np.where(t, 0, 2)), w * y)
    np.add.at(sums, (gi, np.where(t, 1, 3)), w)
    rng = np.random.default_rng(seed)
    att = np.empty(n_boot)
    rat = np.empty(n_boot)
    for b in range(n_boot):
        c = np.bincount(rng.integers(0, n_g, n_g), minlength=n_g).astype(float)
        s = c @ sums
        m1, m0 = s[0] / s[1], s[2] / s[3]
        att[b] = m1 - m0
        rat[b] = m1 / m0 if m0 > 0 else np.nan
    a = (1 - level) / 2
    ci = (float(np.quantile(att, a)), float(np.quantile(att, 1 - a)))
    rci = (float(np.nanquantile(rat, a)), float(np.nanquantile(rat, 1 - a))) if with_ratio \
        else None
    return float(att.std(ddof=1)), ci, rci
