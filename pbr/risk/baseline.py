"""Baselines: the measure on a historic cohort, stored with its spec.

A :class:`Baseline` holds, per group (``by=["area"]`` for the CRC baselines per contract
package area, none for Doncaster's single 2009 baseline), the cohort size, reoffenders,
binary rate, reoffences, frequency per offender and per reoffender, severity per
offender, the standard deviations the frequency thresholds need and, optionally, the
baseline cohort's mean predicted probability (the CRC adjustment corrects for the
difference between the current cohort's mean OGRS4/G3 prediction and the baseline's).

Build one from a :class:`~pbr.measures.MeasureResult` on the baseline cohort
(:meth:`Baseline.from_result`) or from published values (:meth:`Baseline.from_values`);
it round-trips through TOML (``[baseline]``, ``[measure]`` and one ``[[group]]`` table
per group).

Sources (docs/methodology/baselines.md): the CRC 2011 baselines per contract package
area (MoJ, *Methodology for the PbR re-offending baselines*, F15.03; [MoJ-PbR-Baselines-2011],
[MoJ-CRC-Final] [V]); Doncaster's 2009 baseline ([MoJ-Doncaster-2015] [V]); the
measure definitions (binary rate, reoffences per offender and per reoffender:
[MoJ-PRS-Bulletins] [V]).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from pbr._toml import TomlDocument
from pbr.errors import SchemaError, SpecError
from pbr.spec import MeasureSpec, preset

__all__ = ["Baseline", "BaselineGroup"]

_COUNTS = ("n", "reoffenders", "reoffences")
_RATES = ("binary_rate", "per_offender", "per_reoffender", "severity_per_offender",
          "per_offender_sd", "per_reoffender_sd", "predicted_rate")
VALUES = _COUNTS + _RATES
#: rates held as proportions (0 to 1), as in ``MeasureResult.summary()``
PROPORTIONS = ("binary_rate", "predicted_rate")
# rounding tolerated between published counts and published rates (half a percentage
# point for the binary rate, a proportion)
_TOL = {"binary_rate": 0.005, "per_offender": 0.05, "per_reoffender": 0.05}

Key = tuple[Any, ...]


def _num(name: str, value: Any, *, integer: bool) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpecError(f"{name}: expected a number, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if integer:
        if float(value) != int(value) or value < 0:
            raise SpecError(f"{name}: expected a whole number >= 0, got {value!r}")
        return int(value)
    if value < 0:
        raise SpecError(f"{name}: must be >= 0, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class BaselineGroup:
    """The baseline values of one group (all optional but ``key``).

    Rates are in the units of ``MeasureResult.summary()``: ``binary_rate`` and
    ``predicted_rate`` are proportions (0.475 for 47.5%), frequencies per person.  A
    rate above 1 raises SpecError (it reads as per cent; pbr never rescales it).
    Derivable values are filled in on construction (``binary_rate = reoffenders / n``,
    ``per_offender = reoffences / n``, ``per_reoffender = reoffences / reoffenders``); a
    published rate that disagrees with published counts by more than rounding (half a
    percentage point for the binary rate) raises SpecError.

    Examples
    --------
    >>> g = BaselineGroup((), n=700_000, reoffenders=180_000)
    >>> round(g.binary_rate, 4)
    0.2571
    """

    key: Key = ()
    n: int | None = None
    reoffenders: int | None = None
    reoffences: int | None = None
    binary_rate: float | None = None
    per_offender: float | None = None
    per_reoffender: float | None = None
    severity_per_offender: float | None = None
    per_offender_sd: float | None = None
    per_reoffender_sd: float | None = None
    predicted_rate: float | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "key", tuple(self.key))
        where = f"group {self.key!r}: " if self.key else ""
        for name in VALUES:
            try:
                set_(self, name, _num(name, getattr(self, name), integer=name in _COUNTS))
            except SpecError as exc:
                raise SpecError(where + str(exc)) from None
        for name in PROPORTIONS:
            value = getattr(self, name)
            if value is not None and value > 1.0:
                fix = (f"give {value / 100:g} for {value:g}%" if value <= 100.0
                       else "give a proportion from 0 to 1 (0.475 for 47.5%)")
                raise SpecError(f"{where}{name}: {value:g} is above 1; rates are "
                                f"proportions: {fix}")
        n, r, k = self.n, self.reoffenders, self.reoffences
        if n is not None and r is not None and r > n:
            raise SpecError(f"{where}reoffenders: {r} is more than n = {n}")
        derived = {
            "binary_rate": r / n if n and r is not None else None,
            "per_offender": k / n if n and k is not None else None,
            "per_reoffender": k / r if r and k is not None else None,
        }
        for name, value in derived.items():
            given = getattr(self, name)
            if value is None:
                continue
            if given is None:
                set_(self, name, value)
            elif abs(given - value) > _TOL[name] + 1e-9:
                raise SpecError(f"{where}{name}: {given} disagrees with the counts, which give "
                                f"{value:.4f}; fix the published value or the counts")

    def value(self, measure: str) -> float | None:
        """One stored value by name (``"binary_rate"``, ``"per_reoffender"``, ...)."""
        if measure not in VALUES:
            raise SpecError(f"measure: one of {', '.join(VALUES)}, got {measure!r}")
        out = getattr(self, measure)
        return None if out is None else float(out)


@dataclass(frozen=True)
class Baseline(TomlDocument):
    """The measure on a historic cohort, per group, with the spec that produced it.

    Attributes
    ----------
    groups
        One :class:`BaselineGroup` per group, sorted by key.
    by
        The grouping columns (``()`` for a single, overall baseline).
    spec
        The :class:`~pbr.spec.MeasureSpec` of the baseline measure.
    label
        Short name, e.g. ``"CRC 2011"``.
    source
        Where the values come from (a publication, or the data and date measured).

    Examples
    --------
    Doncaster's 2009 baseline as published values (rate invented for the example; rates
    are proportions, 0.58 for 58%):

    >>> b = Baseline.from_values({"binary_rate": 0.58}, spec="doncaster_pbr",
    ...                          label="Doncaster 2009", source="MoJ tables")
    >>> b.value("binary_rate")
    0.58
    >>> Baseline.from_toml(b.to_toml()) == b
    True
    """

    groups: tuple[BaselineGroup, ...]
    by: tuple[str, ...] = ()
    spec: MeasureSpec = field(default_factory=MeasureSpec)
    label: str = "baseline"
    source: str = ""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if isinstance(self.by, str):
            raise SpecError(f"by: give a list of column names, e.g. [{self.by!r}]")
        set_(self, "by", tuple(self.by))
        clash = sorted(set(self.by) & (set(VALUES) | {"key"}))
        if clash:
            raise SpecError(f"by: column name(s) {clash} clash with baseline values; rename them")
        if not isinstance(self.spec, MeasureSpec):
            raise SpecError(f"spec: expected a MeasureSpec, got {self.spec!r}")
        for name in ("label", "source"):
            if not isinstance(getattr(self, name), str):
                raise SpecError(f"{name}: expected text, got {getattr(self, name)!r}")
        groups = tuple(self.groups)
        if not groups:
            raise SpecError("groups: a baseline needs at least one group of values")
        for g in groups:
            if not isinstance(g, BaselineGroup) or len(g.key) != len(self.by):
                raise SpecError(f"groups: each group needs one key value per 'by' column "
                                f"{list(self.by)}, got {g!r}")
        keys = [g.key for g in groups]
        if len(set(keys)) != len(keys):
            raise SpecError(f"groups: a group key appears twice in {keys}")
        set_(self, "groups", tuple(sorted(groups, key=lambda g: tuple(map(_sortable, g.key)))))

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_result(cls, result: Any, by: str | Sequence[str] | None = None, *,
                    label: str = "baseline", source: str = "",
                    predicted: str | None = None) -> Baseline:
        """The baseline measured on a historic cohort.

        Parameters
        ----------
        result
            A :class:`~pbr.measures.MeasureResult` on the baseline cohort.
        by
            Grouping columns of ``result.frame`` (e.g. ``"area"``).
        label, source
            Recorded with the values.
        predicted
            Optional column of per-offender predicted probabilities (e.g. an OGRS4/G3
            score); its group mean is stored as ``predicted_rate`` (a proportion).

        Examples
        --------
        >>> import pbr
        >>> data = pbr.synth.generate(400, seed=1)
        >>> res = pbr.measure(data.cohort, data.events, "moj_national_2017")
        >>> b = Baseline.from_result(res, by="provider", label="synthetic 2019")
        >>> b.to_frame()["n"].sum()
        400
        """
        frame = getattr(result, "frame", None)
        spec = getattr(result, "spec", None)
        if not isinstance(frame, pl.DataFrame) or not isinstance(spec, MeasureSpec):
            raise SpecError("result: expected a MeasureResult (pbr.measure(...)); for published "
                            "figures use Baseline.from_values")
        keys = [by] if isinstance(by, str) else list(by or [])
        for col in [*keys, *([predicted] if predicted else [])]:
            if col not in frame.columns:
                raise SchemaError(f"column {col!r} is not in the result's frame; columns: "
                                  f"{', '.join(frame.columns)}")
        if predicted is not None and frame[predicted].null_count():
            first = int(frame[predicted].is_null().arg_max() or 0)
            raise SchemaError(f"column {predicted!r}: missing prediction at row {first}; fill it "
                              "or drop the offender before measuring")
        reo = pl.col("reoffences").filter(pl.col("reoffended"))
        aggs = [
            pl.len().alias("n"),
            pl.col("reoffended").sum().alias("reoffenders"),
            pl.col("reoffences").sum().alias("reoffences"),
            pl.col("severity").mean().alias("severity_per_offender"),
            pl.col("reoffences").cast(pl.Float64).std().alias("per_offender_sd"),
            reo.cast(pl.Float64).std().alias("per_reoffender_sd"),
        ]
        if predicted is not None:
            aggs.append(pl.col(predicted).cast(pl.Float64).mean().alias("predicted_rate"))
        table = (frame.group_by(keys).agg(aggs) if keys else frame.select(aggs))
        groups = []
        for row in table.iter_rows(named=True):
            key = tuple(row.pop(k) for k in keys)
            if any(v is None for v in key):
                raise SchemaError(f"column(s) {keys}: a group key is missing (null) for "
                                  f"{row['n']} offender(s); fill or drop them")
            groups.append(BaselineGroup(key, **row))
        return cls(tuple(groups), tuple(keys), spec, label, source)

    @classmethod
    def from_values(cls, values: Mapping[str, Any] | Sequence[Mapping[str, Any]], *,
                    spec: MeasureSpec | str, by: str | Sequence[str] | None = None,
                    label: str = "baseline", source: str = "") -> Baseline:
        """A baseline from published figures.

        ``values`` is one mapping (an overall baseline) or one mapping per group, each
        holding the ``by`` columns and any of ``n``, ``reoffenders``, ``reoffences``,
        ``binary_rate`` (a proportion: 0.5517 for 55.17%), ``per_offender``,
        ``per_reoffender``, ``severity_per_offender``, ``per_offender_sd``,
        ``per_reoffender_sd``, ``predicted_rate`` (a proportion).  A rate above 1 is
        refused (SpecError naming the field and the value), never rescaled.

        Examples
        --------
        >>> b = Baseline.from_values(
        ...     [{"area": "Northumbria", "binary_rate": 0.5517, "per_reoffender": 5.15}],
        ...     by="area", spec="crc_pbr_2015", label="CRC 2011",
        ...     source="Civil Service World, Jan 2018 [V2]")
        >>> b.value("per_reoffender", "Northumbria")
        5.15
        """
        keys = [by] if isinstance(by, str) else list(by or [])
        rows = [values] if isinstance(values, Mapping) else list(values)
        groups = []
        for given in rows:
            entry = dict(given)
            missing = [k for k in keys if k not in entry]
            if missing:
                raise SpecError(f"values: a group lacks its key column(s) {missing}: {entry!r}")
            key = tuple(entry.pop(k) for k in keys)
            unknown = sorted(set(entry) - set(VALUES))
            if unknown:
                raise SpecError(f"values: unknown field(s) {unknown}; known: {', '.join(VALUES)}")
            groups.append(BaselineGroup(key, **entry))
        measure_spec = preset(spec) if isinstance(spec, str) else spec
        return cls(tuple(groups), tuple(keys), measure_spec, label, source)

    # ------------------------------------------------------------------ access
    def group(self, key: Any = None) -> BaselineGroup:
        """The values of one group (a key value, or a tuple for several ``by`` columns)."""
        wanted = () if key is None and not self.by else (
            tuple(key) if isinstance(key, tuple) else (key,))
        for g in self.groups:
            if g.key == wanted:
                return g
        raise SpecError(f"no baseline group {wanted!r}; groups: {[g.key for g in self.groups]}")

    def value(self, measure: str, key: Any = None) -> float | None:
        """A stored value of one group, e.g. ``value("binary_rate", "North")``."""
        return self.group(key).value(measure)

    def to_frame(self) -> pl.DataFrame:
        """One row per group: the ``by`` columns, then every value (null when unknown)."""
        data: dict[str, list[Any]] = {k: [g.key[i] for g in self.groups]
                                      for i, k in enumerate(self.by)}
        for name in VALUES:
            data[name] = [getattr(g, name) for g in self.groups]
        schema = {name: (pl.Int64 if name in _COUNTS else pl.Float64) for name in VALUES}
        return pl.DataFrame(data, schema_overrides=schema)

    def summary(self) -> pl.DataFrame:
        """The per-group values (the same frame as :meth:`to_frame`)."""
        return self.to_frame()

    def to_pandas(self) -> Any:
        """The values as a pandas DataFrame."""
        return self.to_frame().to_pandas()

    @property
    def provenance(self) -> dict[str, Any]:
        """Label, source, the spec (TOML) and a SHA-256 of the baseline's TOML."""
        from pbr._version import __version__

        return {"pbr_version": __version__, "label": self.label, "source": self.source,
                "spec": self.spec.to_toml(),
                "baseline_sha256": hashlib.sha256(self.to_toml().encode()).hexdigest()}

    # ------------------------------------------------------------------ TOML
    def _document(self) -> dict[str, Any]:
        """``[baseline]`` (label, source, by), ``[measure]`` and one ``[[group]]`` per group."""
        groups = []
        for g in self.groups:
            row: dict[str, Any] = dict(zip(self.by, g.key, strict=True))
            row.update({name: getattr(g, name) for name in VALUES
                        if getattr(g, name) is not None})
            groups.append(row)
        return {"baseline": {"label": self.label, "source": self.source, "by": list(self.by)},
                "measure": self.spec.to_dict(), "group": groups}

    @classmethod
    def _from_document(cls, doc: Mapping[str, Any]) -> Baseline:
        """A baseline from the tables :meth:`_document` writes.

        Its ``binary_rate`` and ``predicted_rate`` are proportions, as :meth:`to_toml`
        writes them; a value above 1 is refused (SpecError naming the group, the field
        and the value), never rescaled.
        """
        for table in ("baseline", "measure", "group"):
            if table not in doc:
                raise SpecError(f"baseline TOML: missing the [{table}] table")
        head = doc["baseline"]
        unknown = sorted(set(head) - {"label", "source", "by"})
        if unknown:
            raise SpecError(f"[baseline]: unknown field(s) {unknown}; known: label, source, by")
        return cls.from_values(doc["group"], spec=MeasureSpec.from_dict(doc["measure"]),
                               by=list(head.get("by", [])), label=head.get("label", "baseline"),
                               source=head.get("source", ""))

    def __str__(self) -> str:
        lines = [f"Baseline {self.label!r} ({self.spec.name}; {self.spec.follow_up} follow-up + "
                 f"{self.spec.waiting_period} waiting)"]
        if self.source:
            lines.append(f"  source: {self.source}")
        values = ["n", "reoffenders", "binary_rate", "reoffences", "per_offender",
                  "per_reoffender", "predicted_rate"]
        # display only: the rates are held as proportions and shown in per cent
        head = [*self.by, *(f"{v} (%)" if v in PROPORTIONS else v for v in values)]
        rows = [[str(k) for k in g.key] + [_fmt(getattr(g, v), percent=v in PROPORTIONS)
                                           for v in values] for g in self.groups]
        widths = [max(10, len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
        for cells in [head, *rows]:
            lines.append("  " + "  ".join(f"{c:>{w}}" for c, w in zip(cells, widths,
                                                                        strict=True)))
        return "\n".join(lines)


def _fmt(value: float | int | None, *, percent: bool = False) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    if percent:
        return f"{100.0 * value:.2f}"
    return f"{value:.3f}"


def _sortable(value: Any) -> tuple[int, Any]:
    """Sort key that orders mixed key types deterministically (numbers, dates, text)."""
    if isinstance(value, bool | int | float):
        return (0, float(value))
    if isinstance(value, _dt.date):
        return (1, value.isoformat())
    return (2, str(value))
