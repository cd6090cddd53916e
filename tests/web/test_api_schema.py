"""Property-based test of the API from its own OpenAPI schema (schemathesis, in-process ASGI).

Bounded: a few generated requests per operation, no server process. Whatever the request, the
API must never answer 5xx, and a 4xx names the field and what is allowed; slow or heavy operations
are left to the example-based tests. (A deep run, 300 examples per operation with every check and
stateful sequences, found the cases of test_bad_requests.py.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


@schemathesis.check
def errors_name_the_field(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """A 4xx answer is the API's error shape: ``detail`` a list of ``{field, msg, allowed}`` (a 405 or
    429 aside); no answer holds a traceback."""
    raw = response.content or b""
    assert b"Traceback (most recent call last)" not in raw, raw[:300]
    if not 400 <= response.status_code < 500 or response.status_code in (405, 429):
        return
    detail = json.loads(raw).get("detail")
    assert isinstance(detail, list) and detail, raw[:300]
    for item in detail:
        assert item.get("msg") and item.get("field") and "allowed" in item, raw[:300]


schema = _make_schema()  # an app over a throw-away store; its run threads start only when a run is queued


@schema.parametrize()
@settings(max_examples=5, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
def test_api_never_fails_on_generated_requests(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                                   negative_data_rejection, errors_name_the_field])
