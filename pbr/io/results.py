"""Results in machine formats: the summary of a :class:`~pbr.MeasureResult` as CSV or
JSON, byte-for-byte reproducibly; published per-cohort outcomes (:class:`~pbr.Outcome`)
as CSV, read and written exactly (Decimal text), for paying a contract from them; and
ledgers of payments already made (:func:`read_ledger`: an earlier ``statement.csv`` is one).

Every writer stages its file(s) with :func:`pbr.io._atomic.atomic_files`: a failed call
leaves the target as it was.
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

from pbr.contract.ledger import PaymentLedger
from pbr.contract.outcome import Outcome
from pbr.errors import ContractError, SchemaError
from pbr.io._atomic import atomic_files
from pbr.measures import MeasureResult
from pbr.spec import parse_date

__all__ = ["OUTCOME_COLUMNS", "atomic_files", "read_ledger", "read_outcomes",
           "summary_document", "write_outcomes", "write_summary"]

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

    The values are those of :meth:`~pbr.MeasureResult.summary`: ``binary_rate`` and
    ``serious_rate`` are proportions (0.2667, not 26.67), ``per_100`` reoffences per 100
    offenders; only printed text shows per cent.

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
    >>> doc = json.loads(p.read_text())
    >>> doc["overall"]["n"], 0 <= doc["overall"]["binary_rate"] <= 1
    (200, True)
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise SchemaError(f"cannot write a summary to {str(path)!r}: unknown file type "
                          f"{path.suffix or '(no suffix)'!r}; supported: .csv, .json")
    if suffix == ".json":
        text = json.dumps(summary_document(result, by=by), sort_keys=True, indent=2,
                          ensure_ascii=False, allow_nan=False)
        with atomic_files(path) as (tmp,):
            tmp.write_text(text + "\n", encoding="utf-8")
        return path
    keys = _by(by)
    table = result.summary(by=keys) if keys else result.summary()
    table = table.with_columns(
        pl.col(c).round_sig_figs(_SIGNIFICANT) for c, t in table.schema.items() if t.is_float())
    table = table.with_columns(pl.col(c).cast(pl.String) for c, t in table.schema.items()
                               if isinstance(t, pl.Categorical | pl.Enum))
    with atomic_files(path) as (tmp,):
        table.write_csv(tmp, date_format="%Y-%m-%d", line_terminator="\n")
    return path


# --------------------------------------------------------------------------- outcomes
#: the columns of an outcomes file: :class:`~pbr.Outcome`'s fields, required ones first;
#: ``counts`` is a JSON object (``{"offenders": "41"}``), ``provisional`` true or false
OUTCOME_COLUMNS = ("cohort", "measure", "actual", "comparator", "n", "base_n", "lower",
                   "upper", "start", "year", "source", "unit_name", "counts", "provisional",
                   "subgroup")
_REQUIRED = OUTCOME_COLUMNS[:5]


def _outcome(path: Path, i: int, row: Mapping[str, str | None]) -> Outcome:
    where = f"outcomes file {str(path)!r}, row {i} (line {i + 1})"
    value = {k: (v.strip() if isinstance(v, str) else None) for k, v in row.items()}
    value = {k: (v if v else None) for k, v in value.items()}
    for k in _REQUIRED:
        if value.get(k) is None:
            raise SchemaError(f"{where}: column {k!r} is empty; every outcome needs "
                              f"{', '.join(_REQUIRED)}")
    kw: dict[str, Any] = {k: v for k, v in value.items() if v is not None}
    for k in ("n", "base_n"):
        if k in kw:
            text = str(kw[k]).replace(",", "")
            if not text.isdigit():
                raise SchemaError(f"{where}: column {k!r} must be a whole number of "
                                  f"people, got {kw[k]!r}")
            kw[k] = int(text)
    if "start" in kw:
        try:
            kw["start"] = parse_date(str(kw["start"]))
        except ValueError:
            raise SchemaError(f"{where}: column 'start' must be an ISO date (YYYY-MM-DD), "
                              f"got {kw['start']!r}") from None
    if "provisional" in kw:
        flag = str(kw["provisional"]).lower()
        if flag not in ("true", "false"):
            raise SchemaError(f"{where}: column 'provisional' must be true or false, got "
                              f"{kw['provisional']!r}")
        kw["provisional"] = flag == "true"
    if "counts" in kw:
        try:
            counts = json.loads(str(kw["counts"]))
        except json.JSONDecodeError:
            counts = None
        if not isinstance(counts, dict):
            raise SchemaError(f"{where}: column 'counts' must be a JSON object such as "
                              f'{{"offenders": "41"}}, got {kw["counts"]!r}')
        kw["counts"] = tuple(counts.items())
    try:
        return Outcome(**kw)
    except ContractError as exc:
        raise SchemaError(f"{where}: {exc}") from None


def read_outcomes(path: str | Path) -> tuple[Outcome, ...]:
    """Read published per-cohort outcomes from a CSV file, exactly.

    One row per cohort and measure, with the columns of :data:`OUTCOME_COLUMNS` (the
    fields of :class:`~pbr.Outcome`): ``cohort``, ``measure``, ``actual``,
    ``comparator`` and ``n`` are required; ``base_n``, ``lower``, ``upper``, ``start``
    (ISO date), ``year``, ``source``, ``unit_name``, ``counts`` (a JSON object) and
    ``provisional`` (true or false: an interim figure) may be given or left empty, and
    ``subgroup`` (a subgroup component's label, e.g. ``sex=F``; empty for the whole
    cohort).  Numbers are read as text into ``Decimal`` (never through a float), so ``24.390244``
    stays ``24.390244``.

    Raises
    ------
    SchemaError
        The file is missing, empty, not UTF-8 CSV, lacks a required column, has a column
        that is not an outcome field (a typo would otherwise be ignored), holds no rows,
        lists a cohort and measure twice, or has a value that is not valid for its field
        (the message names the row, the column and the value).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "outcomes.csv"
    >>> _ = p.write_text("cohort,measure,actual,comparator,n\\n2019Q1,binary_rate,24.39,28.0,41\\n")
    >>> read_outcomes(p)[0].reduction
    Decimal('3.61')
    """
    path = Path(path)
    if not path.is_file():
        raise SchemaError(f"outcomes file {str(path)!r} does not exist (or is not a file); "
                          "check the path")
    if path.suffix.lower() != ".csv":
        raise SchemaError(f"outcomes file {str(path)!r}: expected a .csv file (columns "
                          f"{', '.join(OUTCOME_COLUMNS)}), got {path.suffix or 'no suffix'!r}")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SchemaError(f"outcomes file {str(path)!r} is not UTF-8 text (byte "
                          f"{exc.start}); save it as UTF-8 CSV") from None
    if not text.strip():
        raise SchemaError(f"outcomes file {str(path)!r} is empty; it needs a header row "
                          f"({', '.join(_REQUIRED)}, ...) and one row per cohort and measure")
    try:
        frame = pl.read_csv(text.encode(), infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        raise SchemaError(f"outcomes file {str(path)!r} is not a readable CSV file: "
                          f"{str(exc).splitlines()[0]}") from None
    columns = [c.strip() for c in frame.columns]
    frame.columns = columns
    unknown = [c for c in columns if c not in OUTCOME_COLUMNS]
    if unknown:
        raise SchemaError(f"outcomes file {str(path)!r}: unknown column(s) "
                          f"{', '.join(map(repr, unknown))}; the columns are "
                          f"{', '.join(OUTCOME_COLUMNS)}")
    missing = [c for c in _REQUIRED if c not in columns]
    if missing:
        raise SchemaError(f"outcomes file {str(path)!r}: missing column(s) "
                          f"{', '.join(map(repr, missing))}; found {', '.join(columns)}")
    if frame.height == 0:
        raise SchemaError(f"outcomes file {str(path)!r} has a header but no rows; give "
                          "one row per cohort and measure")
    out = tuple(_outcome(path, i, row) for i, row in enumerate(frame.iter_rows(named=True), 1))
    seen: dict[tuple[str, str, str | None], int] = {}
    for i, o in enumerate(out, 1):
        key = (o.cohort, o.measure, o.subgroup)
        if key in seen:
            raise SchemaError(f"outcomes file {str(path)!r}: rows {seen[key]} and {i} both "
                              f"give cohort {o.cohort!r}, measure {o.measure!r}"
                              + (f", subgroup {o.subgroup!r}" if o.subgroup else "")
                              + "; keep one")
        seen[key] = i
    return out


def _field(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, _dt.date):
        return value.isoformat()
    return str(value)


def write_outcomes(outcomes: Sequence[Outcome], path: str | Path) -> Path:
    """Write outcomes as the CSV :func:`read_outcomes` reads back equal (exact Decimals).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from pbr.contract import Outcome
    >>> o = Outcome("2019Q1", "binary_rate", actual="24.390244", comparator=28, n=41)
    >>> p = write_outcomes([o], pathlib.Path(tempfile.mkdtemp()) / "outcomes.csv")
    >>> read_outcomes(p) == (o,)
    True
    """
    path = Path(path)
    rows = []
    for o in outcomes:
        row = {c: _field(getattr(o, c)) for c in OUTCOME_COLUMNS
               if c not in ("counts", "provisional")}
        row["counts"] = json.dumps(dict(o.counts), sort_keys=False) if o.counts else ""
        row["provisional"] = "true" if o.provisional else "false"
        rows.append(row)
    frame = pl.DataFrame(rows, schema=dict.fromkeys(OUTCOME_COLUMNS, pl.String),
                         orient="row") if rows else pl.DataFrame(
        schema=dict.fromkeys(OUTCOME_COLUMNS, pl.String))
    with atomic_files(path) as (tmp,):
        frame.write_csv(tmp, line_terminator="\n")
    return path


def read_ledger(*paths: str | Path) -> PaymentLedger:
    """Read one or more ledgers of payments already made (every column as text, exact).

    Columns ``cohort, year, component, amount, kind`` (and optionally ``provisional``);
    other columns are ignored, so an earlier run's ``statement.csv`` is a ledger as it is
    (docs/methodology/payments.md, "Payments across runs").

    Parameters
    ----------
    paths
        CSV files, read in order and added together.

    Returns
    -------
    PaymentLedger

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = Path(tmp) / "paid.csv"
    ...     _ = p.write_text("cohort,year,component,amount,kind\\n"
    ...                      "2019Q1,2019,binary,1200.50,component\\n")
    ...     ledger = read_ledger(p)
    >>> ledger.total, ledger.cohorts
    (Decimal('1200.50'), ('2019Q1',))
    """
    out = PaymentLedger()
    for path in paths:
        p = Path(path)
        if not p.is_file():
            raise ContractError(f"prior: the ledger file {str(p)!r} does not exist")
        try:
            df = pl.read_csv(p, infer_schema=False)
        except (pl.exceptions.PolarsError, UnicodeDecodeError) as exc:
            raise ContractError(f"prior: cannot read the ledger {str(p)!r} as CSV: "
                                f"{exc}") from None
        out = out + PaymentLedger.from_frame(df, source=f"prior {p.name}")
    return out
