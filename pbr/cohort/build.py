"""Build a cohort of index events from disposal records: :func:`build_cohort`.

The rules (K1-K10, docs/methodology/cohorts.md; MoJ, *Guide to Proven Reoffending
Statistics*, 2019, [MoJ-Guide-2019], [MoJ-PRS-Bulletins]) are applied in this order, and every
disposal row ends with exactly one outcome: used as an index event, or the first rule
that left it out.

1. eligibility of the row: index type (K1); custodial rows need a release date, their
   index date, and a stay of at least ``min_custody_stay`` (K2); the ``where``
   attribute filters (K10); disposal category (K7); age group at the index date (K6); sentence
   length (K7); the flagged exclusions (K8: deported, time served, breach only,
   released from court);
2. cohort periods (K3): rows outside every period are left out;
3. one event per person and day: the same-day precedence, then the tie rule (K4);
4. one index event per person and period: the first (K4); with
   ``multiple_periods=False`` only the person's first period (K5);
5. ``died`` (K8) removes a chosen index event whose person died within ``died_within``
   of it (the person is not replaced by a later event).

Everything is polars or numpy over whole columns; only first-N cohorts loop, once per
cohort.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from pbr._toml import bundled_text
from pbr.cohort.disposals import FLAGS, Disposals
from pbr.cohort.periods import calendar_periods, consecutive_cohorts, first_n_labels
from pbr.cohort.result import REASONS, CohortBuild
from pbr.cohort.rule import EXCLUSIONS, CohortRule, sentence_bound
from pbr.data import Exclusion, Exclusions
from pbr.errors import SchemaError, SpecError
from pbr.period import date_to_day

__all__ = ["build_cohort"]

CODE = {rule: k for k, (rule, _) in enumerate(REASONS)}
_DAY = pl.col("index_date").cast(pl.Int32)


def _rule(rule: CohortRule | str | None) -> CohortRule:
    if rule is None:
        return CohortRule()
    if isinstance(rule, str):  # a scheme preset's [cohort] table (pbr.scheme(rule).cohort)
        return CohortRule.from_toml(bundled_text(rule, "schemes", "scheme"))
    if not isinstance(rule, CohortRule):
        raise SpecError(f"rule: expected a CohortRule or a scheme name, got "
                        f"{type(rule).__name__}; build one with pbr.CohortRule(...) or "
                        "CohortRule.from_toml(path)")
    return rule


def _require(df: pl.DataFrame, roles: tuple[str, ...], why: str) -> None:
    if not any(r in df.columns for r in roles):
        names = " or ".join(roles)
        raise SchemaError(
            f"disposals: {why} needs a {names} column; none is present. Fix: pass "
            f"{roles[0]}='<your column>' to Disposals.from_frame (or build_cohort), or "
            "change the rule")


def _age(df: pl.DataFrame, rule: CohortRule) -> pl.Expr | None:
    """Age in whole years at the index date (K6); 29 Feb birthdays per feb29_birthday."""
    if "date_of_birth" in df.columns:
        dob, idx = pl.col("date_of_birth"), pl.col("index_date")
        md_idx = idx.dt.month().cast(pl.Int32) * 100 + idx.dt.day().cast(pl.Int32)
        md_dob = dob.dt.month().cast(pl.Int32) * 100 + dob.dt.day().cast(pl.Int32)
        if rule.feb29_birthday == "feb28":
            md_dob = pl.when((md_dob == 229) & ~idx.dt.is_leap_year()).then(228).otherwise(md_dob)
        return (idx.dt.year().cast(pl.Int32) - dob.dt.year().cast(pl.Int32)
                - (md_idx < md_dob).cast(pl.Int32))
    if "age" in df.columns:
        return pl.col("age").cast(pl.Int32)
    return None


def _eligibility(df: pl.DataFrame, rule: CohortRule) -> tuple[pl.DataFrame, list[str]]:
    """Add index_date, age, prec and the eligibility code of each row."""
    notes: list[str] = []
    is_cust = pl.col("disposal_type").is_in(list(rule.custodial_types))
    release = pl.col("release_date") if "release_date" in df.columns else pl.lit(None, pl.Date)
    df = df.with_columns(pl.when(is_cust).then(release).otherwise(pl.col("disposal_date"))
                         .alias("index_date"))
    age = _age(df, rule)
    if age is not None:
        df = df.with_columns(age.alias("age_at_index"))
    lo, hi = rule.ages
    checks: list[tuple[str, pl.Expr]] = [
        ("not_index_type", ~pl.col("disposal_type").is_in(list(rule.index_types))),
        ("not_released", pl.col("index_date").is_null()),
    ]
    if rule.min_custody_stay is not None:
        _require(df, ("release_date",), f"min_custody_stay={str(rule.min_custody_stay)!r}")
        least = pl.Series("__least", rule.min_custody_stay.add(
            df["disposal_date"].cast(pl.Int32).to_numpy()))
        checks.append(("short_stay", is_cust & (pl.col("release_date").cast(pl.Int32) < least)))
    for column, allowed in rule.where:
        _require(df, (column,), f"where.{column}")
        checks.append(("where", ~pl.col(column).cast(pl.String).is_in(list(allowed))
                       .fill_null(False)))
    if rule.disposal_categories:
        _require(df, ("disposal_category",), "disposal_categories")
        checks.append(("disposal_category", ~pl.col("disposal_category")
                       .is_in(list(rule.disposal_categories)).fill_null(False)))
    if lo is not None or hi is not None:
        _require(df, ("date_of_birth", "age"), f"age_group={rule.age_group!r}")
        a = pl.col("age_at_index")
        out = pl.lit(False)
        if lo is not None:
            out = out | (a < lo)
        if hi is not None:
            out = out | (a > hi)
        checks += [("missing_age", a.is_null()), ("age_group", out)]
    if rule.sentence_length is not None:
        _require(df, ("sentence_length_days",), f"sentence_length={rule.sentence_length!r}")
        op, period = sentence_bound(rule.sentence_length)
        bound = period.add(df["disposal_date"].cast(pl.Int32).to_numpy())
        end = pl.col("disposal_date").cast(pl.Int32) + pl.col("sentence_length_days")
        b = pl.Series("__bound", bound)
        ok = {"<": end < b, "<=": end <= b, ">": end > b, ">=": end >= b}[op]
        checks += [("missing_sentence_length", pl.col("sentence_length_days").is_null()),
                   ("sentence_length", ~ok)]
    for name in (e for e in EXCLUSIONS if e in rule.exclusions and e in FLAGS):
        _require(df, (EXCLUSIONS[name],), f"the {name!r} exclusion")
        checks.append((name, pl.col(EXCLUSIONS[name])))
    if "died" in rule.exclusions:
        _require(df, ("date_of_death",), "the 'died' exclusion")
    code = pl.lit(0, pl.Int8)
    for name, expr in reversed(checks):
        code = pl.when(expr.fill_null(False)).then(pl.lit(CODE[name], pl.Int8)).otherwise(code)
    rank = {t: k for k, t in enumerate(rule.same_day_precedence)}
    prec = pl.col("disposal_type").replace_strict(rank, default=len(rank), return_dtype=pl.Int32)
    return df.with_columns(code.alias("__code"), prec.alias("__prec")), notes


def _order(df: pl.DataFrame, rule: CohortRule, first: list[str]) -> list[str]:
    """Sort keys: ``first``, then precedence, the tie rule (K4) and the input row."""
    keys = [*first, "__prec"]
    if rule.tie_break == "values":
        keys += [c for c in df.columns if not c.startswith("__") and c not in keys
                 and c not in ("row", "offender_id", "index_date")]
    return [*keys, "row"]


def _new_run(*cols: str) -> pl.Expr:
    """True where any of the (sorted) columns differs from the row before."""
    out = pl.lit(False)
    for c in cols:
        out = out | (pl.col(c) != pl.col(c).shift(1)).fill_null(True)
    return out


def _calendar(win: pl.DataFrame, rule: CohortRule) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """Pairs (pos, k, code) of day-winners in calendar periods.

    ``win`` is sorted by person and index day, so an event is its person's first in
    period ``k`` exactly when the person's previous event in any period is before the
    period's start (no sort or hash needed; rolling windows are the ``[lo, hi)`` ranges,
    exploded).
    """
    days = win["__day"].to_numpy()
    periods = calendar_periods(rule, int(days.min()), int(days.max()))
    lo, hi = periods.assign(days)
    win = win.select("__pos", "offender_id").with_columns(
        pl.Series("__lo", lo), pl.Series("__hi", hi), pl.Series("__day", days))
    outside = win.filter(pl.col("__lo") >= pl.col("__hi")).select(
        "__pos", pl.lit(-1, pl.Int64).alias("__k"),
        pl.lit(CODE["outside_periods"], pl.Int8).alias("__pc"))
    inside = win.filter(pl.col("__lo") < pl.col("__hi"))
    new_person = inside.select(_new_run("offender_id").alias("new"))["new"].to_numpy()
    inside_days = inside["__day"].to_numpy()
    prev_day = np.where(new_person, np.iinfo(np.int32).min, np.roll(inside_days, 1))
    pairs = (inside.with_columns(pl.Series("__new", new_person), pl.Series("__prev", prev_day))
             .with_columns(pl.int_ranges("__lo", "__hi").alias("__k")).explode("__k"))
    k = pairs["__k"].to_numpy()
    new = pairs["__new"].to_numpy()
    first = new | (pairs["__prev"].to_numpy() < periods.starts[k])
    code = np.where(first, 0, CODE["not_first_in_period"])
    if not rule.multiple_periods:  # only the person's first event, in its first period
        code = np.where(first & ~(new & (k == pairs["__lo"].to_numpy())),
                        CODE["in_earlier_period"], code)
    pairs = pairs.select("__pos", "__k", pl.Series("__pc", code.astype(np.int8)))
    return pl.concat([pairs, outside]), periods.labels


def _first_n(win: pl.DataFrame, rule: CohortRule) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """Pairs (pos, k, code) of day-winners in consecutive-N cohorts (Peterborough)."""
    start = date_to_day(rule.start) if rule.start is not None else \
        int(win["__day"].to_numpy().min())
    before = win.filter(pl.col("__day") < start).select(
        "__pos", pl.lit(-1, pl.Int64).alias("__k"),
        pl.lit(CODE["outside_periods"], pl.Int8).alias("__pc"))
    # ``win`` is sorted by person and day, and a person's events keep that order in the
    # sequence, so each event's predecessor is the row before it in ``win``
    after = win.filter(pl.col("__day") >= start)
    perm = after.select(pl.arg_sort_by(_order(after, rule, ["__day"])).alias("p"))["p"]
    seqpos = np.empty(after.height, np.int64)
    seqpos[perm.to_numpy()] = np.arange(after.height)
    new = after.select(_new_run("offender_id").alias("new"))["new"].to_numpy()
    prev_w = np.where(new, -1, np.roll(seqpos, 1))
    first_w = np.maximum.accumulate(np.where(new, np.arange(after.height), 0)) \
        if after.height else np.zeros(0, np.int64)
    prev = prev_w[perm.to_numpy()]
    seq = after.select("__pos")[perm.to_numpy()]
    if rule.multiple_periods:
        seg, first = consecutive_cohorts(prev, rule.cohort_size, rule.n_periods)
        code = np.where(first, 0, CODE["not_first_in_period"])
    else:
        first = prev < 0
        rank = np.cumsum(first) - 1
        closes = np.flatnonzero(first & (rank % rule.cohort_size == rule.cohort_size - 1))
        seg = np.searchsorted(closes, np.arange(prev.size), side="left").astype(np.int64)
        own = seg[seqpos[first_w][perm.to_numpy()]]  # cohort of the person's first event
        code = np.where(first, 0, np.where(seg == own, CODE["not_first_in_period"],
                                           CODE["in_earlier_period"]))
        if rule.n_periods is not None:
            seg = np.where(seg >= rule.n_periods, -1, seg)
    code = np.where(seg < 0, CODE["outside_periods"], code)
    pairs = seq.select("__pos").with_columns(pl.Series("__k", seg),
                                             pl.Series("__pc", code.astype(np.int8)))
    n_cohorts = int(seg.max()) + 1 if seg.size and seg.max() >= 0 else 0
    return pl.concat([pairs, before]), first_n_labels(n_cohorts)


def build_cohort(disposals: Any, rule: CohortRule | str | None = None, *,
                 on_invalid: str = "raise", **roles: str | None) -> CohortBuild:
    """Turn disposal records into a cohort of index events, with a ledger of every row.

    Parameters
    ----------
    disposals
        :class:`~pbr.cohort.disposals.Disposals`, or a polars/pandas frame with the disposal
        roles (:mod:`pbr.cohort.disposals`).
    rule
        The :class:`~pbr.cohort.rule.CohortRule`, or a scheme preset's name (its
        ``[cohort]`` table, :func:`pbr.scheme`); default the MoJ 3-month cohorts.
    on_invalid, **roles
        Passed to :meth:`Disposals.from_frame` when ``disposals`` is a frame.

    Returns
    -------
    CohortBuild
        ``.frame`` (one row per person and period), ``.cohort`` (a :class:`pbr.Cohort`
        for :func:`pbr.measure`), the ledger ``.exclusions``, ``summary()``,
        ``explain(offender_id)`` and ``provenance``.

    Examples
    --------
    >>> import datetime, polars as pl, pbr
    >>> d = datetime.date
    >>> dis = pl.DataFrame({
    ...     "offender_id": [1, 1, 2, 3],
    ...     "disposal_date": [d(2018, 1, 5), d(2018, 1, 5), d(2017, 11, 1), d(2018, 2, 1)],
    ...     "disposal_type": ["caution", "court_order", "custody", "fine_only"],
    ...     "release_date": [None, None, d(2018, 3, 1), None]})
    >>> built = build_cohort(dis, pbr.CohortRule(start=d(2018, 1, 1), n_periods=1))
    >>> built.frame.select("offender_id", "index_date", "index_type").rows()
    [(1, datetime.date(2018, 1, 5), 'court_order'), (2, datetime.date(2018, 3, 1), 'custody')]
    >>> built.exclusions.count(rule="same_day_precedence"), built.exclusions.count(
    ...     rule="not_index_type")
    (1, 1)
    """
    rule = _rule(rule)
    if on_invalid not in ("raise", "exclude"):
        raise SchemaError(f"on_invalid must be 'raise' or 'exclude', got {on_invalid!r}")
    if isinstance(disposals, Disposals) and roles:
        raise SchemaError(f"build_cohort: the disposals are already validated, so the role "
                          f"argument(s) {', '.join(sorted(roles))} do nothing; pass them to "
                          "Disposals.from_frame instead")
    d = disposals if isinstance(disposals, Disposals) else Disposals.from_frame(
        disposals, on_invalid=on_invalid, **roles)  # type: ignore[arg-type]
    df, notes = _eligibility(d.frame, rule)
    df = df.with_row_index("__pos").with_columns(_DAY.alias("__day"))
    codes = df["__code"].to_numpy().copy()
    ties = [c for c in d.frame.columns if c not in ("row", "offender_id")] \
        if rule.tie_break == "values" else []
    elig = df.filter(pl.col("__code") == 0).select(
        "__pos", "offender_id", "__day", "__prec", *ties, "row")
    labels: tuple[str, ...] = ()
    chosen = pl.DataFrame(schema={"__pos": pl.UInt32, "__k": pl.Int64})
    if elig.height:
        elig = elig.sort(_order(elig, rule, ["offender_id", "__day"]))
        winner = _new_run("offender_id", "__day")
        lost = elig.filter(~winner)["__pos"].to_numpy()
        codes[lost] = CODE["same_day_precedence"]
        win = elig.filter(winner)
        pairs, labels = (_first_n if rule.period == "first_n" else _calendar)(win, rule)
        if "died" in rule.exclusions:
            idx = pairs.join(df.select("__pos", "index_date", "date_of_death"), on="__pos")
            horizon = pl.Series(rule.died_within.add(idx["index_date"].cast(pl.Int32)
                                                     .to_numpy()))
            died = (idx["date_of_death"].cast(pl.Int32) < horizon).fill_null(False)
            pairs = idx.select("__pos", "__k", pl.when(died & (pl.col("__pc") == 0))
                               .then(pl.lit(CODE["died"], pl.Int8)).otherwise("__pc")
                               .alias("__pc"))
        per_row = pairs.group_by("__pos").agg(pl.col("__pc").min())
        codes[per_row["__pos"].to_numpy()] = per_row["__pc"].to_numpy()
        chosen = pairs.filter(pl.col("__pc") == 0).select("__pos", "__k")
    frame = _cohort_frame(df, chosen, labels, rule, notes)
    rows = df["row"].to_numpy()
    entries = [Exclusion("disposals", name, reason, rows[codes == k])
               for k, (name, reason) in enumerate(REASONS) if k and (codes == k).any()]
    ledger = d.exclusions + Exclusions(tuple(entries))
    return CohortBuild(frame=frame, rule=rule, exclusions=ledger, n_input=d.n_input,
                       n_used=int((codes == 0).sum()), periods=labels, notes=tuple(notes),
                       _disposals=d, _codes=pl.DataFrame({"row": rows, "code": codes}))


def _cohort_frame(df: pl.DataFrame, chosen: pl.DataFrame, labels: tuple[str, ...],
                  rule: CohortRule, notes: list[str]) -> pl.DataFrame:
    keep = ["offender_id", "index_date", "disposal_type", "disposal_date"]
    optional = ["release_date", "age_at_index", "sentence_length_days", "disposal_category"]
    keep += [c for c in optional if c in df.columns]
    for c in rule.carry:
        if c in keep:
            continue
        if c in df.columns:
            keep.append(c)
        elif c not in ("area", "provider", "region"):  # the default roles are optional
            notes.append(f"carry column {c!r} is not in the disposals; not carried")
    pos = chosen["__pos"]
    order = pl.DataFrame({"__k": chosen["__k"], "__day": df["__day"].gather(pos),
                          "offender_id": df["offender_id"].gather(pos), "__pos": pos}
                         ).sort(["__k", "__day", "offender_id"])
    period = pl.Series("cohort_period", labels, dtype=pl.String).gather(order["__k"]) \
        if labels else pl.Series("cohort_period", [], dtype=pl.String)
    out = (df.select("row", *keep)[order["__pos"].to_numpy()]
           .with_columns(period)
           .rename({"disposal_type": "index_type", "age_at_index": "age",
                    "row": "disposal_row"}, strict=False))
    first = ["offender_id", "index_date", "cohort_period", "index_type"]
    return out.select(*first, *[c for c in out.columns
                                if c not in first and not c.startswith("__")])
