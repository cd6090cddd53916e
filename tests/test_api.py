import nevsim


def test_top_level_api_runs_the_default_scenario():
    scenario = nevsim.load_scenario("china-current-policies")
    res = nevsim.run(scenario)
    frame = res.to_frame()
    share = frame[(frame["variable"] == "Sales Share|Cars|EV") & (frame["year"] == 2024)]["value"]
    assert abs(float(share.iloc[0]) - 48.0) < 1.0
    assert "china-current-policies" in nevsim.list_scenarios()


def test_unknown_attribute_is_an_attribute_error():
    import pytest

    with pytest.raises(AttributeError):
        nevsim.not_a_thing  # noqa: B018


def test_run_takes_a_region_as_the_cli_does():
    """QA: ``nevsim.run(..., region=...)`` was a plain TypeError though the CLI has --region."""
    import pytest

    us = nevsim.run(region="us")
    assert us.regions == ["US"] and us.meta["scenario"] == "us-current-policies"
    assert nevsim.run("china-current-policies", region="China", makers=False).regions == ["CN"]
    for kwargs, allowed in (({"scenario": "china-current-policies", "region": "US"}, ["CN"]),
                            ({"region": "all"}, ["CN", "US", "EU"]), ({"region": "Mars"}, ["CN", "US", "EU"])):
        with pytest.raises(nevsim.InputError) as err:
            nevsim.run(**kwargs)
        assert err.value.field == "region" and err.value.allowed == allowed
        if kwargs["region"] == "all":  # (says how to do it from Python)
            assert "nevsim.run(region=c)" in err.value.message and "share_table" in err.value.message


def test_run_takes_every_keyword_of_simulate_run():
    import inspect

    from nevsim import simulate

    ours = inspect.signature(nevsim.run).parameters
    theirs = inspect.signature(simulate.run).parameters
    assert [p for p in theirs if p not in ours] == []
    assert all(ours[p].default == theirs[p].default for p in theirs if p != "scenario")
