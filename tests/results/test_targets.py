"""Targets check and the CAAM-basis NEV share (fixtures are hand-made, see conftest)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nevsim import data
from nevsim.results import Results
from nevsim.targets import (
    BEV_OF_EV,
    CAAM_SHARE_VARIABLE,
    RATIO_YEARS,
    caam_ratio,
    caam_ratio_path,
    check,
)


def test_caam_ratio_matches_the_fact_tables():
    ratios = caam_ratio().set_index("year")
    market = data.load("china_market")
    caam24 = market[(market["variable"] == "NEV share of new vehicle sales (CAAM)") & (market["year"] == 2024)]
    hist = data.history("China")
    car24 = hist[(hist["variable"] == "EV sales share") & (hist["year"] == 2024)]["value"].iloc[0]
    assert ratios.loc[2024, "ratio"] == pytest.approx(caam24["value"].iloc[0] / car24)
    assert ratios.loc[2024, "ratio"] == pytest.approx(40.9 / 48.0)
    assert (ratios["ratio"] > 0.5).all() and (ratios["ratio"] < 1.5).all()


def test_caam_ratio_respects_cutoff():
    assert caam_ratio(until=2022)["year"].max() == 2022


def test_ratio_path_observed_interpolated_held():
    ratios = pd.DataFrame({"year": [2020, 2022, 2023, 2024], "ratio": [1.0, 0.8, 0.9, 0.7]})
    path = caam_ratio_path(np.array([2019, 2020, 2021, 2024, 2030]), ratios)
    held = np.mean([0.8, 0.9, 0.7][-RATIO_YEARS:])
    np.testing.assert_allclose(path, [1.0, 1.0, 0.9, 0.7, held])


def test_caam_share_is_car_share_times_ratio(small_results):
    s = small_results.series
    car = s[s["variable"] == "Sales Share|Cars|EV"].set_index("year")["value"]
    est = s[s["variable"] == CAAM_SHARE_VARIABLE].set_index("year")["value"]
    ratio = caam_ratio_path(car.index.to_numpy(), caam_ratio())
    np.testing.assert_allclose(est.loc[car.index].to_numpy(), np.minimum(100, car.to_numpy() * ratio))
    derived = small_results.meta["derived"][CAAM_SHARE_VARIABLE]
    assert derived["held_ratio"] == pytest.approx(caam_ratio()["ratio"].tail(RATIO_YEARS).mean())
    assert any("CC BY 4.0" in src for src in derived["sources"])


def test_caam_share_capped_at_100(build):
    series = build.series()
    series.loc[series["variable"] == "Sales Share|Cars|EV", "value"] = 150.0  # FIXTURE: impossible on purpose
    res = Results(series, build.makers(), build.meta(), {})
    assert res.series.loc[res.series["variable"] == CAAM_SHARE_VARIABLE, "value"].max() == 100.0


def test_no_caam_share_outside_china(build):
    res = Results(build.series(region="US"), build.makers(region="US"), build.meta(), {})
    assert CAAM_SHARE_VARIABLE not in set(res.series["variable"])
    assert "derived" not in res.meta


def test_check_china_rows_compare_like_with_like(small_results):
    t = small_results.targets().set_index("name")
    assert set(t["region"]) == {"China"}  # other regions' targets do not apply
    official = t.loc["NEV share 2025"]
    assert bool(official["binding"]) and official["target_value"] == 20.0
    assert official["compared_variable"] == CAAM_SHARE_VARIABLE
    assert "CAAM basis" in official["compared_with"]
    est = small_results.value(CAAM_SHARE_VARIABLE, 2025)
    assert official["projected_value"] == pytest.approx(est)
    assert official["gap"] == pytest.approx(est - 20.0)
    assert bool(official["met"]) == (est >= 20.0)
    assert t.loc["NEV share 2027", "compared_variable"] == "Sales Share|Cars|EV"
    assert t.loc["Roadmap 2.0 BEV share of NEVs 2035", "compared_variable"] == BEV_OF_EV
    assert t.loc["NEV volume 2020", "compared_variable"] == "Production|Cars|EV"


def test_check_first_year_met_and_outside_run(small_results):
    t = small_results.targets().set_index("name")
    # fixture: car share 10 + 5·(y − 2020); CAAM estimate = share × ratio. The 2030 roadmap target (40 %)
    # is met first in the first year (≥ 2020, when it was announced) whose estimate reaches 40.
    s = small_results.series
    est = s[s["variable"] == CAAM_SHARE_VARIABLE].set_index("year")["value"]
    first = int(est[est >= 40.0].index.min())
    assert t.loc["Roadmap 2.0 NEV share 2030", "first_year_met"] == first
    # 2035 lies outside the fixture run (2020–2030): no projected value, and it says so
    row = t.loc["Roadmap 2.0 NEV share 2035"]
    assert np.isnan(row["projected_value"]) and pd.isna(row["met"]) and "outside the run" in row["note"]
    # BEV share of EV sales is 70 % in the fixture: the 95 % target is never met
    assert pd.isna(t.loc["Roadmap 2.0 BEV share of NEVs 2035", "first_year_met"])


def test_more_than_is_strict(build):
    series = build.series()
    # FIXTURE: CAAM estimate set to exactly 50 % in 2030 → "over 50 %" is not met, "40 %" is
    series = pd.concat([series, pd.DataFrame({
        "scenario": "fixture", "region": "CN", "variable": CAAM_SHARE_VARIABLE, "unit": "%",
        "year": range(2020, 2036), "value": 50.0})], ignore_index=True)
    res = Results(series, build.makers(), build.meta(), {})
    t = res.targets().set_index("name")
    assert not bool(t.loc["Roadmap 2.0 NEV share 2035", "met"])
    assert bool(t.loc["Roadmap 2.0 NEV share 2030", "met"])


def test_us_run_gets_us_targets_only(build):
    res = Results(build.series(region="US"), build.makers(region="US"), build.meta(), {})
    t = check(res, all_jurisdictions=True).set_index("name")
    assert set(t["region"]) == {"USA"}
    zev = t.loc["ZEV share 2030"]
    assert not zev["binding"] and zev["projected_value"] == 60.0 and bool(zev["met"])
    ca = t.loc["California ACC II 2030"]
    # no ZEV area series (no ACC II in the run): the adopting states' share is the national one
    assert ca["projected_value"] == 60.0 and ca["compared_variable"] == "Sales Share|Cars|EV"
    assert not ca["binding"]  # P.L. 119-16 nullified the waiver (fact table note)


def test_probability_met_with_draws(draws_results):
    t = draws_results.targets().set_index("name")
    # draws have car share 60, 62, 64, 66, 68 in 2030 (cars basis target 45 % by 2027: all draws meet it)
    assert t.loc["NEV share 2027", "probability_met"] == 1.0
    p = t["probability_met"].dropna()
    assert ((p >= 0) & (p <= 1)).all()


def test_real_run_targets(real_results):
    t = real_results.targets().set_index("name")
    row = t.loc["NEV share 2025"]
    assert row["target_value"] == 20.0 and bool(row["binding"])
    # 2025 is a history year: the CAAM-basis estimate reproduces CAAM's observed 47.9 % within 1.5 points
    assert row["projected_value"] == pytest.approx(47.9, abs=1.5)
    assert row["first_year_met"] == 2022  # CAAM: 13.4 % in 2021, 25.6 % in 2022
    assert list(check(real_results).columns[:6]) == ["region", "region_code", "name", "label", "source", "source_key"]


def test_caam_share_with_categorical_labels_and_a_missing_unit():
    """FIXTURE built here: a Monte Carlo-like China table whose EV-share rows lack a unit."""
    import pandas as pd

    from nevsim.results import Results

    s = pd.DataFrame({"scenario": "s", "region": "CN", "variable": "Sales Share|Cars|EV", "unit": [None, None],
                      "year": [2024, 2025], "value": [40.0, 50.0], "draw": [0, 1]})
    for c in ("scenario", "region", "variable", "unit"):
        s[c] = s[c].astype("category")
    makers = pd.DataFrame(columns=["scenario", "region", "maker", "variable", "unit", "year", "value"])
    res = Results(s, makers, {}, {})
    est = res.series[res.series["variable"] == "Sales Share|All Vehicles|NEV"]
    assert len(est) == 2 and est["unit"].isna().all()
    assert isinstance(res.series["variable"].dtype, pd.CategoricalDtype)


def test_revoked_goal_is_labelled_and_kept(build):
    """EO 14037's 50 % goal was revoked on 2025-01-20: the row stays (a reference) and says so in its
    label, note and ``withdrawn`` column; a back-test whose data end before 2025 sees it as live."""
    res = Results(build.series(region="US"), build.makers(region="US"), build.meta(), {})
    t = res.targets()
    goal = t.set_index("name").loc["ZEV share 2030"]
    assert goal["label"] == "ZEV share 2030 (withdrawn 2025)" and goal["withdrawn"] == 2025
    assert goal["note"].startswith("Withdrawn in 2025: kept as a reference, not a target in force.")
    assert "EO 14148" in goal["note"] and goal["projected_value"] == 60.0  # still compared, as a reference
    assert {"EO-14148", "EO-14154"} <= set(goal["source_key"].split(";"))
    assert t["withdrawn"].dtype == "Int64" and t["withdrawn"].notna().sum() == 1
    before = Results(build.series(region="US"), build.makers(region="US"), {**build.meta(), "data_cutoff": 2024}, {})
    live = before.targets()
    assert "ZEV share 2030" in set(live["label"]) and live["withdrawn"].isna().all()


def test_state_targets_left_out_where_the_run_does_not_model_their_standard(build):
    """No ACC II in the run (no ZEV-area series): its ten California targets are not headline rows."""
    res = Results(build.series(region="US"), build.makers(region="US"), build.meta(), {})
    t = res.targets()
    assert not t["name"].str.startswith("California").any()
    assert t.attrs["left_out"] == [f"California ACC II {y}" for y in range(2026, 2036)]
    assert len(check(res, all_jurisdictions=True)) == len(t) + 10


def test_bev_share_of_evs_is_labelled_as_derived(small_results):
    """The BEV share of EV sales is computed from two series: its label says so and names no series."""
    row = small_results.targets().set_index("name").loc["Roadmap 2.0 BEV share of NEVs 2035"]
    assert row["compared_variable"] == BEV_OF_EV and BEV_OF_EV.startswith("derived: ")
    assert BEV_OF_EV not in set(small_results.series["variable"]) and "Sales Share|Cars EV|BEV" not in BEV_OF_EV
    assert row["compared_with"].startswith("derived BEV share of EV car sales")


def test_name_is_the_fact_table_name_and_label_carries_the_status(build):
    """A target's status went into its ``name``, so a lookup by name ("ZEV share 2030") failed; the
    name is now the fact table's, and ``label`` (what views print) adds the status."""
    res = Results(build.series(region="US"), build.makers(region="US"), build.meta(), {})
    t = res.targets()
    facts = data.load("targets")
    assert set(t["name"]) <= set(facts.loc[facts["region"] == "USA", "name"])
    by_name = t.set_index("name")
    assert by_name.loc["ZEV share 2030", "label"] == "ZEV share 2030 (withdrawn 2025)"
    plain = t[t["withdrawn"].isna()]
    assert (plain["label"] == plain["name"]).all()  # no status: the label is the name
    assert list(t["region_code"].unique()) == ["US"]


def test_results_targets_passes_all_jurisdictions_through(build):
    """``Results.targets()`` had no ``all_jurisdictions``: the left-out state targets were only
    reachable through ``nevsim.targets.check``; and ``region_code`` was added by results.py only."""
    res = Results(build.series(region="US"), build.makers(region="US"), build.meta(), {})
    every = res.targets(all_jurisdictions=True)
    pd.testing.assert_frame_equal(every, check(res, all_jurisdictions=True))
    assert {f"California ACC II {y}" for y in range(2026, 2036)} <= set(every["name"])
    assert every.attrs["left_out"] == [] and res.targets().attrs["left_out"]
    assert (check(res)["region_code"] == "US").all()
