"""Cross-region comparison (nevsim.compare): the targets table reads as the per-run report's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from nevsim import compare


def _targets(**extra: object) -> pd.DataFrame:
    """FIXTURE built here: two rows in the targets check's shape (a volume target, a share target)."""
    frame = pd.DataFrame({
        "scenario": ["s", "s"], "region": ["China", "China"], "name": ["NEV volume 2020", "Roadmap share"],
        "source": ["Plan (State Council)", "Roadmap (SAE)"], "binding": [True, False], "year": [2020, 2035],
        "unit": ["vehicles per year", "percent"], "target_value": [2_000_000.0, 95.0],
        "projected_value": [1_140_000.0, np.nan], "gap": [-860_000.0, np.nan],
        "met": pd.array([False, pd.NA], dtype="boolean"), "first_year_met": pd.array([2021, pd.NA], dtype="Int64"),
        "compared_with": ["Production|Cars|EV", "derived: x"], "status": ["V", "S"],
    })
    return frame.assign(**extra)


def test_targets_display_is_text_with_units_and_no_raw_values():
    shown = compare.targets_display(_targets())
    assert list(shown.columns[:4]) == ["scenario", "region", "target", "source"]
    assert "target_value" not in shown.columns and "target value" in shown.columns
    first, second = shown.iloc[0], shown.iloc[1]
    assert first["target value"] == "2,000,000 vehicles per year" and first["projected"] == "1,140,000"
    assert first["binding"] == "binding" and first["met"] == "no" and first["first year met"] == "2021"
    assert second["projected"] == "–" and second["met"] == "–" and second["first year met"] == "–"
    assert "P(met)" not in shown.columns
    cells = " ".join(str(v) for v in shown.to_numpy().ravel())
    assert not any(raw in cells for raw in ("True", "False", "<NA>", "nan", "2000000.0"))


def test_targets_display_shows_probability_met_after_met():
    shown = compare.targets_display(_targets(probability_met=[0.25, np.nan]))
    cols = list(shown.columns)
    assert cols[cols.index("met") + 1] == "P(met)" and list(shown["P(met)"]) == ["25%", "–"]


def test_comparison_html_targets_table_is_formatted(tmp_path: Path):
    import nevsim
    from nevsim.scenario import load_scenario

    runs = [nevsim.run(load_scenario(n)) for n in ("china-current-policies", "us-current-policies",
                                                   "eu-current-policies")]
    compare.write_comparison(runs, tmp_path)
    page = (tmp_path / "comparison.html").read_text(encoding="utf-8")
    table = page[page.index("<h2>Targets check</h2>"):]
    assert "<th>target value</th>" in table and "<th>first year met</th>" in table
    for raw in ("target_value", "compared_variable", ">True<", ">False<", "&lt;NA&gt;", "2000000.0",
                "Sales Share|Cars EV|BEV"):
        assert raw not in table, raw
    assert "vehicles per year</td>" in table and "<td>yes</td>" in table and "<td>not binding</td>" in table
    assert "ZEV share 2030 (withdrawn 2025)" in table and "EU car CO2 2020 (NEDC: not comparable)" in table
    assert "California ACC II 2026 to California ACC II 2035" in table  # the left-out state targets are named
    assert "<style>" in page
    csv = pd.read_csv(tmp_path / "targets.csv")  # the CSV keeps the raw check (machine-readable)
    assert {"target_value", "withdrawn", "compared_variable"} <= set(csv.columns)


def test_targets_display_prints_the_label_not_the_bare_name():
    """Views print ``label`` (name and status); ``name`` stays the fact table's."""
    shown = compare.targets_display(_targets(label=["NEV volume 2020", "Roadmap share (withdrawn 2025)"]))
    assert list(shown["target"]) == ["NEV volume 2020", "Roadmap share (withdrawn 2025)"]


