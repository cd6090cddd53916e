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


def test_the_page_written_is_one_panel_a_row_on_a_phone(tmp_path: Path) -> None:
    """``write_html``'s page picks the one-column layout in a 390 px window and three panels a row at
    1,280 px (before, a phone got three ≈ 90 px panels with turned, colliding year labels)."""
    from playwright.sync_api import sync_playwright

    page_file = backtest("china-current-policies", cutoffs=[2018, 2019, 2020, 2021], methods=["model", "logistic"]
                         ).write_html(tmp_path / "bt.html")
    columns = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            for width in (390, 1280):
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.goto(page_file.as_uri())
                page.wait_for_function("() => document.querySelectorAll('.draglayer .nsewdrag').length === 4")
                page.wait_for_timeout(300)  # (the phone layout replaces the wide one just after it is drawn)
                lefts = page.evaluate("""() => Array.from(document.querySelectorAll('.draglayer .nsewdrag'))
                    .map((p) => Math.round(p.getBoundingClientRect().left))""")
                columns[width] = len(set(lefts))
                if width == 390:  # widened: back to the page's own (wide) figure, kept from the div
                    page.set_viewport_size({"width": 1280, "height": 900})
                    page.wait_for_timeout(500)
                    lefts = page.evaluate("""() => Array.from(document.querySelectorAll('.draglayer .nsewdrag'))
                        .map((p) => Math.round(p.getBoundingClientRect().left))""")
                    columns["390 widened"] = len(set(lefts))
        finally:
            browser.close()
    assert columns == {390: 1, "390 widened": 3, 1280: 3}
