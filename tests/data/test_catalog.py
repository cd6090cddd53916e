"""The catalog: one row per dataset with source, licence, origin, rows and years."""

from nevsim import data


def test_catalog_rows_and_columns():
    cat = data.catalog()
    assert list(cat["name"]) == data.dataset_names()
    for col in ("name", "kind", "title", "publisher", "edition", "licence", "citation", "origin", "rows", "years",
                "description"):
        assert col in cat.columns
    by = cat.set_index("name")
    assert by.loc["iea_gevo_2025", "rows"] == 16_424
    assert by.loc["iea_gevo_2025", "years"] == "2010–2030"
    assert by.loc["iea_gevo_2024", "years"] == "2010–2035"
    assert by.loc["owid_electric_car_sales_share", "years"] == "2010–2025"
    assert "90584cdd9b30ef954044dde8e3a3869d3d1f8b11" in by.loc["iea_gevo_2025", "origin"]
    datasets = cat[cat["kind"] == "dataset"]
    assert set(datasets["licence"]) == {"CC BY 4.0"} and len(datasets) == 4
    assert set(cat.loc[cat["kind"] == "fact table", "name"]) == {"targets", "china_market", "battery_prices",
                                                                    "china_ev_segments", "car_stock", "sources"}
    for name in data.dataset_names():
        assert by.loc[name, "rows"] == len(data.load(name))


def test_schema_is_declared_for_every_table():
    schema = data.schema()
    assert set(schema["table"]) == {"iea", "owid", "targets", "china_market", "battery_prices",
                                   "china_ev_segments", "car_stock", "sources"}
    assert schema["description"].str.len().gt(0).all()
    assert set(schema["dtype"]) <= {"str", "int", "float", "bool"}
