"""``pbr compare`` and ``pbr power`` end to end with typer's CliRunner."""

from __future__ import annotations

import re
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
    # the areas from a database table (or a file): the same table
    import sqlite3

    db = tmp_path / "areas.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE areas (area TEXT, n INTEGER)")
        con.executemany("INSERT INTO areas VALUES (?, ?)", [("North", 400), ("South", 4000)])
    res = ok(run("power", "--volumes", f"sqlite:///{db}?table=areas", "--binary-rate",
                 "0.45", "--per-offender", "1.5", "--dispersion", "1.2", "--target-change",
                 "-0.05", "--out", tmp_path / "q.csv"))
    assert pl.read_csv(tmp_path / "q.csv").equals(table)


# ------------------------------------------------------------- --min-n and --scheme
@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 offenders in four providers of 77, 49, 42 and 32 (generate(200, seed=1))."""
    d = tmp_path_factory.mktemp("synth_compare_tiny")
    io.write_synth(pbr.synth.generate(200, seed=1), d)
    return d


def tiny_compare(d: Path, *args: str | Path) -> object:
    return run("-q", "compare", "--cohort", d / "cohort.parquet", "--events",
               d / "events.parquet", "--baseline", "0.43", *args)


def test_min_n_leaves_small_groups_not_assessed(tiny, tmp_path) -> None:
    res = ok(tiny_compare(tiny, "--by", "provider", "--min-n", "45", "--out",
                          tmp_path / "c.csv"))
    table = pl.read_csv(tmp_path / "c.csv").sort("provider")
    assert table["n"].to_list() == [77, 49, 42, 32]
    # P3 (42) and P4 (32) are below 45: figures kept, no conclusion drawn
    assert table["significant"].to_list()[2:] == [None, None]
    assert table["significant"].to_list()[:2] == [True, True]
    assert table["conclusion"][3] == ("not assessed: 32 people, below the minimum of 45 "
                                      "(min_n=45)")
    assert "provider=P3: 42 people, below the minimum of 45 (--min-n 45)" in res.stdout
    assert "(sig n/a: not assessed, see the conclusion column)" in res.stdout
    assert res.stdout.count("No conclusion is drawn about the effect") == 2


def test_scheme_applies_its_rules(tiny) -> None:
    res = ok(run("-q", "compare", "--cohort", tiny / "cohort.parquet", "--events",
                 tiny / "events.parquet", "--treated", "treated", "--by", "provider",
                 "--scheme", "justice_data_lab"))
    # the JDL publishes nothing for fewer than 60 treated: every provider here is smaller
    assert res.stdout.count("below the minimum of 60 (justice_data_lab rule)") >= 1
    assert "No conclusion is drawn about the effect" in res.stdout
    # a one-sided scheme sets the sidedness the --alternative default would contradict
    one = ok(run("-q", "compare", "--cohort", tiny / "cohort.parquet", "--events",
                 tiny / "events.parquet", "--treated", "treated", "--scheme",
                 "peterborough_sib", "--measure", "per_100"))
    assert "95% less" in one.stdout and "negbin" in one.stdout


SCHEME_ERRORS = [
    ("unknown_scheme", ("--scheme", "jdl"),
     r"--scheme: unknown scheme 'jdl'; available: crc_pbr_2015, .*justice_data_lab"),
    ("min_n_contradicts_scheme", ("--scheme", "justice_data_lab", "--min-n", "30"),
     r"--min-n: 30 contradicts the justice_data_lab scheme's minimum n of 60; leave --min-n "
     r"out, or choose another --scheme"),
    ("level_contradicts_scheme", ("--scheme", "justice_data_lab", "--level", "0.9"),
     r"--level: 0\.9 contradicts the justice_data_lab scheme's confidence level 0\.95; "
     r"leave --level out"),
    ("alternative_contradicts_scheme",
     ("--scheme", "justice_data_lab", "--alternative", "less"),
     r"--alternative: 'less' contradicts the justice_data_lab scheme's sides 'two-sided'; "
     r"leave --alternative out"),
    ("scheme_without_a_comparator", ("--scheme", "moj_national_2017"),
     r"--scheme: the moj_national_2017 scheme has no comparator.*pass --min-n and "
     r"--level instead, or a scheme that compares \(e\.g\. --scheme justice_data_lab\)"),
    ("baseline_for_a_matched_scheme", ("--scheme", "justice_data_lab"),
     r"--scheme: the justice_data_lab scheme compares with a comparison group \(--treated or "
     r"--comparison\) \(kind 'matched_comparison'\), got --baseline; pass that, or choose "
     r"another --scheme"),
    ("difference_in_differences_scheme", ("--scheme", "rikers_able", "--measure", "frequency"),
     r"--measure: the rikers_able scheme compares custody_days_per_offender, not "
     r"per_offender; pass one of those, or choose another --scheme"),
    ("level_as_alpha", ("--level", "0.05"),
     r"--level: 0\.05 is a confidence level of 5%.*--level 0\.95 for a 5% test"),
    ("negative_min_n", ("--min-n", "-1"), r"--min-n"),
]


@pytest.mark.parametrize("case", SCHEME_ERRORS, ids=[c[0] for c in SCHEME_ERRORS])
def test_scheme_and_min_n_errors_name_the_flags(case, tiny, tmp_path) -> None:
    _, args, match = case
    out = tmp_path / "c.csv"
    out.write_text("kept\n")
    res = tiny_compare(tiny, *args, "--out", out)
    assert res.exit_code == 2, (res.stdout, res.stderr)
    text = " ".join(res.stderr.split())
    assert re.search(match, text), text
    assert "min_n" not in text.replace("--min-n", "") or case[0] == "negative_min_n"
    assert out.read_text() == "kept\n"   # nothing written over the existing file
