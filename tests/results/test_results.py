"""Results: construction, long/IAMC tables, files, statistics (fixtures are hand-made, see conftest)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nevsim.errors import InputError
from nevsim.results import Results, Statistic, region_name, select_years


def test_missing_column_names_field_and_allowed(build):
    series = build.series().drop(columns="unit")
    with pytest.raises(InputError) as err:
        Results(series, build.makers(), build.meta(), {})
    assert err.value.field == "Results.series"
    assert "unit" in str(err.value) and "draw" in err.value.allowed


def test_not_a_frame_or_dict_is_refused(build):
    with pytest.raises(InputError, match="DataFrame"):
        Results([], build.makers(), build.meta(), {})  # type: ignore[arg-type]
    with pytest.raises(InputError, match="dict"):
        Results(build.series(), build.makers(), "meta", {})  # type: ignore[arg-type]


def test_frozen_and_normalised(small_results):
    with pytest.raises(AttributeError):
        small_results.meta = {}  # type: ignore[misc]
    s = small_results.series
    assert list(s.columns) == ["scenario", "region", "variable", "unit", "year", "value"]
    assert s["year"].dtype == "int64" and s["value"].dtype == "float64"


def test_inputs_are_not_mutated(build):
    series, meta = build.series(), build.meta()
    before = series.copy()
    Results(series, build.makers(), meta, {})
    pd.testing.assert_frame_equal(series, before)
    assert "derived" not in meta


def test_to_frame_filters(small_results):
    f = small_results.to_frame(variables=["Sales Share|Cars|EV"], years=(2022, 2024), region="China")
    assert f["year"].tolist() == [2022, 2023, 2024]
    assert f["value"].tolist() == [20.0, 25.0, 30.0]
    assert set(f["unit"]) == {"%"}
    with pytest.raises(InputError) as err:
        small_results.to_frame(variables=["No Such|Variable"])
    assert "Sales Share|Cars|EV" in err.value.allowed
    with pytest.raises(InputError) as err:
        small_results.to_frame(region="US")
    assert err.value.allowed == ["CN"]


def test_value_and_unknown(small_results):
    assert small_results.value("Sales Share|Cars|EV", 2030) == 60.0
    with pytest.raises(InputError, match="year"):
        small_results.value("Sales Share|Cars|EV", 1999)


def test_iamc_wide_format(small_results, build):
    wide = small_results.to_iamc()
    assert list(wide.columns[:5]) == ["Model", "Scenario", "Region", "Variable", "Unit"]
    assert list(wide.columns[5:]) == build.years
    assert set(wide["Model"]) == {"nevsim 0.1.0"}
    assert set(wide["Region"]) == {"China"}
    assert wide["Variable"].is_unique
    row = wide[wide["Variable"] == "Sales Share|Cars|EV"].iloc[0]
    assert row["Unit"] == "%" and row[2020] == 10.0 and row[2030] == 60.0


def test_iamc_with_draws_gives_percentiles(draws_results):
    wide = draws_results.to_iamc()
    med = wide[wide["Variable"] == "Sales Share|Cars|EV|50.0th Percentile"].iloc[0]
    assert med[2020] == pytest.approx(14.0)  # draws 10, 12, 14, 16, 18
    assert (wide["Variable"] == "Sales Share|Cars|EV|5.0th Percentile").any()


def test_csv_and_parquet_round_trip(small_results, tmp_path):
    small_results.to_csv(tmp_path / "s.csv")
    back = pd.read_csv(tmp_path / "s.csv")
    pd.testing.assert_frame_equal(back, small_results.series, check_dtype=False)
    small_results.to_iamc_csv(tmp_path / "i.csv")
    assert pd.read_csv(tmp_path / "i.csv").shape == small_results.to_iamc().shape
    small_results.to_parquet(tmp_path / "s.parquet")
    table = pq.read_table(tmp_path / "s.parquet")
    pd.testing.assert_frame_equal(table.to_pandas(), small_results.series, check_dtype=False)
    assert json.loads(table.schema.metadata[b"nevsim.meta"])["run_id"] == "fixture0001"
    small_results.to_parquet(tmp_path / "m.parquet", table="makers")
    assert len(pd.read_parquet(tmp_path / "m.parquet")) == len(small_results.makers)
    with pytest.raises(InputError):
        small_results.to_parquet(tmp_path / "x.parquet", table="nope")


def test_repr_is_readable(small_results):
    text = repr(small_results)
    assert "fixture" in text and "2020–2030" in text and "history to 2024" in text
    assert "2030 60.0 %" in text


# ---------------------------------------------------------------------------- statistics


def test_ev_share_statistic_table_and_unit(small_results):
    stat = small_results.stats.ev_share(years=range(2020, 2023))
    assert isinstance(stat, Statistic)
    assert stat.attrs["unit"] == "%" and stat.unit == "%"
    assert list(stat.columns) == ["EV", "BEV", "PHEV"]
    assert stat.index.tolist() == [2020, 2021, 2022]
    assert stat.loc[2021, "BEV"] == pytest.approx(0.7 * 15.0)
    # slices keep the class and the unit
    assert isinstance(stat[["EV"]], Statistic) and stat[["EV"]].attrs["unit"] == "%"


@pytest.mark.parametrize(("method", "unit", "column"), [
    ("credit_price", "CNY/credit", "NEV"), ("stock", "vehicles", "EV"), ("chargers", "chargers", "Public chargers"),
    ("oil", "thousand barrels/day", "Oil displaced"), ("co2", "Mt CO2/yr", "CO2"),
    ("electricity", "TWh", "Electricity"), ("evs_per_charger", "vehicles/charger", "EVs per public charger"),
    ("sales", "vehicles", "BEV"),
])
def test_each_statistic_has_unit_and_plots_the_same_numbers(small_results, method, unit, column):
    stat = getattr(small_results.stats, method)(years=(2021, 2025))
    assert stat.attrs["unit"] == unit
    fig = stat.plot()
    assert isinstance(fig, go.Figure)
    traces = {t.name: t for t in fig.data}
    assert column in traces
    np.testing.assert_allclose(np.asarray(traces[column].y, dtype=float), stat[column].to_numpy(dtype=float))
    assert unit in fig.layout.yaxis.title.text


def test_maker_balances_who_sells_who_buys(small_results):
    bal = small_results.stats.maker_balances()
    assert bal.attrs["unit"] == "credits"
    assert list(bal.columns) == ["PureEV", "Legacy"]  # largest surplus first
    assert (bal["PureEV"] > 0).all() and (bal["Legacy"] < 0).all()
    assert isinstance(bal.plot(), go.Figure)
    with pytest.raises(InputError):
        small_results.stats.maker_balances(variable="Credits|Nope")


def test_statistic_with_draws_gives_quantiles_and_a_band(draws_results):
    stat = draws_results.stats.ev_share(years=2020)
    assert stat.columns.names == ["series", "quantile"]
    assert stat.loc[2020, ("EV", 0.5)] == pytest.approx(14.0)
    assert stat.loc[2020, ("EV", 0.05)] == pytest.approx(np.quantile([10, 12, 14, 16, 18], 0.05))
    fig = stat.plot()
    assert any(t.fill == "tonexty" for t in fig.data)


def test_mixed_units_refused(small_results):
    with pytest.raises(InputError, match="one unit"):
        small_results.stats.variables({"a": "Sales Share|Cars|EV", "b": "Stock|Cars|EV"}, title="x")


def test_region_aliases(small_results):
    assert region_name("cn") == "China"
    a = small_results.stats.co2(region="CN")
    b = small_results.stats.co2(region="China")
    pd.testing.assert_frame_equal(a, b)


def test_bad_years_keyword(small_results):
    with pytest.raises(InputError) as err:
        small_results.stats.co2(years="soon")
    assert err.value.field == "years"


@settings(max_examples=40, deadline=None)
@given(st.integers(2000, 2100), st.integers(0, 60))
def test_select_years_forms_agree(first, length):
    frame = pd.DataFrame({"year": np.arange(1990, 2200), "value": 0.0})
    last = first + length
    by_tuple = select_years(frame, (first, last))
    pd.testing.assert_frame_equal(by_tuple, select_years(frame, range(first, last + 1)))
    pd.testing.assert_frame_equal(by_tuple, select_years(frame, slice(first, last)))
    assert by_tuple["year"].tolist() == list(range(first, last + 1))


# ---------------------------------------------------------------------------- real run


def test_real_run_contract_variables(real_results):
    names = set(real_results.series["variable"])
    required = {"Sales Share|Cars|EV", "Sales Share|Cars|BEV", "Sales Share|Cars|PHEV", "Sales|Cars|ICE",
                "Sales|Cars|HEV", "Sales|Cars|PHEV", "Sales|Cars|BEV", "Price|Credit|NEV", "Stock|Cars|EV",
                "Chargers|Public", "Oil Displacement", "Emissions|CO2|Cars", "Price|Battery Pack",
                "Sales Share|All Vehicles|NEV"}
    assert required <= names
    share = real_results.stats.ev_share()
    assert share.loc[2024, "EV"] == pytest.approx(48.0, abs=1.0)
    np.testing.assert_allclose(share["BEV"] + share["PHEV"], share["EV"], atol=1e-9)
    wide = real_results.to_iamc()
    assert wide["Variable"].is_unique and 2060 in wide.columns



@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-1e9, 1e9, allow_nan=False), min_size=11, max_size=11),
       st.sampled_from(["CN", "US"]))
def test_iamc_holds_every_value_of_the_long_table(values, region):
    """FIXTURE built here: one variable with arbitrary values; IAMC wide → long gives them back."""
    years = list(range(2020, 2031))
    series = pd.DataFrame({"scenario": "s", "region": region, "variable": "Stock|Cars|EV", "unit": "vehicles",
                           "year": years, "value": values})
    makers = pd.DataFrame(columns=["scenario", "region", "maker", "variable", "unit", "year", "value"])
    res = Results(series, makers, {"nevsim_version": "9.9"}, {})
    wide = res.to_iamc()
    assert set(wide["Model"]) == {"nevsim 9.9"} and set(wide["Region"]) == {region_name(region)}
    long = wide.melt(id_vars=["Model", "Scenario", "Region", "Variable", "Unit"], var_name="year")
    long = long[long["Variable"] == "Stock|Cars|EV"].sort_values("year")
    np.testing.assert_array_equal(long["value"].to_numpy(dtype=float), np.array(values))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", None]), st.integers(2030, 2032)), min_size=1, max_size=40),
       st.integers(1, 6), st.booleans())
def test_cell_codes_number_label_combinations_in_order_of_first_appearance(rows, repeat, categorical):
    """Both ways of numbering (blocks of repeated rows, as simulated; every row coded) give the
    numbering of pandas.factorize on the label tuples, and each cell's labels."""
    from nevsim.results import cell_codes

    frame = pd.DataFrame([r for r in rows for _ in range(repeat)], columns=["variable", "year"])
    if categorical:
        frame["variable"] = frame["variable"].astype("category")
    cell, labels = cell_codes(frame, ["variable", "year"])
    tuples = list(zip(frame["variable"].astype(object).where(frame["variable"].notna(), None), frame["year"],
                      strict=True))
    want, uniques = pd.factorize(pd.Series(tuples, dtype=object))
    assert cell.tolist() == want.tolist()
    got = [(None if pd.isna(v) else v, int(y)) for v, y in zip(labels["variable"], labels["year"], strict=True)]
    assert got == [(None if v is None else v, int(y)) for v, y in uniques]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(2030, 2031), st.integers(1, 9)),
                min_size=1, max_size=30), st.integers(1, 8), st.booleans())
def test_cell_blocks_are_the_same_found_in_pieces_on_threads(blocks, piece_rows, categorical):
    """Blocks found piece by piece (a block may start at a piece's first row) are those of one pass."""
    from nevsim import results as results_module

    frame = pd.DataFrame([(v, y) for v, y, n in blocks for _ in range(n)], columns=["variable", "year"])
    if categorical:
        frame["variable"] = frame["variable"].astype("category")
    whole = results_module.cell_blocks(frame, ["variable", "year"])
    with pytest.MonkeyPatch.context() as m:
        m.setattr(results_module, "_PIECE_ROWS", piece_rows)
        pieces = results_module.cell_blocks(frame, ["variable", "year"])
    assert (whole is None) == (pieces is None)
    if whole is not None and pieces is not None:
        assert whole[0].tolist() == pieces[0].tolist()
        assert {k: v.tolist() for k, v in whole[1].items()} == {k: v.tolist() for k, v in pieces[1].items()}
        changes = [0] + [i for i in range(1, len(frame)) if tuple(frame.iloc[i]) != tuple(frame.iloc[i - 1])]
        assert whole[0].tolist() == changes


@settings(max_examples=120, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["CN", "US"]), st.sampled_from(["a", "b", "c", None]),
                          st.integers(2030, 2032)), min_size=0, max_size=60),
       st.integers(1, 12), st.booleans(), st.booleans(),
       st.sets(st.sampled_from(["a", "b", "c", "zz"]), max_size=3), st.sampled_from([None, "CN", "US"]))
def test_row_index_selects_what_a_row_by_row_comparison_selects(rows, repeat, categorical, shuffle, wanted, region):
    """Rows side by side (as simulated) or interleaved (forcing the sort), text or categorical
    labels, missing labels: ``_rows`` gives the rows a boolean mask gives, in the table's order,
    and ``labels`` the labels present."""
    frame = pd.DataFrame([(*r, float(i)) for i, r in enumerate(rows) for _ in range(repeat)],
                         columns=["region", "variable", "year", "value"])
    if shuffle:
        frame = frame.sample(frac=1.0, random_state=len(frame)).reset_index(drop=True)
    frame.insert(0, "scenario", "s")
    frame.insert(3, "unit", "u")
    if categorical:
        for c in ("region", "variable"):
            frame[c] = frame[c].astype(pd.CategoricalDtype(["CN", "US"] if c == "region" else ["a", "b", "c", "unused"]))
    makers = pd.DataFrame(columns=["scenario", "region", "maker", "variable", "unit", "year", "value"])
    res = Results(frame, makers, {}, {})
    s = res.series
    names = sorted(wanted)
    for reg in (None, region):
        mask = np.ones(len(s), dtype=bool) if reg is None else (s["region"] == reg).to_numpy()
        got = res._rows("series", region=reg, variables=names)
        want = s[mask & s["variable"].isin(names).to_numpy()]
        assert got.index.tolist() == want.index.tolist()
        assert got["value"].tolist() == want["value"].tolist()
        everything = res._rows("series", region=reg)
        assert everything.index.tolist() == s[mask].index.tolist()
        present = {v for v in s.loc[mask, "variable"].tolist() if not pd.isna(v)}
        assert {v for v in (res.labels(region=reg) if reg in (None, *res.regions) else set()) if not pd.isna(v)} \
            == (present if reg in (None, *res.regions) else set())
    assert res.regions == sorted(set(s["region"].tolist()))
    assert res.years == sorted(set(int(y) for y in s["year"].tolist()))


def test_remembered_labels_follow_the_tables(draws_results):
    """Labels, years and draw counts are worked out once, and again if a table is replaced."""
    res = draws_results
    assert res.n_draws == 5 and res.years == list(range(2020, 2031))
    assert "Sales Share|Cars|EV" in res.labels() and res.labels("region") == {"CN"}
    assert res.labels("maker", table="makers") == set(res.makers["maker"].astype(str).unique())
    shorter = res.series[res.series["year"] <= 2025].reset_index(drop=True)
    object.__setattr__(res, "series", shorter)  # (tables are not meant to be replaced; the memo notices)
    assert res.years == list(range(2020, 2026))
    with pytest.raises(InputError) as err:
        res.labels("colour")
    assert err.value.field == "column" and "variable" in err.value.allowed
    with pytest.raises(InputError) as err:
        res.labels(table="fleet")
    assert err.value.field == "table" and err.value.allowed == ["series", "makers"]


@pytest.mark.parametrize("shuffle", [False, True])
def test_variables_lists_every_variable_and_unit_pair(shuffle):
    """Also a variable given in two units within one block of rows (hand-made; the model never does)."""
    series = pd.DataFrame({"scenario": "s", "region": "CN", "variable": ["a", "a", "a", "b", "b"],
                           "unit": ["%", "%", "share", "t", "t"], "year": [2020, 2021, 2022, 2020, 2021],
                           "value": 1.0})
    if shuffle:
        series = series.iloc[[3, 0, 4, 2, 1]]
    makers = pd.DataFrame(columns=["scenario", "region", "maker", "variable", "unit", "year", "value"])
    res = Results(series, makers, {}, {})
    got = res.variables
    assert got.values.tolist() == [["a", "%"], ["a", "share"], ["b", "t"]]
    got.loc[0, "unit"] = "edited"  # the caller's copy
    assert res.variables.values.tolist()[0] == ["a", "%"]


def test_rows_added_in_place_are_noticed(draws_results):
    """The remembered years and rows follow a table whose length changed in place."""
    res = draws_results
    assert res.years[-1] == 2030
    with pytest.raises(InputError):
        res.value("Sales Share|Cars|EV", 2031)
    row = res.series.iloc[-1].copy()
    row["year"], row["value"] = 2031, 42.0
    res.series.loc[len(res.series)] = row
    assert res.years[-1] == 2031
    assert res.value(row["variable"], 2031) == 42.0


def test_the_memo_is_not_part_of_the_run(draws_results):
    """Fields, asdict, replace and pickles carry the run's tables and metadata, not what was remembered."""
    import dataclasses
    import pickle

    res = draws_results
    assert res.years and res.labels()  # fill the memo
    assert [f.name for f in dataclasses.fields(res)] == ["series", "makers", "meta", "scenario"]
    assert list(dataclasses.asdict(res)) == ["series", "makers", "meta", "scenario"]
    back = pickle.loads(pickle.dumps(res))
    assert back._memo == {} and back.years == res.years
    assert dataclasses.replace(res, meta={"run_id": "x"})._memo == {}


def test_results_compare_by_value(draws_results, small_results, tmp_path) -> None:
    """``==`` compares meta, scenario and tables by value (was: pandas' 'truth value is ambiguous')."""
    import copy
    import json
    import pickle

    from nevsim.store import Store

    assert draws_results == draws_results and draws_results == pickle.loads(pickle.dumps(draws_results))
    assert draws_results == copy.deepcopy(draws_results) and draws_results != small_results
    assert (draws_results == 5) is False and draws_results != "x"
    with pytest.raises(TypeError):
        hash(draws_results)
    loaded = Store(tmp_path / "s.duckdb").load(Store(tmp_path / "s.duckdb").save(draws_results))
    as_json = Results(draws_results.series, draws_results.makers,
                      json.loads(json.dumps({**draws_results.meta}, default=str)), draws_results.scenario)
    assert loaded == as_json  # categorical labels from the store, text in the fixture: the same values
    changed = draws_results.series.copy()
    changed.loc[3, "value"] = np.nextafter(changed.loc[3, "value"], np.inf)  # one bit
    assert Results(changed, draws_results.makers, draws_results.meta, draws_results.scenario) != draws_results
    relabelled = draws_results.series.copy()
    relabelled["unit"] = relabelled["unit"].astype("category").cat.rename_categories(lambda u: u + "!")
    assert Results(relabelled, draws_results.makers, draws_results.meta, draws_results.scenario) != draws_results
    missing = draws_results.series.copy()
    missing["value"] = np.nan
    assert Results(missing, draws_results.makers, draws_results.meta, draws_results.scenario) == \
        Results(missing.copy(), draws_results.makers, draws_results.meta, draws_results.scenario)  # NaN == NaN


@pytest.mark.parametrize(("a", "b", "equal"), [
    (pd.Categorical(["x", "y", "x"], categories=["x", "y"]), pd.Categorical(["x", "y", "x"], categories=["y", "x"]),
     True),  # category order does not matter
    (pd.Categorical(["x", "y"], categories=["x", "y", "unused"]), pd.Categorical(["x", "y"]), True),
    (pd.Categorical(["x", None]), pd.Categorical(["x", None], categories=["x", "z"]), True),  # missing = missing
    (pd.Categorical(["x", None]), pd.Categorical(["x", "z"]), False),
    (pd.Categorical(["x", "y"]), pd.Series(["x", "y"], dtype=object), True),  # categorical vs text
    (pd.Categorical(["x", "y"]), pd.Categorical(["x", "q"]), False),  # a label the other lacks
    (np.array([0.0, np.nan]), np.array([-0.0, np.nan]), True),  # as numbers; NaN = NaN
    (np.array([2**53 + 1]), np.array([2**53]), False),  # whole numbers compared exactly
    (np.array([1.0, 2.0]), np.array([1, 2]), True),
    (np.array([], dtype=float), np.array([], dtype=float), True),
])
def test_results_columns_compare_by_value(a, b, equal) -> None:
    from nevsim.results import _same_column

    assert _same_column(pd.Series(a), pd.Series(b)) is equal
    assert _same_column(pd.Series(b), pd.Series(a)) is equal
