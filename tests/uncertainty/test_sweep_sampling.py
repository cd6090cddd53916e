"""A sweep point's draws sample the scenario's own [uncertainty], as `nevsim outlook --draws` does;
the sweep's [distributions] replace a distribution of the same path and [grid] values fix a path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nevsim.errors import InputError
from nevsim.scenario import load_scenario
from nevsim.simulate import run_frames
from nevsim.sweep import SweepSpec, _chunk_point, load_sweep, run_sweep, validate_sweep

BASE = "china-current-policies"
LR, FX, VKT = "technology.battery_learning_rate", "technology.cny_per_usd", "fleet.vkt_km_per_year"
GAS = "energy.gasoline_price_cny_per_l.2024"
SHORT = {"years.last": 2030}

SMALL = {  # (the SMALL sweep of test_sweep.py)
    "name": "small", "scenarios": [BASE], "overrides": {"years.last": 2032},
    "grid": {LR: [0.14, 0.22]},
    "distributions": {"policy.dual_credit.pass_through": {"dist": "uniform", "low": 0.4, "high": 1.0}},
    "draws": 2, "chunk_draws": 1, "seed": 3,
}


@pytest.mark.parametrize("precision", ["double", "single"])
def test_a_sweep_point_is_the_outlook_monte_carlo_of_its_scenario(tmp_path: Path, precision: str) -> None:
    spec = validate_sweep({"name": "mc", "scenarios": [BASE], "overrides": SHORT, "draws": 3, "seed": 1,
                           "chunk_draws": 2, "precision": precision})
    summary = run_sweep(spec, tmp_path / "s.duckdb", workers=0)
    swept = load_sweep(tmp_path / "s.duckdb", summary.sweep_id)
    series, _, meta = run_frames(load_scenario(BASE, SHORT), draws=3, seed=1, makers=False)
    keys = ["variable", "year", "draw"]
    mine = swept[[*keys, "value"]].astype({"variable": str}).sort_values(keys, kind="stable").reset_index(drop=True)
    theirs = series[[*keys, "value"]].astype({"variable": str}).sort_values(keys, kind="stable").reset_index(drop=True)
    if precision == "single":  # the outlook's values rounded to single precision, to nearest
        theirs["value"] = theirs["value"].to_numpy().astype(np.float32).astype(np.float64)
    pd.testing.assert_frame_equal(mine, theirs, check_dtype=False, rtol=1e-12, atol=1e-9)
    ev = swept[(swept["variable"] == "Sales Share|Cars|EV") & (swept["year"] == 2030)]["value"]
    assert ev.nunique() == 3  # (the draws differ: before, every draw of this sweep was the same run)
    stored = __import__("nevsim.store", fromlist=["Store"]).Store(tmp_path / "s.duckdb").load(summary.run_ids[0])
    assert stored.meta["sampled"] == meta["sampled"] and "coefficients.beta_price" in stored.meta["sampled"]
    assert stored.meta["sweep"]["scenario_uncertainty"] is True
    assert stored.meta["sweep"]["precision"] == precision


def test_sweep_distributions_replace_the_scenarios_and_grid_values_fix_a_path() -> None:
    sweep_fx = {"dist": "uniform", "low": 7.0, "high": 7.2}
    point, values = _chunk_point(BASE, {**SHORT, LR: 0.14}, range(5, 9), 7, {FX: sweep_fx}, (),
                                 scenario_uncertainty=True)
    assert LR not in values and point.technology.battery_learning_rate == 0.14  # fixed by the grid
    assert ((values[FX] >= 7.0) & (values[FX] <= 7.2)).all()  # the sweep's distribution, not the scenario's
    assert VKT in values and GAS in values and "coefficients.beta_price" in values  # the scenario's own
    _, alone = _chunk_point(BASE, {**SHORT, LR: 0.14}, range(5, 9), 7, {FX: sweep_fx}, ())
    assert sorted(alone) == [FX]  # (scenario_uncertainty off: the sweep's [distributions] only)
    np.testing.assert_array_equal(alone[FX], values[FX])  # a draw's value does not depend on what else is sampled


def test_sweep_ids_change_only_where_the_meaning_did() -> None:
    # ids of SMALL before scenario_uncertainty existed (computed with the previous nevsim.sweep)
    # (and before precision: every sweep stored its draws in double)
    old_two_draws, old_one_draw = "abc55e8b3a88ab56", "388078b7fce66a47"
    double = {**SMALL, "precision": "double"}
    assert validate_sweep({**double, "scenario_uncertainty": False}).sweep_id == old_two_draws
    assert validate_sweep({**SMALL, "draws": 1}).sweep_id == old_one_draw  # one draw: nominal scenario, as before
    assert validate_sweep({**SMALL, "draws": 1}).stored_precision == "double"  # (one draw: kept in double)
    new = validate_sweep(double)
    assert new.scenario_uncertainty and new.sweep_id != old_two_draws
    # a spec stored before the options existed reads back with its meaning and its id
    old = validate_sweep({**double, "scenario_uncertainty": False})
    stored_before = json.loads(old.canonical())
    assert "precision" not in stored_before
    again = SweepSpec.from_stored(json.dumps(stored_before))
    assert again.scenario_uncertainty is False and again.precision == "double" and again.sweep_id == old_two_draws
    assert SweepSpec.from_stored(new.canonical()) == new
    single = validate_sweep(SMALL)  # the default since precision: a new id, so it never resumes a double sweep
    assert single.precision == "single" and single.sweep_id not in (new.sweep_id, old_two_draws)
    assert SweepSpec.from_stored(single.canonical()) == single


def test_sweep_correlations_may_name_what_the_scenario_samples_but_not_join_its_groups() -> None:
    pt = "policy.dual_credit.pass_through"
    ok = validate_sweep({**SMALL, "correlations": [{"names": [pt, VKT], "matrix": [[1, 0.3], [0.3, 1]]}]})
    _, values = _chunk_point(BASE, {"years.last": 2032, LR: 0.14}, range(2000), 3, ok.distributions,
                                 ok.correlations, scenario_uncertainty=True)
    assert np.corrcoef(values[pt], values[VKT])[0, 1] > 0.2
    with pytest.raises(InputError) as err:
        validate_sweep({**SMALL, "correlations": [{"names": [pt, GAS], "matrix": [[1, 0.3], [0.3, 1]]}]})
    assert err.value.field == "correlations[0].names" and "uncertainty.correlations[0]" in err.value.message
    with pytest.raises(InputError) as err:  # (without the scenario's sampling it has no distribution)
        validate_sweep({**SMALL, "scenario_uncertainty": False,
                        "correlations": [{"names": [pt, VKT], "matrix": [[1, 0.3], [0.3, 1]]}]})
    assert err.value.field == "correlations[0].names" and "no distribution" in err.value.message


def test_a_correlation_naming_a_grid_path_is_refused_when_the_sweep_is_read() -> None:
    """A [grid] path is fixed at every point, so a sweep correlation naming it is refused by the
    validation (review finding: it passed, and every chunk then failed)."""
    spec = {"name": "x", "scenarios": [BASE], "draws": 3, "overrides": {"years.last": 2032},
            "grid": {LR: [0.14, 0.22]},
            "correlations": [{"names": [LR, VKT], "matrix": [[1, 0.3], [0.3, 1]]}]}
    with pytest.raises(InputError) as err:
        validate_sweep(spec)
    assert err.value.field == "correlations[0].names" and "no distribution" in err.value.message
    assert LR not in err.value.allowed and VKT in err.value.allowed


def test_draws_of_a_scenario_that_samples_nothing_need_sweep_distributions() -> None:
    fixed = {"uncertainty.coefficients": False, LR: 0.18, "policy.dual_credit.pass_through": 0.7, FX: 7.1,
             VKT: 12000.0, "energy.gasoline_price_cny_per_l": {"2010": 7.0, "2024": 7.8},
             "energy.electricity_price_cny_per_kwh": {"2010": 0.8}}
    with pytest.raises(InputError) as err:
        validate_sweep({"name": "x", "scenarios": [BASE], "overrides": fixed, "draws": 3})
    assert err.value.field == "draws" and "samples nothing" in err.value.message


@pytest.mark.parametrize("section", ["grid", "distributions"])
def test_a_china_only_path_is_refused_for_a_region_scenario_when_the_sweep_is_read(section: str) -> None:
    """A path a region's run does not use is refused before any work (QA: as a distribution it failed
    in the workers and broke the pool; on the grid it silently made identical points)."""
    spec = {"name": "x", "scenarios": [BASE, "us-current-policies"], "draws": 3}
    if section == "grid":
        spec |= {"grid": {"policy.dual_credit.pass_through": [0.5, 0.9]}}
    else:
        spec |= {"distributions": {FX: {"dist": "uniform", "low": 6.5, "high": 7.5}}}
    with pytest.raises(InputError) as err:
        validate_sweep(spec)
    assert err.value.field.startswith(f"{section}.") and "not used in a US run" in err.value.message


def test_a_sweep_flag_takes_only_true_or_false() -> None:
    with pytest.raises(InputError) as err:
        validate_sweep({**SMALL, "scenario_uncertainty": "yes"})
    assert err.value.field == "scenario_uncertainty" and err.value.allowed == ["true", "false"]


def test_a_china_subsidy_on_the_grid_of_a_region_scenario_is_refused() -> None:
    """policy.subsidies.* are China's only: a grid over one made identical US points."""
    spec = {"name": "x", "scenarios": [BASE, "us-current-policies"],
            "grid": {"policy.subsidies.subsidy_extend_to_year": [2026, 2030]}}
    with pytest.raises(InputError) as err:
        validate_sweep(spec)
    assert err.value.field == "grid.policy.subsidies.subsidy_extend_to_year" and "US run" in err.value.message


def test_a_seed_that_changes_nothing_does_not_change_the_sweep_id(tmp_path: Path) -> None:
    """One draw and no [distributions]: each point is its deterministic run, so the seed changes no
    value; before, it changed the id, and the same sweep with another seed ran and stored again."""
    base = {"name": "det", "scenarios": [BASE], "overrides": {"years.last": 2026}, "draws": 1}
    ids = {validate_sweep({**base, "seed": s}).sweep_id for s in (0, 7, 123)}
    assert len(ids) == 1
    assert validate_sweep(base).sweep_id in ids  # (the default seed 0 keeps the id it always had)
    store = tmp_path / "s.duckdb"
    first = run_sweep(validate_sweep({**base, "seed": 7}), store, workers=0)
    again = run_sweep(validate_sweep({**base, "seed": 8}), store, workers=0)
    assert again.sweep_id == first.sweep_id and again.ran == [] and again.skipped == first.ran  # resumed
    # where the seed does reach the values (one sampled draw), it still makes a new sweep
    one = {**base, "distributions": {LR: {"dist": "uniform", "low": 0.1, "high": 0.3}}}
    assert validate_sweep({**one, "seed": 1}).sweep_id != validate_sweep({**one, "seed": 2}).sweep_id
