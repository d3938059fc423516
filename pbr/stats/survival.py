"""Time to first reoffence: Kaplan-Meier curves with R ``survival::survfit`` conventions.

Per group, at every distinct time (event or censoring) the curve records ``n_risk``,
``n_event``, ``n_censor`` (weighted sums when weighted), the Kaplan-Meier estimate
``surv = Π(1 - d/n)`` (Kaplan and Meier 1958), ``std_err`` (the standard error of
``log(surv)``, as R stores it), the confidence limits and the Nelson-Aalen cumulative
hazard with its standard error.  Variance:

* ``"greenwood"``: ``Σ d / (n (n - d))`` (Greenwood 1926), with weighted ``n`` and ``d``;
* ``"robust"``: the infinitesimal jackknife ``Σ_i w_i² U_i(t)²``, ``U_i`` the derivative
  of ``log S(t)`` with respect to offender i's weight (R's default for non-integer
  weights, Therneau's survival package >= 3.0).

Confidence intervals (``conf_type``, R's ``survfit_confint``): ``"log"`` (R's default)
``S·exp(±z·se)`` capped at 1; ``"log-log"`` ``exp(-exp(log(-log S) ± z·se/log S))``
(Kalbfleisch and Prentice 1980; SAS's default); ``"plain"`` ``S ± z·S·se`` within [0, 1].
Quantiles and medians follow R's ``quantile.survfit``: the first time the curve reaches
``1 - p``, the midpoint to the next time where it sits exactly on ``1 - p``.  All of it
is checked against R 4.2 / survival 3.5 on the Rossi recidivism data to 1e-6
(tests/fixtures/r_survival).  For reoffending, an offender who is not reconvicted is
censored at the end of the follow-up window, or at ``as_of`` for an interim measure
(:func:`time_to_first`; MoJ time to first reoffence, [MoJ-PRS-Bulletins], [JDL-Reports]).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy import stats as _st

from pbr.errors import SpecError
from pbr.period import date_to_day

__all__ = ["CONF_TYPES", "SurvivalCurves", "kaplan_meier", "survival_quantile",
           "time_to_first"]

CONF_TYPES = ("log", "log-log", "plain")
_TOL = math.sqrt(np.finfo(np.float64).eps)


def _days(times: Any) -> np.ndarray:
    """Chosen days for ``at()``: one day (a scalar) or several, sorted; NaN refused."""
    try:
        ts = np.atleast_1d(np.asarray(times, np.float64)).ravel()
    except (TypeError, ValueError):
        raise SpecError(f"times: a day or a list of days (numbers), e.g. 365 or "
                        f"[182, 365], got {times!r}") from None
    if np.any(np.isnan(ts)):
        raise SpecError(f"times: days must not be missing (NaN), got {times!r}")
    return np.sort(ts)


def time_to_first(result: Any) -> pl.DataFrame:
    """Per offender: days to the first proven reoffence, or censored at the window's end.

    The window's last offence day is the index date plus the follow-up (minus a day when
    the index day itself counts), cut at ``as_of`` for interim measures; the censoring
    time is that day minus the index date.  Columns: the result frame's columns plus
    ``time`` (days), ``event`` (bool) and ``end`` (the censoring day of every offender,
    reoffender or not: the end of observation for :mod:`pbr.stats.mcf`).

    Examples
    --------
    >>> import pbr
    >>> data = pbr.synth.generate(200, seed=1)
    >>> t = time_to_first(pbr.measure(data.cohort, data.events))
    >>> bool((t["time"] > 0).all()), t["event"].sum() == t["reoffended"].sum()
    (True, True)
    """
    frame: pl.DataFrame = result.frame
    spec = result.spec
    idx = frame["index_date"].cast(pl.Int32).to_numpy()
    end = spec.follow_up.add(idx).astype(np.int64)
    if spec.include_index_day:
        end = end - 1
    if spec.as_of is not None and spec.interim:
        end = np.minimum(end, date_to_day(spec.as_of))
    censor = end - idx
    first = frame["days_to_first"].to_numpy()
    event = frame["days_to_first"].is_not_null().to_numpy()
    time = np.where(event, np.nan_to_num(first.astype(np.float64)), censor)
    return frame.with_columns(time=pl.Series(time.astype(np.int64)),
                              event=pl.Series(event), end=pl.Series(censor))


@dataclass(frozen=True)
class SurvivalCurves:
    """Kaplan-Meier curves of one or more groups (:func:`kaplan_meier`).

    Attributes
    ----------
    frame
        One row per group and distinct time: ``group``, ``time``, ``n_risk``,
        ``n_event``, ``n_censor``, ``surv``, ``std_err`` (of log surv), ``lower``,
        ``upper``, ``cumhaz``, ``std_chaz``.
    n
        Offenders (weighted) per group at the start.
    conf_type, level, variance
        The options used.
    """

    frame: pl.DataFrame
    n: dict[Any, float]
    conf_type: str
    level: float
    variance: str

    def to_frame(self) -> pl.DataFrame:
        """The curve table (polars)."""
        return self.frame

    def to_pandas(self) -> Any:
        """The curve table as pandas."""
        return self.frame.to_pandas()

    @property
    def groups(self) -> list[Any]:
        """The group labels, sorted."""
        return list(self.n)

    def _group(self, group: Any) -> pl.DataFrame:
        return self.frame.filter(pl.col("group") == group)

    def at(self, times: Any) -> pl.DataFrame:
        """Survival, at-risk counts and limits at chosen days (R ``summary(fit, times)``,
        ``extend=TRUE``): the curve's value at the last time <= t, the number at risk at t,
        and the events in (previous chosen time, t].

        ``times`` is one day (``at(365)``) or several (``at([182, 365])``); one row per
        group and day, days sorted.

        Examples
        --------
        >>> km = kaplan_meier([1, 2, 3, 4, 5, 6, 6, 8], [1, 1, 0, 1, 1, 0, 1, 1])
        >>> km.at(4)["surv"].round(4).to_list(), km.at([2, 4])["surv"].round(4).to_list()
        ([0.6], [0.75, 0.6])
        """
        ts = _days(times)
        out = []
        for g in self.groups:
            c = self._group(g)
            t = c["time"].to_numpy()
            i1 = np.searchsorted(t, ts, side="right")       # rows with time <= ts
            i2 = np.searchsorted(t, ts, side="left")        # first row with time >= ts
            pick = np.r_[1.0, c["surv"].to_numpy()][i1]
            risk = np.r_[c["n_risk"].to_numpy(), 0.0][i2]
            cum = np.r_[0.0, np.cumsum(c["n_event"].to_numpy())][i1]
            cols = {k: np.r_[v0, c[k].to_numpy()][i1] for k, v0 in
                    (("std_err", 0.0), ("lower", 1.0), ("upper", 1.0))}
            with np.errstate(invalid="ignore"):  # survival 0: inf x 0 is NaN, as R prints
                std_err = cols["std_err"] * pick
            out.append(pl.DataFrame({
                "group": [g] * ts.size, "time": ts, "n_risk": risk,
                "n_event": np.diff(np.r_[0.0, cum]), "surv": pick,
                "std_err": std_err, "lower": cols["lower"],
                "upper": cols["upper"]}))
        return pl.concat(out)

    def quantile(self, probs: Any = (0.5,)) -> pl.DataFrame:
        """Quantiles of time to first reoffence with limits (R ``quantile.survfit``):
        the ``p`` quantile is the first time ``1 - surv >= p``; null when never reached."""
        rows = []
        for g in self.groups:
            c = self._group(g)
            t = c["time"].to_numpy()
            for p in np.atleast_1d(np.asarray(probs, np.float64)):
                q = [survival_quantile(t, c[k].to_numpy(), float(p))
                     for k in ("surv", "lower", "upper")]
                rows.append({"group": g, "prob": float(p), "quantile": q[0],
                             "lower": q[1], "upper": q[2]})
        return pl.DataFrame(rows, schema={"group": self.frame["group"].dtype,
                                          "prob": pl.Float64, "quantile": pl.Float64,
                                          "lower": pl.Float64, "upper": pl.Float64})

    def median(self) -> pl.DataFrame:
        """Median time to first reoffence per group, with limits."""
        return self.quantile((0.5,))

    def __str__(self) -> str:
        med = self.median()
        lines = [f"Kaplan-Meier ({self.variance} variance, {self.conf_type} "
                 f"{self.level:.0%} limits)",
                 f"{'group':>8} {'n':>9} {'events':>9} {'last day':>9} {'surv':>7} "
                 f"{'lower':>7} {'upper':>7} {'median':>7} {'lower':>7} {'upper':>7}"]
        for g, m in zip(self.groups, med.iter_rows(named=True), strict=True):
            c = self._group(g)
            last = c.row(c.height - 1, named=True)
            lines.append(
                f"{g!s:>8} {self.n[g]:>9,.6g} {float(c['n_event'].sum()):>9,.6g} "
                f"{last['time']:>9g} "
                + " ".join(f"{last[k]:>7.4f}" for k in ("surv", "lower", "upper")) + " "
                + " ".join(f"{'-' if m[k] is None else format(m[k], 'g'):>7}"
                           for k in ("quantile", "lower", "upper")))
        return "\n".join(lines)


def survival_quantile(time: np.ndarray, surv: np.ndarray, p: float) -> float | None:
    """R's ``findq``: first time ``1 - surv`` reaches ``p`` (midpoint on a flat hit)."""
    x = np.r_[0.0, np.asarray(time, np.float64)]
    y = np.r_[0.0, 1.0 - np.asarray(surv, np.float64)]
    if np.all(np.isnan(y)) or np.nanmax(y) < p:
        return None
    xmax = x[-1]
    keep = np.ones(y.size, bool)                # drop repeated values (first kept)
    seen: set[float] = set()
    nan_seen = False
    for i, v in enumerate(y):
        if math.isnan(v):
            keep[i] = not nan_seen
            nan_seen = True
        elif v in seen:
            keep[i] = False
        else:
            seen.add(v)
    x, y = x[keep], y[keep]
    ok = ~np.isnan(y)
    pos = np.flatnonzero(ok)

    def first_at_least(shift: float) -> int | None:
        hits = pos[y[ok] + shift >= p]
        return None if hits.size == 0 else int(hits[0])

    i1, i2 = first_at_least(_TOL), first_at_least(-_TOL)
    if i1 is None:
        return None
    q = (x[i1] + x[i2]) / 2 if i2 is not None else math.nan
    if not math.isnan(y[-1]) and abs(p - y[-1]) < _TOL:
        q = (x[i1] + xmax) / 2
    return None if math.isnan(q) else float(q)


