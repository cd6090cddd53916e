"""The JSON API: runs, errors with field paths, downloads, scenarios, data, safety limits."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from nevsim.scenario import load_scenario
from nevsim.store import Store

from .conftest import LR_PATH, make_client

EV = "Sales Share|Cars|EV"


def _value(rows: list[dict[str, Any]], variable: str, year: int) -> float:
    return next(r["value"] for r in rows if r["variable"] == variable and r["year"] == year)


# ---------------------------------------------------------------------------- runs


def test_run_is_stored_and_its_series_reflect_the_lever(shared: dict[str, Any]) -> None:
    c = shared["client"]
    listed = [r["run_id"] for r in c.get("/api/runs").json()["runs"]]
    assert {shared["base"], shared["fast"]} <= set(listed)
    status = c.get(f"/api/runs/{shared['fast']}").json()
    assert status["status"] == "done" and status["progress"] == 1.0
    assert status["scenario_resolved"]["technology"]["battery_learning_rate"] == 0.3
    assert status["meta"]["scenario"] == "china-current-policies-edited"  # edited runs are labelled
    series = {}
    for key in ("base", "fast"):
        r = c.get(f"/api/runs/{shared[key]}/series", params={"variable": ["Price|Battery Pack", EV]})
        assert r.status_code == 200
        rows = r.json()["series"]
        assert {row["variable"] for row in rows} == {"Price|Battery Pack", EV}
        series[key] = rows
    assert r.json()["units"][EV] == "%"
    # faster learning: a cheaper pack in 2040 and a higher EV share in 2030
    assert _value(series["fast"], "Price|Battery Pack", 2040) < _value(series["base"], "Price|Battery Pack", 2040)
    assert _value(series["fast"], EV, 2030) > _value(series["base"], EV, 2030)


def test_series_filters_years_and_rejects_unknown_variable(shared: dict[str, Any]) -> None:
    c = shared["client"]
    r = c.get(f"/api/runs/{shared['base']}/series", params={"variable": EV, "first_year": 2030, "last_year": 2035})
    assert sorted(row["year"] for row in r.json()["series"]) == list(range(2030, 2036))
    bad = c.get(f"/api/runs/{shared['base']}/series", params={"variable": "Sales Share|Cars|Unicorn"})
    assert bad.status_code == 422
    detail = bad.json()["detail"][0]
    assert detail["field"] == "variable" and EV in detail["allowed"]


def test_background_run_reports_progress(client: Any) -> None:
    r = client.post("/api/runs", json={"scenario": "china-no-dual-credit"})
    assert r.status_code == 202 and r.headers["location"] == f"/api/runs/{r.json()['run_id']}"
    run_id = r.json()["run_id"]
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        s = client.get(f"/api/runs/{run_id}").json()
        seen.append(s["status"])
        if s["status"] in ("done", "failed"):
            break
        assert 0.0 <= s["progress"] <= 1.0
        time.sleep(0.05)
    assert s["status"] == "done", s
    assert s["meta"]["scenario"] == "china-no-dual-credit"
    assert set(seen) <= {"queued", "running", "done"}
    assert [x["run_id"] for x in client.get("/api/runs").json()["runs"]] == [run_id]


def test_targets_of_a_run(shared: dict[str, Any]) -> None:
    rows = shared["client"].get(f"/api/runs/{shared['base']}/targets").json()["targets"]
    assert rows and {"name", "source", "binding", "year", "target_value", "projected_value"} <= set(rows[0])


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize(("body", "field", "allowed_has"), [
    ({"overrides": {LR_PATH: 0.9}}, LR_PATH, "0.01 to 0.5"),
    ({"overrides": {"technology": {"battery_learning_rate": "fast"}}}, LR_PATH, None),
    ({"overrides": {"technology.learning": 0.2}}, "technology.learning", "battery_learning_rate"),
    ({"overrides": {"policy.dual_credit.nev_ratio_pct": {"2030": 40, "2025": 20}}},
     "policy.dual_credit.nev_ratio_pct.2025", None),
    ({"overrides": {"policy.dual_credit.nev_ratio_pct": {"2030": 400}}},
     "policy.dual_credit.nev_ratio_pct.2030", "0.0 to 200.0"),
    ({"overrides": {"policy.dual_credit.extend": "forever"}}, "policy.dual_credit.extend", "hold"),
    ({"scenario": "no-such-scenario"}, "scenario", "china-current-policies"),
    ({"scenario": "../../etc/passwd"}, "scenario", "china-current-policies"),
    ({"overrides": {"calibration.against": "/etc/hosts"}}, "calibration.against", "china-current-policies"),
    ({"draws": 5}, "draws", "1 to 1"),
    ({"overrides": {"draws": 5}}, "draws", "1 to 1"),
    ({"colour": "green"}, "colour", None),
    ({"overrides": [1, 2]}, "overrides", None),
])
def test_bad_bodies_are_422_with_the_field_path(client: Any, body: dict[str, Any], field: str,
                                                allowed_has: str | None) -> None:
    r = client.post("/api/runs", json=body)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"][0]
    assert detail["field"] == field
    assert detail["msg"]
    if allowed_has is not None:
        assert allowed_has in detail["allowed"]
    assert client.get("/api/runs").json() == {"runs": [], "jobs": []}


def test_unknown_run_is_404(shared: dict[str, Any]) -> None:
    c = shared["client"]
    for url in ("/api/runs/0123abcd", "/api/runs/0123abcd/series", "/api/runs/0123abcd/targets",
                "/api/runs/0123abcd/download/series.csv", "/outlook?run=0123abcd", "/makers?run=0123abcd"):
        assert c.get(url).status_code == 404, url
    assert c.get("/api/runs/a.b/series").status_code == 422  # not an id at all
    assert c.get(f"/api/runs/{shared['base']}/download/passwd").status_code == 422


# ---------------------------------------------------------------------------- downloads


def test_downloads_parse_back(shared: dict[str, Any]) -> None:
    c, run_id = shared["client"], shared["base"]
    stored = Store(shared["store"]).load(run_id)

    r = c.get(f"/api/runs/{run_id}/download/series.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    csv = pd.read_csv(io.StringIO(r.text))
    assert list(csv.columns[:6]) == ["scenario", "region", "variable", "unit", "year", "value"]
    assert len(csv) == len(stored.series)
    got = csv[(csv["variable"] == EV) & (csv["year"] == 2030)]["value"].item()
    assert got == pytest.approx(stored.value(EV, 2030), rel=1e-9)  # (10 significant digits: results.CSV_FLOAT_FORMAT)

    iamc = pd.read_csv(io.StringIO(c.get(f"/api/runs/{run_id}/download/iamc.csv").text))
    assert list(iamc.columns[:5]) == ["Model", "Scenario", "Region", "Variable", "Unit"]
    row = iamc[iamc["Variable"] == EV]
    assert row["Region"].item() == "China"
    assert row["2030"].item() == pytest.approx(stored.value(EV, 2030), rel=1e-9)

    table = pq.read_table(io.BytesIO(c.get(f"/api/runs/{run_id}/download/series.parquet").content))
    assert b"nevsim.meta" in table.schema.metadata
    frame = table.to_pandas()
    assert len(frame) == len(stored.series)
    assert frame.loc[(frame["variable"] == EV) & (frame["year"] == 2030), "value"].item() == pytest.approx(
        stored.value(EV, 2030), rel=1e-12)

    makers = pd.read_csv(io.StringIO(c.get(f"/api/runs/{run_id}/download/makers.csv").text))
    assert "BYD" in set(makers["maker"])
    report = c.get(f"/api/runs/{run_id}/download/report.html")
    assert report.headers["content-type"].startswith("text/html") and b"Targets check" in report.content


# ---------------------------------------------------------------------------- safety


def test_body_over_the_limit_is_413(client: Any) -> None:
    big = {"scenario": "china-current-policies", "overrides": {"x" * 10: "y" * 300_000}}
    assert client.post("/api/runs", json=big).status_code == 413

    def chunks() -> Any:  # no Content-Length: counted while read
        for _ in range(40):
            yield b" " * 10_000

    r = client.post("/api/runs", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert client.get("/api/runs").json()["runs"] == []


def test_body_limit_is_a_setting(tmp_path: Path) -> None:
    body = {"scenario": "china-current-policies", "overrides": {"description": "d" * 3000}}
    with make_client(tmp_path / "runs.duckdb", max_body_bytes=2048) as c:
        assert c.post("/api/scenarios/validate", json=body).status_code == 413
    with make_client(tmp_path / "runs.duckdb") as c:
        assert c.post("/api/scenarios/validate", json=body).status_code == 200


def test_draw_cap_is_a_setting(tmp_path: Path) -> None:
    with make_client(tmp_path / "runs.duckdb", max_draws=4) as c:
        over = c.post("/api/runs", json={"draws": 5}).json()["detail"][0]
        assert over["field"] == "draws" and over["allowed"] == ["1 to 4"]
        # under the server's cap the run is accepted (the default scenario samples its distributions)
        under = c.post("/api/runs", json={"draws": 2})
        assert under.status_code == 202



@pytest.mark.parametrize("overrides", [{"uncertainty.seed": 7}, {"uncertainty": {"seed": 7}}, {"seed": 7}])
def test_a_run_request_seed_with_one_draw_is_refused(tmp_path: Path, overrides: dict[str, Any]) -> None:
    """A seed in a run request with one draw did nothing (the deterministic run): 422 naming it."""
    with make_client(tmp_path / "runs.duckdb", max_draws=4) as c:
        for body in ({"overrides": overrides}, {"overrides": overrides, "draws": 1}):
            r = c.post("/api/runs", json=body)
            assert r.status_code == 422, r.text
            detail = r.json()["detail"][0]
            assert detail["field"] == "uncertainty.seed" and "more than one draw" in detail["msg"]
        assert c.get("/api/runs").json() == {"runs": [], "jobs": []}
        assert c.post("/api/runs", json={"overrides": overrides, "draws": 2}).status_code == 202
        # a saved scenario may keep a seed for later Monte Carlo runs
        assert c.post("/api/scenarios/validate", json={"overrides": overrides}).status_code == 200


def test_a_failed_run_is_not_saved(shared: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    c, store = shared["client"], Store(shared["store"])
    before = store.list_runs()["run_id"].tolist()

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("collect failed")

    monkeypatch.setattr("nevsim.simulate.collect", boom)
    r = c.post("/api/runs?wait=true", json={"overrides": {LR_PATH: 0.2}})
    assert r.status_code == 500
    assert r.json()["run"]["status"] == "failed" and "collect failed" in r.json()["detail"][0]["msg"]
    monkeypatch.undo()

    # a failure in the middle of saving (after the runs row is written) is rolled back
    original = Store._write_table

    def fail_on_makers(con: Any, table: str, *args: Any) -> None:
        if table == "makers":
            raise OSError("disk full")
        original(con, table, *args)

    monkeypatch.setattr(Store, "_write_table", staticmethod(fail_on_makers))
    r = c.post("/api/runs?wait=true", json={"overrides": {LR_PATH: 0.21}})
    assert r.status_code == 500 and "disk full" in r.json()["detail"][0]["msg"]
    failed_id = r.json()["run"]["run_id"]
    assert c.get(f"/api/runs/{failed_id}").json()["status"] == "failed"
    monkeypatch.undo()

    after = store.list_runs()["run_id"].tolist()
    assert after == before
    assert failed_id not in after
    assert c.get(f"/api/runs/{failed_id}/series").status_code == 404


def test_too_many_queued_runs_is_429(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def slow(*args: Any, **kwargs: Any) -> Any:
        release.wait(20)
        raise RuntimeError("stopped by the test")

    monkeypatch.setattr("nevsim.simulate.run_frames", slow)
    with make_client(tmp_path / "runs.duckdb", max_queued_runs=1) as c:
        first = c.post("/api/runs", json={})
        assert first.status_code == 202
        assert c.post("/api/runs", json={}).status_code == 429
        release.set()
        deadline = time.monotonic() + 20
        while c.get(f"/api/runs/{first.json()['run_id']}").json()["status"] != "failed":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert c.get("/api/runs").json()["runs"] == []


# ---------------------------------------------------------------------------- scenarios


def test_save_a_user_scenario_and_run_it(client: Any, tmp_path: Path) -> None:
    body = {"name": "fast-batteries", "scenario": "china-current-policies", "description": "quicker learning",
            "overrides": {LR_PATH: 0.25, "policy.dual_credit.nev_ratio_pct": {"2026": 48, "2030": 60}}}
    r = client.post("/api/scenarios", json=body)
    assert r.status_code == 201, r.text
    path = tmp_path / "scenarios" / "fast-batteries.toml"
    assert path.is_file()
    listed = {s["name"]: s for s in client.get("/api/scenarios").json()["scenarios"]}
    assert listed["fast-batteries"]["kind"] == "user" and listed["china-current-policies"]["kind"] == "shipped"

    toml = client.get("/api/scenarios/fast-batteries/toml")
    assert toml.status_code == 200 and 'base = "china-current-policies"' in toml.text
    loaded = load_scenario(path)  # the file is an ordinary scenario file
    assert loaded.technology.battery_learning_rate == 0.25
    assert loaded.policy.dual_credit.nev_ratio_pct == {"2026": 48.0, "2030": 60.0}
    info = client.get("/api/scenarios/fast-batteries").json()
    assert info["hash"] == loaded.hash

    # a scenario on top of a user scenario is flattened onto the shipped base
    r = client.post("/api/scenarios/toml", json={"scenario": "fast-batteries", "name": "faster",
                                                 "overrides": {LR_PATH: 0.3}})
    assert r.status_code == 200 and "battery_learning_rate = 0.3" in r.text and "2026 = 48" in r.text

    run = client.post("/api/runs?wait=true", json={"scenario": "fast-batteries"})
    assert run.status_code == 201
    assert run.json()["meta"]["scenario"] == "fast-batteries"
    assert run.json()["scenario_resolved"]["technology"]["battery_learning_rate"] == 0.25

    again = client.post("/api/scenarios", json=body)
    assert again.status_code == 422 and again.json()["detail"][0]["field"] == "name"
    assert client.post("/api/scenarios", json={**body, "replace": True}).status_code == 201


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "../escape", "overrides": {}}, "name"),
    ({"name": "a/b", "overrides": {}}, "name"),
    ({"name": "Big Name", "overrides": {}}, "name"),
    ({"name": "china-current-policies", "overrides": {}}, "name"),
    ({"name": "ok-name", "overrides": {LR_PATH: 2}}, LR_PATH),
])
def test_bad_scenario_saves_are_422(client: Any, tmp_path: Path, body: dict[str, Any], field: str) -> None:
    r = client.post("/api/scenarios", json=body)
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == field
    assert not (tmp_path / "scenarios").exists() or not any((tmp_path / "scenarios").iterdir())
    assert not (tmp_path.parent / "escape.toml").exists()


def test_validate_endpoint(client: Any) -> None:
    ok = client.post("/api/scenarios/validate", json={"overrides": {LR_PATH: 0.2}})
    assert ok.status_code == 200 and ok.json()["resolved"]["technology"]["battery_learning_rate"] == 0.2
    assert ok.json()["hash"] != client.post("/api/scenarios/validate", json={}).json()["hash"]
    bad = client.post("/api/scenarios/validate", json={"overrides": {"years.last": 2005}})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "years.last"


# ---------------------------------------------------------------------------- data


def test_data_api(client: Any) -> None:
    cat = client.get("/api/data/catalog").json()["datasets"]
    assert {"iea_gevo_2025", "targets"} <= {d["name"] for d in cat}
    assert all(d["licence"] for d in cat)
    r = client.get("/api/data/iea_gevo_2025", params={"region": "CN", "until": 2018, "limit": 20000})
    body = r.json()
    assert body["total"] == len(body["rows"]) > 0
    assert {row["region"] for row in body["rows"]} == {"China"}
    assert max(row["year"] for row in body["rows"]) <= 2018
    assert body["attrs"]["licence"]
    targets = client.get("/api/data/targets", params={"until": 2019}).json()["rows"]
    assert targets and max(t["announced"] for t in targets) <= 2019
    hist = client.get("/api/data/history", params={"region": "China", "until": 2020}).json()
    assert hist["sources"] and max(r["year"] for r in hist["rows"]) <= 2020
    bad = client.get("/api/data/secret_file")
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "dataset"
    assert "iea_gevo_2025" in bad.json()["detail"][0]["allowed"]
    bad_region = client.get("/api/data/iea_gevo_2025", params={"region": "Atlantis"})
    assert bad_region.status_code == 422 and bad_region.json()["detail"][0]["field"] == "region"


def test_outlook_page_draws_a_fan_band_for_a_run_with_draws(tmp_path: Path) -> None:
    """Issue 7: with draws > 1 the outlook's EV-share chart has a band (fill between quantiles)."""
    with make_client(tmp_path / "runs.duckdb", max_draws=16) as c:
        run_id = c.post("/api/runs", json={"draws": 8, "overrides": {"years.last": 2035}}).json()["run_id"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            s = c.get(f"/api/runs/{run_id}").json()
            if s["status"] in ("done", "failed"):
                break
            time.sleep(0.1)
        assert s["status"] == "done", s
        assert s["meta"]["draws"] == 8
        page = c.get("/outlook", params={"run": run_id})
        assert page.status_code == 200
        assert '"fill":"tonexty"' in page.text.replace(" ", "")  # the band traces
        single = c.post("/api/runs", json={"overrides": {"years.last": 2035}}).json()["run_id"]
        while c.get(f"/api/runs/{single}").json()["status"] not in ("done", "failed"):
            time.sleep(0.1)
        assert '"fill":"tonexty"' not in c.get("/outlook", params={"run": single}).text.replace(" ", "")


def test_validate_refuses_a_coefficient_distribution_that_crosses_its_sign_bound(client: Any) -> None:
    """A distribution must keep a coefficient inside its bounds, as a fixed value must (QA finding 1)."""
    body = {"overrides": {"coefficients.beta_price": {"dist": "normal", "mean": -0.05, "sd": 0.1}}}
    bad = client.post("/api/scenarios/validate", json=body)
    assert bad.status_code == 422, bad.text
    assert "beta_price" in bad.json()["detail"][0]["field"]
    body["overrides"]["coefficients.beta_price"] |= {"max": 0.0}
    assert client.post("/api/scenarios/validate", json=body).status_code == 200


# ---------------------------------------------------------------------------- API as docs/web.md says (QA 10, item 9)


@pytest.mark.parametrize("url", ["/api/runs", "/api/scenarios/validate", "/api/scenarios", "/api/scenarios/toml"])
def test_a_body_that_is_not_json_is_400(client: Any, url: str) -> None:
    """docs/web.md: a body that is not JSON is 400 (it was 422 naming a character offset as the field)."""
    r = client.post(url, content=b'{"scenario": china}', headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    detail = r.json()["detail"][0]
    assert detail["field"] == "body" and "not readable JSON" in detail["msg"]


def test_series_and_makers_errors_name_the_query_parameters(shared: dict[str, Any]) -> None:
    c, run = shared["client"], shared["base"]
    for url, field in ((f"/api/runs/{run}/series?first_year=2040&last_year=2030", "last_year"),
                       (f"/api/runs/{run}/makers?first_year=2040&last_year=2030", "last_year"),
                       (f"/api/runs/{run}/makers?maker=Nope", "maker"),
                       (f"/api/runs/{run}/makers?variable=Nope", "variable"),
                       (f"/api/runs/{run}/series?variable=Nope", "variable")):
        r = c.get(url)
        assert r.status_code == 422, (url, r.text)
        assert r.json()["detail"][0]["field"] == field, url
    reversed_years = c.get(f"/api/runs/{run}/series?first_year=2040&last_year=2030").json()["detail"][0]
    assert "first_year" in reversed_years["msg"] and reversed_years["allowed"]


@pytest.mark.parametrize(("method", "url", "body", "field", "allowed"), [
    ("GET", "/api/runs/RUN/series?first_year=-5", None, "first_year", "1900 to 2200"),  # (both bounds: pydantic names only the broken one)
    ("POST", "/api/runs", {"draws": -1}, "draws", "≥ 1"),
    ("POST", "/api/scenarios", {"name": "Bad Name!"}, "name", "[a-z0-9]"),
])
def test_request_schema_errors_carry_the_bound_as_allowed(shared: dict[str, Any], method: str, url: str,
                                                          body: Any, field: str, allowed: str) -> None:
    r = shared["client"].request(method, url.replace("RUN", shared["base"]), json=body)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"][0]
    assert detail["field"] == field
    assert any(allowed in a for a in detail["allowed"]), detail


def test_an_unknown_scenario_in_the_url_is_404(client: Any) -> None:
    for url in ("/api/scenarios/nope", "/api/scenarios/nope/toml"):
        r = client.get(url)
        assert r.status_code == 404, url
        assert r.json()["detail"][0]["field"] == "name" and "china-current-policies" in r.json()["detail"][0]["allowed"]
    # in a body it is a bad field value, as before
    assert client.post("/api/runs", json={"scenario": "nope"}).json()["detail"][0]["field"] == "scenario"


def test_replacing_a_saved_scenario_keeps_its_description_unless_a_new_one_is_given(client: Any) -> None:
    body = {"name": "qa-one", "overrides": {LR_PATH: 0.25}, "description": "faster batteries"}
    assert client.post("/api/scenarios", json=body).status_code == 201
    again = {"name": "qa-one", "overrides": {LR_PATH: 0.3}, "replace": True}
    assert client.post("/api/scenarios", json=again).status_code == 201
    info = client.get("/api/scenarios/qa-one").json()
    assert info["description"] == "faster batteries"
    assert info["resolved"]["technology"]["battery_learning_rate"] == 0.3
    assert client.post("/api/scenarios", json={**again, "description": "new"}).status_code == 201
    assert client.get("/api/scenarios/qa-one").json()["description"] == "new"


def test_replacing_an_unreadable_saved_scenario_is_not_a_server_error(client: Any, tmp_path: Path) -> None:
    """Replacing a saved scenario whose file is not valid TOML (edited by hand) raised TOMLDecodeError: HTTP 500."""
    body = {"name": "qa-two", "overrides": {LR_PATH: 0.25}, "description": "kept"}
    assert client.post("/api/scenarios", json=body).status_code == 201
    path = tmp_path / "scenarios" / "qa-two.toml"  # (the client's store is tmp_path / "runs.duckdb")
    assert path.exists()
    path.write_text("this is = = not toml", encoding="utf-8")
    r = client.post("/api/scenarios", json={"name": "qa-two", "overrides": {LR_PATH: 0.3}, "replace": True})
    assert r.status_code == 201, r.text
    assert client.get("/api/scenarios/qa-two").json()["resolved"]["technology"]["battery_learning_rate"] == 0.3


def test_downloads_and_the_outlook_note_say_what_the_cli_says(shared: dict[str, Any]) -> None:
    """The downloads carried float noise (1139999.9999999988) the CLI's CSVs no longer do, and the
    outlook page said every history-year column was "calibrated to observations"."""
    import re

    c, run_id = shared["client"], shared["base"]
    for kind in ("series.csv", "iamc.csv", "makers.csv"):
        text = c.get(f"/api/runs/{run_id}/download/{kind}").text
        noisy = [m for m in re.findall(r"-?\d+\.\d+", text) if len(m.lstrip("-").replace(".", "").lstrip("0")) > 10]
        assert not noisy, (kind, noisy[:3])
    html = c.get("/outlook", params={"run": run_id}).text
    note = re.search(r'<p class="note" id="headline-note">(.*?)</p>', html, re.S).group(1)
    assert "calibrated to observations" not in note and "Modelled in every year" in note


def test_series_years_outside_the_run_name_the_bound_the_request_set(shared: dict[str, Any]) -> None:
    """?last_year=1950 answered 422 naming first_year (the review of 2026-12-01)."""
    c, run_id = shared["client"], shared["base"]
    for params, field in (({"last_year": 1950}, "last_year"), ({"first_year": 2100}, "first_year")):
        r = c.get(f"/api/runs/{run_id}/series", params=params)
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["field"] == field
        assert r.json()["detail"][0]["allowed"] == ["2010–2060"]
