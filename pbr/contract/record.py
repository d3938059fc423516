"""What a contract run compared its cohort with: :class:`ComparatorUsed` and its document.

The record the audit manifest keeps of a run's comparator: its kind, where its data came
from (the contract's ``[comparator]`` table, or a Baseline, a CaseMixModel, a MatchResult
or a MatchSpec given with the run), a canonical JSON document of those data and its
SHA-256, and for a matched comparison group the SHA-256 of the units' groups and weights.
:func:`comparator_document` writes the document (floats in their shortest round-trip
form, so that :func:`read_comparator_document` gives back equal objects and
:func:`pbr.verify` can replay a run from ``inputs/comparator.json``).  Rules:
docs/methodology/payments.md, "The chain: measure -> compare -> pay".
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import polars as pl
import tomli_w

from pbr.contract.comparator import Comparator
from pbr.contract.spec import Contract
from pbr.errors import ContractError, PbrError
from pbr.matching.result import MatchResult
from pbr.matching.spec import MatchSpec
from pbr.risk.baseline import Baseline
from pbr.risk.casemix import CaseMixModel
from pbr.spec import MeasureSpec

__all__ = ["DOCUMENT_FORMAT", "FORMS", "ComparatorUsed", "classify_comparator",
           "comparator_document", "read_comparator_document", "weights_sha256"]

#: the ``format`` of a comparator document (``inputs/comparator.json`` of a manifest)
DOCUMENT_FORMAT = "pbr-comparator"
#: where a run's comparator data came from
FORMS = ("contract", "baseline", "casemix_model", "baseline+casemix_model", "match_result",
         "match_spec")
_PAIRS = {"treated_id": None, "control_id": None, "distance": pl.Float64,
          "subclass": pl.Int64, "round": pl.Int64, "pair_weight": pl.Float64}


@dataclass(frozen=True)
class ComparatorUsed:
    """What a contract run compared its cohort with, and the fingerprint the manifest keeps.

    Attributes
    ----------
    kind
        ``"baseline"``, ``"casemix"`` or ``"matched"``.
    form
        Where its data came from: ``"contract"`` (the ``[comparator]`` table, with a
        ``[comparator.match]`` spec run inside the run), ``"baseline"``,
        ``"casemix_model"``, ``"baseline+casemix_model"``, ``"match_result"`` or
        ``"match_spec"`` (objects given with the run).
    document
        Canonical JSON of the data: the ``[comparator]`` table's TOML, or the objects
        given (the Baseline's TOML, the model's coefficients and levels, the
        MatchResult's units and pairs, the MatchSpec's TOML).  :func:`pbr.audit.pay_files`
        writes it as ``inputs/comparator.json`` so that :func:`pbr.verify` can replay it
        (:func:`read_comparator_document`).
    sha256
        SHA-256 of ``document``.
    weights_sha256
        For a matched comparison group, SHA-256 of the matched units' ids, groups and
        weights (the result of a match run inside the run); else None.
    comparator
        The :class:`~pbr.contract.comparator.Comparator` the outcomes were computed with:
        the table's settings (``significance_z``, ``adjustment``) and the run's data.
    match
        The :class:`~pbr.MatchResult` used (given, or run inside the run); else None.
    notes
        What the comparator left out or assumed, kept in the statement's notes.

    Examples
    --------
    >>> from pbr.contract import Contract
    >>> c = Contract.from_toml('''
    ... [contract]
    ... name = "t"
    ... [comparator]
    ... values = {binary_rate = 40.0}
    ... [[component]]
    ... name = "b"
    ... kind = "linear"
    ... measure = "binary_rate"
    ... basis = "points"
    ... price = 1
    ... ''')
    >>> import polars as pl
    >>> from pbr.contract.resolve import resolve_comparator
    >>> _, _, used = resolve_comparator(c, pl.DataFrame({"cohort_period": ["Q1"]}))
    >>> used.kind, used.form, len(used.sha256)
    ('baseline', 'contract', 64)
    """

    kind: str
    form: str
    document: str
    sha256: str
    weights_sha256: str | None = None
    comparator: Comparator | None = None
    match: MatchResult | None = dataclasses.field(default=None, compare=False, repr=False)
    notes: tuple[str, ...] = ()

    def record(self) -> dict[str, str | None]:
        """The manifest's ``comparator`` entry: kind, form and the two hashes."""
        return {"kind": self.kind, "form": self.form, "sha256": self.sha256,
                "weights_sha256": self.weights_sha256}

    def __str__(self) -> str:
        text = f"comparator {self.kind} ({self.form}), sha256 {self.sha256[:16]}"
        if self.weights_sha256 is not None:
            text += f", match weights sha256 {self.weights_sha256[:16]}"
        return text


