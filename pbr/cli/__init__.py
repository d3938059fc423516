"""The ``pbr`` command line: parses arguments, calls the public API, prints reports.

One module per group of commands; importing it registers its commands on :data:`app`.
``pbr --version`` prints the version.  The CLI holds no logic of its own.
"""

from __future__ import annotations

from pbr.cli import cohort as _cohort  # noqa: F401  (registers cohort, synth-disposals)
from pbr.cli import compare as _compare  # noqa: F401  (registers compare, power)
from pbr.cli import database as _database  # noqa: F401  (registers extract, store)
from pbr.cli import finance as _finance  # noqa: F401  (registers finance)
from pbr.cli import local as _local  # noqa: F401  (registers attribute, double-claims, crime-change, area-report, iom)
from pbr.cli import measure as _measure  # noqa: F401  (registers measure, synth, demo, presets)
from pbr.cli import pay as _pay  # noqa: F401  (registers pay, verify)
from pbr.cli import privacy as _privacy  # noqa: F401  (registers pseudonymise)
from pbr.cli import report as _report  # noqa: F401  (registers report)
from pbr.cli import schemes as _schemes  # noqa: F401  (registers schemes)
from pbr.cli import simulate as _simulate  # noqa: F401  (registers simulate)
from pbr.cli._app import app

__all__ = ["app"]

if __name__ == "__main__":  # pragma: no cover
    app()
