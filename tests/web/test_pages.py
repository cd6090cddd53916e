"""Server-rendered pages: each renders, with its figures, tables and sources; the CLI entry point."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from typer.testing import CliRunner

from nevsim.web.pages import editor_sections, path_text

from .conftest import LR_PATH


def _figure(html: str, fig_id: str) -> dict[str, Any]:
    match = re.search(rf'<script type="application/json" id="{fig_id}-json">(.*?)</script>', html, re.S)
    assert match, f"no figure {fig_id}"
    return json.loads(match.group(1))


def test_empty_store_pages(client: Any) -> None:
    outlook = client.get("/outlook")
    assert outlook.status_code == 200 and 'id="empty-store"' in outlook.text
    for url in ("/compare", "/makers", "/editor", "/history", "/backtest"):
        assert client.get(url).status_code == 200, url
    assert client.get("/", follow_redirects=False).headers["location"] == "/outlook"


def test_outlook_shows_the_run(shared: dict[str, Any]) -> None:
    c = shared["client"]
    html = c.get(f"/outlook?run={shared['fast']}").text
    for fig_id in ("fig-ev-share", "fig-bev-phev", "fig-credit-price", "fig-stock", "fig-energy", "fig-co2",
                   "fig-chargers", "fig-battery"):
        assert f'id="{fig_id}"' in html
    fig = _figure(html, "fig-ev-share")
    assert any("target" in (t.get("name") or "") for t in fig["data"])
    assert 'id="targets"' in html and f"/api/runs/{shared['fast']}/download/series.csv" in html
    assert '<option value="US"' in html and "not in this run" in html  # region selector, CN only today
    assert c.get(f"/outlook?run={shared['fast']}&region=US").status_code == 422
    # the latest run is shown by default
    assert shared["fast"] in c.get("/outlook").text
    # plotly.js comes from the package, never a CDN
    assert '<script src="/vendor/plotly.min.js">' in html and not re.search(r"<script[^>]+src=\"https?:", html)
    js = c.get("/vendor/plotly.min.js")
    assert js.status_code == 200 and b"plotly.js" in js.content[:200]


def test_editor_form_comes_from_the_schema(shared: dict[str, Any]) -> None:
    html = shared["client"].get("/editor").text
    for path in (LR_PATH, "policy.dual_credit.nev_ratio_pct", "policy.subsidies.subsidy_extend_to_year",
                 "policy.subsidies.tax_exemption_extend_to_year", "charging.evs_per_public_charger",
                 "market.ev_exports_million", "fleet.mean_life_years"):
        assert f'data-path="{path}"' in html, path
    sections = editor_sections({"technology": {"battery_learning_rate": 0.18}}, ["a"], max_draws=1)
    assert sections[0]["title"] == "Main policy levers"
    lr = next(f for s in sections for f in s["fields"] if f["path"] == LR_PATH)
    assert (lr["kind"], lr["min"], lr["max"]) == ("float", 0.01, 0.5)
    assert path_text({"2025": 40.0, "2030": 60.5}) == "2025: 40, 2030: 60.5"
    assert shared["client"].get("/editor?scenario=nope").status_code == 422


def test_editor_shows_a_default_left_out_of_the_resolved_scenario(shared: dict[str, Any]) -> None:
    """``calibration.segment_mix = "none"`` is not in the resolved scenario (its hash stays the one it
    had before the setting); the form still shows it selected, so reading the form back sends no change."""
    html = shared["client"].get("/editor").text
    assert re.search(r'data-path="calibration.segment_mix" data-kind="choice" data-initial="none">\s*'
                     r'<option selected>none</option><option >observed</option>', html)


def test_compare_shows_differences(shared: dict[str, Any]) -> None:
    c = shared["client"]
    html = c.get("/compare", params={"run": [shared["base"], shared["fast"]]}).text
    assert 'id="compare-table"' in html and 'id="scenario-diff"' in html
    assert "technology.battery_learning_rate" in html
    fig = _figure(html, "fig-compare-0")
    assert len(fig["data"]) == 2
    assert "Choose at least two runs" in c.get("/compare", params={"run": shared["base"]}).text


def test_makers_page(shared: dict[str, Any]) -> None:
    html = shared["client"].get(f"/makers?run={shared['base']}&year=2030").text
    assert 'id="makers-table"' in html and "BYD" in html and "Tesla China" in html
    assert 'class="surplus"' in html  # 2030: a long market, nobody trades
    traded = shared["client"].get(f"/makers?run={shared['base']}&year=2020").text
    assert 'class="sells"' in traded and 'class="buys"' in traded  # 2020: credits change hands
    assert 'id="fig-maker-balances"' in html and 'id="fig-capacity-use"' in html
    capacity = _figure(html, "fig-capacity-use")
    names = {trace["name"] for trace in capacity["data"]}
    assert {"BYD", "Tesla China", "VW group", "Li Auto"} <= names and "Other" not in names  # Other: never bounded
    assert shared["client"].get(f"/makers?run={shared['base']}&year=1990").status_code == 422


def test_history_shows_sources(shared: dict[str, Any]) -> None:
    html = shared["client"].get("/history", params={"region": "China", "dataset": "targets", "until": 2020}).text
    assert "IEA" in html and "CC BY 4.0" in html and 'id="catalog"' in html and 'id="dataset-table"' in html
    assert 'id="fig-history-0"' in html


def test_backtest_page(shared: dict[str, Any]) -> None:
    c = shared["client"]
    html = c.get("/backtest").text
    try:
        import nevsim.backtest  # noqa: F401
    except ImportError:
        assert 'id="backtest-unavailable"' in html
        return
    assert 'id="backtest-btn"' in html
    done = c.get("/backtest?go=true").text
    assert 'id="fig-backtest"' in done and 'id="backtest-mae"' in done and "logistic" in done


def test_serve_cli_refuses_a_public_host_and_documents_its_flags(tmp_path: Any) -> None:
    from nevsim.cli import app

    runner = CliRunner()
    r = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--store", str(tmp_path / "r.duckdb")])
    assert r.exit_code == 2 and "loopback" in r.output
    r = runner.invoke(app, ["serve", "--max-body-kb", "0", "--store", str(tmp_path / "r.duckdb")])
    assert r.exit_code == 2 and "max_body_bytes" in r.output
    helptext = runner.invoke(app, ["serve", "--help"]).output
    for flag in ("--host", "--port", "--store", "--max-draws", "--max-body-kb"):
        assert flag in helptext


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_loopback_hosts(host: str) -> None:
    from nevsim.cli.serve import _is_loopback

    assert _is_loopback(host)
    assert not _is_loopback("0.0.0.0") and not _is_loopback("192.168.1.2")


@pytest.mark.parametrize("categorical", [False, True])
def test_makers_table_gives_each_makers_median_over_draws(categorical: bool) -> None:
    """FIXTURE built here: two makers, three draws; the table's values are pandas' medians per maker."""
    import numpy as np
    import pandas as pd

    from nevsim.results import Results
    from nevsim.web.pages import MAKER_COLUMNS, makers_table

    rng = np.random.default_rng(3)
    rows = [{"scenario": "s", "region": "CN", "maker": m, "variable": v, "unit": "u", "year": y, "draw": d,
             "value": float(rng.normal(100 if v != "Credits|NEV|Balance" else (50 if m == "A" else -50), 10))}
            for m in ("A", "B") for v in ("Credits|NEV|Balance", "Credits|NEV|Earned", "Sales|Cars|BEV",
                                           "Sales|Cars|PHEV", "Capacity Use")
            for y in (2029, 2030) for d in range(3)]
    makers = pd.DataFrame(rows)
    if categorical:
        for c in ("scenario", "region", "maker", "variable", "unit"):
            makers[c] = makers[c].astype("category")
    series = pd.DataFrame({"scenario": "s", "region": "CN", "variable": "Sales Share|Cars|EV", "unit": "%",
                           "year": [2029, 2030], "value": [1.0, 2.0]})
    res = Results(series, makers, {}, {})
    table = {r["maker"]: r for r in makers_table(res, 2030)}
    frame = pd.DataFrame(rows)
    want = frame[frame["year"] == 2030].pivot_table(index="maker", columns="variable", values="value",
                                                     aggfunc="median")
    for maker in ("A", "B"):
        got = dict(zip([var for _, var in MAKER_COLUMNS], table[maker]["values"], strict=True))
        assert got["Credits|NEV|Balance"] == pytest.approx(want.loc[maker, "Credits|NEV|Balance"])
        assert got["EV"] == pytest.approx(want.loc[maker, "Sales|Cars|BEV"] + want.loc[maker, "Sales|Cars|PHEV"])
        assert np.isnan(got["Credits|NEV|Sold"])
    assert [r["maker"] for r in makers_table(res, 2030)] == ["A", "B"]  # by balance, surplus first
    assert table["A"]["role"] == "surplus" and table["B"]["role"] == "deficit"


def test_backtest_api_and_page_take_the_policy_view(shared: dict[str, Any]) -> None:
    """`/api/backtest?policies=as-known` and the page's Policies choice run China's rules as known at
    each cutoff; a bad view, or as-known on a region without a vintage table, is a 422 naming the field."""
    c = shared["client"]
    known = c.get("/api/backtest", params={"cutoff": [2021], "policies": "as-known"})
    assert known.status_code == 200, known.text[:300]
    body = known.json()
    assert body["policies"] == "as-known" and [x["known_at"] for x in body["cutoffs"]] == [2021]
    enacted = c.get("/api/backtest", params={"cutoff": [2021]}).json()
    assert enacted["policies"] == "enacted" and enacted["cutoffs"][0]["known_at"] is None
    assert enacted["cutoffs"][0]["mae"]["model"] != body["cutoffs"][0]["mae"]["model"]
    bad = c.get("/api/backtest", params={"policies": "hindsight"})
    assert bad.status_code == 422
    detail = bad.json()["detail"][0]
    assert detail["field"] == "policies" and detail["allowed"] == ["enacted", "as-known"]
    us = c.get("/api/backtest", params={"scenario": "us-current-policies", "policies": "as-known", "cutoff": [2021]})
    assert us.status_code == 422 and us.json()["detail"][0]["field"] == "policies"
    page = c.get("/backtest", params={"go": "true", "policies": "as-known"}).text
    assert 'id="backtest-policies"' in page and '<option value="as-known" selected>' in page
    assert "as known at each cutoff" in page and 'id="backtest-mae"' in page
    assert c.get("/backtest", params={"go": "true", "policies": "hindsight"}).status_code == 422


def test_target_labels_label_a_yearly_series_at_its_ends_and_keep_apart() -> None:
    """QA 10, item 10 (the rule behind the browser check): the US chart's "ZEV share 2030" label no
    longer sits on "California ACC II 2028"; a yearly series is labelled at its first and last year."""
    import pandas as pd

    from nevsim.report.charts import LABEL_CHAR_YEARS, LABEL_GAP_PCT, target_labels

    shares = pd.DataFrame({"name": ["ZEV share 2030", *(f"California ACC II {y}" for y in range(2026, 2036))],
                           "year": [2030, *range(2026, 2036)],
                           "target_value": [50.0, 35, 43, 51, 59, 68, 76, 82, 88, 94, 100]})
    labels = target_labels(shares)
    assert sorted(labels["text"]) == ["California ACC II 2026", "California ACC II 2035", "ZEV share 2030"]
    spans = [(x, x + LABEL_CHAR_YEARS * len(t), y) for x, t, y in zip(labels["x"], labels["text"], labels["y"], strict=True)]
    for i, a in enumerate(spans):
        for b in spans[i + 1:]:
            assert not (a[0] < b[1] and b[0] < a[1] and abs(a[2] - b[2]) < LABEL_GAP_PCT), (a, b)
    crowded = pd.DataFrame({"name": ["A 2030", "B 2030", "C 2031"], "year": [2030, 2030, 2031],
                            "target_value": [50.0, 51.0, 50.0]})
    placed = target_labels(crowded).sort_values("y")
    assert placed["y"].diff().dropna().min() >= LABEL_GAP_PCT


def test_pages_have_a_favicon_and_no_cdn_api_docs_link(client: Any) -> None:
    """QA 10, item 12: no favicon 404; the API link does not lead to /docs (Swagger UI from a CDN:
    blank offline) but to the OpenAPI schema served here."""
    html = client.get("/outlook").text
    icon = re.search(r'<link rel="icon" href="([^"]+)"', html)
    assert icon and client.get(icon.group(1)).status_code == 200
    fav = client.get("/favicon.ico")
    assert fav.status_code == 200 and fav.headers["content-type"].startswith("image/svg")
    assert 'href="/docs"' not in html and 'href="/openapi.json"' in html
    assert client.get("/openapi.json").status_code == 200


def test_an_error_page_links_back_to_where_the_user_came_from(shared: dict[str, Any]) -> None:
    c = shared["client"]
    came_from = f"http://testserver/compare?run={shared['base']}&run={shared['fast']}"
    page = c.get("/makers?run=0123abcd", headers={"referer": came_from})
    assert page.status_code == 404
    back = re.search(r'<a href="([^"]+)" id="back-link">', page.text)
    assert back and back.group(1).replace("&amp;", "&") == came_from.removeprefix("http://testserver")
    elsewhere = c.get("/makers?run=0123abcd", headers={"referer": "https://example.org/compare"}).text
    assert 'id="back-link"' not in elsewhere and 'href="/outlook"' in elsewhere


def test_every_band_legend_of_a_few_draw_run_says_the_band_is_rough(tmp_path: Any) -> None:
    """QA 10, item 10: "5–95 % of 4 draws" gave no warning; every band of the outlook now names its
    draws and, under 100, says "few draws: rough band" (the charts drawn from a Statistic too)."""
    from .conftest import make_client

    with make_client(tmp_path / "runs.duckdb", max_draws=3) as c:
        run = c.post("/api/runs?wait=true", json={"draws": 3}).json()["run_id"]
        html = c.get("/outlook", params={"run": run}).text
    bands = []
    for fig_id in ("fig-bev-phev", "fig-stock", "fig-co2", "fig-energy", "fig-chargers", "fig-ev-share"):
        fig = _figure(html, fig_id)
        bands += [t["name"] for t in fig["data"] if t.get("fill") == "tonexty" and t.get("showlegend", True)]
    assert len(bands) >= 8
    assert all("of 3 draws (few draws: rough band)" in b for b in bands), bands