# ---------------------------------------------------------------------- documents
def _canonical(doc: dict[str, Any]) -> str:
    try:
        return json.dumps({"format": DOCUMENT_FORMAT, "version": 1, **doc}, indent=1,
                          sort_keys=True) + "\n"
    except TypeError as exc:
        raise ContractError(f"comparator=: cannot record the comparator in the manifest "
                            f"({exc}); ids and category levels must be numbers or text"
                            ) from None


def _model_doc(m: CaseMixModel) -> dict[str, Any]:
    return {"measure": m.measure, "family": m.family, "covariates": list(m.covariates),
            "levels": [[c, list(v)] for c, v in m.levels],
            "coefficients": [[t, v] for t, v in m.coefficients],
            "std_errors": [[t, v] for t, v in m.std_errors], "n": m.n,
            "n_dropped": m.n_dropped, "alpha": m.alpha,
            "spec": None if m.spec is None else m.spec.to_toml(), "missing": m.missing,
            "notes": list(m.notes)}


def _model(d: dict[str, Any]) -> CaseMixModel:
    return CaseMixModel(
        d["measure"], d["family"], tuple(d["covariates"]),
        tuple((c, tuple(v)) for c, v in d["levels"]),
        tuple((t, float(v)) for t, v in d["coefficients"]),
        tuple((t, float(v)) for t, v in d["std_errors"]), n=int(d["n"]),
        n_dropped=int(d["n_dropped"]), alpha=d["alpha"],
        spec=None if d["spec"] is None else MeasureSpec.from_toml(d["spec"]),
        missing=d["missing"], notes=tuple(d["notes"]))


def _units(m: MatchResult) -> dict[str, list[Any]]:
    f, s = m.frame, m.spec
    return {"id": f[s.id].to_list(), "treated": f[s.treatment].cast(pl.Boolean).to_list(),
            "weight": f["weight"].cast(pl.Float64).to_list()}


def _match_doc(m: MatchResult) -> dict[str, Any]:
    units = {**_units(m), "subclass": m.frame["subclass"].to_list(),
             "discarded": m.frame["discarded"].to_list()}
    return {"spec": m.spec.to_toml(), "units": units, "notes": list(m.notes),
            "pairs": {c: m.pairs[c].to_list() for c in _PAIRS}}


def _match(d: dict[str, Any]) -> MatchResult:
    spec = MatchSpec.from_toml(d["spec"])
    u = d["units"]
    ids = pl.Series(spec.id, u["id"])
    weight = pl.Series("weight", u["weight"], dtype=pl.Float64)
    frame = pl.DataFrame([ids, pl.Series(spec.treatment, u["treated"], dtype=pl.Boolean),
                          weight, pl.Series("subclass", u["subclass"], dtype=pl.Int64),
                          (weight > 0).alias("matched"),
                          pl.Series("discarded", u["discarded"], dtype=pl.Boolean)])
    pairs = pl.DataFrame([pl.Series(c, d["pairs"][c], dtype=t or ids.dtype)
                          for c, t in _PAIRS.items()])
    return MatchResult(frame, pairs, spec, None, None, notes=tuple(d["notes"]),
                       input_columns=(spec.id, spec.treatment))


def weights_sha256(m: MatchResult) -> str:
    return hashlib.sha256(_canonical({"units": _units(m)}).encode()).hexdigest()


