"""The rows of the benchmark table: pbr's three paths and the pandas/polars/DuckDB baselines.

Each :class:`Impl` has ``load`` (native inputs from the Parquet cache; untimed),
``compute`` (the timed step, on those inputs) and ``e2e`` (read the Parquet files and
compute; timed in a fresh process by :mod:`benchmarks._e2e`).
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from benchmarks import _baselines as bl
from benchmarks._data import EVENT_COLUMNS, read_weights

ORDER = ("pbr", "pbr_kernel", "pbr_polars", "pandas", "polars", "duckdb")
LABELS = {
    "pbr": "pbr, default engine (pbr.measure, one call: validate + fused join and measure)",
    "pbr_kernel": "pbr, kernel only (Histories prepared)",
    "pbr_polars": "pbr, polars reference engine",
    "pandas": "pandas (drop_duplicates + merge + filter + groupby + merge)",
    "polars": "polars (lazy unique + join + filter + group_by + join)",
    "duckdb": "DuckDB (one SQL query, SELECT DISTINCT events)",
}
PBR_IMPLS = ("pbr", "pbr_kernel", "pbr_polars")

# Names under which pbr may expose the kernel-only step, tried in order: a Histories
# method taking the spec, or a function in pbr / pbr.measures taking (histories, spec).
# Without one, the row times the public ``Histories.measure(spec)`` (kernel + assembling
# the result frame); the private ``pbr.measures._kernel`` (arrays out) is then timed on
# the side, as the raw kernel.
_KERNEL_METHODS = ("measure_kernel", "kernel", "run_kernel", "measure_arrays")
_KERNEL_FUNCTIONS = ("measure_kernel", "kernel_only", "run_kernel", "measure_arrays")
_RAW_KERNEL = ("pbr.measures", "_kernel")
# Histories fields the reoffending kernel streams through (for the kernel's floor).
KERNEL_ARRAYS = ("order", "index_day", "offsets", "offence_day", "disposal_day",
                 "disposal_type", "offence_code", "offence_category")


@dataclass(frozen=True)
class Impl:
    name: str
    load: Callable[[Path], Any]
    compute: Callable[[Any], Any]
    e2e: Callable[[Path], Any] | None
    #: untimed: turn compute's output into something :func:`canonical` reads
    finish: Callable[[Any, Any], Any] = lambda inputs, out: out
    #: untimed: the same for e2e's output
    finish_e2e: Callable[[Any], Any] = lambda out: out

    @property
    def label(self) -> str:
        return LABELS[self.name]


# ---------------------------------------------------------------------------- pbr
def pbr_status() -> str:
    """'' when pbr.measure, pbr.prepare and pbr.MeasureSpec import; else the reason."""
    try:
        pbr = importlib.import_module("pbr")
    except Exception as exc:  # pragma: no cover - depends on the tree
        return f"import pbr failed: {exc!r}"
    missing = [n for n in ("measure", "prepare", "MeasureSpec") if not hasattr(pbr, n)]
    return f"pbr has no {', '.join(missing)} yet" if missing else ""


def pbr_spec(weights: dict[str, float]) -> Any:
    import pbr

    return pbr.MeasureSpec(severity_weights=weights)


def kernel_only(histories: Any, spec: Any) -> tuple[Callable[[], Any], str]:
    """A zero-argument callable running only pbr's kernel, and how it was found."""
    for name in _KERNEL_METHODS:
        fn = getattr(histories, name, None)
        if callable(fn):
            return functools.partial(fn, spec), f"Histories.{name}(spec)"
    for modname in ("pbr", "pbr.measures"):
        try:
            mod = importlib.import_module(modname)
        except Exception:
            continue
        for name in _KERNEL_FUNCTIONS:
            fn = getattr(mod, name, None)
            if callable(fn):
                return functools.partial(fn, histories, spec), f"{modname}.{name}(histories, spec)"
    return functools.partial(histories.measure, spec), "Histories.measure(spec)"


def raw_kernel(histories: Any, spec: Any) -> tuple[Callable[[], Any], str] | None:
    """pbr's private array-level kernel call, if present (timed beside the public row)."""
    modname, name = _RAW_KERNEL
    try:
        fn = getattr(importlib.import_module(modname), name)
    except (ImportError, AttributeError):
        return None
    return functools.partial(fn, histories, spec), f"{modname}.{name}(histories, spec)"


def _pbr_inputs(d: Path) -> tuple[pl.DataFrame, pl.DataFrame, Any]:
    d = Path(d)
    cohort = pl.read_parquet(d / "cohort.parquet")
    events = pl.read_parquet(d / "events.parquet", columns=list(EVENT_COLUMNS))
    return cohort, events, pbr_spec(read_weights(d))


