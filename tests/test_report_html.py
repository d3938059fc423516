"""The self-contained HTML report (pbr.report.html): its content, accessibility markup,
determinism, publication mode, the results' to_html(), the refusals, `pbr report` and the
CLI's progress bar.  The browser tests are in test_report_html_browser.py."""

from __future__ import annotations

import io
import re
import warnings
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

import pbr
from pbr import _render
from pbr.contract import Contract, run_contract
from pbr.contract.spec import demo_contract_text
from pbr.errors import SpecError
from pbr.io.manifest import read_manifest
from pbr.report.figures import binomial_funnel, svg_text, waterfall_chart
from pbr.report.html import HtmlReport, html_report
from pbr.report.sections import Guard
from pbr.suppress import resolve_rules

DATA = pbr.synth.generate(600, seed=21)


@pytest.fixture(scope="module")
def run() -> Any:
    return run_contract(Contract.from_toml(demo_contract_text()), DATA.cohort, DATA.events)


@pytest.fixture(scope="module")
def report(run: Any) -> HtmlReport:
    return html_report(run, equality_by="sex")


class Page(HTMLParser):
    """The parts of a page the tests look at."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []
        self.captions = 0
        self.caption_in_table = 0
        self.figcaptions: list[str] = []
        self._fig: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "caption":
            self.captions += 1
            self.caption_in_table += self.stack[-1:] == ["table"]
        if tag == "figcaption":
            self._fig = []
        if tag not in ("img", "meta", "br"):
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "figcaption" and self._fig is not None:
            self.figcaptions.append("".join(self._fig))
            self._fig = None
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self._fig is not None:
            self._fig.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag]


# --------------------------------------------------------------------------- figures
def test_binomial_funnel_limits_by_hand() -> None:
    # Binomial(10, 0.5): P(X<=1) = 11/1024 < 0.025 <= P(X<=2) = 56/1024, so the lower
    # limit is 2/10; P(X<=7) = 968/1024 < 0.975 <= P(X<=8) = 1013/1024: upper 8/10
    lo, hi = binomial_funnel(np.array([10.0]), 0.5, 0.95)
    assert (lo[0], hi[0]) == (0.2, 0.8)
    # 99.8%: P(X<=0) = 1/1024 < 0.001 <= ... no: 1/1024 = 0.00098 < 0.001 <= P(X<=1)
    lo, hi = binomial_funnel(np.array([10.0]), 0.5, 0.998)
    assert (lo[0], hi[0]) == (0.1, 0.9)


def test_svg_is_byte_identical_and_has_no_date() -> None:
    steps = [("cohort A", Decimal("100.00")), ("paid on account", Decimal("-25.50"))]
    a = waterfall_chart(steps, currency="GBP")
    b = waterfall_chart(steps, currency="GBP")
    assert a.svg == b.svg and a.svg.startswith("<svg")
    assert "<dc:date>" not in a.svg and "Matplotlib" not in a.svg
    assert "total due 74.50" in a.caption and "paid on account -25.50" in a.caption


def test_svg_text_keeps_text_as_text() -> None:
    from matplotlib.figure import Figure

    fig = Figure()
    fig.subplots().set_xlabel("days from the index date")
    assert "days from the index date" in svg_text(fig)


# --------------------------------------------------------------------------- content
def test_contract_report_has_every_section_it_can_draw(report: HtmlReport) -> None:
    assert report.sections == ("headline", "statement", "outcomes", "curves", "funnel",
                               "equality", "exclusions", "provenance", "notes")
    assert dict(report.omitted).keys() == {"comparison", "balance"}
    assert report.figures == ("waterfall", "km", "mcf", "funnel")
    assert {"table-statement", "table-outcomes", "table-curves", "table-funnel",
            "table-exclusions", "table-manifest", "table-omitted"} <= set(report.tables)
    summary = report.summary()
    assert summary.filter(~pl.col("drawn"))["section"].to_list() == ["comparison", "balance"]
    assert report.explain("balance").startswith("section balance: not drawn: no matched")
    with pytest.raises(KeyError, match="sections are"):
        report.explain("nope")


def test_statement_lines_amounts_and_explanations(run: Any, report: HtmlReport) -> None:
    st = run.statement
    text = report.html
    for x in st.lines:
        assert f'<th scope="row">{x.line}</th>' in text
        assert f"{x.amount:,}" in text
    first = st.explain(st.lines[0].line).splitlines()[1].strip()
    assert first in text
    assert f"{st.total:,}" in text and "total due" in text
    # the waterfall caption states each cohort's money, which sums to the total
    cap = Page(text).figcaptions[0]
    assert cap.startswith("Figure 1.") and f"total due {st.total:,}" in cap


def test_headline_and_funnel_figures_match_the_measure(run: Any, report: HtmlReport) -> None:
    s = run.result.summary().row(0, named=True)
    assert f"{s['n']:,}" in report.html
    assert f"{100 * s['binary_rate']:.1f}%" in report.html
    by_area = run.result.frame.group_by("area").agg(pl.len(), pl.col("reoffended").sum())
    cap = next(c for c in Page(report.html).figcaptions if "Funnel plot" in c)
    for area, n, r in by_area.rows():
        assert f"{area}: {100 * r / n:.1f}% of {n:,}" in cap


def test_accessible_markup(report: HtmlReport) -> None:
    page = Page(report.html)
    tables = page.all("table")
    assert len(tables) == page.captions == page.caption_in_table  # a caption in each
    assert all(a.get("scope") in ("col", "row") for a in page.all("th"))
    imgs = page.all("img")
    assert len(imgs) == len(report.figures) == len(page.figcaptions)
    assert all(a["alt"] and len(a["alt"] or "") > 20 for a in imgs)
    assert all(re.search(r"\d", c) for c in page.figcaptions)  # captions state numbers
    assert page.all("html")[0]["lang"] == "en-GB"
    assert "@media print" in report.html


def test_self_contained_no_script_no_network(report: HtmlReport) -> None:
    page = Page(report.html)
    assert not page.all("script") and "javascript:" not in report.html
    assert all((a["src"] or "").startswith("data:image/svg+xml;base64,")
               for a in page.all("img"))
    assert all((a["href"] or "").startswith("#") for a in page.all("a"))
    assert not page.all("link")
    csp = [a for a in page.all("meta") if a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in (csp[0]["content"] or "")


def test_same_inputs_give_byte_identical_html(run: Any, report: HtmlReport,
                                              tmp_path: Path) -> None:
    again = html_report(run, equality_by="sex")
    assert again.html == report.html
    assert again.provenance["html_sha256"] == report.provenance["html_sha256"]
    path = report.write(tmp_path / "r.html")
    assert path.read_bytes() == report.html.encode("utf-8")


def test_evaluation_report_with_match_and_comparison() -> None:
    m = pbr.match(DATA.cohort, "treated", ["age", "sex", "prior_sanctions"])
    res = pbr.measure(m.cohort(), DATA.events)
    cmp = pbr.compare(res, m)
    rep = html_report(res, comparison=cmp, match=m, group="treated")
    assert {"comparison", "balance", "curves"} <= set(rep.sections)
    assert {"forest", "love", "km", "mcf"} <= set(rep.figures)
    assert cmp.jdl_text() in rep.html.replace("&#x27;", "'")
    assert "table-balance" in rep.tables
    # one curve per treatment group
    cap = next(c for c in Page(rep.html).figcaptions if "Kaplan-Meier" in c)
    assert "true:" in cap and "false:" in cap


def test_manifest_hashes_are_shown(tmp_path: Path) -> None:
    files = pbr.io.write_synth(DATA, tmp_path)
    (tmp_path / "contract.toml").write_text(demo_contract_text(), encoding="utf-8")
    runs, manifest = pbr.audit.pay_files(tmp_path / "contract.toml", files["cohort"],
                                         files["events"], tmp_path / "out")
    rep = html_report(runs, manifest=manifest)
    for _, _, digest in (*manifest.inputs, *manifest.outputs):
        assert digest in rep.html
    assert manifest.contract_sha256 in rep.html


# --------------------------------------------------------------------------- publication
def test_guard_withholds_small_cells_and_their_complements() -> None:
    # area A has 6 offenders (primary); with the total known, one more cell must go
    # (secondary: the smallest other, C) so that A cannot be recovered by subtraction
    t = pl.DataFrame({"area": ["A", "B", "C"], "n": [6, 200, 150]})
    cells = Guard(resolve_rules(None)).table(t, "area", ["n"])
    assert sorted(cells) == [(0, "n"), (2, "n")]
    assert Guard(None).table(t, "area", ["n"]) == {}


def test_publication_mode_withholds_a_small_provider_everywhere() -> None:
    cohort = DATA.cohort.with_columns(
        provider=pl.when(pl.int_range(pl.len()) < 5).then(pl.lit("PX"))
        .otherwise(pl.col("provider")))
    res = pbr.measure(cohort, DATA.events)
    full = html_report(res, units="provider", group="provider")
    pub = html_report(res, units="provider", group="provider", publication=True)
    assert "PX" in Page(full.html).figcaptions[-1]               # the funnel shows PX
    funnel_cap = next(c for c in Page(pub.html).figcaptions if "Funnel" in c)
    km_cap = next(c for c in Page(pub.html).figcaptions if "Kaplan" in c)
    assert "PX" not in funnel_cap and "PX" not in km_cap
    row = re.search(r'<tr><th scope="row">PX</th>(.*?)</tr>', pub.html)
    assert row is not None and row.group(1).count("[c]") == 3     # n, reoffenders, rate
    assert pub.withheld > 0 and pub.publication is not None
    assert "Publication mode" in pub.html and "Full detail" in full.html


def test_publication_mode_withholds_a_small_group_of_the_comparison() -> None:
    cohort = DATA.cohort.with_columns(
        provider=pl.when(pl.int_range(pl.len()) < 5).then(pl.lit("PX"))
        .otherwise(pl.col("provider")))
    res = pbr.measure(cohort, DATA.events)
    with pytest.warns(pbr.SmallSampleWarning, match="provider=PX"):
        cmp = pbr.compare(res, 0.3, by="provider")
    pub = html_report(res, comparison=cmp, units=None, publication=True)
    full = html_report(res, comparison=cmp, units=None)
    assert cmp.jdl_text("PX") in full.html.replace("&#x27;", "'")
    assert "provider = PX is a small group, or is withheld so that" in pub.html
    assert cmp.jdl_text("PX") not in pub.html.replace("&#x27;", "'")
    table = pub.html.split('id="table-comparison"')[1].split("</table>")[0]
    row = re.search(r'<tr><th scope="row">PX</th>(.*?)</tr>', table)
    assert row is not None and "[c]" in row.group(1)
    forest = next(c for c in Page(pub.html).figcaptions if "Estimates" in c)
    assert "PX" not in forest and "P1" in forest


def test_publication_mode_withholds_rare_covariate_shares_of_the_balance() -> None:
    # a category with no treated offender separates perfectly: the model says so
    with pytest.warns(pbr.PbrWarning, match="did not converge"):
        m = pbr.match(DATA.cohort, "treated", ["age", "prior_sanctions", "offence_category"])
    frame = m.balance().frame
    treated = m.sample_sizes().row(0, named=True)["treated"]
    rare = [i for i, (b, v) in enumerate(zip(frame["binary"], frame["mean_treated_before"],
                                             strict=True))
            if b and 0 < round(v * treated) < 10]
    assert rare  # the synthetic cohort has rare offence categories among the treated
    pub = html_report(m, publication=True)
    full = html_report(m)
    assert "love" in full.figures and "love" not in pub.figures
    table = pub.html.split('id="table-balance"')[1].split("</table>")[0]
    rows = table.split("<tbody>")[1].split("</tr>")
    for i in rare:
        assert rows[i].count("[c]") >= 2    # the share and its standardised difference
    assert "[c]" not in rows[0]             # age is not a count


def test_publication_mode_withholds_a_small_cohorts_explanations() -> None:
    c = DATA.cohort
    small = pl.concat([c.filter(pl.col("cohort_period") != "2019Q4"),
                       c.filter(pl.col("cohort_period") == "2019Q4").head(6)])
    with warnings.catch_warnings():  # the small cohort's own warnings: not the point here
        warnings.simplefilter("ignore", pbr.PbrWarning)
        small_run = run_contract(Contract.from_toml(demo_contract_text()), small,
                                 DATA.events)
    pub = html_report(small_run, publication=True)
    table = pub.html.split('id="table-statement"')[1].split("</table>")[0]
    rows = [r for r in table.split("</tr>") if "<td>2019Q" in r]
    q4 = [r for r in rows if "<td>2019Q4</td>" in r]
    assert q4 and all("explanation withheld" in r for r in q4)
    # and others' where secondary suppression withholds their counts (the headline gives
    # the total), but not every cohort's
    hidden = {re.findall(r"<td>(2019Q\d)</td>", r)[0] for r in rows
              if "explanation withheld" in r}
    assert "2019Q4" in hidden and 2 <= len(hidden) < 4
    for x in small_run.statement.lines:          # the amounts are published as contracted
        assert f"{x.amount:,}" in table
    outcomes = pub.html.split('id="table-outcomes"')[1].split("</table>")[0]
    q4_outcomes = [r for r in outcomes.split("</tr>") if ">2019Q4</th>" in r]
    assert q4_outcomes and all(r.count("[c]") == 6 for r in q4_outcomes)


def test_publication_mode_with_named_rules(run: Any) -> None:
    rep = html_report(run, publication="threshold_5_round_5")
    assert rep.publication is not None and "5" in rep.publication
    with pytest.raises(SpecError):
        html_report(run, publication="no_such_rules")


def test_equality_tables_publication_uses_pbr_equality(run: Any) -> None:
    eq = pbr.equality(run, "sex", cohort_column="cohort_period")
    rep = html_report(run, equality=eq, publication=True)
    assert "table-equality-1" in rep.tables and "Equality: sex" in rep.html
    full = html_report(run, equality=eq)
    assert "table-equality-disparities" in full.tables


# --------------------------------------------------------------------------- to_html
def test_results_render_themselves(run: Any, tmp_path: Path) -> None:
    assert run.to_html().html == html_report(run).html
    assert run.statement.to_html().sections[:2] == ("headline", "statement")
    out = run.result.to_html(tmp_path / "m.html", units=None)
    assert (tmp_path / "m.html").read_text(encoding="utf-8") == out.html
    assert "funnel" not in out.sections
    cmp = pbr.compare(run.result, 0.3)
    assert "comparison" in cmp.to_html().sections
    with pytest.raises(LookupError, match="no 'pdf' renderer"):
        _render.render("pdf", run)


# --------------------------------------------------------------------------- refusals
def test_bad_inputs_are_refused(run: Any) -> None:
    with pytest.raises(SpecError, match="nothing to report"):
        html_report()
    with pytest.raises(SpecError, match="cannot report on a str"):
        html_report("run.toml")
    with pytest.raises(SpecError, match="comparison=: expected a ComparisonResult"):
        html_report(run, comparison=run.result)
    with pytest.raises(SpecError, match="run given twice"):
        html_report(run, run=run)
    with pytest.raises(SpecError, match="group='region': no such column"):
        html_report(run, group="region")
    with pytest.raises(SpecError, match="units='pcc': no such column"):
        html_report(run, units="pcc")
    with pytest.raises(SpecError, match=r"equality\[0\]: expected a polars DataFrame"):
        html_report(run, equality=[object()])
    with pytest.raises(SpecError, match="not both"):
        html_report(run, equality=pl.DataFrame({"a": [1]}), equality_by="sex")
    with pytest.raises(SpecError, match="needs a contract run or a measure"):
        html_report(run.statement, equality_by="sex")


# --------------------------------------------------------------------------- CLI
def test_cli_report_and_its_refusals(tmp_path: Path) -> None:
    from pbr.cli import app

    files = pbr.io.write_synth(DATA, tmp_path)
    (tmp_path / "contract.toml").write_text(demo_contract_text(), encoding="utf-8")
    runner = CliRunner()
    common = ["--cohort", str(files["cohort"]), "--events", str(files["events"])]
    res = runner.invoke(app, ["report", "--contract", str(tmp_path / "contract.toml"),
                              *common, "--out", str(tmp_path / "r.html"), "--publication"])
    assert res.exit_code == 0, res.output
    assert "publication mode" in res.stdout and (tmp_path / "r.html").is_file()
    assert "[   0.0s] reading" in res.stderr       # plain step lines: not a terminal
    quiet = runner.invoke(app, ["-q", "report", *common, "--baseline", "0.3", "--out",
                                str(tmp_path / "e.html")])
    assert quiet.exit_code == 0 and quiet.stderr == ""
    assert "comparison" in quiet.stdout.split("sections:")[1].splitlines()[0]
    for args, msg in (
            (["--rules", "round_5"], "--rules is for --publication"),
            (["--treatment", "treated"], "give --treatment and --match-on together"),
            (["--manifest", "m.json"], "--manifest records a contract run"),
            (["--group", "nope"], "nope")):
        bad = runner.invoke(app, ["report", *common, "--out", str(tmp_path / "x.html"),
                                  *args])
        assert bad.exit_code == 2 and msg in bad.output, bad.output
    bad = runner.invoke(app, ["report", *common, "--out", str(tmp_path / "x.pdf")])
    assert bad.exit_code == 2 and ".html" in bad.output


def test_cli_manifest_must_match_the_inputs(tmp_path: Path) -> None:
    from pbr.cli import app

    files = pbr.io.write_synth(DATA, tmp_path)
    contract = tmp_path / "contract.toml"
    contract.write_text(demo_contract_text(), encoding="utf-8")
    pbr.audit.pay_files(contract, files["cohort"], files["events"], tmp_path / "st")
    other = pbr.io.write_synth(pbr.synth.generate(300, seed=5), tmp_path / "other")
    res = CliRunner().invoke(app, ["report", "--contract", str(contract), "--cohort",
                                   str(other["cohort"]), "--events", str(files["events"]),
                                   "--manifest", str(tmp_path / "st" / "manifest.json"),
                                   "--out", str(tmp_path / "r.html")])
    assert res.exit_code == 2 and "is not the one recorded" in res.output


def test_step_bar_on_a_terminal() -> None:
    from rich.console import Console

    from pbr.cli._progress import StepBar

    out = io.StringIO()
    bar = StepBar(total=2, console=Console(file=out, force_terminal=True, width=80))
    bar("reading cohort.csv")
    bar("measuring 600 offenders")
    bar.stop()
    bar.stop()  # idempotent
    text = out.getvalue()
    assert "reading cohort.csv" in text and "measuring 600 offenders" in text
    assert bar.steps == 2


def test_demo_writes_the_report_beside_its_statement(tmp_path: Path) -> None:
    from pbr.cli import app

    res = CliRunner().invoke(app, ["-q", "demo", "--n", "300", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    page = tmp_path / "statement" / "report.html"
    assert str(page) in res.stdout
    text = page.read_text(encoding="utf-8")
    _, manifest = read_manifest(tmp_path / "statement")
    assert manifest.contract_sha256 in text and 'id="table-equality-outcomes"' in text
    assert pbr.audit.verify(tmp_path / "statement").ok  # the report is not an output


def test_progress_is_a_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import click

    from pbr.cli import _app
    from pbr.cli._progress import StepBar

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    ctx = click.Context(click.Command("x"), obj={"quiet": False})
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert not isinstance(_app.progress(ctx), StepBar)      # a pipe: plain lines
    monkeypatch.setattr("sys.stderr", Tty())
    bar = _app.progress(ctx)
    assert isinstance(bar, StepBar)
    bar("working")
    with _app.reported_errors():
        pass                                                 # the work ends: bar stops
    assert bar._task is None and not _app._LIVE
    quiet = click.Context(click.Command("x"), obj={"quiet": True})
    assert not isinstance(_app.progress(quiet), StepBar)     # --quiet: nothing
