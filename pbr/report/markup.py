"""The HTML report's markup: escaping, semantic tables, figures, the page and its styles.

No script anywhere: the page works with JavaScript off, and a Content-Security-Policy
in the page itself ([W3C-CSP-3]: ``default-src 'none'``; images only as ``data:`` URIs;
inline styles) makes the browser refuse, and log, any request for anything outside the
file.  Tables
have a ``caption`` and ``th`` cells with ``scope``; figures are ``img`` elements with
``alt`` text inside ``figure`` with a ``figcaption`` stating the numbers (WCAG 2.2,
1.1.1 and 1.3.1 [W3C-WCAG-2.2]).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl

from pbr.report.figures import Chart

__all__ = ["CSP", "STYLE", "Section", "TableCell", "esc", "figure_html", "fmt",
           "frame_table", "page_html", "table_html"]

#: the page's Content-Security-Policy: nothing may be fetched; images only inline
CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
       "base-uri 'none'; form-action 'none'")

STYLE = """
:root { --ink: #1c2833; --muted: #566573; --rule: #aab7b8; --band: #f4f6f6;
        --accent: #1b4f72; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Segoe UI", Arial, sans-serif; color: var(--ink);
       margin: 0 auto; max-width: 62rem; padding: 1rem 1.5rem 3rem; line-height: 1.45;
       background: #fff; }
h1 { font-size: 1.6rem; margin: 0.5rem 0 0.25rem; }
h2 { font-size: 1.25rem; border-bottom: 2px solid var(--accent); padding-bottom: 0.2rem;
     margin-top: 2.2rem; }
h3 { font-size: 1.05rem; margin-top: 1.4rem; }
p.meta, .muted { color: var(--muted); font-size: 0.9rem; }
nav ol { columns: 2; font-size: 0.92rem; }
a { color: var(--accent); }
a:focus, a:hover { outline: 2px solid var(--accent); outline-offset: 1px; }
dl.headline { display: grid; grid-template-columns: repeat(auto-fill, minmax(12rem, 1fr));
              gap: 0.6rem; margin: 1rem 0; }
dl.headline div { border: 1px solid var(--rule); border-radius: 4px; padding: 0.5rem; }
dl.headline dt { font-size: 0.85rem; color: var(--muted); }
dl.headline dd { margin: 0; font-size: 1.3rem; font-weight: bold; }
.table-wrap { overflow-x: auto; margin: 0.8rem 0 1.2rem; }
table { border-collapse: collapse; font-size: 0.88rem; width: 100%; }
caption { text-align: left; font-weight: bold; padding: 0.3rem 0; caption-side: top; }
th, td { border-bottom: 1px solid var(--rule); padding: 0.25rem 0.45rem;
         vertical-align: top; text-align: left; }
thead th { background: var(--band); border-bottom: 2px solid var(--ink); }
tfoot th, tfoot td { border-top: 2px solid var(--ink); font-weight: bold; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums;
                 white-space: nowrap; }
td.how { font-size: 0.8rem; color: var(--muted); white-space: pre-wrap; }
td.withheld { color: var(--muted); text-align: right; }
figure { margin: 1rem 0 1.5rem; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--band); }
figcaption { font-size: 0.85rem; color: var(--muted); margin-top: 0.3rem; }
blockquote.jdl { border-left: 4px solid var(--accent); margin: 0.6rem 0;
                 padding: 0.2rem 0.8rem; background: var(--band); }
code, .hash { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 0.8rem;
              word-break: break-all; }
