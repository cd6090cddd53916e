"""The back-test chart's title as plotly.js draws it (Debian's chromium) on a 390 px wide phone:
every line inside the chart, above the panel titles. Before, the headline (69 characters at
15 px) ran to x ≈ 526 px in a 374 px wide chart and was cut off."""

from __future__ import annotations

from pathlib import Path

import pytest

from nevsim.backtest import backtest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed (.ci/run installs it)")


def test_title_fits_a_390px_phone(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    page_file = backtest("china-fast-battery-learning", cutoffs=[2020, 2022], policies="as-known",
                         draws=4, seed=1).write_html(tmp_path / "fan.html")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.goto(page_file.as_uri())
            page.wait_for_function("() => document.querySelector('.gtitle') !== null")
            box = page.evaluate("""() => {
                const chart = document.querySelector('.main-svg').getBoundingClientRect();
                const title = document.querySelector('.gtitle').getBoundingClientRect();
                const panels = Array.from(document.querySelectorAll('.annotation'))
                    .map((a) => a.getBoundingClientRect().top);
                const lines = Array.from(document.querySelectorAll('.gtitle .line'))
                    .map((l) => l.getBoundingClientRect().right);
                return {left: chart.left, right: chart.right, top: chart.top, lines: lines,
                        title_top: title.top, title_bottom: title.bottom, panels_top: Math.min(...panels)};
            }""")
        finally:
            browser.close()
    assert box["right"] - box["left"] < 390
    assert max(box["lines"]) <= box["right"] - 10, box  # every line inside the chart, 10 px to spare
    assert len(box["lines"]) == 5  # the headline and four <sup> lines
    assert box["title_top"] >= box["top"] and box["title_bottom"] <= box["panels_top"] - 10, box
