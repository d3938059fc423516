"""Baselines: built from a measured cohort or published values, TOML round-trip, checks."""

from __future__ import annotations

import datetime as dt
import doctest
import re
from pathlib import Path

import polars as pl
import pytest

import pbr
import pbr.risk.baseline
from pbr.errors import SchemaError, SpecError
from pbr.risk.baseline import Baseline, BaselineGroup


def _result() -> pbr.MeasureResult:
    data = pbr.synth.generate(1_500, seed=4)
    return pbr.measure(data.cohort, data.events, "crc_pbr_2015")


def test_doctests() -> None:
    assert doctest.testmod(pbr.risk.baseline).failed == 0


def test_from_result_matches_the_measure_summary() -> None:
    res = _result()
    b = Baseline.from_result(res, by=["provider", "sex"], label="synthetic", source="seed 4",
                             predicted="true_risk")
    summary = res.summary(by=["provider", "sex"])
    frame = b.to_frame()
    assert frame.select("provider", "sex").rows() == summary.select("provider", "sex").rows()
    for col in ("n", "reoffenders", "reoffences"):
        assert frame[col].to_list() == summary[col].to_list()
    for col in ("binary_rate", "per_offender", "per_reoffender"):
        assert frame[col].to_list() == pytest.approx(summary[col].to_list(), rel=1e-15)
    # rates are proportions, as in the summary
    assert 0 < frame["binary_rate"].max() < 1 and 0 < frame["predicted_rate"].max() < 1
    expected_pred = res.frame.group_by("provider", "sex").agg(
        pl.col("true_risk").mean().alias("p")).sort("provider", "sex")["p"]
    assert frame["predicted_rate"].to_list() == pytest.approx(expected_pred.to_list())
    # standard deviations of the counts, overall and among reoffenders (ddof = 1)
    g = res.frame.filter((pl.col("provider") == "P1") & (pl.col("sex") == "M"))
    assert b.value("per_offender_sd", ("P1", "M")) == pytest.approx(
        g["reoffences"].cast(pl.Float64).std())
    assert b.value("per_reoffender_sd", ("P1", "M")) == pytest.approx(
        g.filter(pl.col("reoffended"))["reoffences"].cast(pl.Float64).std())
    assert b.spec == res.spec and b.by == ("provider", "sex")


def test_overall_baseline_and_round_trip() -> None:
    res = _result()
    b = Baseline.from_result(res, label="all")
    assert b.by == () and len(b.groups) == 1
    assert b.value("n") == res.frame.height
    again = Baseline.from_toml(b.to_toml())
    assert again == b
    assert again.to_toml() == b.to_toml()


def test_round_trip_keeps_key_types(tmp_path: object) -> None:
    b = Baseline.from_values(
        [{"quarter": dt.date(2011, 1, 1), "area": 3, "n": 10, "reoffenders": 4},
         {"quarter": dt.date(2011, 4, 1), "area": 3, "binary_rate": 0.4125}],
        by=["quarter", "area"], spec="moj_national_2011", label="x", source="y")
    again = Baseline.from_toml(b.to_toml())
    assert again == b
    assert again.groups[0].key == (dt.date(2011, 1, 1), 3)
    assert again.value("binary_rate", (dt.date(2011, 1, 1), 3)) == 0.4
    assert "binary_rate = 0.4125" in b.to_toml()     # proportions in the TOML too


def test_from_values_derives_rates_from_counts() -> None:
    g = BaselineGroup((), n=700_000, reoffenders=180_000, reoffences=510_000)
    # PR-2009 [PRS-Press-2011]: ~26% and 2.79-2.83 reoffences per reoffender
    assert g.binary_rate == pytest.approx(180_000 / 700_000)
    # compared with the published 26.3% as 100 x the proportion (rounded inputs)
    assert abs(100 * g.binary_rate - 26.3) < 1.0
    assert g.per_reoffender == pytest.approx(510_000 / 180_000)
    assert g.per_offender == pytest.approx(510_000 / 700_000)
    # PR-2010 [PRS-Press-2011]: 497,969 offences by 173,274 reoffenders = 2.874
    assert round(BaselineGroup((), reoffenders=173_274, reoffences=497_969).per_reoffender,
                 3) == 2.874


