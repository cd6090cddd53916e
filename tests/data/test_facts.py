"""Fact tables: declared schema, allowed values, source keys, and known values from the fact sheet."""

import pandas as pd
import pytest

from nevsim import data
from nevsim.data._tables import read_fact, validate
from nevsim.errors import DataIntegrityError

FACTS = ["targets", "china_market", "battery_prices", "china_ev_segments", "car_stock", "sources"]


@pytest.mark.parametrize("name", FACTS)
def test_columns_follow_declared_schema(name):
    frame = data.load(name)
    decl = data.schema(name)
    assert list(frame.columns) == list(decl["column"])
    for row in decl.itertuples(index=False):
        series = frame[row.column]
        if not row.nullable:
            assert series.notna().all(), row.column
        if row.dtype == "int":
            assert series.dtype.kind == "i" or str(series.dtype) == "Int64"
        elif row.dtype == "float":
            assert series.dtype.kind == "f"
        elif row.dtype == "bool":
            assert series.dtype.kind == "b"
        if row.allowed:
            assert set(series.dropna()) <= set(row.allowed.split("|")), row.column


@pytest.mark.parametrize("name", ["targets", "china_market", "battery_prices", "china_ev_segments"])
def test_every_fact_row_has_value_unit_source_status(name):
    frame = data.load(name)
    assert set(frame["status"]) <= ({"V", "S", "U", "D"} if name == "china_ev_segments" else {"V", "S", "U"})
    keys = set(data.load("sources")["source_key"])
    for cell in frame["source_key"]:
        assert set(cell.split(";")) <= keys
    assert frame["unit"].str.len().gt(0).all()


def test_sources_unique_and_cited():
    sources = data.load("sources")
    assert sources["source_key"].is_unique
    assert (sources["citation"].notna() | sources["url"].notna()).all()
    row = sources.set_index("source_key").loc["GovCN-2021"]
    assert row["url"].startswith("https://english.www.gov.cn/")


def _target(t, **match):
    sel = t
    for k, v in match.items():
        sel = sel[sel[k] == v]
    assert len(sel) == 1, match
    return sel.iloc[0]


def test_known_targets():
    t = data.load("targets")
    china_2025 = _target(t, region="China", year=2025, issuer="State Council")
    assert china_2025["value"] == 20 and bool(china_2025["binding"]) and china_2025["announced"] == 2020
    assert "all new vehicle" in china_2025["metric"] and "CAAM" in china_2025["metric"]
    roadmap_2030 = _target(t, region="China", year=2030)
    assert roadmap_2030["value"] == 40 and not roadmap_2030["binding"]
    assert "not government policy" in roadmap_2030["issuer"]
    roadmap_2035 = _target(t, name="Roadmap 2.0 NEV share 2035")
    assert roadmap_2035["value"] == 50 and roadmap_2035["qualifier"] == "more_than" and not roadmap_2035["binding"]
    assert _target(t, region="China", year=2027)["status"] == "S"
    us = _target(t, jurisdiction="USA (federal)")
    assert us["value"] == 50 and us["year"] == 2030 and not us["binding"]
    assert us["withdrawn"] == 2025 and {"EO-14148", "EO-14154"} <= set(us["source_key"].split(";"))  # revoked 2025-01-20
    assert t["withdrawn"].notna().sum() == 1  # the only withdrawn target
    eu_2035 = _target(t, region="EU27", year=2035, binding=True)
    assert eu_2035["value"] == 0 and eu_2035["unit"] == "g CO2/km"
    acc = t[t["name"].str.startswith("California ACC II")].set_index("year")
    assert acc.loc[2026, "value"] == 35 and acc.loc[2035, "value"] == 100 and not acc["binding"].any()  # waiver nullified (P.L. 119-16)
    assert acc.loc[2027, "status"] == "U" and acc.loc[2030, "status"] == "V"


