"""``pbr simulate``: tables, plots and manifest written all or nothing, byte-identical
for the same seed; bad flags refused with exit code 2 and nothing written; plots."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from pbr.cli import app
from pbr.contract.spec import demo_contract_text

RUNNER = CliRunner()
SMALL = ["--areas", "2", "--size", "400", "--rate", "0.28", "--per-reoffender", "3.45",
         "--n-sims", "40", "--seed", "3", "--marginal-replicates", "10",
         "--reporting-lag", "3 months", "--cost-per-offender", "200"]


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("c") / "contract.toml"
    p.write_text(demo_contract_text(), encoding="utf-8")
    return p


def _flat(text: str) -> str:
    """Output with the error box's borders and line wrapping taken out."""
    return " ".join(re.sub("[│╭╮╰╯─]", " ", text).split())


def _run(*args: str) -> object:
    return RUNNER.invoke(app, ["--quiet", "simulate", *args])


def test_writes_tables_plots_and_manifest_reproducibly(contract: Path, tmp_path: Path) -> None:
    args = [str(contract), *SMALL, "--effect", "none", "--effect", "p=0.1,frequency=0.05",
            "--behaviour", "none", "--behaviour", "parking", "--plots", "svg"]
    a, b = tmp_path / "a", tmp_path / "b"
    r = _run(*args, "--out", str(a))
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted([
        "outcomes.parquet", "summary.parquet", "operating_characteristic.parquet",
        "marginal_by_decile.parquet", "marginal_by_cohort.parquet",
        "payments_by_date.parquet", "working_capital.parquet", "gaming.parquet",
        "payment_distribution.svg", "operating_characteristic.svg",
        "marginal_by_decile.svg", "cash_flow.svg", "manifest.json"])
    out = pl.read_parquet(a / "outcomes.parquet")
    assert out.height == 40 * 2 * 2 * 2 * 4     # replicates x effects x behaviours x cells
    wc = pl.read_parquet(a / "working_capital.parquet")
    assert {"mean_need", "p95_need", "p_need"} <= set(wc.columns)
    manifest = json.loads((a / "manifest.json").read_text())
    assert manifest["provenance"]["seed"] == 3
    assert set(manifest["outputs_sha256"]) == set(names) - {"manifest.json"}
    assert _run(*args, "--out", str(b)).exit_code == 0  # type: ignore[attr-defined]
    for n in names:
        assert (a / n).read_bytes() == (b / n).read_bytes(), n


def test_csv_format_designs_and_no_plots(contract: Path, tmp_path: Path) -> None:
    other = tmp_path / "frequency_only.toml"
    other.write_text(demo_contract_text().replace('name = "Synthetic CRC-style contract '
                                                  '(demo)"', 'name = "other"'))
    r = _run(str(contract), *SMALL, "--design", f"other={other}", "--format", "csv",
             "--plots", "none", "--rate", "0.45", "--out", str(tmp_path / "o"))
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    # a population far from the contract's baseline (45% against 28%) is said, not hidden
    assert "note: design" in r.output and "differs by more than 10%" in _flat(
        r.output)  # type: ignore[attr-defined]
    summary = pl.read_csv(tmp_path / "o" / "summary.csv")
    assert summary["design"].unique().len() == 2
    assert not list((tmp_path / "o").glob("*.png"))


