"""Equality impact: disparities, effects and payment shares worked by hand."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pbr
from pbr.contract.statement import Line, PaymentStatement
from pbr.equality import AGE_BANDS, age_band, difference, equality, mean_ratio, risk_ratio
from pbr.errors import SchemaError, SpecError

Z = 1.959963984540054


def cohort() -> pl.DataFrame:
    # women: 10 of 50 reoffended, one reoffence each; men: 45 of 150, two each
    return pl.DataFrame({
        "offender_id": range(200),
        "sex": ["F"] * 50 + ["M"] * 150,
        "reoffended": [True] * 10 + [False] * 40 + [True] * 45 + [False] * 105,
        "reoffences": [1] * 10 + [0] * 40 + [2] * 45 + [0] * 105,
        "age": [19] * 25 + [30] * 25 + [30] * 100 + [52] * 50,
    })


def test_risk_ratio_katz_by_hand() -> None:
    # RR = 0.2 / 0.3; se = sqrt(1/10 - 1/50 + 1/45 - 1/150) = 0.309121
    r = risk_ratio(10, 50, 45, 150, Z)
    se = math.sqrt(1 / 10 - 1 / 50 + 1 / 45 - 1 / 150)
    assert r.estimate == pytest.approx(2 / 3)
    assert r.se == pytest.approx(se) and se == pytest.approx(0.309121, abs=1e-6)
    assert r.lower == pytest.approx(math.exp(math.log(2 / 3) - Z * se))
    assert (round(r.lower, 4), round(r.upper, 4)) == (0.3637, 1.2219)
    assert r.p_value == pytest.approx(0.189631, abs=1e-6)
    zero = risk_ratio(0, 20, 5, 40, Z)        # Haldane: (0.5/21) / (5.5/41)
    assert zero.estimate == pytest.approx((0.5 / 21) / (5.5 / 41))
    assert zero.note is not None


def test_mean_ratio_and_difference_by_hand() -> None:
    # women: mean 0.2, sd^2 = 8/49; men: mean 0.6, sd^2 = 126/149
    r = mean_ratio(0.2, math.sqrt(8 / 49), 50, 0.6, math.sqrt(126 / 149), 150, Z)
    se = math.sqrt((8 / 49) / (50 * 0.04) + (126 / 149) / (150 * 0.36))
    assert r.se == pytest.approx(se)
    assert r.p_value == pytest.approx(0.000428, abs=2e-6)
    d = difference(-0.05, 0.03, -0.01, 0.04, Z)
    assert d.estimate == pytest.approx(-0.04) and d.se == pytest.approx(0.05)


def test_equality_on_a_measure() -> None:
    res = equality(cohort(), by="sex")
    assert res.reference == {"sex": "M"}                 # the largest group
    o = res.outcomes.row(0, named=True)
    assert (o["group"], o["n"], o["share"], o["reoffenders"], o["binary_rate"]) == \
        ("F", 50, 0.25, 10, 0.2)
    d = {r["measure"]: r for r in res.disparities.iter_rows(named=True)}
    assert d["binary_rate"]["ratio"] == pytest.approx(2 / 3)
    assert d["binary_rate"]["p_value"] == pytest.approx(0.189631, abs=1e-6)
    # Holm over the two tests: the smaller p doubled, the larger kept
    assert d["per_offender"]["p_adjusted"] == pytest.approx(2 * d["per_offender"]["p_value"])
    assert d["binary_rate"]["p_adjusted"] == pytest.approx(d["binary_rate"]["p_value"])
    assert d["per_offender"]["significant"] and not d["binary_rate"]["significant"]
    bh = equality(cohort(), by="sex", correction="bh").disparities
    assert bh["p_adjusted"].to_list() == pytest.approx(
        [d["binary_rate"]["p_value"], 2 * d["per_offender"]["p_value"]])
    named = equality(cohort(), by="sex", reference={"sex": "F"})
    assert named.disparities["group"].to_list() == ["M", "M"]
    text = res.explain("sex", "F")
    assert "10 / 50 = 0.2000" in text and "Katz" in text
    assert "reference groups: sex=M" in str(res)


def test_age_bands_from_age_and_date_of_birth() -> None:
    res = equality(cohort(), by=["sex", "age_band"])
    bands = res.outcomes.filter(pl.col("characteristic") == "age_band")
    assert bands["group"].to_list() == ["18-20", "30-34", "50+"]
    assert bands["n"].to_list() == [25, 125, 50]
    assert res.reference["age_band"] == "30-34"
    f = pl.DataFrame({"index_date": [dt.date(2020, 3, 1)] * 3,
                      "date_of_birth": [dt.date(2002, 3, 2), dt.date(2002, 3, 1),
                                        dt.date(1970, 1, 1)]})
    assert age_band(f).to_list() == ["15-17", "18-20", "50+"]
    assert AGE_BANDS[0][2] == "10-14"


def test_missing_characteristic_is_a_group_never_the_reference() -> None:
    f = cohort().with_columns(pl.when(pl.col("offender_id") < 120).then(None)
                              .otherwise(pl.col("sex")).alias("sex"))
    res = equality(f, by="sex")
    assert "not recorded" in res.outcomes["group"].to_list()
    assert res.reference["sex"] == "M"


def test_effects_and_payment_shares_with_expected_values() -> None:
    res = equality(cohort(), by="sex", expected={"binary_rate": 0.3, "per_offender": 0.6})
    e = res.effects.filter(pl.col("measure") == "binary_rate")
    assert e["effect"].to_list() == pytest.approx([-0.1, 0.0])
    p = res.payments.row(0, named=True)
    # women: 15 expected reoffenders, 10 observed -> all of the 5 the cohort avoided
    assert p["payment_share"] == pytest.approx(1.0)
    assert p["proportionality"] == pytest.approx(4.0)
    assert p["avoided_share"] == pytest.approx(1.0)     # 30 - 10 = 20 of 20 avoided


def test_statement_split_by_group_to_the_penny() -> None:
    f = pl.DataFrame({"offender_id": range(6), "sex": ["A"] * 3 + ["B"] * 3,
                      "reoffended": [False, False, False, True, False, False],
                      "reoffences": [0, 0, 0, 1, 0, 0]})
    lines = (Line("L1", "c1", "fee", "fee for service", Decimal("100.00")),
             Line("L2", "c1", "binary", "linear", Decimal("90.01"), measure="binary_rate",
                  baseline=Decimal("50"), actual=Decimal("16.666667")))
    stmt = PaymentStatement("t", "1", "GBP", lines, Decimal("190.01"))
    res = equality(stmt, by="sex", measure=f)
    # expected 0.5 each: A contributes 1.5, B 0.5 -> 67.5075 and 22.5025; the spare
    # penny to the larger remainder (A); the fee by cohort share, 50 / 50
    a = res.allocation.filter(pl.col("line") == "L2")
    assert a["amount"].to_list() == [Decimal("67.51"), Decimal("22.50")]
    assert a["basis"].to_list() == ["outcome", "outcome"]
    pay = res.payments
    assert pay["amount"].to_list() == [Decimal("117.51"), Decimal("72.50")]
    assert sum(pay["amount"].to_list()) == stmt.total
    assert pay["payment_share"][0] == pytest.approx(117.51 / 190.01)
    assert "L2" in res.explain("sex", "A")


def test_contract_run_reconciles() -> None:
    contract = pbr.Contract.from_toml(pbr.contract.spec.demo_contract_text())
    data = pbr.synth.generate(600, seed=2024)
    run = pbr.run_contract(contract, data.cohort, data.events)
    res = equality(run, by=["sex", "age_band"])
    for k in ("sex", "age_band"):
        amounts = res.payments.filter(pl.col("characteristic") == k)["amount"].to_list()
        assert sum(amounts) == run.statement.total
    again = equality(run, by=["sex", "age_band"])
    assert again.payments.equals(res.payments) and again.disparities.equals(res.disparities)


def test_comparison_grouped_by_the_characteristic() -> None:
    cmp = pbr.compare(cohort(), 0.35, by="sex")
    res = equality(cmp, by="sex")
    p = {r["group"]: r for r in res.payments.iter_rows(named=True)}
    # 50 x (0.35 - 0.2) = 7.5 and 150 x (0.35 - 0.3) = 7.5: half each
    assert p["F"]["payment_share"] == pytest.approx(0.5)
    assert p["F"]["proportionality"] == pytest.approx(2.0)
    assert p["M"]["proportionality"] == pytest.approx(2 / 3)
    eff = res.effects.filter(pl.col("group") == "F").row(0, named=True)
    assert eff["gap"] == pytest.approx(-0.1)
    with pytest.raises(SpecError, match="grouped by"):
        equality(pbr.compare(cohort(), 0.35), by="sex")


def test_publication_mode_withholds_small_groups() -> None:
    f = cohort().with_columns(pl.when(pl.col("offender_id") < 4).then(pl.lit("X"))
                              .otherwise(pl.col("sex")).alias("sex"))
    res = equality(f, by="sex")
    pub = res.summary(publication=True)
    x = pub.filter(pl.col("group") == "X").row(0, named=True)
    assert x["n"] is None and x["binary_rate"] is None and x["ratio"] is None
    # with the total known, the next smallest group goes too
    assert pub.filter(pl.col("group") == "F")["n"][0] is None
    assert pub.filter(pl.col("group") == "M")["n"][0] == 150
    assert res.published()[0].protected


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"by": "ethnicity"}, SchemaError, "no column 'ethnicity'"),
    ({"by": "sex", "reference": {"sex": "Z"}}, SpecError, "no group 'Z'"),
    ({"by": "sex", "correction": "bonferroni"}, SpecError, "correction"),
    ({"by": "sex", "level": 0.05}, SpecError, "level"),
    ({"by": "sex", "expected": {"binary_rate": 30.0}}, SpecError, "divide by 100"),
    ({"by": "sex", "expected": {"binary_rate": "p_hat"}}, SchemaError, "no column"),
    ({"by": "sex", "expected": {"severity": 1.0}}, SpecError, "keys are"),
    ({"by": "offender_id"}, SpecError, "identifier"),
    ({"by": []}, SpecError, "at least one"),
    ({"by": ["sex", "sex"]}, SpecError, "twice"),
])
def test_bad_inputs(kwargs: dict[str, object], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        equality(cohort(), **kwargs)  # type: ignore[arg-type]


def test_bad_ages_and_sources() -> None:
    with pytest.raises(SchemaError, match="row 0: age 9"):
        equality(cohort().with_columns(pl.lit(9).alias("age")), by="age_band")
    with pytest.raises(SchemaError, match="no 'age' column"):
        equality(cohort().drop("age"), by="age_band")
    with pytest.raises(SpecError, match="without gaps"):
        equality(cohort(), by="age_band", age_bands=((10, 17, "a"), (19, None, "b")))
    with pytest.raises(SpecError, match="measure"):
        equality(PaymentStatement("t", "1", "GBP", (), Decimal("0.00")), by="sex")
    with pytest.raises(SpecError, match="give a MeasureResult"):
        equality([1, 2], by="sex")
    with pytest.raises(SchemaError, match="reoffended"):
        equality(cohort().drop("reoffended"), by="sex")


def test_equality_page_examples_run() -> None:
    import re
    from pathlib import Path

    page = Path(__file__).resolve().parents[1] / "docs" / "methodology" / "equality.md"
    blocks = re.findall(r"^```python\n(.*?)^```", page.read_text(encoding="utf-8"),
                        re.DOTALL | re.MULTILINE)
    assert len(blocks) == 2
    scope: dict[str, object] = {}
    for code in blocks:
        exec(compile(code, str(page), "exec"), scope)


def test_publication_of_a_comparison_withholds_the_count_behind_the_rate() -> None:
    # 200 people with 4 reoffenders: n is safe, but value x n = 4 is not
    f = pl.DataFrame({"offender_id": range(400), "g": ["a"] * 200 + ["b"] * 200,
                      "reoffended": [True] * 4 + [False] * 196 + [True] * 80
                      + [False] * 120})
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = equality(pbr.compare(f, 0.35, by="g"), by="g")
    (t,) = res.published()
    assert "_count" not in t.frame.columns
    a = t.frame.filter(pl.col("group") == "a").row(0, named=True)
    assert a["n"] == 200 and a["value"] is None and a["ratio"] is None
    # the other group's count gives a's back from the total: withheld too
    b = t.frame.filter(pl.col("group") == "b").row(0, named=True)
    assert b["value"] is None and b["n"] == 200
    assert set(t.audit["column"]) == {"count behind value"} and t.protected
    pandas = f.with_columns(reoffences=pl.col("reoffended").cast(pl.Int64)).to_pandas()
    assert equality(pandas, by="g").outcomes["n"].to_list() == [200, 200]


@settings(max_examples=40, deadline=None)
@given(st.integers(-10**7, 10**7), st.lists(st.integers(-50, 200), min_size=1, max_size=6),
       st.integers(0, 2))
def test_allocation_is_exact_and_within_a_unit(cents: int, raw: list[int],
                                               places: int) -> None:
    from fractions import Fraction

    from pbr.equality.core import _allocate

    if sum(raw) == 0:
        raw = [*raw, 1]
    weights = [Fraction(x, sum(raw)) for x in raw]
    amount = (Decimal(cents) / 100).quantize(Decimal(1).scaleb(-places))
    parts = _allocate(amount, weights, places)
    assert sum(parts) == amount
    unit = Fraction(1, 10 ** places)
    for part, w in zip(parts, weights, strict=True):
        assert abs(Fraction(part) - Fraction(amount) * w) < unit
