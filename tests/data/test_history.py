"""history(): the tidy history of one region, and its chart."""

import pytest

from nevsim import data
from nevsim.data.plot import history_figure, share_targets
from nevsim.errors import InputError


def _value(hist, variable, year):
    sel = hist[(hist["variable"] == variable) & (hist["year"] == year)]
    assert len(sel) == 1
    return sel.iloc[0]


def test_china_history_known_values():
    hist = data.history("China")
    assert list(hist.columns) == ["region", "variable", "unit", "year", "value", "source"]
    assert list(dict.fromkeys(hist["variable"])) == list(data.HISTORY_VARIABLES)
    share = _value(hist, "EV sales share", 2024)
    assert share["value"] == 48 and share["unit"] == "percent" and share["source"].startswith("IEA (2025)")
    assert _value(hist, "BEV sales", 2024)["value"] == 6_400_000
    assert _value(hist, "PHEV sales", 2024)["value"] == 4_900_000
    assert _value(hist, "EV stock", 2024)["value"] == 23_000_000 + 11_000_000  # BEV + PHEV
    assert _value(hist, "Public chargers", 2024)["value"] == 1_600_000 + 1_900_000  # fast + slow
    assert _value(hist, "Public chargers", 2014)["value"] == 21_000  # slow only before 2018
    owid = _value(hist, "EV sales share", 2025)
    assert owid["value"] == 53 and owid["source"].startswith("Our World in Data")
    for variable, unit in data.HISTORY_VARIABLES.items():
        assert set(hist.loc[hist["variable"] == variable, "unit"]) == {unit}


@pytest.mark.parametrize(("alias", "canonical"), [("CN", "China"), ("us", "USA"), ("EU", "EU27"), ("world", "World")])
def test_history_aliases(alias, canonical):
    hist = data.history(alias)
    assert set(hist["region"]) == {canonical}
    assert not hist.empty


def test_history_until_drops_owid_and_later_years():
    hist = data.history("China", until=2020)
    assert hist["year"].max() == 2020
    assert not hist["source"].str.startswith("Our World in Data").any()


def test_history_unknown_region():
    with pytest.raises(InputError) as err:
        data.history("Atlantis")
    assert "China" in err.value.allowed and "World" in err.value.allowed


def test_history_figure_has_share_targets_and_panels():
    hist = data.history("China")
    targets = data.load("targets", region="China")
    shown = share_targets(targets)
    assert set(shown["unit"]) == {"percent"} and "BEV share of NEV sales" not in set(shown["metric"])
    fig = history_figure(hist, targets)
    names = [t.name for t in fig.data]
    assert "EV sales share (IEA)" in names and "BEV sales" in names and "Public chargers (fast + slow)" in names
    assert any(n.startswith("target (") for n in names)
    assert any("IEA" in a.text and "CC BY 4.0" in a.text for a in fig.layout.annotations)
    eu = history_figure(data.history("EU27"), data.load("targets", region="EU27"))
    assert not any(t.name.startswith("target (") for t in eu.data)  # g/km targets are not on the share axis


def test_history_figure_palette_markers_only_one_axis_per_panel(tmp_path):
    """QA 10 #1, #2, #8: the palette's colours (BEV blue as in the report, targets the one red), targets as
    markers only (no dashed path), each target labelled apart, no secondary y axis (chargers in their own
    panel), the lower panels' x axes end with the data; the written page has the viewport tag."""
    from nevsim.data.plot import write_figure
    from nevsim.report import palette

    hist = data.history("China")
    fig = history_figure(hist, data.load("targets", region="China"))
    by = {t.name: t for t in fig.data}
    assert by["BEV sales"].marker.color == palette.POWERTRAIN["BEV"]
    assert by["EV stock (BEV + PHEV cars)"].line.color == palette.POWERTRAIN["EV"]
    assert by["Public chargers (fast + slow)"].line.color == palette.QUANTITY["Chargers"]
    targets = [t for t in fig.data if t.name.startswith("target (")]
    assert targets and all(t.mode == "markers" and t.marker.color == palette.TARGET for t in targets)
    labels = [a for a in fig.layout.annotations if a.text.endswith(" %")]
    assert len(labels) == sum(len(t.x) for t in targets)
    ys = {}
    for a in labels:
        ys.setdefault(a.x, []).append(a.y)
    assert all(len(set(v)) == len(v) for v in ys.values())  # stacked, none on another
    assert not any(getattr(fig.layout, "yaxis4", None) and fig.layout.yaxis4.overlaying for _ in [0])
    assert all(getattr(t, "yaxis", "y") in ("y", "y2", "y3") for t in fig.data)
    last = int(hist["year"].max())
    assert fig.layout.xaxis2.range[1] < last + 1 and fig.layout.xaxis3.range[1] < last + 1
    out = tmp_path / "h.html"
    write_figure(fig, out)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in out.read_text(encoding="utf-8")
