from nevsim.errors import InputError


def test_input_error_names_field_and_allowed_values():
    err = InputError("--region", "unknown region 'Mars'.", allowed=["China", "USA"])
    assert str(err) == "--region: unknown region 'Mars'. Allowed: China, USA."
    assert err.field == "--region"
    assert isinstance(err, ValueError)


def test_input_error_truncates_long_lists():
    err = InputError("x", "bad.", allowed=range(100))
    assert "(100 in all)" in str(err)


def test_a_message_without_a_full_stop_gets_one_before_the_allowed_values():
    assert str(InputError("x", "bad value", allowed=[1, 2])) == "x: bad value. Allowed: 1, 2."
    assert str(InputError("x", "bad value?", allowed=[1])) == "x: bad value? Allowed: 1."
    assert str(InputError("x", "bad value")) == "x: bad value"


def test_a_scenario_flag_takes_only_true_or_false():
    import pytest

    from nevsim.scenario import load_scenario

    for value in ("yes", 1):
        with pytest.raises(InputError) as err:
            load_scenario("china-current-policies", {"uncertainty": {"coefficients": value}})
        assert err.value.field == "uncertainty.coefficients" and err.value.allowed == ["true", "false"]


def test_a_distribution_whose_keys_are_out_of_order_names_the_order():
    import pytest

    from nevsim.uncertainty import parse_distribution

    with pytest.raises(InputError) as err:
        parse_distribution({"dist": "normal", "mean": 1.0, "sd": 1.0, "min": 5.0, "max": 3.0}, "x")
    assert err.value.allowed == ["min ≤ mean ≤ max, min < max"]


def test_an_input_error_survives_pickling():
    """A sweep worker's InputError crosses the process boundary whole (it broke the pool before)."""
    import pickle

    err = pickle.loads(pickle.dumps(InputError("x.y", "bad value", allowed=["a", "b"])))
    assert (type(err), err.field, err.message, err.allowed) == (InputError, "x.y", "bad value", ["a", "b"])
    assert str(err) == "x.y: bad value. Allowed: a, b."


def test_year_span_gives_runs_of_years_not_every_year():
    from nevsim.errors import year_span

    assert year_span(range(2010, 2061)) == "2010–2060"
    assert year_span([2015, 2010, 2011, 2015]) == "2010–2011, 2015"
    assert year_span([2020]) == "2020" and year_span([]) == "none"
