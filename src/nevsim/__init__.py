"""nevsim: an open, vectorised model of the electric-vehicle transition.

Quick use::

    import nevsim
    nevsim.data.catalog()                              # bundled datasets, sources, licences
    nevsim.data.load("iea_gevo_2025", region="China", until=2020)
    res = nevsim.run(nevsim.load_scenario("china-current-policies"))
    res.to_frame()                                     # long table: scenario, region, variable, unit, year, value
    res.targets()                                      # targets check
    us = nevsim.run(region="US")                       # a region's default scenario, as `nevsim outlook --region US`
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nevsim.errors import DataIntegrityError, InputError, NevsimError

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

    from nevsim import data
    from nevsim.results import Results
    from nevsim.scenario import Scenario, list_scenarios, load_scenario

__version__ = "0.1.0"

__all__ = [
    "DataIntegrityError",
    "InputError",
    "NevsimError",
    "__version__",
    "data",
    "list_scenarios",
    "load_scenario",
    "run",
]

_LAZY = {
    "load_scenario": ("nevsim.scenario", "load_scenario"),
    "list_scenarios": ("nevsim.scenario", "list_scenarios"),
}


def run(scenario: Scenario | str | None = None, *, region: str | None = None, until: int | None = None,
        progress: Callable[[int, int], None] | None = None, draws: int | None = None, seed: int | None = None,
        chunk_draws: int | None = None, makers: bool = True) -> Results:
    """Run a scenario and return its :class:`nevsim.results.Results` (:func:`nevsim.simulate.run`,
    whose keywords these are), with ``region=`` as ``nevsim outlook --region`` has it.

    ``region`` (``"CN"``, ``"US"``, ``"EU"`` or ``"China"``, ``"USA"``, ``"EU27"``, any case): with
    no ``scenario``, that region's default scenario (``nevsim.regions.DEFAULT_SCENARIOS``); with a
    scenario, a check that the scenario simulates that region. No scenario and no region: China's
    ``china-current-policies``. The CLI's ``--region all`` (three regions side by side) is one run
    a region here: ``[nevsim.run(region=c) for c in ("CN", "US", "EU")]``, then
    :func:`nevsim.compare.share_table`.
    """
    from nevsim import simulate

    if region is not None:
        scenario = _scenario_of_region(scenario, region)
    elif scenario is None:
        scenario = "china-current-policies"
    return simulate.run(scenario, until=until, progress=progress, draws=draws, seed=seed,  # type: ignore[no-any-return]
                        chunk_draws=chunk_draws, makers=makers)


def _scenario_of_region(scenario: Scenario | str | None, region: object) -> Scenario | str:
    """The scenario to run for ``run(scenario, region=...)``: the region's default, or ``scenario``
    once it is known to simulate that region (InputError at ``region`` otherwise)."""
    from nevsim.regions import DEFAULT_SCENARIOS
    from nevsim.results import REGION_NAMES
    from nevsim.scenario import Scenario, load_scenario

    codes = list(DEFAULT_SCENARIOS)
    if not isinstance(region, str) or not region.strip():
        raise InputError("region", f"a region code is required, got {region!r}.", allowed=codes)
    key = region.strip()
    code = {v.casefold(): k for k, v in REGION_NAMES.items()}.get(key.casefold(), key.upper())
    if code == "ALL":
        raise InputError("region", "'all' is the command line's side-by-side comparison; in Python run one region "
                                   "at a time: runs = [nevsim.run(region=c) for c in ('CN', 'US', 'EU')], then "
                                   "nevsim.compare.share_table(runs).", allowed=codes)
    if scenario is None:
        if code not in DEFAULT_SCENARIOS:
            raise InputError("region", f"unknown region {region!r} (a region defined in a scenario file: pass "
                                       "the file as the scenario).", allowed=codes)
        return DEFAULT_SCENARIOS[code]
    scen = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if code != scen.region:
        raise InputError("region", f"scenario {scen.name!r} simulates region {scen.region}, not {region!r}; "
                                   "leave region unset, or leave the scenario out to run the region's default.",
                         allowed=[scen.region])
    return scen


def __getattr__(name: str) -> Any:
    """Import the model modules (and ``nevsim.data``, which loads pandas) only when first used:
    ``import nevsim`` stays light, so the CLI's own Ctrl-C handler is in place within
    milliseconds (``nevsim.cli``)."""
    if name == "data":
        import importlib

        return importlib.import_module("nevsim.data")
    if name in _LAZY:
        module_name, attr = _LAZY[name]
        import importlib

        return getattr(importlib.import_module(module_name), attr)
    raise AttributeError(f"module 'nevsim' has no attribute {name!r}")
