"""Scenarios: shipped files, composition, hashing and field-path errors."""

from __future__ import annotations

import pytest

from nevsim.errors import InputError
from nevsim.scenario import DEFAULT_SCENARIO, list_scenarios, load_scenario

SHIPPED = {
    "china-current-policies", "china-no-dual-credit", "china-subsidies-extended", "china-slow-charging",
    "china-fast-battery-learning", "china-high-exports",
}


def test_shipped_scenarios_load_and_hash_differently() -> None:
    assert SHIPPED <= set(list_scenarios())
    hashes = {name: load_scenario(name).hash for name in SHIPPED}
    assert len(set(hashes.values())) == len(SHIPPED)
    assert load_scenario(DEFAULT_SCENARIO).hash == load_scenario(DEFAULT_SCENARIO).hash


def test_override_of_base_changes_only_its_keys() -> None:
    base = load_scenario("china-current-policies").resolved()
    other = load_scenario("china-no-dual-credit").resolved()
    assert other["policy"]["dual_credit"]["enabled"] is False
    other["policy"]["dual_credit"]["enabled"] = True
    for key in ("name", "description"):
        other.pop(key), base.pop(key)
    assert other == base


def test_year_path_override_replaces_the_whole_path() -> None:
    s = load_scenario("china-high-exports")
    assert s.market.ev_exports_million == {"2026": 4.0, "2028": 6.0, "2035": 10.0, "2060": 10.0}


def test_dotted_and_nested_overrides() -> None:
    a = load_scenario(DEFAULT_SCENARIO, {"policy.dual_credit.pass_through": 0.5})
    b = load_scenario(DEFAULT_SCENARIO, {"policy": {"dual_credit": {"pass_through": 0.5}}})
    assert a.policy.dual_credit.pass_through == 0.5
    assert a.hash == b.hash != load_scenario(DEFAULT_SCENARIO).hash


@pytest.mark.parametrize(
    ("overrides", "field", "allowed_part"),
    [
        ({"policy.dual_credit.bogus": 1}, "policy.dual_credit.bogus", "pass_through"),
        ({"technology.battery_learning_rate": "fast"}, "technology.battery_learning_rate", None),
        ({"technology.battery_learning_rate": 0.9}, "technology.battery_learning_rate", "0.01 to 0.5"),
        ({"policy.dual_credit.nev_ratio_pct": {"2030": 500}}, "policy.dual_credit.nev_ratio_pct.2030", "200"),
        ({"market.ev_exports_million": {"2030": 1.0, "2028": 2.0}}, "market.ev_exports_million.2028", "increasing"),
        ({"policy.dual_credit.extend": "grow"}, "policy.dual_credit.extend", "hold"),
        ({"years.first": 2050}, "years.first", "2010 to 2030"),
        # a coefficient a scenario sets stays inside the range coefficients.csv knows (dist_min/dist_max)
        ({"coefficients": {"phev_utility_factor_km": -5.0}}, "coefficients.phev_utility_factor_km", "1 to inf"),
        ({"coefficients": {"beta_price": 0.1}}, "coefficients.beta_price", "-inf to 0"),
        ({"coefficients": {"beta_choice": -0.2}}, "coefficients.beta_choice", "0 to inf"),
    ],
)
def test_invalid_scenarios_name_the_field(overrides: dict, field: str, allowed_part: str | None) -> None:
    with pytest.raises(InputError) as info:
        load_scenario(DEFAULT_SCENARIO, overrides)
    assert info.value.field == field
    if allowed_part is not None:
        assert any(allowed_part in a for a in info.value.allowed or [])


