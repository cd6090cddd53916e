"""Regions other than China: US, EU and a region defined entirely in a scenario file (docs/regions.md)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from nevsim import data
from nevsim.cli import app
from nevsim.errors import InputError
from nevsim.regions import PricedStandard, Region, clear_standards, load_makers
from nevsim.scenario import load_scenario
from nevsim.simulate import run_frames

EU_TYPE_APPROVAL = Path(__file__).resolve().parents[2] / "docs" / "examples" / "eu-type-approval-phevs.toml"

ROOT = Path(__file__).resolve().parents[2]
NORWAY = ROOT / "docs" / "examples" / "norway.toml"
REGION_SCENARIOS = {"US": ("us-current-policies", "USA"), "EU": ("eu-current-policies", "EU27"),
                    "NO": (str(NORWAY), "Norway")}


@pytest.fixture(scope="module", params=list(REGION_SCENARIOS))
def region_run(request):
    code = request.param
    name, iea = REGION_SCENARIOS[code]
    return code, iea, run_frames(name)


def _observed_share(iea: str, last: int) -> dict[int, float]:
    frame = data.load("iea_gevo_2025", region=iea)
    frame = frame[(frame["category"] == "Historical") & (frame["mode"] == "Cars")
                  & (frame["parameter"] == "EV sales share")]
    out = {int(y): float(v) for y, v in zip(frame["year"], frame["value"], strict=True)}
    owid = data.load("owid_electric_car_sales_share", region=iea)
    for y, v in zip(owid["year"], owid["value"], strict=True):
        out.setdefault(int(y), float(v))
    return {y: v for y, v in out.items() if y <= last}


def test_history_years_reproduce_observed_shares_within_one_point(region_run) -> None:
    code, iea, (series, _, meta) = region_run
    assert meta["regions"] == [code]
    model = series[series["variable"] == "Sales Share|Cars|EV"].set_index("year")["value"]
    observed = _observed_share(iea, meta["history_last_year"])
    assert len(observed) >= 15  # 2010–2024 (IEA) and 2025 (OWID)
    errors = {y: abs(model[y] - v) for y, v in observed.items()}
    assert max(errors.values()) <= 1.0, errors
    assert meta["calibration"]["converged"]


def test_region_results_carry_region_code_and_currency_units(region_run) -> None:
    code, _, (series, _makers, _meta) = region_run
    assert set(series["region"]) == {code}
    assert "Price|Credit|NEV" not in set(series["variable"])
    units = dict(zip(series["variable"], series["unit"], strict=False))
    currency = load_scenario(REGION_SCENARIOS[code][0]).region_spec.currency
    assert units["Subsidy|Public Cost"] == f"billion {currency}"
    policies = load_scenario(REGION_SCENARIOS[code][0]).region_spec.policies
    assert ("Price|Credit|Fleet CO2" in units) == any(p in policies for p in ("US-GHG", "EU-CO2"))
    assert ("Price|Credit|ZEV" in units) == ("US-ACC2" in policies)
    for name in ("Price|Credit|Fleet CO2", "Price|Credit|ZEV"):
        if name in units:
            assert units[name] == f"{currency}/credit"
    share = series[series["variable"].str.startswith("Sales Share|Cars|")]
    assert share["value"].between(0, 100).all()


def test_us_30d_credit_zero_after_2025() -> None:
    scen = load_scenario("us-current-policies")
    region = Region.from_scenario(scen)
    from nevsim.technology import VehicleYear

    price = np.full((1, 5, 4), 40_000.0)  # under both MSRP caps
    veh = VehicleYear(price_cny=price, range_km=np.full((1, 5, 4), 400.0), energy_kwh_per_100km=price * 0,
                      fuel_l_per_100km=price * 0, battery_kwh=np.full((1, 5, 4), 60.0))
    policy = region.policy()
    amounts = {y: policy.subsidy_cny(y, veh) for y in (2024, 2025, 2026, 2030)}
    assert amounts[2024][0, 2, 3] == pytest.approx(7500.0 * 0.690)  # BEV, compact; 69 % received it
    assert amounts[2025][0, 2, 3] == pytest.approx(7500.0 * 0.7479 * 0.726)  # ends after 2025-09-30
    assert amounts[2024][0, 2, 0] == 0.0  # ICE never
    assert not amounts[2026].any() and not amounts[2030].any()


def test_us_run_has_no_incentive_cost_after_2025() -> None:
    series = run_frames("us-current-policies")[0]
    cost = series[series["variable"] == "Subsidy|Public Cost"].set_index("year")["value"]
    assert cost.loc[2024] > 0 and (cost.loc[2026:] == 0).all()


def _market(net: np.ndarray, bank: float, cap: float, covered: float = 1.0) -> PricedStandard:
    slope = 0.5e-3 * net  # utility per EUR per credit
    return PricedStandard(name="EU-CO2", slot="efficiency", net=net[None], slope=slope[None], cap=np.array([cap]),
                          bank=np.array([bank]), covered=covered, required_scale=np.array([1e6]))


def _utilities() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    u = np.zeros((1, 5, 4))
    u[..., 2:] = -2.0  # few plug-ins at zero price
    return u, np.array([[0.6, 0.6]]), np.full((1, 5), 1e5)


def test_eu_co2_standard_cleared_with_the_premium_as_cap() -> None:
    u, lam, sales = _utilities()
    net = np.tile(np.array([93.6 - 130.0, 93.6 - 95.0, 93.6 - 40.0, 93.6]), (5, 1))
    # a 0 g/km target with the €95 premium: cannot be met → price at the cap, shortfall reported
    short = _market(np.tile(-np.array([130.0, 95.0, 40.0, 0.0]), (5, 1)), 0.0, 95.0)
    sol = clear_standards(u, lam, sales, [short])
    assert sol.prices[0, 0] == pytest.approx(95.0)
    assert sol.at_cap[0, 0] and sol.excess[0, 0] < 0
    # 93.6 g/km: an interior price clears the market (E = 0) below the cap
    sol = clear_standards(u, lam, sales, [_market(net, 0.0, 95.0)])
    assert 0 < sol.prices[0, 0] < 95.0
    assert abs(sol.excess[0, 0]) <= 1e-6 * 1e6 * 130
    assert sol.converged
    # a large bank makes the market long: price 0 (complementary slackness)
    sol = clear_standards(u, lam, sales, [_market(net, 1e12, 95.0)])
    assert sol.prices[0, 0] == 0.0 and sol.excess[0, 0] >= 0


def test_two_standards_one_partly_covered_clear_together() -> None:
    u, lam, sales = _utilities()
    zev = PricedStandard(name="US-ACC2", slot="zev", net=np.tile(np.array([-0.5, -0.5, 0.5, 0.5]), (5, 1))[None],
                         slope=np.tile(np.array([-0.5, -0.5, 0.5, 0.5]), (5, 1))[None] * 1e-4,
                         cap=np.array([20000.0]), bank=np.zeros(1), covered=0.3, required_scale=np.array([1e5]))
    ghg = _market(np.tile(np.array([-20.0, -5.0, 10.0, 40.0]), (5, 1)), 0.0, 1000.0)
    sol = clear_standards(u, lam, sales, [zev, ghg])
    assert sol.converged
    for k, cap in enumerate((20000.0, 1000.0)):
        p, e = sol.prices[k, 0], sol.excess[k, 0]
        assert 0 <= p <= cap
        assert e >= -1e-3 or p == pytest.approx(cap)  # E ≥ 0 unless at the cap
        assert p == 0 or abs(e) < 1e-3 or p == pytest.approx(cap)  # π·E = 0
    # shares are a c-weighted mix of the covered and uncovered areas, each summing to one
    assert np.allclose(sol.shares.sum(-1), 1.0) and np.allclose(sol.covered_shares.sum(-1), 1.0)


def test_eu_run_prices_the_co2_standard_up_to_the_premium() -> None:
    series, makers, meta = run_frames("eu-current-policies")
    price = series[series["variable"] == "Price|Credit|Fleet CO2"].set_index("year")["value"]
    assert (price <= 95.0 + 1e-9).all() and (price.loc[:2019] == 0).all()
    assert price.loc[2030:].max() == pytest.approx(95.0)  # 0 g/km from 2035 cannot be met: at the cap
    assert meta["solver"]["credit_market"]["region"]["all_converged"]
    assert "Credits|Fleet CO2|Balance" in set(makers["variable"])


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("snippet", "field"), [
    ("[region]\nvehicle_price_ratio = 99.0\n", "region.vehicle_price_ratio"),
    ("[region]\nbogus = 1\n", "region.bogus"),
    ("[region]\npolicies = [\"CN-NEV\"]\n", "region.policies.0"),
    ("[region]\nsegment_sales_share = { tiny = 1.0 }\n", "region.segment_sales_share"),
    ("[region]\ncode = \"us\"\n", "region.code"),
    ("[region.purchase_incentive]\nbev = { 2021 = -5.0 }\n", "region.purchase_incentive.bev.2021"),
    ("[region.purchase_incentive]\nphev = { twenty = 1.0 }\n", "region.purchase_incentive.phev"),
    ("[region.purchase_incentive]\nfcev = { 2021 = 1.0 }\n", "region.purchase_incentive.fcev"),
])
def test_region_scenario_file_with_a_bad_field_names_it(tmp_path: Path, snippet: str, field: str) -> None:
    path = _write(tmp_path, f'base = "us-current-policies"\n{snippet}')
    with pytest.raises(InputError) as err:
        load_scenario(path)
    assert err.value.field == field


def test_region_code_without_a_table_is_refused() -> None:
    with pytest.raises(InputError) as err:
        load_scenario("china-current-policies", {"region": "US"})
    assert err.value.field == "region" and "CN" in err.value.allowed


def test_bad_makers_table_and_iea_name_name_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "makers.csv"
    bad.write_text("maker,share\nOther,1\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_makers(str(bad))
    assert err.value.field == "region.makers"
    scen = load_scenario(NORWAY, {"region.iea_name": "Atlantis"})
    with pytest.raises(InputError) as err:
        run_frames(scen)
    assert err.value.field == "region.iea_name" and "Norway" in err.value.allowed


def test_region_defined_in_a_file_checks_its_own_targets() -> None:
    import nevsim

    res = nevsim.run(load_scenario(NORWAY))
    targets = res.targets()
    assert list(targets["name"]) == ["All new cars zero-emission 2025"]
    row = targets.iloc[0]
    assert row["compared_variable"] == "Sales Share|Cars|EV"
    assert row["projected_value"] == pytest.approx(97.0, abs=1.0)  # OWID 2025, a history year


def test_eu_target_zero_g_per_km_compared_with_new_car_co2() -> None:
    import nevsim

    targets = nevsim.run(load_scenario("eu-current-policies")).targets()
    row = targets[targets["name"] == "EU car CO2 2035"].iloc[0]
    assert row["compared_variable"] == "Emissions|CO2|New Cars"
    assert row["target_value"] == 0.0 and np.isfinite(row["projected_value"])
    us = nevsim.run(load_scenario("us-current-policies")).targets()
    goal = us[us["name"] == "ZEV share 2030"].iloc[0]
    assert not goal["binding"] and goal["compared_variable"] == "Sales Share|Cars|EV"


def test_eu_2020_nedc_target_is_not_compared_with_the_wltc_like_series() -> None:
    """The 95 g/km target (2020–24) is on NEDC, the series on a WLTC-like cycle: no gap or met on a mixed basis."""
    import nevsim

    t = nevsim.run(load_scenario("eu-current-policies")).targets()
    row = t[t["year"] == 2020].iloc[0]
    assert row["name"] == "EU car CO2 2020" and row["target_value"] == 95.0
    assert row["label"] == "EU car CO2 2020 (NEDC: not comparable)"
    assert np.isnan(row["projected_value"]) and np.isnan(row["gap"]) and pd.isna(row["met"])
    assert pd.isna(row["first_year_met"]) and pd.isna(row["compared_variable"])
    assert row["compared_with"].startswith("not comparable: the target is on the NEDC test cycle")
    wltp = t[t["name"] == "EU car CO2 2025"].iloc[0]  # the WLTP targets stay compared
    assert wltp["compared_variable"] == "Emissions|CO2|New Cars" and np.isfinite(wltp["gap"])
    assert "1.1 ×" not in " ".join(t["compared_with"])  # the old label's unsourced factor is gone


def test_eu_2035_proposal_is_compared_as_a_cut_from_the_2021_baseline() -> None:
    """The proposal (90 % cut from the 2021 baseline, percent) is compared with the derived cut, not 'not modelled'."""
    import nevsim
    from nevsim.targets import CO2_CUT_VS_2021, EU_2021_BASELINE_G_PER_KM

    facts = data.load("targets", region="EU").set_index("name")["value"]
    assert facts["EU car CO2 2025"] / 0.85 == pytest.approx(EU_2021_BASELINE_G_PER_KM, abs=0.1)
    assert facts["EU car CO2 2030"] / 0.45 == pytest.approx(EU_2021_BASELINE_G_PER_KM, abs=0.1)
    res = nevsim.run(load_scenario("eu-current-policies"))
    row = res.targets().set_index("name").loc["EU car CO2 2035 (proposal)"]
    co2 = res.value("Emissions|CO2|New Cars", 2035)
    assert row["compared_variable"] == CO2_CUT_VS_2021 and row["compared_variable"].startswith("derived:")
    assert row["projected_value"] == pytest.approx(100.0 * (1.0 - co2 / EU_2021_BASELINE_G_PER_KM))
    assert row["gap"] == pytest.approx(row["projected_value"] - 90.0)
    assert bool(row["met"]) == (row["projected_value"] >= 90.0) and not row["binding"]
    assert "not modelled" not in row["compared_with"]


runner = CliRunner()


def test_outlook_unknown_region_exits_2_listing_allowed() -> None:
    result = runner.invoke(app, ["outlook", "--region", "XX", "--no-store"])
    assert result.exit_code == 2
    text = result.output
    assert "--region" in text and all(c in text for c in ("CN", "US", "EU", "all"))
    assert "Traceback" not in text


def test_outlook_region_picks_the_default_scenario_and_refuses_a_mismatch() -> None:
    result = runner.invoke(app, ["outlook", "--region", "EU", "--json", "--no-store"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["run"]["scenario"] == "eu-current-policies"
    assert {r["region"] for r in doc["series"]} == {"EU"}
    bad = runner.invoke(app, ["outlook", "china-current-policies", "--region", "US", "--no-store"])
    assert bad.exit_code == 2 and "CN" in bad.output


def test_outlook_us_json_marks_the_revoked_goal_and_shows_no_state_targets() -> None:
    result = runner.invoke(app, ["outlook", "--region", "US", "--json", "--no-store"])
    assert result.exit_code == 0, result.output
    targets = json.loads(result.output)["targets"]
    assert [t["name"] for t in targets] == ["ZEV share 2030"]
    goal = targets[0]
    assert goal["label"] == "ZEV share 2030 (withdrawn 2025)"
    assert goal["withdrawn"] == 2025 and "EO 14148" in goal["note"] and "EO 14154" in goal["note"]
    assert goal["note"].startswith("Withdrawn in 2025: kept as a reference")


def test_outlook_all_writes_the_comparison(tmp_path: Path) -> None:
    result = runner.invoke(app, ["outlook", "--region", "all", "--no-store", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for name in ("comparison.csv", "targets.csv", "comparison.html"):
        assert (tmp_path / name).is_file()
    import pandas as pd

    series = pd.read_csv(tmp_path / "comparison.csv")
    assert set(series["region"]) == {"CN", "US", "EU"}
    assert "China (CN)" in result.output and "EU27 (EU)" in result.output


def test_backtest_per_region_cli() -> None:
    result = runner.invoke(app, ["backtest", "--region", "EU", "--cutoff", "2022", "--json"])
    assert result.exit_code == 0, result.output
    bad = runner.invoke(app, ["backtest", "--region", "XX"])
    assert bad.exit_code == 2 and "US" in bad.output


def test_us_acc2_compared_in_the_adopting_states_and_priced_up_to_the_penalty() -> None:
    import nevsim

    res = nevsim.run(load_scenario("us-2024-rules"))
    s = res.series
    zev = s[s["variable"] == "Price|Credit|ZEV"].set_index("year")["value"]
    assert (zev.loc[:2025] == 0).all() and zev.max() <= 20000.0 + 1e-6  # $20,000 per vehicle value
    area = s[s["variable"] == "Sales Share|Cars|EV|ZEV Area"].set_index("year")["value"]
    national = s[s["variable"] == "Sales Share|Cars|EV"].set_index("year")["value"]
    assert (area.loc[2026:] >= national.loc[2026:] - 1e-9).all()  # the mandate lifts the covered area
    targets = res.targets()
    acc2 = targets[targets["name"].str.startswith("California ACC II")]
    assert (acc2["compared_variable"] == "Sales Share|Cars|EV|ZEV Area").all()
    row = acc2[acc2["year"] == 2028].iloc[0]
    below_cap = zev.loc[2028] < 20000.0
    assert (not below_cap) or bool(row["met"])  # a market cleared below the penalty meets the requirement


def test_china_scenario_resolves_as_before_and_region_files_round_trip() -> None:
    from nevsim.scenario import validate_scenario

    china = load_scenario("china-current-policies")
    assert "region_spec" not in china.resolved() and china.region_spec is None
    us = load_scenario("us-current-policies")
    assert us.resolved()["region_spec"]["code"] == "US"
    assert validate_scenario(us.resolved()) == us


def test_iamc_region_name_of_a_file_region() -> None:
    import nevsim

    res = nevsim.run(load_scenario(NORWAY))
    assert set(res.to_iamc()["Region"]) == {"Norway"}
    assert set(nevsim.run(load_scenario("eu-current-policies")).to_iamc()["Region"]) == {"EU27"}


@settings(max_examples=40, deadline=None)
@given(
    target=st.floats(0.0, 150.0), bank=st.floats(0.0, 5e7), cap=st.floats(1.0, 500.0),
    covered=st.sampled_from([1.0, 0.3]), plug=st.floats(-4.0, 2.0),
)
def test_clearing_complementary_slackness(target: float, bank: float, cap: float, covered: float, plug: float) -> None:
    """For any target, bank, cap and coverage: 0 ≤ π ≤ cap, E ≥ 0 unless π = cap, π·E = 0 (within tolerance)."""
    u = np.zeros((1, 5, 4))
    u[..., 2:] = plug
    lam, sales = np.array([[0.6, 0.6]]), np.full((1, 5), 1e5)
    co2 = np.array([130.0, 95.0, 40.0, 0.0])
    net = np.tile(target - co2, (5, 1))
    std = PricedStandard(name="EU-CO2", slot="efficiency", net=net[None], slope=1e-3 * net[None], cap=np.array([cap]),
                         bank=np.array([bank]), covered=covered, required_scale=np.array([1e7]))
    sol = clear_standards(u, lam, sales, [std])
    p, e = float(sol.prices[0, 0]), float(sol.excess[0, 0])
    tol = 1e-9 * (1e7 + 1) + 1e-6 * abs(net).max() * 5e5
    assert 0.0 <= p <= cap
    assert e >= -tol or sol.at_cap[0, 0]
    assert p == 0.0 or abs(e) <= tol or p == pytest.approx(cap)
    assert np.allclose(sol.shares.sum(-1), 1.0)


def test_us_counterfactual_without_federal_standards_is_calibrated_on_the_factual_history() -> None:
    """The 2024 rules (GHG standard and ACC II) against the rules in force (neither): the rules raise
    the projected EV share; history is the same (both use the constants fitted on the factual history)."""
    rules, _, meta_rules = run_frames("us-2024-rules")
    now, _, meta_now = run_frames("us-current-policies")
    assert meta_rules["calibration"]["against"] == meta_now["calibration"]["against"] == "us-current-policies"
    share = lambda s: s[s["variable"] == "Sales Share|Cars|EV"].set_index("year")["value"]  # noqa: E731
    b, c = share(rules), share(now)
    assert np.allclose(b.loc[:2025], c.loc[:2025])
    assert c.loc[2030] < b.loc[2030] - 5.0
    assert "Price|Credit|Fleet CO2" not in set(now["variable"]) and "Price|Credit|Fleet CO2" in set(rules["variable"])


def test_us_current_policies_leaves_acc2_out_unless_asked() -> None:
    """Without ACC II in the run its ten state targets are not headline targets: left out by default
    (named in attrs), and compared with the national share on request."""
    import nevsim
    from nevsim.targets import check

    res = nevsim.run(load_scenario("us-current-policies"))
    shown = res.targets()
    assert not shown["name"].str.startswith("California ACC II").any() and len(shown) == 1
    assert len(shown.attrs["left_out"]) == 10 and "all_jurisdictions=True" in shown.attrs["note"]
    t = check(res, all_jurisdictions=True)
    acc2 = t[t["name"].str.startswith("California ACC II")]
    assert len(acc2) == 10 and not acc2["binding"].any()
    assert (acc2["compared_variable"] == "Sales Share|Cars|EV").all()
    assert acc2["projected_value"].notna().all()
    assert acc2["source_key"].str.contains("PL-119-16").all()


def test_report_of_a_region_run_shows_its_standards(tmp_path: Path) -> None:
    import nevsim
    from nevsim.report import build_html, headline_table
    from nevsim.report.charts import credit_price, maker_balances

    res = nevsim.run(load_scenario("eu-current-policies"))
    head = headline_table(res, [2025, 2030])
    assert "Fleet CO2 credit price (EUR/credit)" in head.columns
    assert "NEV credit price (CNY/credit)" not in head.columns
    assert "Trade-in subsidy, all new cars (billion CNY)" not in head.columns  # China's scheme only
    fig = maker_balances(res, years=[2030])
    assert "Fleet CO2" in fig.layout.title.text and len(fig.data) == 1
    assert any("Fleet CO2" in str(t.name) for t in credit_price(res).data)
    assert "EU27" in build_html(res)


def test_purchase_incentive_applies_in_its_years_only_and_adds_to_a_named_one() -> None:
    """``region.purchase_incentive`` (EU: the German and French bonuses as an EU average) is paid per
    plug-in car in the listed years, 0 in the others, on top of a named policy's amount."""
    import numpy as np

    from nevsim.regions import Region

    eu = load_scenario("eu-current-policies")
    inc = eu.region_spec.purchase_incentive
    assert inc.amount("BEV", 2021) > inc.amount("BEV", 2024) > 0 and inc.amount("PHEV", 2023) == 0
    assert inc.amount("BEV", 2015) == 0 and inc.amount("ICE", 2021) == 0
    series, _, _ = run_frames(eu)
    cost = series[series["variable"] == "Subsidy|Public Cost"].set_index("year")["value"]
    assert (cost.loc[2016:2025] > 0).all() and (cost.loc[2026:] == 0).all() and (cost.loc[:2015] == 0).all()
    # the US 30D credit plus an unnamed incentive of 1,000 USD per BEV in 2024
    us = load_scenario("us-current-policies", {"region.purchase_incentive": {"bev": {"2024": 1000.0}}})
    base = load_scenario("us-current-policies")

    class Veh:  # what RegionPolicy.subsidy_cny reads: prices and pack sizes [draw, segment, powertrain]
        price_cny = np.full((1, 5, 4), 40_000.0)
        battery_kwh = np.tile(np.array([0.0, 1.0, 15.0, 60.0]), (1, 5, 1))

    with_extra = Region.from_scenario(us).policy().subsidy_cny(2024, Veh())
    without = Region.from_scenario(base).policy().subsidy_cny(2024, Veh())
    np.testing.assert_allclose(with_extra - without, np.tile([0.0, 0.0, 0.0, 1000.0], (1, 5, 1)))
    np.testing.assert_allclose(Region.from_scenario(us).policy().subsidy_cny(2023, Veh()),
                               Region.from_scenario(base).policy().subsidy_cny(2023, Veh()))


