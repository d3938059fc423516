"""The parallel kernels hold no array expressions outside their ``prange`` loops.

Numba turns an array expression in a ``parallel=True`` function (``np.zeros``,
``np.arange``, ``a.sum()``, ``a.copy()``) into a parallel loop of its own, and
:class:`pbr._kernels.dynamic` schedules every parallel loop of the kernels it wraps in
chunks of ``per_chunk`` iterations: with one iteration per chunk, ``np.zeros`` of a
million elements took 250 ms (1.5 s at five million) instead of 0.2 ms.  Inside a
``prange`` body such expressions are serial, so they are allowed there.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numba
import numpy as np
import pytest

import pbr._kernels as kernels_pkg
from pbr._kernels import dynamic, grouping

KERNEL_DIR = Path(kernels_pkg.__file__).parent
ARRAY_FUNCTIONS = {"zeros", "ones", "full", "arange", "zeros_like", "ones_like", "full_like",
                   "empty_like", "cumsum", "sum", "any", "all", "min", "max", "where", "sort",
                   "argsort", "concatenate", "copy", "linspace"}
ARRAY_METHODS = {"sum", "any", "all", "min", "max", "copy", "fill", "cumsum", "astype",
                 "argsort", "sort", "mean"}


def _is_parallel(fn: ast.FunctionDef) -> bool:
    for dec in fn.decorator_list:
        if isinstance(dec, ast.Call) and any(
                kw.arg == "parallel" and isinstance(kw.value, ast.Constant) and kw.value.value
                for kw in dec.keywords):
            return True
    return False


def _is_prange_loop(node: ast.AST) -> bool:
    return (isinstance(node, ast.For) and isinstance(node.iter, ast.Call)
            and isinstance(node.iter.func, ast.Name) and node.iter.func.id == "prange")


def _outside_prange(fn: ast.FunctionDef) -> list[ast.AST]:
    """Every node of ``fn``'s body not inside a ``prange`` loop."""
    out: list[ast.AST] = []
    todo: list[ast.AST] = list(fn.body)
    while todo:
        node = todo.pop()
        if _is_prange_loop(node):
            continue
        out.append(node)
        todo.extend(ast.iter_child_nodes(node))
    return out


def _offences(fn: ast.FunctionDef) -> list[str]:
    found = []
    for node in _outside_prange(fn):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        f = node.func
        if isinstance(f.value, ast.Name) and f.value.id == "np":
            if f.attr in ARRAY_FUNCTIONS:
                found.append(f"line {node.lineno}: np.{f.attr}(...)")
        elif f.attr in ARRAY_METHODS:
            found.append(f"line {node.lineno}: .{f.attr}()")
    return found


def _parallel_kernels() -> list[tuple[str, ast.FunctionDef]]:
    kernels = []
    for path in sorted(KERNEL_DIR.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and _is_parallel(node):
                kernels.append((f"{path.stem}.{node.name}", node))
    return kernels


def test_the_lint_sees_the_parallel_kernels() -> None:
    names = {name for name, _ in _parallel_kernels()}
    assert {"grouping.probe", "grouping.cohort_histogram", "onepass._probe_measure",
            "onepass._finish", "reoffending._measure_grouped",
            "matching.nearest_sorted"} <= names


@pytest.mark.parametrize("name,fn", _parallel_kernels(), ids=lambda v: v if isinstance(v, str)
                         else "")
def test_no_array_expression_outside_prange(name: str, fn: ast.FunctionDef) -> None:
    assert _offences(fn) == [], (
        f"{name}: array expressions outside the prange loops become parallel loops of "
        "their own (scheduled one iteration at a time under dynamic()); allocate with "
        "np.empty and fill inside the prange body, or use a serial helper such as "
        "grouping.total")


def test_the_lint_catches_the_pattern() -> None:
    bad = ast.parse(
        "@njit(cache=True, parallel=True)\n"
        "def k(a, n):\n"
        "    z = np.zeros(n)\n"
        "    for i in prange(n):\n"
        "        w = np.zeros(3)\n"
        "        z[i] = a[i].copy().sum() + w[0]\n"
        "    return z.sum()\n").body[0]
    assert isinstance(bad, ast.FunctionDef) and _is_parallel(bad)
    assert _offences(bad) == ["line 7: .sum()", "line 3: np.zeros(...)"]


def test_total_and_fixed_kernels_give_the_same_results() -> None:
    """The serial sums and the zeroing inside the prange bodies keep the results."""
    rng = np.random.default_rng(5)
    a = rng.integers(-5, 5, 1000)
    assert grouping.total(a) == int(a.sum())
    assert grouping.total(np.array([False, True, False])) == 1
    assert grouping.total(np.zeros(0, np.int64)) == 0
    ids = rng.permutation(50_000).astype(np.int64)
    part = np.empty(ids.size, np.uint16)
    for per_chunk in (0, 1, 8192):
        with dynamic(per_chunk):
            hist = grouping.cohort_histogram(ids, 6, grouping.NCHUNK, part)
        assert hist.sum() == ids.size
        assert np.array_equal(np.bincount(part, minlength=64), hist.sum(axis=0))


def test_numba_turns_a_top_level_zeros_into_a_parallel_loop() -> None:
    """The reason for the rule, checked on this Numba: the top-level ``np.zeros`` is a
    parallel loop ('zeros function' parfor), the one inside the prange body is not run
    as one (it is nested, hence serial)."""

    @numba.njit(parallel=True)
    def k(n: int) -> np.ndarray:  # pragma: no cover - compiled
        z = np.zeros(n)
        for i in numba.prange(n):
            w = np.zeros(2)
            z[i] = w[0] + i
        return z

    assert k(10)[3] == 3.0
    diag = k.get_metadata(k.signatures[0])["parfor_diagnostics"]
    patterns = [p.patterns[0][0] for p in diag.get_parfors()]
    assert patterns.count("prange") == 1 and "zeros function" in patterns
    nested = {child for kids in diag.nested_fusion_info.values() for child in kids}
    top = [p for p in diag.get_parfors() if p.id not in nested]
    assert len(top) == 2  # the zeros and the prange: what the lint above keeps out
