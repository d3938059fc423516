"""Save prepared :class:`~pbr.prepare.Histories` and load them memory-mapped.

The grouped layout is stored uncompressed so that loading costs almost nothing: each
array as a ``.npy`` file (opened with ``mmap_mode="r"``), the validated cohort and
events tables as uncompressed Arrow IPC (memory-mapped by polars), and a small JSON
file with the horizon, the event accounting and the pbr version.  Measuring loaded
histories gives exactly the results of the histories that were saved.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from pbr._engine.layout import ORDER_CHUNK_ROWS, Derived, group_custody
from pbr._version import __version__
from pbr.data import Cohort, Custody, Events, Exclusion, Exclusions
from pbr.errors import SchemaError
from pbr.period import Period
from pbr.prepare import Histories

__all__ = ["load_histories", "save_histories"]

_ARRAYS = ("index_day", "offsets", "offence_day", "disposal_day", "disposal_type",
           "offence_code", "offence_category", "court_event", "position")
_FORMAT = 1


def _ledger_to_frame(led: Exclusions) -> pl.DataFrame:
    return led.to_frame()


def _ledger_from_frame(df: pl.DataFrame) -> Exclusions:
    entries = []
    for (table, rule, reason), part in df.group_by(["table", "rule", "reason"],
                                                   maintain_order=True):
        entries.append(Exclusion(str(table), str(rule), str(reason),
                                 part["row"].to_numpy().astype(np.int64)))
    return Exclusions(tuple(entries))


def save_histories(histories: Histories, directory: str | Path) -> Path:
    """Write prepared histories to ``directory`` (created if needed).

    Examples
    --------
    >>> import tempfile, pbr
    >>> from pbr.io import save_histories, load_histories
    >>> d = pbr.synth.generate(200, seed=1)
    >>> h = pbr.prepare(d.cohort, d.events)
    >>> path = save_histories(h, tempfile.mkdtemp())
    >>> load_histories(path).measure().frame.equals(h.measure().frame)
    True
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    for name in _ARRAYS:
        np.save(out / f"{name}.npy", np.ascontiguousarray(getattr(histories, name)),
                allow_pickle=False)
    attribute, attribute_table = histories.attributes
    np.save(out / "attribute.npy", attribute, allow_pickle=False)
    np.save(out / "attribute_table.npy", attribute_table, allow_pickle=False)
    order, chunk_offsets = histories.measure_order
    np.save(out / "measure_order.npy", order, allow_pickle=False)
    np.save(out / "measure_order_chunks.npy", chunk_offsets, allow_pickle=False)
    histories.cohort.frame.write_ipc(out / "cohort.arrow", compression="uncompressed")
    histories.events.frame.write_ipc(out / "events.arrow", compression="uncompressed")
    _ledger_to_frame(histories.cohort.exclusions + histories.events.exclusions).write_ipc(
        out / "exclusions.arrow", compression="uncompressed")
    dictionaries = {k: v.to_list() for k, v in histories.dictionaries.items()}
    if histories.custody is not None:
        histories.custody.frame.write_ipc(out / "custody.arrow", compression="uncompressed")
    meta = {
        "format": _FORMAT, "pbr_version": __version__,
        "follow_up": str(histories.follow_up), "waiting_period": str(histories.waiting_period),
        "event_counts": histories.event_counts, "dictionaries": dictionaries,
        "measure_order_chunk_rows": ORDER_CHUNK_ROWS,
        "cohort": {"n_input": histories.cohort.n_input,
                   "columns": dict(histories.cohort.columns)},
        "events": {"n_input": histories.events.n_input,
                   "columns": dict(histories.events.columns)},
        "custody": None if histories.custody is None else {
            "n_input": histories.custody.n_input, "columns": dict(histories.custody.columns)},
    }
    (out / "histories.json").write_text(json.dumps(meta, indent=1, sort_keys=True))
    return out


def load_histories(directory: str | Path, *, mmap: bool = True) -> Histories:
    """Load histories written by :func:`save_histories` (arrays memory-mapped by default)."""
    src = Path(directory)
    meta_path = src / "histories.json"
    if not meta_path.exists():
        raise SchemaError(f"{src}: no histories.json; write it with pbr.io.save_histories")
    meta: dict[str, Any] = json.loads(meta_path.read_text())
    if meta.get("format") != _FORMAT:
        raise SchemaError(f"{src}: histories format {meta.get('format')} is not supported "
                          f"by pbr {__version__}; prepare the data again")
    arrays = {name: np.load(src / f"{name}.npy", mmap_mode="r" if mmap else None,
                            allow_pickle=False) for name in _ARRAYS}
    led = _ledger_from_frame(pl.read_ipc(src / "exclusions.arrow"))
    cohort_frame = pl.read_ipc(src / "cohort.arrow")
    events_frame = pl.read_ipc(src / "events.arrow")
    cohort = Cohort(cohort_frame, Exclusions(tuple(e for e in led.entries if e.table == "cohort")),
                    meta["cohort"]["n_input"], meta["cohort"]["columns"])
    events = Events(events_frame, Exclusions(tuple(e for e in led.entries if e.table == "events")),
                    meta["events"]["n_input"], meta["events"]["columns"])
    custody = None
    if meta.get("custody"):
        custody = Custody(pl.read_ipc(src / "custody.arrow"), Exclusions(),
                          meta["custody"]["n_input"], meta["custody"]["columns"])
    dictionaries = {k: pl.Series(v, dtype=pl.String) for k, v in meta["dictionaries"].items()}
    derived = Derived()
    mode: Any = "r" if mmap else None
    if (src / "attribute.npy").exists():  # saved since the attribute ids exist; without
        derived.attributes = (  # them Histories.attributes finds them on first use
            np.load(src / "attribute.npy", mmap_mode=mode, allow_pickle=False),
            np.load(src / "attribute_table.npy", allow_pickle=False))
    # the kernel's visiting order, when saved for this version's chunk size (else
    # Histories.measure_order finds it on first use)
    if ((src / "measure_order.npy").exists()
            and meta.get("measure_order_chunk_rows") == ORDER_CHUNK_ROWS):
        order = np.load(src / "measure_order.npy", mmap_mode=mode, allow_pickle=False)
        chunks = np.load(src / "measure_order_chunks.npy", allow_pickle=False)
        n_chunks = -(-arrays["index_day"].size // ORDER_CHUNK_ROWS)
        if chunks.shape != (n_chunks + 1,) or chunks[0] != 0 or chunks[-1] != order.size:
            raise SchemaError(f"{src}: measure_order.npy does not fit the saved layout "
                              "(written for other histories?); delete measure_order.npy "
                              "and measure_order_chunks.npy to rebuild it on first use")
        derived.measure_order = (order, chunks)
    return Histories(cohort, events, Period.parse(meta["follow_up"]),
                     Period.parse(meta["waiting_period"]), arrays["index_day"],
                     arrays["offsets"], arrays["offence_day"], arrays["disposal_day"],
                     arrays["disposal_type"], arrays["offence_code"],
                     arrays["offence_category"], arrays["court_event"], arrays["position"],
                     dictionaries, dict(meta["event_counts"]), custody,
                     {} if custody is None else {"custody": group_custody(cohort, custody)},
                     derived)
