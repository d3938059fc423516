"""Build cohorts from disposal records under two schemes' rules, then measure them.

Synthetic disposals (``pbr.cohort.synth.generate_disposals``) go through
``pbr.build_cohort`` with the MoJ 3-month rule and with Peterborough's first-1,000
rule; the same records, read as proven offences, are the events each cohort is
measured against.  The disposals run four years from 2018, so every 2018 cohort's
follow-up and waiting period close inside the extract, which ends on ``EXTRACT_END``
(given as ``as_of``: pbr would otherwise take the last disposal date as the extract's
end and warn about any window still open then).

Run: ``python examples/build_cohort.py``
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

import pbr
from pbr.cohort.synth import generate_disposals

START = dt.date(2018, 1, 1)


def events_from(disposals: pl.DataFrame, seed: int) -> pl.DataFrame:
    """Each court order, custodial sentence or caution proves one offence committed
    1-90 days before it (a seeded draw)."""
    rng = np.random.default_rng(seed)
    proven = disposals.filter(pl.col("disposal_type").is_in(["court_order", "custody",
                                                             "caution"]))
    lag = pl.Series(rng.integers(1, 91, proven.height), dtype=pl.Int32)
    return proven.select(
        "offender_id",
        (pl.col("disposal_date") - pl.duration(days=lag)).alias("offence_date"),
        "disposal_date",
        pl.when(pl.col("disposal_type") == "caution").then(pl.lit("caution"))
        .otherwise(pl.lit("conviction")).alias("disposal_type"),
        pl.lit("HO00000").alias("offence_code"),
        pl.lit("other").alias("offence_category"))


#: the last day the synthetic extract covers (four years of disposals from 2018)
EXTRACT_END = dt.date(2021, 12, 30)


def main(n: int = 8_000, seed: int = 12) -> dict[str, int]:
    disposals = generate_disposals(n, seed=seed, days=(EXTRACT_END - START).days)
    events = events_from(disposals, seed)
    sizes = {}

    quarters = pbr.build_cohort(disposals, pbr.scheme("moj_national_2017").cohort
                                .replace(start=START, n_periods=4))
    print(quarters, end="\n\n")
    for label, cohort in quarters.cohorts().items():
        result = pbr.measure(cohort, events, pbr.scheme("moj_national_2017").measure
                             .replace(as_of=EXTRACT_END))
        rate = result.summary()["binary_rate"][0]
        print(f"{label}: {cohort.n:,} offenders, proven reoffending {rate:.1%}")
        sizes[label] = cohort.n
    print()

    rule = pbr.scheme("peterborough_sib").cohort.replace(start=START,
                                                         cohort_size=500)
    pb = pbr.build_cohort(disposals, rule)
    print(pb, end="\n\n")
    result = pbr.measure(pb.cohort, events, pbr.scheme("peterborough_sib").measure
                         .replace(as_of=EXTRACT_END))
    print(result.summary(by="cohort_period"))
    sizes.update({p: n for p, n in pb.summary(by="period").iter_rows()})
    # the ledger reconciles and the first-N cohorts are full except the last
    assert pb.n_input == pb.n_used + len(pb.exclusions)
    assert all(size == 500 for size in list(pb.summary(by="period")["people"])[:-1])
    return sizes


if __name__ == "__main__":
    main()
