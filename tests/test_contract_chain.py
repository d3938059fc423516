"""run_contract as a chain of public steps: measure_step -> compare_step -> pay_step.

Each comparator form (the contract's table, a Baseline, a CaseMixModel, a Baseline with a
model, a MatchResult, a MatchSpec and a [comparator.match] table) runs end to end on
synthetic data and gives the outcomes of the equivalent contract written with columns;
the steps run one by one give run_contract's statement byte for byte; contradictions
and duplicates are refused; the manifest records the comparator and verify tells a
changed one.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import pbr
from pbr import audit
from pbr.contract import (
    Contract,
    ContractComparison,
    compare_step,
    measure_step,
    pay_step,
    run_contract,
)
from pbr.contract.record import comparator_document, read_comparator_document
from pbr.errors import ContractError
from pbr.report.statement import statement_document
from pbr.risk import Baseline, fit_casemix

DATA = pbr.synth.generate(300, seed=31)
HISTORY = pbr.synth.generate(500, seed=32)
COVARIATES = ["age", "prior_sanctions"]

TEMPLATE = '''
[contract]
name = "chain"
[measure]
preset = "moj_national_2017"
{comparator}
[[component]]
name = "binary"
kind = "linear"
measure = "binary_rate"
basis = "points"
price = 100
clawback = true
'''


def contract(comparator: str) -> Contract:
    return Contract.from_toml(TEMPLATE.format(comparator=comparator))


def quiet(fn: Any, *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def key(run: Any) -> list[tuple[Any, ...]]:
    return [(o.cohort, o.measure, o.actual, o.comparator, o.n, o.lower, o.upper)
            for o in run.outcomes]


@pytest.fixture(scope="module")
def history() -> pbr.MeasureResult:
    return quiet(pbr.measure, HISTORY.cohort, HISTORY.events, "moj_national_2017")


@pytest.fixture(scope="module")
def matched() -> pbr.MatchResult:
    return quiet(pbr.match, DATA.cohort, "treated", COVARIATES, exact=["cohort_period"])


FIXED = contract('[comparator]\nvalues = {binary_rate = 30.0}\nsignificance_z = 1.96')
SUPPLIED = contract('[comparator]\nsupplied_at_run = true\nsignificance_z = 1.96')
CASEMIX = contract('[comparator]\nkind = "casemix"\nvalues = {binary_rate = 30.0}\n'
                   'baseline_risk = 31.5\nsupplied_at_run = true\nsignificance_z = 1.96')
MATCHED = contract('[comparator]\nkind = "matched"\nsupplied_at_run = true\n'
                   'significance_z = 1.96')
IN_CONTRACT = contract('[comparator]\nkind = "matched"\nsignificance_z = 1.96\n'
                       '[comparator.match]\ncovariates = ["age", "prior_sanctions"]\n'
                       'exact = ["cohort_period"]')


# ------------------------------------------------------------------------ the forms
def test_a_baseline_is_the_same_comparator_as_its_values_in_percent() -> None:
    rate = 0.2857142857142857
    b = Baseline.from_values({"binary_rate": rate}, spec="moj_national_2017", label="2019")
    run = quiet(run_contract, SUPPLIED, DATA.cohort, DATA.events, comparator=b)
    # exactly the proportion's shortest repr times 100, in Decimal: no float rounding
    assert {o.comparator for o in run.outcomes} == {Decimal("28.57142857142857")}
    fixed = contract('[comparator]\nvalues = {binary_rate = 28.57142857142857}\n'
                     'significance_z = 1.96')
    assert key(run) == key(quiet(run_contract, fixed, DATA.cohort, DATA.events))
    assert run.comparator.kind == "baseline" and run.comparator.form == "baseline"
    assert run.comparator.sha256 == hashlib.sha256(
        run.comparator.document.encode()).hexdigest()
    # no [comparator] table at all: the Baseline is the whole comparator
    bare = quiet(run_contract, contract(""), DATA.cohort, DATA.events, comparator=b)
    assert [o.comparator for o in bare.outcomes] == [o.comparator for o in run.outcomes]
    assert all(o.lower is None for o in bare.outcomes)   # no significance_z, no thresholds


def test_a_baseline_per_cohort_gives_each_cohort_its_value() -> None:
    values = {"2019Q1": 0.31, "2019Q2": 0.29, "2019Q3": 0.3, "2019Q4": 0.28}
    b = Baseline.from_values([{"cohort_period": q, "binary_rate": v} for q, v in values.items()],
                             by="cohort_period", spec="moj_national_2017")
    listed = contract('[cohorts]\nperiod = [' + ", ".join(
        f'{{name = "{q}", start = 2019-{m:02d}-01}}' for q, m in zip(values, (1, 4, 7, 10),
                                                                     strict=True))
        + ']\n[comparator]\nsupplied_at_run = true')
    with pytest.raises(ContractError, match=r"comparator=Baseline 'baseline': "
                       r"comparator\.cohorts\.'2019Q1' needs the contract's cohorts"):
        quiet(run_contract, SUPPLIED, DATA.cohort, DATA.events, comparator=b)
    run = quiet(run_contract, listed, DATA.cohort, DATA.events, comparator=b)
    assert {o.cohort: o.comparator for o in run.outcomes} == {
        q: Decimal(repr(v)) * 100 for q, v in values.items()}


def test_a_casemix_model_is_the_same_as_its_predictions_as_a_column(history: Any) -> None:
    model = fit_casemix(history, COVARIATES)
    run = quiet(run_contract, CASEMIX, DATA.cohort, DATA.events, comparator=model)
    assert run.comparator.kind == "casemix" and run.comparator.form == "casemix_model"
    column = DATA.cohort.with_columns(pl.Series("p", model.predict(
        quiet(pbr.measure, DATA.cohort, DATA.events, "moj_national_2017"))))
    written = contract('[comparator]\nkind = "casemix"\nvalues = {binary_rate = 30.0}\n'
                       'baseline_risk = 31.5\nrisk_column = "p"\nsignificance_z = 1.96')
    assert key(run) == key(quiet(run_contract, written, column, DATA.events))
    assert len({o.comparator for o in run.outcomes}) == 4   # adjusted per cohort
    # model= beside a Baseline: the Baseline's predicted_rate is the baseline risk
    b = Baseline.from_values({"binary_rate": 0.30, "predicted_rate": 0.315},
                             spec="moj_national_2017")
    both = quiet(run_contract, contract('[comparator]\nkind = "casemix"\n'
                                        'supplied_at_run = true\nsignificance_z = 1.96'),
                 DATA.cohort, DATA.events, comparator=b, model=model)
    assert both.comparator.form == "baseline+casemix_model"
    assert key(both) == key(run)


def test_a_match_result_is_the_same_as_its_weights_as_columns(matched: Any) -> None:
    run = quiet(run_contract, MATCHED, DATA.cohort, DATA.events, comparator=matched)
    assert run.comparator.form == "match_result" and run.comparator.match is matched
    weights = matched.frame.select("offender_id", pl.col("weight").alias("w"))
    cohort = DATA.cohort.join(weights, on="offender_id").filter(pl.col("w") > 0)
    written = contract('[comparator]\nkind = "matched"\ngroup_column = "treated"\n'
                       'weight_column = "w"\nsignificance_z = 1.96')
    assert key(run) == key(quiet(run_contract, written, cohort, DATA.events))
    left_out = DATA.cohort.height - cohort.height
    assert any(f"{left_out:,} offender(s) of the cohort given are left out" in n
               for n in run.statement.notes)
    # the cohort of the matched units alone (match.cohort() with the label) gives the
    # outcomes of its own weight column
    own = matched.cohort().join(DATA.cohort.select("offender_id", "cohort_period"),
                                on="offender_id")
    by_weight = contract('[comparator]\nkind = "matched"\ngroup_column = "treated"\n'
                         'weight_column = "weight"\nsignificance_z = 1.96')
    alone = quiet(run_contract, MATCHED, own, DATA.events, comparator=matched)
    assert key(alone) == key(quiet(run_contract, by_weight, own, DATA.events))
    assert not any("left out" in n for n in alone.statement.notes)


def test_a_match_is_measured_from_its_pseudo_index_dates() -> None:
    m = quiet(pbr.match, DATA.cohort, "treated", COVARIATES, exact=["cohort_period"],
              pseudo_index="matched")
    moved = m.cohort().join(DATA.cohort.select("offender_id", "cohort_period"),
                            on="offender_id")
    run = quiet(run_contract, MATCHED, moved, DATA.events, comparator=m)
    assert run.comparator.match is m and len(run.outcomes) == 4
    # the cohort file's own dates are not the dates the match gives its controls
    _refused(MATCHED, r"matched unit\(s\) were measured from another index date than the "
             r"match gives them \(pseudo_index = 'matched'.*Fix: measure on match\.cohort\(\)",
             comparator=m)
    _refused(MATCHED, r"comparator=MatchSpec: pseudo_index = 'matched' measures the "
             r"comparison units from other dates.*run pbr\.match first", comparator=m.spec)


def test_a_match_spec_runs_inside_the_run(matched: Any) -> None:
    by_result = quiet(run_contract, MATCHED, DATA.cohort, DATA.events, comparator=matched)
    by_spec = quiet(run_contract, MATCHED, DATA.cohort, DATA.events, comparator=matched.spec)
    in_contract = quiet(run_contract, IN_CONTRACT, DATA.cohort, DATA.events)
    assert key(by_spec) == key(by_result) == key(in_contract)
    assert by_spec.comparator.form == "match_spec"
    assert in_contract.comparator.form == "contract"
    weights = {by_result.comparator.weights_sha256, by_spec.comparator.weights_sha256,
               in_contract.comparator.weights_sha256}
    assert len(weights) == 1 and None not in weights
    assert Contract.from_toml(IN_CONTRACT.to_toml()) == IN_CONTRACT
    assert in_contract.comparator.match.spec == IN_CONTRACT.comparator.match


# ------------------------------------------------------------------------ the steps
@pytest.mark.parametrize("form", ["contract", "baseline", "model", "match_result",
                                  "match_spec", "match_in_contract"])
def test_steps_one_by_one_give_run_contracts_statement(form: str, history: Any,
                                                       matched: Any) -> None:
    c, given, model = {
        "contract": (FIXED, None, None),
        "baseline": (SUPPLIED, Baseline.from_values({"binary_rate": 0.3},
                                                    spec="moj_national_2017"), None),
        "model": (CASEMIX, None, fit_casemix(history, COVARIATES)),
        "match_result": (MATCHED, matched, None),
        "match_spec": (MATCHED, matched.spec, None),
        "match_in_contract": (IN_CONTRACT, None, None),
    }[form]
    run = quiet(run_contract, c, DATA.cohort, DATA.events, comparator=given, model=model)
    measured = quiet(measure_step, c, DATA.cohort, DATA.events)
    compared = quiet(compare_step, c, measured, given, model=model)
    assert isinstance(compared, ContractComparison)
    for statement in (quiet(pay_step, c, compared), quiet(pbr.pay, c, compared)):
        assert statement == run.statement and str(statement) == str(run.statement)
        assert json.dumps(statement_document(statement), sort_keys=True, default=str) == \
            json.dumps(statement_document(run.statement), sort_keys=True, default=str)
    assert run.comparison is not None and run.comparison.outcomes == run.outcomes
    assert run.result.notes == measured.notes and run.comparator == compared.comparator
    assert run.statement.provenance["comparator_sha256"] == run.comparator.sha256


def test_pay_takes_a_comparison_but_not_with_out(tmp_path: Path) -> None:
    compared = quiet(compare_step, FIXED, quiet(measure_step, FIXED, DATA.cohort,
                                                DATA.events))
    with pytest.raises(ContractError, match=r"out=, provenance=, notes=: not accepted with "
                       r"a ContractComparison.*pbr\.audit\.pay_files"):
        pbr.pay(FIXED, compared, out=tmp_path / "o")
    with pytest.raises(ContractError, match=r"contract: 'other' is not the contract the "
                       r"comparison was made under \('chain'\)"):
        pay_step(Contract.from_toml(FIXED.to_toml().replace('"chain"', '"other"')), compared)
    with pytest.raises(ContractError, match=r"compared: expected the compare step's "
                       r"ContractComparison"):
        pay_step(FIXED, compared.outcomes)  # type: ignore[arg-type]


# ------------------------------------------------------------------------ refusals
def _refused(c: Contract, match: str, **given: Any) -> None:
    with pytest.raises(ContractError, match=match):
        quiet(run_contract, c, DATA.cohort, DATA.events, **given)


def test_an_object_the_contract_contradicts_or_duplicates_is_refused(history: Any,
                                                                     matched: Any) -> None:
    b = Baseline.from_values({"binary_rate": 0.3}, spec="moj_national_2017", label="B")
    model = fit_casemix(history, COVARIATES)
    _refused(FIXED, r"comparator=Baseline 'B' gives the baseline values, which the "
             r"contract's \[comparator\.values\] already fixes.*remove \[comparator\.values\] "
             r"and set supplied_at_run = true", comparator=b)
    _refused(MATCHED, r"comparator=Baseline 'B' gives a 'baseline' or 'casemix' comparator, "
             r"but the contract's \[comparator\] kind is 'matched'\. Fix: set \[comparator\] "
             r"kind = 'baseline'.*or give a MatchResult or a MatchSpec", comparator=b)
    _refused(SUPPLIED, r"a CaseMixModel \(binary_rate, logit\) gives a 'casemix' comparator, "
             r"but the contract's \[comparator\] kind is 'baseline'", comparator=model)
    _refused(IN_CONTRACT, r"comparator=MatchResult \('custom'\) gives the comparison group, "
             r"which the contract's \[comparator\.match\] already fixes", comparator=matched)
    b_risk = Baseline.from_values({"binary_rate": 0.3, "predicted_rate": 0.3},
                                  spec="moj_national_2017", label="B")
    _refused(CASEMIX, r"gives the baseline's mean predicted risk, which the contract's "
             r"\[comparator\] baseline_risk already fixes", comparator=b_risk, model=model)


def test_a_comparator_given_nowhere_or_wrongly_is_refused(history: Any, matched: Any) -> None:
    _refused(SUPPLIED, r"comparator: the contract's \[comparator\] leaves the baseline values "
             r"to the run \(supplied_at_run = true\), but the run gave none\. Fix: give a "
             r"Baseline \(comparator=\)")
    _refused(contract(""), r"comparator: measuring a cohort against the contract needs a "
             r"\[comparator\] table .* or a comparator given with the run")
    _refused(SUPPLIED, r"comparator: expected a pbr\.risk\.Baseline, .* got int", comparator=3)
    model = fit_casemix(history, COVARIATES)
    _refused(MATCHED, r"model=: a case-mix model adjusts a baseline, but comparator= is a "
             r"matched comparison group", comparator=matched, model=model)
    _refused(CASEMIX, r"comparator=, model=: two case-mix models", comparator=model,
             model=model)
    open_casemix = contract('[comparator]\nkind = "casemix"\nsupplied_at_run = true')
    _refused(open_casemix, r"comparator: comparator=Baseline 'B' with a CaseMixModel "
             r"\(binary_rate, logit\) does not give the baseline's mean predicted risk\. "
             r"Fix: give a Baseline with predicted_rate",
             comparator=Baseline.from_values({"binary_rate": 0.3}, spec="moj_national_2017",
                                             label="B"), model=model)
    by_cohort = Baseline.from_values(
        [{"cohort_period": q, "binary_rate": 0.3, "predicted_rate": r}
         for q, r in (("2019Q1", 0.3), ("2019Q2", 0.31), ("2019Q3", 0.3), ("2019Q4", 0.3))],
        by="cohort_period", spec="moj_national_2017", label="Q")
    _refused(open_casemix, r"comparator=Baseline 'Q': its groups' predicted_rate differ "
             r"\(\[0\.3, 0\.31\]\)", comparator=by_cohort, model=model)
    frequency = fit_casemix(history, COVARIATES, measure="per_offender")
    _refused(CASEMIX, r"model \(CaseMixModel per_offender, poisson\): the contract's "
             r"case-mix adjustment moves the binary rate's baseline", comparator=frequency)
    six = pbr.preset("moj_national_2017").replace(follow_up="6 months")
    b = Baseline.from_values({"binary_rate": 0.3}, spec=six, label="CRC")
    _refused(SUPPLIED, r"comparator=Baseline 'CRC': measured under other rules than the "
             r"contract's measure .*Fix: build it with spec=contract\.measure_spec",
             comparator=b)
    freq = contract('[comparator]\nsupplied_at_run = true').components[0].replace(
        measure="per_100", basis="avoided")
    _refused(Contract("f", comparator=SUPPLIED.comparator, components=(freq,)),
             r"comparator=Baseline 'B': no per_100 value \(it gives binary_rate\)",
             comparator=Baseline.from_values({"binary_rate": 0.3}, spec="moj_national_2017",
                                             label="B"))


def test_a_match_that_crosses_cohorts_or_misses_units_is_refused(matched: Any) -> None:
    across = quiet(pbr.match, DATA.cohort, "treated", COVARIATES)
    _refused(MATCHED, r"pair\(s\) cross cohorts \(e\.g\. treated .* in '2019Q.' with control "
             r".* in '2019Q.'\).*Fix: match within cohorts: exact = \['cohort_period'\]",
             comparator=across)
    treated_only = DATA.cohort.filter(pl.col("treated"))
    with pytest.raises(ContractError, match=r"matched unit\(s\) \(e\.g\. id .*\) are not in "
                       r"the cohort given; the cohort and events must cover the treated and "
                       r"the matched controls"):
        quiet(run_contract, MATCHED, treated_only, DATA.events, comparator=matched)


@pytest.mark.parametrize(("table", "match"), [
    ('kind = "matched"\ngroup_column = "treated"\n[comparator.match]\ncovariates = ["age"]',
     r"comparator\.group_column: \[comparator\.match\] builds the comparison group"),
    ('kind = "matched"\nsupplied_at_run = true\n[comparator.match]\ncovariates = ["age"]',
     r"comparator\.supplied_at_run: \[comparator\.match\] builds the comparison group"),
    ('kind = "matched"\n[comparator.match]\ndistance = "near"',
     r"comparator\.match: distance: must be one of"),
    ('values = {binary_rate = 30.0}\nsupplied_at_run = true',
     r"comparator\.supplied_at_run: the table already gives every piece of a 'baseline'"),
    ('values = {binary_rate = 30.0}\n[comparator.match]\ncovariates = ["age"]',
     r"comparator\.match: a 'baseline' comparator does not use match"),
])
def test_contradictory_comparator_tables_are_refused(table: str, match: str) -> None:
    with pytest.raises(ContractError, match=match):
        contract("[comparator]\n" + table)


# ------------------------------------------------------------------------ documents
def test_documents_read_back_to_equal_objects(history: Any, matched: Any) -> None:
    model = fit_casemix(history, ["age", "sex"])
    for given, kw in ((Baseline.from_result(history, by="cohort_period"), {}),
                      (None, {"model": model}), (matched.spec, {})):
        form, text = comparator_document(given, **kw)
        back, back_model = read_comparator_document(text)
        assert (back, back_model) == (given, kw.get("model"))
        assert comparator_document(back, model=back_model) == (form, text)
    form, text = comparator_document(matched)
    back, _ = read_comparator_document(text)
    assert comparator_document(back) == (form, text)
    assert back.frame["weight"].to_list() == matched.frame["weight"].to_list()
    with pytest.raises(ContractError, match=r"comparator document: not a 'pbr-comparator'"):
        read_comparator_document('{"format": "other"}')


# ------------------------------------------------------------------------ manifest
@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("chain")
    out = pbr.io.write_synth(DATA, d)
    for name, c in (("matched.toml", MATCHED), ("in_contract.toml", IN_CONTRACT),
                    ("fixed.toml", FIXED)):
        (d / name).write_text(c.to_toml(), encoding="utf-8")
    return {"dir": d, **{k: Path(v) for k, v in out.items()}}


def _pay(files: dict[str, Path], name: str, out: str, **given: Any) -> audit.Manifest:
    _, manifest = quiet(audit.pay_files, files["dir"] / name, files["cohort"],
                        files["events"], files["dir"] / out, **given)
    return manifest


def test_manifest_records_a_given_match_and_verify_tells_a_change(files: dict[str, Path],
                                                                   matched: Any) -> None:
    m = _pay(files, "matched.toml", "given", comparator=matched)
    record = dict(m.comparator)
    assert record["kind"] == "matched" and record["form"] == "match_result"
    inputs = {r: (p, h) for r, p, h in m.inputs}
    assert inputs["comparator"][0] == "inputs/comparator.json"
    assert inputs["comparator"][1] == record["sha256"]   # the document is the input
    assert audit.Manifest.from_json(m.to_json()) == m and "comparator matched" in str(m)
    result = quiet(audit.verify, files["dir"] / "given")
    assert result.ok, str(result)
    assert "comparator matched (match_result)" in result.checked
    # a comparator edited after the run: its input hash differs, nothing is recomputed
    doc = files["dir"] / "given" / "inputs" / "comparator.json"
    original = doc.read_text()
    doc.write_text(original.replace('"weight": [', '"weight": [0.5, ', 1))
    result = quiet(audit.verify, files["dir"] / "given")
    assert any(d.startswith("input comparator inputs/comparator.json: sha256 recorded")
               for d in result.differences)
    doc.write_text(original)
    assert quiet(audit.verify, files["dir"] / "given").ok


def test_verify_tells_a_match_that_now_pairs_differently(files: dict[str, Path]) -> None:
    m = _pay(files, "in_contract.toml", "inside")
    record = dict(m.comparator)
    assert record["form"] == "contract" and "weights_sha256" in record
    assert "comparator" not in {r for r, _, _ in m.inputs}   # the spec is in the contract
    path = files["dir"] / "inside" / "manifest.json"
    doc = json.loads(path.read_text())
    doc["comparator"]["weights_sha256"] = "0" * 64
    path.write_text(json.dumps(doc))
    result = quiet(audit.verify, files["dir"] / "inside")
    assert result.differences == (
        f"comparator weights_sha256: recorded {'0' * 16}..., recomputed "
        f"{record['weights_sha256'][:16]}... (the comparison group the match builds "
        "changed)",)


def test_a_spec_and_a_baseline_given_to_pay_files_replay(files: dict[str, Path],
                                                         matched: Any) -> None:
    m = _pay(files, "matched.toml", "spec", comparator=matched.spec)
    assert dict(m.comparator)["form"] == "match_spec"
    assert quiet(audit.verify, files["dir"] / "spec").ok
    (files["dir"] / "fixed_open.toml").write_text(SUPPLIED.to_toml(), encoding="utf-8")
    b = Baseline.from_values({"binary_rate": 0.3}, spec="moj_national_2017")
    m = _pay(files, "fixed_open.toml", "baseline", comparator=b)
    assert dict(m.comparator) == {"kind": "baseline", "form": "baseline",
                                  "sha256": dict(m.comparator)["sha256"]}
    assert quiet(audit.verify, files["dir"] / "baseline").ok
    # the document file itself can be given again, and pays the same
    again = _pay(files, "fixed_open.toml", "again",
                 comparator=files["dir"] / "baseline" / "inputs" / "comparator.json")
    assert again.total == m.total and dict(again.comparator) == dict(m.comparator)


def test_a_version_2_manifest_still_reads_and_verifies(files: dict[str, Path]) -> None:
    m = _pay(files, "fixed.toml", "v2")
    assert m.manifest_version == 3 and dict(m.comparator)["form"] == "contract"
    path = files["dir"] / "v2" / "manifest.json"
    doc = json.loads(path.read_text())
    del doc["comparator"]
    doc["manifest_version"] = 2
    path.write_text(json.dumps(doc))
    _, old = audit.read_manifest(path)
    assert old.manifest_version == 2 and old.comparator == ()
    result = quiet(audit.verify, path)
    assert result.ok, str(result)
    assert not any(c.startswith("comparator") for c in result.checked)
