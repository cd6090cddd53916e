"""nevsim.sensitivity: the model function over the simulation, labels, zero variance, plots, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nevsim.errors import InputError
from nevsim.scenario import load_scenario
from nevsim.sensitivity import (
    DEFAULT_OUTPUTS,
    Output,
    _with_value,
    default_outputs,
    default_parameters,
    parse_output,
    sensitivity,
)
from nevsim.simulate import run_frames
from nevsim.uncertainty import coefficient_distributions

PARAMS = {
    "technology.battery_learning_rate": {"dist": "uniform", "low": 0.14, "high": 0.22},
    "energy.gasoline_price_cny_per_l.2024": {"dist": "uniform", "low": 6.6, "high": 9.0},  # median 7.8 = nominal
}


def _value(series: pd.DataFrame, output: Output) -> float:
    return float(series[(series["variable"] == output.variable) & (series["year"] == output.year)]["value"].iloc[0])


@pytest.fixture(scope="module")
def both():
    return sensitivity("china-current-policies", parameters=PARAMS, method="both", n=16, seed=3)


def _own_reference_run(tmp_path, learning: float) -> pd.DataFrame:
    """The deterministic equivalent of one point (gasoline at its nominal 7.8): the value as an
    override, the file its own calibration reference (each point re-fits the history under its values)."""
    file = tmp_path / f"point-{learning}.toml"
    file.write_text("\n".join([
        'base = "china-current-policies"', "[technology]", f"battery_learning_rate = {learning!r}",
        "[calibration]", f'against = "{file}"']) + "\n", encoding="utf-8")
    series, _, _ = run_frames(str(file))
    return series


def test_tornado_points_are_the_simulation_at_those_values(both, tmp_path) -> None:
    t = both.tornado
    assert list(t.columns[:4]) == ["output", "variable", "year", "unit"]
    assert set(t["output"]) == {o.key for o in DEFAULT_OUTPUTS}
    row = t[(t["output"] == "Sales Share|Cars|EV@2035") & (t["parameter"] == "technology.battery_learning_rate")].iloc[0]
    assert (row["low_value"], row["high_value"]) == pytest.approx((0.144, 0.216))
    # the base point (medians 0.18 and 7.8) and the 95th-percentile point, by plain deterministic runs
    base = _own_reference_run(tmp_path, 0.18)
    assert row["base_output"] == pytest.approx(_value(base, DEFAULT_OUTPUTS[1]), abs=1e-6)
    high = _own_reference_run(tmp_path, 0.216)
    assert row["output_high"] == pytest.approx(_value(high, DEFAULT_OUTPUTS[1]), abs=1e-6)
    assert row["output_high"] > row["output_low"]  # faster learning, cheaper EVs, more EVs


def test_tornado_sorted_by_swing_and_units(both) -> None:
    for _, group in both.tornado.groupby("output", sort=False):
        assert group["swing"].is_monotonic_decreasing
        assert np.isfinite(group[["output_low", "output_high", "swing"]].to_numpy()).all()
    units = dict(zip(both.tornado["output"], both.tornado["unit"], strict=False))
    assert units == {"Sales Share|Cars|EV@2030": "%", "Sales Share|Cars|EV@2035": "%",
                     "Price|Credit|NEV@2030": "CNY/credit"}


def test_sobol_indices_and_zero_variance(both) -> None:
    s = both.sobol
    assert both.evaluations == (2 * 2 + 1) + 16 * (2 + 2)
    share = s[s["output"].str.startswith("Sales Share")]
    assert np.isfinite(share[["S1", "ST", "S1_conf", "ST_conf"]].to_numpy()).all()
    assert (share["ST"] >= 0).all()
    tol = share["S1_conf"] + share["ST_conf"] + 0.05
    assert (share["S1"] <= share["ST"] + tol).all()
    for _, group in share.groupby("output", sort=False):
        assert group["ST"].is_monotonic_decreasing
    # the credit market is long in 2030 in every run: the price is 0, no variance, no indices
    price = s[s["output"] == "Price|Credit|NEV@2030"]
    assert price[["S1", "ST", "S1_conf", "ST_conf"]].isna().all().all()
    assert (price["note"] == "no variance").all()
    assert any("no variance" in n for n in both.notes)
    payload = both.to_dict()
    assert payload["sobol"][-1]["S1"] is None and payload["n"] == 16 and payload["seed"] == 3


def test_same_seed_same_indices(both) -> None:
    again = sensitivity("china-current-policies", parameters=PARAMS, method="sobol", n=16, seed=3,
                        outputs=["Sales Share|Cars|EV@2030"])
    first = both.sobol[both.sobol["output"] == "Sales Share|Cars|EV@2030"].reset_index(drop=True)
    pd.testing.assert_frame_equal(again.sobol, first)


def test_coefficients_are_varied() -> None:
    res = sensitivity(parameters=["coefficients.beta_price"], method="tornado",
                      outputs=["Sales Share|Cars|EV@2030"])
    row = res.tornado.iloc[0]
    assert row["low_value"] == pytest.approx(-0.20 - 1.6449 * 0.05, abs=1e-3)  # Normal(-0.20, 0.05)
    assert row["swing"] > 0.1
    assert res.parameters["coefficients.beta_price"]["source"].startswith("assumptions/coefficients.csv")


def test_plot_and_html(both, tmp_path) -> None:
    figures = both.plot(top=5)
    assert set(figures) == {"tornado", "sobol"}
    # QA 10 #6: the credit price (no variance) gets no panels, a line of text instead
    assert len(figures["tornado"].data) == 2 * (len(DEFAULT_OUTPUTS) - 1)
    assert {tr.name for tr in figures["sobol"].data} == {"first order S1", "total ST"}
    titles = [a.text for fig in figures.values() for a in fig.layout.annotations]
    assert "EV share of new cars, 2030 (%)" in titles and not any("Price|Credit" in t for t in titles)
    path = both.write_html(tmp_path / "s.html")
    text = path.read_text(encoding="utf-8")
    assert text.count("* plotly.js v") == 1 and "energy.gasoline_price_cny_per_l.2024" in text
    assert "NEV credit price, 2030 (CNY/credit) [Price|Credit|NEV@2030]: the same at every design point" in text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text


def test_sensitivity_charts_readable_labels_template_axis_titles_and_top(both) -> None:
    """QA 10 #6: readable parameter names (the raw name in the hover), the report's template, an x-axis
    title naming the output and the base value, and as many bars as --top's default (10)."""
    import plotly.io as pio

    from nevsim.report import palette
    from nevsim.sensitivity import DEFAULT_TOP, parameter_label

    assert DEFAULT_TOP == 10
    fig = both.plot()["tornado"]
    bars = fig.data[0]
    raw = [str(c[2]) for c in bars.customdata]  # the raw name, on hover
    assert set(raw) <= set(both.parameters) and list(bars.y) == [parameter_label(r) for r in raw]
    assert "%{customdata[2]}" in bars.hovertemplate
    assert fig.layout.template == pio.templates[palette.TEMPLATE]
    assert "base" in fig.layout.xaxis.title.text and "EV share of new cars, 2030" in fig.layout.xaxis.title.text
    assert parameter_label("coefficients.kappa_se_z") == "buyers' coefficient kappa_se_z"
    assert parameter_label("energy.gasoline_price_cny_per_l.2024") == "energy: gasoline price cny per l (2024)"