def test_published_rates_within_rounding_are_kept() -> None:
    # PR-1011: ~630,000 offenders, ~170,000 reoffenders, published 26.9%
    g = BaselineGroup((), n=630_000, reoffenders=170_000, binary_rate=0.269)
    assert g.binary_rate == 0.269
    # half a percentage point of rounding is tolerated, more is not
    assert BaselineGroup((), n=630_000, reoffenders=170_000, binary_rate=0.274
                         ).binary_rate == 0.274
    with pytest.raises(SpecError, match=r"binary_rate: 0.3 disagrees"):
        BaselineGroup((), n=630_000, reoffenders=170_000, binary_rate=0.30)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"n": -1}, "n: expected a whole number"),
    ({"n": 2.5}, "n: expected a whole number"),
    ({"binary_rate": "high"}, "binary_rate: expected a number"),
    ({"binary_rate": 47.5}, r"binary_rate: 47.5 is above 1; rates are proportions: give "
                            r"0.475 for 47.5%"),
    ({"binary_rate": 120.0}, r"binary_rate: 120 is above 1; rates are proportions: give a "
                             r"proportion from 0 to 1 \(0.475 for 47.5%\)"),
    ({"predicted_rate": 44.0}, r"predicted_rate: 44 is above 1; .* give 0.44 for 44%"),
    ({"n": 5, "reoffenders": 6}, "reoffenders: 6 is more than n"),
    ({"per_reoffender": -1.0}, "per_reoffender: must be >= 0"),
])
def test_bad_group_values(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(SpecError, match=match):
        BaselineGroup((), **kwargs)  # type: ignore[arg-type]


def test_baseline_validation() -> None:
    spec = pbr.preset("doncaster_pbr")
    with pytest.raises(SpecError, match="groups: a group key appears twice"):
        Baseline.from_values([{"a": 1, "n": 2}, {"a": 1, "n": 3}], by="a", spec=spec)
    with pytest.raises(SpecError, match="lacks its key"):
        Baseline.from_values([{"n": 2}], by="a", spec=spec)
    with pytest.raises(SpecError, match="unknown field"):
        Baseline.from_values({"rate": 2.0}, spec=spec)
    with pytest.raises(SpecError, match="clash"):
        Baseline.from_values([{"n": 2}], by="n", spec=spec)
    with pytest.raises(SpecError, match="at least one group"):
        Baseline((), spec=spec)
    with pytest.raises(SpecError, match="expected a MeasureResult"):
        Baseline.from_result(pl.DataFrame({"a": [1]}))
    with pytest.raises(SpecError, match="unknown preset"):
        Baseline.from_values({"n": 1}, spec="nope")
    with pytest.raises(SpecError, match=r"missing the \[group\] table"):
        Baseline.from_toml("[baseline]\nlabel='x'\n[measure]\nname='x'\n")


def test_rates_in_per_cent_are_refused_not_rescaled() -> None:
    """A rate above 1 reads as per cent: from_values and from_toml refuse it, naming the
    field, the value and the fix, and never divide it by 100 silently."""
    with pytest.raises(SpecError, match=r"group \('N',\): binary_rate: 47.5 is above 1; "
                                        r"rates are proportions: give 0.475 for 47.5%"):
        Baseline.from_values([{"area": "N", "binary_rate": 47.5}], by="area",
                             spec="crc_pbr_2015")
    good = Baseline.from_values([{"area": "N", "binary_rate": 0.475, "predicted_rate": 0.44}],
                                by="area", spec="crc_pbr_2015")
    text = good.to_toml()
    assert Baseline.from_toml(text) == good
    with pytest.raises(SpecError, match=r"predicted_rate: 44 is above 1.*give 0.44 for 44%"):
        Baseline.from_toml(text.replace("predicted_rate = 0.44", "predicted_rate = 44.0"))
    # exactly 1 (everyone reoffended) is a proportion, not 1%
    assert Baseline.from_values({"binary_rate": 1.0}, spec="crc_pbr_2015"
                                ).value("binary_rate") == 1.0


def test_from_result_schema_errors() -> None:
    res = _result()
    with pytest.raises(SchemaError, match="column 'region' is not in"):
        Baseline.from_result(res, by="region")
    broken = type(res)(res.frame.with_columns(
        true_risk=pl.when(pl.col("age") > 40).then(None).otherwise(pl.col("true_risk"))),
        res.spec, res.engine)
    with pytest.raises(SchemaError, match="column 'true_risk': missing prediction"):
        Baseline.from_result(broken, predicted="true_risk")


def test_frozen_and_printable() -> None:
    b = Baseline.from_values([{"area": "A", "n": 100, "reoffenders": 45, "reoffences": 130},
                              {"area": "B", "binary_rate": 0.5517, "per_reoffender": 5.15}],
                             by="area", spec="crc_pbr_2015", label="CRC 2011",
                             source="published")
    with pytest.raises(AttributeError):
        b.label = "other"  # type: ignore[misc]
    text = str(b)
    assert text == str(Baseline.from_toml(b.to_toml()))
    assert "CRC 2011" in text and "published" in text
    # rates shown in per cent, labelled; held as proportions
    assert "binary_rate (%)" in text and "predicted_rate (%)" in text
    assert "45.00" in text and "55.17" in text and "5.150" in text
    assert b.value("binary_rate", "A") == 0.45
    with pytest.raises(SpecError, match="no baseline group"):
        b.group("C")
    assert b.to_pandas().shape == (2, 1 + 10)
    assert len(b.provenance["baseline_sha256"]) == 64


_FENCE = re.compile(r"^```(python|text)[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
PAGE = Path(__file__).resolve().parents[1] / "docs" / "methodology" / "baselines.md"


def test_baselines_page_runs_and_prints_what_it_shows(
        capsys: pytest.CaptureFixture[str]) -> None:
    """Every python block of docs/methodology/baselines.md runs, and each text block is
    what the python block before it printed."""
    text = PAGE.read_text(encoding="utf-8")
    blocks = list(_FENCE.finditer(text))
    assert sum(m.group(1) == "python" for m in blocks) >= 2
    printed = ""
    for m in blocks:
        line = text.count("\n", 0, m.start()) + 2
        if m.group(1) == "python":
            capsys.readouterr()
            exec(compile("\n" * (line - 1) + m.group(2), str(PAGE), "exec"),
                 {"__name__": "__docs__"})
            printed = capsys.readouterr().out
        else:
            assert m.group(2).strip() in printed, f"baselines.md:{line}"
