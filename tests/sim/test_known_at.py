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


# --- the NEV credit formulas, NEV banking, the CAFC leg and the PHEV plate end as known ----------

def _clear_caches() -> None:
    import nevsim.pooling
    import nevsim.regions
    import nevsim.simulate
    from nevsim.policy import _tables as t

    for module in (nevsim.simulate, nevsim.regions, nevsim.pooling, t):
        for obj in vars(module).values():
            if callable(getattr(obj, "cache_clear", None)) and obj is not t.known_at_years:
                obj.cache_clear()


def _arrays(sy) -> list[object]:
    if sy is None:
        return [None]
    return [np.asarray(sy.earned_per_vehicle).tolist(), np.asarray(sy.required_per_vehicle).tolist(),
            sy.carry_forward_fraction, sy.carry_forward_years, sy.min_obligated_volume,
            None if sy.weight_per_vehicle is None else np.asarray(sy.weight_per_vehicle).tolist()]


@pytest.mark.parametrize(("known_at", "first_changed"), [(2018, 2021), (2019, 2021), (2020, 2024), (2023, 2026)])
def test_standards_as_known_keep_the_calibration_years(known_at: int, first_changed: int) -> None:
    """The simulator's NEV and CAFC standards as known at c equal the enacted ones up to c (the
    calibration years) and differ from the first year a later formula or phase applies."""
    from nevsim.simulate import _standards, _standards_policy_json

    s, k = load_scenario("china-current-policies"), load_scenario("china-current-policies", {"policy.known_at": known_at})
    first, last = s.years.first, 2030
    enacted = _standards(_standards_policy_json(s.policy), 1.5, first, last)
    known = _standards(_standards_policy_json(k.policy), 1.5, first, last)
    years = range(first, last + 1)
    for y in years:
        same = [_arrays(known[j][y - first]) == _arrays(enacted[j][y - first]) for j in (0, 1)]
        if y <= known_at:
            assert all(same), y
    changed = [y for y in years if [_arrays(known[j][y - first]) for j in (0, 1)]
               != [_arrays(enacted[j][y - first]) for j in (0, 1)]]
    assert changed and changed[0] == first_changed


GROUPS = {  # the vintage rows of each leak closed (docs/backtest.md, "Policies as known at the cutoff")
    "formula": lambda v: (v["standard"] == "NEV") & v["param"].str.match(r"(bev|phev|fcev)_"),
    "carry_forward": lambda v: (v["standard"] == "NEV") & v["param"].str.startswith("carry_forward"),
    "cafc": lambda v: v["standard"] == "CAFC",
}


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_each_standards_leak_closed_reaches_the_simulator_not_the_history(group: str) -> None:
    """Without the group's vintage rows (its rules as enacted) the simulator's standards as known at
    2018 change after 2018, and so does the forecast; the fitted years do not change. (Banking moved
    nothing before the CAFC deficits were charged to the makers who owe them, as next year's NEV
    obligation: from a 2018 cutoff the 2023 deficit makes 2024 short without the Order 53 bank, so
    the enacted banking rows lower the 2024 price to 0.)"""
    from nevsim.policy import _tables as t
    from nevsim.simulate import _standards, _standards_policy_json

    k = load_scenario("china-current-policies", {"policy.known_at": 2018})
    key = (_standards_policy_json(k.policy), 1.5, k.years.first, 2030)

    def run_both() -> tuple[np.ndarray, list[list[object]]]:
        std = _standards(*key)
        return ev_share(k, 2018), [[_arrays(sy) for sy in std[j]] for j in (0, 1)]

    with_rows, std_with = run_both()
    real = t._vintages
    table = real()
    try:
        t._vintages = lambda: table[~GROUPS[group](table)]
        _clear_caches()
        without, std_without = run_both()
    finally:
        t._vintages = real
        _clear_caches()
    years = np.arange(k.years.first, k.years.last + 1)
    np.testing.assert_array_equal(with_rows[years <= 2018], without[years <= 2018])
    n_hist = 2018 - k.years.first + 1
    assert [s[:n_hist] for s in std_with] == [s[:n_hist] for s in std_without]
    assert [s[n_hist:] for s in std_with] != [s[n_hist:] for s in std_without]
    moved = np.abs(with_rows[years > 2018] - without[years > 2018]).max()
    assert moved > 1e-6


