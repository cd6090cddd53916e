"""Model-level fleet tables and China's annual accounting (the shipped example fleet)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nevsim.errors import InputError
from nevsim.policy import fleet


@pytest.fixture(scope="module")
def accounts() -> fleet.ChinaAccounts:
    return fleet.china_compliance(2022, fleet.read_fleet(fleet.example_fleet_path()))


def maker(acc: fleet.ChinaAccounts, name: str) -> pd.Series:
    return acc.makers.set_index("maker").loc[name]


def test_example_fleet_is_sourced() -> None:
    f = fleet.read_fleet(fleet.example_fleet_path())
    assert (f.table["source_key"].str.len() > 0).all()
    assert len(f.makers) == 13 - 2  # 17 rows, 11 makers
    assert f.sales.shape == (11, 17)


def test_byd_and_tesla_credits(accounts) -> None:
    byd = maker(accounts, "BYD")
    assert byd["nev_earned"] == pytest.approx(911_140 * (0.0056 * 427 + 0.4) + 946_239 * 1.6)
    assert not byd["nev_obligated"] and byd["nev_required"] == 0
    tesla = maker(accounts, "Tesla China")
    assert tesla["nev_earned"] == pytest.approx(710_000 * 3.4)
    assert tesla["cafc_actual_l_per_100km"] == 0.0


def test_wuling_mini_ev(accounts) -> None:
    # 120 km -> (0.0056*120+0.4) * 0.7 range factor * (7.84/7.7) efficiency
    cond = 0.0112 * 665 + 0.4
    expected = (0.0056 * 120 + 0.4) * 0.7 * min(cond / 7.7, 1.5)
    assert maker(accounts, "SAIC-GM-Wuling")["nev_earned"] == pytest.approx(622_000 * expected)


def test_conventional_makers(accounts) -> None:
    a = maker(accounts, "JV maker A (illustrative)")
    assert a["nev_required"] == pytest.approx(0.16 * 1_500_000)
    assert a["cafc_balance"] < 0 < a["nev_balance"]
    assert a["nev_used_for_cafc"] == pytest.approx(a["nev_balance"])  # all surplus used for CAFC
    assert a["nev_balance_after_offset"] == pytest.approx(0.0)
    d = maker(accounts, "Hybrid maker D (illustrative)")
    # 400k HEVs at 4.3 L are low-fuel-consumption (weight 0.3); 600k ICE at 6.0 L are not
    assert d["nev_required"] == pytest.approx(0.16 * (600_000 + 0.3 * 400_000))
    assert d["nev_balance"] < 0 and d["nev_used_for_cafc"] == 0
    c = maker(accounts, "Importer C (illustrative)")
    assert not c["nev_obligated"] and c["nev_required"] == 0 and c["cafc_balance"] < 0


def test_accounting_identities(accounts) -> None:
    m, tt = accounts.makers, accounts.totals
    assert tt["nev_positive"] - tt["nev_negative"] == pytest.approx((m["nev_earned"] - m["nev_required"]).sum())
    np.testing.assert_allclose(m["cafc_balance"],
                               (m["cafc_target_l_per_100km"] - m["cafc_actual_l_per_100km"]) * m["units"])
    np.testing.assert_allclose(m["nev_balance"] + m["cafc_balance"],
                               m["nev_balance_after_offset"] + m["cafc_balance_after_offset"])
    assert tt["units"] == m["units"].sum()
    assert (m["nev_used_for_cafc"] <= np.maximum(m["nev_balance"], 0) + 1e-6).all()
    assert (m.loc[~m["nev_carry_forward_allowed"], "nev_bankable"] == 0).all()


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "fleet.csv"
    p.write_text(text)
    return p


@pytest.mark.parametrize(("text", "field"), [
    ("maker,model,powertrain\nA,x,BEV\n", "FLEET"),
    ("maker,model,powertrain,units\nA,x,Diesel,5\n", "FLEET.powertrain"),
    ("maker,model,powertrain,units\nA,x,ICE,lots\n", "FLEET.units"),
    ("maker,model,powertrain,units\nA,x,ICE,-5\n", "FLEET.units"),
    ("maker,model,powertrain,units,range_km\nA,x,BEV,5,3000\n", "range_km"),
    ("maker,model,powertrain,units\n", "FLEET"),
])
def test_bad_fleet_files(tmp_path: Path, text: str, field: str) -> None:
    with pytest.raises(InputError) as err:
        fleet.read_fleet(_write(tmp_path, text))
    assert err.value.field == field


def test_missing_file() -> None:
    with pytest.raises(InputError):
        fleet.read_fleet(Path("/nonexistent/fleet.csv"))


def test_bev_without_range_in_fleet(tmp_path: Path) -> None:
    f = fleet.read_fleet(_write(tmp_path, "maker,model,powertrain,units\nA,x,BEV,5\n"))
    with pytest.raises(InputError) as err:
        fleet.china_compliance(2022, f)
    assert err.value.field == "range_km"


def test_china_compliance_as_known_at_2019() -> None:
    """The 2022 accounts as a 2019 cutoff would have drawn them: Order 44's credits (BYD's BEVs at
    0.012·R + 0.8, capped at 5; PHEVs 2), no low-FC discount and every maker allowed to bank (no
    CAFC condition; the fraction is 0 anyway)."""
    f = fleet.read_fleet(fleet.example_fleet_path())
    known = fleet.china_compliance(2022, f, extend="hold", known_at=2019)  # (ratios set to 2020: 12 % held)
    byd = maker(known, "BYD")
    assert byd["nev_earned"] == pytest.approx(911_140 * min(0.012 * 427 + 0.8, 5.0) + 946_239 * 2.0)
    assert known.nev.carry_forward_fraction == 0.0 and known.makers["nev_carry_forward_allowed"].all()
    assert known.totals["nev_earned"] > fleet.china_compliance(2022, f).totals["nev_earned"]
