"""What may be sampled: coefficient distributions within the coefficient's known sign, per-draw
values of run_values within the ranges a run would accept, correlations over sampled parameters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nevsim.errors import InputError
from nevsim.scenario import check_draw_values, load_scenario

BASE = "china-current-policies"
LR = "technology.battery_learning_rate"
RATIO = "technology.china_pack_price_ratio"


def test_a_coefficient_distribution_past_its_sign_bound_is_refused_like_a_fixed_value() -> None:
    with pytest.raises(InputError) as fixed:
        load_scenario(BASE, {"coefficients.beta_price": 0.5})
    with pytest.raises(InputError) as err:
        load_scenario(BASE, {"coefficients.beta_price": {"dist": "normal", "mean": -0.05, "sd": 0.1}})
    assert err.value.field == fixed.value.field == "coefficients.beta_price"
    assert "sign known" in err.value.message and "min/max" in err.value.message
    assert err.value.allowed == fixed.value.allowed == ["-inf to 0"]
    # bounded at the sign, the same distribution is accepted and every draw keeps the sign
    ok = load_scenario(BASE, {"coefficients.beta_price": {"dist": "normal", "mean": -0.05, "sd": 0.1, "max": 0.0}})
    assert ok.distributions()["coefficients.beta_price"].percentile(1 - 1e-9) <= 0.0


def test_a_coefficient_distribution_in_a_scenario_file_is_checked(tmp_path: Path) -> None:
    file = tmp_path / "bp.toml"
    file.write_text(f'base = "{BASE}"\n[coefficients]\nbeta_price = {{dist = "normal", mean = -0.05, sd = 0.1}}\n')
    with pytest.raises(InputError) as err:
        load_scenario(str(file))
    assert err.value.field == "coefficients.beta_price"


@pytest.mark.parametrize(("values", "field", "override"), [
    ({LR: [0.9]}, LR, {LR: 0.9}),
    ({"coefficients.beta_price": [-0.1, 0.5]}, "coefficients.beta_price", {"coefficients.beta_price": 0.5}),
    ({"energy.gasoline_price_cny_per_l.2024": [7.0, -3.0]}, "energy.gasoline_price_cny_per_l.2024",
     {"energy.gasoline_price_cny_per_l": {"2010": 7.0, "2024": -3.0}}),
])
@pytest.mark.parametrize("entry", ["run_values", "run_cells"])  # (both check, in their shared pass)
def test_run_values_refuses_a_value_the_same_run_with_overrides_would(values: dict, field: str,
                                                                      override: dict, entry: str) -> None:
    import nevsim.simulate

    with pytest.raises(InputError) as err:
        getattr(nevsim.simulate, entry)(BASE, values)
    assert err.value.field == field and "a draw's value" in err.value.message and err.value.allowed
    with pytest.raises(InputError) as same:  # (the run it stands for refuses it as well)
        load_scenario(BASE, override)
    assert same.value.field == field


def test_check_draw_values_accepts_values_in_range_and_leaves_unknown_keys_to_the_run() -> None:
    scenario = load_scenario(BASE)
    check_draw_values(scenario, {LR: np.array([0.1, 0.3]), "coefficients.beta_price": [-0.3, -0.01]})
    check_draw_values(scenario, {"technology.nope": [1.0]})  # (run_values names it: not a value key)
    from nevsim.simulate import run_values

    with pytest.raises(InputError) as err:
        run_values(BASE, {"technology.nope": [1.0]})
    assert err.value.field == "technology.nope"


def test_a_sweep_chunk_checks_its_values_too() -> None:
    from nevsim.sweep import _work

    task = {"chunk_id": 0, "scenario": BASE, "overrides": {"years.last": 2030}, "draw_start": 0, "draw_stop": 2,
            "seed": 0, "distributions": {LR: {"dist": "uniform", "low": 0.3, "high": 0.9}}, "correlations": [],
            "until": None, "makers": False, "spool": None}
    with pytest.raises(InputError) as err:  # (a chunk run outside a validated sweep)
        _work(task)
    assert err.value.field == LR


def test_a_correlation_naming_a_fixed_parameter_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text(f'base = "{BASE}"\n[[uncertainty.correlations]]\nnames = ["{LR}", "{RATIO}"]\n'
                    "matrix = [[1.0, 0.4], [0.4, 1.0]]\n")
    with pytest.raises(InputError) as err:
        load_scenario(str(file))
    assert err.value.field == "uncertainty.correlations[0].names"  # (the file's groups replace the base's)
    assert RATIO in err.value.message and "not sampled" in err.value.message
    assert LR in err.value.allowed and RATIO not in err.value.allowed
    with pytest.raises(InputError) as err:  # the same through overrides that set the groups
        load_scenario(BASE, {"uncertainty.correlations": [{"names": [LR, RATIO], "matrix": [[1, 0.4], [0.4, 1]]}]})
    assert err.value.field == "uncertainty.correlations[0].names"


def test_an_override_that_fixes_a_correlated_parameter_takes_it_out_of_its_group_visibly() -> None:
    base = load_scenario(BASE)
    (group,) = base.uncertainty.correlations
    first = group["names"][0]  # the shipped pair: gasoline 2024 with electricity 2010
    fixed = load_scenario(BASE, {"energy.gasoline_price_cny_per_l": {"2010": 7.0, "2024": 7.8}})
    assert first not in fixed.distributions()
    assert fixed.uncertainty.correlations == [] and fixed.correlations() == []  # recorded in the scenario
    assert fixed.resolved()["uncertainty"]["correlations"] == []


def test_a_file_on_a_base_that_fixes_a_correlated_parameter_takes_it_out_too(tmp_path: Path) -> None:
    file = tmp_path / "fixed.toml"
    file.write_text(f'base = "{BASE}"\n[energy]\ngasoline_price_cny_per_l = {{2010 = 7.0, 2024 = 7.8}}\n')
    scenario = load_scenario(str(file))
    assert scenario.uncertainty.correlations == [] and "energy.gasoline_price_cny_per_l.2024" not in \
        scenario.distributions()


def test_a_lognormal_with_no_probability_between_its_bounds_says_what_is_needed() -> None:
    """QA: a lognormal whose min/max keep no probability ended with "Allowed: min ≤ mean ≤ max", which
    it met; the allowed text now asks for bounds that keep some probability, and says where it lies."""
    table = {"dist": "lognormal", "mean": 7.1, "sd": 0.2, "min": 7.1, "max": 7.1 + 1e-13}
    with pytest.raises(InputError) as err:
        load_scenario(BASE, {"technology.cny_per_usd": table})
    assert err.value.field.endswith("technology.cny_per_usd")
    assert "too little to draw from" in err.value.message
    assert err.value.allowed is not None and len(err.value.allowed) == 1
    assert err.value.allowed[0].startswith("min < max keeping a probability > 1e-12 between them")
    assert "min ≤ mean ≤ max" not in str(err.value)
