"""Covariate balance before and after matching, as MatchIt's ``summary()`` computes it.

Per covariate (categorical covariates one row per level) and for the propensity score
(docs/methodology/matching.md, "Balance"; MatchIt 4.5 ``summary.matchit``):

* means: weighted means of each group (before matching all weights are 1);
* every unit counts, discarded ones too: the table before matching is that of all the
  units given to :func:`pbr.match` (MatchIt's "Summary of Balance for All Data"), and
  after matching discarded units weigh 0 like other unmatched units;
* standardised mean difference (ATT): ``(mean treated - mean control) / SD``, where the
  SD is that of all treated units *before* matching and before any ``discard=``, in both
  tables (MatchIt's ``s.d.denom = "treated"``; Stuart 2010): ``sqrt(p (1 - p))`` for a
  0/1 variable, else the sample SD (n - 1);
* variance ratio (treated / control; weighted reliability variance) for non-binary
  covariates only;
* eCDF mean and max: the mean and the largest absolute difference between the groups'
  weighted empirical CDFs over the distinct values of the covariate among all units
  (for a 0/1 variable both are the absolute difference in proportions);
* after matching, the standardised pair distance: the mean absolute within-pair
  difference divided by the same SD;
* thresholds on |SMD|: below 0.05 "good", up to 0.10 "acceptable", else "poor" (the
  bands Justice Data Lab reports use; docs/sources.md [MoJ-JDL-2013], [R]).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from pbr.errors import SpecError
from pbr.matching.propensity import design_matrix

if TYPE_CHECKING:
    from pbr.matching.result import MatchResult

__all__ = ["ACCEPTABLE", "GOOD", "BalanceResult", "balance"]

GOOD = 0.05
ACCEPTABLE = 0.10
DENOMINATOR = ("SD of the treated group before matching, discarded units included "
               "(MatchIt s.d.denom='treated')")


def _wmean(x: np.ndarray, w: np.ndarray) -> float:
    return float((w * x).sum() / w.sum())


def _wvar(x: np.ndarray, w: np.ndarray, binary: bool) -> float:
    w = w / w.sum()
    m = float((w * x).sum())
    if binary:
        return m * (1.0 - m)
    return float((w * (x - m) ** 2).sum() / (1.0 - (w ** 2).sum()))


def _ecdf(x: np.ndarray, t: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    w = np.where(t, w / w[t].sum(), -w / w[~t].sum())
    o = np.argsort(x, kind="stable")
    xs = x[o]
    diff = np.abs(np.cumsum(w[o]))
    last = np.append(xs[1:] != xs[:-1], True)
    d = diff[last]
    return float(d.mean()), float(d.max())


def _row(x: np.ndarray, t: np.ndarray, w: np.ndarray, binary: bool, sd: float
         ) -> tuple[float, float, float, float | None, float, float]:
    mt, mc = _wmean(x[t], w[t]), _wmean(x[~t], w[~t])
    smd = (mt - mc) / sd if sd > 0 else float("nan")
    if binary:
        return mt, mc, smd, None, abs(mt - mc), abs(mt - mc)
    vr = _wvar(x[t], w[t], False) / _wvar(x[~t], w[~t], False)
    em, ex = _ecdf(x, t, w)
    return mt, mc, smd, vr, em, ex


def _status(smd: float) -> str:
    a = abs(smd)
    return "good" if a < GOOD else "acceptable" if a <= ACCEPTABLE else "poor"


@dataclass(frozen=True)
class BalanceResult:
    """Balance table before and after matching.

    Attributes
    ----------
    frame
        One row per covariate (level): ``covariate``, ``binary``, then ``mean_treated``,
        ``mean_control``, ``smd``, ``var_ratio``, ``ecdf_mean``, ``ecdf_max`` with suffix
        ``_before`` and ``_after``, ``pair_distance`` and ``status`` (threshold band of
        the matched |SMD|).
    denominator
        How the SMD was standardised.

    Examples
    --------
    Two treated units aged 30 and 40 matched on a supplied score to controls aged 31 and
    39 (the controls aged 60 and 20 stay unmatched): the control mean age moves from
    37.5 to 35, and the SMD from (35 - 37.5) / 7.0711 = -0.3536 to 0, where 7.0711 is
    the SD of the treated ages before matching.

    >>> import polars as pl, pbr
    >>> df = pl.DataFrame({"id": [1, 2, 3, 4, 5, 6], "t": [1, 1, 0, 0, 0, 0],
    ...                    "s": [0.8, 0.4, 0.75, 0.45, 0.1, 0.9],
    ...                    "age": [30, 40, 31, 39, 60, 20]})
    >>> b = pbr.match(df, "t", score="s", id="id", order="data").balance(["age"])
    >>> b.frame["covariate"].to_list()
    ['age', 'ps']
    >>> r = b.frame.row(0, named=True)
    >>> r["mean_control_before"], r["mean_control_after"]
    (37.5, 35.0)
    >>> round(r["smd_before"], 4), r["smd_after"], r["status"]
    (-0.3536, 0.0, 'good')
    >>> print(b.explain("age"))  # doctest: +ELLIPSIS
    age: SMD after = (35.0000 - 35.0000) / 7.0711 = 0.0000 (good: ...
    """

    frame: pl.DataFrame
    denominator: str = DENOMINATOR

    def to_frame(self) -> pl.DataFrame:
        """The balance table (polars)."""
        return self.frame

    def to_pandas(self) -> Any:
        """The balance table as a pandas DataFrame."""
        return self.frame.to_pandas()

    def summary(self) -> pl.DataFrame:
        """Covariates per threshold band after matching, and the largest |SMD|."""
        return self.frame.group_by("status").agg(
            pl.len().alias("covariates"), pl.col("smd_after").abs().max().alias("max_abs_smd")
        ).sort("status")

    def explain(self, covariate: str) -> str:
        """How one row was computed."""
        row = self.frame.filter(pl.col("covariate") == covariate)
        if row.height == 0:
            raise SpecError(f"no covariate {covariate!r}; rows: "
                            f"{', '.join(self.frame['covariate'].to_list())}")
        r = row.row(0, named=True)
        sd = (r["mean_treated_before"] - r["mean_control_before"]) / r["smd_before"] \
            if r["smd_before"] else float("nan")
        return (f"{covariate}: SMD after = ({r['mean_treated_after']:.4f} - "
                f"{r['mean_control_after']:.4f}) / {sd:.4f} = {r['smd_after']:.4f} "
                f"({r['status']}: |SMD| < {GOOD} good, <= {ACCEPTABLE} acceptable); "
                f"denominator: {self.denominator}")

    def __str__(self) -> str:
        w = max([10, *(len(c) + 1 for c in self.frame["covariate"].to_list())])
        head = f"{'':<{w}}{'Mean T':>10}{'Mean C':>10}{'SMD':>9}{'VarRatio':>9}" \
               f"{'eCDFmean':>9}{'eCDFmax':>9}"
        out = [f"Balance (SMD denominator: {self.denominator})"]
        for when in ("before", "after"):
            out += ["", f"{when} matching", head]
            for r in self.frame.iter_rows(named=True):
                vr = r[f"var_ratio_{when}"]
                out.append(f"{r['covariate']:<{w}}{r[f'mean_treated_{when}']:>10.4f}"
                           f"{r[f'mean_control_{when}']:>10.4f}{r[f'smd_{when}']:>9.4f}"
                           f"{'.' if vr is None else format(vr, '.4f'):>9}"
                           f"{r[f'ecdf_mean_{when}']:>9.4f}{r[f'ecdf_max_{when}']:>9.4f}"
                           + (f"  {r['status']}" if when == "after" else ""))
        return "\n".join(out)


def balance(result: MatchResult, covariates: list[str] | None = None) -> BalanceResult:
    """The balance table of a :class:`~pbr.matching.result.MatchResult`.

    Examples
    --------
    >>> import pbr
    >>> cohort = pbr.synth.generate(2_000, seed=1).cohort
    >>> m = pbr.match(cohort, "treated", ["age", "prior_sanctions"])
    >>> b = m.balance()
    >>> b.frame["covariate"].to_list()
    ['age', 'prior_sanctions', 'ps']
    """
    spec = result.spec
    cols = tuple(covariates) if covariates is not None else result.balance_columns
    frame = result.frame  # every unit, discarded ones too (MatchIt's summary())
    names, x, binary = design_matrix(frame, cols, all_levels=True)
    if "ps" in frame.columns:
        names, binary = [*names, "ps"], [*binary, False]
        x = np.column_stack([x, frame["ps"].to_numpy()])
    t = frame[spec.treatment].cast(pl.Boolean).to_numpy()
    w_after = frame["weight"].to_numpy()  # 0 for unmatched and discarded units
    w_before = np.ones(frame.height)
    pt, pc = result.pair_rows()
    rows = []
    for j, name in enumerate(names):
        xj = x[:, j]
        sd = float(np.sqrt(_wvar(xj[t], w_before[t], binary[j])))
        before = _row(xj, t, w_before, binary[j], sd)
        with np.errstate(invalid="ignore", divide="ignore"):  # nothing matched: NaN
            after = _row(xj, t, w_after, binary[j], sd)
        pair = float(np.abs(xj[pt] - xj[pc]).mean() / sd) if pt.size and sd > 0 else None
        rows.append((name, binary[j], *before, *after, pair, _status(after[2])))
    stats = ("mean_treated", "mean_control", "smd", "var_ratio", "ecdf_mean", "ecdf_max")
    schema = {"covariate": pl.String, "binary": pl.Boolean}
    schema |= {f"{s}_before": pl.Float64 for s in stats}
    schema |= {f"{s}_after": pl.Float64 for s in stats}
    schema |= {"pair_distance": pl.Float64, "status": pl.String}
    return BalanceResult(pl.DataFrame(rows, schema=schema, orient="row"))