def test_us_30d_per_vehicle_falls_by_the_maker_phaseout() -> None:
    """The US region's 30D credit per BEV / PHEV (what the buyer's utility sees) is the full credit
    times the 200,000-per-maker phase-out factor in 2019–2022, the full credit in 2018, and in
    2023–2025 the full credit times the share of plug-in buyers who received it (30D or a 45W
    lease), which is the only change in those years."""
    from nevsim.policy import _tables as t
    from nevsim.regions import Region

    class Veh:  # [draw, segment, powertrain] = ICE, HEV, PHEV, BEV; 16 kWh PHEV, 60 kWh BEV
        price_cny = np.full((1, 5, 4), 40_000.0)
        battery_kwh = np.tile(np.array([0.0, 1.0, 16.0, 60.0]), (1, 5, 1))

    policy = Region.from_scenario(load_scenario("us-current-policies")).policy()
    full = policy.subsidy_cny(2018, Veh())
    assert full[..., 3].min() > 0 and full[..., 2].min() > 0
    for year in (2023, 2024):
        bev = t.value("US", "IRA30D", "ira_received_share_bev", year)
        phev = t.value("US", "IRA30D", "ira_received_share_phev", year)
        got = policy.subsidy_cny(year, Veh())
        np.testing.assert_allclose(got[..., 3], full[..., 3] * bev)
        np.testing.assert_allclose(got[..., 2], full[..., 2] * phev)
        assert 0.6 < bev < 0.75 and 0.6 < phev < 0.75
    for year in (2019, 2020, 2021, 2022):
        bev = t.value("US", "IRA30D", "maker_phaseout_factor_bev", year)
        phev = t.value("US", "IRA30D", "maker_phaseout_factor_phev", year)
        got = policy.subsidy_cny(year, Veh())
        np.testing.assert_allclose(got[..., 3], full[..., 3] * bev)
        np.testing.assert_allclose(got[..., 2], full[..., 2] * phev)
        assert bev < 0.5


