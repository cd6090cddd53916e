"""Loaders of the bundled datasets: known values, tidy layout, caveat handling, regions, copies."""

import numpy as np
import pandas as pd
import pytest

from nevsim import data
from nevsim.data._registry import FILES_DIR
from nevsim.errors import InputError

IEA_COLUMNS = ["dataset", "region", "category", "parameter", "mode", "powertrain", "year", "unit", "value"]
OWID_COLUMNS = ["dataset", "region", "code", "year", "variable", "unit", "value"]


def _share(frame: pd.DataFrame, year: int) -> float:
    sel = frame[(frame["region"] == "China") & (frame["mode"] == "Cars") & (frame["category"] == "Historical")
                & (frame["parameter"] == "EV sales share") & (frame["year"] == year)]
    assert len(sel) == 1
    return float(sel["value"].iloc[0])


def test_iea_2025_known_values():
    frame = data.load("iea_gevo_2025")
    assert _share(frame, 2024) == 48
    assert _share(frame, 2021) == 15
    assert _share(frame, 2015) == 1.0


def test_iea_2024_edition_had_16_for_2021():
    frame = data.load("iea_gevo_2024")
    assert _share(frame, 2021) == 16
    assert frame["year"][frame["category"] == "Historical"].max() == 2023


def test_owid_china_2025_share_is_53():
    frame = data.load("owid_electric_car_sales_share", region="China")
    assert float(frame.loc[frame["year"] == 2025, "value"].iloc[0]) == 53
    assert list(frame.columns) == OWID_COLUMNS
    assert set(frame["variable"]) == {"EV sales share"} and set(frame["unit"]) == {"percent"}


def test_owid_sales_layout_and_region_mapping():
    frame = data.load("owid_electric_car_sales")
    assert list(frame.columns) == OWID_COLUMNS
    assert set(frame["unit"]) == {"vehicles"}
    assert {"USA", "EU27", "Korea", "Turkiye", "World"} <= set(frame["region"])
    assert not {"United States", "European Union (27)"} & set(frame["region"])
    assert float(frame.query("region == 'China' and year == 2025")["value"].iloc[0]) == 13_300_000
    # OWID names are accepted as aliases
    assert set(data.load("owid_electric_car_sales", region="United States")["region"]) == {"USA"}


@pytest.mark.parametrize("name", ["iea_gevo_2025", "iea_gevo_2024"])
def test_iea_layout_and_dtypes(name):
    frame = data.load(name)
    assert list(frame.columns)[: len(IEA_COLUMNS)] == IEA_COLUMNS
    assert frame["year"].dtype == np.int64
    assert frame["value"].dtype == np.float64
    assert frame["value"].notna().all()
    assert (frame["dataset"] == name).all()
    # one value per key after the duplicate handling
    assert not frame.duplicated(IEA_COLUMNS[1:8]).any()


def test_iea_2025_drops_exactly_the_12_duplicate_rows():
    raw = pd.read_csv(FILES_DIR / "iea_gevo_2025.csv")
    assert len(raw) == 16_436
    dups = raw[raw.duplicated()]
    assert len(dups) == 12
    assert set(dups["region_country"]) == {"India"} and set(dups["mode"]) == {"Trucks"}
    assert set(dups["year"]) == {2030} and set(dups["category"]) == {"Projection-STEPS"}
    loaded = data.load("iea_gevo_2025")
    assert len(loaded) == 16_424
    # nothing else removed or changed: the loaded rows are exactly the unique raw rows
    unique = raw.drop_duplicates(ignore_index=True)
    assert (loaded["region"].to_numpy() == unique["region_country"].to_numpy()).all()
    assert np.array_equal(loaded["value"].to_numpy(), unique["value"].to_numpy())
    assert np.array_equal(loaded["year"].to_numpy(), unique["year"].to_numpy())
    assert list(loaded.columns) == [*IEA_COLUMNS, "aggregate_group"]


