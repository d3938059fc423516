"""Proven-reoffending measures: :func:`measure` and :class:`MeasureResult`.

Per offender (docs/methodology/measures.md, section "Measures"):

=================  =====================================================================
column             meaning
=================  =====================================================================
reoffended         at least one proven reoffence (the binary measure, M1)
reoffences         number of proven reoffences in the counting unit (frequency, M2)
severity           sum of the severity weights of qualifying offences (M3); null when
                   the spec has no weight table
serious            any qualifying offence on the serious list (M4); null without a list
days_to_first      days from the index date to the first proven reoffence (M5); null if
                   none
custody_days       days in custody within the follow-up window (M6), with a custody table
window_complete    False for interim measurement of an incomplete window
=================  =====================================================================
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import polars as pl

from pbr import _measure_checks, _reference, _scratch
from pbr._kernels import ROWS_PER_CHUNK, dynamic, rules
from pbr._kernels import reoffending as kern
from pbr._kernels.calendar import MONTH_START
from pbr.data import (
    ROW,
    Cohort,
    Custody,
    Events,
    Exclusion,
    Exclusions,
    align_custody,
    check_id_types,
    each_piece,
)
from pbr.errors import EngineError, SeverityError, SpecError
from pbr.period import NULL_DAY, date_to_day
from pbr.spec import MeasureSpec, preset

__all__ = ["ENGINES", "MeasureResult", "measure"]

ENGINES = ("numba", "polars")
MEASURE_COLUMNS = ("reoffended", "reoffences", "severity", "serious", "days_to_first",
                   "custody_days", "window_complete")


def _version() -> str:
    from pbr._version import __version__

    return __version__


def _spec(spec: MeasureSpec | str | None) -> MeasureSpec:
    if spec is None:
        return MeasureSpec()
    if isinstance(spec, str):
        return preset(spec)
    if not isinstance(spec, MeasureSpec):
        raise SpecError(f"spec: expected a MeasureSpec or a preset name, got {spec!r}")
    return spec


def _frame_fingerprint(df: pl.DataFrame) -> str:
    """SHA-256 over the frame's column names, types and values, in row order.

    Stable across polars versions: numeric and date columns hash their little-endian
    values and validity, text columns their UTF-8 bytes and lengths.
    """
    h = hashlib.sha256()
    h.update(f"{df.height}\n".encode())
    for name in df.columns:
        s = df[name]
        h.update(f"{name}:{s.dtype.base_type()}\n".encode())
        if isinstance(s.dtype, pl.Categorical | pl.Enum) or s.dtype == pl.String:
            text = s.cast(pl.String)
            lengths = text.str.len_bytes().fill_null(-1).to_numpy()
            h.update(np.ascontiguousarray(lengths.astype("<i8")).tobytes())
            h.update(text.fill_null("").str.join("").item().encode())
        else:
            phys = s.to_physical()
            h.update(np.ascontiguousarray(phys.is_null().to_numpy()).tobytes())
            vals = phys.fill_null(0).to_numpy()
            h.update(np.ascontiguousarray(vals.astype(vals.dtype.newbyteorder("<"))).tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class MeasureResult:
    """Per-offender measures with the spec, the exclusions and the provenance.

    Attributes
    ----------
    frame
        One row per measured offender, in cohort order: the cohort's columns and the
        measure columns (see the module docstring).
    spec
        The MeasureSpec applied.
    exclusions
        Ledger of input rows left out (invalid rows, offenders not measurable).
    notes
        Warnings raised while measuring, kept in the record.
    event_counts
        Accounting of every event row (numba engine): input = invalid +
        outside_all_windows + not_in_cohort + outside_offender_window + kept.
    vocabulary
        Rows per ``disposal_type`` value of the events (``disposal_type``, ``rows``) and
        whether it proves an offence under ``spec.proof_types`` (``proves``); values
        that prove none are also listed in ``notes`` (rule P4).
    coverage
        The data extract's end as the measure took it: ``extract_end`` (a date),
        ``source`` (``"as_of"`` or ``"last disposal date"``, rule A3) and, without
        ``as_of``, ``open_windows``: offenders whose windows close after it.

    Examples
    --------
    >>> import pbr
    >>> data = pbr.synth.generate(300, seed=2)
    >>> res = pbr.measure(data.cohort, data.events, pbr.preset("moj_national_2017"))
    >>> int(res.summary()["n"][0])
    300
    """

    frame: pl.DataFrame
    spec: MeasureSpec
    engine: str
    exclusions: Exclusions = field(default_factory=Exclusions)
    notes: tuple[str, ...] = ()
    event_counts: dict[str, int] = field(default_factory=dict)
    vocabulary: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema={"disposal_type": pl.String,
                                                     "rows": pl.Int64, "proves": pl.Boolean}),
        compare=False)
    coverage: dict[str, Any] = field(default_factory=dict, compare=False)
    _cohort: Cohort | None = field(default=None, repr=False, compare=False)
    _events: Events | None = field(default=None, repr=False, compare=False)
    _custody: Custody | None = field(default=None, repr=False, compare=False)

    # ------------------------------------------------------------------ conversions
    def to_frame(self) -> pl.DataFrame:
        """The per-offender frame (polars)."""
        return self.frame

    def to_pandas(self) -> Any:
        """The per-offender frame as a pandas DataFrame."""
        return self.frame.to_pandas()

    # ------------------------------------------------------------------ summaries
    def summary(self, by: str | list[str] | None = None) -> pl.DataFrame:
        """Cohort-level measures, overall or per group.

        Columns: n, reoffenders, binary_rate (a proportion, 0 to 1), reoffences,
        per_offender, per_reoffender, per_100 (reoffences per 100 offenders),
        severity_total, severity_per_offender, serious_rate (a proportion of offenders),
        mean_days_to_first, median_days_to_first, and custody_days / per offender when
        measured.  Rates are proportions here and in every pbr API and result; per cent
        appears only in printed text (``str(result)``), labelled "(%)".  Groups are
        sorted by their keys.

        Examples
        --------
        >>> import pbr
        >>> data = pbr.synth.generate(300, seed=2)
        >>> s = pbr.measure(data.cohort, data.events).summary().row(0, named=True)
        >>> s["binary_rate"] == s["reoffenders"] / s["n"]
        True
        """
        keys = [by] if isinstance(by, str) else list(by or [])
        for k in keys:
            if k not in self.frame.columns:
                raise SpecError(f"summary(by=...): no column {k!r}; columns: "
                                f"{', '.join(self.frame.columns)}")
        n = pl.len().cast(pl.Int64)
        reoffenders = pl.col("reoffended").sum().cast(pl.Int64)
        reoffences = pl.col("reoffences").sum().cast(pl.Int64)
        aggs = [
            n.alias("n"),
            reoffenders.alias("reoffenders"),
            (reoffenders / n).alias("binary_rate"),
            reoffences.alias("reoffences"),
            (reoffences / n).alias("per_offender"),
            pl.when(reoffenders > 0).then(reoffences / reoffenders).otherwise(None)
            .alias("per_reoffender"),
            (100.0 * reoffences / n).alias("per_100"),
            pl.when(pl.col("severity").is_not_null().any()).then(pl.col("severity").sum())
            .otherwise(None).alias("severity_total"),
            pl.col("severity").mean().alias("severity_per_offender"),
            pl.col("serious").cast(pl.Float64).mean().alias("serious_rate"),
            pl.col("days_to_first").cast(pl.Float64).mean().alias("mean_days_to_first"),
            pl.col("days_to_first").cast(pl.Float64).median().alias("median_days_to_first"),
        ]
        if "custody_days" in self.frame.columns:
            aggs += [pl.col("custody_days").sum().alias("custody_days"),
                     pl.col("custody_days").mean().alias("custody_days_per_offender")]
        if not keys:
            return self.frame.select(aggs)
        return self.frame.group_by(keys).agg(aggs).sort(keys, nulls_last=True)

    # ------------------------------------------------------------------ explain
    def explain(self, offender_id: Any) -> str:
        """Why an offender counts what they count: every event with its reason.

        Uses the polars reference engine (the kernel's twin) on that offender only.
        """
        if self._cohort is None or self._events is None:
            raise SpecError("explain() needs the inputs; this result was built without them")
        c = self._cohort.frame.filter(pl.col("offender_id") == offender_id)
        if c.height == 0:
            raise SpecError(f"offender {offender_id!r} is not in the cohort")
        ev = self._events.frame.filter(pl.col("offender_id") == offender_id)
        reasons = _reference.event_reasons(c, ev, self.spec).sort(
            ["offence_date", "disposal_date", "row"])
        row = self.frame.filter(pl.col("offender_id") == offender_id)
        w = _reference.windows(c, self.spec).row(0, named=True)
        lines = [f"offender {offender_id}: index date {w['index_date']}; offences "
                 f"{w['lo']} to {w['hi']} count if proven by {w['dlast']} "
                 f"({self.spec.name}: {self.spec.follow_up} follow-up + "
                 f"{self.spec.waiting_period} waiting, {self.spec.counting_unit} unit)"]
        if row.height == 0:
            cohort_row = int(c["row"][0])
            lines.append("  not measured: " + "; ".join(
                e.reason for e in self.exclusions.entries
                if e.table == "cohort" and cohort_row in set(e.rows.tolist())))
        else:
            r = row.row(0, named=True)
            lines.append(f"  result: reoffended={r['reoffended']}, reoffences={r['reoffences']}, "
                         f"severity={r['severity']}, days_to_first={r['days_to_first']}")
        if reasons.height == 0:
            lines.append("  no events on record")
        for e in reasons.iter_rows(named=True):
            lines.append(f"  row {e['row']}: offence {e['offence_date']} ({e['offence_code']}),"
                         f" {e['disposal_type']} {e['disposal_date']} -> {e['reason']}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ provenance
    @cached_property
    def provenance(self) -> dict[str, Any]:
        """Version, engine, spec (TOML) and input fingerprints (SHA-256)."""
        prov: dict[str, Any] = {
            "pbr_version": _version(),
            "engine": self.engine,
            "spec": self.spec.to_toml(),
            "spec_sha256": hashlib.sha256(self.spec.to_toml().encode()).hexdigest(),
        }
        if self._cohort is not None:
            prov["cohort_sha256"] = _frame_fingerprint(self._cohort.frame)
        if self._events is not None:
            prov["events_sha256"] = _frame_fingerprint(self._events.frame)
        if self._custody is not None:
            prov["custody_sha256"] = _frame_fingerprint(self._custody.frame)
        return prov

    def __str__(self) -> str:
        s = self.summary().row(0, named=True)

        def f(x: Any, fmt: str) -> str:
            if x is None or (isinstance(x, float) and x != x):
                return format("-", ">" + fmt.lstrip(">").split(".")[0].rstrip(",f"))
            return format(x, fmt)

        def pct(x: Any) -> str:  # display only: the summary holds proportions
            return f(None if x is None else 100.0 * x, ">12.2f")

        lines = [
            f"Proven reoffending ({self.spec.name}; {self.spec.follow_up} follow-up + "
            f"{self.spec.waiting_period} waiting; unit {self.spec.counting_unit}; "
            f"engine {self.engine})",
            f"  offenders measured      {s['n']:>12,}",
            f"  reoffenders             {s['reoffenders']:>12,}",
            f"  binary rate (%)         {pct(s['binary_rate'])}",
            f"  reoffences              {s['reoffences']:>12,}",
            f"  per offender            {f(s['per_offender'], '>12.3f')}",
            f"  per reoffender          {f(s['per_reoffender'], '>12.3f')}",
            f"  severity per offender   {f(s['severity_per_offender'], '>12.3f')}",
            f"  serious rate (%)        {pct(s['serious_rate'])}",
            f"  mean days to first      {f(s['mean_days_to_first'], '>12.1f')}",
        ]
        if "custody_days" in s:
            lines.append(f"  custody days            {f(s['custody_days'], '>12,')}")
        excluded = self.exclusions.count()
        lines.append(f"  rows excluded           {excluded:>12,}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


# ---------------------------------------------------------------------------- engines
def _lookup(names: pl.Series, values: Any, dtype: Any) -> np.ndarray:
    """Per category code: membership in a set (bool) or a mapped value (dict)."""
    # a few dozen names as a rule: plain Python beats a polars expression's overhead
    if isinstance(values, dict):
        default = values.pop(None, 0.0)
        return np.array([values.get(n, default) for n in names.to_list()], np.float64
                        ).astype(dtype)
    members = set(values)
    return np.array([n in members for n in names.to_list()], np.bool_).astype(dtype)


def _allowed(names: pl.Series, include: tuple[str, ...], exclude: tuple[str, ...]
             ) -> np.ndarray:
    """Rule F1 per category code: in ``include`` (when given) and not in ``exclude``."""
    ok = np.ones(names.len(), np.bool_)
    if include:
        ok &= _lookup(names, include, np.bool_)
    if exclude:
        ok &= ~_lookup(names, exclude, np.bool_)
    return ok


def _integer_weights(spec: MeasureSpec, weight: np.ndarray) -> tuple[int, np.ndarray]:
    """(scale, weights times scale as int64) for exact decimal severity sums; scale 0
    when the weights are not exact decimals (see ``MeasureSpec.severity_scale``)."""
    scale = spec.severity_scale or 0
    if not scale:
        return 0, np.zeros(weight.size, np.int64)
    return scale, np.round(weight * scale).astype(np.int64)


def _code_tables(d: dict[str, pl.Series], spec: MeasureSpec) -> dict[str, Any]:
    """Per category code lookups for the kernels: filters (P1, F1), weights (S1),
    mapped and serious flags, and the exact-severity scale and integer weights."""
    type_ok = _lookup(d["disposal_type"], spec.proof_types, np.bool_)
    codes = d["offence_code"]
    code_ok = _allowed(codes, spec.include_codes, spec.exclude_codes)
    has_cat = "offence_category" in d
    cat_ok = (_allowed(d["offence_category"], spec.include_categories, spec.exclude_categories)
              if has_cat else np.ones(1, np.bool_))
    table = spec.weights or {}
    default = spec.unmapped_weight if spec.unmapped_severity == "default" else 0.0
    weight = _lookup(codes, {**table, None: default}, np.float64)
    scale, weight_int = _integer_weights(spec, weight)
    return {"type_ok": type_ok, "code_ok": code_ok, "cat_ok": cat_ok, "has_cat": has_cat,
            "weight": weight, "mapped": _lookup(codes, tuple(table), np.bool_),
            "serious": _lookup(codes, spec.serious_codes, np.bool_), "scale": scale,
            "weight_int": weight_int}


def _window_tables(idx: np.ndarray, spec: MeasureSpec, span: tuple[int, int] | None = None
                   ) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(base, t_lo, t_hi, t_dlast, t_status): the spec's window per index day from
    ``base`` (:func:`pbr._kernels.reoffending.window_table`); ``span`` is the first and
    last index day when already known."""
    as_of = NULL_DAY if spec.as_of is None else date_to_day(spec.as_of)
    if span is None:
        span = (int(idx.min()), int(idx.max())) if idx.size else (0, -1)
    base = span[0]
    n_days = max(span[1] - base + 1, 1)
    t_lo, t_hi, t_dlast, t_status = kern.window_table(
        np.int64(base), n_days, spec.follow_up.months, spec.follow_up.days,
        spec.waiting_period.months, spec.waiting_period.days, spec.include_index_day,
        np.int32(as_of), spec.interim, MONTH_START)
    return base, t_lo, t_hi, t_dlast, t_status


#: the outputs the one-pass path writes in the result frame's own types (Int64, Float64)
_FRAME_DTYPES: dict[str, type] = {
    "reoffences": np.int64, "severity": np.float64, "days_to_first": np.int64,
}


def _empty_outputs(n: int, *, frame: bool = False) -> dict[str, np.ndarray]:
    """The kernels' per-offender output arrays, uninitialised: both kernels
    (``measure_grouped``, ``onepass.finish``) write every element.

    ``Histories.measure_arrays``: every array is the caller's, lent from the pool on
    its own (:func:`pbr._scratch.lend`): its memory returns there when the caller drops
    it, so a loop of calls does not touch fresh memory each time.

    ``frame`` (the one-pass path, whose arrays only feed the result frame):
    ``reoffences`` and ``days_to_first`` are int64, the frame's own type, so that the
    frame takes them and ``severity`` without a copy; all seven are one lent buffer
    (:func:`pbr._scratch.lend_many`), which returns to the pool when the frame is gone,
    so that the buffer of the call's event records, given back before, holds them."""
    if not frame:  # the caller's arrays, in memory lent from the pool
        return {k: _scratch.lend(n, dtype) for k, dtype in rules.active().dtypes().items()}
    return _scratch.lend_many(n, {k: _FRAME_DTYPES.get(k, dtype)
                                  for k, dtype in rules.active().dtypes().items()})


def _custody_days(idx: np.ndarray, grouped: Any, base: int, t_lo: np.ndarray,
                  t_hi: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    c_off, c_start, c_end = grouped
    if out is None:
        out = np.zeros(idx.size, np.int64)
    else:
        out[:] = 0
    with dynamic(ROWS_PER_CHUNK):
        kern.custody_grouped(idx, c_off, c_start, c_end, np.int64(base), t_lo, t_hi, out)
    return out


def _check_out(out: dict[str, np.ndarray], n: int, custody: bool) -> dict[str, np.ndarray]:
    """``out`` (arrays a previous ``measure_arrays`` call returned) checked for reuse."""
    want: dict[str, np.dtype[Any]] = {k: np.dtype(d)
                                      for k, d in rules.active().dtypes().items()}
    if custody:
        want["custody_days"] = np.dtype(np.int64)
    for key, dtype in want.items():
        a = out.get(key) if isinstance(out, dict) else None
        if not (isinstance(a, np.ndarray) and a.dtype == dtype and a.shape == (n,)
                and a.flags.c_contiguous and a.flags.writeable):
            raise ValueError(
                f"out[{key!r}] must be a writeable contiguous {dtype} array of {n:,} "
                f"elements (got {None if a is None else f'{a.dtype} {a.shape}'}). Fix: pass "
                "the dict a previous measure_arrays call on these histories returned")
    return {k: out[k] for k in want}


def kernel_arrays(h: Any, spec: MeasureSpec, out: dict[str, np.ndarray] | None = None
                  ) -> dict[str, np.ndarray]:
    """Run the measure kernel on prepared histories; raw arrays in cohort order (written
    into ``out``'s arrays when given)."""
    ct = _code_tables(h.dictionaries, spec)
    custody = "custody" in h.extra
    out = _empty_outputs(h.cohort.n) if out is None else _check_out(out, h.cohort.n, custody)
    idx = h.index_day
    base, t_lo, t_hi, t_dlast, t_status = _window_tables(idx, spec, h.index_span)
    if custody:
        out["custody_days"] = _custody_days(idx, h.extra["custody"], base, t_lo, t_hi,
                                            out.get("custody_days"))
    attr, table = h.attributes
    a_flags, a_weight, a_weight_int = _attribute_tables(ct, table)
    order, chunk_offsets = h.measure_order
    with dynamic():  # a loop over chunks of kern.CHUNK_ROWS cohort rows
        kern.measure_grouped(
            idx, h.offsets, order, chunk_offsets, h.offence_day, h.disposal_day, attr,
            h.court_event, h.events.has_court_event, np.int64(base), t_lo, t_hi, t_dlast,
            t_status, spec.counting_unit == "court_event", a_flags, a_weight, a_weight_int,
            np.float64(ct["scale"]), out)
    return out


def _attribute_tables(ct: dict[str, Any], table: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The spec's code tables per attribute (type, code, category) of the histories:
    flags (``A_COUNTS`` when P1 and F1 pass, ``A_SERIOUS``, ``A_UNMAPPED``), float and
    integer weights."""
    typ, code, cat = table[:, 0], table[:, 1], table[:, 2]
    counts = ct["type_ok"][typ] & ct["code_ok"][code]
    if ct["has_cat"]:
        counts &= ct["cat_ok"][cat]
    flags = (counts * kern.A_COUNTS + ct["serious"][code] * kern.A_SERIOUS
             + ~ct["mapped"][code] * kern.A_UNMAPPED).astype(np.uint8)
    return flags, ct["weight"][code], ct["weight_int"][code]


def _scatter_pieces(st: Any, ct: dict[str, Any], with_court: bool, wide: bool,
                    scratch: _scratch.Arena) -> tuple[np.ndarray, np.ndarray]:
    """Histogram and scatter the events piece by piece (zero-copy views of the frame's
    chunks), on as many threads as Numba uses.  Every piece writes its own histogram
    row and its own ranges of the records, so the records are in input order within
    each partition whatever the threads do."""
    import numba

    from pbr._kernels import onepass
    from pbr._kernels.grouping import chunk_starts

    pieces = st.pieces
    threads = max(1, numba.get_num_threads())
    hist = np.zeros((len(pieces), 1 << st.pbits), np.int64)
    window = (np.int32(st.lo), np.int32(st.hi_off), np.int32(st.hi_disp), st.pbits)
    order_bad = np.zeros(len(pieces), np.bool_)

    def histogram(k: int) -> None:
        ids, off, disp = pieces[k][:3]
        order_bad[k] = onepass.piece_histogram(ids, off, disp, *window, hist[k])

    each_piece(histogram, len(pieces), threads)
    st.check_deferred(bool(order_bad.any()))
    start, part_off, total = chunk_starts(hist)
    width = 2 + (1 if wide else 0) + (1 if with_court else 0)
    rec = scratch.empty((total, width), np.uint64)

    def scatter(k: int) -> None:
        ids, off, disp, typ, code, cat, court = pieces[k]
        onepass.piece_scatter(start[k].copy(), ids, off, disp, typ, code, cat, court,
                              *window, st.has_cat, with_court, wide, ct["type_ok"],
                              ct["code_ok"], ct["cat_ok"], rec)

    each_piece(scatter, len(pieces), threads)
    return part_off, rec


def onepass_arrays(cohort: Any, events: Any, spec: MeasureSpec, custody: Any,
                   scratch: _scratch.Arena) -> tuple[Cohort, Events, Custody | None,
                                                     dict[str, np.ndarray], dict[str, int]]:
    """One spec, once: the hash join fused with the measure (:mod:`pbr._kernels.onepass`).

    Validates like :func:`~pbr.prepare.prepare` with ``horizon=spec`` and returns the
    same values and event ledger as ``kernel_arrays(prepare(...), spec)``, without
    building the grouped layout.  Needs exact severity sums (``spec.severity_scale``).
    The temporaries (records, slots, the cohort's id and index-day arrays) come from
    ``scratch`` and are valid until it closes; the outputs are one lent buffer, in
    the event records' memory when it is large enough (see :func:`_empty_outputs`).
    """
    from pbr._kernels import onepass
    from pbr.prepare import _group_custody, _Stage

    st = _Stage(cohort, events, custody, spec, positions=False, pieces=True, scratch=scratch)
    n = st.cohort.n
    ct = _code_tables(st.dictionaries, spec)
    court_unit = spec.counting_unit == "court_event"
    with_court = court_unit and st.has_court
    # 16-byte records unless the codes or the window are too wide to pack
    wide = ct["weight_int"].size >= 0xFFFF or st.hi_disp - st.lo >= 0xFFFF
    c_part_off, c_slot, crec = st.partition_cohort(
        slot_to_row=False, width=onepass.record_width(), scratch=scratch)
    e_part_off, rec = _scatter_pieces(st, ct, with_court, wide, scratch)
    st.release_events()
    base, h_hi, h_hd = st.horizon_tables()
    _, t_lo, t_hi, t_dlast, t_status = _window_tables(st.c_idx, spec,
                                                      (st.idx_min, st.idx_max))
    with dynamic():
        not_in, outside, kept, dup = onepass.probe_measure(
            c_part_off, crec, np.int32(base), h_hi, h_hd, t_lo, t_hi, t_dlast, t_status,
            e_part_off, rec, wide, court_unit, with_court, ct["weight_int"],
            ct["mapped"], ct["serious"])
    if dup:
        st.raise_duplicate()
    n_buffered = int(rec.shape[0])
    # the event records are dead: the outputs may take their memory (in a fresh
    # process, memory new to it is the slowest part of the call on some machines)
    scratch.give_back(rec)
    del rec
    out = _empty_outputs(n, frame=True)
    with dynamic(ROWS_PER_CHUNK):
        onepass.finish(c_slot, crec, np.float64(ct["scale"]), st.c_idx, np.int32(base),
                       t_dlast, t_status, out)
    del c_slot, crec
    if st.custody is not None:
        out["custody_days"] = _custody_days(st.c_idx, _group_custody(st.cohort, st.custody),
                                            base, t_lo, t_hi)
    counts = {
        "input": st.events.n_input,
        "invalid": len(st.events.exclusions),
        "outside_all_windows": st.events.n - n_buffered,
        "not_in_cohort": int(not_in),
        "outside_offender_window": int(outside),
        "kept": int(kept),
    }
    return st.cohort, st.events, st.custody, out, counts


def _align_ids(cohort: Cohort, events: Events) -> tuple[Cohort, Events]:
    """The tables with one id type for the polars twin's joins: when one of them is
    empty (a header-only file reads its ids as text) its ids take the other's type;
    otherwise :func:`~pbr.data.check_id_types` has passed and the types agree."""
    ct, et = cohort.data.schema["offender_id"], events.data.schema["offender_id"]
    if ct == et:
        return cohort, events
    if events.n == 0:
        data = events.data.with_columns(pl.col("offender_id").cast(ct))
        return cohort, dataclasses.replace(events, data=data)
    if cohort.n == 0:
        data = cohort.data.with_columns(pl.col("offender_id").cast(et))
        return dataclasses.replace(cohort, data=data), events
    return cohort, events


def _reference_arrays(cohort: Cohort, events: Events, spec: MeasureSpec
                      ) -> dict[str, np.ndarray]:
    ref = _reference.measure_reference(cohort.frame, events.frame, spec)
    return {k: ref[k].to_physical().to_numpy().astype(dtype)
            for k, dtype in rules.active().dtypes().items()}


def _nullable(first: np.ndarray) -> pl.Series:
    """Days to first reoffence as Int64, null where the kernel wrote -1 (none): the
    values are taken without a copy when already int64, with a validity bitmap."""
    import pyarrow as pa

    values = first.astype(np.int64, copy=False)
    valid = values >= 0
    if valid.all():
        return pl.Series(values)
    bitmap = np.packbits(valid, bitorder="little")
    arr = pa.Array.from_buffers(pa.int64(), values.size,
                                [pa.py_buffer(bitmap), pa.py_buffer(values)])
    return pl.Series(arr)


def _assemble(cohort: Cohort, events: Events, custody: Custody | None, spec: MeasureSpec,
              engine: str, arrays: dict[str, np.ndarray], event_counts: dict[str, int]
              ) -> MeasureResult:
    checks, vocabulary, coverage = _measure_checks.check(cohort, events, spec, arrays)
    notes = _measure_checks.issue(checks, stacklevel=3)
    if spec.severity_weights is not None and spec.unmapped_severity == "error":
        bad = np.flatnonzero(arrays["unmapped"] > 0)
        if bad.size:
            ids = cohort.frame["offender_id"].gather(bad[:5]).to_list()
            table = spec.weights or {}
            codes = sorted({c for c in events.frame["offence_code"].unique().cast(pl.String)
                            .to_list() if c not in table})
            raise SeverityError(
                f"{int(arrays['unmapped'].sum()):,} qualifying offence(s) of {bad.size:,} "
                f"offender(s) (e.g. offender_id {ids}) have codes missing from "
                f"severity_weights; codes without a weight in the events: {codes[:20]}. Fix: "
                "add them to the table, or set unmapped_severity='zero' or 'default'")
    status = arrays["status"]
    reoff = arrays["reoffences"]
    first = arrays["days_to_first"]
    cols: dict[str, pl.Series] = {
        "reoffended": pl.Series(reoff > 0),
        "reoffences": pl.Series(reoff.astype(np.int64, copy=False)),
        "severity": pl.Series(arrays["severity"]) if spec.severity_weights is not None
        else pl.Series(dtype=pl.Float64).extend_constant(None, len(reoff)),
        "serious": pl.Series(arrays["serious"]) if spec.serious_codes
        else pl.Series(dtype=pl.Boolean).extend_constant(None, len(reoff)),
        "days_to_first": _nullable(first),
    }
    frame = cohort.data.drop(ROW, strict=False)
    if custody is not None:
        cols["custody_days"] = pl.Series(arrays["custody_days"]) if "custody_days" in arrays \
            else _reference.custody_days(cohort.frame, custody.frame, spec)["custody_days"]
    cols["window_complete"] = pl.Series(status == kern.ST_OK)
    frame = frame.with_columns(**cols)
    exclusions = cohort.exclusions + events.exclusions
    if custody is not None:
        exclusions = exclusions + custody.exclusions
    not_measurable = np.flatnonzero(status == kern.ST_NOT_MEASURABLE)
    if not_measurable.size:
        rows = cohort.frame["row"].gather(not_measurable).to_numpy().astype(np.int64)
        exclusions = exclusions + Exclusions((Exclusion(
            "cohort", "window_incomplete",
            f"follow-up and waiting period not complete by as_of {spec.as_of}; not measurable "
            "(use interim=True for an interim measure)", rows),))
        frame = frame.filter(pl.Series(status != kern.ST_NOT_MEASURABLE))
    return MeasureResult(frame, spec, engine, exclusions, notes, event_counts, vocabulary,
                         coverage, cohort, events, custody)


def measure_histories(h: Any, spec: MeasureSpec | str | None, *, engine: str = "numba"
                      ) -> MeasureResult:
    """Measure a spec on prepared :class:`~pbr.prepare.Histories` (see ``Histories.measure``)."""
    spec = _spec(spec)
    if engine not in ENGINES:
        raise EngineError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine == "numba":
        h._check_horizon(spec)
        arrays = kernel_arrays(h, spec)
    else:
        arrays = _reference_arrays(*_align_ids(h.cohort, h.events), spec)
    return _assemble(h.cohort, h.events, h.custody, spec, engine, arrays, dict(h.event_counts))


def measure(cohort: Any, events: Any, spec: MeasureSpec | str | None = None, *,
            custody: Any = None, engine: str = "numba") -> MeasureResult:
    """Proven-reoffending measures for a cohort: the one-call form.

    Parameters
    ----------
    cohort
        :class:`~pbr.data.Cohort`, or a polars/pandas frame with ``offender_id`` and
        ``index_date`` (other columns are kept for grouping).
    events
        :class:`~pbr.data.Events`, or a frame with pbr's event columns.
    spec
        A :class:`~pbr.spec.MeasureSpec` or a preset name; default the MoJ rules.
    custody
        Optional custody spells; adds ``custody_days``.
    engine
        ``"numba"`` (default; prepares the grouped layout and runs the kernel) or
        ``"polars"`` (the reference implementation).

    Returns
    -------
    MeasureResult

    Examples
    --------
    >>> import pbr
    >>> data = pbr.synth.generate(500, seed=7)
    >>> fast = pbr.measure(data.cohort, data.events)
    >>> slow = pbr.measure(data.cohort, data.events, engine="polars")
    >>> fast.frame.equals(slow.frame)
    True
    """
    from pbr.prepare import prepare

    spec = _spec(spec)
    if engine not in ENGINES:
        raise EngineError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine == "numba" and spec.severity_scale is not None:
        # one spec once: the join fused with the measure (its hash join finds duplicates)
        with _scratch.Arena() as scratch:
            c, e, cu, arrays, counts = onepass_arrays(cohort, events, spec, custody, scratch)
            return _assemble(c, e, cu, spec, engine, arrays, counts)
    if engine == "numba":  # prepare validates (its hash join finds duplicate ids)
        return measure_histories(prepare(cohort, events, spec, custody=custody), spec)
    cohort = Cohort.from_frame(cohort)
    events = Events.from_frame(events)
    check_id_types(cohort.data, events.data)
    custody = None if custody is None else Custody.from_frame(custody)
    if custody is not None:
        check_id_types(cohort.data, custody.data, "custody")
        custody = align_custody(cohort, custody)
    arrays = _reference_arrays(*_align_ids(cohort, events), spec)
    counts = {"input": events.n_input, "invalid": len(events.exclusions)}
    return _assemble(cohort, events, custody, spec, engine, arrays, counts)
