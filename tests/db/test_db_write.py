"""Writing results back to DuckDB and SQLite: run id, manifest hash, one transaction."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import duckdb
import polars as pl
import pytest

import pbr
from pbr.contract import Contract, run_contract
from pbr.contract.spec import demo_contract_text
from pbr.errors import SchemaError
from pbr.io.db import RUN_COLUMNS, read_database, write_results

DATA = pbr.synth.generate(300, seed=3)


@pytest.fixture(scope="module")
def result() -> pbr.MeasureResult:
    return pbr.measure(DATA.cohort, DATA.events, pbr.preset("moj_national_2017"))


def _tables(uri: str) -> set[str]:
    path = uri.split(":///", 1)[1]
    if uri.startswith("sqlite"):
        con = sqlite3.connect(path)
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        con.close()
        return names
    with duckdb.connect(path) as dcon:
        return {r[0] for r in dcon.execute("SELECT table_name FROM information_schema.tables")
                .fetchall()}


@pytest.fixture(params=["duckdb", "sqlite"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return f"{request.param}:///{tmp_path / ('out.' + request.param)}"


def test_measures_round_trip_with_run_columns(database: str,
                                              result: pbr.MeasureResult) -> None:
    digest = "ab" * 32
    assert write_results(database, {"measures": result}, run_id="2026-Q1",
                         manifest=digest) == {"measures": result.frame.height}
    back, record = read_database(f"{database}?query=SELECT * FROM measures")
    assert back.columns == [*result.frame.columns, *RUN_COLUMNS]
    assert set(back["run_id"]) == {"2026-Q1"} and set(back["manifest_sha256"]) == {digest}
    assert back["offender_id"].to_list() == result.frame["offender_id"].to_list()
    assert back["reoffences"].to_list() == result.frame["reoffences"].to_list()
    assert record.rows == result.frame.height


def test_second_run_appends_same_run_refused_or_replaced(database: str,
                                                         result: pbr.MeasureResult) -> None:
    write_results(database, {"measures": result}, run_id="r1")
    write_results(database, {"measures": result}, run_id="r2")
    with pytest.raises(SchemaError, match=r"already holds 300 row\(s\) of run 'r1'. Nothing "
                       "was written. Fix: give a new run_id, or if_run_exists='replace'"):
        write_results(database, {"measures": result}, run_id="r1")
    write_results(database, {"measures": result.frame.head(5)}, run_id="r1",
                  if_run_exists="replace")
    counts = read_database(f"{database}?query=SELECT run_id, COUNT(*) AS n FROM measures "
                           "GROUP BY run_id ORDER BY run_id")[0]
    assert counts.rows() == [("r1", 5), ("r2", 300)]


def test_a_failure_leaves_nothing_written(database: str, result: pbr.MeasureResult) -> None:
    other = pl.DataFrame({"x": [1]})
    write_results(database, {"other": other}, run_id="r0")
    before = _tables(database)
    # the first table is written inside the transaction, the second is refused
    with pytest.raises(SchemaError, match=r"table 'other' .* has other columns than the "
                       r"result: new \['y'\], missing \['x'\]. Nothing was written"):
        write_results(database, {"measures": result, "other": pl.DataFrame({"y": [1]})},
                      run_id="r1")
    assert _tables(database) == before
    assert read_database(f"{database}?table=other")[0].height == 1


def test_the_databases_own_error_rolls_back(tmp_path: Path,
                                            result: pbr.MeasureResult) -> None:
    uri = f"duckdb:///{tmp_path / 'o.duckdb'}"
    with duckdb.connect(str(tmp_path / "o.duckdb")) as con:
        con.execute("CREATE TABLE other (x INTEGER, run_id VARCHAR, manifest_sha256 VARCHAR)")
    with pytest.raises(SchemaError, match="failed; nothing was written: Conversion Error"):
        write_results(uri, {"measures": result, "other": pl.DataFrame({"x": ["not a number"]})},
                      run_id="r1")
    assert _tables(uri) == {"other"}


def test_statement_amounts_exact(database: str, tmp_path: Path) -> None:
    statement = run_contract(Contract.from_toml(demo_contract_text()), DATA.cohort,
                             DATA.events).statement
    manifest = tmp_path / "manifest.json"
    manifest.write_text('{"a": 1}')
    write_results(database, {"pbr_statement": statement}, run_id="s1", manifest=manifest)
    back = read_database(f"{database}?table=pbr_statement")[0]
    frame = statement.to_frame()
    assert [str(v) for v in back["amount"]] == frame["amount"].to_list()
    if database.startswith("duckdb"):  # exact decimals (SQLite has no decimal type: text)
        assert isinstance(back.schema["amount"], pl.Decimal)
        assert sum(back["amount"].to_list()) == statement.total
    assert set(back["manifest_sha256"]) == {hashlib.sha256(b'{"a": 1}').hexdigest()}


def test_comparison_written(database: str, result: pbr.MeasureResult) -> None:
    comparison = pbr.compare(result, 0.40, variance="cohort")
    n = write_results(database, {"comparison": comparison}, run_id="c1")["comparison"]
    assert n == comparison.to_frame().height
    assert read_database(f"{database}?table=comparison")[0].height == n


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"run_id": ""}, "is not a run id"),
    ({"run_id": "a'; DROP TABLE x"}, "is not a run id"),
    ({"run_id": "r", "if_run_exists": "skip"}, "if_run_exists must be"),
    ({"run_id": "r", "manifest": 3}, "manifest= takes a Manifest"),
    ({"run_id": "r", "manifest": "missing.json"}, "is not a file"),
])
def test_bad_write_arguments(database: str, kwargs: dict[str, object], message: str,
                             result: pbr.MeasureResult) -> None:
    with pytest.raises(SchemaError, match=message):
        write_results(database, {"measures": result}, **kwargs)  # type: ignore[arg-type]
    assert "measures" not in _tables(database) if Path(database.split(":///")[1]).exists() \
        else True


def test_bad_targets(tmp_path: Path, result: pbr.MeasureResult) -> None:
    uri = f"duckdb:///{tmp_path / 'o.duckdb'}"
    with pytest.raises(SchemaError, match="names a table or query"):
        write_results(uri + "?table=m", {"m": result}, run_id="r")
    with pytest.raises(SchemaError, match="table name"):
        write_results(uri, {"m x": result}, run_id="r")
    with pytest.raises(SchemaError, match="expected a polars DataFrame or a pbr result"):
        write_results(uri, {"m": [1, 2]}, run_id="r")
    with pytest.raises(SchemaError, match="no results given"):
        write_results(uri, {}, run_id="r")
    with pytest.raises(SchemaError, match="already has column"):
        write_results(uri, {"m": pl.DataFrame({"run_id": [1]})}, run_id="r")
    with pytest.raises(SchemaError, match=r"directory .* does not exist"):
        write_results(f"duckdb:///{tmp_path / 'no' / 'o.duckdb'}", {"m": result}, run_id="r")
