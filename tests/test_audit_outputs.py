"""Audit and outputs: exit codes, --debug, the first-run compile message, verify --inputs,
environment notes, old manifests, paying from outcomes, ledgers, all-or-nothing files."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

import pbr
from pbr import audit, io
from pbr.cli import _app, app
from pbr.contract.ledger import PaymentLedger
from pbr.contract.spec import demo_contract_text
from pbr.errors import AuditError, ContractError
from pbr.io._atomic import atomic_files
from pbr.io.results import read_outcomes, write_outcomes


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("audit_outputs")
    io.write_synth(pbr.synth.generate(200, seed=1), d)
    (d / "contract.toml").write_text(demo_contract_text(), encoding="utf-8")
    runs, _ = audit.pay_files(d / "contract.toml", d / "cohort.parquet",
                              d / "events.parquet", d / "prev")
    write_outcomes(runs.outcomes, d / "outcomes.csv")
    return d


@pytest.fixture
def d(base: Path, tmp_path: Path) -> Path:
    shutil.copytree(base, tmp_path / "w")
    return tmp_path / "w"


def cli(*args: str | Path) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


def edit_manifest(d: Path, **changes: Any) -> None:
    path = d / "prev" / audit.MANIFEST_NAME
    doc = json.loads(path.read_text())
    for k, v in changes.items():
        if v is None:
            doc.pop(k, None)
        else:
            doc[k] = v
    path.write_text(json.dumps(doc))


# --------------------------------------------------------------------------- exit codes
def boom(exc: BaseException) -> Any:
    def raise_(*args: Any, **kwargs: Any) -> Any:
        raise exc
    return raise_


def test_internal_error_exits_3_and_says_how_to_see_the_traceback(
        d: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "pay_outcomes", boom(RuntimeError("kaput")))
    args = ["pay", d / "contract.toml", "--outcomes", d / "outcomes.csv", "--out", d / "o"]
    res = cli("-q", *args)
    assert res.exit_code == 3
    assert "internal error (a bug in pbr" in res.stderr and "RuntimeError: kaput" in res.stderr
    assert "pbr --debug" in res.stderr and "Traceback" not in res.stderr
    res = cli("--debug", *args)  # --debug lets the exception (and its traceback) through
    assert isinstance(res.exception, RuntimeError)


def test_os_error_exits_2_and_debug_reraises_user_errors(
        d: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "verify", boom(PermissionError(13, "Permission denied",
                                                              "m.json")))
    res = cli("verify", d / "prev")
    assert res.exit_code == 2
    assert res.stderr.strip() == "error: cannot read or write 'm.json': Permission denied"
    monkeypatch.setattr(audit, "verify", boom(AuditError("bad manifest")))
    assert cli("verify", d / "prev").exit_code == 2
    assert isinstance(cli("--debug", "verify", d / "prev").exception, AuditError)


def test_verify_exit_codes(d: Path) -> None:
    assert cli("verify", d / "prev").exit_code == 0
    (d / "prev" / "statement.csv").write_text("edited")
    assert cli("verify", d / "prev").exit_code == 1
    (d / "prev" / "manifest.json").write_text("{")
    assert cli("verify", d / "prev").exit_code == 2


# --------------------------------------------------------------------------- compile message
def test_kernels_cached_reads_numba_cache_index(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "tiny_kernel_mod.py"
    src.write_text("from numba import njit\n\n@njit(cache=True)\ndef add(a, b):\n"
                   "    return a + b\n")
    spec = importlib.util.spec_from_file_location("tiny_kernel_mod", src)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "tiny_kernel_mod", mod)
    spec.loader.exec_module(mod)
    assert not _app.kernels_cached([mod.add])  # never compiled: cold
    assert mod.add(1, 2) == 3  # compiles and writes the cache beside the temp module
    assert _app.kernels_cached([mod.add])
    assert _app.kernels_cached()  # pbr's own kernels are cached in this environment


def test_first_run_says_it_is_compiling_once(d: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = ["measure", "--cohort", d / "cohort.parquet", "--events", d / "events.parquet",
            "--out", d / "m.parquet"]
    monkeypatch.setattr(_app, "kernels_cached", lambda kernels=None: False)
    res = cli(*args)
    assert res.exit_code == 0, res.stderr
    assert res.stderr.count("compiling pbr's kernels with Numba (about a minute") == 1
    assert "compiling" not in res.stdout
    assert "compiling" not in cli("-q", *args).stderr
    res = cli("pay", d / "contract.toml", "--cohort", d / "cohort.parquet", "--events",
              d / "events.parquet", "--out", d / "p")
    assert res.stderr.count("compiling pbr's kernels") == 1
    res = cli("pay", d / "contract.toml", "--outcomes", d / "outcomes.csv", "--out", d / "q")
    assert "compiling" not in res.stderr  # paying from outcomes measures nothing
    monkeypatch.setattr(_app, "kernels_cached", lambda kernels=None: True)
    assert "compiling" not in cli(*args).stderr


# --------------------------------------------------------------------------- verify
def test_verify_finds_moved_inputs(d: Path, tmp_path: Path) -> None:
    moved = tmp_path / "moved"
    moved.mkdir()
    for name in ("contract.toml", "cohort.parquet", "events.parquet"):
        (d / name).rename(moved / name)
    assert not audit.verify(d / "prev").ok
    result = audit.verify(d / "prev", inputs=moved)
    assert result.ok, str(result)
    assert any("input cohort ../cohort.parquet (found at" in c for c in result.checked)
    res = cli("verify", d / "prev", "--inputs", moved)
    assert res.exit_code == 0 and "identical" in res.stdout


def test_flipped_byte_is_reported_before_reading(d: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    data = bytearray((d / "cohort.parquet").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (d / "cohort.parquet").write_bytes(bytes(data))
    monkeypatch.setattr(audit, "read_cohort", boom(AssertionError("read a changed input")))
    result = audit.verify(d / "prev")
    assert result.differences[0].startswith("input cohort ../cohort.parquet: sha256 recorded")
    assert result.notes[-1].startswith("statement not recomputed")


def test_environment_differences_are_notes_pbr_version_a_difference(d: Path) -> None:
    doc = json.loads((d / "prev" / "manifest.json").read_text())
    assert set(doc["environment"]) == {"python", "pbr", "numpy", "polars", "numba", "scipy",
                                       "statsmodels", "pyarrow", "xlsxwriter", "platform"}
    env = {**doc["environment"], "numpy": "0.0.1"}
    edit_manifest(d, environment=env)
    result = audit.verify(d / "prev")
    assert result.ok
    assert any(n.startswith("environment numpy: recorded 0.0.1, now ") for n in result.notes)
    assert "note:    environment numpy" in str(result)
    edit_manifest(d, pbr_version="0.0.9")
    result = audit.verify(d / "prev")
    assert result.differences == (f"pbr version: recorded 0.0.9, now {pbr.__version__}",)


def test_old_manifest_without_format_is_still_verified(d: Path) -> None:
    edit_manifest(d, format=None, manifest_version=None, environment=None, notes=None,
                  kind=None, options=None, as_of=None)
    result = audit.verify(d / "prev")
    assert result.ok, str(result)
    assert "records no environment" in result.notes[0]


def test_manifest_carries_the_statements_notes(base: Path) -> None:
    doc = json.loads((base / "prev" / "manifest.json").read_text())
    statement = json.loads((base / "prev" / "statement.json").read_text())
    assert statement["notes"] and set(statement["notes"]) <= set(doc["notes"])
    summary = pl.read_excel(base / "prev" / "statement.xlsx", sheet_name="Summary",
                            has_header=False)
    assert statement["notes"][0] in summary[:, 1].to_list()


# --------------------------------------------------------------------------- outcomes
def test_pay_from_outcomes_cli_and_verify(d: Path) -> None:
    res = cli("-q", "pay", d / "contract.toml", "--outcomes", d / "outcomes.csv", "--out",
              d / "from_outcomes")
    assert res.exit_code == 0, res.stderr
    manifest = json.loads((d / "from_outcomes" / "manifest.json").read_text())
    assert manifest["kind"] == "outcomes"
    assert [i["role"] for i in manifest["inputs"]] == ["contract", "outcomes"]
    measured = json.loads((d / "prev" / "statement.json").read_text())
    assert manifest["total"] == measured["total"]  # same outcomes, same bill
    res = cli("verify", d / "from_outcomes")
    assert res.exit_code == 0 and "identical" in res.stdout
    text = (d / "outcomes.csv").read_text().replace("24.390244", "20.390244", 1)
    (d / "outcomes.csv").write_text(text)
    res = cli("verify", d / "from_outcomes")
    assert res.exit_code == 1 and "input outcomes ../outcomes.csv: sha256" in res.stdout


def test_outcomes_round_trip_exactly(base: Path, tmp_path: Path) -> None:
    outcomes = read_outcomes(base / "outcomes.csv")
    again = read_outcomes(write_outcomes(outcomes, tmp_path / "again.csv"))
    assert again == outcomes
    assert (tmp_path / "again.csv").read_bytes() == (base / "outcomes.csv").read_bytes()


def test_pay_outcomes_objects_write_their_inputs(base: Path, tmp_path: Path) -> None:
    contract = io.read_contract(base / "contract.toml")
    _, manifest = audit.pay_outcomes(contract, read_outcomes(base / "outcomes.csv"),
                                     tmp_path / "out")
    assert sorted(p.relative_to(tmp_path / "out").as_posix()
                  for p in (tmp_path / "out").rglob("*") if p.is_file()) == [
        "inputs/contract.toml", "inputs/outcomes.csv", "manifest.json", "statement.csv",
        "statement.json", "statement.xlsx"]
    assert [(r, p) for r, p, _ in manifest.inputs] == [
        ("contract", "inputs/contract.toml"), ("outcomes", "inputs/outcomes.csv")]
    assert audit.verify(tmp_path / "out").ok


def test_paid_ledger_is_an_input_of_the_manifest(d: Path) -> None:
    outcomes = read_outcomes(d / "outcomes.csv")
    write_outcomes([o for o in outcomes if o.cohort in ("2019Q1", "2019Q2")], d / "h1.csv")
    write_outcomes([o for o in outcomes if o.cohort in ("2019Q3", "2019Q4")], d / "h2.csv")
    first, _ = audit.pay_outcomes(d / "contract.toml", d / "h1.csv", d / "q1")
    PaymentLedger.from_statements(first).to_frame().write_csv(d / "ledger.csv")
    second, manifest = audit.pay_outcomes(d / "contract.toml", d / "h2.csv", d / "q2",
                                          paid=d / "ledger.csv")
    assert [r for r, _, _ in manifest.inputs] == ["contract", "outcomes", "paid"]
    assert second.total == audit.pay_outcomes(d / "contract.toml", d / "h2.csv",
                                              d / "alone")[0].total  # caps do not bind here
    # earlier statements as objects: written to paid.csv, recorded, and the same bill
    third, m3 = audit.pay_outcomes(d / "contract.toml", d / "h2.csv", d / "q2obj",
                                   paid=[first])
    assert ("paid", "inputs/paid.csv") in [(r, p) for r, p, _ in m3.inputs]
    assert (d / "q2obj" / "inputs" / "paid.csv").is_file() and audit.verify(d / "q2obj").ok
    assert third.total == second.total and third.lines == second.lines
    # the ledger reaches the payment engine: cohorts it paid are not paid twice
    with pytest.raises(ContractError, match=r"already paid in an earlier statement"):
        audit.pay_outcomes(d / "contract.toml", d / "outcomes.csv", d / "again",
                           paid=d / "ledger.csv")
    assert not (d / "again").exists()
    assert audit.verify(d / "q2").ok
    res = cli("-q", "pay", d / "contract.toml", "--outcomes", d / "h2.csv", "--paid",
              d / "ledger.csv", "--out", d / "q2cli")
    assert res.exit_code == 0, res.stderr
    assert (d / "q2cli" / "statement.json").read_bytes() == \
        (d / "q2" / "statement.json").read_bytes()
    (d / "ledger.csv").write_text((d / "ledger.csv").read_text() + "\n")
    assert "input paid ../ledger.csv: sha256" in audit.verify(d / "q2").differences[0]


def test_as_of_is_recorded_and_replayed(d: Path) -> None:
    _, manifest = audit.pay_files(d / "contract.toml", d / "cohort.parquet",
                                  d / "events.parquet", d / "dated", as_of="2022-08-31")
    assert manifest.as_of == "2022-08-31"
    assert json.loads((d / "dated" / "manifest.json").read_text())["as_of"] == "2022-08-31"
    assert audit.verify(d / "dated").ok
    with pytest.raises(ContractError, match=r"as_of: the data extract date as YYYY-MM-DD"):
        audit.pay_files(d / "contract.toml", d / "cohort.parquet", d / "events.parquet",
                        d / "x", as_of="31/08/2022")
    assert not (d / "x").exists()
    res = cli("pay", d / "contract.toml", "--cohort", d / "cohort.parquet", "--events",
              d / "events.parquet", "--as-of", "2019-03-01", "--out", d / "early")
    assert res.exit_code == 2 and "as_of" in res.stderr and not (d / "early").exists()


# --------------------------------------------------------------------------- atomic files
def test_atomic_files_all_or_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("old a")
    with pytest.raises(ValueError, match="half-way"), \
            atomic_files(tmp_path / "a.csv", tmp_path / "new" / "b.json") as (a, _):
        a.write_text("new a")
        raise ValueError("stopped half-way")
    assert (tmp_path / "a.csv").read_text() == "old a"
    assert not (tmp_path / "new").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["a.csv"]
    with pytest.raises(AuditError, match="two outputs are the same file"), \
            atomic_files(tmp_path / "a.csv", tmp_path / "." / "a.csv"):
        pass
    with pytest.raises(AuditError, match=r"output\(s\) not written: .*b.json"), \
            atomic_files(tmp_path / "a.csv", tmp_path / "b.json") as (a, _):
        a.write_text("only a")
    assert (tmp_path / "a.csv").read_text() == "old a"


def test_failed_pay_leaves_previous_statement_byte_identical(d: Path) -> None:
    before = {p.name: p.read_bytes() for p in (d / "prev").iterdir()}
    text = demo_contract_text()
    start = text.index("name = ")
    long = text[:start] + f'name = "{"y" * 33_000}"' + text[text.index("\n", start):]
    (d / "contract.toml").write_text(long)
    res = cli("pay", d / "contract.toml", "--cohort", d / "cohort.parquet", "--events",
              d / "events.parquet", "--out", d / "prev")
    assert res.exit_code == 2 and "Summary!B1 would hold 33,000 characters" in res.stderr
    assert {p.name: p.read_bytes() for p in (d / "prev").iterdir()} == before


def test_provisional_lines_are_marked_on_every_output(tmp_path: Path) -> None:
    text = demo_contract_text().replace("[contract]\n", "[contract]\nprovisional = true\n", 1)
    contract = pbr.Contract.from_toml(text)
    outcomes = [pbr.Outcome(q, m, actual=a, comparator=b, n=100, base_n=k, lower=lo,
                            upper=hi, provisional=q == "2019Q4")
                for q in ("2019Q1", "2019Q2", "2019Q3", "2019Q4")
                for m, a, b, k, lo, hi in (("binary_rate", 20, 28, 100, 19.2, 36.8),
                                           ("per_reoffender", 3, 3.45, 20, 2.9, 4.0))]
    with pytest.warns(pbr.errors.ProvisionalWarning):
        statement, manifest = audit.pay_outcomes(contract, outcomes, tmp_path)
    marked = [x.line for x in statement.lines if x.provisional]
    assert marked and any(n.startswith("provisional: lines") for n in manifest.notes)
    doc = json.loads((tmp_path / "statement.json").read_text())
    assert doc["provisional"] is True
    assert [x["line"] for x in doc["lines"] if x["provisional"]] == marked
    csv = pl.read_csv(tmp_path / "statement.csv", infer_schema=False)
    assert csv.filter(pl.col("provisional") == "true")["line"].to_list() == marked
    summary = pl.read_excel(tmp_path / "statement.xlsx", sheet_name="Summary",
                            has_header=False)
    assert "Status" in summary[:, 0].to_list()
    lines = pl.read_excel(tmp_path / "statement.xlsx", sheet_name="Lines",
                          schema_overrides={"provisional": pl.String})
    assert lines.filter(pl.col("provisional") == "provisional")["line"].to_list() == marked
    assert audit.verify(tmp_path).ok
    assert read_outcomes(tmp_path / "inputs" / "outcomes.csv")[-1].provisional


def test_read_options_are_recorded_and_replayed(base: Path, tmp_path: Path) -> None:
    for name in ("cohort", "events"):
        pl.read_parquet(base / f"{name}.parquet").write_csv(tmp_path / f"{name}.csv",
                                                            separator=";")
    shutil.copy(base / "contract.toml", tmp_path)
    files = [tmp_path / "contract.toml", tmp_path / "cohort.csv", tmp_path / "events.csv"]
    with pytest.raises(pbr.SchemaError):  # read without the separator: refused
        audit.pay_files(*files, tmp_path / "out")
    _, manifest = audit.pay_files(*files, tmp_path / "out",
                                  read_options={"separator": ";", "duplicates": "exclude"})
    assert manifest.options == (("duplicates", '"exclude"'), ("separator", '";"'))
    doc = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert doc["options"] == {"duplicates": "exclude", "separator": ";"}
    assert audit.verify(tmp_path / "out").ok  # verify reads the files the same way
    assert json.loads((tmp_path / "out" / "statement.json").read_text())["total"] == \
        json.loads((base / "prev" / "statement.json").read_text())["total"]


def test_pay_maps_disposal_types_and_verify_replays_the_mapping(d: Path) -> None:
    # the events say "Conv." and "Caut." (another vocabulary): refused without a mapping,
    # paid with --disposal-type-map, and the mapping is recorded so verify reproduces it
    ev = pl.read_parquet(d / "events.parquet").with_columns(
        disposal_type=pl.col("disposal_type").replace({"conviction": "Conv.",
                                                       "caution": "Caut."}))
    ev.write_parquet(d / "events2.parquet")
    base = ["pay", d / "contract.toml", "--cohort", d / "cohort.parquet",
            "--events", d / "events2.parquet"]
    refused = cli(*base, "--out", d / "refused")
    assert refused.exit_code == 2 and "--disposal-type-map" in refused.stderr
    assert not (d / "refused").exists()
    res = cli(*base, "--out", d / "mapped", "--disposal-type-map", "Conv.=conviction",
              "--disposal-type-map", "Caut.=caution")
    assert res.exit_code == 0, res.stderr
    mapped = json.loads((d / "mapped" / "statement.json").read_text())["total"]
    assert mapped == json.loads((d / "prev" / "statement.json").read_text())["total"]
    assert cli("verify", d / "mapped").exit_code == 0


def test_published_outcomes_and_ledger_from_a_database(d: Path) -> None:
    """--outcomes and --paid as database URIs: extracted as CSV into out/inputs, the same
    statement as from the files, the reads recorded and verified."""
    import duckdb

    ledger = d / "prev" / "statement.csv"
    db = d / "published.duckdb"
    with duckdb.connect(str(db)) as con:
        for name, path in (("outcomes", d / "outcomes.csv"), ("ledger", ledger)):
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv('{path}', "
                        "all_varchar=true)")
    uri = f"duckdb:///{db}?table="
    files = cli("pay", d / "contract.toml", "--outcomes", d / "outcomes.csv", "--out", d / "f")
    tables = cli("pay", d / "contract.toml", "--outcomes", uri + "outcomes", "--out", d / "t")
    assert files.exit_code == 0 and tables.exit_code == 0, (files.output, tables.output)
    assert (d / "t" / "statement.csv").read_bytes() == (d / "f" / "statement.csv").read_bytes()
    assert "outcomes_source" in [r for r, _, _ in read_manifest_inputs(d / "t")]
    assert audit.verify(d / "t").ok
    # the ledger read from the database is the file's: the same refusal (these cohorts
    # were paid already), and nothing left behind
    files = cli("pay", d / "contract.toml", "--outcomes", d / "outcomes.csv", "--paid",
                ledger, "--out", d / "f2")
    tables = cli("pay", d / "contract.toml", "--outcomes", uri + "outcomes", "--paid",
                 uri + "ledger", "--out", d / "t2")
    assert files.exit_code == tables.exit_code == 2
    assert "a cohort is paid once" in files.output and "a cohort is paid once" in tables.output
    assert not (d / "t2").exists()


def read_manifest_inputs(folder: Path) -> list[tuple[str, str, str]]:
    doc = json.loads((folder / audit.MANIFEST_NAME).read_text(encoding="utf-8"))
    return [(i["role"], i["path"], i["sha256"]) for i in doc["inputs"]]