def _confint(s: np.ndarray, se: np.ndarray, conf_type: str, level: float
             ) -> tuple[np.ndarray, np.ndarray]:
    z = float(_st.norm.isf((1 - level) / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "log":
            xx = np.where(s == 0, np.nan, s)
            return np.exp(np.log(xx) - z * se), np.minimum(np.exp(np.log(xx) + z * se), 1.0)
        if conf_type == "log-log":
            xx = np.where((s == 0) | (s == 1), np.nan, s)
            se2 = z * se / np.log(xx)
            return np.exp(-np.exp(np.log(-np.log(xx)) - se2)), \
                np.exp(-np.exp(np.log(-np.log(xx)) + se2))
        if conf_type == "plain":
            se2 = z * se * s
            return np.maximum(s - se2, 0.0), np.minimum(s + se2, 1.0)
    raise SpecError(f"conf_type: one of {', '.join(CONF_TYPES)}, got {conf_type!r}")


def _one_curve(time: np.ndarray, event: np.ndarray, w: np.ndarray, variance: str,
               conf_type: str, level: float) -> dict[str, np.ndarray]:
    order = np.argsort(time, kind="stable")
    t, e, w = time[order], event[order], w[order]
    ut = np.unique(t)
    pos = np.searchsorted(ut, t)
    d = np.bincount(pos, weights=w * e, minlength=ut.size)
    c = np.bincount(pos, weights=w * (1 - e), minlength=ut.size)
    leave = d + c
    n = np.cumsum(leave[::-1])[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - d / n)
        haz = d / n
        cumhaz = np.cumsum(haz)
        if variance == "greenwood":
            var = np.cumsum(np.where(d > 0, d / (n * (n - d)), 0.0))
            var_chaz = np.cumsum(d / (n * n))
        else:
            w2 = w * w
            after = np.cumsum(np.bincount(pos, weights=w2, minlength=ut.size)[::-1])[::-1]
            w2_after = np.r_[after[1:], 0.0]            # Σw² of those still at risk after t
            # log S: U_i(t) = Σ_{t_j <= min(t, T_i)} d/(n(n-d)) - event_i/(n-d) at T_i
            ca = np.cumsum(np.where(d > 0, d / (n * (n - d)), 0.0))
            infl = ca[pos] - e * np.where(d > 0, 1.0 / (n - d), 0.0)[pos]
            var = ca * ca * w2_after + np.cumsum(
                np.bincount(pos, weights=w2 * infl * infl, minlength=ut.size))
            # cumulative hazard: U_i(t) = event_i/n at T_i - Σ_{t_j <= min(t, T_i)} d/n²
            ch = np.cumsum(d / (n * n))
            infl = e / n[pos] - ch[pos]
            var_chaz = ch * ch * w2_after + np.cumsum(
                np.bincount(pos, weights=w2 * infl * infl, minlength=ut.size))
        std_chaz = np.sqrt(var_chaz)
    se = np.sqrt(var)
    lower, upper = _confint(surv, se, conf_type, level)
    return {"time": ut, "n_risk": n, "n_event": d, "n_censor": c, "surv": surv,
            "std_err": se, "lower": lower, "upper": upper, "cumhaz": cumhaz,
            "std_chaz": std_chaz}


def kaplan_meier(time: Any, event: Any, *, group: Any = None, weights: Any = None,
                 conf_type: str = "log", level: float = 0.95,
                 variance: str | None = None) -> SurvivalCurves:
    """Kaplan-Meier curves of time to first reoffence, per group.

    Parameters
    ----------
    time, event
        Days to the first reoffence or to censoring, and whether it was a reoffence
        (see :func:`time_to_first`).
    group
        Optional group label per offender (e.g. treated / comparison).
    weights
        Optional non-negative weights (e.g. matching weights).
    conf_type
        ``"log"`` (R's default), ``"log-log"`` or ``"plain"``.
    level
        Confidence level of the pointwise limits.
    variance
        ``"greenwood"`` or ``"robust"``; default as R: robust when any weight is not a
        whole number, else Greenwood.

    Examples
    --------
    >>> km = kaplan_meier([1, 2, 3, 4, 5, 6, 6, 8], [1, 1, 0, 1, 1, 0, 1, 1])
    >>> km.frame["surv"].round(4).to_list()
    [0.875, 0.75, 0.75, 0.6, 0.45, 0.3, 0.0]
    >>> km.median()["quantile"].to_list()
    [5.0]
    """
    t = np.asarray(time, np.float64)
    e = np.asarray(event, np.float64)
    if t.shape != e.shape or t.ndim != 1:
        raise SpecError("time and event must be one-dimensional and of equal length")
    if np.any(np.isnan(t)) or np.any(t < 0):
        raise SpecError("time: days must be >= 0 and not missing")
    if not np.all(np.isin(e, (0.0, 1.0))):
        raise SpecError("event: must be 0/1 or True/False")
    w = np.ones_like(t) if weights is None else np.asarray(weights, np.float64)
    if w.shape != t.shape or np.any(w < 0) or not np.all(np.isfinite(w)):
        raise SpecError("weights: one finite weight >= 0 per offender")
    if not 0 < level < 1:
        raise SpecError(f"level: between 0 and 1, e.g. 0.95, got {level!r}")
    if conf_type not in CONF_TYPES:
        raise SpecError(f"conf_type: one of {', '.join(CONF_TYPES)}, got {conf_type!r}")
    variance = variance or ("robust" if np.any(w != np.floor(w)) else "greenwood")
    if variance not in ("greenwood", "robust"):
        raise SpecError(f"variance: 'greenwood' or 'robust', got {variance!r}")
    labels = pl.Series("group", ["all"] * t.size if group is None else list(group))
    if labels.len() != t.size:
        raise SpecError("group: one label per offender")
    parts, sizes = [], {}
    for g in labels.unique().sort().to_list():
        k = (labels == g).to_numpy() & (w > 0)
        cols = _one_curve(t[k], e[k], w[k], variance, conf_type, level)
        sizes[g] = float(w[k].sum())
        parts.append(pl.DataFrame({"group": pl.Series([g] * cols["time"].size,
                                                      dtype=labels.dtype), **cols}))
    return SurvivalCurves(pl.concat(parts), sizes, conf_type, level, variance)
