"""Measure a synthetic cohort under three schemes' rules and compare providers.

Run: ``python examples/measure_synthetic.py``
"""

from __future__ import annotations

import pbr


def main(n: int = 5_000, seed: int = 11) -> dict[str, float]:
    data = pbr.synth.generate(n, seed=seed)
    histories = pbr.prepare(data.cohort, data.events, custody=data.custody)
    rates = {}
    for name in ("moj_national_2017", "peterborough_sib", "doncaster_pbr"):
        spec = pbr.preset(name).replace(severity_weights=data.severity_weights,
                                        serious_codes=data.serious_codes)
        result = histories.measure(spec)
        print(result, end="\n\n")
        print(result.summary(by="provider"), end="\n\n")
        rates[name] = float(result.summary()["binary_rate"][0])
    # the pilots count convictions only, so their rates cannot exceed the MoJ rate
    assert rates["doncaster_pbr"] <= rates["moj_national_2017"]
    return rates


if __name__ == "__main__":
    main()
