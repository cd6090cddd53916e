"""Fixtures of the web tests: apps over temporary stores, TestClient, and stored runs."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():  # starlette ≥ 1.x warns that httpx (not httpx2) backs its TestClient
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from nevsim.web import WebSettings, create_app

LR_PATH = "technology.battery_learning_rate"


def make_client(store: Path, **settings: Any) -> TestClient:
    return TestClient(create_app(WebSettings(store_path=store, **settings)))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """A client of a fresh app over an empty store."""
    with make_client(tmp_path / "runs.duckdb") as c:
        yield c


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One app per module with two stored runs: the default and a faster battery learning rate."""
    store = tmp_path_factory.mktemp("web") / "runs.duckdb"
    with make_client(store) as c:
        base = c.post("/api/runs?wait=true", json={"scenario": "china-current-policies"})
        assert base.status_code == 201, base.text
        fast = c.post("/api/runs?wait=true", json={"scenario": "china-current-policies",
                                                   "overrides": {LR_PATH: 0.3}})
        assert fast.status_code == 201, fast.text
        yield {"client": c, "store": store, "base": base.json()["run_id"], "fast": fast.json()["run_id"]}
