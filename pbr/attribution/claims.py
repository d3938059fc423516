"""Several providers paid from one statement, and one outcome claimed by two contracts.

:func:`split_statement` splits each line of a :class:`~pbr.PaymentStatement` between
providers by an :class:`~pbr.attribution.Attribution` of the line's cohort, to the
contract's rounding quantum, so that each provider's parts add up to the line exactly
and the lines still add up to the statement's total (docs/methodology/local.md, AT5).

:func:`double_claims` reports offenders whose outcome two contracts claim for
overlapping follow-up windows (AT6): the double-payment check.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import polars as pl

from pbr.attribution._money import allocate
from pbr.attribution.core import Attribution, _windows
from pbr.data import as_frame
from pbr.errors import SchemaError, SpecError
from pbr.period import Period

__all__ = ["double_claims", "split_by_shares", "split_statement", "totals"]


def split_statement(statement: Any, attribution: Attribution, *, cohorts: Any,
                    cohort_column: str = "cohort_period",
                    weights: Any = None, weight_column: str | None = None) -> pl.DataFrame:
    """Split every line of a payment statement between providers.

    Parameters
    ----------
    statement
        A :class:`~pbr.PaymentStatement`.
    attribution
        Shares of each cohort member (:func:`~pbr.attribution.attribute`).
    cohorts
        A frame (or MeasureResult) with ``offender_id`` and ``cohort_column``: which
        cohort label of the statement each member belongs to. A line whose cohort is not a
        label there (a contract-level line such as a fee or an adjustment on the total) is
        split over every member.
    weights, weight_column
        Optional per-member weights (e.g. reoffences avoided); default 1 each.

    Returns
    -------
    polars.DataFrame
        ``line``, ``cohort``, ``component``, ``provider``, ``amount`` (Decimal as text),
        ``exact`` (the unrounded fraction): the parts of each line add up to its amount.
    """
    return split_by_shares(statement, attribution.frame, cohorts=cohorts,
                           cohort_column=cohort_column, weights=weights,
                           weight_column=weight_column, rule=attribution.rule)


def split_by_shares(statement: Any, shares: pl.DataFrame, *, cohorts: Any,
                    cohort_column: str = "cohort_period", weights: Any = None,
                    weight_column: str | None = None, rule: str = "shares") -> pl.DataFrame:
    """:func:`split_statement` on any shares table: ``offender_id``, ``provider`` (the
    party a part goes to: a provider, or an area), ``share_num`` and ``share_den``."""
    frame = as_frame(getattr(cohorts, "frame", cohorts), "cohorts")
    for c in ("offender_id", cohort_column):
        if c not in frame.columns:
            raise SchemaError(f"split_statement: no column {c!r} in cohorts; columns present: "
                              f"{', '.join(frame.columns[:20])}. Fix: pass cohort_column=")
    labels = frame.select("offender_id", pl.col(cohort_column).cast(pl.String).alias("__c"))
    known = set(labels["__c"].unique().to_list())
    quantum = statement.rounding.quantum
    base = shares.select("offender_id", "provider", "share_num", "share_den")
    rows: list[dict[str, Any]] = []
    for line in statement.lines:
        if line.amount == 0:
            continue
        members = (labels.filter(pl.col("__c") == line.cohort)["offender_id"]
                   if line.cohort in known else labels["offender_id"])
        sub = base.filter(pl.col("offender_id").is_in(members.implode()))
        if sub.height == 0:
            raise SpecError(f"split_statement: line {line.line} ({line.cohort}) has no "
                            "attributed cohort member; attribute that cohort first")
        sign = Decimal(1) if line.amount > 0 else Decimal(-1)
        parts = allocate(sub, abs(line.amount), quantum, weights, weight_column)
        for prov, exact, amount in parts:
            rows.append({"line": line.line, "cohort": line.cohort,
                         "component": line.component, "provider": prov,
                         "amount": str(sign * amount),
                         "exact": ("-" if sign < 0 else "") + str(exact)})
    out = pl.DataFrame(rows, schema={"line": pl.String, "cohort": pl.String,
                                     "component": pl.String, "provider": pl.String,
                                     "amount": pl.String, "exact": pl.String})
    total = sum((Decimal(a) for a in out["amount"].to_list()), Decimal(0))
    if total != statement.total:
        raise SpecError(f"split_statement ({rule}): the parts add up to {total}, not the "
                        f"statement's total {statement.total} (a bug in pbr: please report it)")
    return out


def totals(parts: pl.DataFrame, by: str = "provider") -> pl.DataFrame:
    """Exact totals of a split statement (:func:`split_statement`) per ``by`` column:
    ``by``, ``amount`` (Decimal as text), ``lines``; they add up to the statement's total.

    Examples
    --------
    >>> parts = pl.DataFrame({"provider": ["A", "B", "A"], "amount": ["1.10", "2.20", "0.05"]})
    >>> totals(parts).rows()
    [('A', '1.15', 2), ('B', '2.20', 1)]
    """
    if by not in parts.columns or "amount" not in parts.columns:
        raise SchemaError(f"totals: the parts need {by!r} and 'amount' columns")
    sums: dict[str, Decimal] = {}
    count: dict[str, int] = {}
    for key, amount in parts.select(by, "amount").iter_rows():
        sums[key] = sums.get(key, Decimal(0)) + Decimal(amount)
        count[key] = count.get(key, 0) + 1
    keys = sorted(sums)
    return pl.DataFrame({by: keys, "amount": [str(sums[k]) for k in keys],
                         "lines": [count[k] for k in keys]},
                        schema={by: pl.String, "amount": pl.String, "lines": pl.Int64})


def double_claims(claims: Mapping[str, Any], *,
                  follow_up: str | Period | None = None) -> pl.DataFrame:
    """Offenders whose outcome two contracts claim over overlapping windows.

    Parameters
    ----------
    claims
        ``{contract name: MeasureResult or frame}``; each brings ``offender_id`` and
        ``index_date`` and its follow-up window (a MeasureResult's spec, or
        ``follow_up=`` for frames).

    Returns
    -------
    polars.DataFrame
        One row per offender and pair of contracts with overlapping windows:
        ``offender_id``, ``contract_a``, ``window_a``, ``contract_b``, ``window_b``,
        ``overlap_days``. Empty when no outcome is claimed twice.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> a = pl.DataFrame({"offender_id": [1, 2], "index_date": [dt.date(2020, 1, 1)] * 2})
    >>> b = pl.DataFrame({"offender_id": [2], "index_date": [dt.date(2020, 6, 1)]})
    >>> double_claims({"A": a, "B": b}, follow_up="12 months").select(
    ...     "offender_id", "overlap_days").rows()
    [(2, 214)]
    """
    if len(claims) < 2:
        raise SpecError("double_claims: give at least two contracts' cohorts")
    wins = []
    for name, claim in claims.items():
        w, _ = _windows(claim, follow_up, None)
        wins.append(w.select("offender_id", pl.lit(name).alias("contract"), "w_start", "w_end"))
    types = {w.schema["offender_id"] for w in wins}
    if len(types) > 1:
        raise SchemaError(f"double_claims: offender_id types differ between contracts "
                          f"({', '.join(sorted(map(str, types)))}); cast them to one type")
    allw = pl.concat(wins)
    pairs = (allw.join(allw, on="offender_id", suffix="_b")
             .filter(pl.col("contract") < pl.col("contract_b"))
             .with_columns(
                 (pl.min_horizontal("w_end", "w_end_b") - pl.max_horizontal("w_start",
                                                                             "w_start_b"))
                 .dt.total_days().alias("d"))
             .filter(pl.col("d") >= 0))
    fmt = "%Y-%m-%d"
    return (pairs.select(
        "offender_id", pl.col("contract").alias("contract_a"),
        pl.concat_str(pl.col("w_start").dt.strftime(fmt), pl.lit(" to "),
                      pl.col("w_end").dt.strftime(fmt)).alias("window_a"),
        pl.col("contract_b"),
        pl.concat_str(pl.col("w_start_b").dt.strftime(fmt), pl.lit(" to "),
                      pl.col("w_end_b").dt.strftime(fmt)).alias("window_b"),
        (pl.col("d") + 1).alias("overlap_days"))
        .sort("offender_id", "contract_a", "contract_b"))


