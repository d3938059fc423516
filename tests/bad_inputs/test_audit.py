"""Bad inputs to the audit trail and the statement outputs, through the API and the CLI.

Each row is one plausible mistake (a truncated or foreign manifest, a flipped byte in an
input, a bad outcomes file, a statement that cannot be written whole) with the error
class or exit code it must give, a regex on its message, no traceback, and no output
file written or changed (docs/methodology/payments.md, "Audit: manifests, verification
and exit codes").
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import pbr
from pbr import audit, io
from pbr.cli import app
from pbr.contract import Contract
from pbr.contract.spec import demo_contract_text
from pbr.errors import AuditError, ContractError, PbrError, SchemaError
from pbr.io.results import write_outcomes


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Inputs (200 synthetic offenders, the demo contract, their outcomes) and a
    statement folder ``prev`` written from them."""
    d = tmp_path_factory.mktemp("audit_inputs")
    io.write_synth(pbr.synth.generate(200, seed=1), d)
    (d / "contract.toml").write_text(demo_contract_text(), encoding="utf-8")
    runs, _ = audit.pay_files(d / "contract.toml", d / "cohort.parquet",
                              d / "events.parquet", d / "prev")
    write_outcomes(runs.outcomes, d / "outcomes.csv")
    return d


@pytest.fixture
def d(base: Path, tmp_path: Path) -> Path:
    """A private copy of the inputs and the earlier statement folder."""
    out = tmp_path / "w"
    shutil.copytree(base, out)
    return out


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def then(*effects_and_result: Any) -> Any:
    """The last argument; the others are side effects already done (setup steps)."""
    return effects_and_result[-1]


def write(path: Path, text: str | bytes) -> None:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")


def flip(path: Path, at: int = 100) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def edit_manifest(d: Path, change: Callable[[dict[str, Any]], Any]) -> None:
    path = d / "prev" / audit.MANIFEST_NAME
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def outcomes_text(d: Path, edit: Callable[[str], str]) -> Path:
    path = d / "bad.csv"
    path.write_text(edit((d / "outcomes.csv").read_text()), encoding="utf-8")
    return path


def long_name_contract(d: Path) -> Contract:
    text = demo_contract_text()
    start = text.index("name = ")
    end = text.index("\n", start)
    return Contract.from_toml(text[:start] + f'name = "{"x" * 40_000}"' + text[end:])


def pay_into_prev(d: Path, **files: Path) -> Any:
    paths = {"contract": d / "contract.toml", "cohort": d / "cohort.parquet",
             "events": d / "events.parquet", **files}
    return audit.pay_files(paths["contract"], paths["cohort"], paths["events"], d / "prev")


def mf(d: Path) -> Path:
    return d / "prev" / audit.MANIFEST_NAME


