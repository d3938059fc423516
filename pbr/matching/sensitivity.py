"""Sensitivity to unmeasured confounding: Rosenbaum bounds and E-values.

* Rosenbaum bounds for a binary outcome in matched pairs (McNemar's test;
  Rosenbaum 2002, *Observational Studies*, 2nd ed., section 4.3): of the ``D`` discordant
  pairs, ``T`` are those in which the unit named by ``alternative`` had the event.  If a
  hidden confounder changes the odds of treatment within a pair by at most ``gamma``,
  ``T`` is bounded by Binomial(D, 1/(1+gamma)) and Binomial(D, gamma/(1+gamma)), giving
  lower and upper one-sided p-values; ``method="normal"`` is the continuity-corrected
  normal approximation Rosenbaum's tables print.
* E-value (VanderWeele and Ding 2017, Annals of Internal Medicine 167:268): the minimum
  strength of association, on the risk-ratio scale, that a confounder would need with
  both treatment and outcome to explain the observed ratio away:
  ``E = RR + sqrt(RR (RR - 1))`` for ``RR >= 1`` (use ``1 / RR`` below 1); for an interval,
  the E-value of the limit closest to 1, or 1 if the interval contains 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from pbr.errors import SpecError

__all__ = ["e_value", "rosenbaum_binary", "rosenbaum_bounds"]


def rosenbaum_binary(n_treated_only: int, n_control_only: int,
                     gammas: Sequence[float] = (1.0, 1.5, 2.0, 2.5, 3.0), *,
                     method: str = "exact") -> pl.DataFrame:
    """Bounds on the one-sided p-value of McNemar's test that the treated units have the
    event more often than their controls, for each ``gamma``.

    Examples
    --------
    Hammond's smoking and lung cancer pairs (Rosenbaum 2002, section 4.3): 110 pairs in
    which only the smoker died of lung cancer, 12 in which only the non-smoker did.

    >>> b = rosenbaum_binary(110, 12, [4, 5, 6], method="normal")
    >>> b["p_upper"].round(3).to_list()
    [0.004, 0.029, 0.101]
    """
    if method not in ("exact", "normal"):
        raise SpecError(f"method: 'exact' or 'normal', got {method!r}")
    t, d = int(n_treated_only), int(n_treated_only) + int(n_control_only)
    if min(n_treated_only, n_control_only) < 0:
        raise SpecError("pair counts must be >= 0")
    rows = []
    for g in gammas:
        if g < 1:
            raise SpecError(f"gammas: every gamma must be >= 1, got {g}")
        ps = (1.0 / (1.0 + g), g / (1.0 + g))
        if method == "exact":
            lo, hi = (float(stats.binom.sf(t - 1, d, p)) if d else 1.0 for p in ps)
        else:
            lo, hi = (float(stats.norm.sf((t - 0.5 - d * p) / math.sqrt(d * p * (1 - p))))
                      if d else 1.0 for p in ps)
        rows.append((float(g), lo, hi))
    return pl.DataFrame(rows, schema=["gamma", "p_lower", "p_upper"], orient="row")


def rosenbaum_bounds(result: Any, outcomes: Any, outcome: str,
                     gammas: Sequence[float] = (1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0), *,
                     alternative: str = "less", method: str = "exact") -> pl.DataFrame:
    """Rosenbaum bounds for a binary outcome of a 1:1 match without replacement.

    ``alternative="less"`` tests that treatment *reduces* the outcome (the discordant
    pairs in which only the control reoffended count); ``"greater"`` the reverse.
    Returns ``gamma``, ``p_lower``, ``p_upper`` and the pair counts.

    Examples
    --------
    Eight pairs: in five only the control reoffended, in one only the treated unit, two
    are concordant.  With no hidden bias (gamma 1) the one-sided p-value is
    P(Binomial(6, 1/2) >= 5) = 7/64 = 0.109375; at gamma 2 the bounds are
    P(Binomial(6, 1/3) >= 5) = 13/729 and P(Binomial(6, 2/3) >= 5) = 256/729.

    >>> import polars as pl, pbr
    >>> df = pl.DataFrame({
    ...     "id": range(16), "t": [1] * 8 + [0] * 8,
    ...     "s": [0.1 * i + 0.05 for i in range(8)] + [0.1 * i + 0.06 for i in range(8)],
    ...     "y": [0, 0, 0, 0, 0, 1, 1, 0] + [1, 1, 1, 1, 1, 0, 1, 0]})
    >>> m = pbr.match(df, "t", score="s", id="id", order="data")
    >>> b = rosenbaum_bounds(m, None, "y", [1, 2])
    >>> b.select("treated_only", "control_only").row(0)
    (1, 5)
    >>> b.select(pl.col("gamma", "p_lower", "p_upper").round(6)).rows()
    [(1.0, 0.109375, 0.109375), (2.0, 0.017833, 0.351166)]
    """
    from pbr.matching.effects import _outcome_values

    spec = result.spec
    if spec.method != "nearest" or spec.ratio != 1 or spec.replace:
        raise SpecError("rosenbaum_bounds: needs 1:1 matching without replacement (pairs)")
    if alternative not in ("less", "greater"):
        raise SpecError(f"alternative: 'less' or 'greater', got {alternative!r}")
    y, _ = _outcome_values(result, outcomes, outcome)
    pt, pc = result.pair_rows()
    yt, yc = y[pt], y[pc]
    ok = ~(np.isnan(yt) | np.isnan(yc))
    yt, yc = yt[ok], yc[ok]
    if not np.isin(np.concatenate([yt, yc]), (0.0, 1.0)).all():
        raise SpecError(f"rosenbaum_bounds: {outcome!r} must be binary (0/1)")
    t_only = int(((yt == 1) & (yc == 0)).sum())
    c_only = int(((yt == 0) & (yc == 1)).sum())
    a, b = (c_only, t_only) if alternative == "less" else (t_only, c_only)
    out = rosenbaum_binary(a, b, gammas, method=method)
    return out.with_columns(pl.lit(t_only).alias("treated_only"),
                            pl.lit(c_only).alias("control_only"))


def _e(rr: float) -> float:
    rr = 1.0 / rr if rr < 1 else rr
    return rr + math.sqrt(rr * (rr - 1.0))


def e_value(estimate: Any, low: float | None = None, high: float | None = None
            ) -> tuple[float, float | None]:
    """(E-value of the estimate, E-value of the interval limit nearest 1).

    ``estimate`` is a risk or rate ratio, or an
    :class:`~pbr.matching.effects.EffectResult` (its treated/control ratio and interval).

    Examples
    --------
    VanderWeele and Ding (2017): RR 3.9 with 95% CI 1.8 to 8.7.

    >>> [round(v, 2) for v in e_value(3.9, 1.8, 8.7)]
    [7.26, 3.0]
    """
    if hasattr(estimate, "ratio"):
        if estimate.ratio is None:
            raise SpecError("e_value: the effect has no ratio (control mean is 0)")
        ci = estimate.ratio_ci or (None, None)
        estimate, low, high = estimate.ratio, ci[0], ci[1]
    rr = float(estimate)
    if not rr > 0:
        raise SpecError(f"e_value: a ratio must be > 0, got {rr}")
    if low is None or high is None:
        return _e(rr), None
    if low <= 1 <= high:
        return _e(rr), 1.0
    return _e(rr), _e(low if rr >= 1 else high)
