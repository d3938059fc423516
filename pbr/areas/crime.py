"""Recorded crime by area: rates per 1,000 population, change against a baseline period
with an exact Poisson interval and test, and funnel-plot limits.

Rules and sources (docs/methodology/local.md, R1-R4):

* R1 rate per 1,000 = 1,000 x count / population; its interval is the exact (Garwood)
  Poisson interval of the count divided by the population: lower
  ``chi2.ppf(a/2, 2x) / 2``, upper ``chi2.ppf(1 - a/2, 2x + 2) / 2`` ([Garwood-1936]).
* R2 change: the rate ratio current / baseline ``(x1 / N1) / (x0 / N0)``; conditional on
  ``x0 + x1``, ``x1`` is binomial with ``p = N1 RR / (N1 RR + N0)``, so the exact
  (Clopper-Pearson) interval for ``p`` gives the interval for ``RR`` and the exact
  binomial test of ``p = N1 / (N1 + N0)`` tests ``RR = 1`` ([Breslow-Day-1987]).
* R3 funnel limits: the overall rate ``theta`` (all areas, the period) and, at each
  population ``N``, the ``a/2`` and ``1 - a/2`` quantiles of ``Poisson(theta N) / N``
  (exact quantiles, without Spiegelhalter's interpolation, so slightly conservative)
  ([Spiegelhalter-2005]); an area outside the 99.8% limits is flagged.
* R4 counts are whole numbers >= 0 and populations > 0; a missing population for an
  area and period with crimes is refused, never imputed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy import stats as sps

from pbr.areas.hierarchy import AreaHierarchy
from pbr.data import as_frame
from pbr.errors import SchemaError, SpecError

__all__ = ["CrimeChange", "RecordedCrime", "crime_change", "crime_rates", "funnel_limits",
           "poisson_interval", "rate_ratio_interval"]


def poisson_interval(x: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood) interval for a Poisson mean from a count ``x`` (rule R1).

    Examples
    --------
    >>> lo, hi = poisson_interval(10)
    >>> round(lo, 4), round(hi, 4)
    (4.7954, 18.3904)
    """
    a = 1 - level
    lo = 0.0 if x == 0 else float(sps.chi2.ppf(a / 2, 2 * x)) / 2
    hi = float(sps.chi2.ppf(1 - a / 2, 2 * x + 2)) / 2
    return lo, hi


def rate_ratio_interval(x1: int, n1: float, x0: int, n0: float, level: float = 0.95
                        ) -> tuple[float, float, float, float]:
    """Rate ratio ``(x1/n1)/(x0/n0)``, its exact conditional interval and the exact test
    p-value of ``RR = 1`` (rule R2). Returns ``(rr, lower, upper, p)``.

    Examples
    --------
    >>> rr, lo, hi, p = rate_ratio_interval(30, 1000, 50, 1000)
    >>> round(rr, 2), round(lo, 3), round(hi, 3), round(p, 4)
    (0.6, 0.368, 0.962, 0.033)
    """
    a = 1 - level
    t = x0 + x1
    rr = (x1 / n1) / (x0 / n0) if x0 else float("inf")
    if t == 0:
        return float("nan"), 0.0, float("inf"), 1.0
    pl_ = 0.0 if x1 == 0 else float(sps.beta.ppf(a / 2, x1, t - x1 + 1))
    pu = 1.0 if x1 == t else float(sps.beta.ppf(1 - a / 2, x1 + 1, t - x1))
    lo = pl_ / (1 - pl_) * n0 / n1
    hi = float("inf") if pu >= 1 else pu / (1 - pu) * n0 / n1
    p = float(sps.binomtest(x1, t, n1 / (n1 + n0)).pvalue)
    return rr, lo, hi, p


