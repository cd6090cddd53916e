"""Monte Carlo settings in the scenario editor: distribution controls, coefficients, correlations.

The form sends what a scenario file says (a distribution table in place of a number, dotted
``coefficients.<name>`` and ``uncertainty.correlations``) through the same validation as a
file; bad input is a 422 naming the field and the allowed values, and nothing is stored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from nevsim.uncertainty import Choice, LogNormal, Normal, Triangular, Uniform
from nevsim.web.pages import DIST_PARAMS, OPTIONAL_DIST_PARAMS, dist_text, editor_sections, path_text

from .conftest import LR_PATH, make_client

BASE = "china-current-policies"
RATIO = "technology.china_pack_price_ratio"  # a real-valued field without a distribution in BASE
TRIANGULAR = {"dist": "triangular", "low": 0.75, "mode": 0.82, "high": 0.9}


@pytest.fixture(scope="module")
def mc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A client of a server that allows four draws per run, over an empty store."""
    store = tmp_path_factory.mktemp("mc") / "runs.duckdb"
    with make_client(store, max_draws=4) as c:
        yield c


def _field_html(html: str, path: str) -> str:
    """The editor's markup of one field (its ``div.field``)."""
    start = html.index(f'<div class="field" data-field="{path}">')
    end = html.find('<div class="field"', start + 10)
    return html[start:end if end > 0 else len(html)]


def test_editor_shows_distribution_controls(mc: Any) -> None:
    html = mc.get("/editor").text
    # a real-valued field: a "± distribution" toggle and its (hidden) panel, started from the field's
    # value and range
    ratio = _field_html(html, RATIO)
    assert "± distribution" in ratio and f'data-dist-for="{RATIO}"' in ratio
    panel = ratio[ratio.index('class="dist"'):]
    assert " hidden>" in panel.split("\n")[0]
    assert re.search(r'data-p="mean" value="0.82"', panel) and re.search(r'data-p="min" value="0.3"', panel)
    assert re.search(r'data-p="max" value="1.5"', panel)
    for kind in ("normal", "lognormal", "triangular", "uniform", "choice"):
        assert f"<option >{kind}</option>" in panel or f"<option>{kind}</option>" in panel
    # the base's own distribution is shown open, with its parameters
    lr = _field_html(html, LR_PATH)
    initial = json.loads(re.search(r"data-dist-initial='([^']*)'", lr).group(1))
    assert initial == {"dist": "normal", "mean": 0.18, "sd": 0.025, "min": 0.12, "max": 0.24}
    assert 'class="by-dist"' in lr and 'aria-expanded="true"' in lr
    assert re.search(r'data-p="sd" value="0.025"', lr)
    # a year path shows its points' distributions in its text
    gas = _field_html(html, "energy.gasoline_price_cny_per_l")
    assert "2024: normal(mean=7.8, sd=0.8, min=5.5, max=10.5)" in gas
    assert "2030: normal(mean=7.8, sd=0.78, min=1, max=50)" in gas  # the example fits the field (QA 10)
    # fields that cannot vary per draw have no toggle
    for path in ("policy.dual_credit.enabled", "years.first", "technology.ice_fuel_improvement_pct_per_yr",
                 "policy.dual_credit.extend"):
        assert "± distribution" not in _field_html(html, path), path
    assert "A point may be a distribution" not in _field_html(html, "policy.dual_credit.nev_ratio_pct")
    # coefficients: one field per CSV row with a value, its CSV value as placeholder, its range
    beta = _field_html(html, "coefficients.beta_price")
    assert 'placeholder="-0.2"' in beta and 'max="0.0"' in beta and "± distribution" in beta
    assert 'data-field="coefficients.kappa_familiarity"' not in html  # fitted, not an input
    # correlations: the base's pair as an editable row, parameter names suggested
    assert 'value="energy.gasoline_price_cny_per_l.2024"' in html and 'id="corr-add"' in html
    assert '<option value="coefficients.beta_price">' in html
    # the server's draw limit
    assert "this server allows at most 4 draws per run" in _field_html(html, "uncertainty.draws")


