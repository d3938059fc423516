"""OGRS3 (pbr.risk.ogrs3) against the published test vectors of tests/fixtures/ogrs3.

The vectors (inputs and expected output of the two MoJ implementations,
rsr-calculator and HMPPS's risk-actuarial service; docs/sources.md [NOMS-RSR-2018],
[HMPPS-ARNS-OGRS3], formula [Howard-OGRS3-2009]) are committed as
``tests/fixtures/ogrs3/vectors.csv`` with their provenance in the folder's README.
"""

from __future__ import annotations

import csv
import math
import re
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pbr.errors import SchemaError, SpecError
from pbr.risk import (
    OFFENCE_CATEGORIES,
    STATUSES,
    age_on,
    ogrs3,
    ogrs3_band,
    ogrs3_coefficients,
    ogrs3_score,
    ogrs3_terms,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ogrs3"


def _vectors() -> dict[str, dict[str, str]]:
    with (FIXTURES / "vectors.csv").open(newline="", encoding="utf-8") as f:
        return {row["id"]: row for row in csv.DictReader(f)}


VECTORS = _vectors()


def _day(text: str) -> date:
    return date.fromisoformat(text)


def _kwargs(row: dict[str, str]) -> dict[str, Any]:
    """The keyword arguments of :func:`ogrs3_terms` for one vector."""
    out: dict[str, Any] = {"sex": row["sex"], "offence_category": row["offence_category"],
                           "previous_sanctions": int(row["previous_sanctions"]),
                           "coefficients": row["coefficients"], "variant": row["variant"]}
    for name in ("age", "age_at_conviction", "age_at_first_sanction"):
        if row[name]:
            out[name] = int(row[name])
    for name in ("birth_date", "conviction_date", "first_sanction_date", "risk_start"):
        if row[name]:
            out[name] = _day(row[name])
    return out


def test_fixture_is_complete_and_documented() -> None:
    assert list(VECTORS) == ["J1", "J2", "J3", "J4", "J5", "J6", "T0", "T1", "T2", "T3",
                             "K1", "K2"]
    readme = (FIXTURES / "README.md").read_text(encoding="utf-8")
    sources = (FIXTURES.parents[2] / "docs" / "sources.md").read_text(encoding="utf-8")
    for row in VECTORS.values():
        assert f"[{row['source']}]" in readme and f"**[{row['source']}]**" in sources
        assert row["offence_category"] in OFFENCE_CATEGORIES
    assert "Howard" in readme and "Research\n  Summary 7/09" in readme


@pytest.mark.parametrize("case", list(VECTORS))
def test_published_vector(case: str) -> None:
    row = VECTORS[case]
    t = ogrs3_terms(**_kwargs(row))
    if row["decimals"]:
        d = int(row["decimals"])
        assert (round(t.p_1yr, d), round(t.p_2yr, d)) == (float(row["p_1yr"]),
                                                          float(row["p_2yr"]))
        if row["eta"]:
            assert round(t.eta, d) == float(row["eta"])
    else:
        assert (t.p_1yr, t.p_2yr) == pytest.approx(
            (float(row["p_1yr"]), float(row["p_2yr"])), abs=1e-12, rel=0)
    if row["band"]:
        assert ogrs3_band(t.p_2yr) == row["band"]


# --------------------------------------------------------------- rsr-calculator (J, T)
# J1-J5: male, violence, ages 20 at risk, conviction and first sanction.
J_CASES = [(int(VECTORS[c]["previous_sanctions"]), float(VECTORS[c]["p_1yr"]),
            float(VECTORS[c]["p_2yr"])) for c in ("J1", "J2", "J3", "J4", "J5")]


@pytest.mark.parametrize(("previous", "p1", "p2"), J_CASES)
def test_j1_to_j5_full_precision(previous: int, p1: float, p2: float) -> None:
    got = ogrs3_score(sex="male", previous_sanctions=previous, offence_category="violence",
                      age=20, age_at_conviction=20, age_at_first_sanction=20)
    assert got == pytest.approx((p1, p2), abs=1e-12, rel=0)


def test_j6_terms() -> None:
    t = ogrs3_terms(sex="female", previous_sanctions=5, offence_category="criminal_damage",
                    age=43, age_at_conviction=37, age_at_first_sanction=14)
    assert t.copas_term == pytest.approx(1.251124464 * math.log(6 / 33), abs=1e-15)
    assert t.status_term == 0.463062792
    assert t.age_term == -1.524652221
    assert t.offence_term == 0.204960477
    assert round(t.eta, 5) == -2.98948
    assert (round(t.p_1yr, 5), round(t.p_2yr, 5)) == (0.16982, 0.29572)
    eta = 1.251124464 * math.log(6 / 33) + 0.463062792 - 1.524652221 + 0.204960477
    assert t.eta == pytest.approx(eta, abs=1e-12)
    assert t.p_1yr == pytest.approx(1 / (1 + math.exp(-(1.402562384 + eta))), abs=1e-12)
    assert t.p_2yr == pytest.approx(1 / (1 + math.exp(-(2.121705678 + eta))), abs=1e-12)


# T0-T3: rsr-calculator test data; ages at the assessment date 2013-03-31.
T_CASES = [
    (VECTORS[c]["offence_category"], int(VECTORS[c]["previous_sanctions"]),
     _day(VECTORS[c]["birth_date"]), _day(VECTORS[c]["conviction_date"]),
     _day(VECTORS[c]["first_sanction_date"]), float(VECTORS[c]["p_1yr"]),
     float(VECTORS[c]["p_2yr"]))
    for c in ("T0", "T1", "T2", "T3")
]
ASSESSED = _day(VECTORS["T0"]["risk_start"])


@pytest.mark.parametrize(("category", "previous", "dob", "conv", "first", "p1", "p2"),
                         T_CASES)
def test_t0_to_t3_scalar(category: str, previous: int, dob: date, conv: date, first: date,
                         p1: float, p2: float) -> None:
    got = ogrs3_score(sex="male", previous_sanctions=previous, offence_category=category,
                      birth_date=dob, risk_start=ASSESSED, conviction_date=conv,
                      first_sanction_date=first)
    assert got == pytest.approx((p1, p2), abs=1e-12, rel=0)


def _t_frame() -> pl.DataFrame:
    return pl.DataFrame({
        "sex": ["M"] * 4,
        "birth_date": [c[2] for c in T_CASES],
        "conviction_date": [c[3] for c in T_CASES],
        "first_sanction_date": [c[4] for c in T_CASES],
        "previous_sanctions": [c[1] for c in T_CASES],
        "offence_category": [c[0] for c in T_CASES],
        "assessment_date": [ASSESSED] * 4,
    })


def test_t0_to_t3_vectorised_assessment_basis() -> None:
    out = ogrs3(_t_frame(), age_basis="assessment")
    for (*_, p1, p2), got1, got2 in zip(T_CASES, out["ogrs3_1yr"], out["ogrs3_2yr"],
                                        strict=True):
        assert got1 == pytest.approx(p1, abs=1e-12, rel=0)
        assert got2 == pytest.approx(p2, abs=1e-12, rel=0)


def test_pandas_input_gives_the_same() -> None:
    df = _t_frame()
    out = ogrs3(df.to_pandas(), age_basis="assessment")
    assert isinstance(out, pl.DataFrame)
    assert out["ogrs3_2yr"].to_list() == ogrs3(df, age_basis="assessment")["ogrs3_2yr"].to_list()


# --------------------------------------------------------------------- HMPPS (K1, K2)
_K = [VECTORS["K1"], VECTORS["K2"]]
K_FRAME = pl.DataFrame({
    "sex": [r["sex"] for r in _K],
    "birth_date": [_day(r["birth_date"]) for r in _K],
    "conviction_date": [_day(r["conviction_date"]) for r in _K],
    "risk_start_date": [_day(r["risk_start"]) for r in _K],
    "first_age": [int(r["age_at_first_sanction"]) for r in _K],
    "previous_sanctions": [int(r["previous_sanctions"]) for r in _K],
    "offence_category": [r["offence_category"] for r in _K],  # weights 0.7606 and 0.1599
})


def test_k1_k2_four_dp_hmpps() -> None:
    out = ogrs3(K_FRAME, first_sanction_age="first_age", coefficients="4dp",
                variant="hmpps", keep_terms=True)
    assert out["ogrs3_age"].to_list() == [60, 30]
    assert out["ogrs3_eta"].round(5).to_list() == [float(r["eta"]) for r in _K]
    assert out["ogrs3_1yr"].round(5).to_list() == [float(r["p_1yr"]) for r in _K]
    assert out["ogrs3_2yr"].round(5).to_list() == [float(r["p_2yr"]) for r in _K]
    assert out["ogrs3_band"].to_list() == [r["band"] for r in _K]
    # displayed as whole per cent: 8% / 16% and 11% / 20%
    assert (out["ogrs3_1yr"] * 100).round(0).to_list() == [8, 11]
    assert (out["ogrs3_2yr"] * 100).round(0).to_list() == [16, 20]


@pytest.mark.parametrize("variant", ["recommended", "hmpps", "rsr"])
def test_k1_k2_same_in_every_variant(variant: str) -> None:
    # No disputed term (male adults, repeat, soliciting/fraud) enters K1 or K2.
    out = ogrs3(K_FRAME, first_sanction_age="first_age", coefficients="4dp",
                variant=variant)  # type: ignore[arg-type]
    assert out["ogrs3_2yr"].round(5).to_list() == [float(r["p_2yr"]) for r in _K]


def test_k1_scalar_with_dates() -> None:
    t = ogrs3_terms(sex="M", previous_sanctions=1, offence_category="soliciting",
                    birth_date=date(1965, 12, 7), risk_start=date(2026, 12, 6),
                    conviction_date=date(2025, 5, 13), age_at_first_sanction=47,
                    coefficients="4dp")
    assert (t.age, t.age_at_conviction) == (60, 59)
    assert (round(t.p_1yr, 5), round(t.p_2yr, 5)) == (0.08324, 0.15710)
    assert ogrs3_band(t.p_2yr) == "low"


# ------------------------------------------------------------------ variants, pinned
def test_variant_discrepancies_pinned() -> None:
    rec = ogrs3_coefficients()
    rsr = ogrs3_coefficients(variant="rsr")
    hm = ogrs3_coefficients(variant="hmpps")
    # 1. motoring: HMPPS mapping is the default
    assert rec["offence"]["drink_driving"] == -0.121439408
    assert rec["offence"]["other_motoring"] == 0.262228428
    assert rsr["offence"]["drink_driving"] == 0.262228428
    assert hm["offence"]["drink_driving"] == -0.121439408
    # 2. sexual not against a child: rsr-calculator's value is the default
    assert rec["offence"]["sexual_not_child"] == 0.003276327
    assert hm["offence"]["sexual_not_child"] == 0.0328
    # 3. female 10-15: negative by default
    assert [rec["age"]["female"][b] for b in ("10-11", "12-13", "14-15")] == [
        -0.785038489, -0.613852078, -0.669521331]
    assert [hm["age"]["female"][b] for b in ("10-11", "12-13", "14-15")] == [
        0.785038489, 0.613852078, 0.669521331]
    # 4. status: HMPPS collapses to repeat / not
    assert rec["status"]["multiple_cautions"] == 0.34859587
    assert hm["status"]["multiple_cautions"] == 0.126142106
    assert rec["offence"] == OFFENCE_CATEGORIES
    assert len(OFFENCE_CATEGORIES) == 20


def test_status_column_levels() -> None:
    df = K_FRAME.head(1).with_columns(pl.lit("first_caution").alias("status"))
    base = ogrs3(df, first_sanction_age="first_age", status="status", keep_terms=True)
    assert base["ogrs3_status_term"][0] == 0.0
    hm = ogrs3(df, first_sanction_age="first_age", status="status", variant="hmpps",
               keep_terms=True)
    assert hm["ogrs3_status_term"][0] == 0.126142106
    with pytest.raises(SchemaError, match="status"):
        ogrs3(df.with_columns(pl.lit("bogus").alias("status")),
              first_sanction_age="first_age", status="status")


# ------------------------------------------------------------------------ ages, bands
def test_birthday_rule() -> None:
    assert age_on(date(2000, 5, 10), date(2020, 5, 9)) == 19
    assert age_on(date(2000, 5, 10), date(2020, 5, 10)) == 20
    assert age_on(date(2000, 2, 29), date(2021, 2, 28)) == 20
    assert age_on(date(2000, 2, 29), date(2021, 3, 1)) == 21
    df = pl.DataFrame({"b": [date(2000, 5, 10), date(2000, 2, 29)],
                       "d": [date(2020, 5, 9), date(2021, 3, 1)]})
    from pbr.risk.ogrs3 import _age_expr
    assert df.select(_age_expr("b", "d"))["d"].to_list() == [19, 21]


def test_bands() -> None:
    assert [ogrs3_band(p) for p in (0.0, 0.494, 0.495, 0.7449, 0.745, 0.8949, 0.895, 1.0)] \
        == ["low", "low", "medium", "medium", "high", "high", "very high", "very high"]
    with pytest.raises(SpecError):
        ogrs3_band(1.5)


# ------------------------------------------------------------------------ validation
def _one() -> pl.DataFrame:
    return pl.DataFrame({
        "sex": ["F"], "birth_date": [date(1990, 1, 1)], "conviction_date": [date(2020, 1, 1)],
        "first_sanction_date": [date(2010, 6, 1)], "previous_sanctions": [2],
        "offence_category": ["theft"], "risk_start_date": [date(2020, 6, 1)],
    })


def test_unknown_category_names_column_and_row() -> None:
    df = pl.concat([_one(), _one().with_columns(pl.lit("shoplifting").alias(
        "offence_category"))])
    with pytest.raises(SchemaError, match=r"'offence_category', row 1.*shoplifting.*violence"):
        ogrs3(df)
    with pytest.raises(SchemaError, match="shoplifting"):
        ogrs3_score(sex="F", previous_sanctions=0, offence_category="shoplifting", age=30,
                    age_at_conviction=30, age_at_first_sanction=30)


def test_age_at_conviction_under_10() -> None:
    df = _one().with_columns(pl.lit(date(2019, 1, 1)).alias("conviction_date"),
                             pl.lit(date(2015, 1, 1)).alias("first_sanction_date"),
                             pl.lit(date(2012, 1, 1)).alias("birth_date"))
    with pytest.raises(SchemaError, match=r"'conviction_date', row 0.*under 10"):
        ogrs3(df)
    with pytest.raises(SchemaError, match=r"under 10|10 or over"):
        ogrs3_score(sex="M", previous_sanctions=0, offence_category="other", age=12,
                    age_at_conviction=9, age_at_first_sanction=9)


def test_first_sanction_after_conviction() -> None:
    df = _one().with_columns(pl.lit(date(2020, 2, 1)).alias("first_sanction_date"))
    with pytest.raises(SchemaError, match=r"'first_sanction_date', row 0.*after the conviction"):
        ogrs3(df)
    df2 = _one().drop("first_sanction_date").with_columns(pl.lit(31).alias("fsa"))
    with pytest.raises(SchemaError, match=r"'fsa'.*above age at conviction"):
        ogrs3(df2, first_sanction_age="fsa")
    with pytest.raises(SchemaError, match="first sanction"):
        ogrs3_score(sex="M", previous_sanctions=0, offence_category="other", age=30,
                    age_at_conviction=25, age_at_first_sanction=26)


def test_negative_sanctions() -> None:
    with pytest.raises(SchemaError, match=r"'previous_sanctions', row 0.*negative"):
        ogrs3(_one().with_columns(pl.lit(-1).alias("previous_sanctions")))
    with pytest.raises(SchemaError, match="previous_sanctions"):
        ogrs3_score(sex="M", previous_sanctions=-1, offence_category="other", age=30,
                    age_at_conviction=25, age_at_first_sanction=20)


def test_missing_null_and_bad_columns() -> None:
    with pytest.raises(SchemaError, match="'risk_start_date' is missing"):
        ogrs3(_one().drop("risk_start_date"))
    with pytest.raises(SchemaError, match="'assessment_date' is missing"):
        ogrs3(_one(), age_basis="assessment")
    with pytest.raises(SchemaError, match="'sex' is null in row 0"):
        ogrs3(_one().with_columns(pl.lit(None, pl.Utf8).alias("sex")))
    with pytest.raises(SchemaError, match="unknown sex"):
        ogrs3(_one().with_columns(pl.lit("X").alias("sex")))
    with pytest.raises(SchemaError, match="not a date"):
        ogrs3(_one().with_columns(pl.lit("2020-01-01").alias("conviction_date")))


def test_bad_options() -> None:
    with pytest.raises(SpecError, match="coefficients"):
        ogrs3(_one(), coefficients="2dp")  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="variant"):
        ogrs3(_one(), variant="moj")  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="age_basis"):
        ogrs3(_one(), age_basis="today")  # type: ignore[arg-type]
    with pytest.raises(SpecError):
        ogrs3(_one(), first_sanction_date=None)
    with pytest.raises(SpecError):
        ogrs3_score(sex="M", previous_sanctions=0, offence_category="other",
                    age_at_conviction=25, age_at_first_sanction=20)


