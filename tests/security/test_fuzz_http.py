"""The HTTP API fuzzed against the OpenAPI description it serves (issue 12, point 10): for every
operation, inputs the schema allows and inputs it does not (schemathesis), from a logged-in
admin and with no token; no answer is a 5xx."""

from __future__ import annotations

import pytest
import requests
from hypothesis import HealthCheck, settings

from tests.conftest import PASSWORD
from tests.security.fuzz_server import threaded_server

schemathesis = pytest.importorskip("schemathesis")

EXAMPLES = 25  # per operation and mode: the whole API in well under a minute


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    with threaded_server(
        tmp_path_factory.mktemp("fuzz"),
        login_failures_per_account=10_000,
        login_failures_per_address=10_000,
    ) as server:
        yield server


def test_the_server_serves_its_openapi_description_without_a_token(api):
    spec = requests.get(api.url + "/api/v1/openapi.json", timeout=10).json()
    assert spec["openapi"].startswith("3.") and "/api/v1/login" in spec["paths"]


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_no_input_gets_a_server_error(api, mode):
    from hypothesis import given
    from schemathesis.checks import not_a_server_error
    from schemathesis.generation import GenerationMode

    token = requests.post(
        api.url + "/api/v1/login",
        json={"email": "admin@a.test", "password": PASSWORD},
        timeout=10,
    ).json()["token"]
    schema = schemathesis.openapi.from_url(api.url + "/api/v1/openapi.json")
    schema.config.generation.update(modes=[GenerationMode(mode)])
    session = requests.Session()
    seen: dict[str, set[int]] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in ("/api/v1/logout", "/api/v1/token/rotate"):
            continue  # they would end the fuzzer's own session; covered by test_sessions

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            response = case.call(
                base_url=api.url,
                session=session,
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            seen.setdefault(case.operation.label, set()).add(response.status_code)
            assert response.status_code < 500, (case.as_curl_command(), response.text[:300])
            case.validate_response(response, checks=[not_a_server_error])

        run()
    assert len(seen) >= 15  # every operation was called
