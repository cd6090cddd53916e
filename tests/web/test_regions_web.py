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
                 "energy.gasoline_price_cny_per_l", "policy.known_at", "calibration.segment_mix"):
        assert f'data-path="{path}"' not in us.text and f'data-path="{path}"' in cn, path
    assert 'data-path="technology.battery_learning_rate"' in us.text


def _text(html: str) -> str:
    """The page's visible text (no scripts, tags or runs of blanks)."""
    html = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


def test_makers_page_follows_the_runs_region_and_standard(regional: Any) -> None:
    """QA 10, item 3: an EU run's makers page is about its fleet CO2 credits (price 95 EUR, roles); a US
    run without a credit standard says so; charts without data are left out with a line saying why."""
    c, ids = regional
    eu = c.get("/makers", params={"run": ids["EU"], "year": 2030}).text
    text = _text(eu)
    assert "NEV" not in text and "CNY" not in text
    assert "Clearing Fleet CO2 credit price in 2030: 95 EUR per credit" in text
    assert re.search(r'<td class="(sells|buys)">', eu)
    assert 'id="fig-maker-balances"' in eu and "Fleet CO2 credit balances" in eu
    assert 'id="fig-capacity-use"' not in eu and "no production capacities for this region's makers" in text
    us = c.get("/makers", params={"run": ids["US"], "year": 2030}).text
    text = _text(us)
    assert "NEV" not in text and "CNY" not in text and "not in this run" not in text
    assert "models no credit market between makers" in text
    assert 'id="fig-maker-balances"' not in us and 'id="fig-capacity-use"' not in us
    cn = c.get("/makers", params={"run": ids["CN"], "year": 2030}).text
    assert "Clearing NEV credit price in 2030" in _text(cn) and 'id="fig-capacity-use"' in cn


def test_makers_page_calls_a_history_years_price_observed(regional: Any) -> None:
    """QA 10, item 4: 2,088 CNY in 2021 is the observed average price (credit_prices.csv), not a clearing price."""
    c, ids = regional
    text = _text(c.get("/makers", params={"run": ids["CN"], "year": 2021}).text)
    assert "Observed average NEV credit price in 2021: 2,088 CNY per credit" in text
    assert "Clearing NEV credit price" not in text and "credit_prices.csv" in text
    assert "uses the observed price as a floor" in text  # (the model's price is at least it: review of 2026-12-01)


def test_makers_page_says_when_the_model_price_clears_above_the_observed_floor(regional: Any, monkeypatch) -> None:
    """The page called the model's price "observed" in a history year even where the clearing price
    was above the observed floor (simulate: max(clearing, observed))."""
    from nevsim.web import pages

    c, ids = regional
    real = pages._value_or_nan
    monkeypatch.setattr(pages, "_value_or_nan", lambda res, var, year: 3000.0 if var == "Price|Credit|NEV"
                        else real(res, var, year))
    text = _text(c.get("/makers", params={"run": ids["CN"], "year": 2021}).text)
    assert "2,088 CNY per credit" in text and "which clears higher here: 3,000 CNY" in text


def test_eu_outlook_shows_its_credit_price_in_euro(regional: Any) -> None:
    """QA 10, items 5 and 12: the EU outlook has the fleet CO2 credit price chart; money columns name the run's currency."""
    c, ids = regional
    html = c.get("/outlook", params={"run": ids["EU"]}).text
    assert 'id="fig-credit-price"' in html
    head = re.search(r'<table class="num" id="headline">.*?</thead>', html, re.S).group(0)
    assert "region currency" not in head and "(billion EUR)" in head and "(EUR/credit)" in head


def test_outlook_targets_say_what_they_are_compared_with(regional: Any) -> None:
    """QA 10, item 6: each target's `compared_with` and `note` are shown (footnotes of the targets table)."""
    c, ids = regional
    html = c.get("/outlook", params={"run": ids["US"]}).text
    notes = _text(re.search(r'<ol class="footnotes src" id="target-notes">.*?</ol>', html, re.S).group(0))
    assert "ZEV share 2030 (withdrawn 2025)" in notes
    assert "Sales Share|Cars|EV (BEV + PHEV; FCEVs not modelled)" in notes  # compared_with
    assert "Withdrawn in 2025" in notes  # note
    assert re.search(r'<a href="#tn-\d+"', html)


def test_compare_across_regions_shows_only_the_settings_that_apply(regional: Any) -> None:
    """QA 10, item 7: China's own fields are not offered for US/EU runs (n/a there), the [region] table
    not for a China run; settings the runs share are folded away with their count."""
    from nevsim.web.pages import NOT_APPLICABLE

    c, ids = regional
    html = c.get("/compare", params={"run": [ids["CN"], ids["US"], ids["EU"]]}).text
    diff = re.search(r'<table id="scenario-diff".*?</table>', html, re.S).group(0)
    rows = re.findall(r"<tr><td><code>(.*?)</code></td>(.*?)</tr>", diff, re.S)
    keys = [k for k, _ in rows]
    assert not [k for k in keys if k.startswith(("policy.dual_credit", "policy.subsidies", "technology.cny_per_usd"))]
    spec = dict(rows)["region_spec.currency"]
    assert re.findall(r'<div class="cell"[^>]*>(.*?)</div>', spec) == [NOT_APPLICABLE, "USD", "EUR"]
    assert len(rows) < 40, keys
    same = re.search(r'<details id="scenario-same"><summary>(\d+) settings the runs share', html)
    assert same and int(same.group(1)) > 20
    assert "policy.dual_credit.enabled" in html[html.index('id="scenario-same"'):]


