"""Tests of pbr.synth: determinism, the column contract, structure and calibration."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from pbr.errors import SpecError
from pbr.synth import CATEGORIES, SENTENCES, SynthData, generate


@pytest.fixture(scope="module")
def data() -> SynthData:
    return generate(20_000, seed=11)


@pytest.fixture(scope="module")
def joined(data: SynthData) -> pl.DataFrame:
    """Cohort offenders' events with their index date and the follow-up window ends."""
    end = pl.col("index_date").dt.offset_by("12mo")
    return data.events.join(
        data.cohort.select("offender_id", "index_date", "sentence", "treated", "true_risk"),
        on="offender_id",
    ).with_columns(end=end, waiting_end=end.dt.offset_by("6mo"))


def proven_counts(data: SynthData, joined: pl.DataFrame, *, waiting: bool = True) -> pl.DataFrame:
    """MoJ proven reoffences per cohort offender: offence in (index, index + 12 months],
    proven by conviction or caution by 6 months after that, breaches excluded."""
    rule = (
        (pl.col("offence_date") > pl.col("index_date"))
        & (pl.col("offence_date") <= pl.col("end"))
        & pl.col("disposal_type").cast(pl.String).is_in(["conviction", "caution"])
        & (pl.col("offence_category").cast(pl.String) != "breach")
    )
    if waiting:
        rule &= pl.col("disposal_date") <= pl.col("waiting_end")
    counts = joined.filter(rule).group_by("offender_id").agg(reoffences=pl.len())
    return (
        data.cohort.join(counts, on="offender_id", how="left")
        .with_columns(pl.col("reoffences").fill_null(0))
        .with_columns(reoffended=pl.col("reoffences") > 0)
    )


def test_same_seed_same_frames_and_different_seed_differs() -> None:
    a, b, c = generate(2_000, seed=5), generate(2_000, seed=5), generate(2_000, seed=6)
    for name in ("cohort", "events", "custody"):
        assert getattr(a, name).equals(getattr(b, name))
        assert not getattr(a, name).equals(getattr(c, name))
    assert a.severity_weights == b.severity_weights
    assert a.serious_codes == b.serious_codes


def test_column_contract(data: SynthData) -> None:
    assert data.cohort.schema == pl.Schema({
        "offender_id": pl.Int64, "index_date": pl.Date, "provider": pl.String,
        "area": pl.String, "cohort_period": pl.String, "sex": pl.String, "age": pl.Int16,
        "prior_sanctions": pl.Int16, "age_first_sanction": pl.Int16,
        "offence_category": pl.String, "sentence": pl.String, "treated": pl.Boolean,
        "true_risk": pl.Float64,
    })
    assert data.events.schema == pl.Schema({
        "offender_id": pl.Int64, "offence_date": pl.Date, "disposal_date": pl.Date,
        "disposal_type": pl.Categorical(), "offence_code": pl.Categorical(),
        "offence_category": pl.Categorical(), "court_event_id": pl.Int64,
    })
    assert data.custody.schema == pl.Schema(
        {"offender_id": pl.Int64, "start_date": pl.Date, "end_date": pl.Date}
    )
    for frame in (data.cohort, data.events, data.custody):
        assert frame.null_count().sum_horizontal().item() == 0


def test_cohort_values(data: SynthData) -> None:
    c = data.cohort
    assert c.height == 20_000
    assert set(c["sex"]) == {"M", "F"}
    assert set(c["sentence"]) == set(SENTENCES)
    assert set(c["offence_category"]) <= set(CATEGORIES) - {"breach"}
    assert set(c["cohort_period"]) == {"2019Q1", "2019Q2", "2019Q3", "2019Q4"}
    assert set(c["provider"]) == {"P1", "P2", "P3", "P4"}
    assert c["index_date"].min() >= date(2019, 1, 1)
    assert c["index_date"].max() <= date(2019, 12, 31)
    assert c["index_date"].is_sorted()
    assert (c["age"] >= 18).all() and (c["age_first_sanction"] <= c["age"]).all()
    first_timers = c.filter(pl.col("prior_sanctions") == 0)
    assert (first_timers["age_first_sanction"] == first_timers["age"]).all()
    assert c["true_risk"].is_between(0.0, 1.0, closed="none").all()
    assert 0.15 < c["treated"].mean() < 0.45


def test_cohort_periods_follow_start_and_quarters() -> None:
    c = generate(500, seed=1, start=date(2020, 4, 1), quarters=2, n_providers=2).cohort
    assert set(c["cohort_period"]) == {"2020Q2", "2020Q3"}
    assert c["index_date"].min() >= date(2020, 4, 1)
    assert c["index_date"].max() <= date(2020, 9, 30)
    assert set(c["area"]) <= {"P1-N", "P1-S", "P2-N", "P2-S"}


