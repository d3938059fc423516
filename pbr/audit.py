"""Audit: every statement gets a manifest, and ``verify`` recomputes it.

The manifest itself (fields, strict reading, :class:`VerificationResult`) lives in
:mod:`pbr.io.manifest`; its names are re-exported here.

Layer 3 (it reads and writes files).  :func:`pay_files` reads the contract, cohort and
events files, runs :func:`pbr.contract.run_contract`; :func:`pay_outcomes` pays a
contract from published per-cohort outcomes (a CSV file or :class:`~pbr.Outcome`
objects).  Both write the statement (CSV, JSON, Excel) and a :class:`Manifest`
(``manifest.json``) all or nothing (:func:`pbr.io._atomic.atomic_files`): the files are
written beside the target and moved in only when every one is complete, so a failed run
leaves earlier outputs byte-identical.

The manifest holds the SHA-256 of each input file (hashed before it is read) and of
the contract text, the measure spec, the comparator the run used (kind, form, SHA-256 of
its document and of a match's weights; a comparator given with the run is written to
``inputs/comparator.json`` and recorded as an input), the engine, the column roles and
read options, the seed, the environment (Python, pbr and the libraries that compute,
the platform), the statement's notes (warnings kept in the record), the total and the
SHA-256 of each output.  :func:`verify` re-hashes every input first; only when all match does it
recompute the statement into a temporary directory and compare.  Same inputs give
byte-identical outputs, so a clean verification means the statement is reproduced
exactly.  The manifest format and the exit codes are documented in
docs/methodology/payments.md ("Audit: manifests, verification and exit codes").
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import inspect
import json
import os
import tempfile
import warnings
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pbr._version import __version__
from pbr.contract.ledger import PaymentLedger
from pbr.contract.outcome import Outcome
from pbr.contract.pay import pay as pay_statement
from pbr.contract.record import comparator_document, read_comparator_document
from pbr.contract.run import ContractComparison, ContractRun, pay_step, run_contract
from pbr.contract.spec import Contract
from pbr.contract.statement import PaymentStatement
from pbr.errors import AuditError, ContractError, PbrError, PbrWarning, SchemaError
from pbr.io._atomic import atomic_files
from pbr.io.contracts import read_contract, sha256_file
from pbr.io.db import is_database_uri
from pbr.io.extracts import extracted_inputs
from pbr.io.manifest import (
    ENVIRONMENT_PACKAGES,
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    MANIFEST_VERSION,
    Manifest,
    VerificationResult,
    environment,
    read_manifest,
)
from pbr.io.results import read_ledger, read_outcomes, write_outcomes
from pbr.io.tables import read_cohort, read_custody, read_events
from pbr.outcomes import OutcomeAssessment, assess, read_outcome_events, read_participants
from pbr.report.statement import write_statement_csv, write_statement_json, write_statement_xlsx
from pbr.spec import parse_date

__all__ = ["ENVIRONMENT_PACKAGES", "INPUT_COPIES", "MANIFEST_FORMAT", "MANIFEST_NAME",
           "MANIFEST_VERSION", "ROLES", "Manifest", "VerificationResult", "environment",
           "pay", "pay_claims", "pay_files", "pay_outcomes", "read_manifest", "verify"]

OUTPUTS = (("statement_csv", "statement.csv"), ("statement_json", "statement.json"),
           ("statement_xlsx", "statement.xlsx"))


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
    return read_ledger(files["paid"]) if "paid" in files else None


#: what ``paid=`` takes: a ledger CSV file, or the objects ``pbr.contract.pay(prior=...)`` takes
Paid = str | Path | PaymentLedger | PaymentStatement | Iterable[PaymentStatement] | None


def _paid(paid: Paid, out: Path, files: dict[str, Path], digests: dict[str, str],
          copies: dict[str, Any]) -> PaymentLedger | None:
    """The ledger of payments already made, recorded as the input ``paid``: a file is
    hashed before it is read; objects are written to ``out/inputs/paid.csv`` (a copy)."""
    if paid is None:
        return None
    if isinstance(paid, str | Path):
        files["paid"] = Path(paid)
        digests.update(_hashes({"paid": files["paid"]}))
        return _prior(files)
    ledger = paid if isinstance(paid, PaymentLedger) else PaymentLedger.from_statements(paid)
    data = ledger.to_frame().write_csv(line_terminator="\n").encode("utf-8")
    files["paid"] = out / INPUT_COPIES / "paid.csv"
    digests["paid"] = hashlib.sha256(data).hexdigest()
    copies["paid.csv"] = lambda p: p.write_bytes(data)
    return ledger



#: audited inputs read as CSV files: a database input of these roles is extracted as CSV
_CSV_ROLES = ("outcome_events", "participants", "outcomes", "paid")


def _uris(**inputs: Any) -> bool:
    return any(is_database_uri(v) for v in inputs.values())


@contextmanager
def _extracted(out: Path, **inputs: Any) -> Iterator[tuple[dict[str, Any], dict[str, Path]]]:
    """Database inputs extracted into ``out/inputs`` (pbr.io.extracts) for an audited run:
    the inputs as files, and the records of the reads as the inputs ``ROLE_source``."""
    uris = [r for r, v in inputs.items() if is_database_uri(v)]
    plain = {r: v for r, v in inputs.items() if not is_database_uri(v)}
    with extracted_inputs(out, suffixes={r: ".csv" for r in _CSV_ROLES},
                          **{r: inputs[r] for r in uris}) as got:
        sources = {f"{r}_source": got[r].with_name(got[r].name + ".source.json")
                   for r in uris}
        yield {**plain, **got}, sources

def _readers() -> dict[str, Any]:
    return {"cohort": read_cohort, "events": read_events, "custody": read_custody}


def _accepts(reader: Any) -> set[str]:
    return {name for name, p in inspect.signature(reader).parameters.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY}


def _check_options(options: Mapping[str, Any]) -> None:
    """Every read option is a keyword of at least one reader, and not a column role."""
    roles = {r for v in ROLES.values() for r in v}
    known = sorted(set().union(*(_accepts(r) for r in _readers().values())) - roles)
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise SchemaError(f"read_options: unknown option(s) {', '.join(unknown)}; known: "
                          f"{', '.join(known)} (column names go in roles=)")


def _read(table: str, path: Path, roles: Mapping[str, str], options: Mapping[str, Any]
          ) -> Any:
    reader = _readers()[table]
    takes = _accepts(reader)
    return reader(path, **_roles(roles, table),
                  **{k: v for k, v in options.items() if k in takes})


def _comparator_file(path: Path) -> tuple[Any, Any]:
    """The objects of a comparator document file (``inputs/comparator.json``)."""
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemaError(f"comparator file {str(path)!r} cannot be read as UTF-8 text: "
                          f"{exc}") from None
    return read_comparator_document(text)


#: what ``comparator=`` takes: the objects run_contract takes, or a comparator document file
Given = Any


def _given(comparator: Given, model: Any, out: Path, files: dict[str, Path],
           digests: dict[str, str], copies: dict[str, Any]) -> tuple[Any, Any]:
    """A comparator given with the run, recorded as the input ``comparator``: a document
    file is hashed before it is read; objects are written to ``out/inputs/comparator.json``
    and the run uses them as read back from it (as :func:`verify` will)."""
    if comparator is None and model is None:
        return None, None
    if isinstance(comparator, str | Path):
        if model is not None:
            raise ContractError("model=: give the case-mix model inside the comparator file, "
                                "or give both as objects")
        files["comparator"] = Path(comparator)
        digests.update(_hashes({"comparator": files["comparator"]}))
        return _comparator_file(files["comparator"])
    _, text = comparator_document(comparator, model=model)
    files["comparator"] = out / INPUT_COPIES / "comparator.json"
    digests["comparator"] = hashlib.sha256(text.encode()).hexdigest()
    copies["comparator.json"] = lambda p: p.write_text(text, encoding="utf-8")
    return read_comparator_document(text)


def _run(files: Mapping[str, Path], engine: str, roles: Mapping[str, str],
         options: Mapping[str, Any], as_of: str | None, prior: PaymentLedger | None,
         given: tuple[Any, Any] | None = None) -> tuple[Contract, ContractRun]:
    _check_options(options)
    c = read_contract(files["contract"])
    custody = files.get("custody")
    if given is None:
        given = (_comparator_file(files["comparator"]) if "comparator" in files
                 else (None, None))
    people = files.get("participants")
    runs = run_contract(
        c, _read("cohort", files["cohort"], roles, options),
        _read("events", files["events"], roles, options),
        custody=None if custody is None else _read("custody", custody, roles, options),
        engine=engine, as_of=as_of, prior=prior, comparator=given[0], model=given[1],
        outcome_events=(read_outcome_events(files["outcome_events"],
                                            outcome_types=c.outcome_types())
                        if "outcome_events" in files else None),
        participants=None if people is None else read_participants(people))
    return c, runs


def _claims(files: Mapping[str, Path], contract: Contract) -> OutcomeAssessment | None:
    """The outcome claims of a run from published outcomes (rate cards), if any, checked
    against the contract's outcome definitions."""
    if "outcome_events" not in files:
        return None
    if "participants" not in files:
        raise SchemaError("participants: paying rate cards from published outcomes needs "
                          "the participants file (participant_id, start_date, cohort, "
                          "attributes): pbr pay --participants FILE")
    types = contract.outcome_types()
    return assess(read_outcome_events(files["outcome_events"], outcome_types=types),
                  read_participants(files["participants"]), outcome_types=types)


