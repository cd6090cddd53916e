"""China's national car trade-in scheme (以旧换新, 2024–2026): expected subsidy per new car."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nevsim.errors import InputError
from nevsim.policy import _tables as t
from nevsim.policy import china

PTS = ["ICE", "HEV", "PHEV", "BEV", "FCEV"]


def test_no_scheme_before_2024_or_after_2026() -> None:
    for year in (2015, 2023, 2027, 2040):
        assert not china.trade_in_active(year)
        assert (china.trade_in_subsidy_cny(year, PTS, 150_000.0) == 0.0).all()
    assert all(china.trade_in_active(y) for y in (2024, 2025, 2026))


def test_last_year_constant_matches_the_table() -> None:
    active = [y for y in range(2001, 2061) if t.value("CN", "TRADEIN", "trade_in_active", y)]
    assert max(active) == china.TRADE_IN_LAST_YEAR


def test_2025_flat_amounts() -> None:
    """2025: scrap-and-buy 20,000 (NEV) / 15,000 (fuel car), replacement 15,000 / 13,000, whatever the price,
    weighted by the shares of buyers paid (15.48 % and 32.88 %)."""
    q_scrap, q_repl = 0.1548, 0.3288
    for price in (60_000.0, 400_000.0):
        got = china.trade_in_subsidy_cny(2025, PTS, price)
        nev = q_scrap * 20_000 + q_repl * 15_000
        conventional = q_scrap * 15_000 + q_repl * 13_000
        np.testing.assert_allclose(got, [conventional, conventional, nev, nev, nev])


def test_2026_share_of_price_up_to_the_cap() -> None:
    """2026: NEV 12 % (scrap) and 8 % (replacement) of the price, capped at 20,000 and 15,000; fuel cars
    10 % and 6 %, capped at 15,000 and 13,000. The caps bind at 166,667 / 187,500 (NEV)."""
    q_scrap, q_repl = 0.1548, 0.3288
    cheap = china.trade_in_subsidy_cny(2026, ["BEV", "ICE"], 100_000.0)
    np.testing.assert_allclose(cheap, [q_scrap * 12_000 + q_repl * 8_000, q_scrap * 10_000 + q_repl * 6_000])
    dear = china.trade_in_subsidy_cny(2026, ["BEV", "ICE"], 300_000.0)
    np.testing.assert_allclose(dear, [q_scrap * 20_000 + q_repl * 15_000, q_scrap * 15_000 + q_repl * 13_000])


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([2024, 2025, 2026]), st.sampled_from(PTS),
       st.floats(1_000, 2_000_000), st.floats(1_000, 2_000_000))
def test_non_decreasing_in_price_and_bounded_by_the_caps(year: int, pt: str, p1: float, p2: float) -> None:
    lo, hi = sorted((p1, p2))
    a, b = china.trade_in_subsidy_cny(year, pt, [lo, hi])
    assert 0.0 <= a <= b
    part = "nev" if pt in ("PHEV", "BEV", "FCEV") else "conventional"
    bound = sum(t.value("CN", "TRADEIN", f"{share}", year) * t.value("CN", "TRADEIN", f"{k}_{part}_cap_cny", year)
                for share, k in china._TRADE_IN_PARTS)
    assert b <= bound + 1e-9


def test_as_known_at_a_cutoff() -> None:
    """The 2024 rules were issued 2024-04-24, the 2025 ones 2025-01-08: a 2023 cutoff knows no scheme,
    a 2024 cutoff knows only 2024's."""
    assert not any(china.trade_in_active(y, known_at=2023) for y in (2024, 2025, 2026))
    assert [china.trade_in_active(y, known_at=2024) for y in (2024, 2025, 2026)] == [True, False, False]
    np.testing.assert_array_equal(china.trade_in_subsidy_cny(2024, PTS, 1e5, known_at=2024),
                                  china.trade_in_subsidy_cny(2024, PTS, 1e5))
    assert (china.trade_in_subsidy_cny(2025, PTS, 1e5, known_at=2024) == 0).all()


def test_bad_inputs_name_the_field() -> None:
    with pytest.raises(InputError) as e:
        china.trade_in_subsidy_cny(2025, "DIESEL", 1e5)
    assert e.value.field == "powertrain" and "BEV" in e.value.allowed
    with pytest.raises(InputError) as e:
        china.trade_in_subsidy_cny(2025, "BEV", -1.0)
    assert e.value.field == "price_cny"
    with pytest.raises(InputError) as e:
        china.trade_in_subsidy_cny(2025.5, "BEV", 1e5)
    assert e.value.field == "year"
