"""Database inputs: URIs, DuckDB and SQLite read with the files' mapping and validation."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import duckdb
import polars as pl
import pytest

import pbr
from pbr import io
from pbr.errors import SchemaError
from pbr.io import extract
from pbr.io.db import (
    DatabaseSource,
    is_database_uri,
    parse_database_uri,
    read_database,
    rows_sha256,
)

COHORT = pl.DataFrame({"pnc": ["007", "012", "100"],
                       "released": [dt.date(2020, 1, 31), dt.date(2020, 2, 1),
                                    dt.date(2020, 3, 1)]})
EVENTS = pl.DataFrame({
    "offender_id": ["007", "007", "100"],
    "offence_date": [dt.date(2020, 3, 1), dt.date(2020, 5, 1), dt.date(2019, 12, 1)],
    "disposal_date": [dt.date(2020, 4, 1), dt.date(2020, 6, 1), dt.date(2020, 1, 2)],
    "disposal_type": ["conviction", "caution", "conviction"],
    "offence_code": ["A", "B", "C"]})


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A DuckDB file holding a project's cohort and events."""
    path = tmp_path / "project.duckdb"
    with duckdb.connect(str(path)) as con:
        con.register("c", COHORT.to_arrow())
        con.register("e", EVENTS.to_arrow())
        con.execute("CREATE TABLE cohort AS SELECT * FROM c")
        con.execute("CREATE SCHEMA extract")
        con.execute("CREATE TABLE extract.events AS SELECT * FROM e")
    return path


@pytest.fixture()
def lite(tmp_path: Path) -> Path:
    """A SQLite file: dates as text, as SQLite keeps them."""
    path = tmp_path / "extract.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE cohort (pnc TEXT, released TEXT)")
    con.executemany("INSERT INTO cohort VALUES (?, ?)",
                    [("007", "2020-01-31"), ("012", "2020-02-01"), ("100", "2020-03-01")])
    con.commit()
    con.close()
    return path


# --------------------------------------------------------------------------- URIs
@pytest.mark.parametrize(("uri", "scheme", "database", "table", "query"), [
    ("duckdb:///project.duckdb?table=cohort", "duckdb", "project.duckdb", "cohort", None),
    ("duckdb:////srv/x.duckdb?table=s.t", "duckdb", "/srv/x.duckdb", "s.t", None),
    ("sqlite:///a%20b.db?query=SELECT a+b, 'x&y' FROM t WHERE c='1=1'", "sqlite", "a b.db",
     None, "SELECT a+b, 'x&y' FROM t WHERE c='1=1'"),
    ("postgres://ann:s3cret@db:5433/pbr?sslmode=require&table=pbr.cohort", "postgresql",
     "postgresql://ann:***@db:5433/pbr?sslmode=require", "pbr.cohort", None),
])
def test_uri_syntax(uri: str, scheme: str, database: str, table: str | None,
                    query: str | None) -> None:
    s = parse_database_uri(uri)
    assert (s.scheme, s.database, s.table, s.query) == (scheme, database, table, query)
    assert "s3cret" not in s.label and "s3cret" not in repr(s) and "s3cret" not in s.sql


def test_password_kept_for_connecting_only() -> None:
    s = parse_database_uri("postgresql://ann:s3cret@db/pbr?table=c")
    assert s._connect == "postgresql://ann:s3cret@db/pbr"
    assert s.label == "postgresql://ann:***@db/pbr?table=c"
    assert s == DatabaseSource("postgresql", "postgresql://ann:***@db/pbr", "c")


def test_is_database_uri() -> None:
    assert is_database_uri("DuckDB:///x.duckdb?table=t")
    assert not is_database_uri("cohort.parquet")
    assert not is_database_uri(Path("duckdb:/x"))
    assert is_database_uri("mysql://h/db?table=t")  # a URI, refused by name
    assert not is_database_uri("C:\\data\\cohort.csv")


@pytest.mark.parametrize(("uri", "message"), [
    ("mysql://ann:pw@h/db?table=t", "not a database URI pbr reads"),
    ("duckdb:///p.duckdb", "names no table and no query"),
    ("duckdb:///p.duckdb?table=a&query=SELECT 1", "both a table and a query"),
    ("duckdb:///p.duckdb?query=", "query= is empty"),
    ("duckdb:///p.duckdb?table=a;DROP TABLE b", "table name"),
    ("duckdb:///p.duckdb?table=a.b.c", "table name"),
    ("duckdb:///p.duckdb?table=a&table=b", "given 2 times"),
    ("duckdb://p.duckdb?table=a", "three slashes"),
    ("sqlite:///?table=a", "no database file"),
    ("sqlite:///x.db?mode=ro&table=a", "unknown parameter(s) mode"),
    ("duckdb:///subquery=1.duckdb", "names no table and no query"),
    ("postgresql://ann:pw@h/?table=a", "no database name"),
])
def test_bad_uris(uri: str, message: str) -> None:
    with pytest.raises(SchemaError, match=message.replace("(", r"\(").replace(")", r"\)")
                       ) as err:
        parse_database_uri(uri)
    assert ":pw@" not in str(err.value)


