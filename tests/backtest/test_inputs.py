"""Back-test inputs, one rule in Python and the CLI: scenario ↔ region inference, cutoffs, JSON
fields, the summary's words and the chart's labels (QA findings 7, 13, 16)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import nevsim.cli
from nevsim.backtest import (
    SUBTITLE_LINE_CHARS,
    TITLE_HEADLINE,
    TITLE_LINE_CHARS,
    TITLE_WIDTH_PX,
    BacktestResult,
    backtest,
    parse_cutoffs,
    resolve_scenario_region,
    wrap_title,
)
from nevsim.errors import InputError

BASELINES = ["logistic", "bass", "persistence", "logit_trend"]
runner = CliRunner()


def cli(*args: str):
    return runner.invoke(nevsim.cli.app, ["backtest", *args])


# ---------------------------------------------------------------- scenario ↔ region (7)


@pytest.mark.parametrize(("scenario", "region", "want"), [
    (None, None, ("china-current-policies", "CN")),
    (None, "US", ("us-current-policies", "US")),
    (None, "eu", ("eu-current-policies", "EU")),
    ("us-current-policies", None, ("us-current-policies", "US")),
    ("eu-current-policies", "EU", ("eu-current-policies", "EU")),
    ("china-current-policies", "China", ("china-current-policies", "CN")),
])
def test_scenario_and_region_are_inferred_from_each_other(scenario: str | None, region: str | None,
                                                          want: tuple[str, str]) -> None:
    spec, code = resolve_scenario_region(scenario, region)
    assert (getattr(spec, "name", spec), code) == want


def test_python_region_alone_runs_that_regions_scenario() -> None:
    bt = backtest(region="US", cutoffs=[2021], through=2022)
    assert (bt.meta["scenario"], bt.meta["region"]) == ("us-current-policies", "US")
    bt = backtest("eu-current-policies", cutoffs=[2021], through=2022)
    assert (bt.meta["scenario"], bt.meta["region"]) == ("eu-current-policies", "EU")


def test_disagreeing_scenario_and_region_name_both() -> None:
    with pytest.raises(InputError) as info:
        backtest("us-current-policies", region="CN", cutoffs=[2021], methods=BASELINES)
    assert info.value.field == "region" and info.value.allowed == ["US"]
    assert "us-current-policies" in info.value.message and "CN" in info.value.message


@pytest.mark.parametrize(("args", "want"), [
    (["us-current-policies"], ("us-current-policies", "US")),
    (["--region", "US"], ("us-current-policies", "US")),
    (["eu-current-policies", "--region", "EU"], ("eu-current-policies", "EU")),
    ([], ("china-current-policies", "CN")),
])
def test_cli_infers_like_python(args: list[str], want: tuple[str, str]) -> None:
    r = cli(*args, "--cutoff", "2021", "--through", "2022", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert (out["scenario"], out["region"]) == want


def test_cli_disagreement_exits_2_naming_both() -> None:
    r = cli("us-current-policies", "--region", "CN", "--cutoff", "2021")
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "--region" in r.output and "us-current-policies" in r.output and "Allowed: US." in r.output


# ------------------------------------------------------------------------ cutoffs (16)


@pytest.mark.parametrize(("value", "want"), [
    ("2021", [2021]), (2021, [2021]), ("2018, 2021", [2018, 2021]), ([2021, 2018], [2021, 2018]), (None, None),
])
def test_parse_cutoffs_accepts_a_year_a_list_or_a_string(value: object, want: list[int] | None) -> None:
    assert parse_cutoffs(value) == want


@pytest.mark.parametrize(("value", "words"), [
    ("2018,,2019", "empty entry"), ("2018,", "empty entry"), ([], "at least one"), ("", "at least one"),
    ([2021, 2021], "2021 given more than once"), ("2021,2019,2021", "2021 given more than once"),
    ("abc", "not a year"), ([2021.0], "whole years"), ([True], "whole years"),
])
def test_parse_cutoffs_refuses(value: object, words: str) -> None:
    with pytest.raises(InputError, match=words) as info:
        parse_cutoffs(value, field="--cutoffs")
    assert info.value.field == "--cutoffs" and info.value.allowed


def test_backtest_takes_a_string_cutoff_as_one_year() -> None:
    bt = backtest(cutoffs="2021", methods=BASELINES)
    assert bt.cutoffs == [2021]
    with pytest.raises(InputError, match="empty entry") as info:
        backtest(cutoffs="2018,,2019", methods=BASELINES)
    assert info.value.allowed == ["2014–2024"]


@pytest.mark.parametrize(("value", "words"), [
    ("2018,,2019", "empty entry"), ("2021,2021", "given more than once"), ("2018,2019,2018", "2018 given"),
])
def test_cli_refuses_empty_and_repeated_cutoffs(value: str, words: str) -> None:
    r = cli("--cutoffs", value)
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "--cutoffs" in r.output and words in r.output and "Allowed:" in r.output


# ----------------------------------------------------------------- JSON and summary (16)


@pytest.fixture(scope="module")
def one_model_cutoff() -> BacktestResult:
    return backtest(cutoffs=[2021], policies="as-known")


def test_json_names_scenario_region_through_policies_and_units(one_model_cutoff: BacktestResult) -> None:
    out = one_model_cutoff.to_json()
    assert out["scenario"] == "china-current-policies" and out["region"] == "CN"
    assert out["through"] == 2025 and out["policies"] == "as-known"
    assert out["unit"]["mae"] == "percentage points" and "percent" in out["unit"]["forecast"]
    c = out["cutoffs"][0]
    assert {"cutoff", "forecasts", "mae"} <= set(c)  # the keys are unchanged


def test_summary_has_no_cli_flags(one_model_cutoff: BacktestResult) -> None:
    text = one_model_cutoff.summary()
    assert "--" not in text.replace("–", "")  # no "--policies"; en dashes of year spans are fine
    assert "as-known" in text and "cutoff 2021," in text and "cutoffs 2021" not in text


# ------------------------------------------------------------------------- chart (13)


@pytest.fixture(scope="module")
def five_cutoffs() -> BacktestResult:
    return backtest(cutoffs=[2018, 2019, 2020, 2021, 2022], methods=BASELINES)


def _fans(fig):
    return [t for t in fig.data if t.x and t.x[0] is not None and t.name != "actual"]


def test_one_panel_per_cutoff_baselines_grey_with_own_dash_actual_last(five_cutoffs: BacktestResult) -> None:
    """QA 10 #5: one panel per cutoff on a shared y axis, a line at each cutoff, baselines thin grey with
    one dash each, the actuals black and drawn last in every panel, each method once in the legend."""
    from nevsim.report import palette

    fig = five_cutoffs.plot()
    fans = [t for t in fig.data if t.name != "actual"]
    assert len(fans) == 5 * len(BASELINES)
    axes = sorted({t.xaxis for t in fig.data})
    assert len(axes) == 5
    dash: dict[str, set[str]] = {}
    for t in fans:
        assert t.line.color == palette.BASELINE and t.line.width < 2
        dash.setdefault(t.name, set()).add(t.line.dash)
    assert all(len(d) == 1 for d in dash.values()) and len(set.union(*dash.values())) == len(BASELINES)
    for axis in axes:
        panel = [t for t in fig.data if t.xaxis == axis]
        assert panel[-1].name == "actual" and panel[-1].line.color == palette.OBSERVED
    assert [a.text for a in fig.layout.annotations] == [f"cutoff {c}" for c in range(2018, 2023)]
    assert sorted(s.x0 for s in fig.layout.shapes) == list(range(2018, 2023))  # the cutoff lines
    assert len({fig.layout[f"yaxis{i}"].matches or f"y{i}" for i in range(2, 6)} | {fig.layout.yaxis.matches}) == 1  # shared y
    legend = [t.name for t in fig.data if t.showlegend]
    assert sorted(legend) == sorted([*BASELINES, "actual"])
    assert "<br>" not in fig.layout.title.text.split("<br><sup>")[0]  # one title line, a small second


@pytest.fixture(scope="module")
def longest_title() -> BacktestResult:
    """The longest shipped scenario name with every part of the subtitle (cutoffs, policy view, band)."""
    return backtest("china-fast-battery-learning", cutoffs=[2020, 2022], policies="as-known", draws=4, seed=1)


def test_title_fits_a_390px_phone(five_cutoffs: BacktestResult, one_model_cutoff: BacktestResult,
                                  longest_title: BacktestResult) -> None:
    """A short headline, then <sup> lines short enough for a 390 px wide phone (the headline
    'Back-test of china-current-policies (China, CN): EV share of new cars', 69 characters at 15 px,
    was cut off there); nothing of the old title is lost; the title hangs from the top."""
    assert TITLE_LINE_CHARS * 7.7 <= TITLE_WIDTH_PX and SUBTITLE_LINE_CHARS * 5.5 <= TITLE_WIDTH_PX
    for bt in (five_cutoffs, one_model_cutoff, longest_title):
        fig = bt.plot()
        headline, *sub = fig.layout.title.text.split("<br>")
        assert headline == TITLE_HEADLINE and len(headline) <= TITLE_LINE_CHARS
        assert sub and all(line.startswith("<sup>") and line.endswith("</sup>") for line in sub)
        texts = [line.removeprefix("<sup>").removesuffix("</sup>") for line in sub]
        assert max(len(t) for t in texts) <= SUBTITLE_LINE_CHARS, texts
        assert fig.layout.title.yanchor == "top" and fig.layout.title.y < 1
    words = " ".join(texts)
    assert words == ("china-fast-battery-learning (China, CN), forecasts from cutoffs 2020, 2022 through 2025, "
                     "policies as-known, model median and 5–95 % band over 4 draws")


@pytest.mark.parametrize(("text", "width", "lines"), [
    ("a, b: c d", 80, ["a, b: c d"]),
    ("scenario (China, CN), cutoffs 2016, 2020, policies as-known", 30,  # not in (…) nor between years
     ["scenario (China, CN),", "cutoffs 2016, 2020,", "policies as-known"]),
    ("scenario (China, CN), forecasts from cutoffs 2018–2022 through 2025", 40,  # spaces in a longer piece
     ["scenario (China, CN), forecasts from", "cutoffs 2018–2022 through 2025"]),
    ("x" * 50 + " (China, CN)", 40, ["x" * 50, "(China, CN)"]),  # a longer word stays whole
])
def test_wrap_title_breaks_after_commas_then_at_spaces(text: str, width: int, lines: list[str]) -> None:
    assert wrap_title(text, width).split("<br>") == lines


def test_title_names_scenario_region_and_cutoffs(five_cutoffs: BacktestResult,
                                                 one_model_cutoff: BacktestResult) -> None:
    title = one_model_cutoff.plot().layout.title.text
    assert "china-current-policies" in title and "China" in title and "CN" in title
    assert "cutoff 2021" in title and "cutoffs" not in title and "policies as-known" in title
    title = five_cutoffs.plot().layout.title.text
    assert "cutoffs 2018–2022" in title and "baselines only" in title
    two = backtest(cutoffs=[2016, 2020], methods=BASELINES).plot().layout.title.text
    assert "cutoffs 2016, 2020" in two