def comparator_document(comparator: Any = None, *, model: CaseMixModel | None = None,
                        contract: Contract | None = None) -> tuple[str, str]:
    """``(form, document)``: the canonical JSON record of a run's comparator data.

    With no objects, the contract's ``[comparator]`` table (its TOML text); else the
    objects: a Baseline's TOML, a CaseMixModel's fitted values, a MatchResult's units
    (ids, groups, weights, subclasses) and pairs, a MatchSpec's TOML.  Floats are written
    in their shortest round-trip form, so :func:`read_comparator_document` gives back
    equal objects.

    Examples
    --------
    >>> from pbr.risk import Baseline
    >>> b = Baseline.from_values({"binary_rate": 0.3}, spec="moj_national_2017")
    >>> form, doc = comparator_document(b)
    >>> form, read_comparator_document(doc)[0] == b
    ('baseline', True)
    """
    comparator, model = classify_comparator(comparator, model)
    if comparator is None and model is None:
        comp = None if contract is None else contract.to_dict().get("comparator")
        text = "" if comp is None else tomli_w.dumps({"comparator": comp})
        return "contract", _canonical({"form": "contract", "comparator": text})
    doc: dict[str, Any] = {}
    if isinstance(comparator, Baseline):
        doc["baseline"] = comparator.to_toml()
    if model is not None:
        doc["casemix_model"] = _model_doc(model)
    if isinstance(comparator, MatchResult):
        doc["match_result"] = _match_doc(comparator)
    if isinstance(comparator, MatchSpec):
        doc["match_spec"] = comparator.to_toml()
    form = "+".join(k for k in ("baseline", "casemix_model", "match_result", "match_spec")
                    if k in doc)
    return form, _canonical({"form": form, **doc})


def read_comparator_document(text: str) -> tuple[Any, CaseMixModel | None]:
    """The objects of a comparator document: ``(comparator, model)`` to give the run.

    A ``"contract"`` document gives ``(None, None)``: the contract's own table.
    Anything that is not a comparator document is a :class:`~pbr.errors.ContractError`.
    """
    try:
        d = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ContractError(f"comparator document: not JSON ({exc.msg} at line {exc.lineno});"
                            " it is the inputs/comparator.json that pbr.audit.pay_files "
                            "writes") from None
    if not isinstance(d, dict) or d.get("format") != DOCUMENT_FORMAT or d.get("form") \
            not in FORMS:
        raise ContractError(f"comparator document: not a {DOCUMENT_FORMAT!r} document of "
                            f"form {', '.join(FORMS)}")
    if d.get("version") != 1:
        raise ContractError(f"comparator document: version {d.get('version')!r}; this pbr "
                            "reads version 1")
    try:
        comparator: Any = None
        if "baseline" in d:
            comparator = Baseline.from_toml(d["baseline"])
        if "match_result" in d:
            comparator = _match(d["match_result"])
        if "match_spec" in d:
            comparator = MatchSpec.from_toml(d["match_spec"])
        model = _model(d["casemix_model"]) if "casemix_model" in d else None
    except (KeyError, TypeError, ValueError, PbrError) as exc:
        raise ContractError(f"comparator document ({d['form']}): cannot be read back: "
                            f"{exc}") from None
    return comparator, model


def classify_comparator(comparator: Any, model: Any) -> tuple[Any, CaseMixModel | None]:
    forms = (Baseline, CaseMixModel, MatchResult, MatchSpec)
    if comparator is not None and not isinstance(comparator, forms):
        raise ContractError(f"comparator: expected a pbr.risk.Baseline, a fitted "
                            f"pbr.risk.CaseMixModel, a pbr.MatchResult or a "
                            f"pbr.matching.MatchSpec, got {type(comparator).__name__}; "
                            "leave it out to use the contract's [comparator] table")
    if model is not None and not isinstance(model, CaseMixModel):
        raise ContractError(f"model: expected a fitted pbr.risk.CaseMixModel "
                            f"(pbr.risk.fit_casemix), got {type(model).__name__}")
    if isinstance(comparator, CaseMixModel):
        if model is not None:
            raise ContractError("comparator=, model=: two case-mix models given; give one "
                                "(model=), with a Baseline as comparator= if any")
        comparator, model = None, comparator
    if model is not None and isinstance(comparator, MatchResult | MatchSpec):
        raise ContractError("model=: a case-mix model adjusts a baseline, but comparator= is "
                            "a matched comparison group, which needs none; leave model= out, "
                            "or give a Baseline as comparator=")
    return comparator, model