def test_offender_ids_unique_non_dense_and_some_not_in_cohort(data: SynthData) -> None:
    ids = data.cohort["offender_id"]
    assert ids.is_unique().all()
    assert ids.max() - ids.min() + 1 > 2 * ids.len()
    assert not ids.sort().equals(pl.Series("offender_id", range(ids.len())))
    outside = ~data.events["offender_id"].is_in(ids.implode())
    assert 0.035 < outside.mean() < 0.065
    assert data.custody["offender_id"].is_in(ids.implode()).mean() < 1.0
    assert generate(300, seed=2, not_in_cohort_share=0.0).events["offender_id"].is_in(
        generate(300, seed=2, not_in_cohort_share=0.0).cohort["offender_id"].implode()
    ).all()


def test_events_in_offence_date_order_and_not_grouped(data: SynthData) -> None:
    e = data.events
    assert e["offence_date"].is_sorted()
    runs = (e["offender_id"] != e["offender_id"].shift(1)).sum()
    assert runs > 3 * e["offender_id"].n_unique()


def test_disposal_never_before_offence(data: SynthData) -> None:
    assert (data.events["disposal_date"] >= data.events["offence_date"]).all()


def test_court_events_share_offender_and_disposal_date(data: SynthData) -> None:
    per_event = data.events.group_by("court_event_id").agg(
        offenders=pl.col("offender_id").n_unique(),
        disposals=pl.col("disposal_date").n_unique(),
        types=pl.col("disposal_type").n_unique(),
        offences=pl.len(),
    )
    assert (per_event["offenders"] == 1).all()
    assert (per_event["disposals"] == 1).all()
    assert (per_event["types"] == 1).all()
    assert per_event["offences"].max() > 3
    assert 1.3 < per_event["offences"].mean() < 2.0


def test_cautions_only_for_single_minor_offences(data: SynthData) -> None:
    minor = {"HO10501", "HO04600", "HO04900", "HO05800", "HO09201", "HO09202", "HO04300",
             "HO06600", "HO10000"}
    e = data.events.with_columns(
        offences=pl.len().over("court_event_id"),
        caution=pl.col("disposal_type").cast(pl.String) == "caution",
    )
    cautions = e.filter("caution")
    assert cautions.height > 0
    assert (cautions["offences"] == 1).all()
    assert set(cautions["offence_code"].cast(pl.String)) <= minor
    index_cautions = data.cohort.filter(pl.col("sentence") == "caution")
    on_index = e.join(index_cautions, on="offender_id").filter(
        pl.col("disposal_date") == pl.col("index_date"), "caution"
    )
    assert on_index["offender_id"].n_unique() == index_cautions.height


def test_disposal_lags(data: SynthData) -> None:
    lag = (data.events["disposal_date"] - data.events["offence_date"]).dt.total_days()
    assert 0.25 < (lag <= 28).mean() < 0.5
    assert 40 < lag.median() < 120
    assert (lag > 183).mean() > 0.05
    assert lag.max() <= 550 + 45


def test_history_follow_up_and_edge_days(joined: pl.DataFrame) -> None:
    before = (joined["offence_date"] < joined["index_date"]).mean()
    after = (joined["offence_date"] > joined["end"]).mean()
    on_index = (joined["offence_date"] == joined["index_date"]).mean()
    on_end = (joined["offence_date"] == joined["end"]).sum()
    assert 0.4 < before < 0.8
    assert after > 0.05
    assert 0.005 < on_index < 0.02
    assert on_end > 20
    assert (joined["offence_category"].cast(pl.String) == "breach").any()


def test_custody_spells_ordered_and_non_overlapping(data: SynthData) -> None:
    s = data.custody
    assert s.height > 0
    assert (s["end_date"] >= s["start_date"]).all()
    ordered = s.sort("offender_id", "start_date").with_columns(
        previous_end=pl.col("end_date").shift(1).over("offender_id")
    )
    assert ordered.filter(pl.col("start_date") <= pl.col("previous_end")).height == 0
    # Short-sentence releases leave custody the day before their index date.
    short = data.cohort.filter(pl.col("sentence") == "custody<12m")
    released = short.join(s, left_on=["offender_id", "index_date"],
                          right_on=["offender_id", pl.col("end_date").dt.offset_by("1d")])
    assert released.height == short.height


