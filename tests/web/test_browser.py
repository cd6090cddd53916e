"""Browser tests: Playwright (sync API) drives Debian's chromium against a real uvicorn server.

The server runs in a daemon thread of the test process on 127.0.0.1 and a free port, over a
temporary store, and is told to exit at the end of the module (it dies with the process in any
case). Screenshots go to ``test-artifacts/`` (gitignored). Never ``playwright install``: the
browser is ``/usr/bin/chromium`` (``.ci/run`` installs it with apt).
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
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


@contextlib.contextmanager
def _serve(store: Path, **settings: Any) -> Iterator[str]:
    """A uvicorn server of the app over ``store`` in a daemon thread; yields its base URL."""
    import uvicorn

    from nevsim.web import WebSettings, create_app

    port = _free_port()
    config = uvicorn.Config(create_app(WebSettings(store_path=store, **settings)), host="127.0.0.1", port=port,
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
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with _serve(tmp_path_factory.mktemp("browser") / "runs.duckdb") as url:
        yield url


@pytest.fixture(scope="module")
def mc_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server that allows Monte Carlo runs of up to four draws."""
    with _serve(tmp_path_factory.mktemp("browser-mc") / "runs.duckdb", max_draws=4) as url:
        yield url


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


def test_editor_distribution_runs_monte_carlo(mc_server: str, page: Any) -> None:
    page.goto(f"{mc_server}/editor")
    field = "technology.china_pack_price_ratio"
    panel = page.locator(f"[data-dist-for='{field}']")
    message = page.locator(f"[data-err-for='{field}']")
    assert panel.is_hidden()
    # "± distribution" opens the parameters of the chosen kind, started from the value and range
    page.click("[data-dist-toggle='f-technology-china_pack_price_ratio-dist']")
    assert panel.is_visible() and panel.locator("[data-p=mean]").input_value() == "0.82"
    assert panel.locator("label[data-param=low]").is_hidden()
    # a bad parameter gets the loader's message under the field
    panel.locator("[data-p=sd]").fill("-0.1")
    message.filter(has_text="greater than 0").wait_for()  # a new sd: the check before said "sd missing"
    assert f"{field}.sd" in message.inner_text()
    # a triangular distribution
    panel.locator("[data-p=dist]").select_option("triangular")
    assert panel.locator("label[data-param=sd]").is_hidden() and panel.locator("label[data-param=mode]").is_visible()
    panel.locator("[data-p=low]").fill("0.75")
    panel.locator("[data-p=high]").fill("0.9")
    page.wait_for_function(f"() => document.querySelector(\"[data-err-for='{field}']\").textContent === ''")
    assert page.locator("#mc-hint").is_visible()  # draws = 1: the page says distributions need draws > 1
    draws = page.locator("#f-uncertainty-draws")
    draws.fill("9")  # over the server's limit
    page.locator("[data-err-for='uncertainty.draws']").filter(has_text="at most 4").wait_for()
    draws.fill("3")
    page.wait_for_function("() => document.querySelector(\"[data-err-for='uncertainty.draws']\").textContent === ''")
    assert page.locator("#mc-hint").is_hidden()
    # a year-path point as a distribution, in the path's text
    page.locator("#f-energy-electricity_price_cny_per_kwh").fill("2010: triangular(low=0.6, mode=0.85, high=1.1)")
    elec = {"2010": {"dist": "triangular", "low": 0.6, "mode": 0.85, "high": 1.1}}
    # only what was changed is sent: the base's own distributions (a number's, a path point's, the
    # correlation pair) read back from the form as they came
    page.wait_for_function("() => document.querySelector('#changes').textContent.includes('0.85')")
    assert json.loads(page.locator("#changes").inner_text()) == {
        field: {"dist": "triangular", "low": 0.75, "mode": 0.82, "high": 0.9}, "uncertainty.draws": 3,
        "energy.electricity_price_cny_per_kwh": elec}
    # (an element screenshot: a full-page one here made the click below miss the button)
    page.locator(f"[data-field='{field}']").screenshot(path=str(ARTIFACTS / "06-editor-distribution.png"))
    page.click("#run-btn")
    page.wait_for_url("**/outlook?run=*")
    run = page.request.get(f"{mc_server}/api/runs/{_run_id(page)}").json()
    unc = run["scenario_resolved"]["uncertainty"]
    assert unc["draws"] == 3
    assert unc["distributions"][field] == {"dist": "triangular", "low": 0.75, "mode": 0.82, "high": 0.9}
    assert unc["distributions"]["energy.electricity_price_cny_per_kwh.2010"] == elec["2010"]
    assert page.errors == []


