"""schemathesis against the running API (uvicorn) and its own OpenAPI document: for every
operation, generated requests never get a 5xx and every answer matches the schema
(status code, content type, body, headers).

The caller holds every scope, so requests get past authentication to the routes' own
validation. (schemathesis's pytest plugin does not load under this pytest, so the
operations are driven through their Hypothesis strategies directly.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Err, Ok

from api.app import create_app
from pipeline.auth.permissions import ALL_SCOPES
from pipeline.settings import Settings
from tests.support.server import running
from tests.support.services import TestServices

EXAMPLES = 25
# What the answers must satisfy. (Not "positive data accepted": a well-formed but wrong
# login code is rightly a 400.)
CREDENTIALS = {"authorization", "x-api-key"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture
def with_broker(services: TestServices, api_env: pytest.MonkeyPatch) -> None:
    api_env.setenv("BROKER_URL", services.redis_url)  # start backup, retry: queued, not 503
    # Generated requests are many: limits would turn most of them into 429s.
    api_env.setenv("API_RATE_LIMIT", "100000/minute")
    api_env.setenv("API_ANONYMOUS_RATE_LIMIT", "100000/minute")
    api_env.setenv("API_LOGIN_EMAIL_RATE_LIMIT", "100000/minute")


def test_the_api_never_fails_and_answers_as_documented(
    with_broker: None, api_settings: Settings, api_key: Callable[..., str]
) -> None:
    failures: dict[str, str] = {}
    with running(create_app(api_settings)) as base:
        url = base.replace("ws://", "http://")
        schema = schemathesis.openapi.from_url(f"{url}/api/v1/openapi.json")
        results = list(schema.get_all_operations())
        invalid = [str(result.err()) for result in results if isinstance(result, Err)]
        assert not invalid, invalid  # operations the document describes invalidly
        operations = [result.ok() for result in results if isinstance(result, Ok)]
        assert len(operations) > 30
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case: Any) -> None:
                # Our credential instead of generated ones; a fresh key each time, since
                # generated calls may revoke keys or sessions.
                generated = case.headers or {}
                case.headers = {k: v for k, v in generated.items() if k.lower() not in CREDENTIALS}
                headers = {"X-API-Key": api_key(sorted(ALL_SCOPES))}
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                check()
            except (Exception, BaseExceptionGroup) as exc:  # collect all, then report
                failures[operation.label] = str(exc)[:1500]
    assert not failures, "\n\n".join(f"{label}:\n{error}" for label, error in failures.items())