# --------------------------------------------------------------------------- API rows
# (id, setup(d) -> a call that must raise, error class, regex on the message)
API: list[tuple[str, Callable[[Path], Callable[[], Any]], type[PbrError], str]] = [
    ("manifest-empty",
     lambda d: then(write(mf(d), ""), lambda: audit.verify(d / "prev")),
     AuditError, r"manifest.json' is not a pbr manifest: the file is empty.*`pbr pay`"),
    ("manifest-truncated",
     lambda d: then(write(mf(d), (mf(d)).read_text()[:400]),
                    lambda: audit.verify(d / "prev")),
     AuditError, r"not complete JSON \(.* at line \d+, column \d+; the file looks truncated"),
    ("manifest-not-json",
     lambda d: then(write(mf(d), "total due: 100"), lambda: audit.verify(d / "prev")),
     AuditError, r"not a pbr manifest: it is not complete JSON \(Expecting value"),
    ("manifest-not-utf8",
     lambda d: then(write(mf(d), b"\xff\xfe\x00{"), lambda: audit.verify(d / "prev")),
     AuditError, r"not a pbr manifest: it is not UTF-8 text \(byte 0\)"),
    ("manifest-foreign-json",
     lambda d: then(write(mf(d), '{"name": "left-pad", "version": "1.3.0"}'),
                    lambda: audit.verify(d / "prev")),
     AuditError, r"no 'format': 'pbr-manifest' or 'pbr_version' key \(it looks like "
                 r"another program's JSON\)"),
    ("manifest-foreign-format",
     lambda d: then(edit_manifest(d, lambda m: m.update(format="sbom")),
                    lambda: audit.verify(d / "prev")),
     AuditError, r"its format is 'sbom', not 'pbr-manifest'"),
    ("manifest-json-list",
     lambda d: then(write(mf(d), "[1, 2]"), lambda: audit.verify(d / "prev")),
     AuditError, r"it holds a JSON list, not an object"),
    ("manifest-missing-keys",
     lambda d: then(edit_manifest(d, lambda m: (m.pop("outputs"), m.pop("total"))),
                    lambda: audit.verify(d / "prev")),
     AuditError, r"missing key\(s\) outputs, total"),
    ("manifest-newer-version",
     lambda d: then(edit_manifest(d, lambda m: m.update(manifest_version=99)),
                    lambda: audit.verify(d / "prev")),
     AuditError, r"manifest version 99, written by a newer pbr.*reads versions 1 to 3"),
    ("manifest-bad-hash",
     lambda d: then(edit_manifest(d, lambda m: m["inputs"][0].update(sha256="abc")),
                    lambda: audit.verify(d / "prev")),
     AuditError, r"inputs\[0\]\.sha256 is not a SHA-256 \(64 hex digits\): 'abc'"),
    ("manifest-input-role-missing",
     lambda d: then(edit_manifest(d, lambda m: m["inputs"].pop(1)),
                    lambda: audit.verify(d / "prev")),
     AuditError, r"its inputs \(contract, events\) must be contract, cohort, events \(and "
                 r"optionally custody, outcomes, paid, comparator, outcome_events, "
                 r"participants, cohort_source, events_source, custody_source, "
                 r"outcomes_source, paid_source, outcome_events_source, "
                 r"participants_source\), each once, for a 'run' manifest"),
    ("manifest-bad-kind",
     lambda d: then(edit_manifest(d, lambda m: m.update(kind="forecast")),
                    lambda: audit.verify(d / "prev")),
     AuditError, r"'kind' must be one of run, outcomes, claims, got 'forecast'"),
    ("manifest-missing-file",
     lambda d: (lambda: audit.verify(d / "nowhere" / "manifest.json")),
     AuditError, r"manifest '.*nowhere/manifest.json' does not exist; give the "
                 r"manifest.json written by `pbr pay`"),
    ("verify-inputs-dir-missing",
     lambda d: (lambda: audit.verify(d / "prev", inputs=d / "moved")),
     AuditError, r"inputs directory '.*moved' does not exist"),
    ("pay-missing-cohort",
     lambda d: (lambda: pay_into_prev(d, cohort=d / "cohrot.parquet")),
     SchemaError, r"cohort file '.*cohrot.parquet' does not exist .*--cohort on the command"),
    ("pay-bad-contract",
     lambda d: then(write(d / "contract.toml", demo_contract_text().replace(
         'mode = "half_up"', 'mode = "up"')), lambda: pay_into_prev(d)),
     ContractError, r"rounding.mode: must be 'half_up' or 'half_even'"),
    ("pay-unknown-role",
     lambda d: (lambda: audit.pay_files(d / "contract.toml", d / "cohort.parquet",
                                        d / "events.parquet", d / "prev",
                                        roles={"pnc": "pnc_id"})),
     SchemaError, r"roles: unknown role\(s\) pnc; known: court_event_id"),
    ("pay-read-option-not-recordable",
     lambda d: (lambda: audit.pay_files(d / "contract.toml", d / "cohort.parquet",
                                        d / "events.parquet", d / "prev",
                                        read_options={"separator": [","]})),
     SchemaError, r"read option separator=\[','\]: must be text, a number"),
    ("pay-read-option-unknown",
     lambda d: (lambda: audit.pay_files(d / "contract.toml", d / "cohort.parquet",
                                        d / "events.parquet", d / "prev",
                                        read_options={"delimiter": ";"})),
     SchemaError, r"read_options: unknown option\(s\) delimiter; known: .*separator"),
    ("output-would-overwrite-an-input",
     lambda d: then(shutil.copy(d / "outcomes.csv", d / "prev" / "statement.csv"),
                    lambda: audit.pay_outcomes(d / "contract.toml",
                                               d / "prev" / "statement.csv", d / "prev")),
     AuditError, r"the output '.*statement.csv' is the outcomes input: writing it would "
                 r"destroy the input; choose another output directory"),
    ("excel-cell-over-limit",
     lambda d: (lambda: audit.pay_outcomes(long_name_contract(d), d / "outcomes.csv",
                                           d / "prev")),
     AuditError, r"Excel statement: cell Summary!B1 would hold 40,000 characters, over "
                 r"Excel's limit of 32,767"),
    ("output-is-a-directory",
     lambda d: then((d / "prev" / "statement.csv").unlink(),
                    (d / "prev" / "statement.csv").mkdir(), lambda: pay_into_prev(d)),
     AuditError, r"cannot write '.*statement.csv': it is a directory"),
    ("output-under-a-file",
     lambda d: (lambda: audit.pay_outcomes(d / "contract.toml", d / "outcomes.csv",
                                           d / "contract.toml" / "out")),
     AuditError, r"'.*contract.toml' exists and is not a directory; choose another output"),
    ("outcomes-missing-column",
     lambda d: then(bad := outcomes_text(d, lambda t: "\n".join(
         ",".join(r.split(",")[:4]) for r in t.splitlines())),
                    lambda: audit.pay_outcomes(d / "contract.toml", bad, d / "prev")),
     SchemaError, r"bad.csv': missing column\(s\) 'n'; found cohort, measure, actual, "
                  r"comparator"),
    ("outcomes-unknown-column",
     lambda d: then(bad := outcomes_text(d, lambda t: t.replace("actual", "actaul", 1)),
                    lambda: audit.pay_outcomes(d / "contract.toml", bad, d / "prev")),
     SchemaError, r"unknown column\(s\) 'actaul'; the columns are cohort, measure, actual"),
    ("outcomes-percent-sign",
     lambda d: then(bad := outcomes_text(
         d, lambda t: t.replace(",binary_rate,", ",binary_rate,%", 1)),
                    lambda: audit.pay_outcomes(d / "contract.toml", bad, d / "prev")),
     SchemaError, r"bad.csv', row 1 \(line 2\): .*actual: expected a number, got '%"),
    ("outcomes-fractional-n",
     lambda d: then(write(d / "o.csv", "cohort,measure,actual,comparator,n\n"
                                 "2019Q1,binary_rate,24.4,28,41.5\n"),
                    lambda: audit.pay_outcomes(d / "contract.toml", d / "o.csv", d / "prev")),
     SchemaError, r"row 1 \(line 2\): column 'n' must be a whole number of people, got "
                  r"'41.5'"),
    ("outcomes-bad-date",
     lambda d: then(write(d / "o.csv", "cohort,measure,actual,comparator,n,start\n"
                                 "2019Q1,binary_rate,24.4,28,41,01/01/2019\n"),
                    lambda: audit.pay_outcomes(d / "contract.toml", d / "o.csv", d / "prev")),
     SchemaError, r"column 'start' must be an ISO date \(YYYY-MM-DD\), got '01/01/2019'"),
    ("outcomes-duplicate-row",
     lambda d: then(bad := outcomes_text(d, lambda t: t + t.splitlines()[1] + "\n"),
                    lambda: audit.pay_outcomes(d / "contract.toml", bad, d / "prev")),
     SchemaError, r"rows 1 and \d+ both give cohort '2019Q1', measure 'binary_rate'; keep one"),
    ("outcomes-header-only",
     lambda d: then(bad := outcomes_text(d, lambda t: t.splitlines()[0] + "\n"),
                    lambda: audit.pay_outcomes(d / "contract.toml", bad, d / "prev")),
     SchemaError, r"has a header but no rows"),
    ("outcomes-empty-file",
     lambda d: then(bad := outcomes_text(d, lambda t: ""),
                    lambda: audit.pay_outcomes(d / "contract.toml", bad, d / "prev")),
     SchemaError, r"bad.csv' is empty; it needs a header row"),
    ("outcomes-not-csv",
     lambda d: (lambda: audit.pay_outcomes(d / "contract.toml", d / "cohort.parquet",
                                           d / "prev")),
     SchemaError, r"expected a .csv file \(columns cohort, measure"),
    ("outcomes-empty-required",
     lambda d: then(write(d / "o.csv", "cohort,measure,actual,comparator,n\n"
                                 "2019Q1,binary_rate,,28,41\n"),
                    lambda: audit.pay_outcomes(d / "contract.toml", d / "o.csv", d / "prev")),
     SchemaError, r"row 1 \(line 2\): column 'actual' is empty"),
    ("outcomes-provisional-not-boolean",
     lambda d: then(write(d / "o.csv", "cohort,measure,actual,comparator,n,provisional\n"
                                       "2019Q1,binary_rate,24.4,28,41,yes\n"),
                    lambda: audit.pay_outcomes(d / "contract.toml", d / "o.csv", d / "prev")),
     SchemaError, r"column 'provisional' must be true or false, got 'yes'"),
    ("outcomes-counts-not-json",
     lambda d: then(write(d / "o.csv", "cohort,measure,actual,comparator,n,counts\n"
                                       "2019Q1,binary_rate,24.4,28,41,offenders=41\n"),
                    lambda: audit.pay_outcomes(d / "contract.toml", d / "o.csv", d / "prev")),
     SchemaError, r"column 'counts' must be a JSON object"),
    ("outcomes-negative-n",
     lambda d: then(write(d / "o.csv", "cohort,measure,actual,comparator,n\n"
                                       "2019Q1,binary_rate,24.4,28,-41\n"),
                    lambda: audit.pay_outcomes(d / "contract.toml", d / "o.csv", d / "prev")),
     SchemaError, r"column 'n' must be a whole number of people, got '-41'"),
    ("outcomes-cohort-label-not-in-contract",
     lambda d: then(bad := outcomes_text(d, lambda t: t.replace("2019Q1", "2019 Q1")),
                    lambda: audit.pay_outcomes(d / "contract.toml", bad, d / "prev")),
     ContractError, r"cohort label\(s\) \['2019 Q1'\] are not cohorts of the contract.*did "
                    r"you mean '2019Q1'"),
    ("outcomes-not-utf8",
     lambda d: then(write(d / "o.csv", "cohort,measure,actual,comparator,n\n"
                                       "2019Q1,binary_rate,24.4,28,41\n".encode("utf-16")),
                    lambda: audit.pay_outcomes(d / "contract.toml", d / "o.csv", d / "prev")),
     SchemaError, r"o.csv' is not UTF-8 text \(byte 0\); save it as UTF-8 CSV"),
    ("paid-ledger-missing",
     lambda d: (lambda: audit.pay_outcomes(d / "contract.toml", d / "outcomes.csv",
                                           d / "prev", paid=d / "ledgr.csv")),
     SchemaError, r"paid file '.*ledgr.csv' does not exist .*--paid on the command line"),
    ("paid-ledger-bad-column",
     lambda d: then(write(d / "ledger.csv", "cohort,year,component,amount\n"
                                            "2019Q1,2019,fee,100.00\n"),
                    lambda: audit.pay_outcomes(d / "contract.toml", d / "outcomes.csv",
                                               d / "prev", paid=d / "ledger.csv")),
     ContractError, r"ledger lacks column\(s\) \['kind'\]"),
    ("as-of-not-a-date",
     lambda d: (lambda: audit.pay_files(d / "contract.toml", d / "cohort.parquet",
                                        d / "events.parquet", d / "prev", as_of="Q2 2021")),
     ContractError, r"as_of: the data extract date as YYYY-MM-DD .*got 'Q2 2021'"),
    ("manifest-directory-without-manifest",
     lambda d: (lambda: audit.verify(d)),
     AuditError, r"manifest '.*/w/manifest.json' does not exist"),
    ("outcomes-not-outcome-objects",
     lambda d: (lambda: audit.pay_outcomes(d / "contract.toml", [{"cohort": "2019Q1"}],
                                           d / "prev")),
     SchemaError, r"outcomes: expected pbr.Outcome objects \(or a CSV file\), got dict"),
]


