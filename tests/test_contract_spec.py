"""The contract schema: TOML round-trip, Decimal parsing, validation errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

import pbr
from pbr.contract import Component, Contract
from pbr.contract.spec import demo_contract_text
from pbr.errors import ContractError

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = sorted((ROOT / "examples" / "contracts").glob("*.toml"))

BASE = '''
[contract]
name = "t"
[comparator]
values = {binary_rate = 50.0}
[[component]]
name = "b"
kind = "linear"
measure = "binary_rate"
basis = "points"
price = 1.10
'''


@pytest.mark.parametrize("path", CONTRACTS, ids=[p.name for p in CONTRACTS])
def test_example_contracts_round_trip(path: Path, tmp_path: Path) -> None:
    c = pbr.io.read_contract(path)
    assert Contract.from_toml(c.to_toml()) == c
    back = pbr.io.read_contract(pbr.io.write_contract(c, tmp_path / "c.toml"))
    assert back == c and back.to_toml() == c.to_toml()
    assert str(c).startswith("Contract ")


def test_demo_contract_round_trips() -> None:
    c = Contract.from_toml(demo_contract_text())
    assert Contract.from_toml(c.to_toml()) == c
    assert [x.name for x in c.components] == ["fee", "binary", "frequency"]


def test_money_is_read_as_decimal_never_float() -> None:
    c = Contract.from_toml(BASE)
    price = c.components[0].price
    assert isinstance(price, Decimal) and str(price) == "1.10"
    assert isinstance(dict(c.comparator.values)["binary_rate"], Decimal)


def test_measure_preset_and_overrides() -> None:
    c = Contract.from_toml(BASE + '[measure]\npreset = "peterborough_sib"\n'
                           '[measure.overrides]\nfollow_up = "6 months"\n')
    assert c.measure_spec.counting_unit == "court_event"
    assert str(c.measure_spec.follow_up) == "6 months"
    assert Contract.from_toml(c.to_toml()) == c


@pytest.mark.parametrize(("change", "match"), [
    ('[contract]\nname = "t"\nschema = 2', "contract.schema: this pbr reads schema 1"),
    ('[contract]\nname = "t"\ncurrency = "pounds"', "contract.currency: an ISO 4217"),
    ('[contract]\nnom = "t"', "contract: unknown key"),
    ('[measure]\npreset = "nope"', "measure: unknown preset 'nope'"),
    ('[measure]\npreset = "crc_pbr_2015"\noverrides = {follow_up = "x"}', "measure: follow_up"),
    ('[comparator]\nkind = "guess"', "comparator.kind: must be one of"),
    ('[comparator]\nvalues = {rate = 1}', "comparator.values.rate: not a measure"),
    ('[comparator]\nkind = "casemix"\nvalues = {binary_rate = 30}', "comparator.risk_column"),
    ('[comparator]\nkind = "matched"', "comparator.group_column"),
    ('[rounding]\nmode = "bankers"', "rounding.mode: must be 'half_up' or 'half_even'"),
    ('[rounding]\npoint = "cohort"', "rounding.point"),
    ('[limits]\ncap = 5', "limits.cap: unknown limit"),
    ('[on_account]\nQ1 = 1.005', "on_account 'Q1'.amount: 1.005 has more"),
    ('[[variation]]\neffective = "soon"\ncomponent = "b"\nset = {price = 1}',
     "variation.effective: expected a date"),
])
def test_contract_errors_name_the_field_and_the_fix(change: str, match: str) -> None:
    table = change.split("\n", 1)[0]
    kept = BASE
    if table in ("[contract]", "[comparator]"):
        start = kept.index(table)
        end = kept.index("[", start + 1)
        kept = kept[:start] + kept[end:]
    with pytest.raises(ContractError, match=match.replace("(", r"\(").replace(")", r"\)")):
        Contract.from_toml(kept + "\n" + change + "\n")


@pytest.mark.parametrize(("fields", "match"), [
    ({"kind": "bonus"}, "component 'x'.kind: must be one of"),
    ({"kind": "linear", "measure": "binary_rate", "basis": "points"}, "x'.price"),
    ({"kind": "linear", "measure": "rate", "basis": "points", "price": 1}, "x'.measure"),
    ({"kind": "linear", "measure": "binary_rate", "basis": "per head", "price": 1}, "x'.basis"),
    ({"kind": "linear", "measure": "binary_rate", "basis": "points", "price": 1,
      "trigger": "relative"}, "x'.threshold: a relative trigger needs a threshold"),
    ({"kind": "linear", "measure": "binary_rate", "basis": "points", "price": 1,
      "trigger": "absolute", "threshold": 5, "pooled_threshold": 4}, "x'.pooled_threshold"),
    ({"kind": "linear", "measure": "binary_rate", "basis": "points", "price": 1,
      "trigger": "relative", "threshold": 5, "pooled_threshold": 4}, "x'.pooled_over"),
    ({"kind": "linear", "measure": "binary_rate", "basis": "points", "price": "abc"},
     "x'.price: expected a number"),
    ({"kind": "linear", "measure": "binary_rate", "basis": "points", "price": 1, "cap": 1,
      "floor": 2}, "x'.floor: 2 exceeds component 'x'.cap"),
    ({"kind": "tiered", "measure": "binary_rate", "tiers": [[10, 1], [5, 2]]},
     "tiers: reductions must increase"),
    ({"kind": "tiered", "measure": "binary_rate", "tiers": []}, "give at least one tier"),
    ({"kind": "at_risk", "measure": "binary_rate", "trigger": "absolute", "threshold": 5},
     "x'.value: an at_risk component needs"),
    ({"kind": "at_risk", "measure": "binary_rate", "trigger": "absolute", "threshold": 5,
      "value": 1, "share": 2}, "x'.share: must lie in"),
    ({"kind": "fee"}, "x'.amount: a fee needs"),
    ({"kind": "fee", "amount": 1, "band_low": 1}, "band_low: a volume band needs"),
    ({"kind": "fee", "amount": 1, "periods": 0}, "x'.periods"),
])
def test_component_errors(fields: dict[str, object], match: str) -> None:
    with pytest.raises(ContractError, match=match.replace("(", r"\(")):
        Component.from_dict({"name": "x", **fields})


def test_contract_level_errors() -> None:
    b = Component("b", "linear", measure="binary_rate", basis="points", price=1)
    with pytest.raises(ContractError, match="at least one"):
        Contract("t")
    with pytest.raises(ContractError, match="unique"):
        Contract("t", components=(b, b))
    f = Component("f", "linear", measure="per_reoffender", basis="avoided", price=1,
                  hurdle="b")
    with pytest.raises(ContractError, match="list 'b' before 'f'"):
        Contract("t", components=(f, b))
    with pytest.raises(ContractError, match="no component named 'z'"):
        Contract("t", components=(b, f.replace(hurdle="z")))
    with pytest.raises(ContractError, match="file does not exist"):
        pbr.io.read_contract("/nonexistent/contract.toml")
    with pytest.raises(ContractError, match="cannot read the contract TOML"):
        Contract.from_toml("[contract\n")


def test_doctests_of_the_contract_modules() -> None:
    import doctest
    import importlib

    for name in ("outcome", "components", "spec", "rules", "pay", "statement", "compare",
                 "run"):
        module = importlib.import_module(f"pbr.contract.{name}")
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, name
        assert result.attempted > 0, name
    for name in ("pbr.io.contracts", "pbr.report.statement"):
        assert doctest.testmod(importlib.import_module(name)).failed == 0, name