.banner { border: 2px solid var(--accent); padding: 0.5rem 0.8rem; margin: 1rem 0; }
ul.notes li { margin-bottom: 0.3rem; }
@media print {
  body { max-width: none; padding: 0; font-size: 9.5pt; }
  .table-wrap { overflow: visible; }
  table { font-size: 8pt; }
  nav { display: none; }
  h2 { break-after: avoid; page-break-after: avoid; }
  figure, table, dl.headline, blockquote { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  a { color: inherit; text-decoration: none; }
  td.how { color: #000; }
  @page { size: A4; margin: 15mm 12mm; }
}
"""


def esc(value: Any) -> str:
    """Text for HTML (quotes escaped too)."""
    return html.escape(str(value), quote=True)


def fmt(value: Any, kind: str = "") -> str:
    """One cell's text: ``-`` for missing; ``kind`` ``"pct"`` (a proportion as per cent,
    one decimal), ``"int"``, ``"money"`` (thousands separators, exact Decimal), ``"p"``
    (a p-value) or ``"num"`` (four significant figures)."""
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if kind == "pct":
        return f"{100 * float(value):.1f}%"
    if kind == "money":
        return f"{Decimal(str(value)):,}"
    if kind == "int" or isinstance(value, int):
        return f"{int(value):,}"
    if kind == "p":
        return "<0.0001" if float(value) < 1e-4 else f"{float(value):.4f}"
    if isinstance(value, float) or kind == "num":
        return f"{float(value):,.4g}"
    return str(value)


_NUMERIC = frozenset({"pct", "int", "money", "p", "num"})


@dataclass(frozen=True)
class TableCell:
    """A cell withheld by disclosure control: shown as the rule's symbol, with why."""

    symbol: str
    why: str


def _cell(value: Any, kind: str, tag: str, scope: str = "") -> str:
    if isinstance(value, TableCell):
        return (f'<{tag} class="withheld" title="{esc(value.why)}">'
                f'{esc(value.symbol)}</{tag}>')
    cls = ' class="num"' if kind in _NUMERIC else (
        ' class="how"' if kind == "how" else "")
    return f"<{tag}{scope}{cls}>{esc(fmt(value, kind))}</{tag}>"


def table_html(rows: Sequence[Sequence[Any]], columns: Sequence[tuple[str, str]], *,
               caption: str, ident: str, foot: Sequence[Sequence[Any]] = (),
               row_headers: bool = True) -> str:
    """A semantic table: ``caption``, ``thead`` with ``th scope="col"``, the first cell of
    each row a ``th scope="row"`` (with ``row_headers``), an optional ``tfoot``.

    ``columns``: ``(heading, kind)`` per column (kinds as :func:`fmt`, or ``"how"``)."""
    numeric = ' class="num"'
    head = "".join(f'<th scope="col"{numeric if k in _NUMERIC else ""}>{esc(h)}</th>'
                   for h, k in columns)
    out = [f'<div class="table-wrap"><table id="{esc(ident)}"><caption>{esc(caption)}'
           "</caption>",
           f"<thead><tr>{head}</tr></thead><tbody>"]

    def tr(row: Sequence[Any]) -> str:
        cells = []
        for i, (v, (_, k)) in enumerate(zip(row, columns, strict=True)):
            first = i == 0 and row_headers
            cells.append(_cell(v, k, "th" if first else "td",
                               ' scope="row"' if first else ""))
        return "<tr>" + "".join(cells) + "</tr>"

    out += [tr(r) for r in rows]
    out.append("</tbody>")
    if foot:
        out.append("<tfoot>" + "".join(tr(r) for r in foot) + "</tfoot>")
    out.append("</table></div>")
    return "\n".join(out)


def frame_table(frame: pl.DataFrame, *, caption: str, ident: str,
                kinds: dict[str, str] | None = None,
                headings: dict[str, str] | None = None,
                withheld: dict[tuple[int, str], TableCell] | None = None) -> str:
    """A polars frame as a semantic table; ``withheld`` cells shown as their symbol."""
    kinds = kinds or {}
    headings = headings or {}
    withheld = withheld or {}
    cols = [(headings.get(c, c.replace("_", " ")), kinds.get(c, "")) for c in frame.columns]
    rows = [[withheld.get((i, c), v) for c, v in zip(frame.columns, r, strict=True)]
            for i, r in enumerate(frame.iter_rows())]
    return table_html(rows, cols, caption=caption, ident=ident)


def figure_html(chart: Chart, number: int) -> str:
    """A figure: the SVG as a ``data:`` URI image with its ``alt`` text, and a numbered
    caption stating the figure's numbers."""
    data = base64.b64encode(chart.svg.encode("utf-8")).decode("ascii")
    return (f'<figure id="fig-{esc(chart.name)}" data-figure="{esc(chart.name)}">'
            f'<img src="data:image/svg+xml;base64,{data}" alt="{esc(chart.alt)}">'
            f"<figcaption><strong>Figure {number}.</strong> {esc(chart.caption)}"
            "</figcaption></figure>")


@dataclass(frozen=True)
class Section:
    """One section of the report: its anchor, heading and body (HTML)."""

    ident: str
    title: str
    body: str


def page_html(title: str, subtitle: str, sections: Sequence[Section]) -> str:
    """The whole document: head (charset, viewport, CSP, styles), contents, sections."""
    nav = "".join(f'<li><a href="#{esc(s.ident)}">{esc(s.title)}</a></li>'
                  for s in sections)
    body = "\n".join(
        f'<section id="{esc(s.ident)}" aria-labelledby="{esc(s.ident)}-h">'
        f'<h2 id="{esc(s.ident)}-h">{esc(s.title)}</h2>\n{s.body}\n</section>'
        for s in sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="pbr">\n'
        f"<title>{esc(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f'<header><h1>{esc(title)}</h1><p class="meta">{esc(subtitle)}</p>\n'
        f'<nav aria-label="Contents"><h2 id="contents">Contents</h2><ol>{nav}</ol></nav>'
        f"</header>\n<main>\n{body}\n</main>\n"
        '<footer><p class="muted">Written by pbr; a single self-contained file (no '
        "scripts, no external resources).</p></footer>\n</body>\n</html>\n")
