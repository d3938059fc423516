"""The version and the distribution of pbr, each in one place.

``__version__`` is the one version: ``pyproject.toml`` reads it (setuptools' dynamic
``attr``), ``pbr.__version__`` re-exports it, and provenance records and manifests write
it.  The distribution (what ``pip install`` names) is :data:`DISTRIBUTION`; the import
package stays ``pbr``.

``pbr`` on the Python Package Index is another, widely installed project (OpenStack's
Python Build Reasonableness, a setuptools plugin) that also installs a top-level ``pbr``
package: the two cannot share an environment, since each overwrites the other's files.
:func:`check_distribution` refuses to import where that has happened.
"""

from __future__ import annotations

import importlib.metadata

__all__ = ["DISTRIBUTION", "SUMMARY", "__version__", "check_distribution"]

__version__ = "0.1.0"

#: The distribution name: ``pip install pbr-reoffending`` (``pbr`` is another project).
DISTRIBUTION = "pbr-reoffending"

#: The start of this project's summary in its package metadata, which tells an earlier
#: install of this project (under the old distribution name ``pbr``) from another one.
SUMMARY = "Payment-by-results contract analytics for offender rehabilitation"


def check_distribution(name: str = "pbr") -> None:
    """Refuse a ``pbr`` package shared with another project's distribution of that name.

    The distribution called ``name`` (``pbr``, the name the other project publishes
    under) is looked up by name, which costs well under a millisecond;
    ``importlib.metadata.packages_distributions()`` would find a renamed fork too, but
    reads every installed distribution's file list on each import (about 0.1 s).  An
    earlier install of this project under the name ``pbr`` (its summary is
    :data:`SUMMARY`) is not another project and passes.

    Parameters
    ----------
    name
        The distribution name to look for.

    Raises
    ------
    ImportError
        Another project's distribution installs the ``pbr`` package in this environment;
        the message names it and the fix (an environment of its own for each).

    Examples
    --------
    >>> check_distribution("a-distribution-that-is-not-installed")
    """
    try:
        dist = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return
    summary = (dist.metadata.get_all("Summary") or [""])[0]
    if summary.startswith(SUMMARY):
        return
    other = f"{(dist.metadata.get_all('Name') or [name])[0]} {dist.version}"
    raise ImportError(
        f"the 'pbr' package in this environment is shared with another project: {other} "
        f"({summary or 'no summary'}) installs a top-level 'pbr' package too, so the two "
        f"overwrite each other's files and neither can be trusted. Fix: install "
        f"{DISTRIBUTION} in an environment of its own (python -m venv .venv && "
        f".venv/bin/pip install {DISTRIBUTION}), and keep {other.split()[0]} in another")
