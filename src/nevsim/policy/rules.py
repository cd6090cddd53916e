"""The rules in force in a region and year, as one table (``nevsim policy show``)."""

from __future__ import annotations

import pandas as pd

from nevsim.errors import InputError
from nevsim.policy import _tables as t

REGION_ALIASES = {"CN": "CN", "CHINA": "CN", "US": "US", "USA": "US", "EU": "EU", "EU27": "EU"}
REGIONS = ("CN", "US", "EU")


def region_code(region: str) -> str:
    """Normalise a region name (CN/China, US/USA, EU/EU27) to CN, US or EU."""
    code = REGION_ALIASES.get(str(region).strip().upper())
    if code is None:
        raise InputError("region", f"unknown region {region!r}.", REGIONS)
    return code


def show(region: str, year: int, *, known_at: int | None = None) -> pd.DataFrame:
    """Every parameter row in force in ``region`` and ``year`` (scalar rules and bands).

    Columns: ``standard, param, revision, powertrain, lower, upper, band_unit, value, unit,
    status, source_key, note``. Raises :class:`InputError` if no rule of the region covers
    the year. ``known_at`` (China only): the rules for ``year`` as issued by the end of that
    year (``params/vintages.csv``; the view a back-test from that cutoff runs with).
    """
    code = region_code(region)
    year = t.check_year(year)
    if known_at is not None and code not in t.KNOWN_AT_REGIONS:
        raise InputError("known_at", f"the rules as known at a year are encoded for China (CN) only, not {code}.",
                         ["None (the rules as enacted)"])
    known_at = t.check_known_at(known_at)
    p = t._parameters_at(known_at)
    b = t._bands_at(known_at)
    p = p[(p["region"] == code) & (p["year_from"] <= year) & (p["year_to"] >= year)].assign(
        powertrain="", lower=float("nan"), upper=float("nan"), band_unit="")
    b = b[(b["region"] == code) & (b["year_from"] <= year) & (b["year_to"] >= year)]
    frame = pd.concat([p, b], ignore_index=True)
    if frame.empty:
        allp = t._parameters()
        sel = allp[allp["region"] == code]
        raise InputError("--year", f"no {code} rule covers {year}.",
                         [f"{int(sel['year_from'].min())}–{int(sel['year_to'].max())}"])
    cols = ["standard", "param", "revision", "powertrain", "lower", "upper", "band_unit", "value", "unit",
            "status", "source_key", "note"]
    return frame.sort_values(["standard", "param", "powertrain", "lower"]).reset_index(drop=True)[cols]
