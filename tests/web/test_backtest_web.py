"""`/api/backtest` and `/backtest` follow the Python API's rules: scenario ↔ region inference,
``through``, cutoffs (no empty entry, no repeat), JSON fields, no CLI flags in the summary
(QA findings 7, 13, 16)."""

from __future__ import annotations

import html as html_lib
import json
import re
from typing import Any

import pytest

from .conftest import make_client


@pytest.fixture(scope="module")
def c(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with make_client(tmp_path_factory.mktemp("web-bt") / "runs.duckdb") as client:
        yield client


@pytest.mark.parametrize(("params", "want"), [
    ({"region": "US"}, ("us-current-policies", "US")),
    ({"region": "eu"}, ("eu-current-policies", "EU")),
    ({"scenario": "us-current-policies"}, ("us-current-policies", "US")),
    ({"scenario": "eu-current-policies", "region": "EU"}, ("eu-current-policies", "EU")),
    ({}, ("china-current-policies", "CN")),
])
def test_api_infers_scenario_and_region_like_python(c: Any, params: dict[str, str], want: tuple[str, str]) -> None:
    r = c.get("/api/backtest", params={**params, "cutoff": "2021", "through": 2022})
    assert r.status_code == 200, r.text[:300]
    out = r.json()
    assert (out["scenario"], out["region"]) == want
    assert out["through"] == 2022 and [f["year"] for f in out["cutoffs"][0]["forecasts"]] == [2022]


def test_api_refuses_a_scenario_of_another_region(c: Any) -> None:
    r = c.get("/api/backtest", params={"scenario": "china-current-policies", "region": "US", "cutoff": "2021"})
    assert r.status_code == 422
    d = r.json()["detail"][0]
    assert d["field"] == "region" and d["allowed"] == ["CN"]
    assert "china-current-policies" in d["msg"] and "US" in d["msg"]


def test_api_through_works_or_is_refused(c: Any) -> None:
    out = c.get("/api/backtest", params={"cutoff": "2020", "through": 2023}).json()
    assert out["through"] == 2023
    assert [f["year"] for f in out["cutoffs"][0]["forecasts"]] == [2021, 2022, 2023]
    for through, allowed in ((2030, "up to 2025"), (2020, "2021–2025")):
        r = c.get("/api/backtest", params={"cutoff": "2020", "through": through})
        assert r.status_code == 422, through
        d = r.json()["detail"][0]
        assert d["field"] == "through" and d["allowed"] == [allowed]


@pytest.mark.parametrize(("cutoff", "words"), [
    (["2021", "2021"], "2021 given more than once"),
    (["2020,2021,2020"], "2020 given more than once"),
    (["2018,,2019"], "empty entry"),
    ([""], "at least one cutoff"),
    (["abc"], "not a year"),
    (["1990"], "observed years"),  # (out of range: found by backtest(), renamed from its `cutoffs`; review finding)
])
def test_api_refuses_empty_and_repeated_cutoffs_like_the_cli(c: Any, cutoff: list[str], words: str) -> None:
    r = c.get("/api/backtest", params={"cutoff": cutoff})
    assert r.status_code == 422, r.text[:300]
    d = r.json()["detail"][0]
    assert d["field"] == "cutoff" and words in d["msg"] and d["allowed"]


def test_api_takes_repeated_or_comma_separated_cutoffs(c: Any) -> None:
    a = c.get("/api/backtest", params={"cutoff": ["2019", "2021"]}).json()
    b = c.get("/api/backtest", params={"cutoff": "2021,2019"}).json()
    assert [x["cutoff"] for x in a["cutoffs"]] == [2019, 2021] == [x["cutoff"] for x in b["cutoffs"]]
    assert a["unit"]["mae"] == "percentage points" and a["policies"] == "enacted"


def test_page_summary_has_no_cli_flags_and_a_tall_labelled_chart(c: Any) -> None:
    page = c.get("/backtest", params={"go": "true"}).text
    summary = re.search(r'<pre class="summary">(.*?)</pre>', page, re.S)
    assert summary and "Pooled MAE" in summary.group(1)
    assert "--policies" not in page
    raw = re.search(r'<script type="application/json" id="fig-backtest-json">(.*?)</script>', page, re.S)
    assert raw
    fig = json.loads(html_lib.unescape(raw.group(1)))
    assert fig["layout"]["height"] >= 500
    title = fig["layout"]["title"]["text"]
    assert "china-current-policies" in title and "cutoffs 2018–2022" in title
    # one panel per cutoff (visual QA: 25 lines and 5 bands in one panel were a tangle), one legend of methods
    panels = [a["text"] for a in fig["layout"]["annotations"] if a["text"].startswith("cutoff")]
    assert panels == [f"cutoff {y}" for y in range(2018, 2023)]
    legend = {t["name"] for t in fig["data"] if t.get("showlegend", True) is not False}
    assert {"actual", "model", "logistic", "bass", "persistence", "logit_trend"} <= legend


def test_api_draws_are_capped_by_the_server(c: Any) -> None:
    r = c.get("/api/backtest", params={"cutoff": "2021", "draws": 5})
    assert r.status_code == 422
    d = r.json()["detail"][0]
    assert d["field"] == "draws" and d["allowed"] == ["1 to 1"]


def test_api_and_page_with_draws(tmp_path: Any) -> None:
    with make_client(tmp_path / "runs.duckdb", max_draws=20) as client:
        out = client.get("/api/backtest", params={"cutoff": "2021", "draws": 10, "seed": 2}).json()
        assert (out["draws"], out["band"]) == (10, "5–95 %")
        assert "model_lower" in out["cutoffs"][0]["forecasts"][0]
        bad = client.get("/api/backtest", params={"cutoff": "2021", "draws": 10, "seed": -1})
        assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "seed"
        # a seed with one draw did nothing (the deterministic run): refused
        for params in ({"cutoff": "2021", "seed": 2}, {"cutoff": "2021", "draws": 1, "seed": 2}):
            one = client.get("/api/backtest", params=params)
            assert one.status_code == 422 and one.json()["detail"][0]["field"] == "seed", one.text
            assert "more than one draw" in one.json()["detail"][0]["msg"]
        page = client.get("/backtest", params={"go": "true", "draws": 10})
        assert page.status_code == 200
        assert 'id="backtest-draws"' in page.text and "band over 10 draws" in html_lib.unescape(page.text)
        assert 'id="backtest-coverage"' in page.text and "interval score (points)" in page.text
        assert out["interval_score_pooled"] >= out["band_width_pooled"] - 1e-9
        for bad in (0, -3, 21):
            refused = client.get("/backtest", params={"go": "true", "draws": bad})
            assert refused.status_code == 422, bad
            assert "draws" in html_lib.unescape(refused.text)


def test_a_saved_scenario_can_be_back_tested(tmp_path: Any) -> None:
    """A scenario saved through the API (here: the residual walk switched on) is offered on the
    back-test page and back-tested by the API, with draws up to the server's limit; its result
    is memoised on its content, so saving it again with other values gives a new back-test."""
    with make_client(tmp_path / "runs.duckdb", max_draws=20) as client:
        body = {"name": "walk", "scenario": "china-current-policies", "overrides": {"uncertainty.residual_walk": True}}
        assert client.post("/api/scenarios", json=body).status_code == 201
        page = client.get("/backtest")
        assert ">walk</option>" in page.text
        walked = client.get("/api/backtest", params={"scenario": "walk", "cutoff": "2021", "draws": 20, "seed": 1})
        assert walked.status_code == 200, walked.text
        plain = client.get("/api/backtest", params={"cutoff": "2021", "draws": 20, "seed": 1}).json()
        out = walked.json()
        assert out["scenario"] == "walk"
        assert out["band_width_pooled"] > plain["band_width_pooled"]  # the walk widens the band
        body["overrides"] = {"uncertainty.residual_walk": False}
        assert client.post("/api/scenarios", json={**body, "replace": True}).status_code == 201
        again = client.get("/api/backtest", params={"scenario": "walk", "cutoff": "2021", "draws": 20, "seed": 1})
        assert again.json()["band_width_pooled"] == pytest.approx(plain["band_width_pooled"])
        unknown = client.get("/api/backtest", params={"scenario": "nope"})
        assert unknown.status_code == 422 and "walk" in unknown.json()["detail"][0]["allowed"]


def test_residual_walk_in_the_api_and_on_the_page(tmp_path: Any) -> None:
    with make_client(tmp_path / "runs.duckdb", max_draws=20) as client:
        params = {"cutoff": "2021", "draws": 20, "seed": 1}
        plain = client.get("/api/backtest", params=params).json()
        walked = client.get("/api/backtest", params={**params, "residual_walk": "true"})
        assert walked.status_code == 200, walked.text
        assert walked.json()["band_width_pooled"] > plain["band_width_pooled"]
        one = client.get("/api/backtest", params={"cutoff": "2021", "residual_walk": "true"})
        assert one.status_code == 422 and one.json()["detail"][0]["field"] == "residual_walk"
        page = client.get("/backtest")
        assert 'id="backtest-walk"' in page.text
        ran = client.get("/backtest", params={"go": "true", "draws": 10, "residual_walk": "true"})
        assert ran.status_code == 200 and 'id="backtest-walk" value="true" checked' in ran.text


def test_page_takes_a_region_alone(c: Any) -> None:
    """QA 10, item 8: `/backtest?region=EU&go=true` back-tests the EU's default scenario (it ran China)."""
    page = c.get("/backtest", params={"region": "EU", "go": "true"})
    assert page.status_code == 200, page.text[:300]
    title = _figure(page.text)["layout"]["title"]["text"]
    assert "eu-current-policies (EU27, EU)" in title and "China" not in title
    assert '<option selected>eu-current-policies</option>' in page.text
    assert c.get("/backtest", params={"region": "EU", "scenario": "china-current-policies", "go": "true"}).status_code == 422


def test_page_explains_the_mae_table_and_its_chart_fits(tmp_path: Any) -> None:
    """QA 10, item 8: the MAE table says what its columns (the baselines) and the pooled row are; the band
    traces are lines only (plotly added markers to traces under 20 points: unexplained dots); the title is
    wrapped into lines that fit a chart (it was cut off at the right)."""
    from nevsim.backtest import SUBTITLE_LINE_CHARS, TITLE_LINE_CHARS

    with make_client(tmp_path / "runs.duckdb", max_draws=4) as client:
        page = client.get("/backtest", params={"go": "true", "draws": 4}).text
    note = re.search(r'<p class="note" id="backtest-mae-note">(.*?)</p>', page, re.S)
    assert note
    for words in ("logistic", "bass", "persistence", "logit_trend", "pooled", "baselines"):
        assert words in note.group(1), words
    fig = _figure(page)
    bands = [t for t in fig["data"] if t.get("fill") == "toself"]
    assert bands and all(t.get("mode") == "lines" for t in bands)
    lines = fig["layout"]["title"]["text"].split("<br>")
    assert len(lines) > 1 and len(lines[0]) <= TITLE_LINE_CHARS, lines  # the headline, then <sup> lines
    assert max(len(x.removeprefix("<sup>").removesuffix("</sup>")) for x in lines[1:]) <= SUBTITLE_LINE_CHARS, lines
    assert fig["layout"]["margin"]["t"] >= 50 + 20 * len(lines)


def _figure(page: str) -> dict[str, Any]:
    raw = re.search(r'<script type="application/json" id="fig-backtest-json">(.*?)</script>', page, re.S)
    assert raw
    return json.loads(html_lib.unescape(raw.group(1)))
