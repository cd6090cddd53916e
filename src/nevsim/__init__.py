"""nevsim: an open, vectorised model of the electric-vehicle transition.

Quick use::

    import nevsim
    nevsim.data.catalog()                       # bundled datasets, sources, licences
    nevsim.data.load("iea_gevo_2025", region="China", until=2020)
"""

from __future__ import annotations

from nevsim import data
from nevsim.errors import DataIntegrityError, InputError, NevsimError

__version__ = "0.1.0"

__all__ = ["DataIntegrityError", "InputError", "NevsimError", "__version__", "data"]
