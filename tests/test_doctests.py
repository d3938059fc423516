"""Every docstring example in pbr runs and prints what it shows (numpy-style examples are
part of the documentation, so they are tests too)."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

import pbr

PKG = Path(pbr.__file__).parent
MODULES = sorted(
    ".".join(p.relative_to(PKG.parent).with_suffix("").parts).removesuffix(".__init__")
    for p in PKG.rglob("*.py"))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    # no global option flags: an example that needs ELLIPSIS says so itself, so it also
    # passes under plain ``python -m doctest`` and the per-module doctest tests
    result = doctest.testmod(module)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"


def test_the_public_api_has_examples() -> None:
    """Every public function and class exported by pbr has at least one example."""
    missing = []
    for name in pbr.__all__:
        obj = getattr(pbr, name)
        if not callable(obj) or (isinstance(obj, type) and issubclass(obj, Exception)):
            continue
        if ">>>" not in (obj.__doc__ or ""):
            missing.append(name)
    assert not missing, f"public names without a docstring example: {missing}"
