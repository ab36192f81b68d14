"""Rate limits: one bucket per API key, per staff user, per anonymous address."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from api.ratelimit import RateLimiter
from tests.api.conftest import bearer
from tests.support.processes import free_port


@pytest.fixture
def client(api_env: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> TestClient:
    api_env.setenv("API_RATE_LIMIT", "3/minute")
    api_env.setenv("API_ANONYMOUS_RATE_LIMIT", "2/minute")
    client: TestClient = request.getfixturevalue("api_client")
    return client


def statuses(client: TestClient, headers: dict[str, str], count: int) -> list[int]:
    return [client.get("/api/v1/auth/me", headers=headers).status_code for _ in range(count)]


def test_each_key_and_user_has_its_own_bucket(
    client: TestClient, api_key: Callable[..., str], staff_token: Callable[..., str]
) -> None:
    first, second = {"X-API-Key": api_key(["events:read"])}, {"X-API-Key": api_key(["events:read"])}
    user = bearer(staff_token("viewer"))
    assert statuses(client, first, 4) == [200, 200, 200, 429]
    assert statuses(client, second, 3) == [200, 200, 200]
    assert statuses(client, user, 4) == [200, 200, 200, 429]


def test_429_is_a_problem_with_retry_after(client: TestClient, api_key: Callable[..., str]) -> None:
    headers = {"X-API-Key": api_key(["events:read"]), "X-Request-ID": "limited-1"}
    statuses(client, headers, 3)
    response = client.get("/api/v1/auth/me", headers=headers)
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    assert 1 <= int(response.headers["retry-after"]) <= 61
    assert response.headers["x-request-id"] == "limited-1"
    problem = response.json()
    assert problem["status"] == 429 and problem["request_id"] == "limited-1"


def test_failed_authentication_counts_per_address(client: TestClient) -> None:
    bad = {"X-API-Key": "pk_0123456789_guess"}
    assert statuses(client, bad, 3) == [401, 401, 429]


def test_an_unreachable_limiter_is_a_503_not_a_crash(
    api_env: pytest.MonkeyPatch, request: pytest.FixtureRequest, api_key: Callable[..., str]
) -> None:
    client: TestClient = request.getfixturevalue("api_client")
    key = api_key(["events:read"])
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    down = RateLimiter(runtime.settings, f"redis://127.0.0.1:{free_port()}/0")
    runtime.limiter = down
    response = client.get("/api/v1/auth/me", headers={"X-API-Key": key})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.headers["content-type"] == "application/problem+json"