def test_one_draw_server_says_so(client: Any) -> None:
    html = client.get("/editor").text
    assert "this server runs one draw only" in _field_html(html, "uncertainty.draws")


def test_editor_sections_mark_what_can_be_sampled() -> None:
    sections = editor_sections({"technology": {"battery_learning_rate": 0.18}}, ["a"], max_draws=3)
    fields = {f["path"]: f for s in sections for f in s["fields"]}
    assert fields[LR_PATH]["sampled"] and fields["policy.dual_credit.price_cap_cny_per_credit"]["sampled"]
    assert fields["market.ev_exports_million"]["sampled"]  # a path: its points
    for path in ("years.first", "technology.ice_fuel_improvement_pct_per_yr", "policy.dual_credit.nev_ratio_pct",
                 "uncertainty.draws", "policy.dual_credit.enabled"):
        assert not fields[path]["sampled"], path
    assert fields["uncertainty.draws"]["max"] == 3


def test_dist_params_are_those_of_the_loader() -> None:
    models = {"normal": Normal, "lognormal": LogNormal, "triangular": Triangular, "uniform": Uniform,
              "choice": Choice}
    assert set(DIST_PARAMS) == set(models)
    for kind, model in models.items():
        assert {*DIST_PARAMS[kind], "dist"} == set(model.model_fields), kind
        optional = {p for p, info in model.model_fields.items() if not info.is_required() and p != "dist"}
        assert optional == set(DIST_PARAMS[kind]) & set(OPTIONAL_DIST_PARAMS), kind


def test_path_text_writes_point_distributions() -> None:
    text = path_text({"2024": 7.8, "2030": 9.0}, {"2024": {"dist": "normal", "mean": 7.8, "sd": 0.8, "max": 10.5}})
    assert text == "2024: normal(mean=7.8, sd=0.8, max=10.5), 2030: 9"
    assert dist_text({"dist": "choice", "values": [1.0, 2.5], "weights": [0.7, 0.3]}) == \
        "choice(values=[1, 2.5], weights=[0.7, 0.3])"


def test_distribution_from_the_form_runs_and_is_stored(mc: Any) -> None:
    # what the editor sends: changed fields only, with dotted keys
    overrides = {RATIO: TRIANGULAR, "uncertainty.draws": 3, "coefficients.beta_price": -0.25,
                 "coefficients.beta_opex": {"dist": "normal", "mean": -0.2, "sd": 0.04, "max": 0.0},
                 "energy.electricity_price_cny_per_kwh": {"2010": {"dist": "uniform", "low": 0.6, "high": 1.0}},
                 "uncertainty.correlations": [{"names": [RATIO, LR_PATH], "matrix": [[1, 0.5], [0.5, 1]]}]}
    r = mc.post("/api/runs?wait=true", json={"scenario": BASE, "overrides": overrides})
    assert r.status_code == 201, r.text
    run = mc.get(f"/api/runs/{r.json()['run_id']}").json()
    unc = run["scenario_resolved"]["uncertainty"]
    assert unc["distributions"][RATIO] == TRIANGULAR and unc["draws"] == 3
    assert unc["distributions"]["coefficients.beta_opex"]["sd"] == 0.04
    assert unc["distributions"]["energy.electricity_price_cny_per_kwh.2010"]["dist"] == "uniform"
    assert unc["distributions"][LR_PATH]["dist"] == "normal"  # the base's own ones stay
    assert unc["correlations"] == [{"names": [RATIO, LR_PATH], "matrix": [[1.0, 0.5], [0.5, 1.0]]}]
    assert run["scenario_resolved"]["technology"]["china_pack_price_ratio"] == 0.82  # the nominal value (mode)
    assert run["scenario_resolved"]["coefficients"]["beta_price"] == -0.25
    series = mc.get(f"/api/runs/{run['run_id']}/series", params={"variable": "Price|Battery Pack"}).json()["series"]
    assert len({row["draw"] for row in series}) == 3


