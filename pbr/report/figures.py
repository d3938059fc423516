"""The HTML report's figures as deterministic SVG (matplotlib, imported lazily).

Every figure is drawn on a :class:`matplotlib.figure.Figure` (no pyplot, no global
state, no display) and written as SVG with a fixed hash salt, no date and no creator in
its metadata and the text kept as text (``svg.fonttype = "none"``), so that the same
inputs give byte-identical SVG.  Each function returns a :class:`Chart`: the SVG text,
a short ``alt`` text and a ``caption`` that states the figure's numbers in words (the
text alternative a screen reader reads, and what a printed report keeps).

The funnel plot's limits for proportions are exact binomial quantiles around the
overall rate ([Spiegelhalter-2005], 95% and 99.8% limits; without the paper's
interpolation between the quantiles, so slightly conservative).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from scipy import stats as _st

__all__ = ["Chart", "binomial_funnel", "forest_chart", "funnel_chart", "km_chart",
           "love_chart", "mcf_chart", "svg_text", "waterfall_chart"]

#: fixed salt for the ids matplotlib writes into SVG: same figure, same bytes
HASH_SALT = "pbr-report"
_GREYS = ("#1b4f72", "#b9770e", "#196f3d", "#7b241c", "#5b2c6f", "#424949")


@dataclass(frozen=True)
class Chart:
    """One figure of the report: SVG text, its alternative text and its caption."""

    name: str
    svg: str
    alt: str
    caption: str


def _figure(width: float, height: float) -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("the HTML report's figures need matplotlib: "
                          "pip install 'pbr-reoffending[plot]'") from exc
    return Figure(figsize=(width, height))


def svg_text(fig: Any) -> str:
    """``fig`` as SVG text, byte-identical for the same figure (fixed salt, no date)."""
    from matplotlib import rc_context

    buf = io.StringIO()
    with rc_context({"svg.hashsalt": HASH_SALT, "svg.fonttype": "none",
                     "font.family": "DejaVu Sans"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    return text[text.index("<svg"):]  # the element only: no XML prolog or DOCTYPE


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


# --------------------------------------------------------------------------- survival
def km_chart(frame: Any, *, level: float, horizon: float) -> Chart:
    """Kaplan-Meier curves: proportion reoffended (1 - survival) over days from the
    index date, per group, with pointwise limits.

    ``frame``: :attr:`pbr.stats.SurvivalCurves.frame` (``group``, ``time``, ``surv``,
    ``lower``, ``upper``)."""
    fig = _figure(7.0, 3.6)
    ax = fig.subplots()
    words = []
    for i, g in enumerate(frame["group"].unique(maintain_order=True).to_list()):
        c = frame.filter(frame["group"] == g)
        t = np.r_[0.0, c["time"].to_numpy()]
        s = 1.0 - np.r_[1.0, c["surv"].to_numpy()]
        lo = 1.0 - np.r_[1.0, c["upper"].to_numpy()]
        hi = 1.0 - np.r_[1.0, c["lower"].to_numpy()]
        colour = _GREYS[i % len(_GREYS)]
        ax.step(t, s, where="post", color=colour, label=str(g), linewidth=1.4,
                linestyle=("-", "--", ":", "-.")[i % 4])
        ax.fill_between(t, np.nan_to_num(lo), np.nan_to_num(hi), step="post",
                        color=colour, alpha=0.15, linewidth=0)
        words.append(f"{g}: {_pct(float(s[-1]))} by day {t[-1]:.0f} "
                     f"({level:.0%} limits {_pct(float(np.nan_to_num(lo[-1])))} to "
                     f"{_pct(float(np.nan_to_num(hi[-1])))})")
    ax.set_xlim(0, horizon)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("days from the index date")
    ax.set_ylabel("proportion reoffended")
    ax.legend(loc="lower right", frameon=False, title="group")
    fig.tight_layout()
    return Chart("km", svg_text(fig), "Kaplan-Meier curves of time to first proven "
                 "reoffence, one line per group",
                 "Proportion with a proven reoffence (1 minus the Kaplan-Meier survival), "
                 f"with {level:.0%} pointwise limits. " + "; ".join(words) + ".")


def mcf_chart(frame: Any, *, level: float, horizon: float) -> Chart:
    """Mean cumulative number of reoffences per offender over days from the index date
    (:class:`pbr.stats.mcf.MeanCumulativeFunction`), per group, with limits."""
    fig = _figure(7.0, 3.6)
    ax = fig.subplots()
    words = []
    for i, g in enumerate(frame["group"].unique(maintain_order=True).to_list()):
        c = frame.filter(frame["group"] == g)
        t = np.r_[0.0, c["time"].to_numpy()]
        m = np.r_[0.0, c["mcf"].to_numpy()]
        lo = np.nan_to_num(np.r_[0.0, c["lower"].to_numpy()])
        hi = np.nan_to_num(np.r_[0.0, c["upper"].to_numpy()])
        colour = _GREYS[i % len(_GREYS)]
        ax.step(t, m, where="post", color=colour, label=str(g), linewidth=1.4,
                linestyle=("-", "--", ":", "-.")[i % 4])
        ax.fill_between(t, lo, hi, step="post", color=colour, alpha=0.15, linewidth=0)
        words.append(f"{g}: {m[-1]:.3f} reoffences per offender by day {t[-1]:.0f} "
                     f"({level:.0%} limits {lo[-1]:.3f} to {hi[-1]:.3f})")
    ax.set_xlim(0, horizon)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("days from the index date")
    ax.set_ylabel("reoffences per offender")
    ax.legend(loc="lower right", frameon=False, title="group")
    fig.tight_layout()
    return Chart("mcf", svg_text(fig), "Mean cumulative reoffences per offender over "
                 "time, one line per group",
                 "Mean cumulative number of proven reoffences per offender (Nelson-Aalen), "
                 f"with robust {level:.0%} limits. " + "; ".join(words) + ".")


# --------------------------------------------------------------------------- funnel
def binomial_funnel(n: np.ndarray, target: float, level: float) -> tuple[np.ndarray,
                                                                          np.ndarray]:
    """Exact binomial funnel limits for a proportion: the ``(1 - level) / 2`` and
    ``(1 + level) / 2`` quantiles of ``Binomial(n, target) / n`` (Spiegelhalter 2005).

    Examples
    --------
    >>> lo, hi = binomial_funnel(np.array([100.0]), 0.3, 0.95)
    >>> float(lo[0]), float(hi[0])
    (0.21, 0.39)
    """
    a = (1.0 - level) / 2.0
    n = np.asarray(n, np.float64)
    return _st.binom.ppf(a, n, target) / n, _st.binom.ppf(1.0 - a, n, target) / n


def funnel_chart(units: Sequence[str], n: np.ndarray, events: np.ndarray, *, by: str,
                 noun: str = "proportion reoffended") -> Chart:
    """Funnel plot of a proportion per unit (area or provider) against its size, with
    95% and 99.8% exact binomial limits around the overall proportion."""
    n = np.asarray(n, np.float64)
    x = np.asarray(events, np.float64)
    target = float(x.sum() / n.sum())
    grid = np.unique(np.linspace(max(1.0, float(n.min()) * 0.8), float(n.max()) * 1.1,
                                 200).round())
    fig = _figure(7.0, 3.8)
    ax = fig.subplots()
    ax.axhline(target, color="black", linewidth=0.8)
    outside = []
    for level, style in ((0.95, "--"), (0.998, ":")):
        lo, hi = binomial_funnel(grid, target, level)
        ax.plot(grid, lo, color="grey", linestyle=style, linewidth=0.9,
                label=f"{level:.1%} limits".replace(".0%", "%"))
        ax.plot(grid, hi, color="grey", linestyle=style, linewidth=0.9)
    p = x / n
    lo95, hi95 = binomial_funnel(n, target, 0.95)
    lo998, hi998 = binomial_funnel(n, target, 0.998)
    ax.scatter(n, p, color="#1b4f72", zorder=3, s=18)
    for u, ni, pi, a, b, c, d in zip(units, n, p, lo95, hi95, lo998, hi998, strict=True):
        ax.annotate(str(u), (ni, pi), textcoords="offset points", xytext=(4, 3),
                    fontsize=7)
        if not c <= pi <= d:
            outside.append(f"{u} outside the 99.8% limits")
        elif not a <= pi <= b:
            outside.append(f"{u} outside the 95% limits")
    ax.set_xlabel(f"offenders in the {by}")
    ax.set_ylabel(noun)
    ax.legend(loc="upper right", frameon=False)
    fig.tight_layout()
    each = "; ".join(f"{u}: {_pct(float(pi))} of {ni:,.0f}"
                     for u, ni, pi in zip(units, n, p, strict=True))
    verdict = ("; ".join(outside) if outside else
               f"every {by} lies within the 95% limits")
    return Chart("funnel", svg_text(fig), f"Funnel plot of the {noun} per {by} against "
                 "its number of offenders",
                 f"Funnel plot per {by}: the overall {noun} is {_pct(target)} (solid line), "
                 "with exact binomial 95% and 99.8% limits. " + each + f". {verdict}.")


# --------------------------------------------------------------------------- effects
def forest_chart(labels: Sequence[str], estimate: np.ndarray, lower: np.ndarray,
                 upper: np.ndarray, *, null: float, xlabel: str, level: float) -> Chart:
    """Each group's effect with its interval, and the line of no effect."""
    k = len(labels)
    fig = _figure(7.0, 0.42 * k + 1.5)
    ax = fig.subplots()
    y = np.arange(k)[::-1]
    est = np.asarray(estimate, np.float64)
    lo = np.asarray(lower, np.float64)
    hi = np.asarray(upper, np.float64)
    ax.hlines(y, lo, hi, color="#1b4f72", linewidth=1.6)
    ax.plot(est, y, "o", color="#1b4f72")
    ax.axvline(null, color="black", linewidth=0.8, linestyle="--")
    ax.set_yticks(y)
    ax.set_yticklabels([str(s) for s in labels])
    ax.set_xlabel(xlabel)
    fig.tight_layout()
    words = "; ".join(f"{g}: {e:.4g} ({level:.0%} interval {a:.4g} to {b:.4g})"
                      for g, e, a, b in zip(labels, est, lo, hi, strict=True))
    return Chart("forest", svg_text(fig), "Effect estimates with their intervals, one "
                 "row per group", f"Estimates with {level:.0%} intervals ({xlabel}); the "
                 f"dashed line is no effect ({null:g}). {words}.")


def love_chart(balance: Any) -> Chart:
    """The Love plot of a matching balance table (:func:`pbr.report.plots.love_plot`)."""
    from pbr.report.plots import love_plot

    fig = love_plot(balance)
    f = balance.frame
    worst_b = float(np.nanmax(np.abs(f["smd_before"].to_numpy())))
    worst_a = float(np.nanmax(np.abs(f["smd_after"].to_numpy())))
    return Chart("love", svg_text(fig), "Love plot: standardised mean differences of "
                 "each covariate before and after matching",
                 f"Absolute standardised mean differences of {f.height} covariates before "
                 f"(open circles) and after (filled) matching; largest {worst_b:.3f} before "
                 f"and {worst_a:.3f} after; dotted lines at 0.05 and 0.10.")


# --------------------------------------------------------------------------- money
def waterfall_chart(steps: Sequence[tuple[str, Decimal]], *, currency: str) -> Chart:
    """Payment waterfall: each step's amount as a floating bar, then the total due."""
    labels = [s for s, _ in steps]
    amounts = [v for _, v in steps]
    total = sum(amounts, Decimal(0))
    fig = _figure(7.0, 3.6)
    ax = fig.subplots()
    run = Decimal(0)
    for i, v in enumerate(amounts):
        bottom = run if v >= 0 else run + v
        ax.bar(i, float(abs(v)), bottom=float(bottom),
               color="#196f3d" if v >= 0 else "#7b241c", width=0.6)
        run += v
    ax.bar(len(amounts), float(total), color="#1b4f72", width=0.6)
    ax.set_xticks(range(len(amounts) + 1))
    ax.set_xticklabels([*labels, "total due"], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(currency)
    ax.axhline(0, color="black", linewidth=0.6)
    fig.tight_layout()
    words = "; ".join(f"{s} {v:,}" for s, v in steps)
    return Chart("waterfall", svg_text(fig), "Payment waterfall: the amount of each "
                 "cohort and adjustment, building up to the total due",
                 f"Payment waterfall ({currency}): {words}; total due {total:,}.")
