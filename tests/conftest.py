"""Suite-wide settings: Hypothesis profiles.

``HYPOTHESIS_PROFILE=ci`` (set by ``.ci/run``) makes every property test draw the same examples
on every run (``derandomize``), so a CI result does not depend on luck; a local ``make test``
keeps Hypothesis's random exploration, which is how new failing inputs are found (each one then
becomes an explicit regression test, e.g. tests/sim/test_calibrate_fit.py::test_fit_does_not_cycle).
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
