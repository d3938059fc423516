"""``pbr finance``: the appraisal of a flows CSV, its files written all or nothing and
byte-identical on a rerun, the INDIGO document valid against the schema; bad input
refused with exit code 2 and nothing written.  Also the examples' investor views."""

from __future__ import annotations

import importlib.util
import json
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import jsonschema
from typer.testing import CliRunner

import pbr
from pbr.cli import app

RUNNER = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
FLOWS = """date,kind,amount,label
2021-01-01,drawdown,1500.00,capital
2021-01-01,service_cost,1000.00,year 1
2023-01-01,outcome_payment,1210.00,final
"""


def _run(*args: str) -> object:
    return RUNNER.invoke(app, ["--quiet", "finance", *args])


def test_appraisal_files_and_indigo(tmp_path: Path) -> None:
    flows = tmp_path / "flows.csv"
    flows.write_text(FLOWS, encoding="utf-8")
    out = tmp_path / "out"
    args = [str(flows), "--name", "demo", "--commitment", "2000", "--discount-rate", "0.05",
            "--outcomes", "40", "--savings-per-outcome", "50", "--out", str(out),
            "--indigo", str(out / "indigo.json"), "--stage", "Complete",
            "--jurisdiction", "GB", "--capital-type", "Equity"]
    r = _run(*args)
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    text = r.output  # type: ignore[attr-defined]
    # 1,500 drawn, 1,000 spent: 500 returned on the last date with the 1,210 payment
    assert "invested 1,500.00; returned 1,710.00" in text and "multiple 1.1400" in text
    assert (out / "appraisal.txt").read_text(encoding="utf-8") == text
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["outputs_sha256"]) == {"appraisal.txt", "summary.csv", "flows.csv"}
    assert manifest["discount_rate"] == "0.05"
    schema = json.loads((ROOT / "tests/fixtures/indigo/project.json").read_text())
    doc = json.loads((out / "indigo.json").read_text(encoding="utf-8"))
    assert not list(jsonschema.Draft7Validator(schema).iter_errors(doc))
    assert doc["investments"][0]["investor_repayment"]["value"] == (
        "Principal + positive financial returns")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert _run(*args).exit_code == 0  # type: ignore[attr-defined]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_flows_from_a_database(tmp_path: Path) -> None:
    import sqlite3

    flows = tmp_path / "flows.csv"
    flows.write_text(FLOWS, encoding="utf-8")
    db = tmp_path / "bond.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE flows (date TEXT, kind TEXT, amount TEXT, label TEXT)")
        con.executemany("INSERT INTO flows VALUES (?, ?, ?, ?)",
                        [line.split(",") for line in FLOWS.strip().splitlines()[1:]])
    from_file = _run(str(flows), "--out", str(tmp_path / "f"))
    from_db = _run(f"sqlite:///{db}?table=flows", "--out", str(tmp_path / "d"))
    assert from_db.exit_code == 0, from_db.output  # type: ignore[attr-defined]
    assert from_db.output == from_file.output  # type: ignore[attr-defined]
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["flows_source"]["rows"] == 3 and "flows_file_sha256" not in manifest


def test_bad_input_is_refused_and_nothing_written(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("date,kind,amount\n2021-01-01,interest,5\n", encoding="utf-8")
    out = tmp_path / "out"
    r = _run(str(bad), "--out", str(out))
    assert r.exit_code == 2  # type: ignore[attr-defined]
    assert "flows row 1" in r.output and "'interest'" in r.output  # type: ignore[attr-defined]
    assert not out.exists()
    flows = tmp_path / "flows.csv"
    flows.write_text(FLOWS, encoding="utf-8")
    r = _run(str(flows), "--indigo", str(out / "x.json"), "--stage", "Finished")
    assert r.exit_code == 2 and not out.exists()  # type: ignore[attr-defined]
    missing = tmp_path / "missing.csv"
    missing.write_text("date,amount\n2021-01-01,5\n", encoding="utf-8")
    r = _run(str(missing))
    assert r.exit_code == 2 and "no column(s) kind" in r.output  # type: ignore[attr-defined]


def _example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_examples_investor_views() -> None:
    from pbr.contract import Outcome, pay

    peterborough = _example("contract_peterborough")
    contract = pbr.io.read_contract(peterborough.CONTRACT)
    final = pay(contract, [
        Outcome("cohort 1", "per_100", actual=142, comparator=155, n=1000,
                unit_name="conviction events"),
        Outcome("cohort 2", "per_100", actual=Decimal("135.58"), comparator=150, n=1000,
                unit_name="conviction events")])
    got = peterborough.investor_view(final)
    assert got["investor_payment"] == Decimal("5865670.24")
    assert got["price_per_event"] == Decimal("21391.94")
    rikers = _example("contract_rikers")
    tiers = dict(pbr.io.read_contract(rikers.CONTRACT).components[0].tiers)
    assert rikers.investor_view(tiers) == Decimal("0.8333")