@pytest.mark.parametrize("name", ["us-current-policies", "eu-current-policies"])
def test_region_monte_carlo_draws(name: str) -> None:
    """US/EU scenarios ship distributions: draws reproduce history (within 1 point; the EU's interior
    CO2 price in history is a slow fixed point, ~0.1 pp) and spread after it."""
    import nevsim

    res = nevsim.run(load_scenario(name), draws=16, seed=7)
    s = res.series[res.series["variable"] == "Sales Share|Cars|EV"]
    assert s["draw"].nunique() == 16
    spread = s.groupby("year")["value"].agg(lambda v: v.max() - v.min())
    hist = res.meta["history_last_year"]
    assert (spread.loc[:hist] < 1.0).all() and spread.loc[2035] > 0.1
    assert res.meta["calibration"]["max_abs_share_error_pp"] < 1.0
    t = res.targets()
    assert t["probability_met"].dropna().between(0, 1).all()


def test_region_run_refuses_values_only_china_reads() -> None:
    """Sampling China's pass-through or CNY energy prices in a US run would change nothing: refused by name."""
    from nevsim.errors import InputError
    from nevsim.simulate import run_values

    for key in ("policy.dual_credit.pass_through", "technology.cny_per_usd", "energy.gasoline_price_cny_per_l.2024"):
        with pytest.raises(InputError) as err:
            run_values("us-current-policies", {key: [0.5, 0.6]})
        assert err.value.field == key and "not used in a US run" in err.value.message
    series, _, _ = run_values("us-current-policies", {"technology.battery_learning_rate": [0.15, 0.2]}, makers=False)
    assert series["draw"].nunique() == 2


