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