def test_offence_tables(data: SynthData) -> None:
    codes = set(data.events["offence_code"].cast(pl.String))
    assert codes <= set(data.severity_weights)
    assert set(data.serious_codes) < set(data.severity_weights)
    assert all(w > 0 for w in data.severity_weights.values())
    serious = data.events.filter(
        pl.col("offence_code").cast(pl.String).is_in(list(data.serious_codes))
    )
    assert set(serious["offence_category"].cast(pl.String)) <= {"violence", "sexual"}
    assert 0 < serious.height < 0.05 * data.events.height
    assert set(data.events["offence_category"].cast(pl.String)) == set(CATEGORIES)
    assert all(code.startswith("HO") and len(code) == 7 for code in codes)


def test_calibration_to_moj_figures(data: SynthData, joined: pl.DataFrame) -> None:
    m = proven_counts(data, joined)
    overall = m["reoffended"].mean()
    short = m.filter(pl.col("sentence") == "custody<12m")["reoffended"].mean()
    per_reoffender = m.filter("reoffended")["reoffences"].mean()
    assert 0.22 <= overall <= 0.34
    assert 0.42 <= short <= 0.65
    assert 2.8 <= per_reoffender <= 4.5
    assert m["reoffences"].max() >= 15  # heavy tail
    # The six-month waiting period loses some reoffenders, never gains any.
    assert m["reoffended"].mean() < proven_counts(data, joined, waiting=False)["reoffended"].mean()


def test_true_risk_is_calibrated(data: SynthData, joined: pl.DataFrame) -> None:
    m = proven_counts(data, joined, waiting=False).filter(~pl.col("treated"))
    decile = ((pl.col("true_risk").rank("ordinal") - 1) * 10 // m.height).alias("decile")
    table = m.group_by(decile).agg(pl.col("reoffended").mean(), pl.col("true_risk").mean())
    # With no waiting-period limit, untreated offenders reoffend at their true_risk.
    assert ((table["reoffended"] - table["true_risk"]).abs() < 0.05).all()


def test_selection_on_risk_biases_the_naive_comparison(
    data: SynthData, joined: pl.DataFrame
) -> None:
    c = data.cohort
    treated, untreated = c.filter("treated"), c.filter(~pl.col("treated"))
    assert treated["true_risk"].mean() > untreated["true_risk"].mean() + 0.05
    m = proven_counts(data, joined)
    naive = m.group_by("treated").agg(pl.col("reoffended").mean()).sort("treated")
    assert naive["reoffended"][1] > naive["reoffended"][0]  # treatment looks harmful


def test_treatment_effect_recovered_within_risk_strata() -> None:
    data = generate(20_000, seed=3, treatment_effect=-0.5, n_providers=6)
    assert data.true_effect == -0.5
    end = pl.col("index_date").dt.offset_by("12mo")
    counts = (
        data.events.join(data.cohort, on="offender_id")
        .filter((pl.col("offence_date") > pl.col("index_date")) & (pl.col("offence_date") <= end)
                & (pl.col("offence_category").cast(pl.String) != "breach"))
        .group_by("offender_id").agg(offences=pl.len())
    )
    m = data.cohort.join(counts, on="offender_id", how="left").with_columns(
        pl.col("offences").fill_null(0),
        stratum=(pl.col("true_risk").rank("ordinal") - 1) * 20 // data.cohort.height,
    )
    # Treatment depends on true_risk and provider only, so within narrow risk strata the
    # ratio of offending rates estimates exp(treatment_effect).
    rates = m.group_by("stratum", "treated").agg(rate=pl.col("offences").mean(), n=pl.len())
    wide = rates.pivot("treated", index="stratum", values=["rate", "n"]).drop_nulls()
    weight = 1.0 / (1.0 / wide["n_true"] + 1.0 / wide["n_false"])
    log_ratio = np.average(np.log(wide["rate_true"] / wide["rate_false"]), weights=weight)
    assert -0.75 < log_ratio < -0.25


@pytest.mark.parametrize(
    ("argument", "value"),
    [("n_offenders", 0), ("quarters", 0), ("n_providers", 0), ("history_years", -1),
     ("not_in_cohort_share", 1.0), ("n_offenders", 2.5)],
)
def test_invalid_arguments_raise_spec_error(argument: str, value: object) -> None:
    kwargs: dict[str, object] = {"n_offenders": 10, argument: value}
    with pytest.raises(SpecError, match=argument):
        generate(**kwargs)


def test_history_years_zero_has_no_prior_events() -> None:
    data = generate(1_000, seed=4, history_years=0, not_in_cohort_share=0.0)
    j = data.events.join(data.cohort, on="offender_id")
    prior = j.filter(pl.col("disposal_date") < pl.col("index_date"))
    # Only index convictions of custodial sentences are proven before the index date.
    assert set(prior["sentence"]) <= {"custody<12m", "custody12m+"}


def test_repr_is_short_and_deterministic() -> None:
    text = repr(generate(100, seed=0))
    assert text == repr(generate(100, seed=0))
    assert text.startswith("SynthData(100 offenders, ")