def test_edits_to_region_spec_reach_the_region_or_are_refused() -> None:
    """The resolved scenario (and the web editor) calls a file's [region] table ``region_spec``.
    Before, an override of ``region_spec.*`` was replaced by the file's table: accepted, the
    same hash, the same run, even out of range (QA of 2026-12-01)."""
    base = load_scenario("us-current-policies")
    edited = load_scenario("us-current-policies", {"region_spec.pass_through": 0.5})
    assert edited.region_spec.pass_through == 0.5 != base.region_spec.pass_through
    assert edited.hash != base.hash
    assert edited == load_scenario("us-current-policies", {"region.pass_through": 0.5})  # one setting, two names
    assert edited.region_spec.currency == base.region_spec.currency  # the rest of the table kept
    with pytest.raises(InputError) as err:
        load_scenario("us-current-policies", {"region_spec.pass_through": 5})
    assert err.value.field == "region.pass_through" and err.value.allowed == ["0.0 to 1.0"]
    with pytest.raises(InputError) as err:
        load_scenario("us-current-policies", {"region_spec": "total garbage"})
    assert err.value.field == "region_spec" and "pass_through" in err.value.allowed


def test_series_names_do_not_carry_a_region() -> None:
    """The region is a column: China's battery demand was ``Battery Demand|Cars|China`` while the
    regions' was ``Battery Demand|Cars``, so a comparison across regions (and the IAMC file, where
    the region is its own column) named one quantity two ways (QA of 2026-12-01)."""
    names = {code: set(run_frames(load_scenario(name, {"years": {"last": 2026}}))[0]["variable"].astype(str))
             for code, name in (("CN", "china-current-policies"), ("US", "us-current-policies"))}
    for code, variables in names.items():
        assert "Battery Demand|Cars" in variables, code
        assert not {v for v in variables if v.endswith(("|China", "|USA", "|EU27"))}, code


