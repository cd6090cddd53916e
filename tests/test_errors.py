from nevsim.errors import InputError


def test_input_error_names_field_and_allowed_values():
    err = InputError("--region", "unknown region 'Mars'.", allowed=["China", "USA"])
    assert str(err) == "--region: unknown region 'Mars'. Allowed: China, USA."
    assert err.field == "--region"
    assert isinstance(err, ValueError)


def test_input_error_truncates_long_lists():
    err = InputError("x", "bad.", allowed=range(100))
    assert "(100 in all)" in str(err)
