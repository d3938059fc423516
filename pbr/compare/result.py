"""The result of :func:`pbr.compare`: :class:`ComparisonResult`, with JDL-style text.

The Justice Data Lab writes its findings "for every 100 typical people": how many of 100
people like the cohort reoffended, how many of 100 like the comparison group, and the
interval for the difference in percentage points ("a reduction of between 1 and 23
percentage points"; [JDL-Reports]).  :meth:`ComparisonResult.jdl_text` writes
that sentence for any comparison; rates are stored as proportions in :attr:`frame` and
shown per 100 in text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from pbr.compare.registry import MEASURES
from pbr.errors import SpecError

__all__ = ["ComparisonResult"]


def _per100(x: float) -> str:
    return f"{100 * x:.0f}" if math.isfinite(x) else "-"


def _num(x: Any, spec: str = ".4f") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "inf" if isinstance(x, float) and x == math.inf else \
            "-inf" if isinstance(x, float) and x == -math.inf else "-"
    return format(x, spec)


@dataclass(frozen=True)
class ComparisonResult:
    """A cohort's measure against its comparator, overall or per group.

    Attributes
    ----------
    frame
        One row per group: the group keys, ``n`` (cohort offenders), ``cohort_value``
        and ``comparator_value`` (rates as proportions, or means per offender),
        ``comparator_n`` (rows of a comparison group, or a baseline's n), ``estimate``
        (cohort minus comparator, or their ratio), ``lower``, ``upper``, ``se``,
        ``statistic``, ``p_value`` (and ``p_adjusted`` with a correction), ``null``,
        ``method`` (the method used for that group: an exact or score method where the
        normal approximation was not valid), ``note`` (why the method was switched, or
        null), ``significant`` (interval excludes the null; with a correction, the
        adjusted p-value <= 1 - level; null for a group not assessed), ``conclusion``
        (``"significant"``, ``"not significant"`` or ``"not assessed: <reason>"``, e.g.
        below the scheme's minimum size or no interval), ``measure``, ``comparator``,
        ``level``, ``alternative``.
    by
        The grouping columns.
    measure, method, comparator, level, alternative, correction
        The options used.
    provenance
        Version, options, input fingerprints (SHA-256) and seed.
    notes
        What the reader should know (unadjusted intervals, a baseline treated as known).

    Examples
    --------
    >>> import polars as pl, pbr
    >>> cohort = pl.DataFrame({"offender_id": range(72),
    ...                        "reoffended": [True] * 22 + [False] * 50})
    >>> res = pbr.compare(cohort, 0.43, variance="cohort")
    >>> print(res.jdl_text().split(": ")[1])
    a reduction of between 2 and 23 percentage points.
    """

    frame: pl.DataFrame
    by: tuple[str, ...]
    measure: str
    method: str
    comparator: str
    level: float
    alternative: str
    correction: str | None = None
    provenance: dict[str, Any] = field(default_factory=dict, compare=False)
    notes: tuple[str, ...] = ()
    form: str = "additive"

    # ------------------------------------------------------------------ conversions
    def to_frame(self) -> pl.DataFrame:
        """The comparison table (polars)."""
        return self.frame

    def to_html(self, path: Any = None, **options: Any) -> Any:
        """The self-contained HTML report of this comparison (:func:`pbr.report.html_report`,
        whose ``options`` it takes), written to ``path`` when given; returns the
        :class:`~pbr.report.HtmlReport`."""
        from pbr import _render  # the report layer lends its renderer (layer 0 registry)

        return _render.render("html", self, path=path, **options)

    def to_pandas(self) -> Any:
        """The comparison table as a pandas DataFrame."""
        return self.frame.to_pandas()

    def summary(self, *, publication: bool = False, disclosure: Any = None) -> pl.DataFrame:
        """The main columns: keys, n, values, estimate, interval, p-value(s), significant.

        With ``publication=True`` (the default rules) or ``disclosure=`` (a
        :class:`~pbr.suppress.DisclosureRules` or a preset name), groups are made safe to
        publish by :func:`pbr.suppress`: a small group (or one that would give a small
        group away from the total) has all its figures withheld (null), and a rate whose
        count of reoffenders (``cohort_value x n``) is small is withheld too.
        """
        cols = [*self.by, "n", "cohort_value", "comparator_value", "estimate", "lower",
                "upper", "p_value", *(["p_adjusted"] if self.correction else []),
                "significant", "conclusion"]
        out = self.frame.select([c for c in cols if c in self.frame.columns])
        if not (publication or disclosure is not None):
            return out
        from pbr.suppress import suppress

        info = MEASURES[self.measure]
        rates = bases = None
        if info.is_rate or info.counts:   # the count behind the value is published with n
            out = out.with_columns((pl.col("cohort_value") * pl.col("n")).round(0)
                                   .fill_null(0).cast(pl.Int64).alias("_numerator"))
            rates = {"cohort_value": ("_numerator", "n")}
            # the effect and its test give the cohort's value back from the comparator's
            bases = {c: ("n", "_numerator") for c in out.columns
                     if c not in (*self.by, "n", "_numerator", "cohort_value",
                                  "comparator_value")}
        table = suppress(out.with_columns(pl.col("n").cast(pl.Int64)), disclosure,
                         by=list(self.by), counts=["n", *(["_numerator"] if rates else [])],
                         rates=rates, bases=bases)
        return table.frame.drop("_numerator", strict=False)

    # ------------------------------------------------------------------ to payment
    def outcomes(self, *, cohort: str | None = None, unit: str | None = None,
                 contract: Any = None) -> tuple[Any, ...]:
        """The comparison as contract outcomes, for :func:`pbr.pay`.

        One :class:`~pbr.contract.outcome.Outcome` per group: the cohort label is the
        group's value of the one ``by`` column (or ``cohort=`` when not grouped), ``actual``
        the cohort's value, ``comparator`` the comparator's (the adjusted baseline; for a
        difference in differences the counterfactual ``before + the comparison group's
        change``), exact decimals rounded half-even to 6 places.  Significance
        thresholds come from the interval of the difference ``[lo, hi]``: ``lower =
        actual - hi`` and ``upper = actual - lo`` (for a ratio, ``actual / hi`` and
        ``actual / lo``), so the cohort is a significant reduction exactly when ``actual <
        lower``; a group not assessed or not tested gets none.

        Parameters
        ----------
        cohort
            The cohort label of an ungrouped comparison.
        unit
            ``"percent"`` (rates x 100, the contract TOML's default unit) or
            ``"proportion"``; default the contract's ``rate_unit``, else ``"percent"``.
        contract
            A :class:`~pbr.contract.Contract`: each cohort's period start and contract
            year are taken from it, and its rate unit.

        Examples
        --------
        >>> import polars as pl, pbr
        >>> cohort = pl.DataFrame({"offender_id": range(1000),
        ...                        "reoffended": [True] * 400 + [False] * 600})
        >>> res = pbr.compare(cohort, 0.45, variance="null")
        >>> (o,) = res.outcomes(cohort="2015Q1")
        >>> o.actual, o.comparator, o.lower, o.upper
        (Decimal('40.000000'), Decimal('45.000000'), Decimal('41.916559'), Decimal('48.083441'))
        """
        from decimal import ROUND_HALF_EVEN, Decimal

        from pbr.compare.thresholds import interval_thresholds
        from pbr.contract.outcome import Outcome, as_decimal

        if len(self.by) > 1:
            raise SpecError(f"outcomes: a contract cohort is one label; this comparison is "
                            f"grouped by {', '.join(self.by)}; compare by one column")
        if not self.by and not cohort:
            raise SpecError("cohort: name the cohort of an ungrouped comparison, e.g. "
                            "outcomes(cohort='2015Q1')")
        unit = unit or getattr(contract, "rate_unit", None) or "percent"
        if unit not in ("percent", "proportion"):
            raise SpecError(f"unit: 'percent' or 'proportion', got {unit!r}")
        info = MEASURES[self.measure]
        scale = Decimal(100) if info.is_rate and unit == "percent" else Decimal(1)
        q = Decimal(1).scaleb(-6)

        def dec(name: str, x: float) -> Decimal:
            return (as_decimal(name, x) * scale).quantize(q, ROUND_HALF_EVEN)

        out = []
        for r in self.frame.iter_rows(named=True):
            label = str(r[self.by[0]]) if self.by else str(cohort)
            actual = dec("cohort_value", r["cohort_value"])
            comparator = dec("comparator_value", r["comparator_value"])
            lower = upper = None
            lo, hi = r["lower"], r["upper"]
            how = f"{r['method']} interval at level {self.level:g}"
            if r["significant"] is not None and lo is not None and hi is not None and \
                    math.isfinite(lo) and math.isfinite(hi):
                if not self._ratio:
                    lower, upper = interval_thresholds(actual, dec("lower", lo),
                                                       dec("upper", hi))
                elif lo > 0 and actual > 0:
                    lower, upper = (x.quantize(q, ROUND_HALF_EVEN) for x in interval_thresholds(
                        actual, as_decimal("lower", lo), as_decimal("upper", hi), "ratio"))
            period = contract.period(label) if contract is not None else None
            reo = r["n"] if info.aggregation == "mean over reoffenders" else None
            n = int(r.get("offenders") or r["n"])
            counts = [("offenders", f"{n:,}")]
            if reo is not None:
                counts.append(("reoffenders", f"{int(reo):,}"))
            source = (f"{self.comparator} ({self.method}); "
                      + (f"thresholds from the {how}" if lower is not None else
                         f"no thresholds: {r['conclusion']}"))
            out.append(Outcome(label, self.measure, actual, comparator, n,
                               base_n=int(reo) if reo is not None else n,
                               lower=lower, upper=upper,
                               start=getattr(period, "start", None),
                               year=getattr(period, "year", None), counts=tuple(counts),
                               source=source))
        return tuple(out)

    # ------------------------------------------------------------------ lookup
    def _row(self, group: Any = None) -> dict[str, Any]:
        if not self.by:
            return self.frame.row(0, named=True)
        key = group if isinstance(group, tuple) else (group,)
        if len(key) != len(self.by):
            raise KeyError(f"give a value for each of {', '.join(self.by)}")
        hit = self.frame.filter(pl.all_horizontal(
            [pl.col(k) == v for k, v in zip(self.by, key, strict=True)]))
        if hit.height == 0:
            raise KeyError(f"no group {group!r}; groups: "
                           f"{self.frame.select(self.by).rows()}")
        return hit.row(0, named=True)

    @property
    def _ratio(self) -> bool:
        return self.method in ("poisson", "negbin") or (
            self.method == "difference in differences" and self.form == "ratio")

    @property
    def _rate(self) -> bool:
        return MEASURES[self.measure].is_rate

    # ------------------------------------------------------------------ text
    def jdl_text(self, group: Any = None) -> str:
        """The Justice Data Lab sentence for one group (or the only row).

        Rates and means are given per 100 typical people, the interval in percentage
        points (rates), per 100 people (means) or per cent (rate ratios).  A group not
        assessed (below the scheme's minimum size, or no valid interval) gets its rates
        and the reason no conclusion is drawn, never an effect.
        """
        r = self._row(group)
        rate = self._rate
        info = MEASURES[self.measure]
        noun = info.noun
        who = "reoffenders" if info.aggregation == "mean over reoffenders" else "people"
        # the text's scale: per 100 people, except measures already per 100 or in days
        per = 1.0 if info.unit in ("per 100 offenders", "days") else 100.0
        unit = ("percentage points" if rate else "days" if info.unit == "days"
                else f"{noun} per 100 people")
        if rate:
            first = (f"For every 100 typical {who} in the cohort, "
                     f"{_per100(r['cohort_value'])} {noun}, compared with "
                     f"{_per100(r['comparator_value'])} for every 100 typical {who} in the "
                     f"{self.comparator}.")
        elif info.unit == "days":
            first = (f"The {who} in the cohort averaged {r['cohort_value']:.0f} {noun}, "
                     f"compared with {r['comparator_value']:.0f} in the {self.comparator}.")
        else:
            first = (f"For every 100 typical {who} in the cohort, there were "
                     f"{per * r['cohort_value']:.0f} {noun}, compared with "
                     f"{per * r['comparator_value']:.0f} for every 100 typical {who} in the "
                     f"{self.comparator}.")
        conf = f"{self.level:.0%} confidence"
        if r.get("significant", False) is None:
            reason = str(r.get("conclusion") or "not assessed")
            reason = reason.removeprefix("not assessed: ")
            return first + (f" No conclusion is drawn about the effect: {reason}; the "
                            "difference is not evidence either way.")
        lo, hi = r["lower"], r["upper"]
        if self._ratio:
            a, b = 100 * (1 - hi), 100 * (1 - lo)     # per cent fewer
            unit = "per cent"
        else:
            f = 100.0 if rate else per
            a, b = -f * hi, -f * lo                   # fewer, per 100 (or days)
        desc = _describe(a, b, unit)
        excludes = not (r["lower"] <= r["null"] <= r["upper"])
        if r["significant"]:
            tail = f" This is statistically significant ({conf}): {desc}."
        elif self.correction and excludes:
            name = "Holm" if self.correction == "holm" else "Benjamini-Hochberg"
            tail = (f" The difference is not statistically significant after adjusting for "
                    f"{self.frame.height} comparisons ({name}); the unadjusted {conf} "
                    f"interval is {desc}.")
        else:
            tail = (f" The difference is not statistically significant ({conf}): the true "
                    f"effect lies {desc}.")
        return first + tail

    def explain(self, group: Any = None) -> str:
        """How the figures of one group were obtained: inputs, method and result."""
        r = self._row(group)
        label = ", ".join(f"{k}={r[k]}" for k in self.by) or "all offenders"
        scale = "ratio (cohort / comparator)" if self._ratio else "difference " \
            "(cohort - comparator)"
        lines = [f"{self.measure} measure, {label}:",
                 f"  cohort: n = {r['n']:,}, value = {_num(r['cohort_value'], '.6g')}",
                 f"  {self.comparator}: value = {_num(r['comparator_value'], '.6g')}"
                 + (f", n = {r['comparator_n']:,.0f}" if r["comparator_n"] is not None
                    else " (treated as known)"),
                 f"  method: {r['method']}",
                 f"  {scale}: {_num(r['estimate'], '.6g')}, {self.level:.0%} interval "
                 f"[{_num(r['lower'], '.6g')}, {_num(r['upper'], '.6g')}] ({self.alternative})",
                 f"  se = {_num(r['se'], '.6g')}, statistic = {_num(r['statistic'], '.6g')}, "
                 f"p = {_num(r['p_value'], '.4g')}"
                 + (f", adjusted p = {_num(r['p_adjusted'], '.4g')} ({self.correction})"
                    if self.correction else ""),
                 *([f"  note: {r['note']}"] if r.get("note") else []),
                 f"  significant: {_yes(r['significant'])}"
                 + (f" ({str(r['conclusion']).removeprefix('not assessed: ')})"
                    if r["significant"] is None else ""),
                 "  " + self.jdl_text(group if self.by else None)]
        return "\n".join(lines)

    def __str__(self) -> str:
        ratio = self._ratio
        head = (f"Comparison: {self.measure} measure, cohort vs {self.comparator} "
                f"({self.method}; {self.level:.0%} {self.alternative}"
                + (f"; {self.correction} correction" if self.correction else "") + ")")
        keys = list(self.by)
        cols = [*keys, "n", "cohort", "comparator", "ratio" if ratio else "difference",
                "lower", "upper", "p", "sig"]
        scale = 100.0 if self._rate else 1.0
        body = []
        for r in self.frame.iter_rows(named=True):
            f = 1.0 if ratio else scale
            body.append([*(str(r[k]) for k in keys), f"{r['n']:,}",
                         _num(scale * r["cohort_value"], ".2f"),
                         _num(scale * r["comparator_value"], ".2f"),
                         _num(f * r["estimate"], ".2f" if not ratio else ".3f"),
                         _num(f * r["lower"], ".2f" if not ratio else ".3f"),
                         _num(f * r["upper"], ".2f" if not ratio else ".3f"),
                         _num(r["p_adjusted"] if self.correction else r["p_value"], ".4f"),
                         "*" if r["significant"] else "n/a" if r["significant"] is None
                         else ""])
        widths = [max(len(c), *(len(b[i]) for b in body)) for i, c in enumerate(cols)]
        lines = [head, "  ".join(c.rjust(w) for c, w in zip(cols, widths, strict=True))]
        lines += ["  ".join(v.rjust(w) for v, w in zip(b, widths, strict=True)) for b in body]
        if scale == 100.0 and not ratio:
            lines.append("(rates and differences in per cent / percentage points)")
        if "note" in self.frame.columns and self.frame["note"].null_count() < self.frame.height:
            lines.append("(method per group: " + "; ".join(
                f"{', '.join(str(r[k]) for k in keys) or 'all'}: {r['method']}"
                for r in self.frame.iter_rows(named=True)) + ")")
        if any(r is None for r in self.frame["significant"]):
            lines.append("(sig n/a: not assessed, see the conclusion column)")
        if not self.by:
            lines.append(self.jdl_text())
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def _yes(significant: bool | None) -> str:
    return "not assessed" if significant is None else "yes" if significant else "no"


def _describe(a: float, b: float, unit: str) -> str:
    """The interval in words from its 'fewer' bounds a <= b (either may be unbounded)."""
    def n(x: float) -> str:  # whole numbers, as JDL reports; one decimal rather than "0"
        whole = f"{abs(x):.0f}"
        return f"{abs(x):.1f}" if whole == "0" and abs(x) >= 0.05 else whole
    if a >= 0:
        return (f"a reduction of at least {n(a)} {unit}" if not math.isfinite(b)
                else f"a reduction of between {n(a)} and {n(b)} {unit}")
    if b <= 0:
        return (f"an increase of at least {n(b)} {unit}" if not math.isfinite(a)
                else f"an increase of between {n(b)} and {n(a)} {unit}")
    low = "no limit on the reduction" if not math.isfinite(b) else f"a reduction of {n(b)}"
    high = "no limit on the increase" if not math.isfinite(a) else f"an increase of {n(a)}"
    return f"between {low} and {high} {unit}"
