"""Browser tests: Playwright (sync API) drives Debian's chromium against a real uvicorn server.

The server runs in a daemon thread of the test process on 127.0.0.1 and a free port, over a
temporary store, and is told to exit at the end of the module (it dies with the process in any
case). Screenshots go to ``test-artifacts/`` (gitignored). Never ``playwright install``: the
browser is ``/usr/bin/chromium`` (``.ci/run`` installs it with apt).
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TIMEOUT_MS = 30_000

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed (.ci/run installs it)")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import uvicorn

    from nevsim.web import WebSettings, create_app

    store = tmp_path_factory.mktemp("browser") / "runs.duckdb"
    port = _free_port()
    config = uvicorn.Config(create_app(WebSettings(store_path=store)), host="127.0.0.1", port=port,
                            log_level="warning", ws="none", lifespan="on")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, name="nevsim-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def page(server: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        context.set_default_timeout(TIMEOUT_MS)
        pg = context.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda exc: errors.append(str(exc)))
        pg.errors = errors
        try:
            yield pg
        finally:
            context.close()
            browser.close()


def _trace(page: Any, fig_id: str, name_part: str) -> dict[int, float]:
    """The plotted (x → y) values of the trace whose name contains ``name_part``, read from the graph div."""
    page.wait_for_selector(f"#{fig_id}[data-ready='1']")
    points = page.evaluate(
        """([id, part]) => {
             const gd = document.getElementById(id);
             const t = gd._fullData.find((d) => (d.name || '').includes(part));
             return t ? [Array.from(t.x), Array.from(t.y)] : null;
           }""", [fig_id, name_part])
    assert points is not None, f"no trace {name_part!r} in {fig_id}"
    return {int(x): float(y) for x, y in zip(*points, strict=True)}


def _run_id(page: Any) -> str:
    return page.locator("#run-id").inner_text().strip()


def test_outlook_edit_run_and_download(server: str, page: Any) -> None:
    # 1. the outlook of an empty store: run the default scenario from the page
    page.goto(f"{server}/outlook")
    page.screenshot(path=str(ARTIFACTS / "01-outlook-empty.png"))
    page.click("#run-default")
    page.wait_for_url("**/outlook?run=*")
    base_battery = _trace(page, "fig-battery", "Battery")
    base_share = _trace(page, "fig-ev-share", "projection")
    assert 2040 in base_battery and 2040 in base_share
    assert 40 < base_share[2030] <= 100
    base_id = _run_id(page)
    page.screenshot(path=str(ARTIFACTS / "02-outlook-default.png"), full_page=True)

    # 2. the editor: an out-of-range learning rate gets an inline message, a valid one runs
    page.goto(f"{server}/editor")
    lr = page.locator("#f-technology-battery_learning_rate")
    assert lr.input_value() == "0.18"
    lr.fill("0.9")
    message = page.locator("[data-err-for='technology.battery_learning_rate']")
    message.filter(has_text="0.01 to 0.5").wait_for()
    page.screenshot(path=str(ARTIFACTS / "03-editor-invalid.png"), full_page=True)
    lr.fill("0.3")
    page.wait_for_function(
        "() => document.querySelector(\"[data-err-for='technology.battery_learning_rate']\").textContent === ''")
    assert "battery_learning_rate" in page.locator("#changes").inner_text()
    page.click("#run-btn")
    page.wait_for_url(lambda url: "/outlook?run=" in url and base_id not in url)
    fast_battery = _trace(page, "fig-battery", "Battery")
    fast_share = _trace(page, "fig-ev-share", "projection")
    fast_id = _run_id(page)
    assert fast_id != base_id
    # the plotted values changed the way faster learning should change them
    assert fast_battery[2040] < base_battery[2040] * 0.95
    assert fast_share[2030] > base_share[2030]
    page.screenshot(path=str(ARTIFACTS / "04-outlook-fast-learning.png"), full_page=True)

    # 3. download the CSV of the run shown and check it against the plotted values
    with page.expect_download() as info:
        page.click("#dl-csv")
    download = info.value
    target = ARTIFACTS / "series.csv"
    download.save_as(str(target))
    csv = pd.read_csv(io.StringIO(target.read_text()))
    pack = csv[(csv["variable"] == "Price|Battery Pack") & (csv["year"] == 2040)]["value"].item()
    assert pack == pytest.approx(fast_battery[2040], rel=1e-9)
    assert set(csv["scenario"]) == {"china-current-policies-edited"}

    # 4. compare the two runs side by side
    page.goto(f"{server}/compare?run={base_id}&run={fast_id}")
    page.wait_for_selector("#fig-compare-0[data-ready='1']")
    assert "technology.battery_learning_rate" in page.locator("#scenario-diff").inner_text()
    page.screenshot(path=str(ARTIFACTS / "05-compare.png"), full_page=True)
    assert page.errors == []
