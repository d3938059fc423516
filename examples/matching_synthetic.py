"""Build a matched comparison group for a synthetic cohort and estimate the effect.

The synthetic treatment lowers the offending rate by a known factor, exp(true_effect),
but the riskier offenders were treated more often, so the naive comparison points the
wrong way.  Matching on the covariates, then measuring each comparison offender from
their own index date, recovers the effect.  Writes a Love plot when matplotlib is
installed (``pip install "pbr-reoffending[plot]"``).

Run: ``python examples/matching_synthetic.py [love_plot.png]``
"""

from __future__ import annotations

import math
import sys

import polars as pl

import pbr


def main(n: int = 30_000, seed: int = 1, plot: str | None = None) -> dict[str, float]:
    data = pbr.synth.generate(n, seed=seed)
    cohort = data.cohort.with_columns(log_priors=pl.col("prior_sanctions").log1p())
    covariates = ["sex", "age", "log_priors", "age_first_sanction", "offence_category",
                  "sentence", "area"]
    m = pbr.match(cohort, "treated", covariates, distance="logit", caliper=0.2, ratio=3,
                  replace=True, exact=["cohort_period"])
    print(m, end="\n\n")
    balance = m.balance()
    print(balance.summary(), end="\n\n")
    outcomes = pbr.measure(m.cohort(), data.events, "moj_national_2017")
    freq = pbr.estimate_effect(m, outcomes, "reoffences")
    binary = pbr.estimate_effect(m, outcomes, "reoffended")
    print(freq, binary, sep="\n\n", end="\n\n")
    e_point, e_limit = pbr.e_value(freq)
    print(f"E-value {e_point:.2f} (interval limit {e_limit})")
    print(f"true rate ratio {math.exp(data.true_effect):.3f}")
    if plot:
        from pbr.report.plots import love_plot

        love_plot(balance, title="Synthetic cohort: balance").savefig(plot, dpi=120)
    assert freq.ratio_ci is not None and freq.ratio_ci[0] < math.exp(data.true_effect) \
        < freq.ratio_ci[1]
    return {"ratio": float(freq.ratio or 0.0), "att_binary": binary.estimate}


if __name__ == "__main__":
    main(plot=sys.argv[1] if len(sys.argv) > 1 else None)
