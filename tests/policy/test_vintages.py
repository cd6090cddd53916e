"""The rules as known at a cutoff: vintages.csv, its validation and the overlay on the enacted tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nevsim.errors import InputError
from nevsim.policy import _tables as t
from nevsim.policy import china

FIRST, LAST = t.known_at_years()
CUTOFFS = st.integers(FIRST, LAST)


def test_encoded_cutoffs() -> None:
    assert (FIRST, LAST) == (2015, 2024)


def test_every_vintage_row_resolves_its_sources_and_replaces_a_known_parameter() -> None:
    v = t._vintages()
    keys = set(t.sources()["source_key"])
    used = {k for key in v["source_key"] for k in key.split(";") if k}
    assert used <= keys, sorted(used - keys)
    assert set(v["status"]) <= set(t.STATUS_ORDER)
    assert (v["region"] == "CN").all()


# --- what a 2018 cutoff knew (the examples) ------------------------------------------

def test_known_at_2018_subsidy_tax_and_top_up() -> None:
    price = np.array([200_000.0])
    assert china.purchase_subsidy_cny(2021, "BEV", 450.0, price, known_at=2018)[0] == 0.0  # ends after 2020
    assert china.purchase_subsidy_cny(2021, "BEV", 450.0, price)[0] == 18_000.0  # enacted: extended
    assert china.purchase_subsidy_cny(2019, "BEV", 450.0, price, known_at=2018)[0] == 50_000.0  # 2018 held
    assert china.purchase_subsidy_cny(2019, "BEV", 450.0, price)[0] == 25_000.0
    assert china.local_top_up_fraction(2019, known_at=2018) == 0.5
    assert china.local_top_up_fraction(2019) == pytest.approx(0.241)
    taxed = china.purchase_tax_cny(2021, "ICE", price)[0]
    assert china.purchase_tax_cny(2021, "BEV", price, known_at=2018)[0] == taxed  # exemption ends 2020
    assert china.purchase_tax_cny(2021, "BEV", price)[0] == 0.0
    assert china.purchase_tax_cny(2020, "BEV", price, known_at=2018)[0] == 0.0


@pytest.mark.parametrize(("known_at", "ratios"), [
    (2016, [0.0, 0.0, 0.0, 0.0, 0.0]),  # no ratio issued before Order 44 (2017-09)
    (2018, [0.10, 0.12, 0.12, 0.12, 0.12]),  # Order 44, last value held
    (2020, [0.10, 0.12, 0.14, 0.16, 0.18]),  # Order 53
    (2023, [0.10, 0.12, 0.14, 0.16, 0.18]),
    (None, [0.10, 0.12, 0.14, 0.16, 0.18])])
def test_nev_ratio_as_known(known_at: int | None, ratios: list[float]) -> None:
    assert [china.nev_ratio(y, extend="hold", known_at=known_at) for y in range(2019, 2024)] == ratios


def test_nev_ratio_as_known_ends_where_the_issued_rules_end() -> None:
    with pytest.raises(InputError):
        china.nev_ratio(2021, known_at=2018)  # beyond what was set: the scenario's extension rule applies
    assert china.nev_ratio(2026, extend="hold", known_at=2023) == 0.38
    assert china.low_fc_weight(2026, extend="hold", known_at=2023) == 0.2
    assert china.low_fc_weight(2022, extend="hold", known_at=2019) == 1.0


@pytest.mark.parametrize(("known_at", "first_taxed"), [(2015, 2018), (2017, 2021), (2019, 2021), (2020, 2023),
                                                       (2021, 2023), (2022, 2024)])
def test_tax_exemption_end_as_issued(known_at: int, first_taxed: int) -> None:
    assert t.value("CN", "TAX", "nev_exemption_share", first_taxed - 1, known_at=known_at) == 1.0
    assert t.value("CN", "TAX", "nev_exemption_share", first_taxed, known_at=known_at) == 0.0


@pytest.mark.parametrize(("known_at", "year", "km"), [
    (None, 2023, 50.0), (None, 2024, 43.0), (None, 2025, 43.0), (None, 2026, 100.0),  # enacted
    (2022, 2025, 50.0), (2022, 2030, 50.0),     # before the 43 km rule (issued 2023-12-11)
    (2023, 2024, 43.0), (2024, 2026, 43.0), (2024, 2030, 43.0),  # before the 100 km rule (2025-10-09)
])
def test_phev_tax_range_threshold_as_issued(known_at: int | None, year: int, km: float) -> None:
    """The PHEV electric range a purchase-tax exemption needs: 43 km for 2024-25 (MIIT 2023-12-11),
    100 km from 2026 (announcement of 2025-10-09); a cutoff holds the last threshold it knew."""
    assert t.value("CN", "TAX", "phev_min_range_km", year, known_at=known_at) == km


def test_enacted_is_the_default_and_untouched() -> None:
    assert t._parameters_at(None) is t._parameters()
    assert t._bands_at(None) is t._bands()
    assert t.row("CN", "NEV", "nev_ratio", 2025) == t.row("CN", "NEV", "nev_ratio", 2025, known_at=None)


def test_lookups_are_keyed_on_known_at() -> None:
    price = np.array([200_000.0])
    enacted = china.purchase_subsidy_cny(2021, "PHEV", 80.0, price)[0]
    assert china.purchase_subsidy_cny(2021, "PHEV", 80.0, price, known_at=2018)[0] == 0.0
    assert china.purchase_subsidy_cny(2021, "PHEV", 80.0, price)[0] == enacted == 6800.0
    assert china._tax_terms(2021, True, 2018)[2] == 0.0 and china._tax_terms(2021, True)[2] == 1.0
    assert t.band_years("CN", "SUBSIDY", "purchase_subsidy_cny", 2018)[1] == 2020
    assert t.band_years("CN", "SUBSIDY", "purchase_subsidy_cny")[1] == 2022


# --- invariants over every cutoff ------------------------------------------------------------

def _lookup_all(frame: pd.DataFrame, keys: list[str]) -> dict[tuple, tuple]:
    """(key..., year) → value for every year each row covers (rows of a table as known)."""
    out: dict[tuple, tuple] = {}
    for rec in frame.itertuples(index=False):
        key = tuple(getattr(rec, k) for k in keys)
        for y in range(int(rec.year_from), min(int(rec.year_to), 2061) + 1):
            out[(*key, y)] = (rec.value, rec.source_key)
    return out


@settings(max_examples=12, deadline=None)
@given(CUTOFFS)
def test_years_up_to_the_cutoff_keep_the_enacted_rules(c: int) -> None:
    for table, keys in (("parameters", ["region", "standard", "param"]),
                        ("bands", ["region", "standard", "param", "powertrain", "lower"])):
        enacted = _lookup_all(t._parameters() if table == "parameters" else t._bands(), keys)
        known = _lookup_all(t._parameters_at(c) if table == "parameters" else t._bands_at(c), keys)
        early = {k: v for k, v in enacted.items() if k[-1] <= c}
        assert {k: known.get(k) for k in early} == early
        n = 3 if table == "parameters" else 4  # band edges may change, not the parameter or powertrain
        later_keys = {k[:n] for k in known if k[-1] > c}
        # no parameter lost or invented, except those a value-less row withdraws (not yet issued at c)
        v = t.vintage_rows(c)
        gone = v[(v["table"] == table) & v["value"].isna() & (v["year_to"] > c)]
        withdrawn = set(zip(gone["region"], gone["standard"], gone["param"], strict=True))
        enacted_later = {k[:n] for k in enacted if k[-1] > c}
        assert later_keys <= enacted_later and enacted_later - later_keys <= withdrawn


@settings(max_examples=25, deadline=None)
@given(CUTOFFS, st.floats(-1e6, 1e6, allow_nan=False))
def test_no_row_known_only_before_or_after_the_cutoff_is_used(c: int, junk: float) -> None:
    """Rows that were not known at c (known_from > c) or were superseded (known_until ≤ c) are set
    to junk in the vintage table the package reads: every lookup the model makes (``value`` for each
    parameter, ``bands`` for each banded rule and powertrain, 2010–2040) as known at c is unchanged."""
    real = t._vintages()
    other = real.copy()
    unknown = (other["known_from"] > c) | (other["known_until"] <= c)
    other.loc[unknown, "value"] = junk
    memos = (t._table_at, t._index, t._bands_by_param, t._bands_cached, t.band_years)

    def lookups() -> list[object]:
        out: list[object] = []
        for key in sorted(set(zip(real["region"], real["standard"], real["param"], real["table"], strict=True))):
            region, standard, param, table = key
            for year in range(2010, 2041):
                if table == "parameters":
                    try:
                        out.append(t.value(region, standard, param, year, extend="hold", known_at=c))
                    except InputError:
                        out.append(None)
                else:
                    for pt in ("BEV", "PHEV"):
                        b = t.bands(region, standard, param, pt, year, known_at=c)
                        out.append(None if b is None else (b.lower.tolist(), b.upper.tolist(), b.value.tolist()))
        return out

    expected = lookups()
    original = t._vintages
    try:
        t._vintages = lambda: other  # (what every lookup reads, through _table_at)
        for memo in memos:
            memo.cache_clear()
        assert lookups() == expected
    finally:
        t._vintages = original
        for memo in memos:
            memo.cache_clear()


def test_overlay_clips_and_replaces() -> None:
    enacted = pd.DataFrame({
        "region": ["CN", "CN", "CN"], "standard": ["X"] * 3, "param": ["p", "p", "q"], "revision": ["r"] * 3,
        "year_from": [2000, 2021, 2000], "year_to": [2020, 2030, 2030], "value": [1.0, 2.0, 5.0],
        "unit": ["u"] * 3, "source_key": ["s"] * 3, "status": ["V"] * 3, "note": [""] * 3})
    vintage = enacted.iloc[:0].assign(known_from=pd.Series(dtype="int64"), known_until=pd.Series(dtype="int64"))
    vintage = pd.concat([vintage, pd.DataFrame({
        "region": ["CN", "CN"], "standard": ["X", "X"], "param": ["p", "p"], "revision": ["v", "v"],
        "year_from": [2017, 2019], "year_to": [2018, 2019], "value": [7.0, 8.0], "unit": ["u", "u"],
        "source_key": ["s", "s"], "status": ["V", "V"], "note": ["", ""], "known_from": [2016, 2016],
        "known_until": [2020, 2020]})], ignore_index=True)
    out = t.overlay(enacted, vintage, 2017)
    p = out[out["param"] == "p"].sort_values("year_from")
    # 2018 onwards replaced (the 2017 row is clipped to 2018); enacted p ends at 2017; q untouched
    assert p[["year_from", "year_to", "value"]].values.tolist() == [[2000, 2017, 1.0], [2018, 2018, 7.0],
                                                                   [2019, 2019, 8.0]]
    assert out[out["param"] == "q"]["value"].tolist() == [5.0]
    # known at 2019 the rows speak of no later year: the enacted rows stay
    pd.testing.assert_frame_equal(t.overlay(enacted, vintage, 2019), enacted)


# --- bad inputs ------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [2014, 2025, 1990, "2018", 2018.0, True])
def test_known_at_outside_the_encoded_years(bad: object) -> None:
    with pytest.raises(InputError) as err:
        t.check_known_at(bad)
    assert err.value.field == "known_at"
    assert err.value.allowed == ["2015–2024", "unset / None (the rules as enacted)"]
    with pytest.raises(InputError):
        china.purchase_subsidy_cny(2020, "BEV", 400.0, 1e5, known_at=bad)  # type: ignore[arg-type]


def _good() -> pd.DataFrame:
    return t._vintages().copy()


@pytest.mark.parametrize(("column", "value", "field", "match"), [
    ("table", "plates", "table", "unknown table"),
    ("region", "US", "region", "no policy layer of 'US' reads"),
    ("param", "no_such_rule", "param", "not a parameter"),
    ("known_until", 2010, "known_until", "after known_from"),
    ("year_from", 2015, "year_from", "after known_from"),
    ("status", "X", "status", "unknown status"),
    ("source_key", "", "source_key", "source key"),
    ("unit", "", "unit", "unit"),
    ("powertrain", "BEV", "powertrain", "no powertrain"),
])
def test_bad_vintage_row(column: str, value: object, field: str, match: str) -> None:
    frame = _good()
    frame.loc[0, column] = value  # row 1: a parameters row (nev_ratio, known 2015–2016)
    with pytest.raises(InputError, match=match) as err:
        t.check_vintages(frame)
    assert err.value.field == f"policy.params.vintages[row 1].{field}"


def test_bad_bands_vintage_row_and_overlap() -> None:
    frame = _good()
    i = int(np.flatnonzero(frame["table"] == "bands")[0])
    no_value = frame.copy()
    no_value.loc[i, "value"] = np.nan  # only a parameters row may withdraw a rule
    with pytest.raises(InputError, match="missing") as err:
        t.check_vintages(no_value)
    assert err.value.field == f"policy.params.vintages[row {i + 1}].value"
    bad = frame.copy()
    bad.loc[i, "powertrain"] = ""
    with pytest.raises(InputError, match="bands row") as err:
        t.check_vintages(bad)
    assert err.value.field == f"policy.params.vintages[row {i + 1}].lower"
    twice = pd.concat([frame, frame.iloc[[1]]], ignore_index=True)
    with pytest.raises(InputError, match="overlaps"):
        t.check_vintages(twice)


def test_packaged_vintages_pass_the_check() -> None:
    assert t.check_vintages(_good()) is not None
    assert list(t._read("vintages.csv").columns) == t.schema().query("table == 'vintages'")["column"].tolist()


@pytest.mark.parametrize(("known_at", "last"), [
    (None, (2022, 2025, china.TRADE_IN_LAST_YEAR)), (2015, (2020, 2017, None)), (2018, (2020, 2020, None)),
    (2021, (2022, 2022, None)), (2022, (2022, 2023, None)), (2024, (2022, 2025, 2024))])
def test_the_last_year_of_each_extendable_scheme_as_known(known_at: int | None, last: tuple) -> None:
    """The year whose rules an extension keeps: as enacted the years the simulator held before (2022,
    2025, 2026); as known at a cutoff the end announced by then (the vintage rows' notes), or None
    for the trade-in scheme before its first rules (2024-04)."""
    got = tuple(china.scheme_last_year(s, known_at=known_at)
                for s in ("purchase_subsidy", "purchase_tax_exemption", "trade_in"))
    assert got == last
    with pytest.raises(InputError) as err:
        china.scheme_last_year("plates")
    assert err.value.field == "scheme" and err.value.allowed == list(china.EXTENDABLE)
