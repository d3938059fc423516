"""Time pbr.build_cohort on synthetic disposals.

    python benchmarks/cohort.py [--people 1000000] [--seed 1] [--repeats 3]

Prints one line per rule: disposal rows, cohort rows, the median seconds of the
repeats (after one warm-up run), and rows per second.
"""

from __future__ import annotations

import argparse
import statistics
import time

import pbr
from pbr.cohort.synth import generate_disposals

RULES = {
    "quarters (MoJ 2017)": pbr.CohortRule(),
    "rolling 12 months": pbr.CohortRule(period="rolling 12 months"),
    "financial years, once per person": pbr.CohortRule(period="financial_year",
                                                       multiple_periods=False),
    "first 1,000 (several cohorts each)": pbr.CohortRule(period="first_n"),
    "first 1,000 (once per person)": pbr.CohortRule(period="first_n",
                                                    multiple_periods=False),
    "quarters, every filter, tie by values": pbr.CohortRule(
        age_group="adult", sentence_length="< 12 months", tie_break="values",
        exclusions=["deported", "time_served", "breach_only", "released_from_court",
                    "died"]),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    disposals = pbr.Disposals.from_frame(generate_disposals(args.people, seed=args.seed))
    print(f"| rule | disposal rows | cohort rows | seconds (median of {args.repeats}) "
          "| rows/s |\n|---|---:|---:|---:|---:|")
    for name, rule in RULES.items():
        built = pbr.build_cohort(disposals, rule)
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            pbr.build_cohort(disposals, rule)
            times.append(time.perf_counter() - start)
        t = statistics.median(times)
        print(f"| {name} | {built.n_input:,} | {built.frame.height:,} | {t:.2f} | "
              f"{built.n_input / t:,.0f} |")


if __name__ == "__main__":
    main()
