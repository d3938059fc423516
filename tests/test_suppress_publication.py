"""Publication mode: MeasureResult.summary and ComparisonResult.summary under disclosure
control give the same table as pbr.suppress, with small groups withheld."""

from __future__ import annotations

import warnings

import polars as pl

import pbr
from pbr.suppress import DisclosureRules, suppress


def per_offender() -> pl.DataFrame:
    # group a: 4 people (2 reoffended); b: 6 (none); c: 200 (60)
    return pl.DataFrame({"offender_id": range(210), "g": ["a"] * 4 + ["b"] * 6 + ["c"] * 200,
                         "reoffended": [True] * 2 + [False] * 8 + [True] * 60 + [False] * 140})


def test_measure_summary_publication_mode() -> None:
    data = pbr.synth.generate(300, seed=2)
    res = pbr.measure(data.cohort, data.events)
    plain = res.summary(by="sex")
    pub = res.summary(by="sex", publication=True)
    assert pub.equals(suppress(plain).frame)
    assert res.summary(by="sex", disclosure="threshold_5_round_5").equals(
        suppress(plain, "threshold_5_round_5").frame)
    assert res.summary(by="sex").equals(plain)           # off by default
    # a small group: 3 offenders of one sex withheld, with the other sex (total known)
    frame = res.frame.with_columns(pl.when(pl.arange(0, pl.len()) < 3).then(pl.lit("X"))
                                   .otherwise(pl.col("sex")).alias("sex"))
    small = pbr.MeasureResult(frame, res.spec, res.engine)
    pub = small.summary(by="sex", publication=True)
    assert pub.filter(pl.col("sex") == "X")["n"][0] is None
    assert pub.filter(pl.col("sex") == "X")["binary_rate"][0] is None
    assert pub.filter(pl.col("sex") == "F")["n"][0] is None   # the next smallest goes too
    assert pub.filter(pl.col("sex") == "M")["n"][0] is not None


def test_comparison_summary_publication_mode() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cmp = pbr.compare(per_offender(), 0.3, by="g")
    pub = cmp.summary(publication=True)
    rows = {r["g"]: r for r in pub.iter_rows(named=True)}
    assert rows["a"]["n"] is None and rows["a"]["estimate"] is None
    assert rows["b"]["n"] is None and rows["b"]["p_value"] is None
    # c's 60 reoffenders would give away a's 2 from the total of 62: c's rate, and the
    # effect that gives the rate back from the comparator, are withheld; its size is not
    assert rows["c"]["n"] == 200
    assert rows["c"]["cohort_value"] is None and rows["c"]["estimate"] is None
    assert rows["c"]["comparator_value"] == 0.3
    assert cmp.summary().height == 3 and cmp.summary()["n"].null_count() == 0
    loose = cmp.summary(disclosure=DisclosureRules(threshold=2, complement=False))
    assert loose["n"].null_count() == 0
