"""Audit: every statement gets a manifest, and ``verify`` recomputes it.

Layer 3 (it reads and writes files).  :func:`pay_files` reads the contract, cohort and
events files, runs :func:`pbr.contract.run_contract`; :func:`pay_outcomes` pays a
contract from published per-cohort outcomes (a CSV file or :class:`~pbr.Outcome`
objects).  Both write the statement (CSV, JSON, Excel) and a :class:`Manifest`
(``manifest.json``) all or nothing (:func:`pbr.io._atomic.atomic_files`): the files are
written beside the target and moved in only when every one is complete, so a failed run
leaves earlier outputs byte-identical.

The manifest holds the SHA-256 of each input file (hashed before it is read) and of
the contract text, the measure spec, the engine, the column roles and read options, the
seed, the environment (Python, pbr and the libraries that compute, the platform), the
statement's notes (warnings kept in the record), the total and the SHA-256 of each
output.  :func:`verify` re-hashes every input first; only when all match does it
recompute the statement into a temporary directory and compare.  Same inputs give
byte-identical outputs, so a clean verification means the statement is reproduced
exactly.  The manifest format and the exit codes are documented in
docs/methodology/payments.md ("Audit: manifests, verification and exit codes").
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import tempfile
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pbr._version import __version__
from pbr.contract.ledger import PaymentLedger
from pbr.contract.outcome import Outcome
from pbr.contract.pay import pay
from pbr.contract.run import ContractRun, run_contract
from pbr.contract.spec import Contract
from pbr.contract.statement import PaymentStatement
from pbr.errors import AuditError, ContractError, PbrError, PbrWarning, SchemaError
from pbr.io._atomic import atomic_files
from pbr.io.contracts import read_contract, sha256_file
from pbr.io.results import read_outcomes, write_outcomes
from pbr.io.tables import read_cohort, read_custody, read_events
from pbr.report.statement import write_statement_csv, write_statement_json, write_statement_xlsx

__all__ = ["ENVIRONMENT_PACKAGES", "MANIFEST_FORMAT", "MANIFEST_NAME", "MANIFEST_VERSION",
           "ROLES", "Manifest", "VerificationResult", "environment", "pay_files",
           "pay_outcomes", "read_manifest", "verify"]

MANIFEST_NAME = "manifest.json"
#: the ``format`` key of every manifest pbr writes (a foreign JSON file is refused)
MANIFEST_FORMAT = "pbr-manifest"
#: 1: pbr 0.1.0 before issue 15 (no format, environment, notes, kind); 2: this layout
MANIFEST_VERSION = 2
OUTPUTS = (("statement_csv", "statement.csv"), ("statement_json", "statement.json"),
           ("statement_xlsx", "statement.xlsx"))
#: the libraries whose versions a manifest records (besides Python, pbr and the platform)
ENVIRONMENT_PACKAGES = ("numpy", "polars", "numba", "scipy", "statsmodels", "pyarrow",
                        "xlsxwriter")
_KINDS = ("run", "outcomes")
_REQUIRED = ("pbr_version", "engine", "contract_sha256", "contract", "spec", "inputs",
             "outputs", "total", "currency")
_HEX64 = re.compile(r"[0-9a-f]{64}")


def environment() -> tuple[tuple[str, str], ...]:
    """The versions a manifest records: Python, pbr, the computing libraries, platform.

    Examples
    --------
    >>> dict(environment())["pbr"] == __version__
    True
    >>> [k for k, _ in environment()][:3]
    ['python', 'pbr', 'numpy']
    """
    out = [("python", f"{platform.python_implementation()} {platform.python_version()}"),
           ("pbr", __version__)]
    for name in ENVIRONMENT_PACKAGES:
        try:
            out.append((name, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            out.append((name, "not installed"))
    out.append(("platform", platform.platform()))
    return tuple(out)


def _bad(source: str, what: str) -> AuditError:
    return AuditError(f"{source} is not a pbr manifest: {what}. A manifest is the "
                      f"{MANIFEST_NAME} that `pbr pay` (or pbr.audit.pay_files / "
                      "pay_outcomes) writes beside the statement; run it again to write "
                      "a new one")


def _pairs(source: str, key: str, value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise _bad(source, f"{key!r} must be an object, got {type(value).__name__}")
    return tuple(sorted((k, v if isinstance(v, str) else json.dumps(v))
                        for k, v in value.items()))


def _files(source: str, key: str, value: Any, name: str) -> tuple[tuple[str, str, str], ...]:
    if not isinstance(value, list):
        raise _bad(source, f"{key!r} must be a list, got {type(value).__name__}")
    out = []
    for i, item in enumerate(value):
        if not (isinstance(item, dict) and all(isinstance(item.get(k), str)
                                               for k in (name, "path", "sha256"))):
            raise _bad(source, f"{key}[{i}] must have text fields {name!r}, 'path' and "
                       f"'sha256', got {item!r}"[:300])
        if not _HEX64.fullmatch(item["sha256"]):
            raise _bad(source, f"{key}[{i}].sha256 is not a SHA-256 (64 hex digits): "
                       f"{item['sha256']!r}")
        out.append((item[name], item["path"], item["sha256"]))
    return tuple(out)


@dataclass(frozen=True)
class Manifest:
    """What went into a statement and what came out, with SHA-256 hashes.

    Paths are relative to the manifest's directory where possible, so a directory of
    inputs and outputs can be moved and verified elsewhere (or the inputs found with
    ``verify(..., inputs=DIR)``).

    Attributes
    ----------
    pbr_version, engine, seed
        The pbr that wrote it, the measure engine, the seed that generated the inputs.
    contract_sha256, contract, spec
        The contract's TOML text and its hash; the measure spec's TOML.
    inputs
        ``(role, path, sha256)`` of every input file: ``contract``, ``cohort``,
        ``events``, ``custody`` (measured runs) or ``outcomes`` (paid from published
        outcomes), and ``paid`` (the ledger of payments already made, if any).
        Matching weights and risk scores are columns of the cohort file and baselines
        are fields of the contract, so these hashes cover them.
    outputs
        ``(name, path, sha256)`` of ``statement.csv``, ``statement.json``,
        ``statement.xlsx``.
    fingerprints
        Hashes the measure recorded (spec, cohort and events frames).
    total, currency
        The balance due, as exact text.
    roles, options
        Column roles (``offender_id -> pnc_id``) and read options (JSON text) used to
        read the tables, replayed by :func:`verify`.
    kind
        ``"run"`` (measured from cohort and events) or ``"outcomes"``.
    as_of
        The data extract date given to :func:`~pbr.contract.run_contract` (ISO text).
    environment
        ``(name, version)`` of Python, pbr, :data:`ENVIRONMENT_PACKAGES` and the platform.
    notes
        The statement's notes (every warning kept in the record).
    manifest_version
        1 for manifests written before the format was versioned, else 2.

    Examples
    --------
    Run the demo contract on 300 synthetic offenders; :func:`pay_files` writes the
    statement and ``manifest.json``, which reads back to the same manifest.

    >>> import tempfile
    >>> from pathlib import Path
    >>> import pbr
    >>> from pbr.audit import MANIFEST_NAME, Manifest, pay_files
    >>> from pbr.contract.spec import demo_contract_text
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     d = Path(tmp)
    ...     files = pbr.io.write_synth(pbr.synth.generate(300, seed=1), d)
    ...     _ = (d / "contract.toml").write_text(demo_contract_text(), encoding="utf-8")
    ...     runs, manifest = pay_files(d / "contract.toml", files["cohort"],
    ...                                files["events"], d / "out", seed=1)
    ...     text = (d / "out" / MANIFEST_NAME).read_text(encoding="utf-8")
    >>> [(role, path) for role, path, sha256 in manifest.inputs]  # doctest: +NORMALIZE_WHITESPACE
    [('contract', '../contract.toml'), ('cohort', '../cohort.parquet'),
     ('events', '../events.parquet')]
    >>> [path for name, path, sha256 in manifest.outputs]
    ['statement.csv', 'statement.json', 'statement.xlsx']
    >>> manifest.seed, manifest.currency, manifest.total == str(runs.statement.total)
    (1, 'GBP', True)
    >>> Manifest.from_json(text) == manifest
    True
    """

    pbr_version: str
    engine: str
    seed: int | None
    contract_sha256: str
    contract: str
    spec: str
    inputs: tuple[tuple[str, str, str], ...]
    outputs: tuple[tuple[str, str, str], ...]
    fingerprints: tuple[tuple[str, str], ...]
    total: str
    currency: str
    roles: tuple[tuple[str, str], ...] = ()
    kind: str = "run"
    environment: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()
    options: tuple[tuple[str, str], ...] = ()
    manifest_version: int = MANIFEST_VERSION
    as_of: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (keys sorted when written)."""
        return {
            "format": MANIFEST_FORMAT, "manifest_version": self.manifest_version,
            "kind": self.kind,
            "pbr_version": self.pbr_version, "engine": self.engine, "seed": self.seed,
            "contract_sha256": self.contract_sha256, "contract": self.contract,
            "spec": self.spec,
            "inputs": [{"role": r, "path": p, "sha256": h} for r, p, h in self.inputs],
            "outputs": [{"name": n, "path": p, "sha256": h} for n, p, h in self.outputs],
            "fingerprints": dict(self.fingerprints), "total": self.total,
            "currency": self.currency, "roles": dict(self.roles),
            "options": {k: json.loads(v) for k, v in self.options},
            "environment": dict(self.environment), "notes": list(self.notes),
            "as_of": self.as_of,
        }

    def to_json(self) -> str:
        """Indented, key-sorted JSON: the same manifest always gives the same bytes."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, *, source: str = "manifest") -> Manifest:
        """Read a manifest; anything else (truncated, empty, foreign JSON, a newer
        format) raises :class:`~pbr.errors.AuditError` saying what is wrong.

        Manifests written by pbr before the format was versioned (no ``format`` key)
        are read; their environment and notes are empty.

        Examples
        --------
        >>> Manifest.from_json('{"total": "1.00"')
        Traceback (most recent call last):
        ...
        pbr.errors.AuditError: manifest is not a pbr manifest: it is not complete JSON (...
        """
        if not text.strip():
            raise _bad(source, "the file is empty")
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            body = text.strip()
            truncated = body[:1] in ('{', '[') and body[-1:] not in ('}', ']')
            raise _bad(source, f"it is not complete JSON ({exc.msg} at line {exc.lineno}, "
                       f"column {exc.colno}{'; the file looks truncated' if truncated else ''}"
                       ")") from None
        if not isinstance(d, dict):
            raise _bad(source, f"it holds a JSON {type(d).__name__}, not an object")
        fmt = d.get("format", MANIFEST_FORMAT if "pbr_version" in d else None)
        if fmt != MANIFEST_FORMAT:
            raise _bad(source, f"its format is {fmt!r}, not {MANIFEST_FORMAT!r} (it looks "
                       "like another program's JSON)" if fmt else
                       f"no 'format': {MANIFEST_FORMAT!r} or 'pbr_version' key (it looks "
                       "like another program's JSON)")
        version = d.get("manifest_version", 1)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise _bad(source, f"'manifest_version' must be a whole number, got {version!r}")
        if version > MANIFEST_VERSION:
            raise AuditError(f"{source} has manifest version {version}, written by a newer "
                             f"pbr ({d.get('pbr_version')!r}); this pbr {__version__} reads "
                             f"versions 1 to {MANIFEST_VERSION}: verify it with that pbr")
        missing = [k for k in _REQUIRED if k not in d]
        if missing:
            raise _bad(source, f"missing key(s) {', '.join(missing)}")
        for k in ("pbr_version", "engine", "contract_sha256", "contract", "spec", "total",
                  "currency"):
            if not isinstance(d[k], str):
                raise _bad(source, f"{k!r} must be text, got {d[k]!r}"[:300])
        seed = d.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise _bad(source, f"'seed' must be a whole number or null, got {seed!r}")
        kind = d.get("kind", "run")
        if kind not in _KINDS:
            raise _bad(source, f"'kind' must be one of {', '.join(_KINDS)}, got {kind!r}")
        notes = d.get("notes", [])
        if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
            raise _bad(source, "'notes' must be a list of text")
        as_of = d.get("as_of")
        if as_of is not None and not isinstance(as_of, str):
            raise _bad(source, f"'as_of' must be an ISO date or null, got {as_of!r}")
        return cls(d["pbr_version"], d["engine"], seed, d["contract_sha256"],
                   d["contract"], d["spec"], _files(source, "inputs", d["inputs"], "role"),
                   _files(source, "outputs", d["outputs"], "name"),
                   _pairs(source, "fingerprints", d.get("fingerprints", {})), d["total"],
                   d["currency"], _pairs(source, "roles", d.get("roles", {})), kind,
                   _pairs(source, "environment", d.get("environment", {})), tuple(notes),
                   tuple(sorted((k, json.dumps(v)) for k, v in
                                _options(source, d.get("options", {})).items())),
                   version, as_of)

    def __str__(self) -> str:
        lines = [f"Manifest (pbr {self.pbr_version}, engine {self.engine}, seed {self.seed})",
                 f"  contract sha256 {self.contract_sha256}"]
        lines += [f"  input  {r:<9} {h[:16]}  {p}" for r, p, h in self.inputs]
        lines += [f"  output {n:<9} {h[:16]}  {p}" for n, p, h in self.outputs]
        lines.append(f"  total  {self.currency} {self.total}")
        lines += [f"  note   {n}" for n in self.notes]
        return "\n".join(lines)


def _options(source: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(source, f"'options' must be an object, got {type(value).__name__}")
    return value


def read_manifest(path: str | Path) -> tuple[Path, Manifest]:
    """Read ``manifest.json`` (or the one in a directory): its path and the manifest.

    Raises
    ------
    AuditError
        No such file, not UTF-8 text, or not a pbr manifest (see
        :meth:`Manifest.from_json`).
    """
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST_NAME
    if not path.is_file():
        raise AuditError(f"manifest {str(path)!r} does not exist; give the {MANIFEST_NAME} "
                         "written by `pbr pay`, or its directory")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad(repr(str(path)), f"it is not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise AuditError(f"cannot read manifest {str(path)!r}: {exc.strerror}") from None
    return path, Manifest.from_json(text, source=repr(str(path)))


@dataclass(frozen=True)
class VerificationResult:
    """The outcome of :func:`verify`: every difference found, what was checked, notes.

    ``differences`` fail the verification (exit code 1 of ``pbr verify``); ``notes``
    do not: a library version other than the recorded one (the recomputed outputs show
    whether it changed anything), or why the statement was not recomputed.

    Examples
    --------
    It is true only when nothing differs, and prints the differences first:

    >>> from pbr.audit import VerificationResult
    >>> r = VerificationResult("out/manifest.json",
    ...                        ("input cohort ../cohort.csv", "pbr version 0.1.0"),
    ...                        ("total: recorded GBP 100.00, recomputed 90.00",),
    ...                        ("numpy: recorded 2.1.0, now 2.2.0",))
    >>> r.ok, bool(r)
    (False, False)
    >>> print(r)
    verification of out/manifest.json FAILED: 1 difference(s)
      differs: total: recorded GBP 100.00, recomputed 90.00
      note:    numpy: recorded 2.1.0, now 2.2.0
      same:    input cohort ../cohort.csv
      same:    pbr version 0.1.0
    """

    manifest: str
    checked: tuple[str, ...]
    differences: tuple[str, ...]
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.differences

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        head = (f"verified {self.manifest}: identical ({len(self.checked)} items checked)"
                if self.ok else f"verification of {self.manifest} FAILED: "
                f"{len(self.differences)} difference(s)")
        return "\n".join([head, *(f"  differs: {d}" for d in self.differences),
                          *(f"  note:    {n}" for n in self.notes),
                          *(f"  same:    {c}" for c in self.checked)])


def _rel(path: Path, base: Path) -> str:
    try:
        return Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()
    except ValueError:  # pragma: no cover (another drive on Windows)
        return path.resolve().as_posix()


#: column roles of each input file (the file's own column names map onto them)
ROLES = {"cohort": ("offender_id", "index_date"),
         "events": ("offender_id", "offence_date", "disposal_date", "disposal_type",
                    "offence_code", "offence_category", "court_event_id"),
         "custody": ("offender_id", "start_date", "end_date")}


def _roles(roles: Mapping[str, str], table: str) -> dict[str, Any]:
    return {k: v for k, v in roles.items() if k in ROLES[table]}


def _check_roles(roles: Mapping[str, str]) -> None:
    known = sorted({r for v in ROLES.values() for r in v})
    unknown = sorted(set(roles) - set(known))
    if unknown:
        raise SchemaError(f"roles: unknown role(s) {', '.join(unknown)}; known: "
                          f"{', '.join(known)}")


def _hashes(files: Mapping[str, Path]) -> dict[str, str]:
    """Every input's SHA-256, taken before any of them is read."""
    out = {}
    for role, p in files.items():
        if not p.is_file():
            raise SchemaError(f"{role} file {str(p)!r} does not exist (or is not a file); "
                              f"check the path given as {role} (--{role} on the command "
                              "line)")
        out[role] = sha256_file(p)
    return out


def _prior(files: Mapping[str, Path]) -> PaymentLedger | None:
    return PaymentLedger.from_csv(files["paid"]) if "paid" in files else None


#: what ``paid=`` takes: a ledger CSV file, or the objects ``pay(prior=...)`` takes
Paid = str | Path | PaymentLedger | PaymentStatement | Iterable[PaymentStatement] | None


def _paid(paid: Paid, out: Path, files: dict[str, Path], digests: dict[str, str],
          copies: dict[str, Any]) -> PaymentLedger | None:
    """The ledger of payments already made, recorded as the input ``paid``: a file is
    hashed before it is read; objects are written to ``out/paid.csv`` (a copy)."""
    if paid is None:
        return None
    if isinstance(paid, str | Path):
        files["paid"] = Path(paid)
        digests.update(_hashes({"paid": files["paid"]}))
        return _prior(files)
    ledger = paid if isinstance(paid, PaymentLedger) else PaymentLedger.from_statements(paid)
    data = ledger.to_frame().write_csv(line_terminator="\n").encode("utf-8")
    files["paid"] = out / "paid.csv"
    digests["paid"] = hashlib.sha256(data).hexdigest()
    copies["paid.csv"] = lambda p: p.write_bytes(data)
    return ledger


def _run(files: Mapping[str, Path], engine: str, roles: Mapping[str, str],
         options: Mapping[str, Any], as_of: str | None, prior: PaymentLedger | None
         ) -> tuple[Contract, ContractRun]:
    c = read_contract(files["contract"])
    custody = files.get("custody")
    runs = run_contract(
        c, read_cohort(files["cohort"], **_roles(roles, "cohort"), **options),
        read_events(files["events"], **_roles(roles, "events"), **options),
        custody=None if custody is None else read_custody(
            custody, **_roles(roles, "custody"), **options),
        engine=engine, as_of=as_of, prior=prior)
    return c, runs


def _paid_from_outcomes(contract: Contract, outcomes: Iterable[Outcome],
                        outcomes_sha256: str, prior: PaymentLedger | None
                        ) -> PaymentStatement:
    text = contract.to_toml()
    provenance = {"pbr_version": __version__, "contract": text,
                  "contract_sha256": hashlib.sha256(text.encode()).hexdigest(),
                  "outcomes_sha256": outcomes_sha256}
    return pay(contract, outcomes, provenance=provenance, prior=prior)


def _iso(as_of: Any) -> str | None:
    """``as_of`` as ISO text, for the manifest (checked again by run_contract)."""
    if as_of is None:
        return None
    if isinstance(as_of, _dt.date):
        return as_of.isoformat()
    if isinstance(as_of, str):
        try:
            return _dt.date.fromisoformat(as_of.strip()).isoformat()
        except ValueError:
            pass
    raise ContractError(f"as_of: the data extract date as YYYY-MM-DD (as_of=\"2021-06-30\", "
                        f"pbr pay --as-of 2021-06-30), got {as_of!r}")


def _sheet(statement: PaymentStatement, engine: str) -> dict[str, Any]:
    """The workbook's Manifest sheet: versions and hashes (no environment, so the
    workbook's bytes do not depend on the machine)."""
    prov = statement.provenance
    return {"pbr_version": prov.get("pbr_version", __version__), "engine": engine,
            "contract_sha256": prov.get("contract_sha256", ""),
            "spec_sha256": prov.get("spec_sha256", ""),
            **{k: v for k, v in prov.items() if k.endswith("_sha256")}}


def _render(statement: PaymentStatement, contract: Contract, engine: str,
            paths: Iterable[Path]) -> tuple[Path, ...]:
    csv, js, xlsx = paths
    write_statement_csv(statement, csv)
    write_statement_json(statement, js)
    write_statement_xlsx(statement, xlsx, contract=contract,
                         manifest=_sheet(statement, engine))
    return csv, js, xlsx


def _options_text(options: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    out = []
    for k, v in sorted(options.items()):
        if not isinstance(v, str | int | float | bool | type(None)):
            raise SchemaError(f"read option {k}={v!r}: must be text, a number, true/false "
                              "or None, so that the manifest can record it")
        out.append((k, json.dumps(v)))
    return tuple(out)


def _publish(out: Path, statement: PaymentStatement, contract: Contract, engine: str,
             make: Any, copies: Mapping[str, Any] | None = None) -> Manifest:
    """Write the statement files and the manifest all or nothing (``copies``: extra
    input files to write into ``out`` first, name -> writer(path))."""
    copies = dict(copies or {})
    targets = [out / name for _, name in OUTPUTS] + [out / MANIFEST_NAME]
    targets += [out / name for name in copies]
    with atomic_files(*targets) as tmp:
        for name, t in zip(copies, tmp[4:], strict=True):
            copies[name](t)
        written = _render(statement, contract, engine, tmp[:3])
        outputs = tuple((n, name, sha256_file(t))
                        for (n, name), t in zip(OUTPUTS, written, strict=True))
        manifest: Manifest = make(outputs)
        tmp[3].write_text(manifest.to_json(), encoding="utf-8")
    return manifest


def _notes(*groups: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n for g in groups for n in g))


def pay_files(contract: str | Path, cohort: str | Path, events: str | Path,
              out: str | Path, *, custody: str | Path | None = None, engine: str = "numba",
              seed: int | None = None, roles: Mapping[str, str] | None = None,
              read_options: Mapping[str, Any] | None = None,
              as_of: _dt.date | str | None = None, paid: Paid = None
              ) -> tuple[ContractRun, Manifest]:
    """Run a contract on files, write the statement and ``manifest.json`` into ``out``.

    Every input's SHA-256 is taken before it is read.  The statement (CSV, JSON, Excel)
    and the manifest are written all or nothing: if anything fails, no file in ``out``
    is written or changed.

    Parameters
    ----------
    contract, cohort, events, custody
        The contract TOML and the input tables (CSV, Parquet or Excel).
    out
        Output directory: ``statement.csv``, ``statement.json``, ``statement.xlsx`` and
        ``manifest.json``.
    engine
        Measure engine.
    seed
        The seed that generated the inputs, if any (recorded, not used).
    roles
        The files' column names for pbr's roles (``{"offender_id": "pnc_id", ...}``; see
        :data:`ROLES`), recorded so that :func:`verify` reads the files the same way.
    read_options
        Further keyword arguments of :func:`pbr.io.read_cohort`, ``read_events`` and
        ``read_custody`` (text, numbers, booleans), recorded and replayed the same way.
    as_of
        The date the data were extracted (:func:`~pbr.contract.run_contract`: windows
        still open on that date are refused, or paid provisionally where the contract
        allows); recorded.
    paid
        Payments already made under the contract, so that caps, floors and payments on
        account hold across runs: a ledger CSV
        (:meth:`~pbr.contract.ledger.PaymentLedger.from_csv`: ``cohort, year,
        component, amount, kind``), or a :class:`~pbr.contract.ledger.PaymentLedger` or
        earlier statements (written to ``out/paid.csv``); recorded as the input
        ``paid`` with its hash.

    Returns
    -------
    (ContractRun, Manifest)

    Raises
    ------
    SchemaError
        An input file does not exist, or a role is unknown (and whatever reading the
        files or running the contract raises).
    """
    out = Path(out)
    files = {"contract": Path(contract), "cohort": Path(cohort), "events": Path(events)}
    if custody is not None:
        files["custody"] = Path(custody)
    roles = dict(roles or {})
    _check_roles(roles)
    options = dict(read_options or {})
    options_text = _options_text(options)
    when = _iso(as_of)
    digests = _hashes(files)
    copies: dict[str, Any] = {}
    prior = _paid(paid, out, files, digests, copies)
    c, runs = _run(files, engine, roles, options, when, prior)
    prov = runs.statement.provenance

    def make(outputs: tuple[tuple[str, str, str], ...]) -> Manifest:
        return Manifest(
            pbr_version=__version__, engine=engine, seed=seed,
            contract_sha256=str(prov["contract_sha256"]), contract=str(prov["contract"]),
            spec=str(prov["spec"]),
            inputs=tuple((r, _rel(p, out), digests[r]) for r, p in files.items()),
            outputs=outputs,
            fingerprints=tuple(sorted((k, str(v)) for k, v in prov.items()
                                      if k.endswith("_sha256") and k != "contract_sha256")),
            total=str(runs.statement.total), currency=runs.statement.currency,
            roles=tuple(sorted(roles.items())), kind="run",
            environment=tuple(sorted(environment())),
            notes=_notes(runs.result.notes, runs.statement.notes), options=options_text,
            as_of=when)

    return runs, _publish(out, runs.statement, c, engine, make, copies)


def pay_outcomes(contract: Contract | str | Path,
                 outcomes: Iterable[Outcome] | str | Path, out: str | Path, *,
                 seed: int | None = None, paid: Paid = None
                 ) -> tuple[PaymentStatement, Manifest]:
    """Pay a contract from published outcomes; write the statement and its manifest.

    Parameters
    ----------
    contract
        A :class:`~pbr.contract.Contract`, or its TOML file.
    outcomes
        :class:`~pbr.Outcome` objects, or a CSV file of them
        (:func:`pbr.io.results.read_outcomes`: ``cohort``, ``measure``, ``actual``,
        ``comparator``, ``n``, ...).
    out
        Output directory, as for :func:`pay_files`.  A contract or outcomes given as
        objects are written there too (``contract.toml``, ``outcomes.csv``) and recorded
        as the inputs (and earlier payments given as objects, ``paid.csv``), so that
        :func:`verify` can recompute the statement.
    seed
        Recorded, not used.
    paid
        Payments already made (a ledger CSV, a ledger or earlier statements), as for
        :func:`pay_files`.

    Returns
    -------
    (PaymentStatement, Manifest)

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from pbr.audit import pay_outcomes, verify
    >>> from pbr.contract import Contract, Outcome
    >>> from pbr.contract.spec import demo_contract_text
    >>> c = Contract.from_toml(demo_contract_text())
    >>> o = [Outcome(q, m, actual=a, comparator=b, n=100, base_n=k)
    ...      for q in ("2019Q1", "2019Q2", "2019Q3", "2019Q4")
    ...      for m, a, b, k in (("binary_rate", 24, 28, 100), ("per_reoffender", 3, 3.45, 24))]
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     statement, manifest = pay_outcomes(c, o, Path(tmp) / "out")
    ...     ok = verify(Path(tmp) / "out").ok
    >>> [role for role, _, _ in manifest.inputs], ok
    (['contract', 'outcomes'], True)
    """
    out = Path(out)
    copies: dict[str, Any] = {}
    if isinstance(contract, Contract):
        c = contract
        text = c.to_toml()
        copies["contract.toml"] = lambda p: p.write_text(text, encoding="utf-8")
        files = {"contract": out / "contract.toml"}
        digests = {"contract": hashlib.sha256(text.encode()).hexdigest()}
    else:
        files = {"contract": Path(contract)}
        digests = _hashes(files)
        c = read_contract(files["contract"])
    if isinstance(outcomes, str | Path):
        files["outcomes"] = Path(outcomes)
        digests.update(_hashes({"outcomes": files["outcomes"]}))
        given = read_outcomes(files["outcomes"])
    else:
        given = tuple(outcomes)
        bad = [o for o in given if not isinstance(o, Outcome)]
        if bad:
            raise SchemaError(f"outcomes: expected pbr.Outcome objects (or a CSV file), got "
                              f"{type(bad[0]).__name__}")
        with tempfile.TemporaryDirectory() as tmp:
            digests["outcomes"] = sha256_file(write_outcomes(given, Path(tmp) / "o.csv"))
        copies["outcomes.csv"] = lambda p: write_outcomes(given, p)
        files["outcomes"] = out / "outcomes.csv"
    prior = _paid(paid, out, files, digests, copies)
    statement = _paid_from_outcomes(c, given, digests["outcomes"], prior)
    prov = statement.provenance

    def make(outputs: tuple[tuple[str, str, str], ...]) -> Manifest:
        return Manifest(
            pbr_version=__version__, engine="none", seed=seed,
            contract_sha256=str(prov["contract_sha256"]), contract=str(prov["contract"]),
            spec=c.measure_spec.to_toml(),
            inputs=tuple((r, _rel(p, out), digests[r]) for r, p in files.items()),
            outputs=outputs, fingerprints=(("outcomes_sha256", digests["outcomes"]),),
            total=str(statement.total), currency=statement.currency, kind="outcomes",
            environment=tuple(sorted(environment())), notes=_notes(statement.notes))

    return statement, _publish(out, statement, c, "none", make, copies)


def _find(base: Path, rel: str, inputs: Path | None) -> tuple[Path, list[Path]]:
    looked = [] if inputs is None else [inputs / Path(rel).name]
    looked.append(base / rel)
    for p in looked:
        if p.is_file():
            return p, looked
    return looked[-1], looked


def _environment(m: Manifest, checked: list[str], diffs: list[str], notes: list[str]) -> None:
    if m.pbr_version != __version__:
        diffs.append(f"pbr version: recorded {m.pbr_version}, now {__version__}")
    else:
        checked.append(f"pbr version {__version__}")
    if not m.environment:
        notes.append("the manifest records no environment (written before pbr recorded "
                      "library versions); only the pbr version was compared")
        return
    now = dict(environment())
    same = []
    for name, recorded in m.environment:
        if name == "pbr":
            continue
        if now.get(name, "not recorded now") == recorded:
            same.append(name)
        else:
            notes.append(f"environment {name}: recorded {recorded}, now "
                         f"{now.get(name, 'not recorded')} (not a difference by itself: "
                         "the recomputed outputs show whether it changed the statement)")
    if same:
        checked.append(f"environment: same {', '.join(same)}")


def verify(manifest: str | Path, *, inputs: str | Path | None = None) -> VerificationResult:
    """Recompute a manifest from the same inputs and report every difference.

    Checks, in order: each input file's SHA-256 (before anything is read); the pbr
    version (a difference) and the other recorded versions (notes only); that the
    recorded outputs on disk are unchanged; then, only if every input matches its
    hash, recomputes the statement into a temporary directory and compares the
    contract, the total, the notes and each output's SHA-256.  An input that is missing
    or changed is reported as a difference and the statement is not recomputed (a
    statement recomputed from other inputs would prove nothing).

    Parameters
    ----------
    manifest
        ``manifest.json`` or its directory.
    inputs
        A directory to look for the input files in, by their recorded file names, when
        they have moved (tried before the recorded relative path).

    Raises
    ------
    AuditError
        The manifest is missing, truncated, empty or not a pbr manifest.

    Examples
    --------
    Pay the demo contract on 300 synthetic offenders, verify the statement, then edit
    one output file by hand and verify again (``pbr demo`` and ``pbr verify`` do the same
    from the command line):

    >>> import tempfile
    >>> from pathlib import Path
    >>> import pbr
    >>> from pbr.audit import pay_files, verify
    >>> from pbr.contract.spec import demo_contract_text
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     d = Path(tmp)
    ...     files = pbr.io.write_synth(pbr.synth.generate(300, seed=1), d)
    ...     _ = (d / "contract.toml").write_text(demo_contract_text(), encoding="utf-8")
    ...     _ = pay_files(d / "contract.toml", files["cohort"], files["events"], d / "out")
    ...     clean = verify(d / "out")
    ...     _ = (d / "out" / "statement.csv").write_text("edited by hand")
    ...     edited = verify(d / "out" / "manifest.json")
    >>> clean.ok, clean.differences, clean.notes, len(clean.checked)
    (True, (), (), 11)
    >>> print(edited)  # doctest: +ELLIPSIS
    verification of ...manifest.json FAILED: 1 difference(s)
      differs: output statement_csv statement.csv: the file on disk was changed after the run
      same:    input contract ../contract.toml
    ...
    """
    path, m = read_manifest(manifest)
    base = path.parent
    where = None if inputs is None else Path(inputs)
    if where is not None and not where.is_dir():
        raise AuditError(f"inputs directory {str(where)!r} does not exist; give the "
                         "directory that holds the moved input files")
    checked: list[str] = []
    diffs: list[str] = []
    notes: list[str] = []
    files: dict[str, Path] = {}
    for role, rel, digest in m.inputs:
        p, looked = _find(base, rel, where)
        files[role] = p
        shown = rel if p == base / rel else f"{rel} (found at {p})"
        if not p.is_file():
            diffs.append(f"input {role} {rel}: file missing (looked at "
                         f"{', '.join(str(x) for x in looked)}); if it moved, give its "
                         "directory: inputs=DIR (`pbr verify --inputs DIR`)")
            continue
        now = sha256_file(p)
        (checked.append(f"input {role} {shown}") if now == digest else
         diffs.append(f"input {role} {shown}: sha256 recorded {digest[:16]}..., now "
                      f"{now[:16]}... (the file changed since the run)"))
    inputs_ok = not diffs
    _environment(m, checked, diffs, notes)
    recorded = {name: (base / rel, digest) for name, rel, digest in m.outputs}
    for name, (on_disk, digest) in recorded.items():
        rel = dict((n, r) for n, r, _ in m.outputs)[name]
        if not on_disk.is_file():
            diffs.append(f"output {name} {rel}: file missing")
        elif sha256_file(on_disk) != digest:
            diffs.append(f"output {name} {rel}: the file on disk was changed after the run")
    if not inputs_ok:
        notes.append("statement not recomputed: an input is missing or differs from the "
                      "one recorded")
        return VerificationResult(str(path), tuple(checked), tuple(diffs), tuple(notes))
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", PbrWarning)
        try:
            if m.kind == "outcomes":
                c = read_contract(files["contract"])
                statement = _paid_from_outcomes(c, read_outcomes(files["outcomes"]),
                                                sha256_file(files["outcomes"]),
                                                _prior(files))
                now_notes = _notes(statement.notes)
            else:
                c, runs = _run(files, m.engine, dict(m.roles),
                               {k: json.loads(v) for k, v in m.options}, m.as_of,
                               _prior(files))
                statement = runs.statement
                now_notes = _notes(runs.result.notes, runs.statement.notes)
            written = dict(zip((n for n, _ in OUTPUTS), _render(
                statement, c, m.engine, [Path(tmp) / name for _, name in OUTPUTS]),
                strict=True))
        except PbrError as exc:
            diffs.append(f"recomputation failed: {exc}")
            return VerificationResult(str(path), tuple(checked), tuple(diffs), tuple(notes))
        if statement.provenance["contract_sha256"] != m.contract_sha256:
            diffs.append("contract: the file no longer reads to the recorded contract")
        else:
            checked.append("contract text")
        total = str(statement.total)
        (checked.append(f"total {m.currency} {total}") if total == m.total else
         diffs.append(f"total: recorded {m.currency} {m.total}, recomputed {total}"))
        if m.manifest_version >= 2:
            if now_notes == m.notes:
                checked.append(f"notes ({len(m.notes)})")
            else:
                gone = [n for n in m.notes if n not in now_notes]
                new = [n for n in now_notes if n not in m.notes]
                diffs.append(f"notes: recorded {len(m.notes)}, recomputed {len(now_notes)}"
                             + (f"; no longer: {gone[0]!r}" if gone else "")
                             + (f"; new: {new[0]!r}" if new else ""))
        for name, _rel_path, digest in m.outputs:
            if name not in written:
                diffs.append(f"output {name}: not an output this pbr writes")
                continue
            now = sha256_file(written[name])
            (checked.append(f"output {name} recomputed") if now == digest else
             diffs.append(f"output {name}: recomputed sha256 {now[:16]}... differs from "
                          f"the recorded {digest[:16]}..."))
    return VerificationResult(str(path), tuple(checked), tuple(diffs), tuple(notes))