@dataclass(frozen=True)
class RecordedCrime:
    """Validated recorded-crime counts and population denominators.

    ``counts``: ``area``, ``period``, ``offence_group`` (``"all"`` where the table has
    none) and ``count``; ``population``: ``area``, ``period`` (null: every period) and
    ``population``.

    Examples
    --------
    >>> c = RecordedCrime.from_frames(
    ...     {"area": ["a", "a"], "period": ["2019", "2020"], "count": [120, 90]},
    ...     {"area": ["a"], "population": [50_000]})
    >>> c.rates().select("area", "period", "rate").rows()
    [('a', '2019', 2.4), ('a', '2020', 1.8)]
    """

    counts: pl.DataFrame
    population: pl.DataFrame

    @classmethod
    def from_frames(cls, counts: Any, population: Any, *, area: str = "area",
                    period: str = "period", offence_group: str | None = "offence_group",
                    count: str = "count", pop: str = "population") -> RecordedCrime:
        """Validate the two tables (rule R4); column names are the caller's."""
        c = as_frame(counts, "recorded crime")
        p = as_frame(population, "population")
        for name, frame, cols in (("recorded crime", c, (area, period, count)),
                                  ("population", p, (area, pop))):
            gone = [x for x in cols if x not in frame.columns]
            if gone:
                raise SchemaError(f"{name}: missing column(s) {gone}; columns present: "
                                  f"{', '.join(frame.columns[:20])}. Fix: pass area=, "
                                  "period=, count= or population= with your column names")
        grp = (pl.col(offence_group).cast(pl.String) if offence_group and offence_group in
               c.columns else pl.lit("all"))
        c = c.select(pl.col(area).cast(pl.String).alias("area"),
                     pl.col(period).cast(pl.String).alias("period"),
                     grp.alias("offence_group"), pl.col(count).alias("count"))
        if not c.schema["count"].is_numeric():
            raise SchemaError(f"recorded crime: column {count!r} has type "
                              f"{c.schema['count']}; expected whole numbers")
        bad = c.with_row_index("row").filter(
            pl.col("count").is_null() | (pl.col("count") < 0)
            | (pl.col("count").cast(pl.Float64) != pl.col("count").cast(pl.Float64).floor())
            | pl.col("area").is_null() | pl.col("period").is_null())
        if bad.height:
            r = bad.row(0, named=True)
            raise SchemaError(f"recorded crime: {bad.height} row(s) with a missing area or "
                              f"period or a count that is not a whole number >= 0; first at "
                              f"row {r['row']}: {r}. Fix the extract")
        c = c.with_columns(pl.col("count").cast(pl.Int64))
        dup = c.select("area", "period", "offence_group").is_duplicated()
        if dup.any():
            r = c.filter(dup).row(0, named=True)
            raise SchemaError(f"recorded crime: area {r['area']!r}, period {r['period']!r}, "
                              f"group {r['offence_group']!r} appears more than once; "
                              "aggregate it first")
        per = (pl.col(period).cast(pl.String) if period in p.columns
               else pl.lit(None, dtype=pl.String))
        p = p.select(pl.col(area).cast(pl.String).alias("area"), per.alias("period"),
                     pl.col(pop).cast(pl.Float64).alias("population"))
        badp = p.with_row_index("row").filter(pl.col("population").is_null()
                                              | (pl.col("population") <= 0))
        if badp.height:
            r = badp.row(0, named=True)
            raise SchemaError(f"population: {badp.height} row(s) with a population that is "
                              f"missing or not > 0; first at row {r['row']}: {r}")
        if p.select("area", "period").is_duplicated().any():
            raise SchemaError("population: an area and period appear more than once")
        out = cls(c, p)
        out._joined(c)  # every area and period with crimes has a population (R4)
        return out

    def _joined(self, counts: pl.DataFrame) -> pl.DataFrame:
        p = self.population
        by_period = p.filter(pl.col("period").is_not_null())
        every = p.filter(pl.col("period").is_null()).select("area", pl.col("population")
                                                            .alias("__all"))
        j = (counts.join(by_period, on=["area", "period"], how="left")
             .join(every, on="area", how="left")
             .with_columns(pl.coalesce("population", "__all").alias("population"))
             .drop("__all"))
        gone = j.filter(pl.col("population").is_null())
        if gone.height:
            r = gone.row(0, named=True)
            raise SchemaError(f"recorded crime: no population for area {r['area']!r} in "
                              f"period {r['period']!r} ({gone.height} row(s)); pbr does not "
                              "impute denominators. Fix: add the population row")
        return j

    def _grouped(self, hierarchy: AreaHierarchy | None, level: str | None,
                 groups: bool) -> pl.DataFrame:
        c = self.counts
        if not groups:
            c = c.group_by("area", "period").agg(pl.col("count").sum()).with_columns(
                pl.lit("all").alias("offence_group"))
        j = self._joined(c)
        if hierarchy is not None and level is not None:
            j = hierarchy.attach(j, area="area")
            j = (j.group_by(level, "period", "offence_group")
                 .agg(pl.col("count").sum(), pl.col("population").sum())
                 .rename({level: "area"}))
        elif level is not None:
            raise SpecError("crime: level= needs hierarchy=")
        return j.select("area", "period", "offence_group", "count", "population")

    def rates(self, *, hierarchy: AreaHierarchy | None = None, level: str | None = None,
              by_group: bool = False, per: float = 1000.0, level_ci: float = 0.95
              ) -> pl.DataFrame:
        """Rate per ``per`` population by area and period (rule R1), at a hierarchy
        level when given; ``by_group`` keeps offence groups apart."""
        return crime_rates(self, hierarchy=hierarchy, level=level, by_group=by_group, per=per,
                           level_ci=level_ci)


