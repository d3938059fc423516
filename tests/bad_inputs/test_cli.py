"""Bad inputs on the command line: reading files and the shared options.

Each row is one plausible mistake made with ``pbr measure``, ``compare``, ``pay``,
``cohort``, ``pseudonymise`` or ``power`` (a missing or empty file, a directory, an
unsupported suffix, a wrong separator or encoding, dates in another format, a column
under another name, ids read as numbers in one file and text in the other, a bad
``--by``, ``--as-of``, ``--preset`` or ``--spec``, an output that cannot be written).
Each must exit with code 2 and one line naming the flag or column and the fix, without
a traceback, and leave every output as it was: absent when it did not exist, byte-
identical when it did.  A last group checks that the readings these options make
possible give the right answer (a header-only events file measures 0%).
"""

from __future__ import annotations

import re
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import pbr
from pbr import io
from pbr.cli import app
from pbr.contract.spec import demo_contract_text
from pbr.errors import SchemaError

PREVIOUS = b"previous output\n"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 synthetic offenders as CSV (cohort, events, custody, spec.toml), a contract."""
    d = tmp_path_factory.mktemp("cli_inputs")
    io.write_synth(pbr.synth.generate(200, seed=1), d, format="csv")
    io.write_table(pl.read_csv(d / "events.csv"), d / "events.parquet")
    (d / "contract.toml").write_text(demo_contract_text(), encoding="utf-8")
    return d


@dataclass
class Env:
    """The inputs (read-only copies in ``base``) and a private folder for this case."""

    base: Path
    tmp: Path

    @property
    def cohort(self) -> Path:
        return self.base / "cohort.csv"

    @property
    def events(self) -> Path:
        return self.base / "events.csv"

    def write(self, name: str, text: str | bytes) -> Path:
        path = self.tmp / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    def edited(self, source: Path, name: str, edit: Callable[[str], str]) -> Path:
        return self.write(name, edit(source.read_text(encoding="utf-8")))

    def measure(self, *extra: object, cohort: Path | None = None,
                events: Path | None = None) -> list[object]:
        return ["measure", "--cohort", cohort or self.cohort, "--events",
                events or self.events, "--out", self.tmp / "out.csv",
                "--summary-out", self.tmp / "summary.json", *extra]


def _dmy(text: str) -> str:
    """ISO dates rewritten as DD/MM/YYYY."""
    return re.sub(r"(\d{4})-(\d{2})-(\d{2})", r"\3/\2/\1", text)


def _padded_ids(text: str) -> str:
    """The cohort's ids with two leading zeros (the events keep theirs unpadded)."""
    lines = text.splitlines()
    return "\n".join([lines[0]] + ["00" + line for line in lines[1:]]) + "\n"


def _header_only(path: Path) -> str:
    return path.read_text(encoding="utf-8").splitlines()[0] + "\n"


