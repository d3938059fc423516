"""The self-contained HTML report of a contract run or an evaluation (docs/report.md).

:func:`html_report` draws one HTML file from whatever it is given: a
:class:`~pbr.contract.ContractRun` (measure, outcomes, payment statement), a
:class:`~pbr.MeasureResult`, a :class:`~pbr.ComparisonResult`, a
:class:`~pbr.MatchResult`, a :class:`~pbr.contract.PaymentStatement`, the audit
:class:`~pbr.Manifest` and equality tables.  The sections, in order: headline figures;
the payment statement with each line's explanation and a payment waterfall; the
outcomes against the comparator; the comparison with its intervals, the Justice Data Lab
sentence and a forest plot; Kaplan-Meier and cumulative-reoffences curves; the balance
table and Love plot; a funnel plot of areas or providers; the equality tables; the
exclusions ledger; the manifest hashes; the notes.  A section the inputs cannot support
is listed under "About this report" with the reason, never dropped silently.

The file is self-contained (styles inline, figures as ``data:`` SVG images, no script,
a Content-Security-Policy forbidding any request) and deterministic: the same inputs give
byte-identical HTML (the SVG has a fixed hash salt and no date; nothing reads the clock).
Publication mode applies the disclosure rules of :mod:`pbr.suppress` to every count the
report shows, to the figures drawn from them and to the explanations that quote them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from pbr import _render
from pbr._version import __version__
from pbr.compare.result import ComparisonResult
from pbr.contract.run import ContractRun
from pbr.contract.statement import PaymentStatement
from pbr.equality import EqualityResult
from pbr.equality import equality as _equality_of
from pbr.errors import SpecError
from pbr.io.manifest import Manifest
from pbr.matching.result import MatchResult
from pbr.measures import MeasureResult
from pbr.report.markup import Section, esc, page_html, table_html
from pbr.report.sections import BUILDERS, Guard, Inputs

__all__ = ["HtmlReport", "html_report", "write_html_report"]

#: columns tried, in order, for the funnel plot's units when ``units="auto"``
UNIT_COLUMNS = ("area", "provider")


@dataclass(frozen=True)
class HtmlReport:
    """A rendered report: the HTML text and an account of what is in it.

    Attributes
    ----------
    html
        The whole document (UTF-8 text).
    title
        The page title.
    sections
        The sections drawn, in order (their anchors: ``statement``, ``curves``, ...).
    omitted
        ``(section, reason)`` for each section the inputs could not support.
    figures
        The figures drawn (``km``, ``mcf``, ``funnel``, ``waterfall``, ``forest``,
        ``love``), in order.
    tables
        The ``id`` of every table.
    publication
        The disclosure rules applied (their description), or None.
    withheld
        Cells withheld by disclosure control.
    provenance
        pbr version, the HTML's SHA-256 and the inputs' own fingerprints.

    Examples
    --------
    >>> import pbr
    >>> data = pbr.synth.generate(300, seed=2)
    >>> report = pbr.measure(data.cohort, data.events).to_html(units="provider")
    >>> report.sections[:2], "funnel" in report.figures
    (('headline', 'curves'), True)
    """

    html: str
    title: str
    sections: tuple[str, ...]
    omitted: tuple[tuple[str, str], ...]
    figures: tuple[str, ...]
    tables: tuple[str, ...]
    publication: str | None = None
    withheld: int = 0
    provenance: dict[str, Any] = field(default_factory=dict, compare=False)

    def write(self, path: str | Path) -> Path:
        """Write the HTML to ``path`` (UTF-8, all or nothing) and return the path."""
        from pbr.io._atomic import atomic_files

        target = Path(path)
        with atomic_files(target) as staged:
            staged[0].write_bytes(self.html.encode("utf-8"))
        return target

    def summary(self) -> pl.DataFrame:
        """One row per section: ``section``, ``drawn`` and the ``reason`` when not."""
        reasons = dict(self.omitted)
        names = [name for name, _ in BUILDERS]
        return pl.DataFrame({"section": names, "drawn": [n in self.sections for n in names],
                             "reason": [reasons.get(n) for n in names]})

    def to_frame(self) -> pl.DataFrame:
        """The same as :meth:`summary`."""
        return self.summary()

    def explain(self, section: str) -> str:
        """Whether ``section`` was drawn, and why not."""
        names = [name for name, _ in BUILDERS]
        if section not in names:
            raise KeyError(f"no section {section!r}; sections are {', '.join(names)}")
        if section in self.sections:
            return f"section {section}: drawn"
        return f"section {section}: not drawn: {dict(self.omitted)[section]}"

    def __str__(self) -> str:
        mode = f"publication mode ({self.publication}), {self.withheld} cells withheld" \
            if self.publication else "full detail (not for publication)"
        lines = [f"HTML report: {self.title} ({len(self.html.encode()):,} bytes, {mode})",
                 f"  sections: {', '.join(self.sections)}",
                 f"  figures:  {', '.join(self.figures) or '-'}"]
        lines += [f"  not drawn: {s}: {why}" for s, why in self.omitted]
        return "\n".join(lines)


# --------------------------------------------------------------------------- inputs
def _equality(value: Any) -> tuple[tuple[str, Any], ...]:
    if value is None:
        return ()
    if isinstance(value, EqualityResult):
        return (("Equality impact", value),)
    if isinstance(value, pl.DataFrame):
        return (("Equality table", value),)
    if isinstance(value, Mapping):
        return tuple((str(k), _as_frame(v, f"equality[{k!r}]")) for k, v in value.items())
    if isinstance(value, Sequence) and not isinstance(value, str):
        return tuple((f"Equality table {i + 1}", _as_frame(v, f"equality[{i}]"))
                     for i, v in enumerate(value))
    tables = getattr(value, "tables", None)
    if callable(tables):
        return _equality(tables())
    return (("Equality table", _as_frame(value, "equality")),)


def _as_frame(value: Any, name: str) -> pl.DataFrame:
    if isinstance(value, pl.DataFrame):
        return value
    for attr in ("to_frame", "summary"):
        fn = getattr(value, attr, None)
        if callable(fn):
            out = fn()
            if isinstance(out, pl.DataFrame):
                return out
    raise SpecError(f"{name}: expected a polars DataFrame or a result with to_frame(), got "
                    f"{type(value).__name__}; pass pbr.equality(...) or its tables")


def _column(frame: pl.DataFrame | None, name: str | None, arg: str) -> None:
    if name is None or frame is None:
        return
    if name not in frame.columns:
        raise SpecError(f"{arg}={name!r}: no such column in the measure's frame; columns: "
                        f"{', '.join(frame.columns)}")


def _rules(publication: Any) -> Any:
    if publication is False or publication is None:
        return None
    from pbr.suppress import resolve_rules

    return resolve_rules(None if publication is True else publication)


def _sources(source: Any, run: Any, result: Any, statement: Any, comparison: Any,
             match: Any, manifest: Any) -> dict[str, Any]:
    got = {"run": run, "result": result, "statement": statement, "comparison": comparison,
           "match": match, "manifest": manifest}
    if source is not None:
        slot = {ContractRun: "run", MeasureResult: "result", PaymentStatement: "statement",
                ComparisonResult: "comparison", MatchResult: "match",
                Manifest: "manifest"}.get(type(source))
        if slot is None:
            raise SpecError(f"html_report: cannot report on a {type(source).__name__}; give "
                            "a ContractRun, MeasureResult, PaymentStatement, "
                            "ComparisonResult, MatchResult or Manifest")
        if got[slot] is not None:
            raise SpecError(f"html_report: {slot} given twice (as the first argument and as "
                            f"{slot}=); give it once")
        got[slot] = source
    for slot, kind in (("run", ContractRun), ("result", MeasureResult),
                       ("statement", PaymentStatement), ("comparison", ComparisonResult),
                       ("match", MatchResult), ("manifest", Manifest)):
        if got[slot] is not None and not isinstance(got[slot], kind):
            raise SpecError(f"{slot}=: expected a {kind.__name__}, got "
                            f"{type(got[slot]).__name__}")
    r = got["run"]
    if r is not None:
        for slot, value in (("result", r.result), ("statement", r.statement)):
            if got[slot] is not None and got[slot] is not value:
                raise SpecError(f"{slot}= and run= both give a {slot}; give one")
            got[slot] = value
    if all(v is None for v in got.values()):
        raise SpecError("html_report: nothing to report; give a contract run, a measure "
                        "result, a statement, a comparison, a match or a manifest")
    return got


def html_report(source: Any = None, *, run: ContractRun | None = None,
                result: MeasureResult | None = None,
                statement: PaymentStatement | None = None,
                comparison: ComparisonResult | None = None,
                match: MatchResult | None = None, manifest: Manifest | None = None,
                equality: Any = None, equality_by: str | Sequence[str] | None = None,
                group: str | None = None, units: str | None = "auto",
                publication: Any = False, title: str | None = None) -> HtmlReport:
    """One self-contained HTML report of a contract run or an evaluation.

    Parameters
    ----------
    source
        Any one of the results below, put in its place by its type.
    run
        A :class:`~pbr.contract.ContractRun`: its measure, outcomes and statement.
    result, statement, comparison, match, manifest
        A :class:`~pbr.MeasureResult` (curves, funnel, ledger), a
        :class:`~pbr.contract.PaymentStatement`, a :class:`~pbr.ComparisonResult`, a
        :class:`~pbr.MatchResult` (balance and Love plot), the audit
        :class:`~pbr.Manifest` (hashes).
    equality
        An :class:`~pbr.equality.EqualityResult` (``pbr.equality(...)``), or tables: a
        frame, a list or mapping of frames, or results with ``to_frame()``.
    equality_by
        Characteristics (``"sex"``, ``"age_band"``, ...) for :func:`pbr.equality` of
        the run (with its cohort column) or of the measure, when ``equality`` is not
        given.
    group
        A column of the measure's frame: one curve per value (default: the contract's
        cohort column for a run, else one curve for everybody).
    units
        The column of areas or providers for the funnel plot; ``"auto"``: ``area`` or
        else ``provider`` where present; None: no funnel plot.
    publication
        False (full detail), True (pbr's default disclosure rules), a rules preset name
        (``"threshold_10"``, ...) or a :class:`~pbr.suppress.DisclosureRules`.
    title
        The page title (default from the contract or the measure).

    Returns
    -------
    HtmlReport

    Raises
    ------
    SpecError
        Nothing to report; an argument of the wrong type; ``group`` or ``units`` not a
        column of the measure; unknown disclosure rules.

    Examples
    --------
    >>> import pbr
    >>> data = pbr.synth.generate(300, seed=2)
    >>> res = pbr.measure(data.cohort, data.events)
    >>> report = html_report(res, group="treated", publication=True)
    >>> report.html.startswith("<!DOCTYPE html>"), "<script" in report.html
    (True, False)
    """
    got = _sources(source, run, result, statement, comparison, match, manifest)
    res = got["result"]
    frame = None if res is None else res.frame
    r = got["run"]
    if group is None and r is not None and frame is not None \
            and r.contract.cohort_column in frame.columns:
        group = r.contract.cohort_column
    if units == "auto":
        units = next((c for c in UNIT_COLUMNS if frame is not None and c in frame.columns),
                     None)
    _column(frame, group, "group")
    _column(frame, units, "units")
    rules = _rules(publication)
    if equality_by is not None:
        if equality is not None:
            raise SpecError("give equality= (tables made already) or equality_by= (the "
                            "characteristics to tabulate), not both")
        if r is None and res is None:
            raise SpecError("equality_by= needs a contract run or a measure result")
        equality = (_equality_of(r, equality_by, cohort_column=r.contract.cohort_column)
                    if r is not None else _equality_of(res, equality_by))
    inputs = Inputs(result=res, statement=got["statement"],
                    outcomes=tuple(r.outcomes) if r is not None else (),
                    comparison=got["comparison"], match=got["match"],
                    manifest=got["manifest"], equality=_equality(equality), group=group,
                    units=units)
    guard = Guard(rules)
    charts: list[Any] = []
    drawn: list[Section] = []
    omitted: list[tuple[str, str]] = []
    for name, build in BUILDERS:
        out = build(inputs, guard, charts)
        if isinstance(out, Section):
            drawn.append(out)
        else:
            omitted.append((name, out))
    drawn.append(_about(drawn, omitted, rules, guard))
    heading = title or _title(inputs)
    subtitle = (f"pbr {__version__}; " + ("publication mode: disclosure control applied "
                                          f"({rules.name})" if rules is not None else
                                          "full detail: not for publication"))
    text = page_html(heading, subtitle, drawn)
    prov: dict[str, Any] = {"pbr_version": __version__,
                            "html_sha256": hashlib.sha256(text.encode()).hexdigest()}
    for key, obj in (("manifest_contract_sha256", got["manifest"]),):
        if obj is not None:
            prov[key] = obj.contract_sha256
    if res is not None:
        prov.update({f"measure_{k}": v for k, v in res.provenance.items()
                     if k.endswith("sha256")})
    tables = tuple(part.split('"', 1)[0] for part in text.split('<table id="')[1:])
    return HtmlReport(html=text, title=heading,
                      sections=tuple(s.ident for s in drawn[:-1]), omitted=tuple(omitted),
                      figures=tuple(c.name for c in charts), tables=tables,
                      publication=None if rules is None else str(rules),
                      withheld=guard.withheld, provenance=prov)


def _title(inp: Inputs) -> str:
    if inp.statement is not None:
        return f"Payment-by-results report: {inp.statement.contract}"
    if inp.result is not None:
        return f"Proven reoffending report: {inp.result.spec.name}"
    if inp.comparison is not None:
        return f"Comparison report: {inp.comparison.measure} measure"
    return "pbr report"


def _about(drawn: list[Section], omitted: list[tuple[str, str]], rules: Any,
           guard: Guard) -> Section:
    body = ["<p>This report is one file: it needs no network and no scripts, and prints "
            "on A4. Every figure has a text alternative and a caption that states its "
            "numbers; every table has a caption and headed rows and columns.</p>"]
    if rules is not None:
        body.append('<p class="banner">Publication mode: ' + esc(str(rules)) + ". "
                    f"{guard.withheld} cells are withheld and shown as "
                    f"<strong>{esc(rules.symbol)}</strong>; figures leave out the groups "
                    "whose counts are withheld, and explanations quoting withheld counts "
                    "are withheld with them.</p>")
    else:
        body.append('<p class="banner">Full detail: small counts are shown. Run with '
                    "publication mode (<code>pbr report --publication</code>) before "
                    "publishing.</p>")
    if omitted:
        body.append(table_html([[s, why] for s, why in omitted],
                               [("section not drawn", ""), ("why", "")],
                               caption="Sections the inputs could not support",
                               ident="table-omitted"))
    return Section("about", "About this report", "\n".join(body))


def write_html_report(path: str | Path, source: Any = None, **options: Any) -> HtmlReport:
    """:func:`html_report` written to ``path`` (all or nothing); returns the report."""
    report = html_report(source, **options)
    report.write(path)
    return report


def _to_html(obj: Any, path: str | Path | None = None, **options: Any) -> HtmlReport:
    """The renderer the results' ``to_html()`` methods call (see :mod:`pbr._render`)."""
    report = html_report(obj, **options)
    if path is not None:
        report.write(path)
    return report


_render.register("html", _to_html)
