"""The vectorised draw axis: ``run_values`` equals deterministic runs, draw by draw."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nevsim.errors import InputError
from nevsim.scenario import load_scenario
from nevsim.simulate import run_frames, run_values, value_keys

VALUES = {
    "technology.battery_learning_rate": np.array([0.14, 0.18, 0.23]),
    "policy.dual_credit.pass_through": np.array([0.45, 0.7, 0.95]),
    "energy.gasoline_price_cny_per_l.2024": np.array([6.5, 7.8, 9.5]),
    "fleet.vkt_km_per_year": np.array([10500.0, 12000.0, 15000.0]),
    "coefficients.beta_price": np.array([-0.27, -0.2, -0.13]),
    "coefficients.nest_lambda_plugin": np.array([0.45, 0.6, 0.75]),
}


def _toml_value(v: object) -> str:
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    return repr(float(v))  # type: ignore[arg-type]


def deterministic_file(tmp_path: Path, scenario: str, values: dict[str, float], name: str = "draw") -> Path:
    """A scenario file applying ``values`` as overrides and naming itself as calibration reference.

    That is the deterministic equivalent of one draw of :func:`run_values` on a scenario
    that is its own reference (the values describe the world; the history is re-fitted).
    """
    resolved = load_scenario(scenario).resolved()
    sections: dict[str, dict[str, object]] = {}
    for key, v in values.items():
        parts = key.split(".")
        if parts[0] == "coefficients":
            sections.setdefault("coefficients", {})[parts[1]] = v
            continue
        node = resolved
        for p in parts[:-1]:
            node = node[p]
        if isinstance(node, dict) and parts[-1].isdigit():  # a year-path point
            path = dict(node)
            path[parts[-1]] = v
            sections.setdefault(".".join(parts[:-2]), {})[parts[-2]] = path
        else:
            sections.setdefault(".".join(parts[:-1]), {})[parts[-1]] = v
    file = tmp_path / f"{name}.toml"
    lines = [f'base = "{scenario}"']
    for section, items in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in items.items()]
    lines += ["[calibration]", f'against = "{file}"']
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return file


@pytest.fixture(scope="module")
def vectorised():
    return run_values("china-current-policies", VALUES, draw_offset=7)


@pytest.mark.parametrize("i", [0, 1, 2])
def test_draw_equals_deterministic_run(vectorised, tmp_path, i: int) -> None:
    series, makers, meta = vectorised
    det_s, det_m, _ = run_frames(str(deterministic_file(tmp_path, "china-current-policies",
                                                        {k: float(v[i]) for k, v in VALUES.items()})))
    mine = series[series["draw"] == 7 + i].drop(columns="draw").reset_index(drop=True)
    assert mine[["variable", "year"]].equals(det_s[["variable", "year"]])
    np.testing.assert_allclose(mine["value"], det_s["value"], rtol=1e-9, atol=1e-6)
    mine_m = makers[makers["draw"] == 7 + i].drop(columns="draw").reset_index(drop=True)
    np.testing.assert_allclose(mine_m["value"], det_m["value"], rtol=1e-9, atol=1e-6)
    assert meta["draws"] == 3 and sorted(series["draw"].unique()) == [7, 8, 9]


def test_history_refit_in_every_draw(vectorised) -> None:
    """Every draw reproduces the observed EV share in the history years (re-fitted per draw)."""
    series = vectorised[0]
    ev = series[(series["variable"] == "Sales Share|Cars|EV") & series["year"].between(2015, 2024)]
    spread = ev.groupby("year")["value"].agg(lambda v: v.max() - v.min())
    assert (spread < 1e-6).all()
    later = series[(series["variable"] == "Sales Share|Cars|EV") & (series["year"] == 2035)]["value"]
    assert later.max() - later.min() > 0.1  # the draws differ in the projection


def test_counterfactual_draw_calibrates_on_reference_with_same_values(tmp_path) -> None:
    vals = {"coefficients.beta_price": np.array([-0.25]), "technology.cny_per_usd": np.array([6.6])}
    series, _, _ = run_values("china-no-dual-credit", vals)
    point = {k: float(v[0]) for k, v in vals.items()}
    ref = deterministic_file(tmp_path, "china-current-policies", point, name="ref")
    cf = deterministic_file(tmp_path, "china-no-dual-credit", point, name="cf")
    text = cf.read_text().replace(f'against = "{cf}"', f'against = "{ref}"')
    cf.write_text(text)
    det, _, _ = run_frames(str(cf))
    np.testing.assert_allclose(series["value"], det["value"], rtol=1e-9, atol=1e-6)


def test_single_draw_without_values_equals_default_run() -> None:
    series, _, meta = run_values("china-current-policies", {})
    default, _, _ = run_frames("china-current-policies")
    assert meta["draws"] == 1 and (series["draw"] == 0).all()
    np.testing.assert_allclose(series["value"], default["value"], rtol=1e-12)


@pytest.mark.parametrize(("values", "field"), [
    ({"technology.nope": [0.1]}, "technology.nope"),
    ({"policy.dual_credit.enabled": [1.0]}, "policy.dual_credit.enabled"),
    ({"years.last": [2050.0]}, "years.last"),
    ({"coefficients.kappa_familiarity": [0.5]}, "coefficients.kappa_familiarity"),
    ({"coefficients.nope": [0.5]}, "coefficients.nope"),
    ({"energy.gasoline_price_cny_per_l.2031": [8.0]}, "energy.gasoline_price_cny_per_l.2031"),
    ({"technology.ice_fuel_improvement_pct_per_yr": [2.0]}, "technology.ice_fuel_improvement_pct_per_yr"),
    ({"policy.dual_credit.nev_ratio_pct.2030": [40.0]}, "policy.dual_credit.nev_ratio_pct.2030"),
    ({"technology.battery_learning_rate": ["x"]}, "technology.battery_learning_rate"),
    ({"technology.battery_learning_rate": [np.nan]}, "technology.battery_learning_rate"),
    ({"technology.battery_learning_rate": [0.1, 0.2], "fleet.vkt_km_per_year": [1e4]}, "values"),
])
def test_bad_values_name_the_key(values: dict, field: str) -> None:
    with pytest.raises(InputError) as err:
        run_values("china-current-policies", values)
    assert err.value.field == field


def test_value_keys_lists_patterns() -> None:
    keys = value_keys()
    assert "technology.battery_learning_rate" in keys and "coefficients.beta_price" in keys
    assert "energy.gasoline_price_cny_per_l.<year>" in keys
    assert "technology.ice_fuel_improvement_pct_per_yr" not in keys