def test_a_region_from_a_scenario_file_finds_its_observed_history() -> None:
    """The history caption, the report's observed points and the web chart looked the history up by
    the region code ("NO"), not the file's iea_name ("Norway"), found nothing, and said every
    column was modelled in every year (review of 2026-12-01)."""
    from nevsim.report import history_sources
    from nevsim.simulate import run

    res = run(load_scenario("docs/examples/norway.toml", {"years": {"last": 2027}}))
    hist = res.observed_history()
    assert hist is not None and (hist["variable"] == "EV sales share").any()
    assert res.region_label("NO") == "Norway"
    assert "Sales Share|Cars|EV" in history_sources(res)
    assert run(load_scenario("china-current-policies", {"years": {"last": 2027}})).observed_history() is not None


def test_one_region_setting_under_both_names_is_refused_when_they_differ() -> None:
    """``region_spec.pass_through = 0.4`` with ``region.pass_through = 0.6`` loaded with 0.4, silently."""
    with pytest.raises(InputError) as err:
        load_scenario("us-current-policies", {"region_spec.pass_through": 0.4, "region.pass_through": 0.6})
    assert err.value.field == "region_spec.pass_through" and "one setting" in err.value.message
    same = load_scenario("us-current-policies", {"region_spec.pass_through": 0.4, "region.pass_through": 0.4})
    assert same.region_spec.pass_through == 0.4


