"""The scripts in examples/ run, and raise no pbr warning: an example shows inputs pbr
can read as meant (a data extract date given as ``as_of``, vocabularies that match)."""

from __future__ import annotations

import runpy
import warnings
from pathlib import Path

import pytest

from pbr.errors import PbrWarning

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", PbrWarning)
        namespace = runpy.run_path(str(path))
        if "main" in namespace:
            namespace["main"]()