def test_years_out_of_order_in_a_file(tmp_path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('base = "china-current-policies"\n[charging]\nevs_per_public_charger = { 2030 = 10.0, 2025 = 12.0 }\n')
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert info.value.field == "charging.evs_per_public_charger.2025"


def test_unknown_scenario_lists_the_shipped_ones() -> None:
    with pytest.raises(InputError) as info:
        load_scenario("china-nothing")
    assert set(info.value.allowed or []) >= SHIPPED


def test_user_file_with_base(tmp_path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('base = "china-current-policies"\n[policy.dual_credit]\nprice_cap_cny_per_credit = 5000.0\n')
    s = load_scenario(path)
    assert s.name == "mine" and s.policy.dual_credit.price_cap_cny_per_credit == 5000.0
    assert s.technology.battery_learning_rate == 0.18


def test_coefficients_inside_their_range_load() -> None:
    s = load_scenario(DEFAULT_SCENARIO, {"coefficients": {"phev_utility_factor_km": 60.0, "beta_price": -0.3}})
    assert s.coefficients == {"phev_utility_factor_km": 60.0, "beta_price": -0.3}


def test_trade_in_extension_must_not_end_before_the_scheme() -> None:
    with pytest.raises(InputError) as info:
        load_scenario(DEFAULT_SCENARIO, {"policy.subsidies.trade_in_extend_to_year": 2025})
    assert info.value.field == "policy.subsidies.trade_in_extend_to_year"
    with pytest.raises(InputError) as info:
        load_scenario(DEFAULT_SCENARIO, {"policy.subsidies.trade_in": "yes"})
    assert info.value.field == "policy.subsidies.trade_in"


@pytest.mark.parametrize(("extend", "scheme", "year"), [
    ("trade_in_extend_to_year", "trade_in", 2030), ("subsidy_extend_to_year", "purchase_subsidy", 2025),
    ("tax_exemption_extend_to_year", "purchase_tax_exemption", 2030)])
def test_extending_a_switched_off_scheme_is_refused(extend: str, scheme: str, year: int) -> None:
    with pytest.raises(InputError) as info:
        load_scenario(DEFAULT_SCENARIO, {f"policy.subsidies.{extend}": year, f"policy.subsidies.{scheme}": False})
    assert info.value.field == f"policy.subsidies.{extend}"
    assert f"{scheme} = true" in (info.value.allowed or [])
    load_scenario(DEFAULT_SCENARIO, {f"policy.subsidies.{extend}": year})  # with the scheme on: fine


# --- China's own fields in a region's scenario (US, EU): refused, not silently ignored ------------

CHINA_ONLY_VALUES = {  # a value other than the default of each field only China's model reads
    "policy.dual_credit.enabled": False, "policy.dual_credit.nev_ratio_pct": {"2030": 60.0},
    "policy.dual_credit.extend": "zero", "policy.dual_credit.price_cap_cny_per_credit": 5000.0,
    "policy.dual_credit.pass_through": 0.5, "policy.dual_credit.observed_prices_in_history": False,
    "policy.dual_credit.cafc_offset": False,
    "policy.subsidies.purchase_subsidy": False, "policy.subsidies.local_top_up": False,
    "policy.subsidies.subsidy_extend_to_year": 2030, "policy.subsidies.purchase_tax_exemption": False,
    "policy.subsidies.tax_exemption_extend_to_year": 2030, "policy.subsidies.trade_in": False,
    "policy.subsidies.trade_in_extend_to_year": 2030, "policy.phev_plate_announced_year": 2021,
    "technology.china_pack_price_ratio": 0.9, "technology.cny_per_usd": 7.3,
    "energy.gasoline_price_cny_per_l": {"2020": 7.0}, "energy.electricity_price_cny_per_kwh": {"2020": 0.7},
    "calibration.segment_mix": "observed",
}


def test_the_china_only_list_covers_every_field_of_its_tables() -> None:
    """Every field of China's policy tables is listed (a field added there is checked too)."""
    from nevsim.scenario import DualCredit, Subsidies

    listed = {p.rsplit(".", 1)[1] for p in CHINA_ONLY_VALUES if p.startswith("policy.dual_credit.")}
    assert listed == set(DualCredit.model_fields)
    listed = {p.rsplit(".", 1)[1] for p in CHINA_ONLY_VALUES if p.startswith("policy.subsidies.")}
    assert listed == set(Subsidies.model_fields)


@pytest.mark.parametrize("scenario", ["us-current-policies", "eu-current-policies", "us-2024-rules"])
@pytest.mark.parametrize("path", sorted(CHINA_ONLY_VALUES))
def test_a_china_only_field_in_a_region_scenario_is_refused(scenario: str, path: str) -> None:
    """A US or EU scenario that set one of China's fields was accepted and the value did nothing."""
    with pytest.raises(InputError) as info:
        load_scenario(scenario, {path: CHINA_ONLY_VALUES[path]})
    assert info.value.field == path
    assert "is read for China (CN) only" in info.value.message and "would do nothing" in info.value.message
    assert info.value.allowed and info.value.allowed[0].startswith("leave it out")
    load_scenario("china-current-policies", {path: CHINA_ONLY_VALUES[path]})  # China reads it


def test_a_region_scenario_may_spell_out_the_defaults_and_the_plates(tmp_path) -> None:
    """A default written out is not refused; the plate share and end are read by every region's buyers."""
    s = load_scenario("us-current-policies", {
        "policy.subsidies.trade_in": True, "policy.dual_credit.pass_through": 0.7, "technology.cny_per_usd": 7.1,
        "energy.gasoline_price_cny_per_l": {}, "policy.plate_restricted_sales_share_pct": {"2020": 2.0},
        "policy.phev_plate_from_year": 2030})
    assert s.policy.plate_restricted_sales_share_pct == {"2020": 2.0}
    file = tmp_path / "eu.toml"
    file.write_text('base = "eu-current-policies"\n[policy.subsidies]\ntrade_in = false\n')
    with pytest.raises(InputError) as info:
        load_scenario(file)
    assert info.value.field == "policy.subsidies.trade_in" and "region EU" in info.value.message


def test_a_distribution_at_a_china_only_field_of_a_region_is_refused() -> None:
    """Even with its nominal value at the default (triangular mode 0.7 = the default pass-through)."""
    triangle = {"dist": "triangular", "low": 0.4, "mode": 0.7, "high": 1.0}
    with pytest.raises(InputError) as info:
        load_scenario("us-current-policies", {"policy.dual_credit.pass_through": triangle})
    assert info.value.field == "policy.dual_credit.pass_through" and "distribution" in info.value.message
    assert info.value.allowed == ["leave it out", "the [region] table's policies, pass_through and price_cap_per_credit"]


def test_every_shipped_scenario_and_sweep_still_loads() -> None:
    from importlib import resources

    from nevsim.sweep import load_sweep_spec

    for name in list_scenarios():
        load_scenario(name)
    for file in resources.files("nevsim.sweeps").iterdir():
        if file.name.endswith(".toml"):
            load_sweep_spec(str(file))


def test_a_toml_syntax_error_names_the_file(tmp_path):
    """QA: the message said "scenario: syntax: not valid TOML (…)" without the file's name."""
    import pytest

    from nevsim.errors import InputError
    from nevsim.scenario import load_scenario

    path = tmp_path / "syntax.toml"
    path.write_text('base = "china-current-policies"\n[technology\n', encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_scenario(path)
    assert err.value.field == "scenario"
    assert err.value.message.startswith(f"file {path} is not valid TOML (")


@pytest.mark.parametrize(("override", "field", "expected"), [
    ({"technology.battery_learning_rate": "fast"}, "technology.battery_learning_rate", "a number"),
    ({"uncertainty.draws": "many"}, "uncertainty.draws", "a whole number"),
    ({"description": 5}, "description", "a text string (in quotes)"),
])
def test_a_value_of_the_wrong_type_says_which_type(override, field, expected):
    """QA: pydantic's raw text ("Input should be a valid number…") and no Allowed."""
    from nevsim.errors import InputError
    from nevsim.scenario import load_scenario

    with pytest.raises(InputError) as err:
        load_scenario("china-current-policies", override)
    assert err.value.field == field and err.value.allowed == [expected]
    assert f"is not {expected}" in err.value.message and "Input should" not in err.value.message


def test_a_range_error_writes_big_bounds_as_powers_of_two():
    from nevsim.errors import SEED_ALLOWED, InputError
    from nevsim.scenario import load_scenario, range_text

    with pytest.raises(InputError) as err:
        load_scenario("china-current-policies", {"uncertainty.seed": -1})
    assert err.value.allowed == [SEED_ALLOWED] == ["0 to 2**63 − 1"]  # (was 0 to 9223372036854775807)
    assert range_text({"gt": 0}) == "> 0" and range_text({"ge": 0.5, "lt": 1}) == "≥ 0.5 and < 1"


@pytest.mark.parametrize("body", [
    "[technology]\nbattery_learning_rate = " + "[" * 700 + "0.2" + "]" * 700 + "\n",  # tomllib's recursion
    ".".join(["a"] * 900) + " = 1\n",  # a dotted key 900 tables deep: merging recursed
])
def test_a_scenario_file_nested_too_deeply_is_an_input_error(tmp_path, body: str) -> None:
    """Both files made `nevsim outlook FILE` end in a RecursionError traceback (exit 1)."""
    path = tmp_path / "deep.toml"
    path.write_text('base = "china-current-policies"\n' + body, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert info.value.field == "scenario"
    assert "deep.toml" in info.value.message and "32 levels" in " ".join(info.value.allowed)


@pytest.mark.parametrize("dotted", [False, True])
def test_overrides_nested_too_deeply_are_an_input_error(dotted: bool) -> None:
    overrides: dict = {}
    if dotted:
        overrides = {".".join(["a"] * 900): 1}
    else:
        node = overrides
        for _ in range(900):
            node["a"] = {}
            node = node["a"]
    with pytest.raises(InputError) as info:
        load_scenario("china-current-policies", overrides)
    assert info.value.field == "overrides"
