"""``pbr cohort`` and ``pbr synth-disposals`` end to end with typer's CliRunner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

import pbr
from pbr import io
from pbr.cli import app
from pbr.cohort.synth import generate_disposals


def run(*args: str | Path) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


def ok(result: Any) -> Any:
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


@pytest.fixture(scope="module")
def disposals(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cohort") / "disposals.parquet"
    ok(run("synth-disposals", "--n", "300", "--seed", "3", "--out", path))
    return path


def test_synth_disposals_is_the_seeded_generator(disposals: Path) -> None:
    assert pl.read_parquet(disposals).equals(generate_disposals(300, seed=3))


def test_cohort_default_rule_prints_the_ledger(disposals: Path, tmp_path: Path) -> None:
    out = tmp_path / "cohort.parquet"
    res = ok(run("cohort", "--disposals", disposals, "--out", out, "--ledger-out",
                 tmp_path / "ledger.csv"))
    built = pbr.build_cohort(generate_disposals(300, seed=3), pbr.CohortRule(name="moj_default"))
    assert pl.read_parquet(out).equals(built.frame)
    assert str(built) in res.stdout
    assert "People per period" in res.stdout and "2018Q1" in res.stdout
    assert "index_event" in res.stdout and "not_index_type" in res.stdout
    ledger = pl.read_csv(tmp_path / "ledger.csv")
    assert ledger.height == len(built.exclusions)
    assert f"cohort: {out} ({built.frame.height:,} rows)" in res.stdout
    # the output is a cohort `pbr measure` reads
    assert io.read_cohort(out, on_invalid="exclude").n > 0


def test_cohort_rule_file_overrides_and_explain(disposals: Path, tmp_path: Path) -> None:
    rule_file = tmp_path / "rule.toml"
    rule_file.write_text(pbr.CohortRule(period="12 months", multiple_periods=False,
                                        name="annual").to_toml())
    out = tmp_path / "c.csv"
    res = ok(run("cohort", "--disposals", disposals, "--rule", rule_file, "--out", out,
                 "--start", "2018-01-01", "--n-periods", "1", "--explain", "1"))
    assert "Cohort build (annual; 12 months periods, 1 period(s))" in res.stdout
    assert "2018-01-01 to 2018-12-31" in res.stdout
    assert "offender 1:" in res.stdout and "row 0:" in res.stdout
    frame = pl.read_csv(out)
    assert frame["offender_id"].is_unique().all()


def test_cohort_scheme_preset(disposals: Path, tmp_path: Path) -> None:
    res = ok(run("cohort", "--disposals", disposals, "--preset", "peterborough_sib",
                 "--start", "2018-01-01", "--out", tmp_path / "p.csv"))
    assert "Cohort build (peterborough_sib; first_n periods" in res.stdout
    assert "sentence_length" in res.stdout and "released_from_court" in res.stdout


def test_cohort_user_column_names(tmp_path: Path) -> None:
    df = generate_disposals(40, seed=1).rename({"offender_id": "pnc",
                                                "release_date": "discharged"})
    path = tmp_path / "d.csv"
    io.write_table(df, path)
    res = ok(run("cohort", "--disposals", path, "--offender-id", "pnc", "--role",
                 "release_date=discharged", "--out", tmp_path / "c.csv"))
    assert "not_released" in res.stdout or "index_event" in res.stdout
    assert pl.read_csv(tmp_path / "c.csv").height > 0


def test_cohort_errors_are_one_line_with_exit_code_2(disposals: Path, tmp_path: Path) -> None:
    res = run("cohort", "--disposals", disposals, "--preset", "nope", "--out",
              tmp_path / "x.csv")
    assert res.exit_code == 2 and "unknown preset 'nope'" in res.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text('[cohort]\nperiod = "month"\n')
    res = run("cohort", "--disposals", disposals, "--rule", bad, "--out", tmp_path / "x.csv")
    assert res.exit_code == 2 and "error: period: must be one of" in res.stderr
    res = run("cohort", "--disposals", disposals, "--role", "dob", "--out", tmp_path / "x.csv")
    assert res.exit_code == 2 and "ROLE=COLUMN" in res.stderr
    res = run("cohort", "--disposals", disposals, "--rule", bad, "--preset", "x", "--out",
              tmp_path / "x.csv")
    assert res.exit_code == 2 and "not both" in res.stderr
    csv = tmp_path / "broken.csv"
    csv.write_text("offender_id,disposal_date,disposal_type\n1,2018-02-30,caution\n")
    res = run("cohort", "--disposals", csv, "--out", tmp_path / "x.csv")
    assert res.exit_code == 2 and "disposals row 0" in res.stderr
    res = ok(run("cohort", "--disposals", csv, "--on-invalid", "exclude", "--out",
                 tmp_path / "x.csv"))
    assert "unparseable_disposal_date" in res.stdout