BAD: list[tuple[str, dict[str, Any], str, str]] = [
    # (case, overrides, field of the error, text in its message or allowed values)
    ("unknown dist", {LR_PATH: {"dist": "gamma", "mean": 0.2}}, f"{LR_PATH}.dist", "triangular"),
    ("sd < 0", {LR_PATH: {"dist": "normal", "mean": 0.18, "sd": -0.01}}, f"{LR_PATH}.sd", "greater than 0"),
    ("min > max", {LR_PATH: {"dist": "normal", "mean": 0.18, "sd": 0.01, "min": 0.3, "max": 0.1}}, LR_PATH,
     "min (0.3) must be below max (0.1)"),
    ("missing sd", {RATIO: {"dist": "normal", "mean": 0.8}}, f"{RATIO}.sd", "needs mean, sd"),
    ("outside the range", {RATIO: {"dist": "normal", "mean": 0.8, "sd": 0.5}}, RATIO, "bound the distribution"),
    ("bool field", {"policy.dual_credit.enabled": {"dist": "normal", "mean": 1, "sd": 0.1}},
     "policy.dual_credit.enabled", "cannot be sampled"),
    ("bool field, nominal not a bool", {"policy.dual_credit.enabled": {"dist": "uniform", "low": 0, "high": 1}},
     "policy.dual_credit.enabled", "cannot be sampled"),
    ("int field", {"years.first": {"dist": "uniform", "low": 2010, "high": 2012}}, "years.first", "cannot be sampled"),
    ("fixed per policy set", {"technology.ice_fuel_improvement_pct_per_yr": {"dist": "uniform", "low": 1, "high": 2}},
     "technology.ice_fuel_improvement_pct_per_yr", "cannot be sampled"),
    ("coefficient outside its range", {"coefficients.beta_price": 0.3}, "coefficients.beta_price", "-inf to 0"),
    ("unknown coefficient", {"coefficients.beta_nope": 1.0}, "coefficients.beta_nope", "beta_price"),
    ("correlation > 1", {"uncertainty.correlations": [{"names": [LR_PATH, RATIO], "matrix": [[1, 1.5], [1.5, 1]]}]},
     "uncertainty.correlations[0]", "[-1, 1]"),
    ("correlation of an unknown name", {"uncertainty.correlations": [
        {"names": [LR_PATH, "years.first"], "matrix": [[1, 0.2], [0.2, 1]]}]}, "uncertainty.correlations[0].names",
     "years.first"),
    ("too many draws", {"uncertainty.draws": 5}, "draws", "1 to 4"),
]


@pytest.mark.parametrize(("case", "overrides", "field", "text"), BAD, ids=[b[0] for b in BAD])
def test_bad_monte_carlo_input_is_named(mc: Any, case: str, overrides: dict[str, Any], field: str, text: str) -> None:
    body = {"scenario": BASE, "overrides": overrides}
    before = mc.get("/api/runs").json()
    for url in ("/api/scenarios/validate", "/api/runs"):
        r = mc.post(url, json=body)
        assert r.status_code == 422, (url, r.text)
        detail = r.json()["detail"][0]
        assert detail["field"].startswith(field), detail
        said = detail["msg"] + " " + " ".join(map(str, detail.get("allowed") or []))
        assert text in said, detail
    saved = mc.post("/api/scenarios", json={**body, "name": "mc-bad"})
    assert saved.status_code == 422
    # nothing stored: no run, no job, no user scenario
    after = mc.get("/api/runs").json()
    assert after["runs"] == before["runs"] and after["jobs"] == before["jobs"]
    assert "mc-bad" not in [s["name"] for s in mc.get("/api/scenarios").json()["scenarios"]]


def test_saved_scenario_keeps_the_distribution(mc: Any) -> None:
    r = mc.post("/api/scenarios", json={"scenario": BASE, "overrides": {RATIO: TRIANGULAR}, "name": "mc-ratio",
                                        "replace": True})
    assert r.status_code == 201, r.text
    html = mc.get("/editor?scenario=mc-ratio").text
    initial = json.loads(re.search(r"data-dist-initial='([^']*)'", _field_html(html, RATIO)).group(1))
    assert initial == TRIANGULAR


