"""IOM before-and-after: offending, harm and custody before entry against after it.

For each membership spell with entry date ``E`` (docs/methodology/local.md, I4-I7):

* I4 *before*: the measure's rules on the window ``[E - period, E - 1 day]`` (rule W4 of
  the measures), offences proven within the waiting period after it;
* I5 *after*: ``after="window"``: ``(E, E + period]`` (the follow-up window W1);
  ``after="during"``: ``(E, X]`` with ``X`` the exit date (or ``as_of`` for open spells),
  compared per 365 days at risk;
* I6 per person: offences (by the spec's counting unit), any offence, harm (the spec's
  severity weights), serious offences and custody days (with a custody table) in each
  window, and the change after minus before; per scheme: the mean before and after,
  the mean change with a paired t interval, and the ratio of totals;
* I7 with a comparison group (the same measures around pseudo entry dates), the
  difference in differences of the mean changes (Welch interval). Without one the
  before-after change is **not an effect**: people are often selected for IOM after a
  burst of offending, which falls back anyway (regression to the mean,
  [Barnett-RTM-2005]); the result says so.
"""

from __future__ import annotations

import datetime as _dt
import math
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl

from pbr._kernels.reoffending import ST_NOT_MEASURABLE
from pbr._windows import span_arrays
from pbr.data import Custody, Events
from pbr.errors import SpecError
from pbr.iom.membership import Membership
from pbr.period import Period
from pbr.spec import MeasureSpec, parse_date, preset
from pbr.stats.means import diff_means

__all__ = ["NOT_AN_EFFECT", "BeforeAfter", "before_after"]

#: the sentence a before-after result without a comparison group carries
NOT_AN_EFFECT = (
    "No comparison group: the before-after change is not an effect of the scheme. People "
    "are often chosen for IOM after a burst of offending, which tends to fall back anyway "
    "(regression to the mean), and offending falls with age; give comparison= (a "
    "comparison group around pseudo entry dates) to estimate an effect.")

_MEASURES = ("offences", "harm", "custody_days")


@dataclass(frozen=True)
class BeforeAfter:
    """Before-and-after measures of an IOM cohort.

    Attributes
    ----------
    frame
        One row per membership spell: ``offender_id``, ``scheme``, ``entry``, ``exit``,
        ``days_before``, ``days_after``, and for each measure (``offences``, ``any``,
        ``harm`` with severity weights, ``serious`` with serious codes,
        ``custody_days`` with custody) ``<measure>_before``, ``<measure>_after`` and
        ``<measure>_change`` (after minus before; per 365 days in ``"during"`` mode).
    comparison
        The same for the comparison group, or None.
    after, period, spec
        How the windows were set.
    notes
        The not-an-effect sentence without a comparison group, and what was left out.
    """

    frame: pl.DataFrame
    comparison: pl.DataFrame | None
    after: str
    period: Period
    spec: MeasureSpec
    level: float
    notes: tuple[str, ...] = ()

    def measures(self) -> tuple[str, ...]:
        """The measures present (``offences``, then ``harm`` and ``custody_days`` when
        measured)."""
        return tuple(m for m in _MEASURES if f"{m}_change" in self.frame.columns)

    def summary(self, by: str | None = "scheme") -> pl.DataFrame:
        """Per scheme (or overall with ``by=None``) and measure: n, mean before, mean
        after, mean change with its paired t interval and p-value, the ratio of totals
        (after / before), and with a comparison group the difference in differences
        (``did``, ``did_lower``, ``did_upper``, ``did_p``)."""
        keys = [None] if by is None else sorted(self.frame[by].unique().to_list())
        rows: list[dict[str, Any]] = []
        for key in keys:
            part = self.frame if key is None or by is None else self.frame.filter(
                pl.col(by) == key)
            for m in self.measures():
                d = part[f"{m}_change"].to_numpy().astype(np.float64)
                b = part[f"{m}_before"].to_numpy().astype(np.float64)
                a = part[f"{m}_after"].to_numpy().astype(np.float64)
                row: dict[str, Any] = {"group": "all" if key is None else key, "measure": m,
                                       "n": int(d.size),
                                       "mean_before": float(b.mean()) if b.size else math.nan,
                                       "mean_after": float(a.mean()) if a.size else math.nan}
                iv = _paired(d, self.level)
                row.update(change=iv[0], lower=iv[1], upper=iv[2], p_value=iv[3],
                           ratio=float(a.sum() / b.sum()) if b.sum() else math.nan)
                if self.comparison is not None:
                    c = self.comparison
                    if key is not None and by is not None and by in c.columns \
                            and key in c[by].to_list():
                        c = c.filter(pl.col(by) == key)
                    dc = c[f"{m}_change"].to_numpy().astype(np.float64)
                    j = _did(d, dc, self.level)
                    row.update(comparison_n=int(dc.size), comparison_change=j[4],
                               did=j[0], did_lower=j[1], did_upper=j[2], did_p=j[3])
                rows.append(row)
        return pl.DataFrame(rows)

    def __str__(self) -> str:
        unit = "per 365 days at risk" if self.after == "during" else f"in {self.period}"
        head = (f"IOM before and after: {self.frame.height:,} membership spells; "
                f"{self.period} before entry against "
                + ("the time in the scheme" if self.after == "during"
                   else f"{self.period} after") + f" ({unit})")
        lines = [head]
        for r in self.summary().iter_rows(named=True):
            line = (f"  {r['group']:<10} {r['measure']:<13} n={r['n']:<6} before "
                    f"{r['mean_before']:.3f}  after {r['mean_after']:.3f}  change "
                    f"{r['change']:+.3f} [{r['lower']:+.3f}, {r['upper']:+.3f}]")
            if "did" in r:
                line += f"  vs comparison: {r['did']:+.3f} [{r['did_lower']:+.3f}, " \
                        f"{r['did_upper']:+.3f}]"
            lines.append(line)
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)


