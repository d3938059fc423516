"""The audit manifest as a file: :class:`Manifest` (what went into a payment statement
and what came out, with SHA-256 hashes), reading it back strictly, and
:class:`VerificationResult` (what :func:`pbr.audit.verify` found).

A manifest that is empty, truncated, not UTF-8, not JSON, another program's JSON or
from a newer pbr raises :class:`~pbr.errors.AuditError` saying what is wrong, never a
``KeyError`` or ``JSONDecodeError``.  The fields are documented in
docs/methodology/payments.md ("Audit: manifests, verification and exit codes").
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pbr._version import __version__
from pbr.errors import AuditError

__all__ = ["ENVIRONMENT_PACKAGES", "MANIFEST_FORMAT", "MANIFEST_NAME", "MANIFEST_VERSION",
           "Manifest", "VerificationResult", "environment", "read_manifest"]

MANIFEST_NAME = "manifest.json"
#: the ``format`` key of every manifest pbr writes (a foreign JSON file is refused)
MANIFEST_FORMAT = "pbr-manifest"
#: 1: pbr 0.1.0 before issue 15 (no format, environment, notes, kind); 2: issue 15's layout;
#: 3: adds ``comparator`` (what the cohort was compared with) and the input role
#: ``comparator`` (a comparator given with the run).  Every older version is still read.
MANIFEST_VERSION = 3
#: the libraries whose versions a manifest records (besides Python, pbr and the platform)
ENVIRONMENT_PACKAGES = ("numpy", "polars", "numba", "scipy", "statsmodels", "pyarrow",
                        "xlsxwriter")
_KINDS = ("run", "outcomes", "claims")
#: the input roles a manifest may record, and those each kind needs
_INPUT_ROLES = ("contract", "cohort", "events", "custody", "outcomes", "paid", "comparator",
                "outcome_events", "participants",
                # the record of a database read beside its extract (pbr.io.extracts):
                # database without password, query, rows and the rows' SHA-256
                "cohort_source", "events_source", "custody_source", "outcomes_source",
                "paid_source", "outcome_events_source", "participants_source")
_NEEDED = {"run": ("contract", "cohort", "events"), "outcomes": ("contract", "outcomes"),
           "claims": ("contract", "outcome_events", "participants")}
_REQUIRED = ("pbr_version", "engine", "contract_sha256", "contract", "spec", "inputs",
             "outputs", "total", "currency")
_HEX64 = re.compile(r"[0-9a-f]{64}")
#: the fields of the ``comparator`` record (version 3)
_COMPARATOR_KEYS = ("kind", "form", "sha256", "weights_sha256")


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
        outcomes), ``paid`` (the ledger of payments already made, if any) and
        ``comparator`` (a comparator given with the run: its document,
        ``inputs/comparator.json``).
    outputs
        ``(name, path, sha256)`` of ``statement.csv``, ``statement.json``,
        ``statement.xlsx``.
    fingerprints
        Hashes the measure recorded (spec, cohort and events frames).
    total, currency
        The balance due, as exact text.
    roles, options
        Column roles (``offender_id -> pnc_id``) and read options (JSON text) used to
        read the tables, replayed by :func:`pbr.audit.verify`.
    kind
        ``"run"`` (measured from cohort and events), ``"outcomes"`` or ``"claims"``
        (a contract of rate cards paid on outcome events alone).
    as_of
        The data extract date given to :func:`~pbr.contract.run_contract` (ISO text).
    environment
        ``(name, version)`` of Python, pbr, :data:`ENVIRONMENT_PACKAGES` and the platform.
    notes
        The statement's notes (every warning kept in the record).
    comparator
        What a measured run compared the cohort with (version 3; empty for published
        outcomes and older manifests): ``kind`` (baseline, casemix, matched), ``form``
        (``contract``: the contract's ``[comparator]`` table; or the objects given with
        the run: ``baseline``, ``casemix_model``, ``baseline+casemix_model``,
        ``match_result``, ``match_spec``), ``sha256`` of its canonical document and, for a
        matched group, ``weights_sha256`` of the matched units' groups and weights
        (:class:`pbr.contract.ComparatorUsed`).
    manifest_version
        1 for manifests written before the format was versioned, 2 before the
        comparator was recorded, else 3.

    Examples
    --------
    :func:`pbr.audit.pay_files` and :func:`pbr.audit.pay_outcomes` write one beside
    every statement; it reads back equal, and prints as a summary:

    >>> m = Manifest("0.1.0", "none", None, "ab" * 32, "[contract]", "[measure]",
    ...              inputs=(("contract", "../contract.toml", "cd" * 32),
    ...                      ("outcomes", "../outcomes.csv", "12" * 32)),
    ...              outputs=(("statement_csv", "statement.csv", "ef" * 32),),
    ...              fingerprints=(), total="100.00", currency="GBP", kind="outcomes")
    >>> Manifest.from_json(m.to_json()) == m
    True
    >>> print(m)  # doctest: +NORMALIZE_WHITESPACE
    Manifest (pbr 0.1.0, engine none, seed None)
      contract sha256 abababababababababababababababababababababababababababababababab
      input  contract  cdcdcdcdcdcdcdcd  ../contract.toml
      input  outcomes  1212121212121212  ../outcomes.csv
      output statement_csv efefefefefefefef  statement.csv
      total  GBP 100.00
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
    comparator: tuple[tuple[str, str], ...] = ()

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
            "comparator": ({k: dict(self.comparator).get(k) for k in _COMPARATOR_KEYS}
                           if self.comparator else None),
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
        >>> try:  # doctest: +NORMALIZE_WHITESPACE
        ...     Manifest.from_json('{"total": "1.00"', source="m.json")
        ... except AuditError as exc:
        ...     print(str(exc).split(". ")[0])
        m.json is not a pbr manifest: it is not complete JSON (Expecting ',' delimiter at line 1,
        column 17; the file looks truncated)
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
        inputs = _files(source, "inputs", d["inputs"], "role")
        roles = [r for r, _, _ in inputs]
        unknown = [r for r in roles if r not in _INPUT_ROLES]
        needed = [r for r in _NEEDED[kind] if r not in roles]
        if unknown or needed or len(set(roles)) != len(roles):
            raise _bad(source, f"its inputs ({', '.join(roles) or 'none'}) must be "
                       f"{', '.join(_NEEDED[kind])} (and optionally "
                       f"{', '.join(r for r in _INPUT_ROLES if r not in _NEEDED[kind])}), "
                       f"each once, for a {kind!r} manifest")
        as_of = d.get("as_of")
        if as_of is not None and not isinstance(as_of, str):
            raise _bad(source, f"'as_of' must be an ISO date or null, got {as_of!r}")
        comparator = _comparator(source, d.get("comparator"))
        return cls(d["pbr_version"], d["engine"], seed, d["contract_sha256"],
                   d["contract"], d["spec"], inputs,
                   _files(source, "outputs", d["outputs"], "name"),
                   _pairs(source, "fingerprints", d.get("fingerprints", {})), d["total"],
                   d["currency"], _pairs(source, "roles", d.get("roles", {})), kind,
                   _pairs(source, "environment", d.get("environment", {})), tuple(notes),
                   tuple(sorted((k, json.dumps(v)) for k, v in
                                _options(source, d.get("options", {})).items())),
                   version, as_of, comparator)

    def __str__(self) -> str:
        lines = [f"Manifest (pbr {self.pbr_version}, engine {self.engine}, seed {self.seed})",
                 f"  contract sha256 {self.contract_sha256}"]
        lines += [f"  input  {r:<9} {h[:16]}  {p}" for r, p, h in self.inputs]
        lines += [f"  output {n:<9} {h[:16]}  {p}" for n, p, h in self.outputs]
        if self.comparator:
            c = dict(self.comparator)
            lines.append(f"  comparator {c['kind']} ({c['form']}) {c['sha256'][:16]}"
                         + (f", weights {c['weights_sha256'][:16]}"
                            if "weights_sha256" in c else ""))
        lines.append(f"  total  {self.currency} {self.total}")
        lines += [f"  note   {n}" for n in self.notes]
        return "\n".join(lines)


def _comparator(source: str, value: Any) -> tuple[tuple[str, str], ...]:
    """The ``comparator`` record: null (none recorded) or kind, form and SHA-256s."""
    if value is None:
        return ()
    if not isinstance(value, dict) or set(value) - set(_COMPARATOR_KEYS) or not all(
            isinstance(value.get(k), str) for k in ("kind", "form", "sha256")):
        raise _bad(source, f"'comparator' must be null or an object with text fields "
                   f"{', '.join(_COMPARATOR_KEYS[:3])} (and weights_sha256), got "
                   f"{value!r}"[:300])
    for key in ("sha256", "weights_sha256"):
        digest = value.get(key)
        if digest is not None and not (isinstance(digest, str) and _HEX64.fullmatch(digest)):
            raise _bad(source, f"comparator.{key} is not a SHA-256 (64 hex digits): "
                       f"{digest!r}")
    return tuple((k, value[k]) for k in _COMPARATOR_KEYS if value.get(k) is not None)


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
    """The outcome of :func:`pbr.audit.verify`: every difference found, what was checked, notes.

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