def test_parameter_table_has_no_float_noise() -> None:
    from nevsim.sensitivity import distribution_text

    text = distribution_text({"dist": "triangular", "low": 0.39999999999999997, "mode": 0.7, "high": 1.0})
    assert text == "triangular(low=0.4, mode=0.7, high=1.0)"


def test_default_parameters_are_the_scenarios_and_the_coefficients() -> None:
    scenario = load_scenario("china-current-policies")
    params = default_parameters(scenario)
    coefs = coefficient_distributions()
    own = set(scenario.uncertainty.distributions)
    assert own and own < set(params)
    assert {f"coefficients.{c}" for c in coefs} < set(params)
    assert len(params) == len(own) + len(coefs)
    assert all(len(src) > 20 for _, src in params.values())
    assert params["coefficients.beta_price"][1].startswith("assumptions/coefficients.csv: implied by")
    # a coefficient the scenario sets is not varied; a field it sets to a number has no distribution
    fixed = default_parameters(load_scenario("china-current-policies", {"coefficients.beta_price": -0.25}))
    assert "coefficients.beta_price" not in fixed and len(fixed) == len(params) - 1
    fast = load_scenario("china-fast-battery-learning")
    assert "technology.battery_learning_rate" not in default_parameters(fast)


def test_correlations_are_noted_not_used() -> None:
    res = sensitivity(parameters=["energy.gasoline_price_cny_per_l.2024"], method="tornado",
                      outputs=["Sales Share|Cars|EV@2030"])
    assert any("correlation groups are not used" in n for n in res.notes)
    assert res.parameters["energy.gasoline_price_cny_per_l.2024"]["source"].startswith("scenario china-current")


