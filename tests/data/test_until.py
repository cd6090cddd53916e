"""The hard cutoff: no row after ``until`` is ever returned, for every dataset (property test)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nevsim import data

NAMES = data.dataset_names()


@settings(max_examples=120, deadline=None)
@given(name=st.sampled_from(NAMES), until=st.integers(min_value=2005, max_value=2040))
def test_no_row_after_until(name, until):
    frame = data.load(name, until=until)
    column = data.cutoff_column(name)
    if column is None:  # sources: no year, returned whole
        assert len(frame) == len(data.load(name))
        return
    assert (frame[column] <= until).all()
    if name != "targets":
        assert column == "year"
    # nothing observed at or before the cutoff is lost; no projection is kept
    full = data.load(name)
    observed = ~full["category"].isin(data.PROJECTION_CATEGORIES) if "category" in full.columns else True
    assert len(frame) == int(((full[column] <= until) & observed).sum())


@settings(max_examples=40, deadline=None)
@given(until=st.integers(min_value=2005, max_value=2040), region=st.sampled_from(["China", "USA", "EU27", "World"]))
def test_history_respects_until(until, region):
    hist = data.history(region, until=until)
    assert (hist["year"] <= until).all()


@pytest.mark.parametrize(("name", "until"), [("iea_gevo_2025", 2020), ("iea_gevo_2025", 2024), ("iea_gevo_2024", 2029)])
def test_until_drops_projection_rows_of_every_year(name, until):
    """A back-test with data to 2020 sees what was observed by then, not the IEA's 2020 STEPS rows."""
    full = data.load(name, region="China")
    projected = full["category"].isin(data.PROJECTION_CATEGORIES)
    assert (full.loc[projected, "year"] <= until).any()  # the file has projection rows up to the cutoff
    frame = data.load(name, region="China", until=until)
    assert set(frame["category"]) == {"Historical"}
    assert len(frame) == int(((full["year"] <= until) & ~projected).sum())
    assert data.load(name, region="China")["category"].isin(data.PROJECTION_CATEGORIES).any()  # no until: all rows


def test_projection_categories_match_the_schema():
    allowed = data.schema("iea").set_index("column").loc["category", "allowed"].split("|")
    assert set(allowed) - {"Historical"} == set(data.PROJECTION_CATEGORIES)
    assert set(data.load("iea_gevo_2024")["category"]) <= set(allowed)


def test_readme_example_has_only_observations():
    """README's and docs/data.md's ``load("iea_gevo_2025", region="China", until=2020)``: 2020 once, observed."""
    frame = data.load("iea_gevo_2025", region="China", until=2020)
    share = frame[(frame["parameter"] == "EV sales share") & (frame["mode"] == "Cars") & (frame["year"] == 2020)]
    assert len(share) == 1 and share["category"].iloc[0] == "Historical"


def test_targets_filter_on_announced():
    """A back-test with data to 2019 must not see a target set in 2020 (the State Council's 20 %)."""
    t2019 = data.load("targets", region="China", until=2019)
    assert (t2019["announced"] <= 2019).all()
    assert not ((t2019["year"] == 2025) & (t2019["value"] == 20) & t2019["binding"]).any()
    assert ((t2019["year"] == 2025) & (t2019["value"] == 25)).any()  # the 2019 MIIT draft is visible
    t2020 = data.load("targets", region="China", until=2020)
    assert ((t2020["year"] == 2025) & (t2020["value"] == 20) & t2020["binding"]).any()