def _paired(d: np.ndarray, level: float) -> tuple[float, float, float, float]:
    if d.size == 0:
        return math.nan, math.nan, math.nan, math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        iv = diff_means(d, 0.0, level=level)
    return iv.estimate, iv.lower, iv.upper, math.nan if iv.p_value is None else iv.p_value


def _did(d1: np.ndarray, d0: np.ndarray, level: float
         ) -> tuple[float, float, float, float, float]:
    if d1.size == 0 or d0.size == 0:
        return math.nan, math.nan, math.nan, math.nan, math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        iv = diff_means(d1, d0, level=level)
    p = math.nan if iv.p_value is None else iv.p_value
    return iv.estimate, iv.lower, iv.upper, p, float(d0.mean())


def _side(spans: pl.DataFrame, ev: Events, cu: Custody | None, spec: MeasureSpec
          ) -> dict[str, np.ndarray]:
    arrays, _ = span_arrays(spans, ev, cu, spec)
    return arrays


def _measure(m: pl.DataFrame, ev: Events, cu: Custody | None, spec: MeasureSpec,
             period: Period, after: str, as_of: Any) -> pl.DataFrame:
    one = pl.duration(days=1)
    back = pl.col("entry")
    if period.months:
        back = back.dt.offset_by(f"-{period.months}mo")
    if period.days:
        back = back - pl.duration(days=period.days)
    fwd = pl.col("entry")
    if period.months:
        fwd = fwd.dt.offset_by(f"{period.months}mo")
    if period.days:
        fwd = fwd + pl.duration(days=period.days)
    if after == "during":
        end = pl.col("exit").fill_null(pl.lit(as_of, dtype=pl.Date)) if as_of is not None \
            else pl.col("exit")
    else:
        end = fwd
    w = m.with_columns(back.alias("b_lo"), (pl.col("entry") - one).alias("b_hi"),
                       (pl.col("entry") + one).alias("a_lo"), end.alias("a_hi"))
    before = _side(w.select("offender_id", pl.col("b_lo").alias("lo"),
                            pl.col("b_hi").alias("hi")), ev, cu, spec)
    aft = _side(w.select("offender_id", pl.col("a_lo").alias("lo"),
                         pl.col("a_hi").alias("hi")), ev, cu, spec)
    db = ((w["b_hi"] - w["b_lo"]).dt.total_days() + 1).to_numpy()
    da = ((w["a_hi"] - w["a_lo"]).dt.total_days() + 1).to_numpy()
    cols: dict[str, Any] = {"days_before": db, "days_after": da}
    pairs = [("offences", "reoffences")]
    if spec.severity_weights is not None:
        pairs.append(("harm", "severity"))
    if spec.serious_codes:
        pairs.append(("serious", "serious"))
    if cu is not None:
        pairs.append(("custody_days", "custody_days"))
    for name, key in pairs:
        b = before[key].astype(np.float64)
        a = aft[key].astype(np.float64)
        cols[f"{name}_before"] = b
        cols[f"{name}_after"] = a
        if name in _MEASURES:
            if after == "during":
                cols[f"{name}_change"] = a / da * 365.0 - b / db * 365.0
            else:
                cols[f"{name}_change"] = a - b
    cols["any_before"] = before["reoffences"] > 0
    cols["any_after"] = aft["reoffences"] > 0
    # a window (with its waiting period) not closed by the extract's end is not measurable
    cols["measurable"] = (before["status"] != ST_NOT_MEASURABLE) & (
        aft["status"] != ST_NOT_MEASURABLE)
    return w.select("offender_id", "scheme", "entry", "exit").with_columns(
        **{k: pl.Series(k, v) for k, v in cols.items()})