def test_table_given_twice() -> None:
    with pytest.raises(SchemaError, match="both in the URI and as an argument"):
        parse_database_uri("duckdb:///p.duckdb?table=a", table="b")


# --------------------------------------------------------------------------- reading
def test_duckdb_table_and_record(project: Path) -> None:
    df, record = read_database(f"duckdb:///{project}?table=cohort")
    assert df.equals(COHORT)
    assert (record.scheme, record.table, record.query, record.rows) == (
        "duckdb", "cohort", 'SELECT * FROM "cohort"', 3)
    assert record.database == f"duckdb:///{project}"
    assert record.sha256 == rows_sha256(COHORT)
    assert record.to_dict()["sha256"] == record.sha256


def test_duckdb_query_and_schema(project: Path) -> None:
    df, record = read_database(
        f"duckdb:///{project}?query=SELECT * FROM extract.events WHERE offence_code <> 'C' "
        "ORDER BY offence_date")
    assert df.height == 2 and record.table is None and "ORDER BY" in record.query
    df, _ = read_database(f"duckdb:///{project}", table="extract.events")
    assert df.equals(EVENTS)


def test_columns_and_missing_column(project: Path) -> None:
    df, _ = read_database(f"duckdb:///{project}?table=cohort", columns=["released"])
    assert df.columns == ["released"]
    with pytest.raises(SchemaError, match=r"no column\(s\) 'nope'; columns present: pnc, "):
        read_database(f"duckdb:///{project}?table=cohort", columns=["nope"])
    with pytest.raises(SchemaError, match=r"no column\(s\) 'nope'"):
        read_database(f"duckdb:///{project}?query=SELECT pnc FROM cohort", columns=["nope"])


def test_rows_hash_tracks_values_and_order() -> None:
    base = rows_sha256(COHORT)
    assert rows_sha256(COHORT.clone()) == base
    assert rows_sha256(COHORT.reverse()) != base
    changed = COHORT.with_columns(pl.when(pl.col("pnc") == "012").then(pl.lit("013"))
                                  .otherwise(pl.col("pnc")).alias("pnc"))
    assert rows_sha256(changed) != base
    assert rows_sha256(COHORT.rename({"pnc": "id"})) != base


def test_read_cohort_maps_and_validates_like_a_file(project: Path, tmp_path: Path) -> None:
    uri = f"duckdb:///{project}?table=cohort"
    from_db = io.read_cohort(uri, offender_id="pnc", index_date="released")
    COHORT.write_parquet(tmp_path / "cohort.parquet")
    from_file = io.read_cohort(tmp_path / "cohort.parquet", offender_id="pnc",
                               index_date="released")
    assert from_db.frame.equals(from_file.frame)
    with pytest.raises(SchemaError, match=r"'duckdb:.*project.duckdb\?table=cohort' has no "
                       r"column 'offender_id' \(role offender_id\); columns: pnc, released"):
        io.read_cohort(uri)


def test_read_events_from_query(project: Path) -> None:
    events = io.read_events(f"duckdb:///{project}?table=extract.events", id_as_string=True)
    assert events.n == 3
    assert events.frame["offender_id"].to_list() == ["007", "007", "100"]


def test_sqlite_text_dates_parsed_and_bad_rows_named(lite: Path) -> None:
    cohort = io.read_cohort(f"sqlite:///{lite}?table=cohort", offender_id="pnc",
                            index_date="released", id_as_string=True)
    assert cohort.frame["index_date"].to_list()[0] == dt.date(2020, 1, 31)
    assert cohort.frame["offender_id"].to_list() == ["007", "012", "100"]
    con = sqlite3.connect(lite)
    con.execute("INSERT INTO cohort VALUES ('200', '31/02/2020')")
    con.commit()
    con.close()
    with pytest.raises(SchemaError, match=r"row 3 .*'31/02/2020'"):
        io.read_cohort(f"sqlite:///{lite}?table=cohort", offender_id="pnc",
                       index_date="released")
    kept = io.read_cohort(f"sqlite:///{lite}?table=cohort", offender_id="pnc",
                          index_date="released", on_invalid="exclude")
    assert kept.n == 3 and len(kept.exclusions) == 1