def test_editor_reads_every_shipped_scenario_back_unchanged(mc_server: str, page: Any) -> None:
    """Loading a scenario and pressing Check sends no changes: every value, distribution (of a
    number, of a year-path point), coefficient and correlation reads back from the form as it came."""
    from nevsim.scenario import list_scenarios

    for name in list_scenarios():
        page.goto(f"{mc_server}/editor?scenario={name}")
        page.locator("#changes").evaluate("(el) => { el.textContent = 'pending'; }")
        page.click("#validate-btn")
        page.wait_for_function("() => document.querySelector('#changes').textContent !== 'pending'")
        assert page.locator("#changes").inner_text() == "{}", name
        page.wait_for_function("() => Array.from(document.querySelectorAll('.err')).every((e) => e.textContent === '')")
    # the year-path reader of the page: numbers and distribution points; unreadable text is sent as typed
    got = page.evaluate("""() => [
        parsePath("2010: 7, 2024: normal(mean=7.8, sd=0.8, min=5.5)"),
        parsePath(", 2030: choice(values=[1, 2.5], weights=[0.7, 0.3]);"),
        parsePath("2030: normal(mean=1"),
        parsePath("2030: 4 5"),
        parsePath("")]""")
    assert got == [{"2010": 7, "2024": {"dist": "normal", "mean": 7.8, "sd": 0.8, "min": 5.5}},
                   {"2030": {"dist": "choice", "values": [1, 2.5], "weights": [0.7, 0.3]}},
                   "2030: normal(mean=1", "2030: 4 5", {}]
    assert page.errors == []


def test_backtest_page_plot_is_tall_and_its_legends_are_visible(server: str, page: Any) -> None:
    """The back-test chart has one panel per cutoff, each tall enough to read its fan, and its legend
    (the methods) lies inside the chart, no entry clipped (QA finding 13; panels since the visual QA
    of 2026-12-01)."""
    page.goto(f"{server}/backtest?go=true")
    page.wait_for_selector("#fig-backtest[data-ready='1']")
    page.locator("#fig-backtest").screenshot(path=str(ARTIFACTS / "07-backtest.png"))
    box = page.evaluate("""() => {
        const gd = document.getElementById('fig-backtest');
        const r = (el) => { const b = el.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; };
        return {div: r(gd), plots: Array.from(gd.querySelectorAll('.draglayer .nsewdrag')).map(r),
                items: Array.from(gd.querySelectorAll('g.legend g.traces')).map(r),
                texts: Array.from(gd.querySelectorAll('g.legend g.traces text.legendtext')).map((t) => t.textContent)};
    }""")
    assert len(box["plots"]) == 5, box
    assert min(p[3] - p[1] for p in box["plots"]) >= 150, box
    left, top, right, bottom = box["div"]
    for x0, y0, x1, y1 in box["items"]:
        assert left <= x0 and x1 <= right + 1 and top <= y0 and y1 <= bottom + 1, (box["div"], (x0, y0, x1, y1))
    assert {"actual", "model", "logistic", "bass", "persistence", "logit_trend"} <= set(box["texts"])
    assert page.errors == []


def test_a_failed_save_in_the_editor_says_why_and_stays(server: str, page: Any) -> None:
    """QA 10, item 2: a save refused by the API (name taken, bad name) shows its message next to the Save
    button, and leaving the name field (which re-checks the scenario) does not clear it; the *replace*
    box overwrites the saved scenario and keeps its description."""
    page.goto(f"{server}/editor")
    name, error, status = page.locator("#save-name"), page.locator("#save-error"), page.locator("#save-status")
    name.fill("qa-one")
    page.locator("#save-description").fill("first")
    page.click("#save-btn")
    status.filter(has_text="saved as qa-one").wait_for()
    page.locator("#save-description").fill("")
    for typed, says in (("qa-one", "exists already"), ("Bad Name!", "name")):
        name.fill(typed)
        page.click("#save-btn")  # leaves the name field: a change event, then a check of the values
        error.filter(has_text=says).wait_for()
        page.wait_for_timeout(700)  # the check has answered by now
        assert says in error.inner_text() and error.is_visible(), typed
        assert error.inner_text().startswith("Not saved:")
    page.locator("#f-technology-battery_learning_rate").fill("0.25")  # a passing check of the values keeps it too
    page.wait_for_function("() => document.querySelector('#changes').textContent.includes('0.25')")
    page.wait_for_timeout(400)
    assert "name" in error.inner_text()
    name.fill("qa-one")
    page.check("#save-replace")
    page.click("#save-btn")
    status.filter(has_text="saved as qa-one").wait_for()
    assert error.inner_text() == ""
    saved = page.request.get(f"{server}/api/scenarios/qa-one").json()
    assert saved["description"] == "first"
    assert page.errors == []