def test_with_value_sets_fields_and_year_points() -> None:
    base = load_scenario("china-current-policies").resolved()
    out = _with_value(base, "energy.gasoline_price_cny_per_l.2024", 9.5)
    assert out["energy"]["gasoline_price_cny_per_l"] == {**base["energy"]["gasoline_price_cny_per_l"], "2024": 9.5}
    assert base["energy"]["gasoline_price_cny_per_l"]["2024"] == 7.8  # the input is not changed
    with pytest.raises(InputError, match="has no point '2030'"):
        _with_value(base, "energy.gasoline_price_cny_per_l.2030", 9.5)
    assert _with_value(base, "fleet.vkt_km_per_year", 13000)["fleet"]["vkt_km_per_year"] == 13000.0


def test_parse_output() -> None:
    assert parse_output("Sales Share|Cars|EV@2030") == DEFAULT_OUTPUTS[0]
    assert parse_output("Stock|Cars|EV@2032") == Output("Stock|Cars|EV", 2032)
    for bad in ("Sales Share|Cars|EV", "x@20a0", "@2030"):
        with pytest.raises(InputError, match="VARIABLE@YEAR"):
            parse_output(bad)


def test_n_outside_its_range_says_what_is_allowed_and_why() -> None:
    with pytest.raises(InputError) as err:
        sensitivity(parameters=["policy.dual_credit.pass_through"], method="sobol", n=8)
    assert err.value.allowed == ["a whole number from 16 to 65,536",
                                 "best a power of 2 (16, 32, 64, …, 65,536): it keeps the Sobol' points balanced"]


@pytest.mark.parametrize(("kwargs", "field", "words"), [
    ({"method": "morris"}, "method", "tornado"),
    ({"n": 8}, "n", "[16,"),
    ({"n": 1.5}, "n", "whole number"),
    ({"seed": -1}, "seed", "whole number"),
    ({"parameters": ["technology.nope"]}, "parameters", "no default distribution"),
    ({"parameters": []}, "parameters", "no parameters"),
    ({"parameters": {"technology.battery_learning_rate": {"dist": "uniform", "low": 0.1, "high": 0.9}}},
     "parameters.technology.battery_learning_rate", "range"),
    ({"parameters": {"energy.gasoline_price_cny_per_l": {"dist": "uniform", "low": 6, "high": 9}}},
     "parameters.energy.gasoline_price_cny_per_l", "year path"),
    ({"parameters": {"technology.colour": {"dist": "uniform", "low": 6, "high": 9}}},
     "parameters.technology.colour", "cannot be varied"),
    ({"parameters": {"energy.gasoline_price_cny_per_l.2031": {"dist": "uniform", "low": 6, "high": 9}}},
     "parameters.energy.gasoline_price_cny_per_l.2031", "has no point '2031'"),
    ({"parameters": {"technology.ice_fuel_improvement_pct_per_yr": {"dist": "uniform", "low": 1, "high": 2}}},
     "parameters.technology.ice_fuel_improvement_pct_per_yr", "cannot be varied"),
    ({"parameters": {"coefficients.kappa_familiarity": {"dist": "normal", "mean": 0.5, "sd": 0.1}}},
     "parameters.coefficients.kappa_familiarity", "fitted"),
    ({"parameters": {"policy.dual_credit.pass_through": {"dist": "normal", "mean": 0.5}}},
     "parameters.policy.dual_credit.pass_through.sd", "missing"),
    ({"outputs": ["Sales Share|Cars|EV@2070"]}, "outputs", "outside"),
    ({"outputs": ["Sales Share|Cars|EV"]}, "outputs", "VARIABLE@YEAR"),
    ({"outputs": ["Nothing@2030"]}, "outputs", "no 'Nothing'"),
    ({"scenario": "no-such-scenario"}, "scenario", "unknown scenario"),
])
def test_bad_input(kwargs: dict, field: str, words: str) -> None:
    kwargs = {"parameters": ["policy.dual_credit.pass_through"], "method": "tornado", **kwargs}
    with pytest.raises(InputError) as err:
        sensitivity(**kwargs)
    assert err.value.field == field
    assert words in str(err.value)