def test_a_parameter_in_two_pairs_is_refused_and_nothing_is_stored(mc: Any) -> None:
    """Caught when the scenario is validated (the editor's check), not only when the run starts."""
    pairs = [{"names": [LR_PATH, "technology.cny_per_usd"], "matrix": [[1, 0.3], [0.3, 1]]},
             {"names": [LR_PATH, "policy.dual_credit.pass_through"], "matrix": [[1, 0.3], [0.3, 1]]}]
    before = mc.get("/api/runs").json()["runs"]
    overrides = {"uncertainty.correlations": pairs, "uncertainty.draws": 2}
    for url in ("/api/scenarios/validate", "/api/runs?wait=true"):
        r = mc.post(url, json={"scenario": BASE, "overrides": overrides})
        assert r.status_code == 422, url
        detail = r.json()["detail"][0]
        assert detail["field"] == "uncertainty.correlations[1].names", url
        assert "two correlation groups" in detail["msg"] and "correlations[0]" in detail["msg"]
        assert detail["allowed"] == ["policy.dual_credit.pass_through"]
    assert mc.get("/api/runs").json()["runs"] == before


@pytest.mark.parametrize("saved", [TRIANGULAR, {"dist": "normal", "mean": 0.82, "sd": 0.02, "min": 0.75}],
                         ids=["another kind", "a bound cleared"])
def test_a_distribution_given_again_replaces_a_saved_one_whole(mc: Any, saved: dict) -> None:
    """Merged key by key, another kind would be refused and a min left out would stay."""
    r = mc.post("/api/scenarios", json={"scenario": BASE, "overrides": {RATIO: saved}, "name": "mc-dist", "replace": True})
    assert r.status_code == 201, r.text
    new = {"dist": "normal", "mean": 0.82, "sd": 0.02}
    r = mc.post("/api/scenarios/validate", json={"scenario": "mc-dist", "overrides": {RATIO: new}})
    assert r.status_code == 200, r.text
    assert r.json()["resolved"]["uncertainty"]["distributions"][RATIO] == new


def test_saved_year_point_distribution_reads_back(mc: Any) -> None:
    path = {"2010": {"dist": "uniform", "low": 0.6, "high": 1.0}, "2030": 0.7}
    saved = mc.post("/api/scenarios", json={"scenario": BASE, "name": "mc-point", "replace": True,
                                            "overrides": {"energy.electricity_price_cny_per_kwh": path}})
    assert saved.status_code == 201, saved.text
    r = mc.get("/api/scenarios/mc-point")
    assert r.status_code == 200, r.text
    assert r.json()["resolved"]["uncertainty"]["distributions"]["energy.electricity_price_cny_per_kwh.2010"] == \
        path["2010"]


def test_saved_scenario_file_keeps_odd_text_and_writes_year_points_in_order(mc: Any) -> None:
    """A description that looks like the writer's marker stays text; a year path with a distribution
    point is written inline with its years ascending."""
    import tomllib

    path = {"2010": {"dist": "uniform", "low": 0.6, "high": 1.0}, "2020": 0.8, "2030": 0.7}
    text = "@nevsim-inline-0@"  # exactly the marker an earlier writer used
    saved = mc.post("/api/scenarios", json={"scenario": BASE, "name": "mc-odd", "replace": True, "description": text,
                                            "overrides": {"energy.electricity_price_cny_per_kwh": path}})
    assert saved.status_code == 201, saved.text
    r = mc.get("/api/scenarios/mc-odd")
    assert r.status_code == 200, r.text
    assert r.json()["resolved"]["description"] == text
    assert r.json()["resolved"]["uncertainty"]["distributions"]["energy.electricity_price_cny_per_kwh.2010"] == \
        path["2010"]
    written = tomllib.loads(mc.get(saved.json()["toml"]).text)
    assert written["description"] == text
    assert list(written["energy"]["electricity_price_cny_per_kwh"]) == ["2010", "2020", "2030"]


