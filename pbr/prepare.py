"""``prepare()``: join events to their offenders once, into reusable :class:`Histories`.

The join of events to each offender's index date is the expensive step of every
measure; ``prepare`` does it once (a radix-partitioned hash join in Numba, see
:mod:`pbr._kernels.grouping`) and keeps only the events that can matter to a measure
with a follow-up and waiting period up to ``horizon``: events of cohort offenders with
an offence on or after the index date and within the horizon.  ``Histories.measure``
then evaluates any spec within that horizon in one pass over the grouped events.

Event accounting (``Histories.event_counts``) reconciles every input row::

    input = invalid + outside_all_windows + not_in_cohort + outside_offender_window + kept
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pbr._engine import grouped
from pbr._engine.layout import Layout
from pbr._engine.tables import resolve_spec
from pbr.measures import MeasureResult, measure_histories
from pbr.spec import MeasureSpec

__all__ = ["Histories", "prepare"]


@dataclass(frozen=True)
class Histories(Layout):
    """Events grouped by offender, ready to measure any spec within the horizon.

    Build with :func:`prepare`.  Offender ``r`` (row ``r`` of ``cohort.frame``) has
    events ``offsets[r]:offsets[r + 1]`` of the event columns, sorted by offence day,
    disposal day, court event and input position.  ``position`` holds each event's
    position in ``events.frame``.

    Examples
    --------
    >>> import pbr
    >>> data = pbr.synth.generate(200, seed=1)
    >>> h = pbr.prepare(data.cohort, data.events)
    >>> r1 = h.measure(pbr.preset("moj_national_2017"))
    >>> r2 = h.measure(pbr.preset("peterborough_sib"))
    >>> r1.summary()["n"][0] == r2.summary()["n"][0] == 200
    True

    Attributes
    ----------
    cohort, events, custody
        The validated tables (``custody`` None without custody spells).
    follow_up, waiting_period
        The horizon: the longest follow-up and waiting period that can be measured.
    index_day, offsets, offence_day, disposal_day, disposal_type, offence_code, \
offence_category, court_event, position
        The grouped layout (day numbers, dictionary codes; ``offence_category`` and
        ``court_event`` empty without their columns).
    dictionaries
        The text of every code, per coded column.
    event_counts
        The accounting of every event row (see the module docstring).
    """

    def measure_arrays(self, spec: MeasureSpec | str | None = None, *,
                       out: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """The kernel's raw per-offender arrays (cohort order), without building a frame.

        The fastest path for repeated evaluation (bootstraps, sensitivity runs):
        ``reoffences``, ``severity``, ``serious``, ``days_to_first`` (-1 if none),
        ``status`` (0 complete, 1 not measurable, 2 interim), ``unmapped`` and
        ``window_end`` (day number of the last disposal day that counts), and
        ``custody_days`` when the histories hold custody spells.

        ``out``: the dict a previous call returned, whose arrays are overwritten and
        returned again (every element is written).  A loop over many specs then touches
        no new memory: memory fresh from the operating system costs more to write than
        the kernel's own work on some machines (docs/performance.md).  Without ``out``
        the arrays are new numpy arrays.

        Examples
        --------
        >>> import pbr
        >>> data = pbr.synth.generate(200, seed=3)
        >>> h = pbr.prepare(data.cohort, data.events, ("24 months", "6 months"))
        >>> a = h.measure_arrays("moj_national_2017")
        >>> b = h.measure_arrays(pbr.preset("moj_national_2017", follow_up="24 months"),
        ...                      out=a)
        >>> b["reoffences"] is a["reoffences"]
        True
        """
        spec = resolve_spec(spec)
        self.check_horizon(spec)
        return grouped.kernel_arrays(self, spec, out)

    def measure(self, spec: MeasureSpec | str | None = None, *, engine: str = "numba"
                ) -> MeasureResult:
        """Measure ``spec`` (a MeasureSpec or a preset name) on these histories.

        ``engine="numba"`` runs the kernel on the grouped layout; ``engine="polars"``
        runs the plain polars reference implementation on the validated tables.
        """
        return measure_histories(self, spec, engine=engine)

    def __repr__(self) -> str:
        return (f"Histories({self.n_offenders:,} offenders, {self.n_events:,} events within "
                f"{self.follow_up} + {self.waiting_period})")


def prepare(cohort: Any, events: Any, horizon: MeasureSpec | tuple[Any, Any] | None = None, *,
            custody: Any = None) -> Histories:
    """Validate the inputs and group each cohort offender's relevant events.

    Parameters
    ----------
    cohort, events
        :class:`~pbr.data.Cohort` / :class:`~pbr.data.Events`, or frames with pbr's
        column names (validated with ``on_invalid="raise"``).
    horizon
        The longest follow-up and waiting period that will be measured: a MeasureSpec or
        a ``(follow_up, waiting_period)`` pair. Default: 12 months + 6 months.
    custody
        Optional custody spells for bed-day outcomes.

    Returns
    -------
    Histories

    Examples
    --------
    >>> import pbr
    >>> data = pbr.synth.generate(100, seed=3)
    >>> pbr.prepare(data.cohort, data.events, ("24 months", "6 months")).n_offenders
    100
    """
    return grouped.group(cohort, events, horizon, custody, Histories)
