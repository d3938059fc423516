"""INDIGO export: pbr.finance.to_indigo's document validates against the INDIGO project
schema committed as a fixture (tests/fixtures/indigo/README.md has its source and
commit), writes only fields the schema defines, uses the code lists' values, and keeps
the amounts exact."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pbr.contract import Line, PaymentStatement
from pbr.errors import SchemaError, SpecError
from pbr.finance import ImpactBond, appraise, indigo_json, to_indigo

FIXTURE = Path(__file__).parent / "fixtures" / "indigo"
D = Decimal
HASHES = {
    "project.json": "a1eb6576ad6faa107c55cb9f588f867d4338787f5a2df0c58d1157f4c677f572",
    "project_provider_side_cost_classification.csv":
        "e7ccc10f4beb114c581edb1cf57695048ae6d0b7a928b5a4e218d339e4f40ad6",
    "project_provider_side_cost_phase.csv":
        "c48343b01e406d50a4814da766cd0371ab187f7faa6266ddc5f8d493095464a6",
    "project_provider_side_cost_type.csv":
        "887ac1d4cd276d4446450265ce172887cc292e4694ba7fa663813fc083240a49",
}


def _schema() -> dict[str, Any]:
    out: dict[str, Any] = json.loads((FIXTURE / "project.json").read_text())
    return out


def _codes(name: str) -> set[str]:
    with (FIXTURE / f"{name}.csv").open(newline="", encoding="utf-8") as fh:
        return {row[0].strip() for row in list(csv.reader(fh))[1:]}


def _statement(total_1: str, total_2: str, provisional: bool = False) -> PaymentStatement:
    lines = (Line("L1", "cohort 1", "events", "per event avoided", D(total_1),
                  measure="reconviction_events_per_100", baseline=D(155), actual=D(142),
                  difference=D(-13), n=1000, units=D(130), unit="events avoided",
                  unit_price=D(1000), provisional=provisional),
             Line("L2", "cohort 2", "events", "per event avoided", D(total_2),
                  measure="reconviction_events_per_100", baseline=D(150),
                  actual=D("135.58"), difference=D("-14.42"), n=1000, units=D("144.2"),
                  unit="events avoided", unit_price=D(1000), provisional=provisional))
    return PaymentStatement("peterborough", "1", "GBP", lines, D(total_1) + D(total_2))


def _bond() -> ImpactBond:
    return ImpactBond.build(
        "HMP Peterborough (illustrative flows)", "GBP", commitment=5_000_000,
        drawdowns=[("2010-09-09", 2_000_000), ("2011-09-09", 2_000_000)],
        service_costs=[("2010-09-09", 1_800_000), ("2011-09-09", 1_900_000)],
        fees=[("2010-09-09", 100_000, "Evaluation costs"), ("2011-09-09", 50_000)],
        outcome_payments=[("2017-07-27", "274200.00")])


def _document() -> dict[str, Any]:
    bond = _bond()
    return to_indigo(bond, appraisal=appraise(bond), statements=[
        (dt.date(2017, 7, 27), _statement("130000.00", "144200.00"), "Final")],
        stage="Complete", jurisdiction="GB", capital_type="Equity",
        investor_id="INDIGO-ORG-0001", payer_id="INDIGO-ORG-0002",
        provider_id="INDIGO-ORG-0003")


def _keys(doc: Any, schema: dict[str, Any], node: dict[str, Any], path: str,
          bad: list[str]) -> None:
    """Every key written is a property the schema defines at that place."""
    if "$ref" in node:
        node = {**schema["definitions"][node["$ref"].rsplit("/", 1)[1]], **{
            k: v for k, v in node.items() if k != "$ref"}}
    if isinstance(doc, dict):
        props = node.get("properties", {})
        for k, v in doc.items():
            if k not in props:
                bad.append(f"{path}/{k}")
            else:
                _keys(v, schema, props[k], f"{path}/{k}", bad)
    elif isinstance(doc, list):
        for i, item in enumerate(doc):
            _keys(item, schema, node.get("items", {}), f"{path}/{i}", bad)


def test_fixture_is_the_committed_schema() -> None:
    for name, digest in HASHES.items():
        assert hashlib.sha256((FIXTURE / name).read_bytes()).hexdigest() == digest, name
    assert "f034d757ca756bd0a03ba4df69be81f9eee7d416" in (FIXTURE / "README.md").read_text()


def test_export_validates_against_the_indigo_schema() -> None:
    schema = _schema()
    doc = json.loads(indigo_json(_document()))
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=str)
    assert not errors, "\n".join(e.message for e in errors)
    bad: list[str] = []
    _keys(doc, schema, schema, "", bad)
    assert not bad, bad
    # the validator does catch a wrong value where the schema has an enum
    broken = json.loads(indigo_json(_document()))
    broken["transactions"][0]["transaction_type"]["value"] = "Loan"
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))
    # and the key walk catches a misspelt field the schema would let through
    broken["overall_project_finance"]["total_outcome_payment"] = {}
    bad = []
    _keys(broken, schema, schema, "", bad)
    assert bad == ["/overall_project_finance/total_outcome_payment"]


def test_code_lists_and_mapped_values() -> None:
    doc = _document()
    costs = doc["provider_side_cost"]
    assert {c["phase"]["value"] for c in costs} <= _codes("project_provider_side_cost_phase")
    assert {c["classification"]["value"] for c in costs} <= _codes(
        "project_provider_side_cost_classification")
    assert {c["type"]["value"] for c in costs} <= _codes("project_provider_side_cost_type")
    assert [c["classification"]["value"] for c in costs] == [
        "Service delivery costs", "Evaluation costs", "Service delivery costs", "Other costs"]
    finance = doc["overall_project_finance"]
    assert finance["total_investment_commitment"]["amount"]["exact"]["value"] == D(5_000_000)
    assert finance["total_outcome_payments_made"]["amount"]["value"] == D("274200.00")
    # 4,000,000 drawn, 274,200 + 250,000 unspent returned: some repayment
    assert finance["investor_repayment"]["value"] == "Some repayment (but below value of " \
                                                      "principle)"
    invested = doc["investment_details"]["total_funds_invested"]["latest"]
    assert invested["amount"]["value"] == D(4_000_000)
    assert invested["date"]["value"] == "2011-09-09"
    assert doc["investment_details"]["internal_rate_of_return"]["latest"]["value"].endswith("%")
    kinds = [t["transaction_type"]["value"] for t in doc["transactions"]]
    assert kinds == ["Equity", "Equity", "Outcome Payment", "Capital Repayment"]
    assert doc["transactions"][2]["sending_organisation_id"]["value"] == "INDIGO-ORG-0002"
    assert doc["outcome_metrics"][0]["id"] == "outcome-metric-events"
    assert doc["outcome_pricings"][0]["price_per_unit"]["amount"]["value"] == D(1000)
    pays = doc["outcome_payments"]
    assert [p["money"]["amount"]["value"] for p in pays] == [D("274200.00")]
    assert pays[0]["type"]["value"] == "Actual"
    result = doc["results"][0]
    assert result["number_engaged_in_impact_bond"]["value"] == 2000
    assert "cohort 1: reconviction_events_per_100 142 against 155" in \
        result["outcomes_achieved"]["value"]
    assert doc["dates"]["start_date_of_service_provision"]["value"] == "2010-09-09"
    [commitment] = doc["outcome_payment_commitments"]
    assert commitment["organisation_id"]["value"] == "INDIGO-ORG-0002"
    assert commitment["result_type"]["value"] == "Overall"
    assert commitment["total_outcome_payments"]["amount"]["value"] == D("274200.00")


def test_amounts_are_written_exactly() -> None:
    text = indigo_json(_document())
    assert '"value": 274200.00' in text and '"value": 5000000' in text
    assert json.loads(text, parse_float=D)["overall_project_finance"][
        "total_outcome_payments_made"]["amount"]["value"] == D("274200.00")
    assert indigo_json(_document()) == text  # deterministic


def test_provisional_statement_is_planned_and_interim() -> None:
    bond = _bond()
    doc = to_indigo(bond, statements={"2017-07-27": _statement("1.00", "2.00", True)})
    assert doc["outcome_payments"][0]["type"]["value"] == "Planned"
    assert doc["results"][0]["result_type"]["value"] == "Interim"
    assert "investor_repayment" not in doc["overall_project_finance"]  # not complete
    assert "internal_rate_of_return" not in doc["investment_details"]  # no appraisal


def test_refusals() -> None:
    bond = _bond()
    with pytest.raises(SpecError, match="stage: 'Done' is not one of INDIGO's values"):
        to_indigo(bond, stage="Done")
    with pytest.raises(SpecError, match="jurisdiction"):
        to_indigo(bond, jurisdiction="UK1")
    with pytest.raises(SpecError, match="capital_type"):
        to_indigo(bond, capital_type="Loan")
    with pytest.raises(SpecError, match="status"):
        to_indigo(bond, status="public")
    with pytest.raises(SpecError, match="another bond"):
        other = ImpactBond.build("x", "GBP", service_costs=[("2020-01-01", 1)])
        to_indigo(bond, appraisal=appraise(other))
    usd = PaymentStatement("x", "1", "USD", (), D(0))
    with pytest.raises(SchemaError, match="currency USD differs"):
        to_indigo(bond, statements=[(dt.date(2020, 1, 1), usd)])
    with pytest.raises(SchemaError, match="not YYYY-MM-DD"):
        to_indigo(bond, statements=[("1/1/2020", usd)])
    with pytest.raises(SpecError, match="result type"):
        to_indigo(bond, statements=[(dt.date(2020, 1, 1), _statement("1", "1"), "Overall")])
    with pytest.raises(SpecError, match="investor_id"):
        to_indigo(bond, investor_id="  ")


def test_minimal_document_validates() -> None:
    # no statements, no appraisal: sections without items are left out (the schema's
    # arrays need at least one item)
    bond = ImpactBond.build("m", "USD", service_costs=[("2020-01-01", 5)])
    doc = json.loads(indigo_json(to_indigo(bond)))
    errors = list(jsonschema.Draft7Validator(_schema()).iter_errors(doc))
    assert not errors, [e.message for e in errors]
    assert "outcome_metrics" not in doc and "results" not in doc
    assert [t["transaction_type"]["value"] for t in doc["transactions"]] == ["Other"]
