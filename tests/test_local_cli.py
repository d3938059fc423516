"""area_report and the local-accountability commands: pbr attribute, pbr crime-change,
pbr area-report (outputs, and refusals in the command line's terms)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import pbr
from pbr.areas import RecordedCrime, area_report, example_hierarchy
from pbr.cli import app
from pbr.contract.spec import demo_contract_text
from pbr.errors import SpecError

runner = CliRunner()


@pytest.fixture(scope="module")
def data() -> pbr.synth.SyntheticData:
    return pbr.synth.generate(1_500, seed=11)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, data: pbr.synth.SyntheticData
          ) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("local")
    paths = {k: d / f"{k}.csv" for k in ("cohort", "events", "spells", "areas", "crime",
                                          "population")}
    data.cohort.write_csv(paths["cohort"])
    data.events.write_csv(paths["events"])
    ids, idx = data.cohort["offender_id"], data.cohort["index_date"]
    pl.DataFrame({"offender_id": pl.concat([ids, ids]),
                  "provider": ["prison"] * len(ids) + ["probation"] * len(ids),
                  "start": pl.concat([idx - dt.timedelta(days=90), idx + dt.timedelta(days=1)]),
                  "end": pl.concat([idx, pl.Series([None] * len(ids), dtype=pl.Date)])}
                 ).write_csv(paths["spells"])
    example_hierarchy().frame.write_csv(paths["areas"])
    areas = example_hierarchy().units("area")
    pl.DataFrame({"area": [a for a in areas for _ in (0, 1)],
                  "period": ["2019", "2020"] * len(areas),
                  "count": [100 + 7 * i for i in range(2 * len(areas))]}
                 ).write_csv(paths["crime"])
    pl.DataFrame({"area": list(areas), "population": [25_000] * len(areas)}
                 ).write_csv(paths["population"])
    return paths


def test_area_report_sections_reconcile(data: pbr.synth.SyntheticData) -> None:
    res = pbr.measure(data.cohort, data.events)
    run = pbr.run_contract(pbr.Contract.from_toml(demo_contract_text()), data.cohort,
                           data.events)
    statement = getattr(run, "statement", run)
    crime = RecordedCrime.from_frames(
        {"area": ["P1-N", "P1-N", "P2-N", "P2-N", "P1-S", "P1-S"],
         "period": ["a", "b"] * 3, "count": [10, 8, 12, 12, 3, 5]},
        {"area": ["P1-N", "P2-N", "P1-S"], "population": [1000, 2000, 500]})
    rep = area_report(res, example_hierarchy(), level="pcc_area", unit="PCC North",
                      comparator=0.3, statement=statement, crime=crime, baseline="a",
                      current="b")
    assert set(rep.sections) == {"cohort", "measures", "comparison", "payments", "crime"}
    members = rep.sections["cohort"]
    assert members["area"].to_list() == ["P1-N", "P1-S", "P2-N"]
    assert rep.sections["measures"]["n"][0] == members["n"].sum()
    assert rep.sections["comparison"]["n"][0] == members["n"].sum()
    # the whole statement split over all areas adds up to its total; the unit's share is
    # what the report shows
    other = area_report(res, example_hierarchy(), level="pcc_area", unit="PCC West",
                        statement=statement)
    rest = [area_report(res, example_hierarchy(), level="pcc_area", unit=u,
                        statement=statement) for u in ("PCC East", "PCC South")]
    total = sum(Decimal(x) for r in [rep, other, *rest]
                for x in r.sections["payments"]["amount"].to_list())
    assert total == statement.total
    assert rep.sections["crime"]["area"].to_list() == ["P1-N", "P1-S", "P2-N"]
    with pytest.raises(SpecError, match="no pcc_area unit 'PCC Nowhere'"):
        area_report(res, example_hierarchy(), level="pcc_area", unit="PCC Nowhere")
    with pytest.raises(SpecError, match="lowest level"):
        area_report(res, example_hierarchy(), level="area", unit="P1-N")


def test_cli_attribute(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "shares.csv"
    r = runner.invoke(app, ["attribute", "--cohort", str(files["cohort"]), "--spells",
                            str(files["spells"]), "--rule", "time_share", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "Attribution: rule time_share" in r.output and "probation" in r.output
    shares = pl.read_csv(out)
    assert shares.group_by("offender_id").agg(pl.col("share").sum())["share"].to_list() \
        == pytest.approx([1.0] * 1_500)
    # the index rule: prison's spell ends on the index date
    r = runner.invoke(app, ["attribute", "--cohort", str(files["cohort"]), "--spells",
                            str(files["spells"]), "--rule", "index"])
    assert r.exit_code == 0 and "prison" in r.output and "probation" not in r.output
    bad = runner.invoke(app, ["attribute", "--cohort", str(files["cohort"]), "--spells",
                              str(files["spells"]), "--rule", "shapley"])
    assert bad.exit_code == 2 and "--rule shapley needs --values" in bad.output


def test_cli_crime_change_and_area_report(files: dict[str, Path], tmp_path: Path) -> None:
    r = runner.invoke(app, ["crime-change", "--crime", str(files["crime"]), "--population",
                            str(files["population"]), "--baseline", "2019", "--current", "2020",
                            "--hierarchy", str(files["areas"]), "--levels",
                            "area,pcc_area,package_area,region", "--level", "pcc_area"])
    assert r.exit_code == 0, r.output
    assert "PCC North" in r.output and "RR" in r.output
    out = tmp_path / "report"
    r = runner.invoke(app, ["area-report", "--cohort", str(files["cohort"]), "--events",
                            str(files["events"]), "--hierarchy", str(files["areas"]),
                            "--levels", "area,pcc_area,package_area,region", "--level",
                            "pcc_area", "--unit", "PCC North", "--baseline-rate", "0.3",
                            "--crime", str(files["crime"]), "--population",
                            str(files["population"]), "--baseline", "2019", "--current",
                            "2020", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == ["cohort.csv", "comparison.csv",
                                                      "crime.csv", "measures.csv"]
    bad = runner.invoke(app, ["crime-change", "--crime", str(files["crime"]), "--population",
                              str(files["population"]), "--baseline", "2018", "--current",
                              "2020"])
    assert bad.exit_code == 2 and "period '2018' is not in the data" in bad.output


def test_cli_iom(files: dict[str, Path], data: pbr.synth.SyntheticData, tmp_path: Path) -> None:
    members = tmp_path / "iom.csv"
    data.cohort.select("offender_id", pl.col("index_date").alias("entry"),
                       pl.when(pl.col("treated")).then(pl.lit("fixed")).otherwise(
                           pl.lit("flex")).alias("scheme")).write_csv(members)
    out = tmp_path / "iom_people.csv"
    r = runner.invoke(app, ["iom", "--membership", str(members), "--events",
                            str(files["events"]), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "IOM before and after: 1,500 membership spells" in r.output
    assert "not an effect" in r.output
    assert pl.read_csv(out).height == 1_500
    bad = runner.invoke(app, ["iom", "--membership", str(members), "--events",
                              str(files["events"]), "--after", "during"])
    assert bad.exit_code == 2 and "as_of" in bad.output


def test_cli_attribute_splits_a_statement(files: dict[str, Path], tmp_path: Path) -> None:
    contract = tmp_path / "contract.toml"
    contract.write_text(demo_contract_text(), encoding="utf-8")
    pay_dir = tmp_path / "pay"
    r = runner.invoke(app, ["pay", str(contract), "--cohort", str(files["cohort"]),
                            "--events", str(files["events"]), "--out", str(pay_dir)])
    assert r.exit_code == 0, r.output
    split = tmp_path / "split.csv"
    r = runner.invoke(app, ["attribute", "--cohort", str(files["cohort"]), "--spells",
                            str(files["spells"]), "--statement", str(pay_dir / "statement.csv"),
                            "--contract", str(contract), "--split-out", str(split)])
    assert r.exit_code == 0, r.output
    assert "the statement split between providers" in r.output
    parts = pl.read_csv(split, infer_schema=False)
    lines = pl.read_csv(pay_dir / "statement.csv", infer_schema=False)
    assert sum(Decimal(x) for x in parts["amount"]) == sum(Decimal(x) for x in lines["amount"])
    bad = runner.invoke(app, ["attribute", "--cohort", str(files["cohort"]), "--spells",
                              str(files["spells"]), "--statement",
                              str(pay_dir / "statement.csv")])
    assert bad.exit_code == 2 and "go together" in bad.output
    # the statement and the spells from a database give the same split
    import duckdb

    db = tmp_path / "s.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute(f"CREATE TABLE st AS SELECT * FROM read_csv('{pay_dir / 'statement.csv'}',"
                    " all_varchar=true)")
        con.execute(f"CREATE TABLE sp AS SELECT * FROM read_csv_auto('{files['spells']}')")
    split_db = tmp_path / "split_db.csv"
    r = runner.invoke(app, ["attribute", "--cohort", str(files["cohort"]), "--spells",
                            f"duckdb:///{db}?table=sp", "--statement",
                            f"duckdb:///{db}?table=st", "--contract", str(contract),
                            "--split-out", str(split_db)])
    assert r.exit_code == 0, r.output
    assert split_db.read_bytes() == split.read_bytes()


def test_cli_double_claims(files: dict[str, Path], data: pbr.synth.SyntheticData,
                           tmp_path: Path) -> None:
    other = tmp_path / "iom.csv"
    data.cohort.head(10).with_columns(pl.col("index_date") + dt.timedelta(days=100)) \
        .write_csv(other)
    r = runner.invoke(app, ["double-claims", "--claim", f"crc={files['cohort']}",
                            "--claim", f"iom={other}"])
    assert r.exit_code == 1, r.output
    assert "10 offender(s) claimed twice" in r.output
    alone = tmp_path / "alone.csv"
    data.cohort.head(5).with_columns(pl.col("offender_id") + 10**9).write_csv(alone)
    r = runner.invoke(app, ["double-claims", "--claim", f"crc={files['cohort']}",
                            "--claim", f"new={alone}"])
    assert r.exit_code == 0 and "no offender is claimed" in r.output
    bad = runner.invoke(app, ["double-claims", "--claim", "crc"])
    assert bad.exit_code == 2 and "NAME=FILE" in bad.output


def test_cli_local_commands_read_database_uris(files: dict[str, Path], tmp_path: Path) -> None:
    import duckdb

    db = tmp_path / "project.duckdb"
    with duckdb.connect(str(db)) as con:
        for name in ("crime", "population", "areas", "cohort", "events"):
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv_auto('{files[name]}')")
    uri = f"duckdb:///{db}?table="
    r = runner.invoke(app, ["crime-change", "--crime", uri + "crime", "--population",
                            uri + "population", "--baseline", "2019", "--current", "2020"])
    assert r.exit_code == 0, r.output
    from_files = runner.invoke(app, ["crime-change", "--crime", str(files["crime"]),
                                     "--population", str(files["population"]),
                                     "--baseline", "2019", "--current", "2020"])
    assert r.output == from_files.output
    r = runner.invoke(app, ["area-report", "--cohort", uri + "cohort", "--events",
                            uri + "events", "--hierarchy", uri + "areas", "--levels",
                            "area,pcc_area,package_area,region", "--level", "pcc_area",
                            "--unit", "PCC North"])
    assert r.exit_code == 0, r.output
    assert "PCC North" in r.output


def test_cli_report_reads_database_uris(files: dict[str, Path], tmp_path: Path) -> None:
    import duckdb

    db = tmp_path / "p.duckdb"
    with duckdb.connect(str(db)) as con:
        for name in ("cohort", "events"):
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv_auto('{files[name]}')")
    uri = f"duckdb:///{db}?table="
    out = tmp_path / "r.html"
    r = runner.invoke(app, ["report", "--out", str(out), "--cohort", uri + "cohort",
                            "--events", uri + "events", "--baseline", "0.3"])
    assert r.exit_code == 0, r.output
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    contract = tmp_path / "c.toml"
    contract.write_text(demo_contract_text(), encoding="utf-8")
    bad = runner.invoke(app, ["report", "--out", str(tmp_path / "x.html"), "--cohort",
                              uri + "cohort", "--events", uri + "events", "--contract",
                              str(contract), "--manifest", str(tmp_path / "m.json")])
    assert bad.exit_code == 2 and "--manifest" in bad.output
    assert "records files" in " ".join(bad.output.split())
