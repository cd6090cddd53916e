"""The ``[region]`` table of a scenario: a market defined by data, not code.

China (``region = "CN"``) is built in (:mod:`nevsim.simulate`). Any other region is described
in the scenario file itself::

    region = "US"            # not needed: the table's code is used
    [region]
    code = "US"
    name = "United States"
    iea_name = "USA"         # region of the IEA / OWID data (history, chargers)
    currency = "USD"
    currency_per_usd = 1.0
    vehicle_price_ratio = 1.6
    makers = "us"            # nevsim/assumptions/makers_us.csv, or a path to a CSV
    policies = ["US-30D", "US-ACC2", "US-GHG"]

and :func:`nevsim.simulate.prepare` turns it into arrays through :mod:`nevsim.regions`. The
shipped US and EU scenarios use exactly this mechanism (no region-specific code beyond the
policy rules of :mod:`nevsim.policy`, which are chosen by name).

This module holds only the pydantic models (no numpy, no data read; the ``makers`` check lists
the packaged makers files' names), so that :mod:`nevsim.scenario` can import it cheaply.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, StrictBool, field_validator

from nevsim._schema import Strict, year_path

#: Policies a region may name, by slot (see docs/regions.md):
#: purchase incentives, the "ZEV" slot (sales-share mandates) and the "fleet efficiency" slot.
POLICY_SLOTS: dict[str, str] = {
    "US-30D": "incentive",
    "US-ACC2": "zev",
    "US-GHG": "efficiency",
    "EU-CO2": "efficiency",
}
POLICY_NAMES: tuple[str, ...] = tuple(POLICY_SLOTS)
SEGMENT_NAMES: tuple[str, ...] = ("mini", "small", "compact", "midsize", "large")
TARGET_UNITS: tuple[str, ...] = ("percent", "g CO2/km")


#: The fleet settings of a region (``[region]`` name → name in ``assumptions/fleet_activity.csv`` or
#: ``energy_factors.csv``); each absent one is read from the table's row for the region's code.
FLEET_SETTINGS: dict[str, str] = {
    "fleet_km_per_car_in_stock": "km_per_car_in_stock",
    "fleet_km_per_plugin_car_in_stock": "km_per_plugin_car_in_stock",
    "fuel_real_world_gap": "fuel_real_world_gap",
    "electricity_real_world_gap": "electricity_real_world_gap",
    "gasoline_wtt_share": "gasoline_wtt_share",
    "grid_upstream_share": "grid_upstream_share",
}

_Strict = Strict
_years = year_path


class AllowedError(ValueError):
    """A field's check failed; ``allowed`` lists what would pass (the scenario loader shows it)."""

    def __init__(self, message: str, allowed: list[str]) -> None:
        super().__init__(message)
        self.message, self.allowed = message, allowed


def packaged_makers() -> list[str]:
    """Names of the makers tables shipped in ``nevsim/assumptions`` (``makers_<name>.csv``)."""
    return sorted(p.name[7:-4] for p in resources.files("nevsim.assumptions").iterdir()
                  if p.name.startswith("makers_") and p.name.endswith(".csv"))


class RegionTarget(_Strict):
    """A target of a region given in the scenario file (compared with the run like the fact-table targets)."""

    name: str = Field(min_length=1, description="short name of the target")
    metric: str = Field(
        "EV share of new cars",
        description="what is counted; a percent target is compared with Sales Share|Cars|EV, a g CO2/km "
                    "target with the new cars' fleet-average test-cycle CO2",
    )
    year: int = Field(ge=2000, le=2100, description="target year (calendar year)")
    value: float = Field(ge=0.0, le=1000.0, description="target value in `unit`")
    unit: Literal["percent", "g CO2/km"] = Field("percent", description="unit of the target value")
    qualifier: Literal["exact", "approx", "more_than"] = "exact"
    binding: StrictBool = Field(False, description="whether the target binds (law with a penalty) or is a goal")
    announced: int = Field(2000, ge=1990, le=2100, description="year the target was set (first year it can be met)")
    source: str = Field(min_length=1, description="document or URL the target comes from")
    status: Literal["V", "S", "U"] = Field("U", description="V seen in the source, S secondary, U unconfirmed")
    note: str = ""


class RegionEnergy(_Strict):
    """Energy prices in the region's currency (the China fields of ``[energy]`` are in CNY)."""

    gasoline_price_per_l: dict[str, Annotated[float, Field(ge=0.01, le=100.0)]] = Field(
        default_factory=dict, description="retail gasoline price (region currency per litre), year path")
    electricity_price_per_kwh: dict[str, Annotated[float, Field(ge=0.001, le=10.0)]] = Field(
        default_factory=dict, description="average charging price (region currency per kWh), year path")
    check = field_validator("gasoline_price_per_l", "electricity_price_per_kwh", mode="after")(
        lambda cls, v: _years(v))


