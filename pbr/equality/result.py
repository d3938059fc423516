"""The result of :func:`pbr.equality`: :class:`EqualityResult`."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import polars as pl

from pbr.compare.registry import MEASURES
from pbr.errors import SpecError
from pbr.suppress import DisclosureRules, SuppressedTable, suppress

__all__ = ["SCHEMAS", "EqualityResult", "frame_of"]

_F, _S, _I, _B = pl.Float64, pl.String, pl.Int64, pl.Boolean
SCHEMAS: dict[str, dict[str, Any]] = {
    "disparities": {"characteristic": _S, "group": _S, "reference": _S, "measure": _S,
                    "value": _F, "reference_value": _F, "ratio": _F, "lower": _F,
                    "upper": _F, "p_value": _F, "note": _S},
    "effects": {"characteristic": _S, "group": _S, "reference": _S, "measure": _S, "n": _I,
                "actual": _F, "expected": _F, "effect": _F, "lower": _F, "upper": _F,
                "gap": _F, "gap_lower": _F, "gap_upper": _F, "p_value": _F},
    "payments": {"characteristic": _S, "group": _S, "n": _I, "cohort_share": _F,
                 "payment_share": _F, "avoided_share": _F, "amount": pl.Decimal(None, 2),
                 "proportionality": _F},
    "allocation": {"line": _S, "cohort": _S, "component": _S, "kind": _S,
                   "characteristic": _S, "group": _S, "basis": _S, "weight": _F,
                   "amount": pl.Decimal(None, 2)},
}


def frame_of(rows: list[dict[str, Any]], name: str) -> pl.DataFrame:
    """A table of the result from its rows (an empty one keeps its columns)."""
    schema = dict(SCHEMAS[name])
    if rows and any(isinstance(r.get("amount"), Decimal) for r in rows):
        places = max(-r["amount"].as_tuple().exponent for r in rows
                     if isinstance(r.get("amount"), Decimal))
        schema["amount"] = pl.Decimal(None, max(int(places), 0))
    clean = [{k: (None if isinstance(v, float) and math.isnan(v) else v)
              for k, v in r.items()} for r in rows]
    return pl.DataFrame(clean, schema=schema, orient="row") if clean else \
        pl.DataFrame(schema=schema)


def _fmt(x: Any, spec: str) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return format(x, spec)


@dataclass(frozen=True)
class EqualityResult:
    """Outcomes, disparities, effects and payments per protected characteristic.

    Attributes
    ----------
    outcomes
        Per characteristic and group: ``n``, ``share`` of the cohort, ``reoffenders``,
        ``binary_rate``, ``reoffences``, ``per_offender`` (a comparison: ``value`` and
        ``comparator_value``).
    disparities
        Each group against the reference: ``measure``, ``value``, ``reference_value``,
        ``ratio`` with ``lower``/``upper``, ``p_value``, ``p_adjusted``,
        ``significant``, ``note``.
    effects
        Per group: ``actual``, ``expected``, ``effect`` with its interval, and the
        ``gap`` from the reference group's effect with its interval and adjusted test.
    payments
        Per group: ``cohort_share``, ``payment_share``, ``avoided_share`` (of
        reoffences avoided), ``amount`` (a statement's money, exact) and
        ``proportionality`` (payment share / cohort share: 1 is in proportion).
    allocation
        A statement's lines split by group: ``basis`` (``outcome``: by the group's
        contribution to the paid outcome; ``cohort share``: fees, limits, payments on
        account, or a line whose outcome went the other way) and the exact ``amount``.
    by, reference, level, correction, notes, provenance
        What was asked and what the reader should know.

    Examples
    --------
    >>> import polars as pl, pbr
    >>> frame = pl.DataFrame({"sex": ["F"] * 40 + ["M"] * 60,
    ...                       "reoffended": [True] * 8 + [False] * 32 + [True] * 24
    ...                                     + [False] * 36,
    ...                       "reoffences": [1] * 8 + [0] * 32 + [1] * 24 + [0] * 36})
    >>> res = pbr.equality(frame, by="sex")
    >>> res.to_frame().select("group", "n", "binary_rate", "ratio").rows()
    [('F', 40, 0.2, 0.5), ('M', 60, 0.4, None)]
    """

    outcomes: pl.DataFrame
    disparities: pl.DataFrame
    effects: pl.DataFrame
    payments: pl.DataFrame
    allocation: pl.DataFrame
    by: tuple[str, ...]
    reference: dict[str, str]
    level: float
    correction: str | None
    notes: tuple[str, ...] = ()
    provenance: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_frame(self) -> pl.DataFrame:
        """One row per characteristic and group: outcomes, the binary-rate (or the
        comparison's) disparity and the payment shares."""
        d = self.disparities
        if d.height:
            first = d["measure"][0]
            d = d.filter(pl.col("measure") == first).select(
                "characteristic", "group", "ratio", "lower", "upper", "p_adjusted",
                "significant")
        else:
            d = pl.DataFrame(schema={"characteristic": pl.String, "group": pl.String,
                                     "ratio": pl.Float64, "lower": pl.Float64,
                                     "upper": pl.Float64, "p_adjusted": pl.Float64,
                                     "significant": pl.Boolean})
        out = self.outcomes.join(d, on=["characteristic", "group"], how="left",
                                 maintain_order="left")
        if self.payments.height:
            out = out.join(self.payments.select("characteristic", "group", "cohort_share",
                                                "payment_share", "avoided_share",
                                                "proportionality"),
                           on=["characteristic", "group"], how="left", maintain_order="left")
        return out

    def to_pandas(self) -> Any:
        """:meth:`to_frame` as a pandas DataFrame."""
        return self.to_frame().to_pandas()

    def summary(self, *, publication: bool = False,
                disclosure: DisclosureRules | str | None = None) -> pl.DataFrame:
        """:meth:`to_frame`, or with ``publication=True`` / ``disclosure=rules`` the
        table made safe to publish (:func:`pbr.suppress`, one characteristic at a time:
        each is a one-way table whose total is the cohort)."""
        if not publication and disclosure is None:
            return self.to_frame()
        return pl.concat([t.frame for t in self.published(disclosure)], how="diagonal")

    def published(self, rules: DisclosureRules | str | None = None
                  ) -> list[SuppressedTable]:
        """The table of each characteristic under disclosure control, with its audit.

        Counts (``n``, ``reoffenders``, ``reoffences``) follow :func:`pbr.suppress`; a
        comparison's ``value`` brings its count (``value x n``, audited as a count and
        not shown); every other figure of a group (shares, ratios and their intervals,
        p-values, payment shares) is withheld when the group's size or the count behind
        its rate is withheld or small.
        """
        frame = self.to_frame()
        out = []
        measure = self.provenance.get("measure")
        hidden = "_count" if "value" in frame.columns and measure in MEASURES and (
            MEASURES[measure].is_rate or MEASURES[measure].counts) else None
        if hidden:
            frame = frame.with_columns((pl.col("value") * pl.col("n")).round(0).fill_null(0)
                                       .cast(pl.Int64).alias(hidden))
        counts = [c for c in ("n", "reoffenders", "reoffences", hidden)
                  if c is not None and c in frame.columns]
        rates = {"value": (hidden, "n")} if hidden else None
        base = tuple(c for c in ("n", "reoffenders", hidden) if c in counts)
        for k in self.by:
            part = frame.filter(pl.col("characteristic") == k)
            bases = {c: base for c in part.columns
                     if c not in ("characteristic", "group", "binary_rate", "per_offender",
                                  "value", *counts)}
            t = suppress(part, rules, by=["characteristic", "group"], counts=counts,
                         rates=rates, bases=bases)
            if hidden:
                t = dataclasses.replace(
                    t, frame=t.frame.drop(hidden), status=t.status.drop(hidden),
                    audit=t.audit.with_columns(pl.col("column").replace(
                        hidden, "count behind value")))
            out.append(t)
        return out

    def explain(self, characteristic: str, group: str) -> str:
        """How one group's figures were worked out, from its counts."""
        if characteristic not in self.by:
            raise SpecError(f"characteristic: one of {', '.join(self.by)}")
        o = self.outcomes.filter((pl.col("characteristic") == characteristic)
                                 & (pl.col("group") == group))
        if o.height == 0:
            groups = self.outcomes.filter(pl.col("characteristic") == characteristic)["group"]
            raise SpecError(f"group: no {group!r} in {characteristic}; groups: "
                            f"{', '.join(groups.to_list())}")
        r = o.row(0, named=True)
        ref = self.reference[characteristic]
        lines = [f"{characteristic} = {group} (reference group: {ref}):",
                 f"  offenders {r['n']:,} ({100 * r['share']:.1f}% of the cohort)"]
        if "reoffenders" in r:
            lines.append(f"  reoffenders {r['reoffenders']:,}: binary rate "
                         f"{r['reoffenders']:,} / {r['n']:,} = {_fmt(r['binary_rate'], '.4f')}; "
                         f"reoffences {r['reoffences']:,}: per offender "
                         f"{_fmt(r['per_offender'], '.4f')}")
        else:
            lines.append(f"  value {_fmt(r['value'], '.4f')} against comparator "
                         f"{_fmt(r['comparator_value'], '.4f')}")
        for d in self.disparities.filter((pl.col("characteristic") == characteristic)
                                         & (pl.col("group") == group)).iter_rows(named=True):
            how = ("Katz log interval" if d["measure"] in ("binary_rate", "serious_rate")
                   else "delta-method log interval")
            lines.append(f"  {d['measure']}: {_fmt(d['value'], '.4f')} / "
                         f"{_fmt(d['reference_value'], '.4f')} = ratio "
                         f"{_fmt(d['ratio'], '.3f')}, {self.level:.0%} interval "
                         f"[{_fmt(d['lower'], '.3f')}, {_fmt(d['upper'], '.3f')}] ({how}); "
                         f"p = {_fmt(d['p_value'], '.4g')}, adjusted "
                         f"{_fmt(d['p_adjusted'], '.4g')} ({self.correction or 'none'})"
                         + (f"; {d['note']}" if d["note"] else ""))
        for e in self.effects.filter((pl.col("characteristic") == characteristic)
                                     & (pl.col("group") == group)).iter_rows(named=True):
            lines.append(f"  effect on {e['measure']}: {_fmt(e['actual'], '.4f')} - "
                         f"{_fmt(e['expected'], '.4f')} = {_fmt(e['effect'], '.4f')}"
                         + ("" if e["gap"] is None else
                            f"; gap from {ref}: {_fmt(e['gap'], '.4f')} "
                            f"[{_fmt(e['gap_lower'], '.4f')}, {_fmt(e['gap_upper'], '.4f')}]"
                            f", adjusted p {_fmt(e['p_adjusted'], '.4g')}"))
        for p in self.payments.filter((pl.col("characteristic") == characteristic)
                                      & (pl.col("group") == group)).iter_rows(named=True):
            amount = "" if p["amount"] is None else f"amount {p['amount']}, "
            lines.append(f"  payments: {amount}payment share "
                         f"{_fmt(p['payment_share'], '.4f')} against cohort share "
                         f"{_fmt(p['cohort_share'], '.4f')} (proportionality "
                         f"{_fmt(p['proportionality'], '.3f')}); share of reoffences "
                         f"avoided {_fmt(p['avoided_share'], '.4f')}")
        if self.allocation.height:
            a = self.allocation.filter((pl.col("characteristic") == characteristic)
                                       & (pl.col("group") == group)
                                       & (pl.col("amount") != 0))
            for x in a.iter_rows(named=True):
                lines.append(f"    line {x['line']} ({x['component']}, {x['cohort']}): "
                             f"{x['amount']} by {x['basis']} (weight {x['weight']:.4f})")
        return "\n".join(lines)

    def __str__(self) -> str:
        head = (f"Equality impact by {', '.join(self.by)} ({self.level:.0%} intervals; "
                f"{self.correction or 'no'} correction)")
        t = self.to_frame()
        cols = ["characteristic", "group", "n", "share", *(
            ["binary_rate"] if "binary_rate" in t.columns else ["value"]),
            "ratio", "lower", "upper", "p_adjusted",
            *(["payment_share", "cohort_share"] if "payment_share" in t.columns else [])]
        fmt = {"n": ",", "share": ".3f", "binary_rate": ".3f", "value": ".3f",
               "ratio": ".3f", "lower": ".3f", "upper": ".3f", "p_adjusted": ".4f",
               "payment_share": ".3f", "cohort_share": ".3f"}
        body = [[str(r[c]) if c in ("characteristic", "group") else _fmt(r[c], fmt[c])
                 for c in cols] for r in t.iter_rows(named=True)]
        widths = [max(len(c), *(len(b[i]) for b in body)) if body else len(c)
                  for i, c in enumerate(cols)]
        lines = [head, "  ".join(c.rjust(w) for c, w in zip(cols, widths, strict=True))]
        lines += ["  ".join(v.rjust(w) for v, w in zip(b, widths, strict=True)) for b in body]
        lines.append("reference groups: " + ", ".join(f"{k}={v}"
                                                      for k, v in self.reference.items()))
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)
