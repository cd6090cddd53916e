"""Property-based test of the API from its own OpenAPI schema (schemathesis, in-process ASGI).

Bounded: a few generated requests per operation, no server process. Whatever the request, the
API must never answer 5xx; slow or heavy operations are left to the example-based tests.
"""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    status_code_conformance,
)

from nevsim.web import WebSettings, create_app


def _make_schema() -> schemathesis.schemas.BaseSchema:
    import tempfile

    store = Path(tempfile.mkdtemp(prefix="nevsim-schemathesis-")) / "runs.duckdb"
    app = create_app(WebSettings(store_path=store, max_queued_runs=2))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    # the back-test runs the model five times; report.html is covered by test_api
    return schema.exclude(path="/api/backtest")


schema = _make_schema()  # an app over a throw-away store; its run threads start only when a run is queued


@schema.parametrize()
@settings(max_examples=5, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
def test_api_never_fails_on_generated_requests(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                                   negative_data_rejection])
