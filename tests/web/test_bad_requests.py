"""Bad requests found by a deep fuzz of the API and pages (schemathesis with 300 examples per operation,
stateful sequences, and hand-made requests): each answered 5xx, the wrong status or an error without
the field, or lost a saved scenario. Now: 4xx in the API's error shape (field and allowed values), and
nothing stored changes."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from nevsim.errors import InputError
from nevsim.store import Store
from nevsim.web.state import AppState

from .conftest import LR_PATH, make_client

BODY_ENDPOINTS = ("/api/runs", "/api/scenarios/validate", "/api/scenarios/toml", "/api/scenarios")


def _post(client: Any, url: str, body: bytes) -> Any:
    if url == "/api/scenarios":  # (a save needs a name)
        body = b'{"name": "deep", ' + body[1:]
    return client.post(url, content=body, headers={"content-type": "application/json"})


def _nested(depth: int, kind: str) -> bytes:
    if kind == "tables":
        return b'{"overrides": {"technology": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}}"
    if kind == "lists":
        return b'{"overrides": {"' + LR_PATH.encode() + b'": ' + b"[" * depth + b"]" * depth + b"}}"
    return json.dumps({"overrides": {".".join(["technology"] * depth): 1}}).encode()  # a dotted key


@pytest.mark.parametrize("url", BODY_ENDPOINTS)
@pytest.mark.parametrize("kind", ["tables", "lists", "dotted"])
def test_overrides_nested_too_deeply_are_422_naming_overrides(client: Any, url: str, kind: str) -> None:
    """600 levels passed the JSON parser and exhausted the recursion limit in the scenario code: 500."""
    r = _post(client, url, _nested(600, kind))
    assert r.status_code == 422, r.text
    detail = r.json()["detail"][0]
    assert detail["field"] == "overrides" and detail["allowed"] == ["at most 32 levels of nesting"]
    assert client.get("/api/runs").json() == {"runs": [], "jobs": []}
    assert client.get("/api/scenarios/deep").status_code == 404  # nothing saved


def test_overrides_as_deep_as_a_scenario_needs_pass_the_depth_check(client: Any) -> None:
    correlated = {"uncertainty.correlations": [{"names": [LR_PATH, "fleet.vkt_km_per_year"],
                                                "matrix": [[1, 0.3], [0.3, 1]]}]}
    assert client.post("/api/scenarios/validate", json={"overrides": correlated}).status_code == 200


@pytest.mark.parametrize("url", BODY_ENDPOINTS)
def test_json_nested_past_the_parser_is_400_naming_the_body(client: Any, url: str) -> None:
    """FastAPI's own 400 ("There was an error parsing the body") had a bare string as detail."""
    r = _post(client, url, _nested(990, "lists"))
    assert r.status_code == 400, r.text
    detail = r.json()["detail"][0]
    assert detail["field"] == "body" and detail["allowed"] == ["a JSON object"]