def crime_rates(crime: RecordedCrime, *, hierarchy: AreaHierarchy | None = None,
                level: str | None = None, by_group: bool = False, per: float = 1000.0,
                level_ci: float = 0.95) -> pl.DataFrame:
    """Recorded-crime rates with exact Poisson intervals (rule R1).

    Returns ``area``, ``period``, ``offence_group``, ``count``, ``population``, ``rate``,
    ``lower``, ``upper`` (rates per ``per`` population)."""
    if not 0 < level_ci < 1:
        raise SpecError(f"crime_rates: level_ci is a confidence level such as 0.95, got "
                        f"{level_ci!r}")
    j = crime._grouped(hierarchy, level, by_group).sort("area", "period", "offence_group")
    ci = np.array([poisson_interval(int(x), level_ci) for x in j["count"].to_list()],
                  dtype=np.float64).reshape(-1, 2)
    pop = j["population"].to_numpy().astype(np.float64)
    # in numpy: the correctly rounded quotient (polars may divide through a reciprocal)
    return j.with_columns(
        pl.Series("rate", j["count"].to_numpy().astype(np.float64) * per / pop),
        pl.Series("lower", ci[:, 0] * per / pop), pl.Series("upper", ci[:, 1] * per / pop))


@dataclass(frozen=True)
class CrimeChange:
    """Change in recorded crime against a baseline period, per area (rule R2).

    ``frame``: ``area``, ``offence_group``, ``count_baseline``, ``count_current``,
    ``population_baseline``, ``population_current``, ``rate_baseline``,
    ``rate_current`` (per ``per``), ``rate_ratio``, ``lower``, ``upper``, ``p_value``,
    ``change`` (``rate_ratio - 1``) and ``funnel`` (``"above"``, ``"below"`` or
    ``"within"`` the 99.8% funnel limits of the current period, rule R3).
    """

    frame: pl.DataFrame
    baseline: str
    current: str
    level: float
    per: float

    def explain(self, area: str) -> str:
        """The change in one area in words, with the numbers."""
        rows = self.frame.filter(pl.col("area") == area)
        if rows.height == 0:
            raise SpecError(f"crime change: no area {area!r}")
        out = []
        for r in rows.iter_rows(named=True):
            out.append(
                f"{area} ({r['offence_group']}): {r['count_baseline']} crimes in "
                f"{self.baseline} ({r['rate_baseline']:.2f} per {self.per:,.0f}) and "
                f"{r['count_current']} in {self.current} ({r['rate_current']:.2f}); rate "
                f"ratio {r['rate_ratio']:.3f}, {self.level:.0%} interval {r['lower']:.3f} to "
                f"{r['upper']:.3f}, exact conditional test p = {r['p_value']:.4f}; "
                f"{r['funnel']} the funnel limits")
        return "\n".join(out)

    def __str__(self) -> str:
        lines = [f"Recorded crime: {self.current} against {self.baseline} (rates per "
                 f"{self.per:,.0f}, {self.level:.0%} exact intervals)"]
        for r in self.frame.iter_rows(named=True):
            lines.append(f"  {r['area']:<18} {r['offence_group']:<12} {r['rate_baseline']:>8.2f}"
                         f" -> {r['rate_current']:>8.2f}  RR {r['rate_ratio']:.3f} "
                         f"[{r['lower']:.3f}, {r['upper']:.3f}]  p={r['p_value']:.4f}  "
                         f"{r['funnel']}")
        return "\n".join(lines)


