"""The hard cutoff: no row after ``until`` is ever returned, for every dataset (property test)."""

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
    # nothing at or before the cutoff is lost
    full = data.load(name)
    assert len(frame) == int((full[column] <= until).sum())


@settings(max_examples=40, deadline=None)
@given(until=st.integers(min_value=2005, max_value=2040), region=st.sampled_from(["China", "USA", "EU27", "World"]))
def test_history_respects_until(until, region):
    hist = data.history(region, until=until)
    assert (hist["year"] <= until).all()


def test_projection_rows_after_until_are_dropped():
    full = data.load("iea_gevo_2024")
    assert (full.loc[full["category"].str.startswith("Projection"), "year"] > 2029).any()
    frame = data.load("iea_gevo_2024", until=2029)
    proj = frame[frame["category"].str.startswith("Projection")]
    assert not proj.empty and proj["year"].max() <= 2029


def test_targets_filter_on_announced():
    """A back-test with data to 2019 must not see a target set in 2020 (the State Council's 20 %)."""
    t2019 = data.load("targets", region="China", until=2019)
    assert (t2019["announced"] <= 2019).all()
    assert not ((t2019["year"] == 2025) & (t2019["value"] == 20) & t2019["binding"]).any()
    assert ((t2019["year"] == 2025) & (t2019["value"] == 25)).any()  # the 2019 MIIT draft is visible
    t2020 = data.load("targets", region="China", until=2020)
    assert ((t2020["year"] == 2025) & (t2020["value"] == 20) & t2020["binding"]).any()