@pytest.mark.parametrize(("flags", "message"), [
    (["--effect", "p=lots"], "not a number"),
    (["--effect", "q=0.1"], "keys p, frequency"),
    (["--effect", "p=2"], "from -1 to 1"),
    (["--behaviour", "skimming"], "write none, parking"),
    (["--behaviour", "creaming=1.5"], "share"),
    (["--format", "json"], "parquet, csv, xlsx"),
    (["--plots", "gif"], "png, svg, none"),
    (["--n-sims", "0"], "at least 1"),
    (["--cost-per-offender", "-5"], "an amount >= 0"),
    (["--cost-per-month", "lots"], "is not an amount"),
    (["--design", "nofile"], "NAME=FILE.toml"),
    (["--population", "missing.parquet"], "'synthetic' or a population file"),
    (["--reporting-lag", "soon"], "cannot read period"),
    (["--format", "xlsx", "--n-sims", "30000"], "more than an Excel sheet"),
])
def test_bad_flags_exit_2_and_write_nothing(contract: Path, tmp_path: Path,
                                            flags: list[str], message: str) -> None:
    out = tmp_path / "out"
    r = _run(str(contract), *SMALL, "--plots", "none", *flags, "--out", str(out))
    assert r.exit_code == 2, r.output  # type: ignore[attr-defined]
    assert message in _flat(r.output)  # type: ignore[attr-defined]
    assert not out.exists()


def test_excel_tables(contract: Path, tmp_path: Path) -> None:
    r = _run(str(contract), "--areas", "1", "--size", "200", "--rate", "0.28", "--n-sims",
             "10", "--plots", "none", "--marginal-replicates", "5", "--format", "xlsx",
             "--out", str(tmp_path / "x"))
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    summary = pl.read_excel(tmp_path / "x" / "summary.xlsx")
    assert summary.height == 2 and "p_any_payment" in summary.columns


def test_progress_bar_on_stderr(contract: Path, tmp_path: Path) -> None:
    r = RUNNER.invoke(app, ["simulate", str(contract), "--areas", "1", "--size", "200",
                            "--rate", "0.28", "--n-sims", "10", "--plots", "none",
                            "--marginal-replicates", "5", "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    assert "done" in r.stderr and "━" in r.stderr     # the finished bar
    assert "replicates drawn" in r.stderr            # the draws' own progress
    assert "Wrote" in r.stdout and "done" not in r.stdout


def test_population_file_and_contract_errors(contract: Path, tmp_path: Path) -> None:
    pop = pl.DataFrame({"offender_id": list(range(1, 201)),
                        "area": ["a"] * 200, "cohort": ["2019Q1"] * 200,
                        "p": [0.3] * 200, "mu": [0.9] * 200, "theta": [1.0] * 200})
    path = tmp_path / "pop.parquet"
    pop.write_parquet(path)
    r = _run(str(contract), "--population", str(path), "--n-sims", "20",
             "--marginal-replicates", "5", "--plots", "none", "--reporting-lag", "3 months",
             "--out", str(tmp_path / "p"))
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    # the same population from a database table gives the same tables
    import duckdb

    db = tmp_path / "pop.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute(f"CREATE TABLE pop AS SELECT * FROM read_parquet('{path}')")
    r = _run(str(contract), "--population", f"duckdb:///{db}?table=pop", "--n-sims", "20",
             "--marginal-replicates", "5", "--plots", "none", "--reporting-lag", "3 months",
             "--out", str(tmp_path / "pdb"))
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    for table in sorted(p.name for p in (tmp_path / "p").iterdir() if p.suffix == ".parquet"):
        assert pl.read_parquet(tmp_path / "p" / table).equals(
            pl.read_parquet(tmp_path / "pdb" / table)), table
    bad = tmp_path / "bad.toml"
    bad.write_text("[contract]\nname = 1\n")
    r = _run(str(bad), *SMALL, "--out", str(tmp_path / "q"))
    assert r.exit_code == 2 and not (tmp_path / "q").exists()  # type: ignore[attr-defined]
    # a cohort label the contract does not list
    other = tmp_path / "other.parquet"
    pop.with_columns(pl.lit("2031Q1").alias("cohort")).write_parquet(other)
    r = _run(str(contract), "--population", str(other), "--plots", "none", "--out",
             str(tmp_path / "r"))
    assert r.exit_code == 2 and "2031Q1" in r.output  # type: ignore[attr-defined]
    assert not (tmp_path / "r").exists()
