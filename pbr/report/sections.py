"""The HTML report's sections, each from the results it is given.

Each builder takes the report's :class:`Inputs` and a :class:`Guard` (disclosure control
in publication mode, a pass-through otherwise) and returns a
:class:`~pbr.report.markup.Section`, or a reason why the section cannot be drawn (the
report lists those, so nothing is left out silently).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl

from pbr.report.figures import (
    Chart,
    forest_chart,
    funnel_chart,
    km_chart,
    love_chart,
    mcf_chart,
    waterfall_chart,
)
from pbr.report.markup import Section, TableCell, esc, figure_html, fmt, frame_table, table_html

__all__ = ["BUILDERS", "Guard", "Inputs"]

#: days at which the survival table reads the curves (those within the follow-up)
READ_DAYS = (91, 182, 365, 547, 730)


@dataclass(frozen=True)
class Inputs:
    """What a report is drawn from (any may be missing)."""

    result: Any = None          # MeasureResult
    statement: Any = None       # PaymentStatement
    outcomes: tuple[Any, ...] = ()  # contract Outcomes
    comparison: Any = None      # ComparisonResult
    match: Any = None           # MatchResult
    manifest: Any = None        # Manifest
    equality: tuple[tuple[str, Any], ...] = ()  # (title, frame or EqualityResult)
    group: str | None = None    # column of result.frame for the curves
    units: str | None = None    # column of result.frame for the funnel plot


class Guard:
    """Disclosure control for every count the report shows (publication mode), or none.

    ``table(frame, by, counts)`` returns the cells to withhold, as
    ``{(row, column): TableCell}``; ``withheld`` counts them for the report's account.
    """

    def __init__(self, rules: Any = None) -> None:
        self.rules = rules
        self.withheld = 0
        self.tables = 0

    @property
    def on(self) -> bool:
        return self.rules is not None

    def table(self, frame: pl.DataFrame, by: str | list[str],
              counts: list[str]) -> dict[tuple[int, str], TableCell]:
        if self.rules is None or frame.height == 0:
            return {}
        from pbr.suppress import suppress

        out = suppress(frame, self.rules, by=by, counts=counts)
        self.tables += 1
        cells: dict[tuple[int, str], TableCell] = {}
        keys = {by} if isinstance(by, str) else set(by)
        for c in out.status.columns:
            if c in keys:  # the status table repeats the keys
                continue
            for i, s in enumerate(out.status[c].to_list()):
                if s not in (None, "published", "key"):
                    cells[(i, c)] = TableCell(self.rules.symbol,
                                              f"withheld ({s}) under {self.rules.name}")
        self.withheld += len(cells)
        return cells


    def diff(self, full: pl.DataFrame, published: pl.DataFrame
             ) -> dict[tuple[int, str], TableCell]:
        """The cells a result's own publication mode withheld: present in ``full``,
        null in ``published`` (the same rows and columns, e.g. ``summary()`` and
        ``summary(disclosure=rules)``)."""
        if self.rules is None:
            return {}
        cells = {(i, c): TableCell(self.rules.symbol, f"withheld under {self.rules.name}")
                 for c in full.columns if c in published.columns
                 for i, (a, b) in enumerate(zip(full[c].to_list(), published[c].to_list(),
                                                strict=True))
                 if a is not None and b is None}
        self.tables += 1
        self.withheld += len(cells)
        return cells


Built = Section | str  # a section, or why it is not there
Builder = Callable[[Inputs, Guard, list[Chart]], Built]


def _figure(charts: list[Chart], chart: Chart) -> str:
    charts.append(chart)
    return figure_html(chart, len(charts))


def _p(text: str) -> str:
    return f"<p>{esc(text)}</p>"


# --------------------------------------------------------------------------- headline
def headline(inp: Inputs, guard: Guard, charts: list[Chart]) -> Built:
    items: list[tuple[str, str]] = []
    if inp.result is not None:
        s = inp.result.summary()
        hidden = guard.table(s.select("n", "reoffenders").with_columns(
            all=pl.lit("all")), "all", ["n", "reoffenders"])
        row = s.row(0, named=True)
        shown = not hidden
        items += [("offenders measured", fmt(row["n"], "int") if shown else guard.rules.symbol),
                  ("reoffenders", fmt(row["reoffenders"], "int") if shown
                   else guard.rules.symbol),
                  ("proven reoffending rate", fmt(row["binary_rate"], "pct") if shown
                   else guard.rules.symbol),
                  ("reoffences per offender", fmt(row["per_offender"], "num") if shown
                   else guard.rules.symbol)]
    st = inp.statement
    if st is not None:
        items += [("earned", f"{st.currency} {fmt(st.earned, 'money')}"),
                  ("paid on account", f"{st.currency} {fmt(st.paid_on_account, 'money')}"),
                  ("total due", f"{st.currency} {fmt(st.total, 'money')}")]
    c = inp.comparison
    if c is not None and not c.by and not (guard.on and Guard(guard.rules).diff(
            c.summary(), c.summary(disclosure=guard.rules))):  # (not counted twice)
        r = c.frame.row(0, named=True)
        items.append((f"effect ({c.measure}, {c.level:.0%} interval)",
                      f"{fmt(r['estimate'], 'num')} [{fmt(r['lower'], 'num')}, "
                      f"{fmt(r['upper'], 'num')}]"))
        items.append(("conclusion", str(r["conclusion"])))
    if not items:
        return "no measure, statement or comparison given"
    body = "".join(f"<div><dt>{esc(k)}</dt><dd>{esc(v)}</dd></div>" for k, v in items)
    return Section("headline", "Headline figures", f'<dl class="headline">{body}</dl>')


# --------------------------------------------------------------------------- statement
def _cohort_counts(lines: Sequence[Any]) -> pl.DataFrame:
    rows: dict[str, dict[str, int]] = {}
    for x in lines:
        for k, v in x.counts:
            if v.lstrip("-").isdigit():
                rows.setdefault(x.cohort, {})[k] = int(v)
    keys = sorted({k for r in rows.values() for k in r})
    return pl.DataFrame({"cohort": list(rows),
                         **{k: [rows[c].get(k, 0) for c in rows] for k in keys}},
                        schema={"cohort": pl.String, **dict.fromkeys(keys, pl.Int64)})


def _withheld_cohorts(inp: Inputs, guard: Guard) -> set[str]:
    """Cohorts whose offender counts disclosure control withholds (publication mode)."""
    if not guard.on or inp.statement is None:
        return set()
    counts = _cohort_counts(inp.statement.lines)
    if counts.width < 2:
        return set()
    cells = guard.table(counts, "cohort", [c for c in counts.columns if c != "cohort"])
    return {counts["cohort"][i] for i, _ in cells}


def statement(inp: Inputs, guard: Guard, charts: list[Chart]) -> Built:
    st = inp.statement
    if st is None:
        return "no payment statement given (a contract run or a PaymentStatement)"
    hidden = _withheld_cohorts(inp, guard)
    rows = []
    for x in st.lines:
        how: str | TableCell = "\n".join(t.strip() for t in
                                          st.explain(x.line).splitlines()[1:])
        if x.cohort in hidden:
            how = TableCell(guard.rules.symbol, "explanation withheld: it quotes the "
                            "cohort's counts, which the disclosure rules withhold "
                            f"({guard.rules.name})")
        rows.append([x.line, x.cohort, x.component, x.rule + (" (provisional)"
                                                              if x.provisional else ""),
                     x.amount, how])
    cols = [("line", ""), ("cohort", ""), ("component", ""), ("rule", ""),
            (f"amount ({st.currency})", "money"), ("how the amount was reached", "how")]
    foot = [["earned", "", "", "", st.earned, ""],
            ["paid on account", "", "", "", st.paid_on_account, ""],
            ["total due", "", "", "", st.total, ""]]
    rnd = st.rounding
    body = [_p(f"{st.contract} (version {st.version}); amounts in {st.currency}, rounded "
               f"{rnd.mode.replace('_', ' ')} to {rnd.places} places per {rnd.point}, as "
               "the contract says; the total reconciles to the lines."),
            table_html(rows, cols, caption=f"Payment statement: {len(st.lines)} lines",
                       ident="table-statement", foot=foot)]
    steps = [(f"cohort {k}", v) for k, v in _earned_by_cohort(st.lines).items()]
    if st.paid_on_account:
        steps.append(("paid on account", st.paid_on_account))
    if steps:
        body.append(_figure(charts, waterfall_chart(steps, currency=st.currency)))
    return Section("statement", "Payment statement", "\n".join(body))


def _earned_by_cohort(lines: Sequence[Any]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for x in lines:
        if x.kind != "on_account":
            out[x.cohort] = out.get(x.cohort, Decimal(0)) + x.amount
    return out


def outcomes(inp: Inputs, guard: Guard, charts: list[Chart]) -> Built:
    if not inp.outcomes:
        return "no contract outcomes given (a contract run)"
    frame = pl.DataFrame({
        "cohort": [o.cohort for o in inp.outcomes],
        "measure": [o.measure for o in inp.outcomes],
        "n": [int(o.n) for o in inp.outcomes],
        "actual": [str(o.actual) for o in inp.outcomes],
        "comparator": [str(o.comparator) for o in inp.outcomes],
        "lower threshold": [None if o.lower is None else str(o.lower) for o in inp.outcomes],
        "upper threshold": [None if o.upper is None else str(o.upper) for o in inp.outcomes],
        "how the comparator was set": [o.source for o in inp.outcomes]})
    hidden = _withheld_cohorts(inp, guard)
    cells = {(i, c): TableCell(guard.rules.symbol, "withheld with the cohort's counts, "
                               f"which the disclosure rules withhold ({guard.rules.name})")
             for i, k in enumerate(frame["cohort"].to_list()) if k in hidden
             for c in ("n", "actual", "comparator", "lower threshold", "upper threshold",
                       "how the comparator was set")}
    guard.withheld += len(cells)
    return Section("outcomes", "Outcomes against the comparator", "\n".join([
        _p("Each cohort's measured outcome, its comparator (the baseline, adjusted where the "
           "contract says) and the thresholds the payment rules test against, in the "
           "contract's units."),
        frame_table(frame, caption="Contract outcomes per cohort and measure",
                    ident="table-outcomes", kinds={"n": "int", "how the comparator was set":
                                                   "how"}, withheld=cells)]))


# --------------------------------------------------------------------------- comparison
def comparison(inp: Inputs, guard: Guard, charts: list[Chart]) -> Built:
    c = inp.comparison
    if c is None:
        return "no comparison given (a ComparisonResult: pbr.compare)"
    s = c.summary()
    # the comparison's own publication mode: a small group's figures, and a rate whose
    # count of reoffenders is small, are withheld (ComparisonResult.summary)
    cells = guard.diff(s, c.summary(disclosure=guard.rules)) if guard.on else {}
    rate = c._rate and not c._ratio
    kinds = {"n": "int", "cohort_value": "pct" if c._rate else "num",
             "comparator_value": "pct" if c._rate else "num", "estimate": "num",
             "lower": "num", "upper": "num", "p_value": "p", "p_adjusted": "p"}
    scale = ("ratio (cohort / comparator)" if c._ratio else
             "difference in proportions (cohort - comparator)" if rate else
             "difference (cohort - comparator)")
    hidden_rows = {i for i, _ in cells}
    body = [_p(f"The cohort's {c.measure} measure against the {c.comparator} ({c.method}); "
               f"estimate as a {scale} with its {c.level:.0%} interval ({c.alternative})"
               + (f"; p-values adjusted for {s.height} comparisons ({c.correction})"
                  if c.correction else "") + "."),
            frame_table(s, caption=f"Comparison: {c.measure} measure, cohort vs "
                        f"{c.comparator}", ident="table-comparison", kinds=kinds,
                        withheld=cells)]
    keys = [None] if not c.by else [r if len(c.by) > 1 else r[0]
                                     for r in s.select(list(c.by)).rows()]
    for i, k in enumerate(keys):
        label = "all offenders" if k is None else f"{', '.join(c.by)} = {k}"
        text = (f"Withheld under the disclosure rules ({guard.rules.name}): {label} is a "
                "small group, or is withheld so that a small group cannot be worked out "
                "from the total." if i in hidden_rows
                else c.jdl_text(k))
        body.append(f'<blockquote class="jdl"><p><strong>{esc(label)}.</strong> '
                    f"{esc(text)}</p></blockquote>")
    shown = [i for i in range(s.height) if i not in hidden_rows
             and s["lower"][i] is not None and s["upper"][i] is not None]
    if shown:
        labels = [str(keys[i] if keys[i] is not None else "all") for i in shown]
        null = float(c.frame["null"][0])
        body.append(_figure(charts, forest_chart(
            labels, s["estimate"].to_numpy()[shown], s["lower"].to_numpy()[shown],
            s["upper"].to_numpy()[shown], null=null, xlabel=scale, level=c.level)))
    return Section("comparison", "Comparison", "\n".join(body))


# --------------------------------------------------------------------------- curves
def curves(inp: Inputs, guard: Guard, charts: list[Chart]) -> Built:
    r = inp.result
    if r is None or getattr(r, "_cohort", None) is None or getattr(r, "_events", None) is None:
        return ("no MeasureResult made by pbr.measure with its inputs (the curves need "
                "each offender's events)")
    from pbr.stats.mcf import mean_cumulative_function, reoffence_times
    from pbr.stats.survival import kaplan_meier

    offenders, events = reoffence_times(r)
    col = inp.group
    labels = (offenders[col].cast(pl.String).fill_null("(missing)") if col is not None
              else pl.Series(["all offenders"] * offenders.height))
    size = pl.DataFrame({"group": labels, "n": 1,
                         "reoffenders": offenders["event"].cast(pl.Int64)}).group_by(
        "group", maintain_order=True).sum().sort("group")
    cells = guard.table(size, "group", ["n", "reoffenders"])
    drop = {size["group"][i] for i, _ in cells}
    keep = ~labels.is_in(list(drop))
    body = [_p("Time to the first proven reoffence (Kaplan-Meier) and the mean cumulative "
               "number of proven reoffences per offender, counted as the measure counts them "
               f"(spec {r.spec.name}), per {col or 'cohort'}; follow-up "
               f"{r.spec.follow_up}.")]
    if drop:
        body.append(_p(f"Publication mode: no curve is drawn for {', '.join(sorted(drop))} "
                       "(counts withheld under the disclosure rules, "
                       f"{guard.rules.name}: small, or withheld so that a small group "
                       "cannot be worked out from the total)."))
    if not keep.any():
        return Section("curves", "Reoffending over time", "\n".join(body))
    o = offenders.filter(keep)
    g = labels.filter(keep)
    km = kaplan_meier(o["time"].to_numpy(), o["event"].to_numpy(), group=g.to_numpy())
    horizon = float(o["end"].max())  # type: ignore[arg-type]
    ev = events.join(o.select("offender_id", group=g), on="offender_id", how="inner")
    mcf = mean_cumulative_function(o["offender_id"], o["end"].to_numpy(),
                                   ev["offender_id"], ev["time"].to_numpy(),
                                   group=g.to_numpy())
    body.append(_figure(charts, km_chart(km.frame, level=km.level, horizon=horizon)))
    body.append(_figure(charts, mcf_chart(mcf.frame, level=mcf.level, horizon=horizon)))
    days = [d for d in READ_DAYS if d <= horizon]
    if days:
        at = km.at(days).join(mcf.at(days).select("group", "time", "mcf"),
                              on=["group", "time"], how="left")
        table = at.select("group", day=pl.col("time").cast(pl.Int64),
                          at_risk=pl.col("n_risk").round(0).cast(pl.Int64),
                          reoffended=1 - pl.col("surv"), reoffences_per_offender="mcf")
        t_cells = guard.table(table.select("group", "at_risk", day=pl.col("day").cast(
            pl.String)), ["group", "day"], ["at_risk"])
        body.append(frame_table(table, caption="The curves read at chosen days",
                                ident="table-curves",
                                kinds={"day": "int", "at_risk": "int", "reoffended": "pct",
                                       "reoffences_per_offender": "num"},
                                headings={"at_risk": "offenders still followed",
                                          "reoffended": "proportion reoffended"},
                                withheld=t_cells))
    return Section("curves", "Reoffending over time", "\n".join(body))


# --------------------------------------------------------------------------- balance
def balance(inp: Inputs, guard: Guard, charts: list[Chart]) -> Built:
    if inp.match is None:
        return "no matched comparison given (a MatchResult: pbr.match)"
    b = inp.match.balance()
    f = b.frame.select("covariate", "mean_treated_before", "mean_control_before",
                       "smd_before", "mean_treated_after", "mean_control_after",
                       "smd_after", "status")
    kinds = dict.fromkeys(f.columns[1:-1], "num")
    cells = _balance_cells(inp.match, b.frame, guard)
    body = [_p(f"Covariate balance before and after matching; standardised mean "
               f"differences with the denominator {b.denominator}. Below 0.05 is good and "
               "below 0.10 acceptable."),
            frame_table(f, caption="Balance table", ident="table-balance", kinds=kinds,
                        withheld=cells)]
    if cells:
        body.append(_p("Publication mode: the shares of a binary covariate that rest on "
                       "fewer people than the disclosure threshold (or leave fewer than it "
                       "in the complement) are withheld with their standardised "
                       "differences; the Love plot is not drawn."))
    else:
        body.append(_figure(charts, love_chart(b)))
    return Section("balance", "Balance of the matched comparison", "\n".join(body))


def _balance_cells(match: Any, frame: pl.DataFrame, guard: Guard
                   ) -> dict[tuple[int, str], TableCell]:
    """Publication mode: a binary covariate's share times its group's size is a count of
    people; where it (or its complement) is below the threshold, the share is withheld."""
    if not guard.on:
        return {}
    sizes = {r["sample"]: r for r in match.sample_sizes().iter_rows(named=True)}
    n = {"treated_before": sizes["all"]["treated"], "control_before": sizes["all"]["control"],
         "treated_after": sizes["matched"]["treated"],
         "control_after": sizes["matched"]["control"]}
    low = guard.rules.threshold
    cells: dict[tuple[int, str], TableCell] = {}
    for i, row in enumerate(frame.iter_rows(named=True)):
        if not row["binary"]:
            continue
        for key, size in n.items():
            group, when = key.split("_")
            count = round(float(row[f"mean_{key}"] or 0.0) * float(size))
            if 0 < count < low or 0 < round(float(size)) - count < low:
                for c in (f"mean_{key}", f"smd_{when}"):
                    cells[(i, c)] = TableCell(guard.rules.symbol, "withheld: a count of "
                                              f"{group} people below the threshold "
                                              f"({guard.rules.name})")
    guard.withheld += len(cells)
    return cells


# --------------------------------------------------------------------------- funnel
def funnel(inp: Inputs, guard: Guard, charts: list[Chart]) -> Built:
    r = inp.result
    col = inp.units
    if r is None or col is None:
        return "no measure with an area or provider column (units=)"
    t = r.frame.group_by(pl.col(col).cast(pl.String).fill_null("(missing)")).agg(
        n=pl.len().cast(pl.Int64),
        reoffenders=pl.col("reoffended").sum().cast(pl.Int64)).sort(col)
    if t.height < 2:
        return f"only one {col} in the measure: a funnel plot needs two or more"
    cells = guard.table(t, col, ["n", "reoffenders"])
    t = t.with_columns(rate=pl.col("reoffenders") / pl.col("n"))
    for i, _ in list(cells):
        cells[(i, "rate")] = TableCell(guard.rules.symbol, "withheld with its counts")
    drop = {i for i, _ in cells}
    keep = [i for i in range(t.height) if i not in drop]
    body = [_p(f"The proven reoffending rate of each {col} against its number of offenders, "
               "with exact binomial 95% and 99.8% limits around the overall rate: a point "
               "outside the limits differs by more than chance alone would explain "
               "(before any adjustment for case mix).")]
    body.append(frame_table(t, caption=f"Proven reoffending per {col}", ident="table-funnel",
                            kinds={"n": "int", "reoffenders": "int", "rate": "pct"},
                            withheld=cells))
    if len(keep) >= 2:
        body.append(_figure(charts, funnel_chart(
            [t[col][i] for i in keep], t["n"].to_numpy()[keep],
            t["reoffenders"].to_numpy()[keep], by=col)))
    if drop:
        body.append(_p(f"Publication mode: {len(drop)} {col}(s) withheld from the table's "
                       "counts and from the plot."))
    return Section("funnel", f"Funnel plot of {col}s", "\n".join(body))


# --------------------------------------------------------------------------- equality
_EQUALITY_KINDS = {"n": "int", "reoffenders": "int", "reoffences": "int", "share": "pct",
                   "binary_rate": "pct", "per_offender": "num", "ratio": "num",
                   "lower": "num", "upper": "num", "p_value": "p", "p_adjusted": "p",
                   "value": "num", "reference_value": "num", "cohort_share": "pct",
                   "payment_share": "pct", "avoided_share": "pct", "proportionality": "num",
                   "amount": "money", "actual": "num", "expected": "num", "effect": "num",
                   "gap": "num", "gap_lower": "num", "gap_upper": "num"}


def _status_cells(status: pl.DataFrame, keys: Sequence[str], rules: Any
                  ) -> dict[tuple[int, str], TableCell]:
    return {(i, c): TableCell(rules.symbol, f"withheld ({v}) under {rules.name}")
            for c in status.columns if c not in keys
            for i, v in enumerate(status[c].to_list())
            if v not in (None, "published")}


def _equality_result(e: Any, guard: Guard) -> list[str]:
    body = [_p(f"Outcomes, disparity ratios against the reference group "
               f"({', '.join(f'{k}: {v}' for k, v in e.reference.items())}) with "
               f"{e.level:.0%} intervals, p-values adjusted for multiple comparisons "
               f"({e.correction or 'none'}), and whether the payments reward each group in "
               "proportion to its share of the cohort (proportionality 1).")]
    if guard.on:
        for i, t in enumerate(e.published(guard.rules)):
            cells = _status_cells(t.status, ["characteristic", "group"], guard.rules)
            guard.withheld += len(cells)
            guard.tables += 1
            name = t.frame["characteristic"][0] if t.frame.height else f"table {i + 1}"
            body.append(frame_table(t.frame, caption=f"Equality: {name} (publication mode)",
                                    ident=f"table-equality-{i + 1}",
                                    kinds=_EQUALITY_KINDS, withheld=cells))
        return body
    for attr, caption in (("outcomes", "Outcomes per group"),
                          ("disparities", "Disparity ratios against the reference group"),
                          ("effects", "Effects per group and gaps from the reference"),
                          ("payments", "Payments against cohort shares")):
        frame = getattr(e, attr)
        if frame.height:
            body.append(frame_table(frame, caption=f"Equality: {caption.lower()}",
                                    ident=f"table-equality-{attr}", kinds=_EQUALITY_KINDS))
    return body


def equality(inp: Inputs, guard: Guard, charts: list[Chart]) -> Built:
    if not inp.equality:
        return ("no equality tables given (equality= a pbr.equality result or tables, or "
                "equality_by= the characteristics)")
    body: list[str] = []
    for i, (title, table) in enumerate(inp.equality):
        if not isinstance(table, pl.DataFrame):  # an EqualityResult
            body += _equality_result(table, guard)
            continue
        keys = [c for c, d in table.schema.items() if d in (pl.String, pl.Categorical,
                                                            pl.Boolean)]
        counts = [c for c, d in table.schema.items() if d.is_integer() and c not in keys]
        cells = guard.table(table, keys, counts) if keys and counts else {}
        body.append(frame_table(table, caption=title, ident=f"table-equality-{i + 1}",
                                kinds=_EQUALITY_KINDS, withheld=cells))
    return Section("equality", "Equality impact", "\n".join(body))


# --------------------------------------------------------------------------- ledger
def exclusions(inp: Inputs, guard: Guard, charts: list[Chart]) -> Built:
    r = inp.result
    if r is None:
        return "no MeasureResult given (the exclusions ledger is the measure's)"
    led = r.exclusions.counts()
    body = [_p(f"Input rows left out of the measure, by rule: {len(r.exclusions):,} in all. "
               "Every input row is either used or counted here with its reason.")]
    if led.height:
        cells = guard.table(led.with_columns(key=pl.col("table") + "/" + pl.col("rule")),
                            "key", ["count"])
        body.append(frame_table(led, caption="Exclusions ledger", ident="table-exclusions",
                                kinds={"count": "int"}, withheld=cells))
    else:
        body.append(_p("No row was excluded."))
    if r.event_counts and not guard.on:
        ec = pl.DataFrame({"stage": list(r.event_counts),
                           "rows": [int(v) for v in r.event_counts.values()]})
        body.append(frame_table(ec, caption="Accounting of every event row (input = invalid "
                                "+ outside all windows + not in the cohort + outside the "
                                "offender's window + kept)", ident="table-events",
                                kinds={"rows": "int"}))
    return Section("exclusions", "Exclusions ledger", "\n".join(body))


# --------------------------------------------------------------------------- provenance
def _hashes(inp: Inputs) -> list[tuple[str, str, str]]:
    m = inp.manifest
    if m is not None:
        rows = [("contract", "(embedded)", m.contract_sha256)]
        rows += [(f"input {role}", path, h) for role, path, h in m.inputs]
        rows += [(f"output {name}", path, h) for name, path, h in m.outputs]
        rows += [(f"fingerprint {k}", "", v) for k, v in m.fingerprints]
        rows += [(f"comparator {k}", "", v) for k, v in m.comparator if "sha256" in k]
        return rows
    rows = []
    for who, obj in (("measure", inp.result), ("statement", inp.statement),
                     ("comparison", inp.comparison)):
        prov = getattr(obj, "provenance", None) if obj is not None else None
        if callable(prov):
            prov = prov()
        for k, v in sorted((prov or {}).items()):
            if k.endswith("sha256"):
                rows.append((f"{who} {k.removesuffix('_sha256')}", "", str(v)))
    return rows


def provenance(inp: Inputs, guard: Guard, charts: list[Chart]) -> Built:
    rows = _hashes(inp)
    if not rows:
        return "no manifest or provenance given"
    m = inp.manifest
    lead = (f"From the audit manifest (pbr {m.pbr_version}, engine {m.engine}, seed "
            f"{m.seed}, data extract {m.as_of or 'not given'}); check it with "
            "`pbr verify manifest.json`." if m is not None else
            "SHA-256 fingerprints the results recorded (no manifest given).")
    table = table_html([[k, p, f"{h}"] for k, p, h in rows],
                       [("item", ""), ("path", ""), ("SHA-256", "")],
                       caption="Manifest hashes", ident="table-manifest")
    table = table.replace("<td>", '<td class="hash">')
    body = [_p(lead), table]
    if m is not None and m.environment:
        body.append(table_html([list(p) for p in m.environment],
                               [("package", ""), ("version", "")],
                               caption="Environment", ident="table-environment"))
    return Section("provenance", "Manifest and hashes", "\n".join(body))


def notes(inp: Inputs, guard: Guard, charts: list[Chart]) -> Built:
    seen: list[str] = []
    for obj in (inp.result, inp.statement, inp.comparison, inp.manifest):
        for n in getattr(obj, "notes", ()) or ():
            if n not in seen:
                seen.append(n)
    if not seen:
        return "no notes"
    items = "".join(f"<li>{esc(n)}</li>" for n in seen)
    return Section("notes", "Notes", f'<ul class="notes">{items}</ul>')


#: the sections in report order
BUILDERS: tuple[tuple[str, Builder], ...] = (
    ("headline", headline), ("statement", statement), ("outcomes", outcomes),
    ("comparison", comparison), ("curves", curves), ("balance", balance),
    ("funnel", funnel), ("equality", equality), ("exclusions", exclusions),
    ("provenance", provenance), ("notes", notes))