def test_report_helpers_are_public_and_compare_uses_them():
    """compare.py imported the report's private helpers (``_targets_display``, ``_table_html``, ``_CSS``)."""
    import inspect

    from nevsim import report

    assert {"CSS", "table_html", "targets_display"} <= set(report.__all__)
    assert not any(hasattr(report, n) for n in ("_CSS", "_table_html", "_targets_display"))
    assert "from nevsim.report import _" not in inspect.getsource(compare)
    html = report.table_html(pd.DataFrame({"a": ["<b>"]}), cls="x")
    assert '<table class="x">' in html and html.startswith('<div class="scroll">') and "&lt;b&gt;" in html


def test_comparison_targets_csv_keeps_name_and_adds_label(tmp_path: Path):
    """targets.csv of --region all: ``name`` (stable) and ``label`` (name and status) both."""
    import nevsim
    from nevsim.scenario import load_scenario

    runs = [nevsim.run(load_scenario(n)) for n in ("us-current-policies", "eu-current-policies")]
    compare.write_comparison(runs, tmp_path)
    csv = pd.read_csv(tmp_path / "targets.csv").set_index("name")
    assert csv.loc["ZEV share 2030", "label"] == "ZEV share 2030 (withdrawn 2025)"
    assert csv.loc["EU car CO2 2020", "label"] == "EU car CO2 2020 (NEDC: not comparable)"
    assert csv.loc["EU car CO2 2025", "label"] == "EU car CO2 2025"


def test_comparison_html_reads_like_the_report_and_works_on_a_phone(tmp_path: Path):
    """Visual QA: comparison.html had no viewport tag (a phone shrank it to 40 %), no page layout,
    history marked by dots only and a y axis from −6."""
    import nevsim
    from nevsim.scenario import load_scenario

    runs = [nevsim.run(load_scenario(n, {"years": {"last": 2035}})) for n in ("china-current-policies",
                                                                             "eu-current-policies")]
    compare.write_comparison(runs, tmp_path)
    page = (tmp_path / "comparison.html").read_text(encoding="utf-8")
    assert "name='viewport'" in page and "<header><h1>nevsim — regions compared</h1>" in page
    assert '<div class="scroll"><table class="num">' in page
    fig = compare._figure(runs, compare.targets_table(runs))
    assert list(fig.layout.yaxis.range) == [0, 100]
    assert any(s.fillcolor for s in fig.layout.shapes)  # the shaded history years


def test_comparison_colours_regions_as_the_palette_does():
    """Visual QA: comparison.html drew CN/US/EU in blue/green/red, the colours other pages give
    powertrains and back-test cutoffs; a region now has its palette colour on every page."""
    import nevsim
    from nevsim.report import palette
    from nevsim.scenario import load_scenario

    runs = [nevsim.run(load_scenario(n, {"years": {"last": 2030}})) for n in ("china-current-policies",
                                                                             "eu-current-policies")]
    fig = compare._figure(runs, compare.targets_table(runs))
    lines = {t.name: t.line.color for t in fig.data if t.mode == "lines"}
    assert lines == {"China (CN)": palette.REGION["CN"], "EU27 (EU)": palette.REGION["EU"]}
    assert all(t.marker.color == palette.TARGET for t in fig.data if t.name and t.name.endswith("targets"))


def _short(name: str, **overrides: object):
    import nevsim
    from nevsim.scenario import load_scenario

    return nevsim.run(load_scenario(name, {"years": {"last": 2030}, **overrides}))


