"""The Chargers chart as plotly.js draws it (Debian's chromium): the right axis ticks at round
values, not at the left axis's gridlines scaled (2.65, 5.3, … before). Hand-made fixture run."""

from __future__ import annotations

from pathlib import Path

import pytest

from nevsim.report.charts import chargers
from nevsim.results import Results

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed (.ci/run installs it)")


def test_rendered_chargers_ticks_are_round(small_results: Results, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    page_file = tmp_path / "chargers.html"
    chargers(small_results).write_html(str(page_file), include_plotlyjs=True, full_html=True, div_id="fig")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = browser.new_page()
            page.goto(page_file.as_uri())
            page.wait_for_function("() => document.getElementById('fig')._fullLayout !== undefined")
            ticks = page.evaluate("""() => {
                const fl = document.getElementById('fig')._fullLayout;
                return [fl.yaxis, fl.yaxis2].map((ax) => ax._vals.map((v) => v.x));
            }""")
        finally:
            browser.close()
    left, right = ticks
    # the fixture: 1.1 M chargers and 10 EVs per charger at most → 0, 0.2 M, … 1.2 M and 0, 2, … 12
    assert right == pytest.approx([0, 2, 4, 6, 8, 10, 12])
    assert left == pytest.approx([0, 2e5, 4e5, 6e5, 8e5, 1e6, 1.2e6])
