"""The memo key of the policy standards leaves out the policy fields they never read."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from nevsim import simulate
from nevsim.scenario import load_scenario

NOT_READ = {"policy.dual_credit.pass_through": 0.3, "policy.dual_credit.price_cap_cny_per_credit": 1500.0,
            "policy.dual_credit.observed_prices_in_history": False, "policy.phev_plate_from_year": 2030,
            "policy.phev_plate_announced_year": 2020,
            "policy.plate_restricted_sales_share_pct": {"2010": 1.0, "2025": 20.0}}
READ = {"policy.dual_credit.nev_ratio_pct": {"2030": 60.0}, "policy.dual_credit.extend": "zero",
        "policy.dual_credit.cafc_offset": False, "policy.dual_credit.enabled": False,
        "policy.subsidies.purchase_subsidy": False, "policy.subsidies.local_top_up": False,
        "policy.subsidies.subsidy_extend_to_year": 2024, "policy.subsidies.purchase_tax_exemption": False,
        "policy.subsidies.tax_exemption_extend_to_year": 2030, "policy.known_at": 2018}


def _same(a: object, b: object) -> bool:
    if dataclasses.is_dataclass(a) and dataclasses.is_dataclass(b):
        return all(_same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=np.asarray(a).dtype.kind == "f")
    return a == b or (isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b))


def test_fields_the_standards_do_not_read_leave_the_key_unchanged_and_the_rest_change_it() -> None:
    base = simulate._standards_policy_json(load_scenario("china-current-policies").policy)
    for path, value in NOT_READ.items():
        assert simulate._standards_policy_json(load_scenario("china-current-policies", {path: value}).policy) == base
    for path, value in READ.items():
        assert simulate._standards_policy_json(load_scenario("china-current-policies", {path: value}).policy) != base, path


@pytest.mark.parametrize("path", sorted(NOT_READ))
def test_the_left_out_fields_really_do_not_change_the_standards(path: str) -> None:
    """Built from the whole policy section (the excluded field included), the standards are the same
    for both values: so leaving the field out of the key cannot hand a run the wrong standards."""
    years = (2010, 2040)
    a = load_scenario("china-current-policies").policy.model_dump_json()
    b = load_scenario("china-current-policies", {path: NOT_READ[path]}).policy.model_dump_json()
    assert a != b
    assert _same(simulate._standards.__wrapped__(a, 1.5, *years), simulate._standards.__wrapped__(b, 1.5, *years))


def test_points_of_a_pass_through_sweep_share_the_standards_and_get_the_same_results() -> None:
    """A run on caches that another pass-through value filled equals the same run on empty caches."""
    point = load_scenario("china-current-policies", {"policy.dual_credit.pass_through": 0.3, "years.last": 2035})
    other = load_scenario("china-current-policies", {"policy.dual_credit.pass_through": 0.9, "years.last": 2035})
    simulate._standards.cache_clear()
    simulate._prepared_standards.cache_clear()
    cold = simulate.run(point).series
    simulate._standards.cache_clear()
    simulate._prepared_standards.cache_clear()
    simulate.run(other)
    misses = simulate._prepared_standards.cache_info().misses
    warm = simulate.run(point).series
    assert simulate._prepared_standards.cache_info().misses == misses  # (no new standards built)
    pd.testing.assert_frame_equal(cold, warm)
