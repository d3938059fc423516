"""``pbr compare`` and ``pbr power`` end to end with typer's CliRunner."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import pbr
from pbr import io
from pbr.cli import app


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("synth_compare")
    io.write_synth(pbr.synth.generate(600, seed=8), d)
    return d


def run(*args: str | Path) -> object:
    return CliRunner().invoke(app, [str(a) for a in args])


def ok(result: object) -> object:
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def test_compare_against_a_baseline_matches_the_api(data_dir, tmp_path) -> None:
    res = ok(run("-q", "compare", "--cohort", data_dir / "cohort.parquet", "--events",
                 data_dir / "events.parquet", "--baseline", "0.43", "--variance", "cohort",
                 "--out", tmp_path / "c.csv"))
    measured = pbr.measure(io.read_cohort(data_dir / "cohort.parquet"),
                           io.read_events(data_dir / "events.parquet"),
                           pbr.preset("moj_national_2017"))
    api = pbr.compare(measured, 0.43, variance="cohort")
    assert str(api) in res.stdout
    assert "For every 100 typical people in the cohort" in res.stdout
    table = pl.read_csv(tmp_path / "c.csv")
    assert table["estimate"][0] == pytest.approx(api.frame["estimate"][0])


def test_compare_treated_by_provider_with_correction(data_dir) -> None:
    res = ok(run("-q", "compare", "--cohort", data_dir / "cohort.parquet", "--events",
                 data_dir / "events.parquet", "--treated", "treated", "--by", "provider",
                 "--correction", "bh", "--measure", "frequency"))
    assert "bh correction" in res.stdout
    assert res.stdout.count("provider=P") == 4


def test_compare_with_a_comparison_file_and_weights(data_dir, tmp_path) -> None:
    cohort = pl.read_parquet(data_dir / "cohort.parquet")
    cohort.filter(pl.col("treated")).write_parquet(tmp_path / "t.parquet")
    cohort.filter(~pl.col("treated")).with_columns(w=pl.lit(2.0)).write_parquet(
        tmp_path / "c.parquet")
    res = ok(run("-q", "compare", "--cohort", tmp_path / "t.parquet", "--events",
                 data_dir / "events.parquet", "--comparison", tmp_path / "c.parquet",
                 "--weights", "w", "--method", "newcombe"))
    assert "cohort vs comparison group (newcombe" in res.stdout


def test_compare_errors_are_one_line(data_dir) -> None:
    res = run("compare", "--cohort", data_dir / "cohort.parquet", "--events",
              data_dir / "events.parquet", "--baseline", "43")
    assert res.exit_code == 2 and "proportion" in res.stderr
    res = run("compare", "--cohort", data_dir / "cohort.parquet", "--events",
              data_dir / "events.parquet")
    assert res.exit_code != 0 and "exactly one comparator" in res.stderr


def test_power_table(tmp_path) -> None:
    res = ok(run("power", "--volume", "North=400", "--volume", "South=4000",
                 "--binary-rate", "0.45", "--per-offender", "1.5", "--dispersion", "1.2",
                 "--target-change", "-0.05", "--out", tmp_path / "p.csv"))
    table = pl.read_csv(tmp_path / "p.csv")
    api = pbr.stats.power_table({"North": 400, "South": 4000}, binary_rate=0.45,
                                per_offender=1.5, dispersion=1.2, target_change=-0.05)
    assert table["mde_binary_pp"].to_list() == pytest.approx(api["mde_binary_pp"].to_list())
    assert "-6.919" in res.stdout and "North" in res.stdout
    bad = run("power", "--volume", "North:400")
    assert bad.exit_code != 0
