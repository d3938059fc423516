"""The HTML report in a real browser: headless Chromium renders a report with every
section, with no console message (a Content-Security-Policy violation, i.e. any attempt
to fetch something, is one), every figure decoded and every table present; the
screenshot and the printed PDF are kept under the test's tmp directory for review.

Chromium comes from the system's packages (.ci/chromium.sh installs it); the tests skip,
saying so, only where none is installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import pbr
from pbr.contract import Contract, run_contract
from pbr.contract.spec import demo_contract_text
from pbr.report.html import HtmlReport, html_report

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--enable-logging=stderr", "--v=0")


def _browser() -> str | None:
    given = os.environ.get("PBR_CHROMIUM")
    if given:
        return shutil.which(given) or (given if Path(given).is_file() else None)
    return next((p for p in map(shutil.which, NAMES) if p), None)


BROWSER = _browser()
pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="no Chromium installed (chromium, chromium-browser or "
    "google-chrome in PATH, or PBR_CHROMIUM): run .ci/chromium.sh to install one")


def _chromium(tmp: Path, name: str, page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert BROWSER is not None
    profile = tmp / f"profile-{name}"  # a fresh profile for every run
    return subprocess.run([BROWSER, *FLAGS, f"--user-data-dir={profile}", *args,
                           page.as_uri()], capture_output=True, text=True, timeout=120,
                          check=False)


def _console(stderr: str) -> list[str]:
    """The page's console messages in Chromium's log (``...:CONSOLE:<line>] "text"``)."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.fixture(scope="module")
def report() -> HtmlReport:
    data = pbr.synth.generate(600, seed=31)
    run = run_contract(Contract.from_toml(demo_contract_text()), data.cohort, data.events)
    m = pbr.match(data.cohort, "treated", ["age", "sex", "prior_sanctions"])
    cmp = pbr.compare(run.result, 0.3, by="area")
    return html_report(run, comparison=cmp, match=m, equality_by="sex")


def test_every_section_is_drawn(report: HtmlReport) -> None:
    assert report.omitted == ()
    assert report.figures == ("waterfall", "forest", "km", "mcf", "love", "funnel")


def test_renders_with_no_console_message_and_every_figure_and_table(
        report: HtmlReport, tmp_path: Path) -> None:
    page = report.write(tmp_path / "report.html")
    done = _chromium(tmp_path, "dom", page, "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    assert _console(done.stderr) == []
    dom = done.stdout
    figures = re.findall(r'<figure id="fig-([a-z]+)"', dom)
    assert tuple(figures) == report.figures
    assert tuple(re.findall(r'<table id="([a-z0-9-]+)"', dom)) == report.tables
    assert dom.count("<caption>") == len(report.tables)
    assert dom.count("<figcaption>") == len(report.figures)

    # the same page with a probe script (and without the policy that forbids scripts):
    # the images decoded, and the console capture works (the probe's line is seen)
    probe = ("<script>window.addEventListener('load', () => { const im = [...document"
             ".images]; console.log('PBR-PROBE ' + JSON.stringify({images: im.length, "
             "decoded: im.filter(i => i.complete && i.naturalWidth > 0).length, "
             "tables: document.querySelectorAll('table > caption').length, "
             "sections: document.querySelectorAll('main > section').length})); });"
             "</script></body>")
    text = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>\n', "", report.html)
    probed = tmp_path / "probe.html"
    probed.write_text(text.replace("</body>", probe), encoding="utf-8")
    shots = tmp_path / "screenshots"
    shots.mkdir()
    shot = _chromium(tmp_path, "shot", probed, "--window-size=1200,9000",
                     f"--screenshot={shots / 'report.png'}")
    assert shot.returncode == 0, shot.stderr[-2000:]
    lines = _console(shot.stderr)
    assert len(lines) == 1 and "PBR-PROBE" in lines[0], lines
    found = _probe_json(lines[0])
    assert found == {"images": len(report.figures), "decoded": len(report.figures),
                     "tables": len(report.tables), "sections": len(report.sections) + 1}
    png = (shots / "report.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000


def _probe_json(line: str) -> dict[str, Any]:
    """The JSON the probe logged, from Chromium's log line."""
    match = re.search(r"PBR-PROBE (\{.*?\})", line)
    assert match is not None, line
    out: dict[str, Any] = json.loads(match.group(1))
    return out


def test_prints_to_pdf(report: HtmlReport, tmp_path: Path) -> None:
    page = report.write(tmp_path / "report.html")
    pdf = tmp_path / "report.pdf"
    done = _chromium(tmp_path, "pdf", page, f"--print-to-pdf={pdf}",
                     "--no-pdf-header-footer")
    assert done.returncode == 0, done.stderr[-2000:]
    assert _console(done.stderr) == []
    data = pdf.read_bytes()
    assert data[:5] == b"%PDF-"
    assert len(re.findall(rb"/Type\s*/Page[^s]", data)) >= 3  # A4 pages
