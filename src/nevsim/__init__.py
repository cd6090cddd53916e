"""nevsim: an open, vectorised model of the electric-vehicle transition.

Quick use::

    import nevsim
    nevsim.data.catalog()                              # bundled datasets, sources, licences
    nevsim.data.load("iea_gevo_2025", region="China", until=2020)
    res = nevsim.run(nevsim.load_scenario("china-current-policies"))
    res.to_frame()                                     # long table: scenario, region, variable, unit, year, value
    res.targets()                                      # targets check
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nevsim.errors import DataIntegrityError, InputError, NevsimError

if TYPE_CHECKING:  # pragma: no cover
    from nevsim import data
    from nevsim.scenario import list_scenarios, load_scenario
    from nevsim.simulate import run

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
    "run": ("nevsim.simulate", "run"),
    "load_scenario": ("nevsim.scenario", "load_scenario"),
    "list_scenarios": ("nevsim.scenario", "list_scenarios"),
}


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
