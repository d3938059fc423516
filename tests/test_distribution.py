"""The distribution is ``pbr-reoffending`` (``pbr`` on the package index is another
project), the version is set in one place, and ``import pbr`` refuses an environment
where another project's distribution installs the ``pbr`` package too."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import pbr
from pbr import _version

ROOT = Path(__file__).resolve().parents[1]


def _dist_info(where: Path, name: str, version: str, summary: str) -> None:
    info = where / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                                   f"Summary: {summary}\n", encoding="utf-8")


def test_pyproject_names_the_distribution_and_reads_the_one_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["name"] == _version.DISTRIBUTION == "pbr-reoffending"
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "pbr._version.__version__"}
    assert project["project"]["scripts"]["pbr"] == "pbr.cli:app"
    assert project["project"]["description"].startswith(_version.SUMMARY)
    assert pbr.__version__ is _version.__version__


def test_no_module_sets_a_version_of_its_own() -> None:
    setters = []
    for path in (ROOT / "pbr").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets):
                setters.append(path.relative_to(ROOT).as_posix())
    assert setters == ["pbr/_version.py"]


def test_another_projects_pbr_distribution_is_refused(tmp_path: Path) -> None:
    _dist_info(tmp_path, "pbr", "7.1.3", "Python Build Reasonableness")
    sys.path.insert(0, str(tmp_path))
    try:
        with pytest.raises(ImportError) as caught:
            _version.check_distribution()
    finally:
        sys.path.remove(str(tmp_path))
    text = str(caught.value)
    assert "pbr 7.1.3 (Python Build Reasonableness)" in text
    assert "pip install pbr-reoffending" in text and "environment of its own" in text


def test_an_earlier_install_of_this_project_as_pbr_passes(tmp_path: Path) -> None:
    _dist_info(tmp_path, "pbr", "0.0.9", _version.SUMMARY + ": measures and payments.")
    sys.path.insert(0, str(tmp_path))
    try:
        _version.check_distribution()
    finally:
        sys.path.remove(str(tmp_path))
    _version.check_distribution("a-distribution-that-is-not-installed")


def test_import_pbr_fails_beside_the_other_project(tmp_path: Path) -> None:
    _dist_info(tmp_path, "pbr", "7.1.3", "Python Build Reasonableness")
    code = (f"import sys; sys.path.insert(0, {str(tmp_path)!r}); "
            f"sys.path.insert(1, {str(ROOT)!r}); import pbr")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)
    assert res.returncode != 0
    assert "ImportError" in res.stderr and "Python Build Reasonableness" in res.stderr
