"""HMP Doncaster: 10% of the annual contract value at risk on a 5-point target (9.4).

Published [V]/[V2]: cohort 1's binary reconviction rate fell 5.7 points against the 2009
baseline, meeting the 5-point target (the full contract value is paid); cohort 2 fell
3.3 points, missing it, and Serco returned 10% of that year's core contract value.  The
annual contract value is illustrative (not public); the baseline rate (about 58%) is
[R] and does not change the result, which depends only on the published differences.

Run: ``python examples/contract_doncaster.py``
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pbr
from pbr.contract import Outcome, pay

CONTRACT = Path(__file__).parent / "contracts" / "doncaster_pbr.toml"


def main() -> dict[str, Decimal]:
    contract = pbr.io.read_contract(CONTRACT)
    base = Decimal("58.0")
    # n: 1,178 eligible participants Oct 2011-Jun 2012 [V2] (the rule does not use n)
    c1 = Outcome("cohort 1", "binary_rate", actual=base - Decimal("5.7"), comparator=base,
                 n=1178, source="Doncaster 2009 baseline; published -5.7 points")
    c2 = Outcome("cohort 2", "binary_rate", actual=base - Decimal("3.3"), comparator=base,
                 n=1178, source="Doncaster 2009 baseline; published -3.3 points")
    statement = pay(contract, [c1, c2])
    print(statement, end="\n\n")
    for line in statement.lines:
        print(statement.explain(line.line), end="\n\n")
    totals = statement.totals("cohort")
    # DN-C1: target met -> the full contract value; DN-C2: missed -> 10% returned
    assert totals["cohort 1"] == Decimal("10000000.00")
    assert totals["cohort 2"] == Decimal("9000000.00")
    assert statement.line("L4").amount == Decimal("-1000000.00")
    return totals


if __name__ == "__main__":
    main()