# Each case: (id, args(env) -> CLI arguments, regexes the error line must match)
CASES: list[tuple[str, Callable[[Env], list[object]], tuple[str, ...]]] = [
    # ---- files that are not there, not files, not tables
    ("missing_cohort_file", lambda e: e.measure(cohort=e.tmp / "nope.csv"),
     (r"nope\.csv", "does not exist")),
    ("directory_as_events", lambda e: e.measure(events=_mkdir(e.tmp / "events.csv")),
     (r"events\.csv", "is a directory, not a file")),
    ("unsupported_extension", lambda e: e.measure(events=e.write("events.txt", "a\n")),
     (r"unknown file type '\.txt'", r"supported: \.csv")),
    ("empty_events_file", lambda e: e.measure(events=e.write("events.csv", "")),
     ("the file is empty", "header line")),
    ("ragged_csv_rows", lambda e: e.measure(events=e.write(
        "events.csv", _header_only(e.events) + "1,2,3,4,5,6,7,8,9,10\n")),
     ("more fields than the header", "--separator")),
    ("parquet_file_named_csv", lambda e: e.measure(events=e.write(
        "events.csv", (e.base / "events.parquet").read_bytes())),
     (r"events\.csv' as CSV: it is a Parquet file", r"\.parquet")),
    ("workbook_that_is_not_one", lambda e: e.measure(cohort=e.write("cohort.xlsx", "x")),
     (r"cannot read .*cohort\.xlsx' as excel",)),
    # ---- separator and encoding
    ("semicolon_file_read_with_commas", lambda e: e.measure(cohort=e.edited(
        e.cohort, "cohort.csv", lambda t: t.replace(",", ";"))),
     (r"one column 'offender_id;index_date;", r"did you mean --separator ';'\?")),
    ("comma_file_read_with_tab", lambda e: e.measure("--separator", "tab"),
     (r"one column 'offender_id,index_date,", r"did you mean --separator ','\?")),
    ("separator_of_two_characters", lambda e: e.measure("--separator", ";;"),
     (r"--separator ';;'", "one character"),),
    ("unknown_encoding", lambda e: e.measure("--encoding", "klingon"),
     (r"--encoding 'klingon' is not a known text encoding", r"--encoding 'latin-1'")),
    ("latin1_file_read_as_utf8", lambda e: e.measure(cohort=e.write(
        "cohort.csv", "offender_id,index_date,name\n1,2019-01-01,Jos\xe9\n".encode("latin-1"))),
     (r"not utf-8 text \(byte 0xe9 on line 2\)", r"--encoding 'latin-1'")),
    # ---- dates
    ("dates_day_first_without_format", lambda e: e.measure(cohort=e.edited(
        e.cohort, "cohort.csv", _dmy)),
     (r"cohort row 0 \(line 2, offender_id=\d+\)", r"column 'index_date'",
      r"is not a date in YYYY-MM-DD form", r"--date-format '%d/%m/%Y'")),
    ("date_format_month_first_on_day_first_data", lambda e: e.measure(
        "--date-format", "%m/%d/%Y", cohort=e.edited(e.cohort, "cohort.csv", _dmy),
        events=e.edited(e.events, "events.csv", _dmy)),
     (r"does not match --date-format '%m/%d/%Y'", r"--date-format '%d/%m/%Y' reads them")),
    ("date_format_not_a_date_format", lambda e: e.measure("--date-format", "%Q"),
     (r"--date-format '%Q' is not a strftime format",)),
    ("compact_dates_read_as_numbers", lambda e: e.measure(cohort=e.edited(
        e.cohort, "cohort.csv", lambda t: re.sub(r"(\d{4})-(\d{2})-(\d{2})", r"\1\2\3", t))),
     (r"'20\d{6}' is not a date in YYYY-MM-DD form", r"--date-format '%Y%m%d'")),
    ("impossible_calendar_date", lambda e: e.measure(cohort=e.write(
        "cohort.csv", "offender_id,index_date\n1,2019-02-30\n")),
     (r"'2019-02-30' is not a calendar date", "--on-invalid exclude")),
    # ---- columns
    ("events_id_column_named_otherwise", lambda e: e.measure(events=e.edited(
        e.events, "events.csv", lambda t: t.replace("offender_id", "pnc_id", 1))),
     (r"the events file .* has no column 'offender_id'", r"columns: pnc_id,",
      "pass --offender-id COLUMN")),
    ("mapped_column_not_in_file", lambda e: e.measure("--offence-date", "off_dt"),
     (r"has no column 'off_dt' \(role offence_date\)", "pass --offence-date COLUMN")),
    ("two_roles_one_column", lambda e: e.measure("--offence-date", "disposal_date"),
     (r"offence_date and disposal_date both name the column 'disposal_date'",
      "pass each role its own column")),
    ("mapped_id_beside_a_column_named_offender_id", lambda e: e.measure(
        "--offender-id", "provider"),
     (r"has a column 'offender_id', but --offender-id 'provider' names column 'provider'",
      r"pass --offender-id 'offender_id'")),
    ("empty_column_name", lambda e: e.measure("--index-date", ""),
     (r"an empty column name for index_date", "pass --index-date COLUMN")),
    ("ids_padded_in_cohort_only", lambda e: e.measure(cohort=e.edited(
        e.cohort, "cohort.csv", _padded_ids)),
     (r"offender_id is text .* in the cohort but an integer", "--id-as-string")),
    ("ids_with_fractions", lambda e: e.measure(cohort=e.write(
        "cohort.csv", "offender_id,index_date\n12.5,2019-01-01\n")),
     (r"column 'offender_id' \(role offender_id\) holds numbers with fractions, e\.g\. "
      r"\[12\.5\]", "--id-as-string")),
    ("invalid_event_row", lambda e: e.measure(events=e.write(
        "events.csv", _header_only(e.events) + "1,2019-05-01,,conviction,HO1,violence,1\n")),
     (r"disposal_date is missing", "--on-invalid exclude")),
    ("vocabulary_of_another_system", lambda e: e.measure(events=e.edited(
        e.events, "events.csv",
        lambda t: t.replace(",conviction,", ",fine,").replace(",caution,", ",fine,"))),
     ("match none of the events' disposal_type", r"--disposal-type-map 'fine=conviction'")),
    ("disposal_type_map_without_equals", lambda e: e.measure(
        "--disposal-type-map", "fine"), (r"VALUE=TYPE", "--disposal-type-map")),
    # ---- options naming things that do not exist
    ("by_column_missing", lambda e: e.measure("--by", "region"),
     (r"--by region: the cohort has no column 'region'", r"columns: offender_id")),
    ("as_of_not_a_date", lambda e: e.measure("--as-of", "2020-13-01"),
     (r"--as-of 2020-13-01: not a date", "YYYY-MM-DD")),
    ("unknown_preset", lambda e: e.measure("--preset", "moj_2017"),
     (r"--preset moj_2017: no such preset", "moj_national_2017")),
    ("spec_with_unknown_key", lambda e: e.measure("--spec", e.write(
        "spec.toml", '[measure]\nfollow_upp = "12 months"\n')),
     (r"unknown field\(s\) follow_upp", "follow_up")),
    ("spec_file_empty", lambda e: e.measure("--spec", e.write("spec.toml", "\n")),
     (r"--spec .*spec\.toml: the file is empty, which would mean every default",)),
    ("spec_file_missing", lambda e: e.measure("--spec", e.tmp / "nope.toml"),
     (r"nope\.toml", "does not exist")),
    ("interim_without_as_of", lambda e: e.measure("--interim"),
     (r"--interim needs --as-of",)),
    # ---- outputs
    ("out_unsupported_suffix", lambda e: [
        *e.measure()[:-4], "--out", e.tmp / "out.txt"],
     (r"--out .*out\.txt: unknown file type '\.txt'",)),
    ("summary_out_unsupported_suffix", lambda e: [
        *e.measure()[:-2], "--summary-out", e.tmp / "summary.xlsx"],
     (r"--summary-out .*summary\.xlsx: unknown file type", r"\.csv, \.json")),
    ("out_is_a_directory", lambda e: [
        *e.measure()[:-4], "--out", _mkdir(e.tmp / "m.csv")],
     (r"--out .*m\.csv: is a directory",)),
    ("out_is_the_cohort_input", lambda e: [
        "measure", "--cohort", e.edited(e.cohort, "out.csv", str), "--events", e.events,
        "--out", e.tmp / "out.csv"],
     (r"--out .*out\.csv is the --cohort input", "another file name")),
    ("out_and_summary_same_file", lambda e: [
        *e.measure()[:-4], "--out", e.tmp / "out.csv", "--summary-out", e.tmp / "out.csv"],
     ("same file",)),
    ("summary_folder_is_a_file", lambda e: [
        *e.measure()[:-2], "--summary-out", e.write("taken", "x") / "summary.json"],
     (r"taken.*not a directory",)),
    # ---- the other commands
    ("compare_id_column_named_otherwise", lambda e: [
        "compare", "--cohort", e.cohort, "--events", e.events, "--baseline", "0.3",
        "--offender-id", "pnc", "--out", e.tmp / "out.csv"],
     (r"the cohort file .* has no column 'pnc'", "pass --offender-id COLUMN")),
    ("compare_by_column_missing", lambda e: [
        "compare", "--cohort", e.cohort, "--events", e.events, "--baseline", "0.3",
        "--by", "region", "--out", e.tmp / "out.csv"],
     (r"--by region: the cohort has no column 'region'",)),
    ("compare_weights_column_missing", lambda e: [
        "compare", "--cohort", e.cohort, "--events", e.events, "--treated", "treated",
        "--weights", "w", "--out", e.tmp / "out.csv"],
     (r"--weights w: the cohort has no column 'w'",)),
    ("compare_adjusted_column_of_text", lambda e: [
        "compare", "--cohort", e.cohort, "--events", e.events, "--adjusted", "provider",
        "--out", e.tmp / "out.csv"],
     (r"--adjusted provider: the column holds \['P\d', 'P\d'\], not numbers",)),
    ("compare_wrong_separator", lambda e: [
        "compare", "--cohort", e.cohort, "--events", e.events, "--baseline", "0.3",
        "--separator", ";", "--out", e.tmp / "out.csv"],
     (r"one column 'offender_id,index_date,", r"did you mean --separator ','\?")),
    ("pay_events_column_named_otherwise", lambda e: [
        "pay", e.base / "contract.toml", "--cohort", e.cohort, "--events", e.edited(
            e.events, "events.csv", lambda t: t.replace("offence_date", "off", 1)),
        "--out", e.tmp / "statement"],
     (r"the events file .* has no column 'offence_date'", "pass --offence-date COLUMN")),
    ("pay_dates_day_first", lambda e: [
        "pay", e.base / "contract.toml", "--cohort", e.edited(e.cohort, "cohort.csv", _dmy),
        "--events", e.events, "--out", e.tmp / "statement"],
     (r"--date-format '%d/%m/%Y'",)),
    ("pay_header_only_events_without_as_of", lambda e: [
        "pay", e.base / "contract.toml", "--cohort", e.cohort, "--events",
        e.write("events.csv", _header_only(e.events)), "--out", e.tmp / "statement"],
     (r"the events hold no disposal date", r"--as-of")),
    ("cohort_disposals_missing", lambda e: [
        "cohort", "--disposals", e.tmp / "disposals.parquet", "--out", e.tmp / "out.csv"],
     (r"disposals\.parquet", "does not exist")),
    ("cohort_start_not_a_date", lambda e: [
        "cohort", "--disposals", e.events, "--start", "01/01/2018", "--out",
        e.tmp / "out.csv"], (r"--start 01/01/2018: not a date", "YYYY-MM-DD")),
    ("cohort_required_role_given_as_role", lambda e: [
        "cohort", "--disposals", e.events, "--role", "offender_id=pnc", "--out",
        e.tmp / "out.csv"], (r"--offender-id pnc",)),
    ("cohort_optional_role_column_missing", lambda e: [
        "cohort", "--disposals", e.events, "--role", "release_date=discharged", "--out",
        e.tmp / "out.csv"],
     (r"the disposals file .* has no column 'discharged' \(role release_date\)",
      r"pass --role release_date=COLUMN")),
    ("cohort_rule_file_not_text", lambda e: [
        "cohort", "--disposals", e.events, "--rule", e.write("rule.toml", bytes(range(256))),
        "--out", e.tmp / "out.csv"], (r"--rule .*rule\.toml: not a TOML text file",)),
    ("cohort_ledger_out_unsupported", lambda e: [
        "cohort", "--disposals", e.events, "--out", e.tmp / "out.csv", "--ledger-out",
        e.tmp / "ledger.json"], (r"--ledger-out .*unknown file type '\.json'",)),
    ("pseudonymise_id_column_missing", lambda e: [
        "pseudonymise", e.cohort, "--key-file", e.write("key", "k" * 32), "--out-dir",
        e.tmp / "out", "--column", "pnc"],
     (r"no column 'pnc'", "--column")),
    ("compare_treated_not_a_flag", lambda e: [
        "compare", "--cohort", e.cohort, "--events", e.events, "--treated", "sex",
        "--out", e.tmp / "out.csv"],
     (r"--treated sex: the column holds \['M', 'F'\]|--treated sex: the column holds "
      r"\['F', 'M'\]", "true/false")),
    ("synth_out_is_a_file", lambda e: [
        "synth", "--n", "10", "--out", e.write("out.csv", "taken")],
     (r"--out .*out\.csv: is a file; give a directory",)),
    ("synth_negative_seed", lambda e: ["synth", "--n", "10", "--seed", "-1", "--out",
                                       e.tmp / "synth"], (r"--seed", "greater than or equal to 0")),
    ("power_volumes_without_n", lambda e: [
        "power", "--volumes", e.cohort, "--out", e.tmp / "out.csv"],
     (r"--volumes .*cohort\.csv: no column\(s\) 'n'", "columns area and n")),
    ("power_out_unsupported", lambda e: [
        "power", "--volume", "North=400", "--out", e.tmp / "out.txt"],
     (r"--out .*out\.txt: unknown file type",)),
]


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _outputs(tmp: Path) -> list[Path]:
    return [tmp / "out.csv", tmp / "summary.json", tmp / "ledger.json", tmp / "out.txt"]