def test_a_cleared_coefficient_of_a_saved_scenario_goes_back_to_the_base_value(mc: Any) -> None:
    """The editor sends null for a field the user cleared: a saved scenario's own change is dropped."""
    saved = mc.post("/api/scenarios", json={"scenario": BASE, "overrides": {"coefficients.beta_price": -0.25,
                                                                            RATIO: TRIANGULAR},
                                            "name": "mc-coef", "replace": True})
    assert saved.status_code == 201, saved.text
    base = mc.post("/api/scenarios/validate", json={"scenario": BASE, "overrides": {}}).json()["resolved"]
    kept = mc.post("/api/scenarios/validate", json={"scenario": "mc-coef", "overrides": {}}).json()["resolved"]
    assert kept["coefficients"]["beta_price"] == -0.25
    r = mc.post("/api/scenarios/validate", json={"scenario": "mc-coef", "overrides": {"coefficients.beta_price": None}})
    assert r.status_code == 200, r.text
    resolved = r.json()["resolved"]
    assert resolved["coefficients"].get("beta_price") == base["coefficients"].get("beta_price")
    assert RATIO in resolved["uncertainty"]["distributions"]  # the scenario's other changes stay


def test_editor_offers_the_residual_walk_and_says_what_samples_its_coefficients() -> None:
    from nevsim.scenario import load_scenario
    from nevsim.web.pages import coefficient_fields

    resolved = load_scenario(BASE).resolved()
    paths = {f["path"] for s in editor_sections(resolved, [BASE], 4) for f in s["fields"]}
    assert {"uncertainty.residual_walk", "uncertainty.coefficients"} <= paths
    helps = {f["path"]: f["help"] for f in coefficient_fields(resolved)}
    assert "with uncertainty.residual_walk: normal" in helps["coefficients.residual_walk_z"]
    assert "with uncertainty.coefficients: normal" in helps["coefficients.beta_price"]


# ---------------------------------------------------------------------------- help texts (QA 10, item 11)


@pytest.mark.parametrize("scenario", ["china-current-policies", "us-current-policies"])
def test_every_year_path_example_fits_its_field(client: Any, scenario: str) -> None:
    """The distribution example under each year-path field is one the loader takes for that field (it
    was `2030: normal(mean=40, sd=5)` everywhere, also where the range is 0.05–10)."""
    import html as html_lib

    page = client.get("/editor", params={"scenario": scenario}).text
    examples = [(chunk.split('"', 1)[0], m.group(1)) for chunk in page.split('<div class="field" data-field="')[1:]
                if (m := re.search(r'<code class="path-example">(.*?)</code>', chunk))]
    assert len(examples) >= 3
    for path, example in examples:
        example = html_lib.unescape(example)
        year, text = example.split(": ", 1)
        table = dict(kv.split("=") for kv in text[len("normal("):-1].split(", "))
        point = {"dist": "normal", **{k: float(v) for k, v in table.items()}}
        r = client.post("/api/scenarios/validate", json={"scenario": scenario, "overrides": {path: {year: point}}})
        assert r.status_code == 200, (path, example, r.text[:300])
    assert "normal(mean=40, sd=5)" not in page


def test_help_texts_end_their_sentence_and_labels_carry_units(client: Any) -> None:
    page = client.get("/editor").text
    assert "increasing order A point" not in page and "increasing order. A point may be" in page
    for label in ("CNY per USD", "gasoline price (CNY/L)", "electricity price (CNY/kWh)", "NEV ratio (%)",
                  "EV exports (million)", "price cap (CNY/credit)"):
        assert f'<span class="lbl">{label}</span>' in page, label
    assert "cny per usd" not in page and "gasoline price cny per l" not in page


def test_an_unreadable_year_path_says_how_to_write_one(client: Any) -> None:
    r = client.post("/api/scenarios/validate", json={"overrides": {"policy.dual_credit.nev_ratio_pct": "2026 48 2030"}})
    assert r.status_code == 422
    detail = r.json()["detail"][0]
    assert detail["field"] == "policy.dual_credit.nev_ratio_pct"
    assert "2026: 48, 2030: 60" in detail["msg"] and "valid dictionary" not in detail["msg"]
    assert "2026: 48, 2030: 60" in detail["allowed"]
