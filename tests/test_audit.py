"""Audit: manifests, ``verify``, byte-identical reruns, and the pay/verify/demo commands."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import pbr
from pbr import audit, io
from pbr.cli import app
from pbr.contract.spec import demo_contract_text

N = 600


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("inputs")
    io.write_synth(pbr.synth.generate(N, seed=2024), d)
    (d / "contract.toml").write_text(demo_contract_text(), encoding="utf-8")
    return d


def _pay(inputs: Path, out: Path) -> tuple[object, audit.Manifest]:
    return audit.pay_files(inputs / "contract.toml", inputs / "cohort.parquet",
                           inputs / "events.parquet", out, seed=2024)


def run(*args: str | Path) -> object:
    return CliRunner().invoke(app, [str(a) for a in args])


def test_manifest_records_hashes_and_verify_passes(inputs: Path, tmp_path: Path) -> None:
    runs, manifest = _pay(inputs, tmp_path / "out")
    assert {r for r, _, _ in manifest.inputs} == {"contract", "cohort", "events"}
    assert [n for n, _, _ in manifest.outputs] == ["statement_csv", "statement_json",
                                                    "statement_xlsx"]
    assert manifest.contract_sha256 == runs.statement.provenance["contract_sha256"]  # type: ignore[attr-defined]
    assert manifest.total == str(runs.statement.total)  # type: ignore[attr-defined]
    on_disk = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert on_disk["seed"] == 2024 and on_disk["pbr_version"] == pbr.__version__
    assert audit.Manifest.from_json((tmp_path / "out" / "manifest.json").read_text()) == \
        manifest
    result = audit.verify(tmp_path / "out" / "manifest.json")
    assert result.ok, str(result)
    assert "identical" in str(result)


def test_outputs_are_byte_identical_on_rerun(inputs: Path, tmp_path: Path) -> None:
    _pay(inputs, tmp_path / "a")
    _pay(inputs, tmp_path / "b")
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == ["manifest.json", "statement.csv", "statement.json", "statement.xlsx"]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_verify_reports_every_changed_input_and_output(inputs: Path, tmp_path: Path) -> None:
    d = tmp_path / "copy"
    d.mkdir()
    for name in ("contract.toml", "cohort.parquet", "events.parquet"):
        (d / name).write_bytes((inputs / name).read_bytes())
    _pay(d, d / "out")
    # change the events (drop the first row) and tamper with the CSV on disk
    events = pl.read_parquet(d / "events.parquet")
    events.slice(1).write_parquet(d / "events.parquet")
    (d / "out" / "statement.csv").write_text("tampered\n")
    result = audit.verify(d / "out")
    assert not result.ok
    text = "\n".join(result.differences)
    assert "input events ../events.parquet: sha256 recorded" in text
    assert "output statement_csv statement.csv: the file on disk was changed" in text
    assert not any("input cohort" in x for x in result.differences)
    assert any("input cohort" in x for x in result.checked)
    # a changed input is reported by its hash, and nothing is recomputed from it
    assert "statement not recomputed" in result.notes[-1]
    (d / "contract.toml").write_text(demo_contract_text().replace("amount = 50000.00",
                                                                  "amount = 50001.00"))
    result = audit.verify(d / "out")
    text = "\n".join(result.differences)
    assert "input contract" in text and "total: recorded" not in text
    assert "statement not recomputed" in result.notes[-1]


def test_verify_recomputes_when_the_inputs_match(inputs: Path, tmp_path: Path) -> None:
    _pay(inputs, tmp_path / "out")
    path = tmp_path / "out" / "manifest.json"
    doc = json.loads(path.read_text())
    doc["total"] = "1.00"
    doc["outputs"][1]["sha256"] = "0" * 64
    doc["contract_sha256"] = "1" * 64
    path.write_text(json.dumps(doc))
    text = "\n".join(audit.verify(path).differences)
    assert "total: recorded GBP 1.00, recomputed" in text
    assert "output statement_json: recomputed sha256" in text
    assert "contract: the file no longer reads to the recorded contract" in text


def test_verify_missing_input(inputs: Path, tmp_path: Path) -> None:
    d = tmp_path / "copy"
    d.mkdir()
    for name in ("contract.toml", "cohort.parquet", "events.parquet"):
        (d / name).write_bytes((inputs / name).read_bytes())
    _pay(d, d / "out")
    (d / "cohort.parquet").unlink()
    result = audit.verify(d / "out" / "manifest.json")
    (diff,) = result.differences
    assert diff.startswith("input cohort ../cohort.parquet: file missing (looked at ")
    assert "--inputs DIR" in diff


def test_statement_files(inputs: Path, tmp_path: Path) -> None:
    runs, _ = _pay(inputs, tmp_path / "out")
    statement = runs.statement  # type: ignore[attr-defined]
    doc = json.loads((tmp_path / "out" / "statement.json").read_text())
    assert doc["total"] == str(statement.total)
    assert sum(float(x["amount"]) for x in doc["lines"]) == pytest.approx(float(doc["total"]))
    assert doc["lines"][0]["explain"].startswith("Line L1")
    csv = pl.read_csv(tmp_path / "out" / "statement.csv", infer_schema=False)
    assert csv["amount"].to_list() == [str(x.amount) for x in statement.lines]
    sheets = pl.read_excel(tmp_path / "out" / "statement.xlsx", sheet_id=0)
    assert list(sheets) == ["Summary", "Lines", "Contract", "Manifest"]
    params = sheets["Contract"]
    names = params["parameter"].to_list()
    assert "component.binary.price" in names and "contract TOML" in names
    lines = sheets["Lines"]
    assert lines["amount (exact)"].cast(pl.String).to_list() == \
        [str(x.amount) for x in statement.lines]


# --------------------------------------------------------------------------- commands
def test_pay_and_verify_commands(inputs: Path, tmp_path: Path) -> None:
    res = run("-q", "pay", inputs / "contract.toml", "--cohort", inputs / "cohort.parquet",
              "--events", inputs / "events.parquet", "--out", tmp_path / "out")
    assert res.exit_code == 0, res.stdout  # type: ignore[attr-defined]
    assert "total due" in res.stdout and "pbr verify" in res.stdout  # type: ignore[attr-defined]
    res = run("verify", tmp_path / "out" / "manifest.json")
    assert res.exit_code == 0 and "identical" in res.stdout  # type: ignore[attr-defined]
    (tmp_path / "out" / "statement.json").write_text("{}")
    res = run("verify", tmp_path / "out")
    assert res.exit_code == 1 and "FAILED" in res.stdout  # type: ignore[attr-defined]


def test_pay_command_reports_contract_errors(inputs: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(demo_contract_text().replace('mode = "half_up"', 'mode = "up"'))
    res = run("pay", bad, "--cohort", inputs / "cohort.parquet", "--events",
              inputs / "events.parquet", "--out", tmp_path / "out")
    assert res.exit_code == 2  # type: ignore[attr-defined]
    assert "rounding.mode: must be 'half_up' or 'half_even'" in res.stderr  # type: ignore[attr-defined]


def test_verify_passes_on_demo_output(tmp_path: Path) -> None:
    res = run("-q", "demo", "--n", "500", "--out", tmp_path / "demo")
    assert res.exit_code == 0, res.stdout  # type: ignore[attr-defined]
    assert "Payment statement" in res.stdout  # type: ignore[attr-defined]
    res = run("verify", tmp_path / "demo" / "statement" / "manifest.json")
    assert res.exit_code == 0, res.stdout  # type: ignore[attr-defined]
    # a changed input file is reported
    cohort = tmp_path / "demo" / "cohort.parquet"
    frame = pl.read_parquet(cohort)
    frame.with_columns(pl.col("true_risk") * 1.01).write_parquet(cohort)
    res = run("verify", tmp_path / "demo" / "statement")
    assert res.exit_code == 1  # type: ignore[attr-defined]
    assert "input cohort ../cohort.parquet: sha256 recorded" in res.stdout  # type: ignore[attr-defined]


def test_column_roles_are_recorded_and_reused_by_verify(inputs: Path, tmp_path: Path) -> None:
    d = tmp_path / "renamed"
    d.mkdir()
    pl.read_parquet(inputs / "cohort.parquet").rename({"offender_id": "pnc_id"}).write_csv(
        d / "cohort.csv")
    pl.read_parquet(inputs / "events.parquet").rename(
        {"offender_id": "pnc_id", "offence_date": "off_dt"}).write_csv(d / "events.csv")
    (d / "contract.toml").write_text(demo_contract_text(), encoding="utf-8")
    res = run("-q", "pay", d / "contract.toml", "--cohort", d / "cohort.csv", "--events",
              d / "events.csv", "--out", d / "out", "--offender-id", "pnc_id",
              "--offence-date", "off_dt")
    assert res.exit_code == 0, res.stderr  # type: ignore[attr-defined]
    manifest = json.loads((d / "out" / "manifest.json").read_text())
    assert manifest["roles"] == {"offence_date": "off_dt", "offender_id": "pnc_id"}
    # same statement as from the original files
    runs, _ = _pay(inputs, tmp_path / "original")
    doc = json.loads((d / "out" / "statement.json").read_text())
    assert doc["total"] == str(runs.statement.total)  # type: ignore[attr-defined]
    assert audit.verify(d / "out").ok
    with pytest.raises(pbr.SchemaError, match="roles: unknown role"):
        audit.pay_files(d / "contract.toml", d / "cohort.csv", d / "events.csv", d / "x",
                        roles={"pnc": "pnc_id"})
