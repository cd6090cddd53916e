"""One set of colours for every nevsim chart: a thing keeps its colour on every page.

Used by the report's charts (:mod:`nevsim.report.charts`), the back-test chart
(:meth:`nevsim.backtest.BacktestResult.plot`), the sensitivity page (:mod:`nevsim.sensitivity`)
and the history chart (:mod:`nevsim.data.plot`).

- Powertrains and shares (:data:`POWERTRAIN`): EV teal, BEV blue, PHEV light blue, HEV sand,
  ICE grey, NEV (CAAM basis: all new vehicles) orange.
- Regions (:data:`REGION`: CN, US, EU) in hues no powertrain uses (magenta, purple, ochre), for
  pages that put regions side by side.
- Other quantities (:data:`QUANTITY`): oil, electricity, CO2, chargers, EVs per charger, credit prices.
- One red for every target (:data:`TARGET`), whatever line it is compared with.
- Greys for things that are only an order (years of the makers' chart, back-test cutoffs, baselines):
  :func:`greys`.
- Observed values black (:data:`OBSERVED`); a model's line takes its quantity's colour.

Colours are ColorBrewer / d3 hues (colorbrewer2.org, Dark2 and Paired sets) picked for contrast on white.
"""

from __future__ import annotations

#: Powertrain (and share) colours: the same on every page.
POWERTRAIN: dict[str, str] = {
    "EV": "#0f8b7e",    # teal: EV share of new cars, EV stock (BEV + PHEV)
    "BEV": "#1f78b4",   # blue
    "PHEV": "#8dc3e2",  # light blue: the BEV's lighter sibling
    "HEV": "#fdbf6f",   # sand
    "ICE": "#7f7f7f",   # grey
    "NEV": "#d95f02",   # orange: NEV share of all new vehicles (CAAM basis)
    "Total": "#444444",  # all cars
}

#: Region colours (pages comparing regions): hues that no powertrain, target or quantity uses.
REGION: dict[str, str] = {
    "CN": "#c51b7d",  # magenta
    "US": "#6a51a3",  # purple
    "EU": "#b8860b",  # ochre
}

#: Other quantities of the report.
QUANTITY: dict[str, str] = {
    "Oil": "#8c510a",              # brown
    "Electricity": "#e6ab02",      # gold
    "CO2": "#4d4d4d",              # dark grey (fleet tonnes)
    "New-car CO2": "#4d4d4d",      # g CO2/km of new cars: the same quantity per km
    "Chargers": "#5aae61",         # green
    "EVs per charger": "#6a51a3",  # purple (never on a page with regions)
    "Credit NEV": POWERTRAIN["NEV"],
    "Credit CAFC": "#7570b3",
    "Credit ZEV": POWERTRAIN["EV"],
    "Credit Fleet CO2": "#4d4d4d",
}

#: Every target marker and cap line: one red.
TARGET = "#b2182b"
#: Observed values (IEA / OWID; the back-test's actuals).
OBSERVED = "#000000"
#: The newer, secondary observed release (OWID after the IEA's last year): dark grey, same marker family.
OBSERVED_NEWER = "#555555"
#: Shading of the history years (calibrated to observations).
HISTORY_FILL = "rgba(120,120,120,0.10)"
#: A neutral grey for rules, reference lines and annotations.
RULE = "#666666"

#: Colours by name for :func:`colour`: powertrains, then quantities and regions.
NAMED: dict[str, str] = {**POWERTRAIN, **QUANTITY, **REGION, "CAFC": QUANTITY["Credit CAFC"],
                         "ZEV": QUANTITY["Credit ZEV"], "Fleet CO2": QUANTITY["Credit Fleet CO2"],
                         "Public chargers": QUANTITY["Chargers"],
                         "EVs per public charger": QUANTITY["EVs per charger"],
                         "Oil displaced": QUANTITY["Oil"], "Battery pack": "#6a3d9a"}

#: Colours of unnamed series (scenarios side by side, a statistic's extra columns): distinct,
#: none of them a powertrain's or the target red.
SEQUENCE: tuple[str, ...] = ("#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d",
                             "#666666", "#1f78b4", "#d95f02", "#6a3d9a", "#b15928", "#fb9a99")


def colour(name: str, i: int = 0) -> str:
    """The colour of ``name`` (a powertrain, quantity or region), else ``SEQUENCE[i]`` (cycled)."""
    return NAMED.get(str(name), SEQUENCE[i % len(SEQUENCE)])


def greys(n: int) -> list[str]:
    """``n`` greys from light to dark (older to newer years, earlier to later cutoffs); at least
    #bdbdbd so the lightest still shows on white, at most #252525."""
    if n <= 0:
        return []
    if n == 1:
        return ["#636363"]
    lo, hi = 0xBD, 0x25
    out = []
    for i in range(n):
        v = round(lo + (hi - lo) * i / (n - 1))
        out.append(f"#{v:02x}{v:02x}{v:02x}")
    return out


def rgba(hex_color: str, alpha: float) -> str:
    """``#rrggbb`` → ``rgba(r,g,b,alpha)`` (bands in their line's colour)."""
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


#: Line dash of each back-test baseline (the model is solid, in the EV colour).
BASELINE_DASHES: dict[str, str] = {"logistic": "dash", "bass": "dashdot", "persistence": "dot",
                                   "logit_trend": "longdash"}
#: Grey of the back-test's baselines.
BASELINE = "#8c8c8c"

#: The report's plotly template (every page's charts; plotly's grey default differs).
TEMPLATE = "plotly_white"

#: The viewport tag of every HTML page nevsim writes (phones otherwise show a zoomed-out desktop page).
VIEWPORT_META = '<meta name="viewport" content="width=device-width, initial-scale=1">'


def with_viewport(html_text: str) -> str:
    """``html_text`` (a full page) with :data:`VIEWPORT_META` after ``<head>`` unless it has one."""
    if 'name="viewport"' in html_text or "name='viewport'" in html_text:
        return html_text
    return html_text.replace("<head>", "<head>" + VIEWPORT_META, 1)