def test_a_failed_run_from_the_empty_outlook_shows_its_message(tmp_path: Path, page: Any) -> None:
    """QA 10, item 12: the empty outlook's Run button shows a failed run's message, not raw JSON."""
    with _serve(tmp_path / "runs.duckdb") as url:
        page.route("**/api/runs", lambda route: route.fulfill(
            status=202, content_type="application/json", body=json.dumps({"run_id": "feedbeef", "status": "queued"})))
        page.route("**/api/runs/feedbeef", lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps({
                "run_id": "feedbeef", "status": "failed", "progress": 0.5,
                "error": {"field": None, "msg": "RuntimeError: the solver did not converge", "allowed": None}})))
        try:
            page.goto(f"{url}/outlook")
            page.click("#run-default")
            status = page.locator("#empty-store [data-status]")
            status.filter(has_text="did not converge").wait_for()
            text = status.inner_text()
            assert "run failed" in text and "{" not in text and '"msg"' not in text, text
        finally:
            page.unroute("**/api/runs")
            page.unroute("**/api/runs/feedbeef")


_BOXES = """(id) => {
    const gd = document.getElementById(id);
    const r = (el) => { const b = el.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; };
    const area = (sel) => Array.from(gd.querySelectorAll(sel)).map(r).filter((b) => b[2] > b[0] && b[3] > b[1]);
    return {legend: area('g.legend'), xtitles: area('g.g-xtitle text, g.g-x2title text'),
            plots: area('.draglayer .nsewdrag'), annotations: area('g.annotation'),
            labels: Array.from(gd.querySelectorAll('g.textpoint text')).filter((t) => t.textContent).map(r)};
}"""


def _overlap(a: list[float], b: list[float], pad: float = 0.5) -> bool:
    return a[0] < b[2] - pad and b[0] < a[2] - pad and a[1] < b[3] - pad and b[1] < a[3] - pad


def test_outlook_chart_texts_do_not_run_into_each_other(mc_server: str, page: Any) -> None:
    """QA 10, item 10: legends sit below the x axis' title, not on it, and do not squash the plot (a run
    with draws has long legends); the Energy panel titles are apart; the US EV-share chart's target
    labels do not overlap; the band legend of a few draws says the band is rough."""
    runs = {}
    for key, body in (("mc", {"scenario": "china-current-policies", "draws": 4}),
                      ("us", {"scenario": "us-current-policies"})):
        r = page.request.post(f"{mc_server}/api/runs?wait=true", data=body)
        assert r.status == 201, r.text()
        runs[key] = r.json()["run_id"]
    page.goto(f"{mc_server}/outlook?run={runs['mc']}")
    ids = page.evaluate("() => Array.from(document.querySelectorAll('div.plot')).map((d) => d.id)")
    assert "fig-energy" in ids and "fig-chargers" in ids
    for fig_id in ids:
        page.wait_for_selector(f"#{fig_id}[data-ready='1']")
        box = page.evaluate(_BOXES, fig_id)
        for legend in box["legend"]:
            for title in box["xtitles"]:
                assert not _overlap(legend, title), (fig_id, legend, title)
                assert legend[1] >= title[3] - 1, (fig_id, "legend above the axis title", legend, title)
        for plot in box["plots"]:
            assert plot[3] - plot[1] >= 250, (fig_id, "plot squashed", plot)
        if fig_id == "fig-energy":
            panels = [a for a in box["annotations"] if a[1] < box["plots"][0][1]]  # the panel titles
            assert len(panels) == 2 and not _overlap(panels[0], panels[1]), box["annotations"]
    page.locator("#fig-energy").screenshot(path=str(ARTIFACTS / "10-energy-draws.png"))
    band = _trace(page, "fig-energy", "5–95 %")
    assert band
    names = page.evaluate("() => document.getElementById('fig-energy')._fullData.map((d) => d.name)")
    assert any("of 4 draws (few draws: rough band)" in n for n in names), names

    page.goto(f"{mc_server}/outlook?run={runs['us']}")
    page.wait_for_selector("#fig-ev-share[data-ready='1']")
    labels = page.evaluate(_BOXES, "fig-ev-share")["labels"]
    texts = page.evaluate("() => Array.from(document.querySelectorAll('#fig-ev-share g.textpoint text')).map((t) => t.textContent)")
    assert "ZEV share 2030 (withdrawn 2025)" in texts, texts  # (the revoked goal is labelled)
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            assert not _overlap(a, b), (texts, a, b)
    page.locator("#fig-ev-share").screenshot(path=str(ARTIFACTS / "11-us-ev-share.png"))
    assert page.errors == []