def before_after(membership: Membership | Any, events: Any, *,
                 spec: MeasureSpec | str | None = None, period: str | Period = "12 months",
                 after: Literal["window", "during"] = "window", custody: Any = None,
                 comparison: Membership | Any = None, as_of: Any = None,
                 level: float = 0.95) -> BeforeAfter:
    """Offending, harm and custody in a window before IOM entry against after it.

    Parameters
    ----------
    membership
        A :class:`Membership` (or a frame that validates as one).
    events, custody
        The proven-offence events (and custody spells), as for :func:`pbr.measure`.
    spec
        The measure rules (proof, counting unit, filters, severity weights, waiting
        period); default the MoJ rules (``moj_national_2017``).
    period
        The length of the before window (and of the after window in ``"window"`` mode).
    after
        ``"window"``: the same length after entry; ``"during"``: entry to exit (or
        ``as_of`` for open spells), compared per 365 days.
    comparison
        A comparison group's membership-like table around pseudo entry dates; adds the
        difference in differences.
    as_of
        The extract date: needed for open spells in ``"during"`` mode; a window (or its
        waiting period) that has not closed by then is refused.

    Examples
    --------
    >>> import datetime as dt, pbr
    >>> data = pbr.synth.generate(300, seed=1)
    >>> m = Membership.from_frame(data.cohort.select(
    ...     "offender_id", pl.col("index_date").alias("entry")))
    >>> ba = before_after(m, data.events)
    >>> ba.summary(by=None)["measure"].to_list()
    ['offences']
    """
    if after not in ("window", "during"):
        raise SpecError(f"before_after: after must be 'window' or 'during', got {after!r}")
    period = Period.parse(period)
    if period.n == 0:
        raise SpecError("before_after: period must be longer than zero, e.g. '12 months'")
    spec = preset("moj_national_2017") if spec is None else (
        preset(spec) if isinstance(spec, str) else spec)
    if spec.window != "after" or spec.include_index_day:
        raise SpecError("before_after: give the spec with its default window; the windows "
                        "are set by period= and after=")
    when = None if as_of is None else parse_date(as_of)
    m = membership if isinstance(membership, Membership) else Membership.from_frame(membership)
    ev = events if isinstance(events, Events) else Events.from_frame(events)
    # the extract's end: as_of, or else the last disposal date in the events (as measure
    # takes it, rule A3); a window not closed by then is not measured, never counted as 0
    last = ev.data["disposal_date"].max() if ev.n else None
    end = when if when is not None else (last if isinstance(last, _dt.date) else None)
    if end is not None:
        spec = spec.replace(as_of=end)
    cu = None if custody is None else Custody.from_frame(custody)
    notes: list[str] = []
    if len(m.exclusions):
        notes.append(f"{len(m.exclusions)} membership row(s) left out: "
                     + "; ".join(f"{e.count} {e.rule}" for e in m.exclusions.entries))

    def prepared(mm: Membership, who: str) -> pl.DataFrame:
        f = mm.frame
        if after == "during":
            open_ = f.filter(pl.col("exit").is_null())
            if open_.height and when is None:
                raise SpecError(f"before_after: {open_.height} {who} spell(s) have no exit "
                                "date; give as_of= (the extract date) to measure them to it")
            ends = f["exit"].fill_null(when) if when is not None else f["exit"]
            short = f.filter((ends <= f["entry"]).fill_null(False))
            if short.height:
                notes.append(f"{short.height} {who} spell(s) left out: no day in the scheme "
                             "after entry (exit on the entry date)")
                f = f.filter(~(ends <= f["entry"]).fill_null(False))
        return f

    def measured(mm: Membership, who: str) -> pl.DataFrame:
        f = _measure(prepared(mm, who), ev, cu, spec, period, after, when)
        lost = f.filter(~pl.col("measurable"))
        if lost.height:
            source = "as_of" if when is not None else "the last disposal date in the events"
            notes.append(f"{lost.height} {who} spell(s) left out: a window (with its waiting "
                         f"period) had not closed by the extract's end {end} ({source}); "
                         "give a later extract, or as_of=, to measure them")
        return f.filter(pl.col("measurable")).drop("measurable")

    frame = measured(m, "membership")
    comp = None
    if comparison is not None:
        cm = comparison if isinstance(comparison, Membership) else Membership.from_frame(
            comparison)
        comp = measured(cm, "comparison")
    else:
        notes.insert(0, NOT_AN_EFFECT)
    if when is not None and frame.height:
        unmeasured = frame.filter(pl.col("days_after") < 0)
        if unmeasured.height:  # pragma: no cover - exit before entry is refused earlier
            raise SpecError("before_after: a window ends before it starts")
    return BeforeAfter(frame, comp, after, period, spec, level, tuple(notes))
