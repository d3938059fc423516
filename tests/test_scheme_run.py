"""Every scheme preset runs end to end from ``pbr.scheme(name).run(...)`` on synthetic data,
and its comparator setting changes the answer (one test per scheme); a comparator the
kind needs and lacks, or one it does not use, is refused naming the argument."""

from __future__ import annotations

import datetime as dt
import math
import warnings
from functools import cache
from typing import Any

import numpy as np
import polars as pl
import pytest

import pbr
from pbr.errors import SmallSampleWarning, SpecError
from pbr.scheme_run import KIND_NEEDS, SchemeRun

AS_OF = dt.date(2022, 8, 31)   # the synthetic extract's last disposal date


@cache
def _data(n: int, seed: int) -> Any:
    return pbr.synth.generate(n, seed=seed)


def _with(name: str, **comparison: Any) -> pbr.Scheme:
    s = pbr.scheme(name)
    return s.replace(comparison=s.comparison.replace(**comparison))


def _quiet(fn: Any, *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        return fn(*args, **kwargs)


# ----------------------------------------------------------------- every kind is covered
def test_every_preset_kind_has_a_rule() -> None:
    kinds = {pbr.scheme(n).comparison.kind for n in pbr.available_schemes()}
    assert kinds == set(KIND_NEEDS)


# ----------------------------------------------------------------- CRC: adjusted baseline
def test_crc_case_mix_adjustment_moves_the_baseline() -> None:
    """CRC 2015 ([MoJ-CRC-Final]): the binary rate is compared with the 2011
    baseline moved by the cohort's mean OGRS prediction against the baseline's (additive),
    the frequency with the baseline as it is; a fixed baseline gives another answer."""
    s = pbr.scheme("crc_pbr_2015")
    base_data = _data(400, 1)
    base_res = pbr.measure(base_data.cohort, base_data.events, s.measure)
    baseline = pbr.Baseline.from_result(base_res, label="synthetic 2011",
                                        predicted="true_risk")
    data = _data(600, 2)
    risky = data.cohort.filter(pl.col("true_risk") > pl.col("true_risk").median())
    run = s.run(risky, data.events, baseline=baseline, model="true_risk", as_of=AS_OF)
    assert isinstance(run, SchemeRun) and list(run.comparisons) == ["binary_rate",
                                                                   "per_reoffender"]
    b = baseline.group()
    expected = b.binary_rate + risky["true_risk"].mean() - b.predicted_rate
    row = run.comparison("binary_rate").frame.row(0, named=True)
    assert row["comparator_value"] == pytest.approx(expected, abs=1e-12)
    assert row["cohort_value"] == pytest.approx(
        run.result.summary()["binary_rate"][0], abs=1e-12)
    # the frequency is not described as adjusted [V]: compared with the baseline as is
    freq = run.comparison("per_reoffender").frame.row(0, named=True)
    assert freq["comparator_value"] == pytest.approx(b.value("per_reoffender"), abs=1e-12)
    assert any("per_reoffender: compared with the baseline unadjusted" in n
               for n in run.notes)
    # the riskier cohort raises the adjusted baseline above the fixed one
    fixed = _with("crc_pbr_2015", kind="fixed_baseline", case_mix="none").run(
        risky, data.events, baseline=baseline, as_of=AS_OF)
    frow = fixed.comparison("binary_rate").frame.row(0, named=True)
    assert frow["comparator_value"] == pytest.approx(b.binary_rate, abs=1e-12)
    assert row["comparator_value"] > frow["comparator_value"] + 0.02
    assert row["estimate"] < frow["estimate"]
    # the CRC thresholds: null variance around the known (adjusted) baseline
    z = s.comparison.z
    half = z * math.sqrt(expected * (1 - expected) / row["n"])
    assert row["upper"] - row["lower"] == pytest.approx(2 * half, rel=1e-9)
    assert run.provenance["scheme"] == "crc_pbr_2015"
    assert run.scheme.measure.as_of == AS_OF


def test_crc_with_a_fitted_case_mix_model() -> None:
    """A logit fitted on the baseline cohort: its mean prediction there is the baseline
    rate, so the adjusted baseline is the model's mean prediction for the cohort."""
    s = pbr.scheme("crc_pbr_2015")
    base_data = _data(400, 1)
    base_res = pbr.measure(base_data.cohort, base_data.events, s.measure)
    baseline = pbr.Baseline.from_result(base_res, label="synthetic 2011")
    model = pbr.fit_casemix(base_res, ["age", "prior_sanctions"])
    data = _data(600, 2)
    run = s.run(data.cohort, data.events, baseline=baseline, model=model, as_of=AS_OF)
    row = run.comparison("binary_rate").frame.row(0, named=True)
    assert row["comparator_value"] == pytest.approx(float(np.mean(model.predict(run.result))),
                                                    abs=1e-9)
    assert run.provenance["comparator"]["model"].startswith("CaseMixModel (binary_rate, logit")


def test_crc_refuses_missing_or_foreign_comparators() -> None:
    s = pbr.scheme("crc_pbr_2015")
    data = _data(300, 3)
    with pytest.raises(SpecError, match=r"^model: .*adjusted baseline.*case-mix"):
        s.run(data.cohort, data.events, baseline=0.3)
    with pytest.raises(SpecError, match=r"^baseline: "):
        s.run(data.cohort, data.events, model="true_risk")
    with pytest.raises(SpecError, match=r"^comparison: .*does not use comparison="):
        s.run(data.cohort, data.events, baseline=0.3, model="true_risk",
              comparison=data.cohort)
    with pytest.raises(SpecError, match=r"^baseline: .*2 measures.*pbr.Baseline"):
        s.run(data.cohort, data.events, baseline=0.3, model="true_risk")
    fit = pbr.fit_casemix(pbr.measure(data.cohort, data.events, s.measure), ["age"],
                          measure="per_offender")
    with pytest.raises(SpecError, match=r"^model: .*per_offender.*does not compare"):
        s.run(data.cohort, data.events, baseline={"binary_rate": 0.3,
                                                  "per_reoffender": 3.0}, model=fit)


# ----------------------------------------------------------------- Doncaster: no test
def test_doncaster_fixed_baseline_without_a_test_draws_no_conclusion() -> None:
    """Doncaster ([MoJ-Doncaster-2015]): the 2009 baseline, payment on a 5-point target and no
    significance test; the same comparison with the CRC interval test concludes."""
    data = _data(400, 4)
    s = pbr.scheme("doncaster_pbr")
    run = s.run(data.cohort, data.events, baseline=0.5, as_of=AS_OF)
    row = run.summary().row(0, named=True)
    assert row["measure"] == "binary_rate" and row["comparator_value"] == 0.5
    assert row["significant"] is None and row["conclusion"].startswith("no test")
    assert row["estimate"] == pytest.approx(row["cohort_value"] - 0.5, abs=1e-12)
    tested = _with("doncaster_pbr", test="baseline_interval").run(
        data.cohort, data.events, baseline=0.5, as_of=AS_OF)
    trow = tested.summary().row(0, named=True)
    assert trow["significant"] is True and trow["conclusion"] == "significant"
    assert trow["estimate"] == pytest.approx(row["estimate"], abs=1e-12)
    (o,) = run.outcomes(cohort="2019")   # rates in per cent, the contracts' unit
    assert (o.cohort, o.measure) == ("2019", "binary_rate")
    assert float(o.actual) == pytest.approx(100 * row["cohort_value"], abs=1e-6)
    assert float(o.comparator) == pytest.approx(50.0) and o.lower is None   # no test
    (p,) = run.outcomes(cohort="2019", unit="proportion")
    assert float(p.actual) == pytest.approx(row["cohort_value"], abs=1e-6)
    with pytest.raises(SpecError, match=r"^baseline: the doncaster_pbr scheme .*needs baseline="):
        s.run(data.cohort, data.events)
    with pytest.raises(SpecError, match=r"^model: .*'fixed_baseline'.*does not use model="):
        s.run(data.cohort, data.events, baseline=0.5, model="true_risk")


# ----------------------------------------------------------------- JDL: minimum of 60
def _jdl_run(n: int, s: pbr.Scheme | None = None) -> SchemeRun:
    data = _data(400, 5)
    treated = data.cohort.head(n)
    group = data.cohort.slice(n, 250)
    return _quiet((s or pbr.scheme("justice_data_lab")).run, treated, data.events,
                  comparison=group, as_of=AS_OF)


def test_jdl_refuses_fewer_than_60_with_the_reason() -> None:
    with pytest.warns(SmallSampleWarning, match="below the minimum of 60"):
        pbr.scheme("justice_data_lab").run(_data(400, 5).cohort.head(59), _data(400, 5).events,
                                           comparison=_data(400, 5).cohort.slice(59, 250),
                                           as_of=AS_OF)
    small = _jdl_run(59).comparison("binary_rate").frame.row(0, named=True)
    assert small["significant"] is None
    assert small["conclusion"] == ("not assessed: 59 people, below the minimum of 60 "
                                   "(justice_data_lab rule)")
    assert small["estimate"] is not None          # the figures are kept
    enough = _jdl_run(60).comparison("binary_rate").frame.row(0, named=True)
    assert enough["significant"] is not None
    assert enough["conclusion"] in ("significant", "not significant")
    # the setting is what refuses: with min_n 0 the 59 are assessed
    anyn = _jdl_run(59, _with("justice_data_lab", min_n=0))
    assert anyn.comparison("binary_rate").frame["significant"][0] is not None


def test_jdl_runs_every_measure_against_a_match() -> None:
    data = _data(400, 6)
    pool = data.cohort.with_columns(pl.col("treated") & (pl.int_range(pl.len()) < 200))
    match = pbr.match(pool, "treated", ["age", "prior_sanctions"], distance="logit")
    run = _quiet(pbr.scheme("justice_data_lab").run, events=data.events, comparison=match,
                 as_of=AS_OF)
    assert list(run.comparisons) == ["binary_rate", "per_offender", "mean_days_to_first"]
    n_treated = int(match.frame.filter(pl.col("treated") & (pl.col("weight") > 0)).height)
    assert run.comparison("binary_rate").frame["n"][0] == n_treated
    assert run.result.frame.height == match.matched_frame.height
    assert run.provenance["cohort_source"] == "match"
    with pytest.raises(SpecError, match=r"^cohort: with a pbr.MatchResult"):
        pbr.scheme("justice_data_lab").run(data.cohort, data.events, comparison=match)
    with pytest.raises(SpecError, match=r"^comparison: .*needs comparison="):
        pbr.scheme("justice_data_lab").run(data.cohort, data.events)


# ----------------------------------------------------------------- MoJ: measures only
@pytest.mark.parametrize("name", ["moj_national_2011", "moj_national_2017"])
def test_moj_national_has_no_comparator(name: str) -> None:
    data = _data(300, 7)
    s = pbr.scheme(name)
    run = s.run(data.cohort, data.events, as_of=AS_OF)
    assert run.comparisons == {}
    summary = run.summary()
    assert summary["measure"].to_list() == list(s.comparison.measures)
    values = run.result.summary().row(0, named=True)
    for m, v in zip(summary["measure"], summary["cohort_value"], strict=True):
        assert v == pytest.approx(values[m], abs=1e-12)
    assert "the measures only" in str(run.explain())
    with pytest.raises(SpecError, match="no comparator"):
        run.outcomes()
    for arg in ("baseline", "model", "comparison", "before", "comparator_before"):
        with pytest.raises(SpecError, match=rf"^{arg}: .*'none'.*measures only"):
            s.run(data.cohort, data.events, **{arg: 0.3})
    # the setting is what leaves the comparison out: a baseline kind compares
    fixed = _with(name, kind="fixed_baseline", baseline="2009", test="baseline_interval")
    base = pbr.Baseline.from_result(pbr.measure(_data(300, 8).cohort, _data(300, 8).events,
                                                s.measure))
    compared = fixed.run(data.cohort, data.events, baseline=base, as_of=AS_OF)
    assert list(compared.comparisons) == list(s.comparison.measures)
    assert compared.summary()["significant"].null_count() == 0


# ----------------------------------------------------------------- Peterborough: rate ratio
def test_peterborough_rate_ratio_test() -> None:
    """Peterborough ([Disley-2011], [Cave-2012]): reconviction events per 100 against a PSM group,
    judged as a % reduction: the rate-ratio (negative binomial) test; Welch's t on the
    same groups gives a difference instead."""
    data = _data(500, 9)
    match = pbr.match(data.cohort, "treated", ["age", "prior_sanctions", "sex"],
                      distance="logit")
    s = pbr.scheme("peterborough_sib")
    run = s.run(events=data.events, comparison=match, as_of=AS_OF)
    row = run.comparison().frame.row(0, named=True)
    assert run.comparison().method == "negbin" and row["measure"] == "per_100"
    assert row["method"].startswith("negative binomial")
    assert row["null"] == 1.0
    assert row["estimate"] == pytest.approx(row["cohort_value"] / row["comparator_value"],
                                            rel=1e-6)
    assert row["lower"] == -math.inf or row["lower"] == 0.0   # one-sided: a reduction
    welch = _with("peterborough_sib", test="welch_t").run(events=data.events,
                                                          comparison=match, as_of=AS_OF)
    wrow = welch.comparison().frame.row(0, named=True)
    assert welch.comparison().method == "welch" and wrow["null"] == 0.0
    assert wrow["estimate"] == pytest.approx(wrow["cohort_value"] - wrow["comparator_value"],
                                             abs=1e-9)
    assert wrow["cohort_value"] == pytest.approx(row["cohort_value"], abs=1e-12)
    assert wrow["p_value"] != pytest.approx(row["p_value"], abs=1e-6)
    outcomes = run.outcomes(cohort="cohort 1")
    assert len(outcomes) == 1 and outcomes[0].measure == "per_100"


# ----------------------------------------------------------------- Rikers: DiD
def _rikers_groups() -> dict[str, pl.DataFrame]:
    data = _data(1200, 10)
    c = data.cohort.with_row_index("_r")
    groups = {name: c.filter(pl.col("_r") % 4 == k).drop("_r")
              for k, name in enumerate(("cohort", "before", "comparison", "comparator_before"))}
    # the comparison group's after period had more custody: the trend DiD removes
    return groups


def test_rikers_difference_in_differences_removes_the_trend() -> None:
    """Rikers ABLE ([MDRC-Rikers-2013]): the change in the 16-18-year-olds' bed days against
    the change in 19-year-olds over the same years; the plain matched comparison of the
    after periods gives another estimate."""
    data = _data(1200, 10)
    g = _rikers_groups()
    s = pbr.scheme("rikers_able")
    run = s.run(g["cohort"], data.events, custody=data.custody, comparison=g["comparison"],
                before=g["before"], comparator_before=g["comparator_before"], as_of=AS_OF)
    row = run.comparison("custody_days_per_offender").frame.row(0, named=True)
    mean = {k: float(v.summary()["custody_days_per_offender"][0])
            for k, v in (("cohort", run.result), *run.inputs.items())}
    assert set(run.inputs) == {"comparison", "before", "comparator_before"}
    # form = "ratio": (after / before) of the cohort over that of the comparison group
    did = (mean["cohort"] / mean["before"]) / (mean["comparison"] / mean["comparator_before"])
    assert row["estimate"] == pytest.approx(did, rel=1e-9)
    plain = _with("rikers_able", kind="matched_comparison", baseline="").run(
        g["cohort"], data.events, custody=data.custody, comparison=g["comparison"],
        as_of=AS_OF)
    prow = plain.comparison().frame.row(0, named=True)
    assert prow["estimate"] != pytest.approx(row["estimate"], rel=1e-3)
    additive = _with("rikers_able", form="additive").run(
        g["cohort"], data.events, custody=data.custody, comparison=g["comparison"],
        before=g["before"], comparator_before=g["comparator_before"], as_of=AS_OF)
    arow = additive.comparison().frame.row(0, named=True)
    assert arow["estimate"] == pytest.approx(
        (mean["cohort"] - mean["before"]) - (mean["comparison"] - mean["comparator_before"]),
        abs=1e-9)


def test_rikers_refusals() -> None:
    data = _data(1200, 10)
    g = _rikers_groups()
    s = pbr.scheme("rikers_able")
    with pytest.raises(SpecError, match=r"^before: .*difference in differences"):
        s.run(g["cohort"], data.events, custody=data.custody, comparison=g["comparison"],
              comparator_before=g["comparator_before"])
    with pytest.raises(SpecError, match=r"^custody: .*bed days"):
        s.run(g["cohort"], data.events, comparison=g["comparison"], before=g["before"],
              comparator_before=g["comparator_before"])
    with pytest.raises(SpecError, match=r"^baseline: "):
        s.run(g["cohort"], data.events, custody=data.custody, comparison=g["comparison"],
              before=g["before"], comparator_before=g["comparator_before"], baseline=10.0)
    match = pbr.match(data.cohort, "treated", ["age"], distance="logit")
    with pytest.raises(SpecError, match=r"^comparison: a pbr.MatchResult"):
        s.run(events=data.events, custody=data.custody, comparison=match, before=g["before"],
              comparator_before=g["comparator_before"])
    with pytest.raises(SpecError, match=r"^before: a pbr.MatchResult is the comparator"):
        s.run(g["cohort"], data.events, custody=data.custody, comparison=g["comparison"],
              before=match, comparator_before=g["comparator_before"])


# ----------------------------------------------------------------- inputs and results
def test_a_measure_result_of_another_spec_is_refused() -> None:
    data = _data(300, 11)
    other = pbr.measure(data.cohort, data.events, "moj_national_2017")
    with pytest.raises(SpecError, match=r"^comparison: this MeasureResult was measured with"):
        pbr.scheme("justice_data_lab").run(data.cohort, data.events, comparison=other)
    with pytest.raises(SpecError, match=r"^alpha: not an option"):
        pbr.scheme("doncaster_pbr").run(data.cohort, data.events, baseline=0.5, alpha=0.05)
    with pytest.raises(SpecError, match=r"^cohort: give the cohort"):
        pbr.scheme("doncaster_pbr").run(events=data.events, baseline=0.5)
    with pytest.raises(SpecError, match=r"^events: "):
        pbr.scheme("doncaster_pbr").run(data.cohort, baseline=0.5)


def test_run_from_disposals_with_the_scheme_cohort_rule() -> None:
    from pbr.cohort.synth import generate_disposals
    start, end = dt.date(2018, 1, 1), dt.date(2021, 12, 30)
    disposals = generate_disposals(600, seed=3, start=start, days=(end - start).days)
    rng = np.random.default_rng(3)
    proven = disposals.filter(pl.col("disposal_type").is_in(["court_order", "custody"]))
    events = proven.select(
        "offender_id",
        (pl.col("disposal_date") - pl.duration(days=pl.Series(rng.integers(1, 91,
                                                                           proven.height))))
        .alias("offence_date"), "disposal_date", pl.lit("conviction").alias("disposal_type"),
        pl.lit("HO00000").alias("offence_code"), pl.lit("other").alias("offence_category"))
    s = pbr.scheme("doncaster_pbr")
    s = s.replace(cohort=s.cohort.replace(start=dt.date(2018, 6, 1), n_periods=1))
    with warnings.catch_warnings():
        warnings.simplefilter("error", pbr.PbrWarning)   # every window closes by as_of
        run = s.run(events=events, disposals=disposals, baseline=0.5, as_of=end,
                    by="provider")
    build = pbr.build_cohort(disposals, s.cohort)
    assert run.result.frame.height == build.frame.height > 0
    assert run.provenance["cohort_source"] == "disposals"
    assert run.summary()["provider"].to_list() == sorted(build.frame["provider"].unique())
    with pytest.raises(SpecError, match=r"^cohort: give either"):
        s.run(build.cohort, events, disposals=disposals, baseline=0.5)
    # two yearly cohorts: period= picks one, by its label
    two = s.replace(cohort=s.cohort.replace(n_periods=2))
    built = pbr.build_cohort(disposals, two.cohort)
    label = built.periods[1]
    second = two.run(events=events, disposals=disposals, period=label, baseline=0.5, as_of=end)
    assert second.result.frame.height == built.for_period(label).n
    assert second.provenance["cohort_build"]["period"] == label
    with pytest.raises(SpecError, match=r"^period: "):
        two.run(build.cohort, events, period=label, baseline=0.5)


def test_run_result_prints_explains_and_records() -> None:
    data = _data(400, 4)
    s = pbr.scheme("doncaster_pbr")
    run = s.run(data.cohort, data.events, baseline=0.5, as_of=AS_OF)
    text = str(run)
    assert text.startswith("Scheme run 'doncaster_pbr' (fixed_baseline; test none")
    explained = run.explain()
    assert "comparator: baseline=0.5" in explained and "[binary_rate]" in explained
    import hashlib
    assert run.provenance["scheme_sha256"] == hashlib.sha256(
        run.scheme.to_toml().encode()).hexdigest()
    assert run.provenance["pbr_version"] == pbr.__version__
    assert run.to_frame().equals(run.summary())
    with pytest.raises(SpecError, match="not compared"):
        run.comparison("per_100")
    # the same inputs give the same run
    again = s.run(data.cohort, data.events, baseline=0.5, as_of=AS_OF)
    assert again.summary().equals(run.summary())