def test_a_file_setting_one_region_setting_under_both_names_is_refused(tmp_path) -> None:
    """The override check did not reach a scenario file: [region] pass_through = 0.6 with
    [region_spec] pass_through = 0.4 loaded with 0.4 (review of 2026-12-01)."""
    f = tmp_path / "both.toml"
    f.write_text('base = "us-current-policies"\n[region]\npass_through = 0.6\n[region_spec]\npass_through = 0.4\n',
                 encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_scenario(str(f))
    assert err.value.field == "region_spec.pass_through"


def test_eu_phevs_count_at_their_type_approval_co2() -> None:
    """Audit (2026-12-01): every EU PHEV counted at its charge-sustaining CO2 (≈ 106 g/km in 2025, above
    the 93.6 target), so the EU market was short and at the €95 cap in 2020–25. Under the EU rules a
    PHEV counts at (1 − UF) × that (WLTP utility factor at the EEA's 61 km of 2022)."""
    from nevsim.policy.eu import wltp_utility_factor
    from nevsim.regions import RegionPolicy
    from nevsim.simulate import _coefficients, _vehicle_table
    from nevsim.technology import POWERTRAINS, vehicle_attributes

    sc = load_scenario(str(EU_TYPE_APPROVAL))
    region = Region(sc.region_spec)
    coef, params = _coefficients(1)
    _, params, table = region.adapt(coef, params, _vehicle_table())
    veh = vehicle_attributes(table, 2025, np.ones(1), retail_price_equivalent=params["retail_price_equivalent"],
                             ev_drivetrain_decline_pct_per_yr=params["ev_drivetrain_cost_decline_pct_per_yr"],
                             ice_fuel_improvement_pct_per_yr=1.5,
                             ice_cost_per_l_per_100km_cny=params["ice_cost_per_l_per_100km_cny"])
    vehicles = RegionPolicy(region).vehicles(veh, 2025)
    phev = POWERTRAINS.index("PHEV")
    cs = veh.fuel_l_per_100km[0][:, phev] * 23.1
    uf = float(wltp_utility_factor(61.0, 2025))
    np.testing.assert_allclose(vehicles.get("co2_g_per_km")[:, phev], (1.0 - uf) * cs)
    assert (vehicles.get("co2_g_per_km")[:, phev] < 50.0).all()  # (ZLEVs in 2025–29)


def test_with_type_approval_phevs_the_eu_market_is_not_at_the_cap_while_every_maker_met_its_target() -> None:
    """All EU makers met their 2021 and 2022 targets (ICCT: average over-compliance ≈ 12 g/km in 2022;
    policy facts E). With PHEVs at their type-approval CO2 (docs/examples/eu-type-approval-phevs.toml,
    calibrated on itself) the EU CO2 price is 0 in 2021–24; the default, with PHEVs at their
    charge-sustaining CO2, is at the €95 cap in 2021–23 (docs/regions.md, Known limits)."""
    s, _, _ = run_frames(load_scenario(str(EU_TYPE_APPROVAL)), draws=1, makers=False)
    price = s[s["variable"] == "Price|Credit|Fleet CO2"].set_index("year")["value"]
    assert (price.loc[2021:2024] == 0.0).all(), price.loc[2020:2025]
    share = s[s["variable"] == "Sales Share|Cars|EV"].set_index("year")["value"]
    assert share.loc[2021] == pytest.approx(18.0, abs=0.1)  # (history still reproduced)
    d, _, _ = run_frames("eu-current-policies", draws=1, makers=False)
    default = d[d["variable"] == "Price|Credit|Fleet CO2"].set_index("year")["value"]
    assert (default.loc[2021:2023] == 95.0).all()


@pytest.mark.parametrize("bad", [5.0, 400.0, "long"])
def test_phev_type_approval_range_is_checked(tmp_path: Path, bad: object) -> None:
    with pytest.raises(InputError) as info:
        load_scenario("eu-current-policies", {"region_spec": {"phev_type_approval_range_km": bad}})
    assert "phev_type_approval_range_km" in info.value.field
