"""Plots of a simulation (matplotlib, imported lazily: ``pip install "pbr-reoffending[plot]"``).

Each function returns a :class:`matplotlib.figure.Figure` built without pyplot (no global
state, no display backend); ``pbr simulate`` writes them as PNG or SVG with no date in
the file, so the same inputs give the same bytes (``fig.savefig(path)`` from Python).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from pbr.errors import SpecError
from pbr.simulate.cashflow import CashFlows
from pbr.simulate.marginal import MarginalPayment

if TYPE_CHECKING:
    from pbr.simulate.result import SimulationResult

__all__ = ["cash_flow_curve", "marginal_by_decile", "operating_characteristic_curve",
           "payment_distribution"]


def _figure(width: float = 7.5, height: float = 4.2) -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("pbr.simulate.plots needs matplotlib: "
                          "pip install 'pbr-reoffending[plot]'") from exc
    fig = Figure(figsize=(width, height))
    return fig, fig.subplots()


def _pounds(ax: Any, axis: str = "y") -> None:
    from matplotlib.ticker import FuncFormatter
    fmt = FuncFormatter(lambda v, _: f"-£{-v:,.0f}" if v < 0 else f"£{v:,.0f}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def _area_totals(res: SimulationResult) -> pl.DataFrame:
    return (res.frame.group_by("design", "effect", "behaviour", "replicate", "area",
                               maintain_order=True).agg(pl.col("payment").sum()))


def payment_distribution(res: SimulationResult, *, design: str | None = None,
                         behaviour: str | None = None, bins: int = 40) -> Any:
    """Histogram of an area's total payment per replicate, one series per effect.

    Examples
    --------
    >>> from pbr.contract import Comparator, Component, Contract
    >>> from pbr.simulate import Effect, Population, simulate
    >>> c = Contract("b", comparator=Comparator(values={"binary_rate": 45}),
    ...              components=(Component("b", "linear", measure="binary_rate",
    ...                                    basis="avoided", price=100),))
    >>> res = simulate(c, Population.synthetic(areas=1, cohorts=1, size=300), n_sims=50,
    ...                effect=[Effect.none(), Effect(p=0.1)])
    >>> payment_distribution(res).axes[0].get_xlabel()
    'total payment per area and replicate'
    """
    d = design or next(iter(res.designs))
    b = behaviour or res.behaviours[0].label
    tot = _area_totals(res).filter((pl.col("design") == d) & (pl.col("behaviour") == b))
    if tot.height == 0:
        raise SpecError(f"design {d!r} / behaviour {b!r}: nothing simulated")
    fig, ax = _figure()
    edges = np.histogram_bin_edges(tot["payment"].to_numpy(), bins=bins)
    for e in res.effects:
        x = tot.filter(pl.col("effect") == e.label)["payment"].to_numpy()
        ax.hist(x, bins=edges, alpha=0.55, label=f"effect {e.label}")
    ax.set_xlabel("total payment per area and replicate")
    ax.set_ylabel("replicates")
    _pounds(ax, "x")
    ax.set_title(f"{d}: payment distribution ({b}, {res.n_sims:,} replicates)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def operating_characteristic_curve(res: SimulationResult, *, behaviour: str | None = None
                                   ) -> Any:
    """Probability of any outcome payment against the true effect, one line per design
    (with 95% Monte Carlo error bars).

    The x axis is the effect's relative reduction in the probability of reoffending
    (``Effect.p``), or its reduction in frequency where every effect leaves ``p`` at 0.
    """
    oc = res.operating_characteristic(behaviour)
    on_p = bool((oc["effect_p"] != 0).any())
    x_col = "effect_p" if on_p else "effect_frequency"
    fig, ax = _figure()
    for d in oc["design"].unique(maintain_order=True).to_list():
        part = oc.filter(pl.col("design") == d).sort(x_col)
        x = part[x_col].to_numpy() * 100
        y = part["p_any_payment"].to_numpy()
        se = part["mc_se"].to_numpy()
        ax.errorbar(x, y, yerr=1.96 * se, marker="o", capsize=3, label=d)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("true relative reduction in "
                  + ("the probability of reoffending (%)" if on_p else "frequency (%)"))
    ax.set_ylabel("probability of any outcome payment")
    ax.axhline(0.05, color="grey", lw=0.7, ls=":")
    ax.axhline(0.8, color="grey", lw=0.7, ls=":")
    ax.set_title("Operating characteristic (per area)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def marginal_by_decile(mp: MarginalPayment, *, design: str | None = None,
                       effect: str | None = None, behaviour: str | None = None) -> Any:
    """Marginal payment for a first and a later reoffence prevented, by risk decile, and
    the payment for helping an average offender of the decile (right axis)."""
    d = mp.deciles
    for col, want in (("design", design), ("effect", effect), ("behaviour", behaviour)):
        if d.height == 0:
            break
        pick = want or d[col][-1 if col == "effect" else 0]
        d = d.filter(pl.col(col) == pick)
    if d.height == 0:
        raise SpecError(f"marginal_by_decile: no rows for design {design!r}, effect "
                        f"{effect!r}, behaviour {behaviour!r}; see mp.deciles for those "
                        "computed")
    fig, ax = _figure()
    x = d["risk_decile"].to_numpy()
    ax.bar(x - 0.2, d["marginal_first"].fill_null(0).to_numpy(), width=0.4,
           label="first reoffence prevented")
    ax.bar(x + 0.2, d["marginal_later"].fill_null(0).to_numpy(), width=0.4,
           label="later reoffence prevented")
    ax.axhline(0, color="black", lw=0.7)
    ax.set_xticks(range(1, 11))
    ax.set_xlabel("risk decile (1 lowest)")
    ax.set_ylabel("marginal payment")
    _pounds(ax)
    right = ax.twinx()
    right.plot(x, d["per_offender_helped"].to_numpy(), color="black", marker=".",
               label="per offender helped (right)")
    _pounds(right)
    lines = ax.get_legend_handles_labels()
    more = right.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8, loc="upper left")
    ax.set_title(f"{d['design'][0]}: marginal payment ({d['effect'][0]}, "
                 f"{d['behaviour'][0]})", fontsize=10)
    fig.tight_layout()
    return fig


def cash_flow_curve(cf: CashFlows, *, select: dict[str, Any] | None = None) -> Any:
    """The provider's running balance by month: the median and 5th-95th percentile band
    across replicates (or the one run), for the runs matching ``select`` (default: the
    first design, effect, behaviour and area)."""
    fixed = [k for k in cf.keys if k != "replicate"]
    chosen = dict(select or {})
    for k in fixed:
        if k not in chosen:
            chosen[k] = cf.peaks[k][0]
    m = cf.monthly_for(chosen)
    if m.height == 0:
        raise SpecError(f"cash_flow_curve: no runs match {chosen}")
    m = m.with_columns(pl.col("balance").cast(pl.Float64))
    band = m.group_by("month", maintain_order=True).agg(
        pl.col("balance").quantile(0.05, "nearest").alias("lo"),
        pl.col("balance").median().alias("mid"),
        pl.col("balance").quantile(0.95, "nearest").alias("hi")).sort("month")
    fig, ax = _figure()
    months = band["month"].to_list()
    ax.fill_between(months, band["lo"].to_numpy(), band["hi"].to_numpy(), alpha=0.3,
                    step="post", label="5th-95th percentile" if "replicate" in cf.keys
                    else None)
    ax.step(months, band["mid"].to_numpy(), where="post", label="median balance"
            if "replicate" in cf.keys else "balance")
    ax.axhline(0, color="black", lw=0.7)
    ax.set_ylabel("cumulative cash (payments - costs)")
    _pounds(ax)
    ax.set_title("Provider cash flow: " + ", ".join(f"{k} {v}" for k, v in chosen.items()),
                 fontsize=9)
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig
