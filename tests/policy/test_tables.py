"""The policy parameter tables: schema, sources, coverage, audit and show."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nevsim.errors import InputError
from nevsim.policy import _tables as t
from nevsim.policy import audit, show


@pytest.mark.parametrize("table", ["parameters", "bands", "plates", "sources"])
def test_schema_declares_exactly_the_columns(table: str) -> None:
    declared = t.schema().query("table == @table")["column"].tolist()
    frame = t._read(f"{table}.csv")
    assert list(frame.columns) == declared


@pytest.mark.parametrize("loader", [t._parameters, t._bands, t._plates])
def test_every_rule_row_has_value_unit_source_and_status(loader) -> None:
    frame = loader()
    assert frame["status"].isin(["V", "S", "U", "D"]).all()
    assert (frame["source_key"].str.len() > 0).all()
    assert (frame["unit"].str.len() > 0).all()
    if "year_from" in frame:
        assert (frame["year_from"] <= frame["year_to"]).all()
        assert frame["value"].notna().all()


def test_every_source_key_resolves() -> None:
    keys = set(t.sources()["source_key"])
    used = set()
    for frame in (t._parameters(), t._bands(), t._plates()):
        for k in frame["source_key"]:
            used.update(s for s in k.split(";") if s)
    assert used <= keys, sorted(used - keys)


def test_no_overlapping_year_ranges() -> None:
    p = t._parameters()
    for _, g in p.groupby(["region", "standard", "param"]):
        g = g.sort_values("year_from")
        assert (g["year_from"].to_numpy()[1:] > g["year_to"].to_numpy()[:-1]).all(), g
    b = t._bands()
    for _, g in b.groupby(["region", "standard", "param", "powertrain", "lower"]):
        g = g.sort_values("year_from")
        assert (g["year_from"].to_numpy()[1:] > g["year_to"].to_numpy()[:-1]).all(), g


def test_bands_do_not_overlap_within_a_year() -> None:
    b = t._bands()
    for (_, _, _, _, y0), g in b.groupby(["region", "standard", "param", "powertrain", "year_from"]):
        g = g.sort_values("lower")
        assert (g["lower"].to_numpy()[1:] >= g["upper"].to_numpy()[:-1]).all(), (y0, g)


def test_row_outside_coverage_names_field_and_range() -> None:
    with pytest.raises(InputError) as err:
        t.row("CN", "NEV", "nev_ratio", 2031)
    assert err.value.field == "year"
    assert err.value.allowed == ["2000–2027"]
    assert "extend='hold'" in str(err.value)
    assert t.row("CN", "NEV", "nev_ratio", 2031, extend="hold").value == 0.58
    with pytest.raises(InputError):
        t.row("CN", "NEV", "nev_ratio", 1999, extend="hold")
    with pytest.raises(InputError, match="unknown extension"):
        t.row("CN", "NEV", "nev_ratio", 2031, extend="linear")


@pytest.mark.parametrize("bad", [2022.5, "abc", None, True])
def test_year_must_be_an_integer(bad) -> None:
    with pytest.raises(InputError):
        t.check_year(bad)


def test_audit_lists_unconfirmed_first_with_urls() -> None:
    a = audit()
    n = len(t._parameters()) + len(t._bands()) + len(t._plates()) + len(t._vintages())
    assert len(a) == n
    ranks = a["status"].map(t.STATUS_ORDER).to_numpy()
    assert (np.diff(ranks) >= 0).all()
    assert a["status"].iloc[0] == "U"
    assert not a["source_urls"].str.contains("unknown source key").any()
    vintage = a[a["table"] == "vintages"]
    assert len(vintage) == len(t._vintages()) and vintage["note"].str.startswith("replaces ").all()


def test_audit_returns_a_copy() -> None:
    a = audit()
    a.loc[:, "value"] = -1.0
    assert (audit()["value"] != -1.0).any()


def test_show_china_2022() -> None:
    s = show("China", 2022)
    ratio = s.query("param == 'nev_ratio'")
    assert ratio["value"].tolist() == [0.16]
    assert set(s["standard"]) >= {"NEV", "CAFC", "SUBSIDY", "TAX"}
    assert isinstance(s, pd.DataFrame)


@pytest.mark.parametrize("region", ["XX", "", "Japan"])
def test_show_unknown_region(region: str) -> None:
    with pytest.raises(InputError) as err:
        show(region, 2022)
    assert err.value.field == "region"
    assert err.value.allowed == ["CN", "US", "EU"]


def test_show_as_known_at_a_cutoff() -> None:
    """The rules for 2021 as issued by the end of 2018: no subsidy programme after 2020, the tax
    exemption ending with 2020, no NEV ratio set for 2021 yet (2020's 12 % held, as the simulator
    holds it); years up to the cutoff as enacted."""
    known = show("CN", 2021, known_at=2018)
    one = lambda s, param: s.query(f"param == '{param}'")["value"].tolist()  # noqa: E731
    assert one(known, "subsidy_active") == [0.0] and one(known, "nev_exemption_share") == [0.0]
    assert one(known, "nev_ratio") == [0.12]
    assert known.query("param == 'nev_ratio'")["held_from"].tolist() == [2020]
    enacted = show("CN", 2021)
    assert one(enacted, "subsidy_active") == [1.0] and one(enacted, "nev_ratio") == [0.14]
    pd.testing.assert_frame_equal(show("CN", 2018, known_at=2018), show("CN", 2018))
    for region, bad, field in (("US", 2018, "known_at"), ("CN", 2030, "known_at")):
        with pytest.raises(InputError) as err:
            show(region, 2021, known_at=bad)
        assert err.value.field == field and err.value.allowed


def test_show_year_outside_coverage() -> None:
    with pytest.raises(InputError):
        show("EU", 2010)


def test_show_and_audit_list_the_30d_maker_phaseout() -> None:
    """``policy show US 2020`` lists the phase-out factors with their sources; the audit resolves
    every source key of the rows to a URL."""
    s = show("US", 2020).set_index("param")
    assert s.loc["maker_phaseout_factor_bev", "value"] == 0.0447
    assert s.loc["maker_phaseout_factor_phev", "value"] == 1.0
    assert "IRS-2018-96" in s.loc["maker_phaseout_factor_bev", "source_key"]
    assert s.loc["maker_phaseout_factor_bev", "status"] == "D"
    a = audit()
    rows = a[a["param"].str.startswith("maker_phaseout_factor")]
    assert len(rows) == 11 and set(rows["region"]) == {"US"}
    assert rows["source_urls"].str.startswith("http").all()
    assert not rows["source_urls"].str.contains("unknown source key").any()
    assert "mgfinancial.net" in rows.query("param == 'maker_phaseout_factor_bev' and year_from == 2019")[
        "source_urls"].iloc[0]
