"""The common fleet-standard mechanism: accounting, thresholds, banking, offsets, records path."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nevsim.errors import InputError
from nevsim.policy import StandardYear, VehicleArrays, apply_offset, china, compliance
from nevsim.policy.standard import compliance_records


def toy(**kw) -> StandardYear:
    base = dict(name="CN-NEV", region="CN", year=2022, credit_unit="credit",
                earned_per_vehicle=np.array([0.0, 3.0, 1.0]), required_per_vehicle=np.array([0.2, 0.0, 0.0]),
                price_cap=None, currency="CNY", carry_forward_fraction=0.5, carry_forward_years=3,
                offsets=("CN-CAFC",), min_obligated_volume=0.0, sources=())
    base.update(kw)
    return StandardYear(**base)


def test_earned_required_balance() -> None:
    res = compliance(toy(), np.array([[100.0, 10.0, 5.0], [0.0, 4.0, 0.0]]))
    assert res.earned.tolist() == [35.0, 12.0]
    assert res.required.tolist() == [20.0, 0.0]
    assert res.balance.tolist() == [15.0, 12.0]
    assert res.bank_out[:, 0].tolist() == [7.5, 6.0]


def test_leading_draw_axes_broadcast() -> None:
    std = toy(earned_per_vehicle=np.array([[0.0, 3.0, 1.0], [0.0, 2.0, 1.0]]),
              required_per_vehicle=np.array([[0.2, 0.0, 0.0]] * 2))
    sales = np.ones((2, 4, 3))  # draw x maker x vehicle
    res = compliance(std, sales, vehicle_ndim=1)
    assert res.balance.shape == (2, 4)
    assert res.balance[:, 0].tolist() == pytest.approx([3.8, 2.8])


def test_bank_used_oldest_first_and_expiry() -> None:
    std = toy(carry_forward_years=2)
    sales = np.array([[100.0, 0.0, 0.0]])  # deficit 20
    res = compliance(std, sales, bank_in=np.array([[15.0, 10.0]]))  # age 0: 15, age 1 (older): 10
    assert res.bank_used[0] == 20.0
    assert res.balance[0] == 0.0
    # older 10 used first, then 10 of the 15; the remaining 5 ages to 1 (still valid)
    assert res.bank_out[0].tolist() == [0.0, 5.0]
    res2 = compliance(std, np.array([[0.0, 1.0, 0.0]]), bank_in=np.array([[0.0, 10.0]]))
    assert res2.expired[0] == 10.0  # age-1 credits expire after a 2-year life
    assert res2.bank_out[0].tolist() == [1.5, 0.0]


def test_carry_forward_not_allowed() -> None:
    res = compliance(toy(), np.array([[0.0, 10.0, 0.0]]), carry_forward_allowed=np.array([False]))
    assert res.bank_out[0, 0] == 0.0


def test_threshold_with_mask() -> None:
    std = toy(min_obligated_volume=50, obligation_mask=np.array([True, False, False]))
    res = compliance(std, np.array([[49.0, 100.0, 0.0], [50.0, 0.0, 0.0]]))
    assert res.obligated.tolist() == [False, True]
    assert res.required.tolist() == [0.0, 10.0]
    assert res.earned.tolist() == [300.0, 0.0]
    res2 = compliance(toy(min_obligated_volume=50, exempt_earns=False), np.array([[10.0, 10.0, 0.0]]))
    assert res2.earned.tolist() == [0.0]


def test_capped_credits() -> None:
    std = toy(earned_per_vehicle=np.array([0.0, 1.0, 1.0]), required_per_vehicle=np.array([0.5, 0.5, 0.5]),
              capped_mask=np.array([False, False, True]), capped_max_share=0.2)
    res = compliance(std, np.array([[60.0, 20.0, 20.0]]))  # required 50; PHEV credits capped at 10
    assert res.earned[0] == pytest.approx(30.0)


@pytest.mark.parametrize(("sales", "msg"), [(np.array([1.0, 2.0, 3.0]), "maker axis"),
                                            (np.array([[1.0, 2.0]]), "do not match"),
                                            (np.array([[1.0, -2.0, 3.0]]), "non-negative")])
def test_bad_sales(sales: np.ndarray, msg: str) -> None:
    with pytest.raises(InputError, match=msg):
        compliance(toy(), sales)


def test_negative_bank_rejected() -> None:
    with pytest.raises(InputError):
        compliance(toy(), np.ones((1, 3)), bank_in=np.array([-1.0]))


def test_records_path_equals_dense() -> None:
    rng = np.random.default_rng(1)
    pt = rng.choice(np.array(["ICE", "HEV", "BEV", "PHEV"]), 200)
    v = VehicleArrays(pt, range_km=rng.uniform(100, 600, 200), fuel_l_per_100km=rng.uniform(1, 9, 200),
                      curb_mass_kg=rng.uniform(900, 2400, 200))
    units = rng.integers(0, 50_000, 200).astype(float)
    idx = rng.integers(0, 7, 200)
    dense = np.zeros((7, 200))
    dense[idx, np.arange(200)] = units
    for std in (china.nev_standard(2022, v), china.cafc_standard(2022, v)):
        a, b = compliance(std, dense), compliance_records(std, units, idx, 7)
        np.testing.assert_allclose(a.balance, b.balance)
        np.testing.assert_allclose(a.earned, b.earned)
        assert (a.obligated == b.obligated).all()
    with pytest.raises(InputError):
        compliance_records(china.nev_standard(2022, v), units[:10], idx[:10])
    with pytest.raises(InputError):
        compliance_records(china.nev_standard(2022, v), units, idx, 3)


def test_prepared_standards_in_one_pass_equal_the_checked_path() -> None:
    """The simulation's fast path (terms stacked per standard, both standards' maker sums and the
    volume in one matrix product) gives what :func:`compliance` gives for each standard."""
    from nevsim.policy.standard import _compliance_prepared, _prepare

    rng = np.random.default_rng(3)
    pt = rng.choice(np.array(["ICE", "HEV", "BEV", "PHEV"]), 20)
    v = VehicleArrays(pt, range_km=rng.uniform(100, 600, 20), fuel_l_per_100km=rng.uniform(1, 9, 20),
                      curb_mass_kg=rng.uniform(900, 2400, 20))
    sales = rng.uniform(0, 5e4, (4, 7, 20)) * (rng.random((4, 7, 1)) > 0.2)  # draw × maker × vehicle, some empty
    banks = (rng.uniform(0, 1e3, (4, 7, 3)), None)
    stds = (china.nev_standard(2022, v), china.cafc_standard(2022, v))
    got = _compliance_prepared(tuple(_prepare(s, 1) for s in stds), sales, banks, 1)
    for std, bank, res in zip(stds, banks, got, strict=True):
        ref = compliance(std, sales, bank_in=bank, vehicle_ndim=1)
        for name in ("volume", "earned", "required", "bank_used", "balance", "bank_out"):
            np.testing.assert_allclose(getattr(res, name), getattr(ref, name), rtol=1e-12, atol=1e-6)
        assert (res.obligated == ref.obligated).all()


@settings(max_examples=50, deadline=None)
@given(sales=hnp.arrays(np.float64, (5, 3), elements=st.floats(0, 1e6)),
       bank=hnp.arrays(np.float64, (5,), elements=st.floats(0, 1e4)))
def test_balances_add_up(sales: np.ndarray, bank: np.ndarray) -> None:
    std = toy()
    res = compliance(std, sales, bank_in=bank)
    industry = (sales * (std.earned_per_vehicle - std.required_per_vehicle)).sum()
    assert res.net.sum() == pytest.approx(industry, rel=1e-9, abs=1e-6)
    assert (res.positive - res.negative).sum() == pytest.approx(res.balance.sum(), rel=1e-9, abs=1e-6)
    assert np.all(res.bank_used <= bank + 1e-9)
    assert np.all(res.bank_used <= np.maximum(-res.net, 0) + 1e-9)


@settings(max_examples=50, deadline=None)
@given(nev=hnp.arrays(np.float64, (6,), elements=st.floats(-1e5, 1e5)),
       cafc=hnp.arrays(np.float64, (6,), elements=st.floats(-1e5, 1e5)))
def test_offsets_only_move_nev_surplus_to_cafc_deficit(nev: np.ndarray, cafc: np.ndarray) -> None:
    v = VehicleArrays(np.array(["ICE", "BEV"]), range_km=np.array([np.nan, 400.0]),
                      fuel_l_per_100km=np.array([7.0, np.nan]), curb_mass_kg=1500.0)
    ns, cs = china.nev_standard(2022, v), china.cafc_standard(2022, v)
    rn = compliance(ns, np.zeros((6, 2)))
    rc = compliance(cs, np.zeros((6, 2)))
    rn = type(rn)(**{**rn.__dict__, "balance": nev})
    rc = type(rc)(**{**rc.__dict__, "balance": cafc})
    n2, c2 = apply_offset(ns, rn, cs, rc)
    assert np.all(n2.offset_out >= 0)
    assert np.all(n2.balance >= np.minimum(nev, 0) - 1e-9)  # never pushes NEV below zero
    assert np.all(c2.balance <= np.maximum(cafc, 0) + 1e-9)  # never creates a CAFC surplus
    np.testing.assert_allclose(n2.offset_out, c2.offset_in)
    np.testing.assert_allclose(n2.balance + c2.balance, nev + cafc)
    with pytest.raises(InputError):
        apply_offset(cs, rc, ns, rn)


def test_repr_is_readable() -> None:
    assert "CN-NEV 2022" in repr(toy())


def test_bank_layout_survives_a_change_of_credit_life() -> None:
    # e.g. Order 44 (2019: one year) -> 2020 (no banking): banked credits are used, the rest expire
    std0 = toy(carry_forward_years=0)
    res = compliance(std0, np.array([[100.0, 0.0, 0.0]]), bank_in=np.array([[5.0, 30.0, 1.0]]))
    assert res.bank_used[0] == 20.0
    assert res.bank_out.shape == (1, 0)
    assert res.expired[0] == pytest.approx(16.0)