def crime_change(crime: RecordedCrime, *, baseline: str, current: str,
                 hierarchy: AreaHierarchy | None = None, level: str | None = None,
                 by_group: bool = False, per: float = 1000.0, level_ci: float = 0.95
                 ) -> CrimeChange:
    """Change in each area's recorded-crime rate from ``baseline`` to ``current``.

    Examples
    --------
    >>> c = RecordedCrime.from_frames(
    ...     {"area": ["a", "a"], "period": ["2019", "2020"], "count": [50, 30]},
    ...     {"area": ["a"], "population": [1000]})
    >>> round(crime_change(c, baseline="2019", current="2020").frame["rate_ratio"][0], 2)
    0.6
    """
    r = crime_rates(crime, hierarchy=hierarchy, level=level, by_group=by_group, per=per,
                    level_ci=level_ci)
    periods = set(r["period"].unique().to_list())
    for name, p in (("baseline", baseline), ("current", current)):
        if p not in periods:
            raise SpecError(f"crime_change: {name} period {p!r} is not in the data; periods: "
                            f"{', '.join(sorted(periods))}")
    keys = ["area", "offence_group"]
    b = r.filter(pl.col("period") == baseline).select(
        *keys, pl.col("count").alias("count_baseline"),
        pl.col("population").alias("population_baseline"),
        pl.col("rate").alias("rate_baseline"))
    c = r.filter(pl.col("period") == current).select(
        *keys, pl.col("count").alias("count_current"),
        pl.col("population").alias("population_current"),
        pl.col("rate").alias("rate_current"))
    j = b.join(c, on=keys, how="full", coalesce=True)
    gone = j.filter(pl.col("count_baseline").is_null() | pl.col("count_current").is_null())
    if gone.height:
        g = gone.row(0, named=True)
        raise SchemaError(f"crime_change: area {g['area']!r} ({g['offence_group']}) has no row "
                          f"for one of the periods; give a row with count 0 where no crime was "
                          "recorded")
    stats = [rate_ratio_interval(int(x1), float(n1), int(x0), float(n0), level_ci)
             for x1, n1, x0, n0 in j.select("count_current", "population_current",
                                           "count_baseline", "population_baseline").rows()]
    lim = funnel_limits(j["count_current"].to_numpy(), j["population_current"].to_numpy(),
                        level=0.998)
    where = np.where(lim["observed"] > lim["upper"], "above",
                     np.where(lim["observed"] < lim["lower"], "below", "within"))
    j = j.with_columns(pl.Series("rate_ratio", [s[0] for s in stats], dtype=pl.Float64),
                       pl.Series("lower", [s[1] for s in stats], dtype=pl.Float64),
                       pl.Series("upper", [s[2] for s in stats], dtype=pl.Float64),
                       pl.Series("p_value", [s[3] for s in stats], dtype=pl.Float64),
                       pl.Series("funnel", where.tolist(), dtype=pl.String))
    j = j.with_columns((pl.col("rate_ratio") - 1).alias("change")).sort(keys)
    return CrimeChange(j, baseline, current, level_ci, per)


def funnel_limits(counts: np.ndarray, population: np.ndarray, *, level: float = 0.998,
                  target: float | None = None) -> dict[str, np.ndarray]:
    """Funnel-plot control limits for rates (rule R3).

    Returns ``observed`` (count / population), ``lower`` and ``upper`` (the ``(1-level)/2``
    and ``(1+level)/2`` quantiles of ``Poisson(target x population) / population``) and
    ``target`` (the overall rate unless given).
    """
    x = np.asarray(counts, dtype=np.float64)
    n = np.asarray(population, dtype=np.float64)
    if x.shape != n.shape or (n <= 0).any():
        raise SpecError("funnel_limits: counts and populations must pair up, populations > 0")
    theta = float(x.sum() / n.sum()) if target is None else float(target)
    a = (1 - level) / 2
    lo = sps.poisson.ppf(a, theta * n) / n
    hi = sps.poisson.ppf(1 - a, theta * n) / n
    return {"observed": x / n, "lower": lo, "upper": hi,
            "target": np.full(x.shape, theta)}