def test_targets_left_out_are_named_under_the_table(regional: Any) -> None:
    """The US check leaves California's ACC II targets out (a state rule the run does not model);
    the page said nothing of them: now one sentence under the targets table, as in the CLI and report."""
    c, ids = regional
    html = c.get("/outlook", params={"run": ids["US"]}).text
    left = re.search(r'<p class="note" id="targets-left-out">(.*?)</p>', html, re.S)
    assert left and "10 targets of a state standard" in left.group(1) and "all_jurisdictions=True" in left.group(1)
    assert 'id="targets-left-out"' not in c.get("/outlook", params={"run": ids["EU"]}).text


def test_api_targets_lists_the_left_out_targets_and_keeps_name_stable(regional: Any) -> None:
    """The API's targets check lost the ten ACC II targets us-current-policies leaves out without a
    word; and a target's name carried its status ("ZEV share 2030 (withdrawn 2025)"), so a client
    could not look it up by the fact table's name. Now ``left_out`` names them; ``label`` has the status."""
    c, ids = regional
    doc = c.get(f"/api/runs/{ids['US']}/targets").json()
    assert doc["left_out"] == [f"California ACC II {y}" for y in range(2026, 2036)]
    goal = next(t for t in doc["targets"] if t["name"] == "ZEV share 2030")
    assert goal["label"] == "ZEV share 2030 (withdrawn 2025)" and goal["region_code"] == "US"
    assert c.get(f"/api/runs/{ids['EU']}/targets").json()["left_out"] == []


def test_outlook_targets_table_prints_the_label(regional: Any) -> None:
    """The web targets table and its footnotes print the label (name and status), not the bare name."""
    c, ids = regional
    html = c.get("/outlook", params={"run": ids["EU"]}).text
    table = re.search(r'<table id="targets">.*?</table>', html, re.S).group(0)
    assert "<td>EU car CO2 2020 (NEDC: not comparable)</td>" in table
    notes = _text(re.search(r'<ol class="footnotes src" id="target-notes">.*?</ol>', html, re.S).group(0))
    assert "EU car CO2 2020 (NEDC: not comparable)" in notes


def test_outlook_headline_columns_are_the_reports_labels(regional: Any) -> None:
    """The page's headline columns are :func:`nevsim.report.headline_labels` unchanged: the money labels
    already name the run's currency (a replacement of "region currency" on the page was dead code)."""
    from nevsim.report import headline_table

    c, ids = regional
    html = c.get("/outlook", params={"run": ids["US"]}).text
    head = re.search(r'<table class="num" id="headline">.*?</thead>', html, re.S).group(0)
    cols = [_text(x).strip() for x in re.findall(r"<th>(.*?)</th>", head)]
    assert cols == list(headline_table(c.app.state.nevsim.load(ids["US"])).columns)
    assert "Public cost: purchase subsidy + tax forgone on plug-ins (billion USD)" in cols


def test_makers_page_shows_each_credit_market_of_a_run_with_two(regional: Any) -> None:
    """us-2024-rules has a ZEV mandate and a fleet GHG standard: the page showed the fleet market only,
    with no word of the ZEV credits (review of 2026-12-01). A selector now offers both."""
    c, ids = regional
    r = c.post("/api/runs?wait=true", json={"scenario": "us-2024-rules"})
    assert r.status_code == 201, r.text
    run = r.json()["run_id"]
    page = c.get("/makers", params={"run": run, "year": 2027}).text
    assert 'id="market-select"' in page and 'id="markets-note"' in page
    assert "fleet CO2 credits" in _text(page)  # the first market by default
    zev = c.get("/makers", params={"run": run, "year": 2027, "market": "ZEV"}).text
    assert "ZEV credits (the ZEV mandate) in 2027" in _text(zev) and "ZEV credit balance" in zev
    bad = c.get("/makers", params={"run": run, "market": "NEV"})
    assert bad.status_code == 422 and "ZEV" in bad.text
    one = c.get("/makers", params={"run": ids["EU"], "year": 2030}).text
    assert 'id="market-select"' not in one  # one market: no selector


def test_makers_page_names_no_floor_when_the_run_switches_observed_prices_off(tmp_path: Any) -> None:
    """The page said "the model uses the observed price as a floor" in every NEV history year, also
    when the scenario switches the floor off (policy.dual_credit.observed_prices_in_history = false)."""
    with make_client(tmp_path / "runs.duckdb") as c:
        r = c.post("/api/runs?wait=true", json={"scenario": "china-current-policies",
                                                "overrides": {"policy.dual_credit.observed_prices_in_history": False}})
        assert r.status_code == 201, r.text
        text = _text(c.get("/makers", params={"run": r.json()["run_id"], "year": 2021}).text)
    assert "as a floor" not in text and "Clearing NEV credit price in 2021" in text


def test_eu_outlook_page_shows_new_car_co2_against_the_standard(regional: Any) -> None:
    """The report gained a "New-car CO2 vs standard" chart for regions with a g/km standard; the web
    outlook lists its figures by name and left it out."""
    c, ids = regional
    assert 'id="fig-new-car-co2"' in c.get("/outlook", params={"run": ids["EU"]}).text
    assert 'id="fig-new-car-co2"' not in c.get("/outlook", params={"run": ids["CN"]}).text
