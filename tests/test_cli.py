"""The ``pbr`` command line, end to end on small synthetic data."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import pbr
from pbr import io
from pbr.cli import app

N = 400


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic cohort, events, custody and spec.toml, as Parquet."""
    d = tmp_path_factory.mktemp("synth")
    io.write_synth(pbr.synth.generate(N, seed=5), d)
    return d


def run(*args: str | Path) -> object:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result


def measure(data_dir: Path, out: Path, *extra: str | Path) -> object:
    return run("measure", "--cohort", data_dir / "cohort.parquet", "--events",
               data_dir / "events.parquet", "--out", out, *extra)


def ok(result: object) -> object:
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


# --------------------------------------------------------------------------- measure
def test_measure_end_to_end(data_dir, tmp_path):
    res = ok(measure(data_dir, tmp_path / "m.parquet", "--custody",
                     data_dir / "custody.parquet", "--by", "provider"))
    frame = pl.read_parquet(tmp_path / "m.parquet")
    assert frame.height == N
    assert {"offender_id", "provider", "reoffended", "reoffences", "custody_days"} \
        <= set(frame.columns)
    out = res.stdout
    assert "Proven reoffending (moj_national_2017;" in out
    assert "Summary by provider (moj_national_2017)" in out
    for provider in frame["provider"].unique().to_list():
        assert provider in out
    assert "Exclusions:" in out  # (synthetic data hold exact duplicate events, ledgered)
    assert "m.parquet (400 rows)" in out
    assert "measuring 400 offenders" in res.stderr  # progress on stderr only
    assert "measuring" not in out


def test_measure_stdout_is_deterministic(data_dir, tmp_path):
    a = ok(measure(data_dir, tmp_path / "m.csv", "--by", "sex"))
    b = ok(measure(data_dir, tmp_path / "m.csv", "--by", "sex"))
    assert a.stdout == b.stdout


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_engines_write_identical_files(data_dir, tmp_path, suffix):
    for engine in ("numba", "polars"):
        ok(measure(data_dir, tmp_path / f"{engine}.{suffix}", "--engine", engine,
                   "--spec", data_dir / "spec.toml", "--custody",
                   data_dir / "custody.parquet"))
    assert (tmp_path / f"numba.{suffix}").read_bytes() == \
        (tmp_path / f"polars.{suffix}").read_bytes()


def test_preset_and_spec(data_dir, tmp_path):
    res = ok(measure(data_dir, tmp_path / "p.csv", "--preset", "peterborough_sib"))
    assert "Proven reoffending (peterborough_sib;" in res.stdout
    assert "unit court_event" in res.stdout
    res = ok(measure(data_dir, tmp_path / "s.csv", "--spec", data_dir / "spec.toml"))
    assert "synth_moj_national_2017" in res.stdout
    assert pl.read_csv(tmp_path / "s.csv")["severity"].null_count() == 0
    both = measure(data_dir, tmp_path / "x.csv", "--spec", data_dir / "spec.toml",
                   "--preset", "peterborough_sib")
    assert both.exit_code == 2 and "not both" in both.stderr
    unknown = measure(data_dir, tmp_path / "x.csv", "--preset", "nope")
    assert unknown.exit_code == 2
    assert "--preset nope: no such preset" in unknown.stderr
    assert "Traceback" not in unknown.output


def test_as_of_excludes_incomplete_windows_and_interim_keeps_them(data_dir, tmp_path):
    as_of = "2020-10-31"  # the synthetic cohorts start in 2019: some windows are open
    res = ok(measure(data_dir, tmp_path / "a.parquet", "--as-of", as_of,
                     "--summary-out", tmp_path / "a.json"))
    kept = pl.read_parquet(tmp_path / "a.parquet")
    assert 0 < kept.height < N
    assert "window_incomplete" in res.stdout
    doc = json.loads((tmp_path / "a.json").read_text())
    assert doc["spec"]["as_of"] == as_of
    assert {r["rule"]: r["count"] for r in doc["exclusions"]}["window_incomplete"] \
        == N - kept.height
    ok(measure(data_dir, tmp_path / "i.parquet", "--as-of", as_of, "--interim"))
    interim = pl.read_parquet(tmp_path / "i.parquet")
    assert interim.height == N
    assert interim["window_complete"].sum() == kept.height
    bad = measure(data_dir, tmp_path / "x.csv", "--interim")
    assert bad.exit_code == 2 and "--interim needs --as-of" in bad.stderr