def test_known_china_market_values():
    m = data.load("china_market")
    nev = m[m["variable"] == "NEV sales (CAAM, incl. exports)"].set_index("year")["value"]
    assert nev[2024] == 12_866_000 and nev[2023] == 9_495_000 and nev[2025] == 16_490_000
    share = m[m["variable"] == "NEV share of new vehicle sales (CAAM)"].set_index("year")["value"]
    assert share[2024] == 40.9
    exports_2023 = m[(m["variable"] == "Total vehicle exports") & (m["year"] == 2023)]
    assert sorted(exports_2023["value"]) == [4_100_000, 4_910_000]  # conflict kept as two rows
    assert exports_2023["note"].str.contains("Conflict").all()
    public = m[m["variable"] == "Public charging points"]
    assert public["date"].notna().all() and "2024-12" in set(public["date"])
    tesla_cap = m[(m["maker"] == "Tesla China") & (m["variable"] == "Production capacity") & (m["year"] == 2024)]
    assert sorted(tesla_cap["value"]) == [950_000, 1_100_000]
    byd = m[(m["maker"] == "BYD") & (m["variable"] == "Maker sales")].set_index("year")["value"]
    assert byd[2024] == 4_272_145
    bev_range = m[m["variable"] == "BEV average range (CPCA, CLTC)"].set_index("year")["value"]
    assert bev_range.to_dict() == {2017: 280, 2018: 331, 2020: 425, 2022: 470, 2023: 509, 2024: 468, 2025: 528}
    tax = m[m["variable"] == "NEV purchase tax exempted (STA)"].set_index("date")["value"]
    assert tax["2022"] == 87.9 and tax["2023-03"] == 21.24


def test_known_battery_prices():
    b = data.load("battery_prices")
    head = b[(b["region"] == "World") & (b["scope"] == "volume-weighted average, all sectors")]
    by_year = head.groupby("year")
    assert head[head["year"] == 2024]["value"].tolist() == [115]
    assert head[head["year"] == 2024]["dollar_year"].tolist() == [2024]
    assert sorted(head[head["year"] == 2010]["dollar_year"].dropna().tolist()) == [2019, 2020, 2024]
    assert sorted(head[head["year"] == 2010]["value"].tolist()) == [1100, 1191, 1436]
    # the 2014–2018 gap of the first edition is filled from a relayed BNEF series (2018 USD), 2021 from the 2021 survey
    assert head.set_index("year").loc[[2014, 2015, 2016, 2017, 2018], "value"].tolist() == [577, 373, 288, 214, 176]
    assert head[head["year"] == 2021][["value", "dollar_year"]].values.tolist() == [[132, 2021]]
    assert 2012 not in by_year.groups  # not retrieved: no invented value
    assert set(b["unit"]) == {"USD/kWh"}


def test_validate_rejects_bad_values():
    frame = data.load("targets")
    bad = frame.assign(status=["X", *frame["status"].tolist()[1:]])
    with pytest.raises(DataIntegrityError, match="status"):
        validate(bad, "targets", "test")
    with pytest.raises(DataIntegrityError, match="columns"):
        validate(frame.drop(columns=["binding"]), "targets", "test")
    with pytest.raises(DataIntegrityError, match="dtype"):
        validate(frame.assign(year=frame["year"].astype(float)), "targets", "test")


def test_read_fact_rejects_malformed_csv(tmp_path):
    info = data.info("battery_prices")
    good = pd.read_csv(data.FACTS_DIR / info.file, dtype=str, keep_default_na=False)
    path = tmp_path / "battery_prices.csv"
    good.assign(year="twenty").to_csv(path, index=False)
    with pytest.raises(DataIntegrityError, match="year"):
        read_fact(path, info)
    good.assign(source_key="").to_csv(path, index=False)
    with pytest.raises(DataIntegrityError, match="source_key"):
        read_fact(path, info)
    good.drop(columns=["scope"]).to_csv(path, index=False)
    with pytest.raises(DataIntegrityError, match="columns"):
        read_fact(path, info)


def test_known_segment_mix_values():
    """The fitted rows of china_ev_segments (docs/data.md): full-year point values, segments that exist."""
    from nevsim.technology import SEGMENTS

    seg = data.load("china_ev_segments")
    fitted = seg[seg["fit"]]
    assert (fitted["period"] == "year").all() and (fitted["qualifier"] != "less_than").all()
    assert sorted(fitted["year"]) == [2017, 2021, 2023]
    a00_2021 = fitted[fitted["year"] == 2021].iloc[0]
    assert (a00_2021["segments"], a00_2021["basis"], a00_2021["value"]) == ("mini", "BEV", 32.9)
    assert abs(898_500 / 2_734_000 * 100 - a00_2021["value"]) < 0.05  # the derivation in its note
    for cell in seg["segments"]:
        assert set(cell.split(";")) <= set(SEGMENTS)
    assert ((seg["value"] > 0) & (seg["value"] < 100)).all()
