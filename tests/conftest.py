"""Suite-wide settings: Hypothesis profiles, and a real Dask cluster on loopback.

``HYPOTHESIS_PROFILE=ci`` (set by ``.ci/run``) makes every property test draw the same examples
on every run (``derandomize``), so a CI result does not depend on luck; a local ``make test``
keeps Hypothesis's random exploration, which is how new failing inputs are found (each one then
becomes an explicit regression test, e.g. tests/sim/test_calibrate_fit.py::test_fit_does_not_cycle).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture
def dask_cluster() -> Iterator[Any]:
    """A real ``distributed.LocalCluster`` (one in-process worker, TCP on 127.0.0.1).

    Its scheduler's HTTP server listens on a free port (``127.0.0.1:0``): with
    ``dashboard_address=None`` distributed still binds its default port 8787 and, when another
    cluster holds it, warns "Port 8787 is already in use", which the suite's
    ``filterwarnings = error`` turns into a failure (two suites at once did that).
    """
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address="127.0.0.1:0", protocol="tcp", host="127.0.0.1") as cluster:
        yield cluster