@settings(max_examples=200, deadline=None)
@given(variable=st.text(min_size=1, max_size=40).filter(lambda v: v.strip() == v and "\n" not in v),
       year=st.integers(1000, 2999))
def test_parse_output_round_trip(variable: str, year: int) -> None:
    out = parse_output(f"{variable}@{year}")
    assert (out.variable, out.year) == (variable, year) and out.key == f"{variable}@{year}"


_BASE = load_scenario("china-current-policies").resolved()
_YEARS = sorted(_BASE["technology"]["world_battery_demand_growth_pct_per_yr"])


@settings(max_examples=100, deadline=None)
@given(year=st.sampled_from(_YEARS), value=st.floats(-50, 100, allow_nan=False))
def test_with_value_changes_exactly_one_point(year: str, value: float) -> None:
    before = _BASE["technology"]["world_battery_demand_growth_pct_per_yr"]
    after = _with_value(_BASE, f"technology.world_battery_demand_growth_pct_per_yr.{year}", value)
    path = after["technology"]["world_battery_demand_growth_pct_per_yr"]
    assert path == {**before, year: value} and list(path) == list(before)
    assert {k: v for k, v in after.items() if k != "technology"} == {k: v for k, v in _BASE.items() if k != "technology"}


def test_progress_counts_every_model_run() -> None:
    calls: list[tuple[int, int]] = []
    res = sensitivity(parameters=["policy.dual_credit.pass_through"], method="both", n=16, chunk=20,
                      outputs=["Sales Share|Cars|EV@2030"], progress=lambda done, total: calls.append((done, total)))
    total = 3 + 16 * 3
    assert res.evaluations == total and calls[0] == (0, total) and calls[-1] == (total, total)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls) and len(calls) == 1 + 1 + 3  # 3 + 48 in chunks of 20


@pytest.mark.parametrize(("scenario", "last"), [
    ("china-current-policies", ("Price|Credit|NEV", "CNY/credit")),
    ("eu-current-policies", ("Price|Credit|Fleet CO2", "EUR/credit")),
    ("us-current-policies", ("Emissions|CO2|New Cars", "g CO2/km")),  # no credit market in this scenario
])
def test_default_outputs_follow_the_scenarios_region(scenario: str, last: tuple[str, str]) -> None:
    outputs = default_outputs(load_scenario(scenario))
    assert outputs[:2] == list(DEFAULT_OUTPUTS[:2])
    assert [(o.variable, o.year, o.unit) for o in outputs[2:]] == [(*last[:1], 2030, last[1])]
    series, _, _ = run_frames(scenario)  # every default exists in the simulation
    for o in outputs:
        assert not series[(series["variable"] == o.variable) & (series["year"] == o.year)].empty


def test_a_us_run_works_with_the_default_outputs() -> None:
    """The China default (NEV credit price) made every US/EU run fail with 'the simulation has no …'."""
    res = sensitivity("us-current-policies", parameters=["coefficients.beta_price"], method="tornado")
    assert [o.key for o in res.outputs] == ["Sales Share|Cars|EV@2030", "Sales Share|Cars|EV@2035",
                                            "Emissions|CO2|New Cars@2030"]
    assert np.isfinite(res.tornado["output_high"]).all()


def test_summary_is_a_sentence_not_a_repr(both, tmp_path) -> None:
    text = both.summary()
    assert text.startswith("Scenario china-current-policies: tornado and Sobol indices (n = 16), 2 parameters × "
                           "3 outputs,") and text.endswith("; seed 3.") and "<" not in text
    page = both.to_html()
    assert "&lt;nevsim" not in page and "<nevsim" not in page  # the header showed the Python repr
    assert "Scenario china-current-policies: tornado and Sobol" in page


@pytest.mark.parametrize("top", [0, -3, 2.5, True])
def test_plot_refuses_a_top_that_is_not_a_positive_whole_number(both, top) -> None:
    """The CLI refused --top 0; from Python, head(-3) quietly dropped the last three parameters."""
    from nevsim.errors import InputError

    with pytest.raises(InputError) as err:
        both.plot(top=top)
    assert err.value.field == "top" and err.value.allowed == ["1 or more"]
