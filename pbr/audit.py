"""Audit: every contract run writes a manifest, and ``verify`` recomputes it.

Layer 3 (it reads and writes files): :func:`pay_files` reads the contract, cohort and
events files, runs :func:`pbr.contract.run_contract`, writes the statement (CSV, JSON,
Excel) and a :class:`Manifest` (``manifest.json``) holding the SHA-256 of each input
file and of the contract text, the pbr version, the engine, the measure spec, the seed,
the total and the SHA-256 of each output.  :func:`verify` re-hashes the inputs, runs the
same computation again into a temporary directory and returns every difference (not
just the first) as a :class:`VerificationResult`.  Same inputs give byte-identical
outputs, so a clean verification means the statement is reproduced exactly.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pbr._version import __version__
from pbr.contract.run import ContractRun, run_contract
from pbr.errors import SchemaError
from pbr.io.contracts import read_contract, sha256_file
from pbr.io.tables import read_cohort, read_custody, read_events
from pbr.report.statement import write_statement_csv, write_statement_json, write_statement_xlsx

__all__ = ["MANIFEST_NAME", "ROLES", "Manifest", "VerificationResult", "pay_files", "verify"]

MANIFEST_NAME = "manifest.json"
OUTPUTS = (("statement_csv", "statement.csv"), ("statement_json", "statement.json"),
           ("statement_xlsx", "statement.xlsx"))


@dataclass(frozen=True)
class Manifest:
    """What went into a statement and what came out, with SHA-256 hashes.

    Paths are relative to the manifest's directory where possible, so a directory of
    inputs and outputs can be moved and verified elsewhere.

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

    def to_dict(self) -> dict[str, Any]:
        return {
            "pbr_version": self.pbr_version, "engine": self.engine, "seed": self.seed,
            "contract_sha256": self.contract_sha256, "contract": self.contract,
            "spec": self.spec,
            "inputs": [{"role": r, "path": p, "sha256": h} for r, p, h in self.inputs],
            "outputs": [{"name": n, "path": p, "sha256": h} for n, p, h in self.outputs],
            "fingerprints": dict(self.fingerprints), "total": self.total,
            "currency": self.currency, "roles": dict(self.roles),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        d = json.loads(text)
        return cls(d["pbr_version"], d["engine"], d["seed"], d["contract_sha256"],
                   d["contract"], d["spec"],
                   tuple((i["role"], i["path"], i["sha256"]) for i in d["inputs"]),
                   tuple((o["name"], o["path"], o["sha256"]) for o in d["outputs"]),
                   tuple(sorted(d["fingerprints"].items())), d["total"], d["currency"],
                   tuple(sorted(d.get("roles", {}).items())))

    def __str__(self) -> str:
        lines = [f"Manifest (pbr {self.pbr_version}, engine {self.engine}, seed {self.seed})",
                 f"  contract sha256 {self.contract_sha256}"]
        lines += [f"  input  {r:<9} {h[:16]}  {p}" for r, p, h in self.inputs]
        lines += [f"  output {n:<9} {h[:16]}  {p}" for n, p, h in self.outputs]
        lines.append(f"  total  {self.currency} {self.total}")
        return "\n".join(lines)


@dataclass(frozen=True)
class VerificationResult:
    """The outcome of :func:`verify`: every difference found, and what was checked.

    Examples
    --------
    It is true only when nothing differs, and prints the differences first:

    >>> from pbr.audit import VerificationResult
    >>> r = VerificationResult("out/manifest.json",
    ...                        ("input cohort ../cohort.csv", "pbr version 0.1.0"),
    ...                        ("total: recorded GBP 100.00, recomputed 90.00",))
    >>> r.ok, bool(r)
    (False, False)
    >>> print(r)
    verification of out/manifest.json FAILED: 1 difference(s)
      differs: total: recorded GBP 100.00, recomputed 90.00
      same:    input cohort ../cohort.csv
      same:    pbr version 0.1.0
    """

    manifest: str
    checked: tuple[str, ...]
    differences: tuple[str, ...]

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


def _compute(contract: Path, cohort: Path, events: Path, custody: Path | None, out: Path,
             engine: str, roles: Mapping[str, str]) -> tuple[ContractRun, dict[str, Path]]:
    unknown = sorted(set(roles) - {r for v in ROLES.values() for r in v})
    if unknown:
        raise SchemaError(f"roles: unknown role(s) {', '.join(unknown)}; known: "
                          f"{', '.join(sorted({r for v in ROLES.values() for r in v}))}")
    c = read_contract(contract)
    runs = run_contract(c, read_cohort(cohort, **_roles(roles, "cohort")),
                        read_events(events, **_roles(roles, "events")),
                        custody=None if custody is None else read_custody(
                            custody, **_roles(roles, "custody")),
                        engine=engine)
    names = dict(OUTPUTS)
    prov = runs.statement.provenance
    sheet = {"pbr_version": prov.get("pbr_version", __version__), "engine": engine,
             "contract_sha256": prov.get("contract_sha256", ""),
             "spec_sha256": prov.get("spec_sha256", ""),
             **{k: v for k, v in prov.items() if k.endswith("_sha256")}}
    written = {
        "statement_csv": write_statement_csv(runs.statement, out / names["statement_csv"]),
        "statement_json": write_statement_json(runs.statement, out / names["statement_json"]),
        "statement_xlsx": write_statement_xlsx(runs.statement, out / names["statement_xlsx"],
                                               contract=c, manifest=sheet),
    }
    return runs, written


def pay_files(contract: str | Path, cohort: str | Path, events: str | Path,
              out: str | Path, *, custody: str | Path | None = None, engine: str = "numba",
              seed: int | None = None, roles: Mapping[str, str] | None = None
              ) -> tuple[ContractRun, Manifest]:
    """Run a contract on files, write the statement and ``manifest.json`` into ``out``.

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

    Returns
    -------
    (ContractRun, Manifest)
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {"contract": Path(contract), "cohort": Path(cohort), "events": Path(events)}
    if custody is not None:
        files["custody"] = Path(custody)
    roles = dict(roles or {})
    runs, written = _compute(files["contract"], files["cohort"], files["events"],
                             files.get("custody"), out, engine, roles)
    prov = runs.statement.provenance
    manifest = Manifest(
        pbr_version=__version__, engine=engine, seed=seed,
        contract_sha256=str(prov["contract_sha256"]), contract=str(prov["contract"]),
        spec=str(prov["spec"]),
        inputs=tuple((r, _rel(p, out), sha256_file(p)) for r, p in files.items()),
        outputs=tuple((n, _rel(p, out), sha256_file(p)) for n, p in written.items()),
        fingerprints=tuple(sorted((k, str(v)) for k, v in prov.items()
                                  if k.endswith("_sha256") and k != "contract_sha256")),
        total=str(runs.statement.total), currency=runs.statement.currency,
        roles=tuple(sorted(roles.items())))
    (out / MANIFEST_NAME).write_text(manifest.to_json(), encoding="utf-8")
    return runs, manifest


def verify(manifest: str | Path) -> VerificationResult:
    """Recompute a manifest from the same inputs and report every difference.

    Checks, in order: each input file's SHA-256; the pbr version; that the contract
    file still reads to the recorded contract; then recomputes the statement into a
    temporary directory and compares the total and each output's SHA-256 (and that the
    recorded outputs on disk are unchanged).

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
    >>> clean.ok, clean.differences, len(clean.checked)
    (True, (), 9)
    >>> print(edited)  # doctest: +ELLIPSIS
    verification of ...manifest.json FAILED: 1 difference(s)
      differs: output statement_csv statement.csv: the file on disk was changed after the run
      same:    input contract ../contract.toml
    ...
    """
    path = Path(manifest)
    if path.is_dir():
        path = path / MANIFEST_NAME
    m = Manifest.from_json(path.read_text(encoding="utf-8"))
    base = path.parent
    checked: list[str] = []
    diffs: list[str] = []
    files: dict[str, Path] = {}
    for role, rel, digest in m.inputs:
        p = base / rel
        files[role] = p
        if not p.is_file():
            diffs.append(f"input {role} {rel}: file missing")
            continue
        now = sha256_file(p)
        (checked.append(f"input {role} {rel}") if now == digest else
         diffs.append(f"input {role} {rel}: sha256 recorded {digest[:16]}..., now "
                      f"{now[:16]}..."))
    if m.pbr_version != __version__:
        diffs.append(f"pbr version: recorded {m.pbr_version}, now {__version__}")
    else:
        checked.append(f"pbr version {__version__}")
    if any(d.endswith("file missing") for d in diffs):
        return VerificationResult(str(path), tuple(checked), tuple(diffs))
    with tempfile.TemporaryDirectory() as tmp:
        runs, written = _compute(files["contract"], files["cohort"], files["events"],
                                 files.get("custody"), Path(tmp), m.engine, dict(m.roles))
        if runs.statement.provenance["contract_sha256"] != m.contract_sha256:
            diffs.append("contract: the file no longer reads to the recorded contract")
        else:
            checked.append("contract text")
        total = str(runs.statement.total)
        (checked.append(f"total {m.currency} {total}") if total == m.total else
         diffs.append(f"total: recorded {m.currency} {m.total}, recomputed {total}"))
        for name, rel, digest in m.outputs:
            now = sha256_file(written[name])
            (checked.append(f"output {name} recomputed") if now == digest else
             diffs.append(f"output {name}: recomputed sha256 {now[:16]}... differs from "
                          f"the recorded {digest[:16]}..."))
            on_disk = base / rel
            if not on_disk.is_file():
                diffs.append(f"output {name} {rel}: file missing")
            elif sha256_file(on_disk) != digest:
                diffs.append(f"output {name} {rel}: the file on disk was changed after "
                             "the run")
    return VerificationResult(str(path), tuple(checked), tuple(diffs))
