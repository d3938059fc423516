"""pbr extract and pbr store: database tables to files and result files to tables."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
from typer.testing import CliRunner

import pbr
from pbr import io
from pbr.cli import app
from pbr.contract import Contract, run_contract
from pbr.contract.spec import demo_contract_text
from pbr.io.db import read_database

DATA = pbr.synth.generate(200, seed=9)


def _run(*args: object) -> object:
    return CliRunner().invoke(app, [str(a) for a in args])


def test_store_then_extract(tmp_path: Path) -> None:
    result = pbr.measure(DATA.cohort, DATA.events, pbr.preset("moj_national_2017"))
    statement = run_contract(Contract.from_toml(demo_contract_text()), DATA.cohort,
                             DATA.events).statement
    io.write_table(result.frame, tmp_path / "measures.parquet")
    io.write_table(statement.to_frame(), tmp_path / "statement.csv")
    manifest = tmp_path / "manifest.json"
    manifest.write_text("{}\n")
    db = f"duckdb:///{tmp_path / 'results.duckdb'}"
    out = _run("store", tmp_path / "measures.parquet", f"pbr_statement={tmp_path}/statement.csv",
               "--into", db, "--run-id", "2026-Q1", "--manifest", manifest)
    assert out.exit_code == 0, out.output
    assert "pbr_statement" in out.output and "200 rows" in out.output
    lines = read_database(f"{db}?table=pbr_statement")[0]
    assert lines["amount"].to_list() == [Decimal(a) for a in statement.to_frame()["amount"]]
    assert set(lines["manifest_sha256"]) == {hashlib.sha256(b"{}\n").hexdigest()}
    measures = read_database(f"{db}?table=measures")[0]
    assert measures.drop("run_id", "manifest_sha256").equals(result.frame.cast(
        {c: measures.schema[c] for c in result.frame.columns}))
    again = _run("store", tmp_path / "measures.parquet", "--into", db, "--run-id", "2026-Q1")
    assert again.exit_code == 2 and "already holds 200 row(s) of run '2026-Q1'" in again.output
    replaced = _run("store", tmp_path / "measures.parquet", "--into", db, "--run-id",
                    "2026-Q1", "--replace")
    assert replaced.exit_code == 0, replaced.output

    ex = _run("extract", f"{db}?query=SELECT * FROM measures ORDER BY offender_id",
              "--out", tmp_path / "x" / "m.parquet")
    assert ex.exit_code == 0, ex.output
    record = json.loads((tmp_path / "x" / "m.parquet.source.json").read_text())
    assert record["rows"] == 200 and record["query"].endswith("ORDER BY offender_id")
    assert pl.read_parquet(tmp_path / "x" / "m.parquet").height == 200


def test_store_refusals_write_nothing(tmp_path: Path) -> None:
    pl.DataFrame({"a": [1]}).write_parquet(tmp_path / "a.parquet")
    db = tmp_path / "r.duckdb"
    bad = _run("store", tmp_path / "a.parquet", tmp_path / "missing.parquet", "--into",
               f"duckdb:///{db}", "--run-id", "r")
    assert bad.exit_code == 2 and "does not exist" in bad.output
    assert not db.exists()
    twice = _run("store", tmp_path / "a.parquet", f"a={tmp_path}/a.parquet", "--into",
                 f"duckdb:///{db}", "--run-id", "r")
    assert twice.exit_code == 2 and "table 'a' given twice" in twice.output
    not_db = _run("store", tmp_path / "a.parquet", "--into", str(db), "--run-id", "r")
    assert not_db.exit_code == 2 and "not a database URI" in not_db.output
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE a (b INTEGER)")
    pl.DataFrame({"c": [1]}).write_parquet(tmp_path / "c.parquet")
    clash = _run("store", tmp_path / "c.parquet", tmp_path / "a.parquet", "--into",
                 f"duckdb:///{db}", "--run-id", "r")
    assert clash.exit_code == 2 and "Nothing was written" in clash.output
    with duckdb.connect(str(db)) as con:  # table c was rolled back with the refusal of a
        assert [r[0] for r in con.execute("SHOW TABLES").fetchall()] == ["a"]


def test_extract_refusals(tmp_path: Path) -> None:
    bad = _run("extract", "duckdb:///none.duckdb?table=t", "--out", tmp_path / "t.parquet")
    assert bad.exit_code == 2 and "does not exist" in bad.output
    suffix = _run("extract", "duckdb:///none.duckdb?table=t", "--out", tmp_path / "t.txt")
    assert suffix.exit_code == 2 and "unknown file type" in suffix.output
    secret = _run("extract", "postgresql://u:hunter2@127.0.0.1:1/db?table=t", "--out",
                  tmp_path / "t.parquet")
    assert secret.exit_code == 2 and "hunter2" not in secret.output


def test_pay_from_a_database_records_extracts_and_verifies(tmp_path: Path) -> None:
    paths = io.write_synth(DATA, tmp_path)
    contract = tmp_path / "contract.toml"
    contract.write_text(demo_contract_text())
    db = tmp_path / "project.duckdb"
    with duckdb.connect(str(db)) as con:
        for name in ("cohort", "events"):
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet('{paths[name]}')")
    uri = f"duckdb:///{db}?table="
    files = _run("pay", contract, "--cohort", paths["cohort"], "--events", paths["events"],
                 "--out", tmp_path / "files")
    tables = _run("pay", contract, "--cohort", uri + "cohort", "--events", uri + "events",
                  "--out", tmp_path / "db")
    assert files.exit_code == 0 and tables.exit_code == 0, (files.output, tables.output)
    assert (tmp_path / "db" / "statement.csv").read_bytes() == \
        (tmp_path / "files" / "statement.csv").read_bytes()
    manifest = json.loads((tmp_path / "db" / "manifest.json").read_text())
    text = json.dumps(manifest)
    assert "inputs/cohort.parquet" in text and "inputs/events.parquet" in text
    roles = [entry["role"] for entry in manifest["inputs"]] if isinstance(
        manifest["inputs"], list) else list(manifest["inputs"])
    assert "cohort_source" in roles and "events_source" in roles  # the reads, hashed
    record = json.loads((tmp_path / "db" / "inputs" / "events.parquet.source.json").read_text())
    assert record["query"] == 'SELECT * FROM "events"' and record["database"] == \
        f"duckdb:///{db}"
    check = _run("verify", tmp_path / "db" / "manifest.json")
    assert check.exit_code == 0, check.output
    # a failure after the first extract leaves --out as it was: nothing, not even inputs/
    bad = _run("pay", contract, "--cohort", uri + "cohort", "--events", uri + "nope",
               "--out", tmp_path / "bad")
    assert bad.exit_code == 2 and "cannot read table 'nope'" in bad.output
    assert not (tmp_path / "bad").exists()
    again = _run("pay", contract, "--cohort", uri + "cohort", "--events", uri + "events",
                 "--out", tmp_path / "db")
    assert again.exit_code == 2 and "never overwritten" in again.output


def test_pay_files_takes_uris(tmp_path: Path) -> None:
    from pbr import audit

    paths = io.write_synth(DATA, tmp_path)
    contract = tmp_path / "contract.toml"
    contract.write_text(demo_contract_text())
    db = tmp_path / "project.duckdb"
    with duckdb.connect(str(db)) as con:
        for name in ("cohort", "events", "custody"):
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet('{paths[name]}')")
    uri = f"duckdb:///{db}?table="
    runs, manifest = audit.pay_files(contract, uri + "cohort", uri + "events",
                                     tmp_path / "out", custody=uri + "custody")
    assert [(r, p) for r, p, _ in manifest.inputs] == [
        ("contract", "../contract.toml"), ("cohort", "inputs/cohort.parquet"),
        ("events", "inputs/events.parquet"), ("cohort_source", "inputs/cohort.parquet.source.json"),
        ("events_source", "inputs/events.parquet.source.json"),
        ("custody_source", "inputs/custody.parquet.source.json"),
        ("custody", "inputs/custody.parquet")]
    # the manifest hashes the record of each read: database, query, rows, rows' SHA-256
    record = json.loads((tmp_path / "out" / "inputs" / "cohort.parquet.source.json").read_text())
    assert record["query"] == 'SELECT * FROM "cohort"' and len(record["sha256"]) == 64
    assert audit.verify(tmp_path / "out" / "manifest.json").ok
    (tmp_path / "out" / "inputs" / "cohort.parquet.source.json").write_text("{}\n")
    changed = audit.verify(tmp_path / "out" / "manifest.json")
    assert not changed.ok and any("cohort_source" in d for d in changed.differences)
    same, _ = audit.pay_files(contract, paths["cohort"], paths["events"], tmp_path / "f",
                              custody=paths["custody"])
    assert same.statement.total == runs.statement.total


def test_attribute_spells_from_sqlite(tmp_path: Path) -> None:
    import sqlite3

    cohort = pl.DataFrame({"offender_id": [1, 2], "index_date": ["2020-01-31", "2020-03-01"]})
    spells = pl.DataFrame({"offender_id": [1, 1, 2], "provider": ["prison", "probation", "prison"],
                           "start": ["2019-06-01", "2020-01-31", "2019-01-01"],
                           "end": ["2020-01-31", None, "2020-03-01"],
                           "role": ["custody", "community", "custody"]})
    cohort.write_csv(tmp_path / "cohort.csv")
    spells.write_csv(tmp_path / "spells.csv")
    db = tmp_path / "local.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE cohort (offender_id INTEGER, index_date TEXT)")
    con.executemany("INSERT INTO cohort VALUES (?, ?)", cohort.rows())
    con.execute("CREATE TABLE spells (offender_id INTEGER, provider TEXT, start TEXT, "
                "\"end\" TEXT, role TEXT)")
    con.executemany("INSERT INTO spells VALUES (?, ?, ?, ?, ?)", spells.rows())
    con.commit()
    con.close()
    outs = []
    for c, s in ((tmp_path / "cohort.csv", tmp_path / "spells.csv"),
                 (f"sqlite:///{db}?table=cohort", f"sqlite:///{db}?table=spells")):
        out = tmp_path / f"shares{len(outs)}.csv"
        r = _run("attribute", "--cohort", c, "--spells", s, "--rule", "time_share",
                 "--out", out)
        assert r.exit_code == 0, r.output
        outs.append(pl.read_csv(out))
    assert outs[0].equals(outs[1]) and outs[0].height >= 2