def test_output_keeps_input_rows_and_columns() -> None:
    df = _one().with_columns(pl.lit("x").alias("offender_id"))
    out = ogrs3(df)
    assert out.columns[: len(df.columns)] == df.columns
    assert out.columns[len(df.columns):] == ["ogrs3_eta", "ogrs3_1yr", "ogrs3_2yr",
                                             "ogrs3_band"]
    assert out.height == df.height


# ------------------------------------------------------------- vectorised == scalar
offender = st.fixed_dictionaries({
    "sex": st.sampled_from(["M", "F", "male", "Female"]),
    "birth": st.dates(date(1930, 1, 1), date(2005, 12, 31)),
    "first_after": st.integers(3660, 20000),  # at least 10 years old
    "conv_after_first": st.integers(0, 15000),
    "risk_after_conv": st.integers(0, 3000),
    "previous": st.integers(0, 80),
    "category": st.sampled_from(sorted(OFFENCE_CATEGORIES)),
    "status": st.sampled_from(STATUSES),
})


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(offender, min_size=1, max_size=20),
       variant=st.sampled_from(["recommended", "hmpps", "rsr"]),
       coefficients=st.sampled_from(["full", "4dp"]))
def test_vectorised_equals_scalar(rows: list[dict[str, object]], variant: str,
                                  coefficients: str) -> None:
    from datetime import timedelta
    recs = []
    for r in rows:
        birth = r["birth"]
        assert isinstance(birth, date)
        first = birth + timedelta(days=int(r["first_after"]))  # type: ignore[call-overload]
        conv = first + timedelta(days=int(r["conv_after_first"]))  # type: ignore[call-overload]
        risk = conv + timedelta(days=int(r["risk_after_conv"]))  # type: ignore[call-overload]
        recs.append({"sex": r["sex"], "birth_date": birth, "first_sanction_date": first,
                     "conviction_date": conv, "risk_start_date": risk,
                     "previous_sanctions": r["previous"], "offence_category": r["category"],
                     "status": r["status"]})
    df = pl.DataFrame(recs)
    out = ogrs3(df, status="status", variant=variant,  # type: ignore[arg-type]
                coefficients=coefficients)  # type: ignore[arg-type]
    for rec, p1, p2, band in zip(recs, out["ogrs3_1yr"], out["ogrs3_2yr"], out["ogrs3_band"],
                                 strict=True):
        s1, s2 = ogrs3_score(sex=rec["sex"], previous_sanctions=rec["previous_sanctions"],
                             offence_category=rec["offence_category"],
                             birth_date=rec["birth_date"], risk_start=rec["risk_start_date"],
                             conviction_date=rec["conviction_date"],
                             first_sanction_date=rec["first_sanction_date"],
                             status=rec["status"], variant=variant, coefficients=coefficients)
        assert p1 == pytest.approx(s1, abs=1e-13, rel=0)
        assert p2 == pytest.approx(s2, abs=1e-13, rel=0)
        assert band == ogrs3_band(s2)


# ------------------------------------------------------------------- the docs page
_FENCE = re.compile(r"^```(python|text)[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def test_docs_page_example_prints_its_output(capsys: pytest.CaptureFixture[str]) -> None:
    page = (FIXTURES.parents[2] / "docs" / "methodology" / "ogrs3.md").read_text(
        encoding="utf-8")
    blocks = _FENCE.findall(page)
    assert [kind for kind, _ in blocks] == ["python", "text"]
    exec(compile(blocks[0][1], "ogrs3.md", "exec"), {})
    assert capsys.readouterr().out == blocks[1][1]
    k1 = VECTORS["K1"]
    assert blocks[1][1].split() == [f"{float(k1['p_1yr']):.5f}", f"{float(k1['p_2yr']):.5f}",
                                    k1["band"]]
    index = (FIXTURES.parents[2] / "docs" / "methodology" / "index.md").read_text(
        encoding="utf-8")
    assert "(ogrs3.md)" in index and "Planned" not in index