def test_phev_plate_end_as_known() -> None:
    """Shanghai's end of free PHEV plates from 2023 was announced 2021-02: a 2020 cutoff keeps the
    plate for PHEVs after 2022 (its forecast changes from 2023 on), a 2021 cutoff knows the end."""
    s = load_scenario("china-current-policies")
    assert s.policy.phev_plate_from_year == 2023 and s.policy.phev_plate_announced_year == 2021
    k20 = load_scenario("china-current-policies", {"policy.known_at": 2020})
    k21 = load_scenario("china-current-policies", {"policy.known_at": 2021})
    assert (k20.policy.phev_plate_from_year_as_known(), k21.policy.phev_plate_from_year_as_known()) == (2099, 2023)
    told = load_scenario("china-current-policies", {"policy.known_at": 2020, "policy.phev_plate_announced_year": 2020})
    years = np.arange(s.years.first, s.years.last + 1)
    a, b = ev_share(k20, 2020), ev_share(told, 2020)
    np.testing.assert_array_equal(a[years < 2023], b[years < 2023])
    assert (a[years >= 2023] > b[years >= 2023]).all()  # PHEVs keep the plate: more EVs


@pytest.mark.parametrize(("overrides", "allowed"), [
    ({"policy.phev_plate_announced_year": 2024}, ["≤ 2023", "unset"]),  # announced after the end
    ({"policy.phev_plate_announced_year": None, "policy.known_at": 2019}, ["2010–2023"]),  # unknown announcement
    ({"policy.phev_plate_announced_year": 1990}, None),
    ({"policy.phev_plate_announced_year": "soon"}, None),
])
def test_bad_phev_plate_announcement(overrides: dict, allowed: list[str] | None) -> None:
    with pytest.raises(InputError) as err:
        load_scenario("china-current-policies", overrides)
    assert err.value.field == "policy.phev_plate_announced_year"
    if allowed is not None:
        assert err.value.allowed == allowed


def test_phev_plate_announcement_needs_no_year_without_known_at_or_an_end() -> None:
    s = load_scenario("china-current-policies", {"policy.phev_plate_announced_year": None})
    assert s.policy.phev_plate_from_year_as_known() == 2023
    no_end = load_scenario("china-current-policies", {"policy.phev_plate_announced_year": None,
                                                      "policy.phev_plate_from_year": 2099, "policy.known_at": 2018})
    assert no_end.policy.phev_plate_from_year_as_known() == 2099
    assert "phev_plate_announced_year" not in no_end.resolved()["policy"]


# --- an extension (policy.subsidies.*_extend_to_year) together with policy.known_at ------------------

EXTEND = {"policy.subsidies.subsidy_extend_to_year": 2030, "policy.subsidies.tax_exemption_extend_to_year": 2030}


def _amounts(overrides: dict) -> dict[int, tuple[float, float, float]]:
    """(national + local subsidy, purchase tax forgone, trade-in) per year for a compact BEV (CNY)."""
    from nevsim.simulate import _ChinaPolicy, prepare

    s = load_scenario("china-current-policies", {**overrides, "years.last": 2032})
    inputs = prepare(s)
    policy = _ChinaPolicy(s.policy, inputs.years, inputs.table, inputs.nev_ratio_override)
    out = {}
    for ti, year in enumerate(inputs.years):
        if year < 2018:
            continue
        veh = inputs.vehicle_paths.year(ti, np.full(1, 1000.0))
        due, full = policy.tax_cny(int(year), veh)
        trade = policy.trade_in_cny(int(year), veh)
        out[int(year)] = (float(policy.subsidy_cny(int(year), veh)[0, 2, 3]), float((full - due)[0, 2, 3]),
                          float(np.asarray(trade)[0, 2, 3]) if np.ndim(trade) else 0.0)
    return out


def test_an_extension_applies_to_the_rules_as_known() -> None:
    """Known at 2018 the subsidy and the exemption end after 2020: the extensions to 2030 keep 2020's
    rules as known then for 2021–2030 (they were dropped: 0 after the cutoff's end); known at 2021 the
    exemption ends after 2022 and is kept to 2030; after 2030 the rules as known apply again."""
    plain, ext = _amounts({"policy.known_at": 2018}), _amounts({"policy.known_at": 2018, **EXTEND})
    for year in range(2021, 2031):
        assert plain[year][:2] == (0.0, 0.0)
        assert ext[year][0] == ext[2020][0] > 0 and ext[year][1] > 0
    assert ext[2031][:2] == (0.0, 0.0)
    assert {y: v for y, v in ext.items() if y <= 2020} == {y: v for y, v in plain.items() if y <= 2020}
    known_2021 = _amounts({"policy.known_at": 2021, **EXTEND})
    assert all(known_2021[y][1] > 0 for y in range(2023, 2031)) and known_2021[2031][1] == 0.0
    trade = _amounts({"policy.known_at": 2024, "policy.subsidies.trade_in_extend_to_year": 2030})
    assert all(trade[y][2] == trade[2024][2] > 0 for y in range(2025, 2031)) and trade[2031][2] == 0.0


