"""nevsim's policy engine: rules as versioned parameter tables plus pure vectorised functions.

Quick use::

    import numpy as np
    from nevsim.policy import china, VehicleArrays, compliance
    v = VehicleArrays(np.array(["ICE", "BEV", "PHEV"]), range_km=np.array([np.nan, 400, 80]),
                      fuel_l_per_100km=np.array([6.5, np.nan, 1.5]), curb_mass_kg=1500.0)
    china.nev_credits_per_vehicle(2022, v)          # array([0., 2.64, 1.6])
    std = china.nev_standard(2022, v)                # StandardYear (earned/required per vehicle)
    compliance(std, np.array([[100_000, 20_000, 5_000]]))
    nevsim.policy.audit()                            # every parameter, unconfirmed first

Modules: :mod:`~nevsim.policy.china`, :mod:`~nevsim.policy.us`, :mod:`~nevsim.policy.eu`,
:mod:`~nevsim.policy.standard` (the common fleet-standard mechanism), :mod:`~nevsim.policy.fleet`
(model-level fleet tables and the annual compliance accounting).
"""

from __future__ import annotations

from nevsim.policy import china, eu, fleet, standard, us
from nevsim.policy._tables import audit, schema, sources
from nevsim.policy.rules import show
from nevsim.policy.standard import ComplianceResult, StandardYear, apply_offset, compliance
from nevsim.policy.vehicles import POWERTRAINS, VehicleArrays

__all__ = [
    "POWERTRAINS",
    "ComplianceResult",
    "StandardYear",
    "VehicleArrays",
    "apply_offset",
    "audit",
    "china",
    "compliance",
    "eu",
    "fleet",
    "schema",
    "show",
    "sources",
    "standard",
    "us",
]
