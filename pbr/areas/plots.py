"""The funnel plot of areas (matplotlib, imported lazily: ``pip install
"pbr-reoffending[plot]"``), rule R3 of docs/methodology/local.md ([Spiegelhalter-2005]).

Returns a :class:`matplotlib.figure.Figure` built without pyplot (no global state);
``fig.savefig(path, metadata=...)`` writes it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pbr.areas.crime import CrimeChange, funnel_limits

__all__ = ["funnel_plot"]


def funnel_plot(change: CrimeChange, *, levels: tuple[float, ...] = (0.95, 0.998)) -> Any:
    """Each area's current recorded-crime rate against its population, with the funnel
    limits around the overall rate at each level; areas outside the widest limits are
    labelled.

    Examples
    --------
    >>> from pbr.areas import RecordedCrime, crime_change
    >>> c = RecordedCrime.from_frames(
    ...     {"area": ["a", "a", "b", "b"], "period": ["1", "2"] * 2,
    ...      "count": [100, 300, 100, 100]}, {"area": ["a", "b"], "population": [1000, 2000]})
    >>> fig = funnel_plot(crime_change(c, baseline="1", current="2"))
    >>> [t.get_text() for t in fig.axes[0].texts]
    ['a', 'b']
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("funnel_plot needs matplotlib: pip install "
                          "'pbr-reoffending[plot]'") from exc
    f = change.frame
    x = f["count_current"].to_numpy().astype(np.float64)
    n = f["population_current"].to_numpy().astype(np.float64)
    per = change.per
    fig = Figure(figsize=(7.0, 4.5))
    ax = fig.subplots()
    grid = np.linspace(max(n.min() * 0.5, 1.0), n.max() * 1.2, 200)
    theta = float(x.sum() / n.sum())
    for level, style in zip(levels, ("--", ":", "-."), strict=False):
        lim = funnel_limits(np.full(grid.size, theta) * grid, grid, level=level, target=theta)
        ax.plot(grid, lim["lower"] * per, style, color="grey", lw=1,
                label=f"{level:.1%} limits")
        ax.plot(grid, lim["upper"] * per, style, color="grey", lw=1)
    ax.axhline(theta * per, color="black", lw=1, label=f"overall {theta * per:.2f}")
    ax.scatter(n, x / n * per, s=18, color="#1f4e79", zorder=3)
    widest = funnel_limits(x, n, level=max(levels), target=theta)
    for area, xi, ni, lo, hi in zip(f["area"].to_list(), x, n, widest["lower"],
                                    widest["upper"], strict=True):
        if xi / ni > hi or xi / ni < lo:
            ax.annotate(str(area), (ni, xi / ni * per), textcoords="offset points",
                        xytext=(4, 4), fontsize=8)
    ax.set_xlabel("population")
    ax.set_ylabel(f"recorded crime per {per:,.0f} ({change.current})")
    ax.set_title(f"Recorded crime by area, {change.current}: funnel plot")
    ax.legend(fontsize=8, frameon=False)
    return fig
