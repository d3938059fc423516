"""Plots of pbr results (matplotlib, imported lazily: ``pip install "pbr-reoffending[plot]"``)."""

from __future__ import annotations

from typing import Any

from pbr.matching.balance import ACCEPTABLE, GOOD, BalanceResult

__all__ = ["love_plot"]


def love_plot(balance: BalanceResult, *, absolute: bool = True, ax: Any = None,
              title: str | None = None) -> Any:
    """Love plot: each covariate's standardised mean difference before and after matching.

    Dotted lines mark the 0.05 ("good") and 0.10 ("acceptable") thresholds
    (docs/methodology/matching.md, "Balance"); the SMD denominator is stated on the axis.

    Parameters
    ----------
    balance
        A :class:`~pbr.matching.balance.BalanceResult` (``match_result.balance()``).
    absolute
        Plot ``|SMD|`` (default) or the signed SMD.
    ax
        A matplotlib Axes to draw on; a new figure otherwise.
    title
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pbr
    >>> from pbr.report.plots import love_plot
    >>> m = pbr.match(pbr.synth.generate(1_000, seed=1).cohort, "treated", ["age", "sex"])
    >>> fig = love_plot(m.balance())
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['before matching', 'after matching']
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("love_plot needs matplotlib: "
                          "pip install 'pbr-reoffending[plot]'") from exc
    frame = balance.frame
    names = frame["covariate"].to_list()
    before = frame["smd_before"].to_numpy()
    after = frame["smd_after"].to_numpy()
    if absolute:
        before, after = abs(before), abs(after)
    if ax is None:  # a Figure without pyplot: no global state, no display backend
        fig = Figure(figsize=(8.0, 0.3 * len(names) + 1.8))
        ax = fig.subplots()
    else:
        fig = ax.figure
    y = list(range(len(names)))[::-1]
    ax.scatter(before, y, marker="o", facecolors="none", edgecolors="grey",
               label="before matching")
    ax.scatter(after, y, marker="o", color="black", label="after matching")
    for v in (GOOD, ACCEPTABLE):
        for sign in ((1,) if absolute else (1, -1)):
            ax.axvline(sign * v, linestyle=":", color="grey", linewidth=0.8)
    ax.axvline(0.0, color="black", linewidth=0.5)
    ax.set_yticks(y)
    ax.set_yticklabels(names)
    ax.set_xlabel(("absolute " if absolute else "") + "standardised mean difference\n"
                  "denominator: " + balance.denominator.split(" (")[0])
    ax.legend(loc="lower right", frameon=False)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig

