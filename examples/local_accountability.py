"""Local accountability on the bundled synthetic data (docs/methodology/local.md).

A PCC area asks four questions of one contract: which provider each result belongs to
when people move between custody and community providers; how the offending of an IOM
cohort changed from the year before entry to the year after, against a comparison group;
how recorded crime moved in each area; and what the PCC area's own view of the contract
is (cohort, measures, comparison, its part of the payments). The area hierarchy is the
synthetic one (`pbr.areas.example_hierarchy`: not real boundaries).

Run: ``python examples/local_accountability.py``
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import polars as pl

import pbr
from pbr.areas import RecordedCrime, crime_change, example_hierarchy
from pbr.attribution import split_statement, totals
from pbr.contract.spec import demo_contract_text
from pbr.iom import Membership, before_after


def main() -> None:
    data = pbr.synth.generate(6_000, seed=2024)
    cohort, events = data.cohort, data.events
    spec = pbr.preset("moj_national_2017").replace(severity_weights=data.severity_weights,
                                                   serious_codes=data.serious_codes)
    as_of = dt.date(2022, 6, 30)
    result = pbr.measure(cohort, events, spec.replace(as_of=as_of))

    # 1. attribution: a prison spell up to release, then the community provider
    ids, idx = cohort["offender_id"], cohort["index_date"]
    handover = pl.Series(np.random.default_rng(1).integers(0, 60, len(ids))).cast(pl.Int64)
    release_end = cohort.select(pl.col("index_date") + pl.duration(days=handover)).to_series()
    spells = pl.DataFrame({
        "offender_id": pl.concat([ids, ids]),
        "provider": ["HMP Synthetic"] * len(ids) + cohort["provider"].to_list(),
        "start": pl.concat([idx - dt.timedelta(days=200), idx]),
        "end": pl.concat([release_end, pl.Series([None] * len(ids), dtype=pl.Date)])})
    shares = pbr.attribute(result, spells, rule="time_share")
    print(shares)
    contract = pbr.Contract.from_toml(demo_contract_text())
    run = pbr.run_contract(contract, cohort, events, as_of=as_of)
    parts = split_statement(run.statement, shares, cohorts=cohort)
    by_provider = totals(parts)
    print(by_provider)
    assert sum(Decimal(x) for x in by_provider["amount"]) == run.statement.total

    # 2. IOM before and after, against the untreated as a comparison group
    entry = pl.col("index_date").alias("entry")
    iom = Membership.from_frame(cohort.filter(pl.col("treated")).select("offender_id", entry))
    others = Membership.from_frame(cohort.filter(~pl.col("treated"))
                                   .select("offender_id", entry))
    print(before_after(iom, events, spec=spec, comparison=others, as_of=as_of))

    # 3. recorded crime by area, rolled up to PCC areas
    areas = example_hierarchy().units("area")
    rng = np.random.default_rng(7)
    crime = RecordedCrime.from_frames(
        {"area": [a for a in areas for _ in (0, 1)], "period": ["2019", "2020"] * len(areas),
         "count": rng.poisson(900, 2 * len(areas)).tolist()},
        {"area": list(areas), "population": [100_000 + 5_000 * i for i in range(len(areas))]})
    print(crime_change(crime, baseline="2019", current="2020",
                       hierarchy=example_hierarchy(), level="pcc_area"))

    # 4. the PCC area's own view of the contract
    print(pbr.area_report(result, example_hierarchy(), level="pcc_area", unit="PCC North",
                          comparator=0.30, statement=run.statement, attribution=shares,
                          crime=crime, baseline="2019", current="2020"))


if __name__ == "__main__":
    main()