def test_whole_decimals_are_integers(tmp_path: Path) -> None:
    path = tmp_path / "d.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE c AS SELECT 12::DECIMAL(12, 0) AS offender_id, "
                    "DATE '2020-01-01' AS index_date, TIMESTAMP '2020-01-01 10:00' AS t")
    assert io.read_cohort(f"duckdb:///{path}?table=c").frame["offender_id"].to_list() == [12]


def test_missing_file_table_and_sql_error(tmp_path: Path, project: Path) -> None:
    with pytest.raises(SchemaError, match="the database file does not exist"):
        io.read_cohort(f"duckdb:///{tmp_path / 'none.duckdb'}?table=cohort")
    with pytest.raises(SchemaError, match="the database file does not exist"):
        io.read_cohort(f"sqlite:///{tmp_path / 'none.db'}?table=cohort")
    assert not (tmp_path / "none.db").exists()  # reading never creates a database
    with pytest.raises(SchemaError, match="cannot read table 'nope' of duckdb:"):
        io.read_cohort(f"duckdb:///{project}?table=nope")
    with pytest.raises(SchemaError, match="cannot read the query of duckdb:"):
        io.read_table(f"duckdb:///{project}?query=SELEC 1")


def test_read_table_takes_a_uri(project: Path) -> None:
    df = io.read_table(f"duckdb:///{project}?table=cohort", text_columns=["released"])
    assert df["released"].to_list()[0] == "2020-01-31"


def test_missing_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch,
                                        lite: Path) -> None:
    import builtins

    real = builtins.__import__

    def no_adbc(name: str, *args: object, **kwargs: object) -> object:
        if name.startswith("adbc_driver_sqlite"):
            raise ImportError(name)
        return real(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_adbc)
    import sys

    for mod in [m for m in sys.modules if m.startswith("adbc_driver_sqlite")]:
        monkeypatch.delitem(sys.modules, mod)
    with pytest.raises(SchemaError, match=r"adbc-driver-sqlite.*pbr-reoffending\[db\]"):
        io.read_cohort(f"sqlite:///{lite}?table=cohort")


def test_measure_from_database_equals_parquet(tmp_path: Path) -> None:
    data = pbr.synth.generate(300, seed=11)
    paths = io.write_synth(data, tmp_path)
    db = tmp_path / "project.duckdb"
    with duckdb.connect(str(db)) as con:
        for name in ("cohort", "events"):
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet('{paths[name]}')")
    spec = pbr.preset("moj_national_2017")
    files = pbr.measure(io.read_cohort(paths["cohort"]), io.read_events(paths["events"]),
                        spec)
    base = f"duckdb:///{db}?table="
    tables = pbr.measure(io.read_cohort(base + "cohort"), io.read_events(base + "events"),
                         spec)
    assert tables.frame.equals(files.frame)
    assert tables.provenance["cohort_sha256"] == files.provenance["cohort_sha256"]


