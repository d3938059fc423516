"""PostgreSQL: reading inputs and writing results back against a real server.

The server is started by the ``postgres`` fixture of tests/db/conftest.py (initdb into a
temporary directory, a free port); every test has a fresh database.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import pbr
from pbr import io
from pbr.cli import app
from pbr.errors import SchemaError
from pbr.io.db import read_database, write_results

from .conftest import PostgresServer

DATA = pbr.synth.generate(250, seed=7)


def _name(uri: str) -> str:
    return uri.rsplit("/", 1)[1]


def _load(server: PostgresServer, uri: str, tmp_path: Path) -> dict[str, Path]:
    """The synthetic project as Parquet files, and the same rows as PostgreSQL tables
    (written through pbr's own write_results, then the run columns dropped)."""
    paths = io.write_synth(DATA, tmp_path)
    frames = {name: pl.read_parquet(paths[name]) for name in ("cohort", "events")}
    write_results(uri, frames, run_id="load")
    for name in frames:
        server.execute(f"ALTER TABLE {name} DROP COLUMN run_id, DROP COLUMN manifest_sha256",
                       _name(uri))
    return paths


def test_read_types_and_record(postgres: PostgresServer, pg_database: str) -> None:
    db = _name(pg_database)
    postgres.execute("CREATE SCHEMA extract; CREATE TABLE extract.cohort (pnc numeric(12, 0), "
                     "released date, seen timestamp, note text, rate numeric(6, 3)); INSERT INTO "
                     "extract.cohort VALUES (7, '2020-01-31', '2020-01-31 10:00', 'a', 0.125), "
                     "(12, '2020-02-01', NULL, NULL, -12.5)", db)
    df, record = read_database(f"{pg_database}?table=extract.cohort")
    assert df.schema["pnc"] == pl.Int64 and df.schema["released"] == pl.Date
    assert df["pnc"].to_list() == [7, 12]
    assert df["rate"].to_list() == [Decimal("0.125"), Decimal("-12.500")]
    assert (record.scheme, record.table, record.rows) == ("postgresql", "extract.cohort", 2)
    assert record.query == 'SELECT * FROM "extract"."cohort"'
    cohort = io.read_cohort(f"{pg_database}?query=SELECT * FROM extract.cohort ORDER BY pnc",
                            offender_id="pnc", index_date="released")
    assert cohort.frame["offender_id"].to_list() == [7, 12]


def test_measure_equals_parquet(postgres: PostgresServer, pg_database: str,
                                tmp_path: Path) -> None:
    paths = _load(postgres, pg_database, tmp_path)
    spec = pbr.preset("moj_national_2017")
    files = pbr.measure(io.read_cohort(paths["cohort"]), io.read_events(paths["events"]),
                        spec)
    q = "?query=SELECT * FROM {} ORDER BY offender_id, 2, 3, 4, 5"
    from_pg = pbr.measure(io.read_cohort(pg_database + "?table=cohort"),
                          io.read_events(pg_database + q.format("events")), spec)
    assert from_pg.frame.sort("offender_id").equals(files.frame.sort("offender_id"))


def test_cli_measure_from_postgres(postgres: PostgresServer, pg_database: str,
                                   tmp_path: Path) -> None:
    paths = _load(postgres, pg_database, tmp_path)
    out_files, out_db = tmp_path / "files.parquet", tmp_path / "db.parquet"
    run = CliRunner().invoke
    a = run(app, ["measure", "--cohort", str(paths["cohort"]), "--events",
                  str(paths["events"]), "--out", str(out_files)])
    b = run(app, ["measure", "--cohort", pg_database + "?table=cohort", "--events",
                  pg_database + "?table=events", "--out", str(out_db)])
    assert a.exit_code == 0 and b.exit_code == 0, (a.output, b.output)
    assert pl.read_parquet(out_db).equals(pl.read_parquet(out_files))


def test_write_back_one_transaction(postgres: PostgresServer, pg_database: str) -> None:
    result = pbr.measure(DATA.cohort, DATA.events, pbr.preset("moj_national_2017"))
    postgres.execute("CREATE SCHEMA results", _name(pg_database))
    assert write_results(pg_database, {"results.measures": result}, run_id="r1",
                         manifest="cd" * 32) == {"results.measures": 250}
    back = read_database(f"{pg_database}?table=results.measures")[0]
    assert back.height == 250 and set(back["run_id"]) == {"r1"}
    assert back.drop("run_id", "manifest_sha256").equals(
        result.frame.cast({c: back.schema[c] for c in result.frame.columns}))
    # the second table fails in the database (text into an integer column): the first
    # table of the same call is rolled back
    postgres.execute("CREATE TABLE other (x integer, run_id text, manifest_sha256 text)",
                     _name(pg_database))
    with pytest.raises(SchemaError, match="failed; nothing was written"):
        write_results(pg_database, {"results.measures": result,
                                    "other": pl.DataFrame({"x": ["not a number"]})},
                      run_id="r2")
    counts = read_database(f"{pg_database}?query=SELECT run_id, count(*) AS n FROM "
                           "results.measures GROUP BY run_id")[0]
    assert counts.rows() == [("r1", 250)]
    with pytest.raises(SchemaError, match="already holds 250 row"):
        write_results(pg_database, {"results.measures": result}, run_id="r1")


def test_errors_name_the_database_without_password(postgres: PostgresServer,
                                                   pg_database: str) -> None:
    secret = pg_database.replace("pbr@", "pbr:hunter2@")
    with pytest.raises(SchemaError) as err:
        read_database(f"{secret}?table=nope")
    assert "hunter2" not in str(err.value) and "pbr:***@" in str(err.value)
    assert 'relation "nope" does not exist' in str(err.value)
    closed = f"postgresql://pbr:hunter2@127.0.0.1:1/{_name(pg_database)}?table=c"
    with pytest.raises(SchemaError, match="cannot connect to postgresql://pbr:\\*\\*\\*@") as err:
        read_database(closed)
    assert "hunter2" not in str(err.value)


def test_statement_to_postgres_exact(postgres: PostgresServer, pg_database: str) -> None:
    from pbr.contract import Contract, run_contract
    from pbr.contract.spec import demo_contract_text

    statement = run_contract(Contract.from_toml(demo_contract_text()), DATA.cohort,
                             DATA.events).statement
    write_results(pg_database, {"statement": statement}, run_id="s1")
    total = read_database(f"{pg_database}?query=SELECT sum(amount) AS total, "
                          "pg_typeof(sum(amount))::text AS type FROM statement")[0]
    assert total["total"].to_list() == [statement.total]
    assert total["type"].to_list() == ["numeric"]
