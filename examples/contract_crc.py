"""Transforming Rehabilitation CRC: binary and frequency payments ([MoJ-CRC-Final]).

Published figures [V2] (Get the Data / Russell Webster, 2018): the all-CRC cohorts of
Oct 2015-Sep 2016 (about 108,000 offenders) reoffended at 45.4% against a 2011 baseline
of 47.5%, with 4.7 reoffences per reoffender against 4.2.  The binary reduction is
significant at any usual level for n = 108,000, so the binary component pays; the
frequency rose by 11.9% (CRC-1516), so with no clawback it pays nothing: a binary-only
payment, as in most CRCs.  The first final quarter (Oct-Dec 2015: 45.6% vs 47.5%) is
shown with n = 27,000 (a quarter of the annual cohort [I]).  Prices and the 1.96
significance multiplier are illustrative (not public).

Then the same contract runs on synthetic data relabelled as a cohort starting after the
1 August 2017 variation (frequency payments switched off), with the binary baseline
adjusted for case mix by each cohort's mean predicted risk.

Run: ``python examples/contract_crc.py``
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl

import pbr
from pbr.contract import Outcome, pay, run_contract
from pbr.contract.compare import significance_interval

CONTRACT = Path(__file__).parent / "contracts" / "crc.toml"


def _published(cohort: str, n: int, binary: str, frequency: str) -> list[Outcome]:
    base, z = Decimal("47.5"), Decimal("1.96")
    lower, upper = significance_interval(base, n, z)
    reoffenders = int((Decimal(binary) * n / 100).to_integral_value())
    src = "2011 baseline 47.5% and 4.2 (published, [V2])"
    return [Outcome(cohort, "binary_rate", actual=Decimal(binary), comparator=base, n=n,
                    lower=lower, upper=upper, source=src),
            Outcome(cohort, "per_reoffender", actual=Decimal(frequency),
                    comparator=Decimal("4.2"), n=n, base_n=reoffenders, source=src)]


def main() -> dict[str, Decimal]:
    contract = pbr.io.read_contract(CONTRACT)
    year = _published("2015/16 (4 quarters)", 108_000, "45.4", "4.7")
    statement = pay(contract, year)
    print(statement, end="\n\n")
    print(statement.explain("L1"), end="\n\n")
    print(statement.explain("L2"), end="\n\n")
    binary, frequency = statement.lines
    # 2.1 points x 108,000 offenders = 226,800 point-offenders x GBP 10.00
    assert binary.amount == Decimal("2268000.00")
    # CRC-1516: frequency worsened by 11.9% -> nothing paid on frequency
    assert round((Decimal("4.7") / Decimal("4.2") - 1) * 100, 1) == Decimal("11.9")
    assert frequency.amount == 0

    quarter = pay(contract, _published("2015Q4", 27_000, "45.6", "4.7"))
    assert quarter.line("L1").amount == Decimal("513000.00")  # 1.9 x 27,000 x 10

    # synthetic cohort after the 2017 variation: frequency not in force
    data = pbr.synth.generate(4000, seed=3)
    cohort = data.cohort.with_columns(pl.lit("2017Q4").alias("cohort_period"),
                                      pl.col("true_risk").alias("ogrs4g3"))
    run = run_contract(contract, cohort, data.events)
    print(run.statement, end="\n\n")
    print(run.statement.explain("L1"))
    assert run.statement.line("L2").rule == "not in force"
    return {"2015/16": statement.total, "2015Q4": quarter.total,
            "synthetic 2017Q4": run.statement.total}


if __name__ == "__main__":
    main()
