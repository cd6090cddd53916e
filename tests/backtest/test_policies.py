"""backtest(policies=...): the rules as enacted or as known at each cutoff (China)."""

from __future__ import annotations

import pytest

from nevsim.backtest import POLICY_VIEWS, backtest
from nevsim.errors import InputError


def model_rows(bt) -> dict[int, list[float]]:
    f = bt.forecasts[bt.forecasts["method"] == "model"]
    return {int(c): g.sort_values("year")["forecast"].tolist() for c, g in f.groupby("cutoff")}


def test_as_known_runs_each_cutoff_with_its_own_vintage() -> None:
    enacted = backtest(cutoffs=[2018, 2021], methods=["model", "persistence"])
    known = backtest(cutoffs=[2018, 2021], methods=["model", "persistence"], policies="as-known")
    again = backtest(cutoffs=[2018, 2021], methods=["model", "persistence"])
    assert known.meta["policies"] == "as-known" and known.meta["known_at"] == {2018: 2018, 2021: 2021}
    assert enacted.meta["policies"] == "enacted" and enacted.meta["known_at"] == {2018: None, 2021: None}
    assert model_rows(enacted) == model_rows(again)
    a, k = model_rows(enacted), model_rows(known)
    assert k[2018] != a[2018]  # 2018 knew neither the 2020 extension nor the 2019 cuts
    assert max(abs(x - y) for x, y in zip(k[2018], a[2018], strict=True)) > 1.0
    # the baselines do not depend on the policy view
    p = lambda bt: bt.forecasts[bt.forecasts["method"] == "persistence"]["forecast"].tolist()  # noqa: E731
    assert p(known) == p(enacted)
    j = known.to_json()
    assert j["policies"] == "as-known" and [c["known_at"] for c in j["cutoffs"]] == [2018, 2021]
    assert "as known at each cutoff" in known.summary()
    assert "as enacted" in enacted.summary()
    assert "policies as-known" in known.plot().layout.title.text
    assert "policies enacted" in enacted.plot().layout.title.text


def test_views() -> None:
    assert POLICY_VIEWS == ("enacted", "as-known")


@pytest.mark.parametrize(("kwargs", "field", "allowed"), [
    ({"policies": "known"}, "policies", ["enacted", "as-known"]),
    ({"policies": "as-known", "region": "US", "scenario": "us-current-policies"}, "policies", ["enacted"]),
    ({"policies": "as-known", "cutoffs": [2014, 2018]}, "cutoffs", ["2015–2024"]),
])
def test_bad_policy_view(kwargs: dict, field: str, allowed: list[str]) -> None:
    with pytest.raises(InputError) as err:
        backtest(**{"cutoffs": [2021], **kwargs})
    assert err.value.field == field
    assert err.value.allowed == allowed


def test_as_known_baselines_only_needs_no_vintage() -> None:
    bt = backtest(region="US", cutoffs=[2021], methods=["persistence"], policies="as-known")
    assert bt.meta["known_at"] == {}


def test_a_scenario_with_known_at_is_not_back_tested_as_enacted() -> None:
    """A scenario that fixes policy.known_at would run every cutoff with that year's rules while the
    result says "enacted": refused, with the two ways out."""
    from nevsim.scenario import load_scenario

    fixed = load_scenario("china-current-policies", {"policy.known_at": 2018})
    with pytest.raises(InputError) as err:
        backtest(fixed, cutoffs=[2021], methods=["model"])
    assert err.value.field == "policies" and "known_at = 2018" in str(err.value)
    assert err.value.allowed == ["as-known", "a scenario without policy.known_at"]
    known = backtest(fixed, cutoffs=[2021], methods=["model"], policies="as-known")  # (each cutoff's own)
    assert known.meta["known_at"] == {2021: 2021}


def test_as_known_needs_to_know_when_a_scenario_plate_end_was_announced() -> None:
    """A scenario ending free PHEV plates after a cutoff, without saying when that was announced,
    cannot be run as known at that cutoff: the error names the field (the CLI: exit 2)."""
    from nevsim.scenario import load_scenario

    silent = load_scenario("china-current-policies", {"policy.phev_plate_announced_year": None})
    with pytest.raises(InputError) as err:
        backtest(silent, cutoffs=[2019], methods=["model"], policies="as-known")
    assert err.value.field == "policy.phev_plate_announced_year" and err.value.allowed == ["2010–2023"]
    assert backtest(silent, cutoffs=[2023], methods=["model"], policies="as-known").meta["known_at"] == {2023: 2023}