def test_two_scenarios_of_one_region_are_two_columns(tmp_path: Path):
    """API QA (tutorial notebook): two runs of China were pooled into one column, their median (the
    default's 79.1 and the tax case's 85.0 gave 82.0 for 2030, with no warning). Each run is now its
    own column, equal to its own EV share, and the page draws both, the second dashed."""
    base = _short("china-current-policies")
    taxed = _short("china-current-policies", **{"policy": {"subsidies": {"tax_exemption_extend_to_year": 2030}}})
    other = _short("china-no-dual-credit")
    eu = _short("eu-current-policies")
    wide = compare.share_table([base, taxed, other, eu])
    h = str(taxed.meta["scenario_hash"])[:8]
    b = str(base.meta["scenario_hash"])[:8]
    assert list(wide.columns) == [f"china-current-policies (CN, {b})", f"china-current-policies (CN, {h})",
                                  "china-no-dual-credit (CN)", "EU"] and wide.columns.name == "run"
    for label, run in zip(wide.columns, (base, taxed, other, eu), strict=True):
        own = run.series[run.series["variable"] == compare.SHARE].set_index("year")["value"]
        pd.testing.assert_series_equal(wide[label], own, check_names=False)
    assert wide.loc[2030].iloc[1] > wide.loc[2030].iloc[0]  # (the tax case sells more EVs: not pooled)
    assert wide.attrs["runs"]["EU"] == {"scenario": "eu-current-policies", "region": "EU"}
    fig = compare._figure([base, other], compare.targets_table([base, other]))
    lines = [t for t in fig.data if t.mode == "lines"]
    assert [t.name for t in lines] == ["china-current-policies (CN)", "china-no-dual-credit (CN)"]
    assert [t.line.dash for t in lines] == ["solid", "dash"]
    assert len([t for t in fig.data if t.name and t.name.endswith("targets")]) == 1  # China's targets once
    compare.write_comparison([base, other], tmp_path)
    page = (tmp_path / "comparison.html").read_text(encoding="utf-8")
    assert "<th>china-no-dual-credit (CN)</th>" in page


def test_regions_of_one_run_each_keep_their_codes():
    wide = compare.share_table([_short("china-current-policies"), _short("eu-current-policies")])
    assert list(wide.columns) == ["CN", "EU"] and wide.columns.name == "region"


def test_the_same_run_twice_is_refused():
    import pytest

    from nevsim.errors import InputError

    run = _short("china-current-policies")
    with pytest.raises(InputError, match="given twice") as info:
        compare.share_table([run, run])
    assert info.value.field == "runs"


def test_a_deterministic_and_a_monte_carlo_run_of_one_scenario_are_two_columns(tmp_path: Path):
    """Review: the scenario hash leaves out draws and seed, so these two were refused as one run twice."""
    import nevsim
    from nevsim.scenario import load_scenario

    sc = load_scenario("china-current-policies", {"years": {"last": 2030}})
    one, many = nevsim.run(sc), nevsim.run(sc, draws=3, seed=1)
    wide = compare.share_table([one, many])
    assert list(wide.columns) == [f"china-current-policies (CN, run {one.meta['run_id'][:8]})",
                                  f"china-current-policies (CN, run {many.meta['run_id'][:8]})"]
    compare.write_comparison([one, many], tmp_path)
    csv = pd.read_csv(tmp_path / "comparison.csv")
    assert list(dict.fromkeys(csv["run"])) == list(wide.columns)  # each row says which run it is


def test_no_runs_is_an_input_error(tmp_path: Path):
    import pytest

    from nevsim.errors import InputError

    with pytest.raises(InputError, match="no runs") as info:
        compare.share_table([])
    assert info.value.field == "runs"
    with pytest.raises(InputError, match="no runs"):
        compare.write_comparison([], tmp_path)


def test_runs_without_a_run_id_get_their_place_not_an_object_id():
    """Review: a run without ``run_id`` was labelled by ``id(run)``, whose first 8 digits repeat for
    objects made close together, so two such runs shared a column (the second's numbers twice)."""
    from nevsim.results import Results

    base = _short("china-current-policies")
    copies = []
    for shift in (0.0, 1.0):
        series = base.series.copy()
        series["value"] = series["value"] + shift
        copies.append(Results(series=series, makers=base.makers, meta={k: v for k, v in base.meta.items()
                                                                         if k != "run_id"}))
    wide = compare.share_table(copies)
    assert list(wide.columns) == ["china-current-policies (CN, run #1)", "china-current-policies (CN, run #2)"]
    assert (wide.iloc[:, 1] - wide.iloc[:, 0]).round(9).eq(1.0).all()  # each column its own run's numbers