@pytest.mark.parametrize("fresh", [True, False], ids=["no_output_before", "outputs_before"])
@pytest.mark.parametrize(("case", "args", "patterns"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_exits_2_naming_the_fix(base: Path, tmp_path: Path, case: str,
                                          args: Callable[[Env], list[object]],
                                          patterns: tuple[str, ...], fresh: bool) -> None:
    env = Env(base, tmp_path)
    argv = [str(a) for a in args(env)]
    if not fresh:  # earlier outputs must come through byte-identical
        for path in _outputs(tmp_path):
            if not path.exists():
                path.write_bytes(PREVIOUS)
        (tmp_path / "statement").mkdir(exist_ok=True)
        (tmp_path / "statement" / "statement.csv").write_bytes(PREVIOUS)
    made = {p for p in tmp_path.rglob("*")}
    before = {p: p.read_bytes() for p in made if p.is_file()}  # inputs and outputs
    res = CliRunner().invoke(app, argv)
    assert res.exit_code == 2, (res.exit_code, res.output, res.exception)
    assert "Traceback" not in res.output
    message = " ".join(re.sub("[│╭╮╰╯─]", " ", res.stderr).split())  # Typer's usage box
    for pattern in patterns:
        assert re.search(pattern, message), (pattern, res.stderr)
    for path, content in before.items():
        assert path.read_bytes() == content, f"{path} changed"
    new = {p for p in tmp_path.rglob("*")} - made
    assert not new, f"files written by a failed run: {sorted(map(str, new))}"


# --------------------------------------------------------------------------- right answers
def _ok(argv: list[object]) -> str:
    res = CliRunner().invoke(app, [str(a) for a in argv])
    assert res.exit_code == 0, (res.output, res.exception)
    return res.stdout


def test_header_only_events_measure_zero(base: Path, tmp_path: Path) -> None:
    """Nobody reoffended: a header-only events file is valid (CLI and API)."""
    env = Env(base, tmp_path)
    empty = env.write("events.csv", _header_only(env.events))
    _ok(env.measure(events=empty))
    summary = pl.read_csv(tmp_path / "out.csv")
    assert summary.height == 200 and summary["reoffended"].sum() == 0
    _ok(["pay", base / "contract.toml", "--cohort", env.cohort, "--events", empty,
         "--as-of", "2023-12-31", "--out", tmp_path / "statement"])
    assert (tmp_path / "statement" / "manifest.json").is_file()
    padded = env.edited(env.cohort, "cohort.csv", _padded_ids)
    for cohort in (env.cohort, padded):  # integer ids, text ids
        for engine in ("numba", "polars"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", pbr.PbrWarning)
                res = pbr.measure(io.read_cohort(cohort), io.read_events(empty),
                                  engine=engine)
            assert res.summary()["n"][0] == 200
            assert res.summary()["binary_rate"][0] == 0.0


def test_reading_options_give_the_same_measures(base: Path, tmp_path: Path) -> None:
    """Semicolons, latin-1, day-first dates and renamed columns read as the plain files."""
    env = Env(base, tmp_path)
    _ok(env.measure())
    plain = (tmp_path / "out.csv").read_bytes()

    def odd(text: str) -> bytes:
        return _dmy(text.replace(",", ";")).replace("offender_id", "pnc").encode("latin-1")

    cohort = env.write("c.csv", odd(env.cohort.read_text()))
    events = env.write("e.csv", odd(env.events.read_text()))
    (tmp_path / "out.csv").unlink()
    _ok(env.measure("--separator", ";", "--encoding", "latin-1", "--date-format",
                    "%d/%m/%Y", "--offender-id", "pnc", cohort=cohort, events=events))
    again = pl.read_csv(tmp_path / "out.csv")
    if "pnc" in again.columns:
        again = again.rename({"pnc": "offender_id"})
    assert again.equals(pl.read_csv(plain))


def test_id_as_string_keeps_leading_zeros_in_both_files(base: Path, tmp_path: Path) -> None:
    env = Env(base, tmp_path)
    cohort = env.write("c.csv", "offender_id,index_date\n00123,2019-01-01\n123,2019-01-01\n")
    events = env.write("e.csv", _header_only(env.events)
                       + "00123,2019-03-01,2019-04-01,conviction,HO00801,violence,1\n")
    _ok(env.measure("--id-as-string", cohort=cohort, events=events))
    out = pl.read_csv(tmp_path / "out.csv", schema_overrides={"offender_id": pl.String})
    assert dict(zip(out["offender_id"], out["reoffences"], strict=True)) == {
        "00123": 1, "123": 0}


def test_out_and_summary_replaced_together(base: Path, tmp_path: Path) -> None:
    env = Env(base, tmp_path)
    for name in ("out.csv", "summary.json"):
        (tmp_path / name).write_bytes(PREVIOUS)
    _ok(env.measure())
    assert (tmp_path / "out.csv").read_bytes() != PREVIOUS
    assert (tmp_path / "summary.json").read_bytes() != PREVIOUS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "summary.json"]


def test_corpus_size() -> None:
    assert len(CASES) >= 20


def test_pay_separator_applies_to_every_file(base: Path, tmp_path: Path) -> None:
    env = Env(base, tmp_path)
    cohort = env.write("c.csv", env.cohort.read_text().replace(",", ";"))
    shutil.copy(env.events, tmp_path / "e.csv")
    res = CliRunner().invoke(app, ["pay", str(base / "contract.toml"), "--cohort",
                                   str(cohort), "--events", str(tmp_path / "e.csv"),
                                   "--out", str(tmp_path / "st"), "--separator", ";"])
    # the events file is comma-separated: --separator applies to every input file
    assert res.exit_code == 2 and "did you mean --separator ','" in " ".join(
        res.stderr.split())
    assert not (tmp_path / "st").exists()


def test_pay_reading_options_are_replayed_by_verify(base: Path, tmp_path: Path) -> None:
    env = Env(base, tmp_path)
    for name, source in (("c.csv", env.cohort), ("e.csv", env.events)):
        env.write(name, _dmy(source.read_text()).replace(",", ";"))
    _ok(["pay", base / "contract.toml", "--cohort", tmp_path / "c.csv", "--events",
         tmp_path / "e.csv", "--out", tmp_path / "st", "--separator", ";", "--date-format",
         "%d/%m/%Y"])
    assert "identical" in _ok(["verify", tmp_path / "st"]).lower()


# --------------------------------------------------------------------------- the API
# The same mistakes through pbr.io: SchemaError, the fix in Python's terms.
API_CASES: list[tuple[str, Callable[[Env], object], str]] = [
    ("api_wrong_separator", lambda e: io.read_cohort(e.edited(
        e.cohort, "c.csv", lambda t: t.replace(",", ";"))), r"did you mean separator=';'\?"),
    ("api_separator_of_two_characters", lambda e: io.read_events(e.events, separator=";;"),
     r"separator=';;': give one character"),
    ("api_unknown_encoding", lambda e: io.read_events(e.events, encoding="klingon"),
     r"encoding='klingon' is not a known text encoding"),
    ("api_latin1_as_utf8", lambda e: io.read_table(e.write(
        "c.csv", "a,b\n1,Jos\xe9\n".encode("latin-1"))),
     r"not utf-8 text \(byte 0xe9 on line 2\).*encoding='latin-1'"),
    ("api_day_first_dates", lambda e: io.read_cohort(e.edited(e.cohort, "c.csv", _dmy)),
     r"cohort row 0 .*'index_date'.*date_format='%d/%m/%Y'"),
    ("api_date_format_not_a_format", lambda e: io.read_cohort(e.cohort, date_format="%Y"),
     r"date_format='%Y' is not a strftime format that reads a whole date"),
    ("api_missing_role_column", lambda e: io.read_events(e.events, offence_date="off"),
     r"the events file .* has no column 'off' \(role offence_date\).*"
     r"pass offence_date='<your column>'"),
    ("api_empty_file", lambda e: io.read_table(e.write("c.csv", "")), "the file is empty"),
    ("api_unknown_disposals_role", lambda e: io.read_disposals(e.events, release="r"),
     r"unknown role\(s\) release"),
    ("api_on_invalid_typo", lambda e: io.read_cohort(e.cohort, on_invalid="skip"),
     r"on_invalid must be 'raise' or 'exclude', got 'skip'"),
]


@pytest.mark.parametrize(("case", "call", "pattern"), API_CASES, ids=[c[0] for c in API_CASES])
def test_api_bad_input_raises_naming_the_argument(base: Path, tmp_path: Path, case: str,
                                                  call: Callable[[Env], object],
                                                  pattern: str) -> None:
    with pytest.raises(SchemaError, match=pattern):
        call(Env(base, tmp_path))


def test_api_csv_codes_and_compact_dates_stay_as_written(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("offender_id,offence_date,disposal_date,disposal_type,offence_code\n"
                    "1,20200101,20200201,conviction,1.10\n")
    events = io.read_events(path, date_format="%Y%m%d")
    assert events.frame["offence_code"].cast(pl.String).to_list() == ["1.10"]
    assert str(events.frame["disposal_date"][0]) == "2020-02-01"


def test_api_ids_exported_as_decimals_join_the_integers(tmp_path: Path) -> None:
    cohort = tmp_path / "c.csv"
    cohort.write_text("offender_id,index_date\n123,2019-01-01\n45,2019-01-01\n")
    events = tmp_path / "e.csv"
    events.write_text("offender_id,offence_date,disposal_date,disposal_type,offence_code\n"
                      "123.0,2019-03-01,2019-04-01,conviction,A\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pbr.PbrWarning)
        res = pbr.measure(io.read_cohort(cohort), io.read_events(events))
    assert res.frame["reoffences"].to_list() == [1, 0]


def test_api_id_as_string_for_parquet_and_excel_numbers(tmp_path: Path) -> None:
    frame = pl.DataFrame({"offender_id": [123, 45], "index_date": ["2019-01-01"] * 2})
    for suffix in ("parquet", "xlsx"):
        path = io.write_table(frame, tmp_path / f"c.{suffix}")
        cohort = io.read_cohort(path, id_as_string=True)
        assert cohort.frame["offender_id"].to_list() == ["123", "45"]
