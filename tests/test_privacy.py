"""Pseudonymised identifiers: keyed, consistent across tables, one-way; measures unchanged."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import polars as pl
import pytest
from typer.testing import CliRunner

import pbr
from pbr.cli import app
from pbr.errors import SchemaError, SpecError

KEY = b"k" * 16 + b"-test-only-key"


def test_same_key_same_pseudonym_in_every_table_and_run() -> None:
    a = pbr.pseudonymise(pl.DataFrame({"offender_id": [5, 6, 5]}), KEY)
    b = pbr.pseudonymise(pl.DataFrame({"offender_id": ["6", "5"]}), KEY)
    assert a["offender_id"].to_list() == [b["offender_id"][1], b["offender_id"][0],
                                          b["offender_id"][1]]
    assert a.equals(pbr.pseudonymise(pl.DataFrame({"offender_id": [5, 6, 5]}), KEY))
    other = pbr.pseudonymise(pl.DataFrame({"offender_id": [5]}), KEY + b"x")
    assert other["offender_id"][0] != a["offender_id"][0]


def test_pseudonym_is_the_keyed_blake2b_of_the_text_form() -> None:
    out = pbr.pseudonymise(pl.DataFrame({"pnc": ["1999/0001234A"]}), KEY, columns="pnc")
    expected = hashlib.blake2b(b"1999/0001234A", key=KEY, digest_size=16).hexdigest()
    assert out["pnc"][0] == expected and len(expected) == 32
    # an unkeyed hash of the identifier does not give the pseudonym
    assert out["pnc"][0] != hashlib.blake2b(b"1999/0001234A", digest_size=16).hexdigest()


def test_nulls_stay_null_and_other_columns_are_untouched() -> None:
    df = pl.DataFrame({"offender_id": [1, None, 2], "x": [1.5, 2.5, 3.5]})
    out = pbr.pseudonymise(df, KEY)
    assert out["offender_id"].null_count() == 1 and out["offender_id"][1] is None
    assert out["x"].equals(df["x"]) and out.columns == df.columns


def test_pandas_in_pandas_out() -> None:
    out = pbr.pseudonymise(pd.DataFrame({"offender_id": [1, 2]}), KEY)
    assert isinstance(out, pd.DataFrame) and out["offender_id"].str.len().eq(32).all()


def test_measures_are_the_same_after_pseudonymising_both_tables() -> None:
    data = pbr.synth.generate(2_000, seed=5)
    plain = pbr.measure(data.cohort, data.events, "peterborough_sib").frame
    pc = pbr.pseudonymise(data.cohort, KEY)
    pe = pbr.pseudonymise(data.events, KEY)
    pseudo = pbr.measure(pc, pe, "peterborough_sib").frame
    assert pseudo.drop("offender_id").equals(plain.drop("offender_id"))
    assert pseudo["offender_id"].equals(pc["offender_id"])


@pytest.mark.parametrize(("key", "match"), [(b"short", "too short"), (123, "bytes or text")])
def test_bad_keys_are_refused(key: object, match: str) -> None:
    with pytest.raises(SpecError, match=match):
        pbr.pseudonymise(pl.DataFrame({"offender_id": [1]}), key)  # type: ignore[arg-type]


def test_long_text_keys_work() -> None:
    out = pbr.pseudonymise(pl.DataFrame({"offender_id": [1]}), "x" * 100)
    assert len(out["offender_id"][0]) == 32


def test_bad_columns_name_the_fix() -> None:
    with pytest.raises(SchemaError, match=r"no column 'pnc'.*columns="):
        pbr.pseudonymise(pl.DataFrame({"offender_id": [1]}), KEY, columns="pnc")
    with pytest.raises(SchemaError, match="integers or text"):
        pbr.pseudonymise(pl.DataFrame({"offender_id": [1.5]}), KEY)
    with pytest.raises(SpecError, match="digest_size"):
        pbr.pseudonymise(pl.DataFrame({"offender_id": [1]}), KEY, digest_size=4)


def test_a_collision_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    class Same:
        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def hexdigest(self) -> str:
            return "00"

    monkeypatch.setattr("pbr.privacy.hashlib.blake2b", Same)
    with pytest.raises(SpecError, match="share a pseudonym"):
        pbr.pseudonymise(pl.DataFrame({"offender_id": [1, 2]}), KEY)


def test_cli_pseudonymises_files_consistently(tmp_path: Path) -> None:
    data = pbr.synth.generate(300, seed=8)
    src = tmp_path / "in"
    src.mkdir()
    data.cohort.write_csv(src / "cohort.csv")
    data.events.write_parquet(src / "events.parquet")
    key = tmp_path / "key.txt"
    key.write_text("0123456789abcdef0123456789abcdef\n")
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["pseudonymise", str(src / "cohort.csv"),
                                   str(src / "events.parquet"), "--key-file", str(key),
                                   "--out-dir", str(out)])
    assert res.exit_code == 0, res.output
    c = pl.read_csv(out / "cohort.csv")
    e = pl.read_parquet(out / "events.parquet")
    assert set(e["offender_id"].unique()) & set(c["offender_id"]) == set(
        pbr.pseudonymise(data.events, b"0123456789abcdef0123456789abcdef")["offender_id"]
        .unique()) & set(c["offender_id"])
    assert c["offender_id"][0] == pbr.pseudonymise(
        data.cohort, "0123456789abcdef0123456789abcdef")["offender_id"][0]
    # refusing to overwrite the input, and a missing key file, are one-line errors
    res = CliRunner().invoke(app, ["pseudonymise", str(src / "cohort.csv"), "--key-file",
                                   str(key), "--out-dir", str(src)])
    assert res.exit_code == 2 and "not overwritten" in res.output
    res = CliRunner().invoke(app, ["pseudonymise", str(src / "cohort.csv"), "--key-file",
                                   str(tmp_path / "nokey"), "--out-dir", str(out)])
    assert res.exit_code == 2 and "cannot read" in res.output


def test_cli_pseudonymises_a_database_table(tmp_path: Path) -> None:
    import duckdb

    data = pbr.synth.generate(100, seed=8)
    db = tmp_path / "p.duckdb"
    with duckdb.connect(str(db)) as con:
        con.register("c", data.cohort.select("offender_id", "index_date", "area").to_arrow())
        con.execute("CREATE TABLE cohort AS SELECT * FROM c")
    key = tmp_path / "key.txt"
    key.write_text("0123456789abcdef0123456789abcdef\n")
    res = CliRunner().invoke(app, ["pseudonymise", f"duckdb:///{db}?table=cohort",
                                   "--key-file", str(key), "--out-dir", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    got = pl.read_parquet(tmp_path / "o" / "cohort.parquet")
    assert got["offender_id"].to_list() == pbr.pseudonymise(
        data.cohort, "0123456789abcdef0123456789abcdef")["offender_id"].to_list()
    res = CliRunner().invoke(app, ["pseudonymise", f"duckdb:///{db}?table=cohort",
                                   f"duckdb:///{db}?query=SELECT * FROM cohort",
                                   f"duckdb:///{db}?table=cohort", "--key-file", str(key),
                                   "--out-dir", str(tmp_path / "o2")])
    assert res.exit_code == 2 and "same file name" in res.output
