"""Write results in machine formats: the summary of a :class:`~pbr.MeasureResult` as CSV
or JSON, byte-for-byte reproducibly.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from pbr.errors import SchemaError
from pbr.measures import MeasureResult

__all__ = ["summary_document", "write_summary"]

_SIGNIFICANT = 12  # floats are written with 12 significant digits: stable across engines


def _float(x: float) -> float | None:
    if math.isnan(x) or math.isinf(x):
        return None
    return float(f"{x:.{_SIGNIFICANT}g}")


def _plain(value: Any) -> Any:
    """JSON-ready values: ISO dates, rounded floats (NaN -> null), lists, sorted dicts."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, _dt.date | _dt.datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence):
        return [_plain(v) for v in value]
    return str(value)


def _rows(df: pl.DataFrame) -> list[dict[str, Any]]:
    return [_plain(row) for row in df.iter_rows(named=True)]


def _by(by: str | Sequence[str] | None) -> list[str]:
    return [by] if isinstance(by, str) else list(by or [])


def summary_document(result: MeasureResult, *, by: str | Sequence[str] | None = None
                     ) -> dict[str, Any]:
    """The JSON document :func:`write_summary` writes, as plain Python values.

    Keys: ``spec`` (the spec's fields, dates as ISO text), ``by`` (the grouping columns),
    ``summary`` (one object per group; the overall summary when ``by`` is empty),
    ``overall``, ``exclusions`` (one object per table and rule with its count), ``notes``
    and ``provenance``.

    Examples
    --------
    >>> import pbr
    >>> data = pbr.synth.generate(200, seed=1)
    >>> res = pbr.measure(data.cohort, data.events)
    >>> sorted(summary_document(res))
    ['by', 'exclusions', 'notes', 'overall', 'provenance', 'spec', 'summary']
    """
    keys = _by(by)
    overall = result.summary()
    return {
        "spec": _plain(result.spec.to_dict()),
        "by": keys,
        "summary": _rows(result.summary(by=keys) if keys else overall),
        "overall": _rows(overall)[0],
        "exclusions": _rows(result.exclusions.counts()),
        "notes": list(result.notes),
        "provenance": _plain(result.provenance),
    }


def write_summary(result: MeasureResult, path: str | Path, *,
                  by: str | Sequence[str] | None = None) -> Path:
    """Write a result's summary as CSV (the summary table) or JSON (the full record).

    Parameters
    ----------
    result
        A :class:`~pbr.MeasureResult`.
    path
        ``.csv`` for the summary table (one row per group), ``.json`` for the document
        described in :func:`summary_document`: keys sorted, floats to 12 significant
        digits, two-space indentation, so the same result always gives the same bytes.
    by
        Grouping column(s) of the per-offender frame, e.g. ``"provider"``.

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import json, tempfile, pathlib, pbr
    >>> data = pbr.synth.generate(200, seed=1)
    >>> res = pbr.measure(data.cohort, data.events)
    >>> p = write_summary(res, pathlib.Path(tempfile.mkdtemp()) / "summary.json")
    >>> json.loads(p.read_text())["overall"]["n"]
    200
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise SchemaError(f"cannot write a summary to {str(path)!r}: unknown file type "
                          f"{path.suffix or '(no suffix)'!r}; supported: .csv, .json")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".json":
        text = json.dumps(summary_document(result, by=by), sort_keys=True, indent=2,
                          ensure_ascii=False, allow_nan=False)
        path.write_text(text + "\n", encoding="utf-8")
        return path
    keys = _by(by)
    table = result.summary(by=keys) if keys else result.summary()
    table = table.with_columns(
        pl.col(c).round_sig_figs(_SIGNIFICANT) for c, t in table.schema.items() if t.is_float())
    table = table.with_columns(pl.col(c).cast(pl.String) for c, t in table.schema.items()
                               if isinstance(t, pl.Categorical | pl.Enum))
    table.write_csv(path, date_format="%Y-%m-%d", line_terminator="\n")
    return path