def _pbr_compute(engine: str | None) -> Callable[[Any], Any]:
    def run(inputs: Any) -> Any:
        import pbr

        cohort, events, spec = inputs
        if engine is None:
            return pbr.measure(cohort, events, spec)
        return pbr.measure(cohort, events, spec, engine=engine)
    return run


def _pbr_e2e(engine: str | None) -> Callable[[Path], Any]:
    compute = _pbr_compute(engine)
    return lambda d: compute(_pbr_inputs(d))


def _kernel_load(d: Path) -> Any:
    import pbr

    cohort, events, spec = _pbr_inputs(d)
    histories = pbr.prepare(cohort, events, horizon=spec)
    fn, how = kernel_only(histories, spec)
    return {"histories": histories, "spec": spec, "run": fn, "how": how,
            "raw": None if how != "Histories.measure(spec)" else raw_kernel(histories, spec)}


def reused_outputs(inputs: dict[str, Any], out: Any) -> tuple[Callable[[], Any], str] | None:
    """The kernel-only call writing into the arrays ``out`` of an earlier call, when
    ``Histories.measure_arrays`` takes ``out=`` (None otherwise)."""
    fn = getattr(inputs["histories"], "measure_arrays", None)
    if not (isinstance(out, dict) and callable(fn)
            and "out" in inspect.signature(fn).parameters):
        return None
    return (functools.partial(fn, inputs["spec"], out=out),
            "Histories.measure_arrays(spec, out=<arrays of an earlier call>)")


def kernel_frame(histories: Any, out: Any) -> Any:
    """The kernel-only output as a per-offender frame (its arrays are in cohort order)."""
    if not isinstance(out, dict):
        return out
    first = pl.Series(out["days_to_first"]).cast(pl.Int64)
    return pl.DataFrame({
        "offender_id": histories.cohort.frame["offender_id"],
        "reoffended": pl.Series(out["reoffences"]) > 0,
        "reoffences": pl.Series(out["reoffences"]).cast(pl.Int64),
        "severity": pl.Series(out["severity"]),
        "days_to_first": first.set(first < 0, None),
    })


def histories_io() -> tuple[Callable[..., Any], Callable[..., Any]] | None:
    """(save, load) of prepared Histories, if pbr offers them (for the kernel's e2e)."""
    try:
        pbr = importlib.import_module("pbr")
    except Exception:  # pragma: no cover
        return None
    for modname in ("pbr.io", "pbr"):
        try:
            mod = importlib.import_module(modname)
        except Exception:
            continue
        for save_name, load_name in (("save_histories", "load_histories"),
                                     ("write_histories", "read_histories")):
            save = getattr(mod, save_name, None)
            load = getattr(mod, load_name, None)
            if callable(save) and callable(load):
                return save, load
    hist = getattr(pbr, "Histories", None)
    if hist is not None and callable(getattr(hist, "load", None)) and \
            callable(getattr(hist, "save", None)):
        return (lambda h, path: h.save(path)), hist.load
    return None


def histories_path(d: Path) -> Path:
    return Path(d) / "histories"


def _kernel_e2e(d: Path) -> Any:
    io = histories_io()
    if io is None:
        raise RuntimeError("pbr offers no way to load saved Histories")
    histories = io[1](histories_path(d))
    spec = pbr_spec(read_weights(d))
    fn, _ = kernel_only(histories, spec)
    return histories, fn()


# ---------------------------------------------------------------------------- baselines
def _duckdb_load(d: Path) -> Any:
    con = bl.duckdb_connect()
    bl.duckdb_load(con, d)
    return con


def _duckdb_e2e(d: Path) -> Any:
    return bl.duckdb_e2e(bl.duckdb_connect(), d)


IMPLS: dict[str, Impl] = {
    "pbr": Impl("pbr", _pbr_inputs, _pbr_compute(None), _pbr_e2e(None)),
    "pbr_kernel": Impl("pbr_kernel", _kernel_load, lambda x: x["run"](), _kernel_e2e,
                       lambda x, out: kernel_frame(x["histories"], out),
                       lambda out: kernel_frame(*out)),
    "pbr_polars": Impl("pbr_polars", _pbr_inputs, _pbr_compute("polars"), _pbr_e2e("polars")),
    "pandas": Impl("pandas", bl.pandas_read, lambda x: bl.pandas_measure(*x),
                   lambda d: bl.pandas_measure(*bl.pandas_read(d))),
    "polars": Impl("polars", bl.polars_read, lambda x: bl.polars_measure(*x), bl.polars_e2e),
    "duckdb": Impl("duckdb", _duckdb_load, bl.duckdb_measure, _duckdb_e2e),
}
