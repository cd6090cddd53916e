"""The purchase tax is levied on the price the buyer pays the seller, after a maker-paid subsidy
(Vehicle Purchase Tax Law 2019, Art. 6: total price paid to the seller, VAT excluded)."""

from __future__ import annotations

import numpy as np
import pytest

from nevsim.scenario import load_scenario
from nevsim.simulate import _ChinaPolicy, _nev_ratio_override, _vehicle_table, prepare


@pytest.mark.parametrize(("year", "vat"), [(2013, 0.17), (2018, 0.16), (2021, 0.13)])
def test_tax_base_is_the_price_after_the_subsidy_without_vat(year: int, vat: float) -> None:
    s = load_scenario("china-current-policies")
    inputs = prepare(s)
    ti = year - int(inputs.years[0])
    policy = _ChinaPolicy(s.policy, inputs.years, _vehicle_table(), _nev_ratio_override(s.policy, inputs.years))
    veh = inputs.vehicle_paths.year(ti, np.full(1, 1000.0))
    subsidy = policy.subsidy_cny(year, veh, True)
    assert subsidy[..., 2:].max() > 0  # a subsidy year
    due, full = policy.tax_cny(year, veh, subsidy)
    np.testing.assert_allclose(full, 0.10 * (veh.price_cny - subsidy) / (1.0 + vat), rtol=1e-12)
    if year < 2014:  # NEVs still taxed: they pay on the subsidised price
        np.testing.assert_allclose(due, full, rtol=1e-12)
    else:  # exempt: the tax forgone is the tax on the subsidised price
        assert np.all(due[..., 2:] == 0.0)
    # no subsidy: the list price
    _, full0 = policy.tax_cny(year, veh)
    np.testing.assert_allclose(full0, 0.10 * veh.price_cny / (1.0 + vat), rtol=1e-12)


def test_the_yearly_loop_taxes_the_subsidised_price(monkeypatch) -> None:
    """The run itself passes each year's subsidy to the tax (the test above calls ``tax_cny`` directly,
    so dropping the argument in the loop would have passed it)."""
    import nevsim.simulate as sim

    seen: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    original_tax, original_subsidy = sim._ChinaPolicy.tax_cny, sim._ChinaPolicy.subsidy_cny
    paid: dict[int, np.ndarray] = {}

    def subsidy(self, year, veh, *args, **kwargs):
        out = original_subsidy(self, year, veh, *args, **kwargs)
        paid[year] = np.array(out, copy=True)
        return out

    def tax(self, year, veh, subsidy=0.0):
        seen[year] = (np.array(subsidy, copy=True), np.array(veh.price_cny, copy=True))
        return original_tax(self, year, veh, subsidy)

    monkeypatch.setattr(sim._ChinaPolicy, "subsidy_cny", subsidy)
    monkeypatch.setattr(sim._ChinaPolicy, "tax_cny", tax)
    sim.run_frames(load_scenario("china-current-policies", {"years.last": 2026}), makers=False)
    for year in (2013, 2016, 2018):
        given, _ = seen[year]
        assert np.asarray(given).max() > 0, year  # the subsidy reached the tax
        np.testing.assert_array_equal(np.broadcast_to(given, paid[year].shape), paid[year])
