"""``pbr.attribute``: which provider a cohort member, a reoffence avoided or a payment
belongs to, under a named rule.

Rules (docs/methodology/local.md, AT1-AT4); every offender's shares sum to exactly 1:

* ``"index"`` (AT1): the provider(s) in spell on the index date; several share equally.
* ``"last"`` (AT2): the provider whose spell started last on or before the window closes,
  among the spells that touch the span from the index date to the window end; spells
  starting on the same day share equally.
* ``"time_share"`` (AT3): days under each provider within the follow-up window; a day
  under ``k`` providers gives ``1/k`` of a day to each. Window days under no provider go
  to :data:`UNATTRIBUTED` (``uncovered="unattributed"``, the default) or are left out of
  the denominator (``uncovered="normalise"``).
* ``"shapley"`` (AT4): the exact Shapley value of each provider on the offender's pathway
  (the providers with a spell in the window) for a stated value function ``v``, divided
  by ``v(pathway)``; see :mod:`pbr.attribution.shapley` and :func:`pathway_values`.

An offender no rule can place goes to :data:`UNATTRIBUTED` with share 1, counted in
``notes``: never dropped, so totals still reconcile.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, Literal

import numpy as np
import polars as pl

from pbr.attribution._money import allocate
from pbr.attribution.shapley import Value, lookup, shapley_values
from pbr.attribution.spells import ProviderSpells
from pbr.data import as_frame
from pbr.errors import SchemaError, SpecError
from pbr.period import Period

__all__ = ["RULES", "UNATTRIBUTED", "Attribution", "attribute", "pathway_values"]

Rule = Literal["index", "last", "time_share", "shapley"]
#: the attribution rules
RULES: tuple[str, ...] = ("index", "last", "time_share", "shapley")
#: the provider name given to shares no spell explains
UNATTRIBUTED = "(unattributed)"
_FAR = _dt.date(9999, 12, 31)


def _windows(result: Any, follow_up: str | Period | None,
             include_index_day: bool | None) -> tuple[pl.DataFrame, str]:
    """offender_id, index_date, w_start, w_end (inclusive) for each cohort member."""
    spec = getattr(result, "spec", None)
    frame = getattr(result, "frame", None)
    if frame is None:
        frame = as_frame(result, "cohort")
    elif not isinstance(frame, pl.DataFrame):
        frame = as_frame(frame, "cohort")
    for col in ("offender_id", "index_date"):
        if col not in frame.columns:
            raise SchemaError(f"attribute: the cohort has no {col!r} column; columns present: "
                              f"{', '.join(frame.columns[:20])}. Fix: give a MeasureResult or "
                              "a frame with offender_id and index_date")
    if follow_up is None:
        if spec is None:
            raise SpecError("attribute: give follow_up= (e.g. '12 months') with a frame; a "
                            "MeasureResult brings its spec's follow-up window")
        follow_up = spec.follow_up
    if include_index_day is None:
        include_index_day = bool(getattr(spec, "include_index_day", False))
    period = Period.parse(follow_up)
    df = frame.select("offender_id", "index_date")
    if df["index_date"].dtype != pl.Date:
        try:
            df = df.with_columns(pl.col("index_date").cast(pl.Date))
        except pl.exceptions.PolarsError as exc:
            raise SchemaError(f"attribute: index_date has type {df['index_date'].dtype}; "
                              "expected a date") from exc
    nulls = df["index_date"].is_null()
    if nulls.any():
        r = int(np.flatnonzero(nulls.to_numpy())[0])
        raise SchemaError(f"attribute: index_date is missing for {int(nulls.sum())} cohort "
                          f"member(s), first at row {r}; fix the cohort first")
    dup = df["offender_id"].is_duplicated()
    if dup.any():
        first = df.filter(dup)["offender_id"][0]
        raise SchemaError(f"attribute: offender {first!r} appears more than once in the "
                          "cohort; attribute one cohort (one row per offender) at a time")
    end = pl.Series([period.add_date(d) for d in df["index_date"].to_list()], dtype=pl.Date)
    if include_index_day:
        df = df.with_columns(pl.col("index_date").alias("w_start"),
                             (end - _dt.timedelta(days=1)).alias("w_end"))
        text = f"[index date, index date + {period}) (include_index_day)"
    else:
        df = df.with_columns((pl.col("index_date") + pl.duration(days=1)).alias("w_start"),
                             end.alias("w_end"))
        text = f"(index date, index date + {period}]"
    return df, text


def _reduce(num: np.ndarray, den: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    g = np.gcd(num, den)
    g[g == 0] = 1
    return num // g, den // g


@dataclass(frozen=True)
class Attribution:
    """Shares of each cohort member by provider, under one rule.

    Attributes
    ----------
    rule
        The rule applied (:data:`RULES`).
    frame
        One row per (offender, provider): ``offender_id``, ``provider``, ``share``
        (float), ``share_num`` / ``share_den`` (the exact share as a reduced fraction) and
        ``basis`` (what the share was computed from, in words). An offender's shares sum
        to exactly 1.
    windows
        One row per cohort member: ``offender_id``, ``index_date``, ``w_start``,
        ``w_end`` (the follow-up window, inclusive).
    window
        The window rule in words.
    notes
        What pbr could not place, and why (counts).

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> cohort = pl.DataFrame({"offender_id": [1], "index_date": [dt.date(2020, 1, 1)]})
    >>> spells = pl.DataFrame({"offender_id": [1, 1], "provider": ["A", "B"],
    ...                        "start": [dt.date(2019, 6, 1), dt.date(2020, 7, 1)],
    ...                        "end": [dt.date(2020, 6, 30), None]})
    >>> a = attribute(cohort, spells, rule="time_share", follow_up="12 months")
    >>> a.frame.select("provider", "share_num", "share_den").rows()
    [('A', 181, 366), ('B', 185, 366)]
    """

    rule: str
    frame: pl.DataFrame
    windows: pl.DataFrame
    window: str
    spells: ProviderSpells
    notes: tuple[str, ...] = ()

    def shares(self, offender_id: Any) -> dict[str, Fraction]:
        """The exact shares of one offender, ``{provider: Fraction}``."""
        rows = self.frame.filter(pl.col("offender_id") == offender_id)
        if rows.height == 0:
            raise SchemaError(f"attribute: offender {offender_id!r} is not in the cohort")
        return {p: Fraction(n, d) for p, n, d in
                rows.select("provider", "share_num", "share_den").iter_rows()}

    def summary(self) -> pl.DataFrame:
        """Per provider: cohort members attributed (the sum of shares) and offenders touched.

        Examples
        --------
        >>> import datetime as dt, polars as pl
        >>> cohort = pl.DataFrame({"offender_id": [1, 2], "index_date": [dt.date(2020, 1, 1)] * 2})
        >>> spells = pl.DataFrame({"offender_id": [1, 2], "provider": ["A", "A"],
        ...                        "start": [dt.date(2019, 1, 1)] * 2, "end": [None, None]})
        >>> attribute(cohort, spells, rule="index", follow_up="12 months").summary().rows()
        [('A', 2.0, 2)]
        """
        return (self.frame.group_by("provider")
                .agg(pl.col("share").sum().alias("members"),
                     pl.col("offender_id").n_unique().alias("offenders"))
                .sort("provider"))

    def allocate(self, values: pl.DataFrame | Any, column: str) -> pl.DataFrame:
        """Allocate a per-offender quantity to providers: the sum of share x value.

        ``values`` is a frame (or a MeasureResult, whose ``frame`` is used) with
        ``offender_id`` and ``column`` (e.g. ``reoffences``, or expected minus observed
        reoffences: reoffences avoided). Every cohort member needs a value.
        """
        frame = getattr(values, "frame", values)
        frame = as_frame(frame, "values")
        for c in ("offender_id", column):
            if c not in frame.columns:
                raise SchemaError(f"allocate: no column {c!r} in the values; columns present: "
                                  f"{', '.join(frame.columns[:20])}")
        v = frame.select("offender_id", pl.col(column).cast(pl.Float64).alias("__v"))
        joined = self.frame.join(v, on="offender_id", how="left")
        missing = joined.filter(pl.col("__v").is_null())
        if missing.height:
            raise SchemaError(f"allocate: {missing['offender_id'].n_unique()} cohort member(s) "
                              f"have no {column!r} value, first {missing['offender_id'][0]!r}; "
                              "give every member a value (0 where nothing happened)")
        return (joined.group_by("provider")
                .agg((pl.col("share") * pl.col("__v")).sum().alias(column))
                .sort("provider"))

    def allocate_amount(self, amount: Decimal | str | int, *, weights: pl.DataFrame | None = None,
                        column: str | None = None, quantum: str = "0.01") -> pl.DataFrame:
        """Split a payment between providers, exactly, by the attributed shares.

        Each provider's exact part is ``amount x (sum of its shares x weight) / (sum of
        weights)`` (weight 1 for every member unless ``weights``/``column`` give one, e.g.
        reoffences avoided). Parts are rounded down to ``quantum`` and the pennies left
        over go to the largest remainders (ties: provider name), so the parts add up to
        ``amount`` exactly (the largest remainder method, Hamilton's method: [Balinski-Young-2001]).

        Returns
        -------
        polars.DataFrame
            ``provider``, ``exact`` (the fraction as text), ``amount`` (a string of the
            Decimal, so nothing is lost to floating point).
        """
        try:
            total = Decimal(str(amount))
            q = Decimal(quantum)
        except InvalidOperation as exc:
            raise SpecError(f"allocate_amount: {amount!r} or quantum {quantum!r} is not a "
                            "decimal amount") from exc
        if not total.is_finite() or q <= 0 or total < 0:
            raise SpecError(f"allocate_amount: amount {amount!r} must be finite and >= 0, and "
                            f"quantum {quantum!r} positive")
        shares = self.frame.select("offender_id", "provider", "share_num", "share_den")
        try:
            parts = allocate(shares, total, q, weights, column)
        except SpecError as exc:
            raise SpecError(str(exc).replace("split:", "allocate_amount:")) from None
        return pl.DataFrame({"provider": [p for p, _, _ in parts],
                             "exact": [str(e) for _, e, _ in parts],
                             "amount": [str(a) for _, _, a in parts]})

    def explain(self, offender_id: Any) -> str:
        """Why each provider holds its share of one offender, in words."""
        win = self.windows.filter(pl.col("offender_id") == offender_id)
        if win.height == 0:
            raise SchemaError(f"attribute: offender {offender_id!r} is not in the cohort")
        i, ws, we = win.select("index_date", "w_start", "w_end").row(0)
        sp = self.spells.frame.filter(pl.col("offender_id") == offender_id)
        lines = [f"offender {offender_id}: rule {self.rule}; index date {i}; window "
                 f"{ws} to {we} ({self.window})"]
        if sp.height == 0:
            lines.append("  no provider spells")
        for p, s, e, role, row in sp.select("provider", "start", "end", "role",
                                            "row").iter_rows():
            lines.append(f"  spell row {row}: {p}{' (' + role + ')' if role else ''} "
                         f"{s} to {e if e is not None else 'open'}")
        for p, n, d, basis in self.frame.filter(pl.col("offender_id") == offender_id).select(
                "provider", "share_num", "share_den", "basis").iter_rows():
            lines.append(f"  -> {p}: share {n}/{d} = {n / d:.4f} ({basis})")
        return "\n".join(lines)

    def __str__(self) -> str:
        s = self.summary()
        lines = [f"Attribution: rule {self.rule}, {self.windows.height:,} cohort members, "
                 f"window {self.window}"]
        for p, m, o in s.iter_rows():
            lines.append(f"  {p:<20} {m:>12,.2f} members  {o:>8,} offenders")
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


def _clip(win: pl.DataFrame, spells: pl.DataFrame, lo: str) -> pl.DataFrame:
    """Spells joined to windows, clipped to [lo, w_end]; only those that overlap it."""
    j = win.join(spells, on="offender_id", how="inner")
    return (j.with_columns(pl.max_horizontal("start", lo).alias("cs"),
                           pl.min_horizontal(pl.col("end").fill_null(_FAR), "w_end").alias("ce"))
            .filter(pl.col("cs") <= pl.col("ce")))


def _equal(rows: pl.DataFrame, basis: pl.Expr) -> pl.DataFrame:
    """Distinct providers per offender, sharing 1 equally."""
    d = rows.select("offender_id", "provider", basis.alias("basis")).unique(
        ["offender_id", "provider"], keep="first", maintain_order=True)
    return (d.with_columns(pl.len().over("offender_id").cast(pl.Int64).alias("share_den"))
            .with_columns(pl.lit(1, dtype=pl.Int64).alias("share_num")))


def _time_share(win: pl.DataFrame, spells: pl.DataFrame, uncovered: str) -> pl.DataFrame:
    clip = _clip(win, spells, "w_start").select("offender_id", "provider", "cs", "ce")
    wdays = win.select("offender_id", ((pl.col("w_end") - pl.col("w_start")).dt.total_days()
                                       + 1).alias("W"))
    if clip.height == 0:
        return pl.DataFrame(schema={"offender_id": win.schema["offender_id"],
                                    "provider": pl.String, "share_num": pl.Int64,
                                    "share_den": pl.Int64, "basis": pl.String})
    bounds = pl.concat([clip.select("offender_id", pl.col("cs").alias("b")),
                        clip.select("offender_id", (pl.col("ce") + pl.duration(days=1))
                                    .alias("b"))]).unique().sort("offender_id", "b")
    segs = (bounds.with_columns(pl.col("b").shift(-1).over("offender_id").alias("nb"))
            .drop_nulls("nb")
            .with_columns((pl.col("nb") - pl.duration(days=1)).alias("se"))
            .rename({"b": "ss"}).drop("nb"))
    cover = (segs.join(clip, on="offender_id")
             .filter((pl.col("cs") <= pl.col("ss")) & (pl.col("ce") >= pl.col("se")))
             .unique(["offender_id", "ss", "provider"])
             .with_columns(pl.len().over("offender_id", "ss").alias("k"),
                           ((pl.col("se") - pl.col("ss")).dt.total_days() + 1).alias("L")))
    kmax = int(cover["k"].max() or 1)  # type: ignore[arg-type]
    lcm = math.lcm(*range(1, kmax + 1))
    units = (cover.with_columns((pl.col("L") * (lcm // pl.col("k"))).alias("u"))
             .group_by("offender_id", "provider").agg(pl.col("u").sum(), pl.col("L").sum()
                                                      .alias("days"),
                                                      pl.col("k").max().alias("kmax")))
    covered = (cover.unique(["offender_id", "ss"]).group_by("offender_id")
               .agg(pl.col("L").sum().alias("C")))
    units = units.join(wdays, on="offender_id").join(covered, on="offender_id")
    if uncovered == "unattributed":
        den = pl.col("W") * lcm
        gap = (covered.join(wdays, on="offender_id")
               .filter(pl.col("C") < pl.col("W"))
               .select("offender_id", pl.lit(UNATTRIBUTED).alias("provider"),
                       ((pl.col("W") - pl.col("C")) * lcm).alias("u"),
                       (pl.col("W") - pl.col("C")).alias("days"), pl.lit(1).alias("kmax"),
                       pl.col("W"), pl.col("C")))
        units = pl.concat([units, gap.select(units.columns)], how="vertical_relaxed")
    else:
        den = pl.col("C") * lcm
    basis = pl.format("{} of {} window days{}", pl.col("days"),
                      pl.col("W") if uncovered == "unattributed" else pl.col("C"),
                      pl.when(pl.col("kmax") > 1).then(pl.lit(", shared days split equally"))
                      .otherwise(pl.lit("")))
    out = units.select("offender_id", "provider", pl.col("u").cast(pl.Int64).alias("share_num"),
                       den.cast(pl.Int64).alias("share_den"), basis.alias("basis"))
    num, d = _reduce(out["share_num"].to_numpy(), out["share_den"].to_numpy())
    return out.with_columns(pl.Series("share_num", num), pl.Series("share_den", d))


def _pathways(win: pl.DataFrame, spells: pl.DataFrame) -> pl.DataFrame:
    clip = _clip(win, spells, "w_start")
    return (clip.group_by("offender_id").agg(pl.col("provider").unique().sort())
            .with_columns(pl.col("provider").list.join("|").alias("key")))


def _shapley(win: pl.DataFrame, spells: pl.DataFrame, value: Value) -> pl.DataFrame:
    paths = _pathways(win, spells)
    rows: list[tuple[Any, str, int, int, str]] = []
    cache: dict[str, list[tuple[str, int, int, str]]] = {}
    for oid, provs, key in paths.iter_rows():
        if key not in cache:
            full = frozenset(provs)
            total = lookup(value, full)
            if total == 0:
                raise SpecError(
                    f"shapley: v({{{', '.join(provs)}}}) is 0, so the providers' Shapley values "
                    "cannot be turned into shares of 1. Fix: give that pathway a non-zero "
                    "value, or use rule='time_share'")
            phi = shapley_values(provs, value)
            cache[key] = [(p, (phi[p] / total).numerator, (phi[p] / total).denominator,
                           f"Shapley value {phi[p]} of v(pathway) {total}") for p in provs]
        rows.extend((oid, p, n, d, b) for p, n, d, b in cache[key])
    return pl.DataFrame(rows, schema={"offender_id": win.schema["offender_id"],
                                      "provider": pl.String, "share_num": pl.Int64,
                                      "share_den": pl.Int64, "basis": pl.String}, orient="row")


def attribute(result: Any, spells: ProviderSpells | Any, *, rule: Rule = "time_share",
              value: Value | None = None,
              uncovered: Literal["unattributed", "normalise"] = "unattributed",
              follow_up: str | Period | None = None,
              include_index_day: bool | None = None) -> Attribution:
    """Attribute each cohort member to the providers that worked with them.

    Parameters
    ----------
    result
        A :class:`~pbr.MeasureResult` (its cohort and its spec's follow-up window), or a
        frame with ``offender_id`` and ``index_date`` (then give ``follow_up``).
    spells
        A :class:`ProviderSpells`, or a frame that validates as one.
    rule
        ``"index"``, ``"last"``, ``"time_share"`` (default) or ``"shapley"``; see the
        module docstring and docs/methodology/local.md.
    value
        For ``rule="shapley"``: ``v`` on coalitions of providers (a mapping from
        ``frozenset`` of provider names to a number, or a callable); see
        :func:`pathway_values` to estimate it from outcomes.
    uncovered
        For ``"time_share"``: window days under no provider go to
        :data:`UNATTRIBUTED` (default) or are left out (``"normalise"``).
    follow_up, include_index_day
        The window, when ``result`` is a frame (or to override the spec's).

    Returns
    -------
    Attribution

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> cohort = pl.DataFrame({"offender_id": [1], "index_date": [dt.date(2020, 1, 1)]})
    >>> spells = pl.DataFrame({"offender_id": [1, 1], "provider": ["A", "B"],
    ...                        "start": [dt.date(2019, 6, 1), dt.date(2020, 7, 1)],
    ...                        "end": [dt.date(2020, 6, 30), None]})
    >>> attribute(cohort, spells, rule="index", follow_up="12 months").shares(1)
    {'A': Fraction(1, 1)}
    """
    if rule not in RULES:
        raise SpecError(f"attribute: rule must be one of {', '.join(RULES)}, got {rule!r}")
    if uncovered not in ("unattributed", "normalise"):
        raise SpecError(f"attribute: uncovered must be 'unattributed' or 'normalise', got "
                        f"{uncovered!r}")
    if rule == "shapley" and value is None:
        raise SpecError("attribute: rule='shapley' needs value= (v on coalitions of providers; "
                        "pbr.attribution.pathway_values estimates one from outcomes)")
    if rule != "shapley" and value is not None:
        raise SpecError(f"attribute: value= is read only by rule='shapley', not {rule!r}")
    if not isinstance(spells, ProviderSpells):
        spells = ProviderSpells.from_frame(spells)
    win, text = _windows(result, follow_up, include_index_day)
    sp = spells.frame
    if sp.height and sp.schema["offender_id"] != win.schema["offender_id"]:
        raise SchemaError(
            f"attribute: offender_id is {win.schema['offender_id']} in the cohort but "
            f"{sp.schema['offender_id']} in the spells, so no id would join. Fix: cast one "
            "to the other's type")
    sp = sp.filter(pl.col("offender_id").is_in(win["offender_id"].implode()))
    if rule == "index":
        rows = (win.join(sp, on="offender_id")
                .filter((pl.col("start") <= pl.col("index_date"))
                        & (pl.col("end").fill_null(_FAR) >= pl.col("index_date"))))
        out = _equal(rows, pl.lit("in spell on the index date"))
    elif rule == "last":
        rows = _clip(win, sp, "index_date")
        rows = rows.filter(pl.col("start") == pl.col("start").max().over("offender_id"))
        out = _equal(rows, pl.format("latest spell to start by the window end ({})",
                                     pl.col("start")))
    elif rule == "time_share":
        out = _time_share(win, sp, uncovered)
    else:
        assert value is not None
        out = _shapley(win, sp, value)
    out = out.select("offender_id", "provider", "share_num", "share_den", "basis")
    placed = out["offender_id"].unique()
    lost = win.filter(~pl.col("offender_id").is_in(placed.implode()))
    notes: list[str] = []
    if lost.height:
        why = {"index": "no spell on the index date", "last": "no spell from the index date "
               "to the window end", "time_share": "no spell in the window",
               "shapley": "no spell in the window"}[rule]
        notes.append(f"{lost.height:,} cohort member(s) attributed to {UNATTRIBUTED}: {why}")
        out = pl.concat([out, lost.select(
            "offender_id", pl.lit(UNATTRIBUTED).alias("provider"),
            pl.lit(1, dtype=pl.Int64).alias("share_num"),
            pl.lit(1, dtype=pl.Int64).alias("share_den"), pl.lit(why).alias("basis"))])
    out = (out.with_columns((pl.col("share_num") / pl.col("share_den")).alias("share"))
           .select("offender_id", "provider", "share", "share_num", "share_den", "basis")
           .sort("offender_id", "provider"))
    return Attribution(rule, out, win, text, spells, tuple(notes))


def pathway_values(result: Any, spells: ProviderSpells | Any, *, outcome: str,
                   expected: str | None = None,
                   follow_up: str | Period | None = None) -> pl.DataFrame:
    """Estimate ``v`` for Shapley attribution from outcomes, by pathway.

    ``v(S)`` is the mean of ``expected - outcome`` (or of ``outcome`` alone) among the
    cohort members whose pathway (the providers with a spell in the window) is exactly
    ``S``; ``v(empty set) = 0``. This is the data-driven value function of multi-touch
    attribution ([Shao-Li-2011]): descriptive, not causal, and only as good
    as the number of people on each pathway (``n``).

    Returns
    -------
    polars.DataFrame
        ``pathway`` (providers joined by ``|``), ``n`` and ``value``. Turn it into the
        mapping :func:`attribute` takes with ``{frozenset(p.split("|")): v for p, n, v
        in frame.rows()}``.
    """
    if not isinstance(spells, ProviderSpells):
        spells = ProviderSpells.from_frame(spells)
    win, _ = _windows(result, follow_up, None)
    frame = as_frame(getattr(result, "frame", result), "result")
    need = [outcome] + ([expected] if expected else [])
    for c in need:
        if c not in frame.columns:
            raise SchemaError(f"pathway_values: no column {c!r}; columns present: "
                              f"{', '.join(frame.columns[:20])}")
    gain = (pl.col(expected) - pl.col(outcome)) if expected else pl.col(outcome)
    paths = _pathways(win, spells.frame).select("offender_id", "key")
    return (frame.select("offender_id", gain.cast(pl.Float64).alias("g"))
            .join(paths, on="offender_id", how="inner")
            .group_by("key").agg(pl.len().alias("n"), pl.col("g").mean().alias("value"))
            .rename({"key": "pathway"}).sort("pathway"))


def as_value(frame: pl.DataFrame) -> dict[frozenset[str], float]:
    """The mapping :func:`attribute` takes, from :func:`pathway_values`' frame."""
    return {frozenset(p.split("|")): float(v) for p, _, v in frame.rows()}