def test_iea_2024_rounded_to_two_significant_figures():
    raw = pd.read_csv(FILES_DIR / "iea_gevo_2024.csv")
    loaded = data.load("iea_gevo_2024")
    assert len(loaded) == len(raw) == 12_654
    assert raw["value"].iloc[0] == pytest.approx(0.000390000001062, rel=1e-12)
    assert loaded["value"].iloc[0] == 0.00039  # artefact gone, value exact as a decimal
    assert np.allclose(loaded["value"], raw["value"], rtol=1e-6, atol=0)
    assert np.array_equal(data.round_significant(loaded["value"].to_numpy(), 2), loaded["value"].to_numpy())


def test_units_normalised():
    units_2024 = set(data.load("iea_gevo_2024")["unit"])
    units_2025 = set(data.load("iea_gevo_2025")["unit"])
    assert "Milion barrels per day" not in units_2024
    assert "Million barrels per day" in units_2024 and "Million barrels per day" in units_2025
    assert "million lge" in units_2024 and "million lge" in units_2025
    assert "Oil displacement, million lge" not in units_2024 | units_2025


@pytest.mark.parametrize("alias", ["China", "china", "CN", "cn", " China "])
def test_region_aliases(alias):
    frame = data.load("iea_gevo_2025", region=alias)
    assert set(frame["region"]) == {"China"}
    assert frame.attrs["region"] == ["China"]


def test_region_list_and_more_aliases():
    frame = data.load("iea_gevo_2025", region=["US", "EU", "world"])
    assert set(frame["region"]) == {"USA", "EU27", "World"}


def test_unknown_region_lists_allowed_names():
    with pytest.raises(InputError) as err:
        data.load("iea_gevo_2025", region="Mars")
    assert err.value.field == "region"
    assert {"China", "USA", "EU27", "World"} <= set(err.value.allowed)
    assert "Mars" in str(err.value)


def test_unknown_dataset_lists_allowed_names():
    with pytest.raises(InputError) as err:
        data.load("iea_gevo_2030")
    assert err.value.field == "dataset"
    assert set(err.value.allowed) == set(data.dataset_names())
    assert "iea_gevo_2025" in str(err.value)


@pytest.mark.parametrize("bad", ["2020", 2020.5, True, [2020]])
def test_bad_until_is_input_error(bad):
    with pytest.raises(InputError) as err:
        data.load("iea_gevo_2025", until=bad)
    assert err.value.field == "until"


def test_numpy_integer_until_is_accepted():
    assert data.load("iea_gevo_2025", until=np.int64(2015))["year"].max() == 2015


def test_sources_has_no_region():
    with pytest.raises(InputError):
        data.load("sources", region="China")
    assert data.regions("sources") == []


def test_returns_copies_cache_cannot_be_corrupted():
    first = data.load("iea_gevo_2025", region="China")
    first.loc[:, "value"] = -1.0
    del first["unit"]
    again = data.load("iea_gevo_2025", region="China")
    assert (again["value"] >= 0).all() and "unit" in again.columns
    whole = data.load("targets")
    whole.iloc[0, whole.columns.get_loc("value")] = 999.0
    assert data.load("targets")["value"].iloc[0] != 999.0


def test_attrs_carry_source_and_licence():
    frame = data.load("iea_gevo_2025", region="CN", until=2020)
    attrs = frame.attrs
    assert attrs["dataset"] == "iea_gevo_2025"
    assert attrs["licence"] == "CC BY 4.0"
    assert "IEA (2025)" in attrs["citation"]
    assert "90584cdd9b30ef954044dde8e3a3869d3d1f8b11" in attrs["source"]
    assert "percent" in attrs["units"] and attrs["until"] == 2020 and attrs["cutoff_column"] == "year"


def test_regions_listing():
    regions = data.regions("iea_gevo_2025")
    assert len(regions) == 63 and {"China", "USA", "EU27", "Europe", "World"} <= set(regions)
    assert regions == sorted(regions)
    assert set(data.regions("targets")) == {"China", "USA", "EU27"}


def test_round_significant_examples():
    values = np.array([0.000390000001062, 0.00650000013411, 1234.5, -0.0123456, 0.0, np.nan, 98_765_432.0, 1.0])
    out = data.round_significant(values, 2)
    expected = np.array([0.00039, 0.0065, 1200.0, -0.012, 0.0, np.nan, 99_000_000.0, 1.0])
    assert np.array_equal(out, expected, equal_nan=True)