@pytest.mark.parametrize(("setup", "error", "match"), [r[1:] for r in API],
                         ids=[r[0] for r in API])
def test_api_bad_input(d: Path, setup: Callable[[Path], Callable[[], Any]],
                       error: type[PbrError], match: str) -> None:
    call = setup(d)
    before = snapshot(d)
    with pytest.raises(error, match=match):
        call()
    assert snapshot(d) == before  # no output written or changed, no temporary file left


# --------------------------------------------------------------------------- CLI rows
def cli(*args: str | Path) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


def pay_args(d: Path, *extra: str | Path) -> list[str | Path]:
    return ["-q", "pay", d / "contract.toml", "--out", d / "prev", *extra]


MEASURED = ("--cohort", "cohort.parquet", "--events", "events.parquet")

# (id, setup(d) -> argv, exit code, regex on stderr (or stdout for exit 1))
CLI: list[tuple[str, Callable[[Path], list[Any]], int, str]] = [
    ("cli-manifest-truncated",
     lambda d: then(write(mf(d), '{"format": "pbr-manifest", "inpu'),
                    ["verify", d / "prev"]),
     2, r"^error: '.*manifest.json' is not a pbr manifest: it is not complete JSON"),
    ("cli-manifest-foreign",
     lambda d: ["verify", d / "prev" / "statement.json"],
     2, r"statement.json' is not a pbr manifest: no 'format'"),
    ("cli-manifest-missing",
     lambda d: ["verify", d / "nope.json"], 2, r"nope.json' does not exist"),
    ("cli-flipped-byte-events",
     lambda d: then(flip(d / "events.parquet"), ["verify", d / "prev"]),
     1, r"differs: input events ../events.parquet: sha256 recorded [0-9a-f]{16}\.\.\., now "
        r"[0-9a-f]{16}\.\.\. \(the file changed since the run\)\n  note:    statement not "
        r"recomputed"),
    ("cli-flipped-byte-contract",
     lambda d: then(flip(d / "contract.toml", 10), ["verify", d / "prev"]),
     1, r"differs: input contract ../contract.toml: sha256 recorded"),
    ("cli-inputs-moved",
     lambda d: then((d / "cohort.parquet").rename(d / "elsewhere.parquet"),
                    ["verify", d / "prev"]),
     1, r"input cohort ../cohort.parquet: file missing \(looked at .*\); if it moved, give "
        r"its directory: inputs=DIR \(`pbr verify --inputs DIR`\)"),
    ("cli-pay-missing-events",
     lambda d: pay_args(d, "--cohort", d / "cohort.parquet", "--events", d / "ev.parquet"),
     2, r"^error: events file '.*ev.parquet' does not exist .*--events on the command line"),
    ("cli-pay-bad-contract",
     lambda d: then(write(d / "contract.toml", "[contract\nname="),
                    pay_args(d, "--outcomes", d / "outcomes.csv")),
     2, r"^error: cannot read contract|^error: .*contract.toml"),
    ("cli-pay-outcomes-and-cohort",
     lambda d: pay_args(d, "--outcomes", d / "outcomes.csv", "--cohort", d / "cohort.parquet"),
     2, r"Invalid value for --outcomes: give either --outcomes or --cohort and"),
    ("cli-pay-nothing-to-pay-from",
     lambda d: pay_args(d), 2, r"Invalid value for --cohort: give --cohort and --events"),
    ("cli-pay-outcomes-bad-value",
     lambda d: pay_args(d, "--outcomes", outcomes_text(
         d, lambda t: t.replace(",binary_rate,", ",binary_rate,n/a", 1))),
     2, r"^error: outcomes file '.*bad.csv', row 1 \(line 2\): .*actual: expected a number"),
    ("cli-pay-outcomes-unknown-measure",
     lambda d: pay_args(d, "--outcomes", outcomes_text(
         d, lambda t: t.replace("binary_rate", "binary", 1))),
     2, r"row 1 \(line 2\): measure: 'binary' is not one of binary_rate"),
    ("cli-pay-as-of-with-outcomes",
     lambda d: pay_args(d, "--outcomes", d / "outcomes.csv", "--as-of", "2022-08-31"),
     2, r"Invalid value for --as-of: --as-of is for measuring"),
    ("cli-pay-as-of-too-early",
     lambda d: pay_args(d, "--cohort", d / "cohort.parquet", "--events", d / "events.parquet",
                        "--as-of", "2019-03-01"),
     2, r"^error: as_of 2019-03-01: the follow-up windows .* have not closed"),
    ("cli-pay-paid-missing",
     lambda d: pay_args(d, "--outcomes", d / "outcomes.csv", "--paid", d / "nope.csv"),
     2, r"^error: paid file '.*nope.csv' does not exist"),
    ("cli-verify-inputs-elsewhere-wrong",
     lambda d: then((d / "events.parquet").rename(d / "ev.parquet"), (d / "other").mkdir(),
                    ["verify", d / "prev", "--inputs", d / "other"]),
     1, r"input events ../events.parquet: file missing \(looked at .*other/events.parquet, "),
    ("cli-pay-out-is-a-file",
     lambda d: ["-q", "pay", d / "contract.toml", "--outcomes", d / "outcomes.csv", "--out",
                d / "outcomes.csv" / "x"],
     2, r"outcomes.csv' exists and is not a directory"),
]


@pytest.mark.parametrize(("setup", "code", "match"), [r[1:] for r in CLI],
                         ids=[r[0] for r in CLI])
def test_cli_bad_input(d: Path, base: Path, setup: Callable[[Path], list[Any]], code: int,
                       match: str) -> None:
    args = setup(d)
    before = snapshot(d)
    res = cli(*args)
    text = res.stderr if code == 2 else res.stdout
    assert res.exit_code == code, (res.stdout, res.stderr, res.exception)
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert "Traceback" not in res.stdout + res.stderr
    assert re.search(match, text, re.M), text
    assert snapshot(d) == before  # nothing written or changed, no temporary file left
