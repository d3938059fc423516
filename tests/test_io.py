"""pbr.io: reading and writing tables, summaries, specs and synthetic data sets."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

import pbr
from pbr import io
from pbr.errors import SchemaError, SpecError

D = dt.date


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return pl.DataFrame({
        "offender_id": [1, 2, 3, 40],
        "pnc": ["00123", "45", "0007", "X9"],
        "index_date": [D(2020, 1, 31), D(2020, 2, 29), None, D(2021, 12, 1)],
        "score": [1.5, None, -2.25, 1e-3],
        "flag": [True, False, None, True],
        "provider": pl.Series(["P1", "P2", "P1", None], dtype=pl.Categorical),
    })


@pytest.fixture(scope="module")
def synth_data() -> pbr.synth.SynthData:
    return pbr.synth.generate(300, seed=11)


# --------------------------------------------------------------------------- read_table
def test_csv_round_trip_keeps_ids_and_leaves_dates_as_text(frame, tmp_path):
    path = io.write_table(frame, tmp_path / "t.csv")
    back = io.read_table(path)
    assert back.schema == pl.Schema({
        "offender_id": pl.Int64, "pnc": pl.String, "index_date": pl.String,
        "score": pl.Float64, "flag": pl.Boolean, "provider": pl.String})
    assert back["pnc"].to_list() == ["00123", "45", "0007", "X9"]
    assert back["index_date"].to_list() == ["2020-01-31", "2020-02-29", None, "2021-12-01"]
    assert back["score"].to_list() == frame["score"].to_list()
    assert back["flag"].to_list() == frame["flag"].to_list()
    # pbr.data parses the ISO text exactly as it takes the original dates
    via_file = pbr.Cohort.from_frame(back, on_invalid="exclude").frame.drop("provider")
    direct = pbr.Cohort.from_frame(frame, on_invalid="exclude").frame.drop("provider")
    assert via_file.equals(direct)


def test_csv_integer_inference_is_conservative(tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("a,b,c,d,e\n1,01,1,99999999999999999999,\n-2,2,x,1,\n")
    df = io.read_table(path)
    assert df.schema == pl.Schema({"a": pl.Int64, "b": pl.String, "c": pl.String,
                                   "d": pl.String, "e": pl.String})
    assert df["b"].to_list() == ["01", "2"]


def test_tsv_round_trip(frame, tmp_path):
    back = io.read_table(io.write_table(frame, tmp_path / "t.tsv"))
    assert back["pnc"].to_list() == frame["pnc"].to_list()
    assert "\t" in (tmp_path / "t.tsv").read_text().splitlines()[0]


def test_parquet_round_trip_keeps_types(frame, tmp_path):
    back = io.read_table(io.write_table(frame, tmp_path / "t.parquet"))
    assert back.equals(frame.with_columns(pl.col("provider").cast(pl.String)))
    assert back.schema["index_date"] == pl.Date


def test_excel_round_trip_dates_and_ids(frame, tmp_path):
    back = io.read_table(io.write_table(frame, tmp_path / "t.xlsx"))
    assert back["offender_id"].dtype == pl.Int64
    assert back["offender_id"].to_list() == [1, 2, 3, 40]
    assert back["pnc"].to_list() == ["00123", "45", "0007", "X9"]
    assert back["index_date"].dtype == pl.Date
    assert back["index_date"].to_list() == frame["index_date"].to_list()
    assert back["score"].to_list() == frame["score"].to_list()


def test_excel_sheet_by_name_and_position(tmp_path):
    import xlsxwriter

    path = tmp_path / "book.xlsx"
    with xlsxwriter.Workbook(str(path)) as wb:
        pl.DataFrame({"a": [1]}).write_excel(wb, worksheet="first")
        pl.DataFrame({"b": ["x", "y"]}).write_excel(wb, worksheet="second")
    assert io.read_table(path).columns == ["a"]
    assert io.read_table(path, sheet="second")["b"].to_list() == ["x", "y"]
    assert io.read_table(path, sheet=1).columns == ["b"]
    with pytest.raises(SchemaError, match=r"book\.xlsx"):
        io.read_table(path, sheet="nope")


def test_columns_selects_and_names_missing(frame, tmp_path):
    for suffix in ("csv", "parquet", "xlsx"):
        path = io.write_table(frame, tmp_path / f"t.{suffix}")
        assert io.read_table(path, columns=["pnc", "offender_id"]).columns == [
            "pnc", "offender_id"]
        with pytest.raises(SchemaError, match="'release'"):
            io.read_table(path, columns=["offender_id", "release"])


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(SchemaError, match=r"cohort\.csv.*does not exist"):
        io.read_table(tmp_path / "cohort.csv")
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(SchemaError, match="directory"):
        io.read_table(tmp_path / "d.csv")


def test_unknown_suffix_lists_supported_formats(tmp_path):
    path = tmp_path / "cohort.json"
    path.write_text("{}")
    with pytest.raises(SchemaError, match=r"cohort\.json.*'\.json'.*\.csv.*\.parquet.*\.xlsx"):
        io.read_table(path)
    with pytest.raises(SchemaError, match=r"\.feather.*supported: \.csv"):
        io.write_table(pl.DataFrame({"a": [1]}), tmp_path / "out.feather")


def test_sheet_only_for_excel_and_unreadable_file(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("a\n1\n")
    with pytest.raises(SchemaError, match="Excel files only"):
        io.read_table(path, sheet=0)
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(SchemaError, match=r"bad\.parquet.*as parquet"):
        io.read_table(bad)


# --------------------------------------------------------------------------- read_*
@pytest.mark.filterwarnings("ignore::pbr.IncompleteDataWarning")
def test_read_cohort_events_custody_with_role_mapping(tmp_path):
    (tmp_path / "c.csv").write_text("pnc,release,provider\nA1,2020-01-01,P1\nA2,2020-02-01,P2\n")
    (tmp_path / "e.csv").write_text(
        "pnc,off,disp,how,code\nA1,2020-03-01,2020-04-01,conviction,HO1\n")
    (tmp_path / "k.csv").write_text("pnc,in,out\nA2,2020-03-01,2020-03-10\n")
    cohort = io.read_cohort(tmp_path / "c.csv", offender_id="pnc", index_date="release")
    events = io.read_events(tmp_path / "e.csv", offender_id="pnc", offence_date="off",
                            disposal_date="disp", disposal_type="how", offence_code="code")
    custody = io.read_custody(tmp_path / "k.csv", offender_id="pnc", start_date="in",
                              end_date="out")
    assert cohort.frame["index_date"].dtype == pl.Date
    assert cohort.frame["offender_id"].to_list() == ["A1", "A2"]
    assert (cohort.n, events.n, custody.n) == (2, 1, 1)
    res = pbr.measure(cohort, events, custody=custody)
    assert res.frame["reoffences"].to_list() == [1, 0]
    assert res.frame["custody_days"].to_list() == [0, 10]


def test_read_events_invalid_rows_raise_or_exclude(tmp_path):
    (tmp_path / "e.csv").write_text(
        "offender_id,offence_date,disposal_date,disposal_type,offence_code\n"
        "1,2020-03-01,2020-04-01,conviction,A\n1,2020-13-45,2020-04-01,conviction,A\n")
    with pytest.raises(SchemaError, match="row 1"):
        io.read_events(tmp_path / "e.csv")
    events = io.read_events(tmp_path / "e.csv", on_invalid="exclude")
    assert events.n == 1
    assert events.exclusions.count(rule="unparseable_offence_date") == 1


# --------------------------------------------------------------------------- write_table
@pytest.mark.parametrize("suffix", ["csv", "parquet", "xlsx"])
def test_write_table_bytes_are_deterministic(frame, tmp_path, suffix):
    # the same values with the categorical dictionary built in another order
    other = frame.with_columns(
        pl.Series("provider", ["P2", "P1", "P1", None], dtype=pl.Categorical)
        .gather([1, 0, 2, 3]))
    assert other.equals(frame)
    a = io.write_table(frame, tmp_path / f"a.{suffix}").read_bytes()
    b = io.write_table(frame.clone(), tmp_path / f"b.{suffix}").read_bytes()
    c = io.write_table(other, tmp_path / "sub" / f"c.{suffix}").read_bytes()
    assert a == b == c


def test_write_table_accepts_pandas(frame, tmp_path):
    pdf = frame.drop("provider").to_pandas()
    back = io.read_table(io.write_table(pdf, tmp_path / "p.parquet"))
    assert back["pnc"].to_list() == frame["pnc"].to_list()


# --------------------------------------------------------------------------- summaries
@pytest.fixture(scope="module")
def result(synth_data) -> pbr.MeasureResult:
    spec = io.synth_spec(synth_data)
    return pbr.measure(synth_data.cohort, synth_data.events, spec.replace(as_of="2020-09-30"),
                       custody=synth_data.custody)


def test_summary_json_document(result, tmp_path):
    path = io.write_summary(result, tmp_path / "s.json", by="provider")
    text = path.read_text()
    doc = json.loads(text)
    assert list(doc) == sorted(doc)
    assert doc["by"] == ["provider"]
    assert doc["spec"]["as_of"] == "2020-09-30"
    assert doc["spec"]["follow_up"] == "12 months"
    assert isinstance(doc["spec"]["severity_weights"], dict)
    assert [r["provider"] for r in doc["summary"]] == sorted(r["provider"] for r in doc["summary"])
    assert sum(r["n"] for r in doc["summary"]) == doc["overall"]["n"] == result.frame.height
    excl = {r["rule"]: r["count"] for r in doc["exclusions"]}
    assert excl["window_incomplete"] == 300 - result.frame.height > 0
    assert doc["provenance"]["engine"] == "numba"
    assert doc["notes"] == list(result.notes)
    assert "NaN" not in text
    assert io.write_summary(result, tmp_path / "again.json", by="provider").read_text() == text


def test_summary_json_same_for_both_engines(synth_data, tmp_path):
    spec = io.synth_spec(synth_data)
    texts = []
    for engine in ("numba", "polars"):
        res = pbr.measure(synth_data.cohort, synth_data.events, spec, engine=engine)
        doc = io.summary_document(res, by=["provider", "sex"])
        doc["provenance"].pop("engine")
        texts.append(json.dumps(doc, sort_keys=True))
    assert texts[0] == texts[1]


def test_summary_csv(result, tmp_path):
    back = pl.read_csv(io.write_summary(result, tmp_path / "s.csv", by=["provider"]))
    assert back["provider"].to_list() == result.summary(by="provider")["provider"].to_list()
    assert back["n"].sum() == result.frame.height
    overall = pl.read_csv(io.write_summary(result, tmp_path / "all.csv"))
    assert overall.height == 1 and "provider" not in overall.columns


def test_summary_bad_suffix_and_bad_group(result, tmp_path):
    with pytest.raises(SchemaError, match=r"\.json"):
        io.write_summary(result, tmp_path / "s.txt")
    with pytest.raises(SpecError, match="nope"):
        io.write_summary(result, tmp_path / "s.csv", by="nope")


# --------------------------------------------------------------------------- specs, synth
def test_spec_round_trip_and_errors(tmp_path):
    spec = pbr.preset("peterborough_sib", as_of="2021-03-31", interim=True)
    assert io.read_spec(io.write_spec(spec, tmp_path / "s.toml")) == spec
    with pytest.raises(SpecError, match="does not exist"):
        io.read_spec(tmp_path / "none.toml")
    (tmp_path / "bad.toml").write_text("[measure]\nfollow_up = 'twelve'\n")
    with pytest.raises(SpecError, match=r"bad\.toml.*follow_up"):
        io.read_spec(tmp_path / "bad.toml")


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_write_synth_files_measure_like_the_frames(synth_data, tmp_path, fmt):
    paths = io.write_synth(synth_data, tmp_path / "d", format=fmt)
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == sorted(
        [f"cohort.{fmt}", f"events.{fmt}", f"custody.{fmt}", f"areas.{fmt}",
         "severity_weights.toml", "spec.toml"])
    areas = pbr.AreaHierarchy.from_frame(io.read_table(paths["areas"]),
                                         levels=["area", "pcc_area", "package_area", "region"])
    assert set(areas.units("area")) >= set(synth_data.cohort["area"].unique().to_list())
    spec = io.read_spec(paths["spec"])
    assert spec == io.synth_spec(synth_data)
    assert dict(spec.severity_weights or ()) == synth_data.severity_weights
    assert spec.serious_codes == tuple(sorted(synth_data.serious_codes))
    from_files = pbr.measure(io.read_cohort(paths["cohort"]), io.read_events(paths["events"]),
                             spec, custody=io.read_custody(paths["custody"]))
    from_frames = pbr.measure(synth_data.cohort, synth_data.events, spec,
                              custody=synth_data.custody)
    cats = [c for c, t in from_frames.frame.schema.items() if isinstance(t, pl.Categorical)]
    assert from_files.frame.equals(from_frames.frame.with_columns(pl.col(cats).cast(pl.String)))
    assert from_files.summary().equals(from_frames.summary())
    again = io.write_synth(synth_data, tmp_path / "e", format=fmt)
    for name, path in paths.items():
        assert path.read_bytes() == again[name].read_bytes(), name


def test_write_synth_rejects_unknown_format(synth_data, tmp_path):
    with pytest.raises(SchemaError, match="parquet"):
        io.write_synth(synth_data, tmp_path, format="xlsx")  # type: ignore[arg-type]


def test_public_names():
    assert sorted(io.__all__) == io.__all__
    for name in io.__all__:
        assert getattr(io, name).__doc__ or name.isupper()