class RegionIncentive(_Strict):
    """Purchase incentives not named as a policy (e.g. national bonuses inside a bloc), as averages
    over the region's new-car buyers, in the region's currency per new car, by calendar year.

    An amount applies in its year only: years not listed get 0 (incentives start and stop; they
    are not interpolated). Each amount needs its source in a comment of the scenario file.
    """

    bev: dict[str, Annotated[float, Field(ge=0.0, le=1e6)]] = Field(
        default_factory=dict, description="average incentive per new BEV (region currency), by year; 0 in other years")
    phev: dict[str, Annotated[float, Field(ge=0.0, le=1e6)]] = Field(
        default_factory=dict, description="average incentive per new PHEV (region currency), by year; 0 in other years")
    check = field_validator("bev", "phev", mode="after")(lambda cls, v: _years(v))

    def amount(self, powertrain: str, year: int) -> float:
        """The incentive per new car of ``powertrain`` ("BEV" or "PHEV") in ``year`` (0 if not listed)."""
        table = self.bev if powertrain == "BEV" else self.phev if powertrain == "PHEV" else {}
        return float(table.get(str(int(year)), 0.0))


class RegionSpec(_Strict):
    """A region defined in the scenario file (see the module docstring and docs/regions.md)."""

    code: str = Field(pattern=r"^[A-Z][A-Z0-9]{1,5}$", description="region code written into the results (e.g. US)")
    name: str = Field(min_length=1, description="readable name")
    iea_name: str = Field(min_length=1, description="region name in the IEA Global EV Outlook / OWID data")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO currency code of prices, incentives and credit prices")
    # Bounds (nevsim, U): a rate near 0 divided by zero in the run; a rate of 0.001 per USD, or a CNY rate far
    # from any the renminbi has had, shrank car prices against the policy amounts until exp() overflowed.
    currency_per_usd: float = Field(ge=0.1, le=1e6, description="exchange rate (region currency per USD)")
    cny_per_usd: float = Field(7.1, ge=4.0, le=12.0, description="exchange rate used to convert the CNY vehicle "
                                                              "table (CNY per USD); as technology.cny_per_usd")
    vehicle_price_ratio: float = Field(
        ge=0.2, le=5.0,
        description="region car price ÷ China car price of the same segment and powertrain, both at market "
                    "exchange rates (fraction); converts the CNY vehicle table")
    fuel_use_ratio: float = Field(
        1.0, ge=0.3, le=3.0,
        description="test-cycle fuel use of the region's conventional cars ÷ the vehicle table's (fraction)")
    pack_price_ratio: float = Field(
        1.0, ge=0.3, le=3.0, description="region battery pack price ÷ BNEF global average (fraction)")
    segment_sales_share: dict[str, Annotated[float, Field(ge=0.0, le=1.0)]] = Field(
        default_factory=dict,
        description="new-car sales by segment (fractions, normalised); empty: the vehicle table's (China) mix")
    makers: str = Field(
        "", description="makers table: a packaged name (us → assumptions/makers_us.csv) or a path to a CSV "
                        "with the columns of makers_us.csv")
    policies: list[Literal["US-30D", "US-ACC2", "US-GHG", "EU-CO2"]] = Field(
        default_factory=list, description="policies by name (nevsim.policy rules); empty: none")
    pass_through: float = Field(0.7, ge=0.0, le=1.0,
                                description="share θ of a credit's value passed through to prices (fraction)")
    price_cap_per_credit: dict[str, Annotated[float, Field(gt=0.0, le=1e7)]] = Field(
        default_factory=dict,
        description="price cap (region currency per credit) for standards whose rules set no fine, by policy name")
    phev_type_approval_range_km: float | None = Field(
        None, ge=10.0, le=300.0,
        description="average type-approval electric range of new PHEVs (km) for the EU CO2 standard's utility "
                    "factor (PHEV CO2 = (1 − UF) × charge-sustaining CO2); None: PHEVs count at their "
                    "charge-sustaining CO2")
    nedc_until: int = Field(
        0, ge=0, le=2100,
        description="years up to this one are on the NEDC test cycle for the efficiency standard (fuel ÷ 1.1)")
    history_total_car_sales_million: dict[str, Annotated[float, Field(ge=0.001, le=100.0)]] = Field(
        default_factory=dict,
        description="new-car sales (million) for history years whose IEA EV share is too small to derive them")
    min_share_for_totals_pct: float = Field(
        1.0, ge=0.0, le=100.0,
        description="derive total sales as EV sales ÷ EV share only where the share is at least this (percent)")
    # The fleet's activity and energy factors (None: assumptions/fleet_activity.csv and energy_factors.csv,
    # the rows of `code`, else the `default` rows). Bounds (nevsim, U): km per car outside any country's
    # average; a gap or share above 1 would more than double the fuel, electricity or CO2.
    fleet_km_per_car_in_stock: float | None = Field(
        None, ge=1000.0, le=50000.0,
        description="km per conventional car or hybrid in the model's stock per year (the fleet's fuel and CO2, "
                    "not the buyers' fleet.vkt_km_per_year); absent: fleet_activity.csv")
    fleet_km_per_plugin_car_in_stock: float | None = Field(
        None, ge=1000.0, le=50000.0,
        description="km per PHEV or BEV in the model's stock per year; absent: fleet_activity.csv")
    fuel_real_world_gap: float | None = Field(
        None, ge=0.0, le=1.0,
        description="real-world ÷ test-cycle fuel use − 1 (fraction); absent: energy_factors.csv")
    electricity_real_world_gap: float | None = Field(
        None, ge=0.0, le=1.0,
        description="real-world ÷ test-cycle electricity use − 1 (fraction); absent: energy_factors.csv")
    gasoline_wtt_share: float | None = Field(
        None, ge=0.0, le=1.0,
        description="well-to-tank CO2e of gasoline ÷ its tailpipe CO2 (fraction); absent: energy_factors.csv")
    grid_upstream_share: float | None = Field(
        None, ge=0.0, le=1.0,
        description="life-cycle CO2e of a kWh at the consumer ÷ the grid path − 1 (fraction); "
                    "absent: energy_factors.csv")
    energy: RegionEnergy = Field(default_factory=RegionEnergy)
    purchase_incentive: RegionIncentive = Field(
        default_factory=RegionIncentive,
        description="incentives not named in `policies` (region-wide averages, by year); added to any named one")
    targets_from_facts: StrictBool = Field(
        True, description="also check the fact table's targets of `iea_name` (nevsim.data targets)")
    targets: list[RegionTarget] = Field(default_factory=list)

    check_paths = field_validator("history_total_car_sales_million", mode="after")(lambda cls, v: _years(v))

    def fleet_overrides(self) -> dict[str, float]:
        """The fleet settings this table sets, by their name in the assumption tables
        (:data:`FLEET_SETTINGS`), for :func:`nevsim.fleet.km_per_car_in_stock` and
        :meth:`nevsim.fleet.EnergyFactors.for_region`; settings left out are absent."""
        return {table_name: float(getattr(self, setting)) for setting, table_name in FLEET_SETTINGS.items()
                if getattr(self, setting) is not None}

    @field_validator("makers", mode="after")
    @classmethod
    def _makers_found(cls, v: str) -> str:
        """A packaged name or an existing file, as :func:`nevsim.regions.load_makers` reads it (before,
        a wrong or empty name validated and the run failed). A path is checked by the run, which
        reads it."""
        text = v.strip()
        allowed = [*packaged_makers(), "a path to a CSV"]
        if not text:
            raise AllowedError("a region needs a makers table", allowed)
        if "/" in text or text.endswith(".csv") or text.lower() in packaged_makers() or Path(text).is_file():
            return v
        raise AllowedError(f"no makers table {text!r}", allowed)

    @field_validator("segment_sales_share", mode="after")
    @classmethod
    def _segments(cls, v: dict[str, float]) -> dict[str, float]:
        bad = sorted(set(v) - set(SEGMENT_NAMES))
        if bad:
            raise ValueError(f"unknown segment(s) {bad}; allowed: {', '.join(SEGMENT_NAMES)}")
        if v and sum(v.values()) <= 0:
            raise ValueError("segment shares must not all be 0")
        return v

    @field_validator("price_cap_per_credit", mode="after")
    @classmethod
    def _caps(cls, v: dict[str, float]) -> dict[str, float]:
        bad = sorted(set(v) - set(POLICY_NAMES))
        if bad:
            raise ValueError(f"unknown policy name(s) {bad}; allowed: {', '.join(POLICY_NAMES)}")
        return v

    @field_validator("policies", mode="after")
    @classmethod
    def _one_per_slot(cls, v: list[str]) -> list[str]:
        slots = [POLICY_SLOTS[p] for p in v]
        for slot in set(slots):
            if slots.count(slot) > 1:
                names = [p for p in v if POLICY_SLOTS[p] == slot]
                raise ValueError(f"at most one policy per slot; {names} are all '{slot}'")
        return v