def test_an_extension_as_enacted_is_unchanged() -> None:
    """Without known_at the extensions keep 2022's subsidy, 2025's exemption and 2026's trade-in, as before."""
    enacted = _amounts({**EXTEND, "policy.subsidies.trade_in_extend_to_year": 2030})
    for year in range(2027, 2031):
        assert enacted[year][0] == enacted[2022][0] > 0 and enacted[year][1] > 0
        assert enacted[year][2] > 0  # (2026's rules: a share of the year's price up to a cap)
    assert enacted[2031] == (0.0, 0.0, 0.0)


def test_the_extension_reaches_the_run() -> None:
    """End to end: known at 2018 with the extensions, the run pays subsidy and exemption after 2020."""
    base = {"policy.known_at": 2018, "years.last": 2030}
    cost = {}
    for label, over in (("plain", base), ("extended", {**base, **EXTEND})):
        s = run(load_scenario("china-current-policies", over), until=2018).series
        rows = s[s["variable"] == "Subsidy|Public Cost"].set_index("year")["value"]
        cost[label] = rows
    assert (cost["plain"].loc[2021:2030] == 0).all()
    assert (cost["extended"].loc[2021:2030] > 0).all()


@pytest.mark.parametrize(("overrides", "words"), [
    ({"policy.known_at": 2018, "policy.subsidies.trade_in_extend_to_year": 2030},
     ["trade-in scheme", "as known at the end of 2018", "nothing to extend"]),
    ({"policy.subsidies.subsidy_extend_to_year": 2022}, ["2022 is not after", "as enacted (2022)", "extend nothing"]),
    ({"policy.subsidies.tax_exemption_extend_to_year": 2025}, ["as enacted (2025)"]),
    ({"policy.subsidies.trade_in_extend_to_year": 2026}, ["as enacted (2026)"]),
    ({"policy.known_at": 2022, "policy.subsidies.tax_exemption_extend_to_year": 2023}, ["end of 2022", "(2023)"]),
    ({"policy.subsidies.trade_in_extend_to_year": 2025}, ["2025 is not after", "as enacted (2026)"]),
])
def test_an_extension_with_nothing_to_extend_is_refused(overrides: dict, words: list[str]) -> None:
    with pytest.raises(InputError) as err:
        load_scenario("china-current-policies", overrides)
    field = next(k for k in overrides if "extend" in k)
    assert err.value.field == field
    for w in words:
        assert w in err.value.message, (w, err.value.message)


def test_an_extension_the_rules_as_known_make_meaningful_loads() -> None:
    """Known at 2018 the subsidy ends after 2020, so an extension to 2022 keeps 2020's amounts two years."""
    load_scenario("china-current-policies", {"policy.known_at": 2018, "policy.subsidies.subsidy_extend_to_year": 2022})
    load_scenario("china-current-policies", {"policy.known_at": 2024, "policy.subsidies.trade_in_extend_to_year": 2025})
    ext = _amounts({"policy.known_at": 2018, "policy.subsidies.subsidy_extend_to_year": 2022})
    assert ext[2021][0] == ext[2022][0] == ext[2020][0] > 0 and ext[2023][0] == 0.0


def test_the_as_known_back_test_refuses_extending_a_scheme_a_cutoff_did_not_know(tmp_path) -> None:
    from nevsim.backtest import backtest

    file = tmp_path / "trade-in.toml"
    file.write_text('base = "china-current-policies"\n[policy.subsidies]\ntrade_in_extend_to_year = 2030\n')
    with pytest.raises(InputError) as err:
        backtest(str(file), cutoffs=[2021], policies="as-known")
    assert err.value.field == "policy.subsidies.trade_in_extend_to_year"
    assert "as-known" in err.value.message and "end of 2021" in err.value.message
