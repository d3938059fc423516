"""The public surface is pinned, and the package layers import inward only."""

from __future__ import annotations

import ast
from pathlib import Path

import pbr

PKG = Path(pbr.__file__).parent

PUBLIC = {
    "Component", "Contract", "ContractError", "Manifest", "Outcome", "PaymentStatement",
    "ReconciliationError", "VerificationResult", "pay", "run_contract", "verify",
    "AdjustedComparison", "Baseline", "CaseMixModel", "casemix_score", "compare_to_baseline",
    "fit_casemix", "Scheme", "SchemeRun", "scheme", "available_schemes",
    "compare", "stats", "ComparisonResult", "kaplan_meier", "logrank_test",
    "mean_cumulative_function", "power_table", "time_to_first",
    "Cohort", "CohortRule", "ComparisonSpec", "Custody", "EngineError", "Events", "Exclusion",
    "Exclusions", "Histories", "CohortBuild", "Disposals", "build_cohort",
    "IncompleteDataWarning", "MeasureResult", "MeasureSpec", "PbrError", "PbrWarning",
    "Period", "PeriodError", "SchemaError", "SeverityError", "SpecError", "__version__",
    "available_presets", "measure", "preset", "prepare", "pseudonymise", "risk", "synth",
    "BalanceResult", "EffectResult", "MatchResult", "MatchSpec", "e_value", "estimate_effect",
    "match", "rosenbaum_bounds", "release_memory",
    "AuditError", "CompletenessWarning", "DataQualityWarning", "PaymentLedger",
    "ProvisionalWarning", "SmallSampleWarning",
}

# layer of each module (ARCHITECTURE.md): 0 foundations, 1 kernels, 2 computation, 3 io/report,
# 4 cli and the package root.  A module may import only from its own layer or below.
LAYERS = {
    "pbr.errors": 0, "pbr._version": 0, "pbr._toml": 0, "pbr._numba_cache": 0,
    "pbr._scratch": 0, "pbr._frames": 0,
    "pbr.period": 0, "pbr.schema": 0,
    "pbr._kernels": 1,
    "pbr.spec": 2, "pbr.data": 2, "pbr.prepare": 2, "pbr.measures": 2, "pbr._reference": 2,
    "pbr._measure_checks": 2,
    "pbr.synth": 2, "pbr.risk": 2, "pbr.matching": 2, "pbr.cohort": 2,
    "pbr.schemes": 2, "pbr.scheme_run": 2,
    "pbr.stats": 2, "pbr.compare": 2,
    "pbr.contract": 2, "pbr.privacy": 2,
    "pbr.io": 3, "pbr.report": 3, "pbr.audit": 3,
    "pbr.cli": 4, "pbr": 4,
}


def _layer(module: str) -> int:
    best = ""
    for name in LAYERS:
        if (module == name or module.startswith(name + ".")) and len(name) > len(best):
            best = name
    return LAYERS[best]


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def test_all_is_pinned() -> None:
    assert set(pbr.__all__) >= PUBLIC
    assert set(pbr.__all__) - PUBLIC <= {"io"}  # io may be exported by the io layer
    for name in pbr.__all__:
        assert hasattr(pbr, name), name


def test_imports_point_inward() -> None:
    bad = []
    for path in PKG.rglob("*.py"):
        mod = _module_name(path)
        own = _layer(mod)
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module]
                if node.module == "pbr":
                    targets = [f"pbr.{a.name}" for a in node.names]
            for t in targets:
                if t.startswith("pbr") and _layer(t) > own:
                    bad.append(f"{mod} (layer {own}) imports {t} (layer {_layer(t)})")
    assert not bad, "\n".join(bad)


def test_kernels_use_numpy_and_numba_only() -> None:
    allowed = {"numpy", "numba", "typing", "__future__", "pbr"}  # typing: hints only
    for path in (PKG / "_kernels").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = {node.module.split(".")[0]}
            else:
                continue
            assert roots <= allowed, (path, roots)


def test_no_network_or_clock_in_computation() -> None:
    for path in PKG.rglob("*.py"):
        mod = _module_name(path)
        if _layer(mod) > 2:
            continue
        text = path.read_text()
        for banned in ("import socket", "import urllib", "import requests", "datetime.now(",
                       "date.today(", "time.time("):
            assert banned not in text, (mod, banned)