def _paid_from_outcomes(contract: Contract, outcomes: Iterable[Outcome],
                        outcomes_sha256: str, prior: PaymentLedger | None,
                        claims: OutcomeAssessment | None = None) -> PaymentStatement:
    text = contract.to_toml()
    provenance = {"pbr_version": __version__, "contract": text,
                  "contract_sha256": hashlib.sha256(text.encode()).hexdigest(),
                  "outcomes_sha256": outcomes_sha256}
    return pay_statement(contract, outcomes, provenance=provenance, prior=prior,
                         events=claims)


def _paid_from_claims(contract: Contract, files: Mapping[str, Path]) -> PaymentStatement:
    text = contract.to_toml()
    provenance = {"pbr_version": __version__, "contract": text,
                  "contract_sha256": hashlib.sha256(text.encode()).hexdigest()}
    return pay_statement(contract, (), provenance=provenance,
                         events=_claims(files, contract))


def pay_claims(contract: str | Path, outcome_events: str | Path, participants: str | Path,
               out: str | Path, *, seed: int | None = None,
               _sources: Mapping[str, Path] | None = None
               ) -> tuple[PaymentStatement, Manifest]:
    """Pay a contract of rate cards on outcome events alone; write the statement and its
    manifest (kind ``"claims"``) all or nothing.  Either table may be a database URI
    (extracted into ``out/inputs`` as CSV, the read recorded, as for :func:`pay_files`).

    Parameters
    ----------
    contract
        The contract TOML file; every component a ``rate_card``.
    outcome_events, participants
        The outcome-events CSV (:func:`pbr.outcomes.read_outcome_events`) and the
        participants CSV (:func:`pbr.outcomes.read_participants`), recorded as inputs.
    out
        Output directory, as for :func:`pay_files`.
    seed
        Recorded, not used.

    Returns
    -------
    (PaymentStatement, Manifest)

    Examples
    --------
    ``pbr pay contract.toml --outcome-events claims.csv --participants people.csv --out
    statement/`` (docs/methodology/outcomes.md).
    """
    out = Path(out)
    if _uris(outcome_events=outcome_events, participants=participants):
        with _extracted(out, outcome_events=outcome_events,
                        participants=participants) as (got, sources):
            return pay_claims(contract, got["outcome_events"], got["participants"], out,
                              seed=seed, _sources=sources)
    files = {"contract": Path(contract), "outcome_events": Path(outcome_events),
             "participants": Path(participants)}
    files.update({role: Path(p) for role, p in (_sources or {}).items()})
    digests = _hashes(files)
    c = read_contract(files["contract"])
    statement = _paid_from_claims(c, files)
    prov = statement.provenance

    def make(outputs: tuple[tuple[str, str, str], ...]) -> Manifest:
        return Manifest(
            pbr_version=__version__, engine="none", seed=seed,
            contract_sha256=str(prov["contract_sha256"]), contract=str(prov["contract"]),
            spec=c.measure_spec.to_toml(),
            inputs=tuple((r, _rel(p, out), digests[r]) for r, p in files.items()),
            outputs=outputs, fingerprints=(), total=str(statement.total),
            currency=statement.currency, kind="claims",
            environment=tuple(sorted(environment())), notes=_notes(statement.notes))

    return statement, _publish(out, statement, c, "none", make, files)