@pytest.mark.parametrize("body", [b"", b"null", b"[]", b'"text"', b"7"])
def test_a_missing_or_non_object_body_names_the_body(client: Any, body: bytes) -> None:
    """These were 422 with an empty field and no allowed values."""
    r = client.post("/api/runs", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"][0]
    assert detail["field"] == "body" and detail["allowed"] == ["a JSON object"]


@pytest.mark.parametrize("key", ["", "  "])
def test_an_empty_body_key_is_named(client: Any, key: str) -> None:
    """Schemathesis (2026-12-01): an unknown key that is empty ({"": {}}) gave 422 with field "", so the
    error named nothing."""
    r = client.post("/api/runs", json={key: {}, "scenario": "china-current-policies"})
    assert r.status_code == 422, r.text
    fields = [d["field"] for d in r.json()["detail"]]
    assert f'body key "{key}"' in fields and all(f.strip() for f in fields), fields


def test_size_limit_and_bad_content_length_use_the_error_shape(client: Any) -> None:
    big = client.post("/api/runs", content=b"x" * 300_000, headers={"content-type": "application/json"})
    assert big.status_code == 413
    assert big.json()["detail"][0]["field"] == "body" and "262144 bytes" in big.json()["detail"][0]["allowed"][0]
    negative = client.post("/api/runs", content=b"{}", headers={"content-type": "application/json",
                                                               "content-length": "-1"})
    assert negative.status_code == 400, negative.text  # (was read as a body of unknown length)
    assert negative.json()["detail"][0]["field"] == "content-length"


def test_an_unknown_run_is_404_naming_run_id(client: Any) -> None:
    for url in ("/api/runs/0123abcd", "/api/runs/0123abcd/series", "/api/runs/0123abcd/download/series.csv"):
        r = client.get(url)
        assert r.status_code == 404
        detail = r.json()["detail"][0]  # (was a bare string)
        assert detail["field"] == "run_id" and "0123abcd" in detail["msg"] and detail["allowed"]


@pytest.mark.parametrize(("method", "url", "allow"), [
    ("OPTIONS", "/api/runs", "GET, POST"),  # Starlette named the first route's methods only: GET
    ("PUT", "/api/scenarios", "GET, POST"),
    ("DELETE", "/api/scenarios/validate", "GET, POST"),  # (also GET /api/scenarios/{name})
    ("PATCH", "/static/app.js", "GET, HEAD"),  # (no Allow at all)
    ("POST", "/api/data/catalog", "GET"),
])
def test_405_names_every_method_of_the_path(client: Any, method: str, url: str, allow: str) -> None:
    r = client.request(method, url)
    assert r.status_code == 405
    assert r.headers["allow"] == allow


def test_an_unknown_page_is_the_html_error_page(client: Any) -> None:
    r = client.get("/no-such-page")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "/no-such-page" in r.text
    assert client.get("/api/no-such-thing").json() == {"detail": "Not Found"}  # the API stays JSON


def test_a_deleted_run_is_404_not_served_from_the_cache(tmp_path: Path) -> None:
    """A run deleted from the store (`nevsim runs delete` beside the server) was still served from the cache."""
    store = tmp_path / "runs.duckdb"
    with make_client(store) as c:
        kept = c.post("/api/runs?wait=true", json={}).json()["run_id"]
        gone = c.post("/api/runs?wait=true", json={"overrides": {LR_PATH: 0.3}}).json()["run_id"]
        assert c.get(f"/api/runs/{gone}/series?first_year=2030&last_year=2030").status_code == 200  # cached now
        Store(store).delete(gone)
        for url in (f"/api/runs/{gone}", f"/api/runs/{gone}/series", f"/api/runs/{gone}/download/series.csv",
                    f"/outlook?run={gone}", f"/makers?run={gone}"):
            assert c.get(url).status_code == 404, url
        assert c.get(f"/api/runs/{kept}").status_code == 200


def test_a_store_held_by_another_process_is_503_with_retry_after(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a bad request (it was 422): the server's own store is busy; the same detail, field ``store``."""
    def held(self: Any) -> Any:
        raise InputError("store", "cannot open runs.duckdb (read): another process holds it (IO Error: lock).")

    monkeypatch.setattr(AppState, "list_runs", held)
    for url in ("/api/runs", "/api/runs/0123abcd", "/outlook"):
        r = client.get(url)
        assert r.status_code == 503, (url, r.text)
        assert r.headers["retry-after"] == "2"
    assert client.get("/api/runs").json()["detail"][0]["field"] == "store"



def test_a_run_whose_store_is_held_answers_503_with_retry_after(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """``POST /api/runs?wait=true`` when saving finds the store held by another process: 503 as the GET
    routes answer, with ``Retry-After`` too (it had none)."""
    def held(self: Any, res: Any) -> None:
        raise InputError("store", "cannot open runs.duckdb (write): another process holds it (IO Error: lock).")

    monkeypatch.setattr(Store, "save", held)
    r = client.post("/api/runs?wait=true", json={"scenario": "china-current-policies"})
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == "2"
    assert r.json()["detail"][0]["field"] == "store"

def test_two_saves_of_one_new_name_at_once_keep_the_first(client: Any, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Both passed the "name taken" check before either wrote: both 201, the first save lost."""
    both_checked = threading.Barrier(2, timeout=20)
    toml = AppState.scenario_toml

    def after_both_checks(self: AppState, *args: Any, **kwargs: Any) -> str:
        both_checked.wait()
        return toml(self, *args, **kwargs)

    monkeypatch.setattr(AppState, "scenario_toml", after_both_checks)
    results: list[Any] = [None, None]

    def save(i: int) -> None:
        results[i] = client.post("/api/scenarios", json={"name": "race", "description": f"save {i}",
                                                         "overrides": {LR_PATH: 0.2 + i / 10}})

    threads = [threading.Thread(target=save, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in results) == [201, 422], [r.text for r in results]
    refused = next(r for r in results if r.status_code == 422)
    assert refused.json()["detail"][0]["field"] == "name"
    winner = results.index(next(r for r in results if r.status_code == 201))
    saved = client.get("/api/scenarios/race").json()
    assert saved["description"] == f"save {winner}"
    assert not list((tmp_path / "scenarios").glob("*.tmp"))  # no temporary file left


def test_an_unreadable_saved_scenario_is_422_and_the_others_are_still_listed(client: Any, tmp_path: Path) -> None:
    """A saved file that is not TOML (edited by hand, or half-written) broke the list and every use: 500."""
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "broken.toml").write_text("this is = not [toml", encoding="utf-8")
    (folder / "folder.toml").mkdir()  # not a file: not a scenario
    assert client.post("/api/scenarios", json={"name": "fine", "overrides": {LR_PATH: 0.2}}).status_code == 201
    listed = {s["name"]: s for s in client.get("/api/scenarios").json()["scenarios"]}
    assert "fine" in listed and "folder" not in listed and "cannot be read" in listed["broken"]["error"]
    for method, url, body, field in (("GET", "/api/scenarios/broken", None, "name"),
                                     ("GET", "/api/scenarios/broken/toml", None, "name"),
                                     ("POST", "/api/runs", {"scenario": "broken"}, "scenario"),
                                     ("POST", "/api/scenarios/validate", {"scenario": "broken"}, "scenario"),
                                     ("POST", "/api/scenarios", {"name": "copy", "scenario": "broken"}, "scenario")):
        r = client.request(method, url, json=body)
        assert r.status_code == 422, (url, r.text)
        assert r.json()["detail"][0]["field"] == field
    assert client.get("/editor?scenario=broken").status_code == 422
    saved_over_a_folder = client.post("/api/scenarios", json={"name": "folder", "replace": True})
    assert saved_over_a_folder.status_code == 422 and saved_over_a_folder.json()["detail"][0]["field"] == "name"
    assert client.get("/api/scenarios/fine").status_code == 200


@pytest.mark.parametrize("referer", ["http://[::1", "http://[testserver/outlook"])
def test_an_error_page_with_a_referer_that_is_not_a_url_is_still_the_error_page(client: Any, referer: str) -> None:
    """The error page's back link parsed the Referer: `http://[::1` raised, a 500 for every error page."""
    for url in ("/outlook?run=0123abcd", "/no-such-page"):
        r = client.get(url, headers={"referer": referer})
        assert r.status_code == 404, url
        assert 'id="back-link"' not in r.text


def test_a_scenario_name_with_a_trailing_newline_is_refused(tmp_path: Path) -> None:
    """``re.match`` with ``$`` let ``"mine\\n"`` through :func:`check_name` (the request schema's own pattern
    refused it, but :meth:`AppState.save_scenario` is called from Python too): a file ``mine\\n.toml``."""
    from nevsim.web import WebSettings
    from nevsim.web.state import check_name

    with pytest.raises(InputError, match="not a valid scenario name"):
        check_name("mine\n")
    state = AppState(WebSettings(store_path=tmp_path / "runs.duckdb"))
    with pytest.raises(InputError):
        state.save_scenario("mine\n", "china-current-policies", {})
    assert not (tmp_path / "scenarios").exists() or not list((tmp_path / "scenarios").iterdir())