def test_compare_of_three_regions_fits_its_box(mc_server: str, page: Any) -> None:
    """QA 10, item 7: the scenario-differences table of a CN/US/EU comparison fits its card (it was
    1608 px wide in a 1238 px box) and no row is taller than three lines of text."""
    ids = []
    for name in ("china-current-policies", "us-current-policies", "eu-current-policies"):
        r = page.request.post(f"{mc_server}/api/runs?wait=true", data={"scenario": name})
        assert r.status == 201, r.text()
        ids.append(r.json()["run_id"])
    page.goto(f"{mc_server}/compare?" + "&".join(f"run={i}" for i in ids))
    size = page.evaluate("""() => {
        const t = document.getElementById('scenario-diff');
        const box = t.closest('section').getBoundingClientRect();
        const rows = Array.from(t.querySelectorAll('tbody tr')).map((r) => r.getBoundingClientRect().height);
        return {table: t.getBoundingClientRect().width, box: box.width, rows: rows.length, tallest: Math.max(...rows),
                height: t.getBoundingClientRect().height};
    }""")
    assert size["table"] <= size["box"], size
    assert size["tallest"] <= 80, size
    page.locator("#scenario-diff").screenshot(path=str(ARTIFACTS / "12-compare-regions.png"))
    assert page.errors == []


def test_backtest_page_on_a_phone_has_one_panel_a_row_with_readable_years(server: str, page: Any) -> None:
    """On a 390 px phone the back-test chart is one panel a row, each panel most of the screen wide and
    its year labels level and apart; turned wide again it goes back to three panels a row. Before,
    three panels a row were ≈ 90 px wide each, with the year labels turned and running into each other."""
    measure = """() => {
        const gd = document.getElementById('fig-backtest');
        const r = (el) => { const b = el.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; };
        const ticks = Array.from(gd.querySelectorAll('g.xaxislayer-above text')).map(r).filter((b) => b[2] > b[0]);
        return {layout: gd.dataset.layout, plots: Array.from(gd.querySelectorAll('.draglayer .nsewdrag')).map(r),
                ticks: ticks};
    }"""
    page.set_viewport_size({"width": 390, "height": 844})
    try:
        page.goto(f"{server}/backtest?go=true")
        page.wait_for_selector("#fig-backtest[data-ready='1']")
        page.locator("#fig-backtest").screenshot(path=str(ARTIFACTS / "07-backtest-phone.png"))
        box = page.evaluate(measure)
        assert box["layout"] == "narrow", box
        assert len(box["plots"]) == 5 and len({round(p[0]) for p in box["plots"]}) == 1, box  # one column
        assert min(p[2] - p[0] for p in box["plots"]) >= 200, box  # (the page's card leaves ≈ 310 px to the chart)
        rows: dict[int, list[list[float]]] = {}
        for tick in box["ticks"]:
            rows.setdefault(round(tick[3]), []).append(tick)
        assert len(rows) == 5, rows  # every panel has its own year labels
        for labels in rows.values():  # level (one baseline a panel) and apart
            labels.sort()
            assert all(a[2] + 4 <= b[0] for a, b in itertools.pairwise(labels)), labels
        page.set_viewport_size({"width": 1400, "height": 1000})
        page.wait_for_function("() => document.getElementById('fig-backtest').dataset.layout === 'wide'")
        wide = page.evaluate(measure)
        assert len({round(p[0]) for p in wide["plots"]}) == 3, wide
    finally:
        page.set_viewport_size({"width": 1400, "height": 1000})
    assert page.errors == []
