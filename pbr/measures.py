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
from typing import Any

import numpy as np
import polars as pl

from pbr import _measure_checks, _reference, _scratch
from pbr._engine import grouped, onepass
from pbr._engine.layout import Layout
from pbr._engine.tables import resolve_spec
from pbr._kernels import reoffending as kern
from pbr._kernels import rules
from pbr._memo import Memo, memoised
from pbr._version import __version__
from pbr._windows import before_arrays
from pbr.data import (
    ROW,
    Cohort,
    Custody,
    Events,
    Exclusion,
    Exclusions,
    align_custody,
    check_id_types,
)
from pbr.errors import EngineError, SeverityError, SpecError
from pbr.spec import MeasureSpec

__all__ = ["ENGINES", "MeasureResult", "measure"]

ENGINES = ("numba", "polars")
MEASURE_COLUMNS = ("reoffended", "reoffences", "severity", "serious", "days_to_first",
                   "custody_days", "window_complete")


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
    _memo: Memo = field(default_factory=Memo, init=False, repr=False, compare=False)

    # ------------------------------------------------------------------ conversions
    def to_frame(self) -> pl.DataFrame:
        """The per-offender frame (polars)."""
        return self.frame

    def to_html(self, path: Any = None, **options: Any) -> Any:
        """The self-contained HTML report of this measure (:func:`pbr.report.html_report`,
        whose ``options`` it takes), written to ``path`` when given; returns the
        :class:`~pbr.report.HtmlReport`."""
        from pbr import _render  # the report layer lends its renderer (layer 0 registry)

        return _render.render("html", self, path=path, **options)

    def to_pandas(self) -> Any:
        """The per-offender frame as a pandas DataFrame."""
        return self.frame.to_pandas()

    # ------------------------------------------------------------------ summaries
    def summary(self, by: str | list[str] | None = None, *, publication: bool = False,
                disclosure: Any = None) -> pl.DataFrame:
        """Cohort-level measures, overall or per group.

        Columns: n, reoffenders, binary_rate (a proportion, 0 to 1), reoffences,
        per_offender, per_reoffender, per_100 (reoffences per 100 offenders),
        severity_total, severity_per_offender, serious_rate (a proportion of offenders),
        mean_days_to_first, median_days_to_first, and custody_days / per offender when
        measured.  Rates are proportions here and in every pbr API and result; per cent
        appears only in printed text (``str(result)``), labelled "(%)".  Groups are
        sorted by their keys.

        With ``publication=True`` (the default rules) or ``disclosure=`` (a
        :class:`~pbr.suppress.DisclosureRules` or a preset name) the table is made safe
        to publish by :func:`pbr.suppress` (docs/methodology/publication.md): small counts
        and what would give them away are null; ``pbr.suppress(result.summary(by=...))``
        gives the same table with the reason for each withheld value and its audit.

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
        out = self.frame.select(aggs) if not keys else \
            self.frame.group_by(keys).agg(aggs).sort(keys, nulls_last=True)
        if publication or disclosure is not None:
            from pbr.suppress import suppress

            return suppress(out, disclosure, by=keys).frame
        return out

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
    @memoised
    def provenance(self) -> dict[str, Any]:
        """Version, engine, spec (TOML) and input fingerprints (SHA-256)."""
        prov: dict[str, Any] = {
            "pbr_version": __version__,
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
    # outputs a rule set adds to the default table (pbr._kernels.rules), as they are
    cols.update({o.name: pl.Series(arrays[o.name]) for o in rules.active().outputs
                 if o not in rules.DEFAULT.outputs})
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


def measure_histories(h: Layout, spec: MeasureSpec | str | None, *, engine: str = "numba"
                      ) -> MeasureResult:
    """Measure a spec on a grouped layout (``Histories.measure``)."""
    spec = resolve_spec(spec)
    if engine not in ENGINES:
        raise EngineError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine == "numba" or spec.window == "before":
        h.check_horizon(spec)
    if engine == "numba":
        arrays = grouped.kernel_arrays(h, spec)
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
        ``"numba"`` (default) or ``"polars"`` (the reference implementation, the
        kernels' twin).  With ``"numba"`` the join of events to offenders is fused with
        the measure in one pass (:mod:`pbr._kernels.onepass`), without building the
        grouped layout of :func:`~pbr.prepare.prepare`; only a spec whose severity
        weights are not exact decimals (``MeasureSpec.severity_scale`` is None) takes
        the grouped path (prepare, then the kernel), which sums the float weights in
        event order.  Both give the same results; to measure several specs on the same
        data, :func:`~pbr.prepare.prepare` once and call ``Histories.measure``.

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
    spec = resolve_spec(spec)
    if engine not in ENGINES:
        raise EngineError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine == "numba" and spec.window == "before":  # W4 on the kernels (pbr._windows)
        c, e, cu = _validated(cohort, events, custody)
        arrays, counts = before_arrays(c, e, cu, spec)
        return _assemble(c, e, cu, spec, engine, arrays, counts)
    if engine == "numba" and spec.severity_scale is not None:
        # one spec once: the join fused with the measure (its hash join finds duplicates)
        with _scratch.Arena() as scratch:
            c, e, cu, arrays, counts = onepass.onepass_arrays(cohort, events, spec, custody,
                                                              scratch)
            return _assemble(c, e, cu, spec, engine, arrays, counts)
    if engine == "numba":  # the grouped path validates (its hash join finds duplicate ids)
        return measure_histories(grouped.group(cohort, events, spec, custody, Layout), spec)
    c, e, cu = _validated(cohort, events, custody)
    arrays = _reference_arrays(*_align_ids(c, e), spec)
    counts = {"input": e.n_input, "invalid": len(e.exclusions)}
    return _assemble(c, e, cu, spec, engine, arrays, counts)


def _validated(cohort: Any, events: Any, custody: Any
               ) -> tuple[Cohort, Events, Custody | None]:
    """The validated inputs of a measure (ids of one type; custody aligned)."""
    c = Cohort.from_frame(cohort)
    e = Events.from_frame(events)
    check_id_types(c.data, e.data)
    cu = None if custody is None else Custody.from_frame(custody)
    if cu is not None:
        check_id_types(c.data, cu.data, "custody")
        cu = align_custody(c, cu)
    return c, e, cu