def _iso(as_of: Any) -> str | None:
    """``as_of`` as ISO text, for the manifest (checked again by run_contract)."""
    if as_of is None:
        return None
    if isinstance(as_of, _dt.date):
        return as_of.isoformat()
    if isinstance(as_of, str):
        try:
            return parse_date(as_of.strip()).isoformat()
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
    _check_options(options)
    out = []
    for k, v in sorted(options.items()):
        plain = isinstance(v, str | int | float | bool | type(None)) or (
            isinstance(v, Mapping) and all(isinstance(x, str) for x in (*v, *v.values())))
        if not plain:
            raise SchemaError(f"read option {k}={v!r}: must be text, a number, true/false, "
                              "None or a mapping of text to text, so that the manifest can "
                              "record it")
        out.append((k, json.dumps(dict(v) if isinstance(v, Mapping) else v, sort_keys=True)))
    return tuple(out)


#: where inputs given as objects are written (inside the output directory)
INPUT_COPIES = "inputs"


def _publish(out: Path, statement: PaymentStatement, contract: Contract, engine: str,
             make: Any, inputs: Mapping[str, Path], copies: Mapping[str, Any] | None = None
             ) -> Manifest:
    """Write the statement files and the manifest all or nothing (``copies``: extra
    input files to write into ``out/inputs`` first, name -> writer(path))."""
    copies = dict(copies or {})
    targets = [out / name for _, name in OUTPUTS] + [out / MANIFEST_NAME]
    given = {os.path.normcase(p.resolve()): role for role, p in inputs.items()
             if p.parent != out / INPUT_COPIES}
    for t in targets:
        role = given.get(os.path.normcase(t.resolve()))
        if role is not None:
            raise AuditError(f"the output {str(t)!r} is the {role} input: writing it would "
                             "destroy the input; choose another output directory (out, "
                             "--out)")
    targets += [out / INPUT_COPIES / name for name in copies]
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
              as_of: _dt.date | str | None = None, paid: Paid = None,
              comparator: Given = None, model: Any = None,
              outcome_events: str | Path | None = None,
              participants: str | Path | None = None,
              _sources: Mapping[str, Path] | None = None
              ) -> tuple[ContractRun, Manifest]:
    """Run a contract on files, write the statement and ``manifest.json`` into ``out``.

    Every input's SHA-256 is taken before it is read.  The statement (CSV, JSON, Excel)
    and the manifest are written all or nothing: if anything fails, no file in ``out``
    is written or changed.

    Parameters
    ----------
    contract, cohort, events, custody
        The contract TOML and the input tables (CSV, Parquet or Excel), or database
        URIs (:mod:`pbr.io.db`): those are extracted first into ``out/inputs``
        (``ROLE.parquet`` and the record of the read, ``ROLE.parquet.source.json``, which
        the manifest records as the input ``ROLE_source``;
        :func:`pbr.io.extracts.extracted_inputs`) and the run reads the extracts, so
        the manifest hashes the rows used; a failed run removes them again.
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
        ``read_custody`` (``separator``, ``encoding``, ``date_format``,
        ``id_as_string``, ``disposal_type_map``, ...; each goes to the readers that take
        it), recorded and replayed the same way.
    as_of
        The date the data were extracted (:func:`~pbr.contract.run_contract`: windows
        still open on that date are refused, or paid provisionally where the contract
        allows); recorded.
    paid
        Payments already made under the contract, so that caps, floors and payments on
        account hold across runs: a ledger CSV
        (:func:`pbr.io.read_ledger`: ``cohort, year,
        component, amount, kind``), or a :class:`~pbr.contract.ledger.PaymentLedger` or
        earlier statements (written to ``out/inputs/paid.csv``); recorded as the input
        ``paid`` with its hash.
    comparator, model
        A comparator given with the run, where the contract's ``[comparator]`` says
        ``supplied_at_run = true`` or there is none (:func:`pbr.contract.compare_step`):
        a :class:`~pbr.risk.Baseline`, a fitted :class:`~pbr.risk.CaseMixModel`, a
        :class:`~pbr.MatchResult` or a :class:`~pbr.matching.MatchSpec`, written to
        ``out/inputs/comparator.json`` (:func:`pbr.contract.record.comparator_document`)
        and run as read back from it; or such a file.  Recorded as the input
        ``comparator``; the manifest's ``comparator`` records what the run compared
        with (kind, form, SHA-256, and the match weights' SHA-256).
    outcome_events, participants
        For the contract's ``rate_card`` components: the outcome-events CSV (the layout
        of :func:`pbr.outcomes.template_path`) and, when the cohort is not the
        participants, a participants CSV; recorded as the inputs ``outcome_events``
        and ``participants``.

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
    if _uris(cohort=cohort, events=events, custody=custody, paid=paid,
             outcome_events=outcome_events, participants=participants):
        # database inputs run on extracts in out/inputs (pbr.io.extracts): the manifest
        # hashes the rows used and the records of the reads, and verify() recomputes
        with _extracted(out, cohort=cohort, events=events, custody=custody, paid=paid,
                        outcome_events=outcome_events, participants=participants
                        ) as (got, sources):
            return pay_files(contract, got["cohort"], got["events"], out,
                             custody=got["custody"], engine=engine, seed=seed,
                             roles=roles, read_options=read_options, as_of=as_of,
                             paid=got["paid"], comparator=comparator, model=model,
                             outcome_events=got["outcome_events"],
                             participants=got["participants"], _sources=sources)
    files = {"contract": Path(contract), "cohort": Path(cohort), "events": Path(events)}
    # the records of database reads (query, database, rows' SHA-256) are inputs too:
    # hashed in the manifest like the extracts they describe
    files.update({role: Path(p) for role, p in (_sources or {}).items()})
    if custody is not None:
        files["custody"] = Path(custody)
    if outcome_events is not None:
        files["outcome_events"] = Path(outcome_events)
    if participants is not None:
        files["participants"] = Path(participants)
    roles = dict(roles or {})
    _check_roles(roles)
    options = dict(read_options or {})
    options_text = _options_text(options)
    when = _iso(as_of)
    digests = _hashes(files)
    copies: dict[str, Any] = {}
    prior = _paid(paid, out, files, digests, copies)
    given = _given(comparator, model, out, files, digests, copies)
    c, runs = _run(files, engine, roles, options, when, prior, given)
    prov = runs.statement.provenance
    used = runs.comparator

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
            as_of=when, comparator=() if used is None else tuple(
                (k, v) for k, v in used.record().items() if v is not None))

    return runs, _publish(out, runs.statement, c, engine, make, files, copies)


def pay_outcomes(contract: Contract | str | Path,
                 outcomes: Iterable[Outcome] | str | Path, out: str | Path, *,
                 seed: int | None = None, paid: Paid = None,
                 outcome_events: str | Path | None = None,
                 participants: str | Path | None = None,
                 _sources: Mapping[str, Path] | None = None
                 ) -> tuple[PaymentStatement, Manifest]:
    """Pay a contract from published outcomes; write the statement and its manifest.

    ``outcomes``, ``paid``, ``outcome_events`` and ``participants`` may be database URIs
    (extracted into ``out/inputs`` as CSV, the reads recorded, as for :func:`pay_files`).

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
        objects are written there too (``inputs/contract.toml``, ``inputs/outcomes.csv``;
        earlier payments given as objects ``inputs/paid.csv``) and recorded as the
        inputs, so that :func:`verify` can recompute the statement.
    seed
        Recorded, not used.
    paid
        Payments already made (a ledger CSV, a ledger or earlier statements), as for
        :func:`pay_files`.
    outcome_events, participants
        For ``rate_card`` components: the outcome-events CSV and the participants CSV
        (both needed), recorded as inputs.

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
    >>> o = [Outcome(q, m, actual=a, comparator=b, n=100, base_n=k, lower=lo, upper=hi)
    ...      for q in ("2019Q1", "2019Q2", "2019Q3", "2019Q4")
    ...      for m, a, b, k, lo, hi in (("binary_rate", 20, 28, 100, 19.2, 36.8),
    ...                                 ("per_reoffender", 3, 3.45, 20, 2.9, 4.0))]
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     statement, manifest = pay_outcomes(c, o, Path(tmp) / "out")
    ...     ok = verify(Path(tmp) / "out").ok
    >>> [role for role, _, _ in manifest.inputs], ok
    (['contract', 'outcomes'], True)
    """
    out = Path(out)
    if _uris(outcomes=outcomes, paid=paid, outcome_events=outcome_events,
             participants=participants):
        with _extracted(out, outcomes=outcomes, paid=paid, outcome_events=outcome_events,
                        participants=participants) as (got, sources):
            return pay_outcomes(contract, got["outcomes"], out, seed=seed, paid=got["paid"],
                                outcome_events=got["outcome_events"],
                                participants=got["participants"], _sources=sources)
    copies: dict[str, Any] = {}
    if isinstance(contract, Contract):
        # pay the contract as verify will read it back from its copy: TOML keeps a
        # Decimal's value but not always its exponent (1000 is written 1000.0)
        text = contract.to_toml()
        c = Contract.from_toml(text)
        copies["contract.toml"] = lambda p: p.write_text(text, encoding="utf-8")
        files = {"contract": out / INPUT_COPIES / "contract.toml"}
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
        files["outcomes"] = out / INPUT_COPIES / "outcomes.csv"
    for role, claim_file in (("outcome_events", outcome_events),
                             ("participants", participants)):
        if claim_file is not None:
            files[role] = Path(claim_file)
            digests.update(_hashes({role: files[role]}))
    for role, source in (_sources or {}).items():  # the records of database reads
        files[role] = Path(source)
        digests.update(_hashes({role: files[role]}))
    prior = _paid(paid, out, files, digests, copies)
    statement = _paid_from_outcomes(c, given, digests["outcomes"], prior,
                                    _claims(files, c))
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

    return statement, _publish(out, statement, c, "none", make, files, copies)


def pay(contract: Contract, outcomes: Iterable[Outcome] | ContractComparison = (), *,
        out: str | Path | None = None, prior: Paid = None,
        provenance: Mapping[str, Any] | None = None, notes: Iterable[str] = (),
        events: OutcomeAssessment | None = None) -> PaymentStatement:
    """Apply a contract's payment components to per-cohort outcomes (``pbr.pay``).

    Without ``out`` this is :func:`pbr.contract.pay.pay`, the pure payment engine.  With
    ``out`` the statement is also written there (CSV, JSON, Excel) with a manifest, all
    or nothing, exactly as :func:`pay_outcomes` does, so ``pbr verify OUT`` can recompute
    it from the copies of the contract and outcomes written to ``OUT/inputs/``.

    Given the compare step's :class:`~pbr.contract.ContractComparison`
    (:func:`pbr.contract.compare_step`), this is the last step of the chain
    (:func:`pbr.contract.pay_step`): its outcomes paid with its provenance and notes,
    the statement :func:`~pbr.contract.run_contract` gives, byte for byte.

    Parameters
    ----------
    contract, outcomes
        The :class:`~pbr.Contract` and its per-cohort :class:`~pbr.Outcome` objects, or
        the compare step's :class:`~pbr.contract.ContractComparison`.
    out
        Optional output directory for the statement files and ``manifest.json``.
    prior
        Payments already made (earlier statements or a
        :class:`~pbr.contract.ledger.PaymentLedger`; with ``out`` also a ledger CSV), so
        that caps, floors and payments on account hold across runs.
    provenance, notes
        Recorded on the statement; not accepted with ``out``, since :func:`verify` could
        not replay them.
    events
        The assessed outcome claims for the contract's rate cards
        (:func:`pbr.outcomes.assess`); without ``out`` only (the files: ``pbr pay
        --outcome-events``, :func:`pay_files`, :func:`pay_outcomes`, :func:`pay_claims`).

    Returns
    -------
    PaymentStatement

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import pbr
    >>> c = pbr.Contract.from_toml('''
    ... [contract]
    ... name = "demo"
    ... [comparator]
    ... values = {binary_rate = 40.0}
    ... [[component]]
    ... name = "binary"
    ... kind = "linear"
    ... measure = "binary_rate"
    ... basis = "points"
    ... price = 1000
    ... ''')
    >>> o = [pbr.Outcome("all", "binary_rate", actual=35, comparator=40, n=200)]
    >>> pbr.pay(c, o).total
    Decimal('5000.00')
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     s = pbr.pay(c, o, out=Path(tmp) / "statement")
    ...     ok = pbr.verify(Path(tmp) / "statement").ok
    >>> s.total, ok
    (Decimal('5000.00'), True)

    The chain one step at a time gives the statement ``run_contract`` gives:

    >>> data = pbr.synth.generate(300, seed=1)
    >>> measured = pbr.contract.measure_step(c, data.cohort, data.events)
    >>> compared = pbr.contract.compare_step(c, measured)
    >>> str(pbr.pay(c, compared)) == str(pbr.run_contract(c, data.cohort, data.events).statement)
    True
    """
    if isinstance(outcomes, ContractComparison):
        if out is not None or provenance is not None or tuple(notes):
            raise ContractError("out=, provenance=, notes=: not accepted with a "
                                "ContractComparison, whose provenance and notes come from "
                                "the measured run (which pbr verify replays from files "
                                "only); write the files with pbr.audit.pay_files (pbr pay), "
                                "or pay compared.outcomes")
        if isinstance(prior, str | Path):
            raise ContractError("prior: a ledger file is read only with out=; read it with "
                                "pbr.io.read_ledger(path)")
        return pay_step(contract, outcomes, prior=prior, outcome_events=events)
    if out is None:
        if isinstance(prior, str | Path):
            raise ContractError("prior: a ledger file is read only with out=; read it with "
                                "pbr.io.read_ledger(path) or pass out=")
        return pay_statement(contract, outcomes, provenance=provenance, prior=prior,
                             notes=tuple(notes), events=events)
    if events is not None:
        raise ContractError("events=: not accepted with out= (pbr verify replays claims from "
                            "files); write the files with pbr.audit.pay_outcomes(..., "
                            "outcome_events=, participants=) or pbr.audit.pay_claims")
    if provenance is not None or tuple(notes):
        raise ContractError("provenance=, notes=: not accepted with out= (pbr verify could "
                            "not replay them); leave them out, or write the files yourself")
    return pay_outcomes(contract, outcomes, out, paid=prior)[0]


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


def _compare_comparator(m: Manifest, runs: ContractRun, checked: list[str],
                        diffs: list[str]) -> None:
    """The recorded comparator against the recomputed one: kind, form, document SHA-256
    and the match weights' SHA-256 (a match that now pairs differently)."""
    used = runs.comparator
    now = {} if used is None else {k: v for k, v in used.record().items() if v is not None}
    was = dict(m.comparator)
    if now == was:
        checked.append(f"comparator {was['kind']} ({was['form']})")
        return
    for key in ("kind", "form", "sha256", "weights_sha256"):
        a, b = was.get(key), now.get(key)
        if a != b:
            shown = [x[:16] + "..." if x and key.endswith("sha256") else x for x in (a, b)]
            diffs.append(f"comparator {key}: recorded {shown[0]}, recomputed {shown[1]}"
                         + (" (the comparison group the match builds changed)"
                            if key == "weights_sha256" else ""))


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
    (True, (), (), 12)
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
            if m.kind == "claims":
                c = read_contract(files["contract"])
                statement = _paid_from_claims(c, files)
                now_notes = _notes(statement.notes)
            elif m.kind == "outcomes":
                c = read_contract(files["contract"])
                statement = _paid_from_outcomes(c, read_outcomes(files["outcomes"]),
                                                sha256_file(files["outcomes"]),
                                                _prior(files), _claims(files, c))
                now_notes = _notes(statement.notes)
            else:
                c, runs = _run(files, m.engine, dict(m.roles),
                               {k: json.loads(v) for k, v in m.options}, m.as_of,
                               _prior(files))
                statement = runs.statement
                now_notes = _notes(runs.result.notes, runs.statement.notes)
                if m.manifest_version >= 3 and m.comparator:
                    _compare_comparator(m, runs, checked, diffs)
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