def test_cli_measure_from_duckdb_equals_parquet(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pbr.cli import app

    paths = io.write_synth(pbr.synth.generate(200, seed=2), tmp_path)
    db = tmp_path / "project.duckdb"
    with duckdb.connect(str(db)) as con:
        for name in ("cohort", "events", "custody"):
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet('{paths[name]}')")
    run = CliRunner().invoke
    a = run(app, ["measure", "--cohort", str(paths["cohort"]), "--events",
                  str(paths["events"]), "--custody", str(paths["custody"]),
                  "--out", str(tmp_path / "files.parquet")])
    b = run(app, ["measure", "--cohort", f"duckdb:///{db}?table=cohort",
                  "--events", f"duckdb:///{db}?table=events",
                  "--custody", f"duckdb:///{db}?query=SELECT * FROM custody",
                  "--out", str(tmp_path / "db.parquet")])
    assert a.exit_code == 0 and b.exit_code == 0, (a.output, b.output)
    assert pl.read_parquet(tmp_path / "db.parquet").equals(
        pl.read_parquet(tmp_path / "files.parquet"))
    def report(out: str) -> list[str]:  # the printed table, without the progress lines
        return [x for x in out.split("Wrote")[0].splitlines() if not x.startswith("[")]

    assert report(a.output) == report(b.output)
    assert "reading duckdb:///" in b.output
    bad = run(app, ["measure", "--cohort", f"duckdb:///{db}?table=nope", "--events",
                    f"duckdb:///{db}?table=events", "--out", str(tmp_path / "x.parquet")])
    assert bad.exit_code == 2 and "cannot read table 'nope'" in bad.output


def test_cli_compare_and_cohort_take_uris(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pbr.cli import app
    from pbr.cohort.synth import generate_disposals

    paths = io.write_synth(pbr.synth.generate(200, seed=4), tmp_path)
    generate_disposals(150, seed=1).write_parquet(tmp_path / "disposals.parquet")
    db = tmp_path / "project.duckdb"
    with duckdb.connect(str(db)) as con:
        for name, path in (("cohort", paths["cohort"]), ("events", paths["events"]),
                           ("disposals", tmp_path / "disposals.parquet")):
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet('{path}')")
    run = CliRunner().invoke
    uri = f"duckdb:///{db}?table="
    for files, tables in (
            (["compare", "--cohort", paths["cohort"], "--events", paths["events"],
              "--baseline", "0.4"],
             ["compare", "--cohort", uri + "cohort", "--events", uri + "events",
              "--baseline", "0.4"]),
            (["cohort", "--disposals", tmp_path / "disposals.parquet", "--preset",
              "peterborough_sib", "--out", tmp_path / "a.parquet"],
             ["cohort", "--disposals", uri + "disposals", "--preset", "peterborough_sib",
              "--out", tmp_path / "b.parquet"])):
        a, b = run(app, [str(x) for x in files]), run(app, [str(x) for x in tables])
        assert a.exit_code == 0 and b.exit_code == 0, (a.output, b.output)
        def report(out: str) -> list[str]:  # without progress lines and the paths
            return [x for x in out.splitlines() if not x.startswith("[")
                    and str(tmp_path) not in x]

        assert len(report(a.output)) > 3 and report(a.output) == report(b.output)
    assert pl.read_parquet(tmp_path / "a.parquet").equals(pl.read_parquet(tmp_path / "b.parquet"))


def test_extract_writes_rows_and_record(project: Path, tmp_path: Path) -> None:
    import json

    uri = f"duckdb:///{project}?query=SELECT * FROM cohort ORDER BY pnc"
    record = extract(uri, tmp_path / "cohort.parquet")
    first = (tmp_path / "cohort.parquet").read_bytes()
    assert pl.read_parquet(tmp_path / "cohort.parquet").equals(COHORT)
    side = json.loads((tmp_path / "cohort.parquet.source.json").read_text())
    assert side == record.to_dict()
    assert side["query"] == "SELECT * FROM cohort ORDER BY pnc" and side["rows"] == 3
    assert side["sha256"] == rows_sha256(COHORT)
    extract(uri, tmp_path / "cohort.parquet")
    assert (tmp_path / "cohort.parquet").read_bytes() == first  # same rows, same bytes
    with pytest.raises(SchemaError, match="cannot read table 'nope'"):
        extract(f"duckdb:///{project}?table=nope", tmp_path / "x.parquet")
    assert not (tmp_path / "x.parquet").exists()


def test_sqlite_mixed_types_named_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "mixed.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE cohort (offender_id, index_date)")  # no declared types
    con.executemany("INSERT INTO cohort VALUES (?, ?)",
                    [(i, "2020-01-01") for i in range(3000)] + [("A12", "2020-01-01")])
    con.commit()
    con.close()
    with pytest.raises(SchemaError, match=r"Type mismatch.*CAST\(column AS TEXT\)"):
        io.read_cohort(f"sqlite:///{path}?table=cohort")
    cast = io.read_cohort(f"sqlite:///{path}?query=SELECT CAST(offender_id AS TEXT) AS "
                          "offender_id, index_date FROM cohort", id_as_string=True)
    assert cast.n == 3001 and cast.frame["offender_id"].to_list()[-1] == "A12"


def test_sqlite_is_read_read_only(lite: Path, tmp_path: Path) -> None:
    odd = tmp_path / "a b#?%.db"  # a file name that needs quoting in SQLite's URI form
    odd.write_bytes(lite.read_bytes())
    before = odd.read_bytes()
    escaped = str(odd).replace("%", "%25").replace("?", "%3F").replace("#", "%23")
    df = io.read_table(f"sqlite:///{escaped}?table=cohort")
    assert df.height == 3 and odd.read_bytes() == before
    with pytest.raises(SchemaError, match=r"readonly|read-only|read only"):
        io.read_table(f"sqlite:///{lite}?query=INSERT INTO cohort VALUES ('x', 'y') "
                      "RETURNING *")


def test_query_after_a_path_holding_query(tmp_path: Path) -> None:
    s = parse_database_uri("duckdb:///subquery=1.duckdb?query=SELECT 1")
    assert (s.database, s.query) == ("subquery=1.duckdb", "SELECT 1")


def test_unknown_database_refused_without_password(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="not a database URI pbr reads") as err:
        io.read_cohort("mysql://ann:hunter2@h/db?table=cohort")
    assert "hunter2" not in str(err.value)
