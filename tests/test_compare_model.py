"""The one comparison model (docs/methodology/comparison.md): the measure registry, a
scheme's spec driving pbr.compare, every comparator form, and outcomes for pbr.pay."""

from __future__ import annotations

import re
import warnings
from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import pbr
from pbr.compare import MEASURES, ComparisonSpec, measure_info
from pbr.errors import SmallSampleWarning, SpecError
from pbr.risk import Baseline, fit_casemix
from pbr.stats import diff_in_diff

PAGE = Path(__file__).resolve().parents[1] / "docs" / "methodology" / "comparison.md"
_FENCE = re.compile(r"^```(python|text)[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    data = pbr.synth.generate(1500, seed=11)
    return pbr.measure(data.cohort, data.events).frame


def _cohort(k: int, n: int, start: int = 0) -> pl.DataFrame:
    return pl.DataFrame({"offender_id": range(start, start + n),
                         "reoffended": [True] * k + [False] * (n - k),
                         "reoffences": [2] * k + [0] * (n - k)})


def test_page_examples_print_what_the_page_shows(capsys) -> None:
    text = PAGE.read_text(encoding="utf-8")
    blocks = [(m.group(1), m.group(2)) for m in _FENCE.finditer(text)]
    namespace: dict[str, object] = {"__name__": "__docs__"}
    assert sum(lang == "python" for lang, _ in blocks) >= 3
    for (lang, code), nxt in zip(blocks, [*blocks[1:], ("", "")], strict=True):
        if lang == "python":
            exec(compile(code, str(PAGE), "exec"), namespace)
            out = capsys.readouterr().out
            if nxt[0] == "text":
                assert nxt[1].strip() in out, (code, out)


def test_registry_is_the_one_list_of_names(frame) -> None:
    """Every scheme's measures, every summary column named as a measure, and every
    contract measure are registry names."""
    summary = pbr.measure(*_small()).summary().columns
    for m in MEASURES.values():
        if m.name != "custody_days_per_offender" and m.table == "measure":
            assert m.name in summary, m.name
    for name in pbr.available_schemes():
        for m in pbr.scheme(name).comparison.measures:
            assert m in MEASURES
    from pbr.contract.outcome import MEASURES as CONTRACT_MEASURES
    assert set(CONTRACT_MEASURES) <= set(MEASURES)
    assert measure_info("frequency").name == "per_offender"
    with pytest.raises(SpecError, match=r"measure: unknown measure 'rate'.*binary_rate"):
        measure_info("rate")
    assert ComparisonSpec(measures=["binary", "frequency"]).measures == (
        "binary_rate", "per_offender")


def _small() -> tuple[object, object]:
    data = pbr.synth.generate(50, seed=2)
    return data.cohort, data.events


def test_spec_drives_the_test_and_its_setting_changes_the_answer() -> None:
    cohort, group = _cohort(30, 100), _cohort(40, 100, start=1000)
    jdl = pbr.compare(cohort, group, spec="justice_data_lab")
    assert jdl.frame["method"][0].startswith("normal")
    assert jdl.level == 0.95 and jdl.provenance["spec"]["name"] == "justice_data_lab"
    # a fixed baseline tested with the CRC form uses the null variance p0(1-p0)/n
    crc = ComparisonSpec(kind="fixed_baseline", baseline="2011", test="baseline_interval")
    a = pbr.compare(cohort, 0.4, spec=crc).frame.row(0, named=True)
    b = pbr.compare(cohort, 0.4).frame.row(0, named=True)
    assert a["se"] == pytest.approx(np.sqrt(0.4 * 0.6 / 100))
    assert b["se"] == pytest.approx(np.sqrt(0.3 * 0.7 / 100))
    # a test of 'none' gives estimates but no conclusion
    none = crc.replace(test="none")
    r = pbr.compare(cohort, 0.4, spec=none).frame.row(0, named=True)
    assert r["significant"] is None and r["conclusion"].startswith("no test")
    assert r["estimate"] == pytest.approx(-0.1)
    # sides and level change the verdict
    less = crc.replace(sides="less", level=0.9)
    assert pbr.compare(_cohort(32, 100), 0.4, spec=less).frame["significant"][0] is True
    assert pbr.compare(_cohort(32, 100), 0.4, spec=crc).frame["significant"][0] is False


def test_jdl_refuses_fewer_than_60_with_the_reason() -> None:
    group = _cohort(40, 100, start=1000)
    with pytest.warns(SmallSampleWarning, match="59 people, below the minimum of 60"):
        r = pbr.compare(_cohort(5, 59), group, spec="justice_data_lab")
    assert r.frame["significant"][0] is None
    assert r.frame["conclusion"][0] == ("not assessed: 59 people, below the minimum of 60 "
                                        "(justice_data_lab rule)")
    assert pbr.compare(_cohort(5, 60), group, spec="justice_data_lab").frame[
        "significant"][0] is True


def test_match_result_comparator_equals_explicit_weights(frame) -> None:
    df = frame.with_columns(pl.col("treated").cast(pl.Int8))
    match = pbr.match(df, "treated", covariates=["age", "sex"], id="offender_id")
    via_match = pbr.compare(frame, match)
    w = match.frame.select(pl.col("offender_id"), "weight", pl.col("treated").cast(pl.Boolean))
    joined = frame.join(w, on=["offender_id"], suffix="_m").filter(pl.col("weight") > 0)
    treated = joined.filter(pl.col("treated"))
    controls = joined.filter(~pl.col("treated"))
    explicit = pbr.compare(treated, controls, weights="weight")
    for col in ("estimate", "lower", "upper", "comparator_value"):
        assert via_match.frame[col][0] == pytest.approx(explicit.frame[col][0], rel=1e-12)
    assert via_match.comparator == "matched comparison group"
    assert via_match.provenance["comparator"]["matched_pairs"] == match.pairs.height
    with pytest.raises(SpecError, match=r"matched unit.*have no measured row"):
        pbr.compare(frame.head(100), match)
    with pytest.raises(SpecError, match="brings its own match weights"):
        pbr.compare(frame, match, weights="x")


def test_casemix_model_and_baseline_with_model(frame) -> None:
    historic = frame.filter(pl.col("cohort_period") == "2019Q1")
    current = frame.filter(pl.col("cohort_period") != "2019Q1")
    model = fit_casemix(historic, ["age", "prior_sanctions"], measure="binary_rate")
    pred = model.predict(current)
    by_model = pbr.compare(current, model)
    by_column = pbr.compare(current.with_columns(p=pl.Series(pred)), "p")
    assert by_model.frame["comparator_value"][0] == pytest.approx(pred.mean(), rel=1e-12)
    assert by_model.frame["estimate"][0] == pytest.approx(by_column.frame["estimate"][0])
    b = 0.3
    base = Baseline.from_values({"binary_rate": b, "n": historic.height, "predicted_rate": 0.25},
                                spec="crc_pbr_2015", label="2019Q1")
    add = pbr.compare(current, base, model=model)
    ratio = pbr.compare(current, base, model=model, form="ratio")
    assert add.frame["comparator_value"][0] == pytest.approx(b + pred.mean() - 0.25)
    assert ratio.frame["comparator_value"][0] == pytest.approx(b * pred.mean() / 0.25)
    assert add.frame["predicted_baseline"][0] == 0.25
    with pytest.raises(SpecError, match="model: the case-mix model predicts binary_rate"):
        pbr.compare(current, base, model=model, measure="per_offender")
    with pytest.raises(SpecError, match=r"model: a case-mix model adjusts a pbr\.risk\.Baseline"):
        pbr.compare(current, 0.3, model=model)


def test_difference_in_differences_equals_the_stats_function(frame) -> None:
    after = pl.col("cohort_period").is_in(["2019Q3", "2019Q4"])
    prog = pl.col("area").str.starts_with("P1")
    parts = [frame.filter(prog & ~after), frame.filter(prog & after),
             frame.filter(~prog & ~after), frame.filter(~prog & after)]
    for form in ("additive", "ratio"):
        res = pbr.compare(parts[1], parts[3], measure="frequency", before=parts[0],
                          comparator_before=parts[2], form=form)
        y = [p["reoffences"].cast(pl.Float64).to_numpy() for p in parts]
        iv = diff_in_diff(*y, kind="mean", form=form)
        r = res.frame.row(0, named=True)
        assert (r["estimate"], r["lower"], r["upper"]) == pytest.approx(
            (iv.estimate, iv.lower, iv.upper), rel=1e-12)
        m = [float(v.mean()) for v in y]
        counterfactual = m[0] + m[3] - m[2] if form == "additive" else m[0] * m[3] / m[2]
        assert r["comparator_value"] == pytest.approx(counterfactual)
        assert res.method == "difference in differences"
    rikers_like = ComparisonSpec(kind="difference_in_differences", measures=["frequency"],
                                 test="welch_t", form="ratio", sides="less")
    via_spec = pbr.compare(parts[1], parts[3], before=parts[0], comparator_before=parts[2],
                           spec=rikers_like)
    plain = pbr.compare(parts[1], parts[3], measure="frequency")
    assert via_spec.form == "ratio" and via_spec.frame["estimate"][0] != pytest.approx(
        plain.frame["estimate"][0])
    with pytest.raises(SpecError, match="compares with a comparison group with before="):
        pbr.compare(parts[1], parts[3], spec=rikers_like)


def test_outcomes_feed_pay_and_thresholds_agree_with_significance() -> None:
    for k in (30, 37, 45, 52):
        res = pbr.compare(_cohort(k, 100), 0.45, variance="null")
        (o,) = res.outcomes(cohort="c1")
        sig = res.frame.row(0, named=True)
        reduction = bool(sig["significant"]) and sig["estimate"] < 0
        assert (o.actual < o.lower) == reduction, k
        assert o.actual == Decimal(k) and o.comparator == Decimal("45.000000")
    (p,) = pbr.compare(_cohort(30, 100), 0.45).outcomes(cohort="c1", unit="proportion")
    assert p.actual == Decimal("0.300000")
    contract = pbr.Contract.from_toml('''
[contract]
schema = 1
name = "t"
version = "1"
currency = "GBP"
rate_unit = "percent"
parties = { payer = "A", provider = "B" }
[cohorts]
column = "cohort"
period = [{ name = "c1", start = 2019-01-01, year = "2019" }]
[measure]
preset = "crc_pbr_2015"
[comparator]
kind = "baseline"
values = { binary_rate = 45.0 }
[[component]]
name = "binary"
kind = "linear"
measure = "binary_rate"
basis = "points_per_offender"
price = 10.00
trigger = "significant"
''')
    outcomes = pbr.compare(_cohort(30, 100), 0.45, variance="null").outcomes(
        cohort="c1", contract=contract)
    assert outcomes[0].start is not None
    statement = pbr.pay(contract, outcomes)
    assert statement.total == Decimal("15000.00")   # 15 points x 100 offenders x 10
    with pytest.raises(SpecError, match="cohort: name the cohort"):
        pbr.compare(_cohort(30, 100), 0.45).outcomes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grouped = pbr.compare(_cohort(30, 100).with_columns(
            c=pl.Series(["a", "b"] * 50)), 0.45, by="c")
    assert [o.cohort for o in grouped.outcomes()] == ["a", "b"]
