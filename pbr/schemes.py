"""Scheme presets: a cohort rule, a measure spec and a comparison spec, named.

``pbr.scheme("crc_pbr_2015")`` returns a frozen :class:`Scheme` bundling the
:class:`~pbr.cohort.rule.CohortRule` (who enters, when), the
:class:`~pbr.spec.MeasureSpec` (what counts as reoffending) and the
:class:`~pbr.compare.ComparisonSpec` (against what, with which test) of a
published payment-by-results scheme or statistic.  The presets are TOML files in
``pbr/presets/schemes/`` with ``[scheme]`` (name, title, source), ``[cohort]``,
``[measure]`` and ``[comparison]`` tables; every parameter line carries its evidence tag
([V] verified in a primary source, [V2] in a secondary source, [R] recalled and
unverified, i.e. an assumption, [I] inferred) and its source in a trailing comment, and
docs/schemes/<name>.md lists them.  A scheme round-trips through TOML exactly.

Sources: each preset's ``source`` and trailing comments cite keys (``[MoJ-Guide-2019]``,
...) listed with the full reference in docs/sources.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pbr._toml import Replaceable, TomlDocument, bundled, bundled_text
from pbr.cohort.rule import CohortRule
from pbr.compare.spec import ComparisonSpec
from pbr.errors import SpecError
from pbr.spec import MeasureSpec

if TYPE_CHECKING:
    from pbr.scheme_run import SchemeRun

__all__ = ["EVIDENCE_TAGS", "Scheme", "available_schemes", "scheme", "scheme_evidence",
           "scheme_toml"]

#: The evidence legend (docs/sources.md, "Evidence tags").
EVIDENCE_TAGS = ("[V]", "[V2]", "[R]", "[I]")
_TABLES = ("scheme", "cohort", "measure", "comparison")
_HEAD = ("name", "title", "source")
_LINE = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?P<value>.*?)\s*#\s*"
                   r"(?P<tag>" + "|".join(map(re.escape, EVIDENCE_TAGS)) + r")\s*(?P<note>.*)$")


@dataclass(frozen=True)
class Scheme(Replaceable, TomlDocument):
    """A named scheme: cohort rule, measure spec and comparison spec.

    Attributes
    ----------
    name
        Identifier (``"crc_pbr_2015"``).
    title
        One-line description.
    source
        The publications the preset rests on.
    cohort, measure, comparison
        The three specs.

    Examples
    --------
    >>> s = scheme("doncaster_pbr")
    >>> s.comparison.kind, s.measure.proof_types, s.cohort.index_types
    ('fixed_baseline', ('conviction',), ('custody',))
    >>> Scheme.from_toml(s.to_toml()) == s
    True
    """

    name: str
    title: str
    source: str
    cohort: CohortRule
    measure: MeasureSpec
    comparison: ComparisonSpec

    def __post_init__(self) -> None:
        for attr in _HEAD:
            if not isinstance(getattr(self, attr), str) or not getattr(self, attr):
                raise SpecError(f"scheme {attr}: give non-empty text, got {getattr(self, attr)!r}")
        for attr, cls in (("cohort", CohortRule), ("measure", MeasureSpec),
                          ("comparison", ComparisonSpec)):
            if not isinstance(getattr(self, attr), cls):
                raise SpecError(f"scheme {attr}: expected a {cls.__name__}, "
                                f"got {type(getattr(self, attr)).__name__}")

    def to_dict(self) -> dict[str, Any]:
        """The four tables as plain TOML-able values."""
        return {"scheme": {"name": self.name, "title": self.title, "source": self.source},
                "cohort": self.cohort.to_dict(), "measure": self.measure.to_dict(),
                "comparison": self.comparison.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scheme:
        """Build from the four tables; a missing or unknown table raises SpecError."""
        unknown = sorted(set(data) - set(_TABLES))
        if unknown:
            raise SpecError(f"scheme: unknown table(s) {unknown}; a scheme has "
                            f"{', '.join(f'[{t}]' for t in _TABLES)}")
        missing = [t for t in _TABLES if t not in data]
        if missing:
            raise SpecError(f"scheme: missing table(s) {', '.join(f'[{t}]' for t in missing)}")
        head = dict(data["scheme"])
        extra = sorted(set(head) - set(_HEAD))
        if extra:
            raise SpecError(f"[scheme]: unknown field(s) {extra}; known: {', '.join(_HEAD)}")
        return cls(name=head.get("name", ""), title=head.get("title", ""),
                   source=head.get("source", ""),
                   cohort=CohortRule.from_dict(data["cohort"]),
                   measure=MeasureSpec.from_dict(data["measure"]),
                   comparison=ComparisonSpec.from_dict(data["comparison"]))

    def _document(self) -> dict[str, Any]:
        return self.to_dict()

    @classmethod
    def _from_document(cls, doc: Mapping[str, Any]) -> Scheme:
        return cls.from_dict(doc)

    def run(self, cohort: Any = None, events: Any = None, *, disposals: Any = None,
            period: str | None = None, custody: Any = None, baseline: Any = None,
            model: Any = None, comparison: Any = None, before: Any = None,
            comparator_before: Any = None, by: str | list[str] | None = None,
            as_of: Any = None, engine: str = "numba", **options: Any) -> SchemeRun:
        """Run the scheme end to end: cohort -> measure -> compare each of its measures.

        The cohort is measured with :attr:`measure`; each of ``comparison.measures`` is
        compared with :func:`pbr.compare` (``spec=`` :attr:`comparison`: its test,
        confidence level, sides, minimum n and form) against the comparator the
        comparison kind needs (:mod:`pbr.scheme_run`).  A comparator the kind needs and
        is missing, or one it does not use, raises SpecError naming the argument.

        Parameters
        ----------
        cohort
            The cohort: a :class:`pbr.Cohort`, a frame with ``offender_id`` and
            ``index_date``, a :class:`pbr.CohortBuild` or a :class:`pbr.MeasureResult`
            measured with :attr:`measure`.  Leave out with ``disposals=`` or a
            :class:`pbr.MatchResult` comparison (whose ``cohort()`` is measured).
        events
            The proven-offence extract every cohort given here is measured on.
        disposals, period
            Disposal records built into the cohort with :attr:`cohort`
            (:func:`pbr.build_cohort`); ``period`` picks one cohort period.
        custody
            Custody spells (needed for ``custody_days_per_offender``, Rikers).
        baseline
            ``fixed_baseline`` and ``adjusted_baseline``: a :class:`pbr.Baseline`, a
            value (a proportion for rates), ``(value, n)``, or ``{measure: value}``.
        model
            ``adjusted_baseline``: a :class:`pbr.CaseMixModel`, ``{measure: model}`` or
            the name of a cohort column of predicted probabilities (the binary rate).
            The baseline moves by the cohort's mean prediction against the baseline's
            (``form``: additive or ratio); a measure without a model is compared with
            the baseline unadjusted, and a note says so.
        comparison
            ``matched_comparison``: the comparison group's cohort or MeasureResult, or a
            :class:`pbr.MatchResult`; ``difference_in_differences``: the comparison
            group's after-period cohort or MeasureResult.
        before, comparator_before
            ``difference_in_differences``: the cohort's and the comparison group's
            before-period cohorts or MeasureResults.
        by
            Column(s) to compare within (providers, areas).
        as_of
            The date the data were extracted (:attr:`MeasureSpec.as_of
            <pbr.spec.MeasureSpec.as_of>`, rule A3): set on the measure spec of this run
            (``run.scheme``); default the spec's.
        engine
            Measure engine, ``"numba"`` or ``"polars"``.
        **options
            Passed to :func:`pbr.compare`: ``method``, ``variance``, ``weights``,
            ``cohort_weights``, ``correction``, ``clusters``, ``n_resamples``, ``seed``.

        Returns
        -------
        SchemeRun
            ``result``, ``comparisons`` (measure -> ComparisonResult), ``summary()``,
            ``outcomes()`` for :func:`pbr.pay`, ``explain()``, ``notes``, ``provenance``.

        Examples
        --------
        >>> import pbr
        >>> data = pbr.synth.generate(400, seed=4)
        >>> run = scheme("doncaster_pbr").run(data.cohort, data.events, baseline=0.5)
        >>> row = run.summary().row(0, named=True)
        >>> round(row["cohort_value"] - row["comparator_value"], 4) == round(row["estimate"], 4)
        True
        >>> row["significant"] is None   # Doncaster: no significance test, no conclusion
        True
        """
        from pbr.scheme_run import run_scheme
        return run_scheme(self, cohort, events, disposals=disposals, period=period,
                          custody=custody, baseline=baseline, model=model,
                          comparison=comparison, before=before,
                          comparator_before=comparator_before, by=by, as_of=as_of,
                          engine=engine,
                          **options)

    def __str__(self) -> str:
        parts = [f"Scheme {self.name!r}: {self.title}", f"  source: {self.source}", "",
                 str(self.cohort), "", str(self.measure), "", str(self.comparison)]
        return "\n".join(parts)


def available_schemes() -> list[str]:
    """Names of the bundled scheme presets.

    Examples
    --------
    >>> available_schemes()[:3]
    ['crc_pbr_2015', 'doncaster_pbr', 'justice_data_lab']
    """
    return bundled("schemes")


def scheme_toml(name: str) -> str:
    """The bundled preset file of a scheme, with its evidence comments.

    Examples
    --------
    >>> "# [V] 3-month cohorts" in scheme_toml("moj_national_2017")
    True
    """
    return bundled_text(name, "schemes", "scheme")


def scheme(name: str) -> Scheme:
    """The named scheme preset.

    Examples
    --------
    >>> s = scheme("crc_pbr_2015")
    >>> s.comparison.case_mix, s.comparison.measures
    ('ogrs4_g3', ('binary_rate', 'per_reoffender'))
    """
    out = Scheme.from_toml(scheme_toml(name))
    if out.name != name:
        raise SpecError(f"scheme file {name}.toml names itself {out.name!r}")
    return out


def scheme_evidence(name: str) -> dict[tuple[str, str], tuple[str, str]]:
    """Evidence of each parameter of a preset: ``(table, key) -> (tag, note)``.

    Read from the trailing comments of the preset file (``key = value  # [V] source``).

    Examples
    --------
    >>> scheme_evidence("doncaster_pbr")[("comparison", "baseline")][0]
    '[V]'
    """
    out: dict[tuple[str, str], tuple[str, str]] = {}
    table = ""
    for raw in scheme_toml(name).splitlines():
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            table = line[1:-1]
            continue
        m = _LINE.match(line)
        if m and table in _TABLES[1:]:
            out[(table, m["key"])] = (m["tag"], m["note"].strip())
    return out
