"""ruff and mypy --strict stay clean on the package (skipped where the tools are absent)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, check=False)


def test_ruff_clean() -> None:
    pytest.importorskip("ruff")
    if shutil.which("ruff") is None and _run("ruff", "--version").returncode:
        pytest.skip("ruff not runnable")
    res = _run("ruff", "check", "pbr", "tests", "benchmarks", "examples")
    assert res.returncode == 0, res.stdout + res.stderr


def test_mypy_strict_clean() -> None:
    pytest.importorskip("mypy")
    res = _run("mypy", "--strict", "pbr")
    assert res.returncode == 0, res.stdout + res.stderr
