"""What a Results says when asked for what it does not hold, what its tables carry in ``attrs``,
and how its CSV files print numbers (QA findings: years listed one by one, empty statistics
instead of an error, ``to_frame().attrs == {}``, float noise such as 0.010000000000000018)."""

from __future__ import annotations

import pandas as pd
import pytest

from nevsim.errors import InputError


def test_value_outside_the_run_gives_the_years_as_a_range(small_results):
    with pytest.raises(InputError) as err:
        small_results.value("Sales Share|Cars|EV", 2070)
    assert err.value.field == "year" and err.value.allowed == ["2020–2030"]  # (was all 11 years, one by one)
    assert "the run covers 2020–2030" in err.value.message


@pytest.mark.parametrize("years", [2099, [2025, 2099], (2040, 2050), slice(2031, None), range(1990, 2000)])
def test_statistics_refuse_years_outside_the_run(small_results, years):
    for call in (lambda: small_results.stats.ev_share(years=years),
                 lambda: small_results.stats.maker_balances(years=years)):
        with pytest.raises(InputError) as err:
            call()
        assert err.value.field == "years" and err.value.allowed == ["2020–2030"]


def test_statistics_cut_a_span_to_the_years_there_are(small_results, draws_results):
    assert list(small_results.stats.ev_share(years=(2028, 2040)).index) == [2028, 2029, 2030]
    assert list(small_results.stats.ev_share(years=range(2029, 2060)).index) == [2029, 2030]
    assert list(draws_results.stats.maker_balances(years=[2020, 2030]).index) == [2020, 2030]
    assert small_results.stats.ev_share(years=2025)["EV"].iloc[0] == pytest.approx(35.0)


def test_frames_carry_run_units_and_sources_in_attrs(small_results):
    res = small_results
    res.meta["sources"] = ["IEA (2025) Global EV Outlook 2025, CC BY 4.0"]
    frame = res.to_frame()
    attrs = frame.attrs
    assert attrs["scenario"] == "fixture" and attrs["scenario_hash"] == "ab" * 32 and attrs["draws"] == 1
    assert attrs["sources"] == ["IEA (2025) Global EV Outlook 2025, CC BY 4.0"]
    assert attrs["units"]["Sales Share|Cars|EV"] == "%" and attrs["units"]["Stock|Cars|EV"] == "vehicles"
    assert set(attrs["units"]) == set(frame["variable"])
    assert res.to_frame(variables="Chargers|Public").attrs["units"] == {"Chargers|Public": "chargers"}
    assert res.makers_frame().attrs["units"] == {"Credits|NEV|Balance": "credits", "Sales|Cars|BEV": "vehicles"}
    assert res.to_iamc().attrs["run_id"] == "fixture0001"
    assert res.stats.ev_share().attrs["sources"] == attrs["sources"]


def test_targets_carry_the_region_code_of_the_long_tables(real_results):
    t = real_results.targets()
    assert list(t.columns[:2]) == ["region", "region_code"]
    assert set(t["region"]) == {"China"} and set(t["region_code"]) == {"CN"} == set(real_results.to_frame()["region"])


def test_csv_files_print_no_float_noise(build, tmp_path):
    from nevsim.results import Results

    series = build.series()
    noisy = {0.010000000000000018: "0.01", 1139999.9999999988: "1140000", 47.90000000015322: "47.9",
             0.1 + 0.2: "0.3"}
    series.loc[: len(noisy) - 1, "value"] = list(noisy)
    res = Results(series, build.makers(), build.meta(), {"name": "fixture", "region": "CN"})
    res.to_csv(tmp_path / "s.csv")
    text = (tmp_path / "s.csv").read_text().splitlines()
    assert [line.rsplit(",", 1)[1] for line in text[1:len(noisy) + 1]] == list(noisy.values())
    back = pd.read_csv(tmp_path / "s.csv")
    # nothing the model means is lost: 10 significant digits, finer than its solvers' tolerances (1e-9)
    assert ((back["value"] - res.series["value"]).abs() <= 5e-10 * res.series["value"].abs()).all()
    assert res.series["value"].iloc[0] == 0.010000000000000018  # the table in memory keeps every bit
    res.to_iamc_csv(tmp_path / "i.csv")
    assert "0.010000000000000018" not in (tmp_path / "i.csv").read_text()
    res.to_csv(tmp_path / "m.csv", table="makers")
    assert len(pd.read_csv(tmp_path / "m.csv")) == len(res.makers)
    with pytest.raises(InputError):
        res.to_csv(tmp_path / "x.csv", table="nope")


@pytest.mark.parametrize(("years", "says"), [
    (2099, "no results for 2099"), (slice(2070, None), "the years from 2070"), (slice(None, 2000), "the years to 2000"),
    ([], "names no year"), ((2070, 2080), "no results in 2070–2080"),
])
def test_to_frame_refuses_years_the_run_does_not_hold(years: object, says: str) -> None:
    """to_frame(years=2099) returned an empty frame while value() and the statistics refused the year;
    an open slice printed "2070–None"; an empty list gave an empty table (review of 2026-12-01)."""
    import nevsim

    res = nevsim.run(nevsim.load_scenario("china-current-policies", {"years": {"last": 2030}}))
    with pytest.raises(InputError) as err:
        res.to_frame(years=years)
    assert err.value.field == "years" and says in err.value.message and "None" not in err.value.message
    assert err.value.allowed == ["2010–2030"]
    with pytest.raises(InputError):
        res.makers_frame(years=years)
    assert len(res.to_frame(years=slice(2029, None))) and len(res.to_frame(years=[2020, 2030]))


def test_a_generator_of_years_selects_its_years_and_bad_spans_say_what_is_wrong() -> None:
    """Checking the years used up a generator, so to_frame(years=(y for y in …)) returned no rows
    with no error; a reversed span said "no results in 2030–2025", an empty range "0–-1"."""
    import nevsim

    res = nevsim.run(nevsim.load_scenario("china-current-policies", {"years": {"last": 2030}}))
    assert sorted(res.to_frame(years=(y for y in [2025, 2030]))["year"].unique()) == [2025, 2030]
    assert sorted(res.makers_frame(years=(y for y in [2025, 2030]))["year"].unique()) == [2025, 2030]
    assert list(res.stats.ev_share(years=(y for y in [2025, 2030])).index) == [2025, 2030]
    with pytest.raises(InputError, match="runs backwards: first year 2030 is after last year 2025"):
        res.to_frame(years=(2030, 2025))
    with pytest.raises(InputError, match="names no year"):
        res.to_frame(years=range(0))
