"""policy.known_at: the scenario field, and the simulator's memo caches keyed on it."""

from __future__ import annotations

import numpy as np
import pytest

from nevsim.errors import InputError
from nevsim.scenario import load_scenario
from nevsim.simulate import run


def ev_share(scenario, until: int) -> np.ndarray:
    s = run(scenario, until=until).series
    return s[s["variable"] == "Sales Share|Cars|EV"].groupby("year")["value"].median().to_numpy()


def test_known_at_unset_leaves_the_resolved_scenario_and_its_hash() -> None:
    s = load_scenario("china-current-policies")
    assert s.policy.known_at is None
    assert "known_at" not in s.resolved()["policy"]
    k = load_scenario("china-current-policies", {"policy.known_at": 2018})
    assert k.policy.known_at == 2018 and k.resolved()["policy"]["known_at"] == 2018
    assert k.hash != s.hash


@pytest.mark.parametrize("bad", [2014, 2025, 2060])
def test_known_at_outside_the_vintage_table(bad: int) -> None:
    with pytest.raises(InputError) as err:
        load_scenario("china-current-policies", {"policy.known_at": bad})
    assert err.value.field == "policy.known_at"
    assert err.value.allowed == ["2015–2024", "unset / None (the rules as enacted)"]


def test_known_at_not_a_year() -> None:
    with pytest.raises(InputError) as err:
        load_scenario("china-current-policies", {"policy.known_at": "soon"})
    assert err.value.field == "policy.known_at"


@pytest.mark.parametrize("scenario", ["us-current-policies", "eu-current-policies"])
def test_known_at_is_china_only(scenario: str) -> None:
    with pytest.raises(InputError, match="China") as err:
        load_scenario(scenario, {"policy.known_at": 2018})
    assert err.value.field == "policy.known_at"
    assert err.value.allowed == ["unset (the rules as enacted)"]


def test_caches_are_keyed_on_known_at() -> None:
    """enacted, then as known at 2018, then enacted again in one process: the second run differs
    (the 2019–20 subsidy, local top-ups and the 2021 cliff), the third equals the first bit for bit."""
    s = load_scenario("china-current-policies")
    k = load_scenario("china-current-policies", {"policy.known_at": 2018})
    first = ev_share(s, 2018)
    as_known = ev_share(k, 2018)
    again = ev_share(s, 2018)
    np.testing.assert_array_equal(first, again)
    years = np.arange(s.years.first, s.years.last + 1)
    after = years > 2018
    assert np.abs(as_known[after] - first[after]).max() > 1.0
    np.testing.assert_array_equal(as_known[~after], first[~after])  # the history is the same


def test_reference_of_a_known_at_scenario() -> None:
    """With the history ending by known_at the scenario fits and projects itself (its fitted years
    see the enacted rules); with a longer history it is a counterfactual calibrated on the enacted
    reference (the rules after known_at never fit the factual later years)."""
    from nevsim.simulate import _reference

    s = load_scenario("china-current-policies")
    k = load_scenario("china-current-policies", {"policy.known_at": 2018})
    assert _reference(k, 2018) is k and _reference(k, 2016) is k
    assert _reference(k, 2021).policy.known_at is None and _reference(k, None).policy.known_at is None
    assert _reference(s, 2018) is s
