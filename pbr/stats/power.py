"""Power, minimum detectable change and cohort size for the binary and frequency measures.

Normal approximations (docs/methodology/inference.md, "Power"), for a cohort of ``n``
against either a **fixed baseline** (``ratio=None``: the CRC and Doncaster baselines,
[MoJ-PbR-Baselines-2011], [MoJ-Doncaster-2015]) or a **comparison group** of
``ratio · n`` offenders (JDL, Peterborough; [MoJ-JDL-2013], [Cave-2012]):

* binary, fixed baseline ``p0``:
  ``n = (z_a·sqrt(p0 q0) + z_b·sqrt(p1 q1))² / (p1 - p0)²`` (one-sample score test);
* binary, two groups (Fleiss, Levin and Paik 2003, eq. 4.14 without continuity
  correction; R's ``power.prop.test`` for ``ratio = 1``):
  ``n = (z_a·sqrt(p̄ q̄ (1 + 1/k)) + z_b·sqrt(p1 q1 + p0 q0 / k))² / (p1 - p0)²``,
  ``p̄ = (p1 + k p0) / (1 + k)``;
* frequency (reoffences per offender; negative binomial with ``Var = μ + α μ²``, Poisson
  when ``α = 0``), Wald test of the log rate ratio ``r = μ1/μ0`` with the variance
  under the alternative (Zhu and Lakkis 2014, *Stat Med* 33:376-387; statsmodels'
  ``power_negbin_ratio_2indep(method_var="alt")``):
  ``n = (z_a + z_b)² · V / log(r)²``, ``V = (1/μ1 + α) + (1/μ0 + α)/k`` (two groups)
  or ``V = 1/μ1 + α`` (fixed baseline).

``z_a`` is the normal quantile of the test's level (two-sided: ``1 - (1-level)/2``) and
``z_b`` that of the power; power is ``Φ(...)`` of the tail in the direction of the change
(the far tail is ignored, as in R's ``power.prop.test``).  The minimum detectable change
solves ``power(change) = target`` for the smallest change in the chosen direction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import polars as pl
from scipy import optimize as _opt
from scipy import stats as _st

from pbr.errors import SpecError
from pbr.stats.interval import z_value

__all__ = ["mde_binary", "mde_frequency", "power_binary", "power_frequency", "power_table",
           "sample_size_binary", "sample_size_frequency"]


def _check(level: float, power: float | None, alternative: str) -> None:
    z_value(level, alternative)
    if power is not None and not 0.0 < power < 1.0:
        raise SpecError(f"power: between 0 and 1, e.g. 0.8, got {power!r}")


def _rate(p: float, name: str) -> None:
    if not 0.0 < p < 1.0:
        raise SpecError(f"{name}: a proportion strictly between 0 and 1 (e.g. 0.45 for "
                        f"45%), got {p!r}")


def _binary_terms(p0: float, p1: float, ratio: float | None) -> tuple[float, float]:
    """Per-offender standard deviations of the difference under the null and alternative."""
    if ratio is None:
        return math.sqrt(p0 * (1 - p0)), math.sqrt(p1 * (1 - p1))
    if ratio <= 0:
        raise SpecError(f"ratio: comparison group size per cohort member, > 0, got {ratio!r}")
    pbar = (p1 + ratio * p0) / (1 + ratio)
    return (math.sqrt(pbar * (1 - pbar) * (1 + 1 / ratio)),
            math.sqrt(p1 * (1 - p1) + p0 * (1 - p0) / ratio))


def sample_size_binary(p0: float, change: float, *, ratio: float | None = None,
                       level: float = 0.95, power: float = 0.8,
                       alternative: str = "two-sided") -> float:
    """Cohort size needed to detect ``change`` (a proportion, e.g. -0.05) from ``p0``.

    Examples
    --------
    R: ``power.prop.test(p1 = 0.5, p2 = 0.4, power = 0.8)`` gives n = 387.34 per group.

    >>> round(sample_size_binary(0.4, 0.1, ratio=1), 2)
    387.34
    """
    _check(level, power, alternative)
    p1 = p0 + change
    _rate(p0, "p0")
    _rate(p1, "p0 + change")
    s0, s1 = _binary_terms(p0, p1, ratio)
    za, zb = z_value(level, alternative), float(_st.norm.ppf(power))
    return (za * s0 + zb * s1) ** 2 / change ** 2


def power_binary(n: float, p0: float, change: float, *, ratio: float | None = None,
                 level: float = 0.95, alternative: str = "two-sided") -> float:
    """Power to detect ``change`` from ``p0`` with a cohort of ``n``.

    Examples
    --------
    R: ``power.prop.test(n = 72, p1 = 0.43, p2 = 0.31)`` gives power 0.3183.

    >>> round(power_binary(72, 0.43, -0.12, ratio=1), 4)
    0.3183
    """
    _check(level, None, alternative)
    _rate(p0, "p0")
    _rate(p0 + change, "p0 + change")
    s0, s1 = _binary_terms(p0, p0 + change, ratio)
    za = z_value(level, alternative)
    return float(_st.norm.cdf((abs(change) * math.sqrt(n) - za * s0) / s1))


def _solve(f: Any, lo: float, hi: float, steps: int = 400) -> float | None:
    """Smallest root of ``f`` in [lo, hi]: first grid point with f >= 0, then Brent."""
    prev = lo
    for i in range(1, steps + 1):
        x = lo + (hi - lo) * i / steps
        if f(x) >= 0:
            return float(_opt.brentq(f, prev, x, xtol=1e-12)) if f(prev) < 0 else prev
        prev = x
    return None


def mde_binary(n: float, p0: float, *, ratio: float | None = None, level: float = 0.95,
               power: float = 0.8, alternative: str = "two-sided",
               direction: str = "decrease") -> float | None:
    """Minimum detectable change in the rate (a proportion; negative for a decrease).

    ``None`` when no change within (0, 1) reaches the power.

    Examples
    --------
    >>> round(100 * mde_binary(1000, 0.45), 2)
    -4.39
    """
    _check(level, power, alternative)
    if direction not in ("decrease", "increase"):
        raise SpecError(f"direction: 'decrease' or 'increase', got {direction!r}")
    sign = -1.0 if direction == "decrease" else 1.0
    room = p0 if direction == "decrease" else 1 - p0
    d = _solve(lambda x: power_binary(n, p0, sign * x, ratio=ratio, level=level,
                                      alternative=alternative) - power, 1e-9, room - 1e-9)
    return None if d is None else sign * d


def _freq_var(mu0: float, r: float, dispersion: float, ratio: float | None) -> float:
    if mu0 <= 0 or r <= 0:
        raise SpecError(f"rates must be > 0, got baseline {mu0!r} and ratio {r!r}")
    if dispersion < 0:
        raise SpecError(f"dispersion: >= 0 (0 for Poisson), got {dispersion!r}")
    v = 1 / (r * mu0) + dispersion
    if ratio is not None:
        if ratio <= 0:
            raise SpecError(f"ratio: > 0, got {ratio!r}")
        v += (1 / mu0 + dispersion) / ratio
    return v


def sample_size_frequency(mu0: float, rate_ratio: float, *, dispersion: float = 0.0,
                          ratio: float | None = None, level: float = 0.95,
                          power: float = 0.8, alternative: str = "two-sided") -> float:
    """Cohort size to detect a rate ratio in reoffences per offender (baseline ``mu0``).

    Examples
    --------
    >>> round(sample_size_frequency(1.5, 0.9, dispersion=1.2, ratio=1), 1)
    2692.0
    """
    _check(level, power, alternative)
    if rate_ratio == 1:
        raise SpecError("rate_ratio: a change needs a ratio other than 1")
    v = _freq_var(mu0, rate_ratio, dispersion, ratio)
    za, zb = z_value(level, alternative), float(_st.norm.ppf(power))
    return (za + zb) ** 2 * v / math.log(rate_ratio) ** 2


def power_frequency(n: float, mu0: float, rate_ratio: float, *, dispersion: float = 0.0,
                    ratio: float | None = None, level: float = 0.95,
                    alternative: str = "two-sided") -> float:
    """Power to detect a rate ratio in reoffences per offender with a cohort of ``n``.

    Examples
    --------
    >>> round(power_frequency(1000, 1.5, 0.85, dispersion=1.2), 4)
    0.9543
    """
    _check(level, None, alternative)
    v = _freq_var(mu0, rate_ratio, dispersion, ratio)
    za = z_value(level, alternative)
    return float(_st.norm.cdf(abs(math.log(rate_ratio)) * math.sqrt(n / v) - za))


def mde_frequency(n: float, mu0: float, *, dispersion: float = 0.0,
                  ratio: float | None = None, level: float = 0.95, power: float = 0.8,
                  alternative: str = "two-sided", direction: str = "decrease"
                  ) -> float | None:
    """Minimum detectable rate ratio (below 1 for a decrease) in reoffences per offender.

    Examples
    --------
    >>> round(mde_frequency(1000, 1.5, dispersion=1.2), 4)
    0.8835
    """
    _check(level, power, alternative)
    if direction not in ("decrease", "increase"):
        raise SpecError(f"direction: 'decrease' or 'increase', got {direction!r}")

    def f(x: float) -> float:
        r = math.exp(-x if direction == "decrease" else x)
        return power_frequency(n, mu0, r, dispersion=dispersion, ratio=ratio, level=level,
                               alternative=alternative) - power

    x = _solve(f, 1e-9, 10.0)
    return None if x is None else math.exp(-x if direction == "decrease" else x)


def power_table(volumes: Mapping[str, float] | pl.DataFrame, *, binary_rate: float,
                per_offender: float | None = None, dispersion: float = 0.0,
                ratio: float | None = None, level: float = 0.95, power: float = 0.8,
                alternative: str = "two-sided", target_change: float | None = None,
                target_ratio: float | None = None) -> pl.DataFrame:
    """Minimum detectable changes (and cohort sizes needed) across contract areas.

    Parameters
    ----------
    volumes
        Area -> cohort size per period, or a frame with columns ``area`` and ``n``.
    binary_rate
        Baseline reoffending rate (proportion); a column ``binary_rate`` in ``volumes``
        overrides it per area.
    per_offender, dispersion
        Baseline reoffences per offender and NB dispersion (adds the frequency columns).
    ratio, level, power, alternative
        Design as in :func:`mde_binary`.
    target_change, target_ratio
        Adds ``n_needed_binary`` / ``n_needed_frequency``: the cohort size to detect
        that change in the rate (proportion) or that rate ratio.

    Returns
    -------
    polars.DataFrame
        ``area``, ``n``, ``binary_rate`` (a proportion), ``mde_binary_pp`` (percentage
        points, a decrease: the one column in points, as its name says),
        ``mde_binary_relative`` (the change as a proportion of the rate, -0.154 for a
        15.4% fall), and with ``per_offender``: ``per_offender``, ``mde_frequency_ratio``,
        ``mde_frequency_relative`` (the ratio - 1, a proportion); plus the
        ``n_needed_*`` columns when targets are given.

    Examples
    --------
    >>> t = power_table({"North": 400, "South": 4000}, binary_rate=0.45)
    >>> t["mde_binary_pp"].round(2).to_list()
    [-6.92, -2.2]
    >>> t["mde_binary_relative"].round(3).to_list()
    [-0.154, -0.049]
    """
    frame = volumes if isinstance(volumes, pl.DataFrame) else pl.DataFrame(
        {"area": list(volumes), "n": [float(v) for v in volumes.values()]})
    if "area" not in frame.columns or "n" not in frame.columns:
        raise SpecError("volumes: a mapping area -> n, or a frame with columns area and n")
    volumes_columns = frame.columns
    if "binary_rate" not in frame.columns:
        frame = frame.with_columns(binary_rate=pl.lit(float(binary_rate)))
    rows = []
    for r in frame.iter_rows(named=True):
        n, p0 = float(r["n"]), float(r["binary_rate"])
        _rate(p0, "binary_rate" if "binary_rate" not in volumes_columns
              else f"binary_rate of area {r['area']!r}")
        mde = mde_binary(n, p0, ratio=ratio, level=level, power=power,
                         alternative=alternative) if n > 0 else None
        row: dict[str, Any] = {"area": r["area"], "n": n, "binary_rate": p0,
                               "mde_binary_pp": None if mde is None else 100 * mde,
                               "mde_binary_relative": None if mde is None else mde / p0}
        if target_change is not None:
            row["n_needed_binary"] = math.ceil(sample_size_binary(
                p0, target_change, ratio=ratio, level=level, power=power,
                alternative=alternative))
        if per_offender is not None:
            mr = mde_frequency(n, per_offender, dispersion=dispersion, ratio=ratio,
                               level=level, power=power, alternative=alternative) \
                if n > 0 else None
            row.update(per_offender=per_offender, mde_frequency_ratio=mr,
                       mde_frequency_relative=None if mr is None else mr - 1)
            if target_ratio is not None:
                row["n_needed_frequency"] = math.ceil(sample_size_frequency(
                    per_offender, target_ratio, dispersion=dispersion, ratio=ratio,
                    level=level, power=power, alternative=alternative))
        rows.append(row)
    return pl.DataFrame(rows, infer_schema_length=None)
