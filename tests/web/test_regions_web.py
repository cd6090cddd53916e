"""The dashboard with regions other than China: outlook region selector, cross-region compare, back-test."""

from __future__ import annotations

import re
from typing import Any

import pytest

from .conftest import make_client


@pytest.fixture(scope="module")
def regional(tmp_path_factory: pytest.TempPathFactory) -> Any:
    store = tmp_path_factory.mktemp("web-regions") / "runs.duckdb"
    with make_client(store) as c:
        ids = {}
        for code, name in (("CN", "china-current-policies"), ("US", "us-current-policies"),
                           ("EU", "eu-current-policies")):
            r = c.post("/api/runs?wait=true", json={"scenario": name})
            assert r.status_code == 201, r.text
            ids[code] = r.json()["run_id"]
        yield c, ids


def test_outlook_region_selector_enables_the_runs_region(regional: Any) -> None:
    c, ids = regional
    html = c.get("/outlook", params={"run": ids["US"], "region": "US"}).text
    us = re.search(r'<option value="US"[^>]*>', html)
    cn = re.search(r'<option value="CN"[^>]*>', html)
    assert us and "selected" in us.group(0) and "disabled" not in us.group(0)
    assert cn and "disabled" in cn.group(0)
    assert "ZEV share 2030" in html  # the US targets
    bad = c.get("/outlook", params={"run": ids["US"], "region": "CN"})
    assert bad.status_code == 422


def test_compare_across_regions(regional: Any) -> None:
    c, ids = regional
    html = c.get("/compare", params={"run": [ids["CN"], ids["US"], ids["EU"]]}).text
    assert 'id="compare-table"' in html
    for name in ("china-current-policies", "us-current-policies", "eu-current-policies"):
        assert name in html


def test_backtest_page_uses_the_scenarios_region(regional: Any) -> None:
    c, _ = regional
    done = c.get("/backtest", params={"scenario": "eu-current-policies", "go": "true"})
    assert done.status_code == 200, done.text[:500]
    assert 'id="backtest-mae"' in done.text and "EU" in done.text


def test_the_editor_of_a_region_scenario_offers_no_china_only_field(regional: Any) -> None:
    """China's own fields are refused in a US scenario: the editor does not offer them."""
    c, _ = regional
    us = c.get("/editor", params={"scenario": "us-current-policies"})
    cn = c.get("/editor", params={"scenario": "china-current-policies"}).text
    assert us.status_code == 200
    for path in ("policy.subsidies.trade_in", "policy.dual_credit.pass_through", "technology.cny_per_usd",
                 "energy.gasoline_price_cny_per_l", "policy.known_at"):
        assert f'data-path="{path}"' not in us.text and f'data-path="{path}"' in cn, path
    assert 'data-path="technology.battery_learning_rate"' in us.text
