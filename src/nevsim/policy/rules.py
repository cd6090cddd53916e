"""The rules in force in a region and year, as one table (``nevsim policy show``)."""

from __future__ import annotations

import pandas as pd

from nevsim.errors import InputError
from nevsim.policy import _tables as t

REGION_ALIASES = {"CN": "CN", "CHINA": "CN", "US": "US", "USA": "US", "EU": "EU", "EU27": "EU"}
REGIONS = ("CN", "US", "EU")

#: The standards the simulator holds after their last set year: China's NEV and CAFC standards
#: (``simulate.py`` reads them with ``extend="hold"``; a scenario's ``dual_credit.extend = "zero"``
#: sets the NEV ratio to 0 instead). The US and EU standards (``regions.py``) hold only their
#: targets, whose rows run to 2060 like every US/EU rule still in force; their other rules
#: (e.g. the EU super-credit cap, ended 2022) are not held, nor are China's subsidy and tax rules.
HELD_STANDARDS: dict[str, tuple[str, ...]] = {"CN": ("NEV", "CAFC")}

#: Rules the simulator reads only within a revision or phase, so not held into a later one:
#: ``(region, standard) → (anchor rule, rules)``. China's per-vehicle NEV credit formula is read
#: through the revision of ``bev_slope`` in force (``china.nev_credit_breakdown``: Order 44's
#: ``bev_credit_max`` has no Order 53 row, so it is not used from 2021); the CAFC vehicle target
#: through the phase of ``compliance_factor``'s last year (``china._cafc_phase``: Phase IV's flat
#: target is not held into Phase V). Every other rule of a held standard is held by itself, as
#: ``_tables.row(..., extend="hold")`` returns it.
REVISION_KEYED: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {
    ("CN", "NEV"): ("bev_slope", ("bev_slope", "bev_intercept", "bev_standard_cap", "bev_min_range_km",
                                  "bev_eff_fail_factor", "bev_eff_max_factor", "bev_eff_best_share",
                                  "bev_eff_best_factor", "bev_credit_max", "phev_credit", "phev_min_range_km",
                                  "fcev_slope_per_kw", "fcev_cap")),
}
PHASE_KEYED: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {
    ("CN", "CAFC"): ("compliance_factor", ("vehicle_target_flat", "vehicle_target_slope", "vehicle_target_scale")),
}


def region_code(region: str) -> str:
    """Normalise a region name (CN/China, US/USA, EU/EU27) to CN, US or EU."""
    code = REGION_ALIASES.get(str(region).strip().upper())
    if code is None:
        raise InputError("region", f"unknown region {region!r}.", REGIONS)
    return code


def _covering(rows: pd.DataFrame, year: int) -> pd.DataFrame:
    return rows[(rows["year_from"] <= year) & (rows["year_to"] >= year)]


def held_rows(rules: pd.DataFrame, region: str, year: int) -> pd.DataFrame:
    """The rows of :data:`HELD_STANDARDS` that the simulator holds into ``year``.

    ``rules``: parameters and bands rows of ``region`` together (bands with their powertrain;
    parameters with ``powertrain = ""``). A rule (a banded one: per powertrain) with no row
    covering ``year`` whose last row ends in ``l < year`` is held at its rows of year ``l``,
    as ``_tables.row(..., extend="hold")`` returns them; a rule of :data:`REVISION_KEYED` only
    if that row's revision is the anchor's in ``year`` (held too), one of :data:`PHASE_KEYED`
    only at its row of the anchor's last year. Returns those rows with ``held_from`` = the
    held row's last year.
    """
    stds = HELD_STANDARDS.get(region, ())
    sel = rules[(rules["region"] == region) & rules["standard"].isin(stds)]
    out = []
    for (std, param, _), g in sel.groupby(["standard", "param", "powertrain"], sort=False):
        last = int(g["year_to"].max())
        if len(_covering(g, year)) or last >= year:
            continue  # in force, or a gap inside the rule's coverage (not held)
        rows = _covering(g, last)
        by_revision, by_phase = REVISION_KEYED.get((region, std)), PHASE_KEYED.get((region, std))
        if by_revision is not None and param in by_revision[1]:
            anchor = sel[(sel["standard"] == std) & (sel["param"] == by_revision[0])]
            in_force = _covering(anchor, min(year, int(anchor["year_to"].max())))
            if rows["revision"].iloc[0] not in set(in_force["revision"]):
                continue
        if by_phase is not None and param in by_phase[1]:
            anchor = sel[(sel["standard"] == std) & (sel["param"] == by_phase[0])]
            rows = _covering(g, int(anchor["year_to"].max()))
        if len(rows):
            out.append(rows.assign(held_from=int(rows["year_to"].max())))
    return pd.concat(out, ignore_index=True) if out else rules.iloc[:0].assign(held_from=0)


def show(region: str, year: int, *, known_at: int | None = None) -> pd.DataFrame:
    """Every parameter row in force in ``region`` and ``year`` (scalar rules and bands).

    Columns: ``standard, param, revision, powertrain, lower, upper, band_unit, value, unit,
    status, source_key, note, held_from``. Raises :class:`InputError` if no rule of the region
    covers the year. ``known_at`` (China only): the rules for ``year`` as issued by the end of
    that year (``params/vintages.csv``; the view a back-test from that cutoff runs with).
    ``held_from``: None for a row that covers ``year``; for a rule the simulator holds after its
    last set year (:func:`held_rows`, e.g. the NEV ratio after 2027, or as known at 2018 after
    2020), that year.
    """
    code = region_code(region)
    year = t.check_year(year)
    if known_at is not None and code not in t.KNOWN_AT_REGIONS:
        raise InputError("known_at", f"the rules as known at a year are encoded for China (CN) only, not {code}.",
                         ["None (the rules as enacted)"])
    known_at = t.check_known_at(known_at)
    p = t._parameters_at(known_at)
    b = t._bands_at(known_at)
    p = p[p["region"] == code].assign(powertrain="", lower=float("nan"), upper=float("nan"), band_unit="")
    rules = pd.concat([p, b[b["region"] == code]], ignore_index=True)
    frame = rules[(rules["year_from"] <= year) & (rules["year_to"] >= year)]
    if frame.empty:
        allp = t._parameters()
        sel = allp[allp["region"] == code]
        raise InputError("--year", f"no {code} rule covers {year}.",
                         [f"{int(sel['year_from'].min())}–{int(sel['year_to'].max())}"])
    held = held_rows(rules, code, year)
    frame = pd.concat([frame.assign(held_from=None), held], ignore_index=True)
    frame["held_from"] = pd.Series([None if pd.isna(h) else int(h) for h in frame["held_from"]], dtype=object,
                                   index=frame.index)
    cols = ["standard", "param", "revision", "powertrain", "lower", "upper", "band_unit", "value", "unit",
            "status", "source_key", "note", "held_from"]
    return frame.sort_values(["standard", "param", "powertrain", "lower"]).reset_index(drop=True)[cols]