def test_summary_out_csv_and_json(data_dir, tmp_path):
    res = ok(measure(data_dir, tmp_path / "m.csv", "--by", "provider", "--by", "sex",
                     "--summary-out", tmp_path / "s.csv"))
    summary = pl.read_csv(tmp_path / "s.csv")
    assert summary.columns[:3] == ["provider", "sex", "n"]
    assert summary["n"].sum() == N
    # the file holds proportions; the printed table shows per cent, labelled (%)
    rate = summary["reoffenders"] / summary["n"]
    assert summary["binary_rate"].to_list() == pytest.approx(rate.to_list(), rel=1e-11)
    assert "binary_rate (%)" in res.stdout and "serious_rate (%)" in res.stdout
    first = f"{100 * summary['binary_rate'][0]:,.3f}"
    assert first in next(line for line in res.stdout.splitlines()
                         if line.startswith("binary_rate (%)"))
    ok(measure(data_dir, tmp_path / "m.csv", "--summary-out", tmp_path / "s.json"))
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["overall"]["n"] == N and doc["by"] == []
    overall = doc["overall"]
    assert overall["binary_rate"] == pytest.approx(overall["reoffenders"] / N, rel=1e-11)


def test_missing_column_is_one_line_exit_2(data_dir, tmp_path):
    res = measure(data_dir, tmp_path / "m.csv", "--offence-date", "off_dt")
    assert res.exit_code == 2
    assert "has no column 'off_dt' (role offence_date)" in res.stderr
    assert "pass --offence-date COLUMN" in res.stderr
    assert "Traceback" not in res.output
    assert not (tmp_path / "m.csv").exists()


def test_missing_file_exit_2(data_dir, tmp_path):
    res = run("measure", "--cohort", tmp_path / "none.csv", "--events",
              data_dir / "events.parquet", "--out", tmp_path / "m.csv")
    assert res.exit_code == 2
    assert "none.csv" in res.stderr and "does not exist" in res.stderr
    res = measure(data_dir, tmp_path / "m.txt")
    assert res.exit_code == 2 and "supported: .csv" in res.stderr


def test_role_mapping_and_on_invalid(tmp_path):
    (tmp_path / "c.csv").write_text("pnc,release,team\n007,2020-01-01,A\n008,2020-01-01,B\n")
    (tmp_path / "e.csv").write_text(
        "pnc,off,disposal_date,disposal_type,offence_code\n"
        "007,2020-03-01,2020-04-01,conviction,HO1\n"
        "008,2020-02-30,2020-04-01,conviction,HO1\n")
    args = ["measure", "--cohort", tmp_path / "c.csv", "--events", tmp_path / "e.csv",
            "--offender-id", "pnc", "--index-date", "release", "--offence-date", "off",
            "--by", "team", "--out", tmp_path / "m.csv"]
    res = run(*args)
    assert res.exit_code == 2
    assert "row 1 (line 3, offender_id='008')" in res.stderr
    res = ok(run(*args, "--on-invalid", "exclude"))
    assert "unparseable_offence_date" in res.stdout
    out = io.read_table(tmp_path / "m.csv")
    assert out["offender_id"].to_list() == ["007", "008"]
    assert out["reoffences"].to_list() == [1, 0]


def test_bad_group_column_exit_2(data_dir, tmp_path):
    res = measure(data_dir, tmp_path / "m.csv", "--by", "nope")
    assert res.exit_code == 2 and "'nope'" in res.stderr


# --------------------------------------------------------------------------- synth, demo
def test_synth_command_is_reproducible(tmp_path):
    for name in ("a", "b"):
        res = ok(run("-q", "synth", "--n", "200", "--seed", "3", "--format", "csv",
                     "--out", tmp_path / name))
        assert res.stderr == ""
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == ["areas.csv", "cohort.csv", "custody.csv", "events.csv",
                     "severity_weights.toml", "spec.toml"]
    for f in files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    assert pl.read_csv(tmp_path / "a" / "cohort.csv").height == 200
    assert "200 offenders, seed 3" in res.stdout


def test_demo(tmp_path):
    res = ok(run("demo", "--n", "500", "--out", tmp_path / "demo"))
    out = res.stdout
    assert out.count("Summary by provider") == 2
    assert "synth_moj_national_2017" in out and "peterborough_sib" in out
    assert "offenders measured               500" in out
    for name in ("cohort.parquet", "events.parquet", "spec.toml",
                 "measures_peterborough_sib.parquet", "summary_synth_moj_national_2017.json"):
        assert (tmp_path / "demo" / name).exists()
        assert name in out
    assert "pbr measure --cohort" in out
    # the full contract run: statement and manifest (pbr verify is tested in test_audit)
    assert "Payment statement: Synthetic CRC-style contract (demo)" in out
    for name in ("contract.toml", "statement/statement.xlsx", "statement/manifest.json"):
        assert (tmp_path / "demo" / name).exists()
    assert "pbr verify" in out


# --------------------------------------------------------------------------- small ones
def test_presets_list_and_show():
    res = ok(run("presets"))
    for name in pbr.available_presets():
        assert name in res.stdout
    res = ok(run("presets", "peterborough_sib"))
    assert "counting_unit" in res.stdout and 'name = "peterborough_sib"' in res.stdout
    assert run("presets", "nope").exit_code == 2


def test_version_and_help():
    assert ok(run("--version")).stdout == f"pbr {pbr.__version__}\n"
    assert "measure" in ok(run("--help")).stdout
